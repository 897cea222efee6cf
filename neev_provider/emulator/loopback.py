"""Tell loopback names and addresses apart, for the bind address and the ``Host`` header alike."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` (a name or address, no port) can only mean this machine.

    ``localhost`` and the loopback ranges (127.0.0.0/8, ``::1``, and 127.0.0.0/8 written as an
    IPv4-mapped IPv6 address) qualify; any other name does not, since DNS decides where it points.
    """
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def host_without_port(header: str) -> str | None:
    """Return the host part of a ``Host`` header value, or ``None`` if it is malformed.

    ``[::1]:6338`` gives ``::1``; ``localhost:6338`` and ``localhost`` give ``localhost``. An
    unbracketed IPv6 address (``::1``) is taken whole, as it cannot carry a port.
    """
    if header.startswith("["):
        host, bracket, rest = header[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and _digits(rest[1:]))):
            return None
        return host
    if header.count(":") == 1:
        host, _, port = header.partition(":")
        return host if _digits(port) else None
    return header


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()
