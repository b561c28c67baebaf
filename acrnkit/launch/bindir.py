"""A directory with ``acrn-dm`` and ``acrnctl`` that are the fakes, for runtimes that look the
binaries up on PATH or take a path to them.

The launchers start Python with ``-S -E`` (no ``site`` processing, no ``PYTHON*`` variables) and
put the directories acrnkit and its dependencies were found in at the front of ``sys.path``
themselves, so the fake starts in a few milliseconds instead of paying for ``site``'s ``.pth``
files. They are named ``acrn-dm``/``acrnctl`` only inside the directory they are written to;
nothing of that name is ever installed on PATH.
"""

from __future__ import annotations

import os
import site
import sys
from collections.abc import Mapping
from pathlib import Path

_TEMPLATE = """#!{python} -SE
# acrnkit fake {name}: written by acrnkit.launch.bindir; starts without site processing.
import os, sys
sys.path.extend({paths!r})
for _key, _value in {env!r}:
    os.environ.setdefault(_key, _value)
{preload}from {module} import {entry}
sys.exit({entry}())
"""

# Only when acrnkit is not laid out as an ordinary installed package (an editable install maps
# its folders): import its three roots from where they really are before the fake's module.
_PRELOAD = """import importlib.util as _u
for _name, _dirs in {packages!r}:
    if _name not in sys.modules:
        _spec = _u.spec_from_file_location(_name, _dirs[0] + "/__init__.py",
                                           submodule_search_locations=_dirs)
        _mod = _u.module_from_spec(_spec)
        sys.modules[_name] = _mod
        _spec.loader.exec_module(_mod)
"""

#: name -> (module, entry function)
FAKES = {"acrn-dm": ("acrnkit.fakes.acrn_dm.main", "console_main"),
         "acrnctl": ("acrnkit.fakes.acrnctl.main", "main")}


def _package_dirs() -> list[tuple[str, list[str]]]:
    """Where acrnkit's three import roots live (they may be mapped, as in an editable install)."""
    import importlib

    out = []
    for name in ("acrnkit", "acrnkit.fakes", "acrnkit.conformance"):
        module = importlib.import_module(name)
        out.append((name, [str(Path(p)) for p in module.__path__]))
    return out


def _search_path() -> list[str]:
    paths = []
    for entry in [*site.getsitepackages(), site.getusersitepackages(), *sys.path]:
        if entry and os.path.isdir(entry) and entry not in paths and "site-packages" in entry:
            paths.append(entry)
    return paths


def _needs_preload(packages: list[tuple[str, list[str]]], paths: list[str]) -> bool:
    """True unless each root is the plain folder a search path entry would find by name."""
    for name, dirs in packages:
        expected = [os.path.join(p, *name.split(".")) for p in paths]
        if len(dirs) != 1 or os.path.realpath(dirs[0]) not in map(os.path.realpath, expected):
            return True
    return False


def write_launcher(path: Path, module: str, name: str,
                   env: Mapping[str, str] | None = None, entry: str = "main") -> Path:
    """A launcher for ``module:entry``; ``env`` holds defaults (the caller's environment wins)."""
    paths = _search_path()
    packages = _package_dirs()
    preload = _PRELOAD.format(packages=packages) if _needs_preload(packages, paths) else ""
    text = _TEMPLATE.format(python=sys.executable, name=name, paths=paths, preload=preload,
                            module=module, entry=entry, env=sorted((env or {}).items()))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(0o755)
    tmp.replace(path)
    return path


def make_bin_dir(directory: str | os.PathLike[str],
                 env: Mapping[str, str] | None = None) -> dict[str, Path]:
    """Write ``acrn-dm`` and ``acrnctl`` launchers for the fakes into ``directory``; ``env``
    gives defaults such as ``ACRNKIT_RUN_DIR`` and ``ACRNKIT_ACRN_VERSION``."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    return {name: write_launcher(target / name, module, name, env, entry)
            for name, (module, entry) in FAKES.items()}
