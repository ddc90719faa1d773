"""The backtest in one pass (issue 30): every origin's observed releases from one group-by of the rows, one
development table keyed by the origin from which each release is complete, and provisional figures worked out
only for the groups a backtest compares; each equal, bit for bit, to one nowcast per origin (the way before)."""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import replace

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from reoffend.measure import EVENT_KEY, MeasureParams
from reoffend.nowcast import (
    AGE,
    COMPLETE,
    DAY,
    FIRST_DAY,
    GROUP_MEDIAN,
    GROUP_SEGMENT,
    KEY,
    LAG_CHANGED,
    MEASURES,
    RATIO,
    SEGMENT,
    STAGE,
    BacktestParams,
    CheckParams,
    NowcastParams,
    _checked_states,
    _expectations,
    _with_shares,
    at_positions,
    backtest,
    backtest_origins,
    development,
    development_moments,
    development_sums,
    development_table,
    group_counts,
    nowcast,
    nowcast_at,
    observed_at,
    observed_from,
    origin_states,
    rows_of,
    seen_by_origin,
)
from reoffend.synth import SynthParams, generate

from .conftest import D, convictions_frame, releases_frame, validated

PARAMS = NowcastParams(MeasureParams(by=("cohort",)))
nowcast_module = importlib.import_module("reoffend.nowcast")  # the package's ``nowcast`` is the function


# ----------------------------------------------------------------------- the observed releases by hand
def hand_development():
    """P1 (released 2022-01-10, cohort 2022Q1): offences of 1 and 5 February convicted together on 15 March
    (two reoffences, one event: day 64 = 21 + 28 + 15), one of 1 April convicted on 20 June (day 161). P2
    (1 February): one offence convicted on 10 July (day 159 = 27 + 31 + 30 + 31 + 30 + 10). P3 (15 July, cohort
    2022Q3): one offence convicted on 30 August (day 46). Nobody else."""
    releases = releases_frame(
        [
            {"offender_id": "P1", "release_date": "2022-01-10", "establishment": "A"},
            {"offender_id": "P2", "release_date": "2022-02-01", "establishment": "A"},
            {"offender_id": "P3", "release_date": "2022-07-15", "establishment": "B"},
        ]
    )
    convictions = convictions_frame(
        [
            {"offender_id": "P1", "offence_date": "2022-02-01", "conviction_date": "2022-03-15"},
            {"offender_id": "P1", "offence_date": "2022-02-05", "conviction_date": "2022-03-15"},
            {"offender_id": "P1", "offence_date": "2022-04-01", "conviction_date": "2022-06-20"},
            {"offender_id": "P2", "offence_date": "2022-05-01", "conviction_date": "2022-07-10"},
            {"offender_id": "P3", "offence_date": "2022-08-01", "conviction_date": "2022-08-30"},
        ]
    )
    return development(validated(releases, convictions, extract_date=D("2022-12-31")), PARAMS)


# per origin and offender: (reoffences, reconviction events, first day); None: not released by then
HAND = {
    D("2022-03-31"): {"P1": (2, 1, 64), "P2": (0, 0, None), "P3": None},  # cohort 2022Q3 empty yet
    D("2022-05-31"): {"P1": (2, 1, 64), "P2": (0, 0, None), "P3": None},  # nothing new convicted
    D("2022-06-30"): {"P1": (3, 2, 64), "P2": (0, 0, None), "P3": None},  # 20 June: a second event
    D("2022-08-31"): {"P1": (3, 2, 64), "P2": (1, 1, 159), "P3": (1, 1, 46)},
}


def test_observed_at_every_origin_in_one_pass_by_hand():
    data = hand_development()
    origins = sorted(HAND)
    seen = seen_by_origin(data, origins)
    for index, origin in enumerate(origins):
        one_pass = observed_from(data, seen, index, origin, PARAMS.window).sort(KEY)
        got = {
            row["offender_id"]: (row["reoffences"], row["reconviction_events"], row[FIRST_DAY])
            for row in one_pass.iter_rows(named=True)
        }
        assert got == {person: counts for person, counts in HAND[origin].items() if counts is not None}, origin
        # age t = origin - release + 1: P1 at 31 March 2022 is 21 + 28 + 31 + 1 = 81 days old
        if origin == D("2022-03-31"):
            assert one_pass.filter(pl.col("offender_id") == "P1").get_column(AGE).item() == 81
        assert not one_pass.get_column(COMPLETE).any()  # 12 + 6 months: nobody is complete in 2022
        data.last_observed = None  # observed_at computes it afresh
        assert_frame_equal(one_pass, observed_at(data, origin, PARAMS.window).sort(KEY))


# ------------------------------------------------------------- the development table keyed by the origin
release_draws = st.lists(
    st.tuples(
        st.integers(0, 1),  # segment
        st.integers(0, 3),  # stage: the first origin at which the release is complete
        st.lists(st.tuples(st.integers(0, 40), st.integers(0, 2)), max_size=5),  # (day, appearance) per reoffence
    ),
    min_size=1,
    max_size=25,
)


def staged(draws: list, event_by_date: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Reference releases with their ``STAGE`` and their proven reoffence rows from the drawn tuples."""
    releases, rows = [], []
    start = dt.date(2024, 1, 1)
    for key, (segment, stage, offences) in enumerate(draws):
        days = sorted(day for day, _ in offences)
        events = {start + dt.timedelta(days=d) for d in days} if event_by_date else {a for _, a in offences}
        releases.append(
            {
                STAGE: stage,
                SEGMENT: segment,
                KEY: key,
                FIRST_DAY: days[0] if days else None,
                "reoffended": bool(days),
                "reoffences": len(days),
                "reconviction_events": len(events),
            }
        )
        for day, appearance in offences:
            event = start + dt.timedelta(days=day) if event_by_date else f"{key}-{appearance}"
            rows.append({STAGE: stage, SEGMENT: segment, KEY: key, DAY: day, EVENT_KEY: event})
    ints = {STAGE: pl.UInt32, SEGMENT: pl.UInt32, KEY: pl.UInt32}
    event_type = pl.Date if event_by_date else pl.String
    reference = pl.DataFrame(
        releases, schema={**ints, FIRST_DAY: pl.Int32, "reoffended": pl.Boolean, **dict.fromkeys(COUNTS, pl.Int64)}
    )
    row_frame = pl.DataFrame(rows, schema={**ints, DAY: pl.Int32, EVENT_KEY: event_type})
    return reference, row_frame


COUNTS = ("reoffences", "reconviction_events")


@settings(max_examples=60)
@given(draws=release_draws, event_by_date=st.booleans(), ages=st.lists(st.integers(0, 45), min_size=4, max_size=4))
def test_development_table_by_origin_equals_each_origins_own(draws, event_by_date, ages):
    """Stage ``s`` of one table keyed by the stage, cut at its own largest age, is the development table of the
    releases of stages up to ``s`` alone (segments with no release yet are absent, as in one origin's)."""
    reference, rows = staged(draws, event_by_date)
    sums = development_sums(reference, rows, max(ages), 4)
    for stage, max_age in enumerate(ages):
        cut = sums.filter((pl.col(STAGE) == stage) & (pl.col(AGE) <= max_age)).drop(STAGE)
        own = reference.filter(pl.col(STAGE) <= stage)
        expected = development_table(own, rows.join(own.select(KEY), on=KEY), max_age)
        assert_frame_equal(development_moments(cut), expected)


def sums_by_definition(reference: pl.DataFrame, rows: pl.DataFrame, max_age: int, stages: int) -> dict:
    """development_sums' figures counted release by release from their definitions: at age ``t`` a release of
    stage ``s`` or less is unseen when its first conviction day is ``t`` or later (or it has none), else seen,
    and what a seen release still has to come is its rows (events, at their earliest day) of day ``t`` or
    later."""
    days: dict[int, list[int]] = {}
    events: dict[int, dict[object, int]] = {}
    for row in rows.iter_rows(named=True):
        days.setdefault(row[KEY], []).append(row[DAY])
        firsts = events.setdefault(row[KEY], {})
        firsts[row[EVENT_KEY]] = min(firsts.get(row[EVENT_KEY], row[DAY]), row[DAY])
    counted = {}
    for stage in range(stages):
        own = [r for r in reference.iter_rows(named=True) if r[STAGE] <= stage]
        for segment in {r[SEGMENT] for r in own}:
            releases = [r for r in own if r[SEGMENT] == segment]
            for age in range(max_age + 1):
                unseen = [r for r in releases if r[FIRST_DAY] is None or r[FIRST_DAY] >= age]
                seen = [r[KEY] for r in releases if r[FIRST_DAY] is not None and r[FIRST_DAY] < age]
                figures = {"u_n": len(unseen), "o_n": len(seen)}
                for count in ("reoffended", "reoffences", "reconviction_events"):
                    figures[f"u_s1_{count}"] = sum(int(r[count]) for r in unseen)
                    figures[f"u_s2_{count}"] = sum(int(r[count]) ** 2 for r in unseen)
                to_come = {
                    "reoffences": [sum(d >= age for d in days.get(k, [])) for k in seen],
                    "reconviction_events": [sum(d >= age for d in events.get(k, {}).values()) for k in seen],
                }
                for count, left in to_come.items():
                    figures[f"o_s1_{count}"] = sum(left)
                    figures[f"o_s2_{count}"] = sum(x * x for x in left)
                counted[(stage, segment, age)] = figures
    return counted


@settings(max_examples=60)
@given(draws=release_draws, event_by_date=st.booleans(), max_age=st.integers(0, 45))
def test_development_sums_by_definition(draws, event_by_date, max_age):
    """Every stage, segment and age of development_sums (its parts summed apart and joined to the grid, ninth
    round) is what the releases give counted one by one."""
    reference, rows = staged(draws, event_by_date)
    sums = development_sums(reference, rows, max_age, 4)
    got = {
        (r[STAGE], r[SEGMENT], r[AGE]): {k: v for k, v in r.items() if k not in (STAGE, SEGMENT, AGE)}
        for r in sums.iter_rows(named=True)
    }
    assert got == sums_by_definition(reference, rows, max_age, 4)


def test_a_stage_with_no_release_yet_has_an_empty_table():
    """Releases complete only from the third origin on: the first two origins have nothing to learn from."""
    reference, rows = staged([(0, 2, [(3, 0)]), (1, 3, [])], event_by_date=True)
    sums = development_sums(reference, rows, 5, 4)
    assert sums.filter(pl.col(STAGE) < 2).height == 0
    assert sums.filter(pl.col(STAGE) == 2).get_column(SEGMENT).unique().to_list() == [0]
    assert sorted(sums.filter(pl.col(STAGE) == 3).get_column(SEGMENT).unique().to_list()) == [0, 1]
    # stage 2, age 4 (day 3 seen): the one release is seen, with nothing to come
    row = development_moments(sums.filter(pl.col(STAGE) == 2).drop(STAGE)).row(4, named=True)
    assert (row["u_n"], row["o_n"], row["o_mean_reoffences"]) == (0, 1, 0.0)


# ------------------------------------------------------------------------------- the whole backtest
def per_origin_backtest(inputs, params: NowcastParams, options: BacktestParams):
    """The backtest as it was before issue 30: one whole nowcast per origin, then its provisional groups that are
    final at the extract, with their final figures (the detail) and the warnings."""
    data = development(inputs, params)
    extract = inputs.extract_date
    by = params.measurement.by
    observed = observed_at(data, extract, params.window)
    details, warnings = [], []
    for origin in backtest_origins(data, extract, params, options):
        rows, notes = nowcast_at(data, origin, params)
        warnings += [note.prefixed(f"origin {origin}: ") for note in notes]
        finals = (
            observed.filter(pl.col("release_date") <= origin)
            .group_by(by)
            .agg(
                pl.col(COMPLETE).all().alias("_final_known"),
                pl.len().alias("_n"),
                pl.col("reoffended").sum().alias("_x"),
                pl.col("reoffences").sum().alias("_r"),
                pl.col("reconviction_events").sum().alias("_e"),
            )
            .filter("_final_known")
            .select(
                *by,
                (pl.col("_x") / pl.col("_n")).alias("binary_rate_final"),
                (100 * pl.col("_e") / pl.col("_n")).alias("events_per_100_final"),
                (pl.col("_r") / pl.col("_n")).alias("reoffences_per_offender_final"),
            )
        )
        suffixes = ("_provisional", "_provisional_low", "_provisional_high", "_final")
        figures = [f"{m}{suffix}" for m in MEASURES for suffix in suffixes]
        details.append(
            rows.filter(pl.col("status") == "provisional")
            .join(finals, on=list(by), how="inner")
            .select(
                pl.lit(origin).alias("origin"), *by, "months_observed", "cohort_size", "observed_reoffenders", *figures
            )
        )
    detail = pl.concat(details).filter(pl.col("binary_rate_provisional").is_not_null()).sort("origin", *by)
    return detail, warnings


@pytest.fixture(scope="module")
def synth_lagged():
    """Courts 1.6 times slower from 2023: the court-lag adjustment (stretched references) runs at some origins."""
    releases, convictions, _ = generate(
        SynthParams(
            releases=5000,
            seed=7,
            establishments=6,
            treated_establishment="",
            lag_multiplier=1.6,
            lag_change_from=dt.date(2023, 1, 1),
        )
    )
    return validated(releases, convictions)


@pytest.mark.parametrize(
    "params",
    [
        PARAMS,
        replace(PARAMS, estimator="reference", censored_reference=False),
        replace(PARAMS, court_lag="refuse"),
        NowcastParams(MeasureParams(by=("cohort", "establishment"))),  # segments; small groups warned of
    ],
    ids=["default", "reference-complete", "refuse", "by-establishment"],
)
def test_backtest_in_one_pass_equals_one_nowcast_per_origin(synth_lagged, params):
    options = BacktestParams(origins=8, step_months=1)
    result = backtest(synth_lagged, params, options)
    detail, warnings = per_origin_backtest(synth_lagged, params, options)
    assert len(result.origins) == 8
    assert detail.height or params.court_lag == "refuse"  # refused: every cohort compared had a slower court
    assert_frame_equal(result.detail, detail)  # exact: same values to the last bit, same types and order
    assert [str(w) for w in result.warnings] == [str(w) for w in warnings]
    # the honesty check's backtest: no warnings, the court-lag ratio fitted only where it is compared
    quiet = backtest(synth_lagged, params, options, quiet=True)
    assert_frame_equal(quiet.detail, detail)
    assert quiet.warnings == []
    assert any("court lag" in str(w) for w in warnings) or params.court_lag != "adjust"


def test_origin_states_are_each_origins_own(synth_lagged):
    """The states handed to the nowcast at each origin: its observed releases and its development table."""
    data = development(synth_lagged, PARAMS)
    origins = backtest_origins(data, synth_lagged.extract_date, PARAMS, BacktestParams(origins=5, step_months=2))
    for origin, state in zip(origins, origin_states(data, origins, PARAMS), strict=True):
        data.last_observed = None
        observed = observed_at(data, origin, PARAMS.window)
        assert_frame_equal(state.observed.sort(KEY), observed.sort(KEY))
        targets, reference = observed.filter(~pl.col(COMPLETE)), observed.filter(COMPLETE)
        max_age = int(targets.get_column(AGE).max())  # type: ignore[arg-type]
        table = development_table(reference, data.rows.join(reference.select(KEY), on=KEY), max_age)
        assert_frame_equal(state.table, table)


# ------------------------------------------------- the extract's nowcast from the check's one pass (issue 30)
EXTRACT = dt.date(2024, 6, 30)  # synth_lagged's data as known then: releases in follow-up, a changed court lag


@pytest.mark.parametrize(
    "params",
    [
        PARAMS,
        replace(PARAMS, estimator="reference", censored_reference=False),
        replace(PARAMS, court_lag="refuse"),
        NowcastParams(MeasureParams(by=("cohort", "establishment"))),
    ],
    ids=["default", "reference-complete", "refuse", "by-establishment"],
)
def test_nowcast_with_its_check_in_one_pass_equals_the_nowcast_alone(synth_lagged, params, monkeypatch):
    """The extract's observed releases and development table taken from the check's one pass (one more stage)
    give the same figures, warnings and verdict as the extract's nowcast worked out alone, then its check."""
    check, extract = CheckParams(origins=4, step_months=2), EXTRACT  # cohorts of 2023-2024 in follow-up
    one_pass = nowcast(synth_lagged, params, extract=extract, check=check)
    monkeypatch.setattr(nowcast_module, "_checked_states", lambda *args: None)  # the way before: each alone
    alone = nowcast(synth_lagged, params, extract=extract, check=check)
    assert one_pass.check is not None and one_pass.check.comparisons
    assert_frame_equal(one_pass.rows, alone.rows)  # exact: same values to the last bit, same types and order
    assert one_pass.check == alone.check
    assert [str(w) for w in one_pass.warnings] == [str(w) for w in alone.warnings]
    assert one_pass.metadata == alone.metadata


def test_extract_state_from_the_one_pass_is_the_extracts_own(synth_lagged):
    """The first state of the check's one pass is the extract's: observed releases (in release order) and table."""
    data = development(synth_lagged, PARAMS)
    extract = EXTRACT
    prepared = _checked_states(data, extract, PARAMS, CheckParams())
    assert prepared is not None
    state = next(prepared[1])
    data.last_observed = None
    observed = observed_at(data, extract, PARAMS.window)
    assert_frame_equal(state.observed, observed)  # not sorted first: both in release order
    assert state.observed.get_column(KEY).is_sorted()
    targets, reference = observed.filter(~pl.col(COMPLETE)), observed.filter(COMPLETE)
    max_age = int(targets.get_column(AGE).max())  # type: ignore[arg-type]
    table = development_table(reference, data.rows.join(reference.select(KEY), on=KEY), max_age)
    assert_frame_equal(state.table, table)
    assert len(list(prepared[1])) == len(prepared[0])  # then one state per origin, for the backtest


# ------------------------------------------------------------------- a left join by position, and orders
@settings(max_examples=60)
@given(
    height=st.integers(0, 30),
    data=st.data(),
)
def test_at_positions_is_a_left_join_in_the_releases_order(height, data):
    """``at_positions``: each value at its key's position, null elsewhere, as a left join onto the row index
    with the left order kept (what ``seen_by_origin`` and ``observed_at`` rely on)."""
    keys = data.draw(st.lists(st.integers(0, max(height - 1, 0)), unique=True, max_size=height)) if height else []
    values = data.draw(st.lists(st.one_of(st.none(), st.integers(0, 9)), min_size=len(keys), max_size=len(keys)))
    days = data.draw(st.lists(st.one_of(st.none(), st.dates()), min_size=len(keys), max_size=len(keys)))
    frame = pl.DataFrame(
        {KEY: keys, "_count": values, "_date": days}, schema={KEY: pl.UInt32, "_count": pl.UInt32, "_date": pl.Date}
    )
    placed = pl.DataFrame(at_positions(frame, height))
    index = pl.DataFrame({KEY: list(range(height))}, schema={KEY: pl.UInt32})
    joined = index.join(frame, on=KEY, how="left", maintain_order="left").drop(KEY)
    assert_frame_equal(placed, joined)


def test_observed_releases_and_expectations_come_in_release_order(synth_lagged):
    """The float sums over a group are those of every run only in a fixed order: the release order. The observed
    releases keep it (at any extract, one pass or alone), and so do the expectations of shuffled releases."""
    data = development(synth_lagged, PARAMS)
    origins = backtest_origins(data, synth_lagged.extract_date, PARAMS, BacktestParams(origins=3, step_months=2))
    seen = seen_by_origin(data, origins)
    for index, origin in enumerate(origins):
        assert observed_from(data, seen, index, origin, PARAMS.window).get_column(KEY).is_sorted()
        data.last_observed = None
        assert observed_at(data, origin, PARAMS.window).get_column(KEY).is_sorted()
    observed = observed_at(data, origins[0], PARAMS.window)
    targets = observed.filter(~pl.col(COMPLETE)).with_columns(
        pl.lit(1.0).alias(RATIO), pl.lit(False).alias(LAG_CHANGED)
    )
    reference = observed.filter(COMPLETE)
    max_age = int(targets.get_column(AGE).max())  # type: ignore[arg-type]
    table = development_table(reference, data.rows.join(reference.select(KEY), on=KEY), max_age)
    table = _with_shares(table).with_columns(pl.lit(1.0).alias(RATIO))
    by = PARAMS.measurement.by
    expected, _ = _expectations(
        targets.sample(fraction=1.0, shuffle=True, seed=3), table, reference, observed, by, "cohort"
    )
    assert expected.get_column(KEY).is_sorted()
    in_order, _ = _expectations(targets, table, reference, observed, by, "cohort")
    assert_frame_equal(expected, in_order)


def test_group_counts_by_hand():
    """Two groups: A with a complete release (2 reoffences, 1 event) and one in follow-up (none seen); B with one
    complete release (none seen). A is not final, B is; medians of 10 and 20 January = 15 January."""
    observed = pl.DataFrame(
        {
            "cohort": ["A", "A", "B"],
            COMPLETE: [True, False, True],
            "reoffended": [True, False, False],
            "reoffences": [2, 0, 0],
            "reconviction_events": [1, 0, 0],
            SEGMENT: [0, 0, 0],
            "release_date": [dt.date(2024, 1, 10), dt.date(2024, 1, 20), dt.date(2024, 3, 1)],
        },
        schema_overrides={SEGMENT: pl.UInt32},
    )
    counts = group_counts(observed, ("cohort",), GROUP_SEGMENT, GROUP_MEDIAN).sort("cohort")
    assert counts.rows() == [
        ("A", False, 2, 1, 1, 2, 1, 0, dt.date(2024, 1, 15)),
        ("B", True, 1, 0, 0, 0, 0, 0, dt.date(2024, 3, 1)),
    ]
    assert counts.columns == ["cohort", "_final", "_n", "_incomplete", "_x", "_r", "_e", SEGMENT, "_median"]


def test_rows_of_releases_are_the_join(synth_lagged):
    """The rows of the complete releases at an origin, marked by position: those of the join, in the rows' order."""
    data = development(synth_lagged, PARAMS)
    reference = observed_at(data, EXTRACT, PARAMS.window).filter(COMPLETE)
    found = rows_of(data, reference)
    joined = data.rows.join(reference.select(KEY), on=KEY, how="semi", maintain_order="left")
    assert_frame_equal(found, joined)
    assert 0 < found.height < data.rows.height
