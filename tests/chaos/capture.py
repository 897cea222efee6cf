"""Capture everything the run writes (both file descriptors and Python's streams) to scan for secrets."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {record.exc_text or ''}")


@contextlib.contextmanager
def captured_output(folder: Path) -> Iterator[list[Path]]:
    """Send fds 1 and 2, ``sys.stdout``/``sys.stderr`` and every log record to files in ``folder``.

    Yields the list of files to scan once the block is over (forked children write to fd 1 and 2
    too, so their output lands there as well).
    """
    folder.mkdir(parents=True, exist_ok=True)
    fd_file = folder / "fd-output.log"
    py_file = folder / "python-output.log"
    records_file = folder / "log-records.log"
    handler = _Records()
    root = logging.getLogger()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    sys.stdout.flush()
    sys.stderr.flush()
    with fd_file.open("wb") as raw, py_file.open("w", encoding="utf-8") as text:
        for fd in (1, 2):
            os.dup2(raw.fileno(), fd)
        old_level = root.level
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        try:
            with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
                yield [fd_file, py_file, records_file]
        finally:
            root.removeHandler(handler)
            root.setLevel(old_level)
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            records_file.write_text("\n".join(handler.lines), encoding="utf-8")
