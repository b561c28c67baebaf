"""What the checker may ask about the machine acrn-dm would run on.

``StaticHost`` answers "fine" to everything: ``acrnkit check`` without ``--files`` judges the argv
alone. ``LocalHost`` looks at this machine's files for what acrn-dm opens (images, disks,
sockets, ttys); hardware that acrnkit does not model (hugepages, MADT, iasl, /dev/vhost-vsock,
passthrough devices) passes, as on a healthy ACRN host, unless ``strict`` is set.
"""

from __future__ import annotations

import os
import stat

from acrnkit._records import TYPE_CHECKING, dataclass

if TYPE_CHECKING:
    from typing import Protocol

    class Host(Protocol):
        @property
        def strict(self) -> bool: ...

        def size(self, path: str) -> int | None: ...

        def is_regular(self, path: str) -> bool: ...

        def is_dir(self, path: str) -> bool: ...

        def is_tty(self, path: str) -> bool: ...

        def is_socket(self, path: str) -> bool: ...

        def host_resource(self, path: str) -> bool: ...


@dataclass(frozen=True)
class StaticHost:
    """Every file exists, has a good size and is of the right kind."""

    strict: bool = False

    def size(self, path: str) -> int | None:
        # 64 KiB: a multiple of 512 and within every check_image() limit (the smallest is OVMF's
        # 128 KB vars image)
        return 64 << 10

    def is_tty(self, path: str) -> bool:
        return True

    def is_regular(self, path: str) -> bool:
        return True

    def is_dir(self, path: str) -> bool:
        return False

    def is_socket(self, path: str) -> bool:
        return True

    def host_resource(self, path: str) -> bool:
        return True


@dataclass(frozen=True)
class LocalHost:
    """Real file checks on this machine; ``strict`` also requires host resources to exist."""

    strict: bool = False

    def size(self, path: str) -> int | None:
        """What acrn-dm's check_image() reads: ``fopen(path, "r")`` (None when it fails), then
        ``fseek(SEEK_END)``/``ftell``. A directory opens too; its "size" is what the file
        system answers (huge on ext4), or 0 where seeking it fails (tmpfs)."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            return os.lseek(fd, 0, os.SEEK_END)
        except OSError:
            return 0
        finally:
            os.close(fd)

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(path)

    def is_regular(self, path: str) -> bool:
        try:
            return stat.S_ISREG(os.stat(path).st_mode)
        except OSError:
            return False

    def is_tty(self, path: str) -> bool:
        try:
            fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError:
            return False
        try:
            return os.isatty(fd)
        finally:
            os.close(fd)

    def is_socket(self, path: str) -> bool:
        try:
            return stat.S_ISSOCK(os.stat(path).st_mode)
        except OSError:
            return False

    def host_resource(self, path: str) -> bool:
        return (not self.strict) or os.path.exists(path)
