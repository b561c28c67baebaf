"""A pexpect console session over any console backend, with one log file per VM.

Backends (frozen dataclasses, so a fixture can hold one per VM and open it again):

* :class:`SpawnBackend` runs a program whose stdio is the console (``pexpect.spawn`` of an argv
  list; the program gets a new session, so closing kills its whole process group);
* :class:`FdBackend` attaches to an existing pty (or any pollable) fd; the session works on a
  ``dup`` of it, the caller's fd stays open;
* :class:`UnixSocketBackend` connects to a unix stream socket (acrn-dm's
  ``virtio-console,@socket:name=path`` server), retrying until the path appears and accepts or
  ``connect_timeout`` expires; paths longer than ``sun_path`` are reached through
  ``/proc/self/fd``;
* :class:`PtyBackend` opens a pty slave such as ``/dev/pts/N`` (acrn-dm's ``@pty:``);
* :class:`TtyBackend` opens a serial tty at a baud rate.

pty and tty paths are opened ``O_NOCTTY`` and put in raw mode without flushing, so a prompt the
guest printed before the session opened is still read.

Every character read goes to the session's log file (``log_path``, opened for append, unbuffered)
before anything matches on it: the log is the same text ``expect`` sees, escape sequences and
``\\r\\n`` included, so a human reading it sees what pexpect saw. What is sent is not logged
separately: a console echoes it.

pexpect is imported lazily, only when a session is opened.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import fcntl
import os
import re
import secrets
import signal
import socket
import stat
import termios
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TypeAlias, cast

from acrnkit.errors import ConsoleError, ConsoleTimeoutError

from .text import strip_ansi

__all__ = [
    "EOF",
    "TIMEOUT",
    "ConsoleBackend",
    "ConsoleClosedError",
    "ConsoleSession",
    "ExpectResult",
    "FdBackend",
    "PtyBackend",
    "SpawnBackend",
    "Special",
    "TtyBackend",
    "UnixSocketBackend",
    "console_log_path",
]

#: sockaddr_un.sun_path is 108 bytes including the terminating NUL.
_SUN_PATH_MAX = 107
#: How much recent console text a session keeps for error tails.
_RECENT_MAX = 64 * 1024
_READ_SIZE = 65536


class ConsoleClosedError(ConsoleError, EOFError):
    """The console reached end of file: the process exited, the socket or pty was closed."""


class Special(enum.Enum):
    """Pseudo-patterns for :meth:`ConsoleSession.expect`, as pexpect's ``EOF`` and ``TIMEOUT``."""

    EOF = "EOF"
    TIMEOUT = "TIMEOUT"


EOF = Special.EOF
TIMEOUT = Special.TIMEOUT

PatternLike: TypeAlias = "str | re.Pattern[str] | Special"


# --- backends ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SpawnBackend:
    """Run ``argv`` with its stdio on a new pty; the program's console is the session."""

    argv: tuple[str, ...]
    env: Mapping[str, str] | None = field(default=None, hash=False)
    cwd: str | None = None
    #: Leave the pty's own echo on. Off by default: the far end echoes, as a serial line does.
    echo: bool = False
    dimensions: tuple[int, int] = (24, 200)

    def __post_init__(self) -> None:
        if isinstance(self.argv, str) or not self.argv:
            raise ValueError(f"argv must be a non-empty sequence of strings, not {self.argv!r}")
        object.__setattr__(self, "argv", tuple(str(a) for a in self.argv))

    def describe(self) -> str:
        return f"stdio of {Path(self.argv[0]).name}"

    def default_name(self) -> str:
        return Path(self.argv[0]).name


@dataclass(frozen=True)
class FdBackend:
    """An fd that is already open (a pty master, a socket, a pipe pair's read end...)."""

    fd: int

    def describe(self) -> str:
        return f"fd {self.fd}"

    def default_name(self) -> str:
        return f"fd{self.fd}"


@dataclass(frozen=True)
class UnixSocketBackend:
    """Connect to a unix stream socket, retrying until it accepts or ``connect_timeout``."""

    path: str
    connect_timeout: float = 10.0
    retry_interval: float = 0.02

    def describe(self) -> str:
        return f"unix socket {self.path}"

    def default_name(self) -> str:
        return Path(self.path).stem or "console"


@dataclass(frozen=True)
class PtyBackend:
    """A pty slave path (``/dev/pts/N`` or a symlink to it); waits ``wait`` s for it to appear."""

    path: str
    wait: float = 0.0

    def describe(self) -> str:
        return f"pty {self.path}"

    def default_name(self) -> str:
        return Path(self.path).name


@dataclass(frozen=True)
class TtyBackend:
    """A serial tty path opened raw at ``baudrate`` (8N1, no flow control)."""

    path: str
    baudrate: int = 115200
    wait: float = 0.0

    def __post_init__(self) -> None:
        if not hasattr(termios, f"B{self.baudrate}"):
            raise ValueError(f"baudrate {self.baudrate} is not a termios speed")

    def describe(self) -> str:
        return f"tty {self.path} @ {self.baudrate}"

    def default_name(self) -> str:
        return Path(self.path).name


ConsoleBackend: TypeAlias = (
    "SpawnBackend | FdBackend | UnixSocketBackend | PtyBackend | TtyBackend"
)


@dataclass(frozen=True)
class ExpectResult:
    """What :meth:`ConsoleSession.expect` matched: pattern index, text before, matched text."""

    index: int
    before: str
    after: str
    match: re.Match[str] | None


def console_log_path(log_dir: str | os.PathLike[str], vm_name: str) -> Path:
    """``<log_dir>/<vm_name>.log`` with the name made safe for a file name (one log per VM)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", vm_name).strip("._") or "console"
    return Path(log_dir) / f"{safe}.log"


# --- the narrow typed view of pexpect ---------------------------------------------------------

class _Child(Protocol):
    """The part of a pexpect spawn/fdspawn object acrnkit uses."""

    child_fd: int
    buffer: str
    before: Any
    after: Any
    match: Any
    logfile_read: Any
    delaybeforesend: float | None

    def send(self, s: str) -> int: ...

    def read_nonblocking(self, size: int = ..., timeout: float | None = ...) -> str: ...

    def expect(self, pattern: Any, timeout: float | None = ...) -> int: ...

    def close(self) -> None: ...


class _SpawnChild(_Child, Protocol):
    pid: int
    exitstatus: int | None
    signalstatus: int | None

    def isalive(self) -> bool: ...


def _pexpect() -> Any:
    import pexpect  # type: ignore[import-untyped]

    return pexpect


def _fdpexpect() -> Any:
    import pexpect.fdpexpect  # type: ignore[import-untyped]

    return pexpect.fdpexpect


class _LogTee:
    """pexpect's ``logfile_read``: appends to the log file and keeps the recent text."""

    def __init__(self, path: Path, encoding: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - closed by the session
        self._encoding = encoding
        self.recent = ""

    def write(self, data: str | bytes) -> None:
        if isinstance(data, bytes):
            raw, text = data, data.decode(self._encoding, "backslashreplace")
        else:
            raw, text = data.encode(self._encoding, "backslashreplace"), data
        if not self._file.closed:
            self._file.write(raw)
        self.recent += text
        if len(self.recent) > 2 * _RECENT_MAX:
            self.recent = self.recent[-_RECENT_MAX:]

    def flush(self) -> None:
        """Writes are unbuffered; nothing to do (pexpect calls this after every write)."""

    def close(self) -> None:
        self._file.close()


def _fmt_seconds(value: float) -> str:
    return f"{value:.1f}" if abs(value * 10 - round(value * 10)) < 1e-9 else f"{value:.2f}"


def _describe(pattern: PatternLike) -> str:
    if isinstance(pattern, Special):
        return pattern.value
    if isinstance(pattern, re.Pattern):
        return repr(pattern.pattern)
    return repr(pattern)


# --- opening the backends ---------------------------------------------------------------------

def _connect_unix(backend: UnixSocketBackend) -> socket.socket:
    """Connect, retrying while the path is missing or nobody listens yet."""
    started = time.monotonic()
    deadline = started + backend.connect_timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            _connect_long(sock, backend.path)
            return sock
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            sock.close()
            now = time.monotonic()
            if now >= deadline:
                elapsed = now - started
                raise ConsoleTimeoutError(
                    f"connect timeout after {_fmt_seconds(backend.connect_timeout)} s "
                    f"(measured {elapsed:.2f} s) waiting for unix socket {backend.path!r}: "
                    f"{exc.strerror}",
                    elapsed=elapsed,
                ) from exc
            time.sleep(min(backend.retry_interval, deadline - now))
        except OSError as exc:
            sock.close()
            raise ConsoleError(
                f"cannot connect to unix socket {backend.path!r}: {exc.strerror or exc}"
            ) from exc
        except BaseException:
            sock.close()
            raise


def _connect_long(sock: socket.socket, path: str) -> None:
    """``connect``, through ``/proc/self/fd/<dir>/<name>`` when the path exceeds ``sun_path``."""
    if len(os.fsencode(path)) <= _SUN_PATH_MAX:
        sock.connect(path)
        return
    directory, name = os.path.split(os.path.abspath(path))
    dir_fd = os.open(directory or "/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        sock.connect(f"/proc/self/fd/{dir_fd}/{name}")
    finally:
        os.close(dir_fd)


def _open_terminal(path: str, wait: float, baudrate: int | None) -> int:
    """Open a pty slave or tty ``O_NOCTTY``, raw, without flushing what is already queued."""
    started = time.monotonic()
    while True:
        try:
            # O_NONBLOCK so a serial line without carrier does not block the open itself.
            fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
            break
        except FileNotFoundError as exc:
            elapsed = time.monotonic() - started
            if elapsed >= wait:
                if wait <= 0:
                    raise ConsoleError(f"console path {path!r} does not exist") from exc
                raise ConsoleTimeoutError(
                    f"open timeout after {_fmt_seconds(wait)} s (measured {elapsed:.2f} s) "
                    f"waiting for {path!r} to appear",
                    elapsed=elapsed,
                ) from exc
            time.sleep(0.02)
        except OSError as exc:
            raise ConsoleError(f"cannot open console {path!r}: {exc.strerror or exc}") from exc
    try:
        if not os.isatty(fd):
            kind = stat.filemode(os.fstat(fd).st_mode)
            raise ConsoleError(f"console path {path!r} is not a terminal ({kind})")
        _make_raw(fd, baudrate)
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _make_raw(fd: int, baudrate: int | None) -> None:
    """cfmakeraw + 8N1, applied with TCSANOW (TCSAFLUSH would drop a prompt already queued)."""
    iflag, oflag, cflag, lflag, ispeed, ospeed, cc = termios.tcgetattr(fd)
    iflag &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP
               | termios.INLCR | termios.IGNCR | termios.ICRNL | termios.IXON | termios.IXOFF)
    oflag &= ~termios.OPOST
    lflag &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    cflag &= ~(termios.CSIZE | termios.PARENB | termios.CSTOPB)
    cflag |= termios.CS8 | termios.CREAD | termios.CLOCAL
    if baudrate is not None:
        speed = getattr(termios, f"B{baudrate}")
        ispeed = ospeed = speed
        cflag &= ~getattr(termios, "CBAUD", 0)
        cflag |= speed
    cc = list(cc)
    cc[termios.VMIN] = 1
    cc[termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, [iflag, oflag, cflag, lflag, ispeed, ospeed, cc])


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


# --- the session ------------------------------------------------------------------------------

class ConsoleSession:
    """A console as a pexpect stream, logged to one file per VM.

    Open it from a backend (``ConsoleSession(UnixSocketBackend(path), log_path=...)``) or through
    the shortcuts :meth:`spawn`, :meth:`attach_fd`, :meth:`connect_unix`, :meth:`open_pty`,
    :meth:`open_tty`. Use it as a context manager, or call :meth:`close`.

    ``log_path`` defaults to a new file in the temp dir; :func:`console_log_path` gives the
    one-file-per-VM name under a log directory. ``tx_chunk``/``tx_delay`` throttle sends for
    slow UARTs (``tx_chunk`` characters, then ``tx_delay`` seconds). ``kill_timeout`` is how long
    :meth:`close` waits after SIGTERM before SIGKILL for a spawned program.
    """

    def __init__(
        self,
        backend: ConsoleBackend,
        *,
        log_path: str | os.PathLike[str] | None = None,
        name: str | None = None,
        encoding: str = "utf-8",
        codec_errors: str = "backslashreplace",
        linesep: str = "\n",
        tx_chunk: int = 0,
        tx_delay: float = 0.0,
        kill_timeout: float = 2.0,
    ) -> None:
        self.backend = backend
        self.name = name or backend.default_name()
        self.linesep = linesep
        self.tx_chunk = tx_chunk
        self.tx_delay = tx_delay
        self.kill_timeout = kill_timeout
        if log_path is None:
            import tempfile

            log_path = Path(tempfile.gettempdir()) / (
                f"acrnkit-console-{console_log_path('.', self.name).stem}-{os.getpid()}-"
                f"{secrets.token_hex(3)}.log")
        self.log_path = Path(log_path)
        self._eof = False
        self._closed = False
        self._log = _LogTee(self.log_path, encoding)
        try:
            self._child = self._open(backend, encoding, codec_errors)
        except BaseException:
            self._log.close()
            self._closed = True
            raise
        self._child.logfile_read = self._log
        self._child.delaybeforesend = None

    # -- shortcuts -----------------------------------------------------------------------------

    @classmethod
    def spawn(
        cls, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
        cwd: str | None = None, log_path: str | os.PathLike[str] | None = None,
        name: str | None = None, linesep: str = "\n",
    ) -> ConsoleSession:
        """Run ``argv`` (a list, never a shell string) with its stdio as the console."""
        return cls(SpawnBackend(tuple(argv), env=env, cwd=cwd), log_path=log_path, name=name,
                   linesep=linesep)

    @classmethod
    def attach_fd(
        cls, fd: int, *, log_path: str | os.PathLike[str] | None = None,
        name: str | None = None, linesep: str = "\n",
    ) -> ConsoleSession:
        """Attach to an open fd (a pty master, say); the caller keeps ownership of ``fd``."""
        return cls(FdBackend(fd), log_path=log_path, name=name, linesep=linesep)

    @classmethod
    def connect_unix(
        cls, path: str | os.PathLike[str], *, connect_timeout: float = 10.0,
        log_path: str | os.PathLike[str] | None = None, name: str | None = None,
        linesep: str = "\n",
    ) -> ConsoleSession:
        """Connect to a unix socket, retrying until it exists and accepts."""
        backend = UnixSocketBackend(os.fspath(path), connect_timeout=connect_timeout)
        return cls(backend, log_path=log_path, name=name, linesep=linesep)

    @classmethod
    def open_pty(
        cls, path: str | os.PathLike[str], *, wait: float = 0.0,
        log_path: str | os.PathLike[str] | None = None, name: str | None = None,
        linesep: str = "\n",
    ) -> ConsoleSession:
        """Open a pty slave path such as ``/dev/pts/N``."""
        return cls(PtyBackend(os.fspath(path), wait=wait), log_path=log_path, name=name,
                   linesep=linesep)

    @classmethod
    def open_tty(
        cls, path: str | os.PathLike[str], *, baudrate: int = 115200, wait: float = 0.0,
        log_path: str | os.PathLike[str] | None = None, name: str | None = None,
        linesep: str = "\n",
    ) -> ConsoleSession:
        """Open a serial tty raw at ``baudrate``."""
        return cls(TtyBackend(os.fspath(path), baudrate=baudrate, wait=wait),
                   log_path=log_path, name=name, linesep=linesep)

    # -- opening -------------------------------------------------------------------------------

    def _open(self, backend: ConsoleBackend, encoding: str, codec_errors: str) -> _Child:
        if isinstance(backend, SpawnBackend):
            pexpect = _pexpect()
            try:
                child = pexpect.spawn(
                    backend.argv[0], list(backend.argv[1:]),
                    env=dict(backend.env) if backend.env is not None else None,
                    cwd=backend.cwd, echo=backend.echo, dimensions=backend.dimensions,
                    encoding=encoding, codec_errors=codec_errors, use_poll=True,
                    timeout=None, maxread=_READ_SIZE,
                )
            except pexpect.ExceptionPexpect as exc:
                raise ConsoleError(f"cannot spawn {backend.argv[0]!r}: {exc}") from exc
            child.ptyproc.delayafterclose = 0.0
            child.ptyproc.delayafterterminate = 0.02
            return cast(_SpawnChild, child)
        if isinstance(backend, FdBackend):
            fd = os.dup(backend.fd)
        elif isinstance(backend, UnixSocketBackend):
            fd = _connect_unix(backend).detach()
        elif isinstance(backend, PtyBackend):
            fd = _open_terminal(backend.path, backend.wait, None)
        else:
            fd = _open_terminal(backend.path, backend.wait, backend.baudrate)
        try:
            child = _fdpexpect().fdspawn(
                fd, encoding=encoding, codec_errors=codec_errors, use_poll=True,
                timeout=None, maxread=_READ_SIZE,
            )
        except BaseException:
            os.close(fd)
            raise
        return cast(_Child, child)

    # -- state ---------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def eof(self) -> bool:
        """True once the console reached end of file."""
        return self._eof

    @property
    def pid(self) -> int | None:
        """The spawned program's pid (also its process group), or None for other backends."""
        if not isinstance(self.backend, SpawnBackend):
            return None
        return cast(_SpawnChild, self._child).pid

    def isalive(self) -> bool:
        """Whether the spawned program runs (other backends: whether the console is open)."""
        if self._closed:
            return False
        if isinstance(self.backend, SpawnBackend):
            return cast(_SpawnChild, self._child).isalive()
        return not self._eof

    @property
    def exitstatus(self) -> int | None:
        """The spawned program's exit code once it exited (None if killed by a signal)."""
        if not isinstance(self.backend, SpawnBackend):
            return None
        child = cast(_SpawnChild, self._child)
        if not self._closed:
            child.isalive()
        return child.exitstatus

    @property
    def signalstatus(self) -> int | None:
        """The signal that ended the spawned program, if one did."""
        if not isinstance(self.backend, SpawnBackend):
            return None
        child = cast(_SpawnChild, self._child)
        if not self._closed:
            child.isalive()
        return child.signalstatus

    def wait(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` s for a spawned program to exit; its exit status, or None."""
        if not isinstance(self.backend, SpawnBackend):
            return None
        child = cast(_SpawnChild, self._child)
        deadline = time.monotonic() + timeout
        while child.isalive():
            if time.monotonic() >= deadline:
                raise ConsoleTimeoutError(
                    f"{self.name}: process {child.pid} still running after "
                    f"{_fmt_seconds(timeout)} s", tail=self.tail(), log_path=str(self.log_path),
                    elapsed=timeout)
            time.sleep(0.01)
        return child.exitstatus

    def tail(self, lines: int = 20) -> str:
        """The last ``lines`` console lines read, escape sequences removed."""
        text = strip_ansi(self._log.recent).rstrip("\n")
        return "\n".join(text.split("\n")[-lines:]) if lines > 0 else ""

    # -- I/O -----------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ConsoleClosedError(f"{self.name}: console session is closed",
                                     log_path=str(self.log_path))

    def send(self, data: str) -> int:
        """Send ``data`` as is; returns the number of characters sent."""
        self._check_open()
        try:
            if self.tx_chunk <= 0:
                return self._child.send(data)
            for start in range(0, len(data), self.tx_chunk):
                if start:
                    time.sleep(self.tx_delay)
                self._child.send(data[start:start + self.tx_chunk])
            return len(data)
        except OSError as exc:
            if exc.errno in (errno.EIO, errno.EPIPE, errno.ECONNRESET, errno.EBADF):
                self._eof = True
                raise ConsoleClosedError(
                    f"{self.name}: console closed while sending: {exc.strerror}",
                    tail=self.tail(), log_path=str(self.log_path)) from exc
            raise

    def sendline(self, line: str = "") -> int:
        """Send ``line`` and the session's ``linesep`` (``\\n`` by default)."""
        return self.send(line + self.linesep)

    def sendcontrol(self, char: str) -> int:
        """Send a control character: ``sendcontrol("c")`` is Ctrl-C."""
        char = char.lower()
        if len(char) != 1 or not ("a" <= char <= "z" or char in "@[\\]^_?"):
            raise ValueError(f"not a control character: {char!r}")
        code = 127 if char == "?" else ord(char.upper()) & 0x1F
        return self.send(chr(code))

    def read(self, timeout: float = 0.0, size: int = _READ_SIZE) -> str:
        """What is available now or within ``timeout`` s ("" if nothing came).

        Data left over from :meth:`expect` comes first, so nothing read is ever skipped.
        Raises :class:`ConsoleClosedError` at end of file.
        """
        self._check_open()
        pending = self._child.buffer
        if pending:
            self._child.buffer = ""
            return pending
        if self._eof:
            raise self._closed_error("reading")
        pexpect = _pexpect()
        try:
            return self._child.read_nonblocking(size, max(timeout, 0.0))
        except pexpect.TIMEOUT:
            return ""
        except pexpect.EOF:
            self._eof = True
            raise self._closed_error("reading") from None

    def _closed_error(self, doing: str, elapsed: float | None = None) -> ConsoleClosedError:
        return ConsoleClosedError(
            f"{self.name}: console closed (EOF) while {doing} ({self.backend.describe()})",
            tail=self.tail(), log_path=str(self.log_path), elapsed=elapsed)

    def expect(
        self, pattern: PatternLike | Sequence[PatternLike], timeout: float | None = 30.0,
    ) -> ExpectResult:
        """Wait for a regex (or a list of them) in the raw stream, as ``pexpect.expect`` does.

        ``EOF`` and ``TIMEOUT`` in the list turn those events into a match of that index;
        otherwise a timeout raises :class:`~acrnkit.errors.ConsoleTimeoutError` with the measured
        duration and the console tail, and end of file raises :class:`ConsoleClosedError`.
        String patterns are compiled with ``re.DOTALL`` (pexpect's default).
        """
        self._check_open()
        patterns: list[PatternLike] = (
            [pattern] if isinstance(pattern, (str, re.Pattern, Special)) else list(pattern))
        pexpect = _pexpect()
        compiled: list[Any] = []
        for item in patterns:
            if item is EOF:
                compiled.append(pexpect.EOF)
            elif item is TIMEOUT:
                compiled.append(pexpect.TIMEOUT)
            elif isinstance(item, re.Pattern):
                compiled.append(item)
            else:
                compiled.append(re.compile(str(item), re.DOTALL))
        what = " or ".join(_describe(p) for p in patterns)
        started = time.monotonic()
        try:
            index = self._child.expect(compiled, timeout=timeout)
        except pexpect.TIMEOUT:
            elapsed = time.monotonic() - started
            raise ConsoleTimeoutError(
                f"{self.name}: expect timeout after {_fmt_seconds(timeout or 0.0)} s "
                f"(measured {elapsed:.2f} s) waiting for {what}",
                tail=self.tail(), log_path=str(self.log_path), elapsed=elapsed) from None
        except pexpect.EOF:
            self._eof = True
            raise self._closed_error(f"waiting for {what}",
                                     time.monotonic() - started) from None
        child = self._child
        if patterns[index] is EOF:
            self._eof = True
        before = child.before if isinstance(child.before, str) else ""
        after = child.after if isinstance(child.after, str) else ""
        match = child.match if isinstance(child.match, re.Match) else None
        return ExpectResult(index=index, before=before, after=after, match=match)

    def read_until_quiet(self, quiet_time: float = 0.5, timeout: float = 30.0) -> str:
        """Read until nothing arrives for ``quiet_time`` s; returns everything read.

        End of file counts as quiet. A console that keeps talking for ``timeout`` s raises
        :class:`~acrnkit.errors.ConsoleTimeoutError` (the text read is in the log and the tail).
        """
        started = time.monotonic()
        deadline = started + timeout
        last = started
        parts: list[str] = []
        while True:
            now = time.monotonic()
            if now - last >= quiet_time:
                return "".join(parts)
            if now >= deadline:
                raise ConsoleTimeoutError(
                    f"{self.name}: console not quiet for {_fmt_seconds(quiet_time)} s within "
                    f"{_fmt_seconds(timeout)} s (measured {now - started:.2f} s)",
                    tail=self.tail(), log_path=str(self.log_path), elapsed=now - started)
            try:
                chunk = self.read(min(quiet_time - (now - last), deadline - now))
            except ConsoleClosedError:
                return "".join(parts)
            if chunk:
                parts.append(chunk)
                last = time.monotonic()

    # -- closing -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the console; a spawned program's process group gets SIGTERM, then SIGKILL."""
        if self._closed:
            return
        self._closed = True
        try:
            if isinstance(self.backend, SpawnBackend):
                self._terminate(cast(_SpawnChild, self._child))
            with contextlib.suppress(OSError, _pexpect().ExceptionPexpect):
                self._child.close()
        finally:
            self._log.close()

    def _terminate(self, child: _SpawnChild) -> None:
        pgid = child.pid
        if child.isalive():
            _signal_group(pgid, signal.SIGTERM)
            deadline = time.monotonic() + self.kill_timeout
            while child.isalive() and time.monotonic() < deadline:
                time.sleep(0.005)
        # Whatever else is left in the group (grandchildren), and the leader if it ignored TERM.
        _signal_group(pgid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while child.isalive() and time.monotonic() < deadline:
            time.sleep(0.005)

    def __enter__(self) -> ConsoleSession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("eof" if self._eof else "open")
        return (f"<ConsoleSession {self.name!r} {self.backend.describe()} {state} "
                f"log={str(self.log_path)!r}>")
