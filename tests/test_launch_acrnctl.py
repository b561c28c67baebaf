"""acrnctl argv per release (acrnkit.launch.acrnctl)."""

from __future__ import annotations

import pytest

from acrnkit.errors import ConfigError, UnknownReleaseError
from acrnkit.launch import ACRNCTL_COMMANDS, acrnctl_argv, blkrescan_argv, check_vm_name
from acrnkit.releases.manager import manager_profile
from acrnkit.releases.versions import VERSIONS

# One valid argument list per sub-command.
VALID_ARGS: dict[str, tuple[str, ...]] = {
    "list": (),
    "start": ("vm1",),
    "stop": ("vm1",),
    "del": ("vm1",),
    "add": ("/usr/share/acrn/launch_uos.sh", "-C"),
    "reset": ("vm1",),
    "blkrescan": ("vm1", "5,/dev/dm-3"),
    "pause": ("vm1",),
    "continue": ("vm1",),
    "suspend": ("vm1",),
    "resume": ("vm1",),
}


def test_every_command_is_modelled() -> None:
    assert frozenset(VALID_ARGS) == ACRNCTL_COMMANDS


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("command", sorted(VALID_ARGS))
def test_commands_follow_the_release_table(version: str, command: str) -> None:
    args = VALID_ARGS[command]
    if command in manager_profile(version).commands:
        assert acrnctl_argv(command, *args, version=version) == ["acrnctl", command, *args]
    else:
        with pytest.raises(ConfigError) as info:
            acrnctl_argv(command, *args, version=version)
        assert info.value.field == "command"
        assert version in str(info.value)


@pytest.mark.parametrize(
    ("version", "present", "absent"),
    [
        ("1.6", {"pause", "continue", "suspend", "resume"}, set()),
        ("2.7", {"suspend", "resume"}, {"pause", "continue"}),
        ("3.0", set(), {"pause", "continue", "suspend", "resume"}),
        ("3.2", set(), {"pause", "continue", "suspend", "resume"}),
        ("3.3", set(), {"pause", "continue", "suspend", "resume"}),
    ],
)
def test_release_specific_commands(version: str, present: set[str], absent: set[str]) -> None:
    for command in present:
        assert acrnctl_argv(command, "vm1", version=version)[1] == command
    for command in absent:
        with pytest.raises(ConfigError):
            acrnctl_argv(command, "vm1", version=version)


def test_stop_force_flags_and_binary_path() -> None:
    assert acrnctl_argv("stop", "-f", "vm1", version="3.2") == ["acrnctl", "stop", "-f", "vm1"]
    assert acrnctl_argv("stop", "vm1", "--force", version="2.7", acrnctl="/usr/bin/acrnctl") == [
        "/usr/bin/acrnctl", "stop", "vm1", "--force",
    ]


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("list", ("vm1",)),
        ("start", ()),
        ("start", ("vm1", "vm2")),
        ("stop", ()),
        ("stop", ("-f",)),
        ("stop", ("vm1", "vm2")),
        ("stop", ("-f", "--force", "vm1")),
        ("del", ("vm1", "vm2")),  # acrnctl would delete vm1 only
        ("reset", ()),
        ("blkrescan", ("vm1",)),
        ("blkrescan", ("vm1", "5,/a", "6,/b")),
        ("add", ()),
        ("resume", ("vm1", "20", "extra")),
    ],
)
def test_wrong_argument_counts_name_the_command_field(command: str, args: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError) as info:
        acrnctl_argv(command, *args, version="2.7")
    assert info.value.field == "command"
    assert "usage: acrnctl" in str(info.value)


def test_unknown_command() -> None:
    with pytest.raises(ConfigError) as info:
        acrnctl_argv("destroy", "vm1", version="3.3")
    assert info.value.field == "command"
    assert "not an acrnctl sub-command" in str(info.value)


def test_unknown_version() -> None:
    with pytest.raises(UnknownReleaseError):
        acrnctl_argv("list", version="4.0")


def test_resume_reason_is_hex_and_24_bit() -> None:
    assert acrnctl_argv("resume", "vm1", "0x20", version="2.7")[-1] == "0x20"
    assert acrnctl_argv("resume", "vm1", "ff", version="1.6")[-1] == "ff"
    with pytest.raises(ConfigError) as info:
        acrnctl_argv("resume", "vm1", "xyz", version="2.7")
    assert info.value.field == "reason"
    with pytest.raises(ConfigError, match="0xffffff"):
        acrnctl_argv("resume", "vm1", "0x1000000", version="2.7")


def test_blkrescan_devargs_shape() -> None:
    for bad in ("/dev/dm-3", "x,/dev/dm-3", "5,", "5," + "p" * 300):
        with pytest.raises(ConfigError) as info:
            acrnctl_argv("blkrescan", "vm1", bad, version="3.2")
        assert info.value.field == "devargs"


def test_blkrescan_argv_is_katas_form() -> None:
    assert blkrescan_argv("sbx-abc", 5, "/dev/dm-3") == [
        "acrnctl", "blkrescan", "sbx-abc", "5,/dev/dm-3",
    ]
    assert blkrescan_argv("sbx-abc", 11, "/dev/dm-9", version="2.7",
                          acrnctl="/usr/bin/acrnctl") == [
        "/usr/bin/acrnctl", "blkrescan", "sbx-abc", "11,/dev/dm-9",
    ]
    for slot in (-1, 32, True):
        with pytest.raises(ConfigError) as info:
            blkrescan_argv("sbx-abc", slot, "/dev/dm-3")
        assert info.value.field == "slot"
    with pytest.raises(ConfigError) as info:
        blkrescan_argv("sbx-abc", 5, "")
    assert info.value.field == "path"


@pytest.mark.parametrize(
    "name",
    ["1vm", "-f", "vm 1", "vm,1", "vm!", "vm@x", "vm#", "vm$", "vm%", "vm^", "vm&", "vm*",
     "help", "nothing", "", "a/b", "a.b", "sbx-0123456789ab"],  # the last is 16 characters
)
def test_check_vm_name_rejects(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_vm_name(name, "3.2")
    assert info.value.field == "vm_name"


def test_vm_names_are_checked_in_commands() -> None:
    with pytest.raises(ConfigError) as info:
        acrnctl_argv("start", "help", version="3.2")
    assert info.value.field == "vm_name"
    with pytest.raises(ConfigError) as info:
        blkrescan_argv("0bad", 5, "/dev/dm-3")
    assert info.value.field == "vm_name"


def test_name_length_limit_follows_the_release() -> None:
    fifteen = "sbx-0123456789a"
    assert check_vm_name(fifteen, "3.2") == fifteen
    assert check_vm_name("v" * 127, "1.6") == "v" * 127
    with pytest.raises(ConfigError, match="longer than 15 bytes"):
        check_vm_name("v" * 16, "2.7")
    with pytest.raises(ConfigError, match="longer than 127 bytes"):
        check_vm_name("v" * 128, "1.6")
    assert check_vm_name("v" * 16, "1.6") == "v" * 16


def test_add_script_checks() -> None:
    assert acrnctl_argv("add", "launch.sh", version="3.3") == ["acrnctl", "add", "launch.sh"]
    with pytest.raises(ConfigError) as info:
        acrnctl_argv("add", "-C", version="3.3")
    assert info.value.field == "script"
    with pytest.raises(ConfigError, match="128 bytes"):
        acrnctl_argv("add", "/" + "s" * 127, version="3.3")
