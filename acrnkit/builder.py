"""``VMBuilder``: a VM for one release, with slot allocation and a builder's strictness.

The builder refuses what acrn-dm would refuse and also what would silently misbehave: a tap name
that cannot be opened, the old ``virtio-net,tap0`` form on 3.x (no tap), a device the release does
not have. Every refusal is one ``ConfigError``/``ValidationError`` line naming the field.

    vm = (VMBuilder("vm1", release="3.2")
          .memory("2G").cpu_affinity(1)
          .add(VirtioBlk("/img.raw"))
          .add(VirtioNet("tap0", mac="02:00:00:00:00:01"), slot=5)
          .kernel("/boot/bzImage", "console=ttyS0")
          .build())
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING, replace
from acrnkit.argv.check import check
from acrnkit.argv.render import render
from acrnkit.errors import ConfigError, ValidationError
from acrnkit.model.devices.hostbridge import HostBridge
from acrnkit.model.devices.lpc import Lpc, LpcPort
from acrnkit.model.slots import RESERVED_SLOTS, Bdf, SlotAllocator
from acrnkit.model.values import CpuAffinity, MemSize
from acrnkit.model.vm import VM, PciDevice
from acrnkit.releases.emulations import EmulSupport
from acrnkit.releases.options import Support
from acrnkit.releases.profile import Release, get_release
from acrnkit.releases.versions import DEFAULT_VERSION

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from acrnkit.model.devices.base import Device


class VMBuilder:
    def __init__(self, name: str, release: Release | str = DEFAULT_VERSION, *,
                 reserved: Iterable[int] = RESERVED_SLOTS, hostbridge: bool = True) -> None:
        self.release = get_release(release)
        self._vm = VM(name=name)
        self._alloc = SlotAllocator(reserved)
        if hostbridge:
            self.add(HostBridge(), slot=Bdf(0, 0, 0, 2))

    @classmethod
    def from_vm(cls, vm: VM, release: Release | str = DEFAULT_VERSION, *,
                reserved: Iterable[int] = RESERVED_SLOTS) -> VMBuilder:
        """Continue from an existing VM (its devices keep their slots)."""
        builder = cls(vm.name or "", release, reserved=reserved, hostbridge=False)
        for dev in vm.devices:
            builder._alloc.claim(dev.bdf)
        builder._vm = vm
        return builder

    def add(self, device: Device, slot: int | Bdf | None = None, func: int = 0,
            *, boot: bool = False) -> VMBuilder:
        support = self.release.emulations.get(device.emul)
        if support is None:
            raise ConfigError("emul", device.emul, f"ACRN {self.release} has no such emulation")
        if support is EmulSupport.OBSOLETE_REJECTED:
            raise ConfigError("emul", device.emul, f"obsolete and rejected by ACRN {self.release}")
        if slot is None:
            bdf = self._alloc.next() if func == 0 else None
            if bdf is None:
                raise ConfigError("func", func, "give a slot for a non-zero function")
        else:
            bdf = slot if isinstance(slot, Bdf) else Bdf(0, slot, func)
            self._alloc.claim(bdf)
        self._vm = replace(self._vm, devices=self._vm.devices + (PciDevice(bdf, device, boot),))
        return self

    def lpc_console(self, port: str = "com1", backend: str | None = "stdio",
                    slot: int | Bdf | None = None) -> VMBuilder:
        """An LPC bridge (``-s N,lpc``) with a COM port; acrn-dm opens COM ports only then."""
        if not self._vm.devices_of("lpc"):
            self.add(Lpc(), slot=slot if slot is not None else Bdf(0, 1, 0, 2))
        self._vm = replace(self._vm, lpc=self._vm.lpc + (LpcPort(port, backend),))
        return self

    def memory(self, size: str | int) -> VMBuilder:
        mem = MemSize(size, "M") if isinstance(size, int) else MemSize.parse(size)
        return self.set(memsize=mem)

    def cpu_affinity(self, *ids: int) -> VMBuilder:
        return self.set(cpu_affinity=CpuAffinity.of(*ids))

    def kernel(self, path: str, bootargs: str | None = None,
               ramdisk: str | None = None) -> VMBuilder:
        return self.set(kernel=path, bootargs=bootargs, ramdisk=ramdisk)

    def set(self, **options: Any) -> VMBuilder:
        for key in options:
            if key in ("devices", "name"):
                raise ConfigError(key, options[key], "use add() / the constructor")
        try:
            self._vm = replace(self._vm, **options)
        except TypeError as err:
            raise ConfigError("option", sorted(options), str(err)) from None
        return self

    def problems(self) -> list[tuple[str, object, str]]:
        """What a careful builder refuses for this release, beyond acrn-dm's own checks."""
        rel = self.release
        out: list[tuple[str, object, str]] = []
        for dev in self._vm.devices:
            out += [(f"-s {dev.bdf}: {f}", v, r) for f, v, r in dev.device.problems(rel)
                    if not r.startswith("acrn-dm ignores")]
        defaults = VM()
        for key, support in rel.support.items():
            if support is Support.USAGE and getattr(self._vm, key, None) != getattr(
                    defaults, key, None):
                out.append((key, getattr(self._vm, key), f"acrn-dm {rel} rejects it (usage)"))
        for key in ("memsize", "cpu_affinity", "iasl", "cmd_monitor", "virtio_msi",
                    "virtio_msix", "uuid", "acpidev_pt", "mmiodev_pt", "ssram"):
            value = getattr(self._vm, key)
            if value != getattr(defaults, key) and key not in rel.support:
                out.append((key, value, f"ACRN {rel} has no --{key}"))
        return out

    def build(self, *, strict: bool = True) -> VM:
        """The VM. With ``strict`` it must pass ``check`` for the release (static host)."""
        if strict:
            problems = self.problems()
            if problems:
                field, value, reason = problems[0]
                raise ConfigError(field, value, reason)
            result = check(render(self._vm, self.release), self.release)
            if not result.ok:
                fatal = result.fatal
                assert fatal is not None
                raise ValidationError(result.diagnostics,
                                      f"ACRN {self.release} rejects this VM: {fatal}")
        return self._vm

    def argv(self, *, strict: bool = True) -> list[str]:
        return render(self.build(strict=strict), self.release)
