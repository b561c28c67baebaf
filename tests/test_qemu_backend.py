"""The QEMU backend: process, QMP, manager socket, signals and cleanup.

Two layers:

* always: the backend against a stand-in ``qemu-system-x86_64`` (a small Python program that
  speaks QMP on the inherited socket), so the plumbing is tested on every machine;
* ``qemu`` marker: real guests (``acrnkit guest build`` image, TCG, 1 vCPU, one guest per test,
  so at most 2 with ``-n 2``). They skip, with the reason, when qemu-system-x86_64 or the guest
  image is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from acrnkit.fakes.acrn_dm.qemu.accel import (
    PROBE_OK,
    choose_accel,
    probe_accel,
    probe_image,
    run_probe,
)
from acrnkit.fakes.acrn_dm.qemu.backend import POWEROFF, RUNNING, SUSPEND, QemuVm
from acrnkit.fakes.acrn_dm.qemu.settings import QemuSettings

from acrnkit.launch.mngr import ManagerClient, MngrMessage, find_sockets
from acrnkit.releases.manager import manager_profile
from acrnkit.releases.profile import get_release

ENTRY = [sys.executable, "-m", "acrnkit.fakes.acrn_dm.qemu"]

FAKE_QEMU = r'''
import json, os, signal, socket, sys, time
args = sys.argv[1:]
mode = os.environ.get("FAKE_QEMU_MODE", "ok")
with open(os.environ["FAKE_QEMU_LOG"], "a") as log:
    log.write(json.dumps({"pid": os.getpid(), "argv": args, "sid": os.getsid(0)}) + "\n")
if mode == "fail":
    sys.stderr.write("qemu-system-x86_64: could not configure /dev/net/tun (tap0): "
                     "Operation not permitted\n")
    sys.exit(1)
fd = None
for i, a in enumerate(args):
    if a == "-chardev" and args[i + 1].startswith("socket,id=qmp,fd="):
        fd = int(args[i + 1].split("fd=")[1].split(",")[0])
keep = []
for i, a in enumerate(args):
    if a == "-chardev" and ",server=on" in args[i + 1] and ",path=" in args[i + 1]:
        path = args[i + 1].split(",path=")[1].split(",")[0]
        srv = socket.socket(socket.AF_UNIX)
        srv.bind(path)
        keep.append(srv)
    if a == "-object" and "mem-path=" in args[i + 1]:
        path = args[i + 1].split("mem-path=")[1].split(",")[0]
        open(path, "ab").close()
sock = socket.socket(fileno=fd)
f = sock.makefile("rwb", buffering=0)
def send(obj):
    f.write(json.dumps(obj).encode() + b"\r\n")
print("fake-qemu up", flush=True)
send({"QMP": {"version": {}, "capabilities": []}})
state = "running"
for line in f:
    req = json.loads(line)
    cmd, ident = req["execute"], req.get("id")
    if cmd == "quit":
        send({"event": "SHUTDOWN", "data": {"guest": False, "reason": "host-qmp-quit"}})
        send({"return": {}, "id": ident})
        sys.exit(0)
    if cmd == "system_powerdown":
        send({"return": {}, "id": ident})
        if mode != "ignore-button":
            print("fake-qemu: power button, powering off", flush=True)
            send({"event": "SHUTDOWN", "data": {"guest": True, "reason": "guest-shutdown"}})
            sys.exit(0)
        continue
    if cmd == "query-status":
        send({"return": {"status": state, "running": state == "running"}, "id": ident})
        continue
    if cmd == "query-chardev":
        send({"return": [{"label": "vtcon5_0_0", "filename": "pty:/dev/pts/77"}], "id": ident})
        continue
    send({"return": {}, "id": ident})
'''


@pytest.fixture
def fake_qemu(tmp_path: Path) -> Path:
    path = tmp_path / "qemu-system-x86_64"
    path.write_text(f"#!{sys.executable}\n{FAKE_QEMU}")
    path.chmod(0o755)
    return path


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACRNKIT_")}
    env.update(ACRNKIT_RUN_DIR=str(tmp_path / "run"), ACRNKIT_DM_QEMU_ACCEL="tcg",
               ACRNKIT_GUEST_DIR=str(tmp_path / "no-guest"),
               FAKE_QEMU_LOG=str(tmp_path / "qemu.jsonl"))
    env.update(extra)
    return env


def _bzimage_header() -> bytes:
    head = bytearray(1024)
    head[0x202:0x206] = b"HdrS"
    return bytes(head)


def _argv(tmp_path: Path, *extra: str, name: str = "vm1", kernel: Path | None = None,
          ) -> list[str]:
    if kernel is None:
        kernel = tmp_path / "bzImage"
        if not kernel.exists():
            kernel.write_bytes(_bzimage_header())
    return ["-m", "256M", "--cpu_affinity", "1", "-s", "0:0,hostbridge", *extra,
            "-k", str(kernel), "-B", "console=ttyS0", name]


class Dm:
    """A backend process under test (stdout/stderr to files, so nothing blocks)."""

    def __init__(self, tmp_path: Path, argv: list[str], env: dict[str, str]) -> None:
        self.tmp = tmp_path
        self.out = tmp_path / "dm.out"
        self.err = tmp_path / "dm.err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.proc = subprocess.Popen([*ENTRY, *argv], env=env, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err, start_new_session=True)

    def stdout(self) -> str:
        return self.out.read_text(errors="replace")

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.stdout():
            if self.proc.poll() is not None:
                raise AssertionError(f"exited {self.proc.returncode} before {text!r}:\n"
                                     f"{self.stdout()}\n{self.stderr()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in {timeout} s:\n{self.stdout()}")
            time.sleep(0.02)

    def wait(self, timeout: float = 30.0) -> int:
        return self.proc.wait(timeout)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


@pytest.fixture
def dms() -> Iterator[list[Dm]]:
    started: list[Dm] = []
    yield started
    for dm in started:
        if dm.proc.poll() is None:
            dm.kill()


def _qemu_pids(tmp_path: Path) -> list[int]:
    log = tmp_path / "qemu.jsonl"
    if not log.exists():
        return []
    return [json.loads(line)["pid"] for line in log.read_text().splitlines()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        if "State:\tZ" in Path(f"/proc/{pid}/status").read_text():
            return False
    return True


def _assert_clean(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert find_sockets(run) == []
    leftovers = [p for p in run.rglob("*") if p.is_socket()] if run.exists() else []
    assert leftovers == []
    for pid in _qemu_pids(tmp_path):
        assert not _alive(pid), f"qemu {pid} left behind"


# --- the plumbing, with a stand-in QEMU --------------------------------------------------------

def test_stop_force_quits_qemu_and_cleans_up(tmp_path: Path, fake_qemu: Path,
                                              dms: list[Dm]) -> None:
    dm = Dm(tmp_path, _argv(tmp_path), _env(tmp_path, ACRNKIT_DM_QEMU=str(fake_qemu)))
    dms.append(dm)
    dm.wait_for("fake-qemu up")
    client = ManagerClient(tmp_path / "run", "vm1", "3.3", timeout=5)
    deadline = time.monotonic() + 10
    while not find_sockets(tmp_path / "run"):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert client.query() == RUNNING
    public = list((tmp_path / "run" / "qemu").glob("vm1.*.qmp"))
    assert len(public) == 1 and public[0].is_socket()
    assert client.stop(force=True) == 0
    assert dm.wait() == 0
    _assert_clean(tmp_path)
    assert not (tmp_path / "run" / "qemu").exists()
    record = json.loads((tmp_path / "qemu.jsonl").read_text().splitlines()[0])
    assert record["sid"] == record["pid"], "QEMU runs in its own session"
    assert record["argv"][:4] == ["-name", "guest=vm1", "-machine", "q35"]


def test_graceful_stop_presses_the_power_button(tmp_path: Path, fake_qemu: Path,
                                                 dms: list[Dm]) -> None:
    dm = Dm(tmp_path, _argv(tmp_path), _env(tmp_path, ACRNKIT_DM_QEMU=str(fake_qemu)))
    dms.append(dm)
    dm.wait_for("fake-qemu up")
    _wait_socket(tmp_path)
    assert ManagerClient(tmp_path / "run", "vm1", "3.3", timeout=5).stop(force=False) == 0
    assert dm.wait() == 0
    assert "power button" in dm.stdout()
    _assert_clean(tmp_path)


def _wait_socket(tmp_path: Path) -> None:
    deadline = time.monotonic() + 10
    while not find_sockets(tmp_path / "run"):
        assert time.monotonic() < deadline, "no manager socket"
        time.sleep(0.02)


@pytest.mark.parametrize(("signo", "status"), [(signal.SIGINT, 0), (signal.SIGHUP, 0),
                                               (signal.SIGTERM, -signal.SIGTERM)])
def test_signals_stop_guest_and_qemu(tmp_path: Path, fake_qemu: Path, dms: list[Dm],
                                     signo: int, status: int) -> None:
    dm = Dm(tmp_path, _argv(tmp_path), _env(tmp_path, ACRNKIT_DM_QEMU=str(fake_qemu)))
    dms.append(dm)
    dm.wait_for("fake-qemu up")
    _wait_socket(tmp_path)
    dm.proc.send_signal(signo)
    assert dm.wait() == status
    _assert_clean(tmp_path)


def test_qemu_failing_at_start_is_exit_1_with_its_message(tmp_path: Path, fake_qemu: Path,
                                                          dms: list[Dm]) -> None:
    env = _env(tmp_path, ACRNKIT_DM_QEMU=str(fake_qemu), FAKE_QEMU_MODE="fail")
    dm = Dm(tmp_path, _argv(tmp_path), env)
    dms.append(dm)
    assert dm.wait() == 1
    assert "could not configure /dev/net/tun" in dm.stderr()
    _assert_clean(tmp_path)
    logs = list((tmp_path / "run" / "qemu").glob("vm1.*.log"))
    assert len(logs) == 1, "the QEMU log stays for a failed start"


def test_unsupported_device_refused_then_skipped(tmp_path: Path, fake_qemu: Path,
                                                 dms: list[Dm]) -> None:
    argv = _argv(tmp_path, "-s", "6,passthru,0/2/0")
    dm = Dm(tmp_path, argv, _env(tmp_path, ACRNKIT_DM_QEMU=str(fake_qemu)))
    dms.append(dm)
    assert dm.wait() == 1
    err = dm.stderr()
    assert "cannot honour -s 6,passthru,0/2/0: PCI passthrough" in err
    assert "ACRNKIT_DM_QEMU_UNSUPPORTED=skip" in err
    assert _qemu_pids(tmp_path) == [], "QEMU never started"
    _assert_clean(tmp_path)

    skip = Dm(tmp_path, argv, _env(tmp_path, ACRNKIT_DM_QEMU=str(fake_qemu),
                                   ACRNKIT_DM_QEMU_UNSUPPORTED="skip"))
    dms.append(skip)
    skip.wait_for("fake-qemu up")
    assert "skipped -s 6,passthru,0/2/0" in skip.stderr()
    skip.proc.send_signal(signal.SIGINT)
    assert skip.wait() == 0
    _assert_clean(tmp_path)


def test_pty_port_reported_like_acrn_dm(tmp_path: Path, fake_qemu: Path, dms: list[Dm]) -> None:
    argv = _argv(tmp_path, "-s", "5,virtio-console,@pty:pty_port")
    dm = Dm(tmp_path, argv, _env(tmp_path, ACRNKIT_DM_QEMU=str(fake_qemu)))
    dms.append(dm)
    dm.wait_for("virt-console backend redirected to /dev/pts/77")
    dm.proc.send_signal(signal.SIGINT)
    assert dm.wait() == 0


def test_files_qemu_made_are_removed(tmp_path: Path, fake_qemu: Path, dms: list[Dm]) -> None:
    shm_new = f"acrnkit-test-{os.getpid()}-new"
    shm_old = f"acrnkit-test-{os.getpid()}-old"
    Path("/dev/shm", shm_old).write_bytes(b"another VM's region")
    sock = tmp_path / "console.sock"
    argv = _argv(tmp_path, "-s", f"5,virtio-console,@socket:c={sock}",
                 "-s", f"6,ivshmem,dm:/{shm_new},2", "-s", f"7,ivshmem,dm:/{shm_old},2")
    try:
        dm = Dm(tmp_path, argv, _env(tmp_path, ACRNKIT_DM_QEMU=str(fake_qemu)))
        dms.append(dm)
        dm.wait_for("fake-qemu up")
        assert sock.is_socket() and Path("/dev/shm", shm_new).exists()
        dm.proc.send_signal(signal.SIGINT)
        assert dm.wait() == 0
        assert not sock.exists()
        assert not Path("/dev/shm", shm_new).exists()
        assert Path("/dev/shm", shm_old).exists(), "a region that existed before stays"
        _assert_clean(tmp_path)
    finally:
        for name in (shm_new, shm_old):
            with contextlib.suppress(FileNotFoundError):
                Path("/dev/shm", name).unlink()


def _fake_image(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("vmlinux-9.9", "vmlinuz-9.9", "initrd-9.9.cpio"):
        (directory / name).write_bytes(b"x" * 16)
    (directory / "guest.json").write_text(json.dumps({
        "format": 1, "stamp": "s", "kernel": "vmlinux-9.9", "initrd": "initrd-9.9.cpio",
        "bzimage": "vmlinuz-9.9", "vmlinux": "vmlinux-9.9", "kernel_release": "9.9",
        "kernel_package": "linux-image-9.9-amd64", "kernel_version": "9.9-1",
        "busybox_version": "1", "modules": []}))
    return directory


def test_guest_image_fills_in_kernel_and_initrd(tmp_path: Path, fake_qemu: Path,
                                                dms: list[Dm]) -> None:
    image = _fake_image(tmp_path / "img")
    placeholder = tmp_path / "placeholder-kernel"
    placeholder.write_bytes(b"acrnkit sample kernel\n")
    env = _env(tmp_path, ACRNKIT_DM_QEMU=str(fake_qemu), ACRNKIT_GUEST_DIR=str(image))
    dm = Dm(tmp_path, _argv(tmp_path, kernel=placeholder), env)
    dms.append(dm)
    dm.wait_for("fake-qemu up")
    argv = json.loads((tmp_path / "qemu.jsonl").read_text().splitlines()[0])["argv"]
    assert argv[argv.index("-kernel") + 1] == str(image / "vmlinux-9.9")
    assert argv[argv.index("-initrd") + 1] == str(image / "initrd-9.9.cpio")
    assert "is not a Linux kernel image: booting the guest image's" in dm.stderr()
    dm.proc.send_signal(signal.SIGINT)
    assert dm.wait() == 0


def test_not_a_kernel_and_no_image_is_exit_1(tmp_path: Path, fake_qemu: Path) -> None:
    placeholder = tmp_path / "placeholder-kernel"
    placeholder.write_bytes(b"acrnkit sample kernel\n")
    env = _env(tmp_path, ACRNKIT_DM_QEMU=str(fake_qemu))
    done = subprocess.run([*ENTRY, *_argv(tmp_path, kernel=placeholder)], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "is not a Linux kernel image and no guest image" in done.stderr
    assert _qemu_pids(tmp_path) == []
    _assert_clean(tmp_path)


def test_missing_qemu_is_a_clear_error(tmp_path: Path) -> None:
    env = _env(tmp_path, ACRNKIT_DM_QEMU=str(tmp_path / "nowhere" / "qemu"))
    done = subprocess.run([*ENTRY, *_argv(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 1
    assert "not found: install qemu-system-x86" in done.stderr
    _assert_clean(tmp_path)


def test_unusable_run_dir_is_exit_1(tmp_path: Path, fake_qemu: Path) -> None:
    (tmp_path / "run").write_text("a file, not a directory")
    env = _env(tmp_path, ACRNKIT_DM_QEMU=str(fake_qemu))
    done = subprocess.run([*ENTRY, *_argv(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 1
    assert "the QEMU target cannot start" in done.stderr and "Traceback" not in done.stderr
    assert _qemu_pids(tmp_path) == []


def test_bad_setting_is_exit_2(tmp_path: Path) -> None:
    env = _env(tmp_path, ACRNKIT_DM_QEMU_UNSUPPORTED="ignore")
    done = subprocess.run([*ENTRY, *_argv(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2
    assert "ACRNKIT_DM_QEMU_UNSUPPORTED" in done.stderr


def test_argv_rejected_by_check_never_reaches_qemu(tmp_path: Path, fake_qemu: Path) -> None:
    env = _env(tmp_path, ACRNKIT_DM_QEMU=str(fake_qemu))
    argv = _argv(tmp_path, "-s", "3,virtio-net,tap=tap0,mac=01:00:00:00:00:00")
    done = subprocess.run([*ENTRY, *argv], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 1
    assert "Invalid MAC" in done.stdout
    assert _qemu_pids(tmp_path) == []


# --- the manager handlers, without processes ---------------------------------------------------

class _StubQmp:
    def __init__(self, status: str = "running") -> None:
        self.status = status
        self.calls: list[str] = []
        self.closed = False

    def command(self, name: str, arguments: object = None, *, timeout: float = 5.0) -> object:
        self.calls.append(name)
        if name == "query-status":
            return {"status": self.status}
        return {}


def _vm(version: str) -> QemuVm:
    from acrnkit.argv.parse import parse

    vm = parse(["-m", "256M", "-s", "0:0,hostbridge", "-k", "/k", "vm1"]
               if version == "1.6" else
               ["-m", "256M", "--cpu_affinity", "1", "-s", "0:0,hostbridge", "-k", "/k", "vm1"],
               version)
    return QemuVm(vm, get_release(version), QemuSettings(version=version), "acrn-dm")


def _msg(version: str, name: str, data: bytes = b"") -> MngrMessage:
    return MngrMessage(manager_profile(version).msgid(name), 7, data)


@pytest.mark.parametrize(("status", "state"), [("running", RUNNING), ("paused", RUNNING),
                                               ("suspended", SUSPEND), ("shutdown", POWEROFF)])
def test_query_maps_qmp_status(status: str, state: int) -> None:
    qvm = _vm("3.3")
    qvm.qmp = _StubQmp(status)  # type: ignore[assignment]
    reply = qvm.handle(_msg("3.3", "DM_QUERY"))
    assert reply is not None and reply.state == state


def test_stop_force_replies_then_quits() -> None:
    from acrnkit.launch.mngr import stop_data

    qvm = _vm("2.7")
    stub = _StubQmp()
    qvm.qmp = stub  # type: ignore[assignment]
    reply = qvm.handle(_msg("2.7", "DM_STOP", stop_data(True)))
    assert reply is not None and reply.err == 0
    assert stub.calls == [], "nothing happens before the reply is sent"
    for action in qvm.pending:
        action()
    assert stub.calls == ["quit"]
    assert qvm.handle(_msg("2.7", "DM_QUERY")).state == POWEROFF  # type: ignore[union-attr]


def test_graceful_stop_and_resume() -> None:
    from acrnkit.launch.mngr import reason_data, stop_data

    qvm = _vm("2.7")
    stub = _StubQmp("suspended")
    qvm.qmp = stub  # type: ignore[assignment]
    assert qvm.handle(_msg("2.7", "DM_STOP", stop_data(False))).err == 0  # type: ignore[union-attr]
    assert qvm.handle(_msg("2.7", "DM_RESUME", reason_data(32))).err == 0  # type: ignore[union-attr]
    for action in qvm.pending:
        action()
    assert stub.calls == ["query-status", "system_powerdown", "system_wakeup"]


@pytest.mark.parametrize(("version", "name"), [("2.7", "DM_SUSPEND"), ("1.6", "DM_PAUSE"),
                                               ("1.6", "DM_CONTINUE")])
def test_no_handler_messages_answer_minus_one(version: str, name: str,
                                              capfd: pytest.CaptureFixture[str]) -> None:
    qvm = _vm(version)
    qvm.qmp = _StubQmp()  # type: ignore[assignment]
    msg = _msg(version, name)
    reply = qvm.handle(msg)
    assert reply is not None and reply.err == -1
    assert f"No handler for id:{msg.msgid}" in capfd.readouterr().out


# --- the accelerator probe ---------------------------------------------------------------------

def test_probe_image_layout() -> None:
    image = probe_image()
    assert len(image) == 0x10000
    assert image[0xFFF0:0xFFF5] == bytes.fromhex("ea000000f0")
    assert image[:2] == b"\xfa\xfc"  # cli; cld
    assert PROBE_OK == 85


def test_forced_accel_skips_the_probe() -> None:
    assert choose_accel("tcg", "/nonexistent/qemu").accel == "tcg"
    assert choose_accel("kvm", "/nonexistent/qemu").accel == "kvm"


def test_probe_verdicts_with_stand_in_qemu(tmp_path: Path) -> None:
    ok = tmp_path / "ok"
    ok.write_text(f"#!{sys.executable}\nimport sys\nsys.exit({PROBE_OK})\n")
    hang = tmp_path / "hang"
    hang.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(60)\n")
    bad = tmp_path / "bad"
    bad.write_text(f"#!{sys.executable}\nimport sys\nprint('KVM: entry failed', "
                   "file=sys.stderr)\nsys.exit(1)\n")
    for path in (ok, hang, bad):
        path.chmod(0o755)
    assert run_probe(str(ok))[0] is True
    works, why = run_probe(str(hang), timeout=0.5)
    assert not works and "did not finish in 0.5 s" in why
    works, why = run_probe(str(bad))
    assert not works and "KVM: entry failed" in why


# --- real guests ---------------------------------------------------------------------------------

QEMU = shutil.which("qemu-system-x86_64")
GUEST_IP = "ip=10.0.2.15::10.0.2.1:255.255.255.0::eth0:off"


def _guest() -> object:
    from acrnkit.guest import GuestImageError, load_guest

    try:
        return load_guest()
    except GuestImageError as err:
        return str(err)


_IMAGE = _guest()
_SKIP = ("qemu-system-x86_64 not installed (apt-get install qemu-system-x86)" if QEMU is None
         else _IMAGE if isinstance(_IMAGE, str) else None)
needs_guest = pytest.mark.skipif(_SKIP is not None, reason=str(_SKIP))


@pytest.mark.qemu
@pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 not installed")
def test_probe_guest_runs_under_tcg() -> None:
    assert QEMU is not None
    works, why = run_probe(QEMU, "tcg", timeout=20)
    assert works, why


@pytest.mark.qemu
@pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 not installed")
def test_probe_accel_decides() -> None:
    assert QEMU is not None
    choice = probe_accel.__wrapped__(QEMU, use_cache=False)
    assert choice.accel in ("kvm", "tcg") and choice.reason


@pytest.mark.qemu
@pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 not installed")
def test_qemu_accepts_a_rich_translation(tmp_path: Path) -> None:
    """Every device mapping is an argv QEMU 7.2+ accepts (started paused, then quit)."""
    from acrnkit.fakes.acrn_dm.qemu.translate import TranslateOptions, translate

    from acrnkit.argv.parse import parse

    assert QEMU is not None
    for name in ("a.img", "b.img"):
        (tmp_path / name).write_bytes(bytes(1 << 20))
    kernel = tmp_path / "k"
    kernel.write_bytes(b"k" * 512)
    vm = parse(["-m", "256M", "--cpu_affinity", "1", "-s", "0:0,hostbridge", "-s", "31,lpc",
                "-l", "com1,stdio", "-l", "com2,tcp:0",
                "-s", f"5:2,virtio-blk,mq=2,{tmp_path}/a.img,writeback,discard,"
                      "sectorsize=4096,range=8/16,nocache",
                "-s", f"5:0,virtio-blk,{tmp_path}/b.img,ro",
                "-s", f"6,virtio-console,@pty:p,file:log={tmp_path}/c.log,"
                      f"socket:srv={tmp_path}/s.sock",
                "-s", "8,uart", "-s", "10,ivshmem,dm:/acrnkit-translate-test,2",
                "-s", "11,xhci,tablet", "-s", "12,wdt-i6300esb",
                "-k", str(kernel), "vm1"], "3.3")
    cmd = translate(vm, "3.3", TranslateOptions(qemu=QEMU, qmp_path=str(tmp_path / "q.sock")))
    proc = subprocess.Popen([*cmd.argv, "-S"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "q.sock").exists():
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
        with contextlib.suppress(FileNotFoundError):
            os.unlink("/dev/shm/acrnkit-translate-test")


class Guest:
    """A real guest through the backend, on a pexpect console (stdio = COM1)."""

    def __init__(self, tmp_path: Path, bootargs: str, *extra: str, name: str = "vm1",
                 ns: str | None = None) -> None:
        import pexpect

        from acrnkit.guest import GuestImage

        assert isinstance(_IMAGE, GuestImage)
        self.tmp = tmp_path
        self.run = tmp_path / "run"
        argv = ["-m", "256M", "--cpu_affinity", "1", "-s", "0:0,hostbridge", "-s", "1:0,lpc",
                "-l", "com1,stdio", *extra, "-k", str(_IMAGE.kernel), "-B", bootargs, name]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ACRNKIT_")}
        env.update(ACRNKIT_RUN_DIR=str(self.run), ACRNKIT_GUEST_DIR=str(_IMAGE.directory),
                   ACRNKIT_DM_QEMU_ACCEL=os.environ.get("ACRNKIT_DM_QEMU_ACCEL", "tcg"))
        command = [*ENTRY, *argv]
        if ns is not None:
            command = ["ip", "netns", "exec", ns, *command]
        self.started = time.monotonic()
        self.console = pexpect.spawn(command[0], command[1:], env=env, encoding="utf-8",
                                     codec_errors="replace", timeout=90)
        self.log = (tmp_path / "console.log").open("w")
        self.console.logfile_read = self.log
        self.name = name

    def login(self) -> float:
        self.console.expect(f"{self.name} login: ")
        seconds = time.monotonic() - self.started
        self.console.sendline("root")
        self.console.expect("# ")
        return seconds

    def sh(self, command: str, timeout: float = 30) -> str:
        self.console.sendline(command)
        self.console.expect("\r\n")  # the echo of the command line
        self.console.expect("# ", timeout=timeout)
        text: str = self.console.before
        return text.replace("\x1b[6n", "").replace("\r\n", "\n").strip()

    def qemu_pids(self) -> list[int]:
        """QEMU's pid: the backend's child."""
        pid = self.console.pid
        if Path("/proc").exists():
            kids = _children(pid)
            more = [k for kid in kids for k in _children(kid)]
            return [p for p in kids + more if "qemu" in _comm(p)]
        return []

    def close(self) -> None:
        if self.console.isalive():
            self.console.kill(signal.SIGKILL)
        self.console.close(force=True)
        self.log.close()


def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            out.extend(int(x) for x in text)
    return out


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


@pytest.fixture
def guests() -> Iterator[list[Guest]]:
    made: list[Guest] = []
    yield made
    for guest in made:
        guest.close()


@pytest.mark.qemu
@needs_guest
def test_boot_login_cmdline_disk_and_stop(tmp_path: Path, guests: list[Guest]) -> None:
    disk = tmp_path / "data.img"
    content = b"acrnkit known content 0123456789\n"
    disk.write_bytes(content + bytes(4096 - len(content)))
    bootargs = f"console=ttyS0 quiet {GUEST_IP}"
    guest = Guest(tmp_path, bootargs, "-s", "3,virtio-blk," + str(disk) + ",ro",
                  "-s", "7,virtio-rnd")
    guests.append(guest)
    guest.login()
    assert guest.sh("cat /proc/cmdline") == bootargs
    assert guest.sh(f"head -c {len(content) - 1} /dev/vda; echo") == content.decode().strip()
    assert guest.sh("cat /sys/block/vda/ro") == "1"
    assert guest.sh("cat /sys/devices/virtual/misc/hw_random/rng_current") == "virtio_rng.0"
    assert guest.sh("hostname") == "vm1"
    pids = guest.qemu_pids()
    assert len(pids) == 1
    client = ManagerClient(guest.run, "vm1", "3.3", timeout=5)
    assert client.query() == RUNNING
    assert client.stop(force=True) == 0
    guest.console.expect(__import__("pexpect").EOF, timeout=30)
    guest.console.close()
    assert guest.console.exitstatus == 0
    assert not _alive(pids[0])
    assert find_sockets(guest.run) == []
    assert not (guest.run / "qemu").exists()


@pytest.mark.qemu
@needs_guest
def test_graceful_stop_powers_the_guest_off(tmp_path: Path, guests: list[Guest]) -> None:
    import pexpect

    guest = Guest(tmp_path, "console=ttyS0")
    guests.append(guest)
    guest.login()
    assert ManagerClient(guest.run, "vm1", "3.3", timeout=5).stop(force=False) == 0
    guest.console.expect("reboot: Power down", timeout=60)
    guest.console.expect(pexpect.EOF, timeout=30)
    guest.console.close()
    assert guest.console.exitstatus == 0
    assert find_sockets(guest.run) == []


@pytest.mark.qemu
@needs_guest
def test_poweroff_in_the_guest_ends_the_vm(tmp_path: Path, guests: list[Guest]) -> None:
    import pexpect

    guest = Guest(tmp_path, "console=ttyS0 quiet")
    guests.append(guest)
    guest.login()
    pids = guest.qemu_pids()
    start = time.monotonic()
    guest.console.sendline("sync; poweroff -f")
    guest.console.expect(pexpect.EOF, timeout=30)
    assert time.monotonic() - start < 10
    guest.console.close()
    assert guest.console.exitstatus == 0
    assert pids and not _alive(pids[0])


@pytest.mark.qemu
@needs_guest
def test_sigterm_stops_guest_and_qemu(tmp_path: Path, guests: list[Guest]) -> None:
    import pexpect

    guest = Guest(tmp_path, "console=ttyS0 quiet")
    guests.append(guest)
    guest.login()
    pids = guest.qemu_pids()
    guest.console.kill(signal.SIGTERM)
    guest.console.expect(pexpect.EOF, timeout=30)
    guest.console.close()
    assert guest.console.signalstatus == signal.SIGTERM
    assert pids and not _alive(pids[0])
    assert find_sockets(guest.run) == []


@pytest.mark.qemu
@needs_guest
def test_bad_root_panics_the_kernel(tmp_path: Path, guests: list[Guest]) -> None:
    import pexpect

    guest = Guest(tmp_path, "console=ttyS0 root=/dev/vdz panic=1")
    guests.append(guest)
    guest.console.expect('VFS: Cannot open root device "/dev/vdz"', timeout=60)
    guest.console.expect("Kernel panic - not syncing", timeout=30)
    # panic=1: the guest reboots after a second, as on ACRN; the VM keeps running.
    guest.console.expect("Linux version", timeout=30)
    guest.console.kill(signal.SIGINT)
    guest.console.expect(pexpect.EOF, timeout=30)
    guest.console.close()
    assert guest.console.exitstatus == 0
    assert find_sockets(guest.run) == []


#: One ICMP echo with a raw socket (root; no ping binary needed on the host).
PING = textwrap.dedent("""
    import os, socket, struct, sys, time
    def csum(b):
        b += b"\\0" * (len(b) % 2)
        s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
        s = (s >> 16) + (s & 0xFFFF)
        return ~(s + (s >> 16)) & 0xFFFF
    ident = os.getpid() & 0xFFFF
    body = b"acrnkit"
    head = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
    packet = struct.pack("!BBHHH", 8, 0, csum(head + body), ident, 1) + body
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(5)
    s.sendto(packet, (sys.argv[1], 0))
    deadline = time.time() + 5
    while time.time() < deadline:
        data, addr = s.recvfrom(2048)
        icmp = data[(data[0] & 0xF) * 4:]
        if addr[0] == sys.argv[1] and icmp[0] == 0 and struct.unpack("!H", icmp[4:6])[0] == ident:
            print("reply from", addr[0])
            sys.exit(0)
    sys.exit(1)
""")


def _can_netns() -> str | None:
    if os.geteuid() != 0:
        return "needs root for a network namespace and a tap"
    if shutil.which("ip") is None:
        return "needs iproute2"
    if not os.path.exists("/dev/net/tun"):
        return "needs /dev/net/tun"
    return None


@pytest.mark.qemu
@needs_guest
@pytest.mark.skipif(_can_netns() is not None, reason=str(_can_netns()))
def test_nic_mac_and_ping_in_a_netns(tmp_path: Path, guests: list[Guest]) -> None:
    ns = f"acrnkit-t{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        mac = "00:16:3e:12:34:56"
        tap = f"tap_{os.getpid() % 100000}"
        guest = Guest(tmp_path, f"console=ttyS0 quiet {GUEST_IP}",
                      "-s", f"4,virtio-net,tap={tap},mac={mac}",
                      "-s", f"5,virtio-net,tap={tap}b", ns=ns)
        guests.append(guest)
        deadline = time.monotonic() + 60
        while subprocess.run(["ip", "-n", ns, "link", "show", tap], capture_output=True,
                             check=False).returncode != 0:
            assert time.monotonic() < deadline, "QEMU never created the tap"
            time.sleep(0.1)
        subprocess.run(["ip", "-n", ns, "addr", "add", "10.0.2.1/24", "dev", tap], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", tap, "up"], check=True)
        guest.login()
        assert guest.sh("cat /sys/class/net/eth0/address") == mac
        from acrnkit.model.devices.virtio_net import default_mac

        assert guest.sh("cat /sys/class/net/eth1/address") == default_mac(
            5, 0, None, get_release("3.3")), "no mac=: acrn-dm's default MAC"
        ping = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", PING,
                               "10.0.2.15"], capture_output=True, text=True, check=False)
        assert ping.returncode == 0, ping.stdout + ping.stderr
        assert "1 packets transmitted, 1 packets received" in guest.sh("ping -c 1 -W 5 10.0.2.1")
        guest.console.kill(signal.SIGINT)
        guest.console.expect(__import__("pexpect").EOF, timeout=30)
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


@pytest.mark.qemu
@needs_guest
def test_virtio_console_on_stdio_gets_a_login(tmp_path: Path, guests: list[Guest]) -> None:
    """hvc0 on stdio (no COM1): the getty there answers; the kernel logs to hvc0."""
    import pexpect

    from acrnkit.guest import GuestImage

    assert isinstance(_IMAGE, GuestImage)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACRNKIT_")}
    env.update(ACRNKIT_RUN_DIR=str(tmp_path / "run"), ACRNKIT_GUEST_DIR=str(_IMAGE.directory),
               ACRNKIT_DM_QEMU_ACCEL=os.environ.get("ACRNKIT_DM_QEMU_ACCEL", "tcg"))
    argv = ["-m", "256M", "--cpu_affinity", "1", "-s", "0:0,hostbridge",
            "-s", "3,virtio-console,@stdio:stdio_port", "-k", str(_IMAGE.kernel),
            "-B", "console=hvc0 quiet", "vm2"]
    console = pexpect.spawn(ENTRY[0], [*ENTRY[1:], *argv], env=env, encoding="utf-8",
                            codec_errors="replace", timeout=90)
    try:
        console.expect("vm2 login: ")
        console.sendline("root")
        console.expect("# ")
        console.sendline("tty")
        console.expect("/dev/hvc0")
        console.expect("# ")
        console.sendline("poweroff -f")
        console.expect(pexpect.EOF, timeout=30)
    finally:
        console.close(force=True)
    assert console.exitstatus == 0
