"""Debian's Chromium for the browser tests: installed where missing, started with flags for a closed network.

Playwright drives it through ``executable_path``; Playwright's own browser download is never used.
Run ``python -m tests.browser.chromium`` to install it by hand.
"""

from __future__ import annotations

import os
import shutil
import subprocess

#: Debian packages: the browser, and a font so that screenshots show text.
PACKAGES = ("chromium", "fonts-dejavu-core")
#: Headless, as root in a container, and with none of the background traffic (updates, sync,
#: component downloads, QUIC) that a machine without internet access refuses.
FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def ensure_chromium() -> str:
    """Return the path of Debian's Chromium, installing it with apt-get first if it is missing.

    :raises RuntimeError: if it is missing and cannot be installed (not root, or apt-get failed).
    """
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0:
        raise RuntimeError(
            "the browser tests need Debian's chromium; install it as root: apt-get install "
            + " ".join(PACKAGES)
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    found = shutil.which("chromium")
    if not found:
        raise RuntimeError("apt-get installed chromium, but it is not on PATH")
    return found


if __name__ == "__main__":
    print(ensure_chromium())
