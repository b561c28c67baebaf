"""A deterministic writer for the ``newc`` cpio format (what the Linux initramfs unpacker reads).

Entries are kept in memory and written in insertion order; parents are created on demand.
Every entry gets mtime 0, uid/gid 0 and inode numbers counted from 1, so the same tree always
gives the same bytes (the build's content hash relies on it). Device nodes are plain header
records, so ``/dev/console`` needs no ``mknod`` and no root.

Format (``Documentation/driver-api/early-userspace/buffer-format.rst``): a 110-byte ASCII header
``070701`` + 13 eight-digit hex fields, the NUL-terminated name padded to 4 bytes, the data
padded to 4 bytes; the archive ends with the entry ``TRAILER!!!``.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass

MAGIC = b"070701"
TRAILER = "TRAILER!!!"


@dataclass(frozen=True)
class Entry:
    """One archive member. ``path`` is relative (no leading ``/``); ``mode`` includes the type."""

    path: str
    mode: int
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)

    @property
    def kind(self) -> str:
        if stat.S_ISDIR(self.mode):
            return "dir"
        if stat.S_ISLNK(self.mode):
            return "symlink"
        if stat.S_ISCHR(self.mode) or stat.S_ISBLK(self.mode):
            return "device"
        return "file"


def _norm(path: str) -> str:
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise ValueError(f"bad archive path {path!r}")
    return "/".join(parts)


class Archive:
    """An ordered set of entries; adding a path twice replaces the earlier entry's content."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def __contains__(self, path: str) -> bool:
        return _norm(path) in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, path: str) -> Entry | None:
        return self._entries.get(_norm(path))

    def _add(self, entry: Entry) -> None:
        parent = entry.path.rpartition("/")[0]
        if parent and parent not in self._entries:
            self.mkdir(parent)
        existing = self._entries.get(parent) if parent else None
        if existing is not None and existing.kind != "dir":
            raise ValueError(f"{parent!r} is not a directory in the archive")
        self._entries[entry.path] = entry

    def mkdir(self, path: str, mode: int = 0o755) -> None:
        path = _norm(path)
        if path in self._entries:
            return
        self._add(Entry(path, stat.S_IFDIR | mode))

    def file(self, path: str, data: bytes | str, mode: int = 0o644) -> None:
        raw = data.encode() if isinstance(data, str) else data
        self._add(Entry(_norm(path), stat.S_IFREG | mode, raw))

    def symlink(self, path: str, target: str) -> None:
        self._add(Entry(_norm(path), stat.S_IFLNK | 0o777, target.encode()))

    def chardev(self, path: str, major: int, minor: int, mode: int = 0o600) -> None:
        self._add(Entry(_norm(path), stat.S_IFCHR | mode, rdev=(major, minor)))

    def to_bytes(self) -> bytes:
        out = bytearray()
        for ino, entry in enumerate(self._entries.values(), start=1):
            _record(out, ino, entry)
        _record(out, 0, Entry(TRAILER, 0))
        # The kernel reads the archive in 512-byte blocks like cpio(1) writes them.
        out += b"\0" * (-len(out) % 512)
        return bytes(out)


def _record(out: bytearray, ino: int, entry: Entry) -> None:
    name = entry.path.encode() + b"\0"
    nlink = 2 if entry.kind == "dir" else 1
    fields = (ino, entry.mode, 0, 0, nlink, 0, len(entry.data), 0, 0,
              entry.rdev[0], entry.rdev[1], len(name), 0)
    out += MAGIC + b"".join(b"%08X" % value for value in fields)
    out += name
    out += b"\0" * (-len(out) % 4)
    out += entry.data
    out += b"\0" * (-len(out) % 4)


def read_newc(data: bytes) -> list[Entry]:
    """Parse a newc archive (for tests and ``acrnkit guest info``); stops at the trailer."""
    entries: list[Entry] = []
    pos = 0
    while pos + 110 <= len(data):
        if data[pos:pos + 6] != MAGIC:
            raise ValueError(f"bad cpio magic at offset {pos}")
        values = [int(data[pos + 6 + 8 * i:pos + 14 + 8 * i], 16) for i in range(13)]
        mode, size, rmaj, rmin, namesize = (values[1], values[6], values[9], values[10],
                                            values[11])
        pos += 110
        name = data[pos:pos + namesize - 1].decode()
        pos += namesize
        pos += -pos % 4
        body = data[pos:pos + size]
        pos += size
        pos += -pos % 4
        if name == TRAILER:
            break
        entries.append(Entry(name, mode, body, (rmaj, rmin)))
    return entries
