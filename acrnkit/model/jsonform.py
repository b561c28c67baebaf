"""The documented JSON form of a VM (used by ``acrnkit build FILE``, goldens and adapters).

    {
      "name": "vm1",
      "memsize": "2048M",                      # any value option: its argv text
      "cpu_affinity": "1,3",
      "kernel": "/boot/bzImage", "bootargs": "console=ttyS0",
      "acpi": true,                             # flags: booleans
      "lpc": ["com1,stdio"],                    # repeatable options: lists of argv texts
      "devices": [
        {"slot": "0:0", "emul": "hostbridge"},
        {"slot": 3, "emul": "virtio-blk", "path": "/img.raw", "ro": true},
        {"slot": 4, "emul": "virtio-net", "ifname": "tap0", "mac": "02:00:00:00:00:01"},
        {"slot": 5, "emul": "virtio-console",
         "ports": [{"backend": "pty", "name": "p0", "console": true}]},
        {"slot": 6, "emul": "virtio-blk", "config": "nodisk"}   # or the raw config string
      ]
    }

A device is given either by its typed fields (the dataclass fields of its model, nested
dataclasses as objects, tuples as lists) or by ``"config"``: the config string exactly as it
follows ``<slot>,<emul>,`` in argv, parsed for the chosen release. ``"slot"`` is an int or a
``bus:slot:func`` string; omit it to let the builder allocate one. ``"boot": true`` adds ``,b``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections import abc
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Union, get_args, get_origin, get_type_hints

import acrnkit.model.devices  # noqa: F401  (fills the registry)
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import MODULE_OF, DeviceInitError, ParseContext, lookup
from acrnkit.model.slots import Bdf
from acrnkit.model.vm import FIELD_CODECS, VM, PciDevice
from acrnkit.releases.profile import Release, get_release
from acrnkit.releases.versions import DEFAULT_VERSION


def to_json(vm: VM) -> dict[str, Any]:
    """The JSON form of ``vm``; only fields that differ from the defaults are written."""
    out: dict[str, Any] = {}
    defaults = VM()
    for f in dataclasses.fields(VM):
        value = getattr(vm, f.name)
        if value == getattr(defaults, f.name):
            continue
        if f.name == "devices":
            out["devices"] = [_device_json(d) for d in value]
        elif f.name == "name" or f.name == "ssram":
            out[f.name] = value
        else:
            codec = FIELD_CODECS[f.name]
            if codec.kind == "flag":
                out[f.name] = bool(value)
            elif codec.kind == "list":
                out[f.name] = [codec.render(v) for v in value]
            else:
                out[f.name] = codec.render(value)
    return out


def _device_json(dev: PciDevice) -> dict[str, Any]:
    data: dict[str, Any] = {"slot": dev.bdf.render(), "emul": dev.emul}
    if dev.boot:
        data["boot"] = True
    cls: Any = type(dev.device)
    for f in dataclasses.fields(cls):
        value = getattr(dev.device, f.name)
        if f.name == "emul":
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        if f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        if value == default and f.default is not dataclasses.MISSING:
            continue
        data[f.name] = _plain(value)
    return data


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def from_json(data: Mapping[str, Any], release: Release | str = DEFAULT_VERSION,
              allocate: bool = True) -> VM:
    """Build a VM from its JSON form; every error names the JSON field and value."""
    rel = get_release(release)
    if not isinstance(data, Mapping):
        raise ConfigError("config", type(data).__name__, "must be a JSON object")
    known = {f.name for f in dataclasses.fields(VM)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(key, value, "unknown field")
        if key == "devices":
            continue
        if key in ("name",):
            if value is not None and not isinstance(value, str):
                raise ConfigError(key, value, "must be a string")
            kwargs[key] = value
        elif key == "ssram":
            if not isinstance(value, bool | str):
                raise ConfigError(key, value, "must be true or a string")
            kwargs[key] = value
        else:
            kwargs[key] = _option_value(key, value, rel)
    from acrnkit.model.slots import SlotAllocator

    raw_devices = data.get("devices", [])
    if not isinstance(raw_devices, list):
        raise ConfigError("devices", raw_devices, "must be a list")
    explicit = [d.get("slot") for d in raw_devices if isinstance(d, Mapping)]
    alloc = SlotAllocator(used=[_bdf(s, f"devices[{i}].slot").key
                                for i, s in enumerate(explicit) if s is not None])
    devices = []
    for i, raw in enumerate(raw_devices):
        devices.append(device_from_json(raw, rel, f"devices[{i}]", alloc if allocate else None))
    kwargs["devices"] = tuple(devices)
    return VM(**kwargs)


def _option_value(key: str, value: Any, rel: Release) -> Any:
    codec = FIELD_CODECS[key]
    if codec.kind == "flag":
        if not isinstance(value, bool):
            raise ConfigError(key, value, "must be true or false")
        return value
    if codec.kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(key, value, "must be a list of strings")
        return tuple(codec.parse(v, rel) for v in value)
    if isinstance(value, int) and not isinstance(value, bool) and key == "virtio_poll":
        return value
    if not isinstance(value, str):
        raise ConfigError(key, value, "must be a string (its argv text)")
    return codec.parse(value, rel)


def _bdf(value: Any, field: str) -> Bdf:
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return Bdf(0, value, 0)
        except ConfigError as err:
            raise ConfigError(field, value, err.reason) from None
    if isinstance(value, str):
        try:
            return Bdf.parse(value)
        except ConfigError as err:
            raise ConfigError(field, value, err.reason) from None
    raise ConfigError(field, value, "must be a slot number or 'bus:slot:func'")


def device_from_json(raw: Any, rel: Release, where: str = "device",
                     alloc: Any = None) -> PciDevice:
    if not isinstance(raw, Mapping):
        raise ConfigError(where, raw, "must be an object")
    emul = raw.get("emul")
    found = lookup(emul) if isinstance(emul, str) else None
    if found is None:
        raise ConfigError(f"{where}.emul", emul, "unknown emulation; known: "
                          + ", ".join(sorted(MODULE_OF)))
    cls, parser = found
    slot = raw.get("slot")
    if slot is None:
        if alloc is None:
            raise ConfigError(f"{where}.slot", None, "a slot is required")
        bdf = alloc.next()
    else:
        bdf = _bdf(slot, f"{where}.slot")
    boot = raw.get("boot", False)
    if not isinstance(boot, bool):
        raise ConfigError(f"{where}.boot", boot, "must be true or false")
    fields_ = {k: v for k, v in raw.items() if k not in ("emul", "slot", "boot")}
    if "config" in fields_ and not _has_field(cls, "config"):
        config = fields_.pop("config")
        if fields_:
            raise ConfigError(where, sorted(fields_), "give either 'config' or typed fields")
        if config is not None and not isinstance(config, str):
            raise ConfigError(f"{where}.config", config, "must be a string")
        try:
            device = parser(str(emul), config, ParseContext(rel, bdf.slot, bdf.func))
        except DeviceInitError as err:
            raise ConfigError(f"{where}.config", config, str(err)) from None
        return PciDevice(bdf, device, boot)
    if _has_field(cls, "emul"):
        fields_["emul"] = emul
    try:
        device = _build(cls, fields_, where)
    except ConfigError as err:
        if err.field.startswith(where):
            raise
        raise ConfigError(f"{where}.{err.field.split('.')[-1]}", err.value, err.reason) from None
    return PciDevice(bdf, device, boot)


#: The model modules import typing names only for type checkers (their run time must not pay for
#: ``typing``; see acrnkit/_records.py), so their string annotations are evaluated with these.
_TYPING_NAMES: dict[str, Any] = {
    "Any": Any, "ClassVar": ClassVar, "Literal": Literal, "Union": Union,
    "Callable": abc.Callable, "Iterable": abc.Iterable, "Iterator": abc.Iterator,
    "Mapping": abc.Mapping, "Sequence": abc.Sequence,
}


def _has_field(cls: type[Any], name: str) -> bool:
    return any(f.name == name for f in dataclasses.fields(cls))


def _build(cls: type[Any], data: Mapping[str, Any], where: str) -> Any:
    hints = get_type_hints(cls, localns=_TYPING_NAMES)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            raise ConfigError(f"{where}.{key}", value, f"unknown field for {cls.__name__}")
        kwargs[key] = _coerce(hints[key], value, f"{where}.{key}")
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ConfigError(where, dict(data), str(err)) from None


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(option, value, where)
            except ConfigError as err:
                errors.append(err)
        raise errors[0] if errors else ConfigError(where, value, "wrong type")
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            raise ConfigError(where, value, "must be one of " + ", ".join(map(repr, allowed)))
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(where, value, "must be a list")
        args = get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(where, value, f"must have {len(args)} items")
        pairs = enumerate(zip(args, value, strict=True))
        return tuple(_coerce(a, v, f"{where}[{i}]") for i, (a, v) in pairs)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if not isinstance(value, Mapping):
            raise ConfigError(where, value, f"must be an object ({hint.__name__})")
        return _build(hint, value, where)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(where, value, "must be true or false")
        return value
    if hint is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(where, value, "must be an integer")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(where, value, "must be a string")
        return value
    if hint is typing.Any:
        return value
    raise ConfigError(where, value, f"unsupported type {hint}")
