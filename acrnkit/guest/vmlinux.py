"""The uncompressed kernel (``vmlinux``) inside an x86 ``bzImage``, for QEMU's PVH boot.

Under TCG the guest spends about two seconds decompressing a bzImage before the kernel starts.
QEMU boots an ELF ``vmlinux`` directly through its PVH entry (``-kernel vmlinux``) when the ELF
carries the Xen ``XEN_ELFNOTE_PHYS32_ENTRY`` note (``CONFIG_PVH=y``, set in Debian's kernels),
which skips that work. Debian's ``linux-image`` packages ship only the bzImage, but its payload
*is* that ELF: the setup header's ``payload_offset``/``payload_length`` (boot protocol 2.08+,
``Documentation/arch/x86/boot.rst``) locate the compressed ``vmlinux.bin``, which we decompress
with the standard library (xz, gzip, bzip2, lzma; zstd through the ``zstd`` tool when present).
"""

from __future__ import annotations

import bz2
import lzma
import shutil
import struct
import subprocess
import zlib

from acrnkit.errors import AcrnkitError

#: ``XEN_ELFNOTE_PHYS32_ENTRY`` (xen/include/public/elfnote.h): the PVH entry point note.
XEN_ELFNOTE_PHYS32_ENTRY = 18
_PT_NOTE = 4


class KernelImageError(AcrnkitError):
    """A kernel image that is not what it should be."""


def is_bzimage(data: bytes) -> bool:
    return len(data) > 0x250 and data[0x202:0x206] == b"HdrS"


def is_elf(data: bytes) -> bool:
    return data[:4] == b"\x7fELF"


def _decompress(payload: bytes) -> bytes:
    if payload[:6] == b"\xfd7zXZ\x00":
        dec = lzma.LZMADecompressor(lzma.FORMAT_XZ)
        return dec.decompress(payload)
    if payload[:2] == b"\x1f\x8b":
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(payload)
    if payload[:3] == b"BZh":
        return bz2.BZ2Decompressor().decompress(payload)
    if payload[:3] == b"\x5d\x00\x00":
        return lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(payload)
    if payload[:4] == b"\x28\xb5\x2f\xfd":
        tool = shutil.which("zstd")
        if tool is None:
            raise KernelImageError("the bzImage payload is zstd; install zstd to extract it")
        # The kernel appends the uncompressed size after the frame; zstd -d stops at the frame.
        done = subprocess.run([tool, "-d", "-c", "-q"], input=payload, capture_output=True,
                              check=False)
        if not done.stdout:
            raise KernelImageError(f"zstd failed: {done.stderr.decode(errors='replace')}")
        return done.stdout
    raise KernelImageError(f"unknown bzImage payload compression (magic {payload[:6].hex()})")


def extract_vmlinux(bzimage: bytes) -> bytes:
    """The ELF ``vmlinux`` compressed inside ``bzimage``; KernelImageError when it cannot."""
    if not is_bzimage(bzimage):
        raise KernelImageError("not a bzImage (no 'HdrS' setup header)")
    version, = struct.unpack_from("<H", bzimage, 0x206)
    if version < 0x208:
        raise KernelImageError(f"boot protocol {version >> 8}.{version & 0xff:02d} has no "
                               "payload fields (2.08+ needed)")
    setup_sects = bzimage[0x1F1] or 4
    payload_offset, payload_length = struct.unpack_from("<II", bzimage, 0x248)
    start = (setup_sects + 1) * 512 + payload_offset
    payload = bzimage[start:start + payload_length]
    if len(payload) != payload_length:
        raise KernelImageError("the bzImage is truncated")
    try:
        elf = _decompress(payload)
    except (lzma.LZMAError, OSError, zlib.error, EOFError, ValueError) as err:
        raise KernelImageError(f"cannot decompress the bzImage payload: {err}") from None
    if not is_elf(elf):
        raise KernelImageError("the bzImage payload is not an ELF file")
    return elf


def has_pvh_note(elf: bytes) -> bool:
    """True when the ELF64 has the PVH entry note QEMU needs to boot it with ``-kernel``."""
    if not is_elf(elf) or elf[4] != 2 or elf[5] != 1:
        return False
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for index in range(phnum):
        base = phoff + index * phentsize
        p_type, = struct.unpack_from("<I", elf, base)
        if p_type != _PT_NOTE:
            continue
        offset, = struct.unpack_from("<Q", elf, base + 0x08)
        size, = struct.unpack_from("<Q", elf, base + 0x20)
        pos, end = offset, offset + size
        while pos + 12 <= end:
            namesz, descsz, note_type = struct.unpack_from("<III", elf, pos)
            name = elf[pos + 12:pos + 12 + namesz].rstrip(b"\0")
            if name == b"Xen" and note_type == XEN_ELFNOTE_PHYS32_ENTRY:
                return True
            pos += 12 + ((namesz + 3) & ~3) + ((descsz + 3) & ~3)
    return False
