"""NeevCloud volumes as Airflow assets (datasets on Airflow 2): the ``neevcloud`` URI scheme.

A volume's URI is ``neevcloud://{org_id}/{project_id}/{volume name}``: the same namespace
and name as its OpenLineage dataset. The provider info registers the scheme with
:func:`sanitize_uri`, :func:`create_asset` and :func:`convert_asset_to_openlineage`.

The create and extend operators announce their volume once it is ready
(:func:`announce_volume`): through an ``AssetAlias`` outlet, which names the volume
whatever it is called (the default names differ per run), or by adding the volume's id,
size and region to the event of an outlet that is that volume's asset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import SplitResult, urlsplit

from neev_provider._compat import Asset, AssetAlias, Context
from neev_provider.client import validation
from neev_provider.lineage import VolumeRef, volume_dataset

SCHEME = "neevcloud"
# The volume as an operator returns it (None when it returned nothing).
V = TypeVar("V", bound="Mapping[str, Any] | None")
_SHAPE = "neevcloud://{org_id}/{project_id}/{volume name}"
#: The extra of an asset event: its key, and the volume's field (as the API spells it) it carries.
_EVENT_EXTRA = {"volume_id": "id", "size_gb": "sizeGB", "region_id": "regionID"}


def volume_uri(org_id: str, project_id: str, name: str) -> str:
    """Return the asset URI of a volume."""
    return f"{SCHEME}://{org_id}/{project_id}/{name}"


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """Check a ``neevcloud`` URI (Airflow calls this for every asset of the scheme).

    :raises ValueError: naming the URI and the shape it must have.
    """
    parts = uri.path.strip("/").split("/")
    if not uri.netloc or len(parts) != 2 or not all(parts):
        raise ValueError(f"{uri.geturl()!r} is not a NeevCloud volume URI: it must be {_SHAPE}")
    if uri.query:
        raise ValueError(f"{uri.geturl()!r}: a NeevCloud volume URI has no query; it must be {_SHAPE}")
    validation.volume_name(parts[1], "volume name in the asset URI")
    return uri._replace(path="/" + "/".join(parts))


def create_asset(*, org_id: str, project_id: str, name: str, extra: dict[str, Any] | None = None) -> Asset:
    """Return the asset of a volume (a ``Dataset`` on Airflow 2)."""
    return Asset(uri=volume_uri(org_id, project_id, name), extra=extra or {})


def convert_asset_to_openlineage(asset: Asset, lineage_context: Any = None) -> Any:
    """Return the OpenLineage dataset of a volume's asset: the one the operators emit."""
    return volume_dataset(volume_ref(asset.uri))


def volume_ref(uri: str) -> VolumeRef:
    """Return the organization, project and volume name a ``neevcloud`` URI names."""
    parsed = sanitize_uri(urlsplit(uri))
    project_id, name = parsed.path.strip("/").split("/")
    return VolumeRef(parsed.netloc, project_id, name)


def announce_volume(operator: Any, context: Context, volume: V, *, created: bool | None = None) -> V:
    """Announce a ready volume to the operator's ``neevcloud`` outlets; return ``volume`` unchanged.

    Each ``AssetAlias`` outlet gets an event for the volume's asset; an outlet that is the
    volume's own asset gets the volume's id, size and region as the extra of its event.

    :param created: the create's proof that this task created the volume (``True``), or that it
        adopted one it found (``False``); added to the extra as ``created``, so that a consumer
        that deletes what it is given can leave an adopted volume alone.
    """
    if isinstance(volume, Mapping) and operator.outlets:
        _announce(operator, context, volume, created)
    return volume


def _announce(operator: Any, context: Context, volume: Mapping[str, Any], created: bool | None) -> None:
    config = operator.hook.client.config
    asset = create_asset(org_id=config.org_id, project_id=config.project_id, name=str(volume["name"]))
    # What a consumer needs to use the volume; the event already names it by its URI.
    extra: dict[str, Any] = {name: volume.get(field) for name, field in _EVENT_EXTRA.items()}
    if created is not None:
        extra["created"] = created
    events = context["outlet_events"]
    for outlet in operator.outlets:
        if isinstance(outlet, AssetAlias):
            events[outlet].add(asset, extra=extra)
        elif isinstance(outlet, Asset) and outlet.uri == asset.uri:
            events[outlet].extra.update(extra)
