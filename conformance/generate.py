"""Generate the conformance case files from the declared inputs below.

    python -m acrnkit.conformance.generate [--case-dir DIR] [--check]

Every expected value (argv, builder error, parser result, acrn-dm verdict per release) is
computed by acrnkit now and then committed; a later change to acrnkit that alters one of them
fails ``acrnkit conformance``. The declared inputs are the tables of this module:

* ``OPTION_VALUES``: every global option with valid and invalid values, on a minimal VM;
* ``GETOPT_FORMS``: GNU getopt_long spellings (permutation, ``--opt=val``, prefixes, clusters);
* ``SLOT_FORMS``: the ``-s`` slot grammar;
* ``DEVICE_CONFIGS``: every ``-s`` emulation with the config strings of its grammar;
* ``BUILDER_CASES``: what a careful builder refuses (typed JSON fields);
* ``DISCREPANCIES``: the doc-vs-code discrepancies of ``acrn-dm-cli.md`` section 5 and 7;
* ``LAUNCH_LINES``: typical launch lines per release, written from the grammar in the shape of
  ACRN's sample launch scripts (nothing copied);
* ``kata_specs()``: every quirk of ``docs/kata-quirks.md`` and full sandboxes of several shapes.

Each input runs on every release it names. Releases that give the same input, argv and builder
result share one case; the others get one case each (id suffix ``/v<release>+...``). An
acrnkit-form input that the JSON reader or the strict builder refuses becomes a case with
``expected_error``; when it can still be written as an argv, a second case (``.../argv``) records
what acrn-dm says about that argv. Emulations without an acrnkit model are skipped (listed on
stderr). Inputs may carry ``claims``: what the reference docs say acrn-dm does; the generator
prints every claim acrnkit's verdict disagrees with (``--claims`` lists them all).

The output is deterministic: same acrnkit, same files.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from acrnkit.conformance.compute import (
    HostPool,
    build_acrnkit,
    build_input,
    check_on_host_lines,
    derive_host,
    host_root,
    parse_argv,
    working_directory,
)
from acrnkit.conformance.fixture import (
    DEFAULT_CASE_DIR,
    Case,
    HostFile,
    Matcher,
    Verdict,
    dumps_cases,
)

from acrnkit.argv.render import spelling
from acrnkit.model.devices.base import MODULE_OF, lookup
from acrnkit.model.jsonform import to_json
from acrnkit.model.vm import RENDER_ORDER
from acrnkit.releases.profile import get_release
from acrnkit.releases.versions import VERSIONS

ROOT = "${ROOT}"
Payload = dict[str, Any]
PayloadFn = Callable[[str], "Payload | None"]
ArgvFn = Callable[[str], "list[str] | None"]


@dataclass(frozen=True)
class Claim:
    """What a reference document says acrn-dm ``release`` does with an input's argv.

    ``accepted``: starts the guest; else ``exit_status`` and a ``message`` fragment (None: any).
    """

    source: str
    accepted: bool
    exit_status: int | None = None
    message: str | None = None


@dataclass(frozen=True)
class Spec:
    """One declared input. Exactly one of ``acrnkit``, ``argv``, ``kata_config``,
    ``kata_sandbox`` is set; ``acrnkit`` and ``argv`` may depend on the release."""

    id: str
    description: str
    tags: tuple[str, ...]
    releases: tuple[str, ...] = VERSIONS
    acrnkit: Payload | PayloadFn | None = None
    argv: list[str] | ArgvFn | None = None
    kata_config: Payload | None = None
    kata_sandbox: Payload | None = None
    hotplug: tuple[tuple[str, int], ...] | None = None
    #: host paths left out of the healthy host on purpose
    missing: tuple[str, ...] = ()
    #: host entries that replace the derived ones (an empty kernel, a disk of 100 bytes...)
    host_override: tuple[HostFile, ...] = ()
    claims: Mapping[str, Claim] = field(default_factory=dict)


# --- helpers for declaring inputs -----------------------------------------------------------------


def since(first: str) -> tuple[str, ...]:
    return VERSIONS[VERSIONS.index(first):]


def until(last: str) -> tuple[str, ...]:
    return VERSIONS[:VERSIONS.index(last) + 1]


KERNEL = f"{ROOT}/boot/bzImage"
DISK = f"{ROOT}/home/acrn/uos.img"
OVMF = f"{ROOT}/usr/share/acrn/bios/OVMF.fd"


def base_vm(release: str, **extra: Any) -> Payload:
    """A minimal VM ``release`` starts: hostbridge, memory, a kernel, a name (and, on 2.7+, the
    --cpu_affinity that 3.x needs for its ACPI tables)."""
    vm: Payload = {"name": "vm1", "memsize": "2048M"}
    if "cpu_affinity" in get_release(release).support:
        vm["cpu_affinity"] = "1"
    vm["kernel"] = KERNEL
    vm["devices"] = [{"slot": "0:0", "emul": "hostbridge"}]
    for key, value in extra.items():
        if key == "devices":
            vm["devices"] = vm["devices"] + list(value)
        elif value is None:
            vm.pop(key, None)
        else:
            vm[key] = value
    return vm


def base_argv(release: str, *middle: str, name: str | None = "vm1") -> list[str]:
    argv = ["-m", "2048M", "-s", "0:0,hostbridge", *middle]
    if "cpu_affinity" in get_release(release).support:
        argv += ["--cpu_affinity", "1"]
    argv += ["-k", KERNEL]
    if name is not None:
        argv.append(name)
    return argv


def _middle(middle: Sequence[str], rel: str) -> list[str]:
    return base_argv(rel, *middle)


def _middle_unnamed(middle: Sequence[str], rel: str) -> list[str]:
    return base_argv(rel, *middle, name=None)


def _with_flag(flag: str, rel: str) -> list[str]:
    return base_argv(rel)[:2] + [flag] + base_argv(rel)[2:]


def _memsize(value: str, rel: str) -> list[str]:
    return ["-m", value, *base_argv(rel)[2:]]


def raw_argv(payload: Mapping[str, Any], release: str) -> list[str] | None:
    """The argv a JSON-form payload spells out literally (option texts, device config strings),
    without the model: used where the model refuses the payload. None if a device is typed."""
    rel = get_release(release)
    out: list[str] = []
    for key in RENDER_ORDER:
        if key == "devices":
            for dev in payload.get("devices", []):
                if set(dev) - {"slot", "emul", "config", "boot"}:
                    return None
                text = f"{dev['slot']},{dev['emul']}"
                if dev.get("boot"):
                    text += ",b"
                if dev.get("config") is not None:
                    text += f",{dev['config']}"
                out += ["-s", text]
            continue
        if key not in payload:
            continue
        value = payload[key]
        if key == "ssram":
            out += ["--ssram"] if value is True else ["--ssram", str(value)]
            continue
        flag = spelling(key, rel)
        if value is True:
            out.append(flag)
        elif isinstance(value, list):
            for item in value:
                out += [flag, str(item)]
        elif value is not False and value is not None:
            out += [flag, str(value)]
    if payload.get("name") is not None:
        out.append(str(payload["name"]))
    return out


def slug(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    text = text.replace(ROOT, "ROOT")
    length = len(text)
    text = re.sub(r"[^A-Za-z0-9_.:+-]+", "_", text).strip("_") or "empty"
    return text if len(text) <= 48 else f"{text[:32]}-{length}chars"


# --- declared inputs: global options ------------------------------------------------------------

#: Every global option and the values each case tries (a list value = a repeatable option).
OPTION_VALUES: Mapping[str, Sequence[object]] = {
    "acpi": [True],
    "elf_file": [f"{ROOT}/boot/zephyr.elf"],
    "ioc_node": ["/run/acrn/ioc_vm1,0x20"],
    "lpc": [["com1,stdio"], ["COM2,stdio"], ["com1"], ["com1,tcp:4444"],
            [f"com2,{ROOT}/run/acrn/life_mngr_vm1"], ["com3,stdio"], ["com5,stdio,0x2f8,3"],
            ["com5,stdio"], ["com9,stdio"], ["bootrom,stdio"],
            ["com1,stdio", f"com2,{ROOT}/dev/ttyS1"]],
    "memsize": ["2048M", "2G", "4g", "1024m", "131072K", "0x800M", "04000M", "2048MB", "128M",
                "127M", "0M", "2048", "2048b", "-1G", "abc", "16777216G"],
    "uuid": ["d2795438-25d6-11e8-864e-cb7a18b34643", "d279543825d611e8864ecb7a18b34643"],
    "virtio_msix": [True],
    "mptgen": [True],
    "kernel": [KERNEL],
    "ramdisk": [f"{ROOT}/boot/initrd.img"],
    "bootargs": ["root=/dev/vda1 rw rootwait console=ttyS0", "x" * 2047, "x" * 2048],
    "gvtargs": ["64 448 8", "10 128 6", "64 448", "a b c"],
    "pincpu": ["0:1"],
    "mac_seed": ["a1b2c3d4-vm1"],
    "vsbl": [f"{ROOT}/usr/share/acrn/bios/VSBL.bin"],
    "ovmf": [OVMF, f"w,{OVMF}",
             f"code={ROOT}/usr/share/acrn/bios/OVMF_CODE.fd,"
             f"vars={ROOT}/usr/share/acrn/bios/OVMF_VARS.fd",
             f"w,code={ROOT}/usr/share/acrn/bios/OVMF_CODE.fd,"
             f"vars={ROOT}/usr/share/acrn/bios/OVMF_VARS.fd",
             f"code={ROOT}/usr/share/acrn/bios/OVMF_CODE.fd"],
    "iasl": ["/usr/local/bin/iasl"],
    "cpu_affinity": ["1", "1,3", "0-3", "1-0", "2,3,4-6", "x"],
    "part_info": [f"{ROOT}/run/acrn/part_info.bin"],
    "enable_trusty": [True],
    "virtio_poll": ["1000000", "1", "10000000", "10000001", "0", "0x10", "abc"],
    "debugexit": [True],
    "intr_monitor": ["10000,10,1,100", "10000,10,1", "a,b,c,d"],
    "cmd_monitor": ["/run/acrn/cmd_monitor_vm1.sock"],
    "acpidev_pt": [["MSFT0101"], ["MSFT0101,00"], ["PNP0501,uid=1,type=io_port,min=0x3f8,len=8"]],
    "mmiodev_pt": [["0xFED40000,0x00005000"], ["0xFED40000"]],
    "vtpm2": ["sock_path=/run/swtpm/swtpm-sock", "/run/swtpm/swtpm-sock"],
    "lapic_pt": [True],
    "rtvm": [True],
    "ssram": [True, "L2,vcpu=0:1,size=4M", "L3,vcpu=all,size=2M;L2,vcpu=1,size=1M",
              "L2,size=4M"],
    "logger_setting": ["console,level=4;disk,level=4;kmsg,level=3", "console,level=x",
                       "console"],
    "pm_notify_channel": ["ioc", "power_button", "uart", "uart,allow_trigger_s5", "ioc123",
                          "bogus"],
    "pm_by_vuart": ["pty,/run/acrn/life_mngr_vm1", f"tty,{ROOT}/dev/ttyS1", "udp,x"],
    "windows": [True],
    "virtio_msi": [True],
}


def option_specs() -> list[Spec]:
    specs: list[Spec] = []
    for key, values in OPTION_VALUES.items():
        for value in values:
            variant = "set" if value is True else slug(value)
            extra: dict[str, Any] = {key: value}
            if key == "lpc":
                extra["devices"] = [{"slot": "1:0", "emul": "lpc"}]
            if key in ("elf_file", "vsbl", "ovmf") or key == "kernel":
                extra["kernel"] = None if key != "kernel" else value
            if key == "ssram" and value is not True:
                extra["rtvm"] = True

            def payload(rel: str, extra: dict[str, Any] = extra) -> Payload:
                return base_vm(rel, **extra)

            specs.append(Spec(
                id=f"options/{key}/{variant}",
                description=f"--{key} {value if value is not True else ''}".strip()
                + " on a minimal VM",
                tags=("option", f"option:{key}"), acrnkit=payload))
    # -h and -v: acrn-dm prints and exits 0 before it reads anything else.
    for flag, key in (("-h", "help"), ("--help", "help"), ("-v", "version"),
                      ("--version", "version")):
        specs.append(Spec(
            id=f"options/{key}/{flag.lstrip('-')}",
            description=f"{flag} prints the {key} text and exits 0, ignoring the rest",
            tags=("option", f"option:{key}"),
            argv=partial(_with_flag, flag)))
    return specs


# --- declared inputs: getopt_long forms ---------------------------------------------------------

GETOPT_FORMS: Mapping[str, tuple[str, ArgvFn]] = {
    "permuted-name-first": ("the VM name before the options (argv is permuted)",
                            lambda r: ["vm1", *base_argv(r, name=None)]),
    "attached-short": ("-m2048M: a short option with its value attached",
                       lambda r: ["-m2048M", *base_argv(r)[2:]]),
    "long-equals": ("--memsize=2048M", lambda r: ["--memsize=2048M", *base_argv(r)[2:]]),
    "long-space": ("--memsize 2048M", lambda r: ["--memsize", "2048M", *base_argv(r)[2:]]),
    "long-prefix": ("--mem 2048M: an unambiguous prefix of --memsize",
                    lambda r: ["--mem", "2048M", *base_argv(r)[2:]]),
    "ambiguous-prefix": ("--v is ambiguous (--version, --vsbl, --virtio_poll, ...)",
                         lambda r: ["--v", *base_argv(r)]),
    "ambiguous-prefix-pm": ("--pm is ambiguous (--pm_notify_channel, --pm_by_vuart)",
                            lambda r: ["--pm", "ioc", *base_argv(r)]),
    "cluster-AY": ("-AY: clustered flags", lambda r: ["-AY", *base_argv(r)]),
    "cluster-Am": ("-Am2048M: flags and an option with an attached value",
                   lambda r: ["-Am2048M", *base_argv(r)[2:]]),
    "double-dash": ("-- ends the options; the name follows it",
                    lambda r: [*base_argv(r, name=None), "--", "vm1"]),
    "double-dash-option-like-name": ("-- lets a name start with '-'",
                                     lambda r: [*base_argv(r, name=None), "--", "-vm1"]),
    "unknown-long": ("--foo is unrecognized", lambda r: ["--foo", *base_argv(r)]),
    "unknown-short": ("-x is an invalid option", lambda r: ["-x", *base_argv(r)]),
    "missing-arg-short": ("-m at the end has no argument", lambda r: [*base_argv(r), "-m"]),
    "missing-arg-long": ("--ovmf at the end has no argument",
                         lambda r: [*base_argv(r), "--ovmf"]),
    "flag-with-value": ("--lapic_pt=1: a flag given a value",
                        lambda r: ["--lapic_pt=1", *base_argv(r)]),
    "removed-c": ("-c 2 (removed in 1.4)", lambda r: ["-c", "2", *base_argv(r)]),
    "two-names": ("two non-option arguments", lambda r: [*base_argv(r), "vm2"]),
    "no-name": ("no VM name", lambda r: base_argv(r, name=None)),
    "empty-name": ("an empty VM name", lambda r: base_argv(r, name="")),
    "name-15": ("a 15-character VM name", lambda r: base_argv(r, name="a" * 15)),
    "name-16": ("a 16-character VM name", lambda r: base_argv(r, name="a" * 16)),
    "name-127": ("a 127-character VM name", lambda r: base_argv(r, name="a" * 127)),
    "name-128": ("a 128-character VM name", lambda r: base_argv(r, name="a" * 128)),
    "option-twice": ("-m given twice: the last one wins",
                     lambda r: ["-m", "1024M", *base_argv(r)]),
    "no-args": ("no arguments at all", lambda r: []),
}


def getopt_specs() -> list[Spec]:
    return [Spec(id=f"getopt/{name}", description=desc, tags=("getopt",), argv=fn)
            for name, (desc, fn) in GETOPT_FORMS.items()]


# --- declared inputs: the -s slot grammar -------------------------------------------------------

SLOT_FORMS: Mapping[str, tuple[str, Sequence[str]]] = {
    "slot": ("one field: the slot", ["3,virtio-blk,nodisk"]),
    "slot-func": ("slot:func", ["3:0,virtio-blk,nodisk"]),
    "bus-slot-func": ("bus:slot:func", ["0:3:0,virtio-blk,nodisk"]),
    "slash-separated": ("fields separated by /", ["0/3/0,virtio-blk,nodisk"]),
    "dot-separated": ("fields separated by .", ["0.3.0,virtio-blk,nodisk"]),
    "func-7": ("function 7", ["3:7,virtio-blk,nodisk"]),
    "func-8": ("function 8 is out of range", ["3:8,virtio-blk,nodisk"]),
    "slot-31": ("slot 31 (reserved by convention)", ["31,virtio-blk,nodisk"]),
    "slot-32": ("slot 32 is out of range", ["32,virtio-blk,nodisk"]),
    "slot-2": ("slot 2 (GVT-g's by convention)", ["2,virtio-blk,nodisk"]),
    "bus-1": ("a device on bus 1", ["1:3:0,virtio-blk,nodisk"]),
    "bus-256": ("bus 256 is out of range", ["256:3:0,virtio-blk,nodisk"]),
    "negative-slot": ("slot -1", ["-1,virtio-blk,nodisk"]),
    "junk-slot": ("a slot that is not a number", ["x,virtio-blk,nodisk"]),
    "trailing-junk": ("trailing junk after the slot number is ignored",
                      ["3abc,virtio-blk,nodisk"]),
    "no-comma": ("no comma at all", ["3"]),
    "empty-emul": ("an empty emulation name", ["3,"]),
    "unknown-emul": ("an unknown emulation", ["3,virtio-foo"]),
    "duplicate": ("the same slot twice", ["3,virtio-blk,nodisk", "3,virtio-blk,nodisk"]),
    "duplicate-func": ("same slot, different functions", ["3:0,virtio-blk,nodisk",
                                                         "3:1,virtio-blk,nodisk"]),
    "boot-flag": ("the vSBL boot flag b,", [f"3,virtio-blk,b,{DISK}"]),
    "boot-flag-alone": ("b without a config after it", ["3,virtio-blk,b"]),
    "lpc-bus-1": ("an LPC bridge on bus 1", ["1:1:0,lpc"]),
    "lpc-twice": ("two LPC bridges", ["1,lpc", "31,lpc"]),
    "hostbridge-not-0": ("a second hostbridge on slot 5", ["5,hostbridge"]),
}


def slot_specs() -> list[Spec]:
    specs = []
    for name, (desc, slots) in SLOT_FORMS.items():
        middle: list[str] = []
        for text in slots:
            middle += ["-s", text]

        def argv(rel: str, middle: list[str] = middle) -> list[str]:
            return base_argv(rel, *middle)

        specs.append(Spec(id=f"slots/{name}/argv", description=f"-s: {desc}", tags=("slot",),
                          argv=argv))
        devices = []
        for text in slots:
            bdf, _, rest = text.partition(",")
            emul, comma, config = rest.partition(",")
            dev: dict[str, Any] = {"slot": bdf, "emul": emul}
            if config.startswith("b,"):
                dev["boot"] = True
                config = config[2:]
            if comma:
                dev["config"] = config
            devices.append(dev)

        def payload(rel: str, devices: list[Any] = devices) -> Payload:
            return base_vm(rel, devices=devices)

        specs.append(Spec(id=f"slots/{name}/model", description=f"JSON form: {desc}",
                          tags=("slot",), acrnkit=payload))
    return specs


# --- declared inputs: every -s emulation --------------------------------------------------------

_TTY = f"{ROOT}/dev/ttyS1"
#: emulation -> (slot, [config or None, ...]); grammar from acrn-dm-cli.md section 3.
DEVICE_CONFIGS: Mapping[str, tuple[str, Sequence[str | None]]] = {
    "hostbridge": ("0:0", [None, "ignored"]),
    "amd_hostbridge": ("0:0", [None]),
    "dummy": ("5", [None]),
    "lpc": ("1:0", [None]),
    "igd-lpc": ("31", [None]),
    "passthru": ("5", ["0/2/0", "00/1f/3,keep_gsi", "1/0/0,no_reset", "3/0/0,d3hot_reset",
                       "2/0/0,vmsix_on_msi,2", "2/0/0,vmsix_on_msi", "2/0/0,enable_ptm",
                       "0/2/0,gpu", "2/0/0,romfile=/usr/share/acrn/rom.bin", "0/15/1,irq=7",
                       "0/15/1,irq=x", "0/15/1,dsdt=/usr/share/acrn/dsdt.aml",
                       "0/2/0,bogus", None, "zz/1/0"]),
    "pci-gvt": ("2", [None]),
    "npk": ("5", ["8/24", "0/0"]),
    "uart": ("5", ["stdio", "vuart_idx:0", "vuart_idx:9", "vuart_idx", "tcp:4445", _TTY,
                   None]),
    "wdt-i6300esb": ("5", [None]),
    "xhci": ("5", ["1-2,2-2", "tablet", "1-2:tablet", "log=D", "cap=apl", "bogus", None]),
    "ahci": ("5", [f"hd:{DISK}", f"cd:{ROOT}/home/acrn/install.iso",
                   f"hd:{DISK},hd:{ROOT}/home/acrn/data.img", f"hd:{ROOT}/home/acrn/gone.img",
                   None]),
    "ahci-hd": ("5", [DISK]),
    "ahci-cd": ("5", [f"{ROOT}/home/acrn/install.iso"]),
    "virtio-blk": ("3", [DISK, f"{DISK},writeback", f"{DISK},writethru", f"{DISK},ro",
                         f"{DISK},discard", f"{DISK},discard=8:16:1", f"{DISK},discard=8",
                         f"{DISK},sectorsize=512", f"{DISK},sectorsize=512/4096",
                         f"{DISK},sectorsize=4096/512", f"{DISK},sectorsize=1000",
                         f"{DISK},range=0/1048576", f"{DISK},range=x", "nodisk",
                         f"{DISK},nodisk", f"iothread,{DISK}", f"iothread=2@0:1,{DISK}",
                         f"mq=2,{DISK}", f"mq=0,{DISK}", f"{DISK},nocache",
                         f"{DISK},no_bst_block", f"{DISK},aio=threads", f"{DISK},aio=io_uring",
                         f"{DISK},aio=bogus", f"{DISK},bogus", f"{ROOT}/home/acrn/gone.img",
                         f"{ROOT}/home/acrn/odd.img", f"{ROOT}/dev/nvme0n1p3", None]),
    "virtio-net": ("4", ["tap=tap0", "tap=tap0,mac=02:00:00:00:00:01", "tap=tap0,vhost",
                         "tap=tap0,mac_seed=vm1", "tap=tap0,vhost,mac_seed=vm1", "tap0",
                         "tap0,mac=02:00:00:00:00:01", "tap=tap0,mac=01:00:5e:00:00:01",
                         "tap=tap0,mac=00:00:00:00:00:00", "tap=tap0,mac=02-00-00-00-00-01",
                         "tap=tap_with_a_long_name", "macvtap0", "vmnet0", "mytap1",
                         "tap=tap0,bogus", None]),
    "virtio-console": ("5", ["@stdio:stdio_port", "@pty:pty_port", f"@tty:tty_port={_TTY}",
                             "@file:file_port=/var/log/vm1-console.log",
                             f"@socket:console0={ROOT}/run/vm1-console.sock",
                             f"socket:console0={ROOT}/run/vm1-console.sock:server",
                             f"socket:console0={ROOT}/run/vm1-console.sock:client",
                             f"socket:console0={ROOT}/run/vm1-console.sock:bogus",
                             "socket:console0", "@pty:p0,pty:p1", "@STDIO:stdio_port",
                             "@stdio:a,stdio:b", "@", "pty", "@bogus:x", "@tty:tty_port",
                             None]),
    "vhost-vsock": ("13", ["cid=3", "cid=4294967294", "cid=4294967295", "cid=2", "cid=3x",
                           "3", None]),
    "virtio-rnd": ("7", [None, "kernel=on"]),
    "virtio-input": ("8", ["/dev/input/event0", "/dev/input/event0,serial0", None]),
    "virtio-gpu": ("9", [None, "geometry=fullscreen", "geometry=1920x1080+0+0",
                         "geometry=fullscreen:1", "geometry=bad",
                         "geometry=1280x720+0+0,geometry=fullscreen"]),
    "virtio-i2c": ("10", ["0:70@cam1", "0:70:71,1:1c", "0:70:70", "a", None]),
    "virtio-gpio": ("11", ["@gpiochip0{1:2:3}", "@gpiochip0{1=gpio1:2}@gpiochip1{3}", None]),
    "virtio-rpmb": ("12", [None, "physical_rpmb"]),
    "virtio-heci": ("12", ["0/15/0,d", "0:15:0,d3", "bogus"]),
    "virtio-audio": ("14", [None]),
    "virtio-ipu": ("14", [None]),
    "virtio-hyper_dmabuf": ("14", [None]),
    "virtio-coreu": ("14", [None]),
    "virtio-hdcp": ("14", [None]),
    "ivshmem": ("6", ["dm:/shm_region_0,2", "hv:/shm_region_0,64", "dm:/shm_region_0,3",
                      "shm_region_0,2", "dm:/shm_region_0,2,1", None]),
}

SKIPPED_EMULS: list[str] = []
INCONSISTENT: list[str] = []


def device_specs() -> list[Spec]:
    specs: list[Spec] = []
    for emul, (slot, configs) in DEVICE_CONFIGS.items():
        if lookup(emul) is None:
            SKIPPED_EMULS.append(emul)
            continue
        for config in configs:
            # "config": null is the JSON form of "-s <slot>,<emul>" with no config at all.
            dev: dict[str, Any] = {"slot": slot, "emul": emul, "config": config}
            extra: dict[str, Any] = {"devices": [dev]}
            if emul == "hostbridge":
                extra["devices"] = []

            def payload(rel: str, dev: dict[str, Any] = dev, extra: dict[str, Any] = extra) \
                    -> Payload:
                vm = base_vm(rel, **extra)
                if dev["emul"] in ("hostbridge", "amd_hostbridge"):
                    vm["devices"] = [dev]
                return vm

            variant = "none" if config is None else slug(config)
            host_override: tuple[HostFile, ...] = ()
            if config is not None and "odd.img" in config:
                host_override = (HostFile(f"{ROOT}/home/acrn/odd.img", "file", 1000),)
            specs.append(Spec(
                id=f"devices/{emul}/{variant}",
                description=f"-s {slot},{emul}" + (f",{config}" if config is not None else ""),
                tags=("device", f"device:{emul}"), acrnkit=payload,
                missing=(f"{ROOT}/home/acrn/gone.img",), host_override=host_override))
    # Singletons and shared stdio.
    pairs = {
        "wdt-twice": ("two watchdogs", ["5,wdt-i6300esb", "6,wdt-i6300esb"]),
        "gpu-twice": ("two virtio-gpu", ["9,virtio-gpu,geometry=fullscreen",
                                         "10,virtio-gpu,geometry=fullscreen"]),
        "xhci-twice": ("two xHCI controllers", ["5,xhci,tablet", "6,xhci,tablet"]),
        "stdio-console-and-lpc": ("stdio on an LPC COM port and a virtio-console",
                                  ["1:0,lpc", "5,virtio-console,@stdio:stdio_port"]),
        "stdio-uart-and-console": ("stdio on a PCI uart and a virtio-console",
                                   ["5,uart,stdio", "6,virtio-console,@stdio:stdio_port"]),
    }
    for name, (desc, slots) in pairs.items():
        emuls = {s.split(",")[1] for s in slots}
        if any(lookup(e) is None for e in emuls):
            continue
        middle: list[str] = []
        for text in slots:
            middle += ["-s", text]
        if "lpc" in emuls:
            middle += ["-l", "com1,stdio"]
        specs.append(Spec(id=f"devices/combination/{name}", description=desc,
                          tags=("device", *sorted(f"device:{e}" for e in emuls)),
                          argv=partial(_middle, tuple(middle))))
    return specs


# --- declared inputs: what the builder refuses (typed JSON form) -------------------------------

BUILDER_CASES: Mapping[str, tuple[str, Sequence[Mapping[str, Any]], Mapping[str, Any]]] = {
    "comma-in-blk-path": ("a ',' in a virtio-blk path cannot be represented",
                          [{"slot": 3, "emul": "virtio-blk", "path": f"{ROOT}/a,b.img"}], {}),
    "empty-blk-path": ("an empty virtio-blk path",
                       [{"slot": 3, "emul": "virtio-blk", "path": ""}], {}),
    "multicast-mac": ("a multicast MAC is refused",
                      [{"slot": 4, "emul": "virtio-net", "ifname": "tap0",
                        "mac": "01:00:5e:00:00:01"}], {}),
    "zero-mac": ("the all-zero MAC is refused",
                 [{"slot": 4, "emul": "virtio-net", "ifname": "tap0",
                   "mac": "00:00:00:00:00:00"}], {}),
    "tap-name-16": ("a tap name of 16 bytes (IFNAMSIZ)",
                    [{"slot": 4, "emul": "virtio-net", "ifname": "tap0123456789abc"}], {}),
    "tap-name-15": ("a tap name of 15 bytes",
                    [{"slot": 4, "emul": "virtio-net", "ifname": "tap0123456789ab"}], {}),
    "old-net-form": ("keyword=false: the pre-3.0 <ifname> form",
                     [{"slot": 4, "emul": "virtio-net", "ifname": "tap0", "keyword": False}],
                     {}),
    "cid-2": ("vsock CID 2", [{"slot": 13, "emul": "vhost-vsock", "cid": 2}], {}),
    "cid-3": ("vsock CID 3", [{"slot": 13, "emul": "vhost-vsock", "cid": 3}], {}),
    "cid-max": ("vsock CID 0xfffffffe",
                [{"slot": 13, "emul": "vhost-vsock", "cid": 4294967294}], {}),
    "cid-too-big": ("vsock CID 0xffffffff",
                    [{"slot": 13, "emul": "vhost-vsock", "cid": 4294967295}], {}),
    "console-two-stdio": ("two stdio console ports",
                          [{"slot": 5, "emul": "virtio-console",
                            "ports": [{"backend": "stdio", "name": "a"},
                                      {"backend": "stdio", "name": "b"}]}], {}),
    "console-tty-no-path": ("a tty console port without a path",
                            [{"slot": 5, "emul": "virtio-console",
                              "ports": [{"backend": "tty", "name": "t"}]}], {}),
    "slot-auto": ("devices without slots: the builder allocates 1, 3, 4 (2 is reserved)",
                  [{"emul": "virtio-blk", "path": DISK},
                   {"emul": "virtio-net", "ifname": "tap0"},
                   {"emul": "virtio-console", "ports": [{"backend": "pty", "name": "p",
                                                         "console": True}]}], {}),
    "slot-collision": ("two devices on slot 3",
                       [{"slot": 3, "emul": "virtio-blk", "path": DISK},
                        {"slot": 3, "emul": "virtio-blk", "path": "nodisk"}], {}),
    "unknown-emul": ("an emulation acrnkit does not know", [{"slot": 3, "emul": "virtio-foo"}],
                     {}),
    "unknown-field": ("a field virtio-blk does not have",
                      [{"slot": 3, "emul": "virtio-blk", "path": DISK, "cache": "none"}], {}),
    "boot-without-config": ("boot=true on a device with no config",
                            [{"slot": 5, "emul": "dummy", "boot": True}], {}),
    "iothread-typed": ("virtio-blk iothread (3.1+)",
                       [{"slot": 3, "emul": "virtio-blk", "path": DISK, "iothread": True}], {}),
    "mq-typed": ("virtio-blk mq=4 (3.3)",
                 [{"slot": 3, "emul": "virtio-blk", "path": DISK, "mq": 4}], {}),
    "aio-typed": ("virtio-blk aio=io_uring (3.3)",
                  [{"slot": 3, "emul": "virtio-blk", "path": DISK, "aio": "io_uring"}], {}),
    "name-dash": ("a VM name that starts with '-'", [], {"name": "-vm1"}),
    "memsize-no-unit": ("memsize 2048 (no unit)", [], {"memsize": "2048"}),
    "memsize-int": ("memsize as a JSON number", [], {"memsize": 2048}),
    "unknown-option": ("an option acrnkit does not know", [], {"hugepages": True}),
    "flag-not-bool": ("a flag given a string", [], {"rtvm": "yes"}),
}


def builder_specs() -> list[Spec]:
    specs = []
    for name, (desc, devices, extra) in BUILDER_CASES.items():
        def payload(rel: str, devices: Sequence[Any] = devices,
                    extra: Mapping[str, Any] = extra) -> Payload:
            return base_vm(rel, devices=list(devices), **extra)

        specs.append(Spec(id=f"builder/{name}", description=desc,
                          tags=("builder",), acrnkit=payload))
    return specs


# --- declared inputs: doc-vs-code discrepancies -------------------------------------------------

_REF = "acrn-dm-cli.md"


def discrepancy_specs() -> list[Spec]:
    specs: list[Spec] = []
    tag = ("discrepancy", "regression")
    for value, claim in (
            ("2048", Claim(f"{_REF} 1.2/5: -m without unit is rejected", False, 64,
                           "invalid memsize")),
            ("2048b", Claim(f"{_REF} 1.2/5: -m with b is rejected", False, 64,
                            "invalid memsize")),
            ("4096k", None), ("2048MB", Claim(f"{_REF} 1.2: only the first suffix char", True)),
            ("4g", Claim(f"{_REF} 5: doc example -m 4g", True))):
        claims = {} if claim is None else {r: claim for r in VERSIONS}
        specs.append(Spec(
            id=f"discrepancies/memsize/{slug(value)}",
            description=f"-m {value}: the doc's <size>{{K/k, B/b, M/m, G/g}} against "
                        "vm_parse_memsize",
            tags=(*tag, "option:memsize"), argv=partial(_memsize, value),
            claims=claims))
    specs.append(Spec(
        id="discrepancies/ssram/eats-name",
        description="--ssram before the VM name: a flag in 2.7, swallows the name from 3.0",
        tags=(*tag, "option:ssram"), releases=since("2.7"),
        argv=lambda r: [*base_argv(r, "--rtvm", name=None), "--ssram", "vm1"],
        claims={"2.7": Claim(f"{_REF} 8", True),
                **{r: Claim(f"{_REF} 8", False, 64, "invalid vSSRAM buffer size param vm1")
                   for r in since("3.0")}}))
    specs.append(Spec(
        id="discrepancies/ssram/flag-form-doc",
        description="--ssram documented without argument, followed by another option",
        tags=(*tag, "option:ssram"), releases=since("2.7"),
        argv=lambda r: ["--ssram", *base_argv(r, "--rtvm")]))
    specs.append(Spec(
        id="discrepancies/ssram/equals-on-2.7",
        description="--ssram=1 on 2.7: a flag given a value is a getopt error",
        tags=(*tag, "option:ssram"), releases=("2.7",),
        argv=lambda r: ["--ssram=1", *base_argv(r)],
        claims={"2.7": Claim(f"{_REF} 8", False, 1, "doesn't allow an argument")}))
    gvt_claims = {**{r: Claim(f"{_REF} 7/8", True) for r in until("2.7")},
                  **{r: Claim(f"{_REF} 7/8", False, 1, 'The "pci-gvt" parameter is obsolete')
                     for r in since("3.0")}}
    specs.append(Spec(
        id="discrepancies/gvt/old-script",
        description="an old GVT-g launch line (-s 2,pci-gvt -G ...): fails on 3.x",
        tags=(*tag, "device:pci-gvt", "option:gvtargs"),
        argv=lambda r: base_argv(r, "-s", "2,pci-gvt", "-G", "64 448 8"), claims=gvt_claims))
    specs.append(Spec(
        id="discrepancies/gvt/gvtargs-only",
        description="-G alone: validated up to 2.7, obsolete and ignored on 3.x",
        tags=(*tag, "option:gvtargs"), argv=lambda r: base_argv(r, "-G", "64 448 8"),
        claims={r: Claim(f"{_REF} 8", True) for r in VERSIONS}))
    specs.append(Spec(
        id="discrepancies/uuid/old-script",
        description="-U <uuid> in a launch line: accepted by 1.6, usage(1) from 2.7",
        tags=(*tag, "option:uuid"),
        argv=lambda r: base_argv(r, "-U", "d2795438-25d6-11e8-864e-cb7a18b34643"),
        claims={"1.6": Claim(f"{_REF} 8", True),
                **{r: Claim(f"{_REF} 8", False, 1) for r in since("2.7")}}))
    specs.append(Spec(
        id="discrepancies/npk/old-script",
        description="-s npk in an old launch line: obsolete on 3.x",
        tags=(*tag, "device:npk"), argv=lambda r: base_argv(r, "-s", "9,npk,8/24"),
        claims={r: Claim(f"{_REF} 8", False, 1, 'The "npk" parameter is obsolete')
                for r in since("3.0")}))
    specs.append(Spec(
        id="discrepancies/ivshmem/slot-6-twice",
        description="the enable_ivshmem.rst example (2.7): two ivshmem regions both on slot 6",
        tags=(*tag, "device:ivshmem"), releases=since("2.7"),
        argv=lambda r: base_argv(r, "-s", "6,ivshmem,hv:/shm_region_0,2",
                                 "-s", "6,ivshmem,hv:/shm_region_1,2"),
        claims={r: Claim(f"{_REF} 7", False, 1, "pci slot 6:0 already occupied!")
                for r in since("2.7")}))
    specs.append(Spec(
        id="discrepancies/ivshmem/slot-6-and-7",
        description="the same example with the second region moved to slot 7",
        tags=(*tag, "device:ivshmem"), releases=since("2.7"),
        argv=lambda r: base_argv(r, "-s", "6,ivshmem,hv:/shm_region_0,2",
                                 "-s", "7,ivshmem,hv:/shm_region_1,2")))
    doc_examples = {
        "xhci": ["-s", "7,xhci,1-2,2-2"],
        "virtio-blk": ["-s", f"9,virtio-blk,{ROOT}/root/test.img"],
        "bootargs": ["-B", "loglevel=7"],
        "memsize": ["-m", "4g"],
        "intr-monitor": ["--intr_monitor", "10000,10,1,100"],
        "logger": ["--logger_setting", "console,level=4;disk,level=4;kmsg,level=3"],
        "acpidev-pt": ["--acpidev_pt", "MSFT0101,00"],
    }
    for name, middle in doc_examples.items():
        specs.append(Spec(
            id=f"discrepancies/no-name/{name}",
            description="a doc example without a VM name: " + " ".join(middle),
            tags=(*tag, "no-name"),
            argv=partial(_middle_unnamed, tuple(middle)),
            claims={r: Claim(f"{_REF} 7/8", False, 1) for r in VERSIONS}))
        specs.append(Spec(
            id=f"discrepancies/no-name/{name}-named",
            description="the same doc example with a VM name added: " + " ".join(middle),
            tags=(*tag, "no-name"), argv=partial(_middle, tuple(middle))))
    specs.append(Spec(
        id="discrepancies/vtpm2/bare-path",
        description="--vtpm2 <path>: the doc's form leaves sock_path unset (acrn-dm wants "
                    "sock_path=<path>)", tags=(*tag, "option:vtpm2"),
        argv=lambda r: base_argv(r, "--vtpm2", "/run/swtpm/swtpm-sock")))
    specs.append(Spec(
        id="discrepancies/passthru/gpu-gone",
        description="passthru ',gpu' exists in 1.6 only; later a warning",
        tags=(*tag, "device:passthru"),
        argv=lambda r: base_argv(r, "-s", "2,passthru,0/2/0,gpu")))
    specs.append(Spec(
        id="discrepancies/net/old-tap-syntax",
        description="virtio-net,tap_VM1 (old syntax): parses on 3.x but opens no tap",
        tags=(*tag, "device:virtio-net"),
        argv=lambda r: base_argv(r, "-s", "4,virtio-net,tap_VM1"),
        claims={r: Claim(f"{_REF} 7", True) for r in VERSIONS}))
    specs.append(Spec(
        id="discrepancies/cpu-affinity/missing-3x",
        description="no --cpu_affinity: 3.x fails at ACPI build",
        tags=(*tag, "option:cpu_affinity"),
        argv=lambda r: ["-m", "2048M", "-s", "0:0,hostbridge", "-k", KERNEL, "vm1"],
        claims={**{r: Claim(f"{_REF} 8", True) for r in until("2.7")},
                **{r: Claim(f"{_REF} 8", False, 1, "Invalid guest_pcpu_bitmask")
                   for r in since("3.0")}}))
    specs.append(Spec(
        id="discrepancies/cpu-affinity/range-3x",
        description="--cpu_affinity 1-0: 2.7 rejects it (3.2 accepts it, per the observations)",
        tags=(*tag, "option:cpu_affinity"), releases=since("2.7"),
        argv=lambda r: ["-m", "2048M", "-s", "0:0,hostbridge", "--cpu_affinity", "1-0",
                        "-k", KERNEL, "vm1"],
        claims={"2.7": Claim(f"{_REF} 8", False, 64),
                "3.2": Claim(f"{_REF} 8", True)}))
    specs.append(Spec(
        id="discrepancies/cpu-affinity/junk-2.7",
        description="--cpu_affinity x: 2.7 accepts it (an empty set)",
        tags=(*tag, "option:cpu_affinity"), releases=("2.7",),
        argv=lambda r: ["-m", "2048M", "-s", "0:0,hostbridge", "--cpu_affinity", "x",
                        "-k", KERNEL, "vm1"],
        claims={"2.7": Claim(f"{_REF} 8", True)}))
    specs.append(Spec(
        id="discrepancies/pm-notify/ioc123-1.6",
        description="--pm_notify_channel ioc123: 1.6 matches a prefix, 2.7+ reject",
        tags=(*tag, "option:pm_notify_channel"),
        argv=lambda r: base_argv(r, "--pm_notify_channel", "ioc123"),
        claims={"1.6": Claim(f"{_REF} 8", True),
                **{r: Claim(f"{_REF} 8", False, 64) for r in since("2.7")}}))
    specs.append(Spec(
        id="discrepancies/obsolete-options-3x",
        description="-G, --vsbl and --pm_by_vuart together: ignored and accepted on 3.x",
        tags=(*tag,), releases=since("3.0"),
        argv=lambda r: base_argv(r, "-G", "64 448 8", "--vsbl", f"{ROOT}/bios/VSBL.bin",
                                 "--pm_by_vuart", "pty,/run/acrn/life_mngr_vm1"),
        claims={r: Claim(f"{_REF} 8", True) for r in since("3.0")}))
    specs.append(Spec(
        id="discrepancies/crash/ahci-missing-3.2",
        description="ahci,hd:<missing file>: accepted by 1.6/2.7 (per the notes), crashes 3.2",
        tags=(*tag, "device:ahci", "crash"),
        argv=lambda r: base_argv(r, "-s", f"5,ahci,hd:{ROOT}/missing.img"),
        missing=(f"{ROOT}/missing.img",),
        claims={"1.6": Claim(f"{_REF} 8", True), "2.7": Claim(f"{_REF} 8", True),
                "3.2": Claim(f"{_REF} 8", False, None)}))
    specs.append(Spec(
        id="discrepancies/crash/no-device-3.2",
        description="no -s device at all: 3.2 crashes",
        tags=(*tag, "crash"),
        argv=lambda r: ["-m", "2048M", *(["--cpu_affinity", "1"] if r != "1.6" else []),
                        "-k", KERNEL, "vm1"],
        claims={"3.2": Claim(f"{_REF} 8", False, None)}))
    specs.append(Spec(
        id="discrepancies/crash/pm-uart-3x",
        description="--pm_notify_channel uart: aborts 3.x (pm-by-vuart is ignored)",
        tags=(*tag, "crash", "option:pm_notify_channel"),
        argv=lambda r: base_argv(r, "--pm_notify_channel", "uart", "--pm_by_vuart",
                                 "pty,/run/acrn/life_mngr_vm1"),
        claims={r: Claim(f"{_REF} 8", False, None) for r in since("3.0")}))
    specs.append(Spec(
        id="discrepancies/kernel/missing",
        description="-k naming a missing file: exit 10",
        tags=(*tag, "option:kernel"), argv=lambda r: base_argv(r),
        missing=(KERNEL,),
        claims={r: Claim(f"{_REF} 8", False, 10, "check_image failed") for r in VERSIONS}))
    specs.append(Spec(
        id="discrepancies/ramdisk/missing",
        description="-r naming a missing file: exit 11",
        tags=(*tag, "option:ramdisk"),
        argv=lambda r: base_argv(r, "-r", f"{ROOT}/boot/gone.img"),
        missing=(f"{ROOT}/boot/gone.img",),
        claims={r: Claim(f"{_REF} 8", False, 11, "check_image failed") for r in VERSIONS}))
    specs.append(Spec(
        id="discrepancies/kernel/empty",
        description="-k naming an empty file: exit 10", tags=(*tag, "option:kernel"),
        argv=lambda r: base_argv(r), host_override=(HostFile(KERNEL, "file", 0),),
        claims={r: Claim(f"{_REF} 8", False, 10) for r in VERSIONS}))
    specs.append(Spec(
        id="discrepancies/ovmf/missing",
        description="--ovmf naming a missing file: exit 64",
        tags=(*tag, "option:ovmf"),
        argv=lambda r: base_argv(r, "--ovmf", f"{ROOT}/gone/OVMF.fd"),
        missing=(f"{ROOT}/gone/OVMF.fd",),
        claims={r: Claim(f"{_REF} 8", False, 64, "invalid ovmf param") for r in VERSIONS}))
    specs.append(Spec(
        id="discrepancies/elf/missing",
        description="-E naming a missing file: exit 1",
        tags=(*tag, "option:elf_file"),
        argv=lambda r: base_argv(r, "-E", f"{ROOT}/gone/zephyr.elf"),
        missing=(f"{ROOT}/gone/zephyr.elf",),
        claims={r: Claim(f"{_REF} 8", False, 1, "image file failed to open")
                for r in VERSIONS}))
    specs.append(Spec(
        id="discrepancies/blk/odd-size",
        description="a virtio-blk file that is not a multiple of 512 bytes",
        tags=(*tag, "device:virtio-blk"),
        argv=lambda r: base_argv(r, "-s", f"3,virtio-blk,{ROOT}/odd.img"),
        host_override=(HostFile(f"{ROOT}/odd.img", "file", 1000),),
        claims={r: Claim(f"{_REF} 8", False, 1) for r in VERSIONS}))
    specs.append(Spec(
        id="discrepancies/W/3x",
        description="-W: accepted by 1.6 and 2.7, an invalid option in 3.x",
        tags=(*tag, "option:virtio_msix"), argv=lambda r: base_argv(r, "-W"),
        claims={**{r: Claim(f"{_REF} 8", True) for r in until("2.7")},
                **{r: Claim(f"{_REF} 8", False, 1, "invalid option") for r in since("3.0")}}))
    specs.append(Spec(
        id="discrepancies/p/1.6",
        description="-p 0:1 in 1.6: a letter left in optstr, silent usage(1)",
        tags=(*tag, "option:pincpu"), releases=until("2.7"),
        argv=lambda r: base_argv(r, "-p", "0:1"),
        claims={"1.6": Claim(f"{_REF} 8", False, 1)}))
    return specs


# --- declared inputs: typical launch lines ------------------------------------------------------

_BOOTARGS_16 = ("root=/dev/vda3 rw rootwait maxcpus=1 nohpet console=tty0 console=hvc0 "
                "console=ttyS0 no_timer_check ignore_loglevel log_buf_len=16M "
                "consoleblank=0 tsc=reliable i915.avail_planes_per_pipe=0x01010F "
                "i915.domain_plane_owners=0x011111110000 i915.enable_gvt=1")
_BOOTARGS = "root=/dev/vda1 rw rootwait console=ttyS0 console=hvc0"
_RT_BOOTARGS = ("root=/dev/vda1 rw rootwait nohpet console=hvc0 console=ttyS0 no_timer_check "
                "ignore_loglevel log_buf_len=16M consoleblank=0 tsc=reliable clocksource=tsc "
                "x2apic_phys processor.max_cstate=0 intel_idle.max_cstate=0 intel_pstate=disable "
                "mce=ignore_ce audit=0 isolcpus=nohz,domain,1 nohz_full=1 rcu_nocbs=1 "
                "nosoftlockup idle=poll irqaffinity=0")

#: (name, releases, description, argv): shapes of the sample scripts, written from the grammar.
LAUNCH_LINES: Sequence[tuple[str, tuple[str, ...], str, list[str]]] = (
    ("v1.6-uos", VERSIONS, "1.6-era user VM with GVT-g, hyper_dmabuf and a global MAC seed",
     ["-A", "-m", "2048M", "-s", "0:0,hostbridge", "-s", "2,pci-gvt", "-G", "64 448 8",
      "-s", "5,virtio-console,@pty:pty_port", "-s", "6,virtio-hyper_dmabuf",
      "-s", f"3,virtio-blk,{ROOT}/home/clear/uos/uos.img", "-s", "4,virtio-net,tap0",
      "-s", "7,virtio-rnd", "--mac_seed", "a1b2c3d4-vm1", "-k", f"{ROOT}/usr/lib/kernel/iot-lts",
      "-B", _BOOTARGS_16, "vm1"]),
    ("v1.6-hard-rt", VERSIONS, "1.6-era hard RT VM: lapic_pt, passthrough, pm by vuart, -U",
     ["-A", "-m", "1024M", "-s", "0:0,hostbridge", "-s", "1:0,lpc", "-l", "com1,stdio",
      "-s", "2,passthru,02/0/0", "-s", "3,virtio-console,@pty:pty_port",
      "-U", "495ae2e5-2603-4d64-af76-d4bc5a8ec0e5", "--lapic_pt", "--rtvm",
      "--virtio_poll", "1000000", "--pm_notify_channel", "uart",
      "--pm_by_vuart", f"tty,{ROOT}/dev/ttyS1", "-k", f"{ROOT}/boot/bzImage_RT",
      "-B", _RT_BOOTARGS, "hard_rtvm"]),
    ("v1.6-win", VERSIONS, "1.6-era Windows VM: AHCI disk, GVT-g, OVMF, --windows",
     ["-A", "-m", "4096M", "-s", "0:0,hostbridge", "-s", "1:0,lpc", "-l", "com1,stdio",
      "-s", "2,pci-gvt", "-G", "64 448 8", "-s", f"3,ahci,hd:{ROOT}/home/acrn/win10.img",
      "-s", "4,virtio-net,tap0", "--ovmf", OVMF, "--windows", "windows"]),
    ("v1.6-zephyr", VERSIONS, "1.6-era Zephyr VM booted from an ELF image",
     ["-A", "-m", "128M", "-s", "0:0,hostbridge", "-s", "1:0,lpc", "-l", "com1,stdio",
      "-E", f"{ROOT}/home/acrn/zephyr.elf", "zephyr"]),
    ("v1.6-vsbl", VERSIONS, "1.6-era Android-style VM on vSBL with trusty and IOC",
     ["-A", "-m", "2048M", "-s", "0:0,hostbridge", "-s", "1:0,lpc", "-l",
      f"com2,{ROOT}/run/acrn/ioc_vm1", "-s", "2,pci-gvt", "-G", "64 448 8",
      "-s", f"3,virtio-blk,b,{ROOT}/data/android/android.img", "-s", "4,virtio-net,tap0",
      "-i", "/run/acrn/ioc_vm1,0x20", "--vsbl", f"{ROOT}/usr/share/acrn/bios/VSBL.bin",
      "--enable_trusty", "android"]),
    ("v2.7-user-vm", VERSIONS, "2.7-era launch_user_vm: OVMF, cpu_affinity, MAC seed, "
     "power button",
     ["-m", "2048M", "-s", "0:0,hostbridge", "-s", "1:0,lpc", "-l", "com1,stdio",
      "-s", f"3,virtio-blk,{ROOT}/home/acrn/uos.img", "-s", "4,virtio-net,tap0",
      "-s", "5,virtio-console,@pty:pty_port", "-s", "7,virtio-rnd",
      "--ovmf", OVMF, "--cpu_affinity", "1,2", "--mac_seed", "a1b2c3d4-vm1",
      "--pm_notify_channel", "power_button", "vm1"]),
    ("v2.7-hard-rt", VERSIONS, "2.7-era hard RT VM: still passes -U, which 2.7 rejects",
     ["-m", "1024M", "-s", "0:0,hostbridge", "-s", "1:0,lpc", "-l", "com1,stdio",
      "-s", "2,passthru,02/0/0", "-U", "495ae2e5-2603-4d64-af76-d4bc5a8ec0e5",
      "--lapic_pt", "--rtvm", "--virtio_poll", "1000000", "--cpu_affinity", "3",
      "--pm_notify_channel", "uart", "--pm_by_vuart", f"tty,{ROOT}/dev/ttyS1",
      "-k", f"{ROOT}/boot/bzImage_RT", "-B", _RT_BOOTARGS, "hard_rtvm"]),
    ("v2.7-hard-rt-fixed", VERSIONS, "the 2.7 hard RT line without -U",
     ["-m", "1024M", "-s", "0:0,hostbridge", "-s", "1:0,lpc", "-l", "com1,stdio",
      "-s", "2,passthru,02/0/0", "--lapic_pt", "--rtvm", "--virtio_poll", "1000000",
      "--cpu_affinity", "3", "--pm_notify_channel", "power_button",
      "-k", f"{ROOT}/boot/bzImage_RT", "-B", _RT_BOOTARGS, "hard_rtvm"]),
    ("v2.7-ivshmem", VERSIONS, "2.7-era VM sharing memory through ivshmem",
     ["-m", "2048M", "-s", "0:0,hostbridge", "-s", "1:0,lpc", "-l", "com1,stdio",
      "-s", f"3,virtio-blk,{ROOT}/home/acrn/uos.img", "-s", "6,ivshmem,hv:/shm_region_0,2",
      "--ovmf", OVMF, "--cpu_affinity", "1", "vm1"]),
    ("v2.7-win", VERSIONS, "2.7-era Windows VM: xHCI tablet, AHCI, OVMF write-back",
     ["-m", "4096M", "-s", "0:0,hostbridge", "-s", "1:0,lpc", "-l", "com1,stdio",
      "-s", f"3,ahci,hd:{ROOT}/home/acrn/win10.img", "-s", "4,virtio-net,tap0",
      "-s", "5,xhci,tablet", "--ovmf", f"w,{OVMF}", "--cpu_affinity", "1,2", "--windows",
      "windows"]),
    ("v2.7-ssram", VERSIONS, "2.7-era RTVM with software SRAM as a flag",
     ["-m", "1024M", "-s", "0:0,hostbridge", "-s", "1:0,lpc", "-l", "com1,stdio",
      "--lapic_pt", "--rtvm", "--ssram", "--cpu_affinity", "3",
      "-k", f"{ROOT}/boot/bzImage_RT", "-B", _RT_BOOTARGS, "rtvm"]),
    ("v3-user-vm", VERSIONS, "3.x generated script: OVMF, tap=, vuart, logger, intr monitor",
     ["--cpu_affinity", "1,2", "-m", "1024M", "--ovmf", OVMF,
      "-s", "0:0,hostbridge", "-s", "1:0,lpc", "-l", "com1,stdio",
      "-s", f"3,virtio-blk,{ROOT}/home/acrn/ubuntu.img", "-s", "4,virtio-net,tap=tap_VM1",
      "-s", "5,virtio-console,@pty:pty_port", "-s", "8,uart,vuart_idx:1",
      "--intr_monitor", "10000,10,1,100",
      "--logger_setting", "console,level=4;kmsg,level=3;disk,level=5", "VM1"]),
    ("v3-rtvm", VERSIONS, "3.x generated RTVM script: lapic_pt, virtio_msi, vuart, "
     "passthrough",
     ["--cpu_affinity", "3", "-m", "1024M", "--ovmf", OVMF, "--lapic_pt", "--rtvm",
      "--virtio_poll", "1000000", "--virtio_msi", "-s", "0:0,hostbridge", "-s", "1:0,lpc",
      "-l", "com1,stdio", "-s", f"3,virtio-blk,{ROOT}/dev/nvme0n1p3", "-s", "5,passthru,0/1f/6",
      "-s", "8,uart,vuart_idx:1", "VM2"]),
    ("v3-rtvm-ssram", since("3.0"), "3.x RTVM with an SSRAM region",
     ["--cpu_affinity", "3", "-m", "1024M", "--ovmf", OVMF, "--lapic_pt", "--rtvm",
      "--ssram", "L2,vcpu=0,size=2M", "-s", "0:0,hostbridge",
      "-s", f"3,virtio-blk,{ROOT}/home/acrn/rt.img", "VM2"]),
    ("v3-kernel-direct", VERSIONS, "3.x VM booted directly from a kernel with an iasl path",
     ["--cpu_affinity", "1", "-m", "2048M", "--iasl", "/usr/sbin/iasl",
      "-s", "0:0,hostbridge", "-s", f"3,virtio-blk,{ROOT}/home/acrn/rootfs.img",
      "-s", "4,virtio-net,tap=tap_VM3,mac_seed=VM3", "-s", "6,vhost-vsock,cid=3",
      "-k", f"{ROOT}/boot/bzImage", "-B", _BOOTARGS, "VM3"]),
    ("v3-gfx", since("3.0"), "3.x VM with virtio-gpu and virtio-input",
     ["--cpu_affinity", "1,2", "-m", "4096M", "--ovmf", OVMF, "-s", "0:0,hostbridge",
      "-s", f"3,virtio-blk,{ROOT}/home/acrn/ubuntu.img", "-s", "4,virtio-net,tap=tap_VM1",
      "-s", "9,virtio-gpu,geometry=fullscreen", "-s", "10,virtio-input,/dev/input/event3",
      "VM1"]),
    ("v3-windows", since("3.0"), "3.x Windows VM: AHCI disk and CD, xHCI tablet",
     ["--cpu_affinity", "1,2", "-m", "4096M", "--ovmf", f"w,{OVMF}", "--windows",
      "-s", "0:0,hostbridge", "-s", "1:0,lpc", "-l", "com1,stdio",
      "-s", f"3,ahci,hd:{ROOT}/home/acrn/win10.img,cd:{ROOT}/home/acrn/virtio-win.iso",
      "-s", "4,virtio-net,tap=tap_WaaG", "-s", "7,xhci,tablet", "WaaG"]),
    ("v3.3-blk-options", ("3.3",), "3.3 virtio-blk with iothread, mq and io_uring",
     ["--cpu_affinity", "1,2", "-m", "2048M", "-s", "0:0,hostbridge",
      "-s", f"3,virtio-blk,iothread=2@1:2,mq=2,{ROOT}/home/acrn/data.img,aio=io_uring,"
            "nocache",
      "-k", f"{ROOT}/boot/bzImage", "-B", _BOOTARGS, "VM4"]),
    ("v3.3-com5", ("3.3",), "3.3 S5 UART on COM5",
     ["--cpu_affinity", "1", "-m", "2048M", "-s", "0:0,hostbridge", "-s", "1:0,lpc",
      "-l", "com1,stdio", "-l", f"com5,{ROOT}/run/acrn/s5_vm1", "-k", f"{ROOT}/boot/bzImage",
      "vm1"]),
)


def launch_specs() -> list[Spec]:
    specs = []
    for name, releases, desc, argv in LAUNCH_LINES:
        emuls = {argv[i + 1].split(",")[1] for i, a in enumerate(argv[:-1]) if a == "-s"}
        missing_models = sorted(e for e in emuls if e in MODULE_OF and lookup(e) is None)
        if missing_models:
            SKIPPED_EMULS.extend(f"launch/{name}:{e}" for e in missing_models)
            continue
        tags = ("launch", *sorted(f"device:{e}" for e in emuls))
        specs.append(Spec(id=f"launch/{name}/argv", description=desc, tags=tags,
                          releases=releases, argv=list(argv)))
        specs.append(Spec(id=f"launch/{name}/model",
                          description=desc + " (JSON form, as acrnkit parses it)",
                          tags=tags, releases=releases,
                          acrnkit=partial(_parsed_payload, tuple(argv))))
    return specs


def _parsed_payload(argv: Sequence[str], rel: str) -> Payload | None:
    """The JSON form of what acrnkit parses from ``argv`` (None if it cannot round-trip)."""
    vm, _err = parse_argv(argv, rel)
    if vm is None:
        return None
    payload = to_json(vm)
    if build_acrnkit(payload, rel, strict=False)[1] != vm:
        INCONSISTENT.append(f"launch line [{rel}]: to_json/from_json do not round-trip "
                            f"{' '.join(argv[:8])}...; no JSON-form case")
        return None
    return payload


# --- declared inputs: Kata ---------------------------------------------------------------------

K_KERNEL = f"{ROOT}/usr/share/kata-containers/vmlinuz.container"
K_IMAGE = f"{ROOT}/usr/share/kata-containers/kata-containers.img"
_KQ = "docs/kata-quirks.md"


def _kdev(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, **fields}


BRIDGE = _kdev("BridgeDevice", Emul="hostbridge", Function=0)
LPC = _kdev("LPCDevice", Emul="lpc", Function=0)
CONSOLE = _kdev("ConsoleDevice", Name="console0", Backend="socket", PortType=1,
                Path="/run/vc/vm/abc/console.sock")
IMAGE = _kdev("BlockDevice", FilePath=K_IMAGE, Index=0)
VSOCK = _kdev("VSOCKDevice", ContextID=3)
NET = _kdev("NetDevice", Type="tap", IFName="tap0_kata", MACAddress="02:42:ac:11:00:02")


def kata_config(devices: Sequence[Mapping[str, Any]], **over: Any) -> Payload:
    cfg: Payload = {"ACPIVirt": True, "Memory": {"Size": "2048M"}, "ApicID": "1",
                    "Kernel": {"Path": K_KERNEL, "Params": "console=hvc0 panic=1"},
                    "Name": "sbx-abc", "Path": "/usr/bin/acrn-dm",
                    "CtlPath": "/usr/bin/acrnctl", "Devices": list(devices)}
    for key, value in over.items():
        if value is None:
            cfg.pop(key, None)
        else:
            cfg[key] = value
    return cfg


STD = [BRIDGE, LPC, CONSOLE, IMAGE, VSOCK, NET]
KATA_RELEASES = VERSIONS


def _q(*numbers: int) -> tuple[str, ...]:
    return ("kata", *(f"quirk:kata-{n}" for n in numbers))


def _kclaims(accepted_3x: bool, exit_status: int | None = None, message: str | None = None,
             releases: Sequence[str] = ("3.2", "3.3")) -> dict[str, Claim]:
    return {r: Claim(_KQ, accepted_3x, exit_status, message) for r in releases}


def kata_specs() -> list[Spec]:
    cfgs: list[tuple[str, str, tuple[str, ...], Payload, Mapping[str, Claim]]] = [
        ("standard", "the standard device list", _q(2, 3, 5, 10, 11, 12, 15),
         kata_config(STD), _kclaims(True)),
        ("invalid-device-skipped", "an invalid NIC (no MAC) in the middle consumes no slot",
         _q(1), kata_config([BRIDGE, LPC, _kdev("NetDevice", Type="tap", IFName="tap9"),
                             CONSOLE, IMAGE, VSOCK, NET]), _kclaims(True)),
        ("slot-2-skipped", "the third valid device goes to slot 3",
         _q(2), kata_config([BRIDGE, LPC, IMAGE]), _kclaims(True)),
        ("invalid-at-slot-2", "an invalid device where slot 2 would be: no skip logged",
         _q(1, 2), kata_config([BRIDGE, LPC, _kdev("BlockDevice"), IMAGE]), _kclaims(True)),
        ("lpc-single-element", "-lcom1,stdio is one argv element",
         _q(3), kata_config([BRIDGE, LPC]), _kclaims(True)),
        ("lpc-function-7", "LPC Function 7 is not validated by Kata",
         _q(4), kata_config([BRIDGE, _kdev("LPCDevice", Emul="lpc", Function=7)]),
         _kclaims(True)),
        ("lpc-function-8", "LPC Function 8: an invalid PCI slot for acrn-dm",
         _q(4), kata_config([BRIDGE, _kdev("LPCDevice", Emul="lpc", Function=8)]),
         _kclaims(False, 1, 'Invalid PCI slot info field "1:8,lpc"')),
        ("lpc-function-negative", "LPC Function -1",
         _q(4), kata_config([BRIDGE, _kdev("LPCDevice", Emul="lpc", Function=-1)]),
         _kclaims(False, 1, "Invalid PCI slot info field")),
        ("lpc-wrong-emul", "an LPCDevice whose Emul is not lpc is skipped",
         _q(1, 4), kata_config([BRIDGE, _kdev("LPCDevice", Emul="igd-lpc"), IMAGE]), {}),
        ("bridge-config-ignored", "BridgeDevice.Config is never rendered",
         _q(5), kata_config([_kdev("BridgeDevice", Emul="hostbridge", Config="x=y"), IMAGE]),
         _kclaims(True)),
        ("bridge-function-1", "a BridgeDevice with Function 1 is invalid and skipped",
         _q(1, 5), kata_config([_kdev("BridgeDevice", Emul="hostbridge", Function=1), IMAGE]),
         {}),
        ("console-backend-console-consolebe", "Backend 'console' (Kata's Stdio) renders a "
         "bare @", _q(6), kata_config([BRIDGE, _kdev("ConsoleDevice", Name="c", Path="/x",
                                                    Backend="console", PortType=1)]),
         _kclaims(False, 1, "vtcon: invalid backend !", ("2.7", "3.2", "3.3"))),
        ("console-backend-console-serialbe", "Backend 'console', SerialBE: nothing after the "
         "comma", _q(6), kata_config([BRIDGE, _kdev("ConsoleDevice", Name="c", Path="/x",
                                                   Backend="console", PortType=0)]),
         _kclaims(False, 1, None, ("2.7", "3.2", "3.3"))),
        ("console-stdio-unreachable", "Backend 'stdio' fails Valid() and is dropped",
         _q(7), kata_config([BRIDGE, LPC, _kdev("ConsoleDevice", Name="c", Path="/x",
                                               Backend="stdio", PortType=1), IMAGE]),
         _kclaims(True)),
        ("console-pty-needs-path", "a pty console without Path is dropped",
         _q(8), kata_config([BRIDGE, _kdev("ConsoleDevice", Name="c", Backend="pty",
                                          PortType=1), IMAGE]), _kclaims(True)),
        ("console-pty", "a pty console with a Path renders @pty:pty_port",
         _q(8), kata_config([BRIDGE, _kdev("ConsoleDevice", Name="c", Path="/unused",
                                          Backend="pty", PortType=1)]), _kclaims(True)),
        ("console-tty", "a tty console renders tty:tty_port=<Path>",
         _q(8), kata_config([BRIDGE, _kdev("ConsoleDevice", Name="c", Path=f"{ROOT}/dev/tty9",
                                          Backend="tty", PortType=0)]), {}),
        ("console-file", "a file console renders file:file_port=<Path>",
         _q(8), kata_config([BRIDGE, _kdev("ConsoleDevice", Name="c",
                                          Path="/var/log/kata-console.log", Backend="file",
                                          PortType=1)]), {}),
        ("console-porttype-2", "PortType 2 is invalid and skipped",
         _q(9), kata_config([BRIDGE, _kdev("ConsoleDevice", Name="c", Path="/x",
                                          Backend="pty", PortType=2), IMAGE]), {}),
        ("console-serial-socket", "the serial socket of appendSocket has no @",
         _q(10), kata_config([BRIDGE, _kdev("ConsoleDevice", Name="archserial.test",
                                           Path="/tmp/archserial.sock", Backend="socket",
                                           PortType=0)]), _kclaims(True)),
        ("vsock-cid-3", "vsock CID 3", _q(11), kata_config([BRIDGE, VSOCK]), _kclaims(True)),
        ("vsock-cid-max-ok", "vsock CID 4294967294",
         _q(11), kata_config([BRIDGE, _kdev("VSOCKDevice", ContextID=4294967294)]),
         _kclaims(True)),
        ("vsock-cid-4294967295", "vsock CID 4294967295 passes Kata, fails acrn-dm's init",
         _q(11), kata_config([BRIDGE, _kdev("VSOCKDevice", ContextID=4294967295)]),
         {**_kclaims(False, 1, "vsock: guest_cid has to be 0x2~0xffffffff."),
          "2.7": Claim(_KQ, False, 1, 'unknown device "vhost-vsock"')}),
        ("vsock-cid-2", "vsock CID 2 fails Valid() and is dropped",
         _q(1, 11), kata_config([BRIDGE, _kdev("VSOCKDevice", ContextID=2), IMAGE]), {}),
        ("vsock-cid-2pow32", "vsock CID 4294967296 fails Valid()",
         _q(11), kata_config([BRIDGE, _kdev("VSOCKDevice", ContextID=4294967296), IMAGE]), {}),
        ("net-tap-old-syntax", "tap renders the pre-3.0 form: accepted, no tap on 3.x",
         _q(12), kata_config([BRIDGE, NET]), {**_kclaims(True), "2.7": Claim(_KQ, True)}),
        ("net-macvtap", "macvtap renders exactly like tap",
         _q(12), kata_config([BRIDGE, _kdev("NetDevice", Type="macvtap", IFName="macvtap0",
                                           MACAddress="02:42:ac:11:00:03")]),
         _kclaims(True)),
        ("net-mac-upper", "an upper-case MAC is printed as given",
         _q(13), kata_config([BRIDGE, _kdev("NetDevice", Type="tap", IFName="tap0_kata",
                                           MACAddress="02:42:AC:11:00:02")]), _kclaims(True)),
        ("net-mac-short-bytes", "02:42:AC:11:0:2 is accepted by ether_aton",
         _q(13), kata_config([BRIDGE, _kdev("NetDevice", Type="tap", IFName="tap0_kata",
                                           MACAddress="02:42:AC:11:0:2")]), _kclaims(True)),
        ("net-mac-dashes", "a MAC with dashes: Invalid MAC at init",
         _q(13), kata_config([BRIDGE, _kdev("NetDevice", Type="tap", IFName="tap0_kata",
                                           MACAddress="02-42-ac-11-00-02")]),
         _kclaims(False, 1, "Invalid MAC")),
        ("net-mac-multicast", "a multicast MAC: Invalid MAC at init",
         _q(13), kata_config([BRIDGE, _kdev("NetDevice", Type="tap", IFName="tap0_kata",
                                           MACAddress="01:00:5e:00:00:01")]),
         _kclaims(False, 1, "Invalid MAC")),
        ("net-mac-zero", "the all-zero MAC: Invalid MAC at init",
         _q(13), kata_config([BRIDGE, _kdev("NetDevice", Type="tap", IFName="tap0_kata",
                                           MACAddress="00:00:00:00:00:00")]),
         _kclaims(False, 1, "Invalid MAC")),
        ("net-type-empty", "a NetDevice of another type is invalid (the IFName-only branch is "
         "unreachable)", _q(14), kata_config([BRIDGE, _kdev("NetDevice", IFName="eth0",
                                                           MACAddress="02:00:00:00:00:09"),
                                             IMAGE]), {}),
        ("no-acpi", "ACPIVirt false: no -A", _q(15), kata_config(STD, ACPIVirt=False), {}),
        ("memory-empty", "Memory.Size empty: no -m", _q(16),
         kata_config(STD, Memory={"Size": ""}), {}),
        ("memory-0M", "MemorySize 0 gives -m 0M", _q(16),
         kata_config(STD, Memory={"Size": "0M"}), _kclaims(False, 64, "invalid memsize '0M'")),
        ("memory-no-unit", "Memory.Size 2048 without a unit", _q(16),
         kata_config(STD, Memory={"Size": "2048"}), _kclaims(False, 64, "invalid memsize")),
        ("no-apicid", "no ApicID: no --cpu_affinity; 3.x fails at ACPI build", _q(17),
         kata_config(STD, ApicID=""), _kclaims(False, 1, "Invalid guest_pcpu_bitmask")),
        ("no-kernel-path", "Kernel.Path empty: neither -k nor -B", _q(18),
         kata_config(STD, Kernel={"Path": "", "Params": "console=hvc0"}),
         _kclaims(False, 1, "acrn_sw_load failed")),
        ("bootargs-2047", "-B of 2047 bytes", _q(19),
         kata_config(STD, Kernel={"Path": K_KERNEL, "Params": "x" * 2047}), _kclaims(True)),
        ("bootargs-2048", "-B of 2048 bytes: exit 1 without a message", _q(19),
         kata_config(STD, Kernel={"Path": K_KERNEL, "Params": "x" * 2048}),
         _kclaims(False, 1)),
        ("block-index-9", "a BlockDevice with Index 9 only logs", _q(22),
         kata_config([BRIDGE, _kdev("BlockDevice", FilePath=K_IMAGE, Index=9)]), {}),
        ("block-index-negative", "a negative Index panics in Go: refused", _q(22),
         kata_config([BRIDGE, _kdev("BlockDevice", FilePath=K_IMAGE, Index=-1)]), {}),
        ("slots-past-31", "19 NICs: the last lands on slot 32", _q(23),
         kata_config([BRIDGE, LPC, CONSOLE, IMAGE, VSOCK] + [
             _kdev("NetDevice", Type="tap", IFName=f"tap{i}_kata",
                   MACAddress=f"02:42:ac:11:00:{i + 16:02x}") for i in range(27)]),
         _kclaims(False, 1, "Invalid PCI slot info field")),
        ("path-ignored", "Config.Path and CtlPath do not change the argv", _q(24),
         kata_config(STD, Path="", CtlPath=""), {}),
        ("empty-name", "no Name: no VM name at the end", _q(18),
         kata_config(STD, Name=""), _kclaims(False, 1)),
    ]
    specs = [Spec(id=f"kata/config/{name}", description=desc, tags=tags,
                  releases=KATA_RELEASES, kata_config=cfg, claims=claims)
             for name, desc, tags, cfg, claims in cfgs]
    specs += sandbox_specs()
    return specs


def sandbox(sid: str = "abc", *, endpoints: Sequence[Mapping[str, Any]] = (),
            vsock: Mapping[str, Any] | None = None, debug: bool = False,
            params: Sequence[Sequence[str]] = (), apic: str = "1", **hc: Any) -> Payload:
    cfg: Payload = {"KernelPath": K_KERNEL, "ImagePath": K_IMAGE, "HypervisorPath": "",
                    "HypervisorCtlPath": "", "VMStorePath": "", "MemorySize": 2048,
                    "DefaultMaxVCPUs": 1, "Debug": debug,
                    "KernelParams": [list(p) for p in params]}
    cfg.update(hc)
    return {"id": sid, "hypervisor_config": cfg, "ApicID": apic,
            "vsock": dict(vsock) if vsock is not None else None,
            "endpoints": [dict(e) for e in endpoints]}


def veth(name: str, mac: str, model: str = "macvtap") -> dict[str, Any]:
    return {"type": "VethEndpoint",
            "NetPair": {"TAPIface": {"Name": name, "HardAddr": mac},
                        "VirtIface": {"Name": "eth0", "HardAddr": "02:00:ca:fe:00:04"},
                        "NetInterworkingModel": model}}


def macvtap(name: str, mac: str, index: int = 7) -> dict[str, Any]:
    return {"type": "MacvtapEndpoint",
            "Iface": {"Name": name, "HardwareAddr": mac, "Index": index, "Type": "macvtap"}}


def sandbox_specs() -> list[Spec]:
    v3 = {"ContextID": 3}
    shapes: list[tuple[str, str, tuple[str, ...], Payload, tuple[tuple[str, int], ...] | None,
                       Mapping[str, Claim]]] = [
        ("minimal", "no vsock, no network", _q(27), sandbox(), None, _kclaims(True)),
        ("default", "vsock CID 3 and one veth endpoint (macvtap model)", _q(20, 27, 34),
         sandbox(vsock=v3, endpoints=[veth("tap0_kata", "02:42:ac:11:00:02")]), None,
         _kclaims(True)),
        ("veth-tcfilter", "a veth endpoint in the tcfilter model", _q(34),
         sandbox(vsock=v3, endpoints=[veth("tap0_kata", "02:42:ac:11:00:02", "tcfilter")]),
         None, _kclaims(True)),
        ("macvtap-endpoint", "a macvtap endpoint: its Go HardwareAddr is printed lower case",
         _q(13, 34), sandbox(vsock=v3, endpoints=[macvtap("macvtap0", "02:42:AC:11:00:05")]),
         None, _kclaims(True)),
        ("three-nics", "three endpoints: slots 14, 15, 16", _q(27),
         sandbox(vsock=v3, endpoints=[veth("tap0_kata", "02:42:ac:11:00:02"),
                                      veth("tap1_kata", "02:42:ac:11:00:03"),
                                      macvtap("macvtap0", "02:42:ac:11:00:04")]), None,
         _kclaims(True)),
        ("veth-no-mac", "a veth endpoint whose tap has no MAC is dropped", _q(1, 34),
         sandbox(vsock=v3, endpoints=[veth("tap0_kata", "")]), None, {}),
        ("no-vsock-nic-13", "without the vsock the first NIC takes slot 13", _q(1, 27),
         sandbox(endpoints=[veth("tap0_kata", "02:42:ac:11:00:02")]), None, {}),
        ("debug", "Debug: the debug kernel parameters", _q(20, 31),
         sandbox(vsock=v3, debug=True), None, {}),
        ("user-params", "user parameters come last, duplicates kept", _q(31),
         sandbox(vsock=v3, params=[("console", "hvc1"), ("panic", "1"), ("quiet", ""),
                                   ("", "bare")]), None, {}),
        ("max-vcpus-4", "DefaultMaxVCPUs 4", _q(31), sandbox(vsock=v3, DefaultMaxVCPUs=4),
         None, {}),
        ("memory-4096", "MemorySize 4096", _q(16), sandbox(vsock=v3, MemorySize=4096), None,
         {}),
        ("memory-0", "MemorySize 0 gives -m 0M", _q(16), sandbox(vsock=v3, MemorySize=0),
         None, _kclaims(False, 64, "invalid memsize")),
        ("id-11", "an 11-character id: the name is exactly 15", _q(28),
         sandbox("abcdefghijk", vsock=v3), None, _kclaims(True)),
        ("id-12", "a 12-character id: refused by CreateVM", _q(28),
         sandbox("abcdefghijkl", vsock=v3), None, {}),
        ("id-64-hex", "a normal 64-hex container id is refused", _q(28),
         sandbox("0123456789abcdef" * 4, vsock=v3), None, {}),
        ("id-utf8", "the name limit counts UTF-8 bytes", _q(28),
         sandbox("ééééé", vsock=v3), None, {}),
        ("store-path", "a custom VMStorePath (cleaned like Go's filepath.Join)", _q(29),
         sandbox(vsock=v3, VMStorePath="/run/kata//vm/./x/.."), None, {}),
        ("store-path-too-long", "a console path over 107 bytes", _q(29),
         sandbox(vsock=v3, VMStorePath="/" + "d" * 100), None, {}),
        ("empty-image", "no ImagePath: the first CreateVM error", _q(30),
         sandbox(vsock=v3, ImagePath=""), None, {}),
        ("empty-image-long-id", "no ImagePath and a long id: the image error comes first",
         _q(30), sandbox("abcdefghijkl", vsock=v3, ImagePath=""), None, {}),
        ("no-apicid", "no ApicID", _q(17), sandbox(vsock=v3, apic=""), None,
         _kclaims(False, 1, "Invalid guest_pcpu_bitmask")),
        ("hypervisor-paths", "custom HypervisorPath/HypervisorCtlPath do not change the argv",
         _q(24, 40), sandbox(vsock=v3, HypervisorPath="/opt/acrn/bin/acrn-dm",
                             HypervisorCtlPath="/opt/acrn/bin/acrnctl"),
         (("/dev/dm-3", 1),), {}),
        ("hotplug-first", "the first hotplugged drive: index 1, slot 5", _q(21, 39, 40),
         sandbox(vsock=v3), (("/dev/dm-3", 1),), {}),
        ("hotplug-seven", "indices 1..7 map to slots 5..11", _q(21, 38, 39),
         sandbox(vsock=v3), tuple((f"/dev/dm-{i}", i) for i in range(1, 8)), {}),
        ("hotplug-index-8", "index 8 is refused (>= AcrnBlkDevPoolSz)", _q(38),
         sandbox(vsock=v3), (("/dev/dm-8", 8),), {}),
        ("hotplug-index-0", "index 0 targets the image slot 4", _q(42),
         sandbox(vsock=v3), (("/dev/dm-0", 0),), {}),
        ("hotplug-reuse", "a freed index is reused", _q(42),
         sandbox(vsock=v3), (("/dev/dm-3", 1), ("/dev/dm-4", 1)), {}),
        ("hotplug-empty-file", "an empty hotplug file is refused", _q(38),
         sandbox(vsock=v3), (("", 1),), {}),
        ("hotplug-negative", "a negative index", _q(38), sandbox(vsock=v3),
         (("/dev/dm-3", -1),), {}),
    ]
    specs = [Spec(id=f"kata/sandbox/{name}", description=desc, tags=(*tags, "sandbox"),
                  releases=KATA_RELEASES, kata_sandbox=spec, hotplug=hp, claims=claims)
             for name, desc, tags, spec, hp, claims in shapes]
    # Quirk 33: an endpoint type Kata's appendNetwork cannot handle.
    bad = sandbox(vsock=v3)
    bad["endpoints"] = [{"type": "TapEndpoint", "Iface": {"Name": "tap0"}}]
    specs.append(Spec(id="kata/sandbox/unsupported-endpoint",
                      description="an endpoint type other than veth/macvtap (Kata panics)",
                      tags=(*_q(33), "sandbox"), releases=KATA_RELEASES, kata_sandbox=bad))
    bad_mac = sandbox(vsock=v3, endpoints=[macvtap("macvtap0", "02-42-ac-11-00-05")])
    specs.append(Spec(id="kata/sandbox/macvtap-dashes",
                      description="a macvtap HardwareAddr with dashes parses like Go's "
                                  "net.ParseMAC", tags=(*_q(13), "sandbox"),
                      releases=KATA_RELEASES, kata_sandbox=bad_mac))
    return specs


# --- reference claims for generated inputs ------------------------------------------------------

_R3 = "acrn-dm-cli.md 3"
_R8 = "acrn-dm-cli.md 8"
_R1 = "acrn-dm-cli.md 1.2"


def _dev(emul: str, config: str | None) -> str:
    return f"devices/{emul}/{'none' if config is None else slug(config)}"


def _opt(key: str, value: object) -> str:
    return f"options/{key}/{'set' if value is True else slug(value)}"


def _claims(source: str, releases: Sequence[str], accepted: bool, exit_status: int | None = None,
            message: str | None = None) -> dict[str, Claim]:
    return {r: Claim(source, accepted, exit_status, message) for r in releases}


def _rej(source: str, releases: Sequence[str], exit_status: int | None,
         message: str | None = None) -> dict[str, Claim]:
    return _claims(source, releases, False, exit_status, message)


def _ok(source: str, releases: Sequence[str]) -> dict[str, Claim]:
    return _claims(source, releases, True)


#: spec id -> release -> what the reference says acrn-dm does (checked, never written to cases).
EXTRA_CLAIMS: Mapping[str, Mapping[str, Claim]] = {
    _dev("pci-gvt", None): {**_ok(_R8, until("2.7")),
                            **_rej(_R8, since("3.0"), 1, 'The "pci-gvt" parameter is obsolete')},
    _dev("npk", "8/24"): {**_ok(_R8, until("2.7")),
                          **_rej(_R8, since("3.0"), 1, 'The "npk" parameter is obsolete')},
    _dev("virtio-coreu", None): {**_ok(_R8, until("2.7")), **_rej(
        _R8, since("3.0"), 1, 'The "virtio-coreu" parameter is obsolete')},
    _dev("virtio-hdcp", None): {**_ok(_R8, until("2.7")), **_rej(
        _R8, since("3.0"), 1, 'The "virtio-hdcp" parameter is obsolete')},
    _dev("vhost-vsock", "cid=3"): {**_rej(_R8, until("2.7"), 1, 'unknown device "vhost-vsock"'),
                                   **_ok(_R8, since("3.0"))},
    _dev("vhost-vsock", "cid=4294967295"): _rej(_R3, since("3.0"), 1,
                                                "vsock: guest_cid has to be 0x2~0xffffffff."),
    _dev("vhost-vsock", "cid=2"): _rej(_R3, since("3.0"), 1,
                                       "vsock: guest_cid has to be 0x2~0xffffffff."),
    _dev("vhost-vsock", None): _rej(_R3, since("3.0"), 1, "vsock: must have a valid guest_cid."),
    _dev("virtio-gpu", "geometry=fullscreen"): {
        **_rej(_R8, until("2.7"), 1, 'unknown device "virtio-gpu"'), **_ok(_R8, since("3.0"))},
    _dev("ivshmem", "hv:/shm_region_0,64"): {**_rej(_R8, ("1.6",), 1, 'unknown device "ivshmem"'),
                                             **_ok(_R8, since("2.7"))},
    _dev("ivshmem", "dm:/shm_region_0,3"): _rej(_R3, since("2.7"), 1,
                                                "Invalid shared memory size"),
    _dev("ivshmem", "shm_region_0,2"): _rej(_R3, since("2.7"), 1,
                                            "the ivshmem memory prefix name is incorrect"),
    _dev("virtio-blk", f"iothread,{DISK}"): _ok(_R3, since("3.2")),
    _dev("virtio-blk", f"{DISK},aio=io_uring"): {
        **_rej(_R3, until("3.2"), 1, 'Invalid device option "aio=io_uring"'),
        **_ok(_R8, ("3.3",))},
    _dev("virtio-blk", f"{DISK},nocache"): {
        **_rej(_R3, until("3.2"), 1, 'Invalid device option "nocache"'), **_ok(_R8, ("3.3",))},
    _dev("virtio-blk", f"mq=2,{DISK}"): _ok(_R8, ("3.3",)),
    _dev("virtio-blk", f"{DISK},sectorsize=4096/512"): _rej(_R3, VERSIONS, 1,
                                                            "Invalid sector size 4096/512"),
    _dev("virtio-blk", f"{DISK},bogus"): _rej(_R3, VERSIONS, 1, 'Invalid device option "bogus"'),
    _dev("virtio-blk", f"{DISK},aio=bogus"): _rej(_R3, ("3.3",), 1, "Invalid aio option"),
    _dev("virtio-blk", None): _rej(_R3, VERSIONS, 1, "virtio_blk: backing device required"),
    _dev("virtio-blk", "nodisk"): _ok(_R3, VERSIONS),
    _dev("virtio-net", None): {**_rej(_R3, until("2.7"), 1, "virtio_net: devname NULL"),
                               **_rej(_R3, since("3.0"), 1,
                                      "virtio_net: invalid optional argument")},
    _dev("virtio-net", "tap=tap0,mac=01:00:5e:00:00:01"): _rej(_R3, VERSIONS, 1, "Invalid MAC"),
    _dev("virtio-net", "tap=tap0,mac=00:00:00:00:00:00"): _rej(_R3, VERSIONS, 1, "Invalid MAC"),
    _dev("virtio-net", "tap0"): _ok(_R8, VERSIONS),
    _dev("virtio-console", None): _rej(_R3, VERSIONS, 1, "vtcon: invalid opts"),
    _dev("virtio-console", "@bogus:x"): _rej(_R3, VERSIONS, 1, "vtcon: invalid backend bogus!"),
    _dev("virtio-console", "pty"): _rej(_R3, VERSIONS, 1,
                                        "vtcon: please at least config portname"),
    _dev("virtio-console", "@tty:tty_port"): _rej(_R3, VERSIONS, 1,
                                                  "vtcon: portpath missing for tty_port"),
    _dev("virtio-console", f"socket:console0={ROOT}/run/vm1-console.sock:bogus"): _rej(
        _R3, since("2.7"), 1, "Socket type not exist"),
    _dev("virtio-console", "@stdio:a,stdio:b"): _rej(_R3, VERSIONS, 1,
                                                     "vtcon: stdio is used by other device"),
    _dev("virtio-console", "@pty:pty_port"): _ok(_R8, VERSIONS),
    _dev("uart", "vuart_idx:0"): _ok(_R8, since("2.7")),
    _dev("uart", "vuart_idx"): _rej(_R3, since("2.7"), 1, "pci vuart miss vuart_idx value"),
    _dev("xhci", None): _rej(_R3, VERSIONS, 1),
    _dev("xhci", "bogus"): _rej(_R3, VERSIONS, 1),
    _dev("virtio-input", None): _rej(_R3, VERSIONS, 1, "evdev path is NULL"),
    _dev("passthru", None): _rej(_R3, VERSIONS, 1, "Empty passthru options"),
    _dev("passthru", "zz/1/0"): _rej(_R3, VERSIONS, 1, "Invalid passthru BDF options"),
    _dev("passthru", "0/2/0,bogus"): _ok(_R3, VERSIONS),
    _dev("npk", "0/0"): _ok(_R3, until("2.7")),
    _dev("virtio-heci", "bogus"): _ok(_R3, VERSIONS),
    _dev("virtio-rpmb", "physical_rpmb"): _ok(_R3, VERSIONS),
    _dev("wdt-i6300esb", None): _ok(_R3, VERSIONS),
    _dev("lpc", None): _ok(_R3, VERSIONS),
    "devices/combination/wdt-twice": _rej(_R3, VERSIONS, 1,
                                          "wdt can't be initialized twice, please check!"),
    "devices/combination/gpu-twice": _rej(_R3, since("3.0"), 1,
                                          "only 1 virtio-gpu device can be created."),
    "devices/combination/xhci-twice": _rej(_R3, VERSIONS, 1, "controller already defined"),
    "devices/combination/stdio-console-and-lpc": _rej(
        _R3, VERSIONS, 1, "vtcon: stdio is used by other device"),
    _opt("lpc", ["com3,stdio"]): {**_rej(_R8, until("3.2"), 64,
                                         "invalid lpc device configuration 'com3,stdio'"),
                                  **_ok(_R8, ("3.3",))},
    _opt("lpc", ["com9,stdio"]): _rej(_R3, VERSIONS, 64, "invalid lpc device configuration"),
    _opt("lpc", ["bootrom,stdio"]): _rej(_R3, VERSIONS, 64, "invalid lpc device configuration"),
    _opt("lpc", ["COM2,stdio"]): _ok(_R3, VERSIONS),
    _opt("ovmf", OPTION_VALUES["ovmf"][2]): {**_rej(_R1, ("1.6",), 64, "invalid ovmf param"),
                                              **_ok(_R8, since("2.7"))},
    _opt("cmd_monitor", "/run/acrn/cmd_monitor_vm1.sock"): {
        **_rej(_R8, until("2.7"), 1, "unrecognized option '--cmd_monitor'"),
        **_ok(_R8, since("3.0"))},
    _opt("iasl", "/usr/local/bin/iasl"): {
        **_rej(_R8, until("3.0"), 1, "unrecognized option '--iasl'"), **_ok(_R8, since("3.2"))},
    _opt("virtio_poll", "0"): _rej(_R1, VERSIONS, 64, "invalid virtio poll interval 0"),
    _opt("virtio_poll", "10000001"): _rej(_R1, VERSIONS, 64, "invalid virtio poll interval"),
    _opt("virtio_poll", "10000000"): _ok(_R1, VERSIONS),
    _opt("intr_monitor", "10000,10,1"): _rej(_R1, VERSIONS, 64, "invalid intr-monitor params"),
    _opt("intr_monitor", "10000,10,1,100"): _ok(_R1, VERSIONS),
    _opt("logger_setting", "console,level=x"): _rej(_R1, VERSIONS, 64,
                                                    "invalid logger setting params"),
    _opt("logger_setting", "console"): _rej(_R1, VERSIONS, None),
    _opt("pm_notify_channel", "bogus"): {**_ok(_R8, ("1.6",)), **_rej(
        _R8, since("2.7"), 64, "invalid pm_notify_channel: bogus")},
    _opt("pm_notify_channel", "power_button"): _ok(_R8, VERSIONS),
    _opt("pm_by_vuart", "udp,x"): {**_rej(_R8, until("2.7"), 64,
                                          "invalid pm-by-vuart params udp,x"),
                                   **_ok(_R8, since("3.0"))},
    _opt("gvtargs", "a b c"): {**_rej(_R8, until("2.7"), 64, "invalid GVT param a b c"),
                               **_ok(_R8, since("3.0"))},
    _opt("uuid", "d2795438-25d6-11e8-864e-cb7a18b34643"): {
        **_ok(_R8, ("1.6",)), **_rej(_R8, since("2.7"), 1)},
    _opt("uuid", "d279543825d611e8864ecb7a18b34643"): _rej(_R8, ("1.6",), 1, "vm_create failed"),
    _opt("pincpu", "0:1"): {**_rej(_R8, ("1.6",), 1),
                            **_rej(_R1, since("2.7"), 1, "unrecognized option '--pincpu'")},
    _opt("memsize", "-1G"): _rej(_R8, VERSIONS, None),
    _opt("memsize", "0x800M"): _ok(_R1, VERSIONS),
    _opt("memsize", "04000M"): _ok(_R1, VERSIONS),
    _opt("memsize", "127M"): _rej(_R1, VERSIONS, 64, "invalid memsize '127M'"),
    _opt("lapic_pt", True): _ok(_R1, VERSIONS),
    _opt("mmiodev_pt", ["0xFED40000"]): _ok(_R1, since("2.7")),
    _opt("bootargs", "x" * 2048): _rej(_R1, VERSIONS, 1),
    _opt("bootargs", "x" * 2047): _ok(_R1, VERSIONS),
    "getopt/removed-c": _rej(_R8, VERSIONS, 1, "invalid option -- 'c'"),
    "getopt/name-15": _ok(_R8, VERSIONS),
    "getopt/name-16": {**_ok(_R8, ("1.6",)), **_rej(
        _R8, since("2.7"), 1, "The name of the VM exceeds the maximum length: 15")},
    "getopt/name-127": _ok(_R8, ("1.6",)),
    "getopt/name-128": _rej(_R8, VERSIONS, 1),
    "getopt/no-name": {**_rej(_R8, ("1.6",), 1), **_rej(
        _R8, since("2.7"), 1, "You must provide the name of the Virtual Machine")},
    "getopt/two-names": {**_rej(_R8, ("1.6",), 1), **_rej(
        _R8, since("2.7"), 1, "You must provide the name of the Virtual Machine")},
    "getopt/unknown-long": _rej(_R1, VERSIONS, 1, "unrecognized option '--foo'"),
    "getopt/ambiguous-prefix": _rej(_R1, VERSIONS, 1, "is ambiguous"),
    "getopt/long-prefix": _ok(_R1, VERSIONS),
    "getopt/long-equals": _ok(_R1, VERSIONS),
    "getopt/attached-short": _ok(_R1, VERSIONS),
    "getopt/permuted-name-first": _ok(_R1, VERSIONS),
    "getopt/flag-with-value": _rej(_R1, VERSIONS, 1, "doesn't allow an argument"),
    "getopt/missing-arg-short": _rej(_R1, VERSIONS, 1, "option requires an argument -- 'm'"),
    "slots/func-8/argv": _rej(_R3, VERSIONS, 1, "Invalid PCI slot info field"),
    "slots/slot-32/argv": _rej(_R3, VERSIONS, 1, "Invalid PCI slot info field"),
    "slots/bus-256/argv": _rej(_R3, VERSIONS, 1, "Invalid PCI slot info field"),
    "slots/negative-slot/argv": _rej(_R3, VERSIONS, 1, "Invalid PCI slot info field"),
    "slots/trailing-junk/argv": _ok(_R3, VERSIONS),
    "slots/slash-separated/argv": _ok(_R3, VERSIONS),
    "slots/duplicate/argv": _rej(_R3, VERSIONS, 1, "pci slot 3:0 already occupied!"),
    "slots/unknown-emul/argv": _rej(_R3, VERSIONS, 1, 'pci slot 3:0: unknown device "virtio-foo"'),
    "slots/no-comma/argv": _rej(_R3, VERSIONS, 1, 'Invalid PCI slot info field "3"'),
    "slots/lpc-bus-1/argv": _rej(_R3, VERSIONS, 1, "LPC bridge can be present only on bus 0."),
    "slots/lpc-twice/argv": _rej(_R3, VERSIONS, 1, "Only one LPC bridge is allowed."),
}


# --- turning specs into cases -------------------------------------------------------------------


@dataclass
class Report:
    disagreements: list[str] = field(default_factory=list)
    internal: list[str] = field(default_factory=list)
    claims_checked: int = 0


def _payload(spec: Spec, rel: str) -> Payload | None:
    value = spec.acrnkit
    return value(rel) if callable(value) else value


def _argv(spec: Spec, rel: str) -> list[str] | None:
    value = spec.argv
    return value(rel) if callable(value) else (list(value) if value is not None else None)


def _derive_host(argvs: Mapping[str, Sequence[str]], spec: Spec) -> tuple[HostFile, ...]:
    return derive_host(argvs, missing=spec.missing, overrides=spec.host_override)


def _matchers(*values: object) -> tuple[Matcher, ...]:
    text = json.dumps(values, ensure_ascii=False, default=lambda o: o.to_json())
    return (Matcher("ROOT", "tmpdir"),) if ROOT in text else ()


def _suffix(groups: int, releases: Sequence[str]) -> str:
    return "" if groups == 1 else "/v" + "+".join(releases)


class Generator:
    def __init__(self, base: str) -> None:
        self.pool = HostPool(base)
        self.report = Report()

    def verdicts(self, spec: Spec, argv: Sequence[str], releases: Sequence[str],
                 host: Sequence[HostFile], case_id: str) -> dict[str, Verdict]:
        names = ["ROOT"] if any(ROOT in a for a in argv) or host else []
        mat = self.pool.get(host, names)
        out = {}
        for rel in releases:
            verdict, lines = check_on_host_lines(argv, rel, mat)
            out[rel] = verdict
            claim = spec.claims.get(rel)
            if claim is not None:
                self.report.claims_checked += 1
                self._compare_claim(case_id, rel, claim, verdict, lines)
        return out

    def _compare_claim(self, case_id: str, rel: str, claim: Claim, verdict: Verdict,
                       lines: Sequence[str]) -> None:
        ok = verdict.accepted == claim.accepted
        if ok and not claim.accepted:
            if claim.exit_status is not None and claim.exit_status != verdict.exit_status:
                ok = False
            # The claim's fragment may be any line acrn-dm prints, not only the key line.
            if claim.message is not None and not any(claim.message in x for x in lines):
                ok = False
        if not ok:
            said = "accepted" if claim.accepted else (
                f"rejected (exit {claim.exit_status})" + (f", '{claim.message}'"
                                                          if claim.message else ""))
            self.report.disagreements.append(
                f"{case_id} [{rel}]: {claim.source} says {said}; acrnkit: {verdict.describe()}")

    def from_spec(self, spec: Spec) -> list[Case]:
        extra = EXTRA_CLAIMS.get(spec.id)
        if extra:
            spec = replace(spec, claims={**extra, **spec.claims})
        if spec.acrnkit is not None:
            return self._acrnkit(spec)
        if spec.argv is not None:
            return self._raw(spec, spec.id, spec.description, spec.tags,
                             {r: a for r in spec.releases if (a := _argv(spec, r)) is not None})
        return self._kata(spec)

    def _raw(self, spec: Spec, case_id: str, description: str, tags: Sequence[str],
             argvs: Mapping[str, list[str]]) -> list[Case]:
        groups: dict[str, list[str]] = {}
        for rel, argv in argvs.items():
            groups.setdefault(json.dumps(argv), []).append(rel)
        cases = []
        for key, rels in groups.items():
            argv = json.loads(key)
            cid = case_id + _suffix(len(groups), rels)
            host = _derive_host({r: argv for r in rels}, spec)
            cases.append(Case(
                id=cid, description=description, tags=tuple(tags), releases=tuple(rels),
                input={"argv": argv}, expected_argv=tuple(argv),
                verdicts=self.verdicts(spec, argv, rels, host, cid), host=host,
                matchers=_matchers(argv, host)))
        return cases

    def _acrnkit(self, spec: Spec) -> list[Case]:
        groups: dict[str, list[str]] = {}
        refused_raw: dict[str, list[str]] = {}
        info: dict[str, tuple[Any, ...]] = {}
        for rel in spec.releases:
            payload = _payload(spec, rel)
            if payload is None:
                continue
            outcome, vm = build_acrnkit(payload, rel)
            if outcome.argv is None:
                assert outcome.error is not None
                key = json.dumps(["refused", payload, outcome.error.to_json()])
                raw = raw_argv(payload, rel)
                if raw is not None:
                    refused_raw[rel] = raw
            else:
                canonical = to_json(vm)
                vm2 = build_acrnkit(canonical, rel, strict=False)[1]
                if vm2 != vm:
                    self.report.internal.append(
                        f"{spec.id} [{rel}]: from_json(to_json(vm)) != vm; input kept as "
                        "declared")
                    canonical = payload
                key = json.dumps(["ok", canonical, list(outcome.argv),
                                  outcome.error.to_json() if outcome.error else None])
            groups.setdefault(key, []).append(rel)
            info[key] = (outcome, vm)
        cases: list[Case] = []
        for key, rels in groups.items():
            kind, payload = json.loads(key)[:2]
            outcome, vm = info[key]
            cid = spec.id + _suffix(len(groups), rels)
            tags = tuple(spec.tags)
            if outcome.error is not None:
                tags += ("builder-refuses",)
            if kind == "refused":
                cases.append(Case(
                    id=cid + ("/refused" if refused_raw else ""),
                    description=spec.description + " (the builder refuses it)", tags=tags,
                    releases=tuple(rels), input={"acrnkit": payload}, expected_argv=None,
                    verdicts={}, expected_error=outcome.error, matchers=_matchers(payload)))
                continue
            argv = list(outcome.argv)
            host = _derive_host({r: argv for r in rels}, spec)
            parse_errors = {}
            for rel in rels:
                vm_r = build_acrnkit(payload, rel, strict=False)[1]
                parsed, perr = parse_argv(argv, rel)
                if perr is not None:
                    parse_errors[rel] = perr
                elif parsed != vm_r and outcome.error is None:
                    self.report.internal.append(
                        f"{cid} [{rel}]: parse(render(vm)) != vm (the parser column fails)")
            cases.append(Case(
                id=cid, description=spec.description, tags=tags, releases=tuple(rels),
                input={"acrnkit": payload}, expected_argv=tuple(argv),
                verdicts=self.verdicts(spec, argv, rels, host, cid), host=host,
                matchers=_matchers(payload, argv, host), expected_error=outcome.error,
                parse_errors=parse_errors))
        if refused_raw:
            cases += self._raw(spec, spec.id + "/argv",
                               spec.description + " (as an argv)", spec.tags, refused_raw)
        return cases

    def _kata(self, spec: Spec) -> list[Case]:
        if spec.kata_config is not None:
            inp: dict[str, Any] = {"kata_config": spec.kata_config}
        else:
            inp = {"kata_sandbox": spec.kata_sandbox}
            if spec.hotplug is not None:
                inp["hotplug"] = [list(p) for p in spec.hotplug]
        outcome = build_input(inp, spec.releases[0])
        tags = tuple(spec.tags)
        if outcome.error is not None:
            tags += ("builder-refuses",)
        if outcome.argv is None:
            return [Case(id=spec.id, description=spec.description, tags=tags,
                         releases=spec.releases, input=inp, expected_argv=None, verdicts={},
                         expected_error=outcome.error, matchers=_matchers(inp))]
        argv = list(outcome.argv)
        host = _derive_host({r: argv for r in spec.releases}, spec)
        return [Case(
            id=spec.id, description=spec.description, tags=tags, releases=spec.releases,
            input=inp, expected_argv=tuple(argv),
            verdicts=self.verdicts(spec, argv, spec.releases, host, spec.id), host=host,
            matchers=_matchers(inp, argv, host), expected_error=outcome.error,
            expected_blkrescan=outcome.blkrescan)]


#: topic file -> the declared inputs it holds
TOPICS: Mapping[str, Callable[[], list[Spec]]] = {
    "options": option_specs,
    "getopt": getopt_specs,
    "slots": slot_specs,
    "devices": device_specs,
    "builder": builder_specs,
    "discrepancies": discrepancy_specs,
    "launch": launch_specs,
    "kata": kata_specs,
}


def uncovered() -> list[str]:
    """Global options and emulations acrnkit knows that no declared input exercises."""
    from acrnkit.releases.emulations import EMULATIONS
    from acrnkit.releases.options import OPTION_ROWS

    missing = [f"option {row.key}" for row in OPTION_ROWS
               if row.key not in OPTION_VALUES and row.key not in ("pci_slot", "help",
                                                                   "version")]
    emuls = set(MODULE_OF) | {e for table in EMULATIONS.values() for e in table}
    missing += [f"emulation {e}" for e in sorted(emuls - set(DEVICE_CONFIGS))]
    return missing


def generate(case_dir: Path, *, write: bool = True, out: Any = sys.stdout) -> tuple[
        dict[str, str], Report]:
    """Compute every case; write ``<topic>.json`` files (unless ``write`` is false).
    Returns the file texts and the report."""
    SKIPPED_EMULS.clear()
    INCONSISTENT.clear()
    texts: dict[str, str] = {}
    with host_root() as base, working_directory(os.path.join(base, "cwd")):
        gen = Generator(base)
        for topic, make in TOPICS.items():
            cases: list[Case] = []
            seen: set[str] = set()
            for spec in make():
                for case in gen.from_spec(spec):
                    if case.id in seen:
                        raise ValueError(f"duplicate generated id {case.id}")
                    seen.add(case.id)
                    cases.append(case)
            texts[f"{topic}.json"] = dumps_cases(cases)
            print(f"{topic}.json: {len(cases)} cases", file=out)
        gen.pool.close()
    if write:
        case_dir.mkdir(parents=True, exist_ok=True)
        for name, text in texts.items():
            (case_dir / name).write_text(text, encoding="utf-8")
    return texts, gen.report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m acrnkit.conformance.generate",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--case-dir", type=Path, default=DEFAULT_CASE_DIR)
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 when the committed files differ")
    parser.add_argument("--claims", action="store_true",
                        help="list every reference claim acrnkit disagrees with")
    args = parser.parse_args(argv)
    texts, report = generate(args.case_dir, write=not args.check, out=sys.stderr)
    for item in uncovered():
        print(f"not covered by any declared input: {item} (add it to the tables)",
              file=sys.stderr)
    if SKIPPED_EMULS:
        print("skipped (no acrnkit model yet): " + ", ".join(sorted(set(SKIPPED_EMULS))),
              file=sys.stderr)
    for line in [*INCONSISTENT, *report.internal]:
        print(f"acrnkit inconsistency: {line}", file=sys.stderr)
    print(f"{report.claims_checked} reference claims checked, "
          f"{len(report.disagreements)} disagree with acrnkit", file=sys.stderr)
    if args.claims:
        for line in report.disagreements:
            print(f"DISAGREEMENT {line}", file=sys.stderr)
    if args.check:
        stale = [name for name, text in texts.items()
                 if not (args.case_dir / name).is_file()
                 or (args.case_dir / name).read_text(encoding="utf-8") != text]
        stale += [p.name for p in args.case_dir.glob("*.json") if p.name not in texts]
        if stale:
            print("out of date: " + ", ".join(sorted(stale)), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
