#!/usr/bin/env bash
# Install the Debian packages the tests run, where they are missing: the PostgreSQL server
# (binaries under /usr/lib/postgresql/<version>/bin; Airflow's metadata DB in the integration
# tests and the Celery cluster) and redis-server (the cluster's broker). Neither is started or
# enabled here: the harness runs its own throwaway instances.
set -euo pipefail
missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || missing+=(postgresql)
command -v redis-server > /dev/null || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
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
