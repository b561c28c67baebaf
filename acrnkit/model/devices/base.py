"""What every ``-s`` emulation model has in common, and the registry of emulations.

A device is a frozen dataclass. It knows both directions:

* ``render_config()`` gives the config string after ``<bdf>,<emul>,`` (or ``None`` for none);
* ``parse_config(emul, config, ctx)`` reads a config string as acrn-dm's device ``init`` would
  for ``ctx.release``; it raises :class:`DeviceInitError` carrying the exact lines acrn-dm prints
  when its init fails, and records non-fatal acrn-dm warnings in ``ctx``.

``problems(release)`` lists what a careful builder refuses although acrn-dm might not (a tap name
that can never open, a missing ``mac=``...), as (field, value, reason) triples.
"""

from __future__ import annotations

from acrnkit._lazy import load_module
from acrnkit._records import TYPE_CHECKING, dataclass, field
from acrnkit.errors import ConfigError
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, ClassVar, Protocol, TypeVar

    class Device(Protocol):
        EMULS: ClassVar[tuple[str, ...]]

        @property
        def emul(self) -> str: ...

        def render_config(self) -> str | None: ...

        def problems(self, release: Release) -> list[tuple[str, object, str]]: ...

        def files(self) -> list[FileRef]: ...

    DeviceParser = Callable[[str, "str | None", "ParseContext"], Any]
    T = TypeVar("T")


@dataclass(frozen=True)
class Line:
    """One line acrn-dm prints: ``stream`` is ``"stdout"`` (pr_* logger) or ``"stderr"``.

    ``end`` is what follows the text: a few acrn-dm messages have no newline, so the next line
    runs on (``Could not open backing file: /xpci virtio-blk init failed``).
    """

    text: str
    stream: str = "stdout"
    end: str = "\n"


class DeviceInitError(Exception):
    """acrn-dm's device init fails; ``lines`` are what it prints before ``pci <emul> init failed``.

    ``field`` names the part of the config string at fault, for one-line diagnostics.
    """

    def __init__(self, field: str, value: object, *lines: Line | str) -> None:
        self.field = field
        self.value = value
        self.lines = tuple(Line(x) if isinstance(x, str) else x for x in lines)
        text = "; ".join(line.text.strip() for line in self.lines) or "init failed"
        super().__init__(text)


@dataclass
class ParseContext:
    """What a device parser needs: the release, where the device sits, and a sink for warnings."""

    release: Release
    slot: int = 0
    func: int = 0
    warnings: list[tuple[str, Line]] = field(default_factory=list)
    #: lines the real acrn-dm prints while parsing (non-fatal): they go into its output too
    said: list[tuple[str, Line]] = field(default_factory=list)

    def warn(self, field_name: str, text: str, stream: str = "stdout") -> None:
        """acrnkit's own remark on how acrn-dm reads the config (a diagnostic only)."""
        self.warnings.append((field_name, Line(text, stream)))

    def say(self, field_name: str, text: str, stream: str = "stdout") -> None:
        """A line the real acrn-dm prints here: part of its output; it is also listed in
        ``warnings`` with the remarks."""
        line = Line(text, stream)
        self.said.append((field_name, line))
        self.warnings.append((field_name, line))


@dataclass(frozen=True)
class FileRef:
    """A host file the device opens at init; the checker decides whether it is good enough.

    ``kind``: ``"blk"`` (must open; regular files a multiple of 512 bytes), ``"exists"``,
    ``"socket-client"`` (a unix socket that must exist), ``"tty"``.
    """

    field: str
    path: str
    kind: str



#: emul name -> (model class, parser). Filled by ``register``.
REGISTRY: dict[str, tuple[type[Any], DeviceParser]] = {}

def register(*emuls: str) -> Callable[[type[T]], type[T]]:
    def wrap(cls: type[T]) -> type[T]:
        parser = cls.parse_config  # type: ignore[attr-defined]
        for name in emuls:
            REGISTRY[name] = (cls, parser)
        return cls
    return wrap


#: emul name -> module in this package that registers it. Modules load on first use so the fake
#: starts fast; ``tests/test_devices_registry.py`` keeps this table and the modules in step.
MODULE_OF: dict[str, str] = {
    "hostbridge": "hostbridge", "amd_hostbridge": "hostbridge", "dummy": "hostbridge",
    "virtio-audio": "hostbridge", "virtio-ipu": "hostbridge", "virtio-hyper_dmabuf": "hostbridge",
    "virtio-coreu": "hostbridge", "virtio-hdcp": "hostbridge", "pci-gvt": "hostbridge",
    "lpc": "lpc", "igd-lpc": "lpc",
    "virtio-blk": "virtio_blk", "virtio-net": "virtio_net", "virtio-console": "virtio_console",
    "vhost-vsock": "vhost_vsock",
    "passthru": "passthru", "uart": "uart", "ivshmem": "ivshmem", "xhci": "xhci",
    "ahci": "ahci", "ahci-hd": "ahci", "ahci-cd": "ahci",
    "virtio-input": "virtio_input", "virtio-rnd": "virtio_rnd", "virtio-gpu": "virtio_gpu",
    "virtio-i2c": "virtio_i2c", "virtio-gpio": "virtio_gpio", "virtio-rpmb": "virtio_rpmb",
    "virtio-heci": "virtio_heci", "wdt-i6300esb": "wdt", "npk": "npk",
}


def lookup(emul: str) -> tuple[type[Any], DeviceParser] | None:
    """The model class and parser for ``emul``, importing its module on first use."""
    found = REGISTRY.get(emul)
    if found is None and emul in MODULE_OF:
        try:
            load_module(f"acrnkit.model.devices.{MODULE_OF[emul]}")
        except ModuleNotFoundError:
            return None
        found = REGISTRY.get(emul)
    return found


def load_all() -> dict[str, tuple[type[Any], DeviceParser]]:
    for emul in MODULE_OF:
        lookup(emul)
    return REGISTRY


def no_comma(field_name: str, value: str) -> str:
    """A value inside a ``-s`` config string may not contain ``,``: acrn-dm splits on it."""
    if "," in value:
        raise ConfigError(field_name, value, "a ',' cannot be represented inside a -s config")
    if value == "":
        raise ConfigError(field_name, value, "must not be empty")
    return value


def split_tokens(config: str | None) -> list[str]:
    return [] if config is None else config.split(",")
