"""Name the operation a request targets, from its method and path alone.

The middleware needs the operation (for fault matching and the journal) before routing has
happened, so this is a cheap string split rather than a regex walk over the routes.
"""

from __future__ import annotations

from neev_provider.emulator.settings import AUTH_PREFIX

#: The spec's operationIds plus the two tenant auth endpoints.
OPERATIONS = (
    "listNetworkVolumes",
    "createNetworkVolume",
    "getNetworkVolume",
    "deleteNetworkVolume",
    "extendNetworkVolume",
    "login",
    "refresh",
)

_VOLUME_OPERATIONS = {
    (9, "GET"): "listNetworkVolumes",
    (9, "POST"): "createNetworkVolume",
    (10, "GET"): "getNetworkVolume",
    (10, "DELETE"): "deleteNetworkVolume",
    (11, "POST"): "extendNetworkVolume",
}
_AUTH_OPERATIONS = {f"{AUTH_PREFIX}/login": "login", f"{AUTH_PREFIX}/refresh": "refresh"}


def _volume_parts(path: str) -> list[str] | None:
    """Split a path under a project's volumes collection; ``None`` for any other path.

    ``['', 'storage', 'api', 'v1beta1', 'orgs', org, 'projects', project, 'volumes', id, 'extend']``;
    segments may be empty here (``.../volumes/``), which no operation accepts.
    """
    parts = path.split("/")
    if parts[1:5] != ["storage", "api", "v1beta1", "orgs"] or len(parts) < 9:
        return None
    return parts if parts[6] == "projects" and parts[8] == "volumes" else None


def in_volumes_api(path: str) -> bool:
    """Tell whether ``path`` lies under a project's volumes collection, the Storage service's routes.

    A gateway forwards such paths to the service, so even one that no route serves is answered by
    the service (in JSON); any other path is the gateway's own miss (see the ``html-errors`` dialect).
    """
    return _volume_parts(path) is not None


def operation_for(method: str, path: str) -> str | None:
    """Return the operationId for ``method path``, or ``None`` if it is not an API operation."""
    if path.startswith("/storage/"):
        parts = _volume_parts(path)
        if parts is None or not all(parts[5:]) or (len(parts) == 11 and parts[10] != "extend"):
            return None
        return _VOLUME_OPERATIONS.get((len(parts), method))
    if method == "POST":
        return _AUTH_OPERATIONS.get(path)
    return None
