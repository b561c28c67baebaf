"""The fake acrn-dm's costs: start-up in check mode, exec to login, idle RSS, 32 VMs at once.

Prints figures; asserts nothing. Targets (issue 3): check-mode start-up under 1.5x
``python3 -c pass`` measured in the same run; exec to login prompt under 150 ms; idle RSS under
30 MB; 32 fake VMs in parallel with distinct run dirs all answering QUERY.

    python bench/bench_fake.py [--runs 25]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(commands: list[tuple[list[str], dict[str, str]]], runs: int
          ) -> list[tuple[float, int, list[float]]]:
    """Median wall time (ms), last exit status and all samples of each command. The commands
    take turns in every round, so a change in the machine's load touches them all alike."""
    samples: list[list[float]] = [[] for _ in commands]
    statuses = [-1] * len(commands)
    for _ in range(runs):
        for i, (argv, env) in enumerate(commands):
            start = time.perf_counter()
            done = subprocess.run(argv, env=env, capture_output=True)
            samples[i].append((time.perf_counter() - start) * 1000)
            statuses[i] = done.returncode
    return [(statistics.median(s), st, s) for s, st in zip(samples, statuses, strict=True)]


def spread(ratios: list[float]) -> str:
    q = statistics.quantiles(ratios, n=4)
    return f"per-round ratio p25 {q[0]:.2f} / p75 {q[2]:.2f}"


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=41)
    ap.add_argument("--parallel", type=int, default=32)
    args = ap.parse_args()
    # the fake installed beside this interpreter first (a venv's), then whatever PATH finds
    fake = (shutil.which("fake-acrn-dm", path=os.path.dirname(sys.executable))
            or shutil.which("fake-acrn-dm"))
    if fake is None:
        sys.exit("fake-acrn-dm is not installed")
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="acrnkit-bench-") as tmp:
        d = Path(tmp)
        from acrnkit.launch.sample import kata_sized_argv

        argv = kata_sized_argv(d)
        check_env = {**env, "ACRNKIT_DM_MODE": "check", "ACRNKIT_RUN_DIR": str(d),
                     "ACRNKIT_ACRN_VERSION": "3.2"}
        from acrnkit.launch.bindir import make_bin_dir

        launcher = make_bin_dir(d / "bin")["acrn-dm"]
        (base, _, b_s), (script, st1, s_s), (fast, st2, f_s) = timed(
            [([sys.executable, "-c", "pass"], env), ([fake, *argv], check_env),
             ([str(launcher), *argv], check_env)], args.runs)
        print(f"python3 -c pass:                     {base:7.1f} ms (median of {args.runs})")
        print(f"fake-acrn-dm check, Kata-sized argv: {script:7.1f} ms  ratio {script / base:.2f}"
              f"  (console script; exit {st1}; "
              f"{spread([x / y for x, y in zip(s_s, b_s, strict=True)])})")
        print(f"bin-dir acrn-dm launcher (-SE):      {fast:7.1f} ms  ratio {fast / base:.2f}"
              f"  (what acrn_bin_dir / acrnkit bin-dir give; exit {st2}; "
              f"{spread([x / y for x, y in zip(f_s, b_s, strict=True)])})")
        if "import re" in Path(fake).read_text(errors="replace"):
            print("  note: this fake-acrn-dm was written by a pip older than 25.2 whose console "
                  "scripts import re (about 4 ms); `pip install -U pip` and reinstall")

        from acrnkit.console import ConsoleSession

        run_env = {**env, "ACRNKIT_RUN_DIR": str(d), "ACRNKIT_ACRN_VERSION": "3.2"}
        simple = ["-s", "0:0,hostbridge", "-s", "1:0,lpc", "-l", "com1,stdio",
                  "--cpu_affinity", "1", "-k", str(d / "vmlinuz"), "vm1"]
        logins = []
        rss = []
        for _ in range(max(5, args.runs // 3)):
            start = time.perf_counter()
            with ConsoleSession.spawn([fake, *simple], env=run_env,
                                      log_path=d / "console.log") as session:
                session.expect("login:", timeout=10)
                logins.append(time.perf_counter() - start)
                time.sleep(0.2)
                if session.pid:
                    rss.append(rss_kb(session.pid))
        print(f"exec -> login prompt (run mode):     {statistics.median(logins) * 1000:7.1f} ms "
              f"(median of {len(logins)})")
        print(f"idle fake VM RSS:                    {statistics.median(rss) / 1024:7.1f} MB")

        from acrnkit.launch.launcher import Launcher, ManagerSocketReady
        from acrnkit.launch.mngr import ManagerClient

        start = time.perf_counter()
        launchers = []
        try:
            for i in range(args.parallel):
                rd = d / f"run{i}"
                rd.mkdir()
                name = f"vm{i}"
                la = Launcher([fake, *simple[:-1], name],
                              env={"ACRNKIT_RUN_DIR": str(rd), "ACRNKIT_ACRN_VERSION": "3.2"},
                              log_dir=rd, ready=ManagerSocketReady(name), ready_timeout=60,
                              stdin_pipe=True)
                la.start()
                launchers.append((la, rd, name))
            for la, _, _ in launchers:
                la.wait_ready(timeout=60)
            answered = sum(1 for _, rd, name in launchers
                           if ManagerClient(rd, name, "3.2").query() >= 0)
            elapsed = time.perf_counter() - start
            print(f"{args.parallel} fake VMs in parallel:             {elapsed * 1000:7.1f} ms to "
                  f"all ready; {answered}/{args.parallel} answered QUERY")
        finally:
            for la, _, _ in launchers:
                la.stop(2)


if __name__ == "__main__":
    main()
