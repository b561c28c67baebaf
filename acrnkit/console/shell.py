"""Boot, log in and run commands on a guest console, failing fast on panics and reboots.

:class:`Shell` drives a :class:`~acrnkit.console.session.ConsoleSession`. It reads the console
itself, cleans what it reads (escape sequences and bracketed paste stripped, ``\\r\\n`` made
``\\n``, see :mod:`acrnkit.console.text`) and matches on the clean text:

* prompts (the shell prompt, ``login:``, ``Password:``) count only when they are the last thing
  on the console, after kernel messages (``[    3.141592] ...`` lines) are taken out: a kernel
  message printed into or after the prompt does not hide it;
* when the console stays idle for ``await_login_timeout`` s while waiting for the boot or the
  login, a newline is sent (as labgrid's ``_await_login`` does): a getty or shell that printed
  its prompt before anyone listened prints it again;
* a shell prompt is trusted only after ``echo`` of a random marker came back, so a ``#`` in a
  boot log or a motd is never mistaken for the shell;
* while waiting, every complete line is checked for ``Kernel panic``, ``Oops`` and a reboot (a
  second ``Linux version`` banner, or ``reboot: Restarting system``). The guest is then given
  ``failure_settle`` s of quiet to finish its trace, and a
  :class:`~acrnkit.errors.KernelPanicError` or :class:`~acrnkit.errors.UnexpectedRebootError`
  is raised with the console tail and the log path. During :meth:`Shell.run`, such a line inside
  the command's own output (``dmesg`` prints ``Linux version``) is forgiven if the command's end
  marker follows it; if the console goes quiet instead, it is a real panic;
* timeouts are layered: boot (to the login prompt), login (to a verified shell prompt) and
  command (to the end marker and the prompt after it). Each error names its layer, its timeout
  and the measured duration: ``boot timeout after 30.0 s (measured 30.02 s) waiting for
  'login:'``.

``run`` frames the command between two random markers, as labgrid's ShellDriver does::

    echo 'ABCD''EFGH'; eval '<cmd>'; echo 'IJKL''MNOP' $?

The console's echo of that line contains ``'ABCD''EFGH'``, never ``ABCDEFGH``, so only the
shell's output can match; ``eval`` keeps a ``#`` comment or a syntax error in ``<cmd>`` from
eating the end marker. The guest shell needs ``;`` lists, ``eval`` and ``$?``.

A :class:`Shell` owns the read side of its session: text it has read is in its own buffer, so
mix :meth:`Shell.expect` (clean text) rather than ``session.expect`` (raw) with shell calls.
"""

from __future__ import annotations

import re
import secrets
import shlex
import string
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from acrnkit.errors import (
    ConfigError,
    ConsoleError,
    ConsoleTimeoutError,
    KernelPanicError,
    UnexpectedRebootError,
)

from .session import ConsoleClosedError, ConsoleSession, ExpectResult, SpawnBackend, _fmt_seconds
from .text import AnsiStripper

__all__ = [
    "DEFAULT_BOOT_BANNER",
    "DEFAULT_KERNEL_MESSAGE",
    "DEFAULT_OOPS_PATTERNS",
    "DEFAULT_PANIC_PATTERNS",
    "DEFAULT_PROMPT",
    "DEFAULT_REBOOT_PATTERNS",
    "CommandFailedError",
    "CommandResult",
    "Shell",
]

#: ``#`` or ``$`` and a space, as the last thing on the console.
DEFAULT_PROMPT = r"[#$] "
DEFAULT_PANIC_PATTERNS: tuple[str, ...] = (r"Kernel panic\b",)
#: ``Oops: 0002 [#1] SMP``, ``Oops: general protection fault``, arm64 ``Internal error: Oops:``.
DEFAULT_OOPS_PATTERNS: tuple[str, ...] = (r"\bOops(?::| -)",)
#: The first line the kernel prints; seeing it a second time means the guest rebooted.
DEFAULT_BOOT_BANNER = r"Linux version \d"
DEFAULT_REBOOT_PATTERNS: tuple[str, ...] = (r"reboot: Restarting system",)
#: A printk line with its timestamp, up to its end of line: taken out before prompts match.
DEFAULT_KERNEL_MESSAGE = r"\[\s*\d+\.\d+\][^\n]*\n"

Stage = Literal["boot", "login", "command", "expect", "poweroff"]
_WantKind = Literal["prompt", "tail", "stream"]
_FailureKind = Literal["panic", "oops", "reboot"]

#: How much of the end of the pending text prompts and "tail" patterns look at.
_TAIL_WINDOW = 4096
#: Unconsumed text kept once it is this far behind (scanned and consumed).
_TRIM_AT = 1 << 20
#: Longest line quoted in an error message.
_LINE_MAX = 240


class CommandResult(NamedTuple):
    """What :meth:`Shell.run` returns: the output (``\\n`` line ends) and the exit status."""

    output: str
    exit_status: int


class CommandFailedError(ConsoleError):
    """:meth:`Shell.run_check`: the command exited with a non-zero status."""

    def __init__(
        self, message: str, *, command: str, exit_status: int, output: str, tail: str = "",
        log_path: str | None = None, elapsed: float | None = None,
    ) -> None:
        self.command = command
        self.exit_status = exit_status
        self.output = output
        super().__init__(message, tail=tail, log_path=log_path, elapsed=elapsed)


@dataclass(frozen=True)
class _Want:
    name: str
    regex: re.Pattern[str]
    kind: _WantKind
    #: For "stream" wants: a literal the match must contain, found cheaply before the regex runs.
    literal: str | None = None


@dataclass(frozen=True)
class _Hit:
    name: str
    index: int
    before: str
    match: re.Match[str] | None


@dataclass(frozen=True)
class _Failure:
    kind: _FailureKind
    line: str
    start: int  # absolute offset in the clean text
    seen: float  # monotonic time it was read


class _Text:
    """The clean console text: absolute offsets, what is consumed, what is scanned."""

    def __init__(self) -> None:
        self.buf = ""
        self.base = 0  # absolute offset of buf[0]
        self.pos = 0  # absolute: everything before is consumed by matches
        self.scanned = 0  # absolute: everything before is checked for panics and reboots

    @property
    def end(self) -> int:
        return self.base + len(self.buf)

    def pending(self) -> str:
        return self.buf[self.pos - self.base:]

    def append(self, text: str) -> None:
        self.buf += text

    def consume(self, upto: int) -> None:
        self.pos = max(self.pos, min(upto, self.end))
        keep = min(self.pos, self.scanned)
        if keep - self.base >= _TRIM_AT:
            self.buf = self.buf[keep - self.base:]
            self.base = keep


def _marker() -> tuple[str, str]:
    """Two halves of a random marker (letters only, so a status never runs into it)."""
    letters = string.ascii_uppercase
    return ("".join(secrets.choice(letters) for _ in range(6)),
            "".join(secrets.choice(letters) for _ in range(6)))


def _compile(field: str, pattern: str, suffix: str = "") -> re.Pattern[str]:
    try:
        return re.compile(f"(?:{pattern}){suffix}" if suffix else pattern)
    except re.error as exc:
        raise ConfigError(field, pattern, f"not a regular expression: {exc}") from exc


class Shell:
    """A login shell on a console session; see the module docstring for the behaviour.

    ``prompt``, ``login_prompt``, ``password_prompt`` and ``login_incorrect`` are regular
    expressions. ``login_prompt=None`` is a console that boots straight into a shell. A
    ``password`` of None means the login needs none (a password prompt is then an error).

    ``login_commands`` run (checked) after every login, e.g. ``("dmesg -n 1",)`` to keep kernel
    messages out of command output. ``kernel_message`` is what is taken out before prompts match.
    """

    def __init__(
        self,
        session: ConsoleSession,
        *,
        prompt: str = DEFAULT_PROMPT,
        login_prompt: str | None = r"login:",
        username: str = "root",
        password: str | None = None,
        password_prompt: str = r"[Pp]assword:",
        login_incorrect: str = r"Login incorrect",
        boot_timeout: float = 120.0,
        login_timeout: float = 60.0,
        command_timeout: float = 30.0,
        await_login_timeout: float = 2.0,
        max_login_attempts: int = 3,
        panic_patterns: Sequence[str] = DEFAULT_PANIC_PATTERNS,
        oops_patterns: Sequence[str] = DEFAULT_OOPS_PATTERNS,
        boot_banner: str | None = DEFAULT_BOOT_BANNER,
        reboot_patterns: Sequence[str] = DEFAULT_REBOOT_PATTERNS,
        kernel_message: str | None = DEFAULT_KERNEL_MESSAGE,
        failure_settle: float = 0.5,
        login_commands: Sequence[str] = (),
        tail_lines: int = 30,
    ) -> None:
        for field, value in (("boot_timeout", boot_timeout), ("login_timeout", login_timeout),
                             ("command_timeout", command_timeout),
                             ("await_login_timeout", await_login_timeout)):
            if not value > 0:
                raise ConfigError(field, value, "must be a positive number of seconds")
        if failure_settle < 0:
            raise ConfigError("failure_settle", failure_settle, "must not be negative")
        self.session = session
        self.prompt = prompt
        self.login_prompt = login_prompt
        self.username = username
        self.password = password
        self.boot_timeout = boot_timeout
        self.login_timeout = login_timeout
        self.command_timeout = command_timeout
        self.await_login_timeout = await_login_timeout
        self.max_login_attempts = max_login_attempts
        self.failure_settle = failure_settle
        self.login_commands = tuple(login_commands)
        self.tail_lines = tail_lines
        #: Newlines sent because the console was idle (a prompt printed before anyone listened).
        self.nudges = 0

        end = r"[ \t]*\Z"
        self._prompt_re = _compile("prompt", prompt, end)
        self._login_re = (_compile("login_prompt", login_prompt, end)
                          if login_prompt is not None else None)
        self._password_re = _compile("password_prompt", password_prompt, end)
        self._incorrect_re = _compile("login_incorrect", login_incorrect)
        self._kmsg_re = (_compile("kernel_message", kernel_message)
                         if kernel_message is not None else None)
        self._classes: list[tuple[str, re.Pattern[str]]] = (
            [("panic", _compile("panic_patterns", p)) for p in panic_patterns]
            + [("oops", _compile("oops_patterns", p)) for p in oops_patterns]
            + ([("banner", _compile("boot_banner", boot_banner))] if boot_banner else [])
            + [("reboot", _compile("reboot_patterns", p)) for p in reboot_patterns])

        self._text = _Text()
        self._stripper = AnsiStripper()
        self._failures: list[_Failure] = []
        self._last_data = time.monotonic()
        self._banners = 0
        self._booted = False
        self._reboot_expected = False
        self._at_login_prompt = False
        self._at_shell_prompt = False
        self._logged_in = False

    # -- public API ----------------------------------------------------------------------------

    @property
    def log_path(self) -> str:
        return str(self.session.log_path)

    @property
    def logged_in(self) -> bool:
        return self._logged_in

    def send(self, data: str) -> int:
        return self.session.send(data)

    def sendline(self, line: str = "") -> int:
        return self.session.sendline(line)

    def wait_boot(self, timeout: float | None = None, *, nudge: bool = True) -> str:
        """Wait for the login prompt (the shell prompt if ``login_prompt`` is None).

        Returns ``"login"`` or ``"shell"``; :meth:`login` continues from there. When the console
        is idle for ``await_login_timeout`` s a newline is sent (``nudge=False`` turns that off,
        for a bootloader that a key press would stop); after a nudge a shell prompt is accepted
        too (the guest was already logged in).
        """
        limit = self.boot_timeout if timeout is None else timeout
        started = time.monotonic()
        what = repr(self.login_prompt if self.login_prompt is not None else self.prompt)
        nudged = False
        while True:
            wants: list[_Want] = []
            if self._login_re is not None:
                wants.append(_Want("login", self._login_re, "prompt"))
            if self._login_re is None or nudged:
                wants.append(_Want("shell", self._prompt_re, "prompt"))
            hit = self._wait(wants, stage="boot", what=what, timeout=limit, started=started,
                             idle=self.await_login_timeout if nudge else None)
            if hit is None:
                self._nudge()
                nudged = True
                continue
            self._booted = True
            self._at_login_prompt = hit.name == "login"
            self._at_shell_prompt = hit.name == "shell"
            return hit.name

    def login(self, timeout: float | None = None) -> None:
        """Log in and verify the shell answers; also waits out the boot if it is still going.

        Answers ``login:`` with the username and ``Password:`` with the password, nudges an
        idle console, then checks the shell with an ``echo`` of a random marker. Raises
        :class:`~acrnkit.errors.ConsoleTimeoutError` (login layer),
        :class:`~acrnkit.errors.KernelPanicError`, :class:`~acrnkit.errors.UnexpectedRebootError`,
        or :class:`~acrnkit.errors.ConsoleError` for ``Login incorrect``.
        """
        limit = self.login_timeout if timeout is None else timeout
        started = time.monotonic()
        self._logged_in = False
        half_a, half_b = _marker()
        sync_line = f"echo '{half_a}''{half_b}'"
        sync_re = re.compile(re.escape(half_a + half_b) + r"\n")
        wants: list[_Want] = []
        if self._login_re is not None:
            wants.append(_Want("login", self._login_re, "prompt"))
        wants += [
            _Want("password", self._password_re, "prompt"),
            _Want("incorrect", self._incorrect_re, "tail"),
            _Want("sync", sync_re, "stream", literal=half_a + half_b),
            _Want("shell", self._prompt_re, "prompt"),
        ]
        logins = 0
        synced = False
        sync_sent_at: float | None = None
        # After answering a prompt, a newline nudge would be read as the next answer (an empty
        # password): nudge again only after a long silence, until the next prompt shows.
        patient = max(10.0, 5 * self.await_login_timeout)
        idle = self.await_login_timeout
        if self._at_login_prompt:
            self.session.sendline(self.username)
            logins = 1
            idle = patient
        elif self._at_shell_prompt:
            self.session.sendline(sync_line)
            sync_sent_at = time.monotonic()
        self._at_login_prompt = self._at_shell_prompt = False
        what = repr(self.prompt)
        while True:
            hit = self._wait(wants, stage="login", what=what, timeout=limit, started=started,
                             idle=idle)
            if hit is None:
                self._nudge()
                continue
            idle = self.await_login_timeout
            if hit.name in ("login", "password", "shell"):
                self._booted = True
            if hit.name == "login":
                logins += 1
                if logins > self.max_login_attempts:
                    raise self._error(
                        ConsoleError, f"login prompt seen {logins} times: the login of "
                        f"{self.username!r} does not succeed", started)
                synced, sync_sent_at = False, None
                self.session.sendline(self.username)
                idle = patient
            elif hit.name == "password":
                if self.password is None:
                    raise self._error(
                        ConsoleError, f"password prompt for {self.username!r} but no password "
                        "was given", started)
                self.session.sendline(self.password)
                idle = patient
            elif hit.name == "incorrect":
                raise self._error(ConsoleError, f"login incorrect for {self.username!r}", started)
            elif hit.name == "sync":
                synced = True
            elif synced:  # the prompt after the marker: the shell is there and answers
                break
            elif sync_sent_at is None or time.monotonic() - sync_sent_at > self.await_login_timeout:
                self.session.sendline(sync_line)
                sync_sent_at = time.monotonic()
        self._logged_in = True
        for command in self.login_commands:
            self.run_check(command)

    def wait_for_shell(
        self, boot_timeout: float | None = None, login_timeout: float | None = None,
    ) -> None:
        """:meth:`wait_boot` then :meth:`login`, each with its own timeout layer."""
        self.wait_boot(boot_timeout)
        self.login(login_timeout)

    def run(
        self, cmd: str, timeout: float | None = None, *, watch: bool = True,
    ) -> CommandResult:
        """Run ``cmd`` in the shell; returns its exact output (``\\n`` line ends, escapes
        stripped, kernel messages that interleaved left in) and its exit status.

        ``watch=False`` stops panic/reboot detection for this command (a command that prints
        ``Kernel panic`` and then stays silent would otherwise be reported as a panic).
        """
        limit = self.command_timeout if timeout is None else timeout
        started = time.monotonic()
        if watch and self._failures:
            self._wait([], stage="command", what=f"command {cmd!r}", timeout=limit,
                       started=started)
        start_a, start_b = _marker()
        end_a, end_b = _marker()
        line = (f"echo '{start_a}''{start_b}'; eval {shlex.quote(cmd)}; "
                f"echo '{end_a}''{end_b}' $?")
        end_re = re.compile(re.escape(start_a + start_b) + r"\n(?P<output>.*?)"
                            + re.escape(end_a + end_b) + r" (?P<status>\d+)\n", re.DOTALL)
        defer_from = self._text.end
        self._at_shell_prompt = False
        self.session.sendline(line)
        match = self._wait_match(
            [_Want("end", end_re, "stream", literal=end_a + end_b)], stage="command",
            what=f"end of command {cmd!r}", timeout=limit, started=started,
            defer_from=defer_from, watch=watch)
        result = CommandResult(match["output"], int(match["status"]))
        self._wait([_Want("shell", self._prompt_re, "prompt")], stage="command",
                   what=f"prompt {self.prompt!r} after command {cmd!r}", timeout=limit,
                   started=started, watch=watch)
        self._at_shell_prompt = True
        return result

    def run_check(self, cmd: str, timeout: float | None = None) -> str:
        """:meth:`run`, raising :class:`CommandFailedError` on a non-zero exit status."""
        started = time.monotonic()
        output, status = self.run(cmd, timeout)
        if status != 0:
            last = output.rstrip("\n").rsplit("\n", 1)[-1][:_LINE_MAX]
            elapsed = time.monotonic() - started
            raise CommandFailedError(
                f"command {cmd!r} exited with status {status}" + (f": {last}" if last else ""),
                command=cmd, exit_status=status, output=output, tail=self._tail(),
                log_path=self.log_path, elapsed=elapsed)
        return output

    def expect(
        self, pattern: str | re.Pattern[str] | Sequence[str | re.Pattern[str]],
        timeout: float | None = None, *, watch: bool = True,
    ) -> ExpectResult:
        """Wait for a regex in the clean text (escapes stripped, ``\\n`` line ends).

        With a list, the earliest match wins (ties: the first pattern). The text up to the end
        of the match is consumed. ``watch=False`` to wait for a panic or reboot on purpose.
        """
        limit = self.command_timeout if timeout is None else timeout
        items = [pattern] if isinstance(pattern, (str, re.Pattern)) else list(pattern)
        wants = [_Want(str(i), p if isinstance(p, re.Pattern) else _compile("pattern", p),
                       "stream") for i, p in enumerate(items)]
        what = " or ".join(repr(p.pattern if isinstance(p, re.Pattern) else p) for p in items)
        hit = self._wait(wants, stage="expect", what=what, timeout=limit,
                         started=time.monotonic(), watch=watch)
        if hit is None or hit.match is None:  # pragma: no cover - no idle, no eof_ok
            raise RuntimeError("internal error: expect returned without a match")
        self._at_shell_prompt = self._at_login_prompt = False
        return ExpectResult(index=hit.index, before=hit.before, after=hit.match.group(0),
                            match=hit.match)

    def poweroff(self, timeout: float = 60.0, command: str = "poweroff") -> int | None:
        """Send ``command`` and wait for the console to close (end of file).

        Returns the spawned program's exit status (None for other backends). A reboot or panic
        on the way down raises as usual.
        """
        started = time.monotonic()
        self._logged_in = False
        self._at_shell_prompt = False
        self.session.sendline(command)
        self._wait([], stage="poweroff", what="end of file (console closed)", timeout=timeout,
                   started=started, eof_ok=True)
        if isinstance(self.session.backend, SpawnBackend):
            remaining = max(1.0, timeout - (time.monotonic() - started))
            return self.session.wait(remaining)
        return None

    def expect_reboot(self) -> None:
        """Announce an intentional reboot: the next boot banner and reboot message are fine.

        Also forgets a panic or reboot already reported (they are sticky otherwise: every call
        after one raises it again).
        """
        self._failures.clear()
        self._banners = 0
        self._booted = False
        self._reboot_expected = True
        self._logged_in = self._at_login_prompt = self._at_shell_prompt = False

    # -- the engine ----------------------------------------------------------------------------

    def _nudge(self) -> None:
        self.nudges += 1
        self.session.sendline("")

    def _feed(self, chunk: str) -> None:
        self._text.append(self._stripper.feed(chunk))
        self._last_data = time.monotonic()

    def _scan(self, *, final: bool = False) -> None:
        """Check complete new lines (and with ``final`` the unfinished last one) for failures."""
        text = self._text
        start = text.scanned - text.base
        stop = text.buf.rfind("\n", start) + 1
        now = time.monotonic()
        if stop > start:
            offset = text.scanned
            for line in text.buf[start:stop].splitlines(keepends=True):
                self._classify(line, offset, now)
                offset += len(line)
            text.scanned = text.base + stop
        else:
            stop = start
        # An unfinished line is checked again when it completes, unless it failed already.
        if final and stop < len(text.buf) and self._classify(text.buf[stop:], text.base + stop,
                                                             now):
            text.scanned = text.end

    def _classify(self, line: str, offset: int, now: float) -> bool:
        for kind, regex in self._classes:
            match = regex.search(line)
            if match is None:
                continue
            if kind == "banner":
                if self._reboot_expected or (self._banners == 0 and not self._booted):
                    self._banners += 1
                    self._reboot_expected = False
                    return False
                kind = "reboot"
            elif kind == "reboot" and self._reboot_expected:
                return False
            failure_kind: _FailureKind = (
                "panic" if kind == "panic" else "oops" if kind == "oops" else "reboot")
            self._failures.append(
                _Failure(failure_kind, line.strip()[:_LINE_MAX], offset + match.start(), now))
            return True
        return False

    def _search(self, wants: Sequence[_Want], checked: dict[int, int]) -> tuple[_Hit, int] | None:
        """The want whose match ends first in the pending text, and that end (absolute)."""
        text = self._text
        pending = text.pending()
        best: tuple[_Hit, int] | None = None
        tail_view: str | None = None
        prompt_view: str | None = None
        for index, want in enumerate(wants):
            if want.kind == "prompt":
                if prompt_view is None:
                    prompt_view = pending[-_TAIL_WINDOW:]
                    if self._kmsg_re is not None:
                        prompt_view = self._kmsg_re.sub("", prompt_view)
                match = want.regex.search(prompt_view)
                if match is None:
                    continue
                hit, end = _Hit(want.name, index, prompt_view[:match.start()], match), text.end
            elif want.kind == "tail":
                if tail_view is None:
                    tail_view = pending[-_TAIL_WINDOW:]
                match = want.regex.search(tail_view)
                if match is None:
                    continue
                skipped = len(pending) - len(tail_view)
                hit = _Hit(want.name, index, pending[:skipped + match.start()], match)
                end = text.pos + skipped + match.end()
            else:
                if want.literal is not None:
                    since = max(text.pos, checked.get(index, text.pos) - len(want.literal))
                    checked[index] = text.end
                    if text.buf.find(want.literal, since - text.base) < 0:
                        continue
                    checked[index] = text.pos  # found: the regex decides, from the start
                match = want.regex.search(pending)
                if match is None:
                    continue
                hit = _Hit(want.name, index, pending[:match.start()], match)
                end = text.pos + match.end()
            if best is None or end < best[1]:
                best = (hit, end)
        return best

    def _wait_match(
        self, wants: Sequence[_Want], *, stage: Stage, what: str, timeout: float,
        started: float, watch: bool = True, defer_from: int | None = None,
    ) -> re.Match[str]:
        hit = self._wait(wants, stage=stage, what=what, timeout=timeout, started=started,
                         watch=watch, defer_from=defer_from)
        if hit is None or hit.match is None:  # pragma: no cover - no idle, no eof_ok
            raise RuntimeError("internal error: wait returned without a match")
        return hit.match

    def _wait(
        self, wants: Sequence[_Want], *, stage: Stage, what: str, timeout: float,
        started: float, idle: float | None = None, eof_ok: bool = False, watch: bool = True,
        defer_from: int | None = None,
    ) -> _Hit | None:
        """Read until a want matches; None when idle for ``idle`` s; raise on failure/timeout.

        ``defer_from``: failures found at or after this offset but before the match are part
        of the output being waited for, and are dropped when it matches.
        """
        deadline = started + timeout
        idle_from = time.monotonic()
        checked: dict[int, int] = {}
        while True:
            if watch:
                self._scan()
            found = self._search(wants, checked) if wants else None
            if found is not None:
                hit, end = found
                if watch and self._failures:
                    blocking = [f for f in self._failures
                                if f.start < end and (defer_from is None or f.start < defer_from)]
                    if blocking:
                        raise self._failure_error(blocking[0], stage, started)
                    self._failures = [f for f in self._failures if f.start >= end]
                self._text.consume(end)
                if not watch:
                    self._text.scanned = max(self._text.scanned, self._text.pos)
                return hit
            now = time.monotonic()
            wake = deadline
            if watch and self._failures:
                first = self._failures[0]
                settle_at = max(self._last_data, first.seen) + self.failure_settle
                if defer_from is None or first.start < defer_from:
                    # Not forgivable: collect a panic's trace until the console is quiet, but
                    # not forever; a reboot has no trace (the new boot is chatty).
                    cap = (self.failure_settle if first.kind == "reboot"
                           else max(2.0, 4 * self.failure_settle))
                    settle_at = min(settle_at, first.seen + cap)
                if now >= settle_at:
                    raise self._failure_error(first, stage, started)
                wake = min(wake, settle_at)
            if now >= deadline:
                if watch:
                    self._scan(final=True)
                    if self._failures:
                        raise self._failure_error(self._failures[0], stage, started)
                raise self._error(
                    ConsoleTimeoutError,
                    f"{stage} timeout after {_fmt_seconds(timeout)} s "
                    f"(measured {now - started:.2f} s) waiting for {what}", started,
                    now - started)
            if idle is not None:
                idle_at = max(idle_from, self._last_data) + idle
                if now >= idle_at:
                    if watch:
                        self._scan(final=True)
                    if not (watch and self._failures):
                        return None
                else:
                    wake = min(wake, idle_at)
            try:
                chunk = self.session.read(max(0.0, wake - now))
            except ConsoleClosedError:
                break
            if chunk:
                self._feed(chunk)
        return self._at_eof(wants, stage=stage, what=what, started=started, eof_ok=eof_ok,
                            watch=watch)

    def _at_eof(
        self, wants: Sequence[_Want], *, stage: Stage, what: str, started: float, eof_ok: bool,
        watch: bool,
    ) -> _Hit:
        self._text.append(self._stripper.flush())
        if watch:
            self._scan(final=True)
            if self._failures:
                raise self._failure_error(self._failures[0], stage, started)
        found = self._search(wants, {}) if wants else None
        if found is not None:
            self._text.consume(found[1])
            return found[0]
        if eof_ok:
            return _Hit("eof", -1, self._text.pending(), None)
        elapsed = time.monotonic() - started
        raise self._error(
            ConsoleClosedError,
            f"console closed (end of file) during {stage} after {elapsed:.2f} s waiting for "
            f"{what}", started, elapsed)

    def _tail(self) -> str:
        return self.session.tail(self.tail_lines)

    def _error(
        self, cls: type[ConsoleError], message: str, started: float,
        elapsed: float | None = None,
    ) -> ConsoleError:
        """``cls`` with the tail and log path; ``elapsed`` is the one the message shows."""
        if elapsed is None:
            elapsed = time.monotonic() - started
        return cls(message, tail=self._tail(), log_path=self.log_path, elapsed=elapsed)

    def _failure_error(self, failure: _Failure, stage: Stage, started: float) -> ConsoleError:
        elapsed = time.monotonic() - started
        if failure.kind == "reboot":
            return self._error(
                UnexpectedRebootError,
                f"unexpected reboot during {stage} after {elapsed:.2f} s: {failure.line}",
                started, elapsed)
        word = "panic" if failure.kind == "panic" else "oops"
        return self._error(
            KernelPanicError, f"kernel {word} during {stage} after {elapsed:.2f} s: {failure.line}",
            started, elapsed)
