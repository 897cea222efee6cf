"""Run the emulator from the command line: ``python -m neev_provider.emulator``.

Prints the base URL and a ready-to-use ``AIRFLOW_CONN_NEEVCLOUD_DEFAULT`` value, then serves
until interrupted (Ctrl-C or SIGTERM stop it cleanly).

It listens on loopback only unless told otherwise twice (``--host`` and ``--allow-remote``): the
admin API has no token, and anyone who reaches it can reset the emulator, move its clock and
inject faults.
"""

from __future__ import annotations

import argparse
import errno
import os
import shlex
import signal
import sys

from neev_provider.emulator.connection import airflow_connection
from neev_provider.emulator.dialects import DIALECTS, dialect_names
from neev_provider.emulator.loopback import is_loopback
from neev_provider.emulator.settings import (
    ADMIN_PREFIX,
    DEFAULT_TOKEN,
    EmulatorSettings,
)

#: The default port: N-E-E-V on a phone keypad, clear of Airflow's own (8080 for the web/API
#: server, 8793 and 8794 for the log servers, 5555 for Flower, 8974 for the scheduler's health check).
DEFAULT_PORT = 6338
#: Where the token is best given: unlike --token, an environment variable does not show in ``ps``.
TOKEN_VARIABLE = "NEEV_EMULATOR_TOKEN"
#: What a non-loopback bind exposes, said both in the refusal and in the warning.
EXPOSURE = (
    "anyone who can reach it could use the token-protected Storage API and the unauthenticated admin "
    f"API ({ADMIN_PREFIX}/), which can reset the emulator, change its clock and inject faults"
)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give a number from 0 to 65535")
    return port


def _dialect(text: str) -> tuple[str, ...]:
    try:
        return dialect_names(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m neev_provider.emulator", description="Run the NeevCloud Storage API emulator."
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to bind (default: loopback only; any other address needs --allow-remote)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host that is not loopback, exposing the API and the unauthenticated admin API",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port to bind; 0 picks a free one (default: {DEFAULT_PORT}, clear of Airflow's 8080)",
    )
    parser.add_argument(
        "--token",
        help=(
            f"static bearer token to accept; prefer the environment variable {TOKEN_VARIABLE}, which "
            f"other users cannot read in the process list (default: ${TOKEN_VARIABLE}, else {DEFAULT_TOKEN})"
        ),
    )
    parser.add_argument("--bind-delay", type=float, default=2.0, help="seconds until a new volume is bound")
    parser.add_argument("--resize-delay", type=float, default=2.0, help="seconds an extension stays resizing")
    parser.add_argument(
        "--dialect",
        type=_dialect,
        default=dialect_names("native"),
        help=f"how the API words, orders and decorates its answers; one or more, comma-separated, of: "
        f"{', '.join(DIALECTS)} (default: native)",
    )
    return parser.parse_args(argv)


def _token(args: argparse.Namespace) -> str:
    """The token: --token, else the environment variable, else the default."""
    if args.token is not None:
        return str(args.token)
    return os.environ.get(TOKEN_VARIABLE) or DEFAULT_TOKEN


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
    if not is_loopback(args.host):
        if not args.allow_remote:
            print(
                f"error: --host {args.host} is not a loopback address: {EXPOSURE}; pass --allow-remote "
                "to bind it anyway, or keep the default 127.0.0.1",
                file=sys.stderr,
            )
            return 2
        print(f"warning: binding {args.host} (--allow-remote): {EXPOSURE}", file=sys.stderr)
    token = _token(args)
    if not token.strip():
        print(f"error: the token is empty; pass a non-empty --token or {TOKEN_VARIABLE}", file=sys.stderr)
        return 2
    try:
        import uvicorn

        from neev_provider.emulator.app import create_app
        from neev_provider.emulator.server import bind_socket, url_for, uvicorn_config
    except ImportError as exc:
        extra = "pip install 'airflow-provider-neevcloud[emulator]'"
        print(f"the emulator needs the 'emulator' extra: {extra} ({exc})", file=sys.stderr)
        return 2
    settings = EmulatorSettings(
        token=token, bind_delay=args.bind_delay, resize_delay=args.resize_delay, dialect=args.dialect
    )
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        print(f"error: {_bind_failure(args.host, args.port, exc)}", file=sys.stderr)
        return 1
    url = url_for(sock)
    # The socket is already listening, so clients may connect as soon as this is printed.
    print(f"NeevCloud emulator listening on {url}")
    print(
        f"export AIRFLOW_CONN_NEEVCLOUD_DEFAULT={shlex.quote(airflow_connection(url, token))}",
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
