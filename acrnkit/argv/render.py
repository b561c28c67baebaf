"""Model to argv: ``render(vm, release) -> list[str]`` (argv[0] not included).

The release picks the spelling: the short letter where one exists (``-m 2G``), else the long
name as two elements (``--cpu_affinity 1``). Nothing is validated here; ``check`` does that.
"""

from __future__ import annotations

from acrnkit.model.vm import FIELD_CODECS, RENDER_ORDER, VM
from acrnkit.releases.profile import Release, get_release
from acrnkit.releases.versions import DEFAULT_VERSION


def spelling(key: str, release: Release) -> str:
    letter = release.short_for(key)
    if letter is not None:
        return f"-{letter}"
    return f"--{release.long_for(key) or key}"


def render(vm: VM, release: Release | str = DEFAULT_VERSION) -> list[str]:
    rel = get_release(release)
    argv: list[str] = []
    for key in RENDER_ORDER:
        value = getattr(vm, key)
        if key == "devices":
            for dev in vm.devices:
                argv += ["-s", dev.render()]
            continue
        if key == "ssram":
            if value is True:
                argv.append("--ssram")
            elif isinstance(value, str):
                argv += ["--ssram", value]
            continue
        codec = FIELD_CODECS[key]
        flag = spelling(key, rel)
        if codec.kind == "flag":
            if value:
                argv.append(flag)
        elif codec.kind == "list":
            for item in value:
                argv += [flag, codec.render(item)]
        elif value is not None:
            argv += [flag, codec.render(value)]
    if vm.name is not None:
        argv.append(vm.name)
    return argv
