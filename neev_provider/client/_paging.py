"""Walking the project's volume list: pure steps that both clients drive with their own I/O.

The list is paged by offset (``page``, ``limit``) and may change while it is read: teardowns of
a fan-out delete volumes, other runs create them. A volume deleted before the page being read
moves every later one a place back, so the first volume of the next page is never seen; a
volume created in front moves them forward, so one is seen twice. So:

- :class:`PageWalk` guarantees a walk ends, whatever the server answers (pages that do not
  advance, repeat themselves, or never stop are errors), yields every volume once, and raises
  :class:`ListChanged` when the list's total changes between two pages;
- :func:`all_volumes_steps` starts a changed walk over, at most :data:`MAX_WALKS` times, and
  then takes what it sees;
- :func:`lookup_steps` (a name lookup, which a create relies on to never make a second volume)
  trusts "no volume of that name" from a list that fits one page, or from two walks in a row
  that saw exactly the same volumes: a walk that missed one because another was deleted under
  it saw that other one, which the next walk cannot see. A list that never holds still (other
  runs creating and deleting all the time) is trusted after :data:`MAX_WALKS` walks that never
  showed the name: a volume one walk misses at a page boundary is on the page before it for the
  next walk, so missing it every time takes a new shift at its exact place in each walk.

Items that are not volumes as the spec describes them are set aside by the parser and reported
once per walk; only one bearing the very name looked up is an error.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterable, Mapping
from typing import Any

from neev_provider.client.errors import DuplicateVolumeNameError, UnexpectedResponseError
from neev_provider.client.models import Page, Volume

log = logging.getLogger(__name__)

#: The most pages one walk over a project's volumes reads (100,000 volumes at 100 a page).
MAX_PAGES = 1000
#: Walks of a list that keeps changing, at most, before what they saw is taken.
MAX_WALKS = 3
#: The page size of walks.
LIST_LIMIT = 100

#: Steps of a walk: yield a page number, receive that page.
PageSteps = Generator[int, Page, Any]


class ListChanged(Exception):
    """The list's total changed between two pages of one walk: what was read may miss a volume."""


class PageWalk:
    """Decide, page by page, what a walk over the project's volumes yields and asks for next.

    - the next page asked for is always the one after the page just asked for, never taken
      from the answer;
    - a page the API numbers no higher than the previous one (``current_page`` not
      advancing), or a non-empty page holding only volumes already seen (the ``page``
      parameter ignored), is an error, not a loop;
    - more than :data:`MAX_PAGES` pages is an error;
    - a volume seen on an earlier page (the list shifted while it was read) is yielded once;
    - a total (``total_items``) that differs from the first page's raises :class:`ListChanged`.

    :param limit: the page size asked for.
    :param strict: raise :class:`ListChanged` when the total changes (a lazy walk that cannot
        start over, such as ``iter_volumes``, passes ``False`` and yields what it sees).
    """

    def __init__(self, limit: int, *, max_pages: int = MAX_PAGES, strict: bool = True) -> None:
        self.limit = limit
        self.max_pages = max_pages
        self.strict = strict
        self.unparsed: list[Mapping[str, Any]] = []
        self.unparsed_reason: str | None = None
        self._seen: set[str] = set()
        self._last_reported: int | None = None
        self._total: int | None = None

    def accept(self, asked: int, page: Page) -> tuple[list[Volume], int | None]:
        """Take the answer for page ``asked``; return its new volumes and the next page to ask for."""
        self._check_advances(asked, page)
        self._check_total(page)
        self.unparsed += page.unparsed
        self.unparsed_reason = self.unparsed_reason or page.unparsed_reason
        fresh = [volume for volume in page.volumes if volume.id not in self._seen]
        self._seen.update(volume.id for volume in fresh)
        if page.volumes and not fresh:
            raise UnexpectedResponseError(
                f"page {asked} of the volume list repeats volumes of earlier pages only: the API does "
                "not advance through pages, so the walk stops instead of looping"
            )
        count = len(page.volumes) + len(page.unparsed)
        more = asked < page.total_pages if page.total_pages is not None else count >= self.limit
        if not more:
            return fresh, None
        if asked >= self.max_pages:
            raise UnexpectedResponseError(
                f"the volume list has more than {self.max_pages} pages of {self.limit}; the walk stops there"
            )
        return fresh, asked + 1

    def _check_advances(self, asked: int, page: Page) -> None:
        reported = page.reported_page
        if reported is None:
            return
        if self._last_reported is not None and reported <= self._last_reported:
            raise UnexpectedResponseError(
                f"asked for page {asked} of the volume list, the API answered page {reported} again: "
                "its pages do not advance, so the walk stops instead of looping"
            )
        self._last_reported = reported

    def _check_total(self, page: Page) -> None:
        if page.total_items is None:
            return
        if self.strict and self._total is not None and page.total_items != self._total:
            raise ListChanged(f"the list held {self._total} volumes, then {page.total_items}")
        self._total = page.total_items

    def report_unparsed(self) -> None:
        """Say, once for the walk, that some items were set aside."""
        if self.unparsed:
            log.warning(
                "Skipped %d item(s) of the volume list that are not volumes as the API documents them "
                "(%s); volumes of the project that the task does not use",
                len(self.unparsed),
                self.unparsed_reason,
            )


def walk_steps(
    limit: int = LIST_LIMIT, *, strict: bool = True
) -> Generator[int, Page, tuple[list[Volume], PageWalk, int]]:
    """One walk over every page: return the volumes, the walk (its set-aside items) and the pages read."""
    walk = PageWalk(limit, strict=strict)
    volumes: list[Volume] = []
    page: int | None = 1
    pages = 0
    while page is not None:
        asked = page
        answer: Page = yield asked
        fresh, page = walk.accept(asked, answer)
        volumes += fresh
        pages += 1
    return volumes, walk, pages


def all_volumes_steps() -> Generator[int, Page, list[Volume]]:
    """Every volume of the project, from a walk the list did not change under if one comes."""
    for attempt in range(1, MAX_WALKS + 1):
        try:
            volumes, walk, _ = yield from walk_steps(strict=attempt < MAX_WALKS)
        except ListChanged:
            continue
        walk.report_unparsed()
        return volumes
    raise AssertionError("unreachable: the last walk is not strict")  # pragma: no cover


def lookup_steps(name: str) -> Generator[int, Page, list[Volume]]:
    """Every volume called ``name``, trusted absent only when that cannot be a missed read."""
    previous: frozenset[str] | None = None
    for attempt in range(1, MAX_WALKS + 1):
        try:
            volumes, walk, pages = yield from walk_steps(strict=attempt < MAX_WALKS)
        except ListChanged:
            previous = None
            continue
        _refuse_unreadable_namesake(walk.unparsed, name)
        walk.report_unparsed()
        matches = named(volumes, name)
        seen = frozenset(volume.id for volume in volumes)
        if matches or pages == 1 or seen == previous:
            return matches
        previous = seen
    log.warning(
        "The volume list changed during each of %d walks; none showed a volume named %s, so it is "
        "taken to be absent",
        MAX_WALKS,
        name,
    )
    return []


def _refuse_unreadable_namesake(unparsed: Iterable[Mapping[str, Any]], name: str) -> None:
    if any(item.get("name") == name for item in unparsed):
        raise UnexpectedResponseError(
            f"the volume list holds a volume named {name!r} that is not a volume as the API documents "
            "it (a required field is missing), so it cannot be checked or reused"
        )


def named(volumes: Iterable[Volume], name: str) -> list[Volume]:
    """Return every volume called ``name``, in the order listed."""
    return [volume for volume in volumes if volume.name == name]


def pick_by_name(volumes: Iterable[Volume], name: str) -> Volume | None:
    """Return the one volume called ``name``, ``None`` if there is none.

    :raises DuplicateVolumeNameError: if there are several: which one a task owns is then
        not knowable, and guessing could adopt or delete somebody else's volume.
    """
    matches = named(volumes, name)
    if len(matches) > 1:
        raise DuplicateVolumeNameError(name, [volume.id for volume in matches])
    return matches[0] if matches else None
