"""acrnkit: a model of ACRN's acrn-dm command line, a fake acrn-dm, goldens and a pytest plugin.

The small public API::

    from acrnkit import VMBuilder, VirtioBlk, VirtioNet, render, parse, check

Heavier parts (launcher, manager client, Kata mode) load on first use, so ``import acrnkit``
stays light and never imports pexpect or scapy.
"""

from __future__ import annotations

import os as _os

from acrnkit._lazy import lazy_exports
from acrnkit._records import TYPE_CHECKING

# Installed, ``fakes/`` and ``conformance/`` live inside this package (pyproject's package-dir
# maps them to acrnkit.fakes and acrnkit.conformance). When this file is imported straight from a
# source checkout instead (``python -m ...`` run from the repository root puts the checkout first
# on sys.path), make the same two names resolve to the top-level folders.
_here = _os.path.dirname(_os.path.abspath(__file__))
_root = _os.path.dirname(_here)
if not _os.path.isdir(_os.path.join(_here, "fakes")) and all(
        _os.path.isfile(_os.path.join(_root, part, "__init__.py"))
        for part in ("fakes", "conformance")):
    __path__.append(_root)

if TYPE_CHECKING:
    from acrnkit.argv.check import CheckResult, Diagnostic, check
    from acrnkit.argv.host import LocalHost, StaticHost
    from acrnkit.argv.parse import parse
    from acrnkit.argv.render import render
    from acrnkit.builder import VMBuilder
    from acrnkit.errors import (
        AcrnkitError,
        ArgvError,
        ConfigError,
        LaunchError,
        ManagerError,
        ValidationError,
    )
    from acrnkit.model.devices import (
        ConsolePort,
        HostBridge,
        Lpc,
        LpcPort,
        SimpleDevice,
        VhostVsock,
        VirtioBlk,
        VirtioConsole,
        VirtioNet,
        default_mac,
    )
    from acrnkit.model.jsonform import from_json, to_json
    from acrnkit.model.slots import Bdf
    from acrnkit.model.values import CpuAffinity, IntrMonitor, MemSize, Ovmf
    from acrnkit.model.vm import VM, PciDevice
    from acrnkit.releases.profile import Release, all_releases, get_release
    from acrnkit.releases.versions import DEFAULT_VERSION, VERSIONS

if TYPE_CHECKING:
    from acrnkit.launch.launcher import Launcher
    from acrnkit.launch.mngr import ManagerClient

__version__ = "0.1.0"

_LAZY = {
    "Launcher": "acrnkit.launch.launcher",
    "ManagerClient": "acrnkit.launch.mngr",
    "CheckResult": "acrnkit.argv.check",
    "Diagnostic": "acrnkit.argv.check",
    "check": "acrnkit.argv.check",
    "LocalHost": "acrnkit.argv.host",
    "StaticHost": "acrnkit.argv.host",
    "parse": "acrnkit.argv.parse",
    "render": "acrnkit.argv.render",
    "VMBuilder": "acrnkit.builder",
    "AcrnkitError": "acrnkit.errors",
    "ArgvError": "acrnkit.errors",
    "ConfigError": "acrnkit.errors",
    "LaunchError": "acrnkit.errors",
    "ManagerError": "acrnkit.errors",
    "ValidationError": "acrnkit.errors",
    "ConsolePort": "acrnkit.model.devices",
    "HostBridge": "acrnkit.model.devices",
    "Lpc": "acrnkit.model.devices",
    "LpcPort": "acrnkit.model.devices",
    "SimpleDevice": "acrnkit.model.devices",
    "VhostVsock": "acrnkit.model.devices",
    "VirtioBlk": "acrnkit.model.devices",
    "VirtioConsole": "acrnkit.model.devices",
    "VirtioNet": "acrnkit.model.devices",
    "default_mac": "acrnkit.model.devices",
    "from_json": "acrnkit.model.jsonform",
    "to_json": "acrnkit.model.jsonform",
    "Bdf": "acrnkit.model.slots",
    "CpuAffinity": "acrnkit.model.values",
    "IntrMonitor": "acrnkit.model.values",
    "MemSize": "acrnkit.model.values",
    "Ovmf": "acrnkit.model.values",
    "VM": "acrnkit.model.vm",
    "PciDevice": "acrnkit.model.vm",
    "Release": "acrnkit.releases.profile",
    "all_releases": "acrnkit.releases.profile",
    "get_release": "acrnkit.releases.profile",
    "DEFAULT_VERSION": "acrnkit.releases.versions",
    "VERSIONS": "acrnkit.releases.versions",
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "DEFAULT_VERSION", "VERSIONS", "VM", "AcrnkitError", "ArgvError", "Bdf", "CheckResult",
    "ConfigError", "ConsolePort", "CpuAffinity", "Diagnostic", "HostBridge", "IntrMonitor",
    "LaunchError", "Launcher", "LocalHost", "Lpc", "LpcPort", "ManagerClient", "ManagerError",
    "MemSize", "Ovmf", "PciDevice", "Release", "SimpleDevice", "StaticHost", "VMBuilder",
    "ValidationError", "VhostVsock", "VirtioBlk", "VirtioConsole", "VirtioNet", "all_releases",
    "check", "default_mac", "from_json", "get_release", "parse", "render", "to_json",
]
