"""ivshmem: the model against v2.7..v3.3 devicemodel/hw/pci/ivshmem.c."""

from __future__ import annotations

import pytest

from acrnkit.argv.check import check
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import DeviceInitError, Line, ParseContext
from acrnkit.model.devices.ivshmem import Ivshmem
from acrnkit.releases.emulations import EmulSupport
from acrnkit.releases.profile import get_release
from acrnkit.releases.versions import VERSIONS

HAS_IVSHMEM = [v for v in VERSIONS if get_release(v).emulations.get("ivshmem") == EmulSupport.OK]
NO_IVSHMEM = [v for v in VERSIONS if v not in HAS_IVSHMEM]
REGION = [v for v in HAS_IVSHMEM if get_release(v).has("ivshmem.region_id")]
NO_REGION = [v for v in HAS_IVSHMEM if not get_release(v).has("ivshmem.region_id")]
SIZE_MSG = ("Invalid shared memory size {}, the size range is [2MB,512MB], the unit is "
            "megabyte and the value must be a power of 2")


def parse(config: str | None, version: str) -> tuple[Ivshmem, ParseContext]:
    ctx = ParseContext(get_release(version), 6, 0)
    return Ivshmem.parse_config("ivshmem", config, ctx), ctx


def reject(config: str | None, version: str) -> DeviceInitError:
    with pytest.raises(DeviceInitError) as info:
        parse(config, version)
    return info.value


def argv(version: str, config: str) -> list[str]:
    out = ["-s", "0:0,hostbridge", "-s", f"6,ivshmem,{config}", "-k", "/k"]
    if get_release(version).long_for("cpu_affinity"):
        out += ["--cpu_affinity", "1"]
    return [*out, "vm1"]


def roundtrip(model: Ivshmem, version: str) -> None:
    again, _ = parse(model.render_config(), version)
    assert again == model


@pytest.mark.parametrize("version", NO_IVSHMEM)
def test_unknown_device_on_1_6(version: str) -> None:
    result = check(argv(version, "dm:/shm,2"), version)
    assert result.exit_status == 1
    assert result.message == 'pci slot 6:0: unknown device "ivshmem"'


@pytest.mark.parametrize("version", HAS_IVSHMEM)
@pytest.mark.parametrize(("config", "land", "name", "size"), [
    ("dm:/vm_shm,2", "dm", "vm_shm", 2),
    ("hv:/shm_region_0,256", "hv", "shm_region_0", 256),
    ("dm://lead,512", "dm", "/lead", 512),  # shm_open skips leading slashes
])
def test_valid_configs(version: str, config: str, land: str, name: str, size: int) -> None:
    model, ctx = parse(config, version)
    assert (model.land, model.name, model.size_mb, model.region_id) == (land, name, size, None)
    assert ctx.warnings == []
    assert model.render_config() == config
    roundtrip(model, version)
    result = check(argv(version, config), version)
    assert result.exit_status is None, result.diagnostics
    assert result.vm is not None and result.vm.devices[1].device == model


@pytest.mark.parametrize("version", HAS_IVSHMEM)
def test_no_config_crashes(version: str) -> None:
    err = reject(None, version)
    assert err.lines[0].stream == "stderr" and "crashes" in err.lines[0].text


@pytest.mark.parametrize("version", HAS_IVSHMEM)
@pytest.mark.parametrize("name", ["shm,2", "/dev/shm/x,2", "HV:/x,2", "dm:x,2", "hv/x,2"])
def test_bad_prefix(version: str, name: str) -> None:
    err = reject(name, version)
    assert err.lines == (Line("the ivshmem memory prefix name is incorrect"),)
    result = check(argv(version, name), version)
    assert result.exit_status == 1
    assert result.message == "the ivshmem memory prefix name is incorrect"
    assert result.stream == "stdout"


@pytest.mark.parametrize("version", HAS_IVSHMEM)
@pytest.mark.parametrize(("config", "shown"), [
    ("dm:/x", "(null)"),
    ("dm:/x,abc", "abc"),
    ("dm:/x,", ""),
])
def test_size_must_be_a_number(version: str, config: str, shown: str) -> None:
    err = reject(config, version)
    assert err.lines == (Line(f"the shared memory size is incorrect, {shown}"),)


@pytest.mark.parametrize("version", HAS_IVSHMEM)
@pytest.mark.parametrize(("size", "shown"), [
    (1, 1), (3, 3), (0, 0), (1024, 1024), (768, 768), (4096, 0)])
def test_size_range_and_power_of_two(version: str, size: int, shown: int) -> None:
    err = reject(f"dm:/x,{size}", version)
    assert err.lines == (Line(SIZE_MSG.format(shown)),)
    result = check(argv(version, f"dm:/x,{size}"), version)
    assert result.exit_status == 1 and result.message == SIZE_MSG.format(shown)


@pytest.mark.parametrize("version", HAS_IVSHMEM)
@pytest.mark.parametrize("size", [2, 4, 8, 16, 32, 64, 128, 256, 512])
def test_every_valid_size(version: str, size: int) -> None:
    assert parse(f"hv:/r,{size}", version)[0].size_mb == size


@pytest.mark.parametrize("version", HAS_IVSHMEM)
def test_size_wraps_in_32_bits(version: str) -> None:
    # 4098 MB * 0x100000 overflows uint32_t to 2 MB, which passes the check.
    model, ctx = parse("dm:/x,4098", version)
    assert model.size_mb == 2 and ctx.warnings


@pytest.mark.parametrize("version", HAS_IVSHMEM)
@pytest.mark.parametrize("name", ["", "a/b", ".", ".."])
def test_dm_name_refused_by_shm_open(version: str, name: str) -> None:
    err = reject(f"dm:/{name},2", version)
    assert err.lines == (Line(f"failed to get {name} status, error Invalid argument"),)


@pytest.mark.parametrize("version", HAS_IVSHMEM)
def test_hv_name_may_contain_slashes(version: str) -> None:
    model, _ = parse("hv:/a/b,2", version)
    assert model.name == "a/b"
    roundtrip(model, version)


@pytest.mark.parametrize("version", REGION)
def test_region_id_on_3_3(version: str) -> None:
    model, ctx = parse("hv:/shm_region_0,2,5", version)
    assert model == Ivshmem("hv", "shm_region_0", 2, 5)
    assert ctx.warnings == []
    roundtrip(model, version)
    assert model.problems(get_release(version)) == []


@pytest.mark.parametrize("version", REGION)
def test_bad_region_id_warns_and_uses_zero(version: str) -> None:
    model, ctx = parse("dm:/x,2,abc", version)
    assert model.region_id == 0
    assert ctx.warnings == [("ivshmem.region_id",
                             Line("shared memory region ID is incorrect, abc, 0 will used."))]


@pytest.mark.parametrize("version", REGION)
def test_region_id_is_16_bit(version: str) -> None:
    model, ctx = parse("dm:/x,2,65537", version)
    assert model.region_id == 1 and ctx.warnings


@pytest.mark.parametrize("version", REGION)
def test_size_token_ends_at_comma_on_3_3(version: str) -> None:
    err = reject("dm:/x,,2", version)
    assert err.lines == (Line("the shared memory size is incorrect, "),)


@pytest.mark.parametrize("version", NO_REGION)
def test_region_id_is_ignored_before_3_3(version: str) -> None:
    model, ctx = parse("hv:/shm_region_0,2,5", version)
    assert model == Ivshmem("hv", "shm_region_0", 2, 5)  # kept so the argv round-trips
    assert ctx.warnings and "ignores the region id" in ctx.warnings[0][1].text
    roundtrip(model, version)
    assert model.problems(get_release(version))[0][0] == "ivshmem.region_id"


@pytest.mark.parametrize("version", NO_REGION)
def test_junk_after_size_is_ignored_before_3_3(version: str) -> None:
    model, ctx = parse("dm:/x,2,abc", version)
    assert model == Ivshmem("dm", "x", 2)
    assert ctx.warnings


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"land": "xx", "name": "a", "size_mb": 2}, "ivshmem.land"),
    ({"land": "dm", "name": "", "size_mb": 2}, "ivshmem.name"),
    ({"land": "dm", "name": "a,b", "size_mb": 2}, "ivshmem.name"),
    ({"land": "dm", "name": "a/b", "size_mb": 2}, "ivshmem.name"),
    ({"land": "dm", "name": "a", "size_mb": 3}, "ivshmem.size_mb"),
    ({"land": "dm", "name": "a", "size_mb": 1024}, "ivshmem.size_mb"),
    ({"land": "hv", "name": "a", "size_mb": 2, "region_id": 65536}, "ivshmem.region_id"),
])
def test_unrepresentable_values(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        Ivshmem(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


@pytest.mark.parametrize("version", HAS_IVSHMEM)
def test_long_hv_name_is_flagged(version: str) -> None:
    problems = Ivshmem("hv", "r" * 40, 2).problems(get_release(version))
    assert any(f == "ivshmem.name" for f, _, _ in problems)
