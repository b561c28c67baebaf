"""virtio-net: ``tap=<name>[,mac_seed=<seed>][,vhost][,mac=<mac>]`` (3.x) or
``<ifname>[,vhost][,mac=<mac>]`` (1.x/2.x).

Sources: ``devicemodel/hw/pci/virtio/virtio_net.c`` at v1.6, v2.7, v3.0, v3.2, v3.3.

* v3.x: a tap is opened only when the config starts with ``tap`` and the text before the first
  ``=`` is exactly ``tap``; the old ``tap0`` form parses but opens no tap (link down).
  ``mac_seed=`` is honoured only as the token right after the tap name.
* v2.7: the first token is the device name; a tap is opened when it contains ``tap`` (v1.6:
  starts with ``tap``) or starts with ``vmnet``. Every other token but ``vhost`` goes to
  ``virtio_net_parsemac`` (only ``mac=`` is read, but any token marks the MAC as provided).
* ``mac=``: ``ether_aton``; a zero or multicast MAC is ``Invalid MAC <mac>`` at init.
* No config: ``virtio_net: invalid optional argument`` (v3.x), ``virtio_net: devname NULL``
  (2.7 and 1.6).
* Default MAC: ``00:16:3e`` + the first three bytes of md5(``"%d-%d-%s"`` slot, func, seed);
  up to 2.7 the seed is ``--mac_seed`` (``(null)`` when absent, glibc's printf of NULL); from
  3.0 it is the per-device ``mac_seed=`` or, without one, md5(``"%d-%d"``).
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import DeviceInitError, FileRef, ParseContext, no_comma, register
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from typing import ClassVar

IFNAMSIZ = 16
_HEX = "0123456789abcdefABCDEF"


def mac_bytes(text: str) -> bytes | None:
    """``ether_aton`` accepts 1 or 2 hex digits per byte, ``:`` separated."""
    parts = text.split(":")
    if len(parts) != 6 or not all(0 < len(p) <= 2 and p.strip(_HEX) == "" for p in parts):
        return None
    return bytes(int(part, 16) for part in parts)


def mac_problem(text: str) -> str | None:
    raw = mac_bytes(text)
    if raw is None:
        return "not a MAC address (six ':'-separated hex bytes)"
    if raw == bytes(6):
        return "the all-zero MAC is rejected by acrn-dm"
    if raw[0] & 1:
        return "a multicast MAC is rejected by acrn-dm (first octet is odd)"
    return None


def default_mac(slot: int, func: int, seed: str | None, release: Release) -> str:
    """The MAC acrn-dm gives a virtio-net without ``mac=`` (see module docstring)."""
    if release.has("net.per_device_mac_seed"):
        text = f"{slot}-{func}" if seed is None else f"{slot}-{func}-{seed}"
    else:
        text = f"{slot}-{func}-{'(null)' if seed is None else seed}"
    import hashlib  # here, not at module level: hashlib costs 2 ms of the fake's start-up

    # acrn-dm hashes strnlen(nstr, 80) bytes of an 80-byte snprintf buffer.
    digest = hashlib.md5(text.encode()[:79]).digest()
    return "00:16:3e:" + ":".join(f"{b:02x}" for b in digest[:3])


@register("virtio-net")
@dataclass(frozen=True)
class VirtioNet:
    """A virtio-net NIC. ``keyword=True`` renders ``tap=<ifname>`` (3.x), False the old form."""

    EMULS: ClassVar[tuple[str, ...]] = ("virtio-net",)

    ifname: str
    keyword: bool = True
    vhost: bool = False
    mac: str | None = None
    mac_seed: str | None = None
    #: tokens acrn-dm reads but ignores (kept so parse/render round-trips; flagged by check)
    ignored: tuple[str, ...] = ()

    emul: ClassVar[str] = "virtio-net"

    def __post_init__(self) -> None:
        no_comma("virtio-net.ifname", self.ifname)
        if "=" in self.ifname and self.keyword:
            raise ConfigError("virtio-net.ifname", self.ifname, "must not contain '='")
        if self.mac is not None:
            problem = mac_problem(self.mac)
            if problem:
                raise ConfigError("virtio-net.mac", self.mac, problem)
        if self.mac_seed is not None:
            no_comma("virtio-net.mac_seed", self.mac_seed)
            if not self.keyword:
                raise ConfigError("virtio-net.mac_seed", self.mac_seed,
                                  "per-device mac_seed= exists only with tap=<name> (ACRN 3.0+)")
        for tok in self.ignored:
            no_comma("virtio-net.ignored", tok)

    def render_config(self) -> str:
        out = [f"tap={self.ifname}" if self.keyword else self.ifname]
        if self.mac_seed is not None:
            out.append(f"mac_seed={self.mac_seed}")
        if self.vhost:
            out.append("vhost")
        if self.mac is not None:
            out.append(f"mac={self.mac}")
        out.extend(self.ignored)
        return ",".join(out)

    def opens_tap(self, release: Release) -> str | None:
        """The tap name acrn-dm ``release`` would open, or None when it opens none."""
        if release.has("net.tap_keyword"):
            return self.ifname if self.keyword else None
        if self.keyword:
            # 2.x reads "tap=tap0" as the device name and tries to open a tap of that name,
            # which cannot exist ('=' is not valid in an interface name).
            return None
        name = self.ifname
        if name.startswith("vmnet"):
            return name
        if release.has("net.legacy_tap_contains"):
            return name if "tap" in name else None
        return name if name.startswith("tap") else None

    def effective_mac(self, slot: int, func: int, release: Release,
                      global_seed: str | None = None) -> str:
        if self.mac is not None:
            raw = mac_bytes(self.mac)
            assert raw is not None
            return ":".join(f"{b:02x}" for b in raw)
        if self.ignored and not release.has("net.per_device_mac_seed"):
            # 1.x/2.x hand every extra token to virtio_net_parsemac(), which marks the MAC as
            # provided without setting it: the guest sees all zeros.
            return "00:00:00:00:00:00"
        seed = global_seed
        if release.has("net.per_device_mac_seed"):
            seed = None
            if self.mac_seed is not None:
                # v3.x virtio_net.c points mac_seed at the rest of the string after "mac_seed=",
                # so later tokens become part of the seed.
                tail = (["vhost"] if self.vhost else []) + list(self.ignored)
                seed = ",".join([self.mac_seed, *tail])
        return default_mac(slot, func, seed, release)

    @classmethod
    def parse_config(cls, emul: str, config: str | None, ctx: ParseContext) -> VirtioNet:
        rel = ctx.release
        if config is None:
            msg = ("virtio_net: invalid optional argument" if rel.has("net.tap_keyword")
                   else "virtio_net: devname NULL")
            raise DeviceInitError("virtio-net", None, msg)
        tokens = config.split(",")
        first, rest = tokens[0], tokens[1:]
        vhost = False
        mac: str | None = None
        ignored: list[str] = []
        mac_seed: str | None = None
        keyword = first.startswith("tap=")
        ifname = first[4:] if keyword else first
        if keyword and rel.has("net.tap_keyword") and rest and rest[0].startswith("mac_seed"):
            tok = rest.pop(0)
            mac_seed = tok.split("=", 1)[1] if "=" in tok else ""
        for tok in rest:
            if tok == "vhost":
                vhost = True
            elif tok.startswith("mac="):
                value = tok[4:]
                problem = mac_problem(value)
                if problem:
                    raise DeviceInitError("virtio-net.mac", value, f"Invalid MAC {value}")
                mac = value
            else:
                ignored.append(tok)
        if not rel.has("net.tap_keyword") and ignored:
            ctx.warn("virtio-net", f"virtio-net: tokens {ignored} are ignored but mark the MAC "
                     "as provided (guest MAC becomes 00:00:00:00:00:00)")
        if ifname == "" or ("=" in ifname and keyword):
            raise DeviceInitError("virtio-net.ifname", ifname)
        try:
            return cls(ifname=ifname, keyword=keyword, vhost=vhost, mac=mac,
                       mac_seed=mac_seed, ignored=tuple(ignored))
        except ConfigError as err:
            raise DeviceInitError(err.field, err.value) from err

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        out: list[tuple[str, object, str]] = []
        if len(self.ifname.encode()) >= IFNAMSIZ:
            out.append(("virtio-net.ifname", self.ifname,
                        f"tap names are at most {IFNAMSIZ - 1} bytes (IFNAMSIZ)"))
        if self.opens_tap(release) is None:
            out.append(("virtio-net.ifname", self.ifname,
                        f"ACRN {release} opens no tap for this form; use "
                        + ("tap=<name>" if release.has("net.tap_keyword") else "<name>")))
        if self.ignored:
            out.append(("virtio-net", ",".join(self.ignored), "tokens acrn-dm ignores"))
        return out

    def files(self) -> list[FileRef]:
        return []
