"""``fake-acrn-dm`` in run mode: consoles driven with pexpect and sockets, the guest's shell
answering from the argv, the manager protocol (raw bytes and the client), signals, scenarios and
cleanup. Every process is killed with its group in a fixture, and nothing is left in tmp."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pexpect
import pexpect.fdpexpect
import pytest

from acrnkit.launch.mngr import MNGR_MSG_MAGIC, ManagerClient, socket_path
from acrnkit.model.devices.virtio_net import default_mac
from acrnkit.releases.profile import get_release

FAKE = shutil.which("fake-acrn-dm", path=os.path.dirname(sys.executable)) or shutil.which(
    "fake-acrn-dm")
pytestmark = pytest.mark.skipif(FAKE is None, reason="fake-acrn-dm is not installed")

TIMEOUT = 10

Spawn = Callable[..., pexpect.spawn]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACRNKIT_")}
    env.update(extra)
    return env


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short directory for unix sockets (sun_path holds 107 bytes), removed afterwards."""
    base = Path(f"/tmp/akfd-{os.getpid()}-{time.monotonic_ns() % 10**9}")
    base.mkdir()
    try:
        yield base
    finally:
        leftovers = list(base.iterdir())
        shutil.rmtree(base, ignore_errors=True)
        assert not [p for p in leftovers if p.is_socket()], f"sockets left: {leftovers}"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    kernel = tmp_path / "bzImage"
    kernel.write_bytes(b"\x7fkernel" * 64)
    disk_a = tmp_path / "a.img"
    disk_a.write_bytes(b"\0" * (3 << 20))
    disk_b = tmp_path / "b.img"
    disk_b.write_bytes(b"\0" * (1 << 20))
    spare = tmp_path / "spare.img"
    spare.write_bytes(b"\0" * (2 << 20))
    return {"kernel": str(kernel), "a": str(disk_a), "b": str(disk_b), "spare": str(spare)}


@pytest.fixture
def run_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "run"
    yield path
    mngr = path / "mngr"
    assert not mngr.exists() or not list(mngr.iterdir()), "manager socket left behind"


@pytest.fixture
def spawn(run_dir: Path) -> Iterator[Spawn]:
    """Start fake-acrn-dm under pexpect; every child is killed (with its group) afterwards."""
    children: list[pexpect.spawn] = []

    def start(argv: Sequence[str], **settings: str) -> pexpect.spawn:
        env = clean_env(ACRNKIT_RUN_DIR=str(run_dir), **settings)
        child = pexpect.spawn(FAKE, list(argv), env=env, timeout=TIMEOUT, encoding="utf-8",
                              codec_errors="replace", dimensions=(50, 200))
        children.append(child)
        return child

    try:
        yield start
    finally:
        for child in children:
            _reap(child)


def _reap(child: pexpect.spawn) -> None:
    """SIGTERM the child's group (the fake removes its sockets), SIGKILL it if it lingers."""
    for signo, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if not child.isalive():
            break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signo)
        deadline = time.monotonic() + grace
        while child.isalive() and time.monotonic() < deadline:
            with contextlib.suppress(pexpect.ExceptionPexpect):
                child.read_nonblocking(65536, timeout=0.05)
    child.close(force=True)


def login(child: pexpect.spawn | pexpect.fdpexpect.fdspawn, name: str = "vm1") -> None:
    child.expect(f"{name} login: ")
    child.sendline("root")
    child.expect_exact("# ")


def sh(child: pexpect.spawn | pexpect.fdpexpect.fdspawn, command: str) -> str:
    """Run ``command`` at the guest's prompt; its output with plain ``\\n`` line ends."""
    child.sendline(command)
    child.expect_exact("# ")
    before: str = child.before
    text = before.replace("\r", "").lstrip("\n")  # DM log lines may end before it
    echoed, _, out = text.partition("\n")
    assert echoed == command
    return out


def wait_for(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def mngr_socket(run_dir: Path, name: str, pid: int) -> Path:
    return socket_path(run_dir, name, pid)


def guest_argv(files: Mapping[str, str], *extra: str, bootargs: str = "console=hvc0",
               console: str = "@stdio:con") -> list[str]:
    return ["-m", "1024M", "-s", "0:0,hostbridge",
            "-s", f"3,virtio-blk,{files['a']}", "-s", "4,virtio-blk,nodisk",
            "-s", f"5,virtio-blk,{files['b']}",
            "-s", "6,virtio-net,tap=tap0,mac=00:16:3e:01:02:03", "-s", "7,virtio-net,tap=tap1",
            "-s", f"8,virtio-console,{console}", "--cpu_affinity", "0,1,2",
            "-k", files["kernel"], "-B", bootargs, *extra, "vm1"]


def expect_exit(child: pexpect.spawn, status: int | None = 0,
                signo: int | None = None) -> str:
    child.expect(pexpect.EOF)
    text: str = child.before
    child.close()
    assert (child.exitstatus, child.signalstatus) == (status, signo)
    return text.replace("\r", "")


# --- the stdio console and the shell -------------------------------------------------------------

def test_boot_log_and_shell_answer_from_the_argv(spawn: Spawn, files: dict[str, str],
                                                 run_dir: Path) -> None:
    bootargs = "console=hvc0 root=/dev/vda rw quiet"
    child = spawn(guest_argv(files, bootargs=bootargs),
                  ACRNKIT_GUEST_KERNEL_RELEASE="6.6.6-test")
    child.expect("vm1 login: ")
    log = child.before.replace("\r", "")
    assert f"Command line: {bootargs}\n" in log
    assert "Memory: " in log and "K/1048576K available" in log
    for slot in (3, 4, 5, 6, 7, 8):
        assert f"pci 0000:00:{slot:02x}.0: [" in log
        assert f"virtio-pci 0000:00:{slot:02x}.0: enabling device" in log
    assert "[vda] 6144 512-byte logical blocks (3.15 MB/3.00 MiB)" in log
    assert "[vdb] 0 512-byte logical blocks (0 B/0 B)" in log
    assert "[vdc] 2048 512-byte logical blocks" in log
    mac1 = default_mac(7, 0, None, get_release("3.3"))
    assert "eth0: MAC 00:16:3e:01:02:03" in log and f"eth1: MAC {mac1}" in log
    child.sendline("root")
    child.expect_exact("# ")

    assert sh(child, "cat /proc/cmdline") == bootargs + "\n"
    assert sh(child, "uname -r") == "6.6.6-test\n"
    assert sh(child, "uname -a").startswith("Linux vm1 6.6.6-test #1 SMP")
    assert sh(child, "nproc") == "3\n"
    free = sh(child, "free -m").splitlines()
    assert free[1].split()[0] == "Mem:" and 900 <= int(free[1].split()[1]) < 1024
    parts = sh(child, "cat /proc/partitions").splitlines()
    assert parts[0].split() == ["major", "minor", "#blocks", "name"]
    assert [p.split()[2:] for p in parts[2:]] == [["3072", "vda"], ["1024", "vdc"]]
    assert sh(child, "ls /dev/vd*").split() == ["/dev/vda", "/dev/vdb", "/dev/vdc"]
    links = sh(child, "ip -o link").splitlines()
    assert len(links) == 3
    assert links[1].startswith("2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP>")
    assert "link/ether 00:16:3e:01:02:03 brd ff:ff:ff:ff:ff:ff" in links[1]
    assert f"link/ether {mac1} " in links[2]
    assert sh(child, "cat /sys/class/net/eth*/address") == f"00:16:3e:01:02:03\n{mac1}\n"
    assert sh(child, "echo hello   'big world'") == "hello big world\n"
    assert sh(child, "false") == ""
    assert sh(child, "echo $?") == "1\n"
    assert sh(child, "true") == ""
    assert sh(child, "echo $?") == "0\n"
    assert sh(child, "frobnicate --now") == "sh: frobnicate: not found\n"
    assert sh(child, "echo $?") == "127\n"
    dmesg = sh(child, "dmesg")
    assert f"] Command line: {bootargs}\n" in dmesg
    assert "login" not in dmesg

    child.sendline("poweroff")
    out = expect_exit(child, 0)
    assert "reboot: Power down" in out
    assert "VM loop exit" in out


def test_login_rejects_other_users(spawn: Spawn, files: dict[str, str]) -> None:
    child = spawn(guest_argv(files))
    child.expect("vm1 login: ")
    child.sendline("")
    child.expect("vm1 login: ")
    child.sendline("alice")
    child.expect_exact("Password: ")
    child.sendline("secret")
    child.expect_exact("Login incorrect")
    child.expect("vm1 login: ")
    child.sendline("root")
    child.expect_exact("# ")
    child.sendcontrol("d")  # logout, getty again
    child.expect("vm1 login: ")


def test_lpc_com1_stdio_console(spawn: Spawn, files: dict[str, str]) -> None:
    argv = ["-s", "0:0,hostbridge", "-s", "1:0,lpc", "-l", "com1,stdio",
            "--cpu_affinity", "0", "-k", files["kernel"], "-B", "console=ttyS0", "vm1"]
    child = spawn(argv)
    child.expect("ttyS0 at I/O 0x3f8")
    login(child)
    assert sh(child, "nproc") == "1\n"
    assert sh(child, "free -m").splitlines()[1].split()[1] == str(256 * 93 // 100)
    child.sendline("poweroff")
    expect_exit(child, 0)


def test_reboot_boots_again_in_the_same_process(spawn: Spawn, files: dict[str, str]) -> None:
    child = spawn(guest_argv(files))
    login(child)
    pid = child.pid
    child.sendline("reboot")
    child.expect("reboot: Restarting system")
    child.expect("Linux version")
    login(child)
    assert child.pid == pid and child.isalive()


# --- other console backends ----------------------------------------------------------------------

def test_pty_console(spawn: Spawn, files: dict[str, str], short_dir: Path) -> None:
    link = short_dir / "pty-link"
    child = spawn(guest_argv(files, console=f"@pty:con={link},stdio:other"),
                  ACRNKIT_DM_PTY_LINKS="1")
    child.expect(r"\*{47}\r?\nvirt-console backend redirected to (/dev/pts/\d+)\r?\n\*{47}")
    pts = child.match.group(1)
    wait_for(link.is_symlink)
    assert os.readlink(link) == pts
    fd = os.open(pts, os.O_RDWR | os.O_NOCTTY)
    try:
        console = pexpect.fdpexpect.fdspawn(fd, timeout=TIMEOUT, encoding="utf-8")
        console.sendline("")  # the boot log went out before anyone read the pty
        login(console)
        assert sh(console, "hostname") == "vm1\n"
        child.kill(signal.SIGINT)
        expect_exit(child, 0)
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
    assert not link.exists() and not link.is_symlink()


def _read_until(sock: socket.socket, pattern: bytes, timeout: float = TIMEOUT) -> bytes:
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while pattern not in data:
        assert time.monotonic() < deadline, f"no {pattern!r} in {data[-300:]!r}"
        chunk = sock.recv(4096)
        assert chunk, f"connection closed before {pattern!r}: {data[-300:]!r}"
        data += chunk
    return data


def test_socket_server_console(spawn: Spawn, files: dict[str, str], run_dir: Path,
                               short_dir: Path) -> None:
    path = short_dir / "con.sock"
    child = spawn(guest_argv(files, console=f"@socket:con={path}"))
    wait_for(lambda: mngr_socket(run_dir, "vm1", child.pid).exists())
    wait_for(path.is_socket)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(str(path))
        client.sendall(b"\n")
        _read_until(client, b"vm1 login: ")
        client.sendall(b"root\r")
        _read_until(client, b"# ")
        client.sendall(b"cat /proc/partitions\r")
        out = _read_until(client, b"# ").replace(b"\r", b"")
        assert b" 3072 vda\n" in out and b" 1024 vdc\n" in out
    # a second client is served too
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(str(path))
        client.sendall(b"uname -r\r")
        assert b"6.1.0-acrnkit" in _read_until(client, b"# ")
    child.kill(signal.SIGTERM)
    expect_exit(child, None, signal.SIGTERM)
    assert not path.exists()


def test_socket_client_console(spawn: Spawn, files: dict[str, str], short_dir: Path) -> None:
    path = short_dir / "host.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)
        server.settimeout(TIMEOUT)
        child = spawn(guest_argv(files, console=f"@socket:con={path}:client"))
        conn, _ = server.accept()
        with conn:
            log = _read_until(conn, b"vm1 login: ")
            assert b"Command line: console=hvc0" in log
            conn.sendall(b"root\n")
            _read_until(conn, b"# ")
            conn.sendall(b"nproc\n")
            assert b"3\r\n" in _read_until(conn, b"# ")
        child.kill(signal.SIGHUP)
        expect_exit(child, 0)
    path.unlink()


def test_file_console_and_extra_ports(spawn: Spawn, files: dict[str, str],
                                      tmp_path: Path, short_dir: Path) -> None:
    log = tmp_path / "console.log"
    other = tmp_path / "other.log"
    extra = short_dir / "extra.sock"
    console = f"@file:con={log},file:other={other},socket:extra={extra}"
    child = spawn(guest_argv(files, console=console))
    wait_for(lambda: log.exists() and b"vm1 login: " in log.read_bytes())
    text = log.read_bytes().decode()
    assert "Command line: console=hvc0" in text
    assert "\r\n" in text
    assert extra.is_socket()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(str(extra))
        client.sendall(b"root\n")  # not the console: nobody answers
    child.kill(signal.SIGINT)
    expect_exit(child, 0)
    assert other.exists() and other.read_bytes() == b""
    assert not extra.exists()


def test_console_backend_failure_is_device_init_failure(spawn: Spawn, files: dict[str, str],
                                                       run_dir: Path, short_dir: Path) -> None:
    path = short_dir / "no-such-dir" / "con.sock"
    child = spawn(guest_argv(files, console=f"@socket:con={path}"))
    out = expect_exit(child, 1)
    assert out.endswith("Bind Error = 2\nvtcon: virtio_console_config_backend failed\n"
                        "pci virtio-console init failed\nUnable to init vdev (2)\n")


# --- signals -----------------------------------------------------------------------------------

@pytest.mark.parametrize("signo", [signal.SIGINT, signal.SIGHUP])
def test_sigint_and_sighup_power_off_with_status_0(signo: int, spawn: Spawn,
                                                   files: dict[str, str], run_dir: Path) -> None:
    child = spawn(guest_argv(files))
    login(child)
    sock = mngr_socket(run_dir, "vm1", child.pid)
    assert sock.is_socket()
    child.kill(signo)
    out = expect_exit(child, 0)
    assert out.endswith("Received SIGINT to terminate application...\n"
                        "sig_handler_term: setting VM state to POWEROFF\n"
                        "VM state changed from[ RUNNING ] to [ POWEROFF ]\nVM loop exit\n")
    assert not sock.exists()


def test_sigterm_kills_like_an_unhandled_signal(spawn: Spawn, files: dict[str, str],
                                                run_dir: Path, tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    child = spawn(guest_argv(files), ACRNKIT_RECORD=str(record))
    login(child)
    sock = mngr_socket(run_dir, "vm1", child.pid)
    child.kill(signal.SIGTERM)
    assert expect_exit(child, None, signal.SIGTERM) == ""
    assert not sock.exists()
    rec = json.loads(record.read_text())
    assert (rec["verdict"], rec["exit_status"], rec["signal"]) == ("run", None, 15)
    assert rec["pid"] == child.pid


def test_acrn_16_signal_message(spawn: Spawn, files: dict[str, str]) -> None:
    argv = ["-s", "0:0,hostbridge", "-s", "3,virtio-console,@stdio:con", "-k", files["kernel"],
            "-B", "console=hvc0", "vm1"]
    child = spawn(argv, ACRNKIT_ACRN_VERSION="1.6")
    login(child)
    child.kill(signal.SIGINT)
    out = expect_exit(child, 0)
    assert out.endswith("Receive SIGINT to terminate application...\n"
                        "vm mode changed from 0 to 3\nVM loop exit\n")


# --- the manager socket ------------------------------------------------------------------------

def raw_request(path: Path, msgid: int, data: bytes = b"", timestamp: int = 1234) -> bytes:
    request = struct.pack("<QI4xQ256s", MNGR_MSG_MAGIC, msgid, timestamp, data)
    assert len(request) == 280
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT)
        sock.connect(str(path))
        sock.sendall(request)
        reply = b""
        while len(reply) < 280:
            chunk = sock.recv(280 - len(reply))
            assert chunk
            reply += chunk
    return reply


def test_manager_raw_bytes_query_and_stop(spawn: Spawn, files: dict[str, str],
                                          run_dir: Path) -> None:
    child = spawn(guest_argv(files))
    login(child)
    path = mngr_socket(run_dir, "vm1", child.pid)
    magic, msgid, stamp, data = struct.unpack("<QI4xQ256s", raw_request(path, 6))  # DM_QUERY
    assert (magic, msgid, stamp) == (MNGR_MSG_MAGIC, 6, 1234)
    assert struct.unpack_from("<i", data)[0] == 0  # VM_SUSPEND_NONE
    # graceful DM_STOP: no --pm_notify_channel, so no stop handler: err -1, VM keeps running
    reply = raw_request(path, 3, struct.pack("<iI", 0, 0))
    assert struct.unpack_from("<i", reply, 24)[0] == -1
    child.expect_exact("No handler for id:3")
    assert sh(child, "echo alive") == "alive\n"
    # forced DM_STOP: err 0, then the DM exits 0 and removes its socket
    reply = raw_request(path, 3, struct.pack("<iI", 1, 0))
    assert struct.unpack_from("<i", reply, 24)[0] == 0
    out = expect_exit(child, 0)
    assert "handle_stop: setting VM state to POWEROFF" in out
    assert not path.exists()


def test_manager_graceful_stop_with_power_button(spawn: Spawn, files: dict[str, str],
                                                 run_dir: Path) -> None:
    child = spawn(guest_argv(files, "--pm_notify_channel", "power_button"))
    login(child)
    client = ManagerClient(run_dir, "vm1", "3.3")
    assert client.stop(force=False) == 0
    out = expect_exit(child, 0)
    assert "The system is going down NOW!" in out
    assert "vm_suspend: setting VM state to POWEROFF" in out


def test_manager_blkrescan_on_nodisk(spawn: Spawn, files: dict[str, str],
                                     run_dir: Path) -> None:
    child = spawn(guest_argv(files))
    login(child)
    client = ManagerClient(run_dir, "vm1", "3.3")
    assert client.blkrescan(4, files["spare"]) == 0
    child.expect_exact("[vdb] new size: 4096 512-byte logical blocks")
    child.expect_exact("vdb: detected capacity change from 0 to 2097152")
    names = [line.split()[3] for line in sh(child, "cat /proc/partitions").splitlines()[2:]]
    assert names == ["vda", "vdb", "vdc"]
    assert sh(child, "cat /sys/block/vdb/size") == "4096\n"
    # a disk that has a backend already, a slot that is not a disk, a missing file
    assert client.blkrescan(4, files["spare"]) == -1
    child.expect_exact("Replacing valid backend file not supported!")
    assert client.blkrescan(6, files["spare"]) == -1
    child.expect_exact("virtio-blk only supports rescan: found virtio-net at slot 6")
    assert client.blkrescan(20, files["spare"]) == -1
    child.expect_exact("vdev info failed for Slot 20")
    assert client.query() == 0


def test_manager_suspend_resume_27(spawn: Spawn, files: dict[str, str], run_dir: Path) -> None:
    argv = ["-s", "0:0,hostbridge", "-s", "3,virtio-console,@stdio:con",
            "--pm_notify_channel", "power_button", "--cpu_affinity", "0",
            "-k", files["kernel"], "-B", "console=hvc0", "vm1"]
    child = spawn(argv, ACRNKIT_ACRN_VERSION="2.7", ACRNKIT_GUEST_POWER_BUTTON="suspend")
    login(child)
    client = ManagerClient(run_dir, "vm1", "2.7")
    assert client.suspend() == 0
    child.expect_exact("ACPI: PM: Preparing to enter system sleep state S3")
    wait_for(lambda: client.query() == 4)  # VM_SUSPEND_SUSPEND
    assert client.resume() == 0
    child.expect_exact("PM: suspend exit")
    assert client.query() == 0
    assert sh(child, "echo back") == "back\n"


def test_manager_pause_continue_16(spawn: Spawn, files: dict[str, str], run_dir: Path) -> None:
    argv = ["-s", "0:0,hostbridge", "-s", "3,virtio-console,@stdio:con", "-k", files["kernel"],
            "-B", "console=hvc0", "vm1"]
    child = spawn(argv, ACRNKIT_ACRN_VERSION="1.6")
    login(child)
    client = ManagerClient(run_dir, "vm1", "1.6")
    assert client.query() == 0
    assert client.pause() == -1  # acrn-dm 1.6 registers no pause/unpause op
    child.expect_exact("No handler for id:6")
    assert client.cont() == -1
    child.expect_exact("No handler for id:7")
    assert client.blkrescan(3, files["spare"]) == -1  # no virtio-blk, no rescan op
    child.expect_exact("No handler for id:9")


# --- scenarios ---------------------------------------------------------------------------------

def test_panic_then_reboot_with_panic_parameter(spawn: Spawn, files: dict[str, str]) -> None:
    child = spawn(guest_argv(files, bootargs="console=hvc0 root=/dev/vda panic=1"),
                  ACRNKIT_GUEST_SCENARIO="panic")
    child.expect_exact("Kernel panic - not syncing: VFS: Unable to mount root fs")
    child.expect_exact("Rebooting in 1 seconds..")
    child.expect_exact("---[ end Kernel panic - not syncing:")
    start = time.monotonic()
    child.expect_exact("reboot: Restarting system")
    assert time.monotonic() - start >= 0.8
    child.expect_exact("Linux version")
    child.expect_exact("Kernel panic - not syncing")


def test_panic_without_panic_parameter_hangs(spawn: Spawn, files: dict[str, str],
                                             run_dir: Path) -> None:
    child = spawn(guest_argv(files), ACRNKIT_GUEST_SCENARIO="panic")
    child.expect_exact("---[ end Kernel panic - not syncing:")
    assert child.expect([pexpect.TIMEOUT, "login:", "Linux version"], timeout=1.0) == 0
    assert ManagerClient(run_dir, "vm1", "3.3").query() == 0
    child.kill(signal.SIGINT)
    expect_exit(child, 0)


def test_hang_before_login(spawn: Spawn, files: dict[str, str], run_dir: Path) -> None:
    child = spawn(guest_argv(files, "--pm_notify_channel", "power_button"),
                  ACRNKIT_GUEST_SCENARIO="hang")
    child.expect_exact("Run /sbin/init as init process")
    assert child.expect([pexpect.TIMEOUT, "login:"], timeout=1.0) == 0
    client = ManagerClient(run_dir, "vm1", "3.3")
    assert client.stop(force=False) == 0  # the button is pressed, but nobody acts on it
    assert child.expect([pexpect.TIMEOUT, pexpect.EOF], timeout=0.5) == 0
    assert client.stop(force=True) == 0
    expect_exit(child, 0)


def test_slow_boot(spawn: Spawn, files: dict[str, str]) -> None:
    start = time.monotonic()
    child = spawn(guest_argv(files), ACRNKIT_GUEST_SCENARIO="slow",
                  ACRNKIT_GUEST_BOOT_DELAY="0.8")
    child.expect_exact("Command line:")
    early = time.monotonic() - start
    child.expect("vm1 login: ")
    assert time.monotonic() - start >= 0.7
    assert early < 0.7
    timestamps = [float(t) for t in re.findall(r"\[\s*(\d+\.\d+)\]", child.before)]
    assert timestamps == sorted(timestamps) and timestamps[-1] >= 0.8


def test_fast_boot_reaches_login_quickly(spawn: Spawn, files: dict[str, str],
                                         tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    start = time.monotonic()
    child = spawn(guest_argv(files), ACRNKIT_RECORD=str(record))
    child.expect("vm1 login: ")
    assert time.monotonic() - start < 2.0
    child.sendline("root")
    child.expect_exact("# ")
    child.sendline("poweroff")
    expect_exit(child, 0)
    rec = json.loads(record.read_text())
    assert (rec["verdict"], rec["exit_status"], rec["mode"]) == ("run", 0, "run")
