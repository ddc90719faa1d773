"""The group table built without the per-release table equals the one built from it, for any input.

`measure` without `--per-release` uses `grouped_measures` (only releases with a proven reoffence leave the
join's group-by; group sizes come from the index releases); with it, `group_measures(per_release(...))`.
Both must give the same table, bit for bit: null group keys, empty groups, nobody at all, no grouping.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from reoffend.measure import (
    MeasureParams,
    group_measures,
    grouped_measures,
    measure,
    measured_releases,
    per_release,
    proven_reoffences,
)
from reoffend.validate import CONVICTIONS, RELEASES, Table, validate_inputs

START = dt.date(2022, 1, 1)


@st.composite
def inputs(draw):
    people = [f"P{i}" for i in range(6)]
    releases, seen = [], set()
    for _ in range(draw(st.integers(0, 12))):
        person, day = draw(st.sampled_from(people)), draw(st.integers(0, 700))
        if (person, day) in seen:
            continue
        seen.add((person, day))
        releases.append(
            {
                "offender_id": person,
                "release_date": START + dt.timedelta(days=day),
                "establishment": draw(st.sampled_from(["E1", "E2", None])),
            }
        )
    convictions = []
    for _ in range(draw(st.integers(0, 20))):
        offence = START + dt.timedelta(days=draw(st.integers(-30, 1200)))
        convictions.append(
            {
                "offender_id": draw(st.sampled_from(people)),
                "offence_date": offence,
                "conviction_date": offence + dt.timedelta(days=draw(st.integers(0, 500))),
                "appearance_id": draw(st.sampled_from(["X1", "X2", None])),
            }
        )
    release_schema = {"offender_id": pl.String, "release_date": pl.Date, "establishment": pl.String}
    conviction_schema = {
        "offender_id": pl.String,
        "offence_date": pl.Date,
        "conviction_date": pl.Date,
        "appearance_id": pl.String,
    }
    return validate_inputs(
        Table("releases.csv", RELEASES, pl.DataFrame(releases, schema=release_schema).lazy()),
        Table("convictions.csv", CONVICTIONS, pl.DataFrame(convictions, schema=conviction_schema).lazy()),
        extract_date=dt.date(2030, 1, 1),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs(), st.sampled_from([(), ("cohort",), ("establishment", "cohort"), ("establishment",)]))
def test_group_table_without_the_per_release_table_is_the_same(validated, by):
    params = MeasureParams(by=by)
    releases, _ = measured_releases(validated, params)
    convictions = proven_reoffences(validated.convictions, frozenset())
    direct = grouped_measures(releases, convictions, by, 0.95).collect()
    via_table = group_measures(per_release(releases, convictions, by), by, 0.95).collect()
    assert_frame_equal(direct, via_table, check_exact=True)
    # and `measure` itself, with and without the audit table
    plain = measure(validated, params).rows
    audited = measure(validated, params, audit_table=True).rows
    assert_frame_equal(plain, audited, check_exact=True)
    assert_frame_equal(plain, via_table, check_exact=True)
