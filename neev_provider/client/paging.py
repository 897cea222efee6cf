"""Pure helpers over pages and lists of volumes, shared by both clients."""

from __future__ import annotations

from collections.abc import Iterable

from neev_provider.client.errors import DuplicateVolumeNameError, UnexpectedResponseError
from neev_provider.client.models import Page, Volume

#: The most pages one walk over a project's volumes reads (100,000 volumes at 100 a page).
MAX_PAGES = 1000


class PageWalk:
    """Decide, page by page, what a walk over the project's volumes yields and asks for next.

    Both clients' ``iter_volumes`` drive one. It guarantees the walk ends, whatever the
    server answers:

    - the next page asked for is always the one after the page just asked for, never taken
      from the answer;
    - a page the API numbers no higher than the previous one (``current_page`` not
      advancing), or a non-empty page holding only volumes already seen (the ``page``
      parameter ignored), is an error, not a loop;
    - more than :data:`MAX_PAGES` pages is an error;
    - a volume seen on an earlier page (the list shifted while it was read) is yielded once.

    :param limit: the page size asked for.
    :param max_pages: the page cap.
    """

    def __init__(self, limit: int, *, max_pages: int = MAX_PAGES) -> None:
        self.limit = limit
        self.max_pages = max_pages
        self._seen: set[str] = set()
        self._last_reported: int | None = None

    def accept(self, asked: int, page: Page) -> tuple[list[Volume], int | None]:
        """Take the answer for page ``asked``; return its new volumes and the next page to ask for.

        :raises UnexpectedResponseError: if the pages do not advance or there are too many.
        """
        self._check_advances(asked, page)
        fresh = []
        for volume in page.volumes:
            if volume.id not in self._seen:
                self._seen.add(volume.id)
                fresh.append(volume)
        if page.volumes and not fresh:
            raise UnexpectedResponseError(
                f"page {asked} of the volume list repeats volumes of earlier pages only: the API does "
                "not advance through pages, so the walk stops instead of looping"
            )
        more = asked < page.total_pages if page.total_pages is not None else len(page.volumes) >= self.limit
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
