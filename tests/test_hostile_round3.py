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


def test_the_bulletins_baseline_counts_give_compare_records_rates_to_the_last_bit_for_a_cohort_named_twice():
    """The bulletin counts its baseline comparison from its one join (all complete cohorts), compare_records
    from a measure of the compared cohorts: the same counts. Joined into the current cohorts' frame, the
    counts carried what polars knew of the table they came from, and the Wilson bounds of a cohort named
    twice differed in the last place (0.20654931437723756 against ...745): the comparison's rows are now
    built from plain values either way. Hand-worked: P1 released 2022-01-01 reoffends (offence the same
    day, convicted the same day), P2 released 2022-04-01 does not; 2022Q1 is 1 of 1, 2022Q2 0 of 1."""
    from polars.testing import assert_frame_equal

    from reoffend.bulletin.comparisons import run_baseline
    from reoffend.bulletin.stats import CohortMeasures, restrict_cohorts
    from reoffend.measure import MeasureParams
    from reoffend.validate import CONVICTIONS, RELEASES, Table, validate_inputs
    from reoffend.window import FollowUpWindow

    releases = pl.DataFrame(
        {"offender_id": ["P0000002", "P0000001"], "release_date": [D(2022, 4, 1), D(2022, 1, 1)], "establishment": "E1"}
    )
    convictions = pl.DataFrame(
        {"offender_id": ["P0000001"], "offence_date": [D(2022, 1, 1)], "conviction_date": [D(2022, 1, 1)]}
    )
    inputs = validate_inputs(
        Table("r", RELEASES, releases.lazy()), Table("c", CONVICTIONS, convictions.lazy()), extract_date=D(2030, 1, 1)
    )
    params = MeasureParams(by=("cohort",), period="quarter", incomplete="exclude", window=FollowUpWindow(12, 0))
    labels = ["2022Q1", "2022Q2"]
    measured = CohortMeasures(inputs, restrict_cohorts(params, labels), ("establishment",), 12)
    for baseline in labels:
        options = {"baseline": baseline, "current": ["2022Q1", "2022Q1"]}
        plain = run_baseline(options, inputs, params, labels[-1], labels)
        shared = run_baseline(options, inputs, params, labels[-1], labels, measured=measured)
        assert plain.rows["current_size"].to_list() == [1, 1] and plain.rows["current_reoffenders"].to_list() == [1, 1]
        assert_frame_equal(shared.rows, plain.rows, check_exact=True)
