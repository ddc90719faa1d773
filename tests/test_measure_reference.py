"""Cross-check: a deliberately simple pure-Python reading of docs/measures.md agrees exactly with `measure`."""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict

import polars as pl
import pytest

from reoffend.measure import MeasureParams, measure
from reoffend.synth import SynthParams, generate
from reoffend.validate import CONVICTIONS, RELEASES, Table, validate_inputs


def plus_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def quarter(day: dt.date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def reference(releases: list[dict], convictions: list[dict], excluded: set[str], index_all: bool) -> dict:
    """Per (cohort, establishment): cohort_size, reoffenders, reoffences, reconviction_events, days to first."""
    by_person = defaultdict(list)
    for row in convictions:
        by_person[row["offender_id"]].append(row)
    chosen = {}
    for position, row in enumerate(releases):
        key = (row["offender_id"], quarter(row["release_date"])) if not index_all else position
        best = chosen.get(key)
        if best is None or (row["release_date"], row["establishment"]) < (best["release_date"], best["establishment"]):
            chosen[key] = row
    groups = defaultdict(
        lambda: {"cohort_size": 0, "reoffenders": 0, "reoffences": 0, "reconviction_events": 0, "days": []}
    )
    for row in chosen.values():
        start = row["release_date"]
        end = plus_months(start, 12)
        deadline = plus_months(end, 6)
        proven = [
            c
            for c in by_person[row["offender_id"]]
            if start <= c["offence_date"] < end
            and c["conviction_date"] < deadline
            and c["offence_code"] not in excluded
        ]
        group = groups[(quarter(start), row["establishment"])]
        group["cohort_size"] += 1
        group["reoffenders"] += bool(proven)
        group["reoffences"] += len(proven)
        group["reconviction_events"] += len({c["conviction_date"] for c in proven})
        if proven:
            group["days"].append((min(c["offence_date"] for c in proven) - start).days)
    return groups


@pytest.mark.parametrize("index_all", [False, True])
def test_reference_implementation_agrees_exactly(index_all):
    releases, convictions, _ = generate(SynthParams(releases=3000, seed=7, establishments=12))
    inputs = validate_inputs(Table("r", RELEASES, releases.lazy()), Table("c", CONVICTIONS, convictions.lazy()))
    params = MeasureParams(
        by=("cohort", "establishment"), excluded_offences=frozenset({"BREACH"}), index="all" if index_all else "first"
    )
    result = measure(inputs, params).rows
    expected = reference(releases.to_dicts(), convictions.to_dicts(), {"BREACH"}, index_all)

    assert result.height == len(expected)
    for row in result.iter_rows(named=True):
        want = expected[(row["cohort"], row["establishment"])]
        for column in ("cohort_size", "reoffenders", "reoffences", "reconviction_events"):
            assert row[column] == want[column], (row["cohort"], row["establishment"], column)
        assert row["binary_rate"] == want["reoffenders"] / want["cohort_size"]
        days = sorted(want["days"])
        if days:
            assert row["mean_days_to_first"] == pytest.approx(sum(days) / len(days), rel=1e-12)
            middle = len(days) // 2
            median = days[middle] if len(days) % 2 else (days[middle - 1] + days[middle]) / 2
            assert row["median_days_to_first"] == median
        else:
            assert row["mean_days_to_first"] is None
    # the synthetic population has every kind of row the rules must ignore, so the check is not vacuous
    totals = result.select(pl.col("reoffences").sum(), pl.col("reoffenders").sum()).row(0)
    assert 0 < totals[1] < result["cohort_size"].sum()
    assert totals[0] < convictions.height
