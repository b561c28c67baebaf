"""An isolated test network: a private network namespace, a tap in it, a link-local address.

::

    with TestNetwork() as net:            # netns "acrnkit-<pid>-<hex>", lo up, tap "acrntap0"
        net.host_address                  # 169.254.X.1/16 on the tap (no default route)
        net.guest_ip                      # 169.254.X.2, a free address for the guest
        net.run(["ip", "-o", "addr"])     # any command, inside the namespace
        fd = net.open_tap()               # the tap, attached from this process (fd owned by you)

Everything runs through ``ip`` (iproute2) with argv lists, except the tap itself, which is
created with ``TUNSETIFF`` from a thread that has ``setns()``-ed into the namespace (only that
thread moves; the process stays where it is). IPv6 is disabled inside the namespace, so the
kernel sends nothing on the tap by itself (no router solicitations, no MLD).

Cleanup (``__exit__``/``close()``, also after an exception or ^C) closes the NICs and fds the
network handed out, ends every process still inside the namespace, deletes the tap and the
namespace. An ``atexit`` hook and a SIGTERM hook (installed only when SIGTERM has its default
action) do the same for networks still open; :func:`sweep_stale` deletes namespaces left by a
process that died (SIGKILL), matched by the ``acrnkit-<pid>-`` prefix and a dead pid. It runs
each time a network is created.

Privileges: root with CAP_NET_ADMIN and CAP_SYS_ADMIN, ``/dev/net/tun`` and ``ip``.
:func:`require_privileges` raises ``PrivilegeError`` with a one-line reason otherwise (tests
skip on it).
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import os
import re
import secrets
import shutil
import signal
import struct
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from ipaddress import IPv4Address, IPv4Interface
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from acrnkit.errors import ConfigError, NetworkError, PrivilegeError
from acrnkit.net._common import (
    LINK_LOCAL,
    NETNS_PREFIX,
    check_ifname,
    link_local,
    link_local_interface,
    unicast_mac,
)

if TYPE_CHECKING:
    from acrnkit.net._common import CapturedPacket, PingStats
    from acrnkit.net.guest_nic import GuestNic
    from acrnkit.net.probes import Capture

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
TUN_PATH = "/dev/net/tun"
NETNS_RUN_DIR = "/run/netns"
TUNSETIFF = 0x400454CA
TUNSETPERSIST = 0x400454CB
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_TUN_EXCL = 0x8000
CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21
DEFAULT_TAP = "acrntap0"

_NAME_RE = re.compile(re.escape(NETNS_PREFIX) + r"(\d+)-([0-9a-f]+)")


# -- privileges -------------------------------------------------------------------------------


def ip_binary() -> str | None:
    """The ``ip`` of iproute2, or None."""
    found = shutil.which("ip")
    if found:
        return found
    for cand in ("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"):
        if os.access(cand, os.X_OK):
            return cand
    return None


def _effective_caps() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        return None
    return None


def privilege_problem() -> str | None:
    """Why this process cannot build test networks (one line), or None when it can."""
    if os.geteuid() != 0:
        return (f"needs root for network namespaces and taps (euid is {os.geteuid()}); "
                "run the tests as root")
    caps = _effective_caps()
    if caps is not None:
        if not caps >> CAP_NET_ADMIN & 1:
            return "CAP_NET_ADMIN is not in the effective capability set (container without it?)"
        if not caps >> CAP_SYS_ADMIN & 1:
            return "CAP_SYS_ADMIN is not in the effective capability set (needed by ip netns)"
    if not os.path.exists(TUN_PATH):
        return f"{TUN_PATH} is missing (modprobe tun, or pass the device into the container)"
    try:
        os.close(os.open(TUN_PATH, os.O_RDWR | os.O_CLOEXEC))
    except OSError as err:
        return f"{TUN_PATH}: {err.strerror}"
    if ip_binary() is None:
        return "iproute2's ip is not installed (apt-get install iproute2)"
    return None


def require_privileges() -> None:
    """``PrivilegeError`` (one line) unless this process can build test networks."""
    problem = privilege_problem()
    if problem is not None:
        raise PrivilegeError(problem)


# -- namespaces and ip ------------------------------------------------------------------------


def setns(fd: int, nstype: int = CLONE_NEWNET) -> None:
    """``setns(2)`` for the calling thread (``os.setns`` on 3.12+, libc before)."""
    native = getattr(os, "setns", None)
    if native is not None:
        native(fd, nstype)
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, nstype) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _ip(args: Sequence[str], *, check: bool = True, timeout: float = 30.0) -> str:
    binary = ip_binary()
    if binary is None:
        raise PrivilegeError("iproute2's ip is not installed (apt-get install iproute2)")
    argv = [binary, *args]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise NetworkError(f"{' '.join(argv)}: no answer in {timeout:g} s") from None
    if check and done.returncode != 0:
        msg = (done.stderr.strip() or done.stdout.strip()).splitlines()
        text = msg[-1] if msg else f"exit status {done.returncode}"
        if "Operation not permitted" in text or "Permission denied" in text:
            raise PrivilegeError(f"ip {' '.join(args)}: {text}")
        raise NetworkError(f"ip {' '.join(args)}: {text}")
    return done.stdout


def list_netns() -> list[str]:
    """Names of the named network namespaces (``ip netns list``)."""
    try:
        return sorted(os.listdir(NETNS_RUN_DIR))
    except FileNotFoundError:
        return []


def netns_pids(name: str) -> list[int]:
    """Processes whose network namespace is ``name`` (``ip netns pids``)."""
    out = _ip(["netns", "pids", name], check=False)
    return [int(tok) for tok in out.split() if tok.isdigit()]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _end_processes(name: str, grace: float = 1.0) -> None:
    """SIGTERM, then SIGKILL, every process in namespace ``name`` (never this process)."""
    me = os.getpid()
    deadline = time.monotonic() + grace
    sig = signal.SIGTERM
    while True:
        pids = [p for p in netns_pids(name) if p != me]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        if sig == signal.SIGKILL and time.monotonic() > deadline + 2.0:
            return
        time.sleep(0.02)
        if time.monotonic() > deadline:
            sig = signal.SIGKILL


def _delete_netns(name: str, tap: str | None) -> None:
    if tap is not None:
        _ip(["-n", name, "link", "del", "dev", tap], check=False)
    _ip(["netns", "del", name], check=False)
    if os.path.exists(os.path.join(NETNS_RUN_DIR, name)):
        raise NetworkError(f"netns {name}: could not be deleted")


def sweep_stale() -> list[str]:
    """Delete namespaces ``acrnkit-<pid>-*`` whose pid is dead; returns the names deleted."""
    done: list[str] = []
    for name in list_netns():
        match = _NAME_RE.fullmatch(name)
        if match is None or _pid_alive(int(match.group(1))):
            continue
        with contextlib.suppress(NetworkError, PrivilegeError):
            _end_processes(name, grace=0.2)
            _delete_netns(name, None)
            done.append(name)
    return done


# -- the process-wide registry (atexit, SIGTERM) -----------------------------------------------

_LIVE: dict[str, TestNetwork] = {}
_LOCK = threading.Lock()
_HOOKS_INSTALLED = False


def _cleanup_all() -> None:
    with _LOCK:
        live = list(_LIVE.values())
    for net in live:
        with contextlib.suppress(Exception):
            net.close()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    _cleanup_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_hooks() -> None:
    global _HOOKS_INSTALLED
    if _HOOKS_INSTALLED:
        return
    _HOOKS_INSTALLED = True
    atexit.register(_cleanup_all)
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
                signal.signal(signal.SIGTERM, _on_sigterm)


# -- taps -------------------------------------------------------------------------------------


def _create_tap(name: str, persist: bool) -> int | None:
    """In the calling thread's netns: a new tap (fails if ``name`` exists). Returns the fd when
    not persistent (the tap lives as long as the fd), else None."""
    fd = os.open(TUN_PATH, os.O_RDWR | os.O_CLOEXEC)
    try:
        ifr = struct.pack("16sH22x", name.encode(), IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL)
        fcntl.ioctl(fd, TUNSETIFF, ifr)
        if persist:
            fcntl.ioctl(fd, TUNSETPERSIST, 1)
            os.close(fd)
            return None
        os.set_blocking(fd, False)
        return fd
    except OSError as err:
        os.close(fd)
        if err.errno == errno.EBUSY or err.errno == errno.EEXIST:
            raise NetworkError(f"tap {name}: already exists in the namespace") from None
        raise NetworkError(f"tap {name}: TUNSETIFF failed: {err.strerror}") from None


def _write_sysctl(path: str, value: str) -> None:
    with contextlib.suppress(FileNotFoundError), open(path, "w", encoding="ascii") as fh:
        fh.write(value)


def _disable_ipv6() -> None:
    for scope in ("all", "default"):
        _write_sysctl(f"/proc/sys/net/ipv6/conf/{scope}/disable_ipv6", "1")


class TestNetwork:
    """A private network namespace with ``lo`` up and a tap holding a link-local host address.

    ``tap``: the tap's name (1..15 bytes). ``tap_mac``: the host side's MAC (random when None).
    ``host_address``: ``169.254.X.Y/P`` for the tap (default ``169.254.X.1/16``, X random in
    1..254). ``persist``: True creates a persistent tap (acrn-dm, the fake or :meth:`open_tap`
    attach to it later); False keeps the creating fd in :attr:`tap_fd` and the tap lives only
    as long as that fd (hand it over with :meth:`take_tap_fd`).
    """

    __test__ = False  # not a pytest test class

    def __init__(self, *, tap: str = DEFAULT_TAP, tap_mac: str | None = None,
                 host_address: str | IPv4Interface | None = None, persist: bool = True,
                 disable_ipv6: bool = True) -> None:
        self.tap = check_ifname("tap", tap)
        self.tap_mac_requested = None if tap_mac is None else unicast_mac("tap_mac", tap_mac)
        if host_address is None:
            third = secrets.randbelow(254) + 1
            self.host_address = IPv4Interface(f"169.254.{third}.1/16")
        else:
            self.host_address = link_local_interface("host_address", host_address)
        self.guest_address = self._pick_guest(self.host_address)
        self.persist = persist
        self.disable_ipv6 = disable_ipv6
        self.name = f"{NETNS_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        self.path = os.path.join(NETNS_RUN_DIR, self.name)
        self.tap_fd: int | None = None
        self.tap_mac = ""
        self._owner = os.getpid()
        self._state = "new"  # new -> up -> closed
        self._procs: list[subprocess.Popen[Any]] = []
        self._nics: list[GuestNic] = []
        #: taps added with add_tap(): name -> host address
        self.extra_taps: dict[str, IPv4Interface] = {}

    @staticmethod
    def _pick_guest(host: IPv4Interface) -> IPv4Interface:
        net = host.network
        for cand in (host.ip + 1, host.ip - 1):
            if cand in net and cand not in (net.network_address, net.broadcast_address):
                return IPv4Interface(f"{cand}/{net.prefixlen}")
        raise ConfigError("host_address", str(host), "leaves no address for the guest")

    # -- addresses ---------------------------------------------------------------------------

    @property
    def host_ip(self) -> IPv4Address:
        return self.host_address.ip

    @property
    def guest_ip(self) -> IPv4Address:
        """A free link-local address next to the host's, for the guest (not configured here)."""
        return self.guest_address.ip

    def guest_ip_param(self, device: str = "eth0") -> str:
        """The kernel parameter giving the guest :attr:`guest_address`, no gateway (no route)."""
        return f"ip={self.guest_ip}:::{self.guest_address.netmask}::{device}:off"

    # -- life cycle --------------------------------------------------------------------------

    def __enter__(self) -> TestNetwork:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self.close()
        except Exception as err:
            if exc is None:
                raise
            warnings.warn(f"acrnkit.net cleanup after an error: {err}", RuntimeWarning,
                          stacklevel=2)

    def start(self) -> TestNetwork:
        if self._state != "new":
            raise NetworkError(f"netns {self.name}: already {self._state}")
        require_privileges()
        _install_hooks()
        sweep_stale()
        self._state = "up"
        with _LOCK:
            _LIVE[self.name] = self
        try:
            _ip(["netns", "add", self.name])
            _ip(["-n", self.name, "link", "set", "dev", "lo", "up"])
            if self.disable_ipv6:
                self.call(_disable_ipv6)
            self.tap_fd = self.call(_create_tap, self.tap, self.persist)
            if self.tap_mac_requested is not None:
                _ip(["-n", self.name, "link", "set", "dev", self.tap, "address",
                     self.tap_mac_requested])
            _ip(["-n", self.name, "addr", "add", str(self.host_address), "dev", self.tap])
            _ip(["-n", self.name, "link", "set", "dev", self.tap, "up"])
            self.tap_mac = self._read_mac(self.tap)
        except BaseException:
            with contextlib.suppress(Exception):
                self.close()
            raise
        return self

    def close(self) -> None:
        """Close NICs and fds handed out, end processes inside, delete the tap and the netns."""
        if self._state != "up" or os.getpid() != self._owner:
            return
        self._state = "closed"
        try:
            for nic in self._nics:
                with contextlib.suppress(Exception):
                    nic.close()
            self._nics.clear()
            if self.tap_fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self.tap_fd)
                self.tap_fd = None
            for proc in self._procs:
                if proc.poll() is None:
                    with contextlib.suppress(OSError):
                        proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
            self._procs.clear()
            if os.path.exists(self.path):
                _end_processes(self.name)
                for extra in self.extra_taps:
                    _ip(["-n", self.name, "link", "del", "dev", extra], check=False)
                _delete_netns(self.name, self.tap)
        finally:
            with _LOCK:
                _LIVE.pop(self.name, None)

    @property
    def alive(self) -> bool:
        return self._state == "up"

    def _require_up(self) -> None:
        if self._state != "up":
            raise NetworkError(f"netns {self.name}: not up ({self._state})")

    # -- running things inside ---------------------------------------------------------------

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a short-lived thread that has ``setns()``-ed into the namespace.

        Sockets and ``/dev/net/tun`` fds opened there belong to the namespace and keep working
        from any thread afterwards. Exceptions propagate.
        """
        self._require_up()
        box: list[tuple[bool, Any]] = []

        def target() -> None:
            try:
                fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    setns(fd, CLONE_NEWNET)
                finally:
                    os.close(fd)
                box.append((True, fn(*args)))
            except BaseException as err:
                box.append((False, err))

        thread = threading.Thread(target=target, name=f"netns:{self.name}", daemon=True)
        thread.start()
        thread.join()
        ok, value = box[0]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    @contextlib.contextmanager
    def enter(self) -> Iterator[None]:
        """Move the *calling thread* into the namespace for the ``with`` body, then back."""
        self._require_up()
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            target = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                setns(target, CLONE_NEWNET)
            finally:
                os.close(target)
            try:
                yield
            finally:
                try:
                    setns(home, CLONE_NEWNET)
                except OSError as err:
                    raise NetworkError(f"could not leave netns {self.name}: {err}") from err
        finally:
            os.close(home)

    def exec_argv(self, argv: Sequence[str]) -> list[str]:
        """``ip netns exec <name> <argv...>`` as an argv list."""
        if isinstance(argv, str):
            raise ConfigError("argv", argv, "give an argv list, not a string (no shell)")
        binary = ip_binary()
        assert binary is not None
        return [binary, "netns", "exec", self.name, *argv]

    def launcher(self, path: str | os.PathLike[str], program: str) -> str:
        """Write an executable at ``path`` that runs ``program`` inside this namespace
        (:func:`write_launcher`); returns its path."""
        self._require_up()
        return write_launcher(path, self.name, program)

    def run(self, argv: Sequence[str], *, check: bool = True, timeout: float | None = 60.0,
            input: str | None = None, env: dict[str, str] | None = None,
            ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the namespace; text output captured. ``check`` raises
        ``NetworkError`` on a non-zero exit."""
        self._require_up()
        full = self.exec_argv(argv)
        proc = subprocess.Popen(full, stdin=subprocess.PIPE if input is not None
                                else subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        self._procs.append(proc)
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._procs.remove(proc)
        done = subprocess.CompletedProcess(list(argv), proc.returncode, out, err)
        if check and done.returncode != 0:
            tail = (err.strip().splitlines() or [""])[-1]
            raise NetworkError(f"{' '.join(argv)} in netns {self.name}: exit status "
                               f"{done.returncode}: {tail}")
        return done

    def popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` inside the namespace (``subprocess.Popen`` keywords). Ended and reaped
        at :meth:`close` if still running."""
        self._require_up()
        proc: subprocess.Popen[Any] = subprocess.Popen(self.exec_argv(argv), **kwargs)
        self._procs.append(proc)
        return proc

    def ip(self, *args: str) -> str:
        """``ip -n <name> <args>``; stdout."""
        self._require_up()
        return _ip(["-n", self.name, *args])

    def links(self) -> list[str]:
        """Interface names inside the namespace."""
        out = self.ip("-o", "link", "show")
        return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()
                if line.count(":") >= 2]

    def _read_mac(self, ifname: str) -> str:
        out = self.ip("-o", "link", "show", "dev", ifname)
        match = re.search(r"link/ether ([0-9a-f:]{17})", out)
        if match is None:
            raise NetworkError(f"{ifname} in netns {self.name}: no Ethernet address")
        return match.group(1)

    # -- the tap ---------------------------------------------------------------------------

    def take_tap_fd(self) -> int:
        """The creating fd of a non-persistent tap; the caller now owns (and closes) it."""
        if self.tap_fd is None:
            raise NetworkError(f"tap {self.tap}: persistent, or its fd was already taken")
        fd, self.tap_fd = self.tap_fd, None
        return fd

    def add_tap(self, name: str, host_address: str | IPv4Interface | None = None, *,
                tap_mac: str | None = None) -> IPv4Interface:
        """Create another persistent tap ``name`` in the namespace, up, with a link-local host
        address (default ``169.254.<X+k>.1/24`` for the k-th added tap, X the third byte of
        :attr:`host_address`: a /24 inside the main tap's /16, so its route wins). For a
        runtime whose argv names several taps. Deleted at :meth:`close`. Returns the address;
        the guest's is :meth:`guest_address_on`."""
        self._require_up()
        check_ifname("tap", name)
        if name == self.tap or name in self.extra_taps:
            raise ConfigError("tap", name, "already a tap of this network")
        mac = None if tap_mac is None else unicast_mac("tap_mac", tap_mac)
        if host_address is None:
            third = (int(self.host_ip) >> 8 & 0xFF) + len(self.extra_taps) + 1
            third = (third - 1) % 254 + 1
            iface = IPv4Interface(f"169.254.{third}.1/24")
        else:
            iface = link_local_interface("host_address", host_address)
        self._pick_guest(iface)
        self.call(_create_tap, name, True)
        self.extra_taps[name] = iface
        if mac is not None:
            self.ip("link", "set", "dev", name, "address", mac)
        self.ip("addr", "add", str(iface), "dev", name)
        self.ip("link", "set", "dev", name, "up")
        return iface

    def tap_address(self, tap: str | None = None) -> IPv4Interface:
        """The host address on ``tap`` (default :attr:`tap`)."""
        if tap is None or tap == self.tap:
            return self.host_address
        if tap not in self.extra_taps:
            raise ConfigError("tap", tap, "not a tap of this network")
        return self.extra_taps[tap]

    def guest_address_on(self, tap: str | None = None) -> IPv4Interface:
        """A free address for the guest NIC on ``tap``'s subnet (next to the host's)."""
        return self._pick_guest(self.tap_address(tap))

    def guest_ip_param_on(self, tap: str | None = None, device: str = "eth0") -> str:
        """``ip=`` giving the guest's ``device`` :meth:`guest_address_on` ``tap``, no gateway."""
        guest = self.guest_address_on(tap)
        return f"ip={guest.ip}:::{guest.netmask}::{device}:off"

    def open_tap(self, name: str | None = None, *, wait: bool = True) -> int:
        """Attach to the existing tap ``name`` (default :attr:`tap`) as acrn-dm does. Returns a
        non-blocking fd that the caller owns; ``NetworkError`` when the tap does not exist.
        ``wait``: return once the kernel reports the link running (carrier seen, queue
        active), so the host's first frames are not dropped."""
        from acrnkit.net.guest_nic import open_tap, wait_running

        ifname = name or self.tap
        fd = self.call(open_tap, ifname)
        if fd is None:
            raise NetworkError(f"tap {ifname}: does not exist in netns {self.name}")
        if wait and not self.call(wait_running, ifname, 3.0):
            os.close(fd)
            raise NetworkError(f"tap {ifname}: no carrier 3 s after attaching (is it up?)")
        return fd

    def guest_nic(self, mac: str, address: str | IPv4Interface | None = None, *,
                  tap: str | None = None, name: str = "eth0") -> GuestNic:
        """A :class:`~acrnkit.net.guest_nic.GuestNic` on the tap (default address
        :attr:`guest_address`), closed with the network."""
        from acrnkit.net.guest_nic import GuestNic

        own = tap is None and self.tap_fd is not None
        fd = self.take_tap_fd() if own else self.open_tap(tap)
        if own:
            from acrnkit.net.guest_nic import wait_running

            self.call(wait_running, self.tap, 3.0)
        try:
            nic = GuestNic(fd, mac, self.guest_address if address is None else address,
                           name=name)
        except BaseException:
            os.close(fd)
            raise
        self._nics.append(nic)
        return nic

    # -- probes, bound to this namespace -----------------------------------------------------

    def arping(self, ip: str | IPv4Address, timeout: float = 1.0,
               iface: str | None = None) -> str | None:
        from acrnkit.net.probes import arping

        return arping(iface or self.tap, ip, timeout, netns=self)

    def ping(self, ip: str | IPv4Address, count: int = 3, timeout: float = 1.0,
             interval: float = 0.0) -> PingStats:
        from acrnkit.net.probes import ping

        return ping(ip, count, timeout, netns=self, interval=interval)

    def capture(self, bpf_filter: str = "", timeout: float = 1.0, count: int = 0,
                iface: str | None = None) -> list[CapturedPacket]:
        from acrnkit.net.probes import capture

        return capture(iface or self.tap, bpf_filter, timeout, count, netns=self)

    def start_capture(self, bpf_filter: str = "", timeout: float = 1.0, count: int = 0,
                      iface: str | None = None) -> Capture:
        from acrnkit.net.probes import start_capture

        return start_capture(iface or self.tap, bpf_filter, timeout, count, netns=self)

    def __repr__(self) -> str:
        return (f"TestNetwork(name={self.name!r}, tap={self.tap!r}, "
                f"host_address='{self.host_address}', state={self._state!r})")


def write_launcher(path: str | os.PathLike[str], netns: TestNetwork | str, program: str) -> str:
    """Write an executable at ``path`` that runs ``program`` (with the launcher's arguments)
    inside the acrnkit namespace ``netns``, and return its path.

    For a runtime, or :func:`acrnkit.launch.vm.start_vm`, that starts acrn-dm itself: give it
    the launcher as its acrn-dm. The launcher is a small Python script (``-SE``) that
    ``execv``-s ``ip netns exec <name> <program> <args...>`` (argv lists only, no shell; ``ip
    netns exec`` execs in turn), so the process keeps its pid, its process group and its
    parent: signals, ``waitpid`` and the manager socket (named after the pid) work as without
    it. ``program`` is resolved on PATH now when it is not an absolute path.
    """
    import sys

    name = resolve_netns(netns)
    if not os.path.isabs(program):
        found = shutil.which(program)
        if found is None:
            raise ConfigError("program", program, "not found on PATH")
        program = found
    binary = ip_binary()
    if binary is None:
        raise PrivilegeError("iproute2's ip is not installed (apt-get install iproute2)")
    text = (f"#!{sys.executable} -SE\n"
            f"# acrnkit.net: runs {program} inside network namespace {name}\n"
            "import os, sys\n"
            f"os.execv({binary!r}, [{binary!r}, 'netns', 'exec', {name!r}, {program!r}, "
            "*sys.argv[1:]])\n")
    target = os.fspath(path)
    tmp = f"{target}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o755)
    os.replace(tmp, target)
    return target


def resolve_netns(netns: object) -> str:
    """The name of a namespace acrnkit created: a live ``TestNetwork`` or its name."""
    if isinstance(netns, TestNetwork):
        netns._require_up()
        return netns.name
    if not isinstance(netns, str) or not _NAME_RE.fullmatch(netns):
        raise ConfigError("netns", netns, "not a namespace created by acrnkit.net.TestNetwork "
                          "(probes run only inside one)")
    if not os.path.exists(os.path.join(NETNS_RUN_DIR, netns)):
        raise NetworkError(f"netns {netns}: does not exist")
    return netns


__all__ = ["LINK_LOCAL", "TestNetwork", "link_local", "list_netns", "netns_pids",
           "privilege_problem", "require_privileges", "resolve_netns", "setns", "sweep_stale",
           "write_launcher"]
