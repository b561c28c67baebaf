"""virtio-gpio: ``@<chip>{<offset|name>[=<vname>]:...}[@<chip>{...}]...``.

Sources: ``native_gpio_init``, ``native_gpio_find_line``, ``native_gpio_get_offset`` and
``virtio_gpio_init`` in v3.2 devicemodel/hw/pci/virtio/virtio_gpio.c; the grammar is the same
at v1.6, v2.7, v3.0 and v3.3. v1.6 writes every message below only to its debug file, so it
fails silently (feature ``gpio.messages`` is off); v2.x+ prints them with ``pr_err`` (stdout).

* No config: ``virtio gpio: needs gpio information`` (init fails).
* The config (commas included: acrn-dm does not split it at ``,``) is cut at ``@``; empty parts
  are skipped, so the ``@`` before the first chip may be left out. A part is
  ``<chip>{<lines>}``: without ``{`` or with an empty chip name it is ignored; text after the
  ``}`` is ignored; a missing ``}`` is tolerated. The chip is opened as ``/dev/<chip>``
  (``Can't open gpio device: /dev/<chip>, error <e>`` skips it; acrnkit assumes a healthy host).
* Lines are cut at ``:`` (empty ones skipped) and at the first ``=`` into the line and the
  guest-visible name (cut to 31 characters). A line starting with a letter is looked up by its
  kernel name (at most 31 characters); one starting with a digit is a decimal offset
  (``strtol``, trailing text ignored); anything else, like a line that is not there, prints
  ``the <line> line has not been found in <chip> chip`` and is skipped. A line taken twice
  fails its second request (``ioctl GPIO_GET_LINEHANDLE_IOCTL error Device or resource busy``)
  and is skipped.
* Limits: 8 opened chips, 64 lines (``gpio chips or lines reach max, cn <c>, ln <l>`` stops the
  chip loop; ``Virtual gpio lines reach max:<l>`` stops a line loop).
* No line at all: ``virtio gpio: failed to initialize gpio`` (init fails).
* A second virtio-gpio fails init without a message (``virtio_gpio_is_active``).
"""

from __future__ import annotations

import string

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import DeviceInitError, FileRef, ParseContext, register
from acrnkit.model.devices.virtio_i2c import c_strtol, to_int32
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import ClassVar

    _Say = Callable[[str, str], None]

MAX_CHIPS = 8  # VIRTIO_GPIO_MAX_CHIPS
MAX_LINES = 64  # VIRTIO_GPIO_MAX_VLINES
NAME_MAX = 31  # char name[32] / vname[32]
CHIP_MAX = 58  # char path[64] = "/dev/" + name + NUL
INT_MAX = 2**31 - 1
NEEDS_INFO = "virtio gpio: needs gpio information"
INIT_FAILED = "virtio gpio: failed to initialize gpio"
BUSY = "ioctl GPIO_GET_LINEHANDLE_IOCTL error Device or resource busy"

#: prints (or, on v1.6, only notes) an acrn-dm message: (field, text)


@dataclass(frozen=True)
class GpioLine:
    """A host line by offset (int) or kernel name (str), and its optional guest-visible name."""

    line: int | str
    vname: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.line, int):
            if not 0 <= self.line <= INT_MAX:
                raise ConfigError("virtio-gpio.offset", self.line, f"must be 0..{INT_MAX}")
        else:
            if not self.line or self.line[0] not in string.ascii_letters:
                raise ConfigError("virtio-gpio.line", self.line,
                                  "a line name starts with a letter (else acrn-dm cannot find it)")
            if any(c in self.line for c in ":=}@"):
                raise ConfigError("virtio-gpio.line", self.line, "':', '=', '}' and '@' end it")
            if len(self.line) > NAME_MAX:
                raise ConfigError("virtio-gpio.line", self.line,
                                  f"kernel line names have at most {NAME_MAX} characters")
        if self.vname is not None:
            if any(c in self.vname for c in ":}@"):
                raise ConfigError("virtio-gpio.vname", self.vname, "':', '}' and '@' end it")
            if len(self.vname) > NAME_MAX:
                raise ConfigError("virtio-gpio.vname", self.vname,
                                  f"acrn-dm keeps only {NAME_MAX} characters")

    def render(self) -> str:
        return str(self.line) + ("" if self.vname is None else f"={self.vname}")


@dataclass(frozen=True)
class GpioChip:
    """A host GPIO chip (``/dev/<name>``) and the lines passed through from it."""

    name: str
    lines: tuple[GpioLine, ...] = ()

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("virtio-gpio.chip", self.name, "must not be empty")
        if "@" in self.name or "{" in self.name:
            raise ConfigError("virtio-gpio.chip", self.name, "'@' and '{' end a chip name")
        if len(self.name) > CHIP_MAX:
            raise ConfigError("virtio-gpio.chip", self.name,
                              f"acrn-dm opens only /dev/ + {CHIP_MAX} characters")

    @property
    def path(self) -> str:
        return f"/dev/{self.name}"

    def render(self) -> str:
        return f"@{self.name}{{{':'.join(line.render() for line in self.lines)}}}"


@register("virtio-gpio")
@dataclass(frozen=True)
class VirtioGpio:
    EMULS: ClassVar[tuple[str, ...]] = ("virtio-gpio",)

    chips: tuple[GpioChip, ...]

    emul: ClassVar[str] = "virtio-gpio"

    def __post_init__(self) -> None:
        if len(self.chips) > MAX_CHIPS:
            raise ConfigError("virtio-gpio.chips", len(self.chips),
                              f"acrn-dm opens at most {MAX_CHIPS} chips")
        total = sum(len(c.lines) for c in self.chips)
        if total > MAX_LINES:
            raise ConfigError("virtio-gpio.lines", total, f"acrn-dm takes at most {MAX_LINES}")
        if total == 0:
            raise ConfigError("virtio-gpio.lines", 0, INIT_FAILED)
        seen: set[tuple[str, int | str]] = set()
        for chip in self.chips:
            for line in chip.lines:
                if (chip.name, line.line) in seen:
                    raise ConfigError("virtio-gpio.line", line.line,
                                      f"taken twice from {chip.name}: {BUSY}")
                seen.add((chip.name, line.line))

    @property
    def nlines(self) -> int:
        return sum(len(c.lines) for c in self.chips)

    def render_config(self) -> str:
        return "".join(chip.render() for chip in self.chips)

    @classmethod
    def parse_config(cls, emul: str, config: str | None, ctx: ParseContext) -> VirtioGpio:
        logged = ctx.release.has("gpio.messages")
        printed: list[str] = []  # what acrn-dm has printed so far, repeated if init fails

        def say(field: str, text: str) -> None:
            if logged:
                printed.append(text)
                ctx.say(field, text)
            else:
                ctx.warn(field, f"virtio-gpio: (silent in acrn-dm {ctx.release}) {text}")

        if config is None:
            raise DeviceInitError("virtio-gpio", None, *((NEEDS_INFO,) if logged else ()))
        chips: list[GpioChip] = []
        taken: set[tuple[str, int | str]] = set()
        nlines = 0
        for part in config.split("@"):
            if len(chips) >= MAX_CHIPS or nlines >= MAX_LINES:
                say("virtio-gpio", f"gpio chips or lines reach max, cn {len(chips)}, "
                    f"ln {nlines}")
                break
            if part == "":
                continue
            name, brace, rest = part.partition("{")
            if not brace or not name:
                ctx.warn("virtio-gpio.chip", f"virtio-gpio: acrn-dm ignores '{part}'")
                continue
            if len(name) > CHIP_MAX:
                ctx.warn("virtio-gpio.chip", f"virtio-gpio: acrn-dm opens '/dev/{name[:CHIP_MAX]}'")
                name = name[:CHIP_MAX]
            body, close, tail = rest.partition("}")
            if tail or not close:
                ctx.warn("virtio-gpio.chip", f"virtio-gpio: acrn-dm reads '{part}' as "
                         f"'{name}{{{body}}}'")
            lines: list[GpioLine] = []
            for item in body.split(":"):
                if item == "":
                    continue
                if nlines >= MAX_LINES:
                    say("virtio-gpio", f"Virtual gpio lines reach max:{nlines}")
                    break
                line = _find_line(item, name, say, ctx)
                if line is None:
                    continue
                if (name, line.line) in taken:
                    say("virtio-gpio.line", BUSY)
                    continue
                taken.add((name, line.line))
                lines.append(line)
                nlines += 1
            chips.append(GpioChip(name, tuple(lines)))
        if nlines == 0:
            raise DeviceInitError("virtio-gpio", config,
                                  *((*printed, INIT_FAILED) if logged else ()))
        return cls(tuple(chips))

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        return []

    def files(self) -> list[FileRef]:
        paths = dict.fromkeys(chip.path for chip in self.chips)
        return [FileRef("virtio-gpio.chip", p, "host") for p in paths]


def _find_line(item: str, chip: str, say: _Say, ctx: ParseContext) -> GpioLine | None:
    """``native_gpio_find_line`` on a healthy host: every name and offset exists."""
    key, eq, vname = item.partition("=")
    line: int | str | None = None
    if key and key[0] in string.ascii_letters:
        if len(key) <= NAME_MAX:
            line = key
    elif key and key[0] in string.digits:
        got = c_strtol(key, 10)
        if got is not None and not got.erange and to_int32(got.value) >= 0:
            line = to_int32(got.value)
    if line is None:
        say("virtio-gpio.line", f"the {key} line has not been found in {chip[:NAME_MAX]} chip")
        return None
    value: str | None = vname if eq else None
    if value is not None and len(value) > NAME_MAX:
        ctx.warn("virtio-gpio.vname", f"virtio-gpio: the name '{value}' is cut to "
                 f"'{value[:NAME_MAX]}'")
        value = value[:NAME_MAX]
    found = GpioLine(line, value)
    if found.render() != item:
        ctx.warn("virtio-gpio.line", f"virtio-gpio: acrn-dm reads '{item}' as '{found.render()}'")
    return found
