"""virtio-i2c (ACRN 1.6+): ``<bus>[:<addr>[@<node>]]...[,<bus>[:<addr>[@<node>]]...]...``.

Source: ``virtio_i2c_parse``, ``native_adapter_create``, ``virtio_i2c_map`` and
``virtio_i2c_init`` in v3.2 devicemodel/hw/pci/virtio/virtio_i2c.c; the parser is the same at
v1.6, v2.7, v3.0 and v3.3 (v1.6 prints with ``printf``, later tags with ``pr_err``: stdout both
ways). Every message carries the ``virtio_i2c: `` prefix.

* The config is cut at ``,`` into adapters. In each, an optional ``:`` is skipped before every
  number; the first number is the host bus (``dm_strtoi`` base 10, must be >= 0, opens
  ``/dev/i2c-<bus>``), every later one a client address (base 16, >= 0, then masked with 0x7f,
  so ``9c`` is ``1c``). ``@<node>`` after an address runs to the next ``:`` and names the ACPI
  node (``cam1``, ``cam2``, ``hdac``, ``default``; no ``@`` means ``default``; cut to 19
  characters). Any other character where a number is expected fails.
* An empty adapter (``""``, ``a,,b``, a trailing ``,``) has no bus and fails.
* No config at all is accepted: a virtio-i2c without adapters.
* Limits: ``too many adapter, only support 16 `` (a 17th adapter), ``too many devices, only
  support 128 `` (checked *before* storing, so the 129th client is still taken: one past the
  array); then ``failed to parse parameters <opts> ``. ``<opts>`` is the config as acrn-dm's
  ``strsep`` left it: cut at the first ``,`` it replaced and at the first ``:`` that ended an
  ``@node``.
* In one adapter a repeated non-zero address fails (``client addr 0x<a> repeat, not allowed.``
  then the parse message); across adapters ``client addr <a> repeat, not support!`` fails init
  without the parse message. Address 0 is never enabled: acrn-dm ignores it.
* An unknown node only warns when the DSDT is built (``cannot find acpi node info for <n> ``).

This module also holds the C number readers the other device grammars share
(:func:`c_strtol`, :func:`to_int32`, :func:`to_uint32`).
"""

from __future__ import annotations

import re

# Run-time typing here (NamedTuple, the _Fail alias): this module loads only for an argv with
# virtio-i2c, so it stays off the fake's usual start-up path.
from collections.abc import Callable
from typing import NamedTuple

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.errors import ConfigError
from acrnkit.model.ctext import number_prefix
from acrnkit.model.devices.base import DeviceInitError, FileRef, ParseContext, register
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from typing import ClassVar

#: builds the error ``parse_config`` raises: (field, value, *message lines)
_Fail = Callable[..., DeviceInitError]

PREFIX = "virtio_i2c: "
MAX_ADAPTERS = 16  # MAX_NATIVE_I2C_ADAPTER
MAX_I2C_VDEV = 128
#: ``n_client > MAX_I2C_VDEV`` is tested before a client is stored, so 129 get through.
MAX_CLIENTS = MAX_I2C_VDEV + 1
MAX_NODE_LEN = 19  # MAX_NODE_NAME_LEN 20, snprintf
NODES = ("cam1", "cam2", "hdac", "default")  # acpi_node_table
INT_MAX = 2**31 - 1

_LONG_MAX = 2**63 - 1
_LONG_MIN = -(2**63)
_ULONG_MAX = 2**64 - 1


class CNumber(NamedTuple):
    """What C ``strtol``/``strtoul`` returns: the value, where it stopped, and ERANGE."""

    value: int
    end: int
    erange: bool


def c_strtol(text: str, base: int = 10, *, unsigned: bool = False) -> CNumber | None:
    """C ``strtol(text, &end, base)`` (``strtoul`` when ``unsigned``), base 10 or 16.

    Leading C white space and a sign are taken; base 16 takes an ``0x`` prefix only when a hex
    digit follows. ``None`` when no digit is read (``end == text``). On overflow the value is
    clamped as C does and ``erange`` is set. ``strtoul`` negates a ``-`` number modulo 2**64.
    """
    found = number_prefix(text, base)  # the scan itself: acrnkit/model/ctext.py
    if found is None:
        return None
    value, i = found
    if unsigned:
        if abs(value) > _ULONG_MAX:
            return CNumber(_ULONG_MAX, i, True)
        return CNumber(value % 2**64, i, False)
    if value > _LONG_MAX:
        return CNumber(_LONG_MAX, i, True)
    if value < _LONG_MIN:
        return CNumber(_LONG_MIN, i, True)
    return CNumber(value, i, False)


def to_int32(value: int) -> int:
    """C ``(int)`` of a wider integer (two's complement truncation)."""
    return (value + 2**31) % 2**32 - 2**31


def to_uint32(value: int) -> int:
    """C ``(unsigned int)`` of a wider integer."""
    return value % 2**32


def dm_strtoi(text: str, base: int) -> tuple[int, int] | None:
    """``dm_strtoi(s, &end, base, &v)`` (devicemodel/lib/dm_string.c): (value, end) or None."""
    got = c_strtol(text, base)
    if got is None or got.erange:
        return None
    return to_int32(got.value), got.end


@dataclass(frozen=True)
class I2cClient:
    """One client: its 7-bit address and the ACPI node (None = not written = ``default``)."""

    addr: int
    node: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.addr < MAX_I2C_VDEV:
            raise ConfigError("virtio-i2c.addr", self.addr, "a 7-bit address, 0..0x7f")
        if self.node is not None:
            if re.search(r"[:,]", self.node):
                raise ConfigError("virtio-i2c.node", self.node, "':' and ',' end a node name")
            if len(self.node) > MAX_NODE_LEN:
                raise ConfigError("virtio-i2c.node", self.node,
                                  f"acrn-dm keeps only {MAX_NODE_LEN} characters")

    @property
    def acpi_node(self) -> str:
        return "default" if self.node is None else self.node

    def render(self) -> str:
        return f":{self.addr:x}" + ("" if self.node is None else f"@{self.node}")


@dataclass(frozen=True)
class I2cAdapter:
    """A host adapter ``/dev/i2c-<bus>`` and the clients passed through from it."""

    bus: int
    clients: tuple[I2cClient, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.bus <= INT_MAX:
            raise ConfigError("virtio-i2c.bus", self.bus, f"must be 0..{INT_MAX}")
        if len(self.clients) > MAX_CLIENTS:
            raise ConfigError("virtio-i2c.clients", len(self.clients),
                              f"acrn-dm takes at most {MAX_CLIENTS} clients per adapter")
        seen: set[int] = set()
        for client in self.clients:
            if client.addr and client.addr in seen:
                raise ConfigError("virtio-i2c.addr", client.addr,
                                  f"client addr 0x{client.addr:x} repeat, not allowed.")
            seen.add(client.addr)

    @property
    def path(self) -> str:
        return f"/dev/i2c-{self.bus}"

    def render(self) -> str:
        return str(self.bus) + "".join(c.render() for c in self.clients)


@register("virtio-i2c")
@dataclass(frozen=True)
class VirtioI2c:
    """virtio-i2c; ``adapters=()`` is a device without adapters (acrn-dm's NULL config)."""

    EMULS: ClassVar[tuple[str, ...]] = ("virtio-i2c",)

    adapters: tuple[I2cAdapter, ...] = ()

    emul: ClassVar[str] = "virtio-i2c"

    def __post_init__(self) -> None:
        if len(self.adapters) > MAX_ADAPTERS:
            raise ConfigError("virtio-i2c.adapters", len(self.adapters),
                              f"too many adapter, only support {MAX_ADAPTERS}")
        clash = _first_cross_adapter_repeat(self.adapters)
        if clash is not None:
            raise ConfigError("virtio-i2c.addr", clash,
                              f"client addr {clash:x} repeat, not support!")

    def render_config(self) -> str | None:
        if not self.adapters:
            return None
        return ",".join(a.render() for a in self.adapters)

    @classmethod
    def parse_config(cls, emul: str, config: str | None, ctx: ParseContext) -> VirtioI2c:
        if config is None:
            return cls()
        adapters: list[I2cAdapter] = []
        nuls: list[int] = []  # where strsep wrote a NUL into acrn-dm's copy of the config

        def fail(field: str, value: object, *lines: str) -> DeviceInitError:
            shown = config[:min(nuls)] if nuls else config
            return DeviceInitError(field, value, *(PREFIX + x for x in lines),
                                   f"{PREFIX}failed to parse parameters {shown} ")

        start = 0
        for token in config.split(","):
            if start + len(token) < len(config):
                nuls.append(start + len(token))
            bus = -1
            clients: list[tuple[int, str | None, str]] = []
            i: int | None = 0
            while i is not None and i < len(token):
                if token[i] == ":":
                    i += 1
                base = 10 if bus == -1 else 16
                got = dm_strtoi(token[i:], base)
                if got is None or got[0] < 0:
                    what = "bus" if bus == -1 else "addr"
                    raise fail(f"virtio-i2c.{what}", token[i:])
                value, end = got[0], i + got[1]
                if bus == -1:
                    bus = value
                    i = end
                    continue
                if len(clients) > MAX_I2C_VDEV:
                    raise fail("virtio-i2c.clients", len(clients),
                               f"too many devices, only support {MAX_I2C_VDEV} ")
                node: str | None = None
                nxt: int | None = end
                if end < len(token) and token[end] == "@":
                    colon = token.find(":", end + 1)
                    node = token[end + 1:colon if colon >= 0 else len(token)]
                    if colon >= 0:
                        nuls.append(start + colon)
                        nxt = colon + 1
                    else:
                        nxt = None
                clients.append((value & (MAX_I2C_VDEV - 1), node, token[i:end]))
                i = nxt
            if len(adapters) >= MAX_ADAPTERS:
                raise fail("virtio-i2c.adapters", len(adapters) + 1,
                           f"too many adapter, only support {MAX_ADAPTERS} ")
            if bus < 0:  # native_adapter_create(-1) returns NULL without a word
                raise fail("virtio-i2c.bus", token)
            adapters.append(cls._adapter(bus, clients, ctx, fail))
            start += len(token) + 1
        clash = _first_cross_adapter_repeat(adapters)
        if clash is not None:
            raise DeviceInitError("virtio-i2c.addr", clash,
                                  f"{PREFIX}client addr {clash:x} repeat, not support!")
        device = cls(tuple(adapters))
        for adapter in device.adapters:
            for client in adapter.clients:
                if client.addr and client.acpi_node not in NODES:
                    ctx.warn("virtio-i2c.node",
                             f"{PREFIX}cannot find acpi node info for {client.acpi_node} ")
        rendered = device.render_config()
        if rendered != config:
            ctx.warn("virtio-i2c", f"virtio-i2c: acrn-dm reads '{config}' as '{rendered}'")
        return device

    @staticmethod
    def _adapter(bus: int, clients: list[tuple[int, str | None, str]], ctx: ParseContext,
                 fail: _Fail) -> I2cAdapter:
        seen: set[int] = set()
        built: list[I2cClient] = []
        for addr, node, spelled in clients:
            if addr and addr in seen:  # native_adapter_create, once the host adapter opened
                raise fail("virtio-i2c.addr", addr, f"client addr 0x{addr:x} repeat, not allowed.")
            seen.add(addr)
            if node is not None and len(node) > MAX_NODE_LEN:
                ctx.warn("virtio-i2c.node", f"virtio-i2c: node '{node}' is cut to "
                         f"'{node[:MAX_NODE_LEN]}'")
                node = node[:MAX_NODE_LEN]
            if addr == 0:
                ctx.warn("virtio-i2c.addr", f"virtio-i2c: client address '{spelled}' is 0 after "
                         "masking to 7 bits; acrn-dm ignores it")
            built.append(I2cClient(addr, node))
        return I2cAdapter(bus, tuple(built))

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        out: list[tuple[str, object, str]] = []
        for adapter in self.adapters:
            if len(adapter.clients) > MAX_I2C_VDEV:
                out.append(("virtio-i2c.clients", len(adapter.clients),
                            f"acrn-dm stores client {MAX_CLIENTS} past its {MAX_I2C_VDEV}-entry "
                            "array"))
            for client in adapter.clients:
                if client.addr == 0:
                    out.append(("virtio-i2c.addr", 0, "acrn-dm ignores client address 0"))
                elif client.acpi_node not in NODES:
                    out.append(("virtio-i2c.node", client.node,
                                f"unknown ACPI node; acrn-dm knows {', '.join(NODES)} and adds "
                                "no node for this client"))
        return out

    def files(self) -> list[FileRef]:
        paths = dict.fromkeys(a.path for a in self.adapters)
        return [FileRef("virtio-i2c.bus", p, "host") for p in paths]


def _first_cross_adapter_repeat(adapters: list[I2cAdapter] | tuple[I2cAdapter, ...]) -> int | None:
    """``virtio_i2c_map``: adapters in order, addresses ascending; the first taken twice."""
    owner: set[int] = set()
    for adapter in adapters:
        mine = sorted({c.addr for c in adapter.clients if c.addr})
        for addr in mine:
            if addr in owner:
                return addr
        owner.update(mine)
    return None
