"""Option values and the exit statuses of docs/cli.md: a bad value is a usage error (2) naming the option as
typed, never an internal error (70); an empty value is no value; numbers beyond any count or too small a tail
are refused; and what is said on standard error never decides the status.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_csv
from tests.helpers import (
    CONVICTIONS,
    EXTRACT,
    MEASURE,
    RELEASES,
    SAMPLE_INPUTS,
    full_device,
    snapshot,
    unchanged,
    write_bulletin_job,
)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["measure", "r.csv", "c.csv", *EXTRACT, "--by", "cohort,cohort"], "--by names cohort more than once"),
        (["measure", "r.csv", "c.csv", "--follow-up", "100000"], "--follow-up"),
        (["measure", "r.csv", "c.csv", "--waiting-period", "5000"], "--waiting-period"),
        (
            ["power", "--baseline-rate", "0.3", "--baseline-size", "500", "--reduction", "1e-12"],
            "--reduction 1e-12: must be from 0.01 to 100",
        ),
        (
            ["power", "--baseline-rate", "0.3", "--baseline-size", "500", "--current-size", "1e21"],
            "--current-size 1e21: must be from 1 to 1e+09",
        ),
        (
            [
                "compare",
                "matched",
                "r.csv",
                "c.csv",
                "--treated",
                "establishment=EST1",
                "--covariates",
                "age",
                "--bootstrap",
                "1",
            ],
            "at least 200 replicates",
        ),
    ],
)
def test_usage_errors_are_2_never_70(cli, folder, monkeypatch, args, message):
    monkeypatch.chdir(folder)
    write_csv(
        folder / "rc.csv", RELEASES.replace("sex\n", "sex,const\n").replace(",M\n", ",M,1\n").replace(",F\n", ",F,2\n")
    )
    before = snapshot(folder)
    status, _out, err = cli(*args)
    assert status == 2, err
    assert message in err and "internal error" not in err
    assert snapshot(folder) == before


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("--treated", "EST042"), "--treated"),
        (("--treated", "establishment=EST042", "--pool", "EST001"), "--pool"),
    ],
)
def test_a_malformed_filter_is_named_as_typed(cli, sample, monkeypatch, args, option):
    """`compare matched --treated EST042` said "--where takes NAME=VALUE": an option the user never typed."""
    monkeypatch.chdir(sample)
    status, out, err = cli("compare", "matched", "releases.csv", "convictions.csv", "--covariates", "age,sex", *args)
    assert status == 2
    assert f"{option} takes NAME=VALUE, not 'EST" in err and "--where" not in err
    assert out == ""


@pytest.mark.parametrize("alpha", ["0.5", "0.6", "0.9999"])
def test_a_significance_level_of_a_half_or_more_is_a_usage_error(cli, alpha):
    """`--alpha 0.6` printed a "-20% interval, one-sided test at 60%: -12.5 to -12.5" and a "significant
    reduction" for p = 0.056: the agreeing interval's level 1 - 2 alpha is zero or negative from alpha 0.5."""
    counts = ("--current-counts", "30/80", "--baseline-counts", "40/80")
    status, out, err = cli("compare", "baseline", *counts, "--alpha", alpha, "--csv")
    assert status == 2 and "--alpha" in err and "1e-12<=x<0.5" in err
    assert out == "" and "Traceback" not in err
    status, _, err = cli("compare", "baseline", *counts, "--alpha", "0.49", "--csv")
    assert status == 0 and "2% interval, one-sided test at 49%" in " ".join(err.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--columns", "cohort,cohort"), "--columns names cohort more than once"),  # was exit 70
        (("--band", "age=inf", "--by", "age"), "--band 'age=inf': 'inf' is not a finite number"),
        (("--band", "age=20,nan", "--by", "age"), "--band 'age=20,nan': 'nan' is not a finite number"),
        (("--band", "age=20", "--band", "age=30", "--by", "age"), "--band names age more than once"),
    ],
)
def test_bad_measure_output_arguments_are_usage_errors(cli, sample, monkeypatch, args, message):
    """`--columns cohort,cohort` was an internal error (polars DuplicateError, exit 70); `--band age=nan` and
    `--band age=inf` were accepted; a column banded twice kept the last edges silently."""
    monkeypatch.chdir(sample)
    before = snapshot(sample)
    status, out, err = cli("measure", "releases.csv", "convictions.csv", "-q", *args, "-o", "m.csv")
    assert status == 2, err
    assert message in err and "internal error" not in err and "Traceback" not in err
    assert out == "" and not (sample / "m.csv").exists()
    assert unchanged(before, sample)


def test_nowcast_columns_named_twice_is_a_usage_error(cli, sample, monkeypatch):
    monkeypatch.chdir(sample)
    status, _, err = cli("nowcast", "releases.csv", "convictions.csv", "-q", "--columns", "cohort,cohort")
    assert status == 2 and "--columns names cohort more than once" in err


def with_stderr(args, path: Path, *, cwd: Path) -> subprocess.CompletedProcess:
    """``reoffend ARGS 2>PATH``: standard error is the file (or device) ``path``, standard output a pipe."""
    code = "import sys\nfrom reoffend.cli import main\nmain(sys.argv[1:])\n"
    with open(path, "wb") as stderr:
        return subprocess.run(
            [sys.executable, "-c", code, *map(str, args)], cwd=cwd, stdout=subprocess.PIPE, stderr=stderr, timeout=120
        )


SIGNIFICANT = ("compare", "baseline", "--current-counts", "40/100", "--baseline-counts", "90/100")


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (("measure", "r.csv", "breach.csv", *EXTRACT, "-o", "out.csv"), 0),  # warns: BREACH counted, no list
        (("measure", "bad.csv", "c.csv", *EXTRACT, "-o", "out.csv"), 65),
        ((*SIGNIFICANT, "--fail-unless-significant", "--csv"), 0),  # the verdict goes to standard error
        ((*SIGNIFICANT[:3], "90/100", "--baseline-counts", "40/100", "--fail-unless-significant", "--csv"), 1),
        (("measure", "--no-such-option"), 2),
        (("measure", "missing.csv", "c.csv"), 66),
    ],
)
def test_a_full_standard_error_changes_neither_the_output_nor_the_status(folder, tmp_path, args, status):
    """``2>FULL``: a message that cannot be written is lost, and only it. The result was lost instead: exit 1
    (the status of "not significant") with no out.csv, also for invalid data and a significant comparison."""

    write_csv(folder / "bad.csv", "offender_id,release_date\nA,2022-13-01\n")
    write_csv(folder / "breach.csv", CONVICTIONS.replace("THEFT", "BREACH", 1))
    full = full_device(tmp_path)
    done = with_stderr(args, full, cwd=folder)
    assert done.returncode == status, done.stdout
    if "out.csv" in args:
        assert (folder / "out.csv").is_file() == (status == 0)
    if "--csv" in args:
        assert done.stdout.decode().startswith("current,baseline,")


def test_a_message_still_reaches_a_standard_error_that_works(folder, tmp_path):
    """The same runs with standard error a file: the messages are there, whole."""
    write_csv(folder / "bad.csv", "offender_id,release_date\nA,2022-13-01\n")
    done = with_stderr(("measure", "bad.csv", "c.csv", *EXTRACT), tmp_path / "err.txt", cwd=folder)
    assert done.returncode == 65
    text = (tmp_path / "err.txt").read_text()
    assert "invalid data: 1 problem\n" in text and "unparseable-date: 1" in text


MATCHED = ("compare", "matched", "r.csv", "c.csv", *EXTRACT, "--treated", "establishment=EST1", "--covariates", "age")

EMPTY_CASES = [
    (MEASURE, "--exclude-offences"),
    (MEASURE, "--config"),
    (MEASURE, "-o"),
    (MEASURE, "--errors"),
    (MEASURE, "--per-release"),
    (MEASURE, "--columns"),
    (MEASURE, "--map"),
    (MEASURE, "--where"),
    (("bulletin", "--config", "job.toml"), "-o"),
    (("synth", "--releases", "10"), "--out"),
    (MATCHED, "--treated-ids"),
    (MATCHED, "--matches"),
    (MATCHED, "--report"),
    (MATCHED, "--balance-plot"),
    (("compare", "baseline", "r.csv", "c.csv", *EXTRACT, "--site", "EST1", "--current", "2022Q1"), "--schedule"),
    (("sql", "--dialect", "duckdb"), "--release-columns"),
    (("nowcast", "r.csv", "c.csv", *EXTRACT), "--exclude-offences"),
]


@pytest.mark.parametrize(("command", "option"), EMPTY_CASES, ids=[f"{c[0]}{o}" for c, o in EMPTY_CASES])
def test_an_empty_option_value_is_a_usage_error_not_the_option_left_out(cli, folder, monkeypatch, command, option):
    """--exclude-offences "" counted BREACH (silently with -q), bulletin -o "" wrote ./bulletin, synth --out ""
    wrote into the current folder: an empty value read as "not given", exit 0. It is a usage error (2) now,
    before anything is read or written."""

    monkeypatch.chdir(folder)
    write_bulletin_job(folder)
    before = snapshot(folder)
    status, out, err = cli(*command, option, "", "-q") if command[0] != "sql" else cli(*command, option, "")
    assert status == 2, err
    assert f"{option}" in err and "'': an empty value; give a value, or leave" in err and out == ""
    assert snapshot(folder) == before and sorted(p.name for p in folder.iterdir()) == sorted(before)


@pytest.mark.parametrize("option", ["--by", "--site", "--exact"])
def test_the_documented_empty_values_keep_their_meaning(cli, folder, option):
    """--by "" is one overall row, --site "" every release, --exact "" no exact matching (docs/cli.md)."""
    args = {
        "--by": MEASURE,
        "--site": (
            "compare",
            "baseline",
            "r.csv",
            "c.csv",
            *EXTRACT,
            "--period",
            "month",
            "--current",
            "2022-03",
            "--baseline",
            "2022-01",
        ),
        "--exact": (*MATCHED, "--bootstrap", "0", "--caliper", "10"),
    }[option]
    status, _out, err = cli(*[folder / a if a.endswith(".csv") else a for a in args], option, "", "-q")
    assert status != 2 and "an empty value" not in err, err


@pytest.mark.parametrize("edges", ["18,1e50", "-1e20,18", "18,99999999999999999999"])
def test_a_band_edge_beyond_any_count_is_a_usage_error(cli, folder, edges):
    """--band age=18,1e50 was exit 70 (polars cannot hold the whole number 1e50): a usage error naming it."""
    status, out, err = cli("measure", folder / "r.csv", folder / "c.csv", *EXTRACT, "--by", "cohort,age",
                           "--band", f"age={edges}")  # fmt: skip
    assert status == 2, err
    assert "band age: an edge is at most 1e+15 in size" in err and out == ""


@pytest.mark.parametrize(
    "counts", [("99999999999999999999/999999999999999999999", "40/100"), ("40/100", "40/100000000000000000000")]
)
def test_counts_beyond_any_cohort_are_a_usage_error(cli, counts):
    """Huge --current-counts (or --baseline-counts) were exit 70 (a 64-bit count overflows): 2, naming them."""
    status, out, err = cli("compare", "baseline", "--current-counts", counts[0], "--baseline-counts", counts[1])
    assert status == 2, err
    assert "a cohort size is at most 1,000,000,000,000 people" in err and out == ""
    assert ("--current-counts" if "9999" in counts[0] else "--baseline-counts") in err


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (
            ("power", "--baseline-rate", "50%", "--alpha", "1e-17", "--current-size", "100", "--baseline-size", "100"),
            "--alpha",
        ),
        (("power", "--baseline-rate", "50%", "--alpha", "1e-300", "--reduction", "10"), "--alpha"),
        (
            ("compare", "baseline", "--baseline-counts", "5/10", "--current-counts", "3/10", "--alpha", "1e-300"),
            "--alpha",
        ),
        (
            (
                "compare",
                "baseline",
                "--baseline-counts",
                "5/10",
                "--current-counts",
                "3/10",
                "--confidence",
                "0.9999999999999999",
            ),
            "--confidence",
        ),
        (("compare", "adjusted", *SAMPLE_INPUTS, "--baseline", "2022Q1", "--alpha", "1e-17"), "--alpha"),
        (("measure", *SAMPLE_INPUTS, "--confidence", "0.9999999999999999"), "--confidence"),
        (("nowcast", *SAMPLE_INPUTS, "--confidence", "0.9999999999999999"), "--confidence"),
    ],
)
def test_an_alpha_or_confidence_leaving_too_small_a_tail_is_a_usage_error(cli, args, option):
    """Below ~1.1e-16 the normal quantile does not exist: StatisticsError, exit 70. Now exit 2 naming the option."""
    status, _out, err = cli(*args)
    assert status == 2, err
    assert option in err and ("1e-12" in err or "0.999999999999" in err)


def test_the_smallest_tail_allowed_works(cli):
    status, out, err = cli(
        "compare", "baseline", "--baseline-counts", "5/10", "--current-counts", "3/10",
        "--alpha", "1e-12", "--sided", "two", "--confidence", "0.999999999999", "--csv",
    )  # fmt: skip
    assert status == 0, err
    assert "no significant change" in out


# ------------------------------------------------------------------------------------- options that would do nothing
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--band", "age=21,25"), "--band age: not in --by"),
        (("--by", "cohort,sex", "--band", "age=21,25"), "--by cohort,sex,age"),
        (("--min-count", "5"), "--min-count"),
        (("--suppress", "10", "--per-release", "p.csv"), "cannot be disclosure-controlled"),
    ],
)
def test_an_option_that_would_do_nothing_is_a_usage_error(cli, folder, monkeypatch, args, message):
    monkeypatch.chdir(folder)
    before = snapshot(folder)
    status, out, err = cli(*MEASURE, *args)
    assert status == 2 and message in err, err
    assert out == "" and snapshot(folder) == before and not (folder / "p.csv").exists()


def test_the_options_that_do_something_are_still_accepted(cli, folder, monkeypatch):
    monkeypatch.chdir(folder)
    assert cli(*MEASURE, "--by", "cohort,age", "--band", "age=21,35")[0] == 0
    assert cli(*MEASURE, "--where", "age=Under 30", "--band", "age=30")[0] == 0  # a band filtered on
    assert cli(*MEASURE, "--suppress", "1", "--min-count", "0")[0] == 0
    assert cli(*MEASURE, "--per-release", "p.csv")[0] == 0 and (folder / "p.csv").exists()


# -------------------------------------------------------------------- options that would do nothing or match nothing
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("power", "--baseline-rate", "0.5", "--current-size", "100", "--dispersion", "2"),
         "--dispersion: applies only to the frequency measure"),
        (("power", "--baseline-rate", "0.5", "--current-size", "100", "--baseline-events", "150"),
         "--baseline-events: applies only to the frequency measure"),
        (("power", "--measure", "frequency", "--baseline-events", "150", "--current-size", "100",
          "--baseline-rate", "0.5"), "--baseline-rate: applies only to the binary measure"),
        (("power", "--baseline-rate", "0.5", "--current-size", "100", "--site-column", "sex"),
         "--site-column: goes with --site"),
        (("power", "--baseline-rate", "0.5", "--current-size", "100", "--follow-up", "24"),
         "--follow-up: measures records"),
        (("compare", "baseline", "--current-counts", "480/1000", "--baseline-counts", "530/1000", "--where",
          "sex=F"), "--where: measures records"),
        (("compare", "baseline", "r.csv", "c.csv", "--current", "2022Q2", "--baseline", "2022Q1",
          "--site-column", "sex"), "--site-column: goes with --site"),
        (("compare", "baseline", "r.csv", "c.csv", "--current", "2022Q1", "--latest-cohort", "--baseline",
          "2022Q1"), "give --current COHORT or --latest-cohort, not both"),
        (("compare", "adjusted", "r.csv", "c.csv", "--baseline", "2022Q1", "--current", "2022Q2",
          "--latest-cohort", "--covariates", "age"), "give --current COHORT or --latest-cohort, not both"),
        (("compare", "matched", "r.csv", "c.csv", "--treated", "establishment=EST1", "--ids-releases", "all",
          "--covariates", "age"), "--ids-releases: goes with --treated-ids"),
        (("nowcast", "r.csv", "c.csv", "--origins", "3"), "--origins: goes with --backtest"),
        (("nowcast", "r.csv", "c.csv", "--origin-step", "3"), "--origin-step: goes with --backtest"),
        (("nowcast", "r.csv", "c.csv", "--backtest", "--final-cohorts", "2"), "--final-cohorts: does nothing"),
        (("sql", "--dialect", "duckdb", "--cohort-column", "--period", "year"), "--period: the table's cohort"),
        (("synth", "--out", "s", "--establishments", "10", "--treated", "EST042"),
         "--treated EST042: no such establishment among the 10"),
        (("synth", "--out", "s", "--lag-change-from", "2023-01-01"), "--lag-change-from changes nothing"),
        (("bulletin", "--example-config", "-o", "b"), "--example-config prints the example config"),
        (("power", "r.csv", "c.csv", "--baseline", "2022Q1", "--site", "cohort=2021Q1", "--current-size", "9"),
         "--site cannot be a cohort"),
        (("compare", "baseline", "r.csv", "c.csv", "--current", "2022Q2", "--baseline", "2022Q1", "--site", "Q",
          "--site-column", "cohort"), "--site cannot be a cohort"),
        (("compare", "baseline", "r.csv", "c.csv", "--current", "2022Q2,2022Q1", "--baseline", "2022Q1"),
         "--current 2022Q1 is also the --baseline"),
    ],
)  # fmt: skip
def test_an_option_that_would_do_nothing_or_match_nothing_is_a_usage_error(cli, folder, monkeypatch, args, message):
    monkeypatch.chdir(folder)
    before = snapshot(folder)
    status, out, err = cli(*args)
    assert status == 2 and message in err, err
    assert out == "" and snapshot(folder) == before and not (folder / "s").exists() and not (folder / "b").exists()
