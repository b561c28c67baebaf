"""Kata Containers compatibility: the argv of Kata's Go ``LaunchAcrn``, byte for byte.

Reproduces kata-containers ``src/runtime/virtcontainers/acrn_arch_base.go`` and ``acrn.go``
@cdaaf708 (the last tree with ACRN; removed by fefcf7cfa4, last release 3.9.0), quirks
included; see ``docs/kata-quirks.md``.

* :mod:`~acrnkit.kata.config`  Go's device and Config types (``valid()``, ``acrn_params()``);
* :mod:`~acrnkit.kata.launch`  :func:`launch_argv` (LaunchAcrn without the exec);
* :mod:`~acrnkit.kata.jsonio`  Go-shaped Config JSON to :class:`KataConfig`;
* :mod:`~acrnkit.kata.sandbox` CreateVM + vsock + endpoints + StartVM, and blkrescan;
* :mod:`~acrnkit.kata.cli`     text helpers for ``acrnkit build --kata`` / ``--kata-sandbox``.
"""

from __future__ import annotations

from acrnkit.kata.cli import run_build_kata, run_build_kata_sandbox
from acrnkit.kata.config import (
    CONSOLE_BE,
    FILE,
    MACVTAP,
    PTY,
    SERIAL_BE,
    SOCKET,
    STDIO,
    TAP,
    TTY,
    BlockDevice,
    BridgeDevice,
    ConsoleDevice,
    Device,
    KataConfig,
    Kernel,
    LPCDevice,
    Memory,
    NetDevice,
    VSOCKDevice,
    go_fields,
)
from acrnkit.kata.jsonio import kata_config_from_obj, loads_kata_config
from acrnkit.kata.launch import KataLaunch, SkippedDevice, launch_argv
from acrnkit.kata.sandbox import (
    BlockDrive,
    HypervisorConfig,
    KataSandbox,
    MacvtapEndpoint,
    NetworkInterface,
    Param,
    SandboxSpec,
    VethEndpoint,
    VSock,
    build_sandbox,
    create_vm,
    loads_sandbox_spec,
    sandbox_spec_from_obj,
)

__all__ = [
    "CONSOLE_BE",
    "FILE",
    "MACVTAP",
    "PTY",
    "SERIAL_BE",
    "SOCKET",
    "STDIO",
    "TAP",
    "TTY",
    "BlockDevice",
    "BlockDrive",
    "BridgeDevice",
    "ConsoleDevice",
    "Device",
    "HypervisorConfig",
    "KataConfig",
    "KataLaunch",
    "KataSandbox",
    "Kernel",
    "LPCDevice",
    "MacvtapEndpoint",
    "Memory",
    "NetDevice",
    "NetworkInterface",
    "Param",
    "SandboxSpec",
    "SkippedDevice",
    "VSOCKDevice",
    "VSock",
    "VethEndpoint",
    "build_sandbox",
    "create_vm",
    "go_fields",
    "kata_config_from_obj",
    "launch_argv",
    "loads_kata_config",
    "loads_sandbox_spec",
    "run_build_kata",
    "run_build_kata_sandbox",
    "sandbox_spec_from_obj",
]
