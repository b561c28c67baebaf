"""acrn-dm's usage screen, byte for byte per release (``usage()`` in devicemodel/core/main.c).

The fingerprints were taken from each tag's own ``usage()`` compiled as it is (glibc printf,
``<libgen.h>`` basename); v3.2's also from a real acrn-dm v3.2 built from source, which printed
the same bytes for ``acrn-dm -h`` and for a long argv[0].
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from acrnkit.argv.check import check, usage_text
from acrnkit.releases.profile import get_release
from acrnkit.releases.usage import (
    USAGE_TEMPLATES,
    argv0_after_basename,
    posix_basename,
    render_usage,
)
from acrnkit.releases.versions import VERSIONS

#: sha256 of everything ``acrn-dm -h`` writes to stderr, argv[0] = "acrn-dm"; and its length.
FINGERPRINTS = {
    "1.6": ("9a4ef2327f09099ddcb4971193c83be247e909467281370d6e0e56cb09f878a6", 2141),
    "2.7": ("3508125883640e70f416e6126490e8e335dc9f1f506f5ea877f3efe9c20d5520", 2458),
    "3.0": ("6047968ac8fc22c857cfe3602db71bb0577d26a774797a814346013a5c780c7a", 1971),
    "3.2": ("9f2e72128e12d65b7bd02450fea5b02c0de87463cc418df5e1276fb1a77be46f", 2048),
    "3.3": ("84ddc81574a669367c4cfe8546c48a30c9b025cea355d5d110ee9c4af050d0c7", 2305),
}
LONG_ARGV0 = "/opt/acrn/bin/a-really-long-program-name-for-acrn-dm"
#: the real acrn-dm v3.2 started as LONG_ARGV0 with -h
LONG_ARGV0_V32 = "45ecbb71ce1008cc3542c9e88d79dd2e21f5d7b8d4f2a1bf88ebb9d42a25f11f"

#: Lines of the real text, exactly (tabs and trailing spaces included) -> releases printing them
LINES = {
    "Usage: acrn-dm [-hAWYv] [-B bootargs] [-E elf_image_path]": {"1.6", "2.7"},
    "Usage: acrn-dm [-hYv] [-B bootargs] [-E elf_image_path]": {"3.0", "3.2", "3.3"},
    "               [-s pci] [-U uuid] [--vsbl vsbl_file_name] [--ovmf ovmf_file_path]": {"1.6"},
    "               [--vmcfg sub_options] [--dump vm_idx] [--debugexit] ": {"1.6"},
    "               [--logger-setting param_setting] [--pm_notify_channel]": {"1.6"},
    "               [--pm_by_vuart vuart_node] <vm>": {"1.6"},
    "       -U: uuid": {"1.6"},
    "       -W: force virtio to use single-vector MSI": {"1.6", "2.7"},
    "               [--cpu_affinity pCPUs] [--lapic_pt] [--rtvm] [--windows]": {"2.7"},
    "               [--pm_notify_channel channel] [--pm_by_vuart vuart_node]": {"2.7"},
    "       --ssram: Enable Software SRAM passthrough": {"2.7"},
    "       --cpu_affinity: list of pCPUs assigned to this VM": {"2.7"},
    "       --acpidev_pt: acpi device ID args: HID in ACPI Table": {"2.7", "3.0", "3.2"},
    "               [--ssram] <vm>": {"2.7", "3.0", "3.2", "3.3"},
    "               [--iasl iasl_compiler_path]": {"3.2", "3.3"},
    "       --iasl: iasl compiler path": {"3.2", "3.3"},
    "       --ssram: Congfiure Software SRAM parameters": {"3.0", "3.2"},
    "       --ssram: Configure Software SRAM parameters": {"3.3"},
    "       --acpidev_pt: ACPI device pass through": {"3.3"},
    "            its params: HID[,uid=UID,type=Resource Type,Resouece config,...]": {"3.3"},
    "\t\t\t e.g. --acpidev_pt PNP0501,uid=19,type=irq,irq=5": {"3.3"},
    # 3.0+: no "\n" between two literals, so the second half runs on, after a tab
    ("       --cpu_affinity: list of Service VM vCPUs assigned to this User VM, "
     "the vCPUs are\t     identified by their local APIC IDs."): {"3.0", "3.2", "3.3"},
    "       --virtio_msi: force virtio to use single-vector MSI": {"3.0", "3.2", "3.3"},
}


def fingerprint(text: str) -> tuple[str, int]:
    data = text.encode("utf-8", "surrogateescape")
    return hashlib.sha256(data).hexdigest(), len(data)


def test_every_release_has_a_template() -> None:
    assert set(USAGE_TEMPLATES) == set(VERSIONS)


@pytest.mark.parametrize("version", VERSIONS)
def test_text_is_byte_identical_to_acrn_dm(version: str) -> None:
    text = usage_text(get_release(version)) + "\n"
    assert fingerprint(text) == FINGERPRINTS[version]
    assert fingerprint(render_usage(USAGE_TEMPLATES[version], "acrn-dm")) == FINGERPRINTS[version]


def test_long_argv0_is_byte_identical_to_acrn_dm_3_2() -> None:
    text = usage_text(get_release("3.2"), LONG_ARGV0) + "\n"
    assert hashlib.sha256(text.encode()).hexdigest() == LONG_ARGV0_V32


@pytest.mark.parametrize("line", LINES)
def test_distinctive_lines(line: str) -> None:
    printing = {v for v in VERSIONS if line in usage_text(get_release(v)).split("\n")}
    assert printing == LINES[line]


@pytest.mark.parametrize("version", VERSIONS)
def test_last_line(version: str) -> None:
    assert usage_text(get_release(version)).split("\n")[-1] == (
        "       --virtio_msi: force virtio to use single-vector MSI" if version >= "3.0"
        else "            for windows guest with secure boot")


def test_1_6_leaves_out_the_config_vm_cfg_help() -> None:
    text = usage_text(get_release("1.6"))
    assert "[--vmcfg sub_options]" in text
    assert "--vmcfg:" not in text and "--dump:" not in text


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("argv0", ["acrn-dm", "x", LONG_ARGV0, "é-dm", "dir//name//"])
def test_continuation_lines_are_padded_by_the_basename(version: str, argv0: str) -> None:
    name = posix_basename(argv0)
    lines = usage_text(get_release(version), argv0).split("\n")
    assert lines[0].startswith(f"Usage: {name} [-h")
    synopsis = [line for line in lines if line.startswith(" " * 8)]  # "%*s" lines and "its params"
    pad = " " * (7 + len(name.encode()) + 1)  # strnlen() counts bytes
    continued = [line for line in synopsis if line.startswith(pad + "[") or line.startswith(
        pad + "<")]
    assert len(continued) == USAGE_TEMPLATES[version].count("%*s")


@pytest.mark.parametrize(("argv0", "name", "getopt_name"), [
    ("acrn-dm", "acrn-dm", "acrn-dm"),
    ("/usr/bin/acrn-dm", "acrn-dm", "/usr/bin/acrn-dm"),
    ("foo/", "foo", "foo"),
    ("dir//name//", "name", "dir//name"),
    ("/", "/", "/"),
    ("//", "/", "//"),
    ("", ".", ""),
    ("a b/c d", "c d", "a b/c d"),
])
def test_basename_as_the_real_acrn_dm_3_2(argv0: str, name: str, getopt_name: str) -> None:
    """What the real acrn-dm v3.2 printed when started with these argv[0] spellings."""
    assert posix_basename(argv0) == name
    assert argv0_after_basename(argv0) == getopt_name
    result = check(["-x", "vm1"], "3.2", prog=argv0)
    assert result.output[0].text == f"{getopt_name}: invalid option -- 'x'"
    assert result.output[1].text.startswith(f"Usage: {name} [-hYv] ")


@pytest.mark.parametrize("version", VERSIONS)
def test_help_is_usage_alone_exit_0(version: str) -> None:
    result = check(["-h"], version, prog="/usr/bin/acrn-dm")
    assert (result.exit_status, result.action) == (0, "help")
    assert [(line.text, line.stream) for line in result.output] == [
        (usage_text(get_release(version)), "stderr")]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("argv", "message"), [
    (["-x", "vm1"], "invalid option -- 'x'"),
    (["--bogus", "vm1"], "unrecognized option '--bogus'"),
])
def test_getopt_error_is_glibc_message_then_usage_exit_1(
        version: str, argv: list[str], message: str) -> None:
    result = check(argv, version, prog="/usr/bin/acrn-dm")
    assert result.exit_status == 1
    assert [(line.text, line.stream) for line in result.output] == [
        (f"/usr/bin/acrn-dm: {message}", "stderr"), (usage_text(get_release(version)), "stderr")]


# --- the installed fake, started as "acrn-dm" through a symlink ---------------------------------

FAKE = shutil.which("fake-acrn-dm", path=os.path.dirname(sys.executable)) or shutil.which(
    "fake-acrn-dm")


def run_as(link: Path, version: str, *argv: str) -> tuple[int, bytes, bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACRNKIT_")}
    env.update(ACRNKIT_DM_MODE="check", ACRNKIT_ACRN_VERSION=version,
               ACRNKIT_RUN_DIR=str(link.parent / "run"))
    proc = subprocess.Popen([str(link), *argv], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=20)
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return proc.returncode, out, err


@pytest.mark.skipif(FAKE is None, reason="fake-acrn-dm is not installed")
@pytest.mark.parametrize("version", VERSIONS)
def test_fake_help_and_getopt_error(version: str, tmp_path: Path) -> None:
    assert FAKE is not None
    link = tmp_path / "acrn-dm"
    link.symlink_to(FAKE)
    status, out, err = run_as(link, version, "-h")
    assert (status, out) == (0, b"")
    assert (hashlib.sha256(err).hexdigest(), len(err)) == FINGERPRINTS[version]
    status, out, err = run_as(link, version, "-x", "vm1")
    assert (status, out) == (1, b"")
    head = f"{link}: invalid option -- 'x'\n".encode()
    assert err.startswith(head)
    assert (hashlib.sha256(err[len(head):]).hexdigest(), len(err) - len(head)) == FINGERPRINTS[
        version]
