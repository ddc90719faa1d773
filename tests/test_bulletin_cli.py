"""`reoffend bulletin` as a cron job runs it: config checking, exit statuses, incomplete cohorts, and a failed
run that leaves no partial bulletin and an earlier bulletin in place."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import polars as pl
import pytest

from reoffend.bulletin import folder
from reoffend.bulletin.config import INPUTS_SCHEMA, MEASURE_SCHEMA, parse_config
from reoffend.errors import UsageError
from reoffend.report.views import baseline_headlines

from .conftest import write_csv

# Quarterly cohorts, 12-month follow-up, 6-month waiting period.
# 2022Q1: A (2022-01-10), B (2022-02-01), E (2022-03-01); 2022Q2: C (2022-04-05), D (2022-06-30).
RELEASES = (
    "offender_id,release_date,establishment\n"
    "A,2022-01-10,E1\nB,2022-02-01,E2\nE,2022-03-01,E2\nC,2022-04-05,E1\nD,2022-06-30,E2\n"
)
# A: two offences, the second convicted 2023-03-15 (follow-up ends 2023-01-10: counted with a waiting period of
# 3+ months); B: offence convicted 2023-07-20 (ends 2023-02-01: counted with 6+ months); C: convicted in the
# follow-up; a BREACH never counts.
CONVICTIONS = (
    "offender_id,offence_date,conviction_date,offence_code\n"
    "A,2022-03-01,2022-04-01,THEFT\n"
    "A,2022-12-01,2023-03-15,THEFT\n"
    "B,2022-05-01,2023-07-20,THEFT\n"
    "C,2022-05-01,2022-06-01,THEFT\n"
    "D,2022-08-01,2022-08-02,BREACH\n"
)


# The tiny fixtures are worked by hand person by person: disclosure control is turned off explicitly (with the
# defaults every one of their groups would be suppressed; tests/test_bulletin_publication.py checks that).
NO_DISCLOSURE = "\n[disclosure]\nmin_cohort = 0\nmin_count = 0\n"


def write_job(tmp_path: Path, extra: str = "", disclosure: str = NO_DISCLOSURE, **inputs: str) -> Path:
    write_csv(tmp_path / "releases.csv", RELEASES)
    write_csv(tmp_path / "convictions.csv", CONVICTIONS)
    (tmp_path / "exclude.txt").write_text("BREACH\n")
    lines = ['title = "Test bulletin"', "", "[inputs]", 'releases = "releases.csv"', 'convictions = "convictions.csv"']
    lines.append('exclude_offences = "exclude.txt"')
    lines += [f"{key} = {value}" for key, value in inputs.items()]
    job = tmp_path / "job.toml"
    job.write_text("\n".join(lines) + "\n" + extra + disclosure)
    return job


def snapshot(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def leftovers(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name.startswith(f".{target.name}."))


@pytest.fixture
def earlier(tmp_path, cli):
    """A bulletin already in place (extract date 2024-12-31: every cohort complete)."""
    job = write_job(tmp_path, extract_date="2024-12-31")
    target = tmp_path / "out"
    status, _out, err = cli("bulletin", "--config", job, "-o", target, "-q")
    assert status == 0, err
    return job, target, snapshot(target)


# ------------------------------------------------------------------------------------------ hand-worked
def test_tiny_bulletin_numbers_by_hand(earlier):
    _job, target, _files = earlier
    trend = pl.read_csv(target / "tables" / "trend.csv")
    # 2022Q1: A (2 reoffences), B (1, convicted within the 6-month waiting period), E (none) -> 2 of 3
    # 2022Q2: C (1), D (only a BREACH, excluded) -> 1 of 2
    assert trend.select("cohort", "cohort_size", "reoffenders", "reoffences").rows() == [
        ("2022Q1", 3, 2, 3),
        ("2022Q2", 2, 1, 1),
    ]
    lag = pl.read_csv(target / "tables" / "court_lag.csv")
    # reoffences counted by waiting period: A's first and C's (0+ months), A's second (3+), B's (6+)
    assert lag["reoffences"].to_list() == [2, 2, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4]
    assert lag["share_of_reoffences"].to_list()[0] == 2 / 4
    assert lag["share_of_reoffences"].to_list()[3] == 3 / 4
    # reoffenders: A and C from 0 months, B from 6 -> 2/3 then 1
    assert lag["share_of_reoffenders"].to_list()[0] == pytest.approx(2 / 3)
    assert lag["share_of_reoffenders"].to_list()[6] == 1.0
    changes = pl.read_csv(target / "tables" / "changes.csv")
    assert changes["comparison"].to_list() == ["previous cohort"]
    assert changes["difference_pp"][0] == pytest.approx(100 * (1 / 2 - 2 / 3))
    text = (target / "bulletin.md").read_text()
    assert "**50.0%** of the 2 people released from custody in April to June 2022" in text
    assert "rate fell by 16.7 percentage points" in text
    assert "No cohort from a year before April to June 2022" in text


def test_incomplete_cohort_is_left_out_and_named(tmp_path, cli):
    # extract 2023-12-28: D (released 2022-06-30) has its deadline 2023-12-30, after 2023-12-29 -> 2022Q2 is
    # incomplete (1 of its 2 releases); 2022Q1's latest deadline (E: 2023-09-01) has passed.
    job = write_job(tmp_path, extract_date="2023-12-28")
    target = tmp_path / "out"
    status, _out, err = cli("bulletin", "--config", job, "-o", target, "-q")
    assert status == 0, err
    cohorts = pl.read_csv(target / "tables" / "cohorts.csv")
    # releases run from January to June 2022: both quarters are whole (partial_period false)
    assert cohorts.rows() == [("2022Q1", 3, 0, True, False), ("2022Q2", 2, 1, False, False)]
    trend = pl.read_csv(target / "tables" / "trend.csv")
    assert trend["cohort"].to_list() == ["2022Q1"]  # C's complete release does not make 2022Q2 publishable
    text = (target / "bulletin.md").read_text()
    assert "Not yet included: April to June 2022 (1 of 2 releases)" in text
    assert "**66.7%** of the 3 people released from custody in January to March 2022" in text
    # no cohort can yet be followed for a 12-month waiting period: no court-lag curve, and the text says none
    assert not (target / "tables" / "court_lag.csv").exists()
    assert not (target / "figures" / "court_lag.png").exists()
    assert "court lag" not in text.lower()


def test_no_complete_cohort_is_a_data_error(tmp_path, cli):
    job = write_job(tmp_path, extract_date="2023-08-01")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out")
    assert status == 65
    assert "no cohort has complete follow-up" in err
    assert not (tmp_path / "out").exists() and not leftovers(tmp_path / "out")


# ------------------------------------------------------------------------------------------------ config
@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("[measure]\nfollow_up = 12\nwaitng_period = 6\n", "line 9: [measure] waitng_period: unknown key"),
        ('[measure]\nfollow_up = "twelve"\n', "line 8: [measure] follow_up: expected a whole number"),
        (
            "[measure]\nconfidence = 1.5\n",
            "line 8: [measure] confidence: expected a number above 0 and at most 0.999999999999",
        ),
        ('[measure]\nperiod = "week"\n', "line 8: [measure] period: expected one of month, quarter"),
        ("[comparisons.nonesuch]\nx = 1\n", "[comparisons] nonesuch: unknown comparison"),
        ("[extras]\nx = 1\n", "extras: unknown section"),
        ("[measure\n", "not valid TOML"),
    ],
)
def test_bad_config_names_key_and_line_exit_2(tmp_path, cli, extra, expected):
    job = write_job(tmp_path, extra=extra)
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out")
    assert status == 2, err
    assert expected in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_top_level_unknown_key_and_wrong_type(tmp_path):
    job = write_job(tmp_path, dedupe='"yes"')
    with pytest.raises(UsageError, match=r"line 7: \[inputs\] dedupe: expected true or false"):
        parse_config(str(job))
    job.write_text('titel = "x"\n' + job.read_text())
    with pytest.raises(UsageError, match=r"line 1: titel: unknown key"):
        parse_config(str(job))


def test_missing_config_and_missing_input_exit_statuses(tmp_path, cli):
    status, _out, err = cli("bulletin", "--config", tmp_path / "nope.toml")
    assert status == 66 and "no such config file" in err
    job = write_job(tmp_path)
    (tmp_path / "convictions.csv").unlink()
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out")
    assert status == 66 and "convictions.csv: no such file" in err
    status, _out, err = cli("bulletin")
    assert status == 2 and "--example-config" in err


def test_example_config_is_valid_and_documents_every_key(tmp_path, cli):
    status, out, _err = cli("bulletin", "--example-config")
    assert status == 0
    tomllib.loads(out)
    (tmp_path / "job.toml").write_text(out)
    config = parse_config(str(tmp_path / "job.toml"))
    assert config.inputs.releases == str(tmp_path / "releases.csv")  # relative to the config's folder
    assert config.measure.window.waiting_period_months == 6
    for key in [*INPUTS_SCHEMA, *MEASURE_SCHEMA]:
        assert f"{key} =" in out, key


def test_sample_job_parses():
    job = Path(__file__).resolve().parents[1] / "data" / "sample" / "job.toml"
    config = parse_config(str(job))
    assert Path(config.inputs.releases).is_file() and Path(config.inputs.convictions).is_file()


# -------------------------------------------------------------------------------------- atomic folder
def test_invalid_config_leaves_the_earlier_bulletin(earlier, cli, tmp_path):
    job, target, before = earlier
    job.write_text(job.read_text() + "[measure]\nfollow_up = -1\n")
    status, _out, err = cli("bulletin", "--config", job, "-o", target)
    assert status == 2 and "follow_up" in err
    assert snapshot(target) == before and not leftovers(target)


def test_failure_halfway_through_writing_leaves_the_earlier_bulletin(earlier, cli, monkeypatch):
    job, target, before = earlier
    real_fsync, calls = os.fsync, []

    def failing_fsync(fd):
        calls.append(fd)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(folder.os, "fsync", failing_fsync)
    status, _out, err = cli("bulletin", "--config", job, "-o", target, "--extract-date", "2024-12-30")
    assert status == 74 and "no space left on device" in err  # a write error (docs/cli.md)
    assert len(calls) == 5
    assert snapshot(target) == before and not leftovers(target)


def test_failure_at_the_swap_puts_the_earlier_bulletin_back(earlier, cli, monkeypatch):
    job, target, before = earlier
    real_rename = os.rename

    def rename(source, destination):
        if Path(source).name.endswith(".tmp"):  # the new folder moving in
            raise PermissionError(13, "Permission denied")
        return real_rename(source, destination)

    monkeypatch.setattr(folder.os, "rename", rename)
    status, _out, err = cli("bulletin", "--config", job, "-o", target, "--extract-date", "2024-12-30")
    assert status == 74 and "permission denied" in err  # a write error (docs/cli.md)
    assert snapshot(target) == before and not leftovers(target)


def test_rebuild_replaces_the_earlier_bulletin(earlier, cli):
    job, target, before = earlier
    status, _out, err = cli("bulletin", "--config", job, "-o", target, "--extract-date", "2024-12-30")
    assert status == 0, err
    after = snapshot(target)
    assert after["manifest.json"] != before["manifest.json"]  # the new extract date is recorded
    assert b"30 December 2024" in after["bulletin.md"] and not leftovers(target)  # dates in words


def test_unwritable_or_unsuitable_targets(tmp_path, cli):
    job = write_job(tmp_path)
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "no" / "such" / "folder")
    assert status == 73 and "does not exist" in err
    (tmp_path / "a-file").write_text("x")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "a-file")
    assert status == 2
    precious = tmp_path / "documents"
    precious.mkdir()
    (precious / "thesis.txt").write_text("do not delete")
    status, _out, err = cli("bulletin", "--config", job, "-o", precious)
    assert status == 2 and "not a bulletin" in err
    assert (precious / "thesis.txt").read_text() == "do not delete"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to a read-only folder")
def test_read_only_folder(tmp_path, cli):
    job = write_job(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        status, _out, err = cli("bulletin", "--config", job, "-o", locked / "out")
        assert status == 73 and "permission denied" in err.lower()
    finally:
        locked.chmod(0o700)


def test_quiet_off_a_terminal_prints_nothing(tmp_path, cli):
    job = write_job(tmp_path, extract_date="2024-12-31")
    status, out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out")
    assert status == 0 and out == "" and err == ""


# ---------------------------------------------------------------------------------------------- comparisons
BASELINE = '[comparisons.baseline]\nsite = "E2"\nbaseline = "2022Q1"\ntarget = 5.0\n'


def test_baseline_comparison_is_the_baseline_core(tmp_path, cli):
    from reoffend.compare.baseline import BaselineParams, Counts, compare_counts

    job = write_job(tmp_path, extra=BASELINE, extract_date="2024-12-31")
    target = tmp_path / "out"
    status, _out, err = cli("bulletin", "--config", job, "-o", target, "-q")
    assert status == 0, err
    table = pl.read_csv(target / "tables" / "comparison_baseline.csv", schema_overrides={"current": pl.String})
    # E2: 2022Q1 B reoffended, E did not -> 1 of 2; 2022Q2 (the latest cohort) D only a BREACH -> 0 of 1
    expected = compare_counts([Counts("2022Q2", 0, 1)], Counts("2022Q1", 1, 2), BaselineParams(target_pp=5.0))
    assert table.select("current", "current_reoffenders", "current_size", "baseline_size").rows() == [
        ("2022Q2", 0, 1, 2)
    ]
    assert table["reduction_pp"][0] == 50.0 and table["target_met"][0] is True
    assert table["p_reduction"][0] == pytest.approx(expected.rows["p_reduction"][0])
    text = (target / "bulletin.md").read_text()
    assert "## Against the baseline: E2" in text
    # the core's sentence, as the bulletin writes it: cohorts in words and one minus sign (docs/bulletin.md)
    from reoffend.bulletin.text import cohorts_in_words, minus, plain_measures

    assert minus(plain_measures(cohorts_in_words(baseline_headlines(expected), "quarter"))) in text
    parameters = dict(pl.read_csv(target / "tables" / "parameters.csv").rows())
    assert parameters["baseline_target_pp"] == "5" and parameters["baseline_site"] == "E2"


def test_fail_unless_significant_exits_1_after_writing(tmp_path, cli):
    job = write_job(tmp_path, extra=BASELINE + "fail_unless_significant = true\n", extract_date="2024-12-31")
    target = tmp_path / "out"
    status, _out, err = cli("bulletin", "--config", job, "-o", target)
    assert status == 1, err  # 0 of 1 against 1 of 2 is not a significant reduction
    assert "baseline" in err and (target / "index.html").is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[comparisons.baseline]\nsite = "E2"\n', "baseline: the baseline cohort is required"),
        ('[comparisons.baseline]\nbaseline = "2022Q1"\ncurrent = ["2022Q2"]\n', "2022Q2 is not a complete cohort"),
        ('[comparisons.baseline]\nbaseline = "2022Q1"\nsided = "three"\n', "line 10: [comparisons.baseline] sided"),
        ('[comparisons.matched]\ncovariates = ["age"]\n', "[comparisons.matched] treated: give the treated group"),
        ('[comparisons.matched]\ntreated = { establishment = "E1" }\n', "covariates: the release columns"),
        ('[comparisons.matched]\ntreated = "E1"\n', "line 9: [comparisons.matched] treated: expected a table"),
        (
            "[comparisons.matched]\nratio = 0\n",
            "line 9: [comparisons.matched] ratio: expected a whole number at least 1",
        ),
        ('[comparisons.adjusted]\ncovariates = ["establishment"]\n', "[comparisons.adjusted] baseline: required"),
        ('[comparisons.adjusted]\nbaseline = ["2022Q1"]\n', "[comparisons.adjusted] covariates: required"),
        (
            '[comparisons.adjusted]\nbaseline = ["2022Q2"]\ncovariates = ["establishment"]\n',
            "baseline: cohort 2022Q2 is not a complete cohort",
        ),
        (
            '[comparisons.adjusted]\ncount_model = "gamma"\n',
            "line 9: [comparisons.adjusted] count_model: expected one of",
        ),
    ],
)
def test_comparison_config_errors(tmp_path, cli, extra, message):
    job = write_job(tmp_path, extra=extra, extract_date="2023-12-28")  # 2022Q2 incomplete
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out")
    assert status == 2, err
    assert message in err
    assert not (tmp_path / "out").exists()


def test_establishment_column_named_but_missing_is_a_usage_error(tmp_path, cli):
    job = write_job(tmp_path, extra='[measure]\nestablishment = "prison"\n', extract_date="2024-12-31")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out")
    assert status == 2 and "[measure] establishment" in err and "'prison'" in err


def test_no_establishment_section_when_turned_off_or_absent(tmp_path, cli):
    job = write_job(tmp_path, extra='[measure]\nestablishment = ""\n', extract_date="2024-12-31")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 0, err
    assert not (tmp_path / "out" / "tables" / "establishments.csv").exists()
    assert "by establishment" not in (tmp_path / "out" / "bulletin.md").read_text()


def test_a_filter_that_keeps_nobody_is_a_data_error(tmp_path, cli):
    job = write_job(tmp_path, extra='[measure]\nwhere = { establishment = ["E9"] }\n', extract_date="2024-12-31")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out")
    assert status == 65 and "establishment=E9: no release has this value" in err  # named (issue 11)
