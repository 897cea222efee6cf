"""Tests of the NeevCloud Storage API emulator, over real HTTP."""

from __future__ import annotations
