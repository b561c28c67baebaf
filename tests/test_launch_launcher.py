"""Launcher: process group, readiness, stop escalation, reaping (acrnkit.launch.launcher).

The child is a small Python stand-in for acrn-dm written to tmp_path: it serves the manager
socket from a single-threaded selector loop, the way a fake acrn-dm would.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
import time
from pathlib import Path

import pytest

from acrnkit.errors import BinaryNotFoundError, ConfigError, LaunchError, ReadyTimeoutError
from acrnkit.launch import (
    Delay,
    Launcher,
    ManagerClient,
    ManagerSocketReady,
    OutputPattern,
    socket_path,
)

CHILD = r'''
import argparse, os, selectors, signal, subprocess, sys, time
from acrnkit.launch.mngr import ManagerServer, default_run_dir

ap = argparse.ArgumentParser()
ap.add_argument("--vm")
ap.add_argument("--on-stop", choices=["exit", "refuse"], default="exit")
ap.add_argument("--ignore-sigint", action="store_true")
ap.add_argument("--grandchild")
ap.add_argument("--exit-early", type=int)
ap.add_argument("--echo-stdin", action="store_true")
ap.add_argument("--delay", type=float, default=0.0)
args = ap.parse_args()

if args.exit_early is not None:
    print("boom: cannot open /dev/acrn_hsm", file=sys.stderr, flush=True)
    sys.exit(args.exit_early)

done = []
if args.ignore_sigint:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
else:
    def on_sigint(signum, frame):
        print("got SIGINT", flush=True)
        done.append("sigint")
    signal.signal(signal.SIGINT, on_sigint)

if args.grandchild:
    code = "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(600)"
    kid = subprocess.Popen([sys.executable, "-c", code])
    with open(args.grandchild, "w") as f:
        f.write(str(kid.pid))

if args.echo_stdin:
    line = sys.stdin.readline()
    print("stdin said " + line.strip(), flush=True)

time.sleep(args.delay)
print("env " + os.environ.get("ACRNKIT_RUN_DIR", "-") + " " + os.environ.get("EXTRA", "-"),
      flush=True)
print("to stderr", file=sys.stderr, flush=True)

def handle(msg):
    if msg.msgid == 3:
        print("DM_STOP force=%d" % msg.force, flush=True)
        if args.on_stop == "exit":
            done.append("stop")
            return msg.reply_err(0)
        return msg.reply_err(-1)
    if msg.msgid == 6:
        return msg.reply_state(0)
    return msg.reply_err(-1)

server = None
sel = selectors.DefaultSelector()
if args.vm:
    server = ManagerServer.for_vm(default_run_dir(), args.vm, handle)
    sel.register(server, selectors.EVENT_READ)
print("ready", flush=True)
try:
    while not done:
        for key, _ in sel.select(0.05):
            key.fileobj.handle_ready()
finally:
    if server is not None:
        server.close()
print("bye " + done[0], flush=True)
'''


@pytest.fixture
def child(tmp_path: Path) -> Path:
    script = tmp_path / "fake_dm.py"
    script.write_text(CHILD)
    return script


def _gone(pid: int) -> bool:
    """True once ``pid`` is dead: absent from /proc, or a zombie left for init to reap."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return True
    return fields[0] in ("Z", "X")


def _assert_reaped(pid: int) -> None:
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    assert _gone(pid)


def _launcher(child: Path, tmp_path: Path, *extra: str, **kwargs: object) -> Launcher:
    return Launcher(
        [sys.executable, str(child), *extra],
        run_dir=tmp_path / "run",
        log_dir=tmp_path / "logs",
        **kwargs,  # type: ignore[arg-type]
    )


def test_ready_on_manager_socket_then_stop_by_dm_stop(child: Path, tmp_path: Path) -> None:
    launcher = _launcher(child, tmp_path, "--vm", "vm1", "--delay", "0.2",
                         ready=ManagerSocketReady("vm1"), ready_timeout=10)
    with launcher:
        pid = launcher.pid
        assert pid is not None
        sock = socket_path(tmp_path / "run", "vm1", pid)
        assert stat.S_ISSOCK(sock.lstat().st_mode)
        assert os.getpgid(pid) == pid  # it leads its own process group
        assert os.getsid(pid) == pid
        assert launcher.returncode is None
        assert ManagerClient(tmp_path / "run", "vm1", "3.2").query() == 0
        assert launcher.stop(grace=5) == 0
        assert launcher.stop_method == "manager"
    assert "DM_STOP force=1" in launcher.read_output("stdout")
    assert "bye stop" in launcher.read_output("stdout")
    assert not sock.exists()
    _assert_reaped(pid)


def test_stop_falls_back_to_sigint(child: Path, tmp_path: Path) -> None:
    launcher = _launcher(child, tmp_path, "--vm", "vm1", "--on-stop", "refuse",
                         ready=ManagerSocketReady("vm1"))
    with launcher:
        pid = launcher.pid
        assert pid is not None
        started = time.monotonic()
        assert launcher.stop(grace=3) == 0
        assert launcher.stop_method == "sigint"
        # The DM answered err=-1, so stop() did not sit out a grace period before SIGINT.
        assert time.monotonic() - started < 2.5
    out = launcher.read_output()
    assert out.index("DM_STOP force=1") < out.index("got SIGINT")
    assert "bye sigint" in out
    _assert_reaped(pid)


def test_sigkill_after_grace_for_a_child_ignoring_sigint(child: Path, tmp_path: Path) -> None:
    launcher = _launcher(child, tmp_path, "--vm", "vm1", "--on-stop", "refuse",
                         "--ignore-sigint", ready=ManagerSocketReady("vm1"))
    with launcher:
        pid = launcher.pid
        assert pid is not None
        started = time.monotonic()
        assert launcher.stop(grace=0.3) == -signal.SIGKILL
        elapsed = time.monotonic() - started
        assert launcher.stop_method == "sigkill"
        assert 0.3 <= elapsed < 5  # STOP refused, then one grace after SIGINT
    _assert_reaped(pid)
    # A SIGKILLed DM cannot clean up: its socket stays, as with the real acrn-dm.
    stale = socket_path(tmp_path / "run", "vm1", pid)
    assert stale.exists()
    stale.unlink()


def test_sigint_without_a_manager_socket(child: Path, tmp_path: Path) -> None:
    with _launcher(child, tmp_path, ready=OutputPattern(r"^ready$")) as launcher:
        assert launcher.manager_socket() is None
        assert launcher.stop(grace=2) == 0
        assert launcher.stop_method == "sigint"


def test_accepted_stop_that_does_not_exit_escalates(child: Path, tmp_path: Path) -> None:
    # A DM that says err=0 to STOP but keeps running gets SIGINT after one grace period.
    script = tmp_path / "lying_dm.py"
    script.write_text(CHILD.replace('done.append("stop")', 'pass'))
    launcher = _launcher(script, tmp_path, "--vm", "vm1", ready=ManagerSocketReady("vm1"))
    with launcher:
        started = time.monotonic()
        assert launcher.stop(grace=0.4) == 0
        assert launcher.stop_method == "sigint"
        assert time.monotonic() - started >= 0.4
    out = launcher.read_output()
    assert out.index("DM_STOP force=1") < out.index("got SIGINT")


def test_use_manager_false_skips_dm_stop(child: Path, tmp_path: Path) -> None:
    with _launcher(child, tmp_path, "--vm", "vm1", ready=ManagerSocketReady("vm1")) as launcher:
        launcher.stop(grace=2, use_manager=False)
        assert launcher.stop_method == "sigint"
    assert "DM_STOP" not in launcher.read_output()


def test_grandchildren_die_with_the_group(child: Path, tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    with _launcher(child, tmp_path, "--grandchild", str(pidfile),
                   ready=OutputPattern("ready")) as launcher:
        grandchild = int(pidfile.read_text())
        assert os.getpgid(grandchild) == launcher.pid
        _wait_until_ignoring_sigint(grandchild)
        # The child exits on SIGINT; the grandchild ignores it and must still be killed.
        launcher.stop(grace=2)
        assert launcher.stop_method == "sigint"
    deadline = time.monotonic() + 5
    while not _gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _gone(grandchild)


def _wait_until_ignoring_sigint(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigIgn:") and int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)):
                return
        time.sleep(0.02)
    raise AssertionError(f"pid {pid} never ignored SIGINT")


def test_exit_before_ready_fails_fast_with_tails(child: Path, tmp_path: Path) -> None:
    launcher = _launcher(child, tmp_path, "--exit-early", "3",
                         ready=ManagerSocketReady("vm1"), ready_timeout=30)
    started = time.monotonic()
    with pytest.raises(LaunchError) as info:
        launcher.start()
    assert time.monotonic() - started < 10
    error = info.value
    assert type(error) is LaunchError
    assert error.returncode == 3
    assert "exited with status 3 before it was ready" in str(error)
    assert "manager socket mngr/vm1.monitor.<pid>.socket" in str(error)
    assert "\n" not in str(error)
    assert "boom: cannot open /dev/acrn_hsm" in error.stderr_tail
    assert error.argv == (sys.executable, str(launcher.argv[1]), "--exit-early", "3")
    assert launcher.pid is not None
    _assert_reaped(launcher.pid)


def test_ready_timeout_stops_the_child(child: Path, tmp_path: Path) -> None:
    launcher = _launcher(child, tmp_path, ready=ManagerSocketReady("vm1"), ready_timeout=1.5)
    with pytest.raises(ReadyTimeoutError) as info:
        launcher.start()
    assert "not ready after 1.5 s: still waiting for manager socket" in str(info.value)
    assert info.value.returncode is None
    assert launcher.returncode is not None  # stopped and reaped by start()
    assert launcher.pid is not None
    _assert_reaped(launcher.pid)


def test_output_pattern_on_stderr_and_delay(child: Path, tmp_path: Path) -> None:
    launcher = _launcher(child, tmp_path)
    with launcher:
        launcher.wait_ready(OutputPattern("^to stderr$", stream="stderr"), Delay(0.2), timeout=10)
        assert launcher.elapsed >= 0.2
    assert launcher.returncode is not None


def test_probe_validation() -> None:
    with pytest.raises(ConfigError) as info:
        OutputPattern("x", stream="stdin")  # type: ignore[arg-type]
    assert info.value.field == "stream"
    with pytest.raises(ConfigError) as info:
        OutputPattern("(")
    assert info.value.field == "regex"
    with pytest.raises(ConfigError):
        Delay(-1)


def test_logs_env_run_dir_and_stdin(child: Path, tmp_path: Path) -> None:
    launcher = _launcher(child, tmp_path, "--echo-stdin", env={"EXTRA": "yes"}, stdin_pipe=True)
    with launcher:
        assert launcher.stdin is not None
        launcher.stdin.write(b"hello\n")
        launcher.stdin.flush()
        launcher.wait_ready(OutputPattern("^ready$"), timeout=10)
    assert launcher.stdout_path == tmp_path / "logs" / "stdout.log"
    assert launcher.stderr_path == tmp_path / "logs" / "stderr.log"
    out = launcher.stdout_path.read_text()
    assert "stdin said hello" in out
    assert f"env {tmp_path / 'run'} yes" in out
    assert launcher.stderr_path.read_text() == "to stderr\n"


def test_owned_log_dir_is_removed_on_close(child: Path, tmp_path: Path) -> None:
    launcher = Launcher([sys.executable, str(child)], run_dir=tmp_path / "run",
                        ready=OutputPattern("ready"))
    with launcher:
        log_dir = launcher.log_dir
        assert log_dir is not None and log_dir.is_dir()
    assert not log_dir.exists()


def test_exit_on_its_own_is_reaped(child: Path, tmp_path: Path) -> None:
    launcher = _launcher(child, tmp_path, "--exit-early", "0")
    launcher.start()
    assert launcher.wait(10) == 0
    assert launcher.stop_method == "exited"
    assert launcher.stop() == 0  # already gone: nothing to do
    assert launcher.pid is not None
    _assert_reaped(launcher.pid)


@pytest.mark.parametrize("kind", ["missing", "not-executable", "directory", "not-on-path"])
def test_missing_binary_is_a_one_line_error(tmp_path: Path, kind: str) -> None:
    if kind == "missing":
        exe = str(tmp_path / "no" / "acrn-dm")
    elif kind == "not-executable":
        exe = str(tmp_path / "acrn-dm")
        Path(exe).write_text("#!/bin/sh\n")
    elif kind == "directory":
        exe = str(tmp_path)
    else:
        exe = "acrn-dm-definitely-not-installed"
    launcher = Launcher([exe, "vm1"], log_dir=tmp_path / "logs")
    with pytest.raises(BinaryNotFoundError) as info:
        launcher.start()
    assert exe in str(info.value)
    assert "\n" not in str(info.value)
    assert launcher.pid is None
    assert launcher.stop() is None


def test_bad_interpreter_is_reported_as_binary_not_found(tmp_path: Path) -> None:
    script = tmp_path / "acrn-dm"
    script.write_text("#!/nonexistent/interpreter\n")
    script.chmod(0o755)
    with pytest.raises(BinaryNotFoundError, match="cannot execute"):
        Launcher([str(script)], log_dir=tmp_path / "logs").start()
    launcher = Launcher([str(script)])
    with pytest.raises(BinaryNotFoundError):
        launcher.start()
    assert launcher.log_dir is None  # the temp dir it made for the logs is gone again


@pytest.mark.parametrize("argv", ["acrn-dm -m 1G vm1", [], b"acrn-dm"])
def test_argv_must_be_a_list(argv: object) -> None:
    with pytest.raises(ConfigError) as info:
        Launcher(argv)  # type: ignore[arg-type]
    assert info.value.field == "argv"


def test_run_dir_conflicting_with_env_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        Launcher(["true"], run_dir=tmp_path, env={"ACRNKIT_RUN_DIR": "/elsewhere"})
    assert info.value.field == "run_dir"


def test_start_twice_is_refused(child: Path, tmp_path: Path) -> None:
    launcher = _launcher(child, tmp_path, ready=OutputPattern("ready"))
    with launcher, pytest.raises(LaunchError, match="already started"):
        launcher.start()
