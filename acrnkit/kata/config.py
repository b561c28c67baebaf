"""Kata Containers' ACRN device model, as Python values.

Every rule here comes from kata-containers ``src/runtime/virtcontainers/acrn_arch_base.go`` at
commit cdaaf708 (the last ``main`` tree with ACRN; its argv code is unchanged since bdf20b5d26).
The Go code is not copied: each class states the behaviour and this module re-implements it.

Python names map to Go names one to one. Each dataclass field carries the Go field name and the Go
type in its metadata (``go_name`` / ``go_type``), so the JSON reader and the documentation have a
single source; :func:`go_fields` returns the mapping.

=================  ==============================================================
Python             Go (``package virtcontainers``)
=================  ==============================================================
BridgeDevice       BridgeDevice{Emul, Config, Function}
LPCDevice          LPCDevice{Emul, Function}
ConsoleDevice      ConsoleDevice{Name, Path, Backend, PortType}
VSOCKDevice        VSOCKDevice{ContextID uint64}
NetDevice          NetDevice{Type, IFName, MACAddress}
BlockDevice        BlockDevice{FilePath, Index}
Kernel             Kernel{Path, ImagePath, Params}
Memory             Memory{Size}
KataConfig         Config{Devices, Path, CtlPath, Name, ApicID, Kernel, Memory, ACPIVirt}
``valid()``        ``Valid() bool``
``acrn_params(s)`` ``AcrnParams(slot int, config *Config) []string`` (config is never used)
=================  ==============================================================

``acrn_params`` behaves like Go's ``AcrnParams``: it renders even an invalid device. Only
:func:`acrnkit.kata.launch.launch_argv` filters on ``valid()``, as ``appendDevices`` does.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Protocol

# --- Constants (kata-containers acrn_arch_base.go @cdaaf708) -------------------------------------

#: ``acrnHostBridge``: the only Emul a BridgeDevice may have.
ACRN_HOST_BRIDGE = "hostbridge"
#: ``acrnLPCDev``: the only Emul an LPCDevice may have.
ACRN_LPC_DEV = "lpc"
#: The third element LPCDevice renders: Go joins "-l" and "com1,stdio" with "" into ONE element.
LPC_UART_ARG = "-lcom1,stdio"

# ConsoleDeviceBackend values. Quirk: ``Stdio`` is "console", not "stdio", so the ``case "stdio"``
# branch of ConsoleDevice.AcrnParams can never be reached (a "stdio" backend fails Valid()) and a
# "console" backend renders no backend text at all.
SOCKET = "socket"
STDIO = "console"
FILE = "file"
TTY = "tty"
PTY = "pty"
#: The backends ConsoleDevice.Valid() accepts, in the order Go tests them.
CONSOLE_BACKENDS: tuple[str, ...] = (TTY, PTY, STDIO, SOCKET, FILE)

# BEPortType values (Go ``iota``): SerialBE = 0, ConsoleBE = 1 (ConsoleBE prepends "@").
SERIAL_BE = 0
CONSOLE_BE = 1

# NetDeviceType values.
TAP = "tap"
MACVTAP = "macvtap"

#: ``MinimalGuestCID`` and ``MaxGuestCID`` (1<<32 - 1): VSOCKDevice.Valid() bounds, inclusive.
MINIMAL_GUEST_CID = 3
MAX_GUEST_CID = (1 << 32) - 1


def _go(name: str, go_type: str) -> dict[str, str]:
    return {"go_name": name, "go_type": go_type}


def go_fields(cls: type) -> dict[str, tuple[str, str]]:
    """Map each Python field of a dataclass in this module to ``(Go field name, Go type)``."""
    out: dict[str, tuple[str, str]] = {}
    for f in dataclasses.fields(cls):
        out[f.name] = (str(f.metadata["go_name"]), str(f.metadata["go_type"]))
    return out


class Device(Protocol):
    """Go's ``Device`` interface: ``Valid() bool`` and ``AcrnParams(slot, config) []string``.

    ``invalid_reason()`` is an acrnkit addition: ``None`` when valid, else which check of Go's
    ``Valid()`` failed (first failing check, in Go's order).
    """

    def valid(self) -> bool: ...

    def invalid_reason(self) -> str | None: ...

    def acrn_params(self, slot: int) -> list[str]: ...


# --- Devices -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BridgeDevice:
    """``BridgeDevice``. Valid iff ``Function == 0 && Emul == "hostbridge"``.

    Renders ``-s <slot>:<Function>,<Emul>``. ``Config`` is never used.
    """

    emul: str = field(default="", metadata=_go("Emul", "string"))
    config: str = field(default="", metadata=_go("Config", "string"))
    function: int = field(default=0, metadata=_go("Function", "int"))

    def invalid_reason(self) -> str | None:
        if self.function != 0:
            return f"Function is {self.function}; BridgeDevice.Valid() requires 0"
        if self.emul != ACRN_HOST_BRIDGE:
            return f"Emul is {self.emul!r}; BridgeDevice.Valid() requires 'hostbridge'"
        return None

    def valid(self) -> bool:
        return self.invalid_reason() is None

    def acrn_params(self, slot: int) -> list[str]:
        return ["-s", f"{slot}:{self.function},{self.emul}"]


@dataclass(frozen=True)
class LPCDevice:
    """``LPCDevice``. Valid iff ``Emul == "lpc"`` (Function is not checked).

    Renders three elements: ``-s``, ``<slot>:<Function>,<Emul>`` and the single element
    ``-lcom1,stdio`` (Go joins "-l" and "com1,stdio" with "").
    """

    emul: str = field(default="", metadata=_go("Emul", "string"))
    function: int = field(default=0, metadata=_go("Function", "int"))

    def invalid_reason(self) -> str | None:
        if self.emul != ACRN_LPC_DEV:
            return f"Emul is {self.emul!r}; LPCDevice.Valid() requires 'lpc'"
        return None

    def valid(self) -> bool:
        return self.invalid_reason() is None

    def acrn_params(self, slot: int) -> list[str]:
        return ["-s", f"{slot}:{self.function},{self.emul}", LPC_UART_ARG]


@dataclass(frozen=True)
class ConsoleDevice:
    """``ConsoleDevice``: a virtio-console port.

    Valid iff Backend is one of tty/pty/console/socket/file, PortType is SerialBE (0) or
    ConsoleBE (1), and Path is not empty (Path is required even for pty, which ignores it).

    Renders ``-s <slot>,virtio-console,`` + ``@`` for ConsoleBE + the backend part:
    pty ``pty:pty_port``; tty ``tty:tty_port=<Path>``; socket ``socket:<Name>=<Path>``;
    file ``file:file_port=<Path>``; "stdio" ``stdio:stdio_port`` (unreachable through
    launch, see :data:`STDIO`); anything else (notably "console") adds nothing.
    """

    name: str = field(default="", metadata=_go("Name", "string"))
    path: str = field(default="", metadata=_go("Path", "string"))
    backend: str = field(default="", metadata=_go("Backend", "ConsoleDeviceBackend"))
    port_type: int = field(default=SERIAL_BE, metadata=_go("PortType", "BEPortType"))

    def invalid_reason(self) -> str | None:
        if self.backend not in CONSOLE_BACKENDS:
            hint = ""
            if self.backend == "stdio":
                hint = " (the Stdio constant is 'console', so 'stdio' never passes Valid())"
            return (f"Backend is {self.backend!r}; ConsoleDevice.Valid() requires one of "
                    f"tty, pty, console, socket, file{hint}")
        if self.port_type not in (SERIAL_BE, CONSOLE_BE):
            return (f"PortType is {self.port_type}; ConsoleDevice.Valid() requires "
                    "SerialBE (0) or ConsoleBE (1)")
        if self.path == "":
            return "Path is empty; ConsoleDevice.Valid() requires a Path for every backend"
        return None

    def valid(self) -> bool:
        return self.invalid_reason() is None

    def acrn_params(self, slot: int) -> list[str]:
        text = f"{slot},virtio-console,"
        if self.port_type == CONSOLE_BE:
            text += "@"
        if self.backend == "pty":
            text += "pty:pty_port"
        elif self.backend == "tty":
            text += f"tty:tty_port={self.path}"
        elif self.backend == "socket":
            text += f"socket:{self.name}={self.path}"
        elif self.backend == "file":
            text += f"file:file_port={self.path}"
        elif self.backend == "stdio":
            text += "stdio:stdio_port"
        # Any other backend ("console" included) adds nothing: Go's ``default: // do nothing``.
        return ["-s", text]


@dataclass(frozen=True)
class VSOCKDevice:
    """``VSOCKDevice``. Valid iff ``3 <= ContextID <= 4294967295``.

    Renders ``-s <slot>,vhost-vsock,cid=<uint32(ContextID)>``.
    """

    context_id: int = field(default=0, metadata=_go("ContextID", "uint64"))

    def invalid_reason(self) -> str | None:
        if self.context_id < MINIMAL_GUEST_CID or self.context_id > MAX_GUEST_CID:
            return (f"ContextID is {self.context_id}; VSOCKDevice.Valid() requires "
                    f"{MINIMAL_GUEST_CID}..{MAX_GUEST_CID}")
        return None

    def valid(self) -> bool:
        return self.invalid_reason() is None

    def acrn_params(self, slot: int) -> list[str]:
        # Go prints uint32(ContextID): a truncation that Valid() makes a no-op.
        return ["-s", f"{slot},vhost-vsock,cid={self.context_id & 0xFFFFFFFF}"]


@dataclass(frozen=True)
class NetDevice:
    """``NetDevice``. Valid iff IFName and MACAddress are not empty and Type is tap or macvtap.

    Renders ``-s <slot>,virtio-net,<IFName>,mac=<MACAddress>`` for both tap and macvtap. The MAC is
    printed exactly as given: Kata neither validates nor normalises it.
    """

    type: str = field(default="", metadata=_go("Type", "NetDeviceType"))
    ifname: str = field(default="", metadata=_go("IFName", "string"))
    mac_address: str = field(default="", metadata=_go("MACAddress", "string"))

    def invalid_reason(self) -> str | None:
        if self.ifname == "":
            return "IFName is empty; NetDevice.Valid() requires it"
        if self.mac_address == "":
            return "MACAddress is empty; NetDevice.Valid() requires it"
        if self.type not in (TAP, MACVTAP):
            return f"Type is {self.type!r}; NetDevice.Valid() requires 'tap' or 'macvtap'"
        return None

    def valid(self) -> bool:
        return self.invalid_reason() is None

    def acrn_netdev_param(self) -> list[str]:
        """Go's exported ``AcrnNetdevParam()``: ``[IFName, ",mac=<MAC>"]`` for tap and macvtap,
        ``[IFName]`` for any other type (unreachable through launch because of Valid())."""
        if self.type in (TAP, MACVTAP):
            return [self.ifname, f",mac={self.mac_address}"]
        return [self.ifname]

    def acrn_params(self, slot: int) -> list[str]:
        return ["-s", f"{slot},virtio-net,{''.join(self.acrn_netdev_param())}"]


@dataclass(frozen=True)
class BlockDevice:
    """``BlockDevice``. Valid iff FilePath is not empty.

    Renders ``-s <slot>,virtio-blk,<FilePath>``. Go's AcrnParams also records the slot in the
    package-global ``AcrnBlkdDevSlot[Index]`` (or logs "Invalid index device" when Index > 8);
    acrnkit does that in :func:`acrnkit.kata.launch.launch_argv`, per configuration.
    """

    file_path: str = field(default="", metadata=_go("FilePath", "string"))
    index: int = field(default=0, metadata=_go("Index", "int"))

    def invalid_reason(self) -> str | None:
        if self.file_path == "":
            return "FilePath is empty; BlockDevice.Valid() requires it"
        return None

    def valid(self) -> bool:
        return self.invalid_reason() is None

    def acrn_params(self, slot: int) -> list[str]:
        return ["-s", f"{slot},virtio-blk,{self.file_path}"]


#: The six device types, by Go type name (the JSON ``"type"`` discriminator).
DEVICE_TYPES: dict[str, type[Any]] = {
    "BridgeDevice": BridgeDevice,
    "LPCDevice": LPCDevice,
    "ConsoleDevice": ConsoleDevice,
    "VSOCKDevice": VSOCKDevice,
    "NetDevice": NetDevice,
    "BlockDevice": BlockDevice,
}


# --- Config --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kernel:
    """``Kernel``: ``-k <Path>``, then ``-B <Params>`` only when Path is set. ImagePath: unused."""

    path: str = field(default="", metadata=_go("Path", "string"))
    image_path: str = field(default="", metadata=_go("ImagePath", "string"))
    params: str = field(default="", metadata=_go("Params", "string"))


@dataclass(frozen=True)
class Memory:
    """``Memory``: ``-m <Size>`` when Size is not empty (Kata writes ``"%dM"``)."""

    size: str = field(default="", metadata=_go("Size", "string"))


@dataclass(frozen=True)
class KataConfig:
    """Go's ``Config`` (the unexported ``acrnParams`` accumulator is not modelled).

    ``path`` is the acrn-dm binary (Go's LaunchCustomAcrn uses "acrn-dm" from PATH when empty);
    ``ctl_path`` is carried but unused by launch, as in Go.
    """

    devices: tuple[Device, ...] = field(default=(), metadata=_go("Devices", "[]Device"))
    path: str = field(default="", metadata=_go("Path", "string"))
    ctl_path: str = field(default="", metadata=_go("CtlPath", "string"))
    name: str = field(default="", metadata=_go("Name", "string"))
    apic_id: str = field(default="", metadata=_go("ApicID", "string"))
    kernel: Kernel = field(default=Kernel(), metadata=_go("Kernel", "Kernel"))
    memory: Memory = field(default=Memory(), metadata=_go("Memory", "Memory"))
    acpi_virt: bool = field(default=False, metadata=_go("ACPIVirt", "bool"))
