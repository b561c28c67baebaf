"""acrn-dm argv -> qemu-system-x86_64 argv: exact lists, refusals and the skip policy.

These tests never start QEMU; they always run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest
from acrnkit.fakes.acrn_dm.qemu.settings import QemuSettings, backend_from_env
from acrnkit.fakes.acrn_dm.qemu.translate import (
    QemuCommand,
    TranslateOptions,
    TranslationError,
    esc,
    translate,
)

from acrnkit.argv.parse import parse
from acrnkit.model.devices.base import FileRef
from acrnkit.model.slots import Bdf
from acrnkit.model.values import MemSize
from acrnkit.model.vm import VM, PciDevice
from acrnkit.releases.profile import Release

KERNEL = "/img/vmlinux"
OPTS = TranslateOptions(qemu="qemu-system-x86_64", accel="tcg", initrd="/img/initrd.cpio")

HEAD = ["qemu-system-x86_64", "-name", "guest=vm1", "-machine", "q35", "-accel", "tcg",
        "-nodefaults", "-no-user-config", "-display", "none"]


def base(*extra: str, version: str = "3.3", mem: str = "512M", cpus: str = "1") -> VM:
    argv = ["-m", mem, "--cpu_affinity", cpus, "-s", "0:0,hostbridge", *extra, "-k", KERNEL,
            "-B", "console=ttyS0 quiet", "vm1"]
    return parse(argv, version)


def run(vm: VM, options: TranslateOptions = OPTS, version: str = "3.3") -> QemuCommand:
    return translate(vm, version, options)


def boot(mem: str = "512M", smp: str = "1", initrd: str = "/img/initrd.cpio") -> list[str]:
    return [*HEAD, "-m", mem, "-smp", smp, "-smbios",
            "type=1,manufacturer=acrnkit,product=vm1", "-kernel", KERNEL, "-initrd", initrd,
            "-append", "console=ttyS0 quiet"]


def test_minimal_vm() -> None:
    cmd = run(base())
    assert list(cmd.argv) == boot()
    assert cmd.skipped == () and cmd.notes == () and cmd.chardevs == ()


def test_memory_units_become_mib() -> None:
    assert run(base(mem="2G")).argv[HEAD.__len__() + 1] == "2048M"
    assert run(base(mem="262144K")).argv[len(HEAD) + 1] == "256M"


def test_cpu_affinity_count_is_smp() -> None:
    cmd = run(base(cpus="1,2,3"))
    assert cmd.argv[len(HEAD) + 2:len(HEAD) + 4] == ("-smp", "3")


def test_cpu_affinity_ranges_on_27() -> None:
    vm = parse(["-m", "512M", "--cpu_affinity", "0-3", "-s", "0:0,hostbridge", "-k", KERNEL,
                "vm1"], "2.7")
    cmd = translate(vm, "2.7", OPTS)
    assert "-smp" in cmd.argv and cmd.argv[cmd.argv.index("-smp") + 1] == "4"


def test_ramdisk_from_argv_wins_over_guest_image() -> None:
    vm = base("-r", "/my/initrd")
    assert list(run(vm).argv) == boot(initrd="/my/initrd")


def test_no_ramdisk_and_no_image_boots_without_initramfs() -> None:
    cmd = run(base(), TranslateOptions())
    assert "-initrd" not in cmd.argv
    assert any("without an initramfs" in note for note in cmd.notes)


def test_no_bootargs_no_append() -> None:
    vm = parse(["-m", "512M", "--cpu_affinity", "1", "-s", "0:0,hostbridge", "-k", KERNEL,
                "vm1"], "3.3")
    assert "-append" not in run(vm).argv


def test_uuid_on_16() -> None:
    vm = parse(["-m", "512M", "-U", "d2795438-25d6-11e8-864e-cb7a18b34643", "-s",
                "0:0,hostbridge", "-k", KERNEL, "vm1"], "1.6")
    argv = translate(vm, "1.6", OPTS).argv
    assert argv[argv.index("-uuid") + 1] == "d2795438-25d6-11e8-864e-cb7a18b34643"


def test_virtio_blk_rw_and_ro() -> None:
    vm = base("-s", "3,virtio-blk,/d/rw.img", "-s", "4,virtio-blk,/d/ro.img,ro")
    assert list(run(vm).argv) == [*boot(),
        "-drive", "if=none,id=disk3_0,file=/d/rw.img,format=raw,cache=writethrough",
        "-device", "virtio-blk-pci,drive=disk3_0,addr=0x3",
        "-drive", "if=none,id=disk4_0,file=/d/ro.img,format=raw,cache=writethrough,readonly=on",
        "-device", "virtio-blk-pci,drive=disk4_0,addr=0x4"]


def test_virtio_blk_options() -> None:
    vm = base("-s", "5:2,virtio-blk,mq=2,/d/x.img,writeback,discard,sectorsize=4096,"
                    "range=8/16,nocache", "-s", "5:0,virtio-blk,/d/y.img")
    argv = list(run(vm).argv)
    tail = argv[len(boot()):]
    assert tail == [
        "-drive", "if=none,id=disk5_0,file=/d/y.img,format=raw,cache=writethrough",
        "-device", "virtio-blk-pci,drive=disk5_0,addr=0x5,multifunction=on",
        "-drive", "if=none,id=disk5_2,file=/d/x.img,format=raw,cache=writeback,"
                  "cache.direct=on,discard=unmap,offset=4096,size=8192",
        "-device", "virtio-blk-pci,drive=disk5_2,logical_block_size=4096,"
                   "physical_block_size=4096,num-queues=2,addr=0x5.2",
    ]


def test_virtio_blk_iothread_is_a_note() -> None:
    cmd = run(base("-s", "3,virtio-blk,iothread,/d/x.img"))
    assert any("iothread" in n for n in cmd.notes)


def test_virtio_blk_nodisk_is_an_empty_disk() -> None:
    cmd = run(base("-s", "3,virtio-blk,nodisk"))
    assert list(cmd.argv)[len(boot()):] == [
        "-drive", "if=none,id=disk3_0,driver=null-co,size=0,read-zeroes=on",
        "-device", "virtio-blk-pci,drive=disk3_0,addr=0x3"]
    assert any("BLKRESCAN" in n for n in cmd.notes)


def test_virtio_net_tap_and_mac() -> None:
    vm = base("-s", "4,virtio-net,tap=tap_vm1,mac=00:16:3E:00:00:0a")
    assert list(run(vm).argv)[len(boot()):] == [
        "-netdev", "tap,id=net4_0,ifname=tap_vm1,script=no,downscript=no",
        "-device", "virtio-net-pci,mac=00:16:3e:00:00:0a,netdev=net4_0,addr=0x4"]


def test_virtio_net_default_mac_is_acrn_dms() -> None:
    vm = base("-s", "6,virtio-net,tap=tap0")
    net = vm.devices_of("virtio-net")[0].device
    from acrnkit.releases.profile import get_release

    mac = net.effective_mac(6, 0, get_release("3.3"))  # type: ignore[attr-defined]
    argv = run(vm).argv
    assert f"virtio-net-pci,mac={mac},netdev=net6_0,addr=0x6" in argv
    assert mac.startswith("00:16:3e:")


def test_virtio_net_legacy_ifname_on_16() -> None:
    vm = parse(["-m", "512M", "-s", "0:0,hostbridge", "-s", "3,virtio-net,tap0", "-k", KERNEL,
                "vm1"], "1.6")
    argv = translate(vm, "1.6", OPTS).argv
    assert "tap,id=net3_0,ifname=tap0,script=no,downscript=no" in argv


def test_virtio_net_without_tap_on_16_has_no_backend() -> None:
    vm = parse(["-m", "512M", "-s", "0:0,hostbridge", "-s", "3,virtio-net,eth7", "-k", KERNEL,
                "vm1"], "1.6")
    cmd = translate(vm, "1.6", OPTS)
    assert "-netdev" not in cmd.argv
    assert any("no backend" in n for n in cmd.notes)


def test_virtio_net_vhost() -> None:
    vm = base("-s", "4,virtio-net,tap=tap0,vhost,mac=00:16:3e:00:00:01")
    with_vhost = run(vm, TranslateOptions(initrd="/i", vhost_net=True)).argv
    assert "tap,id=net4_0,ifname=tap0,script=no,downscript=no,vhost=on" in with_vhost
    without = run(vm, TranslateOptions(initrd="/i"))
    assert "tap,id=net4_0,ifname=tap0,script=no,downscript=no" in without.argv
    assert any("vhost" in n for n in without.notes)


def test_com1_stdio_needs_lpc() -> None:
    vm = base("-s", "1:0,lpc", "-l", "com1,stdio")
    cmd = run(vm)
    assert list(cmd.argv)[len(boot()):] == [
        "-chardev", "stdio,id=com1,signal=off", "-device", "isa-serial,chardev=com1,index=0"]
    assert [c.backend for c in cmd.chardevs] == ["stdio"]
    no_lpc = run(base("-l", "com1,stdio"))
    assert "-chardev" not in no_lpc.argv
    assert any("no lpc slot" in n for n in no_lpc.notes)


def test_com_ports_backends() -> None:
    vm = base("-s", "31,lpc", "-l", "com2,tcp:4444", "-l", "com1")
    tail = list(run(vm).argv)[len(boot()):]
    assert tail == [
        "-chardev", "socket,id=com2,host=127.0.0.1,port=4444,server=on,wait=off",
        "-device", "isa-serial,chardev=com2,index=1",
        "-chardev", "null,id=com1", "-device", "isa-serial,chardev=com1,index=0"]


def test_com5_refused_on_33() -> None:
    with pytest.raises(TranslationError, match="COM5"):
        run(base("-s", "1:0,lpc", "-l", "com5,stdio"))


def test_virtio_console_ports() -> None:
    vm = base("-s", "5,virtio-console,@stdio:stdio_port,pty:pty_port,file:log=/tmp/c.log,"
                    "socket:srv=/tmp/s.sock,socket:cli=/tmp/c.sock:client")
    cmd = run(vm)
    assert list(cmd.argv)[len(boot()):] == [
        "-device", "virtio-serial-pci,id=vtcon5_0,addr=0x5",
        "-chardev", "stdio,id=vtcon5_0_0,signal=off",
        "-device", "virtconsole,bus=vtcon5_0.0,chardev=vtcon5_0_0,name=stdio_port",
        "-chardev", "pty,id=vtcon5_0_1",
        "-device", "virtserialport,bus=vtcon5_0.0,chardev=vtcon5_0_1,name=pty_port",
        "-chardev", "file,id=vtcon5_0_2,path=/tmp/c.log",
        "-device", "virtserialport,bus=vtcon5_0.0,chardev=vtcon5_0_2,name=log",
        "-chardev", "socket,id=vtcon5_0_3,path=/tmp/s.sock,server=on,wait=off",
        "-device", "virtserialport,bus=vtcon5_0.0,chardev=vtcon5_0_3,name=srv",
        "-chardev", "socket,id=vtcon5_0_4,path=/tmp/c.sock,server=off",
        "-device", "virtserialport,bus=vtcon5_0.0,chardev=vtcon5_0_4,name=cli",
    ]
    assert [(c.id, c.backend, c.path) for c in cmd.chardevs] == [
        ("vtcon5_0_0", "stdio", None), ("vtcon5_0_1", "pty", None),
        ("vtcon5_0_2", "file", "/tmp/c.log"), ("vtcon5_0_3", "socket", "/tmp/s.sock"),
        ("vtcon5_0_4", "socket", "/tmp/c.sock")]
    assert cmd.chardevs[1].serves == "virtio-console 5:0 port pty_port"
    assert cmd.owned_paths == ("/tmp/s.sock",)


def test_virtio_console_tty() -> None:
    vm = base("-s", "7,virtio-console,@tty:t=/dev/pts/9")
    tail = list(run(vm).argv)[len(boot()):]
    assert tail[2:4] == ["-chardev", "tty,id=vtcon7_0_0,path=/dev/pts/9"]


def test_pci_uart() -> None:
    vm = base("-s", "8,uart,stdio")
    assert list(run(vm).argv)[len(boot()):] == [
        "-chardev", "stdio,id=uart8_0,signal=off",
        "-device", "pci-serial,chardev=uart8_0,addr=0x8"]


def test_pci_uart_vuart_refused() -> None:
    with pytest.raises(TranslationError, match="vUART"):
        run(base("-s", "8,uart,vuart_idx:1"))


def test_vsock_needs_vhost_vsock() -> None:
    vm = base("-s", "9,vhost-vsock,cid=3")
    with pytest.raises(TranslationError, match="/dev/vhost-vsock"):
        run(vm)
    cmd = run(vm, TranslateOptions(initrd="/i", vhost_vsock=True))
    assert list(cmd.argv)[-2:] == ["-device", "vhost-vsock-pci,guest-cid=3,addr=0x9"]


def test_ivshmem_dm_and_hv() -> None:
    vm = base("-s", "10,ivshmem,dm:/shm_region_0,2")
    assert list(run(vm).argv)[-4:] == [
        "-object", "memory-backend-file,id=shm10_0,share=on,mem-path=/dev/shm/shm_region_0,"
                   "size=2M",
        "-device", "ivshmem-plain,memdev=shm10_0,addr=0xa"]
    assert run(vm).owned_paths == ("/dev/shm/shm_region_0",)
    with pytest.raises(TranslationError, match="hv:/"):
        run(base("-s", "10,ivshmem,hv:/shm_region_0,2"))


def test_xhci_tablet_and_host_ports() -> None:
    cmd = run(base("-s", "11,xhci,tablet"))
    assert list(cmd.argv)[-4:] == ["-device", "qemu-xhci,id=xhci11_0,addr=0xb",
                                   "-device", "usb-tablet,bus=xhci11_0.0"]
    with pytest.raises(TranslationError, match="USB host ports"):
        run(base("-s", "11,xhci,1-2"))


def test_hostbridge_and_lpc_become_nothing() -> None:
    vm = base("-s", "1:0,lpc", "-s", "31:0,igd-lpc")
    with pytest.raises(TranslationError, match="igd-lpc"):
        run(vm)
    assert list(run(base("-s", "31:0,lpc")).argv) == boot()


def test_passthru_refused_with_clear_message() -> None:
    with pytest.raises(TranslationError) as err:
        run(base("-s", "6,passthru,0/2/0"))
    assert len(err.value.problems) == 1
    problem = err.value.problems[0]
    assert problem.what == "-s 6,passthru,0/2/0"
    assert "passthrough" in problem.reason


def test_all_problems_reported_at_once() -> None:
    vm = base("-s", "6,passthru,0/2/0", "-s", "7,virtio-gpu,geometry=800x600", "--lapic_pt",
              "--rtvm")
    with pytest.raises(TranslationError) as err:
        run(vm)
    whats = [p.what for p in err.value.problems]
    assert "--lapic_pt" in whats and "--rtvm" in whats
    assert "-s 6,passthru,0/2/0" in whats
    assert any(w.startswith("-s 7,virtio-gpu") for w in whats)


def test_skip_policy_leaves_them_out_and_lists_them() -> None:
    vm = base("-s", "3,virtio-blk,/d/a.img", "-s", "6,passthru,0/2/0", "--rtvm")
    cmd = run(vm, TranslateOptions(initrd="/img/initrd.cpio", unsupported="skip"))
    assert [p.what for p in cmd.skipped] == ["--rtvm", "-s 6,passthru,0/2/0"]
    assert not any("passthru" in a or "0x6" in a for a in cmd.argv)
    assert "virtio-blk-pci,drive=disk3_0,addr=0x3" in cmd.argv


def test_machine_slots_refused() -> None:
    with pytest.raises(TranslationError, match="slot 31"):
        run(base("-s", "31,virtio-blk,/d/a.img"))


def test_other_bus_refused() -> None:
    with pytest.raises(TranslationError, match="bus 0"):
        run(base("-s", "1:3:0,virtio-blk,/d/a.img"))


def test_function_without_function_zero_refused() -> None:
    with pytest.raises(TranslationError, match="function 0"):
        run(base("-s", "4:1,virtio-blk,/d/a.img"))


def test_unsupported_global_options() -> None:
    vm = parse(["-m", "512M", "--cpu_affinity", "1", "-s", "0:0,hostbridge", "--ovmf",
                "/o/OVMF.fd", "vm1"], "3.3")
    with pytest.raises(TranslationError) as err:
        run(vm)
    assert [p.what for p in err.value.problems] == ["--ovmf /o/OVMF.fd"]


def test_harmless_options_are_ignored() -> None:
    vm = base("-A", "--virtio_msix", "--logger_setting", "console,level=4;kmsg,level=3",
              version="2.7")
    assert list(run(vm, version="2.7").argv) == boot()


@dataclass(frozen=True)
class _Rnd:
    """Stands in for the virtio-rnd model (its module may not exist yet)."""

    EMULS: ClassVar[tuple[str, ...]] = ("virtio-rnd",)
    emul: ClassVar[str] = "virtio-rnd"

    def render_config(self) -> str | None:
        return None

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        return []

    def files(self) -> list[FileRef]:
        return []


def test_virtio_rnd_becomes_virtio_rng() -> None:
    vm = VM(name="vm1", memsize=MemSize(512), kernel=KERNEL,
            devices=(PciDevice(Bdf(0, 12, 0), _Rnd()),))
    argv = list(translate(vm, "3.3", OPTS).argv)
    assert argv[-2:] == ["-device", "virtio-rng-pci,addr=0xc"]


def test_kvm_adds_cpu_host_and_qmp_channels() -> None:
    cmd = run(base(), TranslateOptions(accel="kvm", initrd="/i", qmp_fd=5, qmp_listen_fd=6))
    argv = list(cmd.argv)
    assert argv[argv.index("-accel") + 1] == "kvm"
    assert argv[argv.index("-cpu") + 1] == "host"
    assert argv[-8:] == ["-chardev", "socket,id=qmp,fd=5,server=off",
                         "-mon", "chardev=qmp,mode=control",
                         "-chardev", "socket,id=qmp-public,fd=6,server=on,wait=off",
                         "-mon", "chardev=qmp-public,mode=control"]


def test_qmp_path_form() -> None:
    argv = list(run(base(), TranslateOptions(qmp_path="/run/x,y.qmp")).argv)
    assert argv[-4:] == ["-chardev", "socket,id=qmp-public,path=/run/x,,y.qmp,server=on,"
                         "wait=off", "-mon", "chardev=qmp-public,mode=control"]


def test_commas_are_escaped_in_option_values() -> None:
    assert esc("a,b,,c") == "a,,b,,,,c"
    vm = VM(name="a,b", memsize=MemSize(512), kernel=KERNEL)
    argv = list(translate(vm, "3.3", OPTS).argv)
    assert argv[1:3] == ["-name", "guest=a,,b"]
    assert "type=1,manufacturer=acrnkit,product=a,,b" in argv


def test_argv_is_a_list_of_strings_for_a_kata_like_vm() -> None:
    vm = base("-s", "1:0,lpc", "-l", "com1,stdio", "-s", "2,virtio-blk,/d/root.img",
              "-s", "3,virtio-net,tap=tap0,mac=00:16:3e:00:00:01",
              "-s", "4,virtio-console,@socket:console=/run/vc/console.sock",
              mem="2048M", cpus="1,2")
    cmd = run(vm)
    assert all(isinstance(a, str) and a for a in cmd.argv)
    assert cmd.argv.count("-device") == 5  # blk, net, serial bus + port, com1


def test_settings_from_env_and_coerce() -> None:
    env = {"ACRNKIT_RUN_DIR": "/tmp/r", "ACRNKIT_ACRN_VERSION": "v3.2",
           "ACRNKIT_DM_QEMU": "/opt/qemu", "ACRNKIT_DM_QEMU_ACCEL": "tcg",
           "ACRNKIT_DM_QEMU_UNSUPPORTED": "skip", "ACRNKIT_GUEST_DIR": "/g"}
    s = QemuSettings.from_env(env)
    assert (s.run_dir, s.version, s.qemu_binary, s.qemu_accel, s.qemu_unsupported,
            s.guest_dir) == ("/tmp/r", "3.2", "/opt/qemu", "tcg", "skip", "/g")

    @dataclass(frozen=True)
    class FakeSettings:
        run_dir: str = "/run/x"
        version: str = "2.7"
        qemu_accel: str = "kvm"

    c = QemuSettings.coerce(FakeSettings(), env)
    assert (c.run_dir, c.version, c.qemu_accel, c.qemu_binary) == ("/run/x", "2.7", "kvm",
                                                                    "/opt/qemu")
    assert QemuSettings.coerce(s) is s
    with pytest.raises(ValueError, match="ACRNKIT_DM_QEMU_ACCEL"):
        QemuSettings.from_env({"ACRNKIT_DM_QEMU_ACCEL": "hvf"})
    assert backend_from_env({}) == "sim"
    assert backend_from_env({"ACRNKIT_DM_BACKEND": "qemu"}) == "qemu"
    with pytest.raises(ValueError, match="ACRNKIT_DM_BACKEND"):
        backend_from_env({"ACRNKIT_DM_BACKEND": "kvm"})
