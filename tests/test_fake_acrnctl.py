"""``fake-acrnctl`` against ``ManagerServer`` stand-ins for acrn-dm: the CLI per release, the
messages and streams, the 280-byte requests on the wire (recorded raw), the QUERY-first order,
stop's force flag and exit status, blkrescan's devargs, the no-reply timeout, the prefix lookup
quirk, and the add/del/start/reset store under the run dir.

Every test runs the installed ``fake-acrnctl`` as a subprocess with ``ACRNKIT_RUN_DIR`` in
tmp_path. Servers are closed by a fixture that also checks that no socket is left behind."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import cast

import pytest

from acrnkit.launch.mngr import MNGR_MSG_MAGIC, ManagerServer, MngrMessage
from acrnkit.releases.manager import manager_profile

FAKE = shutil.which("fake-acrnctl", path=os.path.dirname(sys.executable)) or shutil.which(
    "fake-acrnctl")
pytestmark = pytest.mark.skipif(
    FAKE is None, reason="fake-acrnctl is not installed (pip install -e .)"
)

MAGIC_BYTES = b"vmm msg\0"
assert struct.pack("<Q", MNGR_MSG_MAGIC) == MAGIC_BYTES

USAGE_HEAD = "\nUsage: acrnctl SUB-CMD { VM_NAME | SCRIPTS OPTIONS | help }\n\n"
DESCS = {
    "list": "List all the virtual machines added",
    "start": "Start virtual machine VM_NAME",
    "stop": "Stop virtual machine VM_NAME, [--force/-f, force to stop VM]",
    "del": "Delete virtual machine VM_NAME",
    "add": "Add one virtual machine with SCRIPTS and OPTIONS",
    "pause": "Block all vCPUs of virtual machine VM_NAME",
    "continue": "Start virtual machine from pause state",
    "suspend": "Switch virtual machine to suspend state",
    "resume": "Resume virtual machine from suspend state",
    "reset": "Stop and then start virtual machine VM_NAME",
    "blkrescan": "Rescan virtio-blk device attached to a virtual machine",
}
# acmds[] of acrnctl.c at each tag, in table order.
COMMANDS = {
    "1.6": ["list", "start", "stop", "del", "add", "pause", "continue", "suspend", "resume",
            "reset", "blkrescan"],
    "2.7": ["list", "start", "stop", "del", "add", "suspend", "resume", "reset", "blkrescan"],
    "3.0": ["list", "start", "stop", "del", "add", "reset", "blkrescan"],
    "3.2": ["list", "start", "stop", "del", "add", "reset", "blkrescan"],
    "3.3": ["list", "start", "stop", "del", "add", "reset", "blkrescan"],
}
HINT = "\t\t\tMake sure the acrnd daemon is running ('systemctl status acrnd').\n"


def usage(version: str) -> str:
    return USAGE_HEAD + "".join(f"\t{c:<12}{DESCS[c]}\n" for c in COMMANDS[version])


def ids(version: str) -> Mapping[str, int]:
    return manager_profile(version).ids


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACRNKIT_")}
    env.update(extra)
    return env


class Ctl:
    """Runs fake-acrnctl for one run dir and release."""

    def __init__(self, run_dir: Path, version: str, cwd: Path) -> None:
        self.run_dir = run_dir
        self.version = version
        self.cwd = cwd
        self.env = clean_env(
            ACRNKIT_RUN_DIR=str(run_dir), ACRNKIT_ACRN_VERSION=version,
            ACRNKIT_ACRNCTL_SKIP_ROOT_CHECK="1",
        )

    def __call__(
        self, *args: str, timeout: float = 60, **env: str
    ) -> subprocess.CompletedProcess[str]:
        assert FAKE is not None
        return subprocess.run(
            [FAKE, *args], env={**self.env, **env}, cwd=self.cwd, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, errors="surrogateescape", timeout=timeout,
        )

    @property
    def mngr(self) -> Path:
        return self.run_dir / "mngr"

    @property
    def store(self) -> Path:
        return self.run_dir / "conf" / "add"

    def quiet(self) -> None:
        """Create the directories whose absence acrnctl reports on every run."""
        self.mngr.mkdir(parents=True, exist_ok=True)
        self.store.mkdir(parents=True, exist_ok=True)


class RecordingServer(ManagerServer):
    """A ManagerServer that also keeps every buffer it reads, byte for byte."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.raw: list[bytes] = []
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def _parse(self, client: object, buf: bytes) -> None:
        self.raw.append(bytes(buf))
        super()._parse(client, buf)  # type: ignore[arg-type]


Log = list[tuple[str, str, MngrMessage]]


class Dm:
    """One stand-in acrn-dm: answers QUERY with ``state`` and everything else with ``err``;
    None in ``answers`` means never answer that message."""

    def __init__(self, ctl: Ctl, vm: str, pid: int, log: Log, **answers: int | None) -> None:
        self.vm = vm
        self.log = log
        self.profile = manager_profile(ctl.version)
        self.answers: dict[str, int | None] = {"DM_QUERY": 0}
        self.answers.update({f"DM_{k.upper()}": v for k, v in answers.items()})
        self.server = cast(RecordingServer, RecordingServer.for_vm(
            ctl.run_dir, vm, self.handle, pid=pid, version=ctl.version
        ))
        self.server.serve_in_thread(0.01)

    def handle(self, msg: MngrMessage) -> MngrMessage | None:
        name = self.profile.name_of(msg.msgid) or str(msg.msgid)
        self.log.append((self.vm, name, msg))
        value = self.answers.get(name, 0)
        if value is None:
            return None
        return msg.reply_state(value) if name == "DM_QUERY" else msg.reply_err(value)

    @property
    def names(self) -> list[str]:
        return [name for vm, name, _ in self.log if vm == self.vm]


@pytest.fixture(params=["3.2"])
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def ctl(tmp_path: Path, version: str) -> Iterator[Ctl]:
    work = tmp_path / "work"
    work.mkdir()
    runner = Ctl(tmp_path / "run", version, work)
    yield runner
    if runner.mngr.exists():
        left = [p for p in runner.mngr.iterdir() if p.is_socket()]
        assert not left, f"sockets left behind: {left}"
    assert not list(runner.run_dir.glob(".acrnctl-add.*")), "add's scratch dir left behind"


@pytest.fixture
def dms(ctl: Ctl) -> Iterator[Callable[..., Dm]]:
    servers: list[Dm] = []
    log: Log = []
    lock = threading.Lock()

    def make(vm: str, **answers: int | None) -> Dm:
        ctl.quiet()
        with lock:
            dm = Dm(ctl, vm, 4000 + len(servers), log, **answers)
            servers.append(dm)
        return dm

    yield make
    for dm in servers:
        dm.server.close()


def wire_check(raw: bytes, msgid: int, t0: float, t1: float) -> bytes:
    """The request is one whole struct mngr_msg; returns its data union."""
    assert len(raw) == 280, len(raw)
    assert raw[:8] == MAGIC_BYTES
    magic, got_id, stamp = struct.unpack_from("<QI4xQ", raw)
    assert magic == MNGR_MSG_MAGIC
    assert got_id == msgid
    assert int(t0) <= stamp <= int(t1) + 1
    return raw[24:]


# --------------------------------------------------------------------------------------------
# CLI: usage, unknown commands, argument counts, settings, root
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.6", "2.7", "3.0", "3.2", "3.3"], indirect=True)
@pytest.mark.parametrize("args", [[], ["help"], ["help", "extra"]])
def test_usage(ctl: Ctl, version: str, args: list[str]) -> None:
    res = ctl(*args)
    assert (res.returncode, res.stdout, res.stderr) == (0, usage(version), "")
    assert not ctl.run_dir.exists(), "help must not create the store"


@pytest.mark.parametrize("version", ["1.6", "2.7", "3.2"], indirect=True)
def test_unknown_commands(ctl: Ctl, version: str, dms: Callable[..., Dm]) -> None:
    dm = dms("vm1")
    unknown = ["frob", "LIST"] + [
        c for c in ("pause", "continue", "suspend", "resume") if c not in COMMANDS[version]
    ]
    for command in unknown:
        res = ctl(command, "vm1")
        assert res.returncode == 255
        assert res.stdout == f"Unknown command: {command}\n" + usage(version)
        assert res.stderr == ""
    assert dm.names == [], "an unknown command sends nothing"


@pytest.mark.parametrize(("args", "line"), [
    (["list", "x"], "acrnctl list\n"),
    (["start"], "acrnctl start VM_NAME\n"),
    (["start", "vm1", "vm2"], "acrnctl start VM_NAME\n"),
    (["start", "help"], "acrnctl start VM_NAME\n"),
    (["stop"], "acrnctl stop VM_NAME VM_NAME ...\n"),
    (["stop", "help"], "acrnctl stop VM_NAME VM_NAME ...\n"),
    (["del"], "acrnctl del VM_NAME VM_NAME ...\n"),
    (["reset"], "acrnctl reset VM_NAME VM_NAME ...\n"),
    (["add"], "acrnctl add launch_scripts options\n"),
    (["add", "help"], "acrnctl add launch_scripts options\n"),
    (["blkrescan", "vm1"], "acrnctl blkrescan VM_NAME slot,newpath\n"),
    (["blkrescan", "vm1", "3,/a", "x"], "acrnctl blkrescan VM_NAME slot,newpath\n"),
    (["blkrescan", "help", "3,/a"], "acrnctl blkrescan VM_NAME slot,newpath\n"),
])
def test_wrong_arguments(ctl: Ctl, dms: Callable[..., Dm], args: list[str], line: str) -> None:
    dm = dms("vm1")
    res = ctl(*args)
    assert (res.returncode, res.stdout, res.stderr) == (255, line, "")
    assert dm.names == [], "arguments are checked before any QUERY"


@pytest.mark.parametrize(("name", "value"), [
    ("ACRNKIT_ACRN_VERSION", "9.9"),
    ("ACRNKIT_ACRNCTL_SKIP_ROOT_CHECK", "maybe"),
    ("ACRNKIT_ACRNCTL_START", "later"),
    ("ACRNKIT_ACRNCTL_TIMEOUT", "3"),
])
def test_bad_settings(ctl: Ctl, name: str, value: str) -> None:
    for args in ([], ["list"]):
        res = ctl(*args, **{name: value})  # type: ignore[arg-type]
        assert res.returncode == 2
        assert res.stdout == ""
        assert res.stderr.count("\n") == 1
        assert res.stderr.startswith(f"fake-acrnctl: {name}=")
    assert not ctl.run_dir.exists()


def test_bad_run_dir_in_process() -> None:
    from acrnkit.fakes.acrnctl.settings import (  # type: ignore[import-not-found,unused-ignore]
        SettingsError,
        load,
    )

    with pytest.raises(SettingsError, match="ACRNKIT_RUN_DIR"):
        load({"ACRNKIT_RUN_DIR": "/tmp/a\0b"})
    assert load({"ACRNKIT_RUN_DIR": "rel"}).run_dir == os.path.abspath("rel")


def test_root_check(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
                    tmp_path: Path) -> None:
    """In-process, with getuid() pretending not to be root (the tests may run as root)."""
    from acrnkit.fakes.acrnctl.main import main  # type: ignore[import-not-found,unused-ignore]

    monkeypatch.setattr(os, "getuid", lambda: 1000)
    monkeypatch.setenv("ACRNKIT_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.delenv("ACRNKIT_ACRNCTL_SKIP_ROOT_CHECK", raising=False)
    assert main(["acrnctl", "list"]) == 255
    out = capfd.readouterr()
    assert (out.out, out.err) == ("Please run acrnctl with root privileges. Exiting.\n", "")
    assert not (tmp_path / "run").exists(), "refused before mkdir -p"
    assert main(["acrnctl", "help"]) == 0, "help needs no root"
    capfd.readouterr()
    monkeypatch.setenv("ACRNKIT_ACRNCTL_SKIP_ROOT_CHECK", "1")
    assert main(["acrnctl", "list"]) == 0
    assert capfd.readouterr().out.endswith("There are no VMs\n")


def test_gentmpfile(ctl: Ctl) -> None:
    res = ctl("gentmpfile", "-s", "3,virtio-blk", "vm7")
    assert (res.returncode, res.stdout, res.stderr) == (0, "\nacrnctl: vm7\n", "")
    assert ctl("gentmpfile").stdout == "\nacrnctl: gentmpfile\n"


# --------------------------------------------------------------------------------------------
# list and states
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.6", "2.7", "3.2"], indirect=True)
def test_list_empty_run_dir(ctl: Ctl, version: str) -> None:
    res = ctl("list")
    run = ctl.run_dir
    if version == "1.6":  # no mkdir -p in main(): the store is missing too
        expected = (
            f"{run}/conf doesn't exist!\n"
            f"_scan_added_vm: Failed to check directory {run}/conf, err: -1\n"
            f"{run}/mngr doesn't exist!\n"
            f"_scan_alive_vm: Failed to check directory {run}/mngr, err: -1\n"
        )
    else:
        expected = (
            f"{run}/mngr doesn't exist!\n"
            f"_scan_alive_vm: Failed to check directory {run}/mngr, err: -1\n"
            + (HINT if version == "3.2" else "")
        )
    assert (res.returncode, res.stdout, res.stderr) == (0, expected + "There are no VMs\n", "")
    assert ctl.store.is_dir() == (version != "1.6")


def expected_order(ctl: Ctl) -> list[str]:
    """vmmngr's list order: LIST_INSERT_HEAD over the store, then the sockets, in readdir
    order (os.listdir keeps it)."""
    inserted: list[str] = []
    for entry in os.listdir(ctl.store):
        name, _dot, suffix = entry.partition(".")
        if suffix.startswith("sh") and name not in inserted:
            inserted.append(name)
    for entry in os.listdir(ctl.mngr):
        name = entry.split(".", 1)[0]
        if name not in inserted:
            inserted.append(name)
    return inserted[::-1]


def test_list_states_and_wire(ctl: Ctl, dms: Callable[..., Dm]) -> None:
    ctl.store.mkdir(parents=True, exist_ok=True)
    for name in ("vma", "vme"):
        (ctl.store / f"{name}.sh").write_text("acrn-dm\n")
    (ctl.store / "vmf.args").write_text("")  # not a .sh*: ignored
    (ctl.store / "vmg.shell").write_text("")  # suffix starts with "sh": a VM
    servers = {
        "vma": dms("vma", query=0),
        "vmb": dms("vmb", query=4),
        "vmc": dms("vmc", query=2),
        "vmd": dms("vmd", query=-1),
    }
    t0 = time.time()
    res = ctl("list")
    t1 = time.time()
    states = {"vma": "started", "vmb": "suspended", "vmc": "unknown", "vmd": "started",
              "vme": "stopped", "vmg": "stopped"}
    order = expected_order(ctl)
    assert res.stdout == "".join(f"{vm}\t\t{states[vm]}\n" for vm in order)
    assert res.returncode == 0
    assert sorted(res.stderr.splitlines()) == [
        "Warnning: unknow vm state:0x0", "query_state ack.data.state:-1",
    ]
    query = ids(ctl.version)["DM_QUERY"]
    for dm in servers.values():
        assert dm.names == ["DM_QUERY"]
        assert len(dm.server.raw) == 1
        data = wire_check(dm.server.raw[0], query, t0, t1)
        assert data == bytes(256), "acrnctl leaves QUERY's data alone; the fake sends zeros"


def test_plain_file_named_like_a_socket(ctl: Ctl) -> None:
    ctl.mngr.mkdir(parents=True)
    (ctl.mngr / "vm1.monitor.99.socket").write_text("")
    (ctl.mngr / "vm2.monitor.x.socket").mkdir()  # strtol("x") is 0: still a VM
    (ctl.mngr / "vm3.monitor.5.sock").write_text("")  # not a socket name
    res = ctl("list")
    assert res.returncode == 0
    for vm in ("vm1", "vm2"):
        assert f"vm {vm} socket" in res.stdout
        assert f"{vm}\t\tstarted\n" in res.stdout
    assert "vm3" not in res.stdout
    lines = res.stdout.splitlines()
    assert lines.count("connect_to_server 469") == 2
    assert "Unable to open vm vm1 socket. It may have been shutdown" in lines
    assert "query_state: Error to quary vm1 state, err: -1" in lines


# --------------------------------------------------------------------------------------------
# stop
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "force"), [
    (["vm1"], 0),
    (["-f", "vm1"], 1),
    (["vm1", "--force"], 1),
    (["vm1", "vm2", "-f"], 1),
    (["--force", "vm1", "vm2"], 1),
])
def test_stop_force_flag_and_order(ctl: Ctl, dms: Callable[..., Dm], args: list[str],
                                   force: int) -> None:
    vm1 = dms("vm1")
    vm2 = dms("vm2")
    t0 = time.time()
    res = ctl("stop", *args)
    t1 = time.time()
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")
    # QUERY to every socket first, then STOP to the first name only.
    assert [name for _vm, name, _m in vm1.log] == ["DM_QUERY", "DM_QUERY", "DM_STOP"]
    assert vm1.log[-1][0] == "vm1"
    assert vm2.names == ["DM_QUERY"]
    data = wire_check(vm1.server.raw[-1], ids(ctl.version)["DM_STOP"], t0, t1)
    assert struct.unpack_from("<i", data)[0] == force  # data.acrnd_stop.force


@pytest.mark.parametrize(("err", "status"), [(0, 0), (-1, 255), (7, 7), (0x105, 5), (-256, 0)])
def test_stop_exit_status_is_err(ctl: Ctl, dms: Callable[..., Dm], err: int,
                                 status: int) -> None:
    dms("vm1", stop=err)
    res = ctl("stop", "-f", "vm1")
    message = f"Error happens when try to stop vm. errno({err})\n" if err else ""
    assert (res.returncode, res.stdout, res.stderr) == (status, message, "")


def test_stop_refusals(ctl: Ctl, dms: Callable[..., Dm]) -> None:
    dm = dms("vm1")
    ctl.store.mkdir(parents=True, exist_ok=True)
    (ctl.store / "vm2.sh").write_text("")
    cases = [
        (["stop", "-f"], "Please give a VM name\n"),
        (["stop", "vm9"], "can't find vm9\n"),
        (["stop", "vm2"], "vm2 is already (stopped)\n"),
    ]
    for args, out in cases:
        res = ctl(*args)
        assert (res.returncode, res.stdout, res.stderr) == (255, out, "")
    assert dm.names == ["DM_QUERY"] * 3, "each run queries first, then refuses"


def test_no_reply_timeout(ctl: Ctl, dms: Callable[..., Dm]) -> None:
    dms("vm1", query=None)
    start = time.monotonic()
    res = ctl("list")
    elapsed = time.monotonic() - start
    assert 0.9 <= elapsed < 5, elapsed
    assert res.returncode == 0
    assert res.stdout == (
        "mngr_send_msg 622\n"
        "Unable to send msg to vm vm1 socket. It may have been shutdown\n"
        "query_state: Error to quary vm1 state, err: -1\n"
        "vm1\t\tstarted\n"
    )


def test_stop_without_reply(ctl: Ctl, dms: Callable[..., Dm]) -> None:
    dm = dms("vm1", stop=None)
    start = time.monotonic()
    res = ctl("stop", "vm1")
    assert 0.9 <= time.monotonic() - start < 5
    assert res.returncode == 255
    assert res.stdout == (
        "mngr_send_msg 622\n"
        "Unable to send msg to vm vm1 socket. It may have been shutdown\n"
        "Error happens when try to stop vm. errno(-1)\n"
    )
    assert dm.names == ["DM_QUERY", "DM_STOP"]


@pytest.mark.parametrize(("reply", "stderr"), [
    (b"", "query_state ack.data.state:-1\n"),  # closed without a byte
    (MAGIC_BYTES + bytes(16), "query_state ack.data.state:-1\n"),  # header only
    (MAGIC_BYTES + bytes(16) + struct.pack("<i", 4), ""),  # short, but state is there
])
def test_empty_or_short_reply(ctl: Ctl, reply: bytes, stderr: str) -> None:
    """acrnctl does one read() and uses whatever arrived; the bytes that did not arrive are
    uninitialised in the C and 0xff (-1) in the fake."""
    import socket

    ctl.quiet()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = ctl.mngr / "vm1.monitor.5.socket"
    cwd = os.getcwd()
    os.chdir(ctl.mngr)  # tmp_path may be longer than sun_path
    try:
        listener.bind(path.name)
    finally:
        os.chdir(cwd)
    listener.listen(1)
    got: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            got.append(conn.recv(4096))
            conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        res = ctl("list")
    finally:
        thread.join(10)
        listener.close()
        path.unlink()
    assert len(got) == 1 and len(got[0]) == 280
    state = "suspended" if len(reply) >= 28 else "started"
    assert (res.returncode, res.stdout, res.stderr) == (0, f"vm1\t\t{state}\n", stderr)


# --------------------------------------------------------------------------------------------
# blkrescan
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.6", "3.2"], indirect=True)
@pytest.mark.parametrize("devargs", ["3,/tmp/disk.img", "5," + "x" * 300, "4,/d\u00e9/v.img"])
def test_blkrescan_devargs(ctl: Ctl, dms: Callable[..., Dm], devargs: str) -> None:
    dm = dms("vm1")
    t0 = time.time()
    res = ctl("blkrescan", "vm1", devargs)
    t1 = time.time()
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")
    assert dm.names == ["DM_QUERY", "DM_BLKRESCAN"]
    data = wire_check(dm.server.raw[-1], ids(ctl.version)["DM_BLKRESCAN"], t0, t1)
    raw = devargs.encode()[:255]
    assert data == raw + bytes(256 - len(raw)), "cut to 255 bytes, NUL-padded"
    assert dm.log[-1][2].devargs == raw.decode()


def test_blkrescan_error_still_exits_0(ctl: Ctl, dms: Callable[..., Dm]) -> None:
    dms("vm1", blkrescan=-1)
    res = ctl("blkrescan", "vm1", "3,/nope")
    assert res.returncode == 0
    assert res.stdout == "Unable to rescan virtio-blk device in vm. errno(-1)\n"


def test_blkrescan_needs_started(ctl: Ctl, dms: Callable[..., Dm]) -> None:
    dm = dms("vm1", query=4)
    res = ctl("blkrescan", "vm1", "3,/a")
    assert res.returncode == 255
    assert res.stdout == (
        "vm1 is in suspended state but should be in started state for blockrescan\n"
    )
    assert ctl("blkrescan", "vm9", "3,/a").stdout == "can't find vm9\n"
    assert dm.names == ["DM_QUERY", "DM_QUERY"]


# --------------------------------------------------------------------------------------------
# the name-prefix lookup of connect_to_server
# --------------------------------------------------------------------------------------------


def test_prefix_lookup_quirk(ctl: Ctl, dms: Callable[..., Dm]) -> None:
    """QUERY for vm10 goes to the first readdir entry whose text before its first dot is a
    prefix of "vm10": vm1's socket or vm10's (here a dead file), whichever readdir lists
    first."""
    vm1 = dms("vm1")
    (ctl.mngr / "vm10.monitor.77.socket").write_text("")
    res = ctl("list")
    assert res.returncode == 0
    first = next(
        e for e in os.listdir(ctl.mngr) if "vm10".startswith(e.split(".", 1)[0])
    )
    if first.startswith("vm1.monitor"):
        assert vm1.names == ["DM_QUERY", "DM_QUERY"], "vm10's QUERY reached vm1"
        assert "connect_to_server" not in res.stdout
    else:
        assert vm1.names == ["DM_QUERY"]
        assert "connect_to_server 469\n" in res.stdout
    assert "vm1\t\tstarted\n" in res.stdout
    assert "vm10\t\tstarted\n" in res.stdout
    # Asking for a name that is not listed never reaches a socket, prefix or not.
    assert ctl("stop", "vm2").stdout.endswith("can't find vm2\n")


# --------------------------------------------------------------------------------------------
# suspend / resume (<= 2.7), pause / continue (1.6)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.6", "2.7"], indirect=True)
def test_suspend_and_resume(ctl: Ctl, dms: Callable[..., Dm], version: str) -> None:
    running = dms("vm1")
    res = ctl("suspend", "vm1")
    assert (res.returncode, res.stdout) == (0, "")
    assert running.names == ["DM_QUERY", "DM_SUSPEND"]
    assert running.log[-1][2].msgid == 4
    res = ctl("resume", "vm1")
    assert res.returncode == 255
    assert res.stdout == "No wake up reason, use 0x20\nvm1 current state started, can't resume\n"
    assert ctl("suspend", "vm9").stdout == "Can't find vm vm9\n"

    asleep = dms("vm2", query=4, resume=0)
    for arg, reason in (([], 0x20), (["1a"], 0x1A), (["0xff000001"], 0), (["zz"], 0)):
        res = ctl("resume", "vm2", *arg)
        shown = "" if arg else "No wake up reason, use 0x20\n"
        assert res.stdout == f"{shown}resume vm2 reason(0x{reason:x}\n"
        assert res.returncode == 0
        msg = asleep.log[-1][2]
        assert (asleep.log[-1][1], msg.msgid, msg.reason) == ("DM_RESUME", 5, reason)
    res = ctl("suspend", "vm2")
    assert (res.returncode, res.stdout) == (255, "vm2 current state suspended, can't suspend\n")

    dms("vm3", suspend=-1)
    res = ctl("suspend", "vm3")
    assert (res.returncode, res.stdout) == (255, "Unable to suspend vm. errno(-1)\n")


@pytest.mark.parametrize("version", ["1.6"], indirect=True)
def test_pause_and_continue_16(ctl: Ctl, dms: Callable[..., Dm]) -> None:
    dm = dms("vm1", pause=-1)
    res = ctl("pause", "vm1")
    assert (res.returncode, res.stdout) == (255, "Unable to pause vm. errno(-1)\n")
    res = ctl("continue", "vm1")
    assert (res.returncode, res.stdout) == (0, "")
    assert [m.msgid for _vm, _n, m in dm.log] == [8, 6, 8, 7]  # 1.x: QUERY 8, PAUSE 6, CONT 7
    assert ctl("pause", "vm9").stdout == "Can't find vm vm9\n"


# --------------------------------------------------------------------------------------------
# add / del / start / reset: the store under <run_dir>/conf/add
# --------------------------------------------------------------------------------------------

SCRIPT = """#!/bin/bash
# a launch script
echo "probe $0 $#:$*" > probe.txt
mem=$1
  /usr/bin/acrn-dm -A -m $mem \\
     -s 0:0,hostbridge \\
     $2
echo after-dm
"""


@pytest.mark.parametrize("version", ["1.6", "3.2"], indirect=True)
def test_add_list_del(ctl: Ctl, version: str) -> None:
    script = ctl.cwd / "vm1.sh"
    script.write_text(SCRIPT)
    script.chmod(0o750)
    before = sorted(os.listdir(ctl.cwd))
    res = ctl("add", "vm1.sh", "512M", "vm1")
    assert res.returncode == 0, res
    assert res.stdout.endswith("vm1 added\n")
    assert res.stderr == ""
    # The probe ran the rewritten script with $0 as given and the options as $@...
    assert (ctl.cwd / "probe.txt").read_text() == "probe vm1.sh 2:512M vm1\n"
    (ctl.cwd / "probe.txt").unlink()
    # ... left the script's directory alone, and stored the original.
    assert sorted(os.listdir(ctl.cwd)) == before
    assert (ctl.store / "vm1.sh").read_text() == SCRIPT
    assert (ctl.store / "vm1.sh").stat().st_mode & 0o777 == 0o750 & ~_umask()
    assert (ctl.store / "vm1.args").read_text() == "512M vm1\n"

    assert ctl("list").stdout.endswith("vm1\t\tstopped\n")
    res = ctl("add", "vm1.sh", "1G", "vm1")
    assert res.returncode == 255
    assert res.stdout.endswith("vm1(stopped) already exist, can't add vm1.sh 1G vm1 \n")

    res = ctl("del", "vm1")
    assert (res.returncode, res.stderr) == (0, "")
    assert os.listdir(ctl.store) == []
    assert ctl("del", "vm1").stdout.endswith("can't find vm1\n")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_add_failures(ctl: Ctl) -> None:
    ctl.quiet()
    cwd = ctl.cwd
    res = ctl("add", "missing.sh")
    assert (res.returncode, res.stdout, res.stderr) == (
        255, "", "missing.sh: No such file or directory\n")

    (cwd / "nodm.sh").write_text("echo hello\nqemu-system-x86_64 vm1\n")
    res = ctl("add", "nodm.sh")
    assert (res.returncode, res.stdout) == (
        255, "No 'acrn-dm' found in nodm.sh, expecting 'acrn-dm' command to get vmname.\n")

    for name, why in (
        ("1vm", "name not started with letter!\n"),
        ("vm,1", "vmname[2] is ','!\n"),
        ("help", ""),
        ("abcdefghijklmnop", "(abcdefghijklmnop) size exceed MAX_VM_NAME_LEN:16\n"),
    ):
        (cwd / "bad.sh").write_text(f"acrn-dm -A {name}\n")
        res = ctl("add", "bad.sh")
        assert res.returncode == 255
        assert res.stdout == f'{why}"{name}" is a bad name, please select another name\n'

    (cwd / "quiet.sh").write_text("acrn-dm -A vm1 > /dev/null\necho not-a-name\n")
    res = ctl("add", "quiet.sh")
    assert res.returncode == 255
    assert res.stdout == (
        "can't found prefix 'acrnctl: '\n"
        "No executable acrn-dm found: quiet.sh, ,please make sure it can launch an User VM\n"
        "result:\nnot-a-name\n\n"
    )
    assert os.listdir(ctl.store) == []


def test_add_path_limits(ctl: Ctl) -> None:
    """The real one builds 128-byte command lines: "bash <script> > <script>.result" fits a
    script path of at most 55 bytes; from 60 bytes even "mv <script> <script>.back" does not
    (and the clean-up's two mv lines fail as well)."""
    ctl.quiet()
    for length, out, status in (
        (55, "vm55 added\n", 0),
        (56, "ERROR: cmd is truncated\n", 255),
        (60, "ERROR: cmd is truncated\n" * 3, 255),
    ):
        folder = ctl.cwd / ("d" * (length - 8))
        folder.mkdir()
        script = f"{folder.name}/vm{length}.sh"
        assert len(script) == length
        (ctl.cwd / script).write_text(f"acrn-dm vm{length}\n")
        res = ctl("add", script)
        assert (res.returncode, res.stdout) == (status, out)
    res = ctl("add", "x" * 128)
    assert (res.returncode, res.stdout) == (255, "File name too long (maximum len 128)\n")


def test_start_detached_and_refusals(ctl: Ctl, dms: Callable[..., Dm]) -> None:
    ctl.store.mkdir(parents=True, exist_ok=True)
    marker = ctl.cwd / "started.txt"
    (ctl.store / "vm1.sh").write_text(f'echo "$0|$*" > {marker}\necho to-the-log\n')
    (ctl.store / "vm1.args").write_text("-m 1G  vm1\n")
    start = time.monotonic()
    res = ctl("start", "vm1")
    assert time.monotonic() - start < 5
    assert (res.returncode, res.stderr) == (0, "")
    deadline = time.monotonic() + 10
    while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.read_text() == f"{ctl.store}/vm1.sh|-m 1G vm1\n"
    log = ctl.run_dir / "acrnctl" / "vm1.start.log"
    while "to-the-log" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.read_text() == "to-the-log\n"

    dms("vm1")
    assert ctl("start", "vm1").stdout == "can't start vm1(started)\n"
    assert ctl("start", "vm9").stdout == "can't find vm9\n"
    assert ctl("del", "vm1").stdout == "can't delete vm1(started)\n"


def test_start_wait_mode_returns_status_low_byte(ctl: Ctl) -> None:
    ctl.quiet()
    (ctl.store / "vm1.sh").write_text("echo out; echo err >&2; exit 3\n")
    res = ctl("start", "vm1", ACRNKIT_ACRNCTL_START="wait")
    # system() returns 3 << 8; exit() keeps the low byte: 0, as the real start does.
    assert (res.returncode, res.stdout, res.stderr) == (
        0, "out\n", f"cat: {ctl.store}/vm1.args: No such file or directory\nerr\n")
    (ctl.store / "vm1.sh").write_text("kill -TERM $$\n")
    res = ctl("start", "vm1", ACRNKIT_ACRNCTL_START="wait")
    assert res.returncode == 15, "killed by a signal: system() gives the signal number"


def test_reset_restarts_from_the_store(ctl: Ctl, dms: Callable[..., Dm]) -> None:
    ctl.store.mkdir(parents=True, exist_ok=True)
    marker = ctl.cwd / "restarted.txt"
    (ctl.store / "vm1.sh").write_text(f"echo again > {marker}\n")
    (ctl.store / "vm1.args").write_text("\n")
    dm = dms("vm1")
    path = dm.server.path

    def stop_and_vanish(msg: MngrMessage) -> MngrMessage | None:
        reply = dm.handle(msg)
        if dm.log[-1][1] == "DM_STOP":
            path.unlink()  # the DM exits: its socket goes away
        return reply

    dm.server.handler = stop_and_vanish
    start = time.monotonic()
    res = ctl("reset", "vm1", ACRNKIT_ACRNCTL_START="wait")
    elapsed = time.monotonic() - start
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")
    assert 2 <= elapsed < 10, "sleep(2) after the VM is seen stopped"
    assert dm.names == ["DM_QUERY", "DM_STOP"]
    assert struct.unpack_from("<i", dm.log[-1][2].data)[0] == 0, "reset stops gracefully"
    assert marker.read_text() == "again\n"


def test_reset_of_an_untracked_vm(ctl: Ctl, dms: Callable[..., Dm]) -> None:
    dm = dms("vm1")
    path = dm.server.path

    def stop_and_vanish(msg: MngrMessage) -> MngrMessage | None:
        reply = dm.handle(msg)
        if dm.log[-1][1] == "DM_STOP":
            path.unlink()
        return reply

    dm.server.handler = stop_and_vanish
    res = ctl("reset", "vm1")
    assert res.returncode == 0, "the C returns stop_vm's 0 even when the reset fails"
    assert res.stdout == (
        "_remove_dead_vm: Removed dead vm1\n"
        "wait_vm_stop: vm vm1 not found\n"
        "Failed to stop vm1 in 30 sec, reset failed\n"
    )
    assert ctl("reset", "vm9").stdout == "Can't find vm vm9\n"


def test_nothing_outside_the_run_dir(ctl: Ctl) -> None:
    before = os.path.exists("/usr/share/acrn/conf/add")
    (ctl.cwd / "vm1.sh").write_text("acrn-dm vm1\n")
    assert ctl("add", "vm1.sh").returncode == 0
    assert ctl("list").returncode == 0
    assert ctl("del", "vm1").returncode == 0
    assert os.path.exists("/usr/share/acrn/conf/add") == before
    assert sorted(p.name for p in ctl.run_dir.iterdir()) == ["conf"]


def test_relative_run_dir_survives_cd_in_the_script(ctl: Ctl) -> None:
    """The children (add's gentmpfile, start's script) get the run dir made absolute."""
    ctl.quiet()
    (ctl.cwd / "sub").mkdir()
    (ctl.cwd / "vm1.sh").write_text("cd sub\nacrn-dm vm1\n")
    res = ctl("add", "vm1.sh", ACRNKIT_RUN_DIR="../run")
    assert (res.returncode, res.stdout) == (0, "vm1 added\n")
    assert not (ctl.cwd / "run").exists() and not (ctl.cwd / "sub" / "run").exists()
    (ctl.store / "vm1.sh").write_text('cd sub\necho "$ACRNKIT_RUN_DIR" > ../where.txt\n')
    res = ctl("start", "vm1", ACRNKIT_RUN_DIR="../run", ACRNKIT_ACRNCTL_START="wait")
    assert res.returncode == 0
    assert (ctl.cwd / "where.txt").read_text() == f"{ctl.run_dir}\n"
