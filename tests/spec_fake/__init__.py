"""An independent fake of the NeevCloud Storage API (v1beta1), written from the spec only.

Sources: ``storage-v1beta1.openapi.json`` and ``network-volumes.md`` (the published API
reference). Nothing here is taken from the provider's client or from its emulator
(``neev_provider.emulator``): the point is a second reading of the spec, so that the provider
and this fake do not agree merely because they were written together.

It is standard library only: a :class:`~http.server.ThreadingHTTPServer` on 127.0.0.1 (port 0)
in a thread, used as a context manager whose ``url`` is the gateway root. It serves the five
operations under ``/storage/api/v1beta1/orgs/{org}/projects/{project}/volumes``: list (``page``,
``limit`` <= 100, ``available``, a ``pagination`` object), create (201, ``pending``), get, extend
(202, ``extension_status`` ``resizing`` -> ``succeeded`` with ``actual_sizeGB``) and delete (204;
400 while a resource has the volume mounted; optionally ``terminated`` for a few reads first),
with a static bearer token (401 otherwise).

Dialects, one per server instance, each valid against the spec:

``plain``
    lower-case error codes, messages naming the volume (``volume <id> not found``,
    ``volume <id> is in use: ...``), lists oldest first; unknown paths get Go's plain-text
    ``404 page not found``.
``generic``
    the spec's ``ErrorResponse`` with generic words only: 404 ``NOT_FOUND``/``resource not
    found`` (also for unknown paths), 400 ``BAD_REQUEST``/``bad request`` (also when a delete is
    refused because the volume is in use); lists newest first.
``shifting``
    plain, but before answering any page N > 1 the oldest ``other-…`` volume is deleted and a
    new ``other-…`` one created: items move across page boundaries, the total stays the same.
``extra``
    unknown fields in every object (volumes, attachments, AIRuntime instances, pagination, the
    list envelope, error bodies) and free-text words in another case (``volumeMode:
    Filesystem``, ``resource_type: AIRuntime``, ``code: NotFound``); a detached resource stays
    listed as ``unmounted``; an unknown path answers the API's JSON envelope quoting the URL.
``gateway``
    plain JSON from the API, but 5xx bodies are the gateway's HTML pages and any path that is
    not an API route answers an HTML 404; a missing volume on a real route is the spec's JSON 404.

Test hooks are Python calls, never HTTP: :meth:`SpecFake.seed`, :meth:`~SpecFake.attach`,
:meth:`~SpecFake.detach`, :meth:`~SpecFake.volume`, :meth:`~SpecFake.count`,
:meth:`~SpecFake.inject` (429 with ``Retry-After: 0``, 502, 504) and the
:attr:`~SpecFake.refused_delete` event.
"""

from __future__ import annotations

from tests.spec_fake.dialects import DIALECTS
from tests.spec_fake.server import Exchange, SpecFake
from tests.spec_fake.store import Delay

DIALECT_NAMES = tuple(DIALECTS)

__all__ = ["DIALECT_NAMES", "Delay", "Exchange", "SpecFake"]
