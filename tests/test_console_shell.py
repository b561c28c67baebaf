"""Shell: boot, login, run, panic/oops/reboot detection, layered timeouts (acrnkit.console.shell).

The guest is the scripted serial console (acrnkit/console/scripted_guest.py) copied to tmp_path
and run with sys.executable over each backend: stdio, unix socket, pty path, tty path, pty fd.
Failures must come fast: a panic with a 30 s boot timeout is reported in a second or two.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from acrnkit.console import (
    CommandFailedError,
    CommandResult,
    ConsoleClosedError,
    ConsoleSession,
    Shell,
)
from acrnkit.console.testing import GUEST_KINDS, GuestKind, serve_guest
from acrnkit.errors import (
    ConfigError,
    ConsoleError,
    ConsoleTimeoutError,
    KernelPanicError,
    UnexpectedRebootError,
)

#: Generous layer timeouts: the failure tests assert they are not what ends the wait.
SLOW = 30.0
#: "Fast" for a failure: the settle time plus process start-up, far below SLOW.
FAST = 5.0

ShellFactory = Callable[..., Shell]


@pytest.fixture
def guest_shell(tmp_path: Path) -> Iterator[ShellFactory]:
    """``guest_shell(kind, *guest_args, **shell_kw) -> Shell``; closed and reaped after."""
    opened: list[tuple[ConsoleSession, object]] = []

    def factory(kind: GuestKind = "stdio", *args: str, **shell_kw: object) -> Shell:
        served = serve_guest(kind, tmp_path, *args)
        backend = served.__enter__()
        try:
            session = ConsoleSession(backend, log_path=tmp_path / "logs" / f"vm-{kind}.log")
        except BaseException:
            served.__exit__(None, None, None)
            raise
        opened.append((session, served))
        options: dict[str, object] = {"boot_timeout": SLOW, "login_timeout": SLOW,
                                      "command_timeout": SLOW, "await_login_timeout": 0.3}
        options.update(shell_kw)
        return Shell(session, **options)  # type: ignore[arg-type]

    yield factory
    for session, served in reversed(opened):
        session.close()
        served.__exit__(None, None, None)  # type: ignore[attr-defined]


def _log(shell: Shell) -> str:
    return Path(shell.log_path).read_bytes().decode()


# --- login --------------------------------------------------------------------------------------

LOGIN_CASES = {
    "plain": ((), {}),
    "kernel-messages": (("--kmsg",), {}),
    "ansi-bracketed-paste": (("--ansi",), {}),
    "prompt-before-listening": (("--silent",), {}),
    "password-kmsg-ansi": (("--password", "s3cret", "--kmsg", "--ansi"), {"password": "s3cret"}),
}


@pytest.mark.parametrize("case", sorted(LOGIN_CASES))
@pytest.mark.parametrize("kind", GUEST_KINDS)
def test_login_and_run_on_every_backend(kind: GuestKind, case: str, guest_shell) -> None:
    args, shell_kw = LOGIN_CASES[case]
    shell: Shell = guest_shell(kind, *args, **shell_kw)
    assert shell.wait_boot() == "login"
    shell.login()
    assert shell.logged_in
    assert shell.run("echo hello") == ("hello\n", 0)
    assert shell.run("cat /proc/cmdline") == ("console=ttyS0 root=/dev/vda rw\n", 0)
    assert shell.run("false") == CommandResult("", 1)
    if case == "prompt-before-listening":
        assert shell.nudges >= 1  # nothing came until a newline was sent
    else:
        assert shell.nudges == 0


def test_login_without_wait_boot_covers_the_boot(guest_shell) -> None:
    shell: Shell = guest_shell("unix", "--kmsg", "--ansi")
    shell.login()
    assert shell.run("true") == ("", 0)


def test_autologin_console(guest_shell) -> None:
    shell: Shell = guest_shell("pty", "--autologin", login_prompt=None)
    assert shell.wait_boot() == "shell"
    shell.login()
    assert shell.run("echo up") == ("up\n", 0)


def test_a_prompt_in_the_boot_log_is_not_trusted_without_the_marker(guest_shell) -> None:
    # "$ " and "# " at the end of lines would fool a plain prompt match; the echo check does not.
    shell: Shell = guest_shell("stdio", prompt=r"[#$] |firmware")
    shell.login()
    assert shell.run("echo ok") == ("ok\n", 0)


def test_configurable_prompt_and_login_commands(guest_shell) -> None:
    shell: Shell = guest_shell("fd", "--ansi", prompt=r"root@guest:~# ",
                               login_prompt=r"guest login:", login_commands=("true",))
    shell.wait_for_shell()
    assert shell.run("echo ansi gone") == ("ansi gone\n", 0)


def test_no_nudge_while_the_guest_thinks_about_an_answer(guest_shell) -> None:
    # A newline sent while the getty is slow would become an empty password.
    shell: Shell = guest_shell("unix", "--password", "pw", "--login-delay", "1.0",
                               password="pw", await_login_timeout=0.2)
    shell.login()
    assert shell.nudges == 0
    assert shell.run("true") == ("", 0)


def test_login_incorrect_and_missing_password(guest_shell) -> None:
    wrong: Shell = guest_shell("stdio", "--password", "right", password="wrong")
    with pytest.raises(ConsoleError, match="login incorrect for 'root'") as info:
        wrong.login()
    assert "Login incorrect" in info.value.tail
    nopass: Shell = guest_shell("stdio", "--password", "right")
    with pytest.raises(ConsoleError, match="password prompt for 'root' but no password"):
        nopass.login()


def test_bad_configuration_is_rejected(guest_shell) -> None:
    with pytest.raises(ConfigError, match="prompt"):
        guest_shell("stdio", prompt="(unclosed")
    with pytest.raises(ConfigError, match="boot_timeout"):
        guest_shell("stdio", boot_timeout=0)


# --- run ----------------------------------------------------------------------------------------

@pytest.fixture
def logged_in(guest_shell) -> Shell:
    shell: Shell = guest_shell("stdio", "--kmsg", "--ansi", "--cmdline",
                               "console=ttyS0 root=/dev/vda rw quiet acrn.mark='x y'")
    shell.wait_for_shell()
    return shell


@pytest.mark.parametrize(("cmd", "expected"), [
    ("echo hello", ("hello\n", 0)),
    ("true", ("", 0)),
    ("false", ("", 1)),
    ("echo -n no-newline", ("no-newline", 0)),
    ("seq 3", ("1\n2\n3\n", 0)),
    ("echo a # a comment", ("a\n", 0)),
    ("echo \"it's\" 'a \"quote\"'", ("it's a \"quote\"\n", 0)),
    ("false; echo $?", ("1\n", 0)),
    ("false || echo recovered", ("recovered\n", 0)),
    ("nope", ("sh: nope: not found\n", 127)),
    ("cat /proc/cmdline", ("console=ttyS0 root=/dev/vda rw quiet acrn.mark='x y'\n", 0)),
    ("echo 'unterminated", ("sh: syntax error: unterminated quoted string\n", 2)),
])
def test_run_returns_exact_output_and_status(logged_in: Shell, cmd: str,
                                             expected: tuple[str, int]) -> None:
    assert logged_in.run(cmd) == expected


def test_run_many_commands_with_fresh_markers(logged_in: Shell) -> None:
    for i in range(20):
        assert logged_in.run(f"echo {i}") == (f"{i}\n", 0)
    log = _log(logged_in)
    markers = re.findall(r"echo '([A-Z]{6})''([A-Z]{6})'", log)
    assert len(set(markers)) == len(markers) >= 40


def test_run_check(logged_in: Shell) -> None:
    assert logged_in.run_check("echo fine") == "fine\n"
    with pytest.raises(CommandFailedError) as info:
        logged_in.run_check("cat /nonexistent")
    err = info.value
    assert err.exit_status == 1 and err.command == "cat /nonexistent"
    assert "No such file or directory" in str(err) and err.log_path == logged_in.log_path


def test_output_that_looks_like_a_panic_or_a_boot_is_not_one(logged_in: Shell) -> None:
    out, status = logged_in.run("echo Kernel panic - not syncing: only words; echo Oops: 0002")
    assert (out, status) == ("Kernel panic - not syncing: only words\nOops: 0002\n", 0)
    out, status = logged_in.run("dmesg")
    assert status == 0 and "Linux version 5.15.0-acrn" in out
    assert logged_in.run("echo still fine") == ("still fine\n", 0)


def test_shell_expect_matches_clean_text(logged_in: Shell) -> None:
    # The prompt after the output is a window title, bracketed paste on and colours.
    logged_in.sendline("echo xyz")
    result = logged_in.expect(r"xyz\n(?P<prompt>root@guest:~# )")
    assert result.match is not None and result.match["prompt"] == "root@guest:~# "
    assert result.before.startswith("echo xyz\n")
    assert "\x1b" not in result.before + result.after


def test_the_log_contains_the_session(logged_in: Shell) -> None:
    logged_in.run("echo logged-output")
    log = _log(logged_in)
    for piece in ("Linux version", "t login: ", "\x1b[?2004h", "logged-output\r\n",
                  "random: crng init done"):
        assert piece in log


# --- failures: fast and typed -------------------------------------------------------------------

def _assert_fast(err: ConsoleError, shell: Shell, started: float) -> None:
    took = time.monotonic() - started
    assert took < FAST, f"took {took:.2f} s"
    assert err.elapsed is not None and err.elapsed <= took
    assert err.log_path == shell.log_path
    assert shell.log_path in str(err)


@pytest.mark.parametrize("kind", ["stdio", "unix", "pty"])
def test_boot_panic_is_reported_fast_with_the_trace(kind: GuestKind, guest_shell) -> None:
    shell: Shell = guest_shell(kind, "--scenario", "panic")
    started = time.monotonic()
    with pytest.raises(KernelPanicError) as info:
        shell.wait_boot()
    err = info.value
    _assert_fast(err, shell, started)
    assert str(err).startswith("kernel panic during boot after ")
    assert "Kernel panic - not syncing: VFS: Unable to mount root fs" in str(err)
    assert "Kernel panic - not syncing" in err.tail
    assert "---[ end Kernel panic" in err.tail  # the rest of the trace was collected


def test_boot_oops(guest_shell) -> None:
    shell: Shell = guest_shell("fd", "--scenario", "oops")
    started = time.monotonic()
    with pytest.raises(KernelPanicError, match="kernel oops during boot") as info:
        shell.wait_boot()
    _assert_fast(info.value, shell, started)
    assert "Oops: 0002 [#1]" in info.value.tail


def test_panic_while_logging_in(guest_shell) -> None:
    shell: Shell = guest_shell("stdio", "--scenario", "panic")
    started = time.monotonic()
    with pytest.raises(KernelPanicError, match="kernel panic during login") as info:
        shell.login()
    _assert_fast(info.value, shell, started)


@pytest.mark.parametrize(("scenario", "line"), [
    ("reboot-loop", "reboot: Restarting system"),
    ("silent-reboot", "Linux version 5.15.0-acrn"),
])
def test_unexpected_reboot(scenario: str, line: str, guest_shell) -> None:
    shell: Shell = guest_shell("unix", "--scenario", scenario)
    started = time.monotonic()
    with pytest.raises(UnexpectedRebootError) as info:
        shell.wait_boot()
    err = info.value
    _assert_fast(err, shell, started)
    assert str(err).startswith("unexpected reboot during boot after ")
    assert line in str(err)
    assert "Linux version" in err.tail


def test_panic_during_a_command(logged_in: Shell) -> None:
    started = time.monotonic()
    with pytest.raises(KernelPanicError, match="kernel panic during command") as info:
        logged_in.run("echo c > /proc/sysrq-trigger")
    _assert_fast(info.value, logged_in, started)
    assert "sysrq triggered crash" in info.value.tail
    # Sticky: the shell does not pretend the guest is fine afterwards.
    with pytest.raises(KernelPanicError):
        logged_in.run("true", timeout=SLOW)


def test_intentional_reboot(guest_shell) -> None:
    shell: Shell = guest_shell("stdio")
    shell.wait_for_shell()
    shell.sendline("reboot")
    shell.expect_reboot()
    assert shell.wait_boot() == "login"
    shell.login()
    assert shell.run("echo back") == ("back\n", 0)


# --- layered timeouts ---------------------------------------------------------------------------

def _measured(pattern: str, err: ConsoleError) -> float:
    """The measured seconds in a timeout message that must match ``pattern`` exactly."""
    found = re.fullmatch(pattern, err.args[0])
    assert found, err.args[0]
    measured = float(found[1])
    assert err.elapsed is not None and abs(err.elapsed - measured) < 0.01
    return measured


def test_boot_timeout_reports_the_measured_duration(guest_shell) -> None:
    shell: Shell = guest_shell("tty", "--scenario", "hang")
    with pytest.raises(ConsoleTimeoutError) as info:
        shell.wait_boot(timeout=1.0)
    err = info.value
    assert 1.0 <= _measured(r"boot timeout after 1\.0 s \(measured (\d+\.\d\d) s\) waiting for "
                            r"'login:'", err) < 1.0 + 1.5
    assert "Run /sbin/init" in err.tail
    assert shell.nudges >= 1  # the idle console was poked, in case the prompt was missed


def test_login_timeout_reports_the_measured_duration(guest_shell) -> None:
    shell: Shell = guest_shell("stdio", "--scenario", "login-hang")
    shell.wait_boot()
    with pytest.raises(ConsoleTimeoutError) as info:
        shell.login(timeout=0.8)
    assert 0.8 <= _measured(r"login timeout after 0\.8 s \(measured (\d+\.\d\d) s\) waiting for "
                            r"'\[#\$\] '", info.value) < 0.8 + 1.5


def test_command_timeout_reports_the_measured_duration(logged_in: Shell) -> None:
    with pytest.raises(ConsoleTimeoutError) as info:
        logged_in.run("sleep 5", timeout=0.5)
    assert 0.5 <= _measured(r"command timeout after 0\.5 s \(measured (\d+\.\d\d) s\) waiting "
                            r"for end of command 'sleep 5'", info.value) < 0.5 + 1.5


# --- power off ----------------------------------------------------------------------------------

def test_poweroff_waits_for_eof_and_returns_the_exit_status(guest_shell) -> None:
    shell: Shell = guest_shell("stdio")
    shell.wait_for_shell()
    assert shell.poweroff(timeout=10) == 0
    assert shell.session.eof and not shell.logged_in
    assert "reboot: Power down" in _log(shell)
    with pytest.raises(ConsoleClosedError):
        shell.run("true")


@pytest.mark.parametrize("kind", ["unix", "pty", "fd"])
def test_poweroff_on_other_backends(kind: GuestKind, guest_shell) -> None:
    shell: Shell = guest_shell(kind)
    shell.wait_for_shell()
    assert shell.poweroff(timeout=10) is None
    assert shell.session.eof
