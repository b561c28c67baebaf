"""The manager-socket codec, lookup, client and server (acrnkit.launch.mngr) and the per-release
message ids (acrnkit.releases.manager)."""

from __future__ import annotations

import contextlib
import io
import os
import selectors
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from acrnkit.errors import ConfigError, ManagerError, UnknownReleaseError
from acrnkit.launch import (
    CBC_WK_RSN_BTN,
    MNGR_MSG_MAGIC,
    ManagerClient,
    ManagerServer,
    MngrMessage,
    VmSuspendMode,
    default_run_dir,
    devargs_data,
    err_data,
    find_sockets,
    find_vm_socket,
    parse_socket_name,
    reason_data,
    socket_path,
    state_data,
    stop_data,
)
from acrnkit.releases.manager import manager_profile
from acrnkit.releases.versions import VERSIONS

MAGIC_BYTES = bytes.fromhex("76 6d 6d 20 6d 73 67 00")


@pytest.fixture(autouse=True)
def _no_socket_names_left(tmp_path: Path) -> Iterator[None]:
    """Tests leave nothing named like a manager socket behind (the servers unlink their own;
    this sweeps the plain files some tests create to exercise lookup)."""
    yield
    for leftover in tmp_path.rglob("*.socket"):
        assert not leftover.is_socket(), f"a server left {leftover} behind"
        leftover.unlink()


# --------------------------------------------------------------------------------------------
# per-release ids
# --------------------------------------------------------------------------------------------

EXPECTED_IDS = {
    "1.6": {"DM_STOP": 3, "DM_SUSPEND": 4, "DM_RESUME": 5, "DM_PAUSE": 6, "DM_CONTINUE": 7,
            "DM_QUERY": 8, "DM_BLKRESCAN": 9},
    "2.7": {"DM_STOP": 3, "DM_SUSPEND": 4, "DM_RESUME": 5, "DM_QUERY": 6, "DM_BLKRESCAN": 7},
    "3.0": {"DM_STOP": 3, "DM_SUSPEND": 4, "DM_RESUME": 5, "DM_QUERY": 6, "DM_BLKRESCAN": 7},
    "3.2": {"DM_STOP": 3, "DM_SUSPEND": 4, "DM_RESUME": 5, "DM_QUERY": 6, "DM_BLKRESCAN": 7},
    "3.3": {"DM_STOP": 3, "DM_SUSPEND": 4, "DM_RESUME": 5, "DM_QUERY": 6, "DM_BLKRESCAN": 7},
}
BASE_COMMANDS = {"list", "stop", "del", "add", "start", "reset", "blkrescan"}
EXPECTED_COMMANDS = {
    "1.6": BASE_COMMANDS | {"pause", "continue", "suspend", "resume"},
    "2.7": BASE_COMMANDS | {"suspend", "resume"},
    "3.0": BASE_COMMANDS,
    "3.2": BASE_COMMANDS,
    "3.3": BASE_COMMANDS,
}


def test_every_release_has_a_manager_profile() -> None:
    assert set(VERSIONS) == set(EXPECTED_IDS)


@pytest.mark.parametrize("version", sorted(EXPECTED_IDS))
def test_profile_ids_commands_and_sizes(version: str) -> None:
    profile = manager_profile(version)
    assert profile.version == version
    assert dict(profile.ids) == EXPECTED_IDS[version]
    assert profile.commands == frozenset(EXPECTED_COMMANDS[version])
    assert profile.msg_size == 280
    assert profile.name_max_len == (128 if version == "1.6" else 16)


def test_profile_lookup_accepts_tag_spellings_and_rejects_unknown() -> None:
    assert manager_profile("v3.2") is manager_profile("3.2.0")
    with pytest.raises(UnknownReleaseError):
        manager_profile("2.0")


def test_profile_table_is_read_only() -> None:
    profile = manager_profile("3.2")
    with pytest.raises(TypeError):
        profile.ids["DM_STOP"] = 99  # type: ignore[index]
    with pytest.raises(AttributeError):
        profile.version = "9.9"  # type: ignore[misc]


def test_profile_msgid_and_name_of() -> None:
    old, new = manager_profile("1.6"), manager_profile("3.3")
    assert old.msgid("DM_QUERY") == 8 and new.msgid("DM_QUERY") == 6
    assert new.name_of(7) == "DM_BLKRESCAN" and old.name_of(7) == "DM_CONTINUE"
    assert new.name_of(8) is None
    with pytest.raises(ConfigError) as info:
        new.msgid("DM_PAUSE")
    assert info.value.field == "msgid"


# --------------------------------------------------------------------------------------------
# codec
# --------------------------------------------------------------------------------------------


def test_packed_layout_is_byte_exact() -> None:
    raw = MngrMessage(6, 0x1122334455667788, b"AB").to_bytes()
    assert len(raw) == 280
    assert raw[0:8] == MAGIC_BYTES
    assert raw[8:12] == b"\x06\x00\x00\x00"
    assert raw[12:16] == b"\x00" * 4  # padding before the 8-byte-aligned timestamp
    assert raw[16:24] == bytes.fromhex("8877665544332211")
    assert raw[24:26] == b"AB"
    assert raw[26:] == b"\x00" * 254


def test_magic_constant_spells_vmm_msg() -> None:
    assert MNGR_MSG_MAGIC.to_bytes(8, "little") == b"vmm msg\x00"


def test_round_trip_and_data_normalisation() -> None:
    message = MngrMessage(7, 42, devargs_data("5,/dev/dm-3"))
    again = MngrMessage.from_bytes(message.to_bytes())
    assert again == message
    assert again.devargs == "5,/dev/dm-3"
    assert MngrMessage(3, 0, b"") == MngrMessage(3, 0, b"\x00" * 256)
    assert len(MngrMessage(3).data) == 256


def test_from_bytes_rejects_short_and_wrong_magic() -> None:
    good = MngrMessage(3, 1).to_bytes()
    with pytest.raises(ManagerError, match="short manager message: 279 of 280"):
        MngrMessage.from_bytes(good[:279])
    bad = b"\x00" * 8 + good[8:]
    with pytest.raises(ManagerError, match="magic"):
        MngrMessage.from_bytes(bad)
    assert MngrMessage.from_bytes(bad, check_magic=False).msgid == 3


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"msgid": -1}, "msgid"), ({"msgid": 2**32}, "msgid"), ({"msgid": 3, "timestamp": -1},
                                                             "timestamp"),
     ({"msgid": 3, "data": b"x" * 257}, "data")],
)
def test_message_fields_are_range_checked(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        MngrMessage(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_union_views_and_builders() -> None:
    assert stop_data(True) == b"\x01\x00\x00\x00\x00\x00\x00\x00"
    assert stop_data(False, timeout=30) == b"\x00\x00\x00\x00\x1e\x00\x00\x00"
    stop = MngrMessage(3, 0, stop_data(True, timeout=7))
    assert stop.force is True and stop.stop_timeout == 7
    # The DM tests force as a C int: any non-zero value counts.
    assert MngrMessage(3, 0, struct.pack("<i", 2)).force is True
    assert err_data(-1) == b"\xff\xff\xff\xff"
    assert MngrMessage(3, 0, err_data(-1)).err == -1
    assert MngrMessage(6, 0, state_data(VmSuspendMode.SUSPEND)).state == 4
    assert MngrMessage(5, 0, reason_data(CBC_WK_RSN_BTN)).reason == 0x20
    with pytest.raises(ConfigError):
        err_data(2**31)
    with pytest.raises(ConfigError):
        reason_data(-1)


def test_devargs_are_cut_to_255_bytes_with_a_nul() -> None:
    data = devargs_data("9," + "p" * 400)
    assert len(data) == 256
    assert data[255] == 0 and data[254] == ord("p")
    assert MngrMessage(7, 0, data).devargs == "9," + "p" * 253


def test_reply_echoes_msgid_and_timestamp() -> None:
    request = MngrMessage(6, 1700000000, b"junk the DM ignores")
    ack = request.reply_state(-1)
    assert (ack.msgid, ack.timestamp, ack.state) == (6, 1700000000, -1)
    assert request.reply_err(0).data == b"\x00" * 256


def test_repr_is_short() -> None:
    assert repr(MngrMessage(3, 1, stop_data(True))) == (
        "MngrMessage(msgid=3, timestamp=1, data=b'\\x01' + 255 NUL)"
    )


# --------------------------------------------------------------------------------------------
# paths and lookup
# --------------------------------------------------------------------------------------------


def test_socket_path_format(tmp_path: Path) -> None:
    assert socket_path(tmp_path, "vm1", 4242) == tmp_path / "mngr" / "vm1.monitor.4242.socket"


def test_default_run_dir_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ACRNKIT_RUN_DIR", raising=False)
    assert default_run_dir() == Path("/run/acrn")
    monkeypatch.setenv("ACRNKIT_RUN_DIR", str(tmp_path))
    assert default_run_dir() == tmp_path
    assert socket_path(None, "a", 1) == tmp_path / "mngr" / "a.monitor.1.socket"
    monkeypatch.setenv("ACRNKIT_RUN_DIR", "")
    assert default_run_dir() == Path("/run/acrn")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("vm1.monitor.42.socket", ("vm1", 42)),
        ("sbx-abc.monitor.1.socket", ("sbx-abc", 1)),
        ("acrnd.77.socket", None),  # acrnd's own server socket
        ("vm1.monitor.x.socket", None),
        ("vm1.monitor.42.sock", None),
        (".monitor.1.socket", None),
        ("a.b.monitor.1.socket", None),  # the name ends at the first dot, as in acrnctl
        ("vm1", None),
    ],
)
def test_parse_socket_name(name: str, expected: tuple[str, int] | None) -> None:
    assert parse_socket_name(name) == expected


def _touch(run_dir: Path, *names: str) -> None:
    (run_dir / "mngr").mkdir(parents=True, exist_ok=True)
    for name in names:
        (run_dir / "mngr" / name).write_bytes(b"")


def test_find_sockets_lists_by_name_only(tmp_path: Path) -> None:
    assert find_sockets(tmp_path) == []  # no mngr directory at all
    _touch(tmp_path, "vm2.monitor.9.socket", "vm1.monitor.12.socket", "acrnd.3.socket", "junk")
    found = find_sockets(tmp_path)
    assert [(s.vm_name, s.pid) for s in found] == [("vm1", 12), ("vm2", 9)]
    assert found[0].path == tmp_path / "mngr" / "vm1.monitor.12.socket"


def test_find_vm_socket_exact_by_default_prefix_quirk_on_request(tmp_path: Path) -> None:
    _touch(tmp_path, "vm1.monitor.10.socket")
    assert find_vm_socket(tmp_path, "vm10") is None
    # acrnctl compares only as many characters as the entry has before its first dot.
    assert find_vm_socket(tmp_path, "vm10", prefix_match=True) == (
        tmp_path / "mngr" / "vm1.monitor.10.socket"
    )
    assert find_vm_socket(tmp_path, "vm", prefix_match=True) is None
    _touch(tmp_path, "vm10.monitor.11.socket")
    assert find_vm_socket(tmp_path, "vm10") == tmp_path / "mngr" / "vm10.monitor.11.socket"
    assert find_vm_socket(tmp_path / "absent", "vm1") is None
    assert find_vm_socket(tmp_path / "absent", "vm1", prefix_match=True) is None


def test_find_vm_socket_prefers_a_live_pid(tmp_path: Path) -> None:
    dead_pid = _dead_pid()
    _touch(tmp_path, f"vm1.monitor.{os.getpid()}.socket")
    time.sleep(0.01)
    _touch(tmp_path, f"vm1.monitor.{dead_pid}.socket")  # newer, but its DM is gone
    assert find_vm_socket(tmp_path, "vm1") == socket_path(tmp_path, "vm1", os.getpid())


def _dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


# --------------------------------------------------------------------------------------------
# client <-> server over a real unix socket
# --------------------------------------------------------------------------------------------


class Recorder:
    """A DM-like handler: STOP -> err 0, QUERY -> state, BLKRESCAN -> err by devargs."""

    def __init__(self, version: str = "3.2", state: int = 0) -> None:
        self.ids = manager_profile(version).ids
        self.state = state
        self.seen: list[MngrMessage] = []

    def __call__(self, request: MngrMessage) -> MngrMessage | None:
        self.seen.append(request)
        if request.msgid == self.ids["DM_QUERY"]:
            return request.reply_state(self.state)
        if request.msgid == self.ids["DM_BLKRESCAN"]:
            return request.reply_err(0 if request.devargs.startswith("5,") else -1)
        # A reply with the wrong msgid and timestamp: the server must echo the request's.
        return MngrMessage(999, 1, err_data(0))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ManagerServer, Recorder, io.StringIO]]:
    recorder = Recorder()
    errors = io.StringIO()
    server = ManagerServer.for_vm(tmp_path, "vm1", recorder, pid=4242, stderr=errors)
    server.serve_in_thread()
    try:
        yield server, recorder, errors
    finally:
        server.close()
    assert not server.path.exists()


def test_round_trip_query_stop_blkrescan(
    served: tuple[ManagerServer, Recorder, io.StringIO], tmp_path: Path
) -> None:
    server, recorder, errors = served
    assert server.path == tmp_path / "mngr" / "vm1.monitor.4242.socket"
    client = ManagerClient(tmp_path, "vm1", "3.2")
    recorder.state = VmSuspendMode.SUSPEND
    assert client.query() == 4
    assert client.stop(force=True) == 0
    assert client.blkrescan(5, "/dev/dm-3") == 0
    assert client.blkrescan(6, "/dev/dm-4") == -1
    assert [m.msgid for m in recorder.seen] == [6, 3, 7, 7]
    assert recorder.seen[1].force is True
    assert recorder.seen[2].devargs == "5,/dev/dm-3"
    assert errors.getvalue() == ""


def test_reply_echoes_request_msgid_and_timestamp(
    served: tuple[ManagerServer, Recorder, io.StringIO], tmp_path: Path
) -> None:
    client = ManagerClient(tmp_path, "vm1", "3.2")
    ack = client.request(3, stop_data(False), timestamp=123456789)
    assert (ack.msgid, ack.timestamp, ack.err) == (3, 123456789, 0)


def test_unknown_id_gets_no_reply_and_a_stderr_line(
    served: tuple[ManagerServer, Recorder, io.StringIO], tmp_path: Path
) -> None:
    server, recorder, errors = served
    client = ManagerClient(tmp_path, "vm1", "3.2", timeout=0.3)
    with pytest.raises(ManagerError, match=r"no reply from .* within 0.3 s"):
        client.request(99)
    with pytest.raises(ManagerError, match=r"does not exist in ACRN 3\.2"):
        client.send("DM_PAUSE")
    _wait_for(server, 1)
    assert errors.getvalue() == "Unknown message id: 99\n"
    assert recorder.seen == []
    assert [m.msgid for m in server.received] == [99]


def test_mixing_release_tables_misreads_ids(
    served: tuple[ManagerServer, Recorder, io.StringIO], tmp_path: Path
) -> None:
    _, recorder, errors = served
    recorder.state = 4
    # 1.6's DM_PAUSE is 6, which a 3.2 DM reads as DM_QUERY: the "err" that comes back is the
    # VM state. This is why every client and server is built for one release.
    assert ManagerClient(tmp_path, "vm1", "1.6").pause() == 4
    assert [m.msgid for m in recorder.seen] == [6]
    assert errors.getvalue() == ""


def _wait_for(server: ManagerServer, count: int, timeout: float = 5.0) -> None:
    """Wait until the server thread has parsed ``count`` messages: a "no reply" on the client
    side does not prove the server has got round to reading the request yet."""
    deadline = time.monotonic() + timeout
    while len(server.received) < count:
        assert time.monotonic() < deadline, f"server parsed {len(server.received)} of {count}"
        time.sleep(0.01)


def _raw_exchange(path: Path, payload: bytes, expect: int, wait: float = 0.3) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(str(path))
        sock.sendall(payload)
        sock.settimeout(wait)
        got = b""
        try:
            while len(got) < expect + 1:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                got += chunk
        except TimeoutError:
            pass
        return got


def test_wrong_magic_drops_the_rest_silently(
    served: tuple[ManagerServer, Recorder, io.StringIO],
) -> None:
    server, recorder, errors = served
    query = MngrMessage(6, 1).to_bytes()
    bad = MngrMessage(6, 2).to_bytes(magic=0x1122334455667788)
    # good, bad, good in one write: one reply, then the parse stops at the bad magic.
    got = _raw_exchange(server.path, query + bad + query, expect=280)
    assert len(got) == 280
    assert MngrMessage.from_bytes(got).timestamp == 1
    # bad first: nothing at all, not even the unknown-id line.
    got = _raw_exchange(server.path, bad + query, expect=0)
    assert got == b""
    assert len(recorder.seen) == 1
    assert errors.getvalue() == ""


def test_several_records_in_one_write_each_get_a_reply(
    served: tuple[ManagerServer, Recorder, io.StringIO],
) -> None:
    server, _, errors = served
    payload = MngrMessage(6, 1).to_bytes() + MngrMessage(6, 2).to_bytes()
    got = _raw_exchange(server.path, payload, expect=560)
    assert [MngrMessage.from_bytes(got[i:i + 280]).timestamp for i in (0, 280)] == [1, 2]
    # A known id in the same buffer suppresses the unknown-id line (server_parse_buf).
    got = _raw_exchange(server.path, MngrMessage(6, 3).to_bytes() + MngrMessage(50).to_bytes(),
                        expect=280)
    assert len(got) == 280
    assert errors.getvalue() == ""


def test_short_and_trailing_partial_records_are_ignored(
    served: tuple[ManagerServer, Recorder, io.StringIO],
) -> None:
    server, recorder, errors = served
    assert _raw_exchange(server.path, MngrMessage(6).to_bytes()[:279], expect=0) == b""
    got = _raw_exchange(server.path, MngrMessage(6, 5).to_bytes() + b"\x76" * 100, expect=280)
    assert len(got) == 280
    assert len(recorder.seen) == 1
    assert errors.getvalue() == ""


def test_unknown_id_is_printed_signed(tmp_path: Path) -> None:
    errors = io.StringIO()
    with ManagerServer(tmp_path / "s.socket", lambda m: None, stderr=errors) as server:
        server.serve_in_thread()
        _raw_exchange(server.path, MngrMessage(0xFFFFFFFF).to_bytes(), expect=0, wait=0.2)
        _wait_for(server, 1)
    assert errors.getvalue() == "Unknown message id: -1\n"


def test_client_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ManagerError) as info:
        ManagerClient(tmp_path, "vm9", "3.2").query()
    assert "no manager socket for VM 'vm9'" in str(info.value)
    assert "\n" not in str(info.value)
    # A plain file named like a socket: found by name, refused by connect.
    _touch(tmp_path, "vm9.monitor.1.socket")
    with pytest.raises(ManagerError, match=r"cannot send DM_QUERY to manager socket"):
        ManagerClient(tmp_path, "vm9", "3.2").query()


def _one_shot_server(path: Path, reply: bytes) -> threading.Thread:
    """A raw server that answers one connection with ``reply`` and hangs up."""
    path.parent.mkdir(parents=True, exist_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def run() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                conn.recv(280)
                conn.sendall(reply)
        path.unlink()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_short_reply(tmp_path: Path) -> None:
    thread = _one_shot_server(socket_path(tmp_path, "vm1", 1), MngrMessage(6).to_bytes()[:100])
    with pytest.raises(ManagerError, match=r"short reply .*: 100 of 280 bytes"):
        ManagerClient(tmp_path, "vm1", "3.2").query()
    thread.join(5)


def test_closed_without_reply(tmp_path: Path) -> None:
    thread = _one_shot_server(socket_path(tmp_path, "vm1", 1), b"")
    with pytest.raises(ManagerError, match=r"no reply .*connection was closed"):
        ManagerClient(tmp_path, "vm1", "3.2").query()
    thread.join(5)


def test_strict_reply_checks_and_acrnctl_leniency(tmp_path: Path) -> None:
    wrong = MngrMessage(6, 0, state_data(4)).to_bytes(magic=0)
    thread = _one_shot_server(socket_path(tmp_path, "vm1", 1), wrong)
    with pytest.raises(ManagerError, match=r"bad reply .*magic"):
        ManagerClient(tmp_path, "vm1", "3.2").query()
    thread.join(5)
    thread = _one_shot_server(socket_path(tmp_path, "vm1", 1), wrong)
    assert ManagerClient(tmp_path, "vm1", "3.2", strict=False).query() == 4
    thread.join(5)
    thread = _one_shot_server(socket_path(tmp_path, "vm1", 1), MngrMessage(3).to_bytes())
    with pytest.raises(ManagerError, match="msgid 3, expected 6"):
        ManagerClient(tmp_path, "vm1", "3.2").query()
    thread.join(5)


@pytest.mark.parametrize(
    ("version", "method", "msgid"),
    [("1.6", "query", 8), ("1.6", "pause", 6), ("1.6", "cont", 7), ("1.6", "blkrescan", 9),
     ("2.7", "suspend", 4), ("2.7", "resume", 5), ("3.3", "query", 6), ("3.3", "suspend", 4)],
)
def test_client_uses_the_release_ids(
    tmp_path: Path, version: str, method: str, msgid: int
) -> None:
    seen: list[MngrMessage] = []

    def handler(request: MngrMessage) -> MngrMessage:
        seen.append(request)
        return request.reply_err(0)

    with ManagerServer.for_vm(tmp_path, "vm1", handler, version=version).serve_in_thread():
        client = ManagerClient(tmp_path, "vm1", version)
        if method == "blkrescan":
            client.blkrescan(3, "/x.img")
        else:
            getattr(client, method)()
    assert [m.msgid for m in seen] == [msgid]
    if method == "resume":
        assert seen[0].reason == CBC_WK_RSN_BTN


@pytest.mark.parametrize(("version", "method"), [("3.2", "pause"), ("2.7", "cont")])
def test_client_refuses_messages_the_release_lacks(
    tmp_path: Path, version: str, method: str
) -> None:
    client = ManagerClient(tmp_path, "vm1", version)
    with pytest.raises(ManagerError) as info:
        getattr(client, method)()
    text = str(info.value)
    assert version in text and ("pause" if method == "pause" else "continue") in text


def test_blkrescan_arguments_are_checked(tmp_path: Path) -> None:
    client = ManagerClient(tmp_path, "vm1", "3.2")
    with pytest.raises(ConfigError) as info:
        client.blkrescan(32, "/x")
    assert info.value.field == "slot"
    with pytest.raises(ConfigError) as info:
        client.blkrescan(5, "/" + "x" * 300)
    assert info.value.field == "devargs"


def test_prefix_match_client_reaches_the_wrong_vm_like_acrnctl(tmp_path: Path) -> None:
    with ManagerServer.for_vm(tmp_path, "vm1", Recorder(state=4), pid=7).serve_in_thread():
        with pytest.raises(ManagerError):
            ManagerClient(tmp_path, "vm10", "3.2").query()
        assert ManagerClient(tmp_path, "vm10", "3.2", prefix_match=True).query() == 4


def test_long_socket_paths_work(tmp_path: Path) -> None:
    run_dir = tmp_path / ("d" * 120)
    with ManagerServer.for_vm(run_dir, "vm1", Recorder(state=0), pid=1).serve_in_thread() as srv:
        assert len(os.fsencode(srv.path)) > 108
        assert ManagerClient(run_dir, "vm1", "3.2").query() == 0
    assert not srv.path.exists()


# --------------------------------------------------------------------------------------------
# server mechanics
# --------------------------------------------------------------------------------------------


def test_single_threaded_selector_integration(tmp_path: Path) -> None:
    recorder = Recorder(state=3)
    with ManagerServer.for_vm(tmp_path, "vm1", recorder, pid=1) as server:
        with selectors.DefaultSelector() as sel, socket.socket(socket.AF_UNIX) as client:
            sel.register(server, selectors.EVENT_READ)
            client.connect(str(server.path))  # completes from the listen backlog
            client.sendall(MngrMessage(6, 9).to_bytes())
            client.setblocking(False)
            reply = b""
            deadline = time.monotonic() + 5
            while len(reply) < 280 and time.monotonic() < deadline:
                for key, _ in sel.select(0.05):
                    assert key.fileobj is server
                    server.handle_ready()
                with contextlib.suppress(BlockingIOError):
                    reply += client.recv(280)
        assert MngrMessage.from_bytes(reply).state == 3
        assert server.handle_ready(1.0) == 1  # the client's hang-up
        assert server.handle_ready() == 0  # nothing pending: returns at once


def test_at_most_four_clients_then_the_backlog_waits(tmp_path: Path) -> None:
    recorder = Recorder(state=0)
    with ManagerServer.for_vm(tmp_path, "vm1", recorder, pid=1) as server:
        server.serve_in_thread()
        idle = [socket.socket(socket.AF_UNIX) for _ in range(4)]
        for sock in idle:
            sock.connect(str(server.path))
        time.sleep(0.2)  # let the server accept all four
        fifth = socket.socket(socket.AF_UNIX)
        fifth.connect(str(server.path))
        fifth.sendall(MngrMessage(6, 5).to_bytes())
        fifth.settimeout(0.3)
        with pytest.raises(TimeoutError):
            fifth.recv(280)
        idle.pop().close()  # a slot frees up: the fifth is accepted and answered
        fifth.settimeout(5)
        assert MngrMessage.from_bytes(fifth.recv(280)).timestamp == 5
        for sock in [*idle, fifth]:
            sock.close()


def test_close_unlinks_only_its_own_socket(tmp_path: Path) -> None:
    server = ManagerServer.for_vm(tmp_path, "vm1", Recorder(), pid=1)
    path = server.path
    assert path.exists()
    server.close()
    assert not path.exists()
    server.close()  # idempotent

    server = ManagerServer.for_vm(tmp_path, "vm1", Recorder(), pid=1)
    path.unlink()
    path.write_text("someone else's")  # replaced behind the server's back
    server.close()
    assert path.read_text() == "someone else's"
    path.unlink()


def test_stale_path_is_replaced_and_dirs_are_created(tmp_path: Path) -> None:
    run_dir = tmp_path / "a" / "b"
    path = socket_path(run_dir, "vm1", 1)
    path.parent.mkdir(parents=True)
    path.write_text("stale")
    with ManagerServer(path, Recorder()).serve_in_thread():
        assert ManagerClient(run_dir, "vm1", "3.2").query() == 0


def test_handler_errors_surface_at_close(tmp_path: Path) -> None:
    def broken(request: MngrMessage) -> MngrMessage:
        raise RuntimeError("handler bug")

    server = ManagerServer.for_vm(tmp_path, "vm1", broken, pid=1).serve_in_thread()
    with pytest.raises(ManagerError):
        ManagerClient(tmp_path, "vm1", "3.2", timeout=0.3).query()
    _wait_for(server, 1)
    with pytest.raises(RuntimeError, match="handler bug"):
        server.close()
    assert not server.path.exists()


def test_handler_returning_none_sends_nothing(tmp_path: Path) -> None:
    errors = io.StringIO()
    server = ManagerServer.for_vm(tmp_path, "vm1", lambda m: None, pid=1, stderr=errors)
    with server.serve_in_thread():
        with pytest.raises(ManagerError, match="no reply"):
            ManagerClient(tmp_path, "vm1", "3.2", timeout=0.2).stop()
        _wait_for(server, 1)
    assert errors.getvalue() == ""  # known id: no "Unknown message id" line


def test_explicit_msgids_limit_what_is_handled(tmp_path: Path) -> None:
    errors = io.StringIO()
    with ManagerServer.for_vm(tmp_path, "vm1", Recorder(), pid=1, msgids={6},
                              stderr=errors).serve_in_thread() as server:
        assert ManagerClient(tmp_path, "vm1", "3.2").query() == 0
        with pytest.raises(ManagerError):
            ManagerClient(tmp_path, "vm1", "3.2", timeout=0.2).stop()
        _wait_for(server, 2)
    assert errors.getvalue() == "Unknown message id: 3\n"
