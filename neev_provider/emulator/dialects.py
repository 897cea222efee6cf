"""API dialects: spec-valid ways of answering that the real API might use, chosen per server.

The spec fixes paths, status codes and schemas, but not the wording of errors, the order of a
list, whether objects carry fields it does not list, or what a gateway in front of the service
sends for a 5xx. A client tested against one emulator behaviour can end up relying on it by
accident; a dialect answers differently within the spec, so that tests cannot agree with the
client by construction. Dialects combine (``("generic", "newest-first")``):

``native``
    The emulator's own behaviour and wording: the default, and the absence of every other
    dialect (so ``native`` combined with others adds nothing).
``generic``
    Error bodies are ``{code, message}`` with generic wording and upper-case codes derived from
    the status alone (``404`` ``NOT_FOUND`` "resource not found", ``400`` ``BAD_REQUEST`` "bad
    request", also for a delete refused because the volume is in use), never ``details``.
``newest-first``
    Lists are ordered newest first (``createdAt``, then ``id``, both descending).
``shifting``
    Before page N > 1 of a project's list is read, the project's oldest volume named
    ``shift-…`` is deleted and a new ``shift-…`` volume created (see ``Store.shift``), so
    that items move across page boundaries while a client pages.
``extra-fields``
    Every object the spec describes (volumes, attachments, AIRuntime instances, the pagination
    block, the list envelope, error bodies) carries fields the spec does not list.
``html-errors``
    5xx answers (injected faults included) and requests for a path outside the volumes API
    (where no service would answer) get an HTML gateway page (``text/html``) instead of JSON, as
    a load balancer in front of the API sends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

NATIVE = "native"
#: Every dialect, in the canonical order their combinations are shown in.
DIALECTS = (NATIVE, "generic", "newest-first", "shifting", "extra-fields", "html-errors")
#: Names of the volumes the ``shifting`` dialect deletes and creates: "foreign" volumes a test seeds.
SHIFT_PREFIX = "shift-"


def dialect_names(value: str | Iterable[str]) -> tuple[str, ...]:
    """Normalise a dialect choice: a comma-separated string or an iterable of names.

    Returns the names in canonical order without duplicates and without ``native`` unless
    nothing else is chosen (``("native",)``, also for an empty choice).

    :raises ValueError: an unknown name.
    """
    items = value.split(",") if isinstance(value, str) else list(value)
    chosen: set[str] = set()
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"a dialect is a name, got {item!r}")
        name = item.strip().lower()
        if not name:  # "generic," or an empty --dialect: nothing chosen there
            continue
        if name not in DIALECTS:
            raise ValueError(f"unknown dialect {item.strip()!r}: choose from {', '.join(DIALECTS)}")
        chosen.add(name)
    return tuple(name for name in DIALECTS[1:] if name in chosen) or (NATIVE,)


@dataclass(frozen=True, slots=True)
class Dialect:
    """The chosen dialects as flags, computed once per settings change.

    Handlers test one flag per request, so the ``native`` default costs an attribute read.
    """

    names: tuple[str, ...] = (NATIVE,)
    native: bool = True
    generic: bool = False
    newest_first: bool = False
    shifting: bool = False
    extra_fields: bool = False
    html_errors: bool = False

    @classmethod
    def of(cls, names: str | Iterable[str]) -> Dialect:
        """Build the flags for a dialect choice (see :func:`dialect_names`)."""
        chosen = dialect_names(names)
        return cls(
            names=chosen,
            native=chosen == (NATIVE,),
            generic="generic" in chosen,
            newest_first="newest-first" in chosen,
            shifting="shifting" in chosen,
            extra_fields="extra-fields" in chosen,
            html_errors="html-errors" in chosen,
        )


#: The default: the emulator's own behaviour. Also what the admin API always speaks.
NATIVE_DIALECT = Dialect()
