"""virtio-input, virtio-rnd, virtio-rpmb, virtio-heci, wdt-i6300esb and npk: acrn-dm's init-time
parsing per release (model fields, exact messages, round trips, and the checker's verdict)."""

from __future__ import annotations

from typing import Any

import pytest

from acrnkit import parse, render
from acrnkit.argv.check import check
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import REGISTRY, DeviceInitError, FileRef, Line, ParseContext
from acrnkit.model.devices.npk import Npk, valid_masters
from acrnkit.model.devices.virtio_heci import MeiAddress, VirtioHeci
from acrnkit.model.devices.virtio_input import VirtioInput
from acrnkit.model.devices.virtio_rnd import VirtioRnd
from acrnkit.model.devices.virtio_rpmb import VirtioRpmb
from acrnkit.model.devices.wdt import WdtI6300esb
from acrnkit.releases.profile import get_release
from acrnkit.releases.versions import VERSIONS

OLD = ("1.6", "2.7")  # releases where npk is still a device


def ctx_for(version: str) -> ParseContext:
    return ParseContext(get_release(version), slot=5)


def read(cls: Any, config: str | None, version: str) -> tuple[Any, list[Line]]:
    ctx = ctx_for(version)
    device = cls.parse_config(cls.EMULS[0], config, ctx)
    return device, [line for _, line in ctx.warnings]


def texts(lines: list[Line]) -> list[str]:
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


def test_all_emulations_are_registered() -> None:
    for name, cls in (("virtio-input", VirtioInput), ("virtio-rnd", VirtioRnd),
                      ("virtio-rpmb", VirtioRpmb), ("virtio-heci", VirtioHeci),
                      ("wdt-i6300esb", WdtI6300esb), ("npk", Npk)):
        assert REGISTRY[name][0] is cls
        emuls = cls.EMULS
        assert emuls == (name,)


# --- virtio-input ----------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("config", "evdev", "serial"), [
    ("/dev/input/event0", "/dev/input/event0", None),
    ("/dev/input/event3,kbd-1", "/dev/input/event3", "kbd-1"),
    ("/dev/input/event3,a,b", "/dev/input/event3", "a,b"),  # the serial keeps its commas
    ("/dev/input/event3,", "/dev/input/event3", ""),
])
def test_input_fields(version: str, config: str, evdev: str, serial: str | None) -> None:
    device, warnings = read(VirtioInput, config, version)
    assert device == VirtioInput(evdev, serial)
    assert (device.evdev, device.serial) == (evdev, serial)
    assert warnings == []
    assert device.render_config() == config
    round_trips(device, version)
    assert device.files() == [FileRef("virtio-input.evdev", evdev, "host")]


@pytest.mark.parametrize("version", VERSIONS)
def test_input_without_config_fails(version: str) -> None:
    err = init_error(VirtioInput, None, version)
    assert texts(list(err.lines)) == ["virtio_input_init: evdev path is NULL"]
    result = check(argv(version, "5,virtio-input"), version)
    assert result.exit_status == 1
    assert result.message == "virtio_input_init: evdev path is NULL"
    assert result.stream == "stdout"
    assert [line.text for line in result.output][-2] == "pci virtio-input init failed"


@pytest.mark.parametrize("version", VERSIONS)
def test_input_empty_path_fails_to_open(version: str) -> None:
    assert texts(list(init_error(VirtioInput, ",serial", version).lines)) == ["open  failed 2"]
    assert check(argv(version, "5,virtio-input,"), version).message == "open  failed 2"


def test_input_model_rejects_unrepresentable() -> None:
    with pytest.raises(ConfigError):
        VirtioInput("")
    with pytest.raises(ConfigError):
        VirtioInput("/dev/input/a,b")


def test_input_problems() -> None:
    assert VirtioInput("/dev/input/event0").problems(get_release("3.2")) == []
    fields = [p[0] for p in VirtioInput("/dev/sda", "x" * 200).problems(get_release("3.2"))]
    assert fields == ["virtio-input.evdev", "virtio-input.serial"]


@pytest.mark.parametrize("version", VERSIONS)
def test_input_argv_round_trip(version: str) -> None:
    args = argv(version, "5,virtio-input,/dev/input/event1,my,serial")
    vm = parse(args, version)
    assert vm.devices[1].device == VirtioInput("/dev/input/event1", "my,serial")
    assert parse(render(vm, version), version) == vm


# --- virtio-rnd ------------------------------------------------------------------------------

VBSK = "virtio_rnd: VBS-K initializing..."


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("config", "vbs_k", "notices"), [
    (None, False, 0),
    ("kernel=on", True, 1),
    ("anything=on", True, 1),
    ("=on", True, 1),
    ("kernel=onwards", True, 1),  # strncmp(.., "on", 2)
    ("kernel=off", False, 1),  # still prints the notice
    ("kernel=ON", False, 1),
    ("kernel", False, 0),
    ("a=off,b=on", True, 2),
])
def test_rnd_vbs_k(version: str, config: str | None, vbs_k: bool, notices: int) -> None:
    device, warnings = read(VirtioRnd, config, version)
    assert device == VirtioRnd(vbs_k)
    assert texts(warnings).count(VBSK) == notices
    round_trips(device, version)
    assert device.files() == [FileRef("virtio-rnd", "/dev/random", "host")]


def test_rnd_render() -> None:
    assert VirtioRnd().render_config() is None
    assert VirtioRnd(True).render_config() == "kernel=on"
    assert VirtioRnd(True).problems(get_release("2.7"))[0][0] == "virtio-rnd.vbs_k"
    assert VirtioRnd().problems(get_release("2.7")) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_rnd_check_accepts_and_warns(version: str) -> None:
    result = check(argv(version, "5,virtio-rnd,kernel=on"), version)
    assert result.exit_status is None
    assert VBSK in [d.message for d in result.warnings]
    assert result.vm is not None and result.vm.devices[1].device == VirtioRnd(True)


# --- virtio-rpmb -----------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("config", "physical", "warned"), [
    (None, False, False),
    ("physical_rpmb", True, False),
    ("physical_rpmb,x", False, True),  # the whole string is compared, NUL included
    ("PHYSICAL_RPMB", False, True),
    ("physical_rpmbx", False, True),
    ("", False, True),
])
def test_rpmb_mode(version: str, config: str | None, physical: bool, warned: bool) -> None:
    device, warnings = read(VirtioRpmb, config, version)
    assert device == VirtioRpmb(physical)
    assert bool(warnings) == warned
    assert device.render_config() == ("physical_rpmb" if physical else None)
    round_trips(device, version)
    assert device.files() == []
    assert check(argv(version, f"5,virtio-rpmb,{config}" if config is not None
                      else "5,virtio-rpmb"), version).exit_status is None


# --- virtio-heci -----------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("config", "address", "debug"), [
    (None, None, 0),
    ("00:16.0", MeiAddress(0, 0x16, 0), 0),
    ("0:16.0", MeiAddress(0, 0x16, 0), 0),
    ("16", MeiAddress(0, 0x16, 0), 0),  # one field is the slot
    ("16.1", MeiAddress(0, 0x16, 1), 0),  # two are slot.func
    ("1/2/3", MeiAddress(1, 2, 3), 0),
    ("0x16", MeiAddress(0, 0x16, 0), 0),  # strtol base 16 takes 0x
    ("foo", MeiAddress(0, 0xF, 0), 0),  # "f" is a hex digit, "oo" trailing text
    ("d3", MeiAddress(0, 0xD3, 0), 0),  # an address, not a debug level
    ("0:16.0,d3", MeiAddress(0, 0xD3, 0), 0),
    ("d3:,0:16.0", MeiAddress(0, 0x16, 0), 3),  # the func field fails: the debug branch
    ("d3:", MeiAddress(0, 0xD3, 0), 3),  # ... which leaves slot 0xd3 behind
    ("d8:,0:16.0", MeiAddress(0, 0x16, 0), 8),
    ("0:16.0,0:17.0", MeiAddress(0, 0x17, 0), 0),  # the last one counts
    ("0:16.0,xyz", None, 0),  # an invalid option resets the address
    ("0:0.0", None, 0),
])
def test_heci_fields(version: str, config: str | None, address: MeiAddress | None,
                     debug: int) -> None:
    device, _ = read(VirtioHeci, config, version)
    assert device == VirtioHeci(address, debug)
    round_trips(device, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_heci_invalid_option_warns_on_stderr(version: str) -> None:
    _, warnings = read(VirtioHeci, "xyz,0:16.0", version)
    assert Line("vmei: vmei_init: Invalid option: xyz", "stderr") in warnings
    _, warnings = read(VirtioHeci, "xyz", version)
    assert Line("vmei: vmei_init: init: fail to get mei path!", "stderr") in warnings
    result = check(argv(version, "5,virtio-heci,xyz"), version)
    assert result.exit_status is None
    assert "vmei: vmei_init: Invalid option: xyz" in [d.message for d in result.warnings]


@pytest.mark.parametrize("version", VERSIONS)
def test_heci_debug_level_above_8(version: str) -> None:
    device, warnings = read(VirtioHeci, "d9:,0:16.0,x", version)
    # acrn-dm prints opts + 1: the rest of the config after the token, from its 2nd character
    assert Line("vmei: vmei_init: init: unknown debug flag :16.0,x", "stderr") in warnings
    assert device.debug == 0
    err = init_error(VirtioHeci, "0:16.0,d9:", version)  # the last token: opts is NULL
    assert "crashes" in err.lines[-1].text and err.lines[-1].stream == "stderr"
    assert check(argv(version, "5,virtio-heci,0:16.0,d9:"), version).exit_status == 1


def test_heci_render() -> None:
    assert VirtioHeci().render_config() is None
    assert VirtioHeci(MeiAddress(0, 0x16, 0)).render_config() == "00:16.0"
    assert VirtioHeci(debug=2).render_config() == "d2:,0:0.0"
    assert VirtioHeci(MeiAddress(0, 0x16, 0), 2).render_config() == "d2:,00:16.0"
    assert VirtioHeci(MeiAddress(-1, 0, 0)).render_config() == "-1:00.0"
    round_trips(VirtioHeci(MeiAddress(-1, 0, 0)), "3.2")


def test_heci_model_limits() -> None:
    with pytest.raises(ConfigError):
        VirtioHeci(MeiAddress(0, 0, 0))
    with pytest.raises(ConfigError):
        VirtioHeci(debug=9)
    with pytest.raises(ConfigError):
        MeiAddress(2**31, 0, 0)
    rel = get_release("3.2")
    assert VirtioHeci(MeiAddress(0, 0xD3, 0)).problems(rel)[0][0] == "virtio-heci.address"
    assert VirtioHeci(MeiAddress(0, 0x16, 0)).problems(rel) == []
    assert VirtioHeci().files() == [FileRef("virtio-heci", "/dev/mei0", "host")]
    assert MeiAddress(0, 0x16, 0).sysfs_dir == "/sys/bus/pci/drivers/mei_me/0000:00:16.0/mei/"


# --- wdt-i6300esb ----------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("config", [None, "", "whatever,x"])
def test_wdt_config_is_ignored(version: str, config: str | None) -> None:
    device, warnings = read(WdtI6300esb, config, version)
    assert device == WdtI6300esb(config)
    assert warnings == []
    round_trips(device, version)
    assert bool(device.problems(get_release(version))) == (config is not None)


@pytest.mark.parametrize("version", VERSIONS)
def test_wdt_only_once(version: str) -> None:
    result = check(argv(version, "5,wdt-i6300esb", "6,wdt-i6300esb"), version)
    assert result.exit_status == 1
    assert result.message == "wdt can't be initialized twice, please check!"
    assert result.stream == "stdout"
    assert check(argv(version, "5,wdt-i6300esb"), version).exit_status is None


# --- npk -------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("config", "masters", "warned"), [
    (None, None, False),
    ("8/8", (8, 8), False),
    ("512/256", (512, 256), False),
    ("256/512", (256, 512), False),
    ("760/8", (760, 8), False),
    ("8/8junk", (8, 8), True),  # text after m_num is ignored
    (" +8/8", (8, 8), True),
    ("768/8", None, True),  # sum > 768
    ("0/8", None, True),  # < 8
    ("8/0", None, True),
    ("12/8", None, True),  # not a multiple of 8
    ("8 /8", None, True),  # '/' must follow m_off directly
    ("8", None, True),
    ("", None, True),
    ("-8/776", (2**32 - 8, 776), True),  # strtoul wraps, then the 32-bit sum wraps to 768
])
def test_npk_masters(version: str, config: str | None, masters: tuple[int, int] | None,
                     warned: bool) -> None:
    device, warnings = read(Npk, config, version)
    assert device == (Npk() if masters is None else Npk(*masters))
    assert device.masters == (masters or (256, 256))
    assert bool(warnings) == warned
    if masters is None and config is not None:
        assert "silently uses 256/256" in warnings[0].text
    round_trips(device, version)


def test_npk_model() -> None:
    assert Npk().render_config() is None
    assert Npk(512, 256).render_config() == "512/256"
    assert valid_masters(8, 760) and not valid_masters(8, 768)
    for bad in ((8, None), (0, 8), (768, 8), (12, 8), (2**32, 8)):
        with pytest.raises(ConfigError):
            Npk(*bad)
    assert Npk(2**32 - 8, 776).problems(get_release("2.7"))[0][2].startswith("m_off + m_num")
    assert Npk().files() == [FileRef("npk", "/sys/bus/pci/drivers/intel_th_pci", "host")]


@pytest.mark.parametrize("version", VERSIONS)
def test_npk_per_release(version: str) -> None:
    result = check(argv(version, "5,npk,512/256"), version)
    problems = Npk(512, 256).problems(get_release(version))
    if version in OLD:
        assert result.exit_status is None
        assert result.vm is not None and result.vm.devices[1].device == Npk(512, 256)
        assert problems == []
    else:
        assert result.exit_status == 1
        assert result.message == 'The "npk" parameter is obsolete and ignored'
        assert problems[0][2] == f"acrn-dm {version} rejects npk as obsolete"


@pytest.mark.parametrize("version", OLD)
def test_npk_bad_range_is_a_warning_not_an_error(version: str) -> None:
    result = check(argv(version, "5,npk,4/4"), version)
    assert result.exit_status is None
    assert any("256/256" in d.message for d in result.warnings)
