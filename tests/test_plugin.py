"""The pytest plugin, driven through pytester in subprocesses (as a downstream user sees it)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "kata_like_runtime"


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=240)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); /proc tells
    try:
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False


def test_help_shows_the_group(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--help")
    text = result.stdout.str()
    assert "acrnkit: ACRN acrn-dm targets, fakes and goldens:" in text
    for flag in ("--acrn-version", "--acrn-target", "--acrn-dm", "--acrnctl",
                 "--acrn-console-log", "--acrn-boot-timeout", "--acrn-update-goldens"):
        assert flag in text
    assert "ACRNKIT_ACRN_VERSION" in text


@pytest.mark.parametrize(("args", "needle"), [
    (["--acrn-version", "9.9"], "--acrn-version"),
    (["--acrn-target", "cloud"], "--acrn-target='cloud'"),
    (["--acrn-boot-timeout", "-1"], "--acrn-boot-timeout"),
])
def test_bad_options_are_usage_errors(pytester: pytest.Pytester, args: list[str],
                                      needle: str) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = run(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert needle in result.stderr.str()


def test_option_precedence_flag_env_ini(pytester: pytest.Pytester,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeini("[pytest]\nacrn_version = 2.7\nacrn_boot_timeout = 9\n")
    pytester.makepyfile("""
        def test_opts(acrn_options):
            print("VERSION", acrn_options.version, "TIMEOUT", acrn_options.boot_timeout)
    """)
    assert "VERSION 2.7 TIMEOUT 9.0" in run(pytester, "-s").stdout.str()
    monkeypatch.setenv("ACRNKIT_ACRN_VERSION", "3.0")
    assert "VERSION 3.0" in run(pytester, "-s").stdout.str()
    assert "VERSION 1.6" in run(pytester, "-s", "--acrn-version", "1.6").stdout.str()


def test_markers_skip_with_reasons(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.acrn_version(">=3.0")
        def test_new(): pass

        @pytest.mark.acrn_version("<3.0")
        def test_old(): pass

        @pytest.mark.acrn_feature("vsock")
        def test_vsock(): pass

        @pytest.mark.acrn_feature("console", "manager")
        def test_console(): pass

        @pytest.mark.acrn_hw
        def test_hw(): pass
    """)
    result = run(pytester, "-rs", "--acrn-version", "3.2")
    result.assert_outcomes(passed=2, skipped=3)
    out = result.stdout.str()
    assert "needs ACRN <3.0; the selected profile is 3.2" in out
    assert "target fake lacks feature(s): vsock" in out
    assert "needs real ACRN hardware" in out


@pytest.mark.parametrize("mark", ['acrn_version(">>3")', "acrn_version(3.0)",
                                  "acrn_feature()", "acrn_feature(3)"])
def test_bad_marker_arguments_are_usage_errors(pytester: pytest.Pytester, mark: str) -> None:
    pytester.makepyfile(f"""
        import pytest

        @pytest.mark.{mark}
        def test_x(): pass
    """)
    result = run(pytester)
    assert result.ret in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERRUPTED)
    assert "acrn_" in result.stderr.str() + result.stdout.str()


def test_hw_target_skips_with_the_exact_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_vm(acrn_vm): pass")
    result = run(pytester, "-rs", "--acrn-target", "hw")
    result.assert_outcomes(skipped=1)
    assert "no /dev/acrn_hsm: not an ACRN Service VM" in result.stdout.str()


def test_vm_fixture_boots_and_tears_down(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_vm(acrn_vm):
            out, status = acrn_vm.shell.run("uname -r")
            assert status == 0 and out.strip()
            print("PID", acrn_vm.pid)
    """)
    result = run(pytester, "-s")
    result.assert_outcomes(passed=1)
    pid = int(re.search(r"PID (\d+)", result.stdout.str()).group(1))  # type: ignore[union-attr]
    assert not pid_alive(pid)


def test_cascade_skip_after_a_boot_failure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_first(acrn_vm_factory, acrn_vm_argv):
            acrn_vm_factory(acrn_vm_argv, env={"ACRNKIT_GUEST_SCENARIO": "hang"},
                            boot_timeout=1)

        def test_second(acrn_vm):
            pass

        def test_third(acrn_vm):
            pass

        def test_unrelated():
            pass
    """)
    result = run(pytester, "-rs", "-p", "no:randomly")
    result.assert_outcomes(failed=1, skipped=2, passed=1)
    assert "target fake failed to boot a VM earlier (test_cascade_skip_after_a_boot_failure.py" \
        "::test_first): ConsoleTimeoutError" in result.stdout.str()


def test_teardown_after_a_failing_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_fails(acrn_vm):
            print("PID", acrn_vm.pid)
            assert False, "the test failed"
    """)
    result = run(pytester, "-s")
    result.assert_outcomes(failed=1)
    pid = int(re.search(r"PID (\d+)", result.stdout.str()).group(1))  # type: ignore[union-attr]
    assert not pid_alive(pid)


def test_teardown_after_keyboard_interrupt(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_interrupted(acrn_vm):
            print("PID", acrn_vm.pid, flush=True)
            raise KeyboardInterrupt
    """)
    result = run(pytester, "-s")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    pid = int(re.search(r"PID (\d+)", result.stdout.str()).group(1))  # type: ignore[union-attr]
    assert not pid_alive(pid)


def test_xdist_runs_vms_in_parallel(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.parametrize("n", range(8))
        def test_vm(acrn_vm, n):
            assert acrn_vm.shell.run("echo $((1))")[1] in (0, 127)
            assert acrn_vm.manager().query() >= 0
    """)
    result = run(pytester, "-n", "4")
    result.assert_outcomes(passed=8)


def test_bin_dir_and_record(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import subprocess

        def test_runtime(acrn_bin_dir, acrn_record, acrn_run_dir):
            kernel = acrn_run_dir / "k"
            kernel.write_bytes(b"k")
            argv = [str(acrn_bin_dir / "acrn-dm"), "-s", "0:0,hostbridge",
                    "--cpu_affinity", "1", "-k", str(kernel), "vm1"]
            done = subprocess.run(argv, env={"ACRNKIT_DM_MODE": "check", "PATH": "/usr/bin"},
                                  capture_output=True, text=True, timeout=30)
            assert done.returncode == 0, done.stderr
            bad = subprocess.run(argv[:1] + ["-m", "2048", *argv[1:]],
                                 env={"ACRNKIT_DM_MODE": "check"}, capture_output=True,
                                 text=True, timeout=30)
            assert bad.returncode == 64 and bad.stderr == "acrn-dm: invalid memsize '2048'\\n"
            calls = acrn_record.invocations
            assert [c["exit_status"] for c in calls] == [0, 64]
            try:
                acrn_record.assert_launched_valid()
            except AssertionError as err:
                assert "invalid memsize" in str(err)
            else:
                raise AssertionError("the rejected launch was reported valid")
    """)
    run(pytester).assert_outcomes(passed=1)


def test_junit_properties(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_vm(acrn_vm): pass")
    xml = pytester.path / "junit.xml"
    run(pytester, f"--junitxml={xml}", "--acrn-version", "3.2").assert_outcomes(passed=1)
    text = xml.read_text()
    for needle in ('name="acrn_target" value="fake"', 'name="acrn_version" value="3.2"',
                   'name="acrn_dm_version" value="DM: ', 'name="acrn_console_log"',
                   'name="acrn_kernel"', "sha256:"):
        assert needle in text


def test_console_log_dir(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile("def test_vm(acrn_vm): acrn_vm.shell.run('echo logged')")
    logs = tmp_path / "console"
    run(pytester, f"--acrn-console-log={logs}").assert_outcomes(passed=1)
    (log,) = logs.iterdir()
    assert "login:" in log.read_text() and "logged" in log.read_text()


def test_shipped_boot_suite_passes_on_the_fake(pytester: pytest.Pytester) -> None:
    from acrnkit.net.netns import privilege_problem

    result = run(pytester, "--pyargs", "acrnkit.boot_tests", "-rs")
    if privilege_problem() is None:
        result.assert_outcomes(passed=14)  # 9 boot checks + 5 network checks in a netns
    else:
        result.assert_outcomes(passed=9, skipped=5)


def test_downstream_example_project(pytester: pytest.Pytester) -> None:
    for item in EXAMPLE.iterdir():
        if item.is_file() and item.suffix in (".py", ".ini"):
            shutil.copy(item, pytester.path / item.name)
    result = run(pytester, "-rs", "--acrn-version", "3.2")
    result.assert_outcomes(passed=3, skipped=1)


def test_no_fake_processes_leak(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_vm(acrn_vm_factory, acrn_vm_argv):
            for _ in range(3):
                vm = acrn_vm_factory(acrn_vm_argv)
                print("PID", vm.pid, flush=True)
    """)
    result = run(pytester, "-s")
    result.assert_outcomes(passed=1)
    pids = [int(p) for p in re.findall(r"PID (\d+)", result.stdout.str())]
    assert len(pids) == 3 and not any(pid_alive(p) or _is_fake(str(p)) for p in pids)


def _is_fake(pid: str) -> bool:
    try:
        return b"fake-acrn-dm" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False




def test_golden_fixture_passes_fails_and_updates(pytester: pytest.Pytester) -> None:
    goldens = pytester.path / "goldens"
    goldens.mkdir()
    pytester.makeini(f"[pytest]\nacrn_golden_dir = {goldens}\n")
    pytester.makepyfile("""
        import os

        ARGV = ["-s", "0:0,hostbridge", "--cpu_affinity", "1", "-k", "/k",
                *os.environ.get("EXTRA", "").split(), "vm1"]

        def test_golden(acrn_golden):
            acrn_golden([a for a in ARGV if a], "runtime/basic")
    """)
    missing = run(pytester)
    missing.assert_outcomes(failed=1)
    assert "no golden case 'runtime/basic'" in missing.stdout.str()
    recorded = run(pytester, "--acrn-update-goldens")
    recorded.assert_outcomes(failed=1)
    assert "recorded new golden 'runtime/basic'" in recorded.stdout.str()
    run(pytester).assert_outcomes(passed=1)
    os.environ["EXTRA"] = "-m 2048"
    try:
        drifted = run(pytester)
        drifted.assert_outcomes(failed=1)
        out = drifted.stdout.str()
        assert "argv differs at position" in out and "=>" in out
        assert "invalid memsize '2048'" in out
        updated = run(pytester, "--acrn-update-goldens")
        updated.assert_outcomes(failed=1)
        assert "rewrote 'runtime/basic'" in updated.stdout.str()
        run(pytester).assert_outcomes(passed=1)
    finally:
        del os.environ["EXTRA"]


def test_golden_against_shipped_case(pytester: pytest.Pytester) -> None:
    from acrnkit.conformance.fixture import load_cases

    case = next(c for c in load_cases() if c.expected_argv and c.kind == "kata_config")
    argv = [a.replace("${ROOT}", "/srv/kata") for a in case.expected_argv or ()]
    pytester.makepyfile(f"""
        def test_golden(acrn_golden):
            acrn_golden({argv!r}, {case.id!r}, release={case.releases[0]!r},
                        values={{"ROOT": "/srv/kata"}})
    """)
    run(pytester).assert_outcomes(passed=1)
