"""Hostile review, round 6 (issue 24, further variants): nothing counted, extreme synth options, huge fields,
escaped duplicate keys, terminal tables, outputs through a path inside a bulletin, power's inputs.

Each test failed before its fix. It asserts the exit status (docs/cli.md, "Exit status") and that the message
names what it must.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import write_csv
from tests.test_hostile import RELEASES

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
SAMPLE_INPUTS = (SAMPLE / "releases.csv", SAMPLE / "convictions.csv")

# ------------------------------------------------------------------- 1. conviction rows, but nothing counted
# RELEASES: A 2022-01-10, B 2022-02-10, C 2022-03-10, one cohort 2022Q1; the extract date 2030-01-01 completes it.
NOTHING_COUNTED = {
    # nobody released is convicted: X and Y are not in the releases
    "ids": ("offender_id,offence_date,conviction_date,offence_code\nX,2022-02-01,2022-03-01,THEFT\n", "matches"),
    # A and C offended in 2021, before their releases in 2022
    "window": (
        "offender_id,offence_date,conviction_date,offence_code\n"
        "A,2021-02-01,2021-03-01,THEFT\nC,2021-05-01,2021-06-01,THEFT\n",
        "follow-up window",
    ),
    # A and C offended within follow-up, but BREACH is excluded
    "excluded": (
        "offender_id,offence_date,conviction_date,offence_code\n"
        "A,2022-02-01,2022-03-01,BREACH\nC,2022-05-01,2022-06-01,BREACH\n",
        "excluded offence code",
    ),
}


def nothing_counted_job(folder: Path, kind: str, extra: str = "") -> Path:
    write_csv(folder / "r.csv", RELEASES)
    write_csv(folder / "c.csv", NOTHING_COUNTED[kind][0])
    (folder / "ex.txt").write_text("BREACH\n")
    job = folder / "job.toml"
    job.write_text(
        'title = "T"\n[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\nextract_date = 2030-01-01\n'
        'exclude_offences = "ex.txt"\n' + extra + "[disclosure]\nmin_cohort = 0\nmin_count = 0\n"
    )
    return job


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


# ------------------------------------------------------------------- 2. synth options at the edge
@pytest.mark.parametrize(
    ("args", "option", "allowed"),
    [
        (("--start", "9999-12-01"), "--start", "9997-12-31"),  # was exit 70: year 10001 is out of range
        (("--start", "1800-01-01"), "--start", "1905-01-01"),  # was data that fails validate (dates before 1900)
        (("--cohorts", "100000000"), "--cohorts", "1<=x<=400"),  # was exit 70
        (("--effect-frequency", "1e308"), "--effect-frequency", "0<x<=100"),  # was exit 70 and numpy warnings
        (("--effect-frequency", "nan"), "--effect-frequency", "0<x<=100"),  # was exit 70
        (("--seed", "-1"), "--seed", "x>=0"),  # was exit 70
        (("--effect-log-odds", "nan"), "--effect-log-odds", "-10<=x<=10"),  # was NaN in meta.json, exit 0
        (("--effect-log-odds", "inf"), "--effect-log-odds", "-10<=x<=10"),
        (("--lag-multiplier", "1e308", "--lag-change-from", "2022-06-01"), "--lag-multiplier", "0<x<=100"),
        (("--site-effect-sd", "1e308"), "--site-effect-sd", "0<=x<=10"),  # was raw numpy warnings
        (("--site-effect-sd", "nan"), "--site-effect-sd", "0<=x<=10"),
        (("--level-trend", "1e308"), "--level-trend", "-100<=x<=100"),
        (("--establishments", "1000000000"), "--establishments", "1<=x<=10000"),  # was a hang
        (("--releases", "100000000000"), "--releases", "10000000"),  # was a MemoryError, exit 70
        (("--releases", "0"), "--releases", "1<=x<=10000000"),  # was an IndexError, exit 70
        (("--extract-date", "0001-01-01"), "--extract-date", "2023-12-31"),  # was data that fails validate
        (("--extract-date", "9999-12-31"), "--extract-date", "9999-12-30"),
    ],
)
def test_a_synth_option_out_of_its_range_is_a_usage_error_before_any_work(cli, tmp_path, args, option, allowed):
    status, _out, err = cli("synth", "--releases", "200", "--out", tmp_path / "s", *args)
    assert status == 2, err
    assert option in err and allowed in err
    assert "Traceback" not in err and "Warning" not in err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("--start", "1905-01-01", "--extract-date", "9999-12-30", "--lag-multiplier", "100", "--lag-change-from",
         "1905-01-01"),
        ("--start", "9995-10-01",),  # the last cohort ends 9997-10-01, the default extract date 9999-09-30
        ("--site-effect-sd", "10", "--effect-log-odds", "-10", "--effect-frequency", "100"),
        ("--level-trend", "-100", "--level-shift", "100", "--level-shift-from", "2022-06-01"),
        ("--extract-date", "2023-12-31",),  # the last day of the eighth cohort from 2022-01-01
    ],
)  # fmt: skip
def test_synth_at_the_ends_of_its_ranges_writes_data_that_validates(cli, tmp_path, args):
    status, _out, err = cli("synth", "--releases", "500", "--format", "csv", "-q", "--out", tmp_path / "s", *args)
    assert status == 0, err
    assert err == ""  # no numpy warning (overflow of exp at a log-odds of -800 is a chance of 0, said nowhere)
    status, _out, err = cli(
        "validate", tmp_path / "s" / "releases.csv", tmp_path / "s" / "convictions.csv", "-q", "--incomplete",
        "exclude", "--extract-date", json.loads((tmp_path / "s" / "meta.json").read_text())["extract_date"],
    )  # fmt: skip
    assert status == 0, err
