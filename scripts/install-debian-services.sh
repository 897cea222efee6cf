#!/usr/bin/env bash
# Install the Debian packages the tests run, where they are missing: the PostgreSQL server
# (binaries under /usr/lib/postgresql/<version>/bin; Airflow's metadata DB in the integration
# tests and the Celery cluster) and redis-server (the cluster's broker). Neither is started or
# enabled here: the harness runs its own throwaway instances.
# Usage: install-debian-services.sh [postgresql] [redis-server]  (both when none is named)
set -euo pipefail
if [ "$#" -eq 0 ]; then
    set -- postgresql redis-server
fi
missing=()
for package in "$@"; do
    case "$package" in
        postgresql) compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || missing+=(postgresql) ;;
        redis-server) command -v redis-server > /dev/null || [ -x /usr/bin/redis-server ] || missing+=(redis-server) ;;
        *) echo "unknown package: $package" >&2; exit 2 ;;
    esac
done
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
    exit 1
fi
echo "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
