"""Targets: where a VM runs (the fake acrn-dm, real ACRN hardware, or the fake's QEMU backend).

A target knows its binaries, the environment to start them with, its features (as labgrid's
``features:``), and why it is unavailable when it is, in words a skip can show.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

FAKE_FEATURES = frozenset({"console", "manager", "blkrescan", "scenarios", "network",
                           "default-mac"})
QEMU_FEATURES = frozenset({"console", "manager", "network", "real-kernel", "disk-content",
                           "default-mac"})
HW_FEATURES = frozenset({"console", "manager", "blkrescan", "network", "vsock", "passthru",
                         "real-kernel", "disk-content", "default-mac"})


@dataclass(frozen=True)
class Target:
    name: str
    acrn_dm: str | None
    acrnctl: str | None
    features: frozenset[str]
    #: extra environment for acrn-dm (the fake reads ACRNKIT_* settings)
    env: tuple[tuple[str, str], ...] = ()
    unavailable: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def available(self) -> bool:
        return self.unavailable is None

    def missing_features(self, wanted: set[str]) -> set[str]:
        return wanted - self.features


def _which(name: str, explicit: str | None) -> str | None:
    if explicit:
        path = shutil.which(explicit) or (explicit if os.access(explicit, os.X_OK) else None)
        return path
    return shutil.which(name)


def hsm_device() -> str | None:
    for dev in ("/dev/acrn_hsm", "/dev/acrn_vhm"):
        if os.path.exists(dev):
            return dev
    return None


def make_target(name: str, version: str, acrn_dm: str | None = None,
                acrnctl: str | None = None) -> Target:
    if name == "fake":
        dm = _which("fake-acrn-dm", acrn_dm)
        ctl = _which("fake-acrnctl", acrnctl)
        why = None if dm else f"fake acrn-dm not found ({acrn_dm or 'fake-acrn-dm'} on PATH)"
        return Target("fake", dm, ctl, FAKE_FEATURES,
                      (("ACRNKIT_ACRN_VERSION", version), ("ACRNKIT_DM_MODE", "run")), why)
    if name == "qemu":
        dm = _which("fake-acrn-dm", acrn_dm)
        ctl = _which("fake-acrnctl", acrnctl)
        why = None
        if not dm:
            why = "fake acrn-dm not found"
        elif not shutil.which("qemu-system-x86_64"):
            why = "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
        guest = os.environ.get("ACRNKIT_GUEST_DIR")
        if why is None and guest and not Path(guest).is_dir():
            why = f"guest image dir {guest} missing (run `acrnkit guest build`)"
        return Target("qemu", dm, ctl, QEMU_FEATURES,
                      (("ACRNKIT_ACRN_VERSION", version), ("ACRNKIT_DM_MODE", "run"),
                       ("ACRNKIT_DM_BACKEND", "qemu")), why)
    if name == "hw":
        dm = _which("acrn-dm", acrn_dm)
        ctl = _which("acrnctl", acrnctl)
        dev = hsm_device()
        why = None
        if dev is None:
            why = "no /dev/acrn_hsm: not an ACRN Service VM"
        elif os.geteuid() != 0:
            why = f"{dev} exists but acrn-dm needs root"
        elif dm is None:
            why = f"{dev} exists but acrn-dm was not found ({acrn_dm or 'acrn-dm'} on PATH)"
        return Target("hw", dm, ctl, HW_FEATURES, (), why)
    raise ValueError(f"unknown target {name!r}")
