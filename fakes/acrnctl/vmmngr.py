"""acrnctl's view of the VMs and its manager-socket client, re-implemented from the C.

Sources: ``misc/services/acrn_manager/acrn_vm_ops.c`` and ``acrn_mngr.c`` at v2.7, v3.0, v3.2
and v3.3, ``misc/acrn-manager/`` at v1.6 (``acrn_mngr.c`` is identical in all of them, down to
the line numbers that its ``printf("%s %d\\n", __FUNCTION__, __LINE__)`` diagnostics print).

Every command first calls ``vmmngr_update()``:

* ``_scan_added_vm``: every ``<name>.sh*`` entry of the store directory is a *stopped* VM (the
  store is ``/usr/share/acrn/conf/add`` on a real host, ``<run_dir>/conf/add`` here);
* ``_scan_alive_vm``: every ``<name>.monitor.<pid>.socket`` entry of ``<run_dir>/mngr`` gets a
  DM_QUERY, in readdir order. A reply state 0 is *started*, 4 (``VM_SUSPEND_SUSPEND``)
  *suspended*, anything else *unknown*; a failed QUERY counts as *started*;
* ``_remove_dead_vm``: entries not seen this round are dropped (``reset`` rescans in a loop).

New entries go to the head of the list (``LIST_INSERT_HEAD``), so ``list`` prints them in reverse
discovery order. Names are cut to ``name_buf - 1`` bytes when stored, but looked up with the full
name, as the C does.

The client (``send_msg`` -> ``mngr_open_un`` -> ``connect_to_server`` -> ``mngr_send_msg``) finds
the socket by the name-prefix quirk (the first readdir entry whose text before its first dot is a
prefix of the VM name, :func:`acrnkit.launch.mngr.find_vm_socket` with ``prefix_match=True``),
writes one 280-byte message once the socket is writable and does a single ``read()`` of at most
280 bytes once it is readable, both ``select``s sharing one 1 s budget. The reply's magic, id and
length are never checked. It does not use :class:`acrnkit.launch.mngr.ManagerClient`, which
reads until it has 280 bytes and reports failures as exceptions: acrnctl's diagnostics tell the
failure points apart, so the fake needs them separately.

Where acrnctl reads an ack that never arrived (no reply within 1 s, or a short one), its ``struct
mngr_msg ack`` is uninitialised stack. The fake fills those bytes with 0xff, so ``err`` and
``state`` read -1: a STOP that got no answer fails with ``errno(-1)`` and exit 255 instead of
whatever the stack held.
"""

from __future__ import annotations

import os
import stat
import time
from typing import TYPE_CHECKING

from .release import (
    VM_CREATED,
    VM_STARTED,
    VM_STATE_UNKNOWN,
    VM_SUSPEND_NONE,
    VM_SUSPEND_SUSPEND,
    VM_SUSPENDED,
    CtlRelease,
)
from .streams import Streams

if TYPE_CHECKING:
    import socket

#: ``PATH_LEN`` (acrn_mngr.h).
PATH_LEN = 128
#: ``sizeof(struct mngr_msg)`` (acrnkit.releases.manager.MNGR_MSG_SIZE; kept here so that the
#: fast paths need not import it).
MSG_SIZE = 280
#: Offset of ``union data`` in ``struct mngr_msg``.
DATA_OFFSET = 24
#: ``mngr_send_msg(fd, req, ack, 1)``: one budget for both selects (Linux select() updates the
#: timeval it is given, and acrn_mngr.c reuses it).
SEND_TIMEOUT = 1.0
#: The fake's stand-in for the uninitialised ack bytes (see the module docstring).
ACK_FILL = b"\xff" * MSG_SIZE
#: ``sizeof(sockaddr_un.sun_path)``.
_SUN_PATH = 108
#: What ``connect_to_server`` prefixes a socket name with on a real host.
_REAL_MNGR_PREFIX = b"/run/acrn/mngr/"
#: A blocking AF_UNIX connect waits while the listener's backlog is full; the real acrnctl waits
#: forever, the fake gives up after this many seconds (and reports a failed connect).
CONNECT_GUARD = 10.0
# ``__LINE__`` of each ``printf("%s %d\n", __FUNCTION__, __LINE__)`` in acrn_mngr.c (the same at
# v1.6, v2.7, v3.0, v3.2 and v3.3).
_LINE_CONNECT_SOCKET = 455
_LINE_CONNECT = 469
_LINE_SELECT_WRITE = 603
_LINE_WRITE = 609
_LINE_SELECT_READ = 622
_LONG_MAX = 2**63 - 1


class VmEntry:
    """``struct vmmngr_struct``."""

    __slots__ = ("name", "state", "state_tmp", "update")

    def __init__(self, name: str) -> None:
        self.name = name
        self.state = VM_STATE_UNKNOWN
        self.state_tmp = VM_STATE_UNKNOWN
        self.update = 0


def blen(text: str) -> int:
    """Length in bytes, as C's strlen sees the argv/file-name bytes."""
    return len(os.fsencode(text))


def _cut(text: str, size: int) -> str:
    return os.fsdecode(os.fsencode(text)[:size])


def _strtol_overflows(text: bytes) -> bool:
    """True when ``strtol(text, NULL, 10)`` would set ERANGE (the only pid that acrnctl's
    ``_get_vmname_pid`` rejects: anything else, even no digits at all, parses)."""
    i = 0
    while i < len(text) and text[i] in b" \t\n\v\f\r":
        i += 1
    negative = False
    if i < len(text) and text[i] in b"+-":
        negative = text[i] == ord("-")
        i += 1
    j = i
    while j < len(text) and 48 <= text[j] <= 57:
        j += 1
    if j == i:
        return False
    value = int(text[i:j])
    return value > (_LONG_MAX + 1 if negative else _LONG_MAX)


def vmname_from_socket(entry: str) -> str | None:
    """``_get_vmname_pid`` (v3.2 acrn_vm_ops.c): the VM name of a ``<name>.monitor.<pid>.socket``
    directory entry, or None.

    Laxer than :func:`acrnkit.launch.mngr.parse_socket_name`, as the C is: the name is the text
    before the first dot (1..127 bytes); the pid may be any text without a dot that strtol does
    not overflow on; anything may follow ``.socket``.
    """
    raw = os.fsencode(entry)
    dot = raw.find(b".")
    if dot <= 0 or dot >= PATH_LEN:
        return None
    rest = raw[dot:]
    if not rest.startswith(b".monitor."):
        return None
    pid = rest[len(b".monitor."):]
    if _strtol_overflows(pid):
        return None
    nxt = pid.find(b".")
    if nxt < 0 or not pid[nxt:].startswith(b".socket"):
        return None
    return os.fsdecode(raw[:dot])


def vmname_from_conf(entry: str) -> str | None:
    """``_get_vmname_suffix`` + ``_scan_added_vm``: ``<name>.sh*`` entries shorter than
    PATH_LEN bytes name a stopped VM."""
    raw = os.fsencode(entry)
    if len(raw) >= PATH_LEN:
        return None
    dot = raw.find(b".")
    if dot <= 0 or not raw[dot + 1:].startswith(b"sh"):
        return None
    return os.fsdecode(raw[:dot])


class VmMngr:
    """``vmmngr_head`` and the functions of acrn_vm_ops.c around it, for one process."""

    def __init__(self, release: CtlRelease, run_dir: str, streams: Streams) -> None:
        self.release = release
        self.run_dir = run_dir
        self.mngr_dir = os.path.join(run_dir, "mngr")
        self.conf_dir = os.path.join(run_dir, "conf")
        self.conf_add = os.path.join(self.conf_dir, "add")
        self.io = streams
        self.entries: list[VmEntry] = []
        self.update_count = 0
        self._ids: dict[str, int] | None = None

    # -- the VM list -------------------------------------------------------------------------

    def find(self, name: str) -> VmEntry | None:
        for entry in self.entries:
            if entry.name == name:
                return entry
        return None

    def _find_or_add(self, name: str) -> VmEntry:
        entry = self.find(name)
        if entry is None:
            entry = VmEntry(_cut(name, self.release.name_buf - 1))
            self.entries.insert(0, entry)
        return entry

    def update(self) -> None:
        """``vmmngr_update``."""
        self.update_count += 1
        self._scan_added()
        self._scan_alive()
        self._remove_dead()

    def check_dir(self, path: str) -> int:
        """``check_dir(path, CHK_ONLY)`` (acrn_mngr.c)."""
        try:
            st = os.stat(path)
        except OSError:
            self.io.out(f"{path} doesn't exist!\n")
            return -1
        if stat.S_ISDIR(st.st_mode):
            return 0
        self.io.err(f"{path} exist, and not a directory!\n")
        return -1

    def _scan_added(self) -> None:
        for path in (self.conf_dir, self.conf_add):
            ret = self.check_dir(path)
            if ret:
                self.io.out(f"_scan_added_vm: Failed to check directory {path}, err: {ret}\n")
                return
        try:
            names = os.listdir(self.conf_add)
        except OSError:
            self.io.out(f"_scan_added_vm: Failed to open directory {self.conf_add}\n")
            return
        for entry_name in names:  # os.listdir keeps readdir order
            name = vmname_from_conf(entry_name)
            if name is None:
                continue
            entry = self._find_or_add(name)
            entry.state_tmp = VM_CREATED
            entry.update = self.update_count

    def _scan_alive(self) -> None:
        ret = self.check_dir(self.mngr_dir)
        if ret:
            hint = (
                "\n\t\t\tMake sure the acrnd daemon is running ('systemctl status acrnd')."
                if self.release.acrnd_hint else ""
            )
            self.io.out(
                f"_scan_alive_vm: Failed to check directory {self.mngr_dir}, err: {ret}{hint}\n"
            )
            return
        try:
            names = os.listdir(self.mngr_dir)
        except OSError:
            self.io.out(f"_scan_alive_vm: Failed to open directory {self.mngr_dir}\n")
            return
        for entry_name in names:
            name = vmname_from_socket(entry_name)
            if name is None:
                continue
            entry = self._find_or_add(name)
            state = self.query_state(name)
            if state < 0 or state == VM_SUSPEND_NONE:  # < 0: "unsupport query"
                entry.state_tmp = VM_STARTED
            elif state == VM_SUSPEND_SUSPEND:
                entry.state_tmp = VM_SUSPENDED
            else:
                # The C prints the entry's *previous* state, not the reply (0 on a first scan).
                self.io.err(f"Warnning: unknow vm state:0x{entry.state:x}\n")
                entry.state_tmp = VM_STATE_UNKNOWN
            entry.update = self.update_count

    def _remove_dead(self) -> None:
        for entry in list(self.entries):
            if entry.update == self.update_count:
                entry.state = entry.state_tmp
                continue
            self.entries.remove(entry)
            self.io.out(f"_remove_dead_vm: Removed dead {entry.name}\n")

    # -- messages ----------------------------------------------------------------------------

    def msgid(self, name: str) -> int:
        """The id of ``name`` (``"DM_QUERY"``...) in this release (acrnkit.releases.manager)."""
        if self._ids is None:
            from acrnkit.releases.manager import manager_profile

            self._ids = dict(manager_profile(self.release.version).ids)
        return self._ids[name]

    def query_state(self, name: str) -> int:
        """``query_state``: the DM_QUERY reply's state, or the send error."""
        ret, ack = self.send_msg(name, self.msgid("DM_QUERY"))
        if ret:
            self.io.out(f"query_state: Error to quary {name} state, err: {ret}\n")
            return ret
        state = _int32(ack)
        if state < 0:
            self.io.err(f"query_state ack.data.state:{state}\n")
        return state

    def request(self, name: str, msgid_name: str, data: bytes = b"") -> int:
        """Send one command message and return the ack's ``data.err`` (stop_vm, pause_vm...:
        the send result itself is ignored, as in acrn_vm_ops.c)."""
        _ret, ack = self.send_msg(name, self.msgid(msgid_name), data)
        return _int32(ack)

    def send_msg(self, name: str, msgid: int, data: bytes = b"") -> tuple[int, bytes]:
        """``send_msg`` (acrn_vm_ops.c): (0 or the error, the ack's 256-byte data union)."""
        sock = self._open_un(name)
        if sock is None:
            self.io.out(f"Unable to open vm {name} socket. It may have been shutdown\n")
            return -1, ACK_FILL[DATA_OFFSET:]
        try:
            ret, ack = self._send_recv(sock, msgid, data)
        finally:
            sock.close()
        if ret < 0:
            self.io.out(f"Unable to send msg to vm {name} socket. It may have been shutdown\n")
            return ret, ack
        return 0, ack

    def _open_un(self, name: str) -> socket.socket | None:
        """``mngr_open_un(name, MNGR_CLIENT)``: check the directories, then connect."""
        self.check_dir(self.run_dir)
        self.check_dir(self.mngr_dir)
        return self._connect_to_server(name)

    def _connect_to_server(self, name: str) -> socket.socket | None:
        import socket

        from acrnkit.launch.mngr import find_vm_socket

        try:
            with os.scandir(self.mngr_dir):
                pass
        except OSError:
            self.io.out(f"connect_to_server: Failed to open directory {self.mngr_dir}\n")
            return None
        path = find_vm_socket(self.run_dir, name, prefix_match=True)
        if path is None:
            self.io.out(f"connect_to_server: Can't find {name}\n")
            return None
        entry = path.name
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        except OSError:
            self.io.out(f"connect_to_server {_LINE_CONNECT_SOCKET}\n")
            return None
        if len(_REAL_MNGR_PREFIX) + blen(entry) >= _SUN_PATH:
            # snprintf into sun_path cuts the path; the connect then misses the socket.
            self.io.out(f"WARN: {entry} is truncated\n")
            ok = False
        else:
            ok = _connect(sock, str(path))
        if not ok:
            self.io.out(f"connect_to_server {_LINE_CONNECT}\n")
            sock.close()
            return None
        return sock

    def _send_recv(self, sock: socket.socket, msgid: int, data: bytes) -> tuple[int, bytes]:
        """``mngr_send_msg(fd, req, ack, 1)``: (bytes read or -1, the ack's data union)."""
        import select

        from acrnkit.launch.mngr import MngrMessage

        # acrnctl leaves the pad bytes and the unused part of the data union uninitialised;
        # the codec zeroes them.
        request = MngrMessage(msgid, int(time.time()), data).to_bytes()
        fail = ACK_FILL[DATA_OFFSET:]
        deadline = time.monotonic() + SEND_TIMEOUT
        _r, writable, _x = select.select([], [sock], [], SEND_TIMEOUT)
        if not writable:
            self.io.out(f"mngr_send_msg {_LINE_SELECT_WRITE}\n")
            return -1, fail
        try:
            sent = sock.send(request)
        except OSError:  # EPIPE: the real acrnctl would die of SIGPIPE here
            sent = -1
        if sent != len(request):
            self.io.out(f"mngr_send_msg {_LINE_WRITE}\n")
            return -1, fail
        remaining = max(0.0, deadline - time.monotonic())
        readable, _w, _x = select.select([sock], [], [], remaining)
        if not readable:
            self.io.out(f"mngr_send_msg {_LINE_SELECT_READ}\n")
            return -1, fail
        try:
            got = sock.recv(MSG_SIZE)  # one read(), as many bytes as are there
        except OSError:
            return -1, fail
        ack = got + ACK_FILL[len(got):]
        return len(got), ack[DATA_OFFSET:]


def _int32(data: bytes) -> int:
    """``data.err`` / ``data.state``: the union's first 4 bytes as a C int."""
    return int.from_bytes(data[:4], "little", signed=True)


def _connect(sock: socket.socket, path: str) -> bool:
    """A blocking connect (retrying while the backlog is full, up to CONNECT_GUARD), through
    ``/proc/self/fd`` when the path is longer than sun_path allows (pytest tmp dirs)."""
    dir_fd = -1
    address = path
    if len(os.fsencode(path)) >= _SUN_PATH:
        try:
            dir_fd = os.open(os.path.dirname(path), os.O_PATH | os.O_DIRECTORY)
        except OSError:
            return False
        address = f"/proc/self/fd/{dir_fd}/{os.path.basename(path)}"
    try:
        sock.setblocking(False)
        give_up = time.monotonic() + CONNECT_GUARD
        while True:
            try:
                sock.connect(address)
                break
            except BlockingIOError:  # EAGAIN: backlog full; a blocking connect would wait
                if time.monotonic() >= give_up:
                    return False
                time.sleep(0.01)
            except OSError:
                return False
        sock.setblocking(True)
        return True
    finally:
        if dir_fd >= 0:
            os.close(dir_fd)
