"""acrn-dm's global options, one row per option, one column per release.

Read a row to learn an option's life; read a column (``RELEASE_OPTIONS[v]``) to learn what one
release accepts. Facts come from ``devicemodel/core/main.c`` at each tag (``long_options[]``,
``optstr[]`` and the ``switch`` in ``main()``) of projectacrn/acrn-hypervisor.

Cell meanings:

``OK``        the option exists and is handled.
``OBSOLETE``  accepted by getopt, ignored, and a notice is printed (v3.0+ ``outdate()``).
``USAGE``     the letter is still in ``optstr`` but has no ``case``: ``usage(1)`` with no message.
(absent)      getopt does not know the option: "invalid option" / "unrecognized option".
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.releases.versions import VERSIONS

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import ClassVar


class Support(str):
    """A cell of the table: ``Support.OK``, ``Support.OBSOLETE`` or ``Support.USAGE``.

    A ``str`` with three named instances rather than an ``Enum``: ``enum`` (with the
    ``functools`` and ``collections`` it imports) would cost the fake acrn-dm more start-up time
    than all of these tables.
    """

    __slots__ = ()
    OK: ClassVar[Support]
    OBSOLETE: ClassVar[Support]
    USAGE: ClassVar[Support]

    def __repr__(self) -> str:
        return f"Support.{self.upper()}"


Support.OK = Support("ok")
Support.OBSOLETE = Support("obsolete")
Support.USAGE = Support("usage")


@dataclass(frozen=True)
class OptionRow:
    """One acrn-dm global option across releases.

    ``key`` is the field name in :class:`acrnkit.model.vm.VM`. ``takes_arg`` maps each release
    where the option exists to whether it needs an argument (``--ssram`` changed in 3.0).
    """

    key: str
    short: str | None
    long: str | None
    support: Mapping[str, Support]
    takes_arg: Mapping[str, bool]
    repeatable: bool = False


def _life(first: str, last: str | None = None, *, obsolete_from: str | None = None,
          usage_from: str | None = None) -> dict[str, Support]:
    cells: dict[str, Support] = {}
    live = False
    for v in VERSIONS:
        if v == first:
            live = True
        if live:
            cells[v] = Support.OK
            if obsolete_from is not None and _ge(v, obsolete_from):
                cells[v] = Support.OBSOLETE
            if usage_from is not None and _ge(v, usage_from):
                cells[v] = Support.USAGE
        if v == last:
            live = False
    return cells


def _ge(a: str, b: str) -> bool:
    return tuple(map(int, a.split("."))) >= tuple(map(int, b.split(".")))


def _row(key: str, short: str | None, long: str | None, arg: bool | Mapping[str, bool],
         support: dict[str, Support], repeatable: bool = False) -> OptionRow:
    takes = {v: (arg if isinstance(arg, bool) else arg[v]) for v in support}
    return OptionRow(key, short, long, support, takes, repeatable)


_ALL = "1.6"

#: Every option, in the order acrn-dm's v3.3 ``long_options[]`` lists them (short-only first).
#: That order matters: glibc lists ambiguous candidates in table order. Per-release table order is
#: in ``LONG_ORDER`` below.
OPTION_ROWS: tuple[OptionRow, ...] = (
    _row("acpi", "A", "acpi", False, _life(_ALL)),  # v3.0+: pr_info obsolete notice, still OK
    _row("elf_file", "E", "elf_file", True, _life(_ALL)),
    _row("ioc_node", "i", "ioc_node", True, _life(_ALL, obsolete_from="3.0")),
    _row("lpc", "l", "lpc", True, _life(_ALL), repeatable=True),
    _row("pci_slot", "s", "pci_slot", True, _life(_ALL), repeatable=True),
    _row("memsize", "m", "memsize", True, _life(_ALL)),
    # -U: v1.6 handles it; v2.7 dropped the case and the long option but kept 'U:' in optstr.
    _row("uuid", "U", "uuid", True, _life(_ALL, usage_from="2.7")),
    _row("virtio_msix", "W", "virtio_msix", False, _life(_ALL, "2.7")),
    _row("mptgen", "Y", "mptgen", False, _life(_ALL, obsolete_from="3.0")),
    _row("kernel", "k", "kernel", True, _life(_ALL)),
    _row("ramdisk", "r", "ramdisk", True, _life(_ALL)),
    _row("bootargs", "B", "bootargs", True, _life(_ALL)),
    _row("version", "v", "version", False, _life(_ALL)),
    _row("gvtargs", "G", "gvtargs", True, _life(_ALL, obsolete_from="3.0")),
    _row("help", "h", "help", False, _life(_ALL)),
    # -p: pincpu was removed in v1.3 but 'p:' stayed in optstr until v2.0 -> silent usage(1).
    _row("pincpu", "p", "pincpu", True, _life(_ALL, "1.6", usage_from=_ALL)),
    _row("mac_seed", None, "mac_seed", True, _life(_ALL)),  # v3.0+: warns "obsolete", still OK
    _row("vsbl", None, "vsbl", True, _life(_ALL, obsolete_from="3.0")),
    _row("ovmf", None, "ovmf", True, _life(_ALL)),
    _row("iasl", None, "iasl", True, _life("3.2")),
    _row("cpu_affinity", None, "cpu_affinity", True, _life("2.7")),
    _row("part_info", None, "part_info", True, _life(_ALL, obsolete_from="3.0")),
    _row("enable_trusty", None, "enable_trusty", False, _life(_ALL)),
    _row("virtio_poll", None, "virtio_poll", True, _life(_ALL)),
    _row("debugexit", None, "debugexit", False, _life(_ALL)),
    _row("intr_monitor", None, "intr_monitor", True, _life(_ALL)),
    _row("cmd_monitor", None, "cmd_monitor", True, _life("3.0")),
    _row("acpidev_pt", None, "acpidev_pt", True, _life("2.7"), repeatable=True),
    _row("mmiodev_pt", None, "mmiodev_pt", True, _life("2.7"), repeatable=True),
    _row("vtpm2", None, "vtpm2", True, _life(_ALL)),
    _row("lapic_pt", None, "lapic_pt", False, _life(_ALL)),
    _row("rtvm", None, "rtvm", False, _life(_ALL)),
    # --ssram: a flag in v2.5-v2.7, takes an argument from v3.0 (so it swallows the next word).
    _row("ssram", None, "ssram", {"2.7": False, "3.0": True, "3.2": True, "3.3": True},
         _life("2.7")),
    _row("logger_setting", None, "logger_setting", True, _life(_ALL)),
    _row("pm_notify_channel", None, "pm_notify_channel", True, _life(_ALL)),  # 3.0+ warns
    _row("pm_by_vuart", None, "pm_by_vuart", True, _life(_ALL, obsolete_from="3.0")),
    _row("windows", None, "windows", False, _life(_ALL)),
    _row("virtio_msi", None, "virtio_msi", False, _life("3.0")),
)

OPTIONS_BY_KEY: Mapping[str, OptionRow] = {row.key: row for row in OPTION_ROWS}

#: ``long_options[]`` order per release (glibc reports ambiguity candidates in this order).
LONG_ORDER: Mapping[str, tuple[str, ...]] = {
    "1.6": ("acpi", "elf_file", "ioc_node", "lpc", "pci_slot", "memsize", "uuid", "virtio_msix",
            "mptgen", "kernel", "ramdisk", "bootargs", "version", "gvtargs", "help", "vsbl", "ovmf",
            "part_info", "enable_trusty", "virtio_poll", "mac_seed", "debugexit", "intr_monitor",
            "vtpm2", "lapic_pt", "rtvm", "logger_setting", "pm_notify_channel", "pm_by_vuart",
            "windows"),
    "2.7": ("acpi", "elf_file", "ioc_node", "lpc", "pci_slot", "memsize", "virtio_msix", "mptgen",
            "kernel", "ramdisk", "bootargs", "version", "gvtargs", "help", "vsbl", "ovmf",
            "cpu_affinity", "part_info", "enable_trusty", "virtio_poll", "mac_seed", "debugexit",
            "intr_monitor", "acpidev_pt", "mmiodev_pt", "vtpm2", "lapic_pt", "rtvm", "ssram",
            "logger_setting", "pm_notify_channel", "pm_by_vuart", "windows"),
    "3.0": ("acpi", "elf_file", "ioc_node", "lpc", "pci_slot", "memsize", "mptgen", "kernel",
            "ramdisk", "bootargs", "version", "gvtargs", "help", "mac_seed", "vsbl", "ovmf",
            "cpu_affinity", "part_info", "enable_trusty", "virtio_poll", "debugexit",
            "intr_monitor", "cmd_monitor", "acpidev_pt", "mmiodev_pt", "vtpm2", "lapic_pt", "rtvm",
            "ssram", "logger_setting", "pm_notify_channel", "pm_by_vuart", "windows",
            "virtio_msi"),
}
_V32_ORDER = ("acpi", "elf_file", "ioc_node", "lpc", "pci_slot", "memsize", "mptgen", "kernel",
              "ramdisk", "bootargs", "version", "gvtargs", "help", "mac_seed", "vsbl", "ovmf",
              "iasl", "cpu_affinity", "part_info", "enable_trusty", "virtio_poll", "debugexit",
              "intr_monitor", "cmd_monitor", "acpidev_pt", "mmiodev_pt", "vtpm2", "lapic_pt",
              "rtvm", "ssram", "logger_setting", "pm_notify_channel", "pm_by_vuart", "windows",
              "virtio_msi")
LONG_ORDER = {**LONG_ORDER, "3.2": _V32_ORDER, "3.3": _V32_ORDER}

#: ``optstr[]`` per release, verbatim letters (a ``:`` follows a letter that takes an argument).
OPTSTR: Mapping[str, str] = {
    "1.6": "hAWYvE:k:r:B:p:s:m:l:U:G:i:",
    "2.7": "hAWYvE:k:r:B:s:m:l:U:G:i:",
    "3.0": "AhYvE:k:r:B:s:m:l:U:G:i:",
    "3.2": "AhYvE:k:r:B:s:m:l:U:G:i:",
    "3.3": "AhYvE:k:r:B:s:m:l:U:G:i:",
}
