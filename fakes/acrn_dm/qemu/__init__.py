"""The fake acrn-dm's QEMU backend: the acrn-dm argv boots a real Linux guest under QEMU.

``translate`` maps acrn-dm's VM model to a ``qemu-system-x86_64`` argv; ``backend.run_qemu`` runs
it behind the acrn-dm manager socket; ``accel.probe_accel`` decides KVM or TCG for real.
``python -m acrnkit.fakes.acrn_dm.qemu ARGV...`` is a standalone acrn-dm on this backend.
See docs/qemu-target.md.
"""

from __future__ import annotations
