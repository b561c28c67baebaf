"""A toy runtime in the shape of Kata's ACRN driver: it builds an acrn-dm argv and launches the
binary it is configured with. acrnkit's plugin tests it without ACRN hardware."""

from __future__ import annotations

import subprocess
from pathlib import Path


def build_argv(name: str, kernel: Path, image: Path, tap: str, mac: str) -> list[str]:
    return [
        "-m", "1024M",
        "-s", "0:0,hostbridge",
        "-s", "1:0,lpc", "-l", "com1,stdio",
        "-s", f"3,virtio-blk,{image}",
        "-s", f"4,virtio-net,tap={tap},mac={mac}",
        "--cpu_affinity", "1",
        "-k", str(kernel),
        "-B", "console=ttyS0 root=/dev/vda rw quiet",
        name,
    ]


def launch(acrn_dm: str, argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([acrn_dm, *argv], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
