"""Nothing silent (docs/cli.md, "Warnings"): a filter, site, treated group or bulletin unit no release has is
invalid data (65) naming it and the closest values; partial periods, ids written differently, unused exclusion
codes, convictions without rows and data in which nothing counts as a reoffence are warned about, or stop the
bulletin unless allowed.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import write_csv
from tests.helpers import (
    CONVICTIONS,
    EXTRACT,
    NOTHING_COUNTED,
    PYTHON,
    SAMPLE,
    nothing_counted_job,
    snapshot,
    unchanged,
    write_bulletin_job,
)


def test_a_where_value_no_release_has_is_65_with_the_closest_values(cli, folder):
    before = snapshot(folder)
    status, out, err = cli("measure", folder / "r.csv", folder / "c.csv", *EXTRACT, "--where", "establishment=EST3")
    assert status == 65 and out == ""
    assert "--where establishment=EST3: no release has this value (2 distinct values)" in err
    assert "did you mean EST2 or EST1?" in err  # difflib order: equally close, the later first
    assert snapshot(folder) == before


def test_a_site_typo_is_65_naming_it_and_column_equals_value_is_accepted(cli, tmp_path):
    releases, convictions = SAMPLE / "releases.csv", SAMPLE / "convictions.csv"
    common = ["--period", "year", "--current", "2023", "--baseline", "2022", "--json"]
    status, _out, err = cli("compare", "baseline", releases, convictions, "--site", "EST42", *common)
    assert status == 65 and "--site establishment=EST42" in err and "did you mean EST042" in err
    assert "(110 distinct values)" in err
    status, out, err = cli("compare", "baseline", releases, convictions, "--site", "establishment=EST042", *common)
    assert status == 0, err
    plain = cli("compare", "baseline", releases, convictions, "--site", "EST042", *common)[1]
    assert json.loads(out)["rows"] == json.loads(plain)["rows"] and json.loads(out)["rows"][0]["current_size"] > 0


def test_a_treated_value_no_release_has_is_65(cli, folder):
    args = ["compare", "matched", folder / "r.csv", folder / "c.csv", "--covariates", "age", *EXTRACT]
    status, _out, err = cli(*args, "--treated", "establishment=ESTX1")
    assert status == 65 and "--treated establishment=ESTX1" in err and "did you mean EST1" in err


def test_partial_periods_are_flagged_on_stderr_and_in_the_metadata(cli, folder):
    # the releases run from January to March 2022; financial year 2021-22 began in April 2021, so the data
    # covers only 2022-01 to 2022-03 of it, while quarter 2022Q1 is whole
    status, out, err = cli(
        "measure", folder / "r.csv", folder / "c.csv", *EXTRACT, "--period", "financial-year", "--json"
    )
    assert status == 0, err
    assert "cohort 2021-22 is a partial period" in err
    metadata = json.loads(out)["metadata"]
    assert metadata["partial_period"] is True
    assert metadata["partial_periods"] == [
        {"cohort": "2021-22", "first_release_month": "2022-01", "last_release_month": "2022-03"}
    ]
    status, out, err = cli("measure", folder / "r.csv", folder / "c.csv", *EXTRACT, "--period", "quarter", "--json")
    assert "partial period" not in err and json.loads(out)["metadata"]["partial_period"] is False  # Q1 is whole


def test_partial_periods_are_flagged_in_the_bulletins_cohort_table(cli, folder):
    job = write_bulletin_job(folder)
    job.write_text(job.read_text() + "[measure]\nperiod = 'year'\n")
    status, _out, err = cli("bulletin", "--config", job, "-o", folder / "out")
    assert status == 0, err
    assert "cohort 2022 is a partial period" in err
    cohorts = (folder / "out" / "tables" / "cohorts.csv").read_text().splitlines()
    assert cohorts[0].endswith(",partial_period") and cohorts[1].startswith("2022,") and cohorts[1].endswith(",true")


def test_ids_written_differently_and_an_unused_exclusion_code_are_warned_about(cli, folder):
    write_csv(folder / "r7.csv", "offender_id,release_date\n007,2022-01-10\n")
    write_csv(folder / "c7.csv", "offender_id,offence_date,conviction_date,offence_code\n7,2022-02-01,2022-03-01,TH\n")
    (folder / "exclude.txt").write_text("BREECH\n")
    args = ["measure", folder / "r7.csv", folder / "c7.csv", *EXTRACT, "--exclude-offences", folder / "exclude.txt"]
    status, _out, err = cli(*args)
    assert status == 0
    assert "no offender_id in" in err and "007 and 7" in err
    assert "no conviction has the offence code(s) BREECH" in err


def test_a_bulletin_baseline_site_no_release_has_is_named_as_the_config_names_it(tmp_path, cli):
    """`[comparisons.baseline] site = "E9"` (a typo) was reported as "--where establishment=E9": an option the
    user never typed. The problem now names the config key; nothing is written."""
    from tests.test_bulletin_cli import write_job

    extra = '[comparisons.baseline]\nsite = "E9"\nbaseline = "2022Q1"\ncurrent = ["2022Q2"]\n'
    job = write_job(tmp_path, extra=extra, extract_date="2024-12-31")
    before = snapshot(tmp_path)
    status, _, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 65, err
    assert "[comparisons.baseline] site establishment=E9: no release has this value (2 distinct values)" in err
    assert "--where" not in err
    assert not (tmp_path / "out").exists() and unchanged(before, tmp_path)


@pytest.mark.parametrize("key", ["treated", "pool"])
def test_a_bulletin_matched_group_no_release_has_is_65_naming_the_config_key(cli, folder, key):
    """The bulletin's [comparisons.matched] treated (or pool) value that no release has is named as the
    config names it, as [comparisons.baseline] site is: not as '--treated', an option bulletin does not have."""
    job = write_bulletin_job(folder)
    groups = {"treated": "EST1", "pool": "EST2"} | {key: "EST9"}
    job.write_text(
        job.read_text() + '[comparisons.matched]\ncovariates = ["age"]\n'
        f'treated = {{ establishment = ["{groups["treated"]}"] }}\npool = {{ establishment = ["{groups["pool"]}"] }}\n'
    )
    before = snapshot(folder)
    status, _out, err = cli("bulletin", "--config", job, "-o", folder / "out", "-q")
    assert status == 65, err
    assert f"[comparisons.matched] {key} establishment=EST9: no release has this value" in err, err
    assert "--treated" not in err and "--pool" not in err
    assert snapshot(folder) == before and not (folder / "out").exists()


def test_header_only_convictions_are_warned_about_in_measure(cli, folder):
    """With --extract-date, a convictions file with a header and no row gave 0% reoffending, exit 0 and no
    word: an extract cut short looks exactly like that. measure now warns (and -q silences it)."""
    write_csv(folder / "none.csv", "offender_id,offence_date,conviction_date\n")
    status, out, err = cli("measure", folder / "r.csv", folder / "none.csv", *EXTRACT, "--csv")
    assert status == 0
    assert "none.csv has a header but no conviction rows: nobody can reoffend, so every rate is 0%" in err
    assert out.splitlines()[1].split(",")[2] == "0"  # reoffenders: the figures are still given
    status, _out, err = cli("measure", folder / "r.csv", folder / "none.csv", *EXTRACT, "-q", "--csv")
    assert status == 0 and err == ""


def test_header_only_convictions_stop_the_bulletin_unless_allowed(cli, folder):
    """The bulletin published all [c] from such a file, exit 0: now 65 naming it, before anything is written;
    [inputs] allow_no_convictions = true publishes it."""
    write_csv(folder / "c.csv", "offender_id,offence_date,conviction_date\n")
    job = folder / "job.toml"
    job.write_text('[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\nextract_date = 2030-01-01\n')
    before = snapshot(folder)
    status, _out, err = cli("bulletin", "--config", job, "-o", folder / "out", "-q")
    assert status == 65, err
    assert "c.csv: the file has a header but no conviction rows" in err and "allow_no_convictions = true" in err
    assert snapshot(folder) == before and not (folder / "out").exists()
    job.write_text(job.read_text().replace("[inputs]\n", "[inputs]\nallow_no_convictions = true\n"))
    status, _out, err = cli("bulletin", "--config", job, "-o", folder / "out", "-q")
    assert status == 0, err
    manifest = (folder / "out" / "manifest.json").read_text()
    assert '"allow_no_convictions": true' in manifest


@pytest.mark.parametrize("kind", sorted(NOTHING_COUNTED))
def test_a_bulletin_in_which_nothing_counts_as_a_reoffence_is_refused(cli, tmp_path, kind):
    """Before: exit 0 and a bulletin of 0% (all [c] under the usual rule). Now 65 saying why and how to allow."""
    job = nothing_counted_job(tmp_path, kind)
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "b")
    assert status == 65, err
    assert "no-reoffences" in err and NOTHING_COUNTED[kind][1] in err and "allow_no_convictions = true" in err
    assert not (tmp_path / "b").exists()


def test_a_bulletin_in_which_nothing_counts_is_published_when_allowed(cli, tmp_path):
    job = nothing_counted_job(tmp_path, "excluded", "allow_no_convictions = true\n")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "b")
    assert status == 0, err
    assert (tmp_path / "b" / "index.html").is_file()


@pytest.mark.parametrize("kind", ["window", "excluded"])
def test_measure_warns_when_nothing_counts_as_a_reoffence(cli, tmp_path, kind):
    """Before: 0% with exit 0 and no word (the unlinked-ids case was already warned of)."""
    nothing_counted_job(tmp_path, kind)
    status, out, err = cli(
        "measure", tmp_path / "r.csv", tmp_path / "c.csv", "--extract-date", "2030-01-01",
        "--exclude-offences", tmp_path / "ex.txt",
    )  # fmt: skip
    assert status == 0, err
    assert "2022Q1,3,0,0.0" in out  # 3 released, 0 reoffenders
    assert "no conviction counts as a reoffence" in err and NOTHING_COUNTED[kind][1] in err


# ----------------------------------------------------------------------------------------- a cohort the data has not
@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("compare", "baseline", "--site", "EST042", "--current", "2029Q4", "--baseline", "2022Q4"),
         "--current 2029Q4"),
        (("compare", "baseline", "--site", "EST042", "--current", "2023Q4", "--baseline", "2022q4"),
         "--baseline 2022q4"),
        (("compare", "adjusted", "--covariates", "age", "--baseline", "2019Q1"), "--baseline 2019Q1"),
        (("compare", "adjusted", "--covariates", "age", "--baseline", "2022Q1", "--current", "2029Q1"),
         "--current 2029Q1"),
        (("compare", "matched", "--treated", "establishment=EST042", "--covariates", "age", "--where",
          "cohort=2029Q1"), "--where cohort=2029Q1"),
        (("power", "--site", "EST042", "--baseline", "2029Q4", "--current-size", "100"), "--baseline 2029Q4"),
    ],
)  # fmt: skip
def test_a_cohort_no_release_has_is_65_with_the_nearest_everywhere(cli, sample, args, option):
    command = args[:2] if args[0] == "compare" else args[:1]
    status, out, err = cli(*command, sample / "releases.csv", sample / "convictions.csv", *args[len(command) :])
    assert status == 65, err
    assert f"{option}: no release has this value" in err and "did you mean" in err and "value-not-found" in err
    assert out == ""


# ------------------------------------------------------------------------------------ a warning is one line in a log
def test_a_warning_is_one_line_when_stderr_is_not_a_terminal(folder):
    write_csv(folder / "b.csv", CONVICTIONS.replace("THEFT", "BREACH_OF_A_LONG_NAMED_LICENCE_CONDITION"))
    done = subprocess.run(
        [PYTHON, "-c", "import sys\nfrom reoffend.cli import main\nmain(sys.argv[1:])", "measure", "r.csv",
         "b.csv", *EXTRACT, "-o", "o.csv"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "80"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line]
    assert len(warnings) == 1 and warnings[0].startswith("reoffend: warning: ") and len(warnings[0]) > 80
    assert "BREACH_OF_A_LONG_NAMED_LICENCE_CONDITION" in warnings[0] and "--exclude-offences" in warnings[0]


# ----------------------------------------------------------------- a cohort or a treated group the data has not (65)
def test_a_bulletin_config_cohort_the_data_has_not_is_65_naming_the_key(cli, folder):
    job = write_bulletin_job(folder)
    job.write_text(job.read_text() + '[comparisons.baseline]\nbaseline = "2021Q4"\n')
    before = snapshot(folder)
    status, _out, err = cli("bulletin", "--config", job, "-o", folder / "out", "-q")
    assert status == 65 and "[comparisons.baseline] baseline 2021Q4: no release has this value" in err, err
    assert "did you mean 2022Q1" in err and snapshot(folder) == before and not (folder / "out").exists()


def test_a_treated_group_the_filters_leave_empty_is_65_as_in_compare_adjusted(cli, folder):
    args = ["compare", "matched", folder / "r.csv", folder / "c.csv", "--treated", "establishment=EST1"]
    status, _out, err = cli(*args, "--where", "establishment=EST2", "--covariates", "age", *EXTRACT)
    assert status == 65 and "--treated matches no index release" in err and "empty-treated" in err, err
