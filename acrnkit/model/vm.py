"""The whole VM as acrn-dm sees it: global options, ``-s`` devices, ``-l`` ports and the name.

``VM`` is release-independent; the release decides how it is spelled (``render``), read back
(``parse``) and judged (``check``). Field names equal the option keys of
``acrnkit.releases.options``; ``FIELD_CODECS`` says how each field becomes argv text.
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING, dataclass, fields, replace
from acrnkit.errors import ConfigError
from acrnkit.model.devices.lpc import LpcPort
from acrnkit.model.slots import Bdf
from acrnkit.model.values import CpuAffinity, IntrMonitor, MemSize, Ovmf
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from acrnkit.model.devices.base import Device


@dataclass(frozen=True)
class PciDevice:
    """One ``-s`` argument: where, what, and the vSBL boot flag (``<bdf>,<emul>,b,<config>``)."""

    bdf: Bdf
    device: Device
    boot: bool = False

    def __post_init__(self) -> None:
        # pci_parse_slot() takes "b" as the boot flag only when a comma follows it.
        config = self.device.render_config()
        if self.boot and config is None:
            raise ConfigError("pci_slot.boot", True, "the ',b' boot flag needs a config after it")
        if not self.boot and config is not None and config.startswith("b,"):
            raise ConfigError("pci_slot.config", config, "a config starting with 'b,' reads as "
                              "the boot flag")

    @property
    def emul(self) -> str:
        return self.device.emul

    def render(self) -> str:
        text = f"{self.bdf.render()},{self.device.emul}"
        if self.boot:
            text += ",b"
        config = self.device.render_config()
        if config is not None:
            text += f",{config}"
        return text


@dataclass(frozen=True)
class VM:
    """A complete acrn-dm invocation, without argv[0]."""

    name: str | None = None
    memsize: MemSize | None = None
    devices: tuple[PciDevice, ...] = ()
    lpc: tuple[LpcPort, ...] = ()
    kernel: str | None = None
    ramdisk: str | None = None
    bootargs: str | None = None
    elf_file: str | None = None
    ovmf: Ovmf | None = None
    vsbl: str | None = None
    part_info: str | None = None
    cpu_affinity: CpuAffinity | None = None
    acpi: bool = False
    mptgen: bool = False
    virtio_msix: bool = False
    virtio_msi: bool = False
    uuid: str | None = None
    pincpu: str | None = None
    gvtargs: str | None = None
    ioc_node: str | None = None
    mac_seed: str | None = None
    iasl: str | None = None
    enable_trusty: bool = False
    virtio_poll: int | None = None
    debugexit: bool = False
    intr_monitor: IntrMonitor | None = None
    cmd_monitor: str | None = None
    acpidev_pt: tuple[str, ...] = ()
    mmiodev_pt: tuple[str, ...] = ()
    vtpm2: str | None = None
    lapic_pt: bool = False
    rtvm: bool = False
    #: ``True`` is 2.7's flag form; a string is 3.x's ``Ln,vcpu=..,size=..`` parameter.
    ssram: bool | str = False
    logger_setting: str | None = None
    pm_notify_channel: str | None = None
    pm_by_vuart: str | None = None
    windows: bool = False

    def __post_init__(self) -> None:
        seen: dict[tuple[int, int, int], PciDevice] = {}
        for dev in self.devices:
            if dev.bdf.key in seen:
                raise ConfigError("pci_slot", dev.render(),
                                  f"slot {dev.bdf.slot}:{dev.bdf.func} already used by "
                                  f"{seen[dev.bdf.key].emul}")
            seen[dev.bdf.key] = dev
        if self.name is not None and self.name.startswith("-"):
            raise ConfigError("name", self.name, "a VM name starting with '-' reads as an option")

    def with_devices(self, *devices: PciDevice) -> VM:
        return replace(self, devices=self.devices + tuple(devices))

    def device_at(self, slot: int, func: int = 0, bus: int = 0) -> PciDevice | None:
        for dev in self.devices:
            if dev.bdf.key == (bus, slot, func):
                return dev
        return None

    def devices_of(self, emul: str) -> tuple[PciDevice, ...]:
        return tuple(d for d in self.devices if d.emul == emul)


@dataclass(frozen=True)
class Codec:
    """How one VM field turns into argv text and back (``parse`` may consult the release)."""

    parse: Callable[[str, Release], Any]
    render: Callable[[Any], str]
    kind: str = "value"  # "value" | "flag" | "list"


def _text(value: str, release: Release) -> str:
    return value


def _int(value: str, release: Release) -> int:
    try:
        return int(value, 0)
    except ValueError:
        raise ConfigError("virtio_poll", value, "not a number") from None


FIELD_CODECS: dict[str, Codec] = {
    "memsize": Codec(lambda t, r: MemSize.parse(t), lambda v: v.render()),
    "cpu_affinity": Codec(CpuAffinity.parse, lambda v: v.render()),
    "ovmf": Codec(Ovmf.parse, lambda v: v.render()),
    "intr_monitor": Codec(lambda t, r: IntrMonitor.parse(t), lambda v: v.render()),
    "virtio_poll": Codec(_int, str),
    "lpc": Codec(LpcPort.parse, lambda v: v.render(), "list"),
    "acpidev_pt": Codec(_text, str, "list"),
    "mmiodev_pt": Codec(_text, str, "list"),
}
for _f in fields(VM):
    if _f.name in FIELD_CODECS or _f.name in ("name", "devices"):
        continue
    if _f.type in ("bool", bool):
        FIELD_CODECS[_f.name] = Codec(lambda t, r: True, str, "flag")
    else:
        FIELD_CODECS[_f.name] = Codec(_text, str)

#: Canonical order for ``render``: what Kata and ACRN's scripts put first comes first.
RENDER_ORDER: tuple[str, ...] = (
    "acpi", "memsize", "uuid", "pincpu", "devices", "lpc", "virtio_msix", "virtio_msi", "mptgen",
    "gvtargs", "ioc_node", "mac_seed", "vsbl", "ovmf", "iasl", "cpu_affinity", "part_info",
    "enable_trusty", "virtio_poll", "debugexit", "intr_monitor", "cmd_monitor", "acpidev_pt",
    "mmiodev_pt", "vtpm2", "lapic_pt", "rtvm", "ssram", "logger_setting", "pm_notify_channel",
    "pm_by_vuart", "windows", "elf_file", "kernel", "ramdisk", "bootargs",
)


def field_names() -> Sequence[str]:
    return [f.name for f in fields(VM)]


_missing = set(field_names()) - set(RENDER_ORDER) - {"name"}
assert not _missing, f"RENDER_ORDER misses {_missing}"
