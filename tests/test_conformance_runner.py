"""The conformance runner catches changes: mutated fixtures, an altered builder, an external
adapter that drops a device; ``--update`` fails once and then passes; unknown ids, tags and
fields fail the run; JUnit XML; matchers; the batched fake agrees with fake-acrn-dm itself."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from acrnkit.conformance import runner
from acrnkit.conformance.fixture import (
    DEFAULT_CASE_DIR,
    SCHEMA_PATH,
    CaseFileError,
    argv_lines,
    dumps_cases,
    load_cases,
    load_file,
)

ADAPTER = Path(__file__).resolve().parents[1] / "conformance" / "examples" / "adapter.py"
LAUNCH_ID = "launch/v3-user-vm/model/v3.0+3.2+3.3"  # an acrnkit-form case accepted by 3.x


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        opts = runner.parse_options(list(args))
        code = runner.run(opts, out)
    except (runner.UsageError, CaseFileError) as err:
        return 2, str(err)
    return code, out.getvalue()


@pytest.fixture
def cases_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "cases"
    shutil.copytree(DEFAULT_CASE_DIR, dest)
    return dest


def edit_case(case_dir: Path, case_id: str, change: Any) -> None:
    """Apply ``change(case_json)`` to one case, in place in its file."""
    for path in sorted(case_dir.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for item in doc:
            if item["id"] == case_id:
                change(item)
                path.write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
                return
    raise AssertionError(f"no case {case_id}")


# --- the committed fixtures ----------------------------------------------------------------------


def test_committed_fixtures_pass_every_column(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    code, out = run("--junit-xml", str(junit))
    assert code == 0, out[-4000:]
    assert "0 failed" in out
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "0"
    assert {s.get("name") for s in root} == {"conformance.builder", "conformance.parser",
                                             "conformance.fake"}


def test_fixtures_are_many_and_cover_the_topics() -> None:
    cases = load_cases()
    assert len(cases) >= 1000
    topics = {c.topic for c in cases}
    assert {"options", "getopt", "slots", "devices", "builder", "discrepancies", "launch",
            "kata"} <= topics
    tags = {t for c in cases for t in c.tags}
    assert {"quirk:kata-6", "quirk:kata-12", "discrepancy", "no-name"} <= tags


def test_case_files_follow_the_published_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(DEFAULT_CASE_DIR.glob("*.json")):
        errors = list(validator.iter_errors(json.loads(path.read_text(encoding="utf-8"))))
        assert not errors, f"{path.name}: {errors[0].message}"


def test_case_files_are_in_canonical_form() -> None:
    for path in sorted(DEFAULT_CASE_DIR.glob("*.json")):
        assert path.read_text(encoding="utf-8") == dumps_cases(load_file(path)), path.name


def test_argv_is_laid_out_one_option_per_line() -> None:
    assert argv_lines(["-A", "-m", "2G", "-s", "0:0,hostbridge", "--lapic_pt", "vm1"]) == [
        ["-A"], ["-m", "2G"], ["-s", "0:0,hostbridge"], ["--lapic_pt"], ["vm1"]]
    text = (DEFAULT_CASE_DIR / "kata.json").read_text(encoding="utf-8")
    assert '      "-m", "2048M",\n' in text


# --- catching changes ----------------------------------------------------------------------------


def test_mutated_expected_argv_fails_builder_and_parser(cases_copy: Path) -> None:
    def change(item: dict[str, Any]) -> None:
        item["expected_argv"][item["expected_argv"].index("1024M")] = "2048M"

    edit_case(cases_copy, LAUNCH_ID, change)
    code, out = run("--case-dir", str(cases_copy), "-k", LAUNCH_ID)
    assert code == 1
    assert f"FAIL builder {LAUNCH_ID} [3.0 3.2 3.3]: argv differs at position" in out
    assert f"FAIL parser {LAUNCH_ID}" in out
    assert "=>" in out and "acrn-dm 3.2 on the actual argv: accepted" in out


def test_mutated_verdict_fails_the_fake_column(cases_copy: Path) -> None:
    def change(item: dict[str, Any]) -> None:
        item["verdicts"]["3.2"] = {"accepted": False, "exit_status": 64, "message": "nope",
                                   "stream": "stderr"}

    edit_case(cases_copy, LAUNCH_ID, change)
    code, out = run("--case-dir", str(cases_copy), "-k", LAUNCH_ID, "--column", "fake")
    assert code == 1
    assert f"FAIL fake {LAUNCH_ID} [3.2]: verdict differs" in out
    assert "fake:     accepted" in out


def test_mutated_raw_argv_fixture_fails(cases_copy: Path) -> None:
    case_id = "discrepancies/ssram/eats-name"
    edit_case(cases_copy, case_id, lambda item: item["expected_argv"].pop())
    code, out = run("--case-dir", str(cases_copy), "-k", case_id)
    assert code == 1
    assert "expected_argv differs from the input argv" in out
    assert "(missing)" in out


def test_altered_builder_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    import acrnkit.argv.render as render_module

    real = render_module.render

    def broken(vm: Any, release: Any = "3.3") -> list[str]:
        argv = real(vm, release)
        return [a if a != "--cpu_affinity" else "--cpu-affinity" for a in argv]

    monkeypatch.setattr(render_module, "render", broken)
    code, out = run("-k", "options/memsize/", "--column", "builder")
    assert code == 1
    assert "FAIL builder options/memsize/2048M" in out
    assert "--cpu-affinity" in out and "unrecognized option '--cpu-affinity'" in out


def test_altered_checker_fails_the_fake_column(cases_copy: Path) -> None:
    case_id = "discrepancies/memsize/2048/v2.7+3.0+3.2+3.3"
    edit_case(cases_copy, case_id, lambda item: item["verdicts"].update(
        {"3.2": {"accepted": True}}))
    code, out = run("--case-dir", str(cases_copy), "-k", case_id, "--column", "fake")
    assert code == 1 and "invalid memsize '2048'" in out


# --- external implementations --------------------------------------------------------------------

DROP_ADAPTER = '''
import json, subprocess, sys
request = sys.stdin.read()
proc = subprocess.run([sys.executable, {adapter!r}], input=request, capture_output=True,
                      text=True)
if proc.returncode:
    sys.stderr.write(proc.stderr)
    sys.exit(proc.returncode)
answer = json.loads(proc.stdout)
argv = answer["argv"]
for i, item in enumerate(argv):
    if item == "-s" and "virtio-net" in argv[i + 1]:
        del argv[i:i + 2]  # "forgets" the NIC
        break
print(json.dumps(answer))
'''


def test_faithful_external_adapter_passes() -> None:
    code, out = run("-k", "launch/v3-", "-k", "kata/sandbox/default",
                    "--implementation", f"{sys.executable} {ADAPTER}")
    assert code == 0, out[-3000:]
    assert "implementation" in out


def test_faithful_batch_adapter_passes_everything() -> None:
    code, out = run("--implementation-batch", f"{sys.executable} {ADAPTER} --batch", "-q")
    assert code == 0, out[-3000:]


def test_adapter_that_drops_a_device_fails(tmp_path: Path) -> None:
    script = tmp_path / "drop.py"
    script.write_text(DROP_ADAPTER.format(adapter=str(ADAPTER)), encoding="utf-8")
    code, out = run("-k", LAUNCH_ID, "-k", "kata/sandbox/default",
                    "--implementation", f"{sys.executable} {script}")
    assert code == 1
    assert "FAIL implementation kata/sandbox/default" in out
    assert "(missing)" in out
    assert f"FAIL implementation {LAUNCH_ID} [3.0 3.2 3.3]" in out


def test_adapter_that_accepts_what_the_builder_refuses_fails(tmp_path: Path) -> None:
    script = tmp_path / "lax.py"
    script.write_text(
        "import json, sys\nreq = json.load(sys.stdin)\nprint(json.dumps(['vm1']))\n",
        encoding="utf-8")
    code, out = run("-k", "builder/multicast-mac", "--implementation",
                    f"{sys.executable} {script}")
    assert code == 1 and "builder error differs" in out


# --- --update ------------------------------------------------------------------------------------


def test_update_fails_then_passes(cases_copy: Path) -> None:
    case_id = "getopt/option-twice/v2.7+3.0+3.2+3.3"
    untouched = {p.name: p.read_text(encoding="utf-8") for p in cases_copy.glob("*.json")}

    def change(item: dict[str, Any]) -> None:
        item["verdicts"]["3.3"] = {"accepted": False, "exit_status": 1, "message": None,
                                   "stream": None}

    edit_case(cases_copy, case_id, change)
    edit_case(cases_copy, LAUNCH_ID, lambda item: item["expected_argv"].reverse())
    first, out = run("--case-dir", str(cases_copy), "-k", case_id, "-k", LAUNCH_ID, "--update")
    assert first == 1
    assert "--update rewrote" in out and f"{case_id}: verdicts (fake [3.3])" in out
    assert f"{LAUNCH_ID}: expected_argv (builder [" in out
    second, out2 = run("--case-dir", str(cases_copy), "-k", case_id, "-k", LAUNCH_ID)
    assert second == 0, out2
    # Only the two edited files changed, and they are back to the committed bytes.
    after = {p.name: p.read_text(encoding="utf-8") for p in cases_copy.glob("*.json")}
    assert after == untouched


def test_update_with_nothing_to_do_passes(cases_copy: Path) -> None:
    code, out = run("--case-dir", str(cases_copy), "-k", "getopt/", "--update")
    assert code == 0 and "nothing to rewrite" in out


def test_update_refuses_an_external_implementation() -> None:
    code, _out = run("--update", "--implementation", "true")
    assert code == 2


# --- selection and strictness --------------------------------------------------------------------


def test_unknown_id_fails() -> None:
    code, out = run("-k", "no/such/case")
    assert code == 2 and "matches no case id" in out


def test_unknown_tag_fails() -> None:
    code, out = run("--tag", "device:virtio-nothing")
    assert code == 2 and "not a tag" in out


def test_tag_selection() -> None:
    code, out = run("--tag", "quirk:kata-6", "--column", "builder")
    assert code == 0
    assert "quirk:kata-6" in out


def test_unknown_field_in_a_case_file_fails(cases_copy: Path) -> None:
    edit_case(cases_copy, LAUNCH_ID, lambda item: item.update(expected_args=[]))
    code, out = run("--case-dir", str(cases_copy), "--column", "builder")
    assert code == 2 and "unknown field 'expected_args'" in out


def test_undeclared_placeholder_fails(cases_copy: Path) -> None:
    edit_case(cases_copy, LAUNCH_ID, lambda item: item.pop("matchers"))
    code, out = run("--case-dir", str(cases_copy), "--column", "builder")
    assert code == 2 and "${ROOT} is used but no matcher declares it" in out


def test_duplicate_id_fails(cases_copy: Path) -> None:
    doc = json.loads((cases_copy / "getopt.json").read_text(encoding="utf-8"))
    (cases_copy / "zz.json").write_text(json.dumps(doc[:1]), encoding="utf-8")
    code, out = run("--case-dir", str(cases_copy), "--column", "builder")
    assert code == 2 and "duplicate id" in out


def test_cli_entry_point(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "acrnkit.cli", "conformance", "-q", "-k",
                           "getopt/no-name", "--junit-xml", str(tmp_path / "j.xml")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "j.xml").is_file()


# --- matchers ------------------------------------------------------------------------------------


def write_custom(tmp_path: Path, cases: list[dict[str, Any]]) -> Path:
    case_dir = tmp_path / "custom"
    case_dir.mkdir()
    (case_dir / "custom.json").write_text(json.dumps(cases), encoding="utf-8")
    return case_dir


def net_case(expected_dev: str, matchers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "custom/mac", "description": "a NIC with a MAC", "tags": ["custom"],
        "releases": ["3.2"],
        "input": {"acrnkit": {"name": "vm1", "memsize": "2048M", "cpu_affinity": "1",
                              "kernel": "/boot/bzImage",
                              "devices": [{"slot": 4, "emul": "virtio-net", "ifname": "tap0",
                                           "mac": "02:00:00:00:00:01"}]}},
        "matchers": matchers,
        "expected_argv": ["-m", "2048M", "-s", expected_dev, "--cpu_affinity", "1",
                          "-k", "/boot/bzImage", "vm1"],
        "verdicts": {"3.2": {"accepted": True}},
    }


def test_mac_matcher_matches_a_unicast_mac_only(tmp_path: Path) -> None:
    ok = write_custom(tmp_path, [net_case("4,virtio-net,tap=tap0,mac=${MAC0}",
                                          [{"name": "MAC0", "kind": "mac"}])])
    assert run("--case-dir", str(ok), "--column", "builder")[0] == 0
    from acrnkit.conformance.fixture import Matcher
    from acrnkit.conformance.matchers import ArgvMatcher

    m = ArgvMatcher([Matcher("MAC0", "mac")])
    assert m.sequence(["mac=${MAC0}", "${MAC0}"], ["mac=02:00:00:00:00:01", "02:00:00:00:00:01"])
    m = ArgvMatcher([Matcher("MAC0", "mac")])
    assert not m.sequence(["mac=${MAC0}", "${MAC0}"],
                          ["mac=02:00:00:00:00:01", "02:00:00:00:00:02"])  # one value per name
    assert not ArgvMatcher([Matcher("MAC0", "mac")]).element("${MAC0}", "03:00:00:00:00:01")
    assert not ArgvMatcher([]).element("${MAC0}", "02:00:00:00:00:01")  # undeclared: exact


def test_regex_matcher_and_undeclared_text_is_exact(tmp_path: Path) -> None:
    case_dir = write_custom(tmp_path, [net_case(
        "4,virtio-net,tap=${TAP},mac=02:00:00:00:00:01",
        [{"name": "TAP", "kind": "regex", "pattern": "tap[0-9]+"}])])
    assert run("--case-dir", str(case_dir), "--column", "builder")[0] == 0


def test_tmpdir_matcher_lays_out_the_host(tmp_path: Path) -> None:
    case = net_case("4,virtio-net,tap=tap0,mac=02:00:00:00:00:01", [])
    case["input"]["acrnkit"]["kernel"] = "${ROOT}/boot/bzImage"
    case["expected_argv"][7] = "${ROOT}/boot/bzImage"
    case["matchers"] = [{"name": "ROOT", "kind": "tmpdir"}]
    case["host"] = [{"path": "${ROOT}/boot/bzImage", "kind": "file"}]
    case_dir = write_custom(tmp_path, [case])
    assert run("--case-dir", str(case_dir))[0] == 0
    # Without the kernel on the host, acrn-dm (the fake) refuses it: exit 10.
    case["host"] = []
    case_dir2 = tmp_path / "nohost"
    case_dir2.mkdir()
    (case_dir2 / "c.json").write_text(json.dumps([case]), encoding="utf-8")
    code, out = run("--case-dir", str(case_dir2), "--column", "fake")
    assert code == 1 and "check_image failed for '${ROOT}/boot/bzImage'" in out
    assert "rejected, exit 10" in out


# --- the batched fake is the fake ----------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["-W", "vm1"],
    ["-m", "2048", "-s", "0:0,hostbridge", "--cpu_affinity", "1", "-k", "/nonexistent", "vm1"],
    ["-s", "0:0,hostbridge", "--cpu_affinity", "1", "-k", "/dev/null", "vm1"],
    ["--ssram", "vm1"],
    ["-h"],
])
def test_batch_answers_like_fake_acrn_dm(argv: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACRNKIT_")}
    env.update(ACRNKIT_ACRN_VERSION="3.2", ACRNKIT_DM_MODE="check")
    code = ("import sys; from acrnkit.fakes.acrn_dm.main import main; "
            f"sys.exit(main(['acrn-dm', *{argv!r}]))")
    fake = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=False)
    batch = subprocess.run([sys.executable, "-m", "acrnkit.fakes.acrn_dm.batch"], env=env,
                           input=json.dumps({"id": 1, "argv": argv}) + "\n",
                           capture_output=True, text=True, check=True)
    answer = json.loads(batch.stdout)
    assert answer["status"] == fake.returncode
    assert [t for s, t in answer["output"] if s == "stdout"] == fake.stdout.splitlines() or \
        "\n".join(t for s, t in answer["output"] if s == "stdout") == fake.stdout.rstrip("\n")
    assert "\n".join(t for s, t in answer["output"] if s == "stderr") == \
        fake.stderr.rstrip("\n")


# --- the generator -------------------------------------------------------------------------------


def test_generator_output_is_committed_and_deterministic(tmp_path: Path) -> None:
    from acrnkit.conformance.generate import generate

    texts, _report = generate(tmp_path, write=False, out=io.StringIO())
    committed = {p.name for p in DEFAULT_CASE_DIR.glob("*.json")}
    assert committed == set(texts)
    stale = sorted(n for n, t in texts.items()
                   if (DEFAULT_CASE_DIR / n).read_text(encoding="utf-8") != t)
    assert not stale, ("the committed cases are not what the generator makes now; review and "
                       f"run python -m acrnkit.conformance.generate ({', '.join(stale)})")
