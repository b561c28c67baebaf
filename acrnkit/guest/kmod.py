"""Kernel modules of an extracted ``linux-image`` package: their ``.modinfo`` and load order.

Debian's package ships the ``.ko`` files but no ``modules.dep`` (``depmod`` runs at install
time, which we never do on the host), so the dependencies are read from each module's
``.modinfo`` ELF section: ``depends=`` (hard), ``softdep=pre: ...`` (what ``modprobe`` loads
first, e.g. ext4's ``crc32c``) and ``alias=`` (to resolve a soft dependency named by alias).
``.ko.xz`` and ``.ko.gz`` are decompressed; the result is written into the initramfs together
with a ``modules.dep`` in depmod's format, so busybox ``modprobe`` works in the guest too.
"""

from __future__ import annotations

import gzip
import lzma
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from acrnkit.errors import AcrnkitError

_SUFFIXES = (".ko", ".ko.xz", ".ko.gz")


class ModuleError(AcrnkitError):
    """A module that is missing from the package or cannot be read."""


def module_name(path: str | Path) -> str:
    """``drivers/char/hw_random/virtio-rng.ko.xz`` -> ``virtio_rng`` (kmod's normalisation)."""
    name = Path(path).name
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.replace("-", "_")


def read_module(path: Path) -> bytes:
    """The uncompressed ELF of a module file."""
    data = path.read_bytes()
    if path.name.endswith(".xz"):
        return lzma.decompress(data)
    if path.name.endswith(".gz"):
        return gzip.decompress(data)
    return data


def modinfo(elf: bytes) -> dict[str, list[str]]:
    """The ``key=value`` strings of the ``.modinfo`` section of an ELF64 little-endian object."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise ModuleError("not an ELF64 little-endian object")
    shoff = struct.unpack_from("<Q", elf, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)

    def section(index: int) -> tuple[int, int, int]:
        base = shoff + index * shentsize
        name, = struct.unpack_from("<I", elf, base)
        offset, size = struct.unpack_from("<QQ", elf, base + 0x18)
        return name, offset, size

    _, str_off, str_size = section(shstrndx)
    strtab = elf[str_off:str_off + str_size]
    info: dict[str, list[str]] = {}
    for index in range(shnum):
        name_off, offset, size = section(index)
        name = strtab[name_off:strtab.index(b"\0", name_off)]
        if name != b".modinfo":
            continue
        for item in elf[offset:offset + size].split(b"\0"):
            key, eq, value = item.decode("utf-8", "replace").partition("=")
            if eq:
                info.setdefault(key, []).append(value)
    return info


@dataclass(frozen=True)
class Module:
    name: str
    #: path relative to ``lib/modules/<release>/`` as the package has it (maybe ``.ko.xz``)
    relpath: str
    depends: tuple[str, ...]
    softdeps: tuple[str, ...]

    @property
    def target(self) -> str:
        """The path in the initramfs: always an uncompressed ``.ko``."""
        for suffix in (".ko.xz", ".ko.gz"):
            if self.relpath.endswith(suffix):
                return self.relpath[: -len(suffix)] + ".ko"
        return self.relpath


class ModuleIndex:
    """Every module under ``<root>/lib/modules/<release>/``, read lazily."""

    def __init__(self, moddir: Path) -> None:
        self.moddir = moddir
        self.paths: dict[str, Path] = {}
        for suffix in _SUFFIXES:
            for path in sorted(moddir.rglob(f"*{suffix}")):
                self.paths.setdefault(module_name(path), path)
        builtin = moddir / "modules.builtin"
        self.builtin: frozenset[str] = frozenset(
            module_name(line.strip()) for line in builtin.read_text().splitlines()
            if line.strip()) if builtin.exists() else frozenset()
        self._cache: dict[str, Module] = {}
        self._aliases: dict[str, list[str]] | None = None

    def get(self, name: str) -> Module:
        key = name.replace("-", "_")
        if key in self._cache:
            return self._cache[key]
        path = self.paths.get(key)
        if path is None:
            raise ModuleError(f"module {name!r} is not in {self.moddir}")
        info = modinfo(read_module(path))
        depends = tuple(d.replace("-", "_") for value in info.get("depends", [])
                        for d in value.split(",") if d)
        softdeps: list[str] = []
        for value in info.get("softdep", []):
            words = value.split()
            pre = False
            for word in words:
                if word in ("pre:", "post:"):
                    pre = word == "pre:"
                elif pre:
                    softdeps.append(word)
        module = Module(key, str(path.relative_to(self.moddir)), depends, tuple(softdeps))
        self._cache[key] = module
        return module

    def resolve_alias(self, name: str) -> str | None:
        """A module name for ``name``: itself, or the module whose ``alias=`` matches (a
        ``*_generic`` implementation preferred: it runs on any CPU, e.g. TCG's qemu64)."""
        key = name.replace("-", "_")
        if key in self.paths:
            return key
        if key in self.builtin:
            return None
        if self._aliases is None:
            self._aliases = {}
            for mod in self.paths:
                try:
                    info = modinfo(read_module(self.paths[mod]))
                except (ModuleError, OSError, lzma.LZMAError, struct.error, ValueError):
                    continue
                for alias in info.get("alias", []):
                    self._aliases.setdefault(alias, []).append(mod)
        found = self._aliases.get(name, [])
        if not found:
            return None
        return sorted(found, key=lambda m: (not m.endswith("_generic"), m))[0]

    def closure(self, wanted: Iterable[str], *, optional: Iterable[str] = ()) -> list[Module]:
        """``wanted`` and everything they need, dependencies first (a load order for insmod).

        A wanted module that is built into the kernel is skipped; one that does not exist at all
        raises ModuleError. ``optional`` names are taken when present and skipped otherwise.
        """
        order: list[Module] = []
        seen: set[str] = set()

        def visit(name: str, stack: tuple[str, ...]) -> None:
            key = name.replace("-", "_")
            if key in seen or key in self.builtin:
                return
            if key in stack:
                raise ModuleError(f"module dependency cycle: {' -> '.join(stack + (key,))}")
            module = self.get(key)
            for dep in module.depends:
                visit(dep, stack + (key,))
            for soft in module.softdeps:
                resolved = self.resolve_alias(soft)
                if resolved is not None:
                    visit(resolved, stack + (key,))
            seen.add(key)
            order.append(module)

        for name in wanted:
            key = name.replace("-", "_")
            if key in self.builtin:
                continue
            visit(key, ())
        for name in optional:
            key = name.replace("-", "_")
            if key in self.paths:
                visit(key, ())
        return order


def modules_dep(modules: Iterable[Module]) -> str:
    """depmod's ``modules.dep``: ``path: dep-path dep-path`` (deps in load-later-first order)."""
    mods = list(modules)
    by_name = {m.name: m for m in mods}
    lines = []
    def walk(name: str, deps: list[str]) -> list[str]:
        for dep in by_name[name].depends:
            if dep in by_name and by_name[dep].target not in deps:
                deps.append(by_name[dep].target)
                walk(dep, deps)
        return deps

    for mod in mods:
        deps = walk(mod.name, [])
        lines.append(f"{mod.target}: {' '.join(deps)}".rstrip())
    return "\n".join(lines) + "\n"
