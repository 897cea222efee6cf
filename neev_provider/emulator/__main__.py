"""Run the emulator from the command line: ``python -m neev_provider.emulator``.

Prints the base URL and a ready-to-use ``AIRFLOW_CONN_NEEVCLOUD_DEFAULT`` value, then serves
until interrupted (Ctrl-C or SIGTERM stop it cleanly).
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import shlex
import signal
import sys

from neev_provider.emulator.connection import airflow_connection
from neev_provider.emulator.settings import (
    DEFAULT_TOKEN,
    EmulatorSettings,
)

#: The default port: N-E-E-V on a phone keypad, clear of Airflow's own (8080 for the web/API
#: server, 8793 and 8794 for the log servers, 5555 for Flower, 8974 for the scheduler's health check).
DEFAULT_PORT = 6338


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give a number from 0 to 65535")
    return port


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m neev_provider.emulator", description="Run the NeevCloud Storage API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port to bind; 0 picks a free one (default: {DEFAULT_PORT}, clear of Airflow's 8080)",
    )
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="static bearer token to accept")
    parser.add_argument("--bind-delay", type=float, default=2.0, help="seconds until a new volume is bound")
    parser.add_argument("--resize-delay", type=float, default=2.0, help="seconds an extension stays resizing")
    return parser.parse_args(argv)


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind_failure(host: str, port: int, error: OSError) -> str:
    """One line saying why the emulator could not listen, and what to do instead."""
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use (another emulator, or Airflow?); pass --port 0 for "
            "a free port, or --port N for another one"
        )
    if error.errno == errno.EACCES:
        return f"not allowed to listen on port {port} of {host}; pass --port 0, or a port above 1023"
    return f"cannot listen on {host}:{port} ({error.strerror or error}); check --host and --port"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted; return the exit code."""
    args = parse_args(argv)
    try:
        import uvicorn

        from neev_provider.emulator.app import create_app
        from neev_provider.emulator.server import bind_socket, url_for, uvicorn_config
    except ImportError as exc:
        extra = "pip install 'airflow-provider-neevcloud[emulator]'"
        print(f"the emulator needs the 'emulator' extra: {extra} ({exc})", file=sys.stderr)
        return 2
    if not is_loopback(args.host):
        print(
            f"warning: binding {args.host}: the emulator has no real security; anyone who can reach "
            "this address can use it",
            file=sys.stderr,
        )
    settings = EmulatorSettings(token=args.token, bind_delay=args.bind_delay, resize_delay=args.resize_delay)
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        print(f"error: {_bind_failure(args.host, args.port, exc)}", file=sys.stderr)
        return 1
    url = url_for(sock)
    # The socket is already listening, so clients may connect as soon as this is printed.
    print(f"NeevCloud emulator listening on {url}")
    print(
        f"export AIRFLOW_CONN_NEEVCLOUD_DEFAULT={shlex.quote(airflow_connection(url, args.token))}",
        flush=True,
    )
    # uvicorn shuts down gracefully on SIGINT/SIGTERM and then re-raises the signal; turning SIGTERM
    # into KeyboardInterrupt makes both end here with exit status 0.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        uvicorn.Server(uvicorn_config(create_app(settings))).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
