"""Issue 25: the nowcast follows a cohort's own level, watches the court lag, and checks itself by default.

Hand-worked formulas on tiny fixtures (the arithmetic is written out), properties, and seeded synthetic
backtests small enough for the default suite (bench/nowcast_drift.py runs the full evaluation).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from reoffend.drift import (
    LAG_CAP_DAYS,
    _distinct_pairs,
    _mean_pit,
    event_table,
    fit_lag,
    reference_lags,
    stretched_reference,
    with_room,
)
from reoffend.measure import EVENT_KEY, MeasureParams
from reoffend.nowcast import (
    AGE,
    COMPLETE,
    DAY,
    FIRST_DAY,
    KEY,
    LAG_CHANGED,
    RATIO,
    SEGMENT,
    BacktestParams,
    CheckParams,
    NowcastParams,
    backtest,
    backtest_summary,
    censored_shares,
    court_lag_check,
    coverage_check,
    development,
    development_table,
    level_adjusted_q,
    level_credibility,
    nowcast,
    observed_at,
)
from reoffend.synth import SynthParams, generate
from reoffend.validate import CONVICTIONS, RELEASES, Table, validate_inputs
from reoffend.window import CONVICTION_DEADLINE

PARAMS = NowcastParams(MeasureParams(by=("cohort",), excluded_offences=frozenset({"BREACH"})))
OLD = replace(PARAMS, estimator="reference", court_lag="ignore", censored_reference=False)  # before issue 25


# ------------------------------------------------------------------------------- the level, by hand
def test_level_adjusted_q_by_hand():
    # S = 0.5 of the reference seen by t, P = 0.6 in the end: q(t) = (0.6 - 0.5) / (1 - 0.5) = 0.2
    def q_at(lam: float) -> tuple[float, float]:
        q, slope = level_adjusted_q(pl.lit(lam), pl.lit(0.5), pl.lit(0.6), pl.lit(0.2))
        return pl.select(q.alias("q"), slope.alias("slope")).row(0)

    assert q_at(1.0) == pytest.approx((0.2, 0.1 / 0.5**2))  # the reference's q itself; slope 0.1 / 0.25 = 0.4
    # lam = 1.5: seen 0.75 and 0.9 in the end, so 0.15 of the 0.25 not yet seen are to come: 0.6
    assert q_at(1.5) == pytest.approx((0.6, 0.1 / 0.25**2))
    # lam = 0.5: 0.05 of the 0.75 not yet seen: 1/15
    assert q_at(0.5) == pytest.approx((0.05 / 0.75, 0.1 / 0.75**2))
    # lam = 1.9: 0.19 of 0.05 would be more than all of them: cut at 1, and then the level no longer moves it
    assert q_at(1.9) == pytest.approx((1.0, 0.0))


@settings(max_examples=80, deadline=None)
@given(
    seen=st.floats(0.0, 0.95),
    extra=st.floats(0.0, 1.0),
    lam=st.floats(0.2, 3.0),
    other=st.floats(0.2, 3.0),
)
def test_level_adjusted_q_is_a_chance_rising_with_the_level(seen, extra, lam, other):
    """For any shares ``S <= P``: ``q_lam`` is in [0, 1], does not fall as the level rises, and its derivative is
    never negative (the level's variance term is never taken off)."""
    final = seen + extra * (1 - seen)
    q = (final - seen) / (1 - seen)

    def at(level: float) -> tuple[float, float]:
        expressions = level_adjusted_q(pl.lit(level), pl.lit(seen), pl.lit(final), pl.lit(q))
        return pl.select(expressions[0].alias("q"), expressions[1].alias("d")).row(0)

    (q_low, d_low), (q_high, _) = at(min(lam, other)), at(max(lam, other))
    assert 0.0 <= q_low <= q_high + 1e-12 and q_high <= 1.0 and d_low >= 0.0


def credibility_fixture(seen: dict[str, int]) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Provisional cohorts of 40 releases each at S = 0.5 (P = 0.6), ``seen[cohort]`` of them seen to reoffend,
    and one complete cohort C of 100 with 60 reoffenders (the reference, P = 0.6): joined, reference, observed."""
    size = 40 * len(seen)
    joined = pl.DataFrame(
        {
            "cohort": [cohort for cohort in seen for _ in range(40)],
            "reoffended": [i < found for found in seen.values() for i in range(40)],
            "_S": [0.5] * size,
            "_P": [0.6] * size,
            RATIO: [1.0] * size,
            SEGMENT: [0] * size,
        },
        schema_overrides={SEGMENT: pl.UInt32},
    )
    reference = pl.DataFrame({SEGMENT: [0] * 100, "reoffended": [True] * 60 + [False] * 40})
    reference = reference.with_columns(pl.col(SEGMENT).cast(pl.UInt32))
    observed = pl.concat(
        [
            reference.with_columns(pl.lit("C").alias("cohort"), pl.lit(True).alias(COMPLETE)),
            joined.select(SEGMENT, "reoffended", "cohort", pl.lit(False).alias(COMPLETE)),
        ]
    )
    return joined, reference, observed


def test_level_credibility_by_hand():
    """Two provisional cohorts A and B, 40 releases each at S = 0.5 (P = 0.6), A with 30 seen, B with 20; one
    complete cohort C of 100 with 60 reoffenders (the reference, P = 0.6)."""
    joined, reference, observed = credibility_fixture({"A": 30, "B": 20})
    levels = {r["cohort"]: r for r in level_credibility(joined, reference, observed, ("cohort",), "cohort").to_dicts()}
    # A: O = 30, E = 40 x 0.5 = 20, lam^ = 1.5; sum S^2 = 10: process part at lam^ (1.5 x 20 - 1.5^2 x 10) / 20^2
    # = 7.5 / 400, at the reference's level 1 (20 - 10) / 400 = 10 / 400: the larger, 0.025, is taken;
    # E's own error from the N = 100 reference releases: se(E) = 40 x sqrt(0.5 x 0.5 / 100) = 2, so the
    # reference part is lam^2 (se(E) / E)^2 = 1.5^2 x (2 / 20)^2 = 0.0225
    v_a = max(7.5 / 400, 10 / 400) + 0.0225  # 0.0475
    v_b = (1.0 * 20 - 1.0 * 10) / 400 + 1.0**2 * (2 / 20) ** 2  # B: lam^ = 20 / 20 = 1: 0.025 + 0.01 = 0.035
    # deviations (lam - 1)^2 - v: A 0.25 - v_a, B -v_b, C (60 / (100 x 0.6) = 1): -(1 - 0.6) / (100 x 0.6) times
    # (1 - n / N) = (1 - 100 / 100) = 0 (C is the whole reference, so its ratio to P has no sampling error)
    tau2 = (0.25 - v_a - v_b - 0.0) / 3
    z_a, z_b = tau2 / (tau2 + v_a), tau2 / (tau2 + v_b)
    assert tau2 == pytest.approx(0.1675 / 3, abs=1e-12)  # 0.0558333
    assert levels["A"]["level_ratio"] == pytest.approx(1 + z_a * 0.5)  # 1 + 0.540323 x 0.5 = 1.270161
    assert levels["A"]["level_ratio"] == pytest.approx(1.270161, abs=1e-5)
    assert levels["A"]["_level_mse"] == pytest.approx(z_a * v_a)
    assert levels["B"]["level_ratio"] == pytest.approx(1.0)
    assert levels["B"]["_level_mse"] == pytest.approx(z_b * v_b)
    # the reference estimator keeps the reference's level
    old = level_credibility(joined, reference, observed, ("cohort",), "reference")
    assert old["level_ratio"].to_list() == [1.0, 1.0] and old["_level_mse"].to_list() == [0.0, 0.0]
    # no spread between cohorts beyond chance (A like B): tau2 = 0, Z = 0, the reference level
    even = joined.with_columns(pl.Series("reoffended", ([True] * 20 + [False] * 20) * 2))
    flat = level_credibility(even, reference, observed, ("cohort",), "cohort")
    assert flat["level_ratio"].to_list() == [1.0, 1.0] and flat["_level_mse"].to_list() == [0.0, 0.0]


def edges_fixture() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Provisional groups (all P = 0.5; cohort: releases, S, seen to reoffend, court lag changed): A (4, 0.25, 2),
    B (40, 0.25, 14), Y (80, 0.125, 10), L (40, 0.25, 20, changed), Z (2, 0, 0); complete cohorts C1 (20 with 14
    reoffenders), C2 (20 with 6) and C3 (10 with 5), together the reference: N = 50, P = 25 / 50 = 0.5."""
    spec = [("A", 4, 0.25, 2, False), ("B", 40, 0.25, 14, False), ("Y", 80, 0.125, 10, False)]
    spec += [("L", 40, 0.25, 20, True), ("Z", 2, 0.0, 0, False)]
    joined = pl.DataFrame(
        [
            {"cohort": c, "reoffended": i < o, "_S": s, "_P": 0.5, RATIO: 1.0, SEGMENT: 0, LAG_CHANGED: lag}
            for c, n, s, o, lag in spec
            for i in range(n)
        ],
        schema_overrides={SEGMENT: pl.UInt32},
    )
    complete = [("C1", 20, 14), ("C2", 20, 6), ("C3", 10, 5)]
    observed = pl.concat(
        [
            pl.DataFrame(
                [
                    {"cohort": c, "reoffended": i < x, SEGMENT: 0, COMPLETE: True}
                    for c, n, x in complete
                    for i in range(n)
                ],
                schema_overrides={SEGMENT: pl.UInt32},
            ),
            joined.select("cohort", "reoffended", SEGMENT, pl.lit(False).alias(COMPLETE)),
        ]
    )
    return joined, observed.filter(COMPLETE).select(SEGMENT, "reoffended"), observed


def test_level_credibility_at_its_edges_by_hand():
    """Which groups inform tau2 (at exactly the thresholds), a complete group smaller than the reference, a
    changed court lag, a group with nothing expected yet, and the ratio and Benktander weights."""
    joined, reference, observed = edges_fixture()

    def levels(estimator: str) -> dict[str, tuple[float, float]]:
        found = level_credibility(joined, reference, observed, ("cohort",), estimator)
        return {r["cohort"]: (r["level_ratio"], r["_level_mse"]) for r in found.to_dicts()}

    # E's relative error from the N = 50 reference releases: (se(E) / E)^2 = S (1 - S) / (S^2 N) = (1 - S) / (S N):
    # 0.75 / 12.5 = 0.06 at S = 0.25, 0.875 / 6.25 = 0.14 at S = 0.125
    # A: E = 4 x 0.25 = 1, sum S^2 = 0.25, lam^ = 2 / 1 = 2: process (2 x 1 - 4 x 0.25) / 1 = 1 (at 1: 0.75), plus
    # 2^2 x 0.06 = 0.24: v = 1.24. E = 1 < 10: too early to inform tau2 (though E >= half of sum P = 2 x 0.5 = 1)
    v_a = 1.0 + 0.24
    # B: E = 40 x 0.25 = 10, sum S^2 = 2.5, lam^ = 1.4: process (14 - 1.96 x 2.5) / 100 = 0.091 (at 1: 0.075), plus
    # 1.96 x 0.06 = 0.1176: v = 0.2086. E = 10 exactly the minimum and exactly half of sum P = 20: informs tau2,
    # with (1.4 - 1)^2 - v = 0.16 - 0.2086 = -0.0486
    v_b = 0.091 + 0.1176
    # Y: E = 80 x 0.125 = 10 but sum P = 40, of which 10 is only a quarter: does not inform; lam^ = 1,
    # v = (10 - 80 / 64) / 100 + 0.14 = 0.0875 + 0.14 = 0.2275
    v_y = 0.0875 + 0.14
    # L: its court lag changed, so it neither informs tau2 (lam^ = 2, v = (20 - 10) / 100 + 4 x 0.06 = 0.34, so it
    # would add 1 - 0.34 = 0.66) nor gets a level of its own
    # Z: nothing expected yet (E = 0): no ratio, no v, the reference's level with no error
    # complete: C1 14 / (20 x 0.5) = 1.4 and C2 6 / 10 = 0.6, each (0.4)^2 less its sampling variance
    # (1 - P) / (n P) (1 - n / N) = 0.5 / 10 x (1 - 20 / 50) = 0.03: 0.13 each; C3 expects n P = 5 < 10: left out
    tau2 = (0.13 + 0.13 + (0.16 - v_b)) / 3  # 0.2114 / 3 = 0.070467
    z_a, z_b, z_y = (tau2 / (tau2 + v) for v in (v_a, v_b, v_y))
    credible = levels("cohort")
    assert credible["A"] == pytest.approx((1 + z_a * (2 - 1), z_a * v_a))  # Z v, which is Z^2 v + (1 - Z)^2 tau2
    assert credible["B"] == pytest.approx((1 + z_b * 0.4, z_b * v_b))
    assert credible["Y"] == pytest.approx((1.0, z_y * v_y))
    assert credible["L"] == (1.0, 0.0) and credible["Z"] == (1.0, 0.0)
    # the chain ladder's answer: Z = 1, the group's own ratio with its whole v as the error
    ratio = levels("ratio")
    assert ratio["A"] == pytest.approx((2.0, v_a)) and ratio["B"] == pytest.approx((1.4, v_b))
    assert ratio["Y"] == pytest.approx((1.0, v_y)) and ratio["L"] == (1.0, 0.0) and ratio["Z"] == (1.0, 0.0)
    # Benktander: Z = E / sum P, the share developed (A 1 / 2, B 10 / 20, Y 10 / 40), error Z^2 v + (1 - Z)^2 tau2
    blend = levels("benktander")
    assert blend["A"] == pytest.approx((1.5, 0.25 * v_a + 0.25 * tau2))
    assert blend["B"] == pytest.approx((1.2, 0.25 * v_b + 0.25 * tau2))
    assert blend["Y"] == pytest.approx((1.0, 0.0625 * v_y + 0.5625 * tau2))
    assert blend["L"] == (1.0, 0.0) and blend["Z"] == (1.0, 0.0)


# ------------------------------------------------------------------ the censored reference, by hand
def test_a_group_with_nobody_seen_yet_keeps_a_level_and_an_error():
    """Review of issue 25: a provisional group with 0 of its 40 releases seen (lam^ = 0) had v = 0, Z = 1 and
    level 0 with no error (a provisional 0.0% to 0.1%). Now v is at least the process variance at the reference
    level: (20 - 10) / 400 = 0.025 (E = 20, sum S^2 = 10), so Z < 1 and the level stays above 0 with an error."""
    joined, reference, observed = credibility_fixture({"A": 30, "B": 20, "D": 0})
    levels = {r["cohort"]: r for r in level_credibility(joined, reference, observed, ("cohort",), "cohort").to_dicts()}
    d = levels["D"]
    assert d["level_ratio"] > 0.05 and d["_level_mse"] > 0.001
    # v_D = 0.025 (+ 0 for E's error, lam^ = 0); Z_D = tau2 / (tau2 + 0.025) < 1, level 1 - Z_D
    assert d["level_ratio"] == pytest.approx(1 - d["_level_mse"] / 0.025)


def test_censored_shares_by_hand():
    """Kaplan-Meier q(t), S(t), P from five releases: three complete (first seen on day 1, never, never) and two
    in follow-up (age 2 and never seen, so at risk on days 0 and 1; age 4, first seen on day 2)."""
    observed = pl.DataFrame(
        {
            SEGMENT: [0] * 5,
            FIRST_DAY: [1, None, None, None, 2],
            COMPLETE: [True, True, True, False, False],
            AGE: [900, 900, 900, 2, 4],
        },
        schema_overrides={SEGMENT: pl.UInt32, FIRST_DAY: pl.Int32, AGE: pl.Int32},
    )
    table = {r[AGE]: r for r in censored_shares(observed, 3).to_dicts()}
    # at risk and first seen per day: day 0 5 and 0, day 1 5 and 1 (h = 1/5), day 2 3 (the age-2 release and the
    # one seen on day 1 have left) and 1 (h = 1/3), day 3 2 and 0
    # S(t) = 1 - prod_{s < t} (1 - h_s): 0, 0, 1 - 4/5 = 1/5, 1 - (4/5)(2/3) = 7/15; P = 7/15
    # q(t) = 1 - prod_{s >= t} (1 - h_s): 7/15, 7/15, 1/3, 0 (and q(2) = (P - S) / (1 - S) = (4/15) / (12/15))
    assert [table[t]["_S_km"] for t in range(4)] == pytest.approx([0.0, 0.0, 0.2, 7 / 15])
    assert [table[t]["_q_km"] for t in range(4)] == pytest.approx([7 / 15, 7 / 15, 1 / 3, 0.0])
    assert [table[t]["_P_km"] for t in range(4)] == pytest.approx([7 / 15] * 4)
    # the complete releases alone would say P = 1/3: the two in follow-up add what they have shown so far


@settings(max_examples=40, deadline=None)
@given(
    releases=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(0, 30)), st.booleans(), st.integers(1, 40)), min_size=1, max_size=30
    )
)
def test_censored_shares_without_censoring_are_the_plain_shares(releases):
    """With every release complete there is nothing censored, and Kaplan-Meier is the plain share: q(t) is the
    share of those not seen before day t who are seen on day t or later, S(t) the share seen before t."""
    first = [f for f, _, _ in releases]
    observed = pl.DataFrame(
        {SEGMENT: [0] * len(first), FIRST_DAY: first, COMPLETE: [True] * len(first), AGE: [99] * len(first)},
        schema_overrides={SEGMENT: pl.UInt32, FIRST_DAY: pl.Int32, AGE: pl.Int32},
    )
    table = censored_shares(observed, 35).sort(AGE)
    for t in (0, 5, 17, 35):
        row = table.row(t, named=True)
        before = sum(f is not None and f < t for f in first)
        later = sum(f is not None and f >= t for f in first)
        at_risk = len(first) - before
        assert row["_S_km"] == pytest.approx(before / len(first), abs=1e-12)
        assert row["_q_km"] == pytest.approx(later / at_risk if at_risk else 0.0, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    releases=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(0, 30)), st.booleans(), st.integers(1, 40)), min_size=1, max_size=30
    )
)
def test_censored_shares_are_chances_that_agree(releases):
    """With any censoring: q(t), S(t) and P are in [0, 1], S does not fall with t, q(0) = P, and
    q(t) = (P - S(t)) / (1 - S(t)) wherever S(t) < 1 (the identity the level's q_lam rests on)."""
    rows = []
    for first, complete, age in releases:
        if not complete and first is not None and first >= age:
            first = None  # a release in follow-up is seen only before its age
        rows.append((first, complete, age))
    observed = pl.DataFrame(
        {
            SEGMENT: [0] * len(rows),
            FIRST_DAY: [f for f, _, _ in rows],
            COMPLETE: [c for _, c, _ in rows],
            AGE: [a for _, _, a in rows],
        },
        schema_overrides={SEGMENT: pl.UInt32, FIRST_DAY: pl.Int32, AGE: pl.Int32},
    )
    table = censored_shares(observed, 35).sort(AGE)
    q, seen, final = table["_q_km"].to_list(), table["_S_km"].to_list(), table["_P_km"].to_list()
    assert all(-1e-12 <= x <= 1 + 1e-12 for x in q + seen + final)
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(seen))
    assert q[0] == pytest.approx(final[0], abs=1e-12)
    for t in range(36):
        if seen[t] < 1 - 1e-9:
            assert q[t] == pytest.approx((final[t] - seen[t]) / (1 - seen[t]), abs=1e-9)


# ------------------------------------------------------------------------------- the court lag, by hand
def test_truncated_pit_by_hand():
    # reference lags 10, 20, 20, 40 (all with a year of room); an event with lag 20 and 30 days of room:
    # G(< 20) = 1/4, G(<= 20) = 3/4, mid 1/2; G(<= 30) = 3/4: u = (1/2) / (3/4) = 2/3
    events = pl.DataFrame({"_lag": [10, 20, 20, 40], "_room": [400] * 4})
    cumulative = reference_lags(events)
    assert cumulative[9] == 0 and cumulative[10] == 1 and cumulative[20] == 3 and cumulative[-1] == 4
    assert _mean_pit(cumulative, np.array([20.0]), np.array([30.0]), 1.0) == pytest.approx(2 / 3)
    # lags twice as long: lag 20 is 10 on the reference's scale (mid (0 + 1/4) / 2), room 15 (G = 1/4): 1/2
    assert _mean_pit(cumulative, np.array([20.0]), np.array([30.0]), 2.0) == pytest.approx(0.5)


@settings(max_examples=60, deadline=None)
@given(
    lags=st.lists(st.integers(0, 60), min_size=1, max_size=40),
    room=st.integers(0, 70),
)
def test_pit_has_mean_one_half_when_nothing_changed(lags, room):
    """Events drawn from the reference itself and cut at any room: the mean of u is exactly 1/2, ties and all
    (sum of p_l (G(l - 1) + G(l)) / 2 over l <= a telescopes to G(a)^2 / 2)."""
    cumulative = reference_lags(pl.DataFrame({"_lag": lags, "_room": [400] * len(lags)}))
    kept = np.array([lag for lag in lags if lag <= room], dtype=np.float64)
    if kept.size:
        assert _mean_pit(cumulative, kept, np.full(kept.size, float(room)), 1.0) == pytest.approx(0.5, abs=1e-12)


@settings(max_examples=100)
@given(
    events=st.lists(st.tuples(st.integers(-3, LAG_CAP_DAYS), st.integers(0, LAG_CAP_DAYS)), min_size=1, max_size=300),
    counts=st.lists(st.integers(0, 3), min_size=LAG_CAP_DAYS + 2, max_size=LAG_CAP_DAYS + 2),
    ratio=st.floats(0.25, 4.0),
)
@example(events=[(5, 40), (3, 40), (5, 40), (0, 31)], counts=[1] * (LAG_CAP_DAYS + 2), ratio=1.3)
def test_the_mean_over_distinct_pairs_is_the_mean_over_the_events(events, counts, ratio):
    """fit_lag's search works ``u`` out once per distinct (lag, room) and takes it back to every event: the mean is
    the same float as over the events themselves (repeated pairs, events with no reference mass below their
    room, a negative lag, which takes np.unique's way; and every pair with mass below its room, where the values
    are taken back without a mask: the example)."""
    cumulative = np.cumsum(counts)
    lags, rooms = np.array([lag for lag, _ in events]), np.array([room for _, room in events])
    pair_lags, pair_rooms, at = _distinct_pairs(lags, rooms)
    assert at is not None and pair_lags[at].tolist() == lags.tolist() and pair_rooms[at].tolist() == rooms.tolist()
    plain = _mean_pit(cumulative, lags.astype(np.float64), rooms.astype(np.float64), ratio)
    paired = _mean_pit(cumulative, pair_lags, pair_rooms, ratio, at)
    assert (math.isnan(plain) and math.isnan(paired)) or plain == paired


def test_fit_lag_finds_a_stretch_under_truncation():
    rng = np.random.default_rng(3)
    reference = np.round(rng.lognormal(np.log(75), 0.75, 20_000)).astype(np.int64)
    cumulative = reference_lags(pl.DataFrame({"_lag": reference, "_room": [400] * reference.size}))
    same = np.round(rng.lognormal(np.log(75), 0.75, 4000)).astype(np.int64)
    slow = np.round(1.5 * rng.lognormal(np.log(75), 0.75, 4000)).astype(np.int64)
    rooms = rng.integers(30, 300, 4000)  # seen by an extract: only lags within the room are known
    fit = fit_lag(cumulative, same[same <= rooms], rooms[same <= rooms])
    assert abs(fit.z) < 3 and fit.ratio == pytest.approx(1.0, abs=0.05)
    fit = fit_lag(cumulative, slow[slow <= rooms], rooms[slow <= rooms])
    assert fit.z > 10 and fit.ratio == pytest.approx(1.5, abs=0.08) and fit.log_se < 0.05
    assert fit_lag(cumulative, slow[:10], rooms[:10]).ratio is None  # too few events: no verdict


def test_stretched_reference_by_hand():
    """One release on 2022-01-01 (deadline 2023-07-01, day 546): offences on days 10 and 20 convicted together on
    day 110 (one event, lag 100 from its first offence), and one on day 200 convicted on day 400 (lag 200)."""
    release = dt.date(2022, 1, 1)
    releases = pl.DataFrame({KEY: [0], "release_date": [release], CONVICTION_DEADLINE: [dt.date(2023, 7, 1)]})
    days = [(10, 110), (20, 110), (200, 400)]
    rows = pl.DataFrame(
        {
            KEY: [0, 0, 0],
            SEGMENT: [0, 0, 0],
            "offence_date": [release + dt.timedelta(o) for o, _ in days],
            "conviction_date": [release + dt.timedelta(c) for _, c in days],
            DAY: [c for _, c in days],
            EVENT_KEY: [release + dt.timedelta(c) for _, c in days],
        }
    )
    reference = pl.DataFrame(
        {KEY: [0], SEGMENT: [0], FIRST_DAY: [110], "reoffended": [True], "reoffences": [3], "reconviction_events": [2]}
    )
    again, kept = stretched_reference(reference, rows, releases, KEY, DAY, FIRST_DAY, 1.5)
    # the event of days 10 and 20: 10 + round(1.5 x 100) = 160 for both; day 200's: 200 + 300 = 500 (< 546)
    assert kept[DAY].to_list() == [160, 160, 500]
    assert again.row(0, named=True) | {} == {
        KEY: 0, SEGMENT: 0, FIRST_DAY: 160, "reoffended": True, "reoffences": 3, "reconviction_events": 2,
    }  # fmt: skip
    # twice as long: 10 + 200 = 210, and 200 + 400 = 600 is past the deadline (no longer proven)
    again, kept = stretched_reference(reference, rows, releases, KEY, DAY, FIRST_DAY, 2.0)
    assert kept[DAY].to_list() == [210, 210]
    assert again.select("reoffences", "reconviction_events", FIRST_DAY).row(0) == (2, 1, 210)


def test_two_conviction_dates_stretched_onto_one_day_stay_two_events():
    """Found by review: a first offence on day 5 convicted on day 49 (lag 44: stretched by 1.5 to 5 + 66 = 71),
    then offences on days 10 and 16 convicted on days 110 and 112 (lags 100 and 96: two events, keyed by their
    conviction dates), both stretched to day 160 (10 + 150, 16 + 144). The development table took one event per
    release and day when events are dates, so after day 71 it had 1 event still to come where there are 2: every
    events figure of a nowcast adjusting the court lag, on a file without appearance ids, differed from the same
    file with an empty appearance_id column. It must count them as the text keys do."""
    release = dt.date(2022, 1, 1)
    releases = pl.DataFrame({KEY: [0], "release_date": [release], CONVICTION_DEADLINE: [dt.date(2023, 7, 1)]})
    days = [(5, 49), (10, 110), (16, 112)]
    convicted = [release + dt.timedelta(c) for _, c in days]
    rows = pl.DataFrame(
        {
            KEY: [0, 0, 0],
            SEGMENT: [0, 0, 0],
            "offence_date": [release + dt.timedelta(o) for o, _ in days],
            "conviction_date": convicted,
            DAY: [c for _, c in days],
            EVENT_KEY: convicted,
        }
    )
    reference = pl.DataFrame(
        {KEY: [0], SEGMENT: [0], FIRST_DAY: [49], "reoffended": [True], "reoffences": [3], "reconviction_events": [3]}
    )
    again, kept = stretched_reference(reference, rows, releases, KEY, DAY, FIRST_DAY, 1.5)
    assert sorted(kept[DAY].to_list()) == [71, 160, 160] and again["reconviction_events"].to_list() == [3]
    by_date = development_table(again, kept, 200)
    by_text = development_table(again, kept.with_columns(pl.col(EVENT_KEY).cast(pl.String)), 200)
    assert_frame_equal(by_date, by_text, check_exact=True)
    # at age 72 (after day 71) the release is seen with 3 - 1 = 2 events still to come (not 1), at 161 with none
    seen = by_date.filter(pl.col(AGE) == 72).row(0, named=True)
    assert (seen["o_n"], seen["o_mean_reconviction_events"], seen["o_mean_reoffences"]) == (1, 2.0, 2.0)
    assert by_date.filter(pl.col(AGE) == 161)["o_mean_reconviction_events"].to_list() == [0.0]


# ------------------------------------------------------------------------------------ the honesty check
def detail_of(covered: list[bool], months: int = 8) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "origin": [dt.date(2024, 1, 31)] * len(covered),
            "months_observed": [months] * len(covered),
            "binary_rate_provisional_low": [0.4] * len(covered),
            "binary_rate_provisional_high": [0.5] * len(covered),
            "binary_rate_final": [0.45 if c else 0.55 for c in covered],
        }
    )


def test_coverage_check_by_hand():
    options = CheckParams(min_coverage=0.85, min_comparisons=10)
    # 17 of 20 covered: 85%, not below the threshold
    assert coverage_check(detail_of([True] * 17 + [False] * 3), 6, options, 0.95).status == "passed"
    failed = coverage_check(detail_of([True] * 16 + [False] * 4), 6, options, 0.95)  # 80%
    assert failed.status == "failed" and failed.coverage == 0.8 and "only 80% of 20" in failed.reason
    # comparisons at least as mature as the figures shown count, or from 6 months when that is fewer: at 9 months
    # shown, comparisons at 5 months do not count, at 6 they do
    assert coverage_check(detail_of([True] * 20, months=5), 9, options, 0.95).status == "too few"
    assert coverage_check(detail_of([True] * 20, months=6), 9, options, 0.95).status == "passed"
    assert coverage_check(detail_of([True] * 20, months=5), 5, options, 0.95).status == "passed"
    assert coverage_check(None, 6, options, 0.95, "no backtest origin").status == "not possible"


# ------------------------------------------------------------------------------- synthetic backtests
def inputs_of(releases: pl.DataFrame, convictions: pl.DataFrame):
    return validate_inputs(
        Table("releases.parquet", RELEASES, releases.lazy()),
        Table("convictions.parquet", CONVICTIONS, convictions.lazy()),
    )


def six_plus(detail: pl.DataFrame) -> dict:
    return backtest_summary(detail).filter(pl.col("months_observed_band") == "6+").row(0, named=True)


@pytest.fixture(scope="module")
def falling_level():
    releases, convictions, _ = generate(SynthParams(releases=20000, seed=6, treated_establishment="", level_trend=-3.0))
    return inputs_of(releases, convictions)


def test_a_falling_level_is_followed(falling_level):
    """A level falling 3 points a year: the reference's level runs high and its intervals miss; following the
    cohort's own level keeps the intervals honest (bench/nowcast_drift.py pools four seeds)."""
    options = BacktestParams(origins=12, step_months=2)
    new = six_plus(backtest(falling_level, PARAMS, options).detail)
    old = six_plus(backtest(falling_level, OLD, options).detail)
    assert new["cohort_origins"] >= 30
    assert new["binary_rate_coverage"] >= 0.9 and new["binary_rate_mae_pp"] <= 1.0
    assert abs(new["binary_rate_mean_error_pp"]) < abs(old["binary_rate_mean_error_pp"])


@pytest.fixture(scope="module")
def slower_courts():
    params = SynthParams(
        releases=20000, seed=5, treated_establishment="", lag_multiplier=2.0, lag_change_from=dt.date(2023, 1, 1)
    )
    releases, convictions, _ = generate(params)
    return inputs_of(releases, convictions)


def test_plain_nowcast_checks_itself(slower_courts):
    """The library's nowcast checks when asked: the verdict is in the metadata, a failure is a warning. With the
    court lag doubled from 2023, the old estimator's quick backtest (6 origins) fails the check (21% of 14
    comparisons covered) and the default estimator's passes (93%)."""
    extract = dt.date(2024, 12, 31)
    result = nowcast(slower_courts, PARAMS, extract=extract, check=CheckParams())
    assert result.check is not None and result.metadata["check"]["status"] == "passed"
    assert result.check.comparisons >= 10 and result.check.reason not in result.warnings
    old = nowcast(slower_courts, OLD, extract=extract, check=CheckParams())
    assert old.check is not None and old.check.status == "failed" and old.check.coverage < 0.5
    assert old.check.reason in old.warnings
    assert nowcast(slower_courts, PARAMS, extract=extract).check is None  # not asked


def test_court_lag_check_is_the_direct_join(slower_courts):
    """The monitor reads the events sorted once (lag_events) and tells complete releases by their last day: the
    same fits as joining every event seen to the observed releases and sorting at each extract. The observed
    releases of the latest extract are kept, not recomputed."""
    data = development(slower_courts, PARAMS)
    for extract in (dt.date(2024, 12, 31), dt.date(2023, 8, 31)):
        observed = observed_at(data, extract, PARAMS.window)
        assert observed_at(data, extract, PARAMS.window) is observed
        got = {r["cohort"]: r for r in court_lag_check(data, observed, extract).to_dicts()}
        day = (extract - dt.date(1970, 1, 1)).days
        events = (
            with_room(event_table(data.rows, data.releases, KEY), day)
            .join(observed.select(KEY, "cohort", COMPLETE), on=KEY)
            .sort(KEY, "_lag", "_room")
        )
        reference = reference_lags(events.filter(COMPLETE))
        fitted = 0
        for (cohort,), group in events.filter(~pl.col(COMPLETE)).group_by("cohort"):
            fit = fit_lag(reference, group["_lag"].to_numpy(), group["_room"].to_numpy())
            assert got[cohort]["court_lag_z"] == fit.z
            assert got[cohort]["court_lag_ratio"] == (None if fit.ratio is None else round(fit.ratio, 2))
            fitted += fit.z is not None
        assert fitted >= 2


def test_a_doubled_court_lag_is_adjusted_for(slower_courts):
    """The old model runs low and its intervals stop covering; the lag monitor's adjustment, with the
    adjustment's own uncertainty in the interval, keeps them honest (bench/nowcast_drift.py pools four seeds)."""
    options = BacktestParams(origins=12, step_months=2)
    new, old = (six_plus(backtest(slower_courts, p, options).detail) for p in (PARAMS, OLD))
    assert old["binary_rate_coverage"] < 0.6 and old["binary_rate_mean_error_pp"] < -1.0
    assert new["binary_rate_coverage"] >= 0.85 and new["binary_rate_mae_pp"] <= 1.0
    assert abs(new["binary_rate_mean_error_pp"]) < 0.5


def test_cli_check_options(cli, tmp_path):
    from reoffend.synth import write

    write(SynthParams(releases=3000, seed=2, extract_date=dt.date(2024, 6, 30)), tmp_path / "early", "csv")
    files = [tmp_path / "early" / "releases.csv", tmp_path / "early" / "convictions.csv"]
    status, out, err = cli("nowcast", *files, "--json")
    assert status == 0, err
    document = json.loads(out)
    assert document["metadata"]["check"]["status"] in ("passed", "failed", "too few", "not possible")
    assert document["parameters"]["check"] is True and document["parameters"]["estimator"] == "cohort"
    provisional = [r for r in document["rows"] if r["status"] == "provisional"]
    assert all(r["level_ratio"] is not None and r["court_lag_changed"] is not None for r in provisional)
    status, out, err = cli("nowcast", *files, "--json", "--no-check", "--estimator", "reference")
    assert status == 0 and "check" not in json.loads(out)["metadata"]
    assert all(r["level_ratio"] in (1.0, None) for r in json.loads(out)["rows"])
    status, _, err = cli("nowcast", *files, "--no-check", "--min-coverage", "0.9")
    assert status == 2 and "--min-coverage" in err
    status, _, err = cli("nowcast", *files, "--backtest", "--no-check")
    assert status == 2 and "--check" in err
    # --learn-from: the censored reference by default, the complete releases alone on request (the library's
    # censored_reference, in the parameters), and nothing else is accepted
    assert document["parameters"]["censored_reference"] is True
    status, out, err = cli("nowcast", *files, "--json", "--no-check", "--learn-from", "complete")
    assert status == 0 and json.loads(out)["parameters"]["censored_reference"] is False
    rates = {r["cohort"]: r["binary_rate_provisional"] for r in json.loads(out)["rows"] if r["status"] == "provisional"}
    assert rates and rates != {r["cohort"]: r["binary_rate_provisional"] for r in provisional}  # it takes effect
    status, _, err = cli("nowcast", *files, "--learn-from", "recent")
    assert status == 2 and "--learn-from" in err


def test_lag_refusal_withholds_the_changed_cohorts():
    releases, convictions, _ = generate(
        SynthParams(
            releases=6000, seed=5, treated_establishment="", lag_multiplier=2.0, lag_change_from=dt.date(2023, 1, 1)
        )
    )
    inputs = inputs_of(releases, convictions)
    extract = dt.date(2024, 3, 31)
    adjusted = nowcast(inputs, PARAMS, extract=extract).rows.filter(pl.col("status") == "provisional")
    refused = nowcast(inputs, replace(PARAMS, court_lag="refuse"), extract=extract)
    rows = refused.rows.filter(pl.col("status") == "provisional")
    changed = rows.filter(pl.col("court_lag_changed").fill_null(False))
    # every 2023 cohort is found 1.66 to 1.98 times as slow; 2022Q4 not (1.09, z = 2.6: offences of the same
    # people's 2023 releases fall in its windows)
    assert changed["cohort"].to_list() == ["2023Q1", "2023Q2", "2023Q3", "2023Q4"]
    assert changed["binary_rate_provisional"].null_count() == changed.height
    assert all(r > 1.5 for r in changed["court_lag_ratio"])
    kept = rows.filter(~pl.col("court_lag_changed").fill_null(False))
    assert (
        kept["binary_rate_provisional"].to_list()
        == adjusted.join(kept, on="cohort", how="semi")["binary_rate_provisional"].to_list()
    )
    assert any("court lag" in w and "withheld" in w for w in refused.warnings)
    assert not math.isnan(adjusted["binary_rate_provisional"].drop_nulls().sum())


def test_event_table_by_position_is_the_join(slower_courts):
    """The nowcast's release key is the row index of its releases: gathering their columns by it gives the same
    events, with the same columns, as the join."""
    data = development(slower_courts, PARAMS)
    carry = ("cohort", "release_date")
    joined = event_table(data.rows, data.releases, KEY, carry=carry)
    gathered = event_table(data.rows, data.releases, KEY, carry=carry, by_position=True)
    order = [KEY, "_offence", "_conviction"]
    assert_frame_equal(gathered.sort(order), joined.sort(order))
    assert gathered.height == joined.height > 100
