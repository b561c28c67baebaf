"""uart: the model against v1.6..v3.3 devicemodel/hw/pci/uart.c and hw/uart_core.c."""

from __future__ import annotations

import pytest

from acrnkit.argv.check import check
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import DeviceInitError, FileRef, Line, ParseContext
from acrnkit.model.devices.uart import Uart
from acrnkit.releases.profile import get_release
from acrnkit.releases.versions import VERSIONS

VUART = [v for v in VERSIONS if get_release(v).has("uart.vuart_idx")]
NO_VUART = [v for v in VERSIONS if not get_release(v).has("uart.vuart_idx")]


def parse(config: str | None, version: str, slot: int = 5,
          func: int = 0) -> tuple[Uart, ParseContext]:
    ctx = ParseContext(get_release(version), slot, func)
    return Uart.parse_config("uart", config, ctx), ctx


def reject(config: str | None, version: str, slot: int = 5) -> DeviceInitError:
    with pytest.raises(DeviceInitError) as info:
        parse(config, version, slot)
    return info.value


def argv(version: str, *slots: str) -> list[str]:
    out = ["-s", "0:0,hostbridge", "-k", "/k"]
    for slot in slots:
        out += ["-s", slot]
    if get_release(version).long_for("cpu_affinity"):
        out += ["--cpu_affinity", "1"]
    return [*out, "vm1"]


def roundtrip(model: Uart, version: str) -> None:
    again, _ = parse(model.render_config(), version)
    assert again == model


@pytest.mark.parametrize("version", VERSIONS)
def test_no_config_is_a_uart_without_backend(version: str) -> None:
    model, ctx = parse(None, version)
    assert model == Uart() and model.kind == "none"
    assert model.render_config() is None
    assert ctx.warnings == []
    roundtrip(model, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_stdio(version: str) -> None:
    model, _ = parse("stdio", version)
    assert model == Uart.stdio() and model.backend == "stdio" and model.kind == "stdio"
    roundtrip(model, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_stdio_shared_with_virtio_console_fails(version: str) -> None:
    result = check(argv(version, "3,virtio-console,@stdio:port0", "5,uart,stdio"), version)
    assert result.exit_status == 1
    assert "stdio is used by other device" in (result.message or "")


@pytest.mark.parametrize("version", VERSIONS)
def test_tcp(version: str) -> None:
    model, ctx = parse("tcp:4444", version)
    assert model == Uart.tcp(4444) and (model.backend, model.tcp_port) == ("tcp", 4444)
    assert ctx.warnings == []
    roundtrip(model, version)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("config", "port"), [
    ("tcpx:4444", 4444),  # strncmp(opts, "tcp", 3)
    ("tcp:4444junk", 4444),  # dm_strtol ignores what follows the digits
    ("tcp:70000", 70000 & 0xFFFF),  # htons((uint16_t)port)
    ("tcp:-1", 0xFFFF),
])
def test_tcp_is_read_like_c(version: str, config: str, port: int) -> None:
    model, ctx = parse(config, version)
    assert model == Uart.tcp(port)
    assert ctx.warnings  # acrnkit says how the text was read
    roundtrip(model, version)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("config", ["tcp", "tcp:", "tcp:abc", "tcpserver"])
def test_tcp_without_port_fails(version: str, config: str) -> None:
    err = reject(config, version, slot=7)
    assert err.lines == (Line(f"Unable to initialize backend '{config}' for pci uart at 7:0"),)
    result = check(argv(version, f"7,uart,{config}"), version)
    assert result.exit_status == 1
    assert result.message == f"Unable to initialize backend '{config}' for pci uart at 7:0"
    assert result.stream == "stdout"


@pytest.mark.parametrize("version", VERSIONS)
def test_tty_path(version: str) -> None:
    model, _ = parse("/dev/ttyS1", version)
    assert model == Uart.tty("/dev/ttyS1") and model.kind == "tty"
    assert model.files() == [FileRef("uart.backend", "/dev/ttyS1", "tty")]
    roundtrip(model, version)
    lines = model.backend_failure_lines("not a tty", 5, 0)
    assert [line.text for line in lines] == [
        "uart: not a tty: /dev/ttyS1", "uart: open_backend failed",
        "Unable to initialize backend '/dev/ttyS1' for pci uart at 5:0"]


@pytest.mark.parametrize("version", VERSIONS)
def test_stdio_is_exact(version: str) -> None:
    model, _ = parse("stdio0", version)
    assert model.kind == "tty" and model.backend == "stdio0"


@pytest.mark.parametrize("version", VERSIONS)
def test_empty_backend_fails_to_open(version: str) -> None:
    err = reject("", version)
    assert err.lines == (Line("uart: open failed: "), Line("uart: open_backend failed"),
                         Line("Unable to initialize backend '' for pci uart at 5:0"))


@pytest.mark.parametrize("version", VUART)
def test_vuart_idx(version: str) -> None:
    model, ctx = parse("vuart_idx:1", version)
    assert model == Uart.hv(1) and model.kind == "vuart"
    assert ctx.warnings == []
    roundtrip(model, version)
    result = check(argv(version, "5,uart,vuart_idx:1"), version)
    assert result.exit_status is None, result.diagnostics


@pytest.mark.parametrize("version", VUART)
def test_vuart_idx_without_value_falls_back_to_a_tty(version: str) -> None:
    model, ctx = parse("vuart_idx", version)
    assert ctx.warnings[0] == ("uart.vuart_idx", Line("pci vuart miss vuart_idx value!!!!"))
    assert model == Uart.tty("vuart_idx")  # opened as a tty path: usually fails


@pytest.mark.parametrize("version", VUART)
def test_vuart_idx_with_bad_value_falls_back_to_a_tty(version: str) -> None:
    model, ctx = parse("vuart_idx:x", version)
    assert ctx.warnings[0] == ("uart.vuart_idx", Line("wrong vuart_idx value!!!!"))
    assert model == Uart.tty("vuart_idx:x")
    assert model.problems(get_release(version))


@pytest.mark.parametrize("version", NO_VUART)
def test_vuart_idx_is_a_tty_path_before_2_5(version: str) -> None:
    model, ctx = parse("vuart_idx:1", version)
    assert model == Uart.tty("vuart_idx:1")
    assert ctx.warnings == []
    assert Uart.hv(1).problems(get_release(version))[0][0] == "uart.vuart_idx"


@pytest.mark.parametrize("version", VUART)
def test_vuart_idx_prefix_and_junk(version: str) -> None:
    model, ctx = parse("vuart_idx_x:2junk", version)
    assert model == Uart.hv(2)
    assert ctx.warnings


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"backend": "tcp"}, "uart.tcp_port"),
    ({"backend": "tcp", "tcp_port": 65536}, "uart.tcp_port"),
    ({"backend": "/dev/ttyS0", "tcp_port": 1}, "uart.tcp_port"),
    ({"backend": "/dev/a,b"}, "uart.backend"),
    ({"backend": "tcpdev"}, "uart.backend"),
    ({"backend": ""}, "uart.backend"),
    ({"vuart_idx": -1}, "uart.vuart_idx"),
    ({"vuart_idx": 1 << 32}, "uart.vuart_idx"),
    ({"backend": "stdio", "vuart_idx": 1}, "uart.vuart_idx"),
])
def test_unrepresentable_values(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        Uart(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


@pytest.mark.parametrize("version", VERSIONS)
def test_tcp_port_zero_is_flagged(version: str) -> None:
    assert Uart.tcp(0).problems(get_release(version))[0][0] == "uart.tcp_port"
    assert Uart.tcp(4444).problems(get_release(version)) == []
