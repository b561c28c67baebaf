"""Which ``-s`` emulations each release knows, and the grammar features each one accepts.

Emulation names come from ``DEFINE_PCI_DEVTYPE``/``class_name`` in ``devicemodel/hw/pci/*.c`` and
``devicemodel/hw/pci/virtio/*.c`` at each tag. Grammar features name the per-release differences
inside a config string; the device modules ask ``release.has(feature)`` instead of comparing
version numbers, so "what changed in 3.0?" is answered by reading ``FEATURES`` below.
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING
from acrnkit.releases.versions import VERSIONS

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import ClassVar


class EmulSupport(str):
    """``EmulSupport.OK`` or ``EmulSupport.OBSOLETE_REJECTED``: v3.0+ ``pci_parse_slot()`` prints
    ``The "<emul>" parameter is obsolete and ignored`` and still fails with exit 1 (v3.0
    devicemodel/hw/pci/core.c).

    A ``str`` with named instances rather than an ``Enum``, for the fake's start-up time (see
    :class:`acrnkit.releases.options.Support`).
    """

    __slots__ = ()
    OK: ClassVar[EmulSupport]
    OBSOLETE_REJECTED: ClassVar[EmulSupport]

    def __repr__(self) -> str:
        return f"EmulSupport.{self.upper().replace('-', '_')}"


EmulSupport.OK = EmulSupport("ok")
EmulSupport.OBSOLETE_REJECTED = EmulSupport("obsolete-rejected")


def _since(first: str) -> tuple[str, ...]:
    return VERSIONS[VERSIONS.index(first):]


_EVERY = VERSIONS
_OBSOLETE_IN_3X = {"pci-gvt", "npk", "virtio-hdcp", "virtio-coreu"}

_FIRST: Mapping[str, str] = {
    "hostbridge": "1.6", "amd_hostbridge": "1.6", "lpc": "1.6", "igd-lpc": "1.6", "dummy": "1.6",
    "passthru": "1.6", "pci-gvt": "1.6", "npk": "1.6", "uart": "1.6", "wdt-i6300esb": "1.6",
    "xhci": "1.6", "ahci": "1.6", "ahci-hd": "1.6", "ahci-cd": "1.6",
    "virtio-blk": "1.6", "virtio-net": "1.6", "virtio-console": "1.6", "virtio-rnd": "1.6",
    "virtio-input": "1.6", "virtio-rpmb": "1.6", "virtio-gpio": "1.6", "virtio-audio": "1.6",
    "virtio-ipu": "1.6", "virtio-hyper_dmabuf": "1.6", "virtio-heci": "1.6",
    "virtio-coreu": "1.6", "virtio-hdcp": "1.6", "virtio-i2c": "1.6",
    # ivshmem appeared in v2.0 (devicemodel/hw/pci/ivshmem.c); vsock and gpu in v3.0.
    "ivshmem": "2.7", "vhost-vsock": "3.0", "virtio-gpu": "3.0",
}


def _emulations(version: str) -> dict[str, EmulSupport]:
    table: dict[str, EmulSupport] = {}
    for emul, first in _FIRST.items():
        if version in _since(first):
            obsolete = emul in _OBSOLETE_IN_3X and version in _since("3.0")
            table[emul] = EmulSupport.OBSOLETE_REJECTED if obsolete else EmulSupport.OK
    return table


EMULATIONS: Mapping[str, Mapping[str, EmulSupport]] = {v: _emulations(v) for v in VERSIONS}

#: Grammar features and the releases that have them. Each names its source.
FEATURES: Mapping[str, tuple[str, ...]] = {
    # virtio-net: v3.0 virtio_net.c wants "tap=<name>"; before it the first token is the ifname.
    "net.tap_keyword": _since("3.0"),
    # v1.6 opens a tap when the name *starts with* "tap"; v2.x when it *contains* "tap".
    "net.legacy_tap_contains": ("2.7",),
    # Default MAC: md5("%d-%d-%s" slot,func,--mac_seed) up to 2.7; v3.0 md5("%d-%d") or with the
    # per-device mac_seed=.
    "net.per_device_mac_seed": _since("3.0"),
    # virtio-blk: v3.1 accepts a leading "iothread"; v3.3 adds iothread=N@cpus, mq=N, aio=,
    # nocache and no_bst_block (devicemodel/hw/pci/virtio/virtio_block.c, hw/block_if.c).
    "blk.iothread": _since("3.2"),
    "blk.v33_options": ("3.3",),
    # uart: vuart_idx:<n> (v2.5+ devicemodel/hw/pci/uart.c).
    "uart.vuart_idx": _since("2.7"),
    # ivshmem: v2.2+ "hv:/" or "dm:/" prefix, size in MB; v3.3 optional region id.
    "ivshmem.region_id": ("3.3",),
    # passthru options by release (devicemodel/hw/pci/passthrough.c).
    "passthru.d3hot_vmsix": _since("2.7"),
    "passthru.enable_ptm": _since("2.7"),
    "passthru.gpu": ("1.6",),
    "passthru.romfile": _since("3.2"),
    "passthru.irq_dsdt": ("3.3",),
    # -l: COM3..COM5 from v3.3 (devicemodel/hw/pci/lpc.c).
    "lpc.com3_5": ("3.3",),
    # --ovmf code=,vars= from v2.5 (devicemodel/core/sw_load_ovmf.c).
    "ovmf.code_vars": _since("2.7"),
    # --cpu_affinity: v2.x takes pCPU ids with ranges, v3.0 takes LAPIC ids, no ranges.
    "cpu_affinity.ranges": ("2.7",),
    # --pm_notify_channel: v1.x matches prefixes and never rejects; v2.5+ rejects unknown values.
    "pm_notify.strict": _since("2.7"),
    # v3.0+: obsolete options print outdate() notices; -A prints a pr_info notice.
    "obsolete_notices": _since("3.0"),
    # v3.0+: --lapic_pt without --rtvm is disabled with a warning.
    "lapic_pt.needs_rtvm": _since("3.0"),
    # v3.1+: iasl must be found before the name check.
    "iasl": _since("3.2"),
    # v2.7+: the missing-name case prints a pr_err before usage(1).
    "name.missing_message": _since("2.7"),
    # Notices printed while the option is parsed: v3.2 hw/platform/acpi/acpi.c acrn_parse_iasl()
    # (pr_info) and v3.0 core/cmd_monitor/cmd_monitor.c acrn_parse_cmd_monitor() (pr_notice).
    "iasl.notice": _since("3.2"),
    "cmd_monitor.notice": _since("3.0"),
    # v3.3: generic --acpidev_pt HID[,uid=..,type=..].
    "acpidev_pt.generic": ("3.3",),
    # v3.2+ version line format "DM: ..." instead of "DM version is: ...".
    "version.v32_format": _since("3.2"),
    # v1.6 block_if.c reports an unopenable backing file with warn() (stderr, errno text);
    # later releases with pr_err() and no newline.
    "blk.open_warn": ("1.6",),
    # An AHCI port that blockif_open() refuses (missing file, bad option, ...): pci_ahci_init()
    # returns 1, so init_pci() prints "pci ahci init failed", stops initialising devices and
    # returns 1, which vm_init_vdevs() does not treat as an error (it tests < 0) (v1.6-v3.3
    # devicemodel/hw/pci/ahci.c, hw/pci/core.c, core/main.c). Observed: 1.6 and 2.7 then run
    # (acrn-dm-cli.md §8); 3.2 dies later, SIGSEGV in acpi_build() or a double free when it
    # tears down after a later failure (run against a v3.2 build). 3.0 and 3.3 share 3.2's code
    # and are assumed to die too.
    "ahci.missing_ok": ("1.6", "2.7"),
    # __LINE__ in messages: v1.6 core/monitor.c prints "monitor_init 484" (483 from v2.x) and
    # its core/pm_vuart.c asserts at line 296 (271 from v2.x).
    "src.v16_line_numbers": ("1.6",),
    # v1.6's device model predates parts of the pr_* logger: these messages are printf()s,
    # states print as numbers, SIGINT says "Receive SIGINT", the tap lines differ (virtio_net.c,
    # main.c, vmmapi.c at v1.6).
    "dm.v16_messages": ("1.6",),
    # -m with a negative size: strtoul wraps; 1.6 hangs shifting it, 2.7+ crash (§8).
    "memsize.negative_hangs": ("1.6",),
    # vhost-vsock / virtio-gpu devices.
    "virtio_console.socket_type": _EVERY,
    # virtio-gpu: v3.1 devicemodel/hw/vdisplay_sdl.c (vdpy_parse_cmd_option) splits the config at
    # ',' into up to 2 virtual screens (VSCREEN_MAX_NUM), uses fullscreen:<monitor>, and
    # gfx_ui_init fails ("Incorrect geometry parameter for virtio-gpu") without a geometry=.
    # v3.0 reads one screen from the whole string.
    "gpu.vscreens": _since("3.2"),
    # virtio-gpio: v1.6 devicemodel/hw/pci/virtio/virtio_gpio.c writes its messages only to a
    # debug file (silent on the console); v2.x+ prints them with pr_err.
    "gpio.messages": _since("2.7"),
    # passthru: v1.6 devicemodel/hw/pci/passthrough.c prints with warnx() (stderr, "acrn-dm: "
    # prefix); v2.x+ with pr_err/pr_warn (stdout).
    "passthru.warnx": ("1.6",),
    # pci_emul_alloc_pbar rejects a BAR index > 5 (v3.2 devicemodel/hw/pci/core.c); v2.7/v3.0 do
    # not check it (passthru vmsix_on_msi,<bar_id>).
    "pci.bar_index_check": _since("3.2"),
    # xhci: pci_xhci_parse_bus_port refuses bus >= USB_NATIVE_NUM_BUS or port >= 20 up to v3.2
    # (devicemodel/hw/pci/xhci.c); v3.3 dropped the check. USB_NATIVE_NUM_BUS is 4 in v1.6
    # (devicemodel/include/usb_core.h), 5 in v2.x-v3.2.
    "xhci.native_range_check": ("1.6", "2.7", "3.0", "3.2"),
    "xhci.four_native_buses": ("1.6",),
    # xhci: UPRINTF is printf in v1.6; from v2.x it is pr_dbg, hidden at the default console
    # log level (4), so option errors and the usage text are silent.
    "xhci.uprintf_stdout": ("1.6",),
}
