"""Cron runs that are quiet but logged (issue 27): coded warnings merged one line per code, one prefix on every
standard-error line, ``--log FILE`` (JSON lines), ``acknowledge`` in the configs, no headline beside ``--json``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reoffend.run_warnings import WARNING_CODES, RunWarning, check_acknowledged, merge_warnings

from .test_bulletin_cli import BASELINE, write_job

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
BIN = Path(sys.executable).parent / "reoffend"
FEW = "fewer than 5 expected reoffenders or non-reoffenders in a cohort"


def log_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# ------------------------------------------------------------------------------------------------- merging
def small(group: str, complete: int) -> RunWarning:
    return RunWarning(
        "small-groups",
        f"only {complete} complete releases to learn from ({group})",
        subjects=[group],
        counts={"complete_releases": complete, "threshold": 100},
    )


def test_merge_by_hand():
    """7 small-groups warnings (EST1..EST7), one power warning given twice, one court-lag: three lines. The
    small groups' line names the first 5 subjects and '2 more' (7 - 5); the repeated message is said once."""
    repeated = RunWarning("no-detectable-reduction", "some cohort sizes are too small")
    warnings = [small(f"EST{i}", 90 + i) for i in range(1, 6)]
    warnings += [repeated, small("EST6", 12), RunWarning("court-lag", "the court lag differs"), repeated]
    warnings += [small("EST7", 50)]
    merged = merge_warnings(warnings)
    assert [m.code for m in merged] == ["small-groups", "no-detectable-reduction", "court-lag"]  # first seen
    assert merged[0].text == (
        "7 groups have fewer than 100 complete releases to learn from: EST1, EST2, EST3, EST4, EST5 and 2 more"
    )
    assert merged[1].text == "some cohort sizes are too small" and len(merged[1].warnings) == 2
    assert merged[2].text == "the court lag differs"


def test_merge_without_a_template_says_how_many_more():
    """Codes with no merged sentence: the first message and how many more distinct ones (3 - 1 = 2)."""
    warnings = [RunWarning("model-fit", f"binary model: note {i}") for i in range(3)]
    (merged,) = merge_warnings(warnings)
    assert merged.text == "binary model: note 0 (and 2 more like it)"


@given(
    st.lists(
        st.tuples(st.sampled_from(["small-groups", "court-lag", "partial-period"]), st.sampled_from("ABCDEFGH")),
        max_size=40,
    )
)
def test_merge_keeps_every_warning_in_one_line_per_code(items):
    warnings = [
        RunWarning(code, f"{code} {subject}", subjects=[subject], counts={"threshold": 100}) for code, subject in items
    ]
    merged = merge_warnings(warnings)
    assert [m.code for m in merged] == list(dict.fromkeys(code for code, _ in items))
    assert sum(len(m.warnings) for m in merged) == len(warnings)
    for line in merged:
        assert "\n" not in line.text
        assert all(w.code == line.code for w in line.warnings)


def test_a_warning_is_its_message_and_keeps_its_code():
    warning = small("EST1", 5)
    assert warning == "only 5 complete releases to learn from (EST1)" and json.dumps([warning]).count("EST1") == 1
    prefixed = warning.prefixed("origin 2024-06-30: ")
    assert prefixed.code == "small-groups" and prefixed.subjects == ("EST1",)
    with pytest.raises(ValueError, match="unregistered"):
        RunWarning("no-such-code", "text")


def test_unknown_acknowledged_code_names_the_nearest():
    with pytest.raises(ValueError, match="did you mean 'small-groups'"):
        check_acknowledged(["small-group"], "acknowledge")


# --------------------------------------------------------------------------------------------- the registry
def test_docs_table_lists_exactly_the_registered_codes():
    text = (ROOT / "docs" / "cli.md").read_text()
    section = text.split("## Warnings and logs", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([a-z-]+)` \|", section, flags=re.MULTILINE)
    assert documented == list(WARNING_CODES)


def test_the_source_emits_exactly_the_registered_codes():
    """Every ``RunWarning("code", ...)`` in the package names a registered code, and every registered code is
    constructed somewhere: the registry (and so the docs table) is what the program can emit."""
    used = set()
    for path in (ROOT / "reoffend").rglob("*.py"):
        if path.name == "run_warnings.py":
            continue
        used |= set(re.findall(r'RunWarning\(\s*"([a-z-]+)"', path.read_text()))
        used |= set(re.findall(r'RunWarning\(\s*\n\s*"([a-z-]+)"', path.read_text()))
    assert used == set(WARNING_CODES)


# ------------------------------------------------------------------------------------------ the command line
def test_nowcast_by_establishment_merges_its_warnings(cli, tmp_path):
    """On the sample with a 24-month follow-up, 89 establishments have fewer than 100 complete releases: one
    line (it was 89), naming 5 and '84 more'; the log keeps all 89 and the run's end."""
    log = tmp_path / "run.log"
    args = ["nowcast", SAMPLE / "releases.csv", SAMPLE / "convictions.csv", "--by", "establishment"]
    args += ["--exclude-offences", SAMPLE / "excluded_offences.txt", "--follow-up", "24", "--csv", "--log", log]
    status, _out, err = cli(*args)
    assert status == 0, err
    lines = err.splitlines()
    assert lines == [
        "reoffend: warning: 89 groups have fewer than 100 complete releases to learn from: EST001, EST002, EST003, "
        "EST005, EST006 and 84 more (every one in the log)"
    ]
    events = log_lines(log)
    assert [e["code"] for e in events] == ["small-groups"] * 89 + ["success"]
    assert events[0]["subjects"] == ["EST001"] and events[0]["command"] == "reoffend nowcast"
    assert events[-1] == {**events[-1], "level": "info", "status": 0, "warnings": 89}
    assert all(e["time"].endswith("Z") for e in events)
    # acknowledged: not printed, still logged (appended: the first run's lines stay)
    status, _out, err = cli(*args, "--acknowledge", "small-groups")
    assert status == 0 and err == ""
    events = log_lines(log)
    assert len(events) == 180 and all(e["acknowledged"] for e in events[90:-1])


def test_nowcast_backtest_by_establishment_says_two_lines_for_967_warnings(cli, tmp_path):
    """The backtest repeats the per-group warnings at each of its 12 origins: 967 warnings of two codes (they
    were 967 lines); two lines, and the log keeps the 967 and the end (968 lines)."""
    log = tmp_path / "run.log"
    args = ["nowcast", SAMPLE / "releases.csv", SAMPLE / "convictions.csv", "--by", "establishment", "--backtest"]
    status, _out, err = cli(*args, "--exclude-offences", SAMPLE / "excluded_offences.txt", "--csv", "--log", log)
    assert status == 0, err
    assert [line.split(" groups ")[0] for line in err.splitlines()] == ["reoffend: warning: 110"] * 1 + [
        "reoffend: warning: 19"
    ]
    events = log_lines(log)
    assert len(events) == 968 and {e["code"] for e in events[:-1]} == {"small-groups", "no-reference"}
    assert events[0]["message"].startswith("origin ")  # each whole, with its origin


def test_power_says_a_repeated_warning_once_and_json_has_no_headline_on_stderr(cli):
    args = ["power", "--baseline-rate", "0.02", "--baseline-events", "3", "--measure", "both"]
    args += ["--current-size", "5,1000"]
    status, _out, err = cli(*args, "--csv")
    warned = [line for line in err.splitlines() if line.startswith("reoffend: warning: ")]
    assert status == 0 and len(warned) == 1 and "too small to detect any reduction" in warned[0]
    assert all(line.startswith("reoffend: ") for line in err.splitlines())  # the headline beside CSV too
    status, out, err = cli(*args, "--json")
    assert status == 0 and err.splitlines() == warned  # the headline is in the JSON only
    assert len(json.loads(out)["headline"]) == 4


def test_compare_baseline_json_has_no_headline_on_stderr(cli):
    status, out, err = cli("compare", "baseline", "--current-counts", "40/100", "--baseline-counts", "50/100", "--json")
    assert status == 0 and err == "" and json.loads(out)["headline"]


def test_errors_have_one_prefix_and_are_logged(cli, tmp_path):
    log = tmp_path / "run.log"
    status, _out, err = cli("measure", "--bogus", "r.csv", "c.csv")
    assert status == 2 and err.startswith("reoffend: error: No such option") and err.count("\n") == 1
    status, _out, err = cli("measure", tmp_path / "none.csv", tmp_path / "none.csv", "--log", log)
    assert status == 66 and err.startswith("reoffend: error: ")
    (end,) = log_lines(log)
    assert (end["level"], end["code"], end["status"]) == ("error", "no-input", 66)
    assert end["message"] == err.removeprefix("reoffend: error: ").strip()


def test_log_is_checked_before_any_work(cli, tmp_path):
    job = write_job(tmp_path, extract_date="2024-12-31")
    releases = tmp_path / "releases.csv"
    status, _out, err = cli("measure", releases, tmp_path / "convictions.csv", "--log", releases)
    assert status == 2 and "--log" in err and releases.read_text().startswith("offender_id")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "--log", tmp_path / "out" / "l.log")
    assert status == 2 and "inside the folder" in err and not (tmp_path / "out").exists()
    status, _out, err = cli("measure", releases, tmp_path / "convictions.csv", "--log", tmp_path / "no" / "l.log")
    assert status == 73 and not (tmp_path / "no").exists()


def test_acknowledge_in_the_bulletin_config(cli, tmp_path):
    """The tiny bulletin's baseline comparison warns few-expected (2022Q2): printed, then acknowledged in the
    config: not printed, but logged and in the manifest, marked acknowledged."""
    job = write_job(tmp_path, BASELINE, extract_date="2024-12-31")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out")
    assert status == 0 and err.startswith(f"reoffend: warning: {FEW}") and err.count("\n") == 1
    job.write_text('acknowledge = ["few-expected"]\n' + job.read_text())
    log = tmp_path / "bulletin.log"
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "--log", log)
    assert status == 0 and err == ""
    (warning,) = json.loads((tmp_path / "out" / "manifest.json").read_text())["warnings"]
    assert warning["code"] == "few-expected" and warning["acknowledged"] and warning["subjects"] == ["2022Q2"]
    assert [(e["code"], e.get("acknowledged")) for e in log_lines(log)] == [("few-expected", True), ("success", None)]
    job.write_text(job.read_text().replace('"few-expected"', '"few-expectd"'))
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out")
    assert status == 2 and "line 1" in err and "did you mean 'few-expected'" in err


def test_acknowledge_in_a_command_config(cli, tmp_path):
    """Releases in January and February 2022 only: 2022Q1 is a partial period (a warning), hidden by a top-level
    ``acknowledge`` in a command's config; an unknown code is a usage error naming the nearest."""
    write_job(tmp_path)
    (tmp_path / "r.csv").write_text("offender_id,release_date\nA,2022-01-10\nB,2022-02-01\n")
    args = ["measure", tmp_path / "r.csv", tmp_path / "convictions.csv", "--exclude-offences", tmp_path / "exclude.txt"]
    args += ["--extract-date", "2024-12-31"]
    status, _out, err = cli(*args, "--csv")
    assert status == 0 and err.startswith("reoffend: warning: cohort 2022Q1 is a partial period")
    log = tmp_path / "q.log"
    status, _out, err = cli(*args, "--csv", "-q", "--log", log)  # -q: said nowhere, logged all the same
    assert status == 0 and err == "" and [e["code"] for e in log_lines(log)] == ["partial-period", "success"]
    config = tmp_path / "c.toml"
    config.write_text('acknowledge = ["partial-period"]\n')
    status, _out, err = cli(*args, "--csv", "--config", config)
    assert status == 0 and err == ""
    config.write_text('acknowledge = ["partial-periods"]\n')
    status, _out, err = cli(*args, "--csv", "--config", config)
    assert status == 2 and "did you mean 'partial-period'" in err


def test_cron_run_of_the_sample_bulletin_is_silent_and_logged(tmp_path):
    """The README's cron job: standard error a file (not a terminal), the sample's job.toml acknowledging its
    one expected warning. Nothing is printed; the log holds every warning of the manifest, and the end."""
    if not BIN.exists():
        pytest.skip(f"entry point not installed at {BIN}")
    log = tmp_path / "bulletin.log"
    command = [BIN, "bulletin", "--config", SAMPLE / "job.toml", "-o", tmp_path / "out", "--log", log]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    events = log_lines(log)
    logged = [{k: e[k] for k in ("code", "message", "subjects", "counts", "acknowledged")} for e in events[:-1]]
    assert logged == manifest["warnings"] and logged  # every warning, none printed
    assert [w["code"] for w in logged] == ["small-comparisons"] and all(w["acknowledged"] for w in logged)
    assert events[-1]["code"] == "success" and events[-1]["command"] == "reoffend bulletin"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_a_log_that_cannot_be_written_fails_a_successful_run(cli, tmp_path):
    """The run's result is written, but what cron keeps is not: exit 74 with one line, as for any output."""
    args = ["measure", SAMPLE / "releases.csv", SAMPLE / "convictions.csv"]
    status, out, err = cli(*args, "--exclude-offences", SAMPLE / "excluded_offences.txt", "--csv", "--log", "/dev/full")
    assert status == 74 and out.startswith("cohort,")
    assert err == "reoffend: error: writing the log /dev/full: no space left on device\n"
