"""The release tables: what each profile accepts, read as data."""

from __future__ import annotations

import pytest

from acrnkit import get_release
from acrnkit.errors import UnknownReleaseError
from acrnkit.model.devices.base import MODULE_OF
from acrnkit.releases.emulations import EmulSupport
from acrnkit.releases.options import Support
from acrnkit.releases.versions import VERSIONS, normalize_version, version_key


@pytest.mark.parametrize(("text", "key"), [("3.2", "3.2"), ("v3.2", "3.2"), ("3.2.0", "3.2"),
                                           ("V1.6", "1.6")])
def test_version_spellings(text: str, key: str) -> None:
    assert normalize_version(text) == key


@pytest.mark.parametrize("text", ["3.1", "4.0", "latest", "", "3.2.1"])
def test_unknown_versions(text: str) -> None:
    with pytest.raises(UnknownReleaseError) as err:
        normalize_version(text)
    assert err.value.field == "acrn_version" and "1.6, 2.7, 3.0, 3.2, 3.3" in str(err.value)


def test_versions_sort() -> None:
    assert sorted(VERSIONS, key=version_key) == list(VERSIONS)


@pytest.mark.parametrize(("key", "cells"), [
    ("acpi", {v: Support.OK for v in VERSIONS}),
    ("uuid", {"1.6": Support.OK, "2.7": Support.USAGE, "3.0": Support.USAGE,
              "3.2": Support.USAGE, "3.3": Support.USAGE}),
    ("virtio_msix", {"1.6": Support.OK, "2.7": Support.OK}),
    ("virtio_msi", {"3.0": Support.OK, "3.2": Support.OK, "3.3": Support.OK}),
    ("iasl", {"3.2": Support.OK, "3.3": Support.OK}),
    ("gvtargs", {"1.6": Support.OK, "2.7": Support.OK, "3.0": Support.OBSOLETE,
                 "3.2": Support.OBSOLETE, "3.3": Support.OBSOLETE}),
    ("pincpu", {"1.6": Support.USAGE}),
    ("cpu_affinity", {"2.7": Support.OK, "3.0": Support.OK, "3.2": Support.OK,
                      "3.3": Support.OK}),
])
def test_option_support_columns(key: str, cells: dict[str, Support]) -> None:
    got = {v: get_release(v).option(key) for v in VERSIONS if get_release(v).option(key)}
    assert got == cells


def test_emulation_counts_match_the_digest() -> None:
    # acrn-dm-cli.md §3: 28 classes in v1.6, 29 in v2.x, 31 from v3.0
    counts = {v: len(get_release(v).emulations) for v in VERSIONS}
    assert counts == {"1.6": 28, "2.7": 29, "3.0": 31, "3.2": 31, "3.3": 31}


def test_obsolete_devices_from_3_0() -> None:
    for v in ("3.0", "3.2", "3.3"):
        rejected = {e for e, s in get_release(v).emulations.items()
                    if s is EmulSupport.OBSOLETE_REJECTED}
        assert rejected == {"pci-gvt", "npk", "virtio-hdcp", "virtio-coreu"}
    assert all(s is EmulSupport.OK for s in get_release("2.7").emulations.values())


def test_every_emulation_has_a_model_module() -> None:
    every = set().union(*(get_release(v).emulations for v in VERSIONS))
    assert every == set(MODULE_OF)


@pytest.mark.parametrize(("feature", "versions"), [
    ("net.tap_keyword", ("3.0", "3.2", "3.3")),
    ("blk.iothread", ("3.2", "3.3")),
    ("blk.v33_options", ("3.3",)),
    ("lpc.com3_5", ("3.3",)),
    ("cpu_affinity.ranges", ("2.7",)),
])
def test_features(feature: str, versions: tuple[str, ...]) -> None:
    assert tuple(v for v in VERSIONS if get_release(v).has(feature)) == versions


def test_name_limits() -> None:
    assert {v: get_release(v).name_max for v in VERSIONS} == {
        "1.6": 127, "2.7": 15, "3.0": 15, "3.2": 15, "3.3": 15}


def test_long_option_tables() -> None:
    assert len(get_release("1.6").longs) == 30
    assert len(get_release("2.7").longs) == 33
    assert len(get_release("3.0").longs) == 34
    assert len(get_release("3.3").longs) == 35
