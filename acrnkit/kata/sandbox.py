"""The whole Kata sandbox on ACRN: CreateVM, cold-plugged devices, StartVM's argv, blkrescan.

Sources: kata-containers ``src/runtime/virtcontainers/acrn.go`` and ``acrn_arch_base.go``
@cdaaf708, plus ``hypervisor.go`` (``SerializeParams``) and ``utils/utils.go``
(``BuildSocketPath``). Re-implemented from their behaviour:

* ``CreateVM``: memory ``"%dM"``; kernel ``Kernel{KernelPath, ImagePath, <params>}``; devices
  hostbridge, LPC, console socket ``<VMStorePath>/<id>/console.sock`` (ConsoleBE), the image
  (drive index 0), eight ``nodisk`` placeholders (indices 1..8); acrn-dm path
  (HypervisorPath or ``/usr/bin/acrn-dm``), acrnctl path (HypervisorCtlPath or
  ``/usr/bin/acrnctl``); name ``sbx-<id>`` of at most 15 bytes; ``ApicID`` (Kata reads it
  round-robin from /proc/cpuinfo; here it is an input); ``ACPIVirt`` is always true.
* then the agent's vsock (``AddDevice(types.VSock)``) and one NetDevice per endpoint
  (``AddDevice(Endpoint)``), in that order;
* ``StartVM`` runs :func:`acrnkit.kata.launch.launch_argv` on the result;
* ``updateBlockDevice`` (block "hotplug"): ``acrnctl blkrescan <vmName> <slot>,<file>``.

Errors keep Go's text in :attr:`ConfigError.reason` and are raised in CreateVM's order: empty
image, console path too long, (``check_paths``: image missing, acrn-dm missing, acrnctl missing),
VM name too long. Nothing touches the filesystem unless ``check_paths=True``.

Sandbox JSON (:func:`loads_sandbox_spec`)::

    {"id": "abc",
     "hypervisor_config": {"KernelPath": "...", "ImagePath": "...", "HypervisorPath": "",
                           "HypervisorCtlPath": "", "VMStorePath": "", "MemorySize": 2048,
                           "DefaultMaxVCPUs": 1, "Debug": false,
                           "KernelParams": [["key", "value"], ...]},
     "ApicID": "0",
     "vsock": {"ContextID": 3} | null,
     "endpoints": [{"type": "VethEndpoint",
                    "NetPair": {"TAPIface": {"Name": "tap0_kata", "HardAddr": "02:..."},
                                "VirtIface": {"Name": "eth0", "HardAddr": "..."},
                                "NetInterworkingModel": "macvtap"}},
                   {"type": "MacvtapEndpoint",
                    "Iface": {"Name": "...", "HardwareAddr": "...", "Index": 7,
                              "Type": "macvtap"}}]}

``VMStorePath`` defaults to ``/run/vc/vm``. ``vsock.Port`` is accepted and ignored. The
MacvtapEndpoint's ``HardwareAddr`` is a Go ``net.HardwareAddr``: it must parse like Go's
``net.ParseMAC`` and is printed the way ``HardwareAddr.String()`` prints it (lower-case, colons);
the VethEndpoint's ``TAPIface.HardAddr`` is a Go string and is printed exactly as given.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from acrnkit.errors import ConfigError
from acrnkit.kata.config import (
    ACRN_HOST_BRIDGE,
    ACRN_LPC_DEV,
    CONSOLE_BE,
    MACVTAP,
    SERIAL_BE,
    SOCKET,
    TAP,
    BlockDevice,
    BridgeDevice,
    ConsoleDevice,
    Device,
    KataConfig,
    Kernel,
    LPCDevice,
    Memory,
    NetDevice,
    VSOCKDevice,
)
from acrnkit.kata.jsonio import (
    check_fields,
    fail,
    parse_json,
    read_bool,
    read_int,
    read_list,
    read_object,
    read_str,
    type_name,
)
from acrnkit.kata.launch import ACRN_BLK_DEV_POOL_SZ, KataLaunch, launch_argv

#: ``acrnPath`` / ``acrnctlPath`` in acrn_arch_base.go.
ACRN_PATH = "/usr/bin/acrn-dm"
ACRNCTL_PATH = "/usr/bin/acrnctl"
#: Kata's RunVMStoragePath, used here when VMStorePath is empty.
DEFAULT_VM_STORE_PATH = "/run/vc/vm"
#: ``acrnConsoleSocket``.
ACRN_CONSOLE_SOCKET = "console.sock"
#: ``utils.MaxSocketPathLen``.
MAX_SOCKET_PATH_LEN = 107
#: CreateVM's limit on ``len("sbx-" + id)`` (bytes), so the id has at most 11 bytes.
MAX_VM_NAME_LEN = 15
VM_NAME_PREFIX = "sbx-"
#: ``consoleProtoUnix``.
CONSOLE_PROTO_UNIX = "unix"
#: The placeholder file of the dummy virtio-blk devices (createDummyVirtioBlkDev).
NODISK = "nodisk"
#: NetInterworkingModel names (network.go); only "macvtap" maps to the macvtap NetDevice type.
NET_MODELS = ("default", "macvtap", "tcfilter", "none")


# --- kernel parameters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """Go's ``Param{Key, Value}``."""

    key: str
    value: str = ""


def _params(*pairs: tuple[str, str]) -> tuple[Param, ...]:
    return tuple(Param(k, v) for k, v in pairs)


# kata-containers acrn_arch_base.go @cdaaf708: the arch's kernel parameter lists.
ACRN_KERNEL_PARAMS = _params(
    ("tsc", "reliable"), ("no_timer_check", ""), ("nohpet", ""), ("console", "tty0"),
    ("console", "ttyS0"), ("console", "hvc0"), ("log_buf_len", "16M"), ("consoleblank", "0"),
)
#: One Param whose value has spaces: it serializes to one string "root=/dev/vda1 rw rootwait".
ACRN_KERNEL_ROOT_PARAMS = _params(("root", "/dev/vda1 rw rootwait"))
ACRN_KERNEL_PARAMS_NON_DEBUG = _params(("quiet", ""))
ACRN_KERNEL_PARAMS_SYSTEMD_NON_DEBUG = _params(("systemd.show_status", "false"))
ACRN_KERNEL_PARAMS_DEBUG = _params(("debug", ""))
ACRN_KERNEL_PARAMS_SYSTEMD_DEBUG = _params(
    ("systemd.show_status", "true"), ("systemd.log_level", "debug"),
    ("systemd.log_target", "kmsg"), ("printk.devkmsg", "on"),
)
#: acrn.go ``acrnDefaultKernelParameters``.
ACRN_DEFAULT_KERNEL_PARAMETERS = _params(("panic", "1"))


def serialize_params(params: Iterable[Param], delim: str = "=") -> list[str]:
    """Go's ``SerializeParams`` (hypervisor.go): empty key and value are skipped, an empty key
    gives the value alone, an empty value gives the key alone, otherwise ``key<delim>value``
    (or key and value as two items when ``delim`` is empty)."""
    out: list[str] = []
    for p in params:
        if p.key == "" and p.value == "":
            continue
        if p.key == "":
            out.append(p.value)
        elif p.value == "":
            out.append(p.key)
        elif delim == "":
            out += [p.key, p.value]
        else:
            out.append(f"{p.key}{delim}{p.value}")
    return out


@dataclass(frozen=True)
class AcrnArch:
    """Go's ``acrnArchBase``: default binaries and the three kernel parameter lists.

    Go's ``kernelParameters`` appends into the arch's own backing array (it aliases earlier
    results); this port returns a fresh tuple each time.
    """

    path: str = ""
    ctl_path: str = ""
    kernel_params: tuple[Param, ...] = ()
    kernel_params_debug: tuple[Param, ...] = ()
    kernel_params_non_debug: tuple[Param, ...] = ()

    def kernel_parameters(self, debug: bool) -> tuple[Param, ...]:
        extra = self.kernel_params_debug if debug else self.kernel_params_non_debug
        return self.kernel_params + extra


def new_acrn_arch(image_path: str) -> AcrnArch:
    """``newAcrnArch`` + ``handleImagePath``: with an image, add the root param and the systemd
    params to the lists."""
    arch = AcrnArch(ACRN_PATH, ACRNCTL_PATH, ACRN_KERNEL_PARAMS, ACRN_KERNEL_PARAMS_DEBUG,
                    ACRN_KERNEL_PARAMS_NON_DEBUG)
    if image_path != "":
        arch = AcrnArch(
            arch.path, arch.ctl_path,
            arch.kernel_params + ACRN_KERNEL_ROOT_PARAMS,
            arch.kernel_params_debug + ACRN_KERNEL_PARAMS_SYSTEMD_DEBUG,
            arch.kernel_params_non_debug + ACRN_KERNEL_PARAMS_SYSTEMD_NON_DEBUG,
        )
    return arch


def acrn_kernel_parameters(
    arch: AcrnArch, *, debug: bool, default_max_vcpus: int, user_params: Iterable[Param] = ()
) -> str:
    """``Acrn.kernelParameters``: arch params (debug or not), ``panic=1``,
    ``maxcpus=<DefaultMaxVCPUs>``, then the user's params (last, duplicates kept), serialized and
    joined by single spaces."""
    params = (
        list(arch.kernel_parameters(debug)) + list(ACRN_DEFAULT_KERNEL_PARAMETERS)
        + [Param("maxcpus", str(default_max_vcpus))] + list(user_params)
    )
    return " ".join(serialize_params(params, "="))


def memory_topology(memory_mb: int) -> Memory:
    """``memoryTopology``: ``"%dM"``."""
    return Memory(f"{memory_mb}M")


@dataclass(frozen=True)
class Capabilities:
    """What ``capabilities()`` claims (no effect on the argv)."""

    block_device: bool
    block_device_hotplug: bool
    fs_sharing: bool
    network_device_hotplug: bool


def capabilities() -> Capabilities:
    """Block and block hotplug; no FS sharing; network hotplug claimed since 32fd013716 (3.3.0)
    although HotplugAddDevice rejects every NetDev (a quirk)."""
    return Capabilities(True, True, False, True)


# --- Go inputs of the append helpers -------------------------------------------------------------


@dataclass(frozen=True)
class Socket:
    """``types.Socket`` (the fields appendSocket reads)."""

    host_path: str = ""
    name: str = ""


@dataclass(frozen=True)
class VSock:
    """``types.VSock`` (only ContextID reaches the argv)."""

    context_id: int = 0


@dataclass(frozen=True)
class BlockDrive:
    """``config.BlockDrive`` (the fields ACRN reads)."""

    file: str = ""
    index: int = 0
    id: str = ""
    swap: bool = False


@dataclass(frozen=True)
class NetworkInterface:
    """``NetworkInterface{Name, HardAddr}`` (HardAddr is a Go string)."""

    name: str = ""
    hard_addr: str = ""


@dataclass(frozen=True)
class VethEndpoint:
    """``*VethEndpoint``: only ``NetPair.TAPIface`` and the model reach the argv."""

    tap_iface: NetworkInterface = NetworkInterface()
    virt_iface: NetworkInterface = NetworkInterface()
    net_interworking_model: str = "default"


@dataclass(frozen=True)
class MacvtapEndpoint:
    """``*MacvtapEndpoint``: ``Iface.Name`` and ``Iface.HardwareAddr.String()``.

    ``hardware_addr`` holds the already-formatted ``String()`` value (see :func:`go_parse_mac`).
    """

    name: str = ""
    hardware_addr: str = ""
    index: int = 0
    type: str = ""


Endpoint = VethEndpoint | MacvtapEndpoint


# --- append helpers (acrnArchBase) ---------------------------------------------------------------


def _stat_missing(path: str) -> bool:
    """Go's ``os.IsNotExist(os.Stat(path))``: only ENOENT counts (symlinks are followed)."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return False


def _check_exists(field: str, path: str, message: str) -> None:
    if _stat_missing(path):
        raise ConfigError(field, path, message)


def append_bridges(devices: Sequence[Device]) -> tuple[Device, ...]:
    """``appendBridges``: exactly one hostbridge (DefaultBridges is ignored)."""
    return (*devices, BridgeDevice(emul=ACRN_HOST_BRIDGE, config="", function=0))


def append_lpc(devices: Sequence[Device]) -> tuple[Device, ...]:
    """``appendLPC``."""
    return (*devices, LPCDevice(emul=ACRN_LPC_DEV, function=0))


def append_console(devices: Sequence[Device], path: str) -> tuple[Device, ...]:
    """``appendConsole``: "console0", socket backend, ConsoleBE (so the text has ``@``)."""
    return (*devices, ConsoleDevice(name="console0", path=path, backend=SOCKET,
                                    port_type=CONSOLE_BE))


def append_image(devices: Sequence[Device], path: str) -> tuple[Device, ...]:
    """``appendImage``: fails like Go's ``os.Stat`` when the file does not exist."""
    if _stat_missing(path):
        raise ConfigError("hypervisor_config.ImagePath", path,
                          f"stat {path}: no such file or directory")
    return (*devices, BlockDevice(file_path=path, index=0))


def append_socket(devices: Sequence[Device], socket: Socket) -> tuple[Device, ...]:
    """``appendSocket``: a serial (SerialBE) socket console port."""
    return (*devices, ConsoleDevice(name=socket.name, path=socket.host_path, backend=SOCKET,
                                    port_type=SERIAL_BE))


def append_vsock(devices: Sequence[Device], vsock: VSock) -> tuple[Device, ...]:
    """``appendVSock``."""
    return (*devices, VSOCKDevice(context_id=vsock.context_id))


def network_model_to_acrn_type(model: str) -> str:
    """``networkModelToAcrnType``: macvtap for the macvtap model, tap for every other one."""
    return MACVTAP if model == "macvtap" else TAP


def append_network(devices: Sequence[Device], endpoint: Endpoint) -> tuple[Device, ...]:
    """``appendNetwork``. (Go panics on any other endpoint type: it logs through the nil
    package-global ``baselogger``; such endpoints cannot be expressed here.)"""
    if isinstance(endpoint, VethEndpoint):
        dev = NetDevice(type=network_model_to_acrn_type(endpoint.net_interworking_model),
                        ifname=endpoint.tap_iface.name, mac_address=endpoint.tap_iface.hard_addr)
    else:
        dev = NetDevice(type=MACVTAP, ifname=endpoint.name, mac_address=endpoint.hardware_addr)
    return (*devices, dev)


def append_block_device(devices: Sequence[Device], drive: BlockDrive) -> tuple[Device, ...]:
    """``appendBlockDevice``: a drive with an empty File is dropped."""
    if drive.file == "":
        return tuple(devices)
    return (*devices, BlockDevice(file_path=drive.file, index=drive.index))


# --- paths ---------------------------------------------------------------------------------------


def go_clean(path: str) -> str:
    """Go's ``path/filepath.Clean`` on Linux."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    out = "/".join(parts)
    if rooted:
        return "/" + out
    return out or "."


def go_join(*elements: str) -> str:
    """Go's ``path/filepath.Join``: skip leading empty elements, join with "/", clean."""
    for i, element in enumerate(elements):
        if element != "":
            return go_clean("/".join(elements[i:]))
    return ""


def _go_len(text: str) -> int:
    """Go's ``len(string)``: bytes of the UTF-8 encoding."""
    return len(text.encode("utf-8", "surrogatepass"))


def vm_console_path(vm_store_path: str, sandbox_id: str) -> str:
    """``GetVMConsole``'s path: ``BuildSocketPath(VMStorePath, id, "console.sock")``."""
    path = go_join(vm_store_path, sandbox_id, ACRN_CONSOLE_SOCKET)
    if path == "":  # unreachable: the last element is never empty
        raise ConfigError("console path", path, "empty path")
    if _go_len(path) > MAX_SOCKET_PATH_LEN:
        raise ConfigError(
            "console path", path,
            f"path too long (got {_go_len(path)}, max {MAX_SOCKET_PATH_LEN}): {path}",
        )
    return path


def go_parse_mac(text: str) -> str:
    """Go's ``net.ParseMAC`` then ``HardwareAddr.String()``; ``""`` stays ``""``.

    Accepts 6, 8 or 20 bytes written ``xx:xx:…``, ``xx-xx-…`` or ``xxxx.xxxx.…``; raises
    ``ValueError("address <text>: invalid MAC address")`` otherwise.
    """
    if text == "":
        return ""
    s = text.encode("utf-8", "surrogatepass")
    error = ValueError(f"address {text}: invalid MAC address")

    def xtoi2(chunk: bytes, sep: int | None) -> int:
        if len(chunk) > 2 and chunk[2] != sep:
            raise error
        pair = chunk[:2]
        if len(pair) != 2 or any(c not in b"0123456789abcdefABCDEF" for c in pair):
            raise error
        return int(pair, 16)

    out: list[int] = []
    if len(s) < 14:
        raise error
    if s[2] in b":-":
        if (len(s) + 1) % 3 != 0:
            raise error
        n = (len(s) + 1) // 3
        if n not in (6, 8, 20):
            raise error
        out = [xtoi2(s[3 * i:], s[2]) for i in range(n)]
    elif s[4] == ord("."):
        if (len(s) + 1) % 5 != 0:
            raise error
        n = 2 * (len(s) + 1) // 5
        if n not in (6, 8, 20):
            raise error
        for x in range(0, len(s), 5):
            out.append(xtoi2(s[x:x + 2], None))
            out.append(xtoi2(s[x + 2:], s[4]))
    else:
        raise error
    return ":".join(f"{b:02x}" for b in out)


# --- the sandbox ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HypervisorConfig:
    """The ``HypervisorConfig`` fields ACRN's CreateVM/StartVM/updateBlockDevice read."""

    kernel_path: str = ""
    image_path: str = ""
    hypervisor_path: str = ""
    hypervisor_ctl_path: str = ""
    vm_store_path: str = ""
    memory_size: int = 0
    default_max_vcpus: int = 0
    debug: bool = False
    kernel_params: tuple[Param, ...] = ()


@dataclass(frozen=True)
class SandboxSpec:
    """Everything that decides the sandbox's argv: CreateVM's inputs, the agent vsock, endpoints."""

    id: str = ""
    hypervisor_config: HypervisorConfig = HypervisorConfig()
    apic_id: str = ""
    vsock: VSock | None = None
    endpoints: tuple[Endpoint, ...] = ()


@dataclass(frozen=True)
class KataSandbox:
    """A created sandbox: the ``Config`` StartVM passes to LaunchAcrn, and its launch.

    ``console_path`` is where acrn-dm must listen (``GetVMConsole``).
    """

    spec: SandboxSpec
    config: KataConfig
    launch: KataLaunch
    console_path: str

    @property
    def argv(self) -> tuple[str, ...]:
        """acrn-dm's arguments without argv[0]."""
        return self.launch.argv

    @property
    def program(self) -> str:
        """The acrn-dm binary (``Config.Path``)."""
        return self.launch.program

    @property
    def vm_name(self) -> str:
        return self.config.name

    @property
    def acrnctl_path(self) -> str:
        """``updateBlockDevice`` runs the *configured* HypervisorCtlPath (not Config.CtlPath);
        acrnkit falls back to ``/usr/bin/acrnctl`` where Go would run "" and fail."""
        return self.spec.hypervisor_config.hypervisor_ctl_path or ACRNCTL_PATH

    def blkrescan_argv(
        self, hotplug_file: str, index: int, *, drive_id: str = "", swap: bool = False
    ) -> tuple[str, ...]:
        """``updateBlockDevice``: the acrnctl argv that swaps placeholder ``index`` for a file.

        Kata's block driver hands ACRN index = lowest free index + 1, so the first container
        gets 1 (slot 5 in the standard layout). Index 8 is refused by ``>=`` (its slot 12 is
        never usable). Go's errors are kept verbatim in :attr:`ConfigError.reason`.
        """
        if swap:
            raise ConfigError("drive.Swap", True, "Acrn doesn't support swap")
        if hotplug_file == "" or index >= ACRN_BLK_DEV_POOL_SZ:
            raise ConfigError(
                "drive.File" if hotplug_file == "" else "drive.Index",
                hotplug_file if hotplug_file == "" else index,
                "Empty filepath or invalid drive index, "
                f"Dive ID:{drive_id}, Drive Index:{index}",
            )
        if index < 0:
            raise ConfigError("drive.Index", index,
                              "negative drive index: Kata panics (index out of range)")
        slot = self.launch.block_slots[index]
        return (self.acrnctl_path, "blkrescan", self.config.name, f"{slot},{hotplug_file}")




def create_vm(spec: SandboxSpec, *, check_paths: bool = False) -> KataConfig:
    """``Acrn.CreateVM``: the ``Config`` before any AddDevice. See the module docstring."""
    return _create_vm(spec, check_paths)[0]


def _create_vm(spec: SandboxSpec, check_paths: bool) -> tuple[KataConfig, str]:
    hc = spec.hypervisor_config
    arch = new_acrn_arch(hc.image_path)
    memory = memory_topology(hc.memory_size)
    kernel = Kernel(
        path=hc.kernel_path,
        image_path=hc.image_path,
        params=acrn_kernel_parameters(arch, debug=hc.debug,
                                      default_max_vcpus=hc.default_max_vcpus,
                                      user_params=hc.kernel_params),
    )
    # buildDevices
    if hc.image_path == "":
        raise ConfigError("hypervisor_config.ImagePath", "", "Image Path should not be empty: ")
    console = vm_console_path(hc.vm_store_path or DEFAULT_VM_STORE_PATH, spec.id)
    devices = append_console(append_lpc(append_bridges(())), console)
    if check_paths:
        devices = append_image(devices, hc.image_path)
    else:
        devices = (*devices, BlockDevice(file_path=hc.image_path, index=0))
    for drive_index in range(1, ACRN_BLK_DEV_POOL_SZ + 1):  # createDummyVirtioBlkDev
        devices = append_block_device(devices, BlockDrive(file=NODISK, index=drive_index))
    # acrnPath / acrnctlPath
    acrn_path = hc.hypervisor_path or arch.path
    acrnctl_path = hc.hypervisor_ctl_path or arch.ctl_path
    if check_paths:
        _check_exists("hypervisor_config.HypervisorPath", acrn_path,
                      f"acrn path ({acrn_path}) does not exist")
        _check_exists("hypervisor_config.HypervisorCtlPath", acrnctl_path,
                      f"acrnctl path ({acrnctl_path}) does not exist")
    vm_name = VM_NAME_PREFIX + spec.id
    if _go_len(vm_name) > MAX_VM_NAME_LEN:
        raise ConfigError(
            "id", spec.id,
            f"VM Name len is {_go_len(vm_name)} but ACRN supports max VM name len of 15.",
        )
    config = KataConfig(
        devices=devices, path=acrn_path, ctl_path=acrnctl_path, name=vm_name,
        apic_id=spec.apic_id, kernel=kernel, memory=memory, acpi_virt=True,
    )
    return config, console


def build_sandbox(spec: SandboxSpec, *, check_paths: bool = False) -> KataSandbox:
    """CreateVM, AddDevice(vsock), AddDevice(each endpoint), then StartVM's argv.

    ``check_paths=True`` adds Go's ``os.Stat`` checks of the image, acrn-dm and acrnctl.
    """
    config, console = _create_vm(spec, check_paths)
    devices: tuple[Device, ...] = config.devices
    if spec.vsock is not None:
        devices = append_vsock(devices, spec.vsock)
    for endpoint in spec.endpoints:
        devices = append_network(devices, endpoint)
    config = dataclasses.replace(config, devices=devices)
    return KataSandbox(spec=spec, config=config, launch=launch_argv(config),
                       console_path=console)


# --- JSON ----------------------------------------------------------------------------------------

_SPEC_FIELDS = ("id", "hypervisor_config", "ApicID", "vsock", "endpoints")
_HC_FIELDS = ("KernelPath", "ImagePath", "HypervisorPath", "HypervisorCtlPath", "VMStorePath",
              "MemorySize", "DefaultMaxVCPUs", "Debug", "KernelParams")
_ENDPOINT_TYPES = ("VethEndpoint", "MacvtapEndpoint")


def _kernel_params_from_obj(obj: dict[str, object], path: str) -> tuple[Param, ...]:
    out: list[Param] = []
    for i, item in enumerate(read_list(obj, "KernelParams", path)):
        where = f"{path}.KernelParams[{i}]"
        if (not isinstance(item, list) or len(item) != 2
                or not all(isinstance(x, str) for x in item)):
            fail(where, item, "expected a [key, value] pair of strings")
        out.append(Param(item[0], item[1]))
    return tuple(out)


def _hypervisor_config_from_obj(value: object, path: str) -> HypervisorConfig:
    if value is None:
        return HypervisorConfig()
    obj = read_object(value, path)
    check_fields(obj, path, _HC_FIELDS)
    return HypervisorConfig(
        kernel_path=read_str(obj, "KernelPath", path),
        image_path=read_str(obj, "ImagePath", path),
        hypervisor_path=read_str(obj, "HypervisorPath", path),
        hypervisor_ctl_path=read_str(obj, "HypervisorCtlPath", path),
        vm_store_path=read_str(obj, "VMStorePath", path),
        memory_size=read_int(obj, "MemorySize", path, "uint32"),
        default_max_vcpus=read_int(obj, "DefaultMaxVCPUs", path, "uint32"),
        debug=read_bool(obj, "Debug", path),
        kernel_params=_kernel_params_from_obj(obj, path),
    )


def _iface_from_obj(value: object, path: str) -> NetworkInterface:
    if value is None:
        return NetworkInterface()
    obj = read_object(value, path)
    check_fields(obj, path, ("Name", "HardAddr"))
    return NetworkInterface(read_str(obj, "Name", path), read_str(obj, "HardAddr", path))


def _endpoint_from_obj(value: object, path: str) -> Endpoint:
    obj = read_object(value, path)
    kind = obj.get("type")
    if kind not in _ENDPOINT_TYPES:
        fail(f"{path}.type", kind,
             "unsupported endpoint type; expected VethEndpoint or MacvtapEndpoint "
             "(Kata's appendNetwork panics on any other endpoint: nil baselogger)")
    if kind == "VethEndpoint":
        check_fields(obj, path, ("type", "NetPair"))
        pair_path = f"{path}.NetPair"
        pair_obj = obj.get("NetPair")
        pair = {} if pair_obj is None else read_object(pair_obj, pair_path)
        check_fields(pair, pair_path, ("TAPIface", "VirtIface", "NetInterworkingModel"))
        model = read_str(pair, "NetInterworkingModel", pair_path) or "default"
        if model not in NET_MODELS:
            fail(f"{pair_path}.NetInterworkingModel", model,
                 f"unknown network model; expected one of {', '.join(NET_MODELS)}")
        return VethEndpoint(
            tap_iface=_iface_from_obj(pair.get("TAPIface"), f"{pair_path}.TAPIface"),
            virt_iface=_iface_from_obj(pair.get("VirtIface"), f"{pair_path}.VirtIface"),
            net_interworking_model=model,
        )
    check_fields(obj, path, ("type", "Iface"))
    iface_path = f"{path}.Iface"
    iface_obj = obj.get("Iface")
    iface = {} if iface_obj is None else read_object(iface_obj, iface_path)
    check_fields(iface, iface_path, ("Name", "HardwareAddr", "Index", "Type"))
    raw_mac = read_str(iface, "HardwareAddr", iface_path)
    try:
        mac = go_parse_mac(raw_mac)
    except ValueError as err:
        fail(f"{iface_path}.HardwareAddr", raw_mac, f"{err} (a Go net.HardwareAddr)")
    return MacvtapEndpoint(
        name=read_str(iface, "Name", iface_path),
        hardware_addr=mac,
        index=read_int(iface, "Index", iface_path),
        type=read_str(iface, "Type", iface_path),
    )


def sandbox_spec_from_obj(value: object, path: str = "$") -> SandboxSpec:
    """A decoded sandbox JSON object (see the module docstring)."""
    obj = read_object(value, path)
    check_fields(obj, path, _SPEC_FIELDS)
    vsock: VSock | None = None
    vsock_obj = obj.get("vsock")
    if vsock_obj is not None:
        vpath = f"{path}.vsock"
        vobj = read_object(vsock_obj, vpath)
        check_fields(vobj, vpath, ("ContextID", "Port"))
        read_int(vobj, "Port", vpath, "uint32")
        vsock = VSock(read_int(vobj, "ContextID", vpath, "uint64"))
    endpoints = read_list(obj, "endpoints", path)
    return SandboxSpec(
        id=read_str(obj, "id", path),
        hypervisor_config=_hypervisor_config_from_obj(
            obj.get("hypervisor_config"), f"{path}.hypervisor_config"),
        apic_id=read_str(obj, "ApicID", path),
        vsock=vsock,
        endpoints=tuple(_endpoint_from_obj(e, f"{path}.endpoints[{i}]")
                        for i, e in enumerate(endpoints)),
    )


def loads_sandbox_spec(text: str) -> SandboxSpec:
    """Parse the sandbox JSON text."""
    doc = parse_json(text)
    if not isinstance(doc, dict):
        fail("$", doc, f"expected a JSON object, got {type_name(doc)}")
    return sandbox_spec_from_obj(doc)
