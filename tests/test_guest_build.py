"""``acrnkit guest build``: cpio writer, module dependencies, vmlinux extraction, the initramfs,
the manifest, and the whole build on synthetic Debian packages (no network). The real image
(built by ``acrnkit guest build``) is inspected when present (``qemu`` marker)."""

from __future__ import annotations

import json
import lzma
import shutil
import stat
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from acrnkit.guest import GuestImageError, build_guest, debian, initramfs, load_guest
from acrnkit.guest import build as build_mod
from acrnkit.guest.cli import main as guest_main
from acrnkit.guest.cpio import Archive, read_newc
from acrnkit.guest.debian import DebFile
from acrnkit.guest.kmod import ModuleError, ModuleIndex, modinfo, module_name, modules_dep
from acrnkit.guest.vmlinux import (
    KernelImageError,
    extract_vmlinux,
    has_pvh_note,
    is_bzimage,
)

RELEASE = "6.9.0-test-amd64"


# --- synthetic ELF objects ----------------------------------------------------------------------

def make_module(info: dict[str, list[str]] | None = None) -> bytes:
    """An ELF64 relocatable with a .modinfo section (what modinfo() reads)."""
    modinfo_data = b"".join(f"{k}={v}".encode() + b"\0"
                            for k, values in (info or {}).items() for v in values)
    shstrtab = b"\0.modinfo\0.shstrtab\0"
    body = modinfo_data + shstrtab
    shoff = 64 + len(body)
    shoff += -shoff % 8
    header = bytearray(64)
    header[:16] = b"\x7fELF\x02\x01\x01" + bytes(9)
    struct.pack_into("<HHIQQQIHHHHHH", header, 16, 1, 0x3E, 1, 0, 0, shoff, 0, 64, 0, 0, 64,
                     3, 2)

    def section(name: int, kind: int, offset: int, size: int) -> bytes:
        return struct.pack("<IIQQQQIIQQ", name, kind, 0, 0, offset, size, 0, 0, 1, 0)

    sections = (bytes(64) + section(1, 1, 64, len(modinfo_data))
                + section(10, 3, 64 + len(modinfo_data), len(shstrtab)))
    blob = bytes(header) + body
    blob += bytes(shoff - len(blob))
    return blob + sections


def make_pvh_elf(pvh: bool = True) -> bytes:
    """An ELF64 executable with one PT_NOTE holding the Xen PVH entry note."""
    note = struct.pack("<III", 4, 4, 18 if pvh else 17) + b"Xen\0" + struct.pack("<I", 0x1000000)
    header = bytearray(64)
    header[:16] = b"\x7fELF\x02\x01\x01" + bytes(9)
    struct.pack_into("<HHIQQQIHHHHHH", header, 16, 2, 0x3E, 1, 0x1000000, 64, 0, 0, 64, 56, 1,
                     64, 0, 0)
    offset = 64 + 56
    phdr = struct.pack("<IIQQQQQQ", 4, 4, offset, 0, 0, len(note), len(note), 4)
    return bytes(header) + phdr + note + b"kernel text" * 100


def make_bzimage(payload: bytes, payload_offset: int = 0x20) -> bytes:
    setup = bytearray(2 * 512)  # boot sector + one setup sector
    setup[0x1F1] = 1
    setup[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", setup, 0x206, 0x20F)
    struct.pack_into("<II", setup, 0x248, payload_offset, len(payload))
    # The kernel appends the uncompressed size after the payload; it must be ignored.
    return bytes(setup) + bytes(payload_offset) + payload + struct.pack("<I", 123) + b"SIG"


# --- cpio ---------------------------------------------------------------------------------------

def test_cpio_round_trip_and_determinism() -> None:
    arc = Archive()
    arc.file("init", "#!/bin/sh\n", 0o755)
    arc.file("lib/modules/x/a.ko", b"\x7fELF" + bytes(13))
    arc.symlink("bin/sh", "/bin/busybox")
    arc.chardev("dev/console", 5, 1)
    data = arc.to_bytes()
    assert data == arc.to_bytes()
    assert len(data) % 512 == 0
    entries = {e.path: e for e in read_newc(data)}
    assert list(entries) == ["init", "lib", "lib/modules", "lib/modules/x",
                             "lib/modules/x/a.ko", "bin", "bin/sh", "dev", "dev/console"]
    assert entries["init"].data == b"#!/bin/sh\n" and entries["init"].mode & 0o777 == 0o755
    assert entries["bin/sh"].kind == "symlink" and entries["bin/sh"].data == b"/bin/busybox"
    assert entries["dev/console"].kind == "device" and entries["dev/console"].rdev == (5, 1)
    assert stat.S_ISDIR(entries["lib/modules"].mode)


def test_cpio_rejects_bad_paths() -> None:
    arc = Archive()
    with pytest.raises(ValueError):
        arc.file("../etc/passwd", "x")
    arc.file("etc", "not a dir")
    with pytest.raises(ValueError):
        arc.file("etc/passwd", "x")


@pytest.mark.skipif(shutil.which("cpio") is None, reason="cpio(1) not installed")
def test_cpio_tool_reads_our_archive(tmp_path: Path) -> None:
    arc = Archive()
    arc.file("etc/hello", "hello\n")
    arc.symlink("etc/link", "hello")
    done = subprocess.run(["cpio", "-t", "--quiet"], input=arc.to_bytes(), capture_output=True,
                          check=True)
    assert done.stdout.decode().split() == ["etc", "etc/hello", "etc/link"]
    subprocess.run(["cpio", "-id", "--quiet"], input=arc.to_bytes(), cwd=tmp_path, check=True)
    assert (tmp_path / "etc" / "hello").read_text() == "hello\n"
    assert (tmp_path / "etc" / "link").is_symlink()


# --- kernel modules -----------------------------------------------------------------------------

def test_modinfo_and_names() -> None:
    elf = make_module({"depends": ["virtio,virtio_ring"], "alias": ["crc32c", "crypto-crc32c"],
                       "softdep": ["pre: crc32c post: foo"]})
    info = modinfo(elf)
    assert info["depends"] == ["virtio,virtio_ring"]
    assert info["alias"] == ["crc32c", "crypto-crc32c"]
    assert module_name("drivers/char/hw_random/virtio-rng.ko.xz") == "virtio_rng"
    with pytest.raises(ModuleError):
        modinfo(b"not an elf")


def _tree(root: Path) -> Path:
    moddir = root / "lib" / "modules" / RELEASE
    mods = {
        "kernel/drivers/virtio/virtio.ko": {},
        "kernel/drivers/virtio/virtio_ring.ko": {},
        "kernel/drivers/virtio/virtio_pci.ko": {"depends": ["virtio,virtio_ring"]},
        "kernel/drivers/block/virtio_blk.ko": {"depends": ["virtio,virtio_ring"]},
        "kernel/drivers/net/virtio_net.ko": {"depends": ["net_failover,virtio,virtio_ring"]},
        "kernel/drivers/net/net_failover.ko": {"depends": ["failover"]},
        "kernel/net/core/failover.ko": {},
        "kernel/drivers/char/virtio_console.ko": {"depends": ["virtio,virtio_ring"]},
        "kernel/drivers/char/hw_random/virtio-rng.ko": {"depends": ["virtio,virtio_ring"]},
        "kernel/fs/ext4/ext4.ko": {"depends": ["jbd2"], "softdep": ["pre: crc32c"]},
        "kernel/fs/jbd2/jbd2.ko": {},
        "kernel/crypto/crc32c_generic.ko": {"alias": ["crc32c"]},
        "kernel/arch/x86/crypto/crc32c-intel.ko": {"alias": ["crc32c"]},
        "kernel/drivers/acpi/button.ko": {},
    }
    for rel, info in mods.items():
        path = moddir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make_module(info))
    xz = moddir / "kernel/net/vmw_vsock/vmw_vsock_virtio_transport.ko.xz"
    xz.parent.mkdir(parents=True, exist_ok=True)
    xz.write_bytes(lzma.compress(make_module({"depends": ["virtio,virtio_ring"]})))
    (moddir / "modules.builtin").write_text("kernel/drivers/input/evdev.ko\n")
    return moddir


def test_closure_orders_dependencies_first(tmp_path: Path) -> None:
    index = ModuleIndex(_tree(tmp_path))
    order = [m.name for m in index.closure(initramfs.MODULES,
                                           optional=initramfs.OPTIONAL_MODULES)]
    for before, after in (("virtio", "virtio_pci"), ("failover", "net_failover"),
                          ("net_failover", "virtio_net"), ("jbd2", "ext4"),
                          ("crc32c_generic", "ext4")):
        assert order.index(before) < order.index(after)
    assert "evdev" not in order, "built in: nothing to load"
    assert "crc32c_intel" not in order, "the generic implementation is preferred"
    assert order[-1] == "vmw_vsock_virtio_transport"
    assert len(order) == len(set(order))
    with pytest.raises(ModuleError, match="nosuch"):
        index.closure(["nosuch"])


def test_modules_dep_format(tmp_path: Path) -> None:
    index = ModuleIndex(_tree(tmp_path))
    mods = index.closure(["virtio_net", "vmw_vsock_virtio_transport"])
    dep = modules_dep(mods).splitlines()
    assert "kernel/drivers/virtio/virtio.ko:" in dep
    line = next(x for x in dep if x.startswith("kernel/drivers/net/virtio_net.ko:"))
    assert line.split(": ")[1].split() == ["kernel/drivers/net/net_failover.ko",
                                           "kernel/net/core/failover.ko",
                                           "kernel/drivers/virtio/virtio.ko",
                                           "kernel/drivers/virtio/virtio_ring.ko"]
    assert any(x.startswith("kernel/net/vmw_vsock/vmw_vsock_virtio_transport.ko:") for x in dep)


# --- vmlinux ------------------------------------------------------------------------------------

@pytest.mark.parametrize("compress", [lzma.compress, zlib.compress])
def test_extract_vmlinux_from_bzimage(compress: object) -> None:
    elf = make_pvh_elf()
    if compress is zlib.compress:
        c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        payload = c.compress(elf) + c.flush()
    else:
        payload = lzma.compress(elf, format=lzma.FORMAT_XZ)
    image = make_bzimage(payload)
    assert is_bzimage(image)
    assert extract_vmlinux(image) == elf
    assert has_pvh_note(elf)
    assert not has_pvh_note(make_pvh_elf(pvh=False))


def test_extract_vmlinux_errors() -> None:
    with pytest.raises(KernelImageError, match="HdrS"):
        extract_vmlinux(b"\0" * 4096)
    with pytest.raises(KernelImageError, match="compression"):
        extract_vmlinux(make_bzimage(b"\x01\x02\x03\x04\x05\x06" * 10))


# --- the initramfs ------------------------------------------------------------------------------

def test_initramfs_layout(tmp_path: Path) -> None:
    index = ModuleIndex(_tree(tmp_path))
    mods = index.closure(initramfs.MODULES)
    arc = initramfs.build_archive(b"BUSYBOX", ["/bin/sh", "/sbin/getty", "/bin/busybox"],
                                  RELEASE, [(m, b"ELF:" + m.name.encode()) for m in mods])
    entries = {e.path: e for e in read_newc(arc.to_bytes())}
    init = entries["init"]
    assert init.mode & 0o111 and b'MODULES_RELEASE="' + RELEASE.encode() in init.data
    assert entries["bin/sh"].kind == "symlink" and entries["bin/busybox"].data == b"BUSYBOX"
    assert entries["dev/console"].rdev == (5, 1)
    assert entries["etc/passwd"].data == b"root::0:0:root:/root:/bin/sh\n"
    assert b"PS1='# '" in entries["etc/profile"].data
    load = entries["etc/acrnkit/modules.load"].data.decode().split("\n")
    assert load[0].split() == [mods[0].name, mods[0].target]
    assert f"lib/modules/{RELEASE}/modules.dep" in entries
    assert entries["etc/acpi/PWRF/00000080"].mode & 0o111


def test_initramfs_without_applet_list_installs_links_at_boot() -> None:
    arc = initramfs.build_archive(b"BB", [], RELEASE, [])
    init = arc.get("init")
    assert init is not None and b"/bin/busybox --install -s" in init.data


@pytest.mark.skipif(shutil.which("sh") is None, reason="no POSIX sh to syntax-check /init")
@pytest.mark.parametrize("script", ["INIT", "GETTY_WAIT", "UDHCPC_SCRIPT", "POWER_BUTTON"])
def test_guest_scripts_parse(tmp_path: Path, script: str) -> None:
    path = tmp_path / "script"
    path.write_text(getattr(initramfs, script))
    done = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


# --- the whole build on synthetic packages -----------------------------------------------------

def _deb(root: Path, package: str, version: str, out: Path) -> DebFile:
    (root / "DEBIAN").mkdir(parents=True, exist_ok=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: {version}\nArchitecture: amd64\n"
        "Maintainer: acrnkit tests <t@example.invalid>\nDescription: test package\n")
    path = out / f"{package}_{version}_amd64.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-b", str(root), str(path)],
                   check=True, capture_output=True)
    return DebFile(package, version, path, debian.sha256_file(path))


@pytest.fixture
def fake_debs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, DebFile]:
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb not installed")
    kernel_root = tmp_path / "pkg-kernel"
    _tree(kernel_root)
    boot = kernel_root / "boot"
    boot.mkdir()
    (boot / f"vmlinuz-{RELEASE}").write_bytes(make_bzimage(lzma.compress(make_pvh_elf())))
    bb_root = tmp_path / "pkg-busybox"
    (bb_root / "bin").mkdir(parents=True)
    busybox = bb_root / "bin" / "busybox"
    busybox.write_text("#!/bin/sh\necho /bin/busybox /bin/sh /sbin/init /sbin/getty\n")
    busybox.chmod(0o755)
    out = tmp_path / "debs-src"
    out.mkdir()
    debs = {"linux-image-6.9.0-test-amd64": _deb(kernel_root, "linux-image-6.9.0-test-amd64",
                                                 "6.9.1-1", out),
            "busybox-static": _deb(bb_root, "busybox-static", "1:1.36.1-1", out)}
    monkeypatch.setattr(debian, "resolve_kernel_package",
                        lambda log: "linux-image-6.9.0-test-amd64")
    monkeypatch.setattr(debian, "download", lambda package, cache, log: debs[package])
    monkeypatch.setattr(debian, "ensure_host_packages", lambda log, install=True: [])
    return debs


def test_build_is_cached_and_idempotent(tmp_path: Path, fake_debs: dict[str, DebFile]) -> None:
    out = tmp_path / "guest"
    said: list[str] = []
    image = build_guest(out, log=said.append)
    assert image.kernel_release == RELEASE
    assert image.vmlinux is not None and image.kernel == image.vmlinux
    assert image.vmlinux.read_bytes() == make_pvh_elf()
    assert image.bzimage.name == f"vmlinuz-{RELEASE}"
    assert image.initrd.name == f"initrd-{RELEASE}.cpio"
    assert "virtio_blk" in image.modules and "ext4" in image.modules
    assert any(line.startswith("built the guest") for line in said)
    entries = {e.path: e for e in read_newc(image.initrd.read_bytes())}
    assert entries["sbin/getty"].kind == "symlink"
    assert f"lib/modules/{RELEASE}/kernel/fs/ext4/ext4.ko" in entries
    assert f"lib/modules/{RELEASE}/kernel/net/vmw_vsock/vmw_vsock_virtio_transport.ko" in entries
    assert load_guest(out) == image
    assert not list(out.glob(".build-*")), "the scratch tree is gone"

    said.clear()
    mtime = image.initrd.stat().st_mtime_ns
    again = build_guest(out, log=said.append)
    assert again == image
    assert image.initrd.stat().st_mtime_ns == mtime
    assert any("up to date" in line for line in said)

    said.clear()
    forced = build_guest(out, force=True, log=said.append)
    assert forced.stamp == image.stamp and any("built the guest" in x for x in said)


def test_recipe_change_rebuilds_and_removes_stale_files(tmp_path: Path,
                                                         fake_debs: dict[str, DebFile],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "guest"
    first = build_guest(out, log=lambda s: None)
    (out / "vmlinuz-5.0.0-old-amd64").write_bytes(b"old")
    monkeypatch.setattr(initramfs, "PROFILE", initramfs.PROFILE + "# changed\n")
    second = build_guest(out, log=lambda s: None)
    assert second.stamp != first.stamp
    assert not (out / "vmlinuz-5.0.0-old-amd64").exists()


def test_offline_keeps_the_existing_image(tmp_path: Path, fake_debs: dict[str, DebFile],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "guest"
    image = build_guest(out, log=lambda s: None)

    def offline(package: str, cache: Path, log: object) -> DebFile:
        raise debian.PackageError("apt does not know the package; run apt-get update")

    monkeypatch.setattr(debian, "download", offline)
    said: list[str] = []
    assert build_guest(out, log=said.append) == image
    assert any("keeping the image" in line for line in said)
    with pytest.raises(build_mod.GuestBuildError, match="apt-get update"):
        build_guest(tmp_path / "fresh", log=lambda s: None)


def test_load_guest_errors(tmp_path: Path) -> None:
    with pytest.raises(GuestImageError, match="acrnkit guest build"):
        load_guest(tmp_path)
    (tmp_path / "guest.json").write_text(json.dumps({"format": 0}))
    with pytest.raises(GuestImageError, match="older image format"):
        load_guest(tmp_path)


def test_cli_info_and_errors(tmp_path: Path, fake_debs: dict[str, DebFile],
                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "guest"
    assert guest_main(["info", "--out", str(out)]) == 2
    assert "no guest image" in capsys.readouterr().err
    assert guest_main(["build", "--out", str(out), "--no-install"]) == 0
    printed = capsys.readouterr().out
    assert "acrnkit guest: built the guest" in printed
    assert guest_main(["info", "--out", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kernel_release"] == RELEASE and data["directory"] == str(out)


# --- the real image -----------------------------------------------------------------------------

def _real() -> object:
    try:
        return load_guest()
    except GuestImageError as err:
        return str(err)


_REAL = _real()


@pytest.mark.qemu
@pytest.mark.skipif(isinstance(_REAL, str), reason=str(_REAL))
def test_real_image_contents() -> None:
    from acrnkit.guest import GuestImage

    assert isinstance(_REAL, GuestImage)
    entries = {e.path: e for e in read_newc(_REAL.initrd.read_bytes())}
    release = _REAL.kernel_release
    names = {Path(p).name for p in entries if p.startswith(f"lib/modules/{release}/")}
    for module in ("virtio.ko", "virtio_pci.ko", "virtio_blk.ko", "virtio_net.ko",
                   "virtio_console.ko", "virtio-rng.ko", "ext4.ko"):
        assert module in names
    assert entries["sbin/getty"].kind == "symlink"
    kernel = _REAL.kernel.read_bytes()
    assert kernel[:4] == b"\x7fELF" or is_bzimage(kernel)
    assert is_bzimage(_REAL.bzimage.read_bytes())
    if _REAL.vmlinux is not None:
        assert has_pvh_note(_REAL.vmlinux.read_bytes())
