"""Make sure a task's volume exists once: look up, create, settle, converge, reconcile.

The Storage API has no idempotency key, accepts duplicate names, and may commit a create after
the client gave up on it (a read timeout, a gateway's 504). So "create the volume" is a short
conversation, held by :class:`VolumeEnsurer`:

1. **Look the name up first.** A volume bearing the task instance's own default name (scoped to
   this deployment: :func:`~neev_provider.volumes.naming.default_volume_name`) can only come from an
   earlier try of the same task instance: it is *owned* and reconciled (step 4). A volume bearing a
   name the user gave is adopted only if compatible, and is *owned* only when this task instance
   recorded its id when it created it (the durable create record); otherwise nothing the provider
   decides on its own ever deletes it.
2. **Create.** A POST that fails ambiguously is never replayed blindly.
3. **Settle.** After an ambiguous POST, the name is looked up again and again over a bounded
   window with backoff, since a lookup right after it proves nothing; only when the window passes
   with no volume is the POST sent again. A volume found so under a user-given name may be
   another run's, so it is adopted but not owned.
4. **Converge and reconcile (own names only).** Several volumes bearing the task instance's own
   name are all its own: the healthiest (then the oldest) is kept and the others are deleted.
   Its own ``failed`` volume is deleted, and a ``terminated`` one waited out, before a new one is
   created under the same name.

Every volume the task holds is announced through ``on_volume`` (with whether it is owned) before
any wait or refusal, so an operator can push its id and ownership to XCom at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Literal

from neev_provider.client import validation
from neev_provider.client.errors import (
    AmbiguousRequestError,
    DuplicateVolumeNameError,
    NeevCloudError,
    NotFoundError,
    VolumeNotReusableError,
    VolumeStillPresentError,
)
from neev_provider.client.models import Volume, VolumeStatus
from neev_provider.client.retry import is_transient
from neev_provider.volumes.records import CreateRecord
from neev_provider.volumes.wait import Logger

if TYPE_CHECKING:
    from neev_provider.client import CreateVolumeRequest, NeevCloudClient

log = logging.getLogger(__name__)

IfExists = Literal["reuse", "fail"]
_HEALTH = {VolumeStatus.BOUND: 0, VolumeStatus.PENDING: 1}
_NEVER = datetime.max.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class SettlePolicy:
    """How long and how often to look for a volume whose create may have happened.

    :param window: seconds to keep looking after an ambiguous create before creating again.
    :param initial_delay: the first pause between lookups; it doubles up to ``max_delay``.
    :param max_delay: the longest pause between lookups.
    :param gone_timeout: seconds a failed or terminated own volume may take to disappear
        before a new one of the same name is created.
    :param gone_poll: seconds between lookups while waiting for it to disappear.
    :param max_creates: POSTs per attempt whose outcome stayed unknown before giving up.
    """

    window: float = 30.0
    initial_delay: float = 1.0
    max_delay: float = 8.0
    gone_timeout: float = 300.0
    gone_poll: float = 5.0
    max_creates: int = 3

    def __post_init__(self) -> None:
        for name in ("window", "initial_delay", "max_delay", "gone_timeout", "gone_poll"):
            validation.non_negative_number(getattr(self, name), f"settle.{name}")
        validation.page_number(self.max_creates, "settle.max_creates")


@dataclass(frozen=True)
class Ensured:
    """The task's volume, and how it came to be.

    :param owned: the task instance provably created it (in this try or an earlier one), so it
        may delete it when a wait fails or the task is killed.
    :param ambiguous: a POST of this try failed ambiguously, so a twin may still appear late;
        :meth:`VolumeEnsurer.converge` removes it.
    """

    volume: Volume
    owned: bool
    ambiguous: bool


def adoption_problems(volume: Volume, request: CreateVolumeRequest, *, smaller_ok: bool = False) -> list[str]:
    """List how an existing volume differs from what was asked, in ways that forbid reusing it.

    :param smaller_ok: a smaller volume may be reused (an extend after the create grows it).
    """
    problems = []
    if volume.region_id != request.region_id:
        problems.append(f"regionID is {volume.region_id!r}, not {request.region_id!r}")
    # The spec gives volumeMode as free text ("filesystem or block"): its case says nothing.
    if volume.volume_mode.casefold() != request.volume_mode.casefold():
        problems.append(f"volumeMode is {volume.volume_mode!r}, not {request.volume_mode!r}")
    if volume.capacity_gb < request.size_gb and not smaller_ok:
        problems.append(f"sizeGB is {volume.capacity_gb}, smaller than the {request.size_gb} asked for")
    if volume.status.is_failure:
        problems.append(f"status is {volume.status.value}")
    return problems


def keep_order(volume: Volume) -> tuple[int, datetime, str]:
    """Sort key of duplicates: the healthiest first, then the oldest, then by id (deterministic)."""
    return (_HEALTH.get(volume.status, 2), volume.created_at or _NEVER, volume.id)


def remove_twins(
    client: NeevCloudClient, name: str, keep_id: str, *, own_name: bool, logger: Logger = log
) -> list[str]:
    """Delete the volumes named ``name`` other than ``keep_id``; return their ids.

    Only a task instance's own default name proves that every volume bearing it is the task's: a
    user-given name is only reported, never deleted, since a same-named volume may be somebody
    else's.
    """
    others = [v for v in client.find_volumes_by_name(name) if v.id != keep_id]
    if not own_name:
        if others:
            logger.warning(
                "Other volumes are also named %s (%s); left alone, since the name was given, not generated",
                name,
                ", ".join(v.id for v in others),
            )
        return []
    removed = [v.id for v in others if v.status is not VolumeStatus.TERMINATED]
    for volume_id in removed:
        _delete_quietly(client, volume_id, f"a late duplicate of {keep_id}", logger)
    return removed


def _delete_quietly(client: NeevCloudClient, volume_id: str, why: str, logger: Logger) -> None:
    try:
        client.delete_volume(volume_id)
    except NotFoundError:
        return
    except NeevCloudError as error:
        # Logged, not raised: the next lookup shows the volume again and tries once more.
        logger.warning("Could not delete volume %s (%s): %s", volume_id, why, error)
        return
    logger.warning("Deleted volume %s: %s", volume_id, why)


class VolumeEnsurer:
    """Hold one try's conversation that ends with exactly one volume for the task.

    :param client: the sync client, already scoped to the task's organisation and project.
    :param request: what to create; its ``name`` is set.
    :param own_name: the name is the task instance's default name, so every volume bearing it is
        the task's own (from this try or an earlier one).
    :param if_exists: a volume with a user-given name exists: ``reuse`` it if compatible, or ``fail``.
    :param reuse_smaller: a volume smaller than asked for is compatible too (to be extended after).
    :param on_volume: called with each volume the task comes to hold, and whether the task owns it,
        before any wait or refusal.
    :param on_posting: called with the name right before each POST: from then until
        ``on_volume``, a volume of that name may exist that the task does not know the id of.
    :param record: the task instance's durable create record, where Airflow offers one
        (:mod:`neev_provider.volumes.records`): it spares the project-wide lookup when it can.
    """

    def __init__(
        self,
        client: NeevCloudClient,
        request: CreateVolumeRequest,
        *,
        own_name: bool,
        if_exists: IfExists = "reuse",
        reuse_smaller: bool = False,
        policy: SettlePolicy | None = None,
        on_volume: Callable[[Volume, bool], None] = lambda volume, owned: None,
        record: CreateRecord | None = None,
        on_posting: Callable[[str], None] = lambda name: None,
        logger: Logger = log,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if request.name is None:
            raise ValueError("the request must carry the name to look up")
        self.client = client
        self.request = request
        self.name: str = request.name
        self.own_name = own_name
        self.if_exists = if_exists
        self.reuse_smaller = reuse_smaller
        self.policy = policy or SettlePolicy()
        self.on_volume = on_volume
        self.record = record
        self.on_posting = on_posting
        self.log = logger
        self.sleep = sleep
        self.clock = clock
        self.ambiguous = False

    # -- the conversation ------------------------------------------------------------------------

    def ensure(self) -> Ensured:
        """Return the task's volume: adopted from an earlier try, or created now."""
        known = self._from_record()
        if isinstance(known, Ensured):
            return known
        if known == "post":
            return self.create()
        matches = self._lookup()
        if self.own_name:
            volume = self._reconcile(matches)
            if volume is not None:
                self._adopt_own(volume)
                return Ensured(volume, owned=True, ambiguous=False)
        elif matches:
            existing = self._only(matches)
            self._adopt_foreign(existing)
            return Ensured(existing, owned=False, ambiguous=False)
        return self.create()

    def create(self) -> Ensured:
        """POST the volume; after an ambiguous failure settle, and POST again only if nothing appears."""
        for attempt in range(1, self.policy.max_creates + 1):
            self._remember(None)
            self.on_posting(self.name)
            try:
                volume = self.client.create_volume(self.request)
            except AmbiguousRequestError as ambiguity:
                self.ambiguous = True
                self.log.warning(
                    "Create of %s may or may not have happened (%s); looking the name up for up to %.0f s",
                    self.name,
                    ambiguity.cause,
                    self.policy.window,
                )
                found = self._settle()
                if found is not None:
                    return self._settled(found)
                if attempt == self.policy.max_creates:
                    raise
                self.log.warning("No volume named %s appeared; creating it again", self.name)
                continue
            self.log.info(
                "Created volume %s (%s, %d GB in %s)",
                volume.id,
                volume.name,
                volume.size_gb,
                volume.region_id,
            )
            self._remember(volume.id)
            self.on_volume(volume, True)
            return Ensured(volume, owned=True, ambiguous=self.ambiguous)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _settled(self, found: Volume) -> Ensured:
        """Take the volume found after an ambiguous POST: this task's own only under its own name."""
        if self.own_name:
            self.log.info("The create did happen: volume %s (%s)", found.id, self.name)
            self._remember(found.id)
            self.on_volume(found, True)
            return Ensured(found, owned=True, ambiguous=True)
        self.log.warning(
            "Volume %s is named %s, as asked, but another run may have created it as well as this "
            "try: it is used, and never deleted by this task (its delete_on_failure, kill cleanup "
            "and teardown leave it). Use the default name for volumes the provider should clean up",
            found.id,
            self.name,
        )
        self.on_volume(found, False)
        return Ensured(found, owned=False, ambiguous=True)

    def converge(self, keep_id: str) -> list[str]:
        """Delete the task's own volumes other than ``keep_id`` (late twins); return their ids."""
        return remove_twins(self.client, self.name, keep_id, own_name=self.own_name, logger=self.log)

    # -- steps -----------------------------------------------------------------------------------

    def _from_record(self) -> Ensured | Literal["post", "lookup"]:
        """Use the task's create record, where there is one, to skip the project-wide lookup.

        A recorded id proves ownership whatever the name: this task instance wrote it right after
        its own POST answered. Only a default name may skip the lookup on a first try: a name the
        user gave may already be taken by somebody else.
        """
        if self.record is None:
            return "lookup"
        step = self.record.next_step(self.name)
        if step.action == "post" and self.own_name:
            self.log.info("First try of this task instance and nothing recorded: creating without a lookup")
            return "post"
        if step.action == "get" and step.volume_id is not None:
            volume = self.client.find_volume(step.volume_id)
            if volume is not None and volume.name == step.name and not volume.status.is_failure:
                self._adopt_own(volume)
                return Ensured(volume, owned=True, ambiguous=False)
        return "lookup"

    def _remember(self, volume_id: str | None) -> None:
        if self.record is not None:
            self.record.remember(self.name, volume_id, ambiguous=self.ambiguous)

    def _settle(self) -> Volume | None:
        """Look the name up over the settle window; return the volume once it shows (not yet owned)."""
        deadline = self.clock() + self.policy.window
        delay = self.policy.initial_delay
        while True:
            matches = self._lookup()
            if matches:
                if not self.own_name:
                    return self._only(matches)
                volume = self._reconcile(matches)
                if volume is not None:
                    return volume
            remaining = deadline - self.clock()
            if remaining <= 0:
                return None
            self.sleep(min(delay, remaining))
            delay = min(delay * 2, self.policy.max_delay)

    def _reconcile(self, matches: list[Volume]) -> Volume | None:
        """Bring the task's own volumes down to one usable volume, or to none; return it."""
        deadline = self.clock() + self.policy.gone_timeout
        while True:
            alive = sorted((v for v in matches if not v.status.is_failure), key=keep_order)
            failed = [v for v in matches if v.status is VolumeStatus.FAILED]
            for volume in failed:
                self.on_volume(volume, True)
                self._delete(volume.id, f"its own volume from an earlier try, {volume.status.value}")
            if alive:
                for twin in alive[1:]:
                    self._delete(twin.id, f"a duplicate of {alive[0].id}, created by an ambiguous retry")
                return alive[0]
            if not matches:
                return None
            if self.clock() >= deadline:
                raise VolumeStillPresentError(
                    f"volume(s) {', '.join(v.id for v in matches)} named {self.name!r} are still "
                    f"{'/'.join(sorted({v.status.value for v in matches}))} after "
                    f"{self.policy.gone_timeout:.0f} s; a new volume of that name can only be created "
                    "once they are gone. Delete them, then clear this task.",
                    volume_ids=[v.id for v in matches],
                )
            self.log.info(
                "Waiting for volume(s) %s named %s to go away before creating it anew",
                ", ".join(v.id for v in matches),
                self.name,
            )
            self.sleep(self.policy.gone_poll)
            matches = self._lookup()

    def _lookup(self) -> list[Volume]:
        """Every volume bearing the name: a read like a wait's, which rides out transient errors.

        A 429, a 5xx or a network failure that outlasts the client's own retries is tried again,
        backing off, until the task's own time (``gone_timeout``, its ``timeout``) runs out.
        """
        deadline = self.clock() + self.policy.gone_timeout
        delay = self.policy.initial_delay
        while True:
            try:
                return self.client.find_volumes_by_name(self.name)
            except NeevCloudError as error:
                remaining = deadline - self.clock()
                if not is_transient(error) or remaining <= 0:
                    raise
                self.log.warning("Looking up %s failed (%s); trying again", self.name, error)
                self.sleep(min(delay, remaining))
                delay = min(delay * 2, self.policy.max_delay)

    def _delete(self, volume_id: str, why: str) -> None:
        _delete_quietly(self.client, volume_id, why, self.log)

    def _only(self, matches: list[Volume]) -> Volume:
        if len(matches) > 1:
            raise DuplicateVolumeNameError(self.name, [v.id for v in matches])
        return matches[0]

    def _adopt_own(self, volume: Volume) -> None:
        self.on_volume(volume, True)
        problems = adoption_problems(volume, self.request, smaller_ok=self.reuse_smaller)
        if problems:
            raise VolumeNotReusableError(
                f"volume {volume.id} ({self.name}), created by an earlier try of this task, no longer "
                f"matches the request: {'; '.join(problems)}. Delete it, then clear this task.",
                volume_id=volume.id,
                problems=problems,
            )
        self.log.info("Reusing volume %s (%s), created by this task instance", volume.id, self.name)

    def _adopt_foreign(self, volume: Volume) -> None:
        if self.if_exists == "fail":
            raise VolumeNotReusableError(
                f"a volume named {self.name!r} already exists ({volume.id}) and if_exists='fail'; "
                "delete it, choose another name, or set if_exists='reuse'",
                volume_id=volume.id,
                problems=["if_exists='fail'"],
            )
        problems = adoption_problems(volume, self.request, smaller_ok=self.reuse_smaller)
        if problems:
            raise VolumeNotReusableError(
                f"a volume named {self.name!r} already exists ({volume.id}) but cannot be reused: "
                f"{'; '.join(problems)}. Delete it or choose another name.",
                volume_id=volume.id,
                problems=problems,
            )
        self.on_volume(volume, False)
        self.log.info(
            "Reusing volume %s (%s), which already existed: adopted, so this task never deletes it",
            volume.id,
            self.name,
        )
