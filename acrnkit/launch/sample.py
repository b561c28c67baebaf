"""A small sample VM for a release: a console, a disk, a NIC and a hot-plug slot.

Used by the plugin's default ``acrn_vm_argv`` and by ``acrnkit demo``. The kernel and disk image
are created in the given directory (the fake checks that they exist and that the disk is a
multiple of 512 bytes); on the QEMU target a real guest image is used instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from acrnkit.argv.render import render
from acrnkit.builder import VMBuilder
from acrnkit.model.devices.virtio_blk import VirtioBlk
from acrnkit.model.devices.virtio_net import VirtioNet
from acrnkit.releases.profile import get_release

SAMPLE_MAC = "02:00:5e:10:00:01"
SAMPLE_BOOTARGS = ("console=ttyS0 root=/dev/vda rw "
                   "ip=169.254.10.2::169.254.10.1:255.255.0.0::eth0:off")


def sample_files(directory: str | os.PathLike[str]) -> tuple[Path, Path]:
    base = Path(directory)
    base.mkdir(parents=True, exist_ok=True)
    kernel = base / "bzImage"
    disk = base / "disk.img"
    if not kernel.exists():
        kernel.write_bytes(b"acrnkit sample kernel\n")
    if not disk.exists():
        with open(disk, "wb") as fh:
            fh.truncate(8 << 20)
    return kernel, disk


def sample_argv(version: str, directory: str | os.PathLike[str], name: str = "vm1",
                tap: str = "tap0") -> list[str]:
    rel = get_release(version)
    kernel, disk = sample_files(directory)
    builder = VMBuilder(name, rel).memory("1G").lpc_console()
    builder.add(VirtioBlk(str(disk)))
    builder.add(VirtioNet(tap, keyword=rel.has("net.tap_keyword"), mac=SAMPLE_MAC))
    builder.add(VirtioBlk("nodisk"))
    if "cpu_affinity" in rel.support:
        builder.cpu_affinity(1)
    builder.kernel(str(kernel), SAMPLE_BOOTARGS)
    return render(builder.build(), rel)
