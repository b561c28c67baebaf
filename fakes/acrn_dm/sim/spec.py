"""What the simulated guest is made of, derived from the VM model (``CheckResult.vm``).

``GuestSpec.build(result, settings)`` turns acrnkit's typed model into plain data the simulation
reads: the PCI devices in probe order, the disks (``vda``... in slot order with their sizes), the
NICs (``eth0``... with their MACs), the console ports and their backends, the memory and CPU
count, and which manager handlers acrn-dm registers. Nothing here prints or opens sockets.

When the checker accepts an argv but could not build a model (an emulation acrnkit does not
model, such as ``passthru``), the spec is built from a plain walk of the argv instead; the
unmodelled devices then appear in the boot log by name only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from acrnkit.argv.check import CheckResult
from acrnkit.argv.host import LocalHost
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import REGISTRY, DeviceInitError, ParseContext
from acrnkit.model.devices.lpc import LpcPort
from acrnkit.model.devices.vhost_vsock import VhostVsock
from acrnkit.model.devices.virtio_blk import VirtioBlk
from acrnkit.model.devices.virtio_console import VirtioConsole
from acrnkit.model.devices.virtio_net import VirtioNet
from acrnkit.model.slots import Bdf
from acrnkit.model.values import CpuAffinity, MemSize
from acrnkit.model.vm import VM, PciDevice
from acrnkit.releases.profile import Release, get_release

from ..settings import Settings

#: acrn-dm's default guest memory (``memsize = 256 * MB`` in main(), every release here).
DEFAULT_MEM_MIB = 256
SECTOR = 512

#: PCI ids acrn-dm gives its emulations (vendor, device, class), for the guest's PCI scan.
#: Legacy virtio ids (``VIRTIO_DEV_*`` in devicemodel/include/virtio.h); others from their .c.
PCI_IDS: dict[str, tuple[int, int, int]] = {
    "hostbridge": (0x8086, 0x5AF0, 0x060000),
    "amd_hostbridge": (0x1022, 0x1450, 0x060000),
    "lpc": (0x8086, 0x7000, 0x060100),
    "igd-lpc": (0x8086, 0x7000, 0x060100),
    "virtio-net": (0x1AF4, 0x1000, 0x020000),
    "virtio-blk": (0x1AF4, 0x1001, 0x010000),
    "virtio-console": (0x1AF4, 0x1003, 0x078000),
    "virtio-rnd": (0x1AF4, 0x1005, 0x00FF00),
    "virtio-input": (0x1AF4, 0x1052, 0x098000),
    "virtio-gpu": (0x1AF4, 0x1050, 0x030000),
    "vhost-vsock": (0x1AF4, 0x1053, 0x078000),
    "virtio-i2c": (0x8086, 0x860A, 0x0C8000),
    "virtio-gpio": (0x8086, 0x8609, 0x088000),
    "virtio-rpmb": (0x8086, 0x8601, 0x078000),
    "virtio-heci": (0x8086, 0x8602, 0x078000),
    "ahci": (0x8086, 0x2821, 0x010601),
    "ahci-hd": (0x8086, 0x2821, 0x010601),
    "ahci-cd": (0x8086, 0x2821, 0x010601),
    "xhci": (0x8086, 0x1E31, 0x0C0330),
    "uart": (0x8086, 0x9D27, 0x070002),
    "wdt-i6300esb": (0x8086, 0x25AB, 0x088000),
    "ivshmem": (0x1AF4, 0x1110, 0x050000),
    "dummy": (0x0000, 0x0000, 0x000000),
}


@dataclass(frozen=True)
class PciSpec:
    """One PCI function as the guest's scan finds it; ``virtio`` is its virtioN index or None."""

    bdf: Bdf
    emul: str
    device: Any  # the model object, or None for an emulation acrnkit does not model
    virtio: int | None

    @property
    def address(self) -> str:
        return f"0000:{self.bdf.bus:02x}:{self.bdf.slot:02x}.{self.bdf.func}"


@dataclass(frozen=True)
class DiskSpec:
    """A virtio-blk function. ``path`` None is ``nodisk`` (capacity 0 until BLKRESCAN)."""

    pci: PciSpec
    index: int  # vda = 0, vdb = 1, ... (probe order)
    path: str | None
    size: int  # bytes the guest sees
    logical: int = SECTOR
    ro: bool = False

    @property
    def name(self) -> str:
        return "vd" + _disk_letters(self.index)


@dataclass(frozen=True)
class NicSpec:
    """A virtio-net function as the guest's ``ethN``."""

    pci: PciSpec
    index: int
    mac: str
    tap: str | None  # the tap acrn-dm opens, None when the config opens none (no carrier)
    vhost: bool

    @property
    def name(self) -> str:
        return f"eth{self.index}"


@dataclass(frozen=True)
class PortSpec:
    """One console port and its host backend.

    ``device`` is the guest's node (``hvc0``, ``vport1p1``, ``ttyS0``); ``backend`` is stdio,
    pty, socket, file, tty (a path), tcp (``-l comN,tcp:<port>``) or none.
    """

    device: str
    backend: str
    path: str | None = None
    client: bool = False
    console: bool = False  # an hvc console port ("@") or a COM port
    uart: bool = False  # an LPC COM port (acrn-dm sets the tty raw without OPOST)
    label: str = ""  # "virtio-console 6 port p0" / "com1", for messages
    tcp_port: int = 0
    #: the virtio-console function that has this port (None for a COM port)
    pci_key: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class GuestSpec:
    release: Release
    name: str
    bootargs: str
    mem_mib: int
    ncpus: int
    kernel_release: str
    pci: tuple[PciSpec, ...]
    disks: tuple[DiskSpec, ...]
    nics: tuple[NicSpec, ...]
    ports: tuple[PortSpec, ...]
    #: the manager's stop/suspend handler acrn-dm registers: "power_button", "vuart", "ioc"
    #: or None (then graceful STOP and SUSPEND answer -1)
    power_handler: str | None
    rtvm: bool
    vsock_cids: tuple[int, ...]
    #: console logger level (``--logger_setting console,level=N``; default 4 = info)
    log_level: int

    @property
    def has_virtio_blk(self) -> bool:
        return bool(self.disks)

    def console_devices(self) -> tuple[str, ...]:
        """The guest's consoles, kernel order: the ``console=`` names of -B that exist, else
        the hvc console port, else ttyS0. The last one is /dev/console (login runs there)."""
        present = {p.device for p in self.ports if p.console}
        named: list[str] = []
        for word in self.bootargs.split():
            if word.startswith("console="):
                dev = word[len("console="):].split(",", 1)[0]
                if dev in present and dev not in named:
                    named.append(dev)
        if named:
            return tuple(named)
        for dev in ("hvc0", "ttyS0"):
            if dev in present:
                return (dev,)
        return ()

    def panic_timeout(self) -> int:
        """The kernel's ``panic=`` parameter (0 = hang forever after a panic)."""
        value = 0
        for word in self.bootargs.split():
            if word.startswith("panic="):
                try:
                    value = int(word[len("panic="):], 0)
                except ValueError:
                    value = 0
        return value

    @classmethod
    def build(cls, result: CheckResult, settings: Settings) -> GuestSpec:
        release = result.release
        vm = result.vm
        extra: tuple[tuple[Bdf, str], ...] = ()
        name = vm.name if vm is not None else None
        if vm is None:
            vm, extra, name = _fallback_vm(result.argv, release)
        return _spec(vm, extra, release, settings, name or "")


def _disk_letters(index: int) -> str:
    """Linux ``sd_format_disk_name``: a..z, aa..zz, aaa..."""
    letters = ""
    index += 1
    while index > 0:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("a") + rem) + letters
    return letters


def _spec(vm: VM, extra: tuple[tuple[Bdf, str], ...], release: Release,
          settings: Settings, name: str) -> GuestSpec:
    host = LocalHost(strict=settings.strict_host)
    entries: list[tuple[Bdf, str, Any]] = [(d.bdf, d.emul, d.device) for d in vm.devices]
    entries += [(bdf, emul, None) for bdf, emul in extra]
    entries.sort(key=lambda e: e[0].key)
    pci: list[PciSpec] = []
    virtio = 0
    for bdf, emul, device in entries:
        is_virtio = emul.startswith("virtio-") or emul == "vhost-vsock"
        pci.append(PciSpec(bdf, emul, device, virtio if is_virtio else None))
        if is_virtio:
            virtio += 1
    disks: list[DiskSpec] = []
    nics: list[NicSpec] = []
    ports: list[PortSpec] = []
    cids: list[int] = []
    hvc = 0
    vtcon_index = 0
    for spec in pci:
        dev = spec.device
        if isinstance(dev, VirtioBlk):
            disks.append(_disk(spec, dev, len(disks), host))
        elif isinstance(dev, VirtioNet):
            nics.append(NicSpec(spec, len(nics), _mac(dev, spec.bdf, release, vm.mac_seed),
                                dev.opens_tap(release), dev.vhost))
        elif isinstance(dev, VirtioConsole):
            for port_id, port in enumerate(dev.ports):
                if port.console:
                    node = f"hvc{hvc}"
                    hvc += 1
                else:
                    node = f"vport{vtcon_index}p{port_id}"
                ports.append(PortSpec(
                    node, port.kind, port.path, port.is_client, port.console, False,
                    f"virtio-console {spec.bdf} port {port.name}", pci_key=spec.bdf.key))
            vtcon_index += 1
        elif isinstance(dev, VhostVsock):
            cids.append(dev.cid)
    if any(s.emul == "lpc" for s in pci):
        ports.extend(_com_port(p) for p in vm.lpc)
    level = _console_level(vm.logger_setting)
    mem = vm.memsize.mib if isinstance(vm.memsize, MemSize) else DEFAULT_MEM_MIB
    ncpus = len(vm.cpu_affinity.ids) if isinstance(vm.cpu_affinity, CpuAffinity) else 1
    return GuestSpec(
        release=release, name=name,
        bootargs=vm.bootargs or "", mem_mib=mem, ncpus=max(ncpus, 1),
        kernel_release=settings.kernel_release, pci=tuple(pci), disks=tuple(disks),
        nics=tuple(nics), ports=tuple(ports), power_handler=_power_handler(vm, release),
        rtvm=vm.rtvm, vsock_cids=tuple(cids), log_level=level,
    )


def _disk(spec: PciSpec, dev: VirtioBlk, index: int, host: LocalHost) -> DiskSpec:
    logical = dev.sectorsize.logical if dev.sectorsize is not None else SECTOR
    if dev.is_nodisk:
        return DiskSpec(spec, index, None, 0, logical, dev.ro)
    size = dev.range[1] * logical if dev.range is not None else host.size(dev.path) or 0
    return DiskSpec(spec, index, dev.path, size - size % logical, logical, dev.ro)


def _mac(dev: VirtioNet, bdf: Bdf, release: Release, seed: str | None) -> str:
    if (not release.has("net.per_device_mac_seed") and dev.mac is None
            and (dev.ignored or dev.mac_seed is not None)):
        # acrn-dm <= 2.7: every token but "vhost" goes to virtio_net_parsemac and sets
        # mac_provided, so without a mac= the guest MAC stays all-zero (virtio_net.c).
        return "00:00:00:00:00:00"
    return dev.effective_mac(bdf.slot, bdf.func, release, seed)


def _com_port(port: LpcPort) -> PortSpec:
    unit = int(port.port[3:])
    kind = port.backend_kind
    tcp_port = 0
    path = None
    if kind == "tcp" and port.backend is not None:
        digits = port.backend.partition(":")[2]
        tcp_port = int(digits) if digits.isdigit() else 0
    elif kind == "tty":
        path = port.backend
    return PortSpec(f"ttyS{unit - 1}", kind, path, False, True, True, port.port.lower(),
                    tcp_port)


def _console_level(setting: str | None) -> int:
    """``--logger_setting``: the console logger's level (log.c; default 4, always enabled)."""
    level = 4
    if setting:
        for elem in setting.split(";"):
            name, _, rest = elem.partition(",")
            if name == "console" and rest.startswith("level="):
                digits = rest[len("level="):]
                if digits.isdigit():
                    level = int(digits)
    return level


def _power_handler(vm: VM, release: Release) -> str | None:
    """Which ``monitor_vm_ops`` with a ``stop`` acrn-dm registers (main.c guest_pm_notify_init):
    none unless ``--pm_notify_channel`` names one (the default channel is 0, "No pm notify
    channel given")."""
    channel = vm.pm_notify_channel
    if channel is None:
        return None
    strict = release.has("pm_notify.strict")

    def named(word: str) -> bool:
        return channel == word if strict else channel.startswith(word)

    if named("power_button"):
        return "power_button"
    if channel.startswith("uart"):
        return "vuart" if vm.pm_by_vuart and not release.has("obsolete_notices") else None
    if named("ioc"):
        return "ioc" if vm.ioc_node and not release.has("obsolete_notices") else None
    return None


def _fallback_vm(argv: Sequence[str],
                 release: Release) -> tuple[VM, tuple[tuple[Bdf, str], ...], str | None]:
    """A VM of what can be modelled, (bdf, emul) of the devices that cannot, and the name."""
    from acrnkit.argv.getopt import Opt, Positional, scan

    positionals: list[Positional] = []
    kwargs: dict[str, Any] = {}
    devices: list[PciDevice] = []
    lpc: list[LpcPort] = []
    extra: list[tuple[Bdf, str]] = []
    rel = get_release(release)
    for event in scan(argv, rel, positionals):
        if not isinstance(event, Opt) or event.value is None:
            if isinstance(event, Opt) and event.key in ("rtvm", "lapic_pt"):
                kwargs[event.key] = True
            continue
        key, value = event.key, event.value
        try:
            if key == "pci_slot":
                _fallback_slot(value, rel, devices, extra)
            elif key == "lpc":
                lpc.append(LpcPort.parse(value, rel))
            elif key == "memsize":
                kwargs["memsize"] = MemSize.parse(value)
            elif key == "cpu_affinity":
                kwargs["cpu_affinity"] = CpuAffinity.parse(value, rel)
            elif key in ("bootargs", "mac_seed", "pm_notify_channel", "pm_by_vuart",
                         "logger_setting", "ioc_node"):
                kwargs[key] = value
        except Exception:
            continue
    name = positionals[0].value if positionals else None
    try:
        vm = VM(devices=tuple(devices), lpc=tuple(lpc), **kwargs)
    except ConfigError:
        vm = VM(devices=tuple(devices))
    return vm, tuple(extra), name


def _fallback_slot(text: str, rel: Release, devices: list[PciDevice],
                   extra: list[tuple[Bdf, str]]) -> None:
    bdf_text, _, rest = text.partition(",")
    emul, comma, config = rest.partition(",")
    conf: str | None = config if comma else None
    if conf is not None and conf.startswith("b,"):
        conf = conf[2:]
    bdf = Bdf.parse(bdf_text)
    if any(d.bdf.key == bdf.key for d in devices) or any(b.key == bdf.key for b, _ in extra):
        return
    entry = REGISTRY.get(emul)
    if entry is None:
        extra.append((bdf, emul))
        return
    try:
        device = entry[1](emul, conf, ParseContext(rel, bdf.slot, bdf.func))
    except DeviceInitError:
        extra.append((bdf, emul))
        return
    devices.append(PciDevice(bdf, device))
