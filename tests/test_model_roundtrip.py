"""``parse(render(vm)) == vm`` for generated VMs, in every release profile."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acrnkit import (
    VM,
    Bdf,
    ConsolePort,
    CpuAffinity,
    IntrMonitor,
    LpcPort,
    MemSize,
    Ovmf,
    PciDevice,
    SimpleDevice,
    VhostVsock,
    VirtioBlk,
    VirtioConsole,
    VirtioNet,
    parse,
    render,
)
from acrnkit.model.devices.lpc import Lpc
from acrnkit.model.devices.virtio_blk import Discard, SectorSize
from acrnkit.releases.profile import get_release
from acrnkit.releases.versions import VERSIONS

NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=15).filter(
    lambda s: not s.startswith("-"))
SEGMENT = st.text("abcdefghijklmnopqrstuvwxyz0123456789_.", min_size=1, max_size=8)
PATH = st.lists(SEGMENT, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts))
MAC = st.tuples(*[st.integers(0, 255)] * 6).filter(lambda b: any(b)).map(
    lambda b: ":".join(f"{(x & 0xFE) if i == 0 else x:02x}" for i, x in enumerate(b))).filter(
    lambda m: m != "00:00:00:00:00:00")
IFNAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=15).map(
    lambda s: "tap" + s)[:1] if False else st.text(
    "abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=12).map(lambda s: "tap" + s)


def blk(version: str) -> st.SearchStrategy[VirtioBlk]:
    rel = get_release(version)
    v33 = rel.has("blk.v33_options")
    return st.builds(
        VirtioBlk,
        path=st.one_of(PATH.filter(lambda p: "nodisk" not in p), st.just("nodisk")),
        writeback=st.sampled_from([None, True, False]),
        ro=st.booleans(),
        discard=st.one_of(st.booleans(), st.builds(Discard, st.integers(0, 9999),
                                                   st.integers(0, 99), st.integers(0, 99))),
        sectorsize=st.one_of(st.none(), st.sampled_from([SectorSize(512), SectorSize(4096),
                                                         SectorSize(512, 4096)])),
        range=st.one_of(st.none(), st.tuples(st.integers(0, 1000), st.integers(1, 10 ** 6))),
        iothread=st.booleans() if rel.has("blk.iothread") else st.just(False),
        mq=st.one_of(st.none(), st.integers(1, 8)) if v33 else st.none(),
        nocache=st.booleans() if v33 else st.just(False),
        no_bst_block=st.booleans() if v33 else st.just(False),
        aio=st.sampled_from([None, "threads", "io_uring"]) if v33 else st.none(),
    ).map(lambda d: d if d.path != "nodisk" else VirtioBlk("nodisk"))


def net(version: str) -> st.SearchStrategy[VirtioNet]:
    keyword = get_release(version).has("net.tap_keyword")
    return st.builds(
        VirtioNet, ifname=IFNAME, keyword=st.just(keyword), vhost=st.booleans(),
        mac=st.one_of(st.none(), MAC),
        mac_seed=st.one_of(st.none(), SEGMENT) if keyword else st.none())


PORT = st.builds(
    ConsolePort,
    backend=st.sampled_from(["pty", "file", "socket", "tty", "PTY"]),
    name=SEGMENT, path=PATH, console=st.booleans(),
).flatmap(lambda p: st.builds(
    ConsolePort, backend=st.just(p.backend), name=st.just(p.name), path=st.just(p.path),
    console=st.just(p.console),
    socket_type=st.sampled_from([None, "server", "client"]) if p.kind == "socket"
    else st.none()))


def devices(version: str) -> st.SearchStrategy[tuple[PciDevice, ...]]:
    kinds: list[st.SearchStrategy[Any]] = [
        blk(version), net(version),
        st.builds(VirtioConsole, st.lists(PORT, min_size=1, max_size=3).map(tuple)),
        st.builds(SimpleDevice, st.sampled_from(["hostbridge", "dummy", "amd_hostbridge"])),
    ]
    if get_release(version).has("net.tap_keyword"):
        kinds.append(st.builds(VhostVsock, st.integers(3, 0xFFFFFFFE)))
    one = st.one_of(*kinds)
    slots = st.lists(st.tuples(st.integers(0, 30), st.integers(0, 7)), max_size=6,
                     unique=True)
    return slots.flatmap(lambda keys: st.tuples(*[
        st.builds(PciDevice, st.just(Bdf(0, s, f)), one,
                  st.just(False)) for s, f in keys]))


def vms(version: str) -> st.SearchStrategy[VM]:
    rel = get_release(version)
    ranges = rel.has("cpu_affinity.ranges")
    affinity = st.lists(st.integers(0, 15), min_size=1, max_size=4).map(
        lambda ids: CpuAffinity.of(*ids))
    if ranges:
        affinity = st.one_of(affinity, st.just(CpuAffinity(((1, 1), (4, 6)))))
    return st.builds(
        VM,
        name=NAME,
        memsize=st.one_of(st.none(), st.builds(MemSize, st.integers(128, 8192),
                                               st.sampled_from("MmG")).filter(
            lambda m: m.mib >= 128)),
        devices=devices(version).map(
            lambda devs: devs + (PciDevice(Bdf(0, 31, 0), Lpc()),)),
        lpc=st.lists(st.builds(LpcPort, st.sampled_from(["com1", "COM2"]),
                               st.sampled_from([None, "stdio", "/dev/pts/3", "tcp:4444"])),
                     max_size=2).map(tuple),
        kernel=st.one_of(st.none(), PATH),
        bootargs=st.one_of(st.none(), st.text(min_size=1, max_size=40)),
        ramdisk=st.one_of(st.none(), PATH),
        ovmf=st.one_of(st.none(), st.builds(Ovmf, path=PATH, write_back=st.booleans())),
        cpu_affinity=affinity if "cpu_affinity" in rel.support else st.none(),
        acpi=st.booleans(),
        enable_trusty=st.booleans(),
        windows=st.booleans(),
        debugexit=st.booleans(),
        rtvm=st.booleans(),
        virtio_poll=st.one_of(st.none(), st.integers(1, 10_000_000)),
        intr_monitor=st.one_of(st.none(), st.builds(IntrMonitor, *[st.integers(0, 9999)] * 4)),
        mac_seed=st.one_of(st.none(), SEGMENT),
    )


def _roundtrip(version: str, vm: VM) -> None:
    argv = render(vm, version)
    back = parse(argv, version)
    assert back == vm, (argv, back)
    assert render(back, version) == argv


for _version in VERSIONS:
    def _make(version: str) -> Any:
        @settings(max_examples=150, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
        @given(vm=vms(version))
        def test(vm: VM) -> None:
            _roundtrip(version, vm)
        test.__name__ = f"test_parse_render_roundtrip_{version.replace('.', '_')}"
        return test
    globals()[f"test_parse_render_roundtrip_{_version.replace('.', '_')}"] = _make(_version)
