"""Which accelerator QEMU gets: KVM only when it really runs a guest, else TCG.

``/dev/kvm`` is not enough: on some CI machines KVM opens and even runs real-mode code, yet a
guest never gets past its switch to protected mode (a Linux kernel hangs in its first
instructions). So the probe boots a tiny guest of our own under ``-accel kvm``: a 64 KiB BIOS
image whose reset vector enters protected mode, fills 4 MiB of RAM with ``rep stosb``, builds
identity-mapped 2 MiB page tables, enters long mode, sums the 4 MiB back in 64-bit code and
writes the verdict to QEMU's ``isa-debug-exit`` port (QEMU exits with ``(value << 1) | 1``).
A working KVM answers 85 within milliseconds; a hang (timeout) or a wrong sum means TCG.

The verdict is cached in the process and in ``${XDG_CACHE_HOME:-~/.cache}/acrnkit/accel.json``,
keyed by the boot id, the QEMU binary and ``/dev/kvm``: each fake VM is a new process, and a
failing probe costs its timeout. The probe's source (GNU as, ``as --32``; ``ld -m elf_i386
-Ttext 0 --oformat binary``)::

    .code16                          # at 0xF0000, entered from the reset vector
        cli; cld
        lgdtl %cs:gdt_desc
        mov %cr0,%eax; or $1,%eax; mov %eax,%cr0
        ljmpl $0x08, $(0xF0000 + pm32)
    .code32
    pm32:
        mov $0x10,%ax; mov %ax,%ds; mov %ax,%es; mov %ax,%ss; mov $0x7000,%esp
        mov $0x100000,%edi; mov $0x400000,%ecx; mov $0x5a,%al; rep stosb
        mov $0x1000,%edi; xor %eax,%eax; mov $0xc00,%ecx; rep stosl
        movl $0x2003,0x1000; movl $0x3003,0x2000          # PML4 -> PDPT -> PD
        mov $0x3000,%edi; mov $0x83,%eax; mov $512,%ecx
    1:  mov %eax,(%edi); add $0x200000,%eax; add $8,%edi; loop 1b
        mov $0x1000,%eax; mov %eax,%cr3
        mov %cr4,%eax; or $0x20,%eax; mov %eax,%cr4      # PAE
        mov $0xC0000080,%ecx; rdmsr; or $0x100,%eax; wrmsr  # EFER.LME
        mov %cr0,%eax; or $0x80000000,%eax; mov %eax,%cr0
        ljmp $0x18, $(0xF0000 + lm64)
    .code64
    lm64:
        mov $0x100000,%rsi; mov $0x80000,%rcx; xor %rax,%rax
    2:  add (%rsi),%rax; add $8,%rsi; loop 2b
        mov $0xd2d2d2d2d2d00000,%rdx; cmp %rdx,%rax; jne 3f
        mov $0x2a,%al; out %al,$0xf4                     # exit status 85
    3:  mov $0x15,%al; out %al,$0xf4                     # exit status 43
        hlt
    gdt:  .quad 0, 0x00cf9a000000ffff, 0x00cf92000000ffff, 0x00af9a000000ffff
    gdt_desc: .word 31; .long 0xF0000 + gdt
    .org 0xfff0
        ljmp $0xf000, $0                                 # the reset vector
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROBE_CODE = bytes.fromhex(
    "fafc2e660f0116f8000f20c06683c8010f22c066ea1b000f00080066b810008ed88ec08ed0bc00700000bf"
    "00001000b900004000b05af3aabf0010000031c0b9000c0000f3abc7050010000003200000c70500200000"
    "03300000bf00300000b883000000b9000200008907050000200083c708e2f4b8001000000f22d80f20e083"
    "c8200f22e0b9800000c00f320d000100000f300f20c00d000000800f22c0eaa6000f00180048c7c6000010"
    "0048c7c1000008004831c04803064883c608e2f748ba0000d0d2d2d2d2d24839d07504b02ae6f4b015e6f4"
    "f40000000000000000ffff0000009acf00ffff00000092cf00ffff0000009aaf001f00d8000f00"
)
RESET_VECTOR = bytes.fromhex("ea000000f0")  # ljmp $0xf000, $0
#: QEMU's exit status when the probe guest wrote 0x2a to isa-debug-exit.
PROBE_OK = (0x2A << 1) | 1
PROBE_TIMEOUT = 3.0
KVM_DEVICE = "/dev/kvm"


@dataclass(frozen=True)
class AccelChoice:
    accel: str  # "kvm" | "tcg"
    reason: str


def probe_image() -> bytes:
    """The 64 KiB BIOS image of the probe guest."""
    image = bytearray(b"\xf4" * 0x10000)  # hlt everywhere else
    image[:len(PROBE_CODE)] = PROBE_CODE
    image[0xFFF0:0xFFF0 + len(RESET_VECTOR)] = RESET_VECTOR
    return bytes(image)


def probe_argv(qemu: str, bios: str, accel: str = "kvm") -> list[str]:
    return [qemu, "-machine", "pc", "-accel", accel, "-nodefaults", "-no-user-config",
            "-display", "none", "-m", "16", "-bios", bios,
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]


def run_probe(qemu: str, accel: str = "kvm", timeout: float = PROBE_TIMEOUT) -> tuple[bool, str]:
    """Boot the probe guest under ``accel``: (works, what happened)."""
    with tempfile.TemporaryDirectory(prefix="acrnkit-accel-") as tmp:
        bios = Path(tmp) / "probe.bin"
        bios.write_bytes(probe_image())
        start = time.monotonic()
        try:
            proc = subprocess.Popen(probe_argv(qemu, str(bios), accel), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    start_new_session=True)
        except OSError as err:
            return False, f"cannot run {qemu}: {err.strerror or err}"
        try:
            _, err_text = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return False, (f"the {accel} probe guest did not finish in {timeout:g} s "
                           "(it hangs entering protected/long mode)")
        seconds = time.monotonic() - start
        if proc.returncode == PROBE_OK:
            return True, f"the {accel} probe guest ran to the end in {seconds:.2f} s"
        detail = err_text.decode(errors="replace").strip().splitlines()
        last = detail[-1] if detail else "no message"
        return False, f"the {accel} probe guest failed (exit {proc.returncode}: {last})"


def _cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base) / "acrnkit" / "accel.json"


def _cache_key(qemu: str) -> str | None:
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        from shutil import which

        binary = which(qemu) or qemu
        st = os.stat(binary)
        kvm = os.stat(KVM_DEVICE)
    except OSError:
        return None
    return f"{boot_id}:{os.path.realpath(binary)}:{st.st_mtime_ns}:{kvm.st_rdev}:{kvm.st_mode}"


def _kvm_usable() -> str | None:
    """Why KVM cannot even be opened, or None."""
    if not os.path.exists(KVM_DEVICE):
        return f"{KVM_DEVICE} does not exist"
    if not os.access(KVM_DEVICE, os.R_OK | os.W_OK):
        return f"{KVM_DEVICE} is not readable and writable for uid {os.getuid()}"
    return None


@functools.cache
def probe_accel(qemu: str = "qemu-system-x86_64", *, use_cache: bool = True) -> AccelChoice:
    """KVM when the probe guest runs under it, else TCG (with the reason). Cached."""
    blocked = _kvm_usable()
    if blocked is not None:
        return AccelChoice("tcg", blocked)
    key = _cache_key(qemu) if use_cache else None
    cache = _cache_file()
    if key is not None:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            data = json.loads(cache.read_text())
            if data["key"] == key and data["accel"] in ("kvm", "tcg"):
                return AccelChoice(str(data["accel"]), f"{data['reason']} (cached)")
    works, what = run_probe(qemu)
    choice = AccelChoice("kvm", what) if works else AccelChoice("tcg", what)
    if key is not None:
        with contextlib.suppress(OSError):
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f".{cache.name}.{os.getpid()}")
            tmp.write_text(json.dumps({"key": key, "accel": choice.accel,
                                       "reason": choice.reason}))
            os.replace(tmp, cache)
    return choice


def choose_accel(setting: str, qemu: str = "qemu-system-x86_64") -> AccelChoice:
    """``setting`` is ``auto`` (probe), ``kvm`` or ``tcg`` (forced)."""
    if setting in ("kvm", "tcg"):
        return AccelChoice(setting, f"forced by the setting ({setting})")
    return probe_accel(qemu)
