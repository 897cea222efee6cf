"""Reading an answer's body safely, shared by the sync and the async transport.

Nothing the server sends can make the client read without end, hold an unbounded body in
memory, stall on decompression, or blow the interpreter's stack:

- the transports hand :class:`BodyReader` the bytes *as they came off the wire* (neither
  requests nor httpx decodes them), and it decodes them itself: identity, or one ``gzip`` or
  ``deflate`` layer, inflated a bounded piece at a time, so that a few kilobytes claiming to be
  512 MiB stop at :data:`MAX_BODY_BYTES` having cost no more than that. Any other encoding, a
  stack of them (``gzip, gzip``) included, is refused: the client asks for nothing else;
- the body stops past :data:`MAX_BODY_BYTES` (decompressed), or at once when
  ``Content-Length`` announces more;
- :func:`decode_json` parses it, refusing ``NaN``/``Infinity`` (not JSON) and documents nested
  deeper than :data:`MAX_JSON_DEPTH`, so a ``RecursionError`` never escapes.

All raise :class:`~neev_provider.client.errors.UnexpectedResponseError`. The transports read
bodies through these, so the caps apply to every answer, success or error.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from typing import Any

#: The largest answer read, after decompression. A page of 100 volumes is about 100 kB.
MAX_BODY_BYTES = 8 * 1024 * 1024
#: The deepest nesting of arrays and objects accepted in a JSON answer (a volume needs 4).
MAX_JSON_DEPTH = 64
#: How much is read (and inflated) at a time.
CHUNK_BYTES = 64 * 1024
#: What the clients ask the server for (``Accept-Encoding``): what :class:`BodyReader` decodes.
ACCEPT_ENCODING = "gzip, deflate"
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def _error(message: str) -> Exception:
    # Imported here: errors.py reads error bodies with loads_or_none, so it imports this module.
    from neev_provider.client.errors import UnexpectedResponseError

    return UnexpectedResponseError(message)


def _too_large(operation: str, size: str) -> Exception:
    return _error(
        f"{operation}: the answer is larger than the {MAX_BODY_BYTES // (1024 * 1024)} MiB the client reads "
        f"({size}); it stopped reading. The host is probably not the NeevCloud API, or a proxy misbehaves"
    )


def _decoder(operation: str, content_encoding: str | None) -> Any:
    """A zlib decompressor for the answer's one encoding layer, or ``None`` for identity."""
    layers = [layer.strip().lower() for layer in (content_encoding or "").split(",") if layer.strip()]
    layers = [layer for layer in layers if layer != "identity"]
    if not layers:
        return None
    if len(layers) == 1 and layers[0] in _WBITS:
        return zlib.decompressobj(_WBITS[layers[0]])
    shown = (content_encoding or "")[:80]
    raise _error(
        f"{operation}: the answer is encoded {shown!r}; the client reads identity or one gzip or "
        "deflate layer only (it asked for no other). The host is probably not the NeevCloud API, or a "
        "proxy misbehaves"
    )


class BodyReader:
    """Collect one answer's body from its raw bytes, refusing it once it passes the cap.

    :param operation: the call, for messages.
    :param content_length: the ``Content-Length`` header, checked before anything is read.
    :param content_encoding: the ``Content-Encoding`` header: how to decode what is fed.
    :param expired: tells whether the call's deadline has passed; checked after every chunk,
        so a server that trickles its body cannot hold the reader past it.
    :param on_expired: builds the error to raise then.
    """

    def __init__(
        self,
        operation: str,
        *,
        content_length: str | None = None,
        content_encoding: str | None = None,
        expired: Callable[[], bool] | None = None,
        on_expired: Callable[[], Exception] | None = None,
    ) -> None:
        self.operation = operation
        self._chunks: list[bytes] = []
        self._size = 0
        self._expired = expired
        self._on_expired = on_expired
        declared = (content_length or "").strip()
        if declared.isdigit() and len(declared) < 20 and int(declared) > MAX_BODY_BYTES:
            raise _too_large(operation, f"Content-Length {declared}")
        self._decoder = _decoder(operation, content_encoding)

    def feed(self, raw: bytes) -> None:
        """Add raw bytes; raise if the body is now too large or the deadline has passed."""
        if self._decoder is None:
            self._add(raw)
        else:
            self._inflate(raw)
        if self._expired is not None and self._expired():
            raise self._on_expired() if self._on_expired else _error(f"{self.operation}: the deadline passed")

    def _inflate(self, raw: bytes) -> None:
        data = raw
        try:
            while data:
                # Never more than one byte past the cap from any input: a bomb stops here.
                self._add(self._decoder.decompress(data, MAX_BODY_BYTES - self._size + 1))
                data = self._decoder.unconsumed_tail
        except zlib.error as exc:
            raise _error(f"{self.operation}: the answer's compressed body is broken ({exc})") from None
        if self._decoder.unused_data:
            raise _error(f"{self.operation}: the answer carries data after its compressed body")

    def _add(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > MAX_BODY_BYTES:
            raise _too_large(self.operation, f"more than {MAX_BODY_BYTES} bytes")
        if data:
            self._chunks.append(data)

    def content(self) -> bytes:
        """Return the decoded body."""
        if self._decoder is not None:
            try:
                self._add(self._decoder.flush())
            except zlib.error as exc:
                raise _error(f"{self.operation}: the answer's compressed body is broken ({exc})") from None
            if not self._decoder.eof and self._size:
                raise _error(f"{self.operation}: the answer's compressed body ends early")
        return b"".join(self._chunks)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _too_deep(value: Any) -> bool:
    """Whether ``value`` nests arrays and objects deeper than :data:`MAX_JSON_DEPTH` (no recursion)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            return True
        if isinstance(item, dict):
            pending.extend((child, depth + 1) for child in item.values() if isinstance(child, dict | list))
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item if isinstance(child, dict | list))
    return False


def _might_be_deep(content: bytes) -> bool:
    # Counting brackets is cheap; walking the parsed document only when it could be deep keeps
    # the usual small answer as fast as before.
    return content.count(b"[") + content.count(b"{") > MAX_JSON_DEPTH


def decode_json(content: bytes, operation: str) -> Any:
    """Parse a JSON answer.

    :raises ~neev_provider.client.errors.UnexpectedResponseError: if it is not JSON, holds
        ``NaN`` or ``Infinity``, or nests deeper than :data:`MAX_JSON_DEPTH`.
    """
    try:
        value = json.loads(content, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise _error(f"{operation}: the answer nests deeper than {MAX_JSON_DEPTH} levels") from exc
    except ValueError as exc:
        excerpt = " ".join(content[:120].decode("utf-8", errors="replace").split())
        raise _error(f"{operation} answered with a body that is not JSON: {excerpt!r}") from exc
    if _might_be_deep(content) and _too_deep(value):
        raise _error(f"{operation}: the answer nests deeper than {MAX_JSON_DEPTH} levels")
    return value


def loads_or_none(content: bytes) -> Any:
    """Parse JSON like :func:`decode_json`, returning ``None`` instead of raising (for error bodies)."""
    try:
        return decode_json(content, "") if content else None
    except Exception:  # the error body is only read for its words; any failure means "none"
        return None
