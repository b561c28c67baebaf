"""``build_guest(out_dir)``: a small Linux guest from Debian packages, cached and idempotent.

Inputs are two packages fetched with ``apt-get download`` (never installed on the host):

* ``linux-image-<abi>-amd64`` (the one ``linux-image-amd64`` points at, or ``kernel_package``):
  its bzImage, the ``vmlinux`` inside it (booted through PVH when the ELF has the note) and the
  modules ``/init`` loads (:data:`acrnkit.guest.initramfs.MODULES` and their dependencies);
* ``busybox-static``: the whole userspace.

The result in ``out_dir``: ``vmlinux-<release>`` (when extractable), ``vmlinuz-<release>``,
``initrd-<release>.cpio`` (an uncompressed newc archive: nothing to inflate at boot) and
``guest.json``. The stamp is a SHA-256 over the two packages' contents, the module list, the
init scripts and the builder format; a build whose stamp matches the manifest does nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from acrnkit.errors import AcrnkitError
from acrnkit.guest import debian, initramfs
from acrnkit.guest.debian import DebFile, PackageError
from acrnkit.guest.image import FORMAT, MANIFEST, GuestImage, default_guest_dir, load_guest
from acrnkit.guest.kmod import ModuleIndex, read_module
from acrnkit.guest.vmlinux import KernelImageError, extract_vmlinux, has_pvh_note

BUSYBOX_PACKAGE = "busybox-static"

Log = Callable[[str], None]


class GuestBuildError(AcrnkitError):
    """The guest cannot be built; the message says why and what to do."""


def _say(text: str) -> None:
    print(f"acrnkit guest: {text}", flush=True)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One build per directory at a time (parallel CI jobs share the cache)."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def recipe_digest() -> str:
    """What of the recipe (not the packages) goes into the stamp."""
    digest = hashlib.sha256()
    for part in (str(FORMAT), initramfs.INIT, initramfs.GETTY_WAIT, initramfs.POWER_BUTTON,
                 initramfs.UDHCPC_SCRIPT, initramfs.PROFILE, initramfs.PASSWD, initramfs.GROUP,
                 ",".join(initramfs.MODULES), ",".join(initramfs.OPTIONAL_MODULES)):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def _stamp(kernel: DebFile, busybox: DebFile) -> str:
    digest = hashlib.sha256()
    for part in (recipe_digest(), kernel.package, kernel.sha256, busybox.package,
                 busybox.sha256):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:32]


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _applets(busybox: Path) -> list[str]:
    """``busybox --list-full`` run on the host (it is a static x86-64 binary); empty when it
    cannot run here, in which case /init installs the links at boot."""
    try:
        done = subprocess.run([str(busybox), "--list-full"], capture_output=True, text=True,
                              timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return done.stdout.split() if done.returncode == 0 else []


def build_guest(out_dir: str | os.PathLike[str] | None = None, *,
                kernel_package: str | None = None, install: bool = True, force: bool = False,
                log: Log | None = None) -> GuestImage:
    """Build (or find up to date) the guest image in ``out_dir`` and return it.

    ``install``: as root, ``apt-get install`` the host's missing qemu-system-x86 (needed to boot
    the guest, not to build it). ``force``: rebuild even when the stamp matches.
    Raises GuestBuildError (one line: what failed and what to do).
    """
    say = log or _say
    out = default_guest_dir() if out_dir is None else Path(out_dir).absolute()
    try:
        with _locked(out):
            return _build(out, kernel_package, install, force, say)
    except (PackageError, KernelImageError) as err:
        raise GuestBuildError(str(err)) from None
    except OSError as err:
        raise GuestBuildError(f"building the guest in {out} failed: {err}") from None


def _build(out: Path, kernel_package: str | None, install: bool, force: bool,
           say: Log) -> GuestImage:
    still_missing = debian.ensure_host_packages(say, install=install)
    if still_missing:
        say(f"note: {', '.join(still_missing)} missing: the image builds, but booting it needs "
            "qemu-system-x86_64")
    try:
        package = kernel_package or debian.resolve_kernel_package(say)
        debs = out / "debs"
        kernel_deb = debian.download(package, debs, say)
        busybox_deb = debian.download(BUSYBOX_PACKAGE, debs, say)
    except PackageError as err:
        # Offline with a finished image: keep using it rather than failing the run.
        with contextlib.suppress(AcrnkitError):
            image = load_guest(out)
            say(f"cannot check the packages ({err}); keeping the image built from "
                f"{image.kernel_package} {image.kernel_version}")
            return image
        raise
    stamp = _stamp(kernel_deb, busybox_deb)
    if not force:
        with contextlib.suppress(AcrnkitError):
            image = load_guest(out)
            if image.stamp == stamp:
                say(f"guest image up to date in {out} (kernel {image.kernel_release}, stamp "
                    f"{stamp[:12]})")
                return image
    with tempfile.TemporaryDirectory(prefix=".build-", dir=out) as scratch:
        return _assemble(out, Path(scratch), kernel_deb, busybox_deb, stamp, say)


def _assemble(out: Path, scratch: Path, kernel_deb: DebFile, busybox_deb: DebFile, stamp: str,
              say: Log) -> GuestImage:
    root = scratch / "root"
    say(f"extracting {kernel_deb.path.name} and {busybox_deb.path.name} (dpkg-deb -x)")
    debian.extract(kernel_deb.path, root)
    debian.extract(busybox_deb.path, root)

    moddirs = sorted(p for p in (root / "lib" / "modules").glob("*") if p.is_dir()) + sorted(
        p for p in (root / "usr" / "lib" / "modules").glob("*") if p.is_dir())
    if not moddirs:
        raise GuestBuildError(f"{kernel_deb.package} has no lib/modules/<release>: not a "
                              "kernel image package")
    moddir = moddirs[0]
    release = moddir.name
    boot = root / "boot"
    bzimage_src = boot / f"vmlinuz-{release}"
    if not bzimage_src.is_file():
        raise GuestBuildError(f"{kernel_deb.package} ships no boot/vmlinuz-{release}")
    bzimage_bytes = bzimage_src.read_bytes()

    vmlinux_bytes: bytes | None = None
    shipped = boot / f"vmlinux-{release}"
    if shipped.is_file():
        vmlinux_bytes = shipped.read_bytes()
        say(f"the package ships vmlinux-{release}")
    else:
        try:
            vmlinux_bytes = extract_vmlinux(bzimage_bytes)
            say(f"extracted vmlinux ({len(vmlinux_bytes) >> 20} MiB) from the bzImage payload")
        except KernelImageError as err:
            say(f"no vmlinux ({err}); the guest boots the bzImage")
    if vmlinux_bytes is not None and not has_pvh_note(vmlinux_bytes):
        say("the vmlinux has no PVH entry note (CONFIG_PVH): QEMU cannot boot it; using the "
            "bzImage")
        vmlinux_bytes = None

    index = ModuleIndex(moddir)
    modules = index.closure(initramfs.MODULES, optional=initramfs.OPTIONAL_MODULES)
    say(f"kernel {release}: modules {' '.join(m.name for m in modules)}")

    busybox = root / "bin" / "busybox"
    if not busybox.is_file():
        raise GuestBuildError(f"{busybox_deb.package} ships no bin/busybox")
    applets = _applets(busybox)
    if not applets:
        say("cannot run busybox here: /init will install its applet links at boot")
    archive = initramfs.build_archive(
        busybox.read_bytes(), applets, release,
        [(m, read_module(moddir / m.relpath)) for m in modules])
    cpio = archive.to_bytes()

    bzimage = out / f"vmlinuz-{release}"
    initrd = out / f"initrd-{release}.cpio"
    vmlinux = out / f"vmlinux-{release}" if vmlinux_bytes is not None else None
    _write_atomic(bzimage, bzimage_bytes)
    _write_atomic(initrd, cpio)
    if vmlinux is not None and vmlinux_bytes is not None:
        _write_atomic(vmlinux, vmlinux_bytes)
    image = GuestImage(
        directory=out, kernel=vmlinux or bzimage, initrd=initrd, bzimage=bzimage,
        vmlinux=vmlinux, kernel_release=release, kernel_package=kernel_deb.package,
        kernel_version=kernel_deb.version, busybox_version=busybox_deb.version,
        modules=tuple(m.name for m in modules), stamp=stamp,
    )
    _write_atomic(out / MANIFEST, (json.dumps(image.to_json(), indent=2) + "\n").encode())
    keep = {p.name for p in image.files()} | {MANIFEST}
    for old in out.iterdir():
        if old.is_file() and old.name.startswith(("vmlinux-", "vmlinuz-", "initrd-")) \
                and old.name not in keep:
            old.unlink()
            say(f"removed the stale {old.name}")
    with contextlib.suppress(OSError):
        shutil.rmtree(root)
    say(f"built the guest in {out}: kernel {image.kernel.name}, initrd {initrd.name} "
        f"({len(cpio) >> 10} KiB, {len(archive)} entries), stamp {stamp[:12]}")
    return image
