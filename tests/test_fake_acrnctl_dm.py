"""``fake-acrnctl`` driving real fake VMs: ``fake-acrn-dm`` in run mode, started directly or
through ``acrnctl add`` + ``start``. Skipped (with the reason) when fake-acrn-dm is missing or
does not accept the argv yet. Every process is killed and reaped (or seen gone) afterwards and no
manager socket is left behind."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN = os.path.dirname(sys.executable)
CTL = shutil.which("fake-acrnctl", path=BIN) or shutil.which("fake-acrnctl")
DM = shutil.which("fake-acrn-dm", path=BIN) or shutil.which("fake-acrn-dm")
TIMEOUT = 15.0

pytestmark = pytest.mark.skipif(CTL is None, reason="fake-acrnctl is not installed")


def dm_args(version: str, kernel: str) -> list[str]:
    # 1.6 has no --cpu_affinity (v1.6 devicemodel/core/main.c long_options).
    affinity = [] if version == "1.6" else ["--cpu_affinity", "1"]
    return ["-s", "0:0,hostbridge", "-s", "3,virtio-blk,nodisk", *affinity, "-k", kernel, "vm1"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACRNKIT_")}
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def fake_dm(tmp_path_factory: pytest.TempPathFactory) -> str:
    if DM is None:
        pytest.skip("fake-acrn-dm is not installed")
    kernel = tmp_path_factory.mktemp("smoke") / "k.img"
    kernel.write_bytes(b"\x7fkernel" * 64)
    for version in ("1.6", "2.7", "3.2"):
        res = subprocess.run(
            [DM, *dm_args(version, str(kernel))], capture_output=True, text=True, timeout=30,
            env=clean_env(ACRNKIT_DM_MODE="check", ACRNKIT_ACRN_VERSION=version),
        )
        if res.returncode != 0:
            tail = (res.stdout + res.stderr).strip().splitlines()[-1:]
            pytest.skip(f"fake-acrn-dm {version} rejects the test argv: {tail}")
    return DM


def gone(pid: int) -> bool:
    """Dead, or a zombie waiting for a parent that is not us."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def wait_for(predicate: object, what: str, timeout: float = TIMEOUT) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


class Host:
    def __init__(self, tmp_path: Path, version: str) -> None:
        self.version = version
        self.run_dir = tmp_path / "run"
        self.work = tmp_path / "work"
        self.work.mkdir()
        self.kernel = self.work / "k.img"
        self.kernel.write_bytes(b"\x7fkernel" * 64)
        self.disk = self.work / "disk.img"
        self.disk.write_bytes(bytes(1 << 20))
        self.env = clean_env(
            ACRNKIT_RUN_DIR=str(self.run_dir), ACRNKIT_ACRN_VERSION=version,
            ACRNKIT_ACRNCTL_SKIP_ROOT_CHECK="1",
        )
        # The directories a host with ACRN installed has, so that acrnctl does not complain.
        (self.run_dir / "mngr").mkdir(parents=True)
        (self.run_dir / "conf" / "add").mkdir(parents=True)
        self.pids: list[int] = []
        self.children: list[subprocess.Popen[bytes]] = []

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert CTL is not None
        return subprocess.run(
            [CTL, *args], env=self.env, cwd=self.work, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=60,
        )

    def sockets(self) -> list[Path]:
        return sorted((self.run_dir / "mngr").glob("vm1.monitor.*.socket"))

    def dm_pid(self) -> int:
        wait_for(self.sockets, "the manager socket of vm1")
        match = re.fullmatch(r"vm1\.monitor\.(\d+)\.socket", self.sockets()[0].name)
        assert match
        pid = int(match.group(1))
        self.pids.append(pid)
        return pid

    def cleanup(self) -> None:
        for child in self.children:
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
            child.wait(timeout=TIMEOUT)
        for pid in self.pids:
            if not gone(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(os.getpgid(pid), signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                wait_for(lambda pid=pid: gone(pid), f"pid {pid} to go")


@pytest.fixture(params=["1.6", "2.7", "3.2"])
def host(request: pytest.FixtureRequest, tmp_path: Path, fake_dm: str) -> Iterator[Host]:
    box = Host(tmp_path, str(request.param))
    try:
        yield box
    finally:
        box.cleanup()
    assert not box.sockets(), "manager socket left behind"


def test_fake_vm_started_directly(host: Host, fake_dm: str) -> None:
    version = host.version
    out = (host.work / "dm.out").open("wb")
    with out:
        child = subprocess.Popen(
            [fake_dm, *dm_args(version, str(host.kernel))], env=host.env, cwd=host.work,
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    host.children.append(child)
    assert host.dm_pid() == child.pid

    res = host.ctl("list")
    assert (res.returncode, res.stdout, res.stderr) == (0, "vm1\t\tstarted\n", "")

    # The commands that differ between releases.
    if version == "3.2":
        for command in ("suspend", "resume", "pause"):
            res = host.ctl(command, "vm1")
            assert res.returncode == 255
            assert res.stdout.startswith(f"Unknown command: {command}\n")
    else:
        checks = [("suspend", "suspend")] + (
            [("pause", "pause"), ("continue", "continue")] if version == "1.6" else []
        )
        for command, verb in checks:
            res = host.ctl(command, "vm1")
            # The DM's answer decides: err 0 is silent exit 0, else the message and err & 0xff.
            found = re.fullmatch(rf"Unable to {verb} vm\. errno\((-?\d+)\)\n", res.stdout)
            if found:
                assert res.returncode == int(found.group(1)) & 0xFF
            else:
                assert (res.returncode, res.stdout) == (0, "")
        res = host.ctl("list")
        assert res.stdout in ("vm1\t\tstarted\n", "vm1\t\tsuspended\n")
        if res.stdout == "vm1\t\tsuspended\n":
            assert host.ctl("resume", "vm1").returncode == 0

    res = host.ctl("blkrescan", "vm1", f"3,{host.disk}")
    assert res.returncode == 0
    assert "Unable to rescan" not in res.stdout

    res = host.ctl("stop", "-f", "vm1")
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")
    child.wait(timeout=TIMEOUT)
    wait_for(lambda: not host.sockets(), "the socket to go")
    assert host.ctl("list").stdout == "There are no VMs\n"


LAUNCH = """#!/bin/bash
# launch vm1 (an acrnctl-style script: the acrn-dm word is the first of its line)
kernel=$1
fake-acrn-dm -s 0:0,hostbridge -s 3,virtio-blk,nodisk \\
  {affinity}-k $kernel \\
  vm1
"""


def test_add_start_blkrescan_stop_del(host: Host) -> None:
    affinity = "" if host.version == "1.6" else "--cpu_affinity 1 "
    (host.work / "vm1.sh").write_text(LAUNCH.format(affinity=affinity))
    res = host.ctl("add", "vm1.sh", "k.img")
    assert (res.returncode, res.stdout, res.stderr) == (0, "vm1 added\n", "")
    assert not host.sockets(), "add only probes the script; it starts nothing"
    assert host.ctl("list").stdout == "vm1\t\tstopped\n"

    res = host.ctl("start", "vm1")
    assert (res.returncode, res.stderr) == (0, "")
    pid = host.dm_pid()
    wait_for(lambda: host.ctl("list").stdout == "vm1\t\tstarted\n", "vm1 to be listed started")
    assert host.ctl("start", "vm1").stdout == "can't start vm1(started)\n"

    res = host.ctl("blkrescan", "vm1", f"3,{host.disk}")
    assert (res.returncode, res.stdout) == (0, "")

    res = host.ctl("stop", "-f", "vm1")
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")
    wait_for(lambda: gone(pid), "the fake VM to end")
    wait_for(lambda: not host.sockets(), "the socket to go")
    assert host.ctl("list").stdout == "vm1\t\tstopped\n"
    res = host.ctl("del", "vm1")
    assert (res.returncode, res.stdout) == (0, "")
    assert host.ctl("list").stdout == "There are no VMs\n"
    log = (host.run_dir / "acrnctl" / "vm1.start.log").read_bytes()
    assert log, "the VM's output went to the start log"
