"""acrnkit.kata.jsonio and acrnkit.kata.cli.run_build_kata: Go-shaped Config JSON in, argv out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from acrnkit.errors import ConfigError
from acrnkit.kata import (
    BlockDevice,
    BridgeDevice,
    ConsoleDevice,
    KataConfig,
    Kernel,
    LPCDevice,
    Memory,
    NetDevice,
    VSOCKDevice,
    kata_config_from_obj,
    loads_kata_config,
    run_build_kata,
)
from acrnkit.kata.jsonio import load_kata_config_file

FULL: dict[str, Any] = {
    "ACPIVirt": True,
    "Memory": {"Size": "2048M"},
    "Devices": [
        {"type": "BridgeDevice", "Emul": "hostbridge", "Config": "", "Function": 0},
        {"type": "LPCDevice", "Emul": "lpc", "Function": 0},
        {"type": "ConsoleDevice", "Name": "console0", "Path": "/run/vc/vm/abc/console.sock",
         "Backend": "socket", "PortType": 1},
        {"type": "BlockDevice", "FilePath": "/img", "Index": 0},
        {"type": "BlockDevice", "FilePath": "nodisk", "Index": 1},
        {"type": "VSOCKDevice", "ContextID": 3},
        {"type": "NetDevice", "Type": "macvtap", "IFName": "tap0_kata",
         "MACAddress": "02:42:ac:11:00:02"},
    ],
    "ApicID": "0",
    "Kernel": {"Path": "/vmlinuz", "ImagePath": "/img", "Params": "panic=1 maxcpus=1"},
    "Name": "sbx-abc",
    "Path": "/usr/bin/acrn-dm",
    "CtlPath": "/usr/bin/acrnctl",
}

FULL_ARGV = [
    "-A", "-m", "2048M", "-s", "0:0,hostbridge", "-s", "1:0,lpc", "-lcom1,stdio",
    "-s", "3,virtio-console,@socket:console0=/run/vc/vm/abc/console.sock",
    "-s", "4,virtio-blk,/img", "-s", "5,virtio-blk,nodisk", "-s", "6,vhost-vsock,cid=3",
    "-s", "7,virtio-net,tap0_kata,mac=02:42:ac:11:00:02",
    "--cpu_affinity", "0", "-k", "/vmlinuz", "-B", "panic=1 maxcpus=1", "sbx-abc",
]


def test_full_config_reads_into_dataclasses() -> None:
    cfg = loads_kata_config(json.dumps(FULL))
    assert cfg == KataConfig(
        devices=(
            BridgeDevice("hostbridge", "", 0), LPCDevice("lpc", 0),
            ConsoleDevice("console0", "/run/vc/vm/abc/console.sock", "socket", 1),
            BlockDevice("/img", 0), BlockDevice("nodisk", 1), VSOCKDevice(3),
            NetDevice("macvtap", "tap0_kata", "02:42:ac:11:00:02"),
        ),
        path="/usr/bin/acrn-dm", ctl_path="/usr/bin/acrnctl", name="sbx-abc", apic_id="0",
        kernel=Kernel("/vmlinuz", "/img", "panic=1 maxcpus=1"), memory=Memory("2048M"),
        acpi_virt=True,
    )


def test_run_build_kata_exact_output() -> None:
    out = run_build_kata(json.dumps(FULL))
    assert json.loads(out) == FULL_ARGV
    assert out == json.dumps(FULL_ARGV)
    assert not out.endswith("\n")


def test_list_input_gives_list_of_argvs() -> None:
    docs = [FULL, {}, {"Name": "vm2", "Kernel": {"Params": "x"}}]
    parsed = loads_kata_config(json.dumps(docs))
    assert isinstance(parsed, tuple) and len(parsed) == 3
    assert json.loads(run_build_kata(json.dumps(docs))) == [FULL_ARGV, [], ["vm2"]]
    assert json.loads(run_build_kata("[]")) == []


def test_missing_and_null_fields_take_go_zero_values() -> None:
    cfg = loads_kata_config(
        '{"Devices": null, "Kernel": null, "Memory": null, "Name": null, "ACPIVirt": null}')
    assert cfg == KataConfig()
    dev = loads_kata_config('{"Devices": [{"type": "ConsoleDevice"}]}')
    assert isinstance(dev, KataConfig)
    assert dev.devices == (ConsoleDevice("", "", "", 0),)


def test_ignored_fields_are_kept_but_do_not_change_argv() -> None:
    base = json.loads(run_build_kata('{"Kernel": {"Path": "/k"}, "Name": "n"}'))
    other = json.loads(run_build_kata(
        '{"Kernel": {"Path": "/k", "ImagePath": "/i"}, "Name": "n", "Path": "/p",'
        ' "CtlPath": "/c"}'))
    assert base == other == ["-k", "/k", "n"]


def test_invalid_devices_from_json_are_dropped() -> None:
    doc = {"Devices": [
        {"type": "ConsoleDevice", "Name": "c", "Path": "/p", "Backend": "stdio", "PortType": 1},
        {"type": "NetDevice", "Type": "tap", "IFName": "tap0"},
        {"type": "BridgeDevice", "Emul": "hostbridge", "Function": 1},
        {"type": "BlockDevice", "FilePath": "/a", "Index": 2},
    ]}
    assert json.loads(run_build_kata(json.dumps(doc))) == ["-s", "0,virtio-blk,/a"]


def test_console_backend_quirk_from_json() -> None:
    doc = {"Devices": [
        {"type": "BridgeDevice", "Emul": "hostbridge"},
        {"type": "LPCDevice", "Emul": "lpc"},
        {"type": "ConsoleDevice", "Name": "c", "Path": "/p", "Backend": "console", "PortType": 1},
        {"type": "ConsoleDevice", "Name": "c", "Path": "/p", "Backend": "console", "PortType": 0},
    ]}
    assert json.loads(run_build_kata(json.dumps(doc))) == [
        "-s", "0:0,hostbridge", "-s", "1:0,lpc", "-lcom1,stdio",
        "-s", "3,virtio-console,@", "-s", "4,virtio-console,",
    ]


def test_mac_from_json_is_printed_as_given() -> None:
    doc = {"Devices": [{"type": "NetDevice", "Type": "tap", "IFName": "t",
                        "MACAddress": "02:42:AC:11:0:2"}]}
    assert json.loads(run_build_kata(json.dumps(doc))) == [
        "-s", "0,virtio-net,t,mac=02:42:AC:11:0:2"]


def test_large_values_in_range() -> None:
    cfg = loads_kata_config(json.dumps({"Devices": [
        {"type": "VSOCKDevice", "ContextID": (1 << 64) - 1},
        {"type": "BlockDevice", "FilePath": "/x", "Index": (1 << 63) - 1},
    ]}))
    assert isinstance(cfg, KataConfig)
    assert cfg.devices[0] == VSOCKDevice((1 << 64) - 1)


def test_unicode_survives() -> None:
    out = run_build_kata(json.dumps({"Name": "vm-é"}, ensure_ascii=True))
    assert json.loads(out) == ["vm-é"]


def test_kata_config_from_obj_path() -> None:
    with pytest.raises(ConfigError) as info:
        kata_config_from_obj({"Name": 1}, "cfg")
    assert info.value.field == "cfg.Name"


def test_load_file(tmp_path: Path) -> None:
    f = tmp_path / "c.json"
    f.write_text(json.dumps(FULL))
    assert load_kata_config_file(str(f)) == loads_kata_config(json.dumps(FULL))
    with pytest.raises(ConfigError) as info:
        load_kata_config_file(str(tmp_path / "missing.json"))
    assert info.value.field == "file"


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "field", "value", "reason"), [
    ('{"Name": "x",}', "$", "}", "invalid JSON: Expecting property name enclosed in double quotes"),
    ("{", "$", "<end of input>", "invalid JSON"),
    ("", "$", "<end of input>", "invalid JSON: Expecting value"),
    ('{"ApicID": NaN}', "$", "NaN", "NaN and Infinity"),
    ("3", "$", 3, "expected a JSON object or array of objects, got number"),
    ('"x"', "$", "x", "got string"),
    ('{"Foo": 1}', "$.Foo", 1, "unknown field"),
    ('{"acpivirt": true}', "$.acpivirt", True, "did you mean 'ACPIVirt'?"),
    ('{"ACPIVirt": 1}', "$.ACPIVirt", 1, "expected true or false, got number"),
    ('{"ApicID": 0}', "$.ApicID", 0, "expected a JSON string, got number"),
    ('{"Name": ["a"]}', "$.Name", '["a"]', "expected a JSON string, got array"),
    ('{"Memory": "2048M"}', "$.Memory", "2048M", "expected a JSON object, got string"),
    ('{"Memory": {"size": "1G"}}', "$.Memory.size", "1G", "did you mean 'Size'?"),
    ('{"Kernel": {"Path": "/k", "Initrd": "/i"}}', "$.Kernel.Initrd", "/i", "unknown field"),
    ('{"Devices": {}}', "$.Devices", "{}", "expected a JSON array, got object"),
    ('{"Devices": [1]}', "$.Devices[0]", 1, "expected a JSON object, got number"),
    ('{"Devices": [{}]}', "$.Devices[0].type", None, "missing device type"),
    ('{"Devices": [{"type": "PCIDevice"}]}', "$.Devices[0].type", "PCIDevice",
     "unknown device type"),
    ('{"Devices": [{"type": 3}]}', "$.Devices[0].type", 3, "unknown device type"),
    ('{"Devices": [{"type": "BlockDevice", "File": "/x"}]}', "$.Devices[0].File", "/x",
     "unknown field; expected one of FilePath, Index"),
    ('{"Devices": [{"type": "BlockDevice", "Index": "1"}]}', "$.Devices[0].Index", "1",
     "expected a JSON integer (Go int), got string"),
    ('{"Devices": [{"type": "BlockDevice", "Index": 1.0}]}', "$.Devices[0].Index", 1.0,
     "expected a JSON integer"),
    ('{"Devices": [{"type": "BlockDevice", "Index": 1e3}]}', "$.Devices[0].Index", 1000.0,
     "expected a JSON integer"),
    ('{"Devices": [{"type": "BlockDevice", "Index": true}]}', "$.Devices[0].Index", True,
     "got boolean"),
    ('{"Devices": [{"type": "BridgeDevice", "Function": 9223372036854775808}]}',
     "$.Devices[0].Function", 9223372036854775808, "out of range for Go int"),
    ('{"Devices": [{"type": "VSOCKDevice", "ContextID": -1}]}', "$.Devices[0].ContextID", -1,
     "out of range for Go uint64"),
    ('{"Devices": [{"type": "VSOCKDevice", "ContextID": 18446744073709551616}]}',
     "$.Devices[0].ContextID", 18446744073709551616, "out of range for Go uint64"),
    ('{"Devices": [{"type": "ConsoleDevice", "PortType": "ConsoleBE"}]}',
     "$.Devices[0].PortType", "ConsoleBE", "expected a JSON integer"),
    ('[{}, {"Devices": [{"type": "NetDevice", "Mac": "x"}]}]', "$[1].Devices[0].Mac", "x",
     "unknown field"),
    ("[{}, 2]", "$[1]", 2, "expected a JSON object, got number"),
])
def test_json_errors(text: str, field: str, value: object, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        loads_kata_config(text)
    err = info.value
    assert err.field == field
    assert err.value == value
    assert reason in err.reason
    assert "\n" not in str(err)
    assert str(err).startswith(f"{field}=")


def test_long_values_are_shortened() -> None:
    with pytest.raises(ConfigError) as info:
        loads_kata_config(json.dumps({"Name": {"k": "v" * 200}}))
    assert len(str(info.value)) < 200


def test_negative_index_error_from_cli_names_the_path() -> None:
    doc = {"Devices": [{"type": "BlockDevice", "FilePath": "/x", "Index": -2}]}
    with pytest.raises(ConfigError) as info:
        run_build_kata(json.dumps(doc))
    assert info.value.field == "$.Devices[0].Index"
    with pytest.raises(ConfigError) as info:
        run_build_kata(json.dumps([{}, doc]))
    assert info.value.field == "$[1].Devices[0].Index"
