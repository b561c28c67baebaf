"""virtio-input: ``<evdev path>[,<serial>]``.

Source: ``virtio_input_init`` in v3.2 devicemodel/hw/pci/virtio/virtio_input.c; the same
parsing at v1.6 (messages via ``printf``), v2.7, v3.0 and v3.3 (``pr_err``): stdout both ways.

* No config: ``virtio_input_init: evdev path is NULL`` (init fails).
* The config is cut at its first ``,``: the path, then the serial string, which is everything
  after it, commas included. acrn-dm reports the serial in the virtio-input config space
  (``VIRTIO_INPUT_CFG_ID_SERIAL``, a 128-byte field: 127 characters are kept).
* The path is opened read-write (``open <path> failed <errno>``), must answer ``EVIOCGVERSION``
  (``<path>: get version failed``) and is grabbed exclusively (``<path>: grab device failed
  <errno>``). An empty path fails the open with ENOENT.
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import DeviceInitError, FileRef, ParseContext, register
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from typing import ClassVar

NULL_PATH = "virtio_input_init: evdev path is NULL"
SERIAL_MAX = 127  # char string[128] in struct virtio_input_config
ENOENT = 2


@register("virtio-input")
@dataclass(frozen=True)
class VirtioInput:
    """An evdev device passed to the guest; ``serial`` None means no serial was given."""

    EMULS: ClassVar[tuple[str, ...]] = ("virtio-input",)

    evdev: str
    serial: str | None = None

    emul: ClassVar[str] = "virtio-input"

    def __post_init__(self) -> None:
        if self.evdev == "":
            raise ConfigError("virtio-input.evdev", self.evdev,
                              f"an empty path: open  failed {ENOENT}")
        if "," in self.evdev:
            raise ConfigError("virtio-input.evdev", self.evdev,
                              "acrn-dm ends the path at ','; the rest is the serial")

    def render_config(self) -> str:
        return self.evdev if self.serial is None else f"{self.evdev},{self.serial}"

    @classmethod
    def parse_config(cls, emul: str, config: str | None, ctx: ParseContext) -> VirtioInput:
        if config is None:
            raise DeviceInitError("virtio-input", None, NULL_PATH)
        path, comma, serial = config.partition(",")
        if path == "":
            raise DeviceInitError("virtio-input.evdev", path, f"open  failed {ENOENT}")
        return cls(path, serial if comma else None)

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        out: list[tuple[str, object, str]] = []
        if not self.evdev.startswith("/dev/input/"):
            out.append(("virtio-input.evdev", self.evdev,
                        "not under /dev/input/: acrn-dm needs an evdev node (EVIOCGVERSION)"))
        if self.serial is not None and len(self.serial) > SERIAL_MAX:
            out.append(("virtio-input.serial", self.serial,
                        f"the guest sees only the first {SERIAL_MAX} characters"))
        return out

    def files(self) -> list[FileRef]:
        return [FileRef("virtio-input.evdev", self.evdev, "host")]
