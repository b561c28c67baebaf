"""The plugin's network fixtures, ``acrn_netns`` and ``acrn_tap``, and ``acrn_vm_factory(argv,
netns=...)``, driven through pytester in subprocesses (as a downstream user sees them): they
work as root, skip with the reason without the privileges, and leave no namespace, tap or
process behind, also after a failure or ^C. The network boot suite runs on a two-NIC argv.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

from acrnkit.net import list_netns, privilege_problem

pytest_plugins = ["pytester"]

PROBLEM = privilege_problem()
needs_net = pytest.mark.skipif(PROBLEM is not None, reason=f"acrnkit.net: {PROBLEM}")

#: a downstream test: a VM with a NIC on the test's tap, inside the test's namespace
DOWNSTREAM = """
    import re

    import pytest

    from acrnkit.net import assert_guest_mac

    MAC = "02:42:ac:11:00:02"

    def argv_for(acrn_run_dir, acrn_netns, acrn_tap):
        kernel = acrn_run_dir / "bzImage"
        kernel.write_bytes(b"k")
        return ["-s", "0:0,hostbridge", "-s", "3,virtio-console,@stdio:con",
                "-s", f"4,virtio-net,tap={acrn_tap},mac={MAC}", "--cpu_affinity", "0",
                "-k", str(kernel), "-B", f"console=hvc0 {acrn_netns.guest_ip_param()}", "vm1"]

    def test_net(acrn_netns, acrn_tap, acrn_vm_factory, acrn_run_dir):
        print("NETNS", acrn_netns.name, "TAP", acrn_tap, flush=True)
        assert acrn_tap == "tap_acrn0" and acrn_tap in acrn_netns.links()
        argv = argv_for(acrn_run_dir, acrn_netns, acrn_tap)
        vm = acrn_vm_factory(argv, netns=acrn_netns)
        print("PID", vm.pid, flush=True)
        assert assert_guest_mac(argv, 4, MAC, netns=acrn_netns) == MAC
        assert acrn_netns.ping(acrn_netns.guest_ip, count=2).received == 2
        out, status = vm.shell.run(f"ping -c 1 {acrn_netns.host_ip}")
        assert status == 0, out
        MORE

    def test_factory_order_reversed(acrn_vm_factory, acrn_run_dir, acrn_netns, acrn_tap):
        vm = acrn_vm_factory(argv_for(acrn_run_dir, acrn_netns, acrn_tap), netns=acrn_netns)
        print("PID", vm.pid, flush=True)
        assert acrn_netns.arping(acrn_netns.guest_ip) == MAC
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", *args,
                                         timeout=240)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False


def _found(pattern: str, text: str) -> list[str]:
    return re.findall(pattern, text)


def assert_nothing_left(out: str) -> None:
    names = _found(r"NETNS (acrnkit-\d+-[0-9a-f]+)", out)
    pids = [int(p) for p in _found(r"PID (\d+)", out)]
    assert names and pids, out
    live = set(list_netns())
    assert not [n for n in names if n in live], f"namespaces left: {names}"
    assert not [p for p in pids if pid_alive(p)], f"processes left: {pids}"


@needs_net
def test_fixtures_work_and_clean_up(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(DOWNSTREAM.replace("MORE", "pass"))
    result = run(pytester, "-s")
    result.assert_outcomes(passed=2)
    assert_nothing_left(result.stdout.str())
    assert len(_found(r"PID (\d+)", result.stdout.str())) == 2


@needs_net
@pytest.mark.parametrize("order", ["acrn_vm_factory, acrn_netns", "acrn_netns, acrn_vm_factory"])
def test_the_vm_stops_cleanly_before_the_namespace_goes(pytester: pytest.Pytester,
                                                        order: str) -> None:
    """Whatever the fixture order, the VM gets the factory's orderly stop (exit 0), not the
    namespace cleanup's SIGTERM."""
    record = pytester.path / "record.jsonl"
    pytester.makepyfile(f"""
        def test_vm({order}, acrn_tap, acrn_run_dir):
            kernel = acrn_run_dir / "k"
            kernel.write_bytes(b"k")
            acrn_vm_factory(["-s", "0:0,hostbridge", "-s", "3,virtio-console,@stdio:c",
                             "-s", f"4,virtio-net,tap={{acrn_tap}}", "--cpu_affinity", "0",
                             "-k", str(kernel), "-B", "console=hvc0", "vm1"],
                            netns=acrn_netns, env={{"ACRNKIT_RECORD": {str(record)!r}}})
    """)
    run(pytester).assert_outcomes(passed=1)
    records = [json.loads(x) for x in record.read_text().splitlines()]
    assert [(r["verdict"], r["exit_status"], r["signal"]) for r in records] == [
        ("run", 0, None)]


@needs_net
def test_cleanup_after_a_failure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(DOWNSTREAM.replace("MORE", "assert False, 'the test failed'"))
    result = run(pytester, "-s", "-k", "test_net")
    result.assert_outcomes(failed=1, deselected=1)
    assert "the test failed" in result.stdout.str()
    assert_nothing_left(result.stdout.str())


@needs_net
def test_cleanup_after_keyboard_interrupt(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(DOWNSTREAM.replace("MORE", "raise KeyboardInterrupt"))
    result = run(pytester, "-s", "-k", "test_net")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert_nothing_left(result.stdout.str())


def test_skips_with_the_reason_without_cap_net_admin(pytester: pytest.Pytester) -> None:
    if os.geteuid() != 0 or not Path("/usr/bin/setpriv").exists():
        pytest.skip("needs root and setpriv to drop CAP_NET_ADMIN")
    pytester.makepyfile("""
        def test_netns(acrn_netns):
            raise AssertionError("must not run")

        def test_tap(acrn_tap):
            raise AssertionError("must not run")

        def test_other():
            pass
    """)
    result = pytester.run("/usr/bin/setpriv", "--inh-caps=-net_admin",
                          "--bounding-set=-net_admin", sys.executable, "-m", "pytest",
                          "-p", "no:cacheprovider", "-rs", str(pytester.path), timeout=240)
    result.assert_outcomes(passed=1, skipped=2)
    assert result.stdout.str().count(
        "acrnkit.net: CAP_NET_ADMIN is not in the effective capability set") == 2


def test_skips_with_the_reason_without_dev_net_tun(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
        import acrnkit.net.netns as netns

        netns.TUN_PATH = "/nonexistent/net/tun"
    """)
    pytester.makepyfile("def test_netns(acrn_netns): raise AssertionError('must not run')")
    result = run(pytester, "-rs")
    result.assert_outcomes(skipped=1)
    assert "acrnkit.net: /nonexistent/net/tun is missing (modprobe tun, or pass the device " \
           "into the container)" in result.stdout.str()


def test_factory_refuses_a_foreign_namespace(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        from acrnkit.errors import ConfigError

        def test_vm(acrn_vm_factory, acrn_vm_argv):
            with pytest.raises(ConfigError) as err:
                acrn_vm_factory(acrn_vm_argv, netns="some-other-netns")
            assert err.value.field == "netns"
    """)
    run(pytester).assert_outcomes(passed=1)


@needs_net
def test_network_boot_suite_on_a_two_nic_argv(pytester: pytest.Pytester) -> None:
    """The shipped network checks, with a runtime's argv that has two NICs on two taps (one
    with mac=, one with acrn-dm's default MAC) and no ip= of its own."""
    pytester.makeconftest("""
        import pytest

        @pytest.fixture
        def acrn_vm_argv(acrn_run_dir):
            kernel = acrn_run_dir / "bzImage"
            kernel.write_bytes(b"k")
            return ["-s", "0:0,hostbridge", "-s", "3,virtio-console,@stdio:con",
                    "-s", "5,virtio-net,tap=tap_rt0,mac=02:00:00:aa:bb:01",
                    "-s", "6,virtio-net,tap=tap_rt1", "--cpu_affinity", "0",
                    "-k", str(kernel), "-B", "console=hvc0 root=/dev/vda", "sbx-1"]
    """)
    result = run(pytester, "--pyargs", "acrnkit.boot_tests.test_network", "-rs", "-v")
    result.assert_outcomes(passed=5)
    assert "test_every_nic_answers_arp_with_its_mac PASSED" in result.stdout.str()
