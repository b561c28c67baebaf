"""The plugin's fixtures: targets, isolated run dirs, VMs, records, bin dirs, goldens and
isolated test networks (``acrn_netns``, ``acrn_tap``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from acrnkit.pytestplugin.options import AcrnOptions
from acrnkit.pytestplugin.targets import Target, make_target

OPTIONS_KEY = pytest.StashKey[AcrnOptions]()
TARGET_KEY = pytest.StashKey[Target]()
#: the first boot failure per target in this session: (test nodeid, reason)
BROKEN_KEY = pytest.StashKey[dict[str, tuple[str, str]]]()

VM_FIXTURES = ("acrn_vm", "acrn_vm_factory")
#: VMs a test started inside a test network: (netns name, VM); stopped before the netns goes
NETNS_VMS_KEY = pytest.StashKey[list[tuple[str, Any]]]()
#: the tap ``acrn_netns`` creates: it starts with "tap", so every release's acrn-dm opens it
#: (1.6 wants the prefix, 2.7 "tap" anywhere, 3.x any name after ``tap=``)
DEFAULT_TEST_TAP = "tap_acrn0"


def session_target(config: pytest.Config) -> Target:
    target = config.stash.get(TARGET_KEY, None)
    if target is None:
        opts = config.stash[OPTIONS_KEY]
        target = make_target(opts.target, opts.version, opts.acrn_dm, opts.acrnctl)
        config.stash[TARGET_KEY] = target
    return target


@pytest.fixture(scope="session")
def acrn_options(pytestconfig: pytest.Config) -> AcrnOptions:
    """The resolved ``--acrn-*`` options (flag, then environment, then ini)."""
    return pytestconfig.stash[OPTIONS_KEY]


@pytest.fixture(scope="session")
def acrn_target(pytestconfig: pytest.Config) -> Target:
    """The selected target; tests that need it skip with the reason when it is unavailable."""
    target = session_target(pytestconfig)
    if not target.available:
        pytest.skip(f"acrn target {target.name} unavailable: {target.unavailable}")
    return target


@pytest.fixture
def acrn_run_dir() -> Iterator[Path]:
    """A run dir of this test's own (replaces /run/acrn for the fakes): xdist-safe.

    Kept short because unix socket paths are limited to 107 bytes.
    """
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="acrn-"))
    yield path
    import shutil

    shutil.rmtree(path, ignore_errors=True)


@dataclass
class AcrnRecord:
    """The invocations of the fake acrn-dm made during a test (``ACRNKIT_RECORD``); each is
    recorded when that acrn-dm exits."""

    path: Path

    @property
    def invocations(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def assert_launched_valid(self, version: str | None = None) -> dict[str, Any]:
        """The last invocation, after checking it was accepted (for ``version`` if given)."""
        calls = self.invocations
        assert calls, "acrn-dm was never invoked"
        last = calls[-1]
        if version is not None:
            assert last.get("version") == version, (
                f"acrn-dm ran as ACRN {last.get('version')}, expected {version}")
        # the fake writes a record when it exits: "run" (a guest ran) or "check" (validated)
        assert last.get("verdict") in ("run", "check"), (
            f"acrn-dm {last.get('version')} rejected argv {last.get('argv')}: "
            f"{last.get('message')} (exit {last.get('exit_status')})")
        return last


@pytest.fixture
def acrn_record(acrn_run_dir: Path) -> AcrnRecord:
    """What the fake acrn-dm recorded: ``acrn_record.invocations`` (argv, verdict, status)."""
    return AcrnRecord(acrn_run_dir / "record.jsonl")


def _fake_env(target: Target, run_dir: Path, record: AcrnRecord) -> dict[str, str]:
    env = dict(target.env)
    if target.name != "hw":
        env["ACRNKIT_RUN_DIR"] = str(run_dir)
        env["ACRNKIT_RECORD"] = str(record.path)
    return env


@pytest.fixture
def acrn_bin_dir(acrn_target: Target, acrn_run_dir: Path, acrn_record: AcrnRecord,
                 tmp_path: Path) -> Path:
    """A directory holding ``acrn-dm`` and ``acrnctl``: the fakes (fast launchers bound to this
    test's run dir and record) or, on ``hw``, links to the real ones. PATH is not changed."""
    bindir = tmp_path / "acrn-bin"
    bindir.mkdir()
    if acrn_target.name == "hw":
        for name, path in (("acrn-dm", acrn_target.acrn_dm), ("acrnctl", acrn_target.acrnctl)):
            if path:
                (bindir / name).symlink_to(path)
        return bindir
    from acrnkit.launch.bindir import make_bin_dir

    make_bin_dir(bindir, env=_fake_env(acrn_target, acrn_run_dir, acrn_record))
    return bindir


@dataclass
class VMFactory:
    target: Target
    options: AcrnOptions
    run_dir: Path
    record: AcrnRecord
    request: pytest.FixtureRequest
    vms: list[Any] = field(default_factory=list)

    def __call__(self, config: Any, *, boot: bool = True, env: dict[str, str] | None = None,
                 boot_timeout: float | None = None, netns: Any = None,
                 **shell_options: Any) -> Any:
        """Start a VM from an acrnkit ``VM``, a ``VMBuilder`` or a raw argv list.

        ``netns``: a live ``acrnkit.net.TestNetwork`` (``acrn_netns``) or the name of one: the
        acrn-dm process runs inside that namespace (``ip netns exec``, same pid and process
        group), so it sees the test's taps. It is stopped before the namespace is deleted.
        """
        from acrnkit.argv.render import render
        from acrnkit.builder import VMBuilder
        from acrnkit.launch.vm import start_vm
        from acrnkit.model.vm import VM

        if isinstance(config, VMBuilder):
            argv = config.argv()
        elif isinstance(config, VM):
            argv = render(config, self.options.version)
        elif isinstance(config, Sequence) and not isinstance(config, str):
            argv = [str(a) for a in config]
        else:
            raise TypeError("acrn_vm_factory takes a VM, a VMBuilder or an argv list")
        assert self.target.acrn_dm is not None
        acrn_dm = self.target.acrn_dm
        netns_name: str | None = None
        if netns is not None:
            acrn_dm, netns_name = self._in_netns(netns, acrn_dm)
        log_dir = self.options.console_log or (self.run_dir / "logs")
        merged_env = {**_fake_env(self.target, self.run_dir, self.record), **(env or {})}
        started = time.monotonic()
        # a boot failure that escapes the test marks the target broken (hooks.py)
        vm = start_vm(argv, acrn_dm=acrn_dm, run_dir=self.run_dir,
                      version=self.options.version, env=merged_env, log_dir=log_dir,
                      boot=boot, boot_timeout=boot_timeout or self.options.boot_timeout,
                      shell_options=shell_options)
        self.vms.append(vm)
        if netns_name is not None:
            self.request.node.stash.setdefault(NETNS_VMS_KEY, []).append((netns_name, vm))
            self.request.node.user_properties.append(("acrn_netns", netns_name))
        self.request.node.user_properties.append(
            ("acrn_console_log", str(vm.log_path)))
        self.request.node.user_properties.append(
            ("acrn_boot_seconds", f"{time.monotonic() - started:.3f}"))
        for key, path in _image_paths(argv):
            self.request.node.user_properties.append((key, f"{path} sha256:{_sha256(path)}"))
        return vm

    def _in_netns(self, netns: Any, acrn_dm: str) -> tuple[str, str]:
        """A launcher running ``acrn_dm`` inside ``netns`` (written in the run dir) and the
        namespace's name."""
        from acrnkit.net.netns import resolve_netns, write_launcher

        name = resolve_netns(netns)
        bindir = self.run_dir / "netns-bin"
        bindir.mkdir(exist_ok=True)
        path = bindir / f"acrn-dm@{name}"
        if not path.exists():
            write_launcher(path, name, acrn_dm)
        return str(path), name

    def close(self) -> None:
        for vm in reversed(self.vms):
            vm.stop()
        self.vms.clear()


def _image_paths(argv: Sequence[str]) -> list[tuple[str, str]]:
    out = []
    for flag, key in (("-k", "acrn_kernel"), ("-r", "acrn_ramdisk")):
        if flag in argv:
            i = list(argv).index(flag)
            if i + 1 < len(argv):
                out.append((key, argv[i + 1]))
    for i, arg in enumerate(argv):
        if arg == "-s" and i + 1 < len(argv) and ",virtio-blk," in argv[i + 1]:
            path = argv[i + 1].split(",virtio-blk,", 1)[1].split(",")[0]
            if path != "nodisk":
                out.append(("acrn_disk", path))
    return out


def _sha256(path: str) -> str:
    import hashlib

    try:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()[:16]
    except OSError:
        return "unreadable"


@pytest.fixture
def acrn_vm_factory(acrn_target: Target, acrn_options: AcrnOptions, acrn_run_dir: Path,
                    acrn_record: AcrnRecord, request: pytest.FixtureRequest,
                    ) -> Iterator[VMFactory]:
    """``acrn_vm_factory(vm_or_argv, boot=True)`` starts a VM on the selected target and
    returns a handle (pid, shell, manager(), log_path). Teardown stops and reaps every VM."""
    factory = VMFactory(acrn_target, acrn_options, acrn_run_dir, acrn_record, request)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def acrn_vm_argv(acrn_options: AcrnOptions, acrn_run_dir: Path) -> list[str]:
    """The argv ``acrn_vm`` boots. Override it in a conftest to boot your runtime's argv; the
    default is a small VM with a console, a disk and a NIC, valid for the selected release."""
    from acrnkit.launch.sample import sample_argv

    return sample_argv(acrn_options.version, acrn_run_dir)


@pytest.fixture
def acrn_vm(acrn_vm_factory: VMFactory, acrn_vm_argv: list[str]) -> Any:
    """A booted, logged-in VM of ``acrn_vm_argv`` on the selected target."""
    return acrn_vm_factory(acrn_vm_argv)


@pytest.fixture
def acrn_tap_name() -> str:
    """The name of the tap ``acrn_netns`` creates (``tap_acrn0``). Override it in a conftest
    or a test module to match the tap your runtime's argv names."""
    return DEFAULT_TEST_TAP


@pytest.fixture
def acrn_netns(acrn_tap_name: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """An isolated test network (``acrnkit.net.TestNetwork``): a private network namespace with
    ``lo`` and a persistent tap ``acrn_tap_name`` holding a link-local host address
    (``169.254.X.1/16``), no route out. Start the VM in it with
    ``acrn_vm_factory(argv, netns=acrn_netns)``; give the guest
    ``acrn_netns.guest_ip_param()`` in ``-B``. Teardown stops the VMs started in it, ends every
    process left inside, deletes the taps and the namespace. Skips with the reason without
    root, CAP_NET_ADMIN/CAP_SYS_ADMIN, /dev/net/tun or iproute2."""
    from acrnkit.errors import PrivilegeError
    from acrnkit.net.netns import TestNetwork, privilege_problem

    problem = privilege_problem()
    if problem is not None:
        pytest.skip(f"acrnkit.net: {problem}")
    net = TestNetwork(tap=acrn_tap_name)
    try:
        net.start()
    except PrivilegeError as err:
        pytest.skip(f"acrnkit.net: {err}")
    try:
        yield net
    finally:
        try:
            for name, vm in reversed(request.node.stash.get(NETNS_VMS_KEY, [])):
                if name == net.name:
                    vm.stop()
        finally:
            net.close()


@pytest.fixture
def acrn_tap(acrn_netns: Any) -> str:
    """The tap of ``acrn_netns`` (its name, inside the namespace): put it in the argv as
    ``virtio-net,tap=<acrn_tap>`` (3.x) or ``virtio-net,<acrn_tap>`` (1.x/2.x)."""
    return str(acrn_netns.tap)


@pytest.fixture
def acrn_golden(request: pytest.FixtureRequest, acrn_options: AcrnOptions) -> Callable[..., None]:
    """``acrn_golden(argv, case_id)``: assert an argv against a named golden fixture, with the
    conformance diff on failure; ``--acrn-update-goldens`` rewrites it and still fails."""
    from acrnkit.pytestplugin.golden import GoldenChecker

    return GoldenChecker(update=acrn_options.update_goldens, version=acrn_options.version,
                         case_dir=str(acrn_options.golden_dir) if acrn_options.golden_dir
                         else None)
