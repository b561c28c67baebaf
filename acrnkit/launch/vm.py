"""``start_vm``: run an acrn-dm argv (real or fake), attach to its console, log in, stop it.

The console is found from the argv itself: the virtio-console port marked ``@`` (stdio, a unix
socket, a pty, a file or a tty) or, failing that, ``-l com1`` on stdio. A stdio console runs the
process on a pty through pexpect; every other kind runs it under :class:`Launcher` (stdout and
stderr captured to files) and attaches to the console where acrn-dm serves it.

Whatever happens, ``stop()`` ends the VM: manager-socket STOP, then SIGINT to the process group,
then SIGKILL, and the process is reaped.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acrnkit.errors import ConfigError, LaunchError
from acrnkit.releases.versions import DEFAULT_VERSION

_PTY_LINE = re.compile(r"virt-console backend redirected to (/dev/pts/\d+)")


@dataclass(frozen=True)
class ConsoleChoice:
    """Where the guest console is: ``kind`` is stdio, socket, pty, file, tty or none."""

    kind: str
    path: str | None = None


def find_console(argv: Sequence[str], version: str = DEFAULT_VERSION) -> ConsoleChoice:
    """The console a person would use for this argv (the ``@`` port, else COM1 on stdio)."""
    from acrnkit.argv.check import check

    vm = check(argv, version).vm
    if vm is None:
        return ConsoleChoice("none")
    for dev in vm.devices:
        ports = getattr(dev.device, "ports", None)
        if dev.emul != "virtio-console" or not ports:
            continue
        for port in ports:
            if port.console:
                return ConsoleChoice(port.kind, port.path)
    if vm.devices_of("lpc"):
        for lpc_port in vm.lpc:
            if lpc_port.port.lower() == "com1" and lpc_port.backend == "stdio":
                return ConsoleChoice("stdio")
    return ConsoleChoice("none")


@dataclass
class RunningVM:
    """A VM started by :func:`start_vm`. ``shell`` is None when the argv has no console."""

    name: str
    argv: tuple[str, ...]
    run_dir: Path
    version: str
    console: ConsoleChoice
    session: Any = None  # acrnkit.console.ConsoleSession
    shell: Any = None  # acrnkit.console.Shell
    launcher: Any = None  # acrnkit.launch.launcher.Launcher
    log_path: Path | None = None
    stopped: bool = False
    exit_status: int | None = None
    boot_seconds: float | None = None
    _pid: int | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        if self.launcher is not None:
            return int(self.launcher.pid) if self.launcher.pid is not None else None
        return self._pid

    def manager(self, timeout: float = 1.0) -> Any:
        """A manager-socket client for this VM (acrnctl's protocol of the release)."""
        from acrnkit.launch.mngr import ManagerClient

        return ManagerClient(self.run_dir, self.name, self.version, timeout=timeout)

    def socket_path(self) -> Path:
        from acrnkit.launch.mngr import socket_path

        pid = self.pid
        if pid is None:
            raise LaunchError(f"VM {self.name} has no process")
        return Path(socket_path(self.run_dir, self.name, pid))

    def alive(self) -> bool:
        if self.launcher is not None:
            return bool(self.launcher.poll() is None)
        return bool(self.session is not None and self.session.isalive())

    def wait(self, timeout: float) -> int | None:
        """Wait for the VM to end by itself; its exit status, or None when still running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                return self._reap()
            time.sleep(0.01)
        return None

    def _reap(self) -> int | None:
        if self.launcher is not None:
            self.exit_status = self.launcher.wait(5)
        elif self.session is not None:
            self.session.wait(5)
            status = self.session.exitstatus
            sig = self.session.signalstatus
            self.exit_status = status if status is not None else (-sig if sig else None)
        self.stopped = True
        return self.exit_status

    def stop(self, grace: float = 3.0) -> int | None:
        """STOP (force) over the manager socket, then SIGINT, then SIGKILL; always reaps."""
        if self.stopped:
            return self.exit_status
        try:
            if self.launcher is not None:
                self.exit_status = self.launcher.stop(grace)
                self.stopped = True
                return self.exit_status
            if self.session is not None and self.session.isalive():
                try:
                    if self.socket_path().exists():
                        self.manager().stop(force=True)
                except Exception:
                    pass
                if self.wait(grace) is None and self.pid is not None:
                    _kill_group(self.pid, signal.SIGINT)
                    if self.wait(grace) is None:
                        _kill_group(self.pid, signal.SIGKILL)
            if self.session is not None:
                self.session.close()
            return self._reap() if not self.stopped else self.exit_status
        finally:
            if self.session is not None and not self.session.closed:
                self.session.close()
            self.stopped = True

    def __enter__(self) -> RunningVM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _kill_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def start_vm(argv: Sequence[str], *, acrn_dm: str, run_dir: str | os.PathLike[str],
             version: str = DEFAULT_VERSION, env: Mapping[str, str] | None = None,
             log_dir: str | os.PathLike[str] | None = None, boot: bool = True,
             boot_timeout: float = 60.0, login_timeout: float = 30.0,
             shell_options: Mapping[str, Any] | None = None) -> RunningVM:
    """Start ``acrn_dm`` with ``argv`` (argv[0] excluded) and, with ``boot``, log in.

    Raises ``LaunchError`` when the process cannot start or exits first, and the console's typed
    errors (``KernelPanicError``, ``ConsoleTimeoutError``...) when the guest does not come up;
    the VM is stopped and reaped before the error propagates.
    """
    from acrnkit.argv.check import check

    args = [str(a) for a in argv]
    result = check(args, version)
    name = result.vm.name if result.vm is not None and result.vm.name else None
    if name is None:
        raise ConfigError("argv", args, "no VM name in argv")
    console = find_console(args, version)
    run = Path(run_dir)
    logs = Path(log_dir) if log_dir is not None else run / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{name}.console.log"
    full_env = {**(dict(env) if env else {}), "ACRNKIT_RUN_DIR": str(run)}
    vm = RunningVM(name, tuple(args), run, version, console, log_path=log_path)
    started = time.monotonic()
    try:
        _spawn(vm, acrn_dm, args, full_env, logs, log_path, shell_options)
        if boot and vm.shell is not None:
            vm.shell.wait_for_shell(boot_timeout=boot_timeout, login_timeout=login_timeout)
            vm.boot_seconds = time.monotonic() - started
    except BaseException:
        vm.stop()
        raise
    return vm


def _spawn(vm: RunningVM, acrn_dm: str, args: list[str], env: dict[str, str], logs: Path,
           log_path: Path, shell_options: Mapping[str, Any] | None = None) -> None:
    from acrnkit.console import ConsoleSession, Shell
    from acrnkit.launch.launcher import Launcher

    kind = vm.console.kind
    if kind == "stdio":
        merged = {**os.environ, **env}
        session = ConsoleSession.spawn([acrn_dm, *args], env=merged, log_path=log_path,
                                       name=vm.name)
        vm.session = session
        vm._pid = session.pid
        if not session.isalive():
            raise LaunchError(f"{acrn_dm} exited at once", argv=[acrn_dm, *args])
        vm.shell = Shell(session, **dict(shell_options or {}))
        return
    launcher = Launcher([acrn_dm, *args], log_dir=logs, env=env, log_prefix=vm.name)
    vm.launcher = launcher
    launcher.start()
    if kind == "socket" and vm.console.path:
        socket_file = vm.console.path
        _wait_for(lambda: os.path.exists(socket_file), launcher)  # fails fast if it exits
        session = ConsoleSession.connect_unix(vm.console.path, connect_timeout=10.0,
                                              log_path=log_path, name=vm.name)
        # what a socket console printed before anyone connected is gone: ask for a prompt
        session.sendline("")
    elif kind == "pty":
        pts = _wait_for(lambda: _PTY_LINE.search(launcher.read_output("stdout")), launcher)
        session = ConsoleSession.open_pty(pts.group(1), log_path=log_path, name=vm.name)
    elif kind == "tty" and vm.console.path:
        session = ConsoleSession.open_tty(vm.console.path, log_path=log_path, name=vm.name)
    else:
        return  # no interactive console (file or none)
    vm.session = session
    vm.shell = Shell(session, **dict(shell_options or {}))


def _wait_for(probe: Any, launcher: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        if launcher.poll() is not None:
            raise LaunchError("acrn-dm exited before its console appeared (exit "
                              f"{launcher.returncode}): {launcher.tail('stderr')[-300:]}",
                              returncode=launcher.returncode,
                              stdout_tail=launcher.tail("stdout"),
                              stderr_tail=launcher.tail("stderr"))
        time.sleep(0.01)
    raise LaunchError("the console did not appear in 10 s", stdout_tail=launcher.tail("stdout"),
                      stderr_tail=launcher.tail("stderr"))
