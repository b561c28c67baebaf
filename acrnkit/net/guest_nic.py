"""The fake guest's NIC, for real, on a tap: answers ARP and ICMP echo, and pings.

The fake acrn-dm attaches to a tap the way acrn-dm does (:func:`open_tap`: ``/dev/net/tun``,
``TUNSETIFF`` with ``IFF_TAP|IFF_NO_PI``; a missing tap is *not* created, ``None`` comes back so
the caller can print acrn-dm's warning). The guest takes its address the way Linux does, from
``ip=<client>:<server>:<gw>:<netmask>:<host>:<device>:<autoconf>`` on the kernel command line
(:func:`parse_ip_param`). :class:`GuestNic` then serves the tap from a single-threaded loop:

* it answers ARP requests for its address and ICMP echo requests to it;
* :meth:`GuestNic.ping` sends real echo requests out of the tap (resolving the target with ARP
  first, as the guest kernel would) and reports each reply and the totals through callbacks;
* it never sends anything but those replies, its own echo requests and ARP requests for a ping
  target, and it talks only to link-local addresses (169.254.0.0/16): its own address must be
  one, a ping target outside it is a ``ConfigError``, and requests from other sources are
  ignored.

Loop integration: register :meth:`GuestNic.fileno` for reading with :meth:`handle_readable` as
the callback, and call :meth:`GuestNic.poll` when :meth:`GuestNic.next_timeout` expires; or hand
any loop with ``add_reader``/``remove_reader``/``call_later`` (the fake's ``Reactor``, asyncio)
to :meth:`GuestNic.attach`, which does both. Nothing blocks. scapy (``scapy.layers.l2``,
``scapy.layers.inet``) is imported when the first ``GuestNic`` is created, not before.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface
from typing import Any, Protocol

from acrnkit.errors import ConfigError, NetworkError
from acrnkit.net._common import (
    LINK_LOCAL,
    PingStats,
    check_ifname,
    link_local,
    link_local_interface,
    unicast_mac,
)

TUN_PATH = "/dev/net/tun"
TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_RUNNING = 0x40
SIOCGIFFLAGS = 0x8913

ETH_P_IP = b"\x08\x00"
ETH_P_ARP = b"\x08\x06"
BROADCAST = b"\xff" * 6
ZERO_IP = IPv4Address("0.0.0.0")
#: Linux neighbour defaults: retrans_time 1 s, mcast_solicit 3, unres_qlen (bounded here)
ARP_RETRANS = 1.0
ARP_TRIES = 3
ARP_QUEUE = 64
READ_BURST = 64


# -- the tap ----------------------------------------------------------------------------------


def open_tap(name: str) -> int | None:
    """Attach to the existing tap ``name`` in this thread's network namespace.

    Returns a non-blocking, close-on-exec fd, or None when no interface ``name`` exists (a
    missing tap is never created). ``NetworkError`` when ``name`` is not a tap or is busy
    (already attached: a tap without ``multi_queue`` takes one reader); its ``__cause__`` is
    the ``OSError`` of ``TUNSETIFF`` (``errno``). ``OSError`` when ``/dev/net/tun`` cannot be
    opened.
    """
    check_ifname("tap", name)
    try:
        before = socket.if_nametoindex(name)
    except OSError:
        return None
    fd = os.open(TUN_PATH, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TAP | IFF_NO_PI))
    except OSError as err:
        os.close(fd)
        why = {errno.EBUSY: "busy (already attached, or created with other flags)",
               errno.EINVAL: "not a tap, or created with other flags",
               errno.EPERM: "not permitted (CAP_NET_ADMIN, or the tap's owner/group)"}
        # the OSError stays the cause: acrn-dm's message prints its errno
        raise NetworkError(f"tap {name}: TUNSETIFF failed: "
                           f"{why.get(err.errno or 0, err.strerror)}") from err
    try:
        after = socket.if_nametoindex(name)
    except OSError:
        after = -1
    if after != before:
        # the interface vanished between the check and TUNSETIFF, which then created a new
        # (non-persistent) tap: give it back, it disappears with the fd
        os.close(fd)
        return None
    return fd


def link_running(name: str) -> bool:
    """``IFF_RUNNING`` of ``name`` in this thread's namespace: the kernel has seen the carrier
    and activated the queue, so frames the host sends on the tap are delivered. Non-blocking;
    False when ``name`` does not exist."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            raw = fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, struct.pack("256s", name.encode()))
    except OSError:
        return False
    return bool(struct.unpack_from("H", raw, 16)[0] & IFF_RUNNING)


def wait_running(name: str, timeout: float = 3.0) -> bool:
    """Poll :func:`link_running` for up to ``timeout`` s (blocking; not for event loops)."""
    deadline = time.monotonic() + timeout
    while not link_running(name):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.002)
    return True


# -- ip= on the kernel command line -----------------------------------------------------------

_AUTOCONF = frozenset({"on", "any", "dhcp", "bootp", "rarp", "both"})
_FIELDS = ("client", "server", "gateway", "netmask", "hostname", "device", "autoconf",
           "dns0", "dns1", "ntp0")


@dataclass(frozen=True)
class IpParam:
    """The kernel's ``ip=`` parameter (``Documentation/admin-guide/nfs/nfsroot.rst``)."""

    client: IPv4Address | None = None
    server: IPv4Address | None = None
    gateway: IPv4Address | None = None
    netmask: IPv4Address | None = None
    hostname: str = ""
    device: str = ""
    #: ``off``/``none``, ``on``/``any``, ``dhcp``, ``bootp``, ``rarp``, ``both`` or ""
    autoconf: str = ""

    @property
    def prefixlen(self) -> int | None:
        """The netmask's prefix; without one, the kernel's classful default (ic_defaults)."""
        if self.netmask is not None:
            return IPv4Interface(f"0.0.0.0/{self.netmask}").network.prefixlen
        if self.client is None:
            return None
        first = int(self.client) >> 24
        return 8 if first < 128 else 16 if first < 192 else 24

    @property
    def interface(self) -> IPv4Interface | None:
        """``client/prefix`` when the parameter gives a static address."""
        if self.client is None:
            return None
        return IPv4Interface(f"{self.client}/{self.prefixlen}")

    def applies_to(self, device: str, index: int = 0) -> bool:
        """The kernel configures the named device, or the first one when none is named."""
        return self.device == device if self.device else index == 0

    def address_for(self, device: str, index: int = 0) -> IPv4Interface | None:
        return self.interface if self.applies_to(device, index) else None


def _cmdline_params(bootargs: str) -> Iterator[str]:
    """Kernel command line words (``next_arg``: double quotes group, ``--`` ends the params)."""
    for match in re.finditer(r'(?:[^\s"]+|"[^"]*"?)+', bootargs):
        word = match.group(0)
        if word == "--":
            return
        yield word.replace('"', "")


def parse_ip_param(bootargs: str) -> IpParam | None:
    """The last ``ip=`` (or its old name ``nfsaddrs=``) of a kernel command line, or None.

    ``ip=169.254.3.2::169.254.3.1:255.255.0.0::eth0:off`` gives client 169.254.3.2, gateway
    169.254.3.1, /16 on eth0, no autoconfiguration. ``ip=dhcp`` or ``ip=off`` give no client.
    A malformed address is a ``ConfigError`` naming the field (``ip.client``...).
    """
    value: str | None = None
    for word in _cmdline_params(bootargs):
        key, sep, rest = word.partition("=")
        if sep and key in ("ip", "nfsaddrs"):
            value = rest
    if value is None:
        return None
    if value in _AUTOCONF:
        return IpParam(autoconf=value)
    if value in ("", "off", "none"):
        return IpParam(autoconf=value or "off")
    parts = value.split(":")
    kw: dict[str, Any] = {}
    for name, text in zip(_FIELDS, parts, strict=False):
        if not text or name in ("dns0", "dns1", "ntp0"):
            continue
        if name in ("client", "server", "gateway", "netmask"):
            try:
                addr = IPv4Address(text)
            except ValueError:
                raise ConfigError(f"ip.{name}", text, "not an IPv4 address") from None
            if name == "client" and addr == ZERO_IP:
                continue  # the kernel reads 0.0.0.0 as "no address"
            if name == "netmask":
                try:
                    IPv4Interface(f"0.0.0.0/{text}")
                except ValueError:
                    raise ConfigError("ip.netmask", text, "not a contiguous netmask") from None
            kw[name] = addr
        else:
            kw[name] = text
    return IpParam(**kw)


# -- the NIC ----------------------------------------------------------------------------------


class Cancellable(Protocol):
    def cancel(self) -> object: ...


class EventLoop(Protocol):
    """What :meth:`GuestNic.attach` needs: the fake's ``Reactor`` and asyncio loops fit."""

    def add_reader(self, fd: int, callback: Callable[[], None]) -> object: ...

    def remove_reader(self, fd: int) -> object: ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> Cancellable: ...


@dataclass(frozen=True)
class PingReply:
    """One echo reply: ``size`` is the ICMP message length (ping(8)'s "64 bytes")."""

    seq: int
    rtt: float
    ttl: int
    size: int
    src: IPv4Address

    def line(self) -> str:
        """ping(8)'s line for it."""
        return (f"{self.size} bytes from {self.src}: icmp_seq={self.seq} ttl={self.ttl} "
                f"time={self.rtt * 1000:.3f} ms")


@dataclass(frozen=True)
class NicCounters:
    rx_packets: int
    rx_bytes: int
    tx_packets: int
    tx_bytes: int
    rx_dropped: int
    tx_errors: int


@dataclass(eq=False)
class PingJob:
    """A ``ping -c count`` in progress; :attr:`done` once every request got its reply or its
    ``timeout``. ``interval`` > 0 sends on a fixed schedule (ping(8)); 0 sends the next request
    when the previous one is answered or timed out."""

    dst: IPv4Address
    count: int
    timeout: float
    interval: float
    ident: int
    size: int
    on_reply: Callable[[PingReply], None] | None = None
    on_error: Callable[[int, str], None] | None = None
    on_done: Callable[[PingStats], None] | None = None
    sent: int = 0
    received: int = 0
    errors: int = 0
    replies: list[PingReply] = field(default_factory=list)
    done: bool = False
    started: float = 0.0
    _next_seq: int = 1
    _next_send: float = 0.0
    _outstanding: dict[int, tuple[float, float]] = field(default_factory=dict)

    @property
    def stats(self) -> PingStats:
        return PingStats(self.sent, self.received, tuple(r.rtt for r in self.replies),
                         self.errors)


class GuestNic:
    """The guest's ``ethN`` on an open tap fd (see the module docstring).

    ``mac``: the guest's MAC (unicast). ``address``: ``169.254.X.Y/P`` (a bare address is /16),
    or None for a NIC without IPv4 (it then answers nothing and cannot ping). ``owns_fd``: close
    the fd in :meth:`close` (False when the caller, e.g. acrn-dm's device, keeps the tap open
    across guest reboots).
    """

    def __init__(self, fd: int, mac: str, address: str | IPv4Interface | None, *,
                 name: str = "eth0", owns_fd: bool = True) -> None:
        self.mac = unicast_mac("mac", mac)
        self.address = None if address is None else link_local_interface("address", address)
        self.name = name
        self.owns_fd = owns_fd
        self._L = _layers()
        self._fd = fd
        self._mac_raw = bytes.fromhex(self.mac.replace(":", ""))
        self._ip_raw = self.address.ip.packed if self.address is not None else b""
        os.set_blocking(fd, False)
        self._neigh: dict[IPv4Address, bytes] = {}
        self._unresolved: dict[IPv4Address, list[tuple[bytes, PingJob, int]]] = {}
        self._arp_state: dict[IPv4Address, tuple[float, int]] = {}
        self._jobs: list[PingJob] = []
        self._ip_id = int.from_bytes(os.urandom(2), "big")
        self._loop: EventLoop | None = None
        self._timer: Cancellable | None = None
        self._timer_at: float | None = None
        self._closed = False
        #: why the NIC stopped (the tap was deleted...), or None
        self.broken: str | None = None
        self._rx = [0, 0, 0]  # packets, bytes, dropped
        self._tx = [0, 0, 0]  # packets, bytes, errors

    @classmethod
    def from_bootargs(cls, fd: int, mac: str, bootargs: str, *, name: str = "eth0",
                      index: int = 0, owns_fd: bool = True) -> GuestNic:
        """A NIC addressed the way the guest kernel would address ``name`` from ``ip=``."""
        param = parse_ip_param(bootargs)
        address = param.address_for(name, index) if param is not None else None
        return cls(fd, mac, address, name=name, owns_fd=owns_fd)

    # -- loop integration --------------------------------------------------------------------

    def fileno(self) -> int:
        return self._fd

    @property
    def ip(self) -> IPv4Address | None:
        return None if self.address is None else self.address.ip

    @property
    def counters(self) -> NicCounters:
        return NicCounters(self._rx[0], self._rx[1], self._tx[0], self._tx[1], self._rx[2],
                           self._tx[2])

    def attach(self, loop: EventLoop) -> None:
        """Serve the tap from ``loop``: a reader on the fd, timers for pings and ARP retries."""
        if self._closed:
            raise NetworkError(f"{self.name}: closed")
        self.detach()
        self._loop = loop
        loop.add_reader(self._fd, self.handle_readable)
        self._reschedule()

    def detach(self) -> None:
        """Stop serving (the fd stays open)."""
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self._fd)
        self._cancel_timer()
        self._loop = None

    def close(self) -> None:
        """Detach, end pings in progress silently (no callbacks: the guest went away), and
        close the fd if owned. Idempotent."""
        if self._closed:
            return
        self.detach()
        for job in list(self._jobs):
            self._finish(job, notify=False)
        self._closed = True
        if self.owns_fd:
            with contextlib.suppress(OSError):
                os.close(self._fd)

    def __enter__(self) -> GuestNic:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def discard_pending(self) -> int:
        """Drop frames queued on the tap (sent while the guest was not up); returns how many."""
        n = 0
        while True:
            try:
                if not os.read(self._fd, 65536):
                    return n
            except OSError:
                return n
            n += 1

    def handle_readable(self) -> None:
        """Read and answer what the tap has (bounded burst), then run due timers."""
        if self._closed:
            return
        now = time.monotonic()
        for _ in range(READ_BURST):
            try:
                frame = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            except OSError as err:
                self._break(f"tap read failed: {err.strerror}")
                return
            if not frame:
                break
            self._rx[0] += 1
            self._rx[1] += len(frame)
            try:
                self._frame(frame, now)
            except Exception:
                self._rx[2] += 1
        self.poll(now)

    def next_timeout(self, now: float | None = None) -> float | None:
        """Seconds until :meth:`poll` has work (0.0: now), or None when nothing is pending."""
        when = self._next_deadline()
        if when is None:
            return None
        return max(0.0, when - (time.monotonic() if now is None else now))

    def poll(self, now: float | None = None) -> float | None:
        """Send due echo requests and ARP retries, expire timeouts, finish pings. Returns
        :meth:`next_timeout`."""
        if self._closed:
            return None
        now = time.monotonic() if now is None else now
        self._arp_timers(now)
        for job in list(self._jobs):
            self._job_timers(job, now)
        self._reschedule()
        return self.next_timeout(now)

    # -- pinging -----------------------------------------------------------------------------

    def ping(self, dst: str | IPv4Address, count: int = 1, timeout: float = 1.0, *,
             interval: float = 1.0, size: int = 56,
             on_reply: Callable[[PingReply], None] | None = None,
             on_error: Callable[[int, str], None] | None = None,
             on_done: Callable[[PingStats], None] | None = None,
             first_seq: int = 1) -> PingJob:
        """Start ``ping -c count -W timeout -i interval -s size dst``; returns at once.

        ``first_seq``: the ICMP sequence number of the first request (1 as iputils' ping, 0 as
        busybox's).

        ``on_reply(PingReply)`` per reply, ``on_error(seq, "Destination Host Unreachable")``
        when ARP gets no answer, ``on_done(PingStats)`` at the end. The first request goes out
        now (or after ARP). ``ConfigError`` for a non-link-local ``dst``; ``NetworkError``
        "connect: Network is unreachable" when the NIC has no address or ``dst`` is not on
        its subnet (no routes in this guest).
        """
        target = link_local("dst", dst)
        if count < 1:
            raise ConfigError("count", count, "must be at least 1")
        if timeout <= 0:
            raise ConfigError("timeout", timeout, "must be positive")
        if interval < 0:
            raise ConfigError("interval", interval, "must not be negative")
        if not 16 <= size <= 1472:
            raise ConfigError("size", size, "must be 16..1472 bytes of payload")
        if not 0 <= first_seq <= 0xFFFF:
            raise ConfigError("first_seq", first_seq, "must be 0..65535")
        if self._closed or self.broken:
            raise NetworkError(f"{self.name}: {'closed' if self._closed else self.broken}")
        if self.address is None or target not in self.address.network:
            raise NetworkError("connect: Network is unreachable")
        now = time.monotonic()
        job = PingJob(target, count, timeout, interval, int.from_bytes(os.urandom(2), "big"),
                      size, on_reply, on_error, on_done, started=now, _next_seq=first_seq,
                      _next_send=now)
        self._jobs.append(job)
        self.poll(now)
        return job

    def cancel(self, job: PingJob) -> None:
        """Stop ``job`` now (ping's ^C): it finishes with what it has, ``on_done`` included."""
        if job in self._jobs:
            self._finish(job)

    def wait(self, job: PingJob, timeout: float | None = None) -> PingStats:
        """Serve the tap from a private selector until ``job`` is done (tests, scripts; not
        from inside an event loop callback)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self._fd, selectors.EVENT_READ)
            while not job.done and not self._closed:
                wait = self.poll()
                if job.done:
                    break
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self.cancel(job)
                        break
                    wait = left if wait is None else min(wait, left)
                if sel.select(wait):
                    self.handle_readable()
                if self.broken:
                    self.cancel(job)
        return job.stats

    # -- internals: frames -------------------------------------------------------------------

    def _send(self, frame: bytes) -> bool:
        try:
            os.write(self._fd, frame)
        except OSError as err:
            self._tx[2] += 1
            if err.errno in (errno.EBADFD, errno.EBADF):
                self._break(f"tap write failed: {err.strerror}")
            return False
        self._tx[0] += 1
        self._tx[1] += len(frame)
        return True

    def _break(self, why: str) -> None:
        self.broken = why
        self.detach()
        for job in list(self._jobs):
            self._finish(job)

    def _frame(self, frame: bytes, now: float) -> None:
        if len(frame) < 14:
            self._rx[2] += 1
            return
        dst = frame[0:6]
        etype = frame[12:14]
        if etype == ETH_P_ARP and dst in (self._mac_raw, BROADCAST):
            self._arp(frame, now)
        elif etype == ETH_P_IP and dst == self._mac_raw and self.address is not None:
            self._ipv4(frame, now)
        else:
            self._rx[2] += 1

    def _arp(self, frame: bytes, now: float) -> None:
        L = self._L
        arp = L.Ether(frame).getlayer(L.ARP)
        if (arp is None or arp.hwtype != 1 or arp.ptype != 0x0800 or arp.hwlen != 6
                or arp.plen != 4 or self.address is None):
            self._rx[2] += 1
            return
        psrc = IPv4Address(arp.psrc)
        if psrc != ZERO_IP and psrc not in LINK_LOCAL:
            self._rx[2] += 1
            return
        sender = bytes.fromhex(str(arp.hwsrc).replace(":", ""))
        if arp.op == 1 and IPv4Address(arp.pdst) == self.address.ip:
            if psrc != ZERO_IP:
                self._learn(psrc, sender, now)
            reply = (L.Ether(dst=arp.hwsrc, src=self.mac)
                     / L.ARP(op=2, hwsrc=self.mac, psrc=str(self.address.ip), hwdst=arp.hwsrc,
                             pdst=str(psrc)))
            self._send(bytes(reply))
        elif arp.op == 2 and psrc != ZERO_IP and (psrc in self._arp_state
                                                  or psrc in self._neigh):
            self._learn(psrc, sender, now)
        else:
            self._rx[2] += 1

    def _learn(self, ip: IPv4Address, mac: bytes, now: float) -> None:
        if mac == BROADCAST or mac[0] & 1 or mac == bytes(6):
            return
        self._neigh[ip] = mac
        self._arp_state.pop(ip, None)
        for ip_packet, _job, _seq in self._unresolved.pop(ip, []):
            self._send(mac + self._mac_raw + ETH_P_IP + ip_packet)

    def _ipv4(self, frame: bytes, now: float) -> None:
        L = self._L
        eth = L.Ether(frame)
        ip = eth.getlayer(L.IP)
        assert self.address is not None
        if ip is None or ip.version != 4 or ip.proto != 1 or ip.frag != 0 or ip.flags.MF:
            self._rx[2] += 1
            return
        src = IPv4Address(ip.src)
        if IPv4Address(ip.dst) != self.address.ip or src not in LINK_LOCAL:
            self._rx[2] += 1
            return
        icmp = ip.getlayer(L.ICMP)
        if icmp is None:
            self._rx[2] += 1
            return
        if icmp.type == 8 and icmp.code == 0:
            payload = bytes(icmp.payload)
            reply = (L.Ether(dst=eth.src, src=self.mac)
                     / L.IP(src=str(self.address.ip), dst=str(src), ttl=64, id=self._next_id())
                     / L.ICMP(type=0, code=0, id=icmp.id, seq=icmp.seq) / payload)
            self._send(bytes(reply))
        elif icmp.type == 0:
            self._echo_reply(src, int(icmp.id), int(icmp.seq), int(ip.ttl),
                             len(bytes(icmp)), now)
        else:
            self._rx[2] += 1

    def _next_id(self) -> int:
        self._ip_id = (self._ip_id + 1) & 0xFFFF
        return self._ip_id

    # -- internals: pings and timers ---------------------------------------------------------

    def _echo_reply(self, src: IPv4Address, ident: int, seq: int, ttl: int, size: int,
                    now: float) -> None:
        for job in self._jobs:
            if job.ident == ident and job.dst == src and seq in job._outstanding:
                sent_at, _deadline = job._outstanding.pop(seq)
                job.received += 1
                reply = PingReply(seq, now - sent_at, ttl, size, src)
                job.replies.append(reply)
                if job.interval == 0:
                    job._next_send = now
                if job.on_reply is not None:
                    job.on_reply(reply)
                return
        self._rx[2] += 1

    def _send_echo(self, job: PingJob, now: float) -> None:
        L = self._L
        assert self.address is not None
        seq = job._next_seq
        job._next_seq += 1
        job.sent += 1
        wall = time.time()
        stamp = struct.pack("<qq", int(wall), int((wall % 1) * 1_000_000))
        pattern = bytes((0x10 + i) & 0xFF for i in range(job.size - len(stamp)))
        packet = bytes(L.IP(src=str(self.address.ip), dst=str(job.dst), ttl=64, flags="DF",
                            id=self._next_id())
                       / L.ICMP(type=8, code=0, id=job.ident, seq=seq & 0xFFFF)
                       / (stamp + pattern))
        job._outstanding[seq & 0xFFFF] = (now, now + job.timeout)
        mac = self._neigh.get(job.dst)
        if mac is not None:
            self._send(mac + self._mac_raw + ETH_P_IP + packet)
            return
        queue = self._unresolved.setdefault(job.dst, [])
        if len(queue) < ARP_QUEUE:
            queue.append((packet, job, seq & 0xFFFF))
        if job.dst not in self._arp_state:
            self._arp_state[job.dst] = (now, 0)
            self._arp_timers(now)

    def _send_arp_request(self, target: IPv4Address) -> None:
        L = self._L
        assert self.address is not None
        request = (L.Ether(dst="ff:ff:ff:ff:ff:ff", src=self.mac)
                   / L.ARP(op=1, hwsrc=self.mac, psrc=str(self.address.ip),
                           hwdst="00:00:00:00:00:00", pdst=str(target)))
        self._send(bytes(request))

    def _arp_timers(self, now: float) -> None:
        for target, (when, tries) in list(self._arp_state.items()):
            if now < when:
                continue
            if tries >= ARP_TRIES:
                del self._arp_state[target]
                for _packet, job, seq in self._unresolved.pop(target, []):
                    if job._outstanding.pop(seq, None) is not None:
                        job.errors += 1
                        if job.interval == 0:
                            job._next_send = now
                        if job.on_error is not None:
                            job.on_error(seq, "Destination Host Unreachable")
                continue
            self._send_arp_request(target)
            self._arp_state[target] = (now + ARP_RETRANS, tries + 1)

    def _job_timers(self, job: PingJob, now: float) -> None:
        for seq, (_sent, deadline) in list(job._outstanding.items()):
            if now >= deadline:
                del job._outstanding[seq]
                if job.interval == 0:
                    job._next_send = now
        while job.sent < job.count and now >= job._next_send and (
                job.interval > 0 or not job._outstanding):
            self._send_echo(job, now)
            if job.interval > 0:
                # a late loop does not send a burst to catch up
                following = job._next_send + job.interval
                job._next_send = following if following > now else now + job.interval
            else:
                job._next_send = float("inf")  # the next one when this one is done
            if self._closed or self.broken:
                return
        if job.sent >= job.count and not job._outstanding:
            self._finish(job)

    def _finish(self, job: PingJob, notify: bool = True) -> None:
        if job.done:
            return
        job.done = True
        job._outstanding.clear()
        with contextlib.suppress(ValueError):
            self._jobs.remove(job)
        for target, queue in list(self._unresolved.items()):
            self._unresolved[target] = [q for q in queue if q[1] is not job]
            if not self._unresolved[target]:
                del self._unresolved[target]
                self._arp_state.pop(target, None)
        if notify and job.on_done is not None:
            job.on_done(job.stats)

    def _next_deadline(self) -> float | None:
        times: list[float] = [when for when, _ in self._arp_state.values()]
        for job in self._jobs:
            times.extend(deadline for _, deadline in job._outstanding.values())
            if job.sent < job.count and (job.interval > 0 or not job._outstanding):
                times.append(job._next_send)
        finite = [t for t in times if t != float("inf")]
        return min(finite) if finite else None

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            with contextlib.suppress(Exception):
                self._timer.cancel()
        self._timer = None
        self._timer_at = None

    def _reschedule(self) -> None:
        if self._loop is None:
            return
        when = self._next_deadline()
        if when is None:
            self._cancel_timer()
            return
        if self._timer_at is not None and self._timer_at <= when:
            return
        self._cancel_timer()
        self._timer_at = when
        self._timer = self._loop.call_later(max(0.0, when - time.monotonic()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self.poll()

    def __repr__(self) -> str:
        return (f"GuestNic(name={self.name!r}, mac={self.mac!r}, address="
                f"{str(self.address) if self.address else None!r}, fd={self._fd})")


@contextlib.contextmanager
def serve_in_thread(*nics: GuestNic) -> Iterator[None]:
    """Serve ``nics`` from a background thread for the ``with`` body (tests and benchmarks,
    where the main thread blocks on a probe). Do not touch the NICs from other threads
    meanwhile."""
    rfd, wfd = os.pipe()
    stop = threading.Event()

    def loop() -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(rfd, selectors.EVENT_READ)
            for nic in nics:
                sel.register(nic.fileno(), selectors.EVENT_READ, nic)
            while not stop.is_set():
                waits = [w for w in (n.poll() for n in nics) if w is not None]
                for key, _ in sel.select(min(waits) if waits else None):
                    if key.data is not None:
                        key.data.handle_readable()

    thread = threading.Thread(target=loop, name="acrnkit-guest-nic", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        os.write(wfd, b"x")
        thread.join(5.0)
        os.close(rfd)
        os.close(wfd)


_LAYERS: Any = None


def _layers() -> Any:
    """scapy's Ether/ARP/IP/ICMP, imported on first use."""
    global _LAYERS
    if _LAYERS is None:
        from types import SimpleNamespace

        from scapy.layers.inet import ICMP, IP  # type: ignore[import-untyped,unused-ignore]
        from scapy.layers.l2 import ARP, Ether  # type: ignore[import-untyped,unused-ignore]

        _LAYERS = SimpleNamespace(Ether=Ether, ARP=ARP, IP=IP, ICMP=ICMP)
    return _LAYERS


__all__ = ["EventLoop", "GuestNic", "IpParam", "NicCounters", "PingJob", "PingReply",
           "link_running", "open_tap", "parse_ip_param", "serve_in_thread", "wait_running"]
