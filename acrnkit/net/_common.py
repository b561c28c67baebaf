"""Shared, scapy-free pieces of ``acrnkit.net``: the link-local rule, MACs and result types.

The safety rule of the package lives here: every address acrnkit.net sends to, answers or probes
must be a host address of ``169.254.0.0/16`` (IPv4 link-local). ``link_local()`` is the one check
every entry point calls; it raises ``ConfigError`` naming the offending field.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from acrnkit.errors import ConfigError

#: The only network acrnkit.net ever talks to.
LINK_LOCAL = IPv4Network("169.254.0.0/16")
#: Prefix of every network namespace created by :class:`acrnkit.net.TestNetwork`.
NETNS_PREFIX = "acrnkit-"
#: Linux IFNAMSIZ is 16 including the NUL.
IFNAMSIZ = 16

_MAC = re.compile(r"[0-9A-Fa-f]{1,2}(:[0-9A-Fa-f]{1,2}){5}")
_BAD_IFNAME = re.compile(r"[\s/:]")


def link_local(field: str, value: object) -> IPv4Address:
    """``value`` as a link-local host address, or ``ConfigError`` naming ``field``."""
    if isinstance(value, IPv4Address):
        addr = value
    else:
        try:
            addr = IPv4Address(str(value).strip())
        except ValueError:
            raise ConfigError(field, value, "not an IPv4 address") from None
    if addr not in LINK_LOCAL:
        raise ConfigError(field, value, "outside 169.254.0.0/16: acrnkit.net only talks to "
                          "link-local addresses (safety rule)")
    if addr in (LINK_LOCAL.network_address, LINK_LOCAL.broadcast_address):
        raise ConfigError(field, value, "the network or broadcast address of 169.254.0.0/16 "
                          "is not a host address")
    return addr


def link_local_interface(field: str, value: object) -> IPv4Interface:
    """``169.254.X.Y/P`` (prefix 16..30; a bare address means /16), link-local checked."""
    text = str(value).strip()
    if "/" not in text:
        text += "/16"
    try:
        iface = IPv4Interface(text)
    except ValueError:
        raise ConfigError(field, value, "not an IPv4 address/prefix") from None
    link_local(field, iface.ip)
    if not 16 <= iface.network.prefixlen <= 30:
        raise ConfigError(field, value, "the prefix must be /16../30 (inside 169.254.0.0/16)")
    if iface.ip in (iface.network.network_address, iface.network.broadcast_address):
        raise ConfigError(field, value, "the network or broadcast address of its subnet")
    return iface


def normalize_mac(field: str, value: str) -> str:
    """``ether_aton`` spelling (1-2 hex digits per byte) to ``aa:bb:cc:dd:ee:ff``."""
    if not isinstance(value, str) or not _MAC.fullmatch(value.strip()):
        raise ConfigError(field, value, "not a MAC address (six ':'-separated hex bytes)")
    return ":".join(f"{int(part, 16):02x}" for part in value.strip().split(":"))


def unicast_mac(field: str, value: str) -> str:
    mac = normalize_mac(field, value)
    if mac == "00:00:00:00:00:00":
        raise ConfigError(field, value, "the all-zero MAC cannot be used on a link")
    if int(mac[:2], 16) & 1:
        raise ConfigError(field, value, "a multicast MAC (first octet odd) cannot be a NIC's")
    return mac


def check_ifname(field: str, name: str) -> str:
    """A Linux interface name: 1..15 bytes, no whitespace, '/' or ':', not '.' or '..'."""
    raw = name.encode()
    if not raw or len(raw) >= IFNAMSIZ:
        raise ConfigError(field, name, f"interface names are 1..{IFNAMSIZ - 1} bytes (IFNAMSIZ)")
    if name in (".", "..") or _BAD_IFNAME.search(name):
        raise ConfigError(field, name, "not a valid interface name")
    return name


@dataclass(frozen=True)
class PingStats:
    """Echo requests sent, replies received, and each reply's round-trip time in seconds."""

    sent: int
    received: int
    rtts: tuple[float, ...]
    #: requests that could not be delivered (no ARP answer: "Destination Host Unreachable")
    errors: int = 0

    @property
    def lost(self) -> int:
        return self.sent - self.received

    @property
    def loss(self) -> float:
        """Fraction lost, 0.0..1.0 (0.0 when nothing was sent)."""
        return (self.sent - self.received) / self.sent if self.sent else 0.0

    @property
    def min(self) -> float | None:
        return min(self.rtts) if self.rtts else None

    @property
    def max(self) -> float | None:
        return max(self.rtts) if self.rtts else None

    @property
    def avg(self) -> float | None:
        return statistics.fmean(self.rtts) if self.rtts else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.rtts) if self.rtts else None

    @property
    def mdev(self) -> float | None:
        """ping(8)'s mdev: the population standard deviation."""
        return statistics.pstdev(self.rtts) if self.rtts else None

    def summary(self) -> str:
        """ping(8)'s two summary lines (without the ``--- host ping statistics ---`` header)."""
        loss = round(100 * self.loss)
        line = f"{self.sent} packets transmitted, {self.received} received"
        if self.errors:
            line += f", +{self.errors} errors"
        line += f", {loss}% packet loss"
        if not self.rtts:
            return line
        ms = [1000 * x for x in (self.min or 0.0, self.avg or 0.0, self.max or 0.0,
                                 self.mdev or 0.0)]
        return line + "\nrtt min/avg/max/mdev = " + "/".join(f"{x:.3f}" for x in ms) + " ms"


@dataclass(frozen=True)
class CapturedPacket:
    """One frame seen on an interface: capture time (epoch seconds) and the Ethernet bytes."""

    time: float
    data: bytes

    @property
    def dst_mac(self) -> str:
        return ":".join(f"{b:02x}" for b in self.data[0:6])

    @property
    def src_mac(self) -> str:
        return ":".join(f"{b:02x}" for b in self.data[6:12])

    @property
    def ethertype(self) -> int:
        return int.from_bytes(self.data[12:14], "big") if len(self.data) >= 14 else 0

    def scapy(self) -> object:
        """The frame as a scapy ``Ether`` packet (imports scapy)."""
        from scapy.layers.l2 import Ether  # type: ignore[import-untyped,unused-ignore]

        return Ether(self.data)

    def summary(self) -> str:
        return str(self.scapy().summary())  # type: ignore[attr-defined]
