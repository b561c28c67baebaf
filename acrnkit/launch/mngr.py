"""The acrnctl <-> acrn-dm manager socket: message codec, socket lookup, client and server.

Wire facts (re-derived, not copied, from projectacrn/acrn-hypervisor):

* ``struct mngr_msg`` (v2.7 ``misc/services/acrn_manager/acrn_mngr.h``) is 280 bytes on x86-64:
  ``unsigned long long magic`` at 0, ``unsigned int msgid`` at 8, 4 pad bytes, ``unsigned long
  timestamp`` at 16 and a 256-byte ``union data`` at 24. Native little-endian, so the magic
  ``0x67736d206d6d76`` is the bytes ``76 6d 6d 20 6d 73 67 00`` ("vmm msg").
* The DM listens on ``/run/acrn/mngr/<vm>.monitor.<pid>.socket`` (``MNGR_SOCK_FMT`` in v3.2
  ``acrn_mngr.c`` with the name ``"<vm>.monitor"`` from ``devicemodel/core/monitor.c``).
* acrnctl writes one message per connection and reads one back, with a 1 s select timeout
  (``mngr_send_msg(fd, req, ack, 1)`` in v2.7 ``acrn_vm_ops.c``), and never checks the reply.
* The server reads up to 4096 bytes per read and parses whole 280-byte records from that one
  buffer; a wrong magic ends the parse silently; if no record of the buffer had a handler it
  prints ``Unknown message id: %d`` (the last record's id) on stderr and sends nothing
  (``server_parse_buf`` in v3.2 ``acrn_mngr.c``).

Run dirs are never global: every function takes ``run_dir``; ``default_run_dir()`` reads
``ACRNKIT_RUN_DIR`` each time it is called and falls back to ``/run/acrn``.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import os
import selectors
import socket
import stat
import struct
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TextIO

from acrnkit.errors import ConfigError, ManagerError
from acrnkit.releases.manager import MNGR_MSG_SIZE, ManagerProfile, manager_profile
from acrnkit.releases.versions import DEFAULT_VERSION

__all__ = [
    "CBC_WK_RSN_BTN",
    "DATA_LEN",
    "DEFAULT_RUN_DIR",
    "DEFAULT_TIMEOUT",
    "DEVARGS_MAX",
    "MNGR_MSG_FORMAT",
    "MNGR_MSG_MAGIC",
    "MNGR_MSG_SIZE",
    "RUN_DIR_ENV",
    "ManagerClient",
    "ManagerServer",
    "ManagerSocket",
    "MngrHandler",
    "MngrMessage",
    "VmSuspendMode",
    "default_run_dir",
    "devargs_data",
    "err_data",
    "find_sockets",
    "find_vm_socket",
    "mngr_dir",
    "parse_socket_name",
    "reason_data",
    "socket_path",
    "state_data",
    "stop_data",
    "unpack_magic",
]

#: ``MNGR_MSG_MAGIC`` (acrn_mngr.h, every tag); the header comment calls it "mngr msg" but the
#: little-endian bytes spell "vmm msg\0".
MNGR_MSG_MAGIC = 0x67736D206D6D76
#: magic, msgid, 4 pad bytes, timestamp, union data.
MNGR_MSG_FORMAT = "<QI4xQ256s"
#: ``PARAM_LEN``: the size of ``union data`` (its largest member is ``char devargs[256]``).
DATA_LEN = 256
#: acrnctl copies at most ``PARAM_LEN - 1`` devargs bytes and forces a NUL (v2.7 acrn_vm_ops.c
#: ``blkrescan_vm``).
DEVARGS_MAX = DATA_LEN - 1
#: Default wake-up reason of ``acrnctl resume``: ``CBC_WK_RSN_BTN (1 << 5)`` (v2.7
#: devicemodel/include/ioc.h).
CBC_WK_RSN_BTN = 1 << 5
#: acrnctl's client timeout in seconds (``mngr_send_msg(..., 1)``).
DEFAULT_TIMEOUT = 1.0
DEFAULT_RUN_DIR = "/run/acrn"
RUN_DIR_ENV = "ACRNKIT_RUN_DIR"

# The server's read buffer (``CLIENT_BUF_LEN`` in acrn_mngr.c); a read that fills it is dropped.
_SERVER_BUF_LEN = 4096
# ``MNGR_MAX_CLIENT``: the DM's listen thread stops accepting at 4 open connections.
_MAX_CLIENTS = 4
# sockaddr_un.sun_path is 108 bytes including the NUL.
_SUN_PATH_MAX = 107

_MSG = struct.Struct(MNGR_MSG_FORMAT)
assert _MSG.size == MNGR_MSG_SIZE


class VmSuspendMode(enum.IntEnum):
    """``enum vm_suspend_how`` (v2.7 devicemodel/include/pm.h): the DM_QUERY reply ``state``."""

    NONE = 0
    SYSTEM_RESET = 1
    FULL_RESET = 2
    POWEROFF = 3
    SUSPEND = 4
    HALT = 5
    TRIPLEFAULT = 6


# --------------------------------------------------------------------------------------------
# The message codec
# --------------------------------------------------------------------------------------------


def _int32(value: int, field: str) -> bytes:
    if not -(2**31) <= value < 2**31:
        raise ConfigError(field, value, "must fit a C int (32-bit signed)")
    return struct.pack("<i", value)


def _uint32(value: int, field: str) -> bytes:
    if not 0 <= value < 2**32:
        raise ConfigError(field, value, "must fit a C unsigned int (32-bit)")
    return struct.pack("<I", value)


def stop_data(force: bool, timeout: int = 0) -> bytes:
    """``data.acrnd_stop`` = ``{int force; unsigned timeout;}``; acrnctl sets only ``force``."""
    return _int32(1 if force else 0, "force") + _uint32(timeout, "timeout")


def reason_data(reason: int) -> bytes:
    """``data.reason`` (unsigned) for DM_RESUME."""
    return _uint32(reason, "reason")


def err_data(err: int) -> bytes:
    """``data.err`` (int): the ack of STOP, SUSPEND, RESUME, PAUSE, CONTINUE and BLKRESCAN."""
    return _int32(err, "err")


def state_data(state: int) -> bytes:
    """``data.state`` (int): the ack of DM_QUERY."""
    return _int32(state, "state")


def devargs_data(text: str) -> bytes:
    """``data.devargs`` as acrnctl fills it: UTF-8, cut to 255 bytes, NUL-padded to 256."""
    raw = text.encode("utf-8", "surrogateescape")[:DEVARGS_MAX]
    return raw.ljust(DATA_LEN, b"\0")


@dataclass(frozen=True, repr=False)
class MngrMessage:
    """One ``struct mngr_msg`` without its magic; ``data`` is always normalised to 256 bytes."""

    msgid: int
    timestamp: int = 0
    data: bytes = b""

    def __repr__(self) -> str:
        # 256 mostly-NUL bytes drown a test failure; show the meaningful prefix only.
        head = self.data.rstrip(b"\0")
        return (
            f"MngrMessage(msgid={self.msgid}, timestamp={self.timestamp}, "
            f"data={head!r} + {DATA_LEN - len(head)} NUL)"
        )

    def __post_init__(self) -> None:
        if not 0 <= self.msgid < 2**32:
            raise ConfigError("msgid", self.msgid, "must fit a C unsigned int (32-bit)")
        if not 0 <= self.timestamp < 2**64:
            raise ConfigError("timestamp", self.timestamp, "must fit a C unsigned long (64-bit)")
        data = bytes(self.data)
        if len(data) > DATA_LEN:
            raise ConfigError("data", len(data), f"the data union holds at most {DATA_LEN} bytes")
        object.__setattr__(self, "data", data.ljust(DATA_LEN, b"\0"))

    # -- wire ------------------------------------------------------------------------------

    def to_bytes(self, *, magic: int = MNGR_MSG_MAGIC) -> bytes:
        """The 280 bytes on the wire (pad bytes are zero; the real acrnctl leaves them junk)."""
        return _MSG.pack(magic, self.msgid, self.timestamp, self.data)

    @classmethod
    def from_bytes(cls, buf: bytes, *, check_magic: bool = True) -> MngrMessage:
        """Decode the first 280 bytes of ``buf``; ManagerError if short or (if checked) not
        carrying the magic."""
        if len(buf) < MNGR_MSG_SIZE:
            raise ManagerError(
                f"short manager message: {len(buf)} of {MNGR_MSG_SIZE} bytes"
            )
        magic, msgid, timestamp, data = _MSG.unpack_from(buf)
        if check_magic and magic != MNGR_MSG_MAGIC:
            raise ManagerError(
                f"bad manager message magic 0x{magic:016x} (expected 0x{MNGR_MSG_MAGIC:016x})"
            )
        return cls(msgid, timestamp, data)

    # -- replies ---------------------------------------------------------------------------

    def reply(self, data: bytes = b"") -> MngrMessage:
        """An ack as the DM builds it: same msgid, the request's timestamp echoed."""
        return MngrMessage(self.msgid, self.timestamp, data)

    def reply_err(self, err: int) -> MngrMessage:
        return self.reply(err_data(err))

    def reply_state(self, state: int) -> MngrMessage:
        return self.reply(state_data(state))

    # -- views of the data union -------------------------------------------------------------

    @property
    def err(self) -> int:
        return int(struct.unpack_from("<i", self.data)[0])

    @property
    def state(self) -> int:
        return int(struct.unpack_from("<i", self.data)[0])

    @property
    def reason(self) -> int:
        return int(struct.unpack_from("<I", self.data)[0])

    @property
    def force(self) -> bool:
        """``data.acrnd_stop.force`` is an int; the DM treats any non-zero value as true."""
        return bool(struct.unpack_from("<i", self.data)[0] != 0)

    @property
    def stop_timeout(self) -> int:
        return int(struct.unpack_from("<I", self.data, 4)[0])

    @property
    def devargs(self) -> str:
        """``data.devargs`` up to the first NUL (undecodable bytes kept as surrogates)."""
        raw = self.data.split(b"\0", 1)[0]
        return raw.decode("utf-8", "surrogateescape")


def unpack_magic(buf: bytes) -> int:
    """The magic of the record at the start of ``buf`` (which must hold at least 8 bytes)."""
    return int(struct.unpack_from("<Q", buf)[0])


# --------------------------------------------------------------------------------------------
# Paths and lookup
# --------------------------------------------------------------------------------------------


def default_run_dir() -> Path:
    """``$ACRNKIT_RUN_DIR`` if set and non-empty, else ``/run/acrn`` (read on every call)."""
    return Path(os.environ.get(RUN_DIR_ENV) or DEFAULT_RUN_DIR)


def _run_dir(run_dir: str | os.PathLike[str] | None) -> Path:
    return default_run_dir() if run_dir is None else Path(run_dir)


def mngr_dir(run_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<run_dir>/mngr`` (``ACRN_DM_SOCK_PATH``)."""
    return _run_dir(run_dir) / "mngr"


def socket_path(run_dir: str | os.PathLike[str] | None, vm: str, pid: int) -> Path:
    """``<run_dir>/mngr/<vm>.monitor.<pid>.socket``, where acrn-dm ``pid`` listens for ``vm``."""
    return mngr_dir(run_dir) / f"{vm}.monitor.{pid}.socket"


@dataclass(frozen=True)
class ManagerSocket:
    """A directory entry named like a DM manager socket (it may be a plain file: acrnctl only
    looks at names, so neither do we)."""

    path: Path
    vm_name: str
    pid: int


def parse_socket_name(name: str) -> tuple[str, int] | None:
    """``("vm1", 42)`` for ``vm1.monitor.42.socket``; None for anything else.

    Like acrnctl's ``_get_vmname_pid`` (v2.7 acrn_vm_ops.c) the VM name ends at the *first* dot,
    so a VM whose name contains a dot is invisible to ``acrnctl list`` and to this function.
    """
    vm, sep, rest = name.partition(".")
    if not vm or not sep or not rest.startswith("monitor."):
        return None
    pid_text, sep, tail = rest[len("monitor."):].partition(".")
    if not sep or tail != "socket" or not pid_text.isdigit() or not pid_text.isascii():
        return None
    return vm, int(pid_text)


def find_sockets(run_dir: str | os.PathLike[str] | None = None) -> list[ManagerSocket]:
    """Every ``<vm>.monitor.<pid>.socket`` in ``<run_dir>/mngr``, sorted by (vm, pid).

    A missing directory is an empty list (``acrnctl list`` also succeeds without it).
    """
    directory = mngr_dir(run_dir)
    found: list[ManagerSocket] = []
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return found
    for entry in entries:
        parsed = parse_socket_name(entry.name)
        if parsed is not None:
            found.append(ManagerSocket(directory / entry.name, parsed[0], parsed[1]))
    found.sort(key=lambda s: (s.vm_name, s.pid))
    return found


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


def find_vm_socket(
    run_dir: str | os.PathLike[str] | None, vm: str, prefix_match: bool = False
) -> Path | None:
    """The manager socket of ``vm`` in ``<run_dir>/mngr``, or None.

    Exact by default: the name before ``.monitor.`` must equal ``vm``. If stale sockets of dead
    DMs linger, one whose pid is alive wins, then the newest.

    ``prefix_match=True`` reproduces acrnctl's ``connect_to_server`` (v3.2 acrn_mngr.c): walk the
    directory in readdir order and take the first entry, of any shape, whose text before its
    first dot is a prefix of ``vm``, so asking for ``vm10`` can reach ``vm1.monitor.7.socket``.
    """
    directory = mngr_dir(run_dir)
    if prefix_match:
        try:
            names = [entry.name for entry in os.scandir(directory)]
        except (FileNotFoundError, NotADirectoryError):
            return None
        for name in names:
            dot = name.find(".")
            if dot > 0 and vm.startswith(name[:dot]):
                return directory / name
        return None
    matches = [s for s in find_sockets(run_dir) if s.vm_name == vm]
    if not matches:
        return None
    best = max(matches, key=lambda s: (_pid_alive(s.pid), _mtime(s.path)))
    return best.path


@contextlib.contextmanager
def _unix_address(path: Path) -> Iterator[str]:
    """An AF_UNIX address for ``path`` even when it is longer than sun_path allows.

    pytest's tmp_path plus ``mngr/<vm>.monitor.<pid>.socket`` easily passes 107 bytes; binding or
    connecting through ``/proc/self/fd/<dirfd>/<name>`` reaches the same inode with a short path.
    """
    if len(os.fsencode(path)) <= _SUN_PATH_MAX:
        yield str(path)
        return
    dir_fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{dir_fd}/{path.name}"
    finally:
        os.close(dir_fd)


# --------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------


class ManagerClient:
    """Talks to one VM's acrn-dm over its manager socket, one message per connection, the way
    acrnctl does. Every failure is a one-line ``ManagerError``.

    ``strict`` (default) also rejects a reply whose magic or msgid is wrong; pass
    ``strict=False`` to accept anything of the right size, as acrnctl does. ``path`` pins the
    socket instead of looking ``vm_name`` up in ``<run_dir>/mngr``.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike[str] | None,
        vm_name: str,
        version: str = DEFAULT_VERSION,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        prefix_match: bool = False,
        strict: bool = True,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        if timeout <= 0:
            raise ConfigError("timeout", timeout, "must be > 0 seconds")
        self.path = None if path is None else Path(path)
        self.run_dir = _run_dir(run_dir)
        self.vm_name = vm_name
        self.profile: ManagerProfile = manager_profile(version)
        self.timeout = timeout
        self.prefix_match = prefix_match
        self.strict = strict

    @property
    def version(self) -> str:
        return self.profile.version

    def locate(self) -> Path:
        """The socket this client would talk to; ManagerError if there is none."""
        if self.path is not None:
            return self.path
        path = find_vm_socket(self.run_dir, self.vm_name, self.prefix_match)
        if path is None:
            raise ManagerError(
                f"no manager socket for VM {self.vm_name!r} in {mngr_dir(self.run_dir)} "
                "(acrn-dm not running or already shut down)"
            )
        return path

    def request(
        self, msgid: int, data: bytes = b"", *, timestamp: int | None = None
    ) -> MngrMessage:
        """Send one raw message and return the ack."""
        message = MngrMessage(msgid, int(time.time()) if timestamp is None else timestamp, data)
        path = self.locate()
        name = self.profile.name_of(msgid) or f"message id {msgid}"
        deadline = time.monotonic() + self.timeout
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout)
            try:
                with _unix_address(path) as address:
                    sock.connect(address)
                sock.sendall(message.to_bytes())
            except TimeoutError:
                raise ManagerError(
                    f"manager socket {path} did not accept {name} within {self.timeout:g} s"
                ) from None
            except OSError as exc:
                raise ManagerError(
                    f"cannot send {name} to manager socket {path}: "
                    f"{exc.strerror or exc} (acrn-dm gone?)"
                ) from None
            reply = self._read_reply(sock, deadline, path, name)
        ack = MngrMessage.from_bytes(reply, check_magic=False)
        if self.strict:
            magic = unpack_magic(reply)
            if magic != MNGR_MSG_MAGIC:
                raise ManagerError(f"bad reply from {path} to {name}: magic 0x{magic:016x}")
            if ack.msgid != msgid:
                raise ManagerError(
                    f"bad reply from {path} to {name}: msgid {ack.msgid}, expected {msgid}"
                )
        return ack

    def _read_reply(self, sock: socket.socket, deadline: float, path: Path, name: str) -> bytes:
        chunks: list[bytes] = []
        received = 0
        while received < MNGR_MSG_SIZE:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(MNGR_MSG_SIZE - received)
            except TimeoutError:
                break
            except OSError as exc:
                raise ManagerError(
                    f"reading the reply to {name} from {path} failed: {exc.strerror or exc}"
                ) from None
            if not chunk:
                if received == 0:
                    raise ManagerError(
                        f"no reply from {path} to {name}: the connection was closed"
                    )
                break
            chunks.append(chunk)
            received += len(chunk)
        if received == 0:
            raise ManagerError(f"no reply from {path} to {name} within {self.timeout:g} s")
        if received < MNGR_MSG_SIZE:
            raise ManagerError(
                f"short reply from {path} to {name}: {received} of {MNGR_MSG_SIZE} bytes"
            )
        return b"".join(chunks)

    def send(self, name: str, data: bytes = b"") -> MngrMessage:
        """Send the message named ``name`` (e.g. ``"DM_QUERY"``) in this client's release."""
        if name not in self.profile.ids:
            raise ManagerError(
                f"{name} does not exist in ACRN {self.version}'s manager protocol"
            )
        return self.request(self.profile.ids[name], data)

    def _command(self, command: str, name: str, data: bytes = b"") -> MngrMessage:
        if name not in self.profile.ids:
            raise ManagerError(
                f"{command}: ACRN {self.version} has no {name} manager message"
            )
        return self.request(self.profile.ids[name], data)

    def query(self) -> int:
        """DM_QUERY: the VM's suspend mode (see ``VmSuspendMode``; -1 when the DM has none)."""
        return self._command("query", "DM_QUERY").state

    def stop(self, force: bool = False) -> int:
        """DM_STOP with ``data.acrnd_stop.force``; returns the ack's ``err`` (0 = accepted)."""
        return self._command("stop", "DM_STOP", stop_data(force)).err

    def blkrescan(self, slot: int, path: str) -> int:
        """DM_BLKRESCAN with devargs ``"<slot>,<path>"``; returns ``err``."""
        devargs = _blkrescan_devargs(slot, path)
        return self._command("blkrescan", "DM_BLKRESCAN", devargs_data(devargs)).err

    def suspend(self) -> int:
        """DM_SUSPEND. acrnctl dropped ``suspend`` in 3.0, but acrn-dm up to v3.3 still has the
        message (monitor.c registers it), so it is gated on the message, not on acrnctl."""
        return self._command("suspend", "DM_SUSPEND").err

    def resume(self, reason: int = CBC_WK_RSN_BTN) -> int:
        """DM_RESUME with ``data.reason`` (acrnctl's default is CBC_WK_RSN_BTN)."""
        return self._command("resume", "DM_RESUME", reason_data(reason)).err

    def pause(self) -> int:
        """DM_PAUSE (1.x only)."""
        return self._command("pause", "DM_PAUSE").err

    def cont(self) -> int:
        """DM_CONTINUE (1.x only; ``acrnctl continue``)."""
        return self._command("continue", "DM_CONTINUE").err


def _blkrescan_devargs(slot: int, path: str) -> str:
    # The DM's rescan parses "<slot>,<path>"; PCI slots are 0..31 (pci_parse_slot, hw/pci/core.c).
    if isinstance(slot, bool) or not isinstance(slot, int) or not 0 <= slot <= 31:
        raise ConfigError("slot", slot, "must be a PCI slot number 0..31")
    if not path:
        raise ConfigError("path", path, "must not be empty")
    devargs = f"{slot},{path}"
    if len(devargs.encode("utf-8", "surrogateescape")) > DEVARGS_MAX:
        raise ConfigError(
            "devargs", devargs, f"longer than {DEVARGS_MAX} bytes; acrnctl would cut it"
        )
    return devargs


# --------------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------------

#: A request handler: return the reply (its msgid and timestamp are replaced by the request's),
#: or None to send nothing.
MngrHandler = Callable[[MngrMessage], MngrMessage | None]


class _Client:
    __slots__ = ("sock",)

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock


class ManagerServer:
    """The DM half of the manager socket.

    Binds at construction (``mkdir -p`` of the directory, a stale path is unlinked first, as the
    DM does). Two ways to drive it:

    * single-threaded: register the server itself in your selector (``fileno()`` is an epoll
      fd that becomes readable when the listening socket or any client is ready) and call
      ``handle_ready()`` when it is;
    * ``serve_in_thread()`` for tests. ``close()`` stops the thread, closes every socket and
      unlinks the path; if the handler raised inside the thread, ``close()`` re-raises it.

    ``msgids`` are the ids that have a handler; the default is every DM id of ``version``.
    Everything well-formed that arrives is appended to ``received`` (handled or not).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        handler: MngrHandler,
        *,
        version: str = DEFAULT_VERSION,
        msgids: Collection[int] | None = None,
        max_clients: int = _MAX_CLIENTS,
        stderr: TextIO | None = None,
    ) -> None:
        if max_clients < 1:
            raise ConfigError("max_clients", max_clients, "must be >= 1")
        self.path = Path(path)
        self.handler = handler
        self.profile = manager_profile(version)
        self.msgids: frozenset[int] = frozenset(
            self.profile.ids.values() if msgids is None else msgids
        )
        self.max_clients = max_clients
        self.received: list[MngrMessage] = []
        self._stderr = stderr
        self._clients: dict[int, _Client] = {}
        self._closed = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._thread_error: BaseException | None = None

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with _unix_address(self.path) as address:
                self._listener.bind(address)
            st = self.path.lstat()
            self._identity = (st.st_dev, st.st_ino)
            self._listener.listen(max_clients)
            self._listener.setblocking(False)
            self._selector = selectors.EpollSelector()
        except BaseException:
            self._listener.close()
            with contextlib.suppress(OSError):
                self.path.unlink()
            raise
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._selector.register(self._wake_r, selectors.EVENT_READ, self._wake_r)
        self._accepting = True

    @classmethod
    def for_vm(
        cls,
        run_dir: str | os.PathLike[str] | None,
        vm_name: str,
        handler: MngrHandler,
        *,
        pid: int | None = None,
        version: str = DEFAULT_VERSION,
        msgids: Collection[int] | None = None,
        stderr: TextIO | None = None,
    ) -> ManagerServer:
        """A server at ``socket_path(run_dir, vm_name, pid or os.getpid())``."""
        path = socket_path(run_dir, vm_name, os.getpid() if pid is None else pid)
        return cls(path, handler, version=version, msgids=msgids, stderr=stderr)

    # -- event-loop integration -------------------------------------------------------------

    def fileno(self) -> int:
        """An fd that polls readable whenever ``handle_ready()`` has work."""
        return self._selector.fileno()

    def handle_ready(self, timeout: float = 0.0) -> int:
        """Accept and serve whatever is ready (waiting up to ``timeout`` s); returns the number
        of ready sockets handled. Not to be mixed with a running ``serve_in_thread()``."""
        if self._closed:
            return 0
        events = self._selector.select(timeout)
        for key, _mask in events:
            if key.data is None:
                self._accept()
            elif key.data is self._wake_r:
                with contextlib.suppress(BlockingIOError):
                    self._wake_r.recv(64)
            else:
                assert isinstance(key.data, _Client)
                self._serve(key.data)
        return len(events)

    def _accept(self) -> None:
        while len(self._clients) < self.max_clients:
            try:
                conn, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            # A timeout only bounds sendall(); recv() is called after the selector says ready.
            conn.settimeout(DEFAULT_TIMEOUT)
            client = _Client(conn)
            self._clients[conn.fileno()] = client
            self._selector.register(conn, selectors.EVENT_READ, client)
        # At the limit the DM's listen thread sleeps instead of accepting; we stop watching the
        # listener so that queued connections wait in the backlog without a busy loop.
        if self._accepting:
            self._selector.unregister(self._listener)
            self._accepting = False

    def _drop(self, client: _Client) -> None:
        fd = client.sock.fileno()
        if fd >= 0:
            self._selector.unregister(client.sock)
            self._clients.pop(fd, None)
        client.sock.close()
        if not self._accepting and not self._closed:
            self._selector.register(self._listener, selectors.EVENT_READ, None)
            self._accepting = True

    def _serve(self, client: _Client) -> None:
        try:
            buf = client.sock.recv(_SERVER_BUF_LEN)
        except (BlockingIOError, InterruptedError, TimeoutError):
            return
        except OSError:
            self._drop(client)
            return
        if not buf:
            self._drop(client)
            return
        if len(buf) == _SERVER_BUF_LEN:
            # The DM cannot tell where a full buffer ends and drops it (v3.2 acrn_mngr.c).
            self._say("TODO: buf overflow!\r\n")
            return
        self._parse(client, buf)

    def _parse(self, client: _Client, buf: bytes) -> None:
        if len(buf) < MNGR_MSG_SIZE:
            return
        handled = False
        last: MngrMessage | None = None
        for offset in range(0, len(buf) - MNGR_MSG_SIZE + 1, MNGR_MSG_SIZE):
            record = buf[offset:offset + MNGR_MSG_SIZE]
            if unpack_magic(record) != MNGR_MSG_MAGIC:
                return  # the rest of the buffer is dropped, and nothing is printed
            request = MngrMessage.from_bytes(record, check_magic=False)
            self.received.append(request)
            last = request
            if request.msgid not in self.msgids:
                continue
            handled = True
            answer = self.handler(request)
            if answer is not None and not self._reply(client, request, answer):
                return
        if not handled and last is not None:
            # msgid is unsigned but the DM prints it with %d.
            shown = last.msgid - 2**32 if last.msgid >= 2**31 else last.msgid
            self._say(f"Unknown message id: {shown}\n")

    def _reply(self, client: _Client, request: MngrMessage, answer: MngrMessage) -> bool:
        ack = MngrMessage(request.msgid, request.timestamp, answer.data)
        try:
            client.sock.sendall(ack.to_bytes())
        except OSError:
            self._drop(client)
            return False
        return True

    def _say(self, text: str) -> None:
        stream = self._stderr if self._stderr is not None else sys.stderr
        stream.write(text)
        stream.flush()

    # -- threaded use ------------------------------------------------------------------------

    def serve_in_thread(self, poll_interval: float = 0.05) -> ManagerServer:
        """Serve from a daemon thread until ``close()``; returns self (usable in ``with``)."""
        if self._closed:
            raise ManagerError(f"manager server {self.path} is closed")
        if self._thread is not None:
            return self
        self._thread = threading.Thread(
            target=self._thread_main, args=(poll_interval,),
            name=f"mngr-server:{self.path.name}", daemon=True,
        )
        self._thread.start()
        return self

    def _thread_main(self, poll_interval: float) -> None:
        try:
            while not self._stop.is_set():
                self.handle_ready(poll_interval)
        except BaseException as exc:
            self._thread_error = exc

    # -- teardown ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stop serving, close every socket and unlink the path (if it is still ours)."""
        if self._closed:
            return
        self._stop.set()
        if self._thread is not None:
            with contextlib.suppress(OSError):
                self._wake_w.send(b"x")
            self._thread.join()
        self._closed = True
        for client in list(self._clients.values()):
            client.sock.close()
        self._clients.clear()
        self._selector.close()
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()
        self._unlink_if_ours()
        error, self._thread_error = self._thread_error, None
        if error is not None:
            raise error

    def _unlink_if_ours(self) -> None:
        try:
            st = self.path.lstat()
        except FileNotFoundError:
            return
        # Someone (a restarted DM with the same pid, a test) may have replaced the path.
        if stat.S_ISSOCK(st.st_mode) and (st.st_dev, st.st_ino) == self._identity:
            try:
                self.path.unlink()
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> ManagerServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
