"""Typed values of acrn-dm's global options, each able to parse and render itself.

Parsers raise ``ConfigError`` with the option's name as the field; the checker turns that into
acrn-dm's own message for the release.
"""

from __future__ import annotations

from acrnkit._records import dataclass, field
from acrnkit.errors import ConfigError
from acrnkit.model.ctext import find_any, is_decimal, number_prefix
from acrnkit.releases.profile import Release

MB = 1 << 20
MIN_MEMSIZE = 128 * MB  # vm_parse_memsize(): "must be >= 128 MB" (devicemodel/core/vmmapi.c)
#: vm_parse_memsize() units (the letter, case-insensitive) and their shifts
UNIT_SHIFT = {"k": 10, "m": 20, "g": 30}
ULONG_MAX = (1 << 64) - 1


def c_strtoul(text: str) -> tuple[int, str] | None:
    """C ``strtoul(text, &end, 0)``: returns (value, rest) or None when no digit was consumed.

    A leading ``-`` negates modulo 2**64, and a magnitude beyond ``ULONG_MAX`` gives
    ``ULONG_MAX`` (ERANGE), as C does.
    """
    found = number_prefix(text)
    if found is None:
        return None
    value, end = found
    if abs(value) > ULONG_MAX:
        return ULONG_MAX, text[end:]  # ERANGE: strtoul saturates, whatever the sign
    return value % (1 << 64), text[end:]


@dataclass(frozen=True)
class MemSize:
    """``-m``: a number and a K/M/G unit. acrn-dm rejects a bare number or ``b`` (C fall-through
    in ``vm_parse_memsize``, every tag), so the unit is mandatory here too.
    ``tail`` keeps what follows the unit letter (``2048MB`` -> ``"B"``), which acrn-dm ignores.
    """

    amount: int
    unit: str = "M"
    tail: str = ""
    #: the number as written when it was not plain decimal (``0x800``), so argv round-trips
    digits: str | None = None

    def __post_init__(self) -> None:
        if self.unit.lower() not in UNIT_SHIFT:
            raise ConfigError("memsize", f"{self.amount}{self.unit}",
                              "needs a K, M or G unit (acrn-dm rejects a bare number and 'b')")
        if self.amount < 0:
            raise ConfigError("memsize", self.amount, "must not be negative")
        if self.bytes < MIN_MEMSIZE:
            raise ConfigError("memsize", self.render(), "acrn-dm needs at least 128M")

    @property
    def bytes(self) -> int:
        return self.amount << UNIT_SHIFT[self.unit.lower()]

    @property
    def mib(self) -> int:
        return self.bytes >> 20

    def render(self) -> str:
        return f"{self.digits or self.amount}{self.unit}{self.tail}"

    @classmethod
    def parse(cls, text: str) -> MemSize:
        parsed = c_strtoul(text)
        if parsed is None:
            raise ConfigError("memsize", text, "not a number")
        value, rest = parsed
        if not rest or rest[0].lower() not in UNIT_SHIFT:
            raise ConfigError("memsize", text, "needs a K, M or G unit")
        if value >= 1 << 63:
            raise ConfigError("memsize", text, "negative size (acrn-dm 2.7+ crashes on it)")
        if (value << UNIT_SHIFT[rest[0].lower()]) >= 1 << 64:
            raise ConfigError("memsize", text, "size overflows 64 bits")
        written = text[: len(text) - len(rest)]
        digits = None if written == str(value) else written
        return cls(value, rest[0], rest[1:], digits)


@dataclass(frozen=True)
class CpuAffinity:
    """``--cpu_affinity``: 2.7 takes pCPU ids with ``a-b`` ranges, 3.x takes LAPIC ids only.

    ``raw`` keeps text that acrn-dm reads differently from how acrnkit would write it (``1-0``
    on 3.x is LAPIC id 1; ``x`` is an empty set), so argv round-trips; it is not part of
    equality. An empty set is accepted at parse time and fails later (ACPI build on 3.x).
    """

    items: tuple[tuple[int, int], ...]
    raw: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.items and self.raw is None:
            raise ConfigError("cpu_affinity", "", "needs at least one id")
        for lo, hi in self.items:
            if lo < 0 or hi < lo:
                raise ConfigError("cpu_affinity", f"{lo}-{hi}", "ranges go low-high, ids >= 0")

    @classmethod
    def of(cls, *ids: int) -> CpuAffinity:
        return cls(tuple((i, i) for i in ids))

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(i for lo, hi in self.items for i in range(lo, hi + 1))

    def render(self) -> str:
        if self.raw is not None:
            return self.raw
        return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in self.items)

    @classmethod
    def parse(cls, text: str, release: Release) -> CpuAffinity:
        """Read it as ``acrn_parse_cpu_affinity()`` does (v2.7 and v3.2
        devicemodel/core/vmmapi.c): entries while the rest starts with a digit; each entry's
        number is a ``strtol`` prefix; 2.7 also reads ``a-b`` and fails on ``b <= a``."""
        ranges = release.has("cpu_affinity.ranges")
        items: list[tuple[int, int]] = []
        rest = text
        while rest[:1].isdigit():
            stop = find_any(rest, ",-" if ranges else ",")
            if stop < 0:
                items.append((_prefix_int(rest),) * 2)
                break
            head, sep, rest = rest[:stop], rest[stop], rest[stop + 1:]
            if sep == ",":
                items.append((_prefix_int(head),) * 2)
                continue
            lo = _prefix_int(head)
            end_text, _, rest = rest.partition(",")
            hi = _prefix_int(end_text) if end_text[:1].isdigit() else 0
            if hi <= lo:
                raise ConfigError("cpu_affinity", text, "a range's end must exceed its start")
            items.append((lo, hi))
        made = cls(tuple(items), raw=text)
        return made if made.render_canonical() != text or not items else cls(tuple(items))

    def render_canonical(self) -> str:
        return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in self.items)


def _prefix_int(text: str) -> int:
    found = number_prefix(text, 10)
    if found is None:
        return 0
    value = found[0]
    if not -(1 << 31) <= value < (1 << 31):
        raise ConfigError("cpu_affinity", text, "number out of range")
    return value


@dataclass(frozen=True)
class Ovmf:
    """``--ovmf [w,]<path>`` or ``[w,]code=<path>,vars=<path>`` (v2.5+)."""

    path: str | None = None
    code: str | None = None
    vars: str | None = None
    write_back: bool = False

    def __post_init__(self) -> None:
        if (self.path is None) == (self.code is None and self.vars is None):
            raise ConfigError("ovmf", self, "give either a single image or code= and vars=")
        if (self.code is None) != (self.vars is None):
            raise ConfigError("ovmf", self, "code= and vars= go together")
        for value in (self.path, self.code, self.vars):
            if value is not None and ("," in value or value == ""):
                raise ConfigError("ovmf", value, "a path may not be empty or contain ','")

    def render(self) -> str:
        head = ["w"] if self.write_back else []
        body = [self.path] if self.path is not None else [f"code={self.code}", f"vars={self.vars}"]
        return ",".join(head + [p for p in body if p is not None])

    def paths(self) -> tuple[str, ...]:
        return tuple(p for p in (self.path, self.code, self.vars) if p is not None)

    @classmethod
    def parse(cls, text: str, release: Release) -> Ovmf:
        parts = text.split(",")
        wb = parts[0] == "w"
        if wb:
            parts = parts[1:]
        code = next((p[5:] for p in parts if p.startswith("code=")), None)
        vars_ = next((p[5:] for p in parts if p.startswith("vars=")), None)
        if code is not None or vars_ is not None:
            if not release.has("ovmf.code_vars") or len(parts) != 2:
                raise ConfigError("ovmf", text, "invalid ovmf param")
            return cls(code=code, vars=vars_, write_back=wb)
        if len(parts) != 1:
            raise ConfigError("ovmf", text, "invalid ovmf param")
        return cls(path=parts[0], write_back=wb)


@dataclass(frozen=True)
class IntrMonitor:
    """``--intr_monitor threshold,period,delay,duration`` (four unsigned decimals)."""

    threshold: int
    period: int
    delay: int
    duration: int

    def render(self) -> str:
        return f"{self.threshold},{self.period},{self.delay},{self.duration}"

    @classmethod
    def parse(cls, text: str) -> IntrMonitor:
        parts = text.split(",")
        if len(parts) != 4 or not all(is_decimal(p) for p in parts):
            raise ConfigError("intr_monitor", text, "want threshold,period,delay,duration")
        a, b, c, d = (int(p) for p in parts)
        return cls(a, b, c, d)
