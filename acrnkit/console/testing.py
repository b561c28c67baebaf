"""Serve the scripted guest on any console backend, for tests of console-driving code.

::

    with serve_guest("unix", tmp_path, "--kmsg") as backend, \\
            ConsoleSession(backend, log_path=tmp_path / "vm.log") as session:
        shell = Shell(session)
        shell.login()

``serve_guest`` copies :mod:`acrnkit.console.scripted_guest` into the work directory, starts it
with ``sys.executable`` and yields the backend a :class:`ConsoleSession` opens:

* ``stdio``: a :class:`SpawnBackend`; the session spawns the guest and owns it;
* ``unix``: the guest serves ``<workdir>/console.sock``;
* ``pty`` / ``tty``: the guest holds a pty master; the backend is the slave's path (raw, as
  acrn-dm leaves its pty slaves);
* ``fd``: the guest runs on a pty slave as its stdio, the backend is the master fd.

On exit the guest's process group is killed and reaped, fds are closed and the socket removed,
whatever happened in the block.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from . import scripted_guest
from .session import (
    ConsoleBackend,
    FdBackend,
    PtyBackend,
    SpawnBackend,
    TtyBackend,
    UnixSocketBackend,
    _make_raw,
)

__all__ = ["GUEST_KINDS", "GuestKind", "install_guest", "serve_guest"]

GuestKind = Literal["stdio", "unix", "pty", "tty", "fd"]
GUEST_KINDS: tuple[GuestKind, ...] = ("stdio", "unix", "pty", "tty", "fd")


def install_guest(directory: str | os.PathLike[str]) -> Path:
    """Copy the scripted guest to ``<directory>/guest.py`` and return that path."""
    target = Path(directory) / "guest.py"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(scripted_guest.__file__, target)
    return target


@contextlib.contextmanager
def serve_guest(
    kind: GuestKind, workdir: str | os.PathLike[str], *args: str,
    socket_path: str | os.PathLike[str] | None = None,
) -> Iterator[ConsoleBackend]:
    """Run the scripted guest with ``args`` on a ``kind`` console; yield the backend."""
    workdir = Path(workdir)
    argv = [sys.executable, str(install_guest(workdir)), *args]
    if kind == "stdio":
        yield SpawnBackend(tuple(argv), cwd=str(workdir))
        return
    procs: list[subprocess.Popen[bytes]] = []
    fds: list[int] = []
    sock: Path | None = None
    stderr = open(workdir / f"guest-{kind}.stderr", "ab")  # noqa: SIM115 - closed below
    try:
        if kind == "unix":
            sock = Path(socket_path) if socket_path is not None else workdir / "console.sock"
            procs.append(subprocess.Popen(
                [*argv, "--unix", str(sock)], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True, cwd=workdir))
            yield UnixSocketBackend(str(sock))
        elif kind in ("pty", "tty"):
            master, slave = os.openpty()
            fds += [slave, master]
            _make_raw(slave, None)  # acrn-dm makes its pty slaves raw
            procs.append(subprocess.Popen(
                [*argv, "--fd", str(master)], pass_fds=(master,), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True, cwd=workdir))
            fds.remove(master)
            os.close(master)
            path = os.ttyname(slave)
            yield PtyBackend(path) if kind == "pty" else TtyBackend(path, baudrate=115200)
        elif kind == "fd":
            master, slave = os.openpty()
            fds += [master, slave]
            procs.append(subprocess.Popen(
                argv, stdin=slave, stdout=slave, stderr=stderr, start_new_session=True,
                cwd=workdir))
            fds.remove(slave)
            os.close(slave)
            yield FdBackend(master)
        else:
            raise ValueError(f"unknown guest console kind {kind!r}; one of {GUEST_KINDS}")
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        if sock is not None:
            with contextlib.suppress(FileNotFoundError):
                sock.unlink()
        stderr.close()

