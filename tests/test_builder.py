"""VMBuilder: slot allocation, strictness per release, and one-line errors naming the field."""

from __future__ import annotations

import pytest

from acrnkit import (
    Bdf,
    ConfigError,
    ConsolePort,
    MemSize,
    ValidationError,
    VhostVsock,
    VirtioBlk,
    VirtioConsole,
    VirtioNet,
    VMBuilder,
    check,
    parse,
)
from acrnkit.model.slots import SlotAllocator


def base(version: str = "3.2") -> VMBuilder:
    return VMBuilder("vm1", version).memory("2G").cpu_affinity(1).kernel("/k", "console=ttyS0")


def test_automatic_slots_skip_reserved_and_used() -> None:
    builder = base().add(VirtioBlk("/a"), slot=4)
    for _ in range(3):
        builder.add(VirtioBlk("nodisk"))
    builder.add(VirtioBlk("/b"))
    slots = [d.bdf.slot for d in builder.build().devices]
    assert slots == [0, 4, 1, 3, 5, 6]  # 0 = hostbridge, 2 is reserved, 4 was claimed


def test_custom_reserved_set() -> None:
    builder = VMBuilder("vm1", "3.2", reserved={1, 2, 3}).cpu_affinity(1).kernel("/k")
    builder.add(VirtioBlk("/a"))
    assert builder.build().devices[-1].bdf.slot == 4


def test_explicit_slot_collision_is_an_error() -> None:
    builder = base().add(VirtioBlk("/a"), slot=5)
    with pytest.raises(ConfigError) as err:
        builder.add(VirtioBlk("/b"), slot=5)
    assert err.value.field == "pci.slot"


def test_allocator_runs_out() -> None:
    alloc = SlotAllocator(reserved=set(range(31)))
    assert alloc.next() == Bdf(0, 31, 0)
    with pytest.raises(ConfigError, match="no free PCI slot"):
        alloc.next()


def test_argv_renders_and_validates() -> None:
    argv = base().add(VirtioNet("tap0", mac="02:00:00:00:00:01")).argv()
    assert argv == ["-m", "2G", "-s", "0:0,hostbridge", "-s", "1,virtio-net,tap=tap0,"
                    "mac=02:00:00:00:00:01", "--cpu_affinity", "1", "-k", "/k", "-B",
                    "console=ttyS0", "vm1"]
    assert check(argv, "3.2").ok
    assert parse(argv, "3.2") == base().add(VirtioNet("tap0", mac="02:00:00:00:00:01")).build()


@pytest.mark.parametrize(("make", "field"), [
    (lambda: VirtioBlk("/a,b.img"), "virtio-blk.path"),
    (lambda: VirtioNet("tap0", mac="01:00:5e:00:00:01"), "virtio-net.mac"),
    (lambda: VirtioNet("tap0", mac="00:00:00:00:00:00"), "virtio-net.mac"),
    (lambda: VirtioNet("tap0", mac="zz:00:00:00:00:01"), "virtio-net.mac"),
    (lambda: VhostVsock(2), "vhost-vsock.cid"),
    (lambda: VhostVsock(0xFFFFFFFF), "vhost-vsock.cid"),
    (lambda: VirtioConsole((ConsolePort("socket", "c0", "/a,b"),)), "virtio-console.path"),
    (lambda: VirtioConsole((ConsolePort("serial", "c0", "/a"),)), "virtio-console.backend"),
    (lambda: MemSize(2048, "b"), "memsize"),
])
def test_unrepresentable_values_name_the_field(make: object, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        make()  # type: ignore[operator]
    assert err.value.field == field
    assert "\n" not in str(err.value)
    assert field in str(err.value)


def test_tap_name_over_15_bytes_is_refused() -> None:
    builder = base().add(VirtioNet("tap0123456789abc"))
    with pytest.raises(ConfigError) as err:
        builder.build()
    assert "virtio-net.ifname" in err.value.field
    assert "IFNAMSIZ" in err.value.reason


def test_old_net_syntax_refused_on_3x_but_built_on_2_7() -> None:
    with pytest.raises(ConfigError, match="opens no tap"):
        base("3.2").add(VirtioNet("tap0", keyword=False)).build()
    built = VMBuilder("vm1", "2.7").cpu_affinity(1).kernel("/k").add(
        VirtioNet("tap0", keyword=False)).argv()
    assert "1,virtio-net,tap0" in built


def test_device_missing_in_release_is_refused() -> None:
    with pytest.raises(ConfigError, match="has no such emulation"):
        VMBuilder("vm1", "2.7").add(VhostVsock(3))


def test_release_validation_errors_carry_diagnostics() -> None:
    builder = VMBuilder("a-name-that-is-too-long", "3.2").cpu_affinity(1).kernel("/k")
    with pytest.raises(ValidationError) as err:
        builder.build()
    assert "maximum length" in str(err.value) or "allows 15" in str(err.value)
    assert err.value.diagnostics
    assert builder.build(strict=False).name == "a-name-that-is-too-long"


def test_option_missing_in_release_is_refused() -> None:
    with pytest.raises(ConfigError, match="no --cpu_affinity"):
        VMBuilder("vm1", "1.6").cpu_affinity(1).kernel("/k").build()


def test_lpc_console_adds_one_bridge() -> None:
    vm = base().lpc_console().lpc_console("com2", None).build()
    assert [d.emul for d in vm.devices].count("lpc") == 1
    assert [p.render() for p in vm.lpc] == ["com1,stdio", "com2"]


def test_set_rejects_unknown_options() -> None:
    with pytest.raises(ConfigError) as err:
        base().set(nonsense=True)
    assert err.value.field == "option"
