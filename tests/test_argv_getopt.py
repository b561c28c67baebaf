"""GNU getopt_long semantics over each release's option table, with glibc's messages."""

from __future__ import annotations

import pytest

from acrnkit.argv.getopt import GetoptFailure, Opt, Positional, scan
from acrnkit.releases.profile import get_release


def events(argv: list[str], version: str = "3.2") -> tuple[list[object], list[str]]:
    pos: list[Positional] = []
    out = list(scan(argv, get_release(version), pos))
    return out, [p.value for p in pos]


def opts(argv: list[str], version: str = "3.2") -> list[tuple[str, str | None]]:
    evs, _ = events(argv, version)
    return [(e.key, e.value) for e in evs if isinstance(e, Opt)]


def test_permutation_puts_name_anywhere() -> None:
    evs, pos = events(["vm1", "-m", "2G", "--rtvm"])
    assert pos == ["vm1"]
    assert [(e.key, e.value) for e in evs if isinstance(e, Opt)] == [
        ("memsize", "2G"), ("rtvm", None)]


def test_double_dash_ends_options() -> None:
    evs, pos = events(["-m", "2G", "--", "-A", "vm1"])
    assert pos == ["-A", "vm1"]
    assert len(evs) == 1


def test_single_dash_is_a_positional() -> None:
    _, pos = events(["-", "vm1"])
    assert pos == ["-", "vm1"]


def test_long_with_equals_and_separate_value() -> None:
    assert opts(["--memsize=2G", "--cpu_affinity", "1,2"]) == [
        ("memsize", "2G"), ("cpu_affinity", "1,2")]


def test_unambiguous_prefix_is_accepted() -> None:
    assert opts(["--mem", "4G", "--cpu", "3"]) == [("memsize", "4G"), ("cpu_affinity", "3")]


def test_exact_match_beats_prefix() -> None:
    # "rtvm" is exact; nothing else starts with it, but "v" prefixes several options
    assert opts(["--rtvm"]) == [("rtvm", None)]


def test_ambiguous_prefix_lists_candidates_in_table_order() -> None:
    evs, _ = events(["--v", "vm1"])
    assert isinstance(evs[0], GetoptFailure)
    assert evs[0].message == (
        "option '--v' is ambiguous; possibilities: '--version' '--vsbl' '--virtio_poll' "
        "'--vtpm2' '--virtio_msi'")


def test_ambiguous_message_keeps_the_attached_value() -> None:
    evs, _ = events(["--vi=5"])
    assert isinstance(evs[0], GetoptFailure)
    assert evs[0].message.startswith("option '--vi=5' is ambiguous; possibilities:")


def test_clustered_and_attached_short_options() -> None:
    assert opts(["-AYm2G", "-s3,virtio-rnd"]) == [
        ("acpi", None), ("mptgen", None), ("memsize", "2G"), ("pci_slot", "3,virtio-rnd")]


def test_short_option_takes_next_element_even_if_it_looks_like_an_option() -> None:
    assert opts(["-B", "-v"]) == [("bootargs", "-v")]


def test_long_option_takes_next_element_even_if_dashdash() -> None:
    assert opts(["--bootargs", "--"]) == [("bootargs", "--")]


@pytest.mark.parametrize(("argv", "message"), [
    (["-x"], "invalid option -- 'x'"),
    (["-m"], "option requires an argument -- 'm'"),
    (["--foo"], "unrecognized option '--foo'"),
    (["--foo=1"], "unrecognized option '--foo=1'"),
    (["--rtvm=1"], "option '--rtvm' doesn't allow an argument"),
    (["--memsize"], "option '--memsize' requires an argument"),
    (["--mem"], "option '--memsize' requires an argument"),
    (["-:"], "invalid option -- ':'"),
])
def test_glibc_error_messages(argv: list[str], message: str) -> None:
    evs, _ = events(argv)
    assert isinstance(evs[-1], GetoptFailure)
    assert evs[-1].message == message


def test_scan_stops_at_the_first_failure() -> None:
    evs, _ = events(["-x", "-m", "2G"])
    assert len(evs) == 1


@pytest.mark.parametrize(("version", "known"), [
    ("1.6", True), ("2.7", True), ("3.0", False), ("3.2", False), ("3.3", False)])
def test_W_exists_only_up_to_2_7(version: str, known: bool) -> None:
    evs, _ = events(["-W", "vm"], version)
    assert isinstance(evs[0], Opt) is known


@pytest.mark.parametrize(("version", "known"), [
    ("1.6", False), ("2.7", True), ("3.0", True), ("3.2", True), ("3.3", True)])
def test_cpu_affinity_from_2_7(version: str, known: bool) -> None:
    evs, _ = events(["--cpu_affinity", "1"], version)
    assert isinstance(evs[0], Opt) is known


def test_ssram_takes_an_argument_from_3_0_only() -> None:
    evs27, pos27 = events(["--ssram", "vm1"], "2.7")
    assert isinstance(evs27[0], Opt) and evs27[0].value is None and pos27 == ["vm1"]
    evs30, pos30 = events(["--ssram", "vm1"], "3.0")
    assert isinstance(evs30[0], Opt) and evs30[0].value == "vm1" and pos30 == []
    evs27b, _ = events(["--ssram=1"], "2.7")
    assert isinstance(evs27b[0], GetoptFailure)


def test_indices_point_at_option_and_value() -> None:
    evs, _ = events(["vm", "-m", "2G", "--kernel=/k"])
    first, second = evs
    assert isinstance(first, Opt) and (first.at, first.value_index) == (1, 2)
    assert isinstance(second, Opt) and (second.at, second.value_index) == (3, 3)
