"""Debian packages for the guest: resolve, download into a cache, extract; host tools.

Packages for the guest are fetched with ``apt-get download`` (no root needed once the apt lists
exist) and unpacked with ``dpkg-deb -x`` into a scratch directory: nothing is installed on the
host. Host tools (qemu) are installed with ``apt-get install`` only when missing, only as root,
and only when the caller allows it. Every command is an argv list.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from acrnkit.errors import AcrnkitError

#: The metapackage whose dependency names the current kernel, e.g. linux-image-6.1.0-50-amd64.
KERNEL_METAPACKAGE = "linux-image-amd64"
_KERNEL_PACKAGE = re.compile(r"linux-image-[0-9][^\s]*-amd64(-unsigned)?$")
#: host command -> the Debian package that provides it
HOST_TOOLS: dict[str, str] = {"qemu-system-x86_64": "qemu-system-x86"}

Log = Callable[[str], None]


class PackageError(AcrnkitError):
    """A package that cannot be resolved, downloaded or unpacked; the message says what to do."""


@dataclass(frozen=True)
class DebFile:
    package: str
    version: str
    path: Path
    sha256: str


def _run(argv: Sequence[str], *, cwd: Path | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, text=True,
                              check=False)
    except FileNotFoundError:
        raise PackageError(f"{argv[0]} not found: the guest is built from Debian packages and "
                           "needs apt-get, apt-cache and dpkg-deb") from None


def _tail(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if "unsandboxed" not in ln]
    return lines[-1] if lines else "(no output)"


def sha256_file(path: Path) -> str:
    """The file's SHA-256, remembered next to it (``.<name>.sha256`` keyed by size and mtime) so
    an up-to-date check does not re-read a 70 MB kernel package."""
    st = path.stat()
    memo = path.with_name(f".{path.name}.sha256")
    key = f"{st.st_size}:{st.st_mtime_ns}"
    with contextlib.suppress(OSError, ValueError):
        stored_key, digest_text = memo.read_text().split()
        if stored_key == key and len(digest_text) == 64:
            return digest_text
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    with contextlib.suppress(OSError):
        memo.write_text(f"{key} {digest.hexdigest()}\n")
    return digest.hexdigest()


def candidate(package: str) -> tuple[str, str | None] | None:
    """(version, sha256) of the package apt would download, or None when apt does not know it."""
    done = _run(["apt-cache", "show", "--no-all-versions", package])
    if done.returncode != 0 or not done.stdout.strip():
        return None
    version = re.search(r"^Version: (\S+)", done.stdout, re.M)
    sha = re.search(r"^SHA256: ([0-9a-f]{64})", done.stdout, re.M)
    if version is None:
        return None
    return str(version.group(1)), str(sha.group(1)) if sha else None


def resolve_kernel_package(log: Log) -> str:
    """The concrete ``linux-image-<abi>-amd64`` package the metapackage currently points at."""
    done = _run(["apt-cache", "depends", KERNEL_METAPACKAGE])
    names: list[str] = re.findall(r"Depends: (\S+)", done.stdout)
    for name in names:
        if _KERNEL_PACKAGE.match(name):
            return name
    raise PackageError(f"cannot resolve {KERNEL_METAPACKAGE} to a kernel package "
                       f"({_tail(done.stderr or done.stdout)}); run `apt-get update` or pass "
                       "--kernel-package linux-image-<version>-amd64")


def _update_lists(log: Log) -> bool:
    if os.geteuid() != 0:
        return False
    log("running apt-get update (package lists missing or stale)")
    return _run(["apt-get", "update"]).returncode == 0


def download(package: str, cache: Path, log: Log) -> DebFile:
    """The ``.deb`` of apt's candidate ``package`` in ``cache``, downloaded unless a file with
    the same version (and SHA256, when apt knows it) is already there."""
    cache.mkdir(parents=True, exist_ok=True)
    found = candidate(package)
    if found is None and _update_lists(log):
        found = candidate(package)
    if found is None:
        cached = sorted(cache.glob(f"{package}_*.deb"))
        if cached:
            path = cached[-1]
            log(f"apt does not know {package}; using the cached {path.name}")
            return DebFile(package, _deb_field(path, "Version"), path, sha256_file(path))
        raise PackageError(f"apt does not know the package {package!r}; run `apt-get update` "
                           "(as root) first")
    version, sha = found
    for path in cache.glob(f"{package}_*.deb"):
        if _deb_field(path, "Version") == version:
            digest = sha256_file(path)
            if sha is None or digest == sha:
                log(f"using cached {path.name}")
                return DebFile(package, version, path, digest)
            _remove(path)
    log(f"downloading {package} {version}")
    # As root, apt's sandbox user (_apt) cannot write into a root-owned cache: say so up front
    # instead of letting apt warn that it falls back.
    sandbox = ["-o", "APT::Sandbox::User=root"] if os.geteuid() == 0 else []
    done = _run(["apt-get", "download", *sandbox, f"{package}={version}"], cwd=cache)
    if done.returncode != 0:
        raise PackageError(f"apt-get download {package}={version} failed: "
                           f"{_tail(done.stderr)}")
    for path in cache.glob(f"{package}_*.deb"):
        if _deb_field(path, "Version") == version:
            digest = sha256_file(path)
            if sha is not None and digest != sha:
                _remove(path)
                raise PackageError(f"{path.name}: SHA256 {digest} does not match apt's {sha}")
            for old in cache.glob(f"{package}_*.deb"):
                if old != path:
                    _remove(old)
            return DebFile(package, version, path, digest)
    raise PackageError(f"apt-get download {package} left no .deb in {cache}")


def _remove(deb: Path) -> None:
    for path in (deb, deb.with_name(f".{deb.name}.sha256")):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _deb_field(path: Path, field: str) -> str:
    done = _run(["dpkg-deb", "-f", str(path), field])
    if done.returncode != 0:
        raise PackageError(f"dpkg-deb -f {path}: {_tail(done.stderr)}")
    return done.stdout.strip()


def extract(deb: Path, into: Path) -> None:
    """``dpkg-deb -x``: unpack the package's files into ``into`` (never onto the host)."""
    into.mkdir(parents=True, exist_ok=True)
    done = _run(["dpkg-deb", "-x", str(deb), str(into)])
    if done.returncode != 0:
        raise PackageError(f"dpkg-deb -x {deb.name} failed: {_tail(done.stderr)}")


def missing_tools(tools: dict[str, str] | None = None) -> dict[str, str]:
    """host command -> package, for the commands not on PATH."""
    table = HOST_TOOLS if tools is None else tools
    return {cmd: pkg for cmd, pkg in table.items() if shutil.which(cmd) is None}


def ensure_host_packages(log: Log, *, install: bool = True,
                         tools: dict[str, str] | None = None) -> list[str]:
    """Install the packages of missing host tools (as root, when allowed); returns what is still
    missing afterwards (the caller decides whether that is fatal)."""
    missing = missing_tools(tools)
    if not missing:
        return []
    packages = sorted(set(missing.values()))
    if not install:
        return packages
    if os.geteuid() != 0:
        log(f"not root: cannot install {' '.join(packages)}; run `apt-get install -y "
            f"{' '.join(packages)}` as root")
        return packages
    log(f"installing {' '.join(packages)} (apt-get install)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    argv = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    done = _run(argv, env=env)
    if done.returncode != 0 and _update_lists(log):
        done = _run(argv, env=env)
    if done.returncode != 0:
        raise PackageError(f"apt-get install {' '.join(packages)} failed: {_tail(done.stderr)}")
    return sorted(set(missing_tools(tools).values()))
