"""The simulated guest behind ``fake-acrn-dm`` in run mode (see :mod:`.vm`)."""

from __future__ import annotations

from .vm import FakeVm, Outcome, run

__all__ = ["FakeVm", "Outcome", "run"]
