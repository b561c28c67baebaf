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


def kata_sized_argv(directory: str | os.PathLike[str]) -> list[str]:
    """An argv of the size and shape Kata's driver built for a sandbox (40 elements, 14 devices:
    console socket, rootfs, eight hot-plug slots, vsock, NIC), with its kernel and rootfs created
    in ``directory``: the subject of the start-up bench and of its structural test."""
    base = Path(directory)
    base.mkdir(parents=True, exist_ok=True)
    kernel = base / "vmlinuz"
    kernel.write_bytes(b"k" * 4096)
    image = base / "rootfs.img"
    with open(image, "wb") as fh:
        fh.truncate(1 << 20)
    return ["-A", "-m", "2048M", "-s", "0:0,hostbridge", "-s", "1:0,lpc", "-lcom1,stdio",
            "-s", f"3,virtio-console,@socket:console0={base}/console.sock",
            "-s", f"4,virtio-blk,{image}",
            *[x for i in range(5, 13) for x in ("-s", f"{i},virtio-blk,nodisk")],
            "-s", "13,vhost-vsock,cid=3", "-s", "14,virtio-net,tap0_kata,mac=02:42:ac:11:00:02",
            "--cpu_affinity", "0", "-k", str(kernel), "-B", "console=hvc0 quiet", "sbx-abc"]
