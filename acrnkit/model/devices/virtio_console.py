"""virtio-console: a comma list of ports ``[@]<backend>:<portname>[=<portpath>][:server|client]``.

Source: ``devicemodel/hw/pci/virtio/virtio_console.c`` (``virtio_console_add_backend``,
``virtio_console_config_backend``) at v1.6 .. v3.3.

* backend is one of stdio, tty, pty, file, socket (``strcasecmp``); ``@`` marks the console port.
* tty and file need a portpath (``vtcon: portpath missing for <name>``); socket needs one at
  open time (``vtcon: portpath is NULL``); a socket's third field is ``server`` (default) or
  ``client``, anything else is ``Socket type not exist``.
* ``vtcon: invalid opts`` (no config), ``vtcon: invalid backend <be>!``,
  ``vtcon: please at least config portname`` (no ``:``), ``vtcon: stdio is used by other device``.
* Max 16 ports (``VIRTIO_CONSOLE_MAXPORTS``).
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import DeviceInitError, FileRef, ParseContext, register
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from typing import ClassVar

BACKENDS = ("stdio", "tty", "pty", "file", "socket")
MAX_PORTS = 16


@dataclass(frozen=True)
class ConsolePort:
    backend: str
    name: str
    path: str | None = None
    console: bool = False
    socket_type: str | None = None  # "server" | "client" | None (= server)

    def __post_init__(self) -> None:
        if self.backend.lower() not in BACKENDS:
            raise ConfigError("virtio-console.backend", self.backend,
                              f"must be one of {', '.join(BACKENDS)}")
        for field_name, value in (("name", self.name), ("path", self.path)):
            if value is not None and ("," in value or (":" in value and field_name == "name")):
                raise ConfigError(f"virtio-console.{field_name}", value,
                                  "',' (and ':' in a name) cannot be represented")
        if self.name == "":
            raise ConfigError("virtio-console.name", self.name, "a port needs a name")
        if "=" in self.name:
            raise ConfigError("virtio-console.name", self.name, "'=' separates name and path")
        be = self.backend.lower()
        if be in ("tty", "file") and self.path is None:
            raise ConfigError("virtio-console.path", None, f"a {be} port needs a path")
        if be == "socket":
            if self.path is None:
                raise ConfigError("virtio-console.path", None, "a socket port needs a path")
            if ":" in self.path:
                raise ConfigError("virtio-console.path", self.path,
                                  "':' in a socket path is read as the socket type")
        if self.socket_type is not None:
            if be != "socket":
                raise ConfigError("virtio-console.socket_type", self.socket_type,
                                  "only socket ports have a type")
            if self.socket_type not in ("server", "client"):
                raise ConfigError("virtio-console.socket_type", self.socket_type,
                                  "must be 'server' or 'client'")

    @property
    def kind(self) -> str:
        return self.backend.lower()

    @property
    def is_client(self) -> bool:
        return self.socket_type == "client"

    def render(self) -> str:
        text = ("@" if self.console else "") + f"{self.backend}:{self.name}"
        if self.path is not None:
            text += f"={self.path}"
        if self.socket_type is not None:
            text += f":{self.socket_type}"
        return text


@register("virtio-console")
@dataclass(frozen=True)
class VirtioConsole:
    EMULS: ClassVar[tuple[str, ...]] = ("virtio-console",)

    ports: tuple[ConsolePort, ...]

    emul: ClassVar[str] = "virtio-console"

    def __post_init__(self) -> None:
        if not self.ports:
            raise ConfigError("virtio-console.ports", (), "needs at least one port")
        if len(self.ports) > MAX_PORTS:
            raise ConfigError("virtio-console.ports", len(self.ports),
                              f"at most {MAX_PORTS} ports")
        if sum(1 for p in self.ports if p.kind == "stdio") > 1:
            raise ConfigError("virtio-console.ports", "stdio", "stdio can back only one port")

    def render_config(self) -> str:
        return ",".join(p.render() for p in self.ports)

    @classmethod
    def parse_config(cls, emul: str, config: str | None, ctx: ParseContext) -> VirtioConsole:
        if config is None:
            raise DeviceInitError("virtio-console", None, "vtcon: invalid opts")
        ports: list[ConsolePort] = []
        for opt in config.split(","):
            backend, sep, rest = opt.partition(":")
            console = backend.startswith("@")
            if console:
                backend = backend[1:]
            if backend.lower() not in BACKENDS:
                raise DeviceInitError("virtio-console.backend", backend,
                                      f"vtcon: invalid backend {backend}!")
            if not sep:
                raise DeviceInitError("virtio-console.name", opt,
                                      "vtcon: please at least config portname")
            socket_type: str | None = None
            if backend.lower() == "socket":
                name, eq, tail = rest.partition("=")
                path: str | None
                if eq:
                    path, colon, stype = tail.partition(":")
                    socket_type = stype if colon else None
                else:
                    path = None
            else:
                name, eq, tail = rest.partition("=")
                path = tail if eq else None
            if path is None and backend.lower() in ("tty", "file"):
                raise DeviceInitError("virtio-console.path", name,
                                      f"vtcon: portpath missing for {name}")
            if backend.lower() == "socket":
                if path is None:
                    raise DeviceInitError("virtio-console.path", name, "vtcon: portpath is NULL")
                if socket_type not in (None, "server", "client"):
                    raise DeviceInitError("virtio-console.socket_type", socket_type,
                                          "Socket type not exist")
            if backend.lower() == "stdio" and any(p.kind == "stdio" for p in ports):
                raise DeviceInitError("virtio-console.backend", "stdio",
                                      "vtcon: stdio is used by other device")
            try:
                ports.append(ConsolePort(backend, name, path, console, socket_type))
            except ConfigError as err:
                raise DeviceInitError(err.field, err.value) from err
        try:
            return cls(tuple(ports))
        except ConfigError as err:
            raise DeviceInitError(err.field, err.value) from err

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        return []

    def files(self) -> list[FileRef]:
        refs: list[FileRef] = []
        for port in self.ports:
            if port.kind == "tty" and port.path is not None:
                refs.append(FileRef("virtio-console.path", port.path, "tty"))
            elif port.kind == "socket" and port.is_client and port.path is not None:
                refs.append(FileRef("virtio-console.path", port.path, "socket-client"))
        return refs
