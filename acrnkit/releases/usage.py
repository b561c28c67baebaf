"""acrn-dm's usage screen: the fixed text of ``usage()`` in devicemodel/core/main.c, per release.

``usage(code)`` prints one printf format to stderr and exits with ``code`` (0 for ``-h``, 1 after
a getopt error and the other ``usage(1)`` calls). ``%s`` is ``progname``, set first thing in
``main()`` to ``basename(argv[0])`` with ``<libgen.h>``'s POSIX ``basename``; each continuation
line starts with ``%*s`` padded by ``strnlen(progname, PATH_MAX)`` (bytes, not characters), so the
lists line up under the first one. The templates below are those formats, string literal for
string literal, typos, tabs and missing newlines included; :func:`render_usage` fills them in.
No two modelled releases print the same text, so each has its own template.
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

PATH_MAX = 4096  # <linux/limits.h>: strnlen()'s bound on the padding

# v1.6 devicemodel/core/main.c usage(). Its "--vmcfg"/"--dump" help lines sit under
# #ifdef CONFIG_VM_CFG, which nothing in the v1.6 tree defines: they are not printed (the
# synopsis line that names them is). "[--logger-setting" and the space before "\n" are the source's.
_V1_6 = (
    "Usage: %s [-hAWYv] [-B bootargs] [-E elf_image_path]\n"
    "       %*s [-G GVT_args] [-i ioc_mediator_parameters] [-k kernel_image_path]\n"
    "       %*s [-l lpc] [-m mem] [-r ramdisk_image_path]\n"
    "       %*s [-s pci] [-U uuid] [--vsbl vsbl_file_name] [--ovmf ovmf_file_path]\n"
    "       %*s [--part_info part_info_name] [--enable_trusty] [--intr_monitor param_setting]\n"
    "       %*s [--vtpm2 sock_path] [--virtio_poll interval] [--mac_seed seed_string]\n"
    "       %*s [--vmcfg sub_options] [--dump vm_idx] [--debugexit] \n"
    "       %*s [--logger-setting param_setting] [--pm_notify_channel]\n"
    "       %*s [--pm_by_vuart vuart_node] <vm>\n"
    "       -A: create ACPI tables\n"
    "       -B: bootargs for kernel\n"
    "       -E: elf image path\n"
    "       -G: GVT args: low_gm_size, high_gm_size, fence_sz\n"
    "       -h: help\n"
    "       -i: ioc boot parameters\n"
    "       -k: kernel image path\n"
    "       -l: LPC device configuration\n"
    "       -m: memory size in MB\n"
    "       -r: ramdisk image path\n"
    "       -s: <slot,driver,configinfo> PCI slot config\n"
    "       -U: uuid\n"
    "       -v: version\n"
    "       -W: force virtio to use single-vector MSI\n"
    "       -Y: disable MPtable generation\n"
    "       --mac_seed: set a platform unique string as a seed for generate mac address\n"
    "       --vsbl: vsbl file path\n"
    "       --ovmf: ovmf file path\n"
    "       --part_info: guest partition info file path\n"
    "       --enable_trusty: enable trusty for guest\n"
    "       --debugexit: enable debug exit function\n"
    "       --intr_monitor: enable interrupt storm monitor\n"
    "            its params: threshold/s,probe-period(s),delay_time(ms),delay_duration(ms)\n"
    "       --virtio_poll: enable virtio poll mode with poll interval with ns\n"
    "       --vtpm2: Virtual TPM2 args: sock_path=$PATH_OF_SWTPM_SOCKET\n"
    "       --lapic_pt: enable local apic passthrough\n"
    "       --rtvm: indicate that the guest is rtvm\n"
    "       --logger_setting: params like console,level=4;kmsg,level=3\n"
    "       --pm_notify_channel: define the channel used to notify guest about power event\n"
    "       --pm_by_vuart:pty,/run/acrn/vuart_vmname or tty,/dev/ttySn\n"
    "       --windows: support Oracle virtio-blk, virtio-net and virtio-input devices\n"
    "            for windows guest with secure boot\n"
)

# v2.7 devicemodel/core/main.c usage()
_V2_7 = (
    "Usage: %s [-hAWYv] [-B bootargs] [-E elf_image_path]\n"
    "       %*s [-G GVT_args] [-i ioc_mediator_parameters] [-k kernel_image_path]\n"
    "       %*s [-l lpc] [-m mem] [-r ramdisk_image_path]\n"
    "       %*s [-s pci] [--vsbl vsbl_file_name] [--ovmf ovmf_file_path]\n"
    "       %*s [--part_info part_info_name] [--enable_trusty] [--intr_monitor param_setting]\n"
    "       %*s [--acpidev_pt HID] [--mmiodev_pt MMIO_Regions]\n"
    "       %*s [--vtpm2 sock_path] [--virtio_poll interval] [--mac_seed seed_string]\n"
    "       %*s [--cpu_affinity pCPUs] [--lapic_pt] [--rtvm] [--windows]\n"
    "       %*s [--debugexit] [--logger_setting param_setting]\n"
    "       %*s [--pm_notify_channel channel] [--pm_by_vuart vuart_node]\n"
    "       %*s [--ssram] <vm>\n"
    "       -A: create ACPI tables\n"
    "       -B: bootargs for kernel\n"
    "       -E: elf image path\n"
    "       -G: GVT args: low_gm_size, high_gm_size, fence_sz\n"
    "       -h: help\n"
    "       -i: ioc boot parameters\n"
    "       -k: kernel image path\n"
    "       -l: LPC device configuration\n"
    "       -m: memory size in MB\n"
    "       -r: ramdisk image path\n"
    "       -s: <slot,driver,configinfo> PCI slot config\n"
    "       -v: version\n"
    "       -W: force virtio to use single-vector MSI\n"
    "       -Y: disable MPtable generation\n"
    "       --mac_seed: set a platform unique string as a seed for generate mac address\n"
    "       --vsbl: vsbl file path\n"
    "       --ovmf: ovmf file path\n"
    "       --ssram: Enable Software SRAM passthrough\n"
    "       --cpu_affinity: list of pCPUs assigned to this VM\n"
    "       --part_info: guest partition info file path\n"
    "       --enable_trusty: enable trusty for guest\n"
    "       --debugexit: enable debug exit function\n"
    "       --intr_monitor: enable interrupt storm monitor\n"
    "            its params: threshold/s,probe-period(s),delay_time(ms),delay_duration(ms)\n"
    "       --virtio_poll: enable virtio poll mode with poll interval with ns\n"
    "       --acpidev_pt: acpi device ID args: HID in ACPI Table\n"
    "       --mmiodev_pt: MMIO resources args: physical MMIO regions\n"
    "       --vtpm2: Virtual TPM2 args: sock_path=$PATH_OF_SWTPM_SOCKET\n"
    "       --lapic_pt: enable local apic passthrough\n"
    "       --rtvm: indicate that the guest is rtvm\n"
    "       --logger_setting: params like console,level=4;kmsg,level=3\n"
    "       --pm_notify_channel: define the channel used to notify guest about power event\n"
    "       --pm_by_vuart:pty,/run/acrn/vuart_vmname or tty,/dev/ttySn\n"
    "       --windows: support Oracle virtio-blk, virtio-net and virtio-input devices\n"
    "            for windows guest with secure boot\n"
)

# v3.0 devicemodel/core/main.c usage(). "Congfiure" is the source's; the --cpu_affinity help has no
# "\n" before the next literal, so its second half (a tab, then spaces) runs on the same line.
_V3_0 = (
    "Usage: %s [-hYv] [-B bootargs] [-E elf_image_path]\n"
    "       %*s [-k kernel_image_path]\n"
    "       %*s [-l lpc] [-m mem] [-r ramdisk_image_path]\n"
    "       %*s [-s pci] [--ovmf ovmf_file_path]\n"
    "       %*s [--enable_trusty] [--intr_monitor param_setting]\n"
    "       %*s [--acpidev_pt HID] [--mmiodev_pt MMIO_Regions]\n"
    "       %*s [--vtpm2 sock_path] [--virtio_poll interval]\n"
    "       %*s [--cpu_affinity lapic_id] [--lapic_pt] [--rtvm] [--windows]\n"
    "       %*s [--debugexit] [--logger_setting param_setting]\n"
    "       %*s [--ssram] <vm>\n"
    "       -B: bootargs for kernel\n"
    "       -E: elf image path\n"
    "       -h: help\n"
    "       -k: kernel image path\n"
    "       -l: LPC device configuration\n"
    "       -m: memory size in MB\n"
    "       -r: ramdisk image path\n"
    "       -s: <slot,driver,configinfo> PCI slot config\n"
    "       -v: version\n"
    "       --ovmf: ovmf file path\n"
    "       --ssram: Congfiure Software SRAM parameters\n"
    "       --cpu_affinity: list of Service VM vCPUs assigned to this User VM, the vCPUs are"
    "\t     identified by their local APIC IDs.\n"
    "       --enable_trusty: enable trusty for guest\n"
    "       --debugexit: enable debug exit function\n"
    "       --intr_monitor: enable interrupt storm monitor\n"
    "            its params: threshold/s,probe-period(s),delay_time(ms),delay_duration(ms)\n"
    "       --cmd_monitor: enable command monitor\n"
    "            its params: unix domain socket path\n"
    "       --virtio_poll: enable virtio poll mode with poll interval with ns\n"
    "       --acpidev_pt: acpi device ID args: HID in ACPI Table\n"
    "       --mmiodev_pt: MMIO resources args: physical MMIO regions\n"
    "       --vtpm2: Virtual TPM2 args: sock_path=$PATH_OF_SWTPM_SOCKET\n"
    "       --lapic_pt: enable local apic passthrough\n"
    "       --rtvm: indicate that the guest is rtvm\n"
    "       --logger_setting: params like console,level=4;kmsg,level=3\n"
    "       --windows: support Oracle virtio-blk, virtio-net and virtio-input devices\n"
    "            for windows guest with secure boot\n"
    "       --virtio_msi: force virtio to use single-vector MSI\n"
)

# v3.2 devicemodel/core/main.c usage(): v3.0 plus the --iasl lines.
_V3_2 = (
    "Usage: %s [-hYv] [-B bootargs] [-E elf_image_path]\n"
    "       %*s [-k kernel_image_path]\n"
    "       %*s [-l lpc] [-m mem] [-r ramdisk_image_path]\n"
    "       %*s [-s pci] [--ovmf ovmf_file_path]\n"
    "       %*s [--iasl iasl_compiler_path]\n"
    "       %*s [--enable_trusty] [--intr_monitor param_setting]\n"
    "       %*s [--acpidev_pt HID] [--mmiodev_pt MMIO_Regions]\n"
    "       %*s [--vtpm2 sock_path] [--virtio_poll interval]\n"
    "       %*s [--cpu_affinity lapic_id] [--lapic_pt] [--rtvm] [--windows]\n"
    "       %*s [--debugexit] [--logger_setting param_setting]\n"
    "       %*s [--ssram] <vm>\n"
    "       -B: bootargs for kernel\n"
    "       -E: elf image path\n"
    "       -h: help\n"
    "       -k: kernel image path\n"
    "       -l: LPC device configuration\n"
    "       -m: memory size in MB\n"
    "       -r: ramdisk image path\n"
    "       -s: <slot,driver,configinfo> PCI slot config\n"
    "       -v: version\n"
    "       --ovmf: ovmf file path\n"
    "       --iasl: iasl compiler path\n"
    "       --ssram: Congfiure Software SRAM parameters\n"
    "       --cpu_affinity: list of Service VM vCPUs assigned to this User VM, the vCPUs are"
    "\t     identified by their local APIC IDs.\n"
    "       --enable_trusty: enable trusty for guest\n"
    "       --debugexit: enable debug exit function\n"
    "       --intr_monitor: enable interrupt storm monitor\n"
    "            its params: threshold/s,probe-period(s),delay_time(ms),delay_duration(ms)\n"
    "       --cmd_monitor: enable command monitor\n"
    "            its params: unix domain socket path\n"
    "       --virtio_poll: enable virtio poll mode with poll interval with ns\n"
    "       --acpidev_pt: acpi device ID args: HID in ACPI Table\n"
    "       --mmiodev_pt: MMIO resources args: physical MMIO regions\n"
    "       --vtpm2: Virtual TPM2 args: sock_path=$PATH_OF_SWTPM_SOCKET\n"
    "       --lapic_pt: enable local apic passthrough\n"
    "       --rtvm: indicate that the guest is rtvm\n"
    "       --logger_setting: params like console,level=4;kmsg,level=3\n"
    "       --windows: support Oracle virtio-blk, virtio-net and virtio-input devices\n"
    "            for windows guest with secure boot\n"
    "       --virtio_msi: force virtio to use single-vector MSI\n"
)

# v3.3 devicemodel/core/main.c usage(): v3.2 with "Configure" spelt right and a longer
# --acpidev_pt help ("Resouece" and the tab-indented examples are the source's).
_V3_3 = (
    "Usage: %s [-hYv] [-B bootargs] [-E elf_image_path]\n"
    "       %*s [-k kernel_image_path]\n"
    "       %*s [-l lpc] [-m mem] [-r ramdisk_image_path]\n"
    "       %*s [-s pci] [--ovmf ovmf_file_path]\n"
    "       %*s [--iasl iasl_compiler_path]\n"
    "       %*s [--enable_trusty] [--intr_monitor param_setting]\n"
    "       %*s [--acpidev_pt HID] [--mmiodev_pt MMIO_Regions]\n"
    "       %*s [--vtpm2 sock_path] [--virtio_poll interval]\n"
    "       %*s [--cpu_affinity lapic_id] [--lapic_pt] [--rtvm] [--windows]\n"
    "       %*s [--debugexit] [--logger_setting param_setting]\n"
    "       %*s [--ssram] <vm>\n"
    "       -B: bootargs for kernel\n"
    "       -E: elf image path\n"
    "       -h: help\n"
    "       -k: kernel image path\n"
    "       -l: LPC device configuration\n"
    "       -m: memory size in MB\n"
    "       -r: ramdisk image path\n"
    "       -s: <slot,driver,configinfo> PCI slot config\n"
    "       -v: version\n"
    "       --ovmf: ovmf file path\n"
    "       --iasl: iasl compiler path\n"
    "       --ssram: Configure Software SRAM parameters\n"
    "       --cpu_affinity: list of Service VM vCPUs assigned to this User VM, the vCPUs are"
    "\t     identified by their local APIC IDs.\n"
    "       --enable_trusty: enable trusty for guest\n"
    "       --debugexit: enable debug exit function\n"
    "       --intr_monitor: enable interrupt storm monitor\n"
    "            its params: threshold/s,probe-period(s),delay_time(ms),delay_duration(ms)\n"
    "       --cmd_monitor: enable command monitor\n"
    "            its params: unix domain socket path\n"
    "       --virtio_poll: enable virtio poll mode with poll interval with ns\n"
    "       --acpidev_pt: ACPI device pass through\n"
    "            its params: HID[,uid=UID,type=Resource Type,Resouece config,...]\n"
    "\t\t\t e.g. --acpidev_pt INTC1055,uid=0,type=memory,min=0xfd6e0000,len=0x10000\n"
    "\t\t\t e.g. --acpidev_pt PNP0501,uid=19,type=io_port,min=0x2f8,len=8\n"
    "\t\t\t e.g. --acpidev_pt PNP0501,uid=19,type=irq,irq=5\n"
    "       --mmiodev_pt: MMIO resources args: physical MMIO regions\n"
    "       --vtpm2: Virtual TPM2 args: sock_path=$PATH_OF_SWTPM_SOCKET\n"
    "       --lapic_pt: enable local apic passthrough\n"
    "       --rtvm: indicate that the guest is rtvm\n"
    "       --logger_setting: params like console,level=4;kmsg,level=3\n"
    "       --windows: support Oracle virtio-blk, virtio-net and virtio-input devices\n"
    "            for windows guest with secure boot\n"
    "       --virtio_msi: force virtio to use single-vector MSI\n"
)


#: Release version -> the printf format of its ``usage()``.
USAGE_TEMPLATES: Mapping[str, str] = {
    "1.6": _V1_6,
    "2.7": _V2_7,
    "3.0": _V3_0,
    "3.2": _V3_2,
    "3.3": _V3_3,
}


def posix_basename(path: str) -> str:
    """``basename(3)`` from ``<libgen.h>`` (glibc's ``__xpg_basename``): trailing slashes do not
    count, ``""`` gives ``"."`` and a path of only slashes gives ``"/"``."""
    if not path:
        return "."
    stripped = path.rstrip("/")
    if not stripped:
        return "/"
    return stripped.rsplit("/", 1)[-1]


def argv0_after_basename(argv0: str) -> str:
    """``argv[0]`` as getopt later prints it: POSIX ``basename`` cuts the string at its trailing
    slashes in place (``foo/`` becomes ``foo``) unless it is only slashes."""
    stripped = argv0.rstrip("/")
    return stripped if stripped else argv0


def render_usage(template: str, argv0: str) -> str:
    """``template`` as ``usage()`` prints it for a process started as ``argv0`` (with the final
    newline)."""
    progname = posix_basename(argv0)
    width = min(len(progname.encode("utf-8", "surrogateescape")), PATH_MAX)
    return template % (progname, *((width, "") * template.count("%*s")))
