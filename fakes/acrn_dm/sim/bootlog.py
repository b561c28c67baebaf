"""The guest's boot log, from a template filled in from the :class:`GuestSpec`.

``kernel_log(spec)`` is the kernel's part (``dmesg``): a fixed skeleton of a Linux boot on ACRN
with the argv's facts put in (``Command line:``, memory, CPUs, one PCI line per ``-s`` device,
a probe line per virtio device with its PCI address, the disks with their sizes, the NICs with
their MACs). ``init_log(spec)`` is what init prints after it, before the login prompt.
``panic_log`` is a realistic ``Kernel panic - not syncing`` for the panic scenario.

Each entry is ``(seconds, text)``; the seconds are the kernel's timestamps for a boot that takes
no time, and the simulation stretches them over ``ACRNKIT_GUEST_BOOT_DELAY``.
"""

from __future__ import annotations

from collections.abc import Callable

from .spec import PCI_IDS, DiskSpec, GuestSpec, NicSpec

Entry = tuple[float, str]

BUILD = "#1 SMP PREEMPT_DYNAMIC Thu Jan  1 00:00:00 UTC 2024"
BANNER = "Welcome to the acrnkit fake guest"
#: Where the "hang" scenario stops: the last kernel line printed.
HANG_AFTER = "Run /sbin/init as init process"
#: Where the "panic" scenario panics: instead of the root mount.
PANIC_BEFORE = "VFS: Mounted root"


def version_line(spec: GuestSpec) -> str:
    return (f"Linux version {spec.kernel_release} (acrnkit@fake) (gcc (Debian 12.2.0-14) "
            f"12.2.0, GNU ld (GNU Binutils for Debian) 2.40) {BUILD}")


def size_text(size: int) -> str:
    """The ``(67.1 MB/64.0 MiB)`` part of a virtio_blk capacity line (string_get_size)."""
    return f"{_units(size, 1000, ('B', 'kB', 'MB', 'GB', 'TB'))}/" \
           f"{_units(size, 1024, ('B', 'KiB', 'MiB', 'GiB', 'TiB'))}"


def _units(size: int, base: int, names: tuple[str, ...]) -> str:
    value = float(size)
    unit = 0
    while value >= base and unit < len(names) - 1:
        value /= base
        unit += 1
    if unit == 0:
        return f"{size} {names[0]}"
    digits = 2 if value < 10 else 1 if value < 100 else 0
    return f"{value:.{digits}f} {names[unit]}"


def capacity_line(disk: DiskSpec, size: int | None = None, *, new: bool = False) -> str:
    size = disk.size if size is None else size
    blocks = size // disk.logical
    what = "new size: " if new else ""
    virtio = disk.pci.virtio
    return (f"virtio_blk virtio{virtio}: [{disk.name}] {what}{blocks} {disk.logical}-byte "
            f"logical blocks ({size_text(size)})")


def _head(spec: GuestSpec) -> list[str]:
    top = spec.mem_mib << 20
    total_k = spec.mem_mib * 1024
    return [
        version_line(spec),
        f"Command line: {spec.bootargs}",
        "x86/fpu: x87 FPU will use FXSAVE",
        "BIOS-provided physical RAM map:",
        "BIOS-e820: [mem 0x0000000000000000-0x00000000000effff] usable",
        "BIOS-e820: [mem 0x00000000000f0000-0x00000000000fffff] reserved",
        f"BIOS-e820: [mem 0x0000000000100000-0x{top - 1:016x}] usable",
        "NX (Execute Disable) protection: active",
        "DMI not present or invalid.",
        "Hypervisor detected: ACRN",
        "tsc: Detected 2112.000 MHz processor",
        f"last_pfn = 0x{top >> 12:x} max_arch_pfn = 0x400000000",
        "ACPI: Early table checksum verification disabled",
        "ACPI: RSDP 0x00000000000F2400 000024 (v02 ACRN  )",
        f"smpboot: Allowing {spec.ncpus} CPUs, 0 hotplug CPUs",
        f"Kernel command line: {spec.bootargs}",
        f"Memory: {total_k * 93 // 100}K/{total_k}K available (16384K kernel code, "
        f"{total_k * 7 // 100}K reserved)",
        f"SLUB: HWalign=64, Order=0-3, MinObjects=0, CPUs={spec.ncpus}, Nodes=1",
        "rcu: Hierarchical RCU implementation.",
        "Console: colour dummy device 80x25",
        "printk: console [tty0] enabled",
        "ACPI: Core revision 20220331",
        "APIC: Switch to symmetric I/O mode setup",
        f"smp: Brought up 1 node, {spec.ncpus} CPU{'s' if spec.ncpus != 1 else ''}",
        "devtmpfs: initialized",
        "NET: Registered PF_NETLINK/PF_ROUTE protocol family",
        "ACPI: Interpreter enabled",
        "PCI: Using host bridge windows from ACPI; if necessary, use \"pci=nocrs\"",
        "ACPI: PCI Root Bridge [PCI0] (domain 0000 [bus 00-ff])",
        "PCI host bridge to bus 0000:00",
    ]


def _pci_scan(spec: GuestSpec) -> list[str]:
    lines = []
    for dev in spec.pci:
        vendor, device, cls = PCI_IDS.get(dev.emul, (0x8086, 0x0000, 0xFF0000))
        lines.append(f"pci {dev.address}: [{vendor:04x}:{device:04x}] type 00 class "
                     f"0x{cls:06x}")
    lines.append("pci_bus 0000:00: resource 4 [io  0x0000-0x0cf7 window]")
    return lines


def _middle(spec: GuestSpec) -> list[str]:
    lines = [
        "iommu: Default domain type: Translated",
        "SCSI subsystem initialized",
        "clocksource: Switched to clocksource tsc-early",
        "NET: Registered PF_INET protocol family",
        "Serial: 8250/16550 driver, 4 ports, IRQ sharing enabled",
    ]
    for port in spec.ports:
        if port.uart:
            unit = int(port.device[4:])
            base = (0x3F8, 0x2F8, 0x3E8, 0x2E8, 0x9000)[min(unit, 4)]
            irq = (4, 3, 6, 7, 10)[min(unit, 4)]
            lines.append(f"00:0{unit + 1}: {port.device} at I/O 0x{base:x} (irq = {irq}, "
                         "base_baud = 115200) is a 16550A")
    return lines


def _virtio(spec: GuestSpec) -> list[str]:
    lines: list[str] = []
    for dev in spec.pci:
        if dev.virtio is not None:
            lines.append(f"virtio-pci {dev.address}: enabling device (0000 -> 0003)")
    consoles = spec.console_devices()
    for port in spec.ports:
        if not port.uart and port.console:
            lines.append(f"printk: console [{port.device}] enabled" if port.device in consoles
                         else f"{port.device}: virtio console port ready")
    for disk in spec.disks:
        lines.append(capacity_line(disk))
    for nic in spec.nics:
        lines.append(f"virtio_net virtio{nic.pci.virtio} {nic.name}: MAC {nic.mac}, "
                     f"{nic.pci.address}")
    for cid in spec.vsock_cids:
        lines.append(f"NET: Registered PF_VSOCK protocol family (guest cid {cid})")
    return lines


def _tail(spec: GuestSpec) -> list[str]:
    root = next((w[5:] for w in spec.bootargs.split() if w.startswith("root=")), None)
    lines = ["Freeing unused kernel image (initmem) memory: 2764K"]
    if root is not None:
        lines.insert(0, f"{PANIC_BEFORE} ({root}) readonly on device 254:0.")
    else:
        lines.insert(0, "Trying to unpack rootfs image as initramfs...")
    lines += ["Write protecting the kernel read-only data: 26624k", HANG_AFTER]
    return lines


#: The skeleton, in order: each section is a function of the spec.
SECTIONS: tuple[Callable[[GuestSpec], list[str]], ...] = (_head, _pci_scan, _middle, _virtio,
                                                          _tail)


def kernel_log(spec: GuestSpec) -> list[Entry]:
    """The kernel messages of one boot, with zero-delay timestamps."""
    texts = [line for section in SECTIONS for line in section(spec)]
    # Spread the boot over ~0.9 s of kernel time, as a small VM does.
    step = 0.9 / max(len(texts) - 1, 1)
    return [(0.0 if i < 16 else round(i * step, 6), text) for i, text in enumerate(texts)]


def init_log(spec: GuestSpec, link_up: Callable[[NicSpec], bool] | None = None) -> list[str]:
    """What init prints after the kernel, before getty. ``link_up(nic)``: the carrier the
    guest sees (default: acrn-dm opens a tap for the NIC's config)."""
    lines = ["Starting syslogd: OK", "Starting klogd: OK", "Populating /dev using mdev: done"]
    for nic in spec.nics:
        up = link_up(nic) if link_up is not None else nic.tap is not None
        state = "link up" if up else "no carrier"
        lines.append(f"Starting network: {nic.name} ({nic.mac}): {state}")
    lines.append("Starting sshd: OK")
    return lines


def login_banner(spec: GuestSpec) -> str:
    return f"\r\n{BANNER}\r\n{spec.name} login: "


def panic_log(spec: GuestSpec, when: float) -> list[Entry]:
    """A root-mount panic, as the kernel prints it (timestamps from ``when``)."""
    root = next((w[5:] for w in spec.bootargs.split() if w.startswith("root=")), "vda")
    reason = "VFS: Unable to mount root fs on unknown-block(0,0)"
    texts = [
        f'VFS: Cannot open root device "{root}" or unknown-block(0,0): error -6',
        'Please append a correct "root=" boot option; here are the available partitions:',
    ]
    for disk in spec.disks:
        if disk.size:
            texts.append(f"fe{disk.index * 16:02x}        {disk.size // 1024:8d} {disk.name}")
            texts.append(" driver: virtio_blk")
    texts += [
        f"Kernel panic - not syncing: {reason}",
        f"CPU: 0 PID: 1 Comm: swapper/0 Not tainted {spec.kernel_release} {BUILD.split()[0]}",
        "Hardware name: ACRN virtual platform, BIOS unknown 01/01/2024",
        "Call Trace:",
        " <TASK>",
        " dump_stack_lvl+0x44/0x5c",
        " panic+0x118/0x2ed",
        " mount_block_root+0x1d3/0x1ea",
        " prepare_namespace+0x136/0x165",
        " kernel_init_freeable+0x25c/0x286",
        " kernel_init+0x16/0x130",
        " ret_from_fork+0x22/0x30",
        " </TASK>",
        "Kernel Offset: 0x1c000000 from 0xffffffff81000000 (relocation range: "
        "0xffffffff80000000-0xffffffffbfffffff)",
    ]
    timeout = spec.panic_timeout()
    if timeout > 0:
        texts.append(f"Rebooting in {timeout} seconds..")
    texts.append(f"---[ end Kernel panic - not syncing: {reason} ]---")
    return [(round(when + i * 0.000013, 6), text) for i, text in enumerate(texts)]


def stamp(seconds: float, text: str) -> str:
    return f"[{seconds:12.6f}] {text}"
