"""Read Kata's Go ``Config`` from JSON into :class:`~acrnkit.kata.config.KataConfig`.

Input: one JSON object shaped like Go's ``Config`` with Go field names, or a JSON list of them::

    {"ACPIVirt": true, "Memory": {"Size": "2048M"}, "ApicID": "0", "Name": "sbx-abc",
     "Kernel": {"Path": "/k", "Params": "console=hvc0", "ImagePath": "/img"},
     "Path": "/usr/bin/acrn-dm", "CtlPath": "/usr/bin/acrnctl",
     "Devices": [{"type": "BridgeDevice", "Emul": "hostbridge", "Function": 0}, ...]}

Rules (a strict reading of what Go's ``encoding/json`` would decode):

* every field is optional and takes the Go zero value when missing or ``null``;
* field names are matched exactly (Go's decoder is case-insensitive; acrnkit is stricter and
  suggests the right spelling); unknown fields and unknown device types are errors;
* strings must be JSON strings, booleans JSON booleans; integers must be JSON integers (no
  fraction, no exponent) in the Go type's range (``int`` is 64-bit; ``ContextID`` is ``uint64``);
* ``Kernel.ImagePath``, ``Path`` and ``CtlPath`` are accepted and kept but do not change the argv;
* a device is ``{"type": "<Go type name>", <its Go fields>}``; ``PortType`` is 0 (SerialBE) or
  1 (ConsoleBE) in practice, any int is read (an out-of-set value makes the device invalid).

Every error is a :class:`~acrnkit.errors.ConfigError` whose field is a JSON path (``$`` is the
document, e.g. ``$.Devices[2].Index`` or ``$[1].Memory.Size`` in a list) and whose value is the
offending JSON value, so ``str(err)`` is one line.

The small ``read_*`` helpers are shared with :mod:`acrnkit.kata.sandbox`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Mapping
from typing import Any, NoReturn

from acrnkit.errors import ConfigError
from acrnkit.kata.config import DEVICE_TYPES, Device, KataConfig, Kernel, Memory

_INT64 = (-(1 << 63), (1 << 63) - 1)
_UINT64 = (0, (1 << 64) - 1)
_UINT32 = (0, (1 << 32) - 1)

#: Go type name -> JSON reader kind.
_GO_KINDS: dict[str, str] = {
    "string": "string",
    "ConsoleDeviceBackend": "string",
    "NetDeviceType": "string",
    "int": "int",
    "BEPortType": "int",
    "uint64": "uint64",
    "uint32": "uint32",
    "bool": "bool",
}


# --- generic helpers -----------------------------------------------------------------------------


def short(value: object) -> object:
    """A value fit for a one-line error: scalars as they are, containers as compact JSON (cut)."""
    if isinstance(value, dict | list):
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return text if len(text) <= 60 else text[:57] + "..."
    return value


def fail(path: str, value: object, reason: str) -> NoReturn:
    raise ConfigError(path, short(value), reason)


def _reject_constant(name: str) -> NoReturn:
    fail("$", name, "invalid JSON: NaN and Infinity are not JSON numbers")


def parse_json(text: str) -> Any:
    """``json.loads`` with one-line :class:`ConfigError` on bad input (field ``$``)."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        excerpt = err.doc[err.pos:err.pos + 20] or "<end of input>"
        fail("$", excerpt, f"invalid JSON: {err.msg} at line {err.lineno} column {err.colno}")
    except RecursionError:
        fail("$", text[:20], "invalid JSON: nested too deeply")


def type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def read_object(value: object, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        fail(path, value, f"expected a JSON object, got {type_name(value)}")
    return value


def check_fields(obj: Mapping[str, Any], path: str, known: Collection[str]) -> None:
    """Reject a field name that is not in ``known`` (with a spelling hint)."""
    for key in obj:
        if key in known:
            continue
        hint = ""
        for k in known:
            if k.lower() == key.lower():
                hint = f"; did you mean {k!r}? (names are case-sensitive)"
                break
        fail(f"{path}.{key}", obj[key],
             f"unknown field; expected one of {', '.join(sorted(known))}{hint}")


def read_str(obj: Mapping[str, Any], key: str, path: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        fail(f"{path}.{key}", value, f"expected a JSON string, got {type_name(value)}")
    return value


def read_bool(obj: Mapping[str, Any], key: str, path: str) -> bool:
    value = obj.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        fail(f"{path}.{key}", value, f"expected true or false, got {type_name(value)}")
    return value


def read_int(obj: Mapping[str, Any], key: str, path: str, go_type: str = "int") -> int:
    """An integer field of Go type ``int`` (64-bit), ``uint64`` or ``uint32``."""
    value = obj.get(key)
    if value is None:
        return 0
    lo, hi = {"int": _INT64, "uint64": _UINT64, "uint32": _UINT32}[go_type]
    if isinstance(value, bool) or not isinstance(value, int):
        fail(f"{path}.{key}", value,
             f"expected a JSON integer (Go {go_type}), got {type_name(value)}")
    if not lo <= value <= hi:
        fail(f"{path}.{key}", value, f"out of range for Go {go_type} ({lo}..{hi})")
    return value


def read_list(obj: Mapping[str, Any], key: str, path: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        fail(f"{path}.{key}", value, f"expected a JSON array, got {type_name(value)}")
    return value


def read_dataclass(cls: type[Any], obj: Mapping[str, Any], path: str,
                   extra: Collection[str] = ()) -> Any:
    """Build a config dataclass from the Go-named fields in its metadata (scalars only)."""
    fields = dataclasses.fields(cls)
    check_fields(obj, path, [str(f.metadata["go_name"]) for f in fields] + list(extra))
    kwargs: dict[str, Any] = {}
    for f in fields:
        go_name = str(f.metadata["go_name"])
        kind = _GO_KINDS[str(f.metadata["go_type"])]
        if kind == "string":
            kwargs[f.name] = read_str(obj, go_name, path)
        elif kind == "bool":
            kwargs[f.name] = read_bool(obj, go_name, path)
        else:
            kwargs[f.name] = read_int(obj, go_name, path, kind)
    return cls(**kwargs)


# --- Config --------------------------------------------------------------------------------------

_CONFIG_FIELDS = ("ACPIVirt", "Memory", "Devices", "ApicID", "Kernel", "Name", "Path", "CtlPath")


def device_from_obj(value: object, path: str) -> Device:
    """One ``{"type": "<Go type>", ...}`` device object."""
    obj = read_object(value, path)
    kind = obj.get("type")
    if kind is None:
        fail(f"{path}.type", None,
             f"missing device type; expected one of {', '.join(DEVICE_TYPES)}")
    if not isinstance(kind, str) or kind not in DEVICE_TYPES:
        fail(f"{path}.type", kind,
             f"unknown device type; expected one of {', '.join(DEVICE_TYPES)}")
    fields = {k: v for k, v in obj.items() if k != "type"}
    device: Device = read_dataclass(DEVICE_TYPES[kind], fields, path)
    return device


def kata_config_from_obj(value: object, path: str = "$") -> KataConfig:
    """A decoded JSON object shaped like Go's ``Config``."""
    obj = read_object(value, path)
    check_fields(obj, path, _CONFIG_FIELDS)
    devices = tuple(
        device_from_obj(item, f"{path}.Devices[{i}]")
        for i, item in enumerate(read_list(obj, "Devices", path))
    )
    kernel_obj = obj.get("Kernel")
    kernel = Kernel() if kernel_obj is None else read_dataclass(
        Kernel, read_object(kernel_obj, f"{path}.Kernel"), f"{path}.Kernel")
    memory_obj = obj.get("Memory")
    memory = Memory() if memory_obj is None else read_dataclass(
        Memory, read_object(memory_obj, f"{path}.Memory"), f"{path}.Memory")
    return KataConfig(
        devices=devices,
        path=read_str(obj, "Path", path),
        ctl_path=read_str(obj, "CtlPath", path),
        name=read_str(obj, "Name", path),
        apic_id=read_str(obj, "ApicID", path),
        kernel=kernel,
        memory=memory,
        acpi_virt=read_bool(obj, "ACPIVirt", path),
    )


def loads_kata_config(text: str) -> KataConfig | tuple[KataConfig, ...]:
    """Parse JSON text: an object gives a :class:`KataConfig`, a list gives a tuple of them."""
    doc = parse_json(text)
    if isinstance(doc, list):
        return tuple(kata_config_from_obj(item, f"$[{i}]") for i, item in enumerate(doc))
    if not isinstance(doc, dict):
        fail("$", doc, f"expected a JSON object or array of objects, got {type_name(doc)}")
    return kata_config_from_obj(doc)


def load_kata_config_file(path: str) -> KataConfig | tuple[KataConfig, ...]:
    """Read ``path`` (``-`` is not handled here) and parse it with :func:`loads_kata_config`."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as err:
        raise ConfigError("file", path, err.strerror or str(err)) from None
    except UnicodeDecodeError as err:
        raise ConfigError("file", path, f"not UTF-8: {err.reason}") from None
    return loads_kata_config(text)
