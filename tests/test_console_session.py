"""ConsoleSession over every backend (acrnkit.console.session).

The far end is the scripted guest (acrnkit/console/scripted_guest.py), copied to tmp_path and
run with sys.executable: on its stdio (pexpect.spawn), serving a unix socket, holding a pty
master whose slave path we open (pty and tty backends), or on a pty slave whose master fd we
attach to. ``serve_guest`` kills and reaps its process group and removes its socket.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from acrnkit.console import (
    EOF,
    ConsoleClosedError,
    ConsoleSession,
    FdBackend,
    PtyBackend,
    SpawnBackend,
    TtyBackend,
    UnixSocketBackend,
    console_log_path,
)
from acrnkit.console.testing import GUEST_KINDS, GuestKind, install_guest, serve_guest
from acrnkit.errors import ConsoleError, ConsoleTimeoutError


@pytest.fixture
def open_guest(tmp_path: Path) -> Iterator[object]:
    """``open_guest(kind, *args) -> ConsoleSession``; everything is closed and reaped after."""
    stack: list[tuple[ConsoleSession, object]] = []

    def opener(kind: GuestKind, *args: str, **session_kw: object) -> ConsoleSession:
        served = serve_guest(kind, tmp_path, *args)
        backend = served.__enter__()
        try:
            session = ConsoleSession(backend, log_path=tmp_path / f"{kind}.log",  # type: ignore[arg-type]
                                     **session_kw)
        except BaseException:
            served.__exit__(None, None, None)
            raise
        stack.append((session, served))
        return session

    yield opener
    for session, served in reversed(stack):
        session.close()
        served.__exit__(None, None, None)  # type: ignore[attr-defined]


def _alive(pid: int) -> bool:
    """Running and not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_importing_acrnkit_and_the_console_package_does_not_import_pexpect() -> None:
    code = ("import sys, acrnkit, acrnkit.console\n"
            "from acrnkit.console import ConsoleSession, Shell, strip_ansi\n"
            "assert 'pexpect' not in sys.modules, 'pexpect imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("kind", GUEST_KINDS)
def test_every_backend_logs_in_and_logs_what_it_read(kind: GuestKind, open_guest) -> None:
    session: ConsoleSession = open_guest(kind)
    session.expect(r"login: ", timeout=10)
    session.sendline("root")
    session.expect(r"# ", timeout=10)
    session.sendline("echo hi-there")
    result = session.expect(r"hi-there\r\n# ", timeout=10)
    assert result.index == 0
    assert "echo hi-there" in result.before
    log = session.log_path.read_bytes().decode()
    assert "Linux version 5.15.0-acrn" in log
    assert "guest login: root\r\n" in log
    assert "# echo hi-there\r\nhi-there\r\n# " in log
    assert session.log_path == session.log_path.parent / f"{kind}.log"


@pytest.mark.parametrize("kind", GUEST_KINDS)
def test_the_log_is_exactly_the_text_read(kind: GuestKind, open_guest) -> None:
    session: ConsoleSession = open_guest(kind, "--ansi", "--kmsg")
    chunks: list[str] = []
    deadline = time.monotonic() + 10
    while not "".join(chunks).endswith("login: ") and time.monotonic() < deadline:
        chunks.append(session.read(0.5))
    session.sendline("root")
    while "\x1b[?2004h" not in "".join(chunks) and time.monotonic() < deadline:
        chunks.append(session.read(0.5))
    chunks.append(session.read_until_quiet(0.2, timeout=10))
    text = "".join(chunks)
    assert "\x1b[?2004h" in text
    assert session.log_path.read_bytes() == text.encode()


def test_expect_keeps_the_rest_for_read(open_guest) -> None:
    session: ConsoleSession = open_guest("stdio")
    session.expect("Linux version", timeout=10)
    rest = session.read_until_quiet(0.3, timeout=10)
    assert rest.startswith(" 5.15.0-acrn")
    assert rest.endswith("guest login: ")


def test_expect_timeout_reports_the_measured_duration_tail_and_log(open_guest) -> None:
    session: ConsoleSession = open_guest("stdio")
    started = time.monotonic()
    with pytest.raises(ConsoleTimeoutError) as info:
        session.expect(["never printed", re.compile("nor this")], timeout=0.3)
    took = time.monotonic() - started
    err = info.value
    found = re.search(r"expect timeout after 0\.3 s \(measured (\d+\.\d\d) s\) waiting for "
                      r"'never printed' or 'nor this'", str(err))
    assert found, str(err)
    assert 0.3 <= float(found[1]) < 0.3 + 1.5
    assert err.elapsed is not None and 0.3 <= err.elapsed <= took
    assert err.log_path == str(session.log_path)
    assert str(session.log_path) in str(err)
    assert "guest login:" in err.tail


def test_timeout_and_eof_as_patterns(open_guest) -> None:
    session: ConsoleSession = open_guest("stdio")
    from acrnkit.console import TIMEOUT

    assert session.expect(["never", TIMEOUT], timeout=0.1).index == 1
    session.expect("login: ", timeout=10)
    session.sendline("root")
    session.expect("# ", timeout=10)
    session.sendline("poweroff")
    result = session.expect(["never", EOF], timeout=10)
    assert result.index == 1
    assert session.eof
    with pytest.raises(ConsoleClosedError):
        session.read(0.1)
    assert session.wait(10) == 0
    assert session.exitstatus == 0


def test_eof_while_expecting_raises_console_closed(open_guest) -> None:
    session: ConsoleSession = open_guest("unix")
    session.expect("login: ", timeout=10)
    session.sendline("root")
    session.expect("# ", timeout=10)
    session.sendline("poweroff")
    with pytest.raises(ConsoleClosedError) as info:
        session.expect("never", timeout=10)
    assert isinstance(info.value, ConsoleError) and isinstance(info.value, EOFError)
    assert "reboot: Power down" in info.value.tail
    assert not session.isalive()


def test_read_until_quiet_and_a_chatty_console(open_guest) -> None:
    session: ConsoleSession = open_guest("stdio")
    assert session.read_until_quiet(0.3, timeout=10).endswith("guest login: ")
    started = time.monotonic()
    assert session.read_until_quiet(0.1, timeout=10) == ""
    assert time.monotonic() - started < 1.0

    chatty: ConsoleSession = open_guest("stdio", "--scenario", "reboot-loop")
    with pytest.raises(ConsoleTimeoutError, match=r"not quiet for 0\.5 s within 0\.4 s"):
        chatty.read_until_quiet(0.5, timeout=0.4)


def test_sendcontrol_and_throttled_send(open_guest) -> None:
    session: ConsoleSession = open_guest("stdio", tx_chunk=2, tx_delay=0.001)
    session.expect("login: ", timeout=10)
    session.sendcontrol("c")
    session.expect(r"\^C", timeout=10)
    session.sendline("root")
    session.expect("# ", timeout=10)
    session.sendline("echo slow and steady")
    session.expect(r"\r\nslow and steady\r\n# ", timeout=10)
    with pytest.raises(ValueError):
        session.sendcontrol("cc")


def test_close_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    script = install_guest(tmp_path)
    with ConsoleSession.spawn([sys.executable, str(script), "--grandchild", str(pidfile)],
                              log_path=tmp_path / "vm.log") as session:
        session.expect("login: ", timeout=10)
        pid = session.pid
        grandchild = int(pidfile.read_text())
        assert pid is not None and _alive(pid) and _alive(grandchild)
    assert session.closed
    deadline = time.monotonic() + 5
    while (_alive(pid) or _alive(grandchild)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(pid)
    assert not _alive(grandchild)
    assert session.signalstatus is not None or session.exitstatus is not None


def test_spawn_rejects_a_shell_string_and_reports_a_missing_program(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="non-empty sequence"):
        SpawnBackend("python -c pass")  # type: ignore[arg-type]
    with pytest.raises(ConsoleError, match="cannot spawn"):
        ConsoleSession.spawn([str(tmp_path / "no-such-dm")], log_path=tmp_path / "x.log")


def test_unix_connect_retries_until_the_socket_appears(tmp_path: Path) -> None:
    with serve_guest("unix", tmp_path, "--listen-delay", "0.5") as backend:
        assert isinstance(backend, UnixSocketBackend)
        started = time.monotonic()
        with ConsoleSession.connect_unix(backend.path, connect_timeout=10,
                                         log_path=tmp_path / "vm.log") as session:
            assert time.monotonic() - started >= 0.4
            session.expect("login: ", timeout=10)
    assert not Path(backend.path).exists()


def test_unix_connect_timeout_reports_the_measured_duration(tmp_path: Path) -> None:
    with pytest.raises(ConsoleTimeoutError) as info:
        ConsoleSession.connect_unix(tmp_path / "nobody.sock", connect_timeout=0.3,
                                    log_path=tmp_path / "vm.log")
    found = re.search(r"connect timeout after 0\.3 s \(measured (\d+\.\d\d) s\) waiting for "
                      r"unix socket '.*nobody\.sock'", str(info.value))
    assert found, str(info.value)
    assert 0.3 <= float(found[1]) < 0.3 + 1.5
    assert info.value.elapsed is not None and info.value.elapsed >= 0.3


def test_unix_socket_path_longer_than_sun_path(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    sock = deep / "console.sock"
    assert len(str(sock)) > 108
    with serve_guest("unix", tmp_path, socket_path=sock) as backend, \
            ConsoleSession(backend, log_path=tmp_path / "vm.log") as session:
        session.expect("login: ", timeout=10)
    assert not sock.exists()


def test_attach_fd_leaves_the_callers_fd_open(tmp_path: Path) -> None:
    with serve_guest("fd", tmp_path) as backend:
        assert isinstance(backend, FdBackend)
        with ConsoleSession.attach_fd(backend.fd, log_path=tmp_path / "vm.log") as session:
            session.expect("login: ", timeout=10)
        os.fstat(backend.fd)  # still open: the session worked on a dup


def test_pty_and_tty_paths(tmp_path: Path) -> None:
    with serve_guest("pty", tmp_path) as backend:
        assert isinstance(backend, PtyBackend) and backend.path.startswith("/dev/pts/")
        # The guest printed its login prompt before we opened the slave: it is still read.
        time.sleep(0.3)
        with ConsoleSession.open_tty(backend.path, baudrate=9600,
                                     log_path=tmp_path / "vm.log") as session:
            session.expect("login: ", timeout=10)
            session.sendline("root")
            session.expect("# ", timeout=10)
    with pytest.raises(ValueError, match="not a termios speed"):
        TtyBackend("/dev/ttyS0", baudrate=12345)


def test_missing_and_wrong_console_paths(tmp_path: Path) -> None:
    missing = tmp_path / "pts-link"
    with pytest.raises(ConsoleError, match="does not exist"):
        ConsoleSession.open_pty(missing, log_path=tmp_path / "a.log")
    with pytest.raises(ConsoleTimeoutError,
                       match=r"open timeout after 0\.2 s \(measured \d+\.\d\d s\)"):
        ConsoleSession.open_pty(missing, wait=0.2, log_path=tmp_path / "b.log")
    regular = tmp_path / "file"
    regular.write_text("")
    with pytest.raises(ConsoleError, match="is not a terminal"):
        ConsoleSession.open_tty(regular, log_path=tmp_path / "c.log")


def test_closed_session_refuses_io(open_guest) -> None:
    session: ConsoleSession = open_guest("pty")
    session.close()
    session.close()  # idempotent
    with pytest.raises(ConsoleClosedError):
        session.send("x")
    assert "closed" in repr(session)


def test_log_paths(tmp_path: Path) -> None:
    assert console_log_path(tmp_path, "vm1") == tmp_path / "vm1.log"
    assert console_log_path(tmp_path, "../kata/sandbox 1") == tmp_path / "kata_sandbox_1.log"
    assert console_log_path(tmp_path, "///") == tmp_path / "console.log"
    with serve_guest("pty", tmp_path) as backend:
        session = ConsoleSession(backend)
        try:
            assert session.log_path.name.startswith("acrnkit-console-")
            session.expect("login: ", timeout=10)
        finally:
            session.close()
            session.log_path.unlink()


def test_two_sessions_append_to_one_vm_log(tmp_path: Path) -> None:
    log = console_log_path(tmp_path / "logs", "vm1")
    with serve_guest("unix", tmp_path) as backend:
        with ConsoleSession(backend, log_path=log, name="vm1") as first:
            first.expect("login: ", timeout=10)
            assert first.name == "vm1"
        size = log.stat().st_size
        assert size > 0
    with serve_guest("stdio", tmp_path) as backend, \
            ConsoleSession(backend, log_path=log) as second:
        second.expect("login: ", timeout=10)
    assert log.stat().st_size > size
