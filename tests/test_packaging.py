"""The install maps the three top-level folders under ``acrnkit`` and ships every package."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
MAPPING = {"acrnkit": "acrnkit", "fakes": "acrnkit.fakes", "conformance": "acrnkit.conformance"}


def test_every_package_folder_is_listed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = set()
    for top, name in MAPPING.items():
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top)
            found.add(".".join([name, *rel.parts]) if rel.parts else name)
    assert found == listed, f"pyproject packages differ: missing {found - listed}, " \
                            f"stale {listed - found}"
    assert config["package-dir"] == {v: k for k, v in MAPPING.items()}


def test_no_generic_top_level_names_and_no_real_tool_names() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert all(p.split(".")[0] == "acrnkit" for p in config["tool"]["setuptools"]["packages"])
    scripts = config["project"]["scripts"]
    assert set(scripts) == {"acrnkit", "fake-acrn-dm", "fake-acrnctl"}
    assert config["project"]["entry-points"]["pytest11"] == {"acrnkit": "acrnkit.pytestplugin"}


def test_imports_resolve_from_the_mapped_folders() -> None:
    import acrnkit.conformance
    import acrnkit.fakes.acrn_dm.main

    assert Path(acrnkit.fakes.acrn_dm.main.__file__).parent.name == "acrn_dm"
    assert (Path(acrnkit.conformance.__file__).parent / "schema.json").exists()
