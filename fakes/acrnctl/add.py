"""``acrnctl add SCRIPT [OPTIONS] [-C]``, re-implemented from ``acrnctl_do_add``.

Source: v3.2 ``misc/services/acrn_manager/acrnctl.c`` (v2.7 and v3.x are the same; v1.6
``misc/acrn-manager/acrnctl.c`` differs in the ``mkdir`` and one message, see ``release.py``).

What the real one does, step by step, and what the fake does instead:

1. Refuses a script path of PATH_LEN (128) bytes or more, and option text that does not fit its
   128-byte ``args`` buffer (" opt1 opt2 ..." plus a trailing space). Options starting with
   ``-C`` are dropped and need ``/sbin/runc`` (checked, read-only, as the real one does).
2. Reads at most 20479 bytes of the script and rewrites it line by line: lines split at ``\\n``
   (empty ones dropped), words at single spaces (at most 63 per line, each re-written as
   ``" word"``), and a first word of at most 64 bytes that ends in ``acrn-dm`` replaced by
   ``<acrnctl argv[0]> gentmpfile``. ``acrnctl gentmpfile ... <last>`` prints
   ``\\nacrnctl: <last>``, so running the rewritten script prints the VM name instead of
   starting a VM.
3. The real one renames the user's script to ``<script>.back``, writes the rewritten text under
   the script's own name, runs ``bash <script> <options> > <script>.result 2>&1`` through
   ``popen`` and ``system``, greps ``acrnctl: `` and renames everything back. **The fake never
   touches the script's directory and never builds a shell command line**: it writes the
   rewritten text and the result to a private directory under the run dir and runs
   ``bash -c '. "$1"'``-style with an argv list, so that ``$0`` is still the script path as given
   and ``$@`` the options (word-split as the shell would split them, without expansions).
4. The name goes through ``check_name``; a known name is refused; the original script is copied
   to ``<store>/<name>.sh`` and the options to ``<store>/<name>.args`` (the store is
   ``/usr/share/acrn/conf/add`` on a host, ``<run_dir>/conf/add`` here).

The real one builds each step as a 128-byte ``snprintf`` command line and gives up with
``ERROR: cmd is truncated`` when one does not fit. The fake applies the same limits, computed
with the real paths (``/usr/share/acrn/conf/add``), so a script path longer than 55 bytes (less
with options) fails in the fake exactly as on a host; use a path relative to the working
directory.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING

from .vmmngr import PATH_LEN, blen

if TYPE_CHECKING:
    from .commands import Acrnctl

#: ``MAX_FILE_SIZE`` (acrnctl.c): a script of this many bytes or more is refused.
MAX_FILE_SIZE = 4096 * 5
#: ``MAX_WORD``: words per line are limited to MAX_WORD - 1; the acrn-dm word to MAX_WORD bytes.
MAX_WORD = 64
#: ``ACRN_CONF_PATH_ADD`` on a real host, used only for the real command-line length limits.
REAL_CONF_ADD = "/usr/share/acrn/conf/add"
#: bash source of the probe run: $0 stays the user's script path; $1 is the rewritten copy.
_PROBE = '__acrnctl_add_script=$1; shift; . "$__acrnctl_add_script"'
_SHELL_IFS = b" \t\n"


def _split_words(text: bytes) -> list[bytes]:
    """Shell word splitting with the default IFS (no quotes, globbing or expansions)."""
    words: list[bytes] = []
    current = bytearray()
    for byte in text:
        if byte in _SHELL_IFS:
            if current:
                words.append(bytes(current))
                current.clear()
        else:
            current.append(byte)
    if current:
        words.append(bytes(current))
    return words


def _self_command(argv0: str) -> bytes:
    """What replaces the acrn-dm word: the real one writes its own ``argv[0]``."""
    import shlex
    import shutil

    if argv0 and not argv0.endswith(".py"):
        if "/" in argv0 and os.access(argv0, os.X_OK) and os.path.isfile(argv0):
            return os.fsencode(shlex.quote(os.path.abspath(argv0)))
        if "/" not in argv0 and shutil.which(argv0):
            return os.fsencode(shlex.quote(argv0))
    # Started as ``python -m acrnkit.fakes.acrnctl.main`` or from Python: re-run the module.
    return os.fsencode(f"{shlex.quote(sys.executable)} -m acrnkit.fakes.acrnctl.main")


def rewrite(content: bytes, self_cmd: bytes, warn: list[str]) -> tuple[bytes, int]:
    """``write_tmp_file`` over every line: (the rewritten script, how many acrn-dm words)."""
    text = content.split(b"\0", 1)[0]  # the C works on a NUL-terminated buffer
    found = 0
    out: list[bytes] = []
    for line in text.split(b"\n"):
        words = [w for w in line.split(b" ") if w][:MAX_WORD - 1]
        if not words:
            continue  # strtok skips empty lines; a line of spaces writes nothing
        parts: list[bytes] = []
        first = words[0]
        rest = words
        if 7 <= len(first) <= MAX_WORD and first.endswith(b"acrn-dm"):
            found += 1
            parts.append(self_cmd + b" gentmpfile")
            rest = words[1:]
        for word in rest:
            chunk = b" " + word
            if len(chunk) >= PATH_LEN:
                warn.append("WARN: buf is truncated\n")
                chunk = chunk[:PATH_LEN - 1]
            parts.append(chunk)
        out.append(b"".join(parts) + b"\n")
    return b"".join(out), found


class _Add:
    def __init__(self, ctl: Acrnctl, argv: list[str]) -> None:
        self.ctl = ctl
        self.io = ctl.io
        self.script = argv[1]
        self.options = argv[2:]
        self.blen = blen(self.script)

    def fits(self, length: int) -> bool:
        """Does a command line of ``length`` bytes fit acrnctl's ``char cmd[PATH_LEN]``?"""
        return length < PATH_LEN

    def truncated(self) -> None:
        self.io.out("ERROR: cmd is truncated\n")

    def cleanup(self, ret: int) -> int:
        """The ``get_vmname`` / ``vm_exist`` / ``no_acrn_dm`` labels: only their messages
        remain, since the fake moved nothing."""
        n = self.blen
        if not self.fits(n + 13):  # rm -f <script>.result
            self.io.out("WARN: cmd is truncated\n")
        if not self.fits(2 * n + 12):  # mv <script> <script>.acrnctl
            self.truncated()
            ret = -1
        if not self.fits(2 * n + 9):  # mv <script>.back <script>
            self.truncated()
            ret = -1
        if not self.fits(n + 14):  # rm -f <script>.acrnctl
            self.io.out("WARN: cmd is truncated\n")
        return ret

    def run(self) -> int:
        io = self.io
        script = self.script
        if self.blen >= PATH_LEN:
            io.out(f"File name too long (maximum len {PATH_LEN})\n")
            return -1

        # The args buffer: " opt1 opt2 " (snprintf keeps what fits, p counts what it wanted).
        args = b""
        wanted = 0
        c_flag = False
        for option in self.options:
            if wanted >= PATH_LEN - 1:
                io.out("Too many input options\n")
                return -1
            if option.startswith("-C"):
                if not os.path.exists("/sbin/runc"):
                    io.out("runC command not supproted\n")
                    return -1
                c_flag = True
                continue
            chunk = b" " + os.fsencode(option)
            args = (args + chunk)[:PATH_LEN - 1]
            wanted += len(chunk)
        if wanted < PATH_LEN:
            args += b" "  # args[p] = ' '

        try:
            fd = os.open(script, os.O_RDONLY)
        except OSError as exc:
            io.err(f"{script}: {os.strerror(exc.errno or 0)}\n")  # perror(argv[1])
            return -1
        try:
            try:
                content = os.read(fd, MAX_FILE_SIZE)
            except OSError:  # e.g. a directory: read() fails and the C goes on with nothing
                content = b""
        finally:
            os.close(fd)
        if len(content) >= MAX_FILE_SIZE:
            io.out(f"{script} exceed MAX_FILE_SIZE:{MAX_FILE_SIZE}")  # no newline in the C
            return -1

        warnings: list[str] = []
        rewritten, found = rewrite(content, _self_command(self.ctl.argv0), warnings)
        for line in warnings:
            io.out(line)
        if not found:
            io.out(
                f"No 'acrn-dm' found in {script}, expecting 'acrn-dm' command to get vmname.\n"
            )
            if not self.fits(self.blen + 14):  # the no_acrn_dm label's rm -f
                io.out("WARN: cmd is truncated\n")
            return -1

        n = self.blen
        if not self.fits(2 * n + 9):  # mv <script> <script>.back
            self.truncated()
            return self.cleanup(-1)
        if not self.fits(2 * n + 12):  # mv <script>.acrnctl <script>
            self.truncated()
            return self.cleanup(-1)
        if not self.fits(5 + n + len(args) + 3 + n + 7):  # bash <script><args> > <script>.result
            self.truncated()
            return self.cleanup(-1)

        result = self.probe(rewritten, _split_words(args))

        # grep -a "acrnctl: " <script>.result, read into char cmd_out[PATH_LEN * 2].
        matches = b"".join(
            line + b"\n" for line in result.split(b"\n") if b"acrnctl: " in line
        )
        cmd_out = matches[:2 * PATH_LEN]
        if cmd_out.endswith(b"\n"):
            cmd_out = cmd_out[:-1]
        cmd_out = cmd_out.split(b"\0", 1)[0]
        # _get_vmname
        if not cmd_out.startswith(b"acrnctl: "):
            io.out("can't found prefix 'acrnctl: '\n")
            return self.no_executable(result)
        raw_name = cmd_out[len(b"acrnctl: "):]
        if len(raw_name) >= PATH_LEN:
            io.out("get vmname failed, vmname is truncated\n")
            return self.no_executable(result)
        vmname = os.fsdecode(raw_name)

        if self.ctl.check_name(raw_name):
            io.out(f'"{vmname}" is a bad name, please select another name\n')
            return self.cleanup(-1)

        if self.ctl.release.add_mkdir:  # v1.6: mkdir -p ACRN_CONF_PATH_ADD here
            self.ctl.mkdir_store()

        entry = self.ctl.vmmngr.find(vmname)
        if entry is not None:
            state = self.ctl.release.state_name(entry.state)
            io.out(
                f"{vmname}({state}) already exist, can't add {script}{os.fsdecode(args)}\n"
            )
            return self.cleanup(-1)

        name_len = len(raw_name)
        if not self.fits(3 + n + 5 + 1 + len(REAL_CONF_ADD) + 1 + name_len + 3):  # cp
            self.truncated()
            return self.cleanup(-1)
        self.store(f"{vmname}.sh", content, "cp", mode_from=script)

        if c_flag:
            args = args + b"-C"  # strncpy(args + p + 1, "-C", 2)
        if not self.fits(5 + len(args) + 2 + len(REAL_CONF_ADD) + 1 + name_len + 5):  # echo
            self.truncated()
            return self.cleanup(-1)
        # echo <args> > <store>/<vm>.args: the shell splits the words and echo joins them.
        self.store(f"{vmname}.args", b" ".join(_split_words(args)) + b"\n", "sh")
        io.out(f"{vmname} added\n")
        return self.cleanup(0)

    def no_executable(self, result: bytes) -> int:
        # cat <script>.result into cmd_out[256], whose last byte is then forced to NUL.
        shown = result[:2 * PATH_LEN - 1].split(b"\0", 1)[0]
        self.io.out(
            f"No executable acrn-dm found: {self.script}, ,please make sure it can launch an "
            f"{self.ctl.release.user_vm}\nresult:\n"
        )
        self.io.out_bytes(shown + b"\n")
        return self.cleanup(-1)

    def probe(self, rewritten: bytes, words: list[bytes]) -> bytes:
        """Run the rewritten script as ``bash <script> <args> > result 2>&1`` would, and return
        what it printed. Only bash interprets the script; no shell line is built from input."""
        import shutil
        import subprocess
        import tempfile

        run_dir = self.ctl.run_dir
        os.makedirs(run_dir, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".acrnctl-add.", dir=run_dir)
        try:
            copy = os.path.join(tmp, "script")
            with open(copy, "wb") as fh:
                fh.write(rewritten)
            result_path = os.path.join(tmp, "result")
            with open(result_path, "wb") as result:
                argv: list[str | bytes] = ["bash", "-c", _PROBE, self.script, copy]
                argv.extend(words)
                try:
                    # stdin is inherited, as popen() leaves it; background jobs of the script
                    # keep only the result file open, so this returns when bash does.
                    subprocess.run(
                        argv, stdout=result, stderr=result, check=False,
                        env=self.ctl.child_env(),
                    )
                except OSError:
                    result.write(b"sh: 1: bash: not found\n")
            with open(result_path, "rb") as fh:
                return fh.read()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def store(self, name: str, data: bytes, tool: str, mode_from: str | None = None) -> None:
        """Write one file of the store (``cp`` / ``echo >``), reporting errors on stderr the
        way ``cp`` (``tool="cp"``) or dash's redirection (``tool="sh"``) words them."""
        path = os.path.join(self.ctl.conf_add, name)

        def fail(errno_text: str) -> None:
            if tool == "cp":
                self.io.err(f"cp: cannot create regular file '{path}': {errno_text}\n")
            else:
                self.io.err(f"sh: 1: cannot create {path}: {errno_text}\n")

        if "/" in name:
            # A name with a slash would leave the store: the fake never writes there and
            # answers as if the sub-directory did not exist.
            fail("No such file or directory" if tool == "cp" else "Directory nonexistent")
            return
        mode = 0o644
        if mode_from is not None:
            with contextlib.suppress(OSError):
                mode = os.stat(mode_from).st_mode & 0o7777
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        except OSError as exc:
            fail(os.strerror(exc.errno or 0))
            return
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def do_add(ctl: Acrnctl, argv: list[str]) -> int:
    """``acrnctl_do_add(argc, argv)`` with ``argv[0] == "add"``."""
    return _Add(ctl, argv).run()
