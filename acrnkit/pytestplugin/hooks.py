"""The plugin's hooks: options, markers, skips, the cascade skip and JUnit properties."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from acrnkit.pytestplugin.fixtures import (
    BROKEN_KEY,
    OPTIONS_KEY,
    VM_FIXTURES,
    session_target,
)
from acrnkit.pytestplugin.markers import (
    MARKERS,
    check_version_marks,
    marker_features,
)
from acrnkit.pytestplugin.options import add_options, resolve


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    config.stash[OPTIONS_KEY] = resolve(config)


def pytest_report_header(config: pytest.Config) -> list[str]:
    opts = config.stash[OPTIONS_KEY]
    target = session_target(config)
    state = "available" if target.available else f"unavailable: {target.unavailable}"
    return [f"acrnkit: target={target.name} ({state}), ACRN {opts.version}, "
            f"acrn-dm={target.acrn_dm}"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    opts = config.stash[OPTIONS_KEY]
    target = session_target(config)
    for item in items:
        if item.get_closest_marker("acrn_hw") is not None:
            if target.name != "hw":
                item.add_marker(pytest.mark.skip(
                    reason=f"needs real ACRN hardware (--acrn-target hw); target is "
                           f"{target.name}"))
                continue
            if not target.available:
                item.add_marker(pytest.mark.skip(reason=str(target.unavailable)))
                continue
        reason = check_version_marks(item.iter_markers("acrn_version"), opts.version)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))
            continue
        wanted = marker_features(item.iter_markers("acrn_feature"))
        missing = target.missing_features(wanted)
        if missing:
            item.add_marker(pytest.mark.skip(
                reason=f"target {target.name} lacks feature(s): {', '.join(sorted(missing))}"))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """After one VM failed to boot on a target, skip later VM tests on it with that reason."""
    fixturenames = getattr(item, "fixturenames", ())
    if not any(name in fixturenames for name in VM_FIXTURES):
        return
    broken = item.config.stash.get(BROKEN_KEY, {})
    target = session_target(item.config)
    first = broken.get(target.name)
    if first is not None:
        nodeid, reason = first
        pytest.skip(f"target {target.name} failed to boot a VM earlier ({nodeid}): {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A VM test that fails because a VM did not start or boot marks its target broken."""
    outcome = yield
    if call.excinfo is None or call.when not in ("setup", "call"):
        return
    if not any(name in getattr(item, "fixturenames", ()) for name in VM_FIXTURES):
        return
    from acrnkit.errors import ConsoleError, LaunchError

    if call.excinfo.errisinstance((ConsoleError, LaunchError)):
        broken = item.config.stash.setdefault(BROKEN_KEY, {})
        target = session_target(item.config)
        err = call.excinfo.value
        first_line = str(err).splitlines()[0] if str(err) else ""
        broken.setdefault(target.name, (item.nodeid, f"{type(err).__name__}: {first_line}"))
    _ = outcome


@pytest.fixture(scope="session", autouse=True)
def _acrn_suite_properties(request: pytest.FixtureRequest,
                           record_testsuite_property: object) -> None:
    """JUnit properties for the whole run: target, ACRN version, acrn-dm's own -v line."""
    config = request.config
    opts = config.stash[OPTIONS_KEY]
    target = session_target(config)
    record = record_testsuite_property
    record("acrn_target", target.name)  # type: ignore[operator]
    record("acrn_version", opts.version)  # type: ignore[operator]
    if target.available and target.acrn_dm:
        env = dict(target.env)
        import os

        try:
            done = subprocess.run([target.acrn_dm, "-v"], capture_output=True, text=True,
                                  timeout=10, env={**os.environ, **env})
            record("acrn_dm_version", done.stdout.strip() or done.stderr.strip())  # type: ignore[operator]
        except (OSError, subprocess.TimeoutExpired) as err:
            record("acrn_dm_version", f"unavailable: {err}")  # type: ignore[operator]
    if opts.console_log is not None:
        record("acrn_console_log_dir", str(opts.console_log))  # type: ignore[operator]
