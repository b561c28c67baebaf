"""``fake-acrn-dm`` in check mode, run as a subprocess: exit status, exact output per stream,
the ACRNKIT_* settings, the record file, and a property test over random and mutated argv."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acrnkit.argv.check import check, usage_text, version_text
from acrnkit.argv.host import LocalHost
from acrnkit.errors import UnknownReleaseError
from acrnkit.releases.profile import get_release
from acrnkit.releases.versions import VERSIONS, normalize_version

FAKE = shutil.which("fake-acrn-dm", path=os.path.dirname(sys.executable)) or shutil.which(
    "fake-acrn-dm")
pytestmark = pytest.mark.skipif(FAKE is None, reason="fake-acrn-dm is not installed")

#: Exit statuses the real acrn-dm uses.
ACRN_DM_STATUSES = {0, 1, 10, 11, 64}


@dataclass(frozen=True)
class Run:
    status: int
    stdout: str
    stderr: str


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACRNKIT_")}
    env.update(extra)
    return env


def run_fake(argv: Sequence[str], env: Mapping[str, str], timeout: float = 20.0) -> Run:
    """Run ``fake-acrn-dm argv`` in its own session; always reap it (and its group)."""
    assert FAKE is not None
    proc = subprocess.Popen([FAKE, *argv], env=dict(env), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return Run(proc.returncode, out.decode("utf-8", "surrogateescape"),
               err.decode("utf-8", "surrogateescape"))


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    kernel = tmp_path / "bzImage"
    kernel.write_bytes(b"\x7fkernel" * 64)
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * (1 << 20))
    odd = tmp_path / "odd.img"
    odd.write_bytes(b"\0" * 1000)
    return {"kernel": str(kernel), "disk": str(disk), "odd": str(odd),
            "missing": str(tmp_path / "missing.img")}


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    run_dir = tmp_path / "run"
    yield clean_env(ACRNKIT_RUN_DIR=str(run_dir), ACRNKIT_DM_MODE="check")
    # check mode never creates a manager socket
    assert not (run_dir / "mngr").exists() or not any((run_dir / "mngr").iterdir())


def base_argv(files: Mapping[str, str], *extra: str, name: str = "vm1") -> list[str]:
    return ["-m", "512M", "-s", "0:0,hostbridge", "-s", f"3,virtio-blk,{files['disk']}",
            "--cpu_affinity", "0,1", "-k", files["kernel"], *extra, name]


def kernel_line(files: Mapping[str, str]) -> str:
    """acrn_parse_kernel()'s notice: base_argv() gives -k before any extra option, so it comes
    first on stdout whenever the argv gets that far."""
    return f"SW_LOAD: get kernel path {files['kernel']}\n"


def expected(argv: Sequence[str], version: str = "3.3") -> tuple[int, str, str]:
    """What the fake must print, computed by the model in-process with the same prog."""
    assert FAKE is not None
    result = check(argv, version, LocalHost(), prog=FAKE)
    out = "".join(line.text + line.end for line in result.output if line.stream == "stdout")
    err = "".join(line.text + line.end for line in result.output if line.stream == "stderr")
    return (0 if result.exit_status is None else result.exit_status), out, err


# --- statuses, messages and streams ------------------------------------------------------------

def test_valid_argv_exits_0_silently(files: dict[str, str], env: dict[str, str]) -> None:
    run = run_fake(base_argv(files), env)
    assert (run.status, run.stdout, run.stderr) == (0, kernel_line(files), "")


@pytest.mark.parametrize("version", VERSIONS)
def test_version_flag(version: str, env: dict[str, str]) -> None:
    run = run_fake(["-v"], {**env, "ACRNKIT_ACRN_VERSION": version})
    assert run.status == 0
    assert run.stdout == version_text(get_release(version)) + "\n"
    assert run.stderr == ""


def test_help_flag_prints_usage_on_stderr(env: dict[str, str]) -> None:
    run = run_fake(["-h"], env)
    assert FAKE is not None
    assert (run.status, run.stdout) == (0, "")
    assert run.stderr == usage_text(get_release("3.3"), FAKE) + "\n"


def test_getopt_error_is_usage_exit_1(files: dict[str, str], env: dict[str, str]) -> None:
    run = run_fake(base_argv(files, "-x"), env)
    assert run.status == 1
    # getopt prints argv[0] as given; usage() prints its basename
    assert run.stderr.startswith(
        f"{FAKE}: invalid option -- 'x'\nUsage: {os.path.basename(FAKE)} ")
    assert run.stdout == kernel_line(files)


def test_errx_is_exit_64_on_stderr(files: dict[str, str], env: dict[str, str]) -> None:
    run = run_fake(base_argv(files, "-m", "foo"), env)
    # errx() prefixes the short program name: the binary's basename
    short = os.path.basename(FAKE)
    assert (run.status, run.stdout, run.stderr) == (64, kernel_line(files),
                                                    f"{short}: invalid memsize 'foo'\n")


def test_slot_error_is_exit_1_on_stdout(files: dict[str, str], env: dict[str, str]) -> None:
    run = run_fake(base_argv(files, "-s", "40,virtio-rnd"), env)
    assert (run.status, run.stderr) == (1, "")
    assert run.stdout == kernel_line(files) + 'Invalid PCI slot info field "40,virtio-rnd"\n'


def test_missing_kernel_is_exit_10(files: dict[str, str], env: dict[str, str]) -> None:
    argv = base_argv(files)
    argv[argv.index(files["kernel"])] = files["missing"]
    run = run_fake(argv, env)
    assert run.status == 10
    assert run.stdout == ("SW_LOAD ERR: image file failed to open\n"
                          f"SW_LOAD: check_image failed for '{files['missing']}'\n")


def test_missing_ramdisk_is_exit_11(files: dict[str, str], env: dict[str, str]) -> None:
    run = run_fake(base_argv(files, "-r", files["missing"]), env)
    assert run.status == 11
    assert f"check_image failed for '{files['missing']}'" in run.stdout


def test_empty_kernel_is_exit_10(files: dict[str, str], env: dict[str, str],
                                 tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    argv = base_argv(files)
    argv[argv.index(files["kernel"])] = str(empty)
    run = run_fake(argv, env)
    assert run.status == 10
    assert run.stdout.startswith("SW_LOAD ERR: file is empty\n")


@pytest.mark.parametrize(("slot", "first_line"), [
    ("5,virtio-console,@bogus:x", "vtcon: invalid backend bogus!"),
    ("5,virtio-net,tap=tap0,mac=01:00:00:00:00:01", "Invalid MAC 01:00:00:00:00:01"),
    ("5,virtio-blk,{odd}", "{odd} size not corret, should be multiple of 512"),
])
def test_device_init_failure(slot: str, first_line: str, files: dict[str, str],
                             env: dict[str, str]) -> None:
    argv = base_argv(files, "-s", slot.format(**files))
    run = run_fake(argv, env)
    emul = slot.split(",")[1]
    assert (run.status, run.stderr) == (1, "")
    assert run.stdout == (f"{kernel_line(files)}{first_line.format(**files)}\n"
                          f"pci {emul} init failed\n"
                          "Unable to init vdev (22)\n")


def test_socket_client_must_exist(files: dict[str, str], env: dict[str, str],
                                  tmp_path: Path) -> None:
    path = tmp_path / "nosock"
    run = run_fake(base_argv(files, "-s", f"5,virtio-console,@socket:c={path}:client"), env)
    assert run.status == 1
    assert run.stdout.startswith(f"{kernel_line(files)}{path} not exist\n")


def test_crash_case_rejected_with_exit_1(files: dict[str, str], env: dict[str, str],
                                         tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    run = run_fake(base_argv(files, "-m", "-1G"), {**env, "ACRNKIT_RECORD": str(record)})
    assert run.status == 1
    # the real acrn-dm prints nothing of its own before it dies: only acrnkit's note
    assert run.stderr == ("acrnkit: the real acrn-dm 3.3 stops here: SIGSEGV in acrn_sw_load, "
                          "the negative -m wrapped to a huge size\n")
    rec = json.loads(record.read_text())
    assert rec["crash"] is True
    assert rec["verdict"] == "reject"


@pytest.mark.parametrize("argv_kind", ["ok", "getopt", "errx", "slot", "image", "init", "name"])
@pytest.mark.parametrize("version", VERSIONS)
def test_output_matches_the_model(argv_kind: str, version: str, files: dict[str, str],
                                  env: dict[str, str]) -> None:
    """Byte for byte what check() says acrn-dm prints, on the stream it says."""
    cpu = ["--cpu_affinity", "0"] if version != "1.6" else []
    common = ["-s", "0:0,hostbridge", *cpu, "-k", files["kernel"]]
    argv = {
        "ok": [*common, "-s", f"3,virtio-blk,{files['disk']}", "vm1"],
        "getopt": [*common, "--no-such-option", "vm1"],
        "errx": [*common, "-l", "com9,stdio", "vm1"],
        "slot": [*common, "-s", "3,no-such-device", "vm1"],
        "image": ["-s", "0:0,hostbridge", *cpu, "-k", files["missing"], "vm1"],
        "init": [*common, "-s", "3,virtio-blk", "vm1"],
        "name": [*common],
    }[argv_kind]
    run = run_fake(argv, {**env, "ACRNKIT_ACRN_VERSION": version})
    assert (run.status, run.stdout, run.stderr) == expected(argv, version)


# --- settings ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "value", "reason"), [
    ("ACRNKIT_ACRN_VERSION", "9.9", "unknown ACRN version"),
    ("ACRNKIT_DM_MODE", "dry", "must be one of run, check"),
    ("ACRNKIT_STRICT_HOST", "maybe", "must be a boolean"),
    ("ACRNKIT_GUEST_SCENARIO", "explode", "must be one of normal, panic, hang, slow"),
    ("ACRNKIT_GUEST_BOOT_DELAY", "-1", "must be between 0"),
    ("ACRNKIT_GUEST_BOOT_DELAY", "soon", "must be a number of seconds"),
    ("ACRNKIT_GUEST_KERNEL_RELEASE", "6.1 x", "one printable word"),
    ("ACRNKIT_GUEST_POWER_BUTTON", "explode", "must be one of poweroff, suspend, ignore"),
    ("ACRNKIT_DM_BACKEND", "vmware", "must be one of sim, qemu"),
])
def test_bad_setting_is_exit_2_before_anything(name: str, value: str, reason: str,
                                               files: dict[str, str], env: dict[str, str],
                                               tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    run = run_fake(["-v"], {**env, name: value, "ACRNKIT_RECORD": str(record)})
    assert run.status == 2
    assert run.stdout == ""  # -v was not acted on
    lines = run.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"fake-acrn-dm: {name}={value!r}: ")
    assert reason in lines[0]
    assert not record.exists()


def test_version_setting_selects_the_release(files: dict[str, str], env: dict[str, str]) -> None:
    # --cpu_affinity does not exist in 1.6: getopt rejects it there, 3.3 accepts it.
    argv = base_argv(files)
    assert run_fake(argv, {**env, "ACRNKIT_ACRN_VERSION": "3.3"}).status == 0
    old = run_fake(argv, {**env, "ACRNKIT_ACRN_VERSION": "v1.6"})
    assert old.status == 1
    assert "unrecognized option '--cpu_affinity'" in old.stderr


def test_strict_host_checks_hardware(files: dict[str, str], env: dict[str, str]) -> None:
    argv = base_argv(files, "-s", "6,vhost-vsock,cid=3")
    assert run_fake(argv, env).status == 0
    if os.path.exists("/dev/vhost-vsock"):
        pytest.skip("this machine has /dev/vhost-vsock")
    strict = run_fake(argv, {**env, "ACRNKIT_STRICT_HOST": "1"})
    assert strict.status == 1
    assert "pci vhost-vsock init failed" in strict.stdout


# --- the record file ---------------------------------------------------------------------------

def test_record_has_one_line_per_invocation(files: dict[str, str], env: dict[str, str],
                                            tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    env = {**env, "ACRNKIT_RECORD": str(record), "ACRNKIT_ACRN_VERSION": "3.2"}
    runs = [base_argv(files), ["-v"], base_argv(files, "-m", "foo")]
    for argv in runs:
        run_fake(argv, env)
    lines = record.read_text().splitlines()
    assert len(lines) == 3
    recs = [json.loads(line) for line in lines]
    assert [r["verdict"] for r in recs] == ["check", "version", "reject"]
    assert [r["exit_status"] for r in recs] == [0, 0, 64]
    assert recs[2]["message"] == f"{os.path.basename(FAKE)}: invalid memsize 'foo'"
    for rec, argv in zip(recs, runs, strict=True):
        assert rec["argv"][1:] == argv
        assert rec["version"] == "3.2"
        assert rec["mode"] == "check"
        assert rec["signal"] is None
        assert isinstance(rec["pid"], int) and rec["pid"] > 0
        assert rec["start"] <= rec["end"]


def test_parallel_records_do_not_interleave(files: dict[str, str], env: dict[str, str],
                                            tmp_path: Path) -> None:
    assert FAKE is not None
    record = tmp_path / "rec.jsonl"
    env = {**env, "ACRNKIT_RECORD": str(record)}
    procs = [subprocess.Popen([FAKE, *base_argv(files, name=f"vm{i}")], env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
             for i in range(8)]
    try:
        for proc in procs:
            proc.wait(timeout=30)
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    recs = [json.loads(line) for line in record.read_text().splitlines()]
    assert sorted(r["argv"][-1] for r in recs) == sorted(f"vm{i}" for i in range(8))
    assert len({r["pid"] for r in recs}) == 8


# --- property: never a traceback, never a hang, only acrn-dm's statuses --------------------------

_WORDS = ["-m", "512M", "-1G", "2048", "-s", "0:0,hostbridge", "3,virtio-blk,nodisk",
          "4,virtio-net,tap=tap0", "5,virtio-console,@stdio:p", "5,virtio-console,@pty:p",
          "1:0,lpc", "-l", "com1,stdio", "com2", "--cpu_affinity", "0,1", "-k", "-r", "-B",
          "console=hvc0", "-E", "--ovmf", "-v", "-h", "-A", "--rtvm", "--lapic_pt", "--", "vm1",
          "-U", "--logger_setting", "console,level=4", "--virtio_poll", "1000000",
          "--pm_notify_channel", "power_button", "6,vhost-vsock,cid=3", "7,virtio-rnd",
          "--mac_seed", "x", "--ssram", "--windows", "--acpidev_pt", "MSFT0101", "--vtpm2",
          "sock_path=/tmp/x", "--intr_monitor", "1,2,3,4", "-Y", "-W", "--iasl", "/usr/bin/iasl"]


@st.composite
def argvs(draw: st.DrawFn) -> list[str]:
    words = draw(st.lists(st.one_of(st.sampled_from(_WORDS),
                                    st.text(min_size=0, max_size=12).filter(
                                        lambda s: "\0" not in s)), max_size=14))
    if draw(st.booleans()):  # mutate a valid argv instead of starting from nothing
        valid = ["-s", "0:0,hostbridge", "--cpu_affinity", "0", "-k", "KERNEL", "vm1"]
        for word in words[:3]:
            pos = draw(st.integers(0, len(valid)))
            valid.insert(pos, word)
        if draw(st.booleans()) and valid:
            del valid[draw(st.integers(0, len(valid) - 1))]
        return valid
    return words


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(argv=argvs(), version=st.sampled_from(VERSIONS))
def test_random_argv_never_tracebacks_or_hangs(argv: list[str], version: str,
                                               files: dict[str, str],
                                               env: dict[str, str]) -> None:
    argv = [files["kernel"] if w == "KERNEL" else w for w in argv]
    try:
        run = run_fake(argv, {**env, "ACRNKIT_ACRN_VERSION": version}, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail(f"fake-acrn-dm hung on {argv!r}")
    assert "Traceback" not in run.stderr, run.stderr
    assert run.status in ACRN_DM_STATUSES, (argv, run)
    assert (run.status, run.stdout, run.stderr) == expected(argv, version)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(st.sampled_from(["3.0", "v2.7", "3.3.0", "V1.6", " 3.2 ", "3.1", "4"]),
                       st.text(max_size=8)).filter(lambda s: "\0" not in s and s.strip() != ""))
def test_exit_2_only_for_bad_settings(value: str, env: dict[str, str]) -> None:
    run = run_fake(["-v"], {**env, "ACRNKIT_ACRN_VERSION": value})
    try:
        normalize_version(value)
    except UnknownReleaseError:
        known = False
    else:
        known = True
    assert run.status == (0 if known else 2), (value, run)
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(("version", "stdout", "stderr"), [
    ("2.7", "Could not open backing file: {missing}pci ahci init failed\n", ""),
    ("3.2", "Could not open backing file: {missing}pci ahci init failed\n",
     "acrnkit: the real acrn-dm 3.2 stops here: SIGSEGV in acpi_build after the failed ahci "
     "init\n"),
    ("1.6", "pci ahci init failed\n",
     "acrn-dm: Could not open backing file: {missing}: No such file or directory\n")])
def test_line_ends_are_written_as_acrn_dm_writes_them(
        version: str, stdout: str, stderr: str, files: dict[str, str], env: dict[str, str]
) -> None:
    """Messages without a newline run on into the next one; the MP table lines end in CR LF."""
    argv = ["-s", "0:0,hostbridge", "-s", f"4,ahci,hd:{files['missing']}", "-k", files["kernel"]]
    if version != "1.6":
        argv += ["--cpu_affinity", "1"]
    run = run_fake([*argv, "vm1"], {**env, "ACRNKIT_ACRN_VERSION": version})
    assert (run.status, run.stderr) == (0 if version != "3.2" else 1, stderr.format(**files))
    assert run.stdout == kernel_line(files) + stdout.format(**files)
    mp = run_fake(base_argv(files, "-s", "1:0:0,virtio-rnd"), env)
    assert (mp.status, mp.stdout) == (1, kernel_line(files) + (
        "MPtable is incompatible with multiple PCI hierarchies.\r\n"
        "MPtable generation can be disabled by passing the -Y option to acrn-dm.\r\n"))
