"""Kata's ``LaunchAcrn`` argv builder, byte for byte.

Source: kata-containers acrn_arch_base.go @cdaaf708, ``LaunchAcrn`` and the ``append*`` methods of
``Config``. Order of the argv:

1. ``-A`` if ACPIVirt (appendACPI);
2. ``-m <Size>`` if Size is not empty (appendMemory);
3. the devices (appendDevices): the slot counter starts at 0; a device that is not ``Valid()`` is
   skipped and consumes no slot; a valid device that would land on slot 2 (reserved for GVT-g)
   moves to slot 3 and an Info line is logged; after each device the slot is incremented;
4. ``--cpu_affinity <ApicID>`` if ApicID is not empty (appendCPUAffinity);
5. ``-k <Path>`` if the kernel path is set, then ``-B <Params>`` only if Params is also set
   (appendKernel): no kernel path means no ``-B`` either;
6. the VM name, if not empty, always last (appendName).

Deviation, documented: Go keeps the block-index-to-slot table in the package-global
``AcrnBlkdDevSlot`` (length ``AcrnBlkDevPoolSz + 1`` = 9), which survives across launches in one
process. acrnkit returns it per configuration in :attr:`KataLaunch.block_slots`, so the result for
one configuration is the same and nothing global is mutated.
"""

from __future__ import annotations

from dataclasses import dataclass

from acrnkit.errors import ConfigError
from acrnkit.kata.config import BlockDevice, Device, KataConfig

#: ``acrnGVTgReservedSlot``.
ACRN_GVTG_RESERVED_SLOT = 2
#: ``AcrnBlkDevPoolSz``: the number of "nodisk" placeholders; the slot table has one more entry.
ACRN_BLK_DEV_POOL_SZ = 8
#: Go's LaunchCustomAcrn runs this (a PATH lookup) when Config.Path is empty.
DEFAULT_PROGRAM = "acrn-dm"

#: The Info message appendDevices logs when it skips slot 2.
SLOT2_MESSAGE = "Slot 2 is assigned for GVT-g in acrn, so skipping this slot"
#: The Info message BlockDevice.AcrnParams logs for Index > AcrnBlkDevPoolSz.
INVALID_INDEX_MESSAGE = "Invalid index device"


@dataclass(frozen=True)
class SkippedDevice:
    """A device that appendDevices silently dropped because ``Valid()`` was false.

    ``position`` is its index in ``KataConfig.devices``; ``reason`` names the failing check.
    """

    position: int
    device: Device
    reason: str


@dataclass(frozen=True)
class KataLaunch:
    """What ``LaunchAcrn`` would run.

    ``argv``        the arguments, without argv[0];
    ``block_slots`` drive index (0..8) to PCI slot, 0 where no valid BlockDevice had that index;
    ``skipped``     the devices dropped for failing ``Valid()``, in order;
    ``log``         the Info lines Go logs while building the argv, as ``message[ key=value…]``
                    (logrus sorts the fields by key);
    ``program``     the binary Go executes: Config.Path, or "acrn-dm" (PATH lookup) when empty.
    """

    argv: tuple[str, ...]
    block_slots: tuple[int, ...]
    skipped: tuple[SkippedDevice, ...]
    log: tuple[str, ...]
    program: str = DEFAULT_PROGRAM

    @property
    def command(self) -> tuple[str, ...]:
        """``(program, *argv)``."""
        return (self.program, *self.argv)


def launch_argv(config: KataConfig) -> KataLaunch:
    """Build the argv of Kata's ``LaunchAcrn(config)`` without starting anything.

    Raises :class:`ConfigError` for a BlockDevice with a negative Index: Go indexes
    ``AcrnBlkdDevSlot[Index]`` with it and panics (index out of range), so there is no argv.
    """
    argv: list[str] = []
    log: list[str] = []
    skipped: list[SkippedDevice] = []
    slots = [0] * (ACRN_BLK_DEV_POOL_SZ + 1)

    # appendACPI
    if config.acpi_virt:
        argv.append("-A")
    # appendMemory
    if config.memory.size != "":
        argv += ["-m", config.memory.size]
    # appendDevices
    slot = 0
    for position, device in enumerate(config.devices):
        reason = device.invalid_reason()
        if reason is not None:
            skipped.append(SkippedDevice(position, device, reason))
            continue
        if slot == ACRN_GVTG_RESERVED_SLOT:
            slot += 1
            log.append(SLOT2_MESSAGE)
        argv += device.acrn_params(slot)
        if isinstance(device, BlockDevice):
            _record_block_slot(device, position, slot, slots, log)
        slot += 1
    # appendCPUAffinity
    if config.apic_id != "":
        argv += ["--cpu_affinity", config.apic_id]
    # appendKernel
    if config.kernel.path != "":
        argv += ["-k", config.kernel.path]
        if config.kernel.params != "":
            argv += ["-B", config.kernel.params]
    # appendName
    if config.name != "":
        argv.append(config.name)

    return KataLaunch(
        argv=tuple(argv),
        block_slots=tuple(slots),
        skipped=tuple(skipped),
        log=tuple(log),
        program=config.path or DEFAULT_PROGRAM,
    )


def _record_block_slot(
    device: BlockDevice, position: int, slot: int, slots: list[int], log: list[str]
) -> None:
    # BlockDevice.AcrnParams' side effect (kata-containers acrn_arch_base.go @cdaaf708): Index <= 8
    # records the slot; a larger Index only logs. A negative Index panics in Go.
    if device.index < 0:
        raise ConfigError(
            f"Devices[{position}].Index", device.index,
            "negative drive index: Kata's LaunchAcrn panics (AcrnBlkdDevSlot index out of range)",
        )
    if device.index <= ACRN_BLK_DEV_POOL_SZ:
        slots[device.index] = slot
    else:
        log.append(f"{INVALID_INDEX_MESSAGE} device=virtio-blk index={device.index}")
