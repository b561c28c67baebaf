"""virtio-gpu, virtio-i2c and virtio-gpio: acrn-dm's parsing per release (model fields, exact
messages, round trips, and the checker's verdict)."""

from __future__ import annotations

from typing import Any

import pytest

from acrnkit import parse, render
from acrnkit.argv.check import check
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import REGISTRY, DeviceInitError, FileRef, Line, ParseContext
from acrnkit.model.devices.virtio_gpio import GpioChip, GpioLine, VirtioGpio
from acrnkit.model.devices.virtio_gpu import GpuFullscreen, GpuWindow, VirtioGpu
from acrnkit.model.devices.virtio_i2c import (
    I2cAdapter,
    I2cClient,
    VirtioI2c,
    c_strtol,
    to_int32,
)
from acrnkit.releases.profile import get_release
from acrnkit.releases.versions import VERSIONS

GPU_RELEASES = tuple(v for v in VERSIONS if "virtio-gpu" in get_release(v).emulations)
VSCREENS = tuple(v for v in GPU_RELEASES if get_release(v).has("gpu.vscreens"))
ONE_SCREEN = tuple(v for v in GPU_RELEASES if not get_release(v).has("gpu.vscreens"))
GPIO_LOGGED = tuple(v for v in VERSIONS if get_release(v).has("gpio.messages"))
GPIO_SILENT = tuple(v for v in VERSIONS if not get_release(v).has("gpio.messages"))
BAD = "incorrect geometry option. Should be WxH+x+y"


def ctx_for(version: str) -> ParseContext:
    return ParseContext(get_release(version), slot=5)


def read(cls: Any, config: str | None, version: str) -> tuple[Any, list[Line]]:
    ctx = ctx_for(version)
    device = cls.parse_config(cls.EMULS[0], config, ctx)
    return device, [line for _, line in ctx.warnings]


def texts(lines: Any) -> list[str]:
    return [line.text for line in lines]


def init_error(cls: Any, config: str | None, version: str) -> DeviceInitError:
    with pytest.raises(DeviceInitError) as info:
        cls.parse_config(cls.EMULS[0], config, ctx_for(version))
    return info.value


def round_trips(device: Any, version: str) -> None:
    again, _ = read(type(device), device.render_config(), version)
    assert again == device


def argv(version: str, *slots: str) -> list[str]:
    out = ["-s", "0:0,hostbridge", "-k", "/k"]
    if version != "1.6":
        out += ["--cpu_affinity", "1"]
    for slot in slots:
        out += ["-s", slot]
    return [*out, "vm1"]


def test_release_data() -> None:
    assert GPU_RELEASES == ("3.0", "3.2", "3.3")
    assert VSCREENS == ("3.2", "3.3") and ONE_SCREEN == ("3.0",)
    assert GPIO_SILENT == ("1.6",)
    for name, cls in (("virtio-gpu", VirtioGpu), ("virtio-i2c", VirtioI2c),
                      ("virtio-gpio", VirtioGpio)):
        assert REGISTRY[name][0] is cls


@pytest.mark.parametrize(("text", "base", "expected"), [
    ("12", 10, (12, 2)),
    ("  -12x", 10, (-12, 5)),
    ("0x1c", 16, (0x1C, 4)),
    ("0x", 16, (0, 1)),  # "0x" without a hex digit: just the 0
    ("1c", 10, (1, 1)),
    ("x", 10, None),
    ("", 16, None),
])
def test_c_strtol(text: str, base: int, expected: tuple[int, int] | None) -> None:
    got = c_strtol(text, base)
    assert (None if got is None else (got.value, got.end)) == expected


def test_c_strtol_limits() -> None:
    big = c_strtol("99999999999999999999", 10)
    assert big is not None and big.erange and big.value == 2**63 - 1
    neg = c_strtol("-1", 10, unsigned=True)
    assert neg is not None and neg.value == 2**64 - 1 and not neg.erange
    assert to_int32(2**32 - 1) == -1 and to_int32(2**31) == -(2**31)


# --- virtio-gpu ------------------------------------------------------------------------------

@pytest.mark.parametrize("version", GPU_RELEASES)
@pytest.mark.parametrize(("config", "screen"), [
    ("geometry=fullscreen", GpuFullscreen(0)),
    ("geometry=fullscreen:1", GpuFullscreen(1)),
    ("geometry=800x600+10+20", GpuWindow(800, 600, 10, 20)),
    ("geometry=1920x1080+0+0", GpuWindow(1920, 1080, 0, 0)),
    ("geometry=800x600+-5+0", GpuWindow(800, 600, -5, 0)),
])
def test_gpu_one_screen(version: str, config: str, screen: Any) -> None:
    device, warnings = read(VirtioGpu, config, version)
    assert device == VirtioGpu((screen,))
    assert warnings == []
    assert device.render_config() == config
    round_trips(device, version)
    assert check(argv(version, f"5,virtio-gpu,{config}"), version).exit_status is None


@pytest.mark.parametrize("version", GPU_RELEASES)
@pytest.mark.parametrize(("config", "screen", "bad"), [
    # found case-insensitively, read case-sensitively by sscanf
    ("GEOMETRY=fullscreen:1", GpuFullscreen(0), False),
    ("geometry=FULLSCREEN:2", GpuFullscreen(0), False),
    ("Geometry=800x600+0+0", GpuWindow(0, 0, 0, 0), True),
    ("geometry=800X600+0+0", GpuWindow(800, 0, 0, 0), True),
    # an incomplete geometry is printed about, and used with zeros
    ("geometry=800x600", GpuWindow(800, 600, 0, 0), True),
    ("geometry=800x600+7", GpuWindow(800, 600, 7, 0), True),
    ("geometry=", GpuWindow(0, 0, 0, 0), True),
    # text around it
    ("xgeometry=640x480+1+2junk", GpuWindow(640, 480, 1, 2), False),
    ("geometry=fullscreen:3x", GpuFullscreen(3), False),
])
def test_gpu_sscanf_details(version: str, config: str, screen: Any, bad: bool) -> None:
    device, warnings = read(VirtioGpu, config, version)
    assert device.screens == (screen,)
    assert (BAD in texts(warnings)) == bad
    round_trips(device, version)


@pytest.mark.parametrize("version", GPU_RELEASES)
def test_gpu_bad_geometry_is_ignored_at_parse(version: str) -> None:
    result = check(argv(version, "5,virtio-gpu,geometry=800x600"), version)
    assert result.exit_status is None
    assert BAD in [d.message for d in result.warnings]


@pytest.mark.parametrize("version", VSCREENS)
def test_gpu_two_screens(version: str) -> None:
    config = "geometry=fullscreen:1,geometry=800x600+0+0"
    device, warnings = read(VirtioGpu, config, version)
    assert device.screens == (GpuFullscreen(1), GpuWindow(800, 600, 0, 0))
    assert warnings == []
    assert device.render_config() == config
    round_trips(device, version)
    assert device.problems(get_release(version)) == []


@pytest.mark.parametrize("version", VSCREENS)
def test_gpu_parts_without_geometry_are_ignored(version: str) -> None:
    device, warnings = read(VirtioGpu, "foo,geometry=fullscreen", version)
    assert device.screens == (GpuFullscreen(0),)
    assert "virtio-gpu: acrn-dm ignores 'foo'" in texts(warnings)


@pytest.mark.parametrize("version", VSCREENS)
def test_gpu_third_screen(version: str) -> None:
    config = "geometry=fullscreen,geometry=fullscreen:1,geometry=640x480+0+0"
    err = init_error(VirtioGpu, config, version)
    assert len(err.lines) == 1  # the option-time lines are not printed again at device init
    assert err.lines[-1].stream == "stderr" and "crashes" in err.lines[-1].text
    result = check(argv(version, f"5,virtio-gpu,{config}"), version)
    assert result.exit_status == 1
    # vdpy_parse_cmd_option() prints these while acrn-dm parses the options
    shown = [line.text for line in result.output]
    start = shown.index("pci_parse_slot: virtio-gpu device found, activating virtual display.")
    assert shown[start + 1:start + 5] == [
        "virtual display: fullscreen on monitor 0.", "virtual display: fullscreen on monitor 1.",
        "virtual display: windowed on monitor 0.",
        "? virtual displays are too many that acrn-dm can't support!"]


@pytest.mark.parametrize(("version", "config", "lines"), [
    ("3.0", "geometry=fullscreen", ["virtual display: fullscreen."]),
    ("3.0", "geometry=800x600", ["incorrect geometry option. Should be WxH+x+y",
                                 "virtual display: windowed."]),
    ("3.2", "geometry=800x600", ["incorrect geometry option. Should be WxH+x+y",
                                 "virtual display: windowed on monitor 0."]),
    ("3.2", "geometry=800x600+0+0,geometry=fullscreen:1",
     ["virtual display: windowed on monitor 0.", "virtual display: fullscreen on monitor 1."]),
    ("3.3", "foo", []),
])
def test_gpu_lines_come_while_options_are_parsed(version: str, config: str,
                                                 lines: list[str]) -> None:
    # -k comes after -s here, so its notice follows the display lines, as on the real v3.2
    result = check(["-s", "0:0,hostbridge", "-s", f"5,virtio-gpu,{config}", "--cpu_affinity",
                    "0", "-k", "/k", "vm1"], version)
    texts_ = [line.text for line in result.output]
    assert texts_[0] == "pci_parse_slot: virtio-gpu device found, activating virtual display."
    assert texts_[1:1 + len(lines)] == lines
    assert texts_[1 + len(lines)] == "SW_LOAD: get kernel path /k"


@pytest.mark.parametrize("version", VSCREENS)
@pytest.mark.parametrize("config", ["", "foo", "fullscreen"])
def test_gpu_no_geometry_fails_gfx_init(version: str, config: str) -> None:
    err = init_error(VirtioGpu, config, version)
    assert texts(err.lines) == ["Incorrect geometry parameter for virtio-gpu",
                                "gfx ui initialize failed"]
    result = check(argv(version, f"5,virtio-gpu,{config}"), version)
    assert result.exit_status == 1
    assert result.message == "Incorrect geometry parameter for virtio-gpu"
    assert result.stream == "stdout"


@pytest.mark.parametrize("version", ONE_SCREEN)
@pytest.mark.parametrize(("config", "screens"), [
    ("", ()),
    ("foo", ()),
    # one screen from the whole string: fullscreen anywhere wins, read at the first geometry=
    ("geometry=800x600+0+0,geometry=fullscreen:1", (GpuFullscreen(0),)),
    ("geometry=fullscreen:1,geometry=800x600+0+0", (GpuFullscreen(1),)),
    ("geometry=800x600+0+0,geometry=640x480+0+0", (GpuWindow(800, 600, 0, 0),)),
])
def test_gpu_v30_reads_one_screen(version: str, config: str, screens: tuple[Any, ...]) -> None:
    device, _ = read(VirtioGpu, config, version)
    assert device.screens == screens
    round_trips(device, version)
    assert check(argv(version, f"5,virtio-gpu,{config}"), version).exit_status is None


@pytest.mark.parametrize("version", GPU_RELEASES)
def test_gpu_without_config_crashes(version: str) -> None:
    err = init_error(VirtioGpu, None, version)
    assert err.lines[0].stream == "stderr" and "crashes" in err.lines[0].text
    assert check(argv(version, "5,virtio-gpu"), version).exit_status == 1


@pytest.mark.parametrize("version", GPU_RELEASES)
def test_gpu_only_one(version: str) -> None:
    result = check(argv(version, "5,virtio-gpu,geometry=fullscreen",
                        "6,virtio-gpu,geometry=fullscreen"), version)
    assert result.exit_status == 1
    assert result.message == "virtio_gpu_init: only 1 virtio-gpu device can be created."


def test_gpu_problems_per_release() -> None:
    none, two = VirtioGpu(), VirtioGpu((GpuFullscreen(), GpuFullscreen(1)))
    assert none.render_config() == ""
    assert none.problems(get_release("3.0")) == []
    assert none.problems(get_release("3.2"))[0][0] == "virtio-gpu.screens"
    assert [p[0] for p in two.problems(get_release("3.0"))] == [
        "virtio-gpu.screens", "virtio-gpu.monitor"]
    small = VirtioGpu((GpuWindow(100, 100),)).problems(get_release("3.3"))
    assert "clips" in small[0][2]
    zero = VirtioGpu((GpuWindow(0, 600),)).problems(get_release("3.3"))
    assert "1024x768" in zero[0][2]


def test_gpu_model_limits() -> None:
    with pytest.raises(ConfigError):
        VirtioGpu((GpuFullscreen(),) * 3)
    with pytest.raises(ConfigError):
        GpuWindow(2**31, 1)
    with pytest.raises(ConfigError):
        GpuFullscreen(-(2**31) - 1)


@pytest.mark.parametrize("version", GPU_RELEASES)
def test_gpu_argv_round_trip(version: str) -> None:
    vm = parse(argv(version, "5,virtio-gpu,geometry=1280x720+0+0"), version)
    assert vm.devices[1].device == VirtioGpu((GpuWindow(1280, 720, 0, 0),))
    assert parse(render(vm, version), version) == vm


# --- virtio-i2c ------------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("config", "adapters"), [
    (None, ()),
    ("2", (I2cAdapter(2),)),
    ("0:1c", (I2cAdapter(0, (I2cClient(0x1C),)),)),
    ("0:1c@cam1:1d", (I2cAdapter(0, (I2cClient(0x1C, "cam1"), I2cClient(0x1D))),)),
    ("0:1c@cam1:1d@hdac,6:50@default", (
        I2cAdapter(0, (I2cClient(0x1C, "cam1"), I2cClient(0x1D, "hdac"))),
        I2cAdapter(6, (I2cClient(0x50, "default"),)))),
    ("1:1c@cam2", (I2cAdapter(1, (I2cClient(0x1C, "cam2"),)),)),
])
def test_i2c_fields(version: str, config: str | None, adapters: tuple[I2cAdapter, ...]) -> None:
    device, warnings = read(VirtioI2c, config, version)
    assert device == VirtioI2c(adapters)
    assert warnings == []
    assert device.render_config() == config
    round_trips(device, version)
    assert device.problems(get_release(version)) == []
    assert device.files() == [FileRef("virtio-i2c.bus", f"/dev/i2c-{a.bus}", "host")
                              for a in adapters]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("config", "rendered"), [
    ("2:9c", "2:1c"),  # addresses are masked to 7 bits
    ("2:0x1c", "2:1c"),  # strtol base 16 takes 0x
    (":2:1c", "2:1c"),  # a ':' is skipped before every number
    ("2 1c", "2:1c"),  # strtol skips white space
    ("0:1c@cam1::1d", "0:1c@cam1:1d"),
    ("0:1c@cam1:", "0:1c@cam1"),  # a trailing ':' after a node is fine...
])
def test_i2c_lenient_spellings(version: str, config: str, rendered: str) -> None:
    device, warnings = read(VirtioI2c, config, version)
    assert device.render_config() == rendered
    assert f"virtio-i2c: acrn-dm reads '{config}' as '{rendered}'" in texts(warnings)
    round_trips(device, version)


FAILS = [
    # (config, lines before "failed to parse parameters", what %s shows)
    ("", [], ""),
    ("0:1c:", [], "0:1c:"),  # ... but not after an address
    ("0:1c,", [], "0:1c"),  # the empty adapter has no bus; strsep cut the string at ','
    ("0:1c,,1:1d", [], "0:1c"),
    ("x", [], "x"),
    ("-1:1c", [], "-1:1c"),
    ("0:-1", [], "0:-1"),
    ("0:1cz", [], "0:1cz"),
    ("0:1c@cam1:zz", [], "0:1c@cam1"),  # strsep also cut at the ':' after the node
    ("0:1c:9c", ["client addr 0x1c repeat, not allowed."], "0:1c:9c"),
    (",".join(str(b) for b in range(17)), ["too many adapter, only support 16 "], "0"),
    ("0" + ":1" * 130, ["too many devices, only support 128 "], "0" + ":1" * 130),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("config", "before", "shown"), FAILS)
def test_i2c_parse_failures(version: str, config: str, before: list[str], shown: str) -> None:
    err = init_error(VirtioI2c, config, version)
    assert texts(err.lines) == [*(f"virtio_i2c: {x}" for x in before),
                                f"virtio_i2c: failed to parse parameters {shown} "]
    result = check(argv(version, f"5,virtio-i2c,{config}"), version)
    assert result.exit_status == 1
    assert result.message == err.lines[0].text
    assert result.stream == "stdout"


@pytest.mark.parametrize("version", VERSIONS)
def test_i2c_repeat_across_adapters(version: str) -> None:
    err = init_error(VirtioI2c, "0:1c:1d,1:1e:1d", version)
    assert texts(err.lines) == ["virtio_i2c: client addr 1d repeat, not support!"]


@pytest.mark.parametrize("version", VERSIONS)
def test_i2c_129_clients_pass_the_off_by_one(version: str) -> None:
    config = "0" + ":0" * 129  # address 0 may repeat: acrn-dm never enables it
    device, warnings = read(VirtioI2c, config, version)
    assert len(device.adapters[0].clients) == 129
    assert any("ignores it" in t for t in texts(warnings))
    problems = device.problems(get_release(version))
    assert problems[0][0] == "virtio-i2c.clients"


@pytest.mark.parametrize("version", VERSIONS)
def test_i2c_unknown_node_warns(version: str) -> None:
    device, warnings = read(VirtioI2c, "0:1c@foo", version)
    assert device.adapters[0].clients[0] == I2cClient(0x1C, "foo")
    assert "virtio_i2c: cannot find acpi node info for foo " in texts(warnings)
    assert device.problems(get_release(version))[0][0] == "virtio-i2c.node"
    long, warnings = read(VirtioI2c, "0:1c@" + "n" * 25, version)
    assert long.adapters[0].clients[0].node == "n" * 19


@pytest.mark.parametrize("version", VERSIONS)
def test_i2c_check_accepts(version: str) -> None:
    result = check(argv(version, "5,virtio-i2c,0:1c@cam1,6:50"), version)
    assert result.exit_status is None
    assert result.vm is not None
    assert parse(render(result.vm, version), version) == result.vm


def test_i2c_model_limits() -> None:
    for make in (lambda: I2cClient(0x80), lambda: I2cClient(1, "a:b"),
                 lambda: I2cClient(1, "x" * 20), lambda: I2cAdapter(-1),
                 lambda: I2cAdapter(0, (I2cClient(1), I2cClient(1))),
                 lambda: VirtioI2c((I2cAdapter(0, (I2cClient(1),)),
                                    I2cAdapter(1, (I2cClient(1),)))),
                 lambda: VirtioI2c(tuple(I2cAdapter(b) for b in range(17)))):
        with pytest.raises(ConfigError):
            make()
    assert I2cAdapter(0, (I2cClient(0), I2cClient(0))).clients[0].acpi_node == "default"
    assert VirtioI2c().render_config() is None


# --- virtio-gpio -----------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("config", "chips"), [
    ("@gpiochip0{1}", (GpioChip("gpiochip0", (GpioLine(1),)),)),
    ("@gpiochip0{1:2=reset:LED1=led}@gpiochip1{30}", (
        GpioChip("gpiochip0", (GpioLine(1), GpioLine(2, "reset"), GpioLine("LED1", "led"))),
        GpioChip("gpiochip1", (GpioLine(30),)))),
    ("@gpiochip0{}@gpiochip1{5}", (GpioChip("gpiochip0"), GpioChip("gpiochip1", (GpioLine(5),)))),
    ("@gpiochip0{1=a,b}", (GpioChip("gpiochip0", (GpioLine(1, "a,b"),)),)),  # no ',' split
    ("@gpiochip0{1=}", (GpioChip("gpiochip0", (GpioLine(1, ""),)),)),
])
def test_gpio_fields(version: str, config: str, chips: tuple[GpioChip, ...]) -> None:
    device, warnings = read(VirtioGpio, config, version)
    assert device == VirtioGpio(chips)
    assert warnings == []
    assert device.render_config() == config
    round_trips(device, version)
    assert device.files() == [FileRef("virtio-gpio.chip", c.path, "host") for c in chips]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("config", "rendered"), [
    ("gpiochip0{1}", "@gpiochip0{1}"),  # the first '@' may be left out
    ("@@gpiochip0{1}@", "@gpiochip0{1}"),  # empty parts are skipped
    ("@gpiochip0{::1::}", "@gpiochip0{1}"),
    ("@gpiochip0{1}tail", "@gpiochip0{1}"),
    ("@gpiochip0{1", "@gpiochip0{1}"),
    ("@gpiochip0{3abc}", "@gpiochip0{3}"),  # strtol: trailing text ignored
    ("@gpiochip0{007}", "@gpiochip0{7}"),
    ("@gpiochip1@gpiochip0{1}", "@gpiochip0{1}"),  # no '{': ignored
    ("@{1}@gpiochip0{2}", "@gpiochip0{2}"),  # no chip name: ignored
])
def test_gpio_lenient_spellings(version: str, config: str, rendered: str) -> None:
    device, _ = read(VirtioGpio, config, version)
    assert device.render_config() == rendered
    round_trips(device, version)


@pytest.mark.parametrize("version", GPIO_LOGGED)
def test_gpio_skipped_lines_print(version: str) -> None:
    device, warnings = read(VirtioGpio, "@gpiochip0{1:-1:_x:1}", version)
    assert device == VirtioGpio((GpioChip("gpiochip0", (GpioLine(1),)),))
    assert texts(warnings) == [
        "the -1 line has not been found in gpiochip0 chip",
        "the _x line has not been found in gpiochip0 chip",
        "ioctl GPIO_GET_LINEHANDLE_IOCTL error Device or resource busy",
    ]


@pytest.mark.parametrize("version", GPIO_SILENT)
def test_gpio_v16_is_silent(version: str) -> None:
    _, warnings = read(VirtioGpio, "@gpiochip0{1:-1}", version)
    assert all("silent in acrn-dm" in t for t in texts(warnings))
    assert init_error(VirtioGpio, None, version).lines == ()
    assert init_error(VirtioGpio, "@gpiochip0{}", version).lines == ()
    result = check(argv(version, "5,virtio-gpio"), version)
    assert result.exit_status == 1
    assert result.message == "pci virtio-gpio init failed"


@pytest.mark.parametrize("version", GPIO_LOGGED)
def test_gpio_failures(version: str) -> None:
    assert texts(init_error(VirtioGpio, None, version).lines) == [
        "virtio gpio: needs gpio information"]
    assert texts(init_error(VirtioGpio, "@gpiochip0{}", version).lines) == [
        "virtio gpio: failed to initialize gpio"]
    assert texts(init_error(VirtioGpio, "@gpiochip0{-1}", version).lines) == [
        "the -1 line has not been found in gpiochip0 chip",
        "virtio gpio: failed to initialize gpio"]
    for config, message in ((None, "virtio gpio: needs gpio information"),
                            ("gpiochip0", "virtio gpio: failed to initialize gpio")):
        slot = "5,virtio-gpio" if config is None else f"5,virtio-gpio,{config}"
        result = check(argv(version, slot), version)
        assert result.exit_status == 1
        assert result.message == message
        assert result.stream == "stdout"


@pytest.mark.parametrize("version", GPIO_LOGGED)
def test_gpio_limits(version: str) -> None:
    nine = "".join(f"@gpiochip{i}{{1}}" for i in range(9))
    device, warnings = read(VirtioGpio, nine, version)
    assert len(device.chips) == 8
    assert "gpio chips or lines reach max, cn 8, ln 8" in texts(warnings)
    lines = ":".join(str(i) for i in range(70))
    device, warnings = read(VirtioGpio, f"@gpiochip0{{{lines}}}@gpiochip1{{1}}", version)
    assert device.nlines == 64 and len(device.chips) == 1
    assert texts(warnings) == ["Virtual gpio lines reach max:64",
                               "gpio chips or lines reach max, cn 1, ln 64"]


@pytest.mark.parametrize("version", VERSIONS)
def test_gpio_check_and_argv_round_trip(version: str) -> None:
    result = check(argv(version, "5,virtio-gpio,@gpiochip0{1:2=x}"), version)
    assert result.exit_status is None and result.vm is not None
    assert parse(render(result.vm, version), version) == result.vm


def test_gpio_model_limits() -> None:
    for make in (lambda: GpioLine(-1), lambda: GpioLine("_x"), lambda: GpioLine("a:b"),
                 lambda: GpioLine("a" * 32), lambda: GpioLine(1, "v" * 32),
                 lambda: GpioChip(""), lambda: GpioChip("a{b"),
                 lambda: VirtioGpio((GpioChip("c"),)),
                 lambda: VirtioGpio((GpioChip("c", (GpioLine(1), GpioLine(1))),)),
                 lambda: VirtioGpio(tuple(GpioChip(f"c{i}", (GpioLine(1),))
                                          for i in range(9)))):
        with pytest.raises(ConfigError):
            make()
