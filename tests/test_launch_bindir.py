"""acrnkit.launch.bindir: the ``acrn-dm``/``acrnctl`` launchers of a bin dir start the fakes
with ``python -SE``; they import acrnkit from its search path directly when it is an ordinary
installed package, and preload its roots from where they are otherwise (an editable install or a
source checkout, whose folders are mapped)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from acrnkit.launch.bindir import _needs_preload, make_bin_dir


def test_plain_layout_needs_no_preload(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    for part in ("acrnkit", "acrnkit/fakes", "acrnkit/conformance"):
        (site / part).mkdir(parents=True)
    packages = [(name, [str(site / name.replace(".", "/"))])
                for name in ("acrnkit", "acrnkit.fakes", "acrnkit.conformance")]
    assert _needs_preload(packages, [str(tmp_path / "elsewhere"), str(site)]) is False


def test_mapped_or_split_layout_needs_preload(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    (site / "acrnkit").mkdir(parents=True)
    checkout = tmp_path / "checkout"
    (checkout / "fakes").mkdir(parents=True)
    mapped = [("acrnkit", [str(site / "acrnkit")]), ("acrnkit.fakes", [str(checkout / "fakes")])]
    assert _needs_preload(mapped, [str(site)]) is True
    split = [("acrnkit", [str(site / "acrnkit"), str(checkout)])]
    assert _needs_preload(split, [str(site)]) is True


def test_launcher_runs_the_fake_in_check_mode(tmp_path: Path) -> None:
    launchers = make_bin_dir(tmp_path / "bin", {"ACRNKIT_DM_MODE": "check"})
    kernel = tmp_path / "vmlinuz"
    kernel.write_bytes(b"k" * 512)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACRNKIT_")}
    good = subprocess.run([str(launchers["acrn-dm"]), "-s", "0:0,hostbridge", "--cpu_affinity",
                           "0", "-k", str(kernel), "vm1"], env=env, capture_output=True,
                          text=True, timeout=30)
    assert good.returncode == 0, good.stderr
    bad = subprocess.run([str(launchers["acrn-dm"]), "-m", "2048", "-k", str(kernel), "vm1"],
                         env=env, capture_output=True, text=True, timeout=30)
    assert bad.returncode == 64
    assert "acrn-dm" in bad.stderr
