"""passthru: the model against v1.6..v3.3 devicemodel/hw/pci/passthrough.c."""

from __future__ import annotations

import pytest

from acrnkit.argv.check import check
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import DeviceInitError, FileRef, Line, ParseContext
from acrnkit.model.devices.passthru import Passthru
from acrnkit.releases.profile import get_release
from acrnkit.releases.versions import VERSIONS

WARNX = [v for v in VERSIONS if get_release(v).has("passthru.warnx")]
PR_LOG = [v for v in VERSIONS if not get_release(v).has("passthru.warnx")]


def releases_with(feature: str) -> list[str]:
    return [v for v in VERSIONS if get_release(v).has(feature)]


def releases_without(feature: str) -> list[str]:
    return [v for v in VERSIONS if not get_release(v).has(feature)]


def parse(config: str | None, version: str) -> tuple[Passthru, ParseContext]:
    ctx = ParseContext(get_release(version), 5, 0)
    return Passthru.parse_config("passthru", config, ctx), ctx


def reject(config: str | None, version: str) -> DeviceInitError:
    with pytest.raises(DeviceInitError) as info:
        parse(config, version)
    return info.value


def expected(text: str, version: str) -> Line:
    """v1.6 prints with warnx() on stderr; later releases with pr_err/pr_warn on stdout."""
    if get_release(version).has("passthru.warnx"):
        return Line(f"acrn-dm: {text}", "stderr")
    return Line(text, "stdout")


def argv(version: str, config: str) -> list[str]:
    rel = get_release(version)
    out = ["-s", "0:0,hostbridge", "-s", f"5,passthru,{config}", "-k", "/k"]
    if rel.long_for("cpu_affinity"):
        out += ["--cpu_affinity", "1"]
    return [*out, "vm1"]


def roundtrip(model: Passthru, version: str) -> None:
    again, _ = parse(model.render_config(), version)
    assert again == model


# --- the BDF -----------------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("text", "bdf"), [
    ("0/2/0", (0, 2, 0)),
    ("00:1f.3", (0, 0x1F, 3)),
    ("a9/00/0", (0xA9, 0, 0)),
    ("3", (0, 3, 0)),  # one field is the slot
    ("1f.2", (0, 0x1F, 2)),  # two fields are slot.func
    ("0x1/0x2/0x1", (1, 2, 1)),  # strtol base 16 takes a 0x prefix
    ("1/2/3/junk", (1, 2, 3)),  # a fourth field is ignored
    ("1/2x/3", (1, 2, 3)),  # trailing junk in a field is ignored
])
def test_host_bdf_is_hex(version: str, text: str, bdf: tuple[int, int, int]) -> None:
    model, _ = parse(text, version)
    assert (model.host_bus, model.host_slot, model.host_func) == bdf
    roundtrip(model, version)


def test_render_uses_slash_hex() -> None:
    assert Passthru(0, 0x1F, 3).render_config() == "0/1f/3"
    assert Passthru(0xA9, 0x10, 0, keep_gsi=True).render_config() == "a9/10/0,keep_gsi"


@pytest.mark.parametrize("version", VERSIONS)
def test_no_config_is_empty_options(version: str) -> None:
    err = reject(None, version)
    assert err.lines == (expected("Empty passthru options", version),)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("text", ["", "zz/0/0", "0/2/", "0//0", "g"])
def test_bad_bdf(version: str, text: str) -> None:
    err = reject(f"{text},keep_gsi", version)
    assert err.field == "passthru.bdf"
    assert err.lines == (expected(f"Invalid passthru BDF options:{text}", version),)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("text", "shown"), [
    ("100/0/0", "100:0.0"),
    ("0/20/0", "0:20.0"),
    ("0/2/8", "0:2.8"),
    ("-1/2/0", "ffffffff:2.0"),
])
def test_out_of_range_bdf_is_no_physical_device(version: str, text: str, shown: str) -> None:
    err = reject(text, version)
    assert err.lines == (expected(f"No physical PCI device {shown}!", version),)


@pytest.mark.parametrize("version", VERSIONS)
def test_bad_bdf_through_check(version: str) -> None:
    result = check(argv(version, "zz"), version)
    assert result.exit_status == 1
    assert result.message == expected("Invalid passthru BDF options:zz", version).text
    assert result.stream == ("stderr" if version in WARNX else "stdout")


@pytest.mark.parametrize("version", VERSIONS)
def test_missing_host_device_lines(version: str) -> None:
    model = Passthru(0, 0x1F, 3)
    assert model.missing_device_lines(get_release(version)) == (
        expected("No physical PCI device 0:1f.3!", version),)
    assert model.files()[0] == FileRef("passthru.bdf", "/sys/bus/pci/devices/0000:00:1f.3",
                                       "host")


# --- options in every release ------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_keep_gsi_and_no_reset(version: str) -> None:
    model, ctx = parse("0/2/0,keep_gsi,no_reset", version)
    assert model == Passthru(0, 2, 0, keep_gsi=True, no_reset=True)
    assert ctx.warnings == []
    roundtrip(model, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_options_match_by_prefix(version: str) -> None:
    model, ctx = parse("0/2/0,keep_gsi_please,no_reset2", version)
    assert model == Passthru(0, 2, 0, keep_gsi=True, no_reset=True)
    assert len(ctx.warnings) == 2  # acrnkit notes that the suffix is ignored
    assert model.render_config() == "0/2/0,keep_gsi,no_reset"


@pytest.mark.parametrize("version", VERSIONS)
def test_unknown_option_only_warns(version: str) -> None:
    model, ctx = parse("0/2/0,bogus,keep_gsi", version)
    assert model.keep_gsi and model.ignored == ("bogus",)
    assert ctx.warnings == [("passthru.option",
                             expected("Invalid passthru options:bogus", version))]
    roundtrip(model, version)
    result = check(argv(version, "0/2/0,bogus"), version)
    assert result.exit_status is None
    assert any("Invalid passthru options:bogus" in d.message for d in result.warnings)


@pytest.mark.parametrize("version", VERSIONS)
def test_empty_option_token_is_unknown(version: str) -> None:
    model, ctx = parse("0/2/0,,keep_gsi", version)
    assert model.ignored == ("",)
    assert ctx.warnings[0][1] == expected("Invalid passthru options:", version)
    roundtrip(model, version)


# --- per-release options -----------------------------------------------------------------------

@pytest.mark.parametrize("version", releases_with("passthru.d3hot_vmsix"))
def test_d3hot_and_vmsix(version: str) -> None:
    model, _ = parse("0/14/0,d3hot_reset,vmsix_on_msi,2", version)
    assert model == Passthru(0, 0x14, 0, d3hot_reset=True, vmsix_on_msi=2)
    roundtrip(model, version)


@pytest.mark.parametrize("version", releases_without("passthru.d3hot_vmsix"))
def test_d3hot_and_vmsix_unknown_on_old_releases(version: str) -> None:
    model, ctx = parse("0/14/0,d3hot_reset,vmsix_on_msi,2", version)
    assert model.ignored == ("d3hot_reset", "vmsix_on_msi", "2")
    assert not model.d3hot_reset and model.vmsix_on_msi is None
    assert [w[1] for w in ctx.warnings] == [
        expected(f"Invalid passthru options:{t}", version) for t in model.ignored]
    roundtrip(model, version)
    problems = Passthru(0, 0x14, 0, d3hot_reset=True).problems(get_release(version))
    assert problems and problems[0][0] == "passthru.d3hot_reset"


@pytest.mark.parametrize("version", releases_with("passthru.d3hot_vmsix"))
@pytest.mark.parametrize("config", ["0/2/0,vmsix_on_msi", "0/2/0,vmsix_on_msi,x"])
def test_vmsix_needs_a_bar_id(version: str, config: str) -> None:
    err = reject(config, version)
    assert err.lines == (Line("faild to parse msix emulation bar id"),)
    result = check(argv(version, config), version)
    assert result.exit_status == 1
    assert result.message == "faild to parse msix emulation bar id"
    assert result.stream == "stdout"


@pytest.mark.parametrize("version", releases_with("passthru.d3hot_vmsix"))
def test_vmsix_consumes_the_next_token(version: str) -> None:
    # "keep_gsi" is read as the BAR id: not a number.
    err = reject("0/2/0,vmsix_on_msi,keep_gsi", version)
    assert err.value == "keep_gsi"


@pytest.mark.parametrize("version", releases_with("passthru.d3hot_vmsix"))
def test_vmsix_minus_one_means_unset(version: str) -> None:
    model, _ = parse("0/2/0,vmsix_on_msi,-1", version)
    assert model.vmsix_on_msi is None


@pytest.mark.parametrize("version", releases_with("pci.bar_index_check"))
@pytest.mark.parametrize(("bar", "line"), [
    (6, "pci_emul_alloc_pbar: invalid bar type 2 for PCI ROM"),
    (7, "pci_emul_alloc_pbar: invalid bar number 7 for PCI bar type"),
])
def test_vmsix_bar_index_checked_from_3_2(version: str, bar: int, line: str) -> None:
    assert reject(f"0/2/0,vmsix_on_msi,{bar}", version).lines == (Line(line),)


@pytest.mark.parametrize("version", [v for v in releases_with("passthru.d3hot_vmsix")
                                     if not get_release(v).has("pci.bar_index_check")])
def test_vmsix_bar_index_unchecked_before_3_2(version: str) -> None:
    err = reject("0/2/0,vmsix_on_msi,7", version)
    assert err.lines == ()  # undefined behaviour in acrn-dm; acrnkit refuses it


@pytest.mark.parametrize("version", releases_with("passthru.enable_ptm"))
def test_enable_ptm(version: str) -> None:
    model, ctx = parse("a9/00/0,enable_ptm", version)
    assert model == Passthru(0xA9, 0, 0, enable_ptm=True)
    assert ctx.warnings == []
    roundtrip(model, version)


@pytest.mark.parametrize("version", releases_without("passthru.enable_ptm"))
def test_enable_ptm_unknown_before_2_5(version: str) -> None:
    model, _ = parse("a9/00/0,enable_ptm", version)
    assert model.ignored == ("enable_ptm",)


@pytest.mark.parametrize("version", releases_with("passthru.romfile"))
def test_romfile(version: str) -> None:
    model, _ = parse("0/2/0,romfile=/opt/vbios.rom", version)
    assert model.romfile == "/opt/vbios.rom"
    roundtrip(model, version)
    empty, _ = parse("0/2/0,romfile=", version)
    assert empty.romfile == ""
    roundtrip(empty, version)


@pytest.mark.parametrize("version", releases_with("passthru.romfile"))
def test_romfile_path_limit(version: str) -> None:
    assert parse("0/2/0,romfile=/" + "a" * 254, version)[0].romfile == "/" + "a" * 254
    err = reject("0/2/0,romfile=/" + "a" * 255, version)
    assert err.lines == (Line("romfile path too long, max supported path length is 255"),)
    with pytest.raises(ConfigError):
        Passthru(0, 2, 0, romfile="/" + "a" * 255)


@pytest.mark.parametrize("version", releases_without("passthru.romfile"))
def test_romfile_unknown_before_3_2(version: str) -> None:
    model, _ = parse("0/2/0,romfile=/a.rom", version)
    assert model.romfile is None and model.ignored == ("romfile=/a.rom",)
    assert Passthru(0, 2, 0, romfile="/a.rom").problems(get_release(version))[0][0] == \
        "passthru.romfile"


@pytest.mark.parametrize("version", releases_with("passthru.irq_dsdt"))
def test_irq_and_dsdt(version: str) -> None:
    model, ctx = parse("0/17/0,irq=9,dsdt=/etc/dev.asl", version)
    assert model == Passthru(0, 0x17, 0, irq=9, dsdt="/etc/dev.asl")
    assert ("passthru.irq", Line("IRQ 9 might be shared by multiple devices!")) in ctx.warnings
    roundtrip(model, version)


@pytest.mark.parametrize("version", releases_with("passthru.irq_dsdt"))
def test_irq_must_be_a_number(version: str) -> None:
    err = reject("0/17/0,irq=x", version)
    assert err.lines == (Line("Input IRQ number cannnot be recognized."),)
    result = check(argv(version, "0/17/0,irq="), version)
    assert result.exit_status == 1
    assert result.message == "Input IRQ number cannnot be recognized."


@pytest.mark.parametrize("version", releases_with("passthru.irq_dsdt"))
def test_irq_out_of_range_is_wrong_phys_pin(version: str) -> None:
    err = reject("0/17/0,keep_gsi,irq=300", version)
    assert err.lines == (Line("ptdev 0/17/0 has wrong phys_pin 300, likely fail!"),)
    with pytest.raises(ConfigError):
        Passthru(0, 0x17, 0, irq=257)


@pytest.mark.parametrize("version", releases_with("passthru.irq_dsdt"))
def test_dsdt_path_limit(version: str) -> None:
    err = reject("0/2/0,dsdt=/" + "d" * 255, version)
    assert err.lines == (Line("dsdt file path too long, max supported path length is 255"),)


@pytest.mark.parametrize("version", releases_without("passthru.irq_dsdt"))
def test_irq_and_dsdt_unknown_before_3_3(version: str) -> None:
    model, _ = parse("0/17/0,irq=9,dsdt=/d", version)
    assert model.irq is None and model.dsdt is None
    assert model.ignored == ("irq=9", "dsdt=/d")
    roundtrip(model, version)


@pytest.mark.parametrize("version", releases_with("passthru.gpu"))
def test_gpu_on_1_6(version: str) -> None:
    model, ctx = parse("0/2/0,gpu", version)
    assert model == Passthru(0, 2, 0, gpu=True)
    assert ctx.warnings == []
    roundtrip(model, version)
    assert FileRef("passthru.gpu", "/sys/bus/pci/devices/0000:00:1f.0/config", "host") in \
        model.files()
    assert any("igd-lpc" in reason for _, _, reason in model.problems(get_release(version)))


@pytest.mark.parametrize("version", releases_without("passthru.gpu"))
def test_gpu_is_unknown_after_1_6(version: str) -> None:
    model, ctx = parse("0/2/0,gpu", version)
    assert not model.gpu and model.ignored == ("gpu",)
    assert ctx.warnings == [("passthru.option", Line("Invalid passthru options:gpu"))]


@pytest.mark.parametrize("version", VERSIONS)
def test_error_stops_before_later_options(version: str) -> None:
    # Options are read left to right; the first failing one decides.
    if get_release(version).has("passthru.d3hot_vmsix"):
        assert reject("100/0/0,vmsix_on_msi", version).field == "passthru.vmsix_on_msi"
    else:
        assert reject("100/0/0,vmsix_on_msi", version).field == "passthru.bdf"


# --- the model ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "field"), [
    ({"host_bus": 256, "host_slot": 0}, "passthru.bus"),
    ({"host_bus": 0, "host_slot": 32}, "passthru.slot"),
    ({"host_bus": 0, "host_slot": 0, "host_func": 8}, "passthru.func"),
    ({"host_bus": 0, "host_slot": 2, "vmsix_on_msi": 6}, "passthru.vmsix_on_msi"),
    ({"host_bus": 0, "host_slot": 2, "romfile": "/a,b"}, "passthru.romfile"),
    ({"host_bus": 0, "host_slot": 2, "dsdt": "/a,b"}, "passthru.dsdt"),
    ({"host_bus": 0, "host_slot": 2, "ignored": ("keep_gsi",)}, "passthru.ignored"),
    ({"host_bus": 0, "host_slot": 2, "ignored": ("a,b",)}, "passthru.ignored"),
])
def test_unrepresentable_values(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        Passthru(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


@pytest.mark.parametrize("version", VERSIONS)
def test_full_model_roundtrip(version: str) -> None:
    rel = get_release(version)
    model = Passthru(
        0, 0x1F, 3, keep_gsi=True, no_reset=True,
        d3hot_reset=rel.has("passthru.d3hot_vmsix"),
        vmsix_on_msi=3 if rel.has("passthru.d3hot_vmsix") else None,
        enable_ptm=rel.has("passthru.enable_ptm"),
        romfile="/r.rom" if rel.has("passthru.romfile") else None,
        irq=5 if rel.has("passthru.irq_dsdt") else None,
        dsdt="/d.asl" if rel.has("passthru.irq_dsdt") else None,
        gpu=rel.has("passthru.gpu"), ignored=("x",))
    roundtrip(model, version)
    result = check(argv(version, model.render_config()), version)
    assert result.exit_status is None, result.diagnostics
    assert result.vm is not None
    assert result.vm.devices[1].device == model


@pytest.mark.parametrize("version", VERSIONS)
def test_problems_flag_ignored_tokens(version: str) -> None:
    rel = get_release(version)
    problems = Passthru(0, 2, 0, ignored=("zzz",)).problems(rel)
    assert problems == [("passthru.ignored", "zzz", "acrn-dm ignores this token")]
