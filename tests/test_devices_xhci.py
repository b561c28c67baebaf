"""xhci: the model against v1.6..v3.3 devicemodel/hw/pci/xhci.c and hw/usb_core.c."""

from __future__ import annotations

import pytest

from acrnkit.argv.check import check
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import DeviceInitError, FileRef, Line, ParseContext
from acrnkit.model.devices.xhci import USAGE, UsbPort, Xhci, native_num_bus
from acrnkit.releases.profile import get_release
from acrnkit.releases.versions import VERSIONS


def releases(feature: str, present: bool = True) -> list[str]:
    return [v for v in VERSIONS if get_release(v).has(feature) == present]


PRINTED = releases("xhci.uprintf_stdout")
SILENT = releases("xhci.uprintf_stdout", False)
RANGE = releases("xhci.native_range_check")
NO_RANGE = releases("xhci.native_range_check", False)


def parse(config: str | None, version: str) -> tuple[Xhci, ParseContext]:
    ctx = ParseContext(get_release(version), 7, 0)
    return Xhci.parse_config("xhci", config, ctx), ctx


def reject(config: str | None, version: str) -> DeviceInitError:
    with pytest.raises(DeviceInitError) as info:
        parse(config, version)
    return info.value


def argv(version: str, *slots: str) -> list[str]:
    out = ["-s", "0:0,hostbridge", "-k", "/k"]
    for slot in slots:
        out += ["-s", slot]
    if get_release(version).long_for("cpu_affinity"):
        out += ["--cpu_affinity", "1"]
    return [*out, "vm1"]


def roundtrip(model: Xhci, version: str) -> None:
    again, _ = parse(model.render_config(), version)
    assert again == model


def failure(rc: int, config: str | None, version: str, pre: tuple[str, ...] = ()) -> tuple[
        Line, ...]:
    """What acrn-dm prints for a fatal option error: v1.6 printf, later pr_dbg (hidden)."""
    if version in SILENT:
        return ()
    lines = [*pre, f"xHCI: fail to parse xHCI options, rc={rc}"]
    if config is not None:
        lines += [f'xHCI: error: invalid options: "{config}"', "xHCI: " + USAGE[0], *USAGE[1:]]
    lines.append(f"xHCI: pci_xhci_init fail, error={rc}")
    return tuple(Line(text) for text in lines)


@pytest.mark.parametrize("version", VERSIONS)
def test_full_config(version: str) -> None:
    model, ctx = parse("1-2,2-2:tablet:log=D:cap=apl", version)
    assert model == Xhci((UsbPort(1, 2), UsbPort(2, 2)), tablet=True, log_level="D", cap="apl")
    assert ctx.warnings == []
    assert model.render_config() == "1-2,2-2,tablet,log=D,cap=apl"
    roundtrip(model, version)
    result = check(argv(version, "7,xhci,1-2,2-2:tablet:log=D:cap=apl"), version)
    assert result.exit_status is None, result.diagnostics
    assert result.vm is not None and result.vm.devices[1].device == model


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("config", ["", ",", "::,"])
def test_empty_tokens_vanish(version: str, config: str) -> None:
    model, _ = parse(config, version)
    assert model == Xhci()
    assert model.render_config() == ""
    roundtrip(model, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_no_config_fails(version: str) -> None:
    err = reject(None, version)
    assert err.lines == failure(-1, None, version)
    result = check(argv(version, "7,xhci"), version)
    assert result.exit_status == 1
    assert result.message == ("xHCI: fail to parse xHCI options, rc=-1" if version in PRINTED
                               else "pci xhci init failed")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("config", ["mouse", "Tablet", "x-1", " 1-2", "tablet,keyboard"])
def test_unknown_token_fails_with_usage(version: str, config: str) -> None:
    err = reject(config, version)
    assert err.field == "xhci.option"
    assert err.lines == failure(-4, config, version)


@pytest.mark.parametrize("version", PRINTED)
def test_usage_text_on_1_6(version: str) -> None:
    result = check(argv(version, "7,xhci,mouse"), version)
    assert result.exit_status == 1
    texts = [line.text for line in result.output]
    assert " -s <n>,xhci,[bus1-port1,bus2-port2]:[tablet]:[log=x]:[cap=x]" in texts
    assert result.message == "xHCI: fail to parse xHCI options, rc=-4"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("config", ["1", "1-", "1-x", "1+2"])
def test_malformed_bus_port_fails(version: str, config: str) -> None:
    err = reject(config, version)
    assert err.field == "xhci.port"
    assert err.lines == failure(-3, config, version)


@pytest.mark.parametrize("version", RANGE)
def test_bus_port_range_up_to_3_2(version: str) -> None:
    top = native_num_bus(get_release(version))
    assert parse(f"{top - 1}-19", version)[0].ports == (UsbPort(top - 1, 19),)
    for config in (f"{top}-1", "1-20"):
        assert reject(config, version).lines == failure(-3, config, version)
    assert Xhci((UsbPort(top, 1),)).problems(get_release(version))


def test_v1_6_has_four_native_buses() -> None:
    assert [v for v in VERSIONS if native_num_bus(get_release(v)) == 4] == \
        releases("xhci.four_native_buses")
    assert native_num_bus(get_release("1.6")) == 4
    assert native_num_bus(get_release("3.2")) == 5


@pytest.mark.parametrize("version", NO_RANGE)
def test_no_range_check_on_3_3(version: str) -> None:
    model, _ = parse("9-25", version)
    assert model.ports == (UsbPort(9, 25),)
    assert model.problems(get_release(version)) == []
    roundtrip(model, version)


@pytest.mark.parametrize("version", PRINTED)
def test_log_level_enables_warning_lines_on_1_6(version: str) -> None:
    err = reject("log=W,1-", version)
    assert err.lines == failure(-3, "log=W,1-", version,
                                ("xHCI: pci_xhci_parse_bus_port fails, rc=-1",))


@pytest.mark.parametrize("version", VERSIONS)
def test_host_ports_are_files(version: str) -> None:
    model, _ = parse("1-2,3-4", version)
    assert model.files() == [
        FileRef("xhci.port", "/sys/bus/usb/devices/usb1/maxchild", "host"),
        FileRef("xhci.port", "/sys/bus/usb/devices/usb3/maxchild", "host")]
    assert model.missing_port_lines(get_release(version)) == failure(-3, "1-2,3-4", version)


@pytest.mark.parametrize("version", VERSIONS)
def test_bus_port_junk_and_duplicates(version: str) -> None:
    model, ctx = parse("1-2x,1-2", version)
    assert model.ports == (UsbPort(1, 2), UsbPort(1, 2))
    assert len(ctx.warnings) == 2
    assert any(reason == "given twice" for _, _, reason in model.problems(get_release(version)))
    roundtrip(model, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_tablet_must_be_exact(version: str) -> None:
    model, ctx = parse("tablet=1", version)
    assert not model.tablet
    text = ctx.warnings[0][1].text
    if version in PRINTED:
        assert text == "xHCI: fail to parse tablet, rc=-2"
    else:
        assert "no tablet" in text


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("token", "level"), [
    ("log=D", "D"), ("log=v", "v"), ("log=Debug", "D"), ("log=x", "F"), ("log=", "F"),
    ("logging=I", "I")])
def test_log_level(version: str, token: str, level: str) -> None:
    model, ctx = parse(token, version)
    assert model.log_level == level
    assert bool(ctx.warnings) == (token != f"log={level}")
    roundtrip(model, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_log_without_equals_only_warns(version: str) -> None:
    model, ctx = parse("log", version)
    assert model == Xhci()
    assert ctx.warnings == [("xhci.log_level", Line("USB: fail to set log level, rc=-2"))]


@pytest.mark.parametrize("version", VERSIONS)
def test_cap(version: str) -> None:
    assert parse("cap=apl", version)[0].cap == "apl"
    model, ctx = parse("cap=aplx", version)
    assert model.cap == "apl" and ctx.warnings
    model, ctx = parse("cap", version)
    assert model.cap is None
    assert ctx.warnings == [("xhci.cap", Line("USB: fail to set vendor capability, rc=-1"))]


@pytest.mark.parametrize("version", VERSIONS)
def test_unknown_cap_crashes(version: str) -> None:
    err = reject("cap=bxt", version)
    assert err.lines[0].stream == "stderr" and "crashes" in err.lines[0].text


@pytest.mark.parametrize("version", VERSIONS)
def test_unknown_cap_after_apl_only_warns(version: str) -> None:
    model, ctx = parse("cap=apl,cap=bxt", version)
    assert model.cap == "apl"
    assert ctx.warnings == [("xhci.cap", Line("USB: fail to set vendor capability, rc=-2"))]


@pytest.mark.parametrize("version", VERSIONS)
def test_second_xhci_is_refused(version: str) -> None:
    result = check(argv(version, "7,xhci,tablet", "8,xhci,tablet"), version)
    assert result.exit_status == 1
    assert result.message == "controller already defined"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"ports": (UsbPort(0, 1),), "log_level": "X"}, "xhci.log_level"),
    ({"log_level": "DD"}, "xhci.log_level"),
    ({"cap": "bxt"}, "xhci.cap"),
])
def test_unrepresentable_values(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        Xhci(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


@pytest.mark.parametrize(("bus", "port"), [(256, 1), (1, 256), (-1, 1)])
def test_usb_port_range(bus: int, port: int) -> None:
    with pytest.raises(ConfigError):
        UsbPort(bus, port)
