"""PCI ``bus:slot.func`` as acrn-dm's ``parse_bdf()`` reads it, and slot allocation.

Source: ``devicemodel/hw/pci/core.c`` (``pci_parse_slot``, ``parse_bdf``) at v1.6 .. v3.3. Fields
are separated by any of ``:``, ``/`` or ``.``; one field is the slot, two are slot:func, three
are bus:slot:func. Each is a base-10 ``strtol`` that must consume at least one digit; trailing
junk is ignored. Ranges: bus 0..255, slot 0..31, func 0..7.
"""

from __future__ import annotations

from acrnkit._memo import bounded_cache
from acrnkit._records import TYPE_CHECKING, dataclass, field
from acrnkit.errors import ConfigError
from acrnkit.model.ctext import is_decimal, number_prefix, split_any

if TYPE_CHECKING:
    from collections.abc import Iterable

MAX_BUS = 255
MAX_SLOT = 31
MAX_FUNC = 7

#: Slots a builder leaves alone by default. Slot 2 was GVT-g's hard-wired slot (Kata and ACRN's
#: launch scripts skip it); slot 31 is where passthru "gpu" added igd-lpc (v1.6-v2.5
#: devicemodel/hw/pci/passthrough.c) and where ACRN's scripts put the LPC-like devices.
RESERVED_SLOTS: frozenset[int] = frozenset({2, 31})

@dataclass(frozen=True, order=True)
class Bdf:
    """A PCI address. ``fields``: how many fields to print (1, 2 or 3), so ``0:0`` stays ``0:0``."""

    bus: int = 0
    slot: int = 0
    func: int = 0
    fields: int = field(default=0, compare=False)  # 0 = shortest form; not part of equality
    #: (bus, slot, func), computed once: the checker compares it for every device
    key: tuple[int, int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name, value, top in (("bus", self.bus, MAX_BUS), ("slot", self.slot, MAX_SLOT),
                                 ("func", self.func, MAX_FUNC)):
            if not 0 <= value <= top:
                raise ConfigError(f"pci.{name}", value, f"must be 0..{top}")
        if self.fields not in (0, 1, 2, 3):
            raise ConfigError("pci.fields", self.fields, "must be 1, 2 or 3")
        if self.fields == 1 and (self.bus or self.func):
            raise ConfigError("pci.fields", self.fields, "one field cannot carry bus or func")
        if self.fields == 2 and self.bus:
            raise ConfigError("pci.fields", self.fields, "two fields cannot carry a bus")
        object.__setattr__(self, "key", (self.bus, self.slot, self.func))

    def render(self) -> str:
        width = self.fields or (3 if self.bus else 2 if self.func else 1)
        if width == 1:
            return str(self.slot)
        if width == 2:
            return f"{self.slot}:{self.func}"
        return f"{self.bus}:{self.slot}:{self.func}"

    def __str__(self) -> str:
        return self.render()

    @classmethod
    def parse(cls, text: str) -> Bdf:
        """Parse like ``parse_bdf(str, .., 10)``; raises ConfigError when acrn-dm would fail."""
        return _parse_bdf(text)

    @classmethod
    def _parse_uncached(cls, text: str) -> Bdf:
        parts = split_any(text, ":/.")
        values: list[int] = []
        for part in parts[:3]:
            found = number_prefix(part, 10)
            if found is None:
                raise ConfigError("pci.bdf", text, "each field must start with a decimal number")
            values.append(found[0])
        if len(values) == 1:
            bus, slot, func = 0, values[0], 0
        elif len(values) == 2:
            bus, slot, func = 0, values[0], values[1]
        else:
            bus, slot, func = values
        fields = text.split(":")
        canonical = len(fields) <= 3 and all(is_decimal(f) for f in fields)
        return cls(bus, slot, func, len(values) if canonical else 0)


@bounded_cache(maxsize=1024)
def _parse_bdf(text: str) -> Bdf:
    return Bdf._parse_uncached(text)


class SlotAllocator:
    """Hands out free slots on bus 0, lowest first, skipping reserved and used ones."""

    def __init__(self, reserved: Iterable[int] = RESERVED_SLOTS,
                 used: Iterable[tuple[int, int, int]] = ()) -> None:
        self.reserved = frozenset(reserved)
        self.used: set[tuple[int, int, int]] = set(used)

    def claim(self, bdf: Bdf) -> Bdf:
        if bdf.key in self.used:
            raise ConfigError("pci.slot", bdf.render(), "slot already occupied")
        self.used.add(bdf.key)
        return bdf

    def next(self) -> Bdf:
        for slot in range(MAX_SLOT + 1):
            if slot in self.reserved:
                continue
            if any(key[0] == 0 and key[1] == slot for key in self.used):
                continue
            self.used.add((0, slot, 0))
            return Bdf(0, slot, 0)
        raise ConfigError("pci.slot", "auto", "no free PCI slot left on bus 0")
