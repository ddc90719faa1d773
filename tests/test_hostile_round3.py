"""Hostile review, round 3: this session's speed work (issue 16) against the code before it.

Each test failed before its fix, and pins the output the code gave before the speed work (and gives again).
"""

from __future__ import annotations

import datetime as dt
import io

import polars as pl

D = dt.date


def test_bulletin_baseline_site_given_as_empty_text_compares_every_release_as_before(cli, tmp_path):
    """``[comparisons.baseline] site = ""`` names no site, as ``compare baseline --site ""`` does: every release
    is compared (compare_records narrows only by a non-empty site). Counting the comparison from the
    bulletin's one join narrowed it to the releases whose establishment is the empty text instead, which
    a Parquet file can hold (a CSV reads an empty cell as missing, and the site is then not found).

    Hand-worked: 2022Q1 (baseline) has A (establishment "") and B (EST1); 2022Q2 (current) has C ("") and
    D (EST1). A and D reoffend within 12 months (convictions within 18). So each cohort is 1 of 2; narrowed
    to "" the baseline would be 1 of 1 and the current 0 of 1.
    """
    pl.DataFrame(
        {
            "offender_id": ["A", "B", "C", "D"],
            "release_date": [D(2022, 1, 10), D(2022, 2, 10), D(2022, 4, 10), D(2022, 5, 10)],
            "establishment": ["", "EST1", "", "EST1"],
        }
    ).write_parquet(tmp_path / "r.parquet")
    pl.DataFrame(
        {
            "offender_id": ["A", "D"],
            "offence_date": [D(2022, 2, 1), D(2022, 8, 1)],
            "conviction_date": [D(2022, 3, 1), D(2022, 9, 1)],
        }
    ).write_parquet(tmp_path / "c.parquet")
    job = tmp_path / "job.toml"
    job.write_text(
        '[inputs]\nreleases = "r.parquet"\nconvictions = "c.parquet"\nextract_date = 2030-01-01\n'
        '[comparisons.baseline]\nsite = ""\nbaseline = "2022Q1"\ncurrent = ["2022Q2"]\n'
        "[disclosure]\nmin_cohort = 0\nmin_count = 0\n"
    )
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 0, err
    row = pl.read_csv(tmp_path / "out" / "tables" / "comparison_baseline.csv").row(0, named=True)
    columns = ("current_size", "current_reoffenders", "baseline_size", "baseline_reoffenders")
    counts = [row[c] for c in columns]
    assert counts == [2, 1, 2, 1]

    status, out, err = cli(
        "compare", "baseline", tmp_path / "r.parquet", tmp_path / "c.parquet", "--site", "",
        "--baseline", "2022Q1", "--current", "2022Q2", "--extract-date", "2030-01-01", "--format", "csv",
    )  # fmt: skip
    assert status == 0, err
    cli_row = pl.read_csv(io.StringIO(out)).row(0, named=True)
    assert [cli_row[c] for c in columns] == counts
