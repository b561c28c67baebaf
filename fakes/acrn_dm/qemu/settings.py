"""What the QEMU backend needs from the fake's settings, and the environment it reads itself.

The backend does not import the fake's ``Settings``: :func:`QemuSettings.coerce` accepts any
object with ``run_dir`` and ``version`` (the fake's ``Settings`` has both) and takes the
QEMU-specific values from same-named attributes when the object has them, else from these
environment variables (the fake's settings loader must accept them, see docs/qemu-target.md):

=============================== ============================================== ================
variable                        meaning                                        default
=============================== ============================================== ================
``ACRNKIT_DM_BACKEND``          ``sim`` (the simulated guest) or ``qemu``      ``sim``
``ACRNKIT_DM_QEMU``             the ``qemu-system-x86_64`` binary              on ``PATH``
``ACRNKIT_DM_QEMU_ACCEL``       ``auto`` (probe KVM for real), ``kvm``, ``tcg`` ``auto``
``ACRNKIT_DM_QEMU_UNSUPPORTED`` ``refuse`` (exit 1) or ``skip`` (boot without)  ``refuse``
``ACRNKIT_GUEST_DIR``           the guest image (``acrnkit guest build``)      ~/.cache/...
=============================== ============================================== ================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from acrnkit.errors import ConfigError
from acrnkit.releases.versions import DEFAULT_VERSION, normalize_version

BACKEND_ENV = "ACRNKIT_DM_BACKEND"
QEMU_ENV = "ACRNKIT_DM_QEMU"
ACCEL_ENV = "ACRNKIT_DM_QEMU_ACCEL"
UNSUPPORTED_ENV = "ACRNKIT_DM_QEMU_UNSUPPORTED"
GUEST_DIR_ENV = "ACRNKIT_GUEST_DIR"
RUN_DIR_ENV = "ACRNKIT_RUN_DIR"
VERSION_ENV = "ACRNKIT_ACRN_VERSION"

#: Every variable the QEMU backend reads (for the fake's settings loader and the docs).
VARIABLES: tuple[str, ...] = (BACKEND_ENV, QEMU_ENV, ACCEL_ENV, UNSUPPORTED_ENV, GUEST_DIR_ENV)

BACKENDS = ("sim", "qemu")
ACCELS = ("auto", "kvm", "tcg")
POLICIES = ("refuse", "skip")
DEFAULT_QEMU = "qemu-system-x86_64"
DEFAULT_RUN_DIR = "/run/acrn"


class SettingsLike(Protocol):
    """The part of the fake's ``Settings`` the backend relies on."""

    @property
    def run_dir(self) -> str: ...

    @property
    def version(self) -> str: ...


def _choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(name, value, f"must be one of {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class QemuSettings:
    """Everything the QEMU backend is configured with."""

    run_dir: str = DEFAULT_RUN_DIR
    version: str = DEFAULT_VERSION
    #: ``qemu-system-x86_64`` or a path
    qemu_binary: str = DEFAULT_QEMU
    #: ``auto`` | ``kvm`` | ``tcg``
    qemu_accel: str = "auto"
    #: the guest image directory; None = ``acrnkit.guest.default_guest_dir()``
    guest_dir: str | None = None
    #: what to do with emulations QEMU cannot honour: ``refuse`` | ``skip``
    qemu_unsupported: str = "refuse"

    def __post_init__(self) -> None:
        _choice(ACCEL_ENV, self.qemu_accel, ACCELS)
        _choice(UNSUPPORTED_ENV, self.qemu_unsupported, POLICIES)
        if not self.qemu_binary:
            raise ConfigError(QEMU_ENV, self.qemu_binary, "must name a program")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None,
                 base: SettingsLike | None = None) -> QemuSettings:
        """Read the variables above (``run_dir``/``version`` from ``base`` when given, else from
        ``ACRNKIT_RUN_DIR`` / ``ACRNKIT_ACRN_VERSION``). Raises ConfigError on a bad value."""
        env = os.environ if environ is None else environ
        if base is not None:
            run_dir, version = base.run_dir, base.version
        else:
            run_dir = os.path.abspath(env.get(RUN_DIR_ENV) or DEFAULT_RUN_DIR)
            version = normalize_version(env.get(VERSION_ENV) or DEFAULT_VERSION)
        guest_dir = env.get(GUEST_DIR_ENV) or None
        return cls(
            run_dir=run_dir, version=version,
            qemu_binary=env.get(QEMU_ENV) or DEFAULT_QEMU,
            qemu_accel=env.get(ACCEL_ENV) or "auto",
            guest_dir=os.path.abspath(guest_dir) if guest_dir else None,
            qemu_unsupported=env.get(UNSUPPORTED_ENV) or "refuse",
        )

    @classmethod
    def coerce(cls, settings: SettingsLike,
               environ: Mapping[str, str] | None = None) -> QemuSettings:
        """``settings`` itself when it is a QemuSettings; else its ``run_dir`` and ``version``
        plus the QEMU fields from its same-named attributes or from the environment."""
        if isinstance(settings, QemuSettings):
            return settings
        env_based = cls.from_env(environ, base=settings)

        def pick(name: str, default: str) -> str:
            value = getattr(settings, name, None)
            return value if isinstance(value, str) and value else default

        guest_dir = getattr(settings, "guest_dir", None)
        return replace(
            env_based,
            qemu_binary=pick("qemu_binary", env_based.qemu_binary),
            qemu_accel=pick("qemu_accel", env_based.qemu_accel),
            qemu_unsupported=pick("qemu_unsupported", env_based.qemu_unsupported),
            guest_dir=str(guest_dir) if guest_dir else env_based.guest_dir,
        )


def backend_from_env(environ: Mapping[str, str] | None = None) -> str:
    """``ACRNKIT_DM_BACKEND``: ``sim`` (default) or ``qemu``; ConfigError otherwise."""
    env = os.environ if environ is None else environ
    return _choice(BACKEND_ENV, env.get(BACKEND_ENV) or "sim", BACKENDS)
