"""A built guest image on disk: its manifest (``guest.json``) and where images live by default."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acrnkit.errors import AcrnkitError

MANIFEST = "guest.json"
#: Bump when the image layout or the /init contract changes: old images are rebuilt.
FORMAT = 1
GUEST_DIR_ENV = "ACRNKIT_GUEST_DIR"


class GuestImageError(AcrnkitError):
    """No usable guest image where one was expected."""


def default_guest_dir(environ: dict[str, str] | None = None) -> Path:
    """``$ACRNKIT_GUEST_DIR``, else ``${XDG_CACHE_HOME:-~/.cache}/acrnkit/guest``."""
    env = os.environ if environ is None else environ
    explicit = env.get(GUEST_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser().absolute()
    cache = env.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(cache) / "acrnkit" / "guest"


@dataclass(frozen=True)
class GuestImage:
    """What ``build_guest`` made. ``kernel`` is the image to boot: the uncompressed ``vmlinux``
    when one could be had (QEMU boots it through PVH, faster under TCG), else the bzImage."""

    directory: Path
    kernel: Path
    initrd: Path
    bzimage: Path
    vmlinux: Path | None
    kernel_release: str
    kernel_package: str
    kernel_version: str
    busybox_version: str
    modules: tuple[str, ...]
    stamp: str

    def to_json(self) -> dict[str, Any]:
        def rel(path: Path | None) -> str | None:
            return None if path is None else path.name

        return {
            "format": FORMAT, "stamp": self.stamp, "kernel": rel(self.kernel),
            "initrd": rel(self.initrd), "bzimage": rel(self.bzimage),
            "vmlinux": rel(self.vmlinux), "kernel_release": self.kernel_release,
            "kernel_package": self.kernel_package, "kernel_version": self.kernel_version,
            "busybox_version": self.busybox_version, "modules": list(self.modules),
        }

    @classmethod
    def from_json(cls, directory: Path, data: dict[str, Any]) -> GuestImage:
        def path(key: str) -> Path:
            value = data.get(key)
            if not isinstance(value, str) or "/" in value:
                raise GuestImageError(f"{directory / MANIFEST}: bad {key!r} entry")
            return directory / value

        vmlinux = data.get("vmlinux")
        return cls(
            directory=directory, kernel=path("kernel"), initrd=path("initrd"),
            bzimage=path("bzimage"), vmlinux=None if vmlinux is None else path("vmlinux"),
            kernel_release=str(data["kernel_release"]),
            kernel_package=str(data["kernel_package"]),
            kernel_version=str(data["kernel_version"]),
            busybox_version=str(data["busybox_version"]),
            modules=tuple(str(m) for m in data.get("modules", [])), stamp=str(data["stamp"]),
        )

    def files(self) -> tuple[Path, ...]:
        return tuple(p for p in (self.kernel, self.initrd, self.bzimage, self.vmlinux)
                     if p is not None)


def load_guest(directory: str | os.PathLike[str] | None = None) -> GuestImage:
    """The image built in ``directory`` (default: ``default_guest_dir()``); GuestImageError
    naming the fix (``acrnkit guest build``) when there is none or it is incomplete."""
    where = default_guest_dir() if directory is None else Path(directory)
    manifest = where / MANIFEST
    try:
        data = json.loads(manifest.read_text())
    except FileNotFoundError:
        raise GuestImageError(f"no guest image in {where}: run `acrnkit guest build --out "
                              f"{where}`") from None
    except (OSError, ValueError) as err:
        raise GuestImageError(f"{manifest}: unreadable ({err}); rebuild with `acrnkit guest "
                              "build`") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise GuestImageError(f"{manifest}: an older image format; rebuild with `acrnkit "
                              "guest build`")
    try:
        image = GuestImage.from_json(where, data)
    except KeyError as err:
        raise GuestImageError(f"{manifest}: missing {err}; rebuild with `acrnkit guest "
                              "build`") from None
    for path in image.files():
        if not path.is_file() or path.stat().st_size == 0:
            raise GuestImageError(f"guest image file {path} is missing; rebuild with "
                                  "`acrnkit guest build`")
    return image
