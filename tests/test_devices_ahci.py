"""ahci / ahci-hd / ahci-cd: the model against v1.6..v3.3 devicemodel/hw/pci/ahci.c and
hw/block_if.c."""

from __future__ import annotations

from pathlib import Path

import pytest

from acrnkit.argv.check import CheckResult, check
from acrnkit.argv.host import LocalHost
from acrnkit.errors import ConfigError
from acrnkit.model.devices.ahci import MAX_PORTS, Ahci, AhciPort
from acrnkit.model.devices.base import DeviceInitError, FileRef, Line, ParseContext
from acrnkit.model.devices.virtio_blk import Discard, SectorSize
from acrnkit.releases.profile import get_release
from acrnkit.releases.versions import VERSIONS

EMULS = ("ahci", "ahci-hd", "ahci-cd")
V33 = [v for v in VERSIONS if get_release(v).has("blk.v33_options")]
PRE_V33 = [v for v in VERSIONS if not get_release(v).has("blk.v33_options")]


def parse(config: str | None, version: str, emul: str = "ahci") -> tuple[Ahci, ParseContext]:
    ctx = ParseContext(get_release(version), 4, 0)
    return Ahci.parse_config(emul, config, ctx), ctx


def reject(config: str | None, version: str, emul: str = "ahci") -> DeviceInitError:
    with pytest.raises(DeviceInitError) as info:
        parse(config, version, emul)
    return info.value


def argv(version: str, slot: str) -> list[str]:
    out = ["-s", "0:0,hostbridge", "-s", slot, "-k", "/k"]
    if get_release(version).long_for("cpu_affinity"):
        out += ["--cpu_affinity", "1"]
    return [*out, "vm1"]


def init_lines(result: CheckResult) -> tuple[Line, ...]:
    """The output without the notices printed while the options are parsed (-k's
    ``SW_LOAD: get kernel path``)."""
    return tuple(line for line in result.output if not line.text.startswith("SW_LOAD: get "))


def roundtrip(model: Ahci, version: str) -> None:
    again, _ = parse(model.render_config(), version, model.emul)
    assert again == model


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("emul", EMULS)
def test_no_config_is_an_empty_controller(version: str, emul: str) -> None:
    model, _ = parse(None, version, emul)
    assert model == Ahci(emul) and model.render_config() is None
    roundtrip(model, version)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("emul", "cdrom"), [("ahci", False), ("ahci-hd", False),
                                             ("ahci-cd", True)])
def test_first_port_type_comes_from_the_emulation(version: str, emul: str, cdrom: bool) -> None:
    model, _ = parse("/img/a.img", version, emul)
    assert model.ports == (AhciPort("/img/a.img", cdrom=cdrom),)
    assert model.render_config() == "/img/a.img"
    roundtrip(model, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_hd_and_cd_ports(version: str) -> None:
    model, _ = parse("hd:/a.img,cd:/b.iso,hd:/c.img", version)
    assert model.ports == (AhciPort("/a.img"), AhciPort("/b.iso", cdrom=True),
                           AhciPort("/c.img"))
    assert model.render_config() == "/a.img,cd:/b.iso,hd:/c.img"
    roundtrip(model, version)
    assert model.files() == [FileRef("ahci.port[0].path", "/a.img", "blk"),
                             FileRef("ahci.port[1].path", "/b.iso", "blk"),
                             FileRef("ahci.port[2].path", "/c.img", "blk")]


@pytest.mark.parametrize("version", VERSIONS)
def test_prefix_sets_type_of_following_ports(version: str) -> None:
    # "cd:" is remembered; the separator ",hd:" then sets it back.
    model, _ = parse("cd:/a.iso,ro,hd:/b.img", version, "ahci-hd")
    assert model.ports == (AhciPort("/a.iso", cdrom=True, ro=True), AhciPort("/b.img"))
    assert model.render_config() == "cd:/a.iso,ro,hd:/b.img"
    roundtrip(model, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_blockif_options_per_port(version: str) -> None:
    model, _ = parse("hd:/a.img,writeback,ro,discard=8:2:1,sectorsize=512/4096,"
                     "range=0/1024,hd:/b.img,writethru,discard", version)
    assert model.ports == (
        AhciPort("/a.img", writeback=True, ro=True, discard=Discard(8, 2, 1),
                 sectorsize=SectorSize(512, 4096), range=(0, 1024)),
        AhciPort("/b.img", writeback=False, discard=True))
    roundtrip(model, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_invalid_device_option(version: str) -> None:
    err = reject("hd:/a.img,hd:/b.img,cache=none", version)
    assert err.field == "ahci.port[1].option"
    assert err.lines == (Line('Invalid device option "cache=none"'),)
    result = check(argv(version, "4,ahci,hd:/a.img,hd:/b.img,cache=none"), version)
    # pci_ahci_init() returns 1: "pci ahci init failed", no "Unable to init vdev"
    out = init_lines(result)
    assert out[:2] == (Line('Invalid device option "cache=none"'), Line("pci ahci init failed"))
    assert not any("Unable to init vdev" in line.text for line in out)
    if get_release(version).has("ahci.missing_ok"):  # 1.6, 2.7 run the VM anyway
        assert result.exit_status is None and len(out) == 2
    else:  # 3.x: SIGSEGV in acpi_build (observed on v3.2)
        assert result.exit_status == 1 and result.fatal is not None and result.fatal.crash
        assert out[2].stream == "stderr" and out[2].text.startswith("acrnkit: ")
        assert len(out) == 3


@pytest.mark.parametrize("version", VERSIONS)
def test_bad_sector_size(version: str) -> None:
    err = reject("/a.img,sectorsize=1000", version)
    assert err.field == "ahci.port[0].sectorsize"
    assert err.lines == (Line("Invalid sector size 1000/1000"),)


@pytest.mark.parametrize("version", V33)
def test_v33_blockif_options(version: str) -> None:
    model, _ = parse("/a.img,nocache,no_bst_block,aio=io_uring", version)
    assert model.ports == (AhciPort("/a.img", nocache=True, no_bst_block=True,
                                    aio="io_uring"),)
    roundtrip(model, version)
    assert model.problems(get_release(version)) == []
    err = reject("/a.img,aio=posix", version)
    assert err.lines == (
        Line('Invalid aio option, only support threads or io_uring "posix"'),)


@pytest.mark.parametrize("version", PRE_V33)
@pytest.mark.parametrize("option", ["nocache", "no_bst_block", "aio=threads"])
def test_v33_blockif_options_invalid_before_3_3(version: str, option: str) -> None:
    err = reject(f"/a.img,{option}", version)
    assert err.lines == (Line(f'Invalid device option "{option}"'),)
    model = Ahci("ahci", (AhciPort("/a.img", nocache=True),))
    assert model.problems(get_release(version))[0][0] == "ahci.port[0].nocache"


@pytest.mark.parametrize("version", VERSIONS)
def test_empty_ports_keep_their_number(version: str) -> None:
    model, _ = parse("hd:,hd:/b.img,cd:", version)
    assert model.ports == (None, AhciPort("/b.img"), None)
    roundtrip(model, version)
    leading, _ = parse(",hd:/b.img", version)
    assert leading.ports == (None, AhciPort("/b.img"))
    assert leading.render_config() == ",hd:/b.img"
    roundtrip(leading, version)
    empty, _ = parse("", version)
    assert empty.ports == (None,)
    roundtrip(empty, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_port_with_options_but_no_path(version: str) -> None:
    err = reject("hd:,ro", version)
    if version == "1.6":  # warn(): stderr, with the errno text
        assert err.lines == (Line("acrn-dm: Could not open backing file: : No such file or "
                                  "directory", "stderr"),)
    else:  # pr_err() without a newline: "pci ahci init failed" runs on
        assert err.lines == (Line("Could not open backing file: ", end=""),)
        result = check(argv(version, "4,ahci,hd:,ro"), version)
        text = "".join(line.text + line.end for line in init_lines(result))
        assert text.startswith("Could not open backing file: pci ahci init failed\n")


@pytest.mark.parametrize("version", VERSIONS)
def test_at_most_32_ports(version: str) -> None:
    config = ",".join(f"hd:/d{i}.img" for i in range(MAX_PORTS + 2))
    model, ctx = parse(config, version)
    assert len(model.ports) == MAX_PORTS
    assert model.ports[-1] == AhciPort(f"/d{MAX_PORTS - 1}.img")
    assert ctx.warnings and "ignores" in ctx.warnings[0][1].text
    with pytest.raises(ConfigError):
        Ahci("ahci", tuple(AhciPort(f"/d{i}") for i in range(MAX_PORTS + 1)))


@pytest.mark.parametrize("version", VERSIONS)
def test_path_that_looks_like_a_prefix(version: str) -> None:
    model = Ahci("ahci", (AhciPort("hd:x.img"),))
    assert model.render_config() == "hd:hd:x.img"
    roundtrip(model, version)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("emul", EMULS)
def test_through_check(version: str, emul: str) -> None:
    result = check(argv(version, f"4,{emul},hd:/a.img,cd:/b.iso"), version)
    assert result.exit_status is None, result.diagnostics
    assert result.vm is not None
    assert result.vm.devices[1].device == Ahci(
        emul, (AhciPort("/a.img"), AhciPort("/b.iso", cdrom=True)))


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"emul": "ahci-x"}, "ahci.emul"),
])
def test_unrepresentable_controller(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        Ahci(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"path": "/a,b"}, "ahci.path"),
    ({"path": ""}, "ahci.path"),
    ({"path": "/a", "aio": "posix"}, "ahci.aio"),
    ({"path": "/a", "range": (0, 0)}, "ahci.range"),
])
def test_unrepresentable_port(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        AhciPort(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("emul", EMULS)
def test_missing_backing_file_runs_on(version: str, emul: str, tmp_path: Path) -> None:
    kernel = tmp_path / "k"
    kernel.write_bytes(b"k" * 4096)
    gone = tmp_path / "gone.img"
    args = [a if a != "/k" else str(kernel) for a in argv(version, f"4,{emul},hd:{gone}")]
    result = check(args, version, LocalHost())
    out = init_lines(result)
    text = "".join(line.text + line.end for line in out if line.stream == "stdout")
    if version == "1.6":  # block_if.c warn(): stderr, then init_pci's pr_err on stdout
        assert out[0] == Line(f"acrn-dm: Could not open backing file: {gone}: No such "
                                        "file or directory", "stderr")
        assert text == f"pci {emul} init failed\n"
    else:  # pr_err without "\n" (v3.2: "Could not open backing file: /x.imgpci ahci init ...")
        assert text == f"Could not open backing file: {gone}pci {emul} init failed\n"
    if get_release(version).has("ahci.missing_ok"):
        assert result.exit_status is None
    else:
        assert result.exit_status == 1 and result.fatal is not None and result.fatal.crash
        assert out[-1].stream == "stderr" and "SIGSEGV in acpi_build" in out[-1].text


@pytest.mark.parametrize("version", VERSIONS)
def test_ahci_failure_stops_device_init(version: str, tmp_path: Path) -> None:
    """init_pci() initialises nothing after the failed AHCI controller: a broken virtio-blk in a
    later slot says nothing; one in an earlier slot fails first, as usual."""
    kernel = tmp_path / "k"
    kernel.write_bytes(b"k" * 4096)
    base = [a if a != "/k" else str(kernel) for a in argv(version, "4,ahci,hd:/gone.img")]
    later = check([*base[:-1], "-s", "5,virtio-blk,/gone2.img", "vm1"], version, LocalHost())
    assert not any("virtio-blk" in line.text for line in init_lines(later))
    earlier = check([*base[:-1], "-s", "3,virtio-blk,/gone2.img", "vm1"], version, LocalHost())
    # errno is open()'s ENOENT
    assert earlier.exit_status == 1 and earlier.output[-1] == Line("Unable to init vdev (2)")
    assert later.output != earlier.output
    assert not any("pci ahci" in line.text for line in earlier.output)


@pytest.mark.parametrize("version", [v for v in VERSIONS
                                     if not get_release(v).has("ahci.missing_ok")])
def test_later_failure_after_ahci_ends_in_a_double_free(version: str, tmp_path: Path) -> None:
    """v3.2: after the AHCI failure, a failing MP table or ACPI build tears the VM down and
    deinit_pci() frees the devices init_pci() already freed: glibc aborts."""
    kernel = tmp_path / "k"
    kernel.write_bytes(b"k" * 4096)
    args = ["-s", "0:0,hostbridge", "-s", "4,ahci,hd:/gone.img", "-k", str(kernel), "vm1"]
    result = check(args, version, LocalHost())
    assert [line.text for line in init_lines(result)] == [
        "Could not open backing file: /gone.img", "pci ahci init failed",
        "mpt_build_proc_entries,Err: Invalid guest_pcpu_bitmask.",
        "basl_fwrite_madt,Err: Invalid guest_pcpu_bitmask.",
        "acpi_build failed, error=-1",
        "free(): double free detected in tcache 2",
        result.output[-1].text]
    assert result.output[-1].text.startswith("acrnkit: ") and result.fatal is not None
    assert result.exit_status == 1 and result.fatal.crash
