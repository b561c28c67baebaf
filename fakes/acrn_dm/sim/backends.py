"""Console backends served for real, as acrn-dm's virtio-console and LPC UART code serves them.

Sources: ``devicemodel/hw/pci/virtio/virtio_console.c`` (open/config backend, accept, write)
and ``devicemodel/hw/uart_core.c`` (``uart_set_backend``) at v1.6 .. v3.3.

* ``stdio``: virtio-console reads *and writes* fd 0 (``be->fd = STDIN_FILENO``), the UART reads
  fd 0 and writes fd 1; both make the terminal raw (virtio-console keeps ``OPOST``) and read only
  when stdin is a tty. A virtio-console stdio whose fd 0 cannot be written (a pipe, /dev/null)
  loses its output after ``vtcon: be write failed! errno = N``, as acrn-dm's does.
* ``pty``: a new pty; acrn-dm keeps the slave open, makes it raw and prints its name framed by
  asterisks. Output nobody reads is dropped once the pty buffer is full.
* ``socket``: ``server`` (default) unlinks the path, binds, listens; output before a client
  connects is dropped (ENOTCONN). The newest client is the one served. ``client`` connects
  (a failed connect is logged and the port stays dead).
* ``file``: opened ``O_WRONLY|O_CREAT|O_APPEND``; write-only. ``tty``: the path, raw.
* ``tcp:<port>`` (``-l comN,tcp:<port>``): acrn-dm listens on INADDR_ANY; the fake listens on
  127.0.0.1 only.

Differences on purpose: a socket server's path is unlinked when the fake exits (acrn-dm leaves
it), and with ACRNKIT_DM_PTY_LINKS a ``pty:name=<path>`` port gets a symlink at ``<path>``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import termios
from collections.abc import Callable
from typing import Any

from .dmlog import DmLog, write_all
from .reactor import Reactor
from .spec import PortSpec

#: sockaddr_un.sun_path holds 108 bytes; acrn-dm strncpy()s and NUL-terminates at 107.
SUN_PATH_MAX = 107
STARS = "*" * 47

Deliver = Callable[[str, bytes], None]


class BackendError(Exception):
    """Opening a backend failed; ``lines`` are what acrn-dm prints before ``pci .. init failed``,
    ``errno`` what ``Unable to init vdev (%d)`` shows."""

    def __init__(self, lines: list[str], err: int = errno.EINVAL) -> None:
        self.lines = lines
        self.errno = err
        super().__init__("; ".join(lines))


class Backend:
    """One console port's host side. ``deliver(device, data)`` receives what the host typed."""

    def __init__(self, port: PortSpec, reactor: Reactor, log: DmLog, deliver: Deliver) -> None:
        self.port = port
        self.reactor = reactor
        self.log = log
        self.deliver = deliver
        self.fd = -1
        self.dead = False

    @property
    def prefix(self) -> str:
        return "uart" if self.port.uart else "vtcon"

    def open(self) -> None:
        """Set the backend up; raises BackendError like acrn-dm's init failure."""

    def write(self, data: bytes) -> None:
        if self.fd < 0 or self.dead:
            return
        try:
            os.write(self.fd, data)
        except (BlockingIOError, InterruptedError):
            pass  # the host side is not reading: the guest's output is dropped
        except OSError as err:
            self._write_failed(err)

    def _write_failed(self, err: OSError) -> None:
        if err.errno in (errno.EAGAIN, errno.ENOTCONN):
            return
        self.dead = True
        if not self.port.uart:
            self.log.err(f"vtcon: be write failed! errno = {err.errno}")

    def _read(self, fd: int) -> bytes | None:
        """Read what is there; b"" at EOF, None when nothing was ready."""
        try:
            return os.read(fd, 2048)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            return b""

    def _watch(self, fd: int) -> None:
        def on_readable() -> None:
            data = self._read(fd)
            if data is None:
                return
            if not data:
                self.reactor.remove_reader(fd)
                self._eof(fd)
                return
            self.deliver(self.port.device, data)
        self.reactor.add_reader(fd, on_readable)

    def _eof(self, fd: int) -> None:
        """The host side went away."""

    def close(self) -> None:
        if self.fd >= 0:
            self.reactor.remove_reader(self.fd)
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1


def cfmakeraw(mode: list[Any]) -> None:
    """glibc ``cfmakeraw`` on a ``termios.tcgetattr`` list (``tty.cfmakeraw`` is 3.12+)."""
    mode[0] &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP
                 | termios.INLCR | termios.IGNCR | termios.ICRNL | termios.IXON)
    mode[1] &= ~termios.OPOST
    mode[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    mode[2] &= ~(termios.CSIZE | termios.PARENB)
    mode[2] |= termios.CS8
    mode[6] = list(mode[6])
    mode[6][termios.VMIN] = 1
    mode[6][termios.VTIME] = 0


class _RawTty:
    """Saves and restores a terminal's mode and flags, and makes it raw as acrn-dm does."""

    def __init__(self, fd: int, opost: bool, flush: bool) -> None:
        self.fd = fd
        self.saved: list[Any] | None = None
        self.was_blocking: bool | None = None
        try:
            self.saved = termios.tcgetattr(fd)
            mode = termios.tcgetattr(fd)
            cfmakeraw(mode)
            mode[2] |= termios.CLOCAL
            if opost:
                mode[1] |= termios.OPOST
            if flush:
                termios.tcflush(fd, termios.TCIOFLUSH)
            termios.tcsetattr(fd, termios.TCSANOW, mode)
        except (termios.error, OSError):
            self.saved = None

    def nonblocking(self) -> None:
        with contextlib.suppress(OSError):
            self.was_blocking = os.get_blocking(self.fd)
            os.set_blocking(self.fd, False)

    def restore(self) -> None:
        if self.saved is not None:
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)
            self.saved = None
        if self.was_blocking is not None:
            with contextlib.suppress(OSError):
                os.set_blocking(self.fd, self.was_blocking)
            self.was_blocking = None


class StdioBackend(Backend):
    def open(self) -> None:
        self._raw: _RawTty | None = None
        is_tty = os.isatty(0)
        if is_tty:
            self._raw = _RawTty(0, opost=not self.port.uart, flush=self.port.uart)
            self._raw.nonblocking()
            self._watch(0)
        # virtio-console writes to be->fd = STDIN_FILENO; the UART to fd 1 (be->fd2)
        self.fd = 1 if self.port.uart else 0

    def write(self, data: bytes) -> None:
        if self.fd < 0 or self.dead:
            return
        try:
            os.write(self.fd, b"")  # a probe: EBADF on a read-only fd 0, as writev() gets
        except OSError as err:
            self._write_failed(err)
            return
        write_all(self.fd, data, patience=1.0)

    def close(self) -> None:
        self.reactor.remove_reader(0)
        if self._raw is not None:
            self._raw.restore()
        self.fd = -1


class PtyBackend(Backend):
    def open(self) -> None:
        master, slave = os.openpty()
        self.fd = master
        self.slave = slave
        self.link: str | None = None
        try:
            mode = termios.tcgetattr(slave)
            cfmakeraw(mode)
            termios.tcsetattr(slave, termios.TCSAFLUSH, mode)
        except termios.error:
            pass
        self.name = os.ttyname(slave)
        self.log.err(STARS)
        self.log.err(f"virt-console backend redirected to {self.name}")
        self.log.err(STARS)
        os.set_blocking(master, False)
        self._watch(master)

    def make_link(self) -> None:
        path = self.port.path
        if path is None:
            return
        with contextlib.suppress(FileNotFoundError):
            if os.path.islink(path):
                os.unlink(path)
        try:
            os.symlink(self.name, path)
        except OSError as err:
            self.log.err(f"vtcon: cannot link {path} to {self.name}: {err.strerror}")
            return
        self.link = path

    def close(self) -> None:
        super().close()
        with contextlib.suppress(OSError):
            os.close(self.slave)
        if self.link is not None:
            with contextlib.suppress(OSError):
                if os.readlink(self.link) == self.name:
                    os.unlink(self.link)
            self.link = None


def _sun_path(path: str) -> bytes:
    return os.fsencode(path)[:SUN_PATH_MAX]


class SocketServerBackend(Backend):
    def open(self) -> None:
        assert self.port.path is not None
        self.address = _sun_path(self.port.path)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.conn: socket.socket | None = None
        with contextlib.suppress(OSError):
            os.unlink(self.port.path)
        try:
            self.listener.bind(self.address)
            self.listener.listen(64)
        except OSError as err:
            self.listener.close()
            raise BackendError([f"Bind Error = {err.errno}",
                                "vtcon: virtio_console_config_backend failed"],
                               err.errno or errno.EINVAL) from None
        st = os.stat(self.address)
        self.identity = (st.st_dev, st.st_ino)
        self.listener.setblocking(False)
        self.reactor.add_reader(self.listener.fileno(), self._accept)

    def _accept(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as err:
            self.log.err(f"accept error= {err.errno}, addr.sun_path={self.port.path}")
            return
        self._drop_conn()
        conn.setblocking(False)
        self.conn = conn
        self.fd = conn.fileno()
        self.dead = False
        self._watch(self.fd)

    def _drop_conn(self) -> None:
        if self.conn is not None:
            self.reactor.remove_reader(self.conn.fileno())
            self.conn.close()
            self.conn = None
            self.fd = -1

    def _eof(self, fd: int) -> None:
        if self.conn is not None and self.conn.fileno() == fd:
            self._drop_conn()

    def _write_failed(self, err: OSError) -> None:
        if err.errno in (errno.EAGAIN, errno.ENOTCONN):
            return
        self._drop_conn()  # the client went away; wait for the next one

    def close(self) -> None:
        self._drop_conn()
        self.reactor.remove_reader(self.listener.fileno())
        self.listener.close()
        try:
            st = os.stat(self.address)
        except OSError:
            return
        if (st.st_dev, st.st_ino) == self.identity:
            with contextlib.suppress(OSError):
                os.unlink(self.address)


class SocketClientBackend(Backend):
    def open(self) -> None:
        assert self.port.path is not None
        if not os.path.exists(self.port.path):
            raise BackendError([f"{self.port.path} not exist",
                                "vtcon: virtio_console_config_backend failed"])
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.connect(_sun_path(self.port.path))
        except OSError as err:
            self.log.err(f"vtcon: connect error[{err.errno}] ")
            self.dead = True
            return
        self.sock.setblocking(False)
        self.fd = self.sock.fileno()
        self._watch(self.fd)

    def _eof(self, fd: int) -> None:
        self.dead = True

    def close(self) -> None:
        self.reactor.remove_reader(self.sock.fileno())
        self.sock.close()
        self.fd = -1


class FileBackend(Backend):
    def open(self) -> None:
        assert self.port.path is not None
        try:
            self.fd = os.open(self.port.path,
                              os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NONBLOCK, 0o666)
        except OSError as err:
            raise BackendError([f"vtcon: open failed: {self.port.path}"],
                               err.errno or errno.EINVAL) from None


class TtyBackend(Backend):
    def open(self) -> None:
        assert self.port.path is not None
        tail = ["uart: open_backend failed"] if self.port.uart else []
        try:
            fd = os.open(self.port.path, os.O_RDWR | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError as err:
            raise BackendError([f"{self.prefix}: open failed: {self.port.path}", *tail],
                               err.errno or errno.EINVAL) from None
        if not os.isatty(fd):
            os.close(fd)
            raise BackendError([f"{self.prefix}: not a tty: {self.port.path}", *tail])
        self.fd = fd
        _RawTty(fd, opost=not self.port.uart, flush=self.port.uart)
        self._watch(fd)


class TcpBackend(Backend):
    def open(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.conn: socket.socket | None = None
        try:
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.listener.bind(("127.0.0.1", self.port.tcp_port))
            self.listener.listen(1)
        except OSError as err:
            self.listener.close()
            raise BackendError([f"uart: bind failed, errno = {err.errno}",
                                "uart: config_backend failed"],
                               err.errno or errno.EINVAL) from None
        self.listener.setblocking(False)
        self.reactor.add_reader(self.listener.fileno(), self._accept)

    def _accept(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        if self.conn is not None:
            self.reactor.remove_reader(self.conn.fileno())
            self.conn.close()
        conn.setblocking(False)
        self.conn = conn
        self.fd = conn.fileno()
        self.dead = False
        self._watch(self.fd)

    def _eof(self, fd: int) -> None:
        if self.conn is not None and self.conn.fileno() == fd:
            self.conn.close()
            self.conn = None
            self.fd = -1

    def close(self) -> None:
        if self.conn is not None:
            self.reactor.remove_reader(self.conn.fileno())
            self.conn.close()
            self.conn = None
        self.reactor.remove_reader(self.listener.fileno())
        self.listener.close()
        self.fd = -1


class NullBackend(Backend):
    """A COM port without a backend: the guest's output goes nowhere."""


BACKENDS: dict[str, type[Backend]] = {
    "stdio": StdioBackend,
    "pty": PtyBackend,
    "socket": SocketServerBackend,
    "file": FileBackend,
    "tty": TtyBackend,
    "tcp": TcpBackend,
    "none": NullBackend,
}


def make_backend(port: PortSpec, reactor: Reactor, log: DmLog, deliver: Deliver) -> Backend:
    cls = SocketClientBackend if port.backend == "socket" and port.client else \
        BACKENDS[port.backend]
    return cls(port, reactor, log, deliver)
