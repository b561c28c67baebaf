"""The shipped boot suite on the QEMU target: real kernels, real virtio drivers.

Runs when qemu-system-x86_64 and the guest image (``acrnkit guest build``; ``.ci/run`` builds it)
are present, and skips with what is missing otherwise.
"""

from __future__ import annotations

import shutil

import pytest

pytest_plugins = ["pytester"]


def _guest_dir() -> str:
    from acrnkit.guest.image import default_guest_dir

    return str(default_guest_dir())


# resolved at import: pytester moves HOME to a temporary directory
GUEST_DIR = _guest_dir()


def _guest_missing() -> str | None:
    if shutil.which("qemu-system-x86_64") is None:
        return "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
    from acrnkit.guest.image import load_guest

    try:
        load_guest(GUEST_DIR)
    except Exception as err:
        return f"no guest image in {GUEST_DIR} (run `acrnkit guest build`): {err}"
    return None


@pytest.mark.qemu
def test_boot_suite_on_qemu(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = _guest_missing()
    if missing:
        pytest.skip(missing)
    monkeypatch.setenv("ACRNKIT_GUEST_DIR", GUEST_DIR)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--pyargs", "acrnkit.boot_tests", "--acrn-target", "qemu",
        "-rs", timeout=600)
    out = result.stdout.str()
    outcomes = result.parseoutcomes()
    assert result.ret == 0, out
    # at least: boot to login, /proc/cmdline, every disk, NIC MAC, stop via the manager socket,
    # poweroff and the kernel panic on a bad root=
    assert outcomes.get("passed", 0) >= 6, out
    assert "target qemu lacks feature(s)" in out or outcomes.get("skipped", 0) == 0
