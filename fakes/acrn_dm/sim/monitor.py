"""The DM side of the manager socket: acrn-dm's ``monitor.c`` handlers over a list of vm_ops.

Source: ``devicemodel/core/monitor.c`` at v1.6 .. v3.3 and the ``monitor_register_vm_ops``
callers. acrn-dm keeps a list of ``monitor_vm_ops``; each handler sums the return values of the
ops that implement its callback, and answers ``err = -1`` after ``pr_err("No handler for
id:%u\\r\\n")`` when none does. The ops registered, in acrn-dm's order:

* the power-notify channel's (``guest_pm_notify_init``): ``power_button`` (stop, suspend: both
  press the guest's ACPI power button), ``pm-vuart`` (stop: asks the guest's life-cycle manager
  to shut down; 1.x/2.x) or ``ioc`` (stop, suspend, resume; 1.x/2.x with ``-i``). With no
  ``--pm_notify_channel`` there is none, so a graceful STOP and SUSPEND answer -1;
* ``PMC_VM_OPs`` (``monitor_init``): resume (``vm_resume``: state back to RUNNING) and query
  (the suspend mode);
* ``virtio_blk_rescan`` (the first virtio-blk's init): rescan.

``DM_STOP`` with ``force`` sets POWEROFF and answers 0 without asking any op (up to 3.2 not for
an ``--rtvm`` VM, which goes through the ops). PAUSE and CONTINUE (1.x) have no op anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from acrnkit.argv.host import LocalHost
from acrnkit.launch.mngr import MngrMessage
from acrnkit.model.devices.base import DeviceInitError, ParseContext
from acrnkit.model.devices.virtio_blk import VirtioBlk
from acrnkit.releases.manager import manager_profile

from .dmlog import DmLog
from .guest import Guest
from .spec import DiskSpec, GuestSpec

POWEROFF = 3
SUSPEND = 4
RUNNING = 0

#: Releases whose handle_stop ignores ``force`` for an RTVM (``force && !is_rtvm``).
_FORCE_SPARES_RTVM = frozenset({"1.6", "2.7", "3.0", "3.2"})


class DmControl(Protocol):
    """What the handlers may do to the fake VM."""

    guest: Guest
    state: int

    def set_state(self, func: str, new: int) -> None: ...

    def force_poweroff(self) -> None: ...


@dataclass(frozen=True)
class VmOps:
    """One ``struct monitor_vm_ops`` registration (None = callback not implemented)."""

    name: str
    stop: Callable[[], int] | None = None
    suspend: Callable[[], int] | None = None
    resume: Callable[[int], int] | None = None
    pause: Callable[[], int] | None = None
    unpause: Callable[[], int] | None = None
    query: Callable[[], int] | None = None
    rescan: Callable[[str], int] | None = None


class Monitor:
    """Answers manager messages for one fake VM; ``handle`` is a ``MngrHandler``."""

    def __init__(self, spec: GuestSpec, vm: DmControl, log: DmLog, prog: str) -> None:
        self.spec = spec
        self.vm = vm
        self.log = log
        self.prog = prog
        self.profile = manager_profile(spec.release.version)
        self.ops = self._register()

    def _register(self) -> list[VmOps]:
        ops: list[VmOps] = []
        guest = self.vm.guest

        def press() -> int:
            guest.power_button()
            return 0

        handler = self.spec.power_handler
        if handler == "power_button":
            ops.append(VmOps("power_button", stop=press, suspend=press))
        elif handler == "vuart":
            ops.append(VmOps("pm-vuart", stop=self._vuart_stop))
        elif handler == "ioc":
            ops.append(VmOps("ioc_dm", stop=press, suspend=press,
                             resume=lambda reason: 0 if reason else -1))
        ops.append(VmOps("PMC_VM_OPs", resume=self._pmc_resume, query=lambda: self.vm.state))
        if self.spec.has_virtio_blk:
            ops.append(VmOps("virtio_blk_rescan", rescan=self._rescan))
        ops.reverse()  # LIST_INSERT_HEAD: the newest registration is walked first
        return ops

    # -- the handlers ------------------------------------------------------------------------

    def handle(self, msg: MngrMessage) -> MngrMessage | None:
        name = self.profile.name_of(msg.msgid)
        handler = _HANDLERS.get(name or "")
        if handler is None:  # pragma: no cover - the server only passes known ids
            return None
        return handler(self, msg)

    def _no_handler(self, msg: MngrMessage) -> MngrMessage:
        self.log.err(f"No handler for id:{msg.msgid}\r")
        return msg.reply_err(-1)

    def _each(self, msg: MngrMessage, call: Callable[[VmOps], int | None]) -> MngrMessage:
        total, count = 0, 0
        for op in self.ops:
            value = call(op)
            if value is not None:
                total += value
                count += 1
        return msg.reply_err(total) if count else self._no_handler(msg)

    def _stop(self, msg: MngrMessage) -> MngrMessage:
        spares_rtvm = self.spec.rtvm and self.spec.release.version in _FORCE_SPARES_RTVM
        if msg.force and not spares_rtvm:
            self.vm.set_state("handle_stop", POWEROFF)
            self.vm.force_poweroff()
            return msg.reply_err(0)
        return self._each(msg, lambda op: op.stop() if op.stop else None)

    def _suspend(self, msg: MngrMessage) -> MngrMessage:
        return self._each(msg, lambda op: op.suspend() if op.suspend else None)

    def _resume(self, msg: MngrMessage) -> MngrMessage:
        reason = msg.reason
        return self._each(msg, lambda op: op.resume(reason) if op.resume else None)

    def _pause(self, msg: MngrMessage) -> MngrMessage:
        return self._each(msg, lambda op: op.pause() if op.pause else None)

    def _continue(self, msg: MngrMessage) -> MngrMessage:
        return self._each(msg, lambda op: op.unpause() if op.unpause else None)

    def _query(self, msg: MngrMessage) -> MngrMessage:
        for op in self.ops:
            if op.query is not None:
                return msg.reply_state(op.query())
        return msg.reply_state(-1)

    def _blkrescan(self, msg: MngrMessage) -> MngrMessage:
        devargs = msg.devargs
        return self._each(msg, lambda op: op.rescan(devargs) if op.rescan else None)

    # -- the ops ----------------------------------------------------------------------------

    def _pmc_resume(self, reason: int) -> int:
        was_suspended = self.vm.state == SUSPEND
        self.vm.set_state("vm_resume", RUNNING)
        if was_suspended:
            self.vm.guest.resume()
        return 0

    def _vuart_stop(self) -> int:
        self.log.info("pm-vuart stop handler called: node-index=0")
        guest = self.vm.guest
        if guest.state in ("login", "password", "shell"):
            guest.shutdown(reboot=False)  # the guest's life_mngr powers it off
        return 0

    def _rescan(self, devargs: str) -> int:
        """``vm_monitor_blkrescan`` + ``virtio_blk_rescan`` (virtio_block.c)."""
        log = self.log
        slot_text, comma, newpath = devargs.partition(",")
        if not comma:
            log.err("Slot info or path not available!", newline=False)
            return -1
        slot = _strtoi(slot_text)
        if slot is None:
            log.err("Incorrect slot, error=0xffffffff!")
            return -1
        dev = next((p for p in self.spec.pci if p.bdf.key == (0, slot, 0)), None)
        if dev is None:
            log.err(f"vdev info failed for Slot {slot}\n!", newline=False)
            return -1
        if "virtio-blk" not in dev.emul:
            log.err(f"virtio-blk only supports rescan: found {dev.emul} at slot {slot}")
            return -1
        disk = next(d for d in self.spec.disks if d.pci == dev)
        error = self._blk_rescan(disk, newpath, slot)
        if error:
            log.err("virtio-blk rescan failed!", newline=False)
        return error

    def _blk_rescan(self, disk: DiskSpec, newpath: str, slot: int) -> int:
        log = self.log
        if "nodisk" in newpath:
            log.err("no valid backend file found")
            return -1
        if self.vm.guest.disk_size(disk) or disk.path is not None:
            log.err("Replacing valid backend file not supported!")
            return -1
        log.err(f"name={disk.pci.emul}, Path={newpath}, ident={slot}:{disk.pci.bdf.func}")
        size = self._open_backing(newpath, disk.pci.bdf.slot)
        if size is None:
            log.err("Error opening backing file")
            return -1
        self.vm.guest.rescan(disk, size)
        return 0

    def _open_backing(self, newpath: str, slot: int) -> int | None:
        """``blockif_open``: the options must parse and the file must open with a good size."""
        log = self.log
        try:
            blk = VirtioBlk.parse_config("virtio-blk", newpath,
                                         ParseContext(self.spec.release, slot, 0))
        except DeviceInitError as err:
            for line in err.lines:
                log.err(line.text)
            return None
        host = LocalHost()
        size = host.size(blk.path)
        if size is None:
            if self.spec.release.has("dm.v16_messages"):  # warn(3): stderr, with the errno text
                text = f"{os.path.basename(self.prog)}: Could not open backing file: {blk.path}"
                os.write(2, f"{text}: No such file or directory\n".encode(errors="replace"))
            else:  # pr_err without a newline: the next message continues the line
                log.err(f"Could not open backing file: {blk.path}", newline=False)
            return None
        logical = blk.sectorsize.logical if blk.sectorsize is not None else 512
        if host.is_regular(blk.path) and (size < 512 or size % 512):  # DEV_BSIZE
            log.err(f"{blk.path} size not corret, should be multiple of 512")
            return None
        if blk.range is not None:
            size = blk.range[1] * logical
        return size - size % logical


def _strtoi(text: str) -> int | None:
    """``dm_strtoi(s, &end, 10, &v)``: leading blanks and sign, at least one digit."""
    stripped = text.lstrip(" \t\n\v\f\r")
    sign = ""
    if stripped[:1] in ("+", "-"):
        sign, stripped = stripped[0], stripped[1:]
    digits = ""
    for ch in stripped:
        if not ch.isdigit() or not ch.isascii():
            break
        digits += ch
    if not digits:
        return None
    return int(sign + digits)


_HANDLERS: dict[str, Callable[[Monitor, MngrMessage], MngrMessage]] = {
    "DM_STOP": Monitor._stop,
    "DM_SUSPEND": Monitor._suspend,
    "DM_RESUME": Monitor._resume,
    "DM_PAUSE": Monitor._pause,
    "DM_CONTINUE": Monitor._continue,
    "DM_QUERY": Monitor._query,
    "DM_BLKRESCAN": Monitor._blkrescan,
}
