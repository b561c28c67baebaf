"""acrn-dm's VM model -> a ``qemu-system-x86_64`` argv (a list, never a shell string).

``translate(vm, release, options)`` is a pure function: everything it needs about the host
(which accelerator, whether ``/dev/vhost-vsock`` exists, the guest image's initrd) comes in
``TranslateOptions``, so the unit tests pin exact argv lists.

The machine is ``q35`` with ``-nodefaults -no-user-config -display none``: nothing but what the
acrn-dm argv asks for. q35 keeps slot 0 (host bridge) and slot 31 (ICH9 LPC, SATA, SMBus) for
itself, which is also where ACRN puts hostbridge and lpc; every other bus-0 slot is free, so
devices keep their acrn-dm address (``addr=0xS.F``).

=========================== ========================================================== =========
acrn-dm                     QEMU                                                        notes
=========================== ========================================================== =========
``-m 1G``                   ``-m 1024M``
``--cpu_affinity 1,2``      ``-smp 2`` (the number of ids)
``-k``/``-r``/``-B``        ``-kernel``/``-initrd``/``-append``                        (1)
``-U uuid``                 ``-uuid``
VM name                     ``-name``, SMBIOS type 1 manufacturer ``acrnkit``, product (2)
``virtio-blk,path[,ro]``    ``-drive if=none,...,format=raw[,readonly=on]`` + device   (3)
``virtio-net,tap=X,mac=M``  ``-netdev tap,ifname=X,script=no,downscript=no`` + device  (4)
``virtio-console``          ``virtio-serial-pci`` + ``virtconsole`` (``@``) or
                            ``virtserialport`` per port, chardev stdio/pty/file/tty/
                            socket (server: ``server=on,wait=off``)
``-l comN,backend``         ``isa-serial,index=N-1`` on the chardev (only with an lpc  (5)
                            slot, as in acrn-dm)
``uart,backend``            ``pci-serial``
``virtio-rnd``              ``virtio-rng-pci``
``vhost-vsock,cid=N``       ``vhost-vsock-pci,guest-cid=N`` when /dev/vhost-vsock exists
``ivshmem,dm:/name,MB``     ``memory-backend-file`` on ``/dev/shm/name`` + ``ivshmem-plain``
``xhci[,tablet]``           ``qemu-xhci`` [+ ``usb-tablet``]
``wdt-i6300esb``            ``i6300esb``
hostbridge, lpc             nothing (q35 has both)
=========================== ========================================================== =========

(1) Without ``-r`` the guest image's initrd is used (``options.initrd``); without either the
kernel boots with no initramfs. When ``-k`` names no kernel image (the placeholder files tests
write for the simulated guest), the backend boots the guest image's kernel instead
(``options.kernel``) and says so. (2) The guest's /init names the host after it.
(3) ``nodisk`` -> a ``null-co`` drive of size 0 (a disk of capacity 0, as acrn-dm's dummy
backend; BLKRESCAN answers -1). ``writeback`` -> ``cache=writeback``, otherwise
``cache=writethrough`` (acrn-dm's default);
``nocache`` -> ``cache.direct=on``; ``discard`` -> ``discard=unmap``; ``sectorsize=L/P`` ->
``logical_block_size``/``physical_block_size``; ``range=start/size`` (512-byte sectors) ->
``offset``/``size``; ``mq=N`` -> ``num-queues=N``; iothread and aio are host tuning, ignored.
(4) The MAC is acrn-dm's: ``mac=`` or its md5-derived default (``VirtioNet.effective_mac``).
``vhost`` -> ``vhost=on`` when /dev/vhost-net exists. (5) COM5 (the S5 vUART) is not honoured.

Everything else is *unsupported*: passthru, GVT, the daemon-backed virtio devices, hypervisor
ivshmem, USB host ports, vsock without /dev/vhost-vsock, devices on bus != 0 or on
q35's slots 0 and 31, and the options that need the ACRN hypervisor (``--lapic_pt``, ``--rtvm``,
``--ovmf``, ``-E``, ``--vsbl``, ``--ssram``, ...). With ``unsupported="refuse"``
:class:`TranslationError` lists them all; with ``"skip"`` they are left out and listed in
``QemuCommand.skipped`` for the backend to print. Nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from acrnkit.errors import AcrnkitError
from acrnkit.model.devices.lpc import LpcPort
from acrnkit.model.vm import VM, PciDevice
from acrnkit.releases.profile import Release, get_release

MACHINE = "q35"
#: q35's own PCI slots on bus 0: host bridge, and ICH9 LPC/SATA/SMBus at 31.
MACHINE_SLOTS = {0: "the q35 host bridge", 31: "q35's ICH9 LPC, SATA and SMBus"}
QMP_ID = "qmp"
QMP_PUBLIC_ID = "qmp-public"


class TranslationError(AcrnkitError):
    """The argv asks for something QEMU cannot honour (and the policy is ``refuse``)."""

    def __init__(self, problems: Sequence[Unsupported]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Unsupported:
    """One thing of the argv the QEMU target cannot honour: ``what`` is the argv text."""

    what: str
    reason: str

    def __str__(self) -> str:
        return f"{self.what}: {self.reason}"


@dataclass(frozen=True)
class Chardev:
    """A QEMU chardev standing in for an acrn-dm console backend."""

    id: str
    backend: str  # stdio | pty | file | tty | socket | null
    #: what it serves, in acrn-dm's words: ``virtio-console 3:0 port foo``, ``com1``
    serves: str
    path: str | None = None


@dataclass(frozen=True)
class TranslateOptions:
    """Host facts and settings; the defaults describe a plain TCG host."""

    qemu: str = "qemu-system-x86_64"
    #: the accelerator already decided (``probe_accel``): ``kvm`` or ``tcg``
    accel: str = "tcg"
    #: the guest image's initrd, used when the argv has no ``-r``
    initrd: str | None = None
    #: boot this instead of ``-k`` (the backend sets it when ``-k`` is not a kernel image)
    kernel: str | None = None
    #: ``refuse`` or ``skip``
    unsupported: str = "refuse"
    #: the backend's private QMP: an inherited connected socket (one end of a socketpair)
    qmp_fd: int | None = None
    #: the public QMP in the run dir: an inherited listening socket, or a path QEMU binds
    qmp_listen_fd: int | None = None
    qmp_path: str | None = None
    vhost_vsock: bool = False
    vhost_net: bool = False


@dataclass(frozen=True)
class QemuCommand:
    argv: tuple[str, ...]
    #: left out under ``unsupported="skip"`` (the backend prints them)
    skipped: tuple[Unsupported, ...] = ()
    #: honoured differently from acrn-dm, worth one line on stderr
    notes: tuple[str, ...] = ()
    chardevs: tuple[Chardev, ...] = ()
    #: files QEMU creates for the VM (server sockets, ``dm:/`` shared memory): the backend
    #: removes them after QEMU, unless they existed before it started
    owned_paths: tuple[str, ...] = ()


def esc(value: object) -> str:
    """A value inside a QEMU ``key=value,...`` option list: ``,`` doubles."""
    return str(value).replace(",", ",,")


def _addr(slot: int, func: int) -> str:
    return f"0x{slot:x}.{func:x}" if func else f"0x{slot:x}"


@dataclass
class _Plan:
    vm: VM
    release: Release
    options: TranslateOptions
    args: list[str] = field(default_factory=list)
    problems: list[Unsupported] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    chardevs: list[Chardev] = field(default_factory=list)
    owned: list[str] = field(default_factory=list)
    #: (slot, func) -> index in ``args`` of that PCI device's ``-device`` value
    pci: dict[tuple[int, int], int] = field(default_factory=dict)

    def add(self, *items: str) -> None:
        self.args.extend(items)

    def device(self, slot: int, func: int, spec: str) -> None:
        self.args.append("-device")
        self.pci[(slot, func)] = len(self.args)
        self.args.append(f"{spec},addr={_addr(slot, func)}")

    def refuse(self, what: str, reason: str) -> None:
        self.problems.append(Unsupported(what, reason))

    def chardev(self, ident: str, backend: str, options: str, serves: str,
                path: str | None = None) -> None:
        self.add("-chardev", f"{backend},id={ident}{options}")
        self.chardevs.append(Chardev(ident, backend, serves, path))


# --- global options -------------------------------------------------------------------------

#: VM fields with no guest-visible effect under QEMU, or handled elsewhere.
_HANDLED = frozenset({
    "name", "memsize", "devices", "lpc", "kernel", "ramdisk", "bootargs", "cpu_affinity",
    "uuid", "mac_seed", "acpi", "mptgen", "virtio_msix", "virtio_msi", "virtio_poll",
    "intr_monitor", "logger_setting", "iasl", "pincpu",
})

#: option field -> why QEMU cannot honour it
_UNSUPPORTED_OPTIONS: dict[str, str] = {
    "elf_file": "-E boots an ELF image through acrn-dm's loader; the QEMU target boots -k",
    "ovmf": "ACRN's OVMF build needs the ACRN platform; the QEMU target boots -k",
    "vsbl": "the vSBL boot loader needs the ACRN platform",
    "part_info": "vSBL partition info needs the ACRN platform",
    "enable_trusty": "Trusty needs the ACRN hypervisor",
    "gvtargs": "GVT-g needs an Intel GPU and the ACRN hypervisor",
    "ioc_node": "the IOC mediator needs the IOC hardware",
    "lapic_pt": "LAPIC passthrough needs the ACRN hypervisor",
    "rtvm": "a real-time VM needs the ACRN hypervisor",
    "ssram": "software SRAM needs the ACRN hypervisor",
    "acpidev_pt": "ACPI device passthrough needs ACRN hardware",
    "mmiodev_pt": "MMIO device passthrough needs ACRN hardware",
    "vtpm2": "the vTPM2 passthrough needs a host TPM2 through acrn-dm",
    "pm_notify_channel": "the power-management notify channel needs ACRN's life-cycle service",
    "pm_by_vuart": "power management by vUART needs the ACRN hypervisor's vUART",
    "cmd_monitor": "acrn-dm's command monitor socket is not emulated",
    "debugexit": "acrn-dm's debug-exit port is not emulated",
    "windows": "acrn-dm's Windows-guest tweaks are not emulated",
}

_OPTION_TEXT = {
    "elf_file": "-E", "ovmf": "--ovmf", "vsbl": "--vsbl", "part_info": "--part_info",
    "enable_trusty": "--enable_trusty", "gvtargs": "--gvtargs", "ioc_node": "-i",
    "lapic_pt": "--lapic_pt", "rtvm": "--rtvm", "ssram": "--ssram",
    "acpidev_pt": "--acpidev_pt", "mmiodev_pt": "--mmiodev_pt", "vtpm2": "--vtpm2",
    "pm_notify_channel": "--pm_notify_channel", "pm_by_vuart": "--pm_by_vuart",
    "cmd_monitor": "--cmd_monitor", "debugexit": "--debugexit", "windows": "--windows",
}


def _is_set(value: object) -> bool:
    return value not in (None, False, (), "")


def _globals(plan: _Plan) -> None:
    vm = plan.vm
    for name, reason in _UNSUPPORTED_OPTIONS.items():
        value = getattr(vm, name)
        if _is_set(value):
            shown = _OPTION_TEXT[name]
            if not isinstance(value, bool):
                rendered = value.render() if hasattr(value, "render") else value
                shown += f" {rendered}"
            plan.refuse(shown, reason)
    unknown = [f.name for f in fields(vm) if f.name not in _HANDLED
               and f.name not in _UNSUPPORTED_OPTIONS and _is_set(getattr(vm, f.name))]
    for name in unknown:  # a VM field added to the model after this table was written
        plan.refuse(f"--{name}", "not known to the QEMU target")


# --- devices --------------------------------------------------------------------------------

def _what(dev: PciDevice) -> str:
    return f"-s {dev.render()}"


def _blk(plan: _Plan, dev: PciDevice, slot: int, func: int) -> None:
    blk: Any = dev.device
    ident = f"disk{slot}_{func}"
    if blk.is_nodisk:
        # acrn-dm's dummy backend: a disk of capacity 0 until BLKRESCAN (not supported here).
        plan.add("-drive", f"if=none,id={ident},driver=null-co,size=0,read-zeroes=on")
        plan.device(slot, func, f"virtio-blk-pci,drive={ident}")
        plan.notes.append(f"{_what(dev)}: an empty disk (capacity 0); BLKRESCAN is not "
                          "supported by the QEMU target")
        return
    drive = [f"if=none,id={ident},file={esc(blk.path)},format=raw"]
    drive.append("cache=writeback" if blk.writeback else "cache=writethrough")
    if blk.nocache:
        drive.append("cache.direct=on")
    if blk.ro:
        drive.append("readonly=on")
    if blk.discard:
        drive.append("discard=unmap")
    if blk.range is not None:
        start, size = blk.range
        drive.append(f"offset={start * 512},size={size * 512}")
    spec = f"virtio-blk-pci,drive={ident}"
    if blk.sectorsize is not None:
        logical = blk.sectorsize.logical
        physical = blk.sectorsize.physical or logical
        spec += f",logical_block_size={logical},physical_block_size={physical}"
    if blk.mq is not None:
        spec += f",num-queues={blk.mq}"
    if blk.iothread or blk.aio is not None or blk.no_bst_block:
        plan.notes.append(f"{_what(dev)}: iothread/aio/no_bst_block are host tuning, ignored")
    plan.add("-drive", ",".join(drive))
    plan.device(slot, func, spec)


def _net(plan: _Plan, dev: PciDevice, slot: int, func: int) -> None:
    net: Any = dev.device
    mac = net.effective_mac(slot, func, plan.release, plan.vm.mac_seed)
    tap = net.opens_tap(plan.release)
    spec = f"virtio-net-pci,mac={mac}"
    if tap is None:
        plan.notes.append(f"{_what(dev)}: ACRN {plan.release} opens no tap for this name: "
                          "the NIC has no backend")
    else:
        ident = f"net{slot}_{func}"
        netdev = f"tap,id={ident},ifname={esc(tap)},script=no,downscript=no"
        if net.vhost:
            if plan.options.vhost_net:
                netdev += ",vhost=on"
            else:
                plan.notes.append(f"{_what(dev)}: no /dev/vhost-net: vhost ignored")
        plan.add("-netdev", netdev)
        spec += f",netdev={ident}"
    plan.device(slot, func, spec)


def _console(plan: _Plan, dev: PciDevice, slot: int, func: int) -> None:
    console: Any = dev.device
    ports = console.ports
    bus = f"vtcon{slot}_{func}"
    plan.device(slot, func, f"virtio-serial-pci,id={bus}")
    for index, port in enumerate(ports):
        ident = f"{bus}_{index}"
        serves = f"virtio-console {slot}:{func} port {port.name}"
        kind = port.kind
        if kind == "stdio":
            plan.chardev(ident, "stdio", ",signal=off", serves)
        elif kind == "pty":
            plan.chardev(ident, "pty", "", serves)
        elif kind == "file":
            plan.chardev(ident, "file", f",path={esc(port.path)}", serves, port.path)
        elif kind == "tty":
            plan.chardev(ident, "tty", f",path={esc(port.path)}", serves, port.path)
        else:  # socket
            mode = ",server=off" if port.is_client else ",server=on,wait=off"
            plan.chardev(ident, "socket", f",path={esc(port.path)}{mode}", serves, port.path)
            if not port.is_client:
                plan.owned.append(port.path)
        kind_dev = "virtconsole" if port.console else "virtserialport"
        plan.add("-device", f"{kind_dev},bus={bus}.0,chardev={ident},name={esc(port.name)}")


def _uart_chardev(plan: _Plan, ident: str, kind: str, backend: str | None,
                  tcp_port: int | None, serves: str) -> None:
    if kind == "stdio":
        plan.chardev(ident, "stdio", ",signal=off", serves)
    elif kind == "tcp":
        plan.chardev(ident, "socket", f",host=127.0.0.1,port={tcp_port},server=on,wait=off",
                     serves)
    elif kind == "tty":
        plan.chardev(ident, "tty", f",path={esc(backend)}", serves, backend)
    else:
        plan.chardev(ident, "null", "", serves)


def _pci_uart(plan: _Plan, dev: PciDevice, slot: int, func: int) -> None:
    uart: Any = dev.device
    if uart.kind == "vuart":
        plan.refuse(_what(dev), "a hypervisor vUART (vuart_idx) needs the ACRN hypervisor")
        return
    ident = f"uart{slot}_{func}"
    _uart_chardev(plan, ident, uart.kind, uart.backend, uart.tcp_port, f"uart {slot}:{func}")
    plan.device(slot, func, f"pci-serial,chardev={ident}")


def _vsock(plan: _Plan, dev: PciDevice, slot: int, func: int) -> None:
    if not plan.options.vhost_vsock:
        plan.refuse(_what(dev), "this host has no /dev/vhost-vsock (modprobe vhost_vsock)")
        return
    vsock: Any = dev.device
    plan.device(slot, func, f"vhost-vsock-pci,guest-cid={vsock.cid}")


def _ivshmem(plan: _Plan, dev: PciDevice, slot: int, func: int) -> None:
    shm: Any = dev.device
    if shm.land != "dm":
        plan.refuse(_what(dev), "an hv:/ region is shared memory of the ACRN hypervisor")
        return
    ident = f"shm{slot}_{func}"
    path = "/dev/shm/" + shm.name.lstrip("/")
    plan.add("-object", f"memory-backend-file,id={ident},share=on,"
                        f"mem-path={esc(path)},size={shm.size_mb}M")
    plan.owned.append(path)
    plan.device(slot, func, f"ivshmem-plain,memdev={ident}")


def _xhci(plan: _Plan, dev: PciDevice, slot: int, func: int) -> None:
    xhci: Any = dev.device
    if xhci.ports:
        plan.refuse(_what(dev), "USB host ports need the host's USB devices given through "
                                "acrn-dm")
        return
    ident = f"xhci{slot}_{func}"
    plan.device(slot, func, f"qemu-xhci,id={ident}")
    if xhci.tablet:
        plan.add("-device", f"usb-tablet,bus={ident}.0")
    if xhci.log_level is not None or xhci.cap is not None:
        plan.notes.append(f"{_what(dev)}: log= and cap= are acrn-dm internals, ignored")


def _simple(qemu_device: str) -> Callable[[_Plan, PciDevice, int, int], None]:
    def emit(plan: _Plan, dev: PciDevice, slot: int, func: int) -> None:
        plan.device(slot, func, qemu_device)
    return emit


_DEVICES: dict[str, Callable[[_Plan, PciDevice, int, int], None]] = {
    "virtio-blk": _blk,
    "virtio-net": _net,
    "virtio-console": _console,
    "uart": _pci_uart,
    "vhost-vsock": _vsock,
    "ivshmem": _ivshmem,
    "xhci": _xhci,
    "virtio-rnd": _simple("virtio-rng-pci"),
    "wdt-i6300esb": _simple("i6300esb"),
}

#: Emulations that exist on the machine already: nothing to add.
_MACHINE_HAS = frozenset({"hostbridge", "amd_hostbridge", "lpc"})

_REASONS: dict[str, str] = {
    "passthru": "PCI passthrough needs ACRN hardware and the host device",
    "pci-gvt": "GVT-g needs an Intel GPU and the ACRN hypervisor",
    "igd-lpc": "the IGD LPC bridge mirrors the host's for GPU passthrough",
    "virtio-gpu": "the QEMU target runs headless (no display)",
    "virtio-audio": "needs the host's virtio-audio kernel backend (/dev/vbs_k_audio)",
    "virtio-ipu": "needs the host's IPU backend (/dev/vbs_ipu)",
    "virtio-hyper_dmabuf": "needs the host's hyper_dmabuf backend",
    "virtio-coreu": "needs the host's coreu daemon",
    "virtio-hdcp": "needs the host's hdcp daemon",
    "virtio-heci": "needs the host's ME (HECI) through acrn-dm",
    "virtio-rpmb": "needs the host's RPMB through acrn-dm",
    "virtio-i2c": "needs the host's I2C adapters through acrn-dm",
    "virtio-gpio": "needs the host's GPIO lines through acrn-dm",
    "virtio-input": "needs a host evdev through acrn-dm",
    "npk": "the Intel Trace Hub (NPK) needs the host's",
    "ahci": "AHCI disks are not mapped by the QEMU target yet (use virtio-blk)",
    "ahci-hd": "AHCI disks are not mapped by the QEMU target yet (use virtio-blk)",
    "ahci-cd": "AHCI disks are not mapped by the QEMU target yet (use virtio-blk)",
    "dummy": "acrn-dm's dummy PCI device has no QEMU equivalent",
}


def _devices(plan: _Plan) -> None:
    vm = plan.vm
    emitted: set[tuple[int, int]] = set()
    for dev in sorted(vm.devices, key=lambda d: d.bdf.key):
        bus, slot, func = dev.bdf.key
        emul = dev.emul
        if emul in _MACHINE_HAS:
            continue
        handler = _DEVICES.get(emul)
        if handler is None:
            plan.refuse(_what(dev), _REASONS.get(emul, "no QEMU equivalent known to acrnkit"))
            continue
        if bus != 0:
            plan.refuse(_what(dev), "the QEMU target places devices on PCI bus 0 only")
            continue
        if slot in MACHINE_SLOTS:
            plan.refuse(_what(dev), f"slot {slot} holds {MACHINE_SLOTS[slot]}")
            continue
        before = len(plan.problems)
        handler(plan, dev, slot, func)
        if len(plan.problems) == before:
            emitted.add((slot, func))
    _multifunction(plan, emitted)


def _multifunction(plan: _Plan, emitted: set[tuple[int, int]]) -> None:
    slots = {slot for slot, func in emitted if func}
    for slot in sorted(slots):
        if (slot, 0) not in emitted:
            funcs = sorted(f for s, f in emitted if s == slot)
            plan.refuse(f"-s {slot}:{funcs[0]}",
                        f"slot {slot} has no function 0 in QEMU, so the guest cannot see "
                        "its other functions")
            continue
        index = plan.pci[(slot, 0)]
        plan.args[index] += ",multifunction=on"


def _lpc(plan: _Plan) -> None:
    vm = plan.vm
    if not vm.lpc:
        return
    if not vm.devices_of("lpc"):
        plan.notes.append("-l: no lpc slot, so acrn-dm creates no COM port; neither does QEMU")
        return
    for port in vm.lpc:
        _com(plan, port)


def _com(plan: _Plan, port: LpcPort) -> None:
    name = port.port.lower()
    if name == "com5":
        plan.refuse(f"-l {port.render()}", "COM5 is the S5 vUART of ACRN's life-cycle service")
        return
    index = int(name[3:]) - 1
    kind = port.backend_kind
    tcp_port: int | None = None
    if kind == "tcp" and port.backend is not None:
        digits = port.backend.partition(":")[2]
        tcp_port = int(digits) if digits.isdigit() else 0
    _uart_chardev(plan, name, kind, port.backend, tcp_port, name)
    plan.add("-device", f"isa-serial,chardev={name},index={index}")


# --- the whole command ----------------------------------------------------------------------

def translate(vm: VM, release: Release | str, options: TranslateOptions) -> QemuCommand:
    """The QEMU argv for ``vm`` as ACRN ``release`` would run it; TranslationError when the argv
    asks for something QEMU cannot honour and ``options.unsupported`` is ``refuse``."""
    rel = get_release(release)
    plan = _Plan(vm, rel, options)
    plan.add(options.qemu)
    if vm.name is not None:
        plan.add("-name", f"guest={esc(vm.name)}")
    plan.add("-machine", MACHINE, "-accel", options.accel)
    if options.accel == "kvm":
        plan.add("-cpu", "host")
    plan.add("-nodefaults", "-no-user-config", "-display", "none")
    memory = vm.memsize.mib if vm.memsize is not None else 256
    plan.add("-m", f"{memory}M")
    cpus = len(vm.cpu_affinity.ids) if vm.cpu_affinity is not None else 1
    plan.add("-smp", str(max(cpus, 1)))
    if vm.uuid is not None:
        plan.add("-uuid", vm.uuid)
    if vm.name is not None:
        plan.add("-smbios", f"type=1,manufacturer=acrnkit,product={esc(vm.name)}")
    _globals(plan)
    if vm.kernel is not None:
        plan.add("-kernel", options.kernel or vm.kernel)
        initrd = vm.ramdisk if vm.ramdisk is not None else options.initrd
        if initrd is not None:
            plan.add("-initrd", initrd)
        elif vm.ramdisk is None:
            plan.notes.append("no -r and no guest image: the kernel boots without an initramfs")
        if vm.bootargs is not None:
            plan.add("-append", vm.bootargs)
    elif not plan.problems:
        plan.refuse("boot image", "the QEMU target boots a kernel given with -k")
    _devices(plan)
    _lpc(plan)
    if options.qmp_fd is not None:
        plan.add("-chardev", f"socket,id={QMP_ID},fd={options.qmp_fd},server=off",
                 "-mon", f"chardev={QMP_ID},mode=control")
    if options.qmp_listen_fd is not None:
        plan.add("-chardev", f"socket,id={QMP_PUBLIC_ID},fd={options.qmp_listen_fd},"
                             "server=on,wait=off",
                 "-mon", f"chardev={QMP_PUBLIC_ID},mode=control")
    elif options.qmp_path is not None:
        plan.add("-chardev", f"socket,id={QMP_PUBLIC_ID},path={esc(options.qmp_path)},"
                             "server=on,wait=off",
                 "-mon", f"chardev={QMP_PUBLIC_ID},mode=control")
    if plan.problems and options.unsupported != "skip":
        raise TranslationError(plan.problems)
    return QemuCommand(tuple(plan.args), tuple(plan.problems), tuple(plan.notes),
                       tuple(plan.chardevs), tuple(plan.owned))
