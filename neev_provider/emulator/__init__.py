"""A stateful fake of the NeevCloud Storage API, for tests and offline demos.

Serves the spec's five volume operations under the gateway path
``/storage/api/v1beta1/orgs/{org_id}/projects/{project_id}/volumes``, the tenant
login/refresh endpoints, and an admin API under ``/_emulator/``. Only the host differs from
production. Needs the ``emulator`` extra (FastAPI and uvicorn). ``create_app`` and
``EmulatorServer`` take an ``observer`` that receives every public-API :class:`Exchange`
(:mod:`neev_provider.emulator.tap`), e.g. to check each one against the spec.

Assumptions where the spec is silent:

* The tenant endpoints ``POST /tenant/api/v1/auth/login`` (``{email, password}``) and
  ``POST /tenant/api/v1/auth/refresh`` (``{refresh_token}``) answer
  ``{access_token, refresh_token, token_type: "Bearer", expires_in}``; access tokens are
  HS256 JWTs (``sub``, ``iat``, ``exp``, ``jti``) expiring after ``token_ttl`` seconds of
  emulator time; refresh tokens are single-use and rotated on every refresh. Login answers 400
  for a missing field or malformed e-mail, 404 for an unknown user, 401 for a wrong password.
* 401 bodies are exactly the documented gateway body ``{code: "unauthorized", message}``,
  without ``details``; every other error carries a ``details`` object.
* Validation failures answer 400 ``validation_error`` with ``details {field, rule, value}``.
* ``org_id`` and ``project_id`` are any strings: a ``/`` inside one is sent as ``%2F`` and stays
  part of the id (Storage paths are routed as sent, then decoded). ``page`` has no upper bound: a
  page past the end is empty. Query integers are plain decimal digits (``" 2"`` and ``"+2"`` are
  refused), and ids in bodies must be UUIDs in the hyphenated 8-4-4-4-12 form.
* ``planID`` is ``nv-standard-<regionID>``; generated names are ``nv-<10 hex digits>``.
* Creating with ``attachedTo`` mounts the volume on each instance at ``mountPath``.
* Extending above 1000 GB (the create limit) is refused; so is extending a volume that is not
  ``bound`` or whose previous extension is still ``resizing``.
* Deleting twice while ``delete_delay`` keeps the volume ``terminated`` answers 204 again.
* Detaching removes the attachment (``volumeAttachments`` lists mounted resources).

These are the ``native`` dialect; ``EmulatorSettings.dialect`` picks other answers the spec
allows (generic error wording, another list order, a list that shifts while a client pages,
unknown fields, HTML gateway pages for 5xx), so that tests cannot depend on the emulator's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from neev_provider.emulator.admin_client import EmulatorAdmin
from neev_provider.emulator.connection import airflow_connection
from neev_provider.emulator.settings import EmulatorSettings
from neev_provider.emulator.tap import Exchange, Observer

if TYPE_CHECKING:
    from neev_provider.emulator.app import create_app
    from neev_provider.emulator.server import EmulatorServer

__all__ = [
    "EmulatorAdmin",
    "EmulatorServer",
    "EmulatorSettings",
    "Exchange",
    "Observer",
    "airflow_connection",
    "create_app",
]


def __getattr__(name: str) -> Any:
    # FastAPI and uvicorn load only when the app or server is used, so importing the package
    # (e.g. for EmulatorSettings, or by the pytest plugin) stays cheap.
    if name == "create_app":
        from neev_provider.emulator.app import create_app

        return create_app
    if name == "EmulatorServer":
        from neev_provider.emulator.server import EmulatorServer

        return EmulatorServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
