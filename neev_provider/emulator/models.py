"""In-memory records of volumes and attachments, and their rendering as spec schemas.

Rendering omits optional fields that have no value instead of sending ``null``: the spec's
schemas are not nullable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neev_provider.emulator.clock import format_timestamp


@dataclass
class Attachment:
    """A resource the volume is attached to (``VolumeAttachmentResponse``)."""

    id: str
    volume_id: str
    resource_type: str
    resource_name: str
    created_at: float
    status: str = "mounted"
    resource_id: str | None = None
    mount_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Render as ``VolumeAttachmentResponse``."""
        rendered: dict[str, Any] = {
            "id": self.id,
            "volume_id": self.volume_id,
            "resource_type": self.resource_type,
        }
        if self.resource_id is not None:
            rendered["resource_id"] = self.resource_id
        rendered["resource_name"] = self.resource_name
        if self.mount_path is not None:
            rendered["mount_path"] = self.mount_path
        rendered["status"] = self.status
        rendered["createdAt"] = format_timestamp(self.created_at)
        return rendered


@dataclass
class Volume:
    """A network volume plus the hidden deadlines that drive its lifecycle.

    ``bind_at``/``resize_at``/``delete_at`` are emulator-clock times at which the pending
    transition lands; ``None`` means nothing is scheduled (also after an admin forced a state).
    """

    id: str
    org_id: str
    project_id: str
    name: str
    region_id: str
    size_gb: int
    volume_mode: str
    plan_id: str
    created_at: float
    updated_at: float
    status: str = "pending"
    extension_status: str | None = None
    actual_size_gb: int | None = None
    airuntime_instances: list[dict[str, str]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    bind_at: float | None = None
    bind_outcome: str = "bound"
    resize_at: float | None = None
    resize_outcome: str = "succeeded"
    delete_at: float | None = None

    def sort_key(self) -> tuple[float, str]:
        """Return the stable list order: creation time, then id."""
        return (self.created_at, self.id)

    def to_dict(self) -> dict[str, Any]:
        """Render as ``NetworkVolumeResponse``."""
        rendered: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "orgID": self.org_id,
            "projectID": self.project_id,
            "regionID": self.region_id,
            "sizeGB": self.size_gb,
            "volumeMode": self.volume_mode,
            "planID": self.plan_id,
            "status": self.status,
        }
        if self.extension_status is not None:
            rendered["extension_status"] = self.extension_status
        if self.actual_size_gb is not None:
            rendered["actual_sizeGB"] = self.actual_size_gb
        rendered["airuntime_instances"] = [dict(item) for item in self.airuntime_instances]
        rendered["volumeAttachments"] = [item.to_dict() for item in self.attachments]
        rendered["createdAt"] = format_timestamp(self.created_at)
        rendered["updatedAt"] = format_timestamp(self.updated_at)
        return rendered
