"""The plugin's options: each has a command-line flag, an ini key and an environment variable.

Precedence: command line, then environment, then ini file, then the default. Everything is
resolved once per session into a frozen ``AcrnOptions`` kept in ``config.stash``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from acrnkit.releases.versions import DEFAULT_VERSION, VERSIONS, normalize_version

TARGETS = ("fake", "hw", "qemu")


@dataclass(frozen=True)
class OptionSpec:
    dest: str
    flag: str
    ini: str
    env: str
    help: str
    default: str | None = None
    is_flag: bool = False


SPECS: tuple[OptionSpec, ...] = (
    OptionSpec("acrn_version", "--acrn-version", "acrn_version", "ACRNKIT_ACRN_VERSION",
               f"ACRN release profile for the fake and for validation ({', '.join(VERSIONS)})",
               DEFAULT_VERSION),
    OptionSpec("acrn_target", "--acrn-target", "acrn_target", "ACRNKIT_TARGET",
               "where VMs run: fake (default), hw (real ACRN Service VM) or qemu", "fake"),
    OptionSpec("acrn_dm", "--acrn-dm", "acrn_dm", "ACRNKIT_ACRN_DM",
               "acrn-dm binary (default: the fake for fake/qemu, `acrn-dm` on PATH for hw)"),
    OptionSpec("acrnctl", "--acrnctl", "acrnctl", "ACRNKIT_ACRNCTL",
               "acrnctl binary (default: the fake for fake/qemu, `acrnctl` on PATH for hw)"),
    OptionSpec("acrn_console_log", "--acrn-console-log", "acrn_console_log",
               "ACRNKIT_CONSOLE_LOG", "directory for one console log file per VM"),
    OptionSpec("acrn_boot_timeout", "--acrn-boot-timeout", "acrn_boot_timeout",
               "ACRNKIT_BOOT_TIMEOUT", "seconds to wait for a VM's login prompt", "60"),
    OptionSpec("acrn_golden_dir", "--acrn-golden-dir", "acrn_golden_dir", "ACRNKIT_GOLDEN_DIR",
               "directory of golden cases for acrn_golden (default: acrnkit's shipped cases)"),
    OptionSpec("acrn_update_goldens", "--acrn-update-goldens", "acrn_update_goldens",
               "ACRNKIT_UPDATE_GOLDENS",
               "rewrite failing golden fixtures (the run still fails; never silent)",
               is_flag=True),
)


@dataclass(frozen=True)
class AcrnOptions:
    version: str
    target: str
    acrn_dm: str | None
    acrnctl: str | None
    console_log: Path | None
    boot_timeout: float
    update_goldens: bool
    golden_dir: Path | None = None


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("acrnkit", "acrnkit: ACRN acrn-dm targets, fakes and goldens")
    for spec in SPECS:
        env_help = f" [env {spec.env}, ini {spec.ini}]"
        if spec.is_flag:
            group.addoption(spec.flag, dest=spec.dest, action="store_true", default=None,
                            help=spec.help + env_help)
            parser.addini(spec.ini, spec.help, type="bool", default=False)
        else:
            group.addoption(spec.flag, dest=spec.dest, default=None, metavar="VALUE",
                            help=spec.help + env_help
                            + (f" (default {spec.default})" if spec.default else ""))
            parser.addini(spec.ini, spec.help, default=spec.default or "")


def _raw(config: pytest.Config, spec: OptionSpec) -> str | bool | None:
    value = config.getoption(spec.dest)
    if value is not None:
        return value  # type: ignore[no-any-return]
    env = os.environ.get(spec.env)
    if env is not None and env != "":
        if spec.is_flag:
            return env.lower() in ("1", "true", "yes", "on")
        return env
    ini = config.getini(spec.ini)
    if spec.is_flag:
        return bool(ini)
    return str(ini) if ini else spec.default


def resolve(config: pytest.Config) -> AcrnOptions:
    """Read and validate every option; a bad value is a ``pytest.UsageError`` naming it."""
    values = {spec.dest: _raw(config, spec) for spec in SPECS}
    try:
        version = normalize_version(str(values["acrn_version"]))
    except ValueError as err:
        raise pytest.UsageError(f"--acrn-version: {err}") from None
    target = str(values["acrn_target"])
    if target not in TARGETS:
        raise pytest.UsageError(
            f"--acrn-target={target!r}: must be one of {', '.join(TARGETS)}")
    try:
        timeout = float(str(values["acrn_boot_timeout"]))
        if timeout <= 0:
            raise ValueError
    except ValueError:
        raise pytest.UsageError(
            f"--acrn-boot-timeout={values['acrn_boot_timeout']!r}: must be a positive number "
            "of seconds") from None
    log = values["acrn_console_log"]
    return AcrnOptions(
        version=version, target=target,
        acrn_dm=str(values["acrn_dm"]) if values["acrn_dm"] else None,
        acrnctl=str(values["acrnctl"]) if values["acrnctl"] else None,
        console_log=Path(str(log)) if log else None,
        boot_timeout=timeout,
        update_goldens=bool(values["acrn_update_goldens"]),
        golden_dir=Path(str(values["acrn_golden_dir"])) if values["acrn_golden_dir"] else None,
    )
