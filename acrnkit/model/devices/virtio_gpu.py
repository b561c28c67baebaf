"""virtio-gpu (ACRN 3.0+): ``geometry=fullscreen[:<monitor>]`` or ``geometry=<W>x<H>+<X>+<Y>``.

Sources: v3.2 devicemodel/hw/vdisplay_sdl.c (``vdpy_parse_cmd_option``, ``gfx_ui_init``,
``vdpy_calibrate_vscreen_geometry``), v3.2 devicemodel/hw/pci/core.c (``pci_parse_slot`` calls
the parser when it meets ``virtio-gpu``, before any device init, and ignores its result), v3.2
devicemodel/hw/pci/virtio/virtio_gpu.c (``virtio_gpu_init``), and the same files at v3.0
(one screen) and v3.3 (= v3.2).

* ``geometry=`` is *found* case-insensitively (``strcasestr``) anywhere in the text, but then
  read with ``sscanf`` whose literal ``geometry=``/``fullscreen:`` is case-sensitive: so
  ``GEOMETRY=800x600+0+0`` prints ``incorrect geometry option. Should be WxH+x+y`` and
  ``geometry=FULLSCREEN:1`` is fullscreen on monitor 0. Numbers are ``%d`` (sign allowed).
* A windowed geometry that does not give all four numbers prints the message above (pr_err,
  stdout) and is *still used*, with the missing numbers 0. A window of width or height 0 becomes
  acrn-dm's default 1024x768 window; others are clipped to 640x480 .. 1920x1080. Fullscreen is
  1920x1080.
* v3.0: one screen read from the whole string: fullscreen when ``geometry=fullscreen`` occurs
  anywhere, else a window from the first ``geometry=``; without any, a default window. The
  monitor number is read but not used.
* v3.1+ (feature ``gpu.vscreens``): every ``,``-separated part with ``geometry=`` is one virtual
  screen, at most 2 (``VSCREEN_MAX_NUM``); parts without it are ignored. A third screen is
  written past the array and then ``%d virtual displays are too many that acrn-dm can't
  support!`` is printed without its number argument (the digits are whatever a register held;
  acrnkit prints ``?``), and ``virtio_gpu_init`` then crashes formatting ``%s`` from an int.
  With no screen at all ``gfx_ui_init`` fails (``Incorrect geometry parameter for virtio-gpu``,
  ``gfx ui initialize failed``, exit 1) before the VM is created.
* No config at all: ``strcasestr(NULL, ..)`` (v3.0) / ``strdup(NULL)`` (v3.1+) crash acrn-dm.
* Only one virtio-gpu (``virtio_gpu_init: only 1 virtio-gpu device can be created.``): the
  checker enforces it.
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import DeviceInitError, FileRef, Line, ParseContext, register
from acrnkit.model.devices.virtio_i2c import c_strtol, to_int32
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from typing import ClassVar

MAX_SCREENS = 2  # VSCREEN_MAX_NUM
FULLSCREEN_SIZE = (1920, 1080)  # VDPY_MAX_WIDTH x VDPY_MAX_HEIGHT
MIN_SIZE = (640, 480)  # VDPY_MIN_WIDTH x VDPY_MIN_HEIGHT
DEFAULT_SIZE = (1024, 768)  # VDPY_DEFAULT_WIDTH x VDPY_DEFAULT_HEIGHT
BAD_GEOMETRY = "incorrect geometry option. Should be WxH+x+y"
NO_GEOMETRY = "Incorrect geometry parameter for virtio-gpu"
GFX_FAILED = "gfx ui initialize failed"
TOO_MANY = "? virtual displays are too many that acrn-dm can't support!"
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def _check_int(field: str, value: int) -> None:
    if not _INT_MIN <= value <= _INT_MAX:
        raise ConfigError(field, value, "must fit a C int")


@dataclass(frozen=True)
class GpuFullscreen:
    """A fullscreen virtual screen on host monitor ``monitor`` (SDL display index)."""

    monitor: int = 0

    def __post_init__(self) -> None:
        _check_int("virtio-gpu.monitor", self.monitor)

    def render(self) -> str:
        return "geometry=fullscreen" + (f":{self.monitor}" if self.monitor else "")


@dataclass(frozen=True)
class GpuWindow:
    """A window of ``width`` x ``height`` at ``x``, ``y``, as acrn-dm stores it (before
    clipping; a 0 width or height means acrn-dm's default window)."""

    width: int
    height: int
    x: int = 0
    y: int = 0

    def __post_init__(self) -> None:
        for name in ("width", "height", "x", "y"):
            _check_int(f"virtio-gpu.{name}", getattr(self, name))

    def render(self) -> str:
        return f"geometry={self.width}x{self.height}+{self.x}+{self.y}"


GpuScreen = GpuFullscreen | GpuWindow


@register("virtio-gpu")
@dataclass(frozen=True)
class VirtioGpu:
    """virtio-gpu with its virtual screens (``()``: v3.0's default window)."""

    EMULS: ClassVar[tuple[str, ...]] = ("virtio-gpu",)

    screens: tuple[GpuScreen, ...] = ()

    emul: ClassVar[str] = "virtio-gpu"

    def __post_init__(self) -> None:
        if len(self.screens) > MAX_SCREENS:
            raise ConfigError("virtio-gpu.screens", len(self.screens),
                              f"acrn-dm supports at most {MAX_SCREENS} virtual screens")

    def render_config(self) -> str:
        # Never None: acrn-dm crashes on a virtio-gpu without a config string.
        return ",".join(s.render() for s in self.screens)

    @classmethod
    def parse_config(cls, emul: str, config: str | None, ctx: ParseContext) -> VirtioGpu:
        if config is None:
            raise DeviceInitError(
                "virtio-gpu", None,
                Line("acrnkit: virtio-gpu without a config string: the real acrn-dm crashes here "
                     "(SIGSEGV in vdpy_parse_cmd_option)", "stderr"))
        screens: list[GpuScreen] = []
        if ctx.release.has("gpu.vscreens"):
            for part in config.split(","):
                screen = _read_part(part, ctx)
                if screen is None:
                    ctx.warn("virtio-gpu", f"virtio-gpu: acrn-dm ignores '{part}'")
                    continue
                screens.append(screen)
                if screen.render() != part:
                    ctx.warn("virtio-gpu", f"virtio-gpu: acrn-dm reads '{part}' as "
                             f"'{screen.render()}'")
                if len(screens) > MAX_SCREENS:
                    # its lines came out while the options were parsed (option_lines)
                    raise DeviceInitError(
                        "virtio-gpu.screens", len(screens),
                        Line("acrnkit: more than 2 virtual screens: the real acrn-dm writes past "
                             "its screen array and crashes in virtio_gpu_init", "stderr"))
            if not screens:
                raise DeviceInitError("virtio-gpu.geometry", config, NO_GEOMETRY, GFX_FAILED)
        else:
            screen = _read_part(config, ctx)
            if screen is None:
                if config:
                    ctx.warn("virtio-gpu", f"virtio-gpu: no geometry= in '{config}': acrn-dm "
                             "opens its default window")
            else:
                screens.append(screen)
                if screen.render() != config:
                    ctx.warn("virtio-gpu", f"virtio-gpu: acrn-dm reads '{config}' as "
                             f"'{screen.render()}'")
        return cls(tuple(screens))

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        out: list[tuple[str, object, str]] = []
        vscreens = release.has("gpu.vscreens")
        if vscreens and not self.screens:
            out.append(("virtio-gpu.screens", 0, f"acrn-dm {release} needs a geometry= "
                        f"({NO_GEOMETRY})"))
        if not vscreens and len(self.screens) > 1:
            out.append(("virtio-gpu.screens", len(self.screens),
                        f"acrn-dm {release} shows one screen; it reads the whole string once"))
        for screen in self.screens:
            if isinstance(screen, GpuFullscreen):
                if screen.monitor and not vscreens:
                    out.append(("virtio-gpu.monitor", screen.monitor,
                                f"acrn-dm {release} always uses monitor 0"))
                elif screen.monitor < 0:
                    out.append(("virtio-gpu.monitor", screen.monitor,
                                "no such monitor; SDL cannot place the screen"))
                continue
            if not screen.width or not screen.height:
                out.append(("virtio-gpu.geometry", screen.render(),
                            "a 0 size gives acrn-dm's default 1024x768 window"))
            elif not (MIN_SIZE[0] <= screen.width <= FULLSCREEN_SIZE[0]
                      and MIN_SIZE[1] <= screen.height <= FULLSCREEN_SIZE[1]):
                out.append(("virtio-gpu.geometry", screen.render(),
                            "acrn-dm clips the window to 640x480 .. 1920x1080"))
        return out

    def files(self) -> list[FileRef]:
        return []


def option_lines(config: str, release: Release) -> list[str]:
    """What ``vdpy_parse_cmd_option()`` prints while acrn-dm parses ``-s N,virtio-gpu,<config>``
    (``pci_parse_slot`` calls it at once): per screen an ``incorrect geometry`` error when a
    window gives fewer than four numbers, then ``virtual display: ...`` (v3.0
    ``fullscreen.``/``windowed.``; v3.1+ with the monitor), and the too-many-screens error once
    a third one is read (v3.0 and v3.2 devicemodel/hw/vdisplay_sdl.c). Device init prints none
    of them again."""
    ctx = ParseContext(release)
    parts = config.split(",") if release.has("gpu.vscreens") else [config]
    lines: list[str] = []
    count = 0
    for part in parts:
        screen = _read_part(part, ctx)
        if screen is None:
            continue
        if any(line.text == BAD_GEOMETRY for _, line in ctx.warnings):
            lines.append(BAD_GEOMETRY)
        ctx.warnings.clear()
        count += 1
        if not release.has("gpu.vscreens"):
            lines.append("virtual display: fullscreen." if isinstance(screen, GpuFullscreen)
                         else "virtual display: windowed.")
            break
        monitor = screen.monitor if isinstance(screen, GpuFullscreen) else 0
        kind = "fullscreen" if isinstance(screen, GpuFullscreen) else "windowed"
        lines.append(f"virtual display: {kind} on monitor {monitor}.")
        if count > MAX_SCREENS:
            lines.append(TOO_MANY)
            break
    return lines


def _read_part(text: str, ctx: ParseContext) -> GpuScreen | None:
    """One ``vdpy_parse_cmd_option`` step over ``text`` (a ``,`` part on v3.1+, the whole
    string on v3.0): the screen it sets up, or None when ``geometry=`` is absent."""
    lower = text.lower()
    first = lower.find("geometry=")
    if first < 0:
        return None
    full = lower.find("geometry=fullscreen")
    if full >= 0:
        # v3.0 (and v3.1) scan from the first "geometry=", v3.2+ from the fullscreen match.
        start = full if ctx.release.has("gpu.vscreens") else first
        values, _ = _scanf(text[start:], "geometry=fullscreen:", ())
        return GpuFullscreen(values[0] if values else 0)
    values, count = _scanf(text[first:], "geometry=", ("x", "+", "+"))
    if count != 4:  # printed while the options are parsed (option_lines); a remark here
        ctx.warn("virtio-gpu.geometry", BAD_GEOMETRY)
    values += [0] * (4 - len(values))
    return GpuWindow(*values)


def _scanf(text: str, literal: str, separators: tuple[str, ...]) -> tuple[list[int], int]:
    """``sscanf(text, "<literal>%d<sep>%d...")``: the numbers read, in order, and their count."""
    if not text.startswith(literal):
        return [], 0
    pos = len(literal)
    values: list[int] = []
    for sep in ("", *separators):
        if sep:
            if not text.startswith(sep, pos):
                break
            pos += len(sep)
        got = c_strtol(text[pos:], 10)
        if got is None:
            break
        values.append(to_int32(got.value))
        pos += got.end
    return values, len(values)
