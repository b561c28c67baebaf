"""Start acrn-dm (real or fake), wait until it is ready, stop it, and always reap it.

The child is started from an argv list (never a shell string) with ``start_new_session=True``,
so it leads its own process group and everything it forks can be signalled at once. Its stdout
and stderr go to files, so a failure can quote their tails and a test can read them afterwards.

Stopping follows what the ACRN tools do, gentlest first:

1. ``DM_STOP`` with ``force=1`` on the child's manager socket, if it has one (``acrnctl stop -f``;
   acrn-dm powers the VM off, v3.2 ``devicemodel/core/monitor.c`` ``handle_stop``);
2. SIGINT to the process group (what Kata's StopVM sends; acrn-dm treats it as a shutdown);
3. SIGKILL to the process group after the grace period (Kata waits 15 s, then kills).

The leader's exit is noticed without reaping it (``waitid(WNOWAIT)``), then whatever is left in
its group is killed and only then is the leader reaped: while the zombie exists its pid, and so
the group id, cannot be reused, so the group kill cannot hit a stranger.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Literal, Protocol

from acrnkit.errors import (
    BinaryNotFoundError,
    ConfigError,
    LaunchError,
    ManagerError,
    ReadyTimeoutError,
)
from acrnkit.launch.mngr import (
    RUN_DIR_ENV,
    ManagerClient,
    ManagerSocket,
    default_run_dir,
    find_sockets,
    socket_path,
)
from acrnkit.releases.versions import DEFAULT_VERSION

__all__ = [
    "Delay",
    "Launcher",
    "ManagerSocketReady",
    "OutputPattern",
    "ReadinessProbe",
    "StopMethod",
]

StopMethod = Literal["exited", "manager", "sigint", "sigkill"]
Stream = Literal["stdout", "stderr"]

# How long to wait for the kernel to finish a SIGKILLed process before calling it stuck
# (a process in uninterruptible sleep, e.g. on a hung device, cannot die sooner).
_KILL_WAIT = 10.0
_TAIL_LINES = 20


class ReadinessProbe(Protocol):
    """Anything that can tell whether a launched process is ready."""

    def is_ready(self, launcher: Launcher) -> bool: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class ManagerSocketReady:
    """Ready when ``<run_dir>/mngr/<vm>.monitor.<pid>.socket`` exists for the child's pid.

    ``any_pid=True`` accepts the socket of any pid, for a child that is a wrapper (sudo, a
    launch script) around the real acrn-dm.
    """

    vm_name: str
    any_pid: bool = False

    def is_ready(self, launcher: Launcher) -> bool:
        if launcher.pid is None:
            return False
        if self.any_pid:
            return any(s.vm_name == self.vm_name for s in find_sockets(launcher.run_dir))
        path = socket_path(launcher.run_dir, self.vm_name, launcher.pid)
        # acrn-dm binds and then listens; a socket that exists is accepted as ready rather than
        # connecting to it, because every connect shows up in the DM's log ("Connected:%d").
        return path.is_socket()

    def describe(self) -> str:
        pid = "*" if self.any_pid else "<pid>"
        return f"manager socket mngr/{self.vm_name}.monitor.{pid}.socket"


@dataclass(frozen=True)
class OutputPattern:
    """Ready when ``regex`` (``re.MULTILINE``) matches the captured stdout or stderr."""

    regex: str
    stream: Stream = "stdout"

    def __post_init__(self) -> None:
        if self.stream not in ("stdout", "stderr"):
            raise ConfigError("stream", self.stream, "must be 'stdout' or 'stderr'")
        try:
            re.compile(self.regex, re.MULTILINE)
        except re.error as exc:
            raise ConfigError("regex", self.regex, f"invalid regular expression: {exc}") from None

    def is_ready(self, launcher: Launcher) -> bool:
        return re.search(self.regex, launcher.read_output(self.stream), re.MULTILINE) is not None

    def describe(self) -> str:
        return f"{self.regex!r} on {self.stream}"


@dataclass(frozen=True)
class Delay:
    """Ready once ``seconds`` have passed since the start (Kata's waitVM just slept 10 s)."""

    seconds: float

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise ConfigError("seconds", self.seconds, "must be >= 0")

    def is_ready(self, launcher: Launcher) -> bool:
        return launcher.elapsed >= self.seconds

    def describe(self) -> str:
        return f"{self.seconds:g} s delay"


def _status_text(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with status {returncode}"


def _check_argv(argv: Sequence[str | os.PathLike[str]]) -> tuple[str, ...]:
    if isinstance(argv, (str, bytes)):
        raise ConfigError("argv", argv, "must be a list of arguments, not one shell string")
    items: list[str] = []
    for index, item in enumerate(argv):
        if not isinstance(item, (str, os.PathLike)):
            raise ConfigError(f"argv[{index}]", item, "must be a string")
        text = os.fspath(item)
        if not isinstance(text, str):
            raise ConfigError(f"argv[{index}]", item, "must be a string")
        if "\0" in text:
            raise ConfigError(f"argv[{index}]", text, "contains a NUL byte")
        items.append(text)
    if not items:
        raise ConfigError("argv", list(argv), "is empty; the first element names the binary")
    return tuple(items)


class Launcher:
    """One acrn-dm (or fake) process: start, wait until ready, stop, reap.

    ``run_dir`` is where manager sockets are looked for; when given it is also exported to the
    child as ``ACRNKIT_RUN_DIR`` so that the fake uses the same directory. Logs go to
    ``log_dir`` (created if needed) or to a temporary directory this object owns and removes on
    ``close()`` unless ``keep_logs``. ``ready`` probes and ``ready_timeout`` are applied by
    ``start()``; if readiness fails, ``start()`` stops the child before raising.
    """

    def __init__(
        self,
        argv: Sequence[str | os.PathLike[str]],
        *,
        log_dir: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        stdin_pipe: bool = False,
        run_dir: str | os.PathLike[str] | None = None,
        version: str = DEFAULT_VERSION,
        cwd: str | os.PathLike[str] | None = None,
        ready: ReadinessProbe | Sequence[ReadinessProbe] = (),
        ready_timeout: float = 30.0,
        stop_grace: float = 5.0,
        log_prefix: str = "",
        keep_logs: bool = False,
    ) -> None:
        self._argv = _check_argv(argv)
        extra_env = dict(env or {})
        env_run_dir = extra_env.get(RUN_DIR_ENV)
        if run_dir is not None:
            if env_run_dir and Path(env_run_dir) != Path(run_dir):
                raise ConfigError(
                    "run_dir", os.fspath(run_dir),
                    f"disagrees with {RUN_DIR_ENV}={env_run_dir!r} in env",
                )
            extra_env[RUN_DIR_ENV] = os.fspath(run_dir)
            self._run_dir = Path(run_dir)
        elif env_run_dir:
            self._run_dir = Path(env_run_dir)
        else:
            self._run_dir = default_run_dir()
        self._env = extra_env
        self._stdin_pipe = stdin_pipe
        self._version = version
        self._cwd = None if cwd is None else Path(cwd)
        self._ready: tuple[ReadinessProbe, ...] = (
            tuple(ready) if isinstance(ready, Sequence) else (ready,)
        )
        if ready_timeout <= 0:
            raise ConfigError("ready_timeout", ready_timeout, "must be > 0 seconds")
        if stop_grace < 0:
            raise ConfigError("stop_grace", stop_grace, "must be >= 0 seconds")
        self._ready_timeout = ready_timeout
        self._stop_grace = stop_grace
        self._keep_logs = keep_logs
        self._given_log_dir = None if log_dir is None else Path(log_dir)
        self._log_dir: Path | None = self._given_log_dir
        self._owns_log_dir = False
        stem = f"{log_prefix}." if log_prefix else ""
        self._stdout_name = f"{stem}stdout.log"
        self._stderr_name = f"{stem}stderr.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._pidfd: int | None = None
        self._started_at: float | None = None
        self._stop_method: StopMethod | None = None

    # -- properties --------------------------------------------------------------------------

    @property
    def argv(self) -> tuple[str, ...]:
        return self._argv

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has exited (it is reaped on the spot), else None.
        Negative means killed by that signal, as in ``subprocess``."""
        return self.poll()

    @property
    def run_dir(self) -> Path:
        return self._run_dir

    @property
    def version(self) -> str:
        return self._version

    @property
    def log_dir(self) -> Path | None:
        return self._log_dir

    @property
    def stdout_path(self) -> Path | None:
        return None if self._log_dir is None else self._log_dir / self._stdout_name

    @property
    def stderr_path(self) -> Path | None:
        return None if self._log_dir is None else self._log_dir / self._stderr_name

    @property
    def stdin(self) -> IO[bytes] | None:
        """The child's stdin when ``stdin_pipe=True``."""
        return None if self._proc is None else self._proc.stdin

    @property
    def elapsed(self) -> float:
        """Seconds since the process was started (0 before)."""
        return 0.0 if self._started_at is None else time.monotonic() - self._started_at

    @property
    def stop_method(self) -> StopMethod | None:
        """How the process ended: on its own, by DM_STOP, by SIGINT or by SIGKILL."""
        return self._stop_method

    # -- output ------------------------------------------------------------------------------

    def read_output(self, stream: Stream = "stdout") -> str:
        path = self.stdout_path if stream == "stdout" else self.stderr_path
        if path is None:
            return ""
        try:
            return path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def tail(self, stream: Stream = "stdout", lines: int = _TAIL_LINES) -> str:
        return "\n".join(self.read_output(stream).splitlines()[-lines:])

    # -- start -------------------------------------------------------------------------------

    def _merged_env(self) -> dict[str, str]:
        merged = dict(os.environ)
        merged.update(self._env)
        return merged

    def _resolve_binary(self, env: Mapping[str, str]) -> str:
        exe = self._argv[0]
        if os.sep in exe:
            path = Path(exe)
            if not path.is_absolute() and self._cwd is not None:
                path = self._cwd / path
            if not path.exists():
                raise BinaryNotFoundError(f"binary not found: {exe}", argv=self._argv)
            if path.is_dir() or not os.access(path, os.X_OK):
                raise BinaryNotFoundError(f"binary is not executable: {exe}", argv=self._argv)
            return str(path)
        found = shutil.which(exe, path=env.get("PATH", os.defpath))
        if found is None:
            raise BinaryNotFoundError(
                f"binary not found: {exe} (not on PATH)", argv=self._argv
            )
        return found

    def _popen(self, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        assert self.stdout_path is not None and self.stderr_path is not None
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            try:
                return subprocess.Popen(
                    self._argv,
                    stdin=subprocess.PIPE if self._stdin_pipe else subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    env=env,
                    cwd=self._cwd,
                    start_new_session=True,
                    close_fds=True,
                )
            except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
                # e.g. a script whose #! interpreter is missing, or a noexec mount.
                raise BinaryNotFoundError(
                    f"cannot execute {self._argv[0]}: {exc.strerror or exc}", argv=self._argv
                ) from None
            except OSError as exc:
                raise LaunchError(
                    f"cannot execute {self._argv[0]}: {exc.strerror or exc}", argv=self._argv
                ) from None

    def _drop_owned_log_dir(self) -> None:
        if self._owns_log_dir and not self._keep_logs and self._log_dir is not None:
            shutil.rmtree(self._log_dir, ignore_errors=True)
            self._log_dir = None
            self._owns_log_dir = False

    def start(self) -> Launcher:
        """Launch the process, then wait for the ``ready`` probes given to the constructor."""
        if self._proc is not None:
            raise LaunchError(f"{self._argv[0]} was already started (pid {self._proc.pid})",
                              argv=self._argv)
        env = self._merged_env()
        self._resolve_binary(env)
        if self._log_dir is None:
            self._log_dir = Path(tempfile.mkdtemp(prefix="acrnkit-launch-"))
            self._owns_log_dir = True
        else:
            self._log_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._proc = self._popen(env)
        except LaunchError:
            self._drop_owned_log_dir()
            raise
        self._started_at = time.monotonic()
        self._stop_method = None
        # A pidfd turns "wait with a timeout" into one select() instead of a polling loop.
        if hasattr(os, "pidfd_open"):
            with contextlib.suppress(OSError):
                self._pidfd = os.pidfd_open(self._proc.pid)
        if self._ready:
            try:
                self.wait_ready(*self._ready, timeout=self._ready_timeout)
            except LaunchError:
                self.stop()
                raise
        return self

    def wait_ready(
        self, *probes: ReadinessProbe, timeout: float | None = None, interval: float = 0.02
    ) -> None:
        """Wait until every probe is ready. ``LaunchError`` (with the exit status and output
        tails) as soon as the process exits; ``ReadyTimeoutError`` after ``timeout`` seconds."""
        if self._proc is None:
            raise LaunchError("wait_ready() before start()", argv=self._argv)
        limit = self._ready_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            pending = [probe for probe in probes if not probe.is_ready(self)]
            returncode = self.poll()
            if returncode is not None:
                waiting = ", ".join(p.describe() for p in (pending or probes)) or "nothing"
                raise LaunchError(
                    f"{self._argv[0]} {_status_text(returncode)} before it was ready "
                    f"(waiting for {waiting})",
                    argv=self._argv, returncode=returncode,
                    stdout_tail=self.tail("stdout"), stderr_tail=self.tail("stderr"),
                )
            if not pending:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ReadyTimeoutError(
                    f"{self._argv[0]} (pid {self._proc.pid}) not ready after {limit:g} s: "
                    f"still waiting for {', '.join(p.describe() for p in pending)}",
                    argv=self._argv, returncode=None,
                    stdout_tail=self.tail("stdout"), stderr_tail=self.tail("stderr"),
                )
            self._wait_exit(min(interval, remaining))

    # -- exit and reaping --------------------------------------------------------------------

    def poll(self) -> int | None:
        """None while running; once the leader has exited, kill what is left of its group,
        reap it and return the status."""
        proc = self._proc
        if proc is None:
            return None
        if proc.returncode is not None:
            return proc.returncode
        try:
            info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            # Reaped behind our back (SIGCHLD ignored, or someone called os.wait()).
            proc.poll()
            self._release()
            return proc.returncode
        if info is None or info.si_pid == 0:
            return None
        self._reap()
        return proc.returncode

    def _reap(self) -> None:
        proc = self._proc
        assert proc is not None
        # The leader is an unreaped zombie here, so its pid (= our process group id) is still
        # reserved: signalling the group reaches only processes it left behind.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if self._stop_method is None:
            self._stop_method = "exited"
        self._release()

    def _release(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        proc = self._proc
        if proc is not None and proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()

    def _wait_exit(self, timeout: float) -> None:
        """Sleep up to ``timeout`` seconds, waking early if the leader exits (does not reap)."""
        if timeout <= 0:
            return
        if self._pidfd is not None:
            select.select([self._pidfd], [], [], timeout)
        else:
            time.sleep(min(timeout, 0.02))

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the process to exit and reap it; None if it is still running after
        ``timeout`` seconds (``None`` waits forever)."""
        if self._proc is None:
            raise LaunchError("wait() before start()", argv=self._argv)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            returncode = self.poll()
            if returncode is not None:
                return returncode
            if deadline is None:
                self._wait_exit(0.5)
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._wait_exit(remaining)

    # -- stop --------------------------------------------------------------------------------

    def manager_socket(self) -> ManagerSocket | None:
        """The child's own manager socket (matched by pid), if it has one."""
        pid = self.pid
        if pid is None:
            return None
        for found in find_sockets(self._run_dir):
            if found.pid == pid:
                return found
        return None

    def _signal_group(self, signum: signal.Signals) -> None:
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signum)

    def stop(self, grace: float | None = None, *, use_manager: bool = True) -> int | None:
        """Stop the process and reap it; returns its exit status (None if never started).

        DM_STOP(force) over its manager socket if there is one, then SIGINT to the group, then
        SIGKILL to the group. Each gentle step gets ``grace`` seconds (default ``stop_grace``);
        a STOP that the DM refuses (``err != 0``) or cannot answer goes straight to SIGINT.
        """
        if self._proc is None:
            return None
        wait_for = self._stop_grace if grace is None else grace
        if grace is not None and grace < 0:
            raise ConfigError("grace", grace, "must be >= 0 seconds")
        returncode = self.poll()
        if returncode is not None:
            return returncode

        own = self.manager_socket() if use_manager else None
        if own is not None:
            try:
                err = ManagerClient(
                    self._run_dir, own.vm_name, self._version, path=own.path,
                    timeout=min(1.0, max(wait_for, 0.1)),
                ).stop(force=True)
            except ManagerError:
                err = -1  # a DM that cannot answer still gets the signals below
            # err != 0: the DM refused (an RTVM ignores force and may have no stop handler),
            # so there is nothing to wait for.
            if err == 0:
                self._stop_method = "manager"
                returncode = self.wait(wait_for)
                if returncode is not None:
                    return returncode

        self._stop_method = "sigint"
        self._signal_group(signal.SIGINT)
        returncode = self.wait(wait_for)
        if returncode is not None:
            return returncode

        self._stop_method = "sigkill"
        self._signal_group(signal.SIGKILL)
        returncode = self.wait(_KILL_WAIT)
        if returncode is None:
            raise LaunchError(
                f"{self._argv[0]} (pid {self._proc.pid}) survived SIGKILL for {_KILL_WAIT:g} s",
                argv=self._argv,
            )
        return returncode

    def close(self) -> None:
        """``stop()``, then remove the log directory if this object created it."""
        try:
            self.stop()
        finally:
            self._drop_owned_log_dir()

    def __enter__(self) -> Launcher:
        if self._proc is None:
            try:
                self.start()
            except BaseException:
                self.close()  # __exit__ will not run; do not leave a temp log dir behind
                raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "not started" if self._proc is None else f"pid {self._proc.pid}"
        return f"<Launcher {self._argv[0]} {state}>"
