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
import importlib.util as _u
for _name, _dirs in {packages!r}:
    if _name not in sys.modules:
        _spec = _u.spec_from_file_location(_name, _dirs[0] + "/__init__.py",
                                           submodule_search_locations=_dirs)
        _mod = _u.module_from_spec(_spec)
        sys.modules[_name] = _mod
        _spec.loader.exec_module(_mod)
from {module} import main
sys.exit(main())
"""

FAKES = {"acrn-dm": "acrnkit.fakes.acrn_dm.main", "acrnctl": "acrnkit.fakes.acrnctl.main"}


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


def write_launcher(path: Path, module: str, name: str,
                   env: Mapping[str, str] | None = None) -> Path:
    """A launcher for ``module:main``; ``env`` holds defaults (the caller's environment wins)."""
    text = _TEMPLATE.format(python=sys.executable, name=name, paths=_search_path(),
                            packages=_package_dirs(), module=module,
                            env=sorted((env or {}).items()))
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
    return {name: write_launcher(target / name, module, name, env)
            for name, module in FAKES.items()}
