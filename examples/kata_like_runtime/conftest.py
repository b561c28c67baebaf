"""The runtime's own conftest: it boots *its* argv in acrnkit's boot suite."""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime import build_argv


@pytest.fixture
def acrn_vm_argv(acrn_run_dir: Path) -> list[str]:
    kernel = acrn_run_dir / "vmlinuz"
    kernel.write_bytes(b"kernel")
    image = acrn_run_dir / "rootfs.img"
    with open(image, "wb") as fh:
        fh.truncate(1 << 20)
    return build_argv("sbx-demo", kernel, image, "tap0_demo", "02:42:ac:11:00:02")
