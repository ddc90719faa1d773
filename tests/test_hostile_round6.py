"""Hostile review, round 6 (issue 24, further variants): nothing counted, extreme synth options, huge fields,
escaped duplicate keys, terminal tables, outputs through a path inside a bulletin, power's inputs.

Each test failed before its fix. It asserts the exit status (docs/cli.md, "Exit status") and that the message
names what it must.
"""

from __future__ import annotations

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
