"""The fake acrn-dm's QEMU backend: the acrn-dm argv boots a real Linux guest under QEMU.

``translate`` maps acrn-dm's VM model to a ``qemu-system-x86_64`` argv; ``backend.run_qemu`` runs
it behind the acrn-dm manager socket; ``accel.probe_accel`` decides KVM or TCG for real.
``python -m acrnkit.fakes.acrn_dm.qemu ARGV...`` is a standalone acrn-dm on this backend.
See docs/qemu-target.md.

``run(result, settings, argv)`` is the entry ``fake-acrn-dm`` calls with ``ACRNKIT_DM_BACKEND=qemu``
(the same shape as the simulated guest's ``sim.run``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from acrnkit.argv.check import CheckResult

    from .backend import QemuOutcome
    from .settings import SettingsLike


def run(result: CheckResult, settings: SettingsLike, argv: Sequence[str]) -> QemuOutcome:
    """Be the VM of a validated argv under QEMU; returns ``.status`` / ``.signal``."""
    from .backend import run_qemu

    return run_qemu(result.vm, result.release, settings, argv)


__all__ = ["run"]
