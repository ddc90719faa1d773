"""Provisional figures for cohorts still in follow-up, and the backtest that says how far to trust them.

docs/nowcast.md describes the model; the rules it rests on are those of docs/measures.md (shared design
measures.md): the index release, the follow-up window (:class:`reoffend.window.FollowUpWindow`, the one
definition, used here through its methods only) and the group measures (:func:`reoffend.measure.group_measures`).

The model is the chain ladder's incurred-but-not-reported step applied to single releases. At the extract
date ``E`` a release dated ``r`` has been *observed for* ``t = E - r + 1`` days: every proven reoffence of
it convicted on or before ``E`` (conviction day ``c = conviction_date - r < t``) is known. Releases whose
follow-up is complete at ``E`` (:meth:`FollowUpWindow.is_complete`) form the *reference*: for them the final
figures are known, and so is what had been seen of them after any ``t`` days. From the reference, per
development age ``t`` (in days) and per *segment* (the ``--by`` columns other than ``cohort``), this module
learns

* for a release with no proven reoffence seen by ``t``: the chance it is eventually a proven reoffender
  (``q(t)``), and its expected final reoffences and reconviction events;
* for a release already seen to reoffend by ``t``: its expected *further* reoffences and events.

The provisional figure of a group is what is observed plus the sum of these expectations over its incomplete
releases. Its variance is the process variance (the sum of the reference's conditional variances) plus the
estimation variance of the expectations, bounded above by treating the errors of the expectations at
different ages as perfectly correlated (``(sum_i sigma_i / sqrt(m_i))**2``); the interval is normal, cut at
what is already observed (a final figure can only be larger) and, for the binary rate, at 1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl

from .drift import LAG_Z, event_table, fit_lag, reference_lags, stretched_reference, with_room
from .errors import UsageError
from .intervals import normal_quantile
from .measure import (
    EVENT_KEY,
    PERSON_KEY,
    MeasureParams,
    group_measures,
    measured_releases,
    person_key,
    proven_reoffences,
    run_metadata,
)
from .messages import counted
from .run_warnings import RunWarning
from .sums import ordered_sum
from .validate import ValidatedInputs
from .window import CONVICTION_DEADLINE, FOLLOW_UP_END, FollowUpWindow, add_months, add_months_to_date

KEY = "_release"
SEGMENT = "_segment"
AGE = "_age"  # days observed: t = extract - release_date + 1
COHORT_CODE = "_cohort_code"  # the cohort's position among the cohorts in order (cohort_labels)
DAY = "_day"  # conviction day: conviction_date - release_date
FIRST_DAY = "_first_day"  # conviction day of the first proven reoffence (null: none seen)
COMPLETE = "_complete"
STAGE = "_stage"  # development_sums: the first of several nested references a release belongs to
MEASURES = ("binary_rate", "events_per_100", "reoffences_per_offender")
COUNTS = {"binary_rate": "reoffended", "events_per_100": "reconviction_events", "reoffences_per_offender": "reoffences"}
SCALE = {"binary_rate": 1.0, "events_per_100": 100.0, "reoffences_per_offender": 1.0}
SMALL_REFERENCE = 100  # fewer complete releases than this in a segment: a warning
BANDS = ((0, 2), (3, 5), (6, 8), (9, 11), (12, 14), (15, 17))
LAG_CHANGED = "_court_lag_changed"  # the release's cohort has a changed court lag (adjusted or not)
RATIO = "_court_lag_ratio"  # the lag ratio a release's development is learned at (1: the reference as it is)
ESTIMATORS = ("cohort", "reference", "ratio", "benktander")
COURT_LAG = ("adjust", "refuse", "ignore")
PROVISIONAL_FIGURES = (*[f"{m}_provisional{s}" for m in MEASURES for s in ("", "_low", "_high")], "level_ratio")
DRIFT_COLUMNS: dict[str, type[pl.DataType]] = {
    "level_ratio": pl.Float64,
    "court_lag_ratio": pl.Float64,
    "court_lag_z": pl.Float64,
    "court_lag_changed": pl.Boolean,
}


@dataclass(frozen=True)
class NowcastParams:
    """What defines a nowcast besides the data: the measurement (``by`` always includes ``cohort``) and how many
    of the latest complete cohorts are shown, as final figures, for reference."""

    measurement: MeasureParams = field(default_factory=lambda: MeasureParams(by=("cohort",)))
    final_cohorts: int = 4
    # issue 25 (docs/nowcast.md): "cohort" follows each cohort's own level, "reference" completes every unseen
    # release at the reference's level (the model before); court_lag: what a changed court lag does
    estimator: str = "cohort"
    court_lag: str = "adjust"
    # q(t), S(t) and P by Kaplan-Meier from every release dated by the extract, those in follow-up censored at
    # their age (docs/nowcast.md, "The reference's shares"); False: from the complete releases alone (before)
    censored_reference: bool = True

    def __post_init__(self) -> None:
        if self.estimator not in ESTIMATORS:
            raise UsageError(f"estimator must be one of {', '.join(ESTIMATORS)}, not {self.estimator!r}")
        if self.court_lag not in COURT_LAG:
            raise UsageError(f"court lag must be one of {', '.join(COURT_LAG)}, not {self.court_lag!r}")
        if self.final_cohorts < 0:
            raise UsageError(f"final cohorts must be 0 or more, not {self.final_cohorts}")
        if self.measurement.latest_cohort:
            raise UsageError("nowcast shows the incomplete cohorts; --latest-cohort does not apply")
        if "cohort" not in self.measurement.by:
            object.__setattr__(self, "measurement", replace(self.measurement, by=("cohort", *self.measurement.by)))

    @property
    def window(self) -> FollowUpWindow:
        return self.measurement.window

    @property
    def segment_columns(self) -> tuple[str, ...]:
        """The ``--by`` columns other than ``cohort``: the development pattern is learned within each."""
        return tuple(c for c in self.measurement.by if c != "cohort")

    def as_dict(self) -> dict[str, object]:
        return {
            **self.measurement.as_dict(),
            "final_cohorts": self.final_cohorts,
            "estimator": self.estimator,
            "court_lag": self.court_lag,
            "censored_reference": self.censored_reference,
        }


@dataclass(frozen=True)
class BacktestParams:
    """Rolling origins: month ends ``step_months`` apart, the latest first, at most ``origins`` of them."""

    origins: int = 12
    step_months: int = 1

    def __post_init__(self) -> None:
        if self.origins < 1:
            raise UsageError(f"backtest origins must be 1 or more, not {self.origins}")
        if self.step_months < 1:
            raise UsageError(f"backtest step must be 1 month or more, not {self.step_months}")


@dataclass
class NowcastResult:
    rows: pl.DataFrame
    params: NowcastParams
    metadata: dict[str, object]
    warnings: list[RunWarning] = field(default_factory=list)
    check: CheckResult | None = None


@dataclass
class BacktestResult:
    """Per months-observed band (``rows``) and per cohort-origin (``detail``)."""

    rows: pl.DataFrame
    detail: pl.DataFrame
    origins: list[dt.date]
    params: NowcastParams
    backtest: BacktestParams
    metadata: dict[str, object]
    warnings: list[RunWarning] = field(default_factory=list)


@dataclass
class Development:
    """Index releases and their proven reoffences under the final window, before any cut at an extract date.

    ``releases``: key (``KEY``, its row index), group columns, ``release_date`` and the window columns.
    ``rows``: one row per proven reoffence (key, ``conviction_date``, conviction day, event key). Built once;
    a nowcast at any date ``E`` only filters it (``release_date <= E``, ``conviction_date <= E``), which is what
    the backtest relies on.
    """

    releases: pl.DataFrame
    rows: pl.DataFrame
    by: tuple[str, ...]
    segments: tuple[str, ...]
    facts: dict[str, object]
    events: pl.DataFrame | None = None  # reconviction events for the court-lag monitor (lag_events)
    cohorts: pl.Series | None = None  # the cohorts in order (cohort_labels)
    # the latest observed_at, by extract and window: a nowcast and its check's backtest both need the extract's
    last_observed: tuple[dt.date, FollowUpWindow, pl.DataFrame] | None = None


# ----------------------------------------------------------------------------------------------- the data
def segment_label(columns: Sequence[str]) -> pl.Expr:
    """The segment's label: one text per distinct combination of the ``columns``' values. Each
    value's text with its control characters escaped (\\x01 -> \\x01\\x02, \\x1f -> \\x01\\x03, \\x00 -> \\x01\\x01), a
    null as \\x00 alone, joined by \\x1f. No escaped value holds \\x00 or \\x1f, so two different combinations
    never give one text (hostile data stays data: ("A\\x1fB", "C") and ("A", "B\\x1fC") are two segments), and
    values without those three characters keep the text (so the segments' numbers) they always had."""
    escaped = [
        pl.col(c)
        .cast(pl.String)
        .str.replace_all("\x01", "\x01\x02", literal=True)
        .str.replace_all("\x1f", "\x01\x03", literal=True)
        .str.replace_all("\x00", "\x01\x01", literal=True)
        .fill_null("\x00")
        for c in columns
    ]
    return pl.concat_str(escaped, separator="\x1f")


def development(inputs: ValidatedInputs, params: NowcastParams) -> Development:
    """The index releases (docs/measures.md, chosen exactly as ``measure`` chooses them) and their proven
    reoffences (the window of :class:`FollowUpWindow`; excluded offence codes dropped)."""
    measurement = replace(params.measurement, incomplete="exclude", latest_cohort=False)
    # every release is kept here; completeness is judged at each extract date by the nowcast itself
    releases, facts = measured_releases(replace(inputs, extract_date=None), measurement)
    by = measurement.by
    person = person_key(inputs)  # offender_id as one integer where that is one to one (measure.person_key)
    # the releases in one order whatever the order of the input rows (a shuffled file is the same input): KEY,
    # the court-lag monitor's order of events (and so its sample and means) and every float sum over releases
    # (reoffend.sums) follow it
    group_columns = [c for c in by if c not in ("offender_id", "release_date")]
    order = [person, "release_date", *group_columns]
    # the columns collected first and sorted eagerly: the same stable sort in the lazy plan cost 0.41 CPU s at
    # 1,000,000 releases against 0.16 (polars 2.2; bench/NOTES.md, ninth round)
    chosen = releases.select("offender_id", *group_columns, "release_date", FOLLOW_UP_END, CONVICTION_DEADLINE)
    keyed = chosen.collect().sort(order, maintain_order=True).with_row_index(KEY)
    segments = params.segment_columns
    if segments:
        keyed = keyed.with_columns(segment_label(segments).rank("dense").cast(pl.UInt32).alias(SEGMENT))
    else:
        keyed = keyed.with_columns(pl.lit(0, pl.UInt32).alias(SEGMENT))
    convictions = proven_reoffences(inputs.convictions, measurement.excluded_offences)
    rows = (
        keyed.lazy()
        .select(KEY, SEGMENT, person.alias(PERSON_KEY), "release_date", FOLLOW_UP_END, CONVICTION_DEADLINE)
        .join(convictions.select(person.alias(PERSON_KEY), pl.exclude("offender_id")), on=PERSON_KEY, how="inner")
        .filter(FollowUpWindow.is_proven_reoffence())
        .select(
            KEY,
            SEGMENT,
            "offence_date",
            "conviction_date",
            FollowUpWindow.days_from_release("conviction_date").cast(pl.Int32).alias(DAY),
            EVENT_KEY,
        )
    )
    return Development(keyed, rows.collect(), by, segments, facts)


def observed_at(data: Development, extract: dt.date, window: FollowUpWindow) -> pl.DataFrame:
    """Per index release dated on or before ``extract``: the per-release measures of docs/measures.md counting
    only convictions dated on or before ``extract``, its age ``t`` in days, the conviction day of its first
    proven reoffence seen, and whether its follow-up is complete (then these are its final figures). The
    latest is kept on ``data``: asked again for the same extract and window, it is not recomputed."""
    if data.last_observed is not None and data.last_observed[:2] == (extract, window):
        return data.last_observed[2]
    seen = (
        data.rows.lazy()
        .filter(pl.col("conviction_date") <= extract)
        .group_by(KEY)
        .agg(
            pl.len().cast(pl.Int64).alias("reoffences"),
            pl.col(EVENT_KEY).n_unique().cast(pl.Int64).alias("reconviction_events"),
            pl.col("offence_date").min().alias("_first_offence"),
            pl.col(DAY).min().alias(FIRST_DAY),
        )
        .collect()
    )
    # beside the releases by position (a left join in release order, as observed_from's; cheaper than polars'
    # left join in the lazy plan: seen_by_origin)
    releases = data.releases.hstack(at_positions(seen, data.releases.height)).lazy()
    observed = _seen_by(releases.filter(pl.col("release_date") <= extract), extract, window).collect()
    data.last_observed = (extract, window, observed)
    return observed


def _seen_by(releases: pl.LazyFrame, extract: dt.date, window: FollowUpWindow) -> pl.LazyFrame:
    """:func:`observed_at`'s columns from each release's ``reoffences``, ``reconviction_events``,
    ``_first_offence`` and ``FIRST_DAY`` seen by ``extract`` (null: none seen)."""
    return (
        releases.with_columns(pl.col("reoffences").fill_null(0), pl.col("reconviction_events").fill_null(0))
        .with_columns(
            (pl.col("reoffences") > 0).alias("reoffended"),
            FollowUpWindow.days_from_release("_first_offence").cast(pl.Int64).alias("days_to_first_reoffence"),
            (pl.lit(extract) - pl.col("release_date")).dt.total_days().cast(pl.Int32).add(1).alias(AGE),
            window.is_complete(extract).alias(COMPLETE),
        )
        .drop("_first_offence")
    )


def seen_by_origin(data: Development, origins: Sequence[dt.date]) -> pl.DataFrame:
    """What :func:`observed_at` counts of every index release at each origin ``i`` of ``origins``, as columns
    ``_reoffences_i``, ``_events_i``, ``_first_offence_i``, ``_first_day_i`` (null: nothing seen), from one
    group-by of the rows (:func:`observed_from`). Counts and minima, so exactly what :func:`observed_at` gives; an
    event counts once its earliest conviction is known, as ``n_unique`` does. One row per row of
    ``data.releases``, in its order (:func:`at_positions`), and no release column: :func:`observed_from` puts
    the counts beside ``data.releases`` itself, so the release columns are not held twice (the memory). The
    counts are held as ``UInt32`` (as polars sums booleans) and made ``Int64`` there."""
    rows = data.rows.lazy().filter(pl.col("conviction_date") <= max(origins))
    known = [pl.col("conviction_date") <= origin for origin in origins]
    per_release = rows.group_by(KEY).agg(
        *[seen.sum().cast(pl.UInt32).alias(f"_reoffences_{i}") for i, seen in enumerate(known)],
        # when/then, not filter: elementwise, then one aggregation (filter in a group-by is slower)
        *[
            pl.when(seen).then(pl.col("offence_date")).min().alias(f"_first_offence_{i}")
            for i, seen in enumerate(known)
        ],
        *[pl.when(seen).then(pl.col(DAY)).min().alias(f"_first_day_{i}") for i, seen in enumerate(known)],
    )
    # the events with their earliest conviction are the court-lag monitor's (lag_events, which the check needs
    # anyway): one group-by of the rows by release and event fewer
    if data.events is None:
        data.events = lag_events(data)
    days = [(origin - dt.date(1970, 1, 1)).days for origin in origins]
    per_event = (
        data.events.lazy()
        .group_by(KEY)
        .agg(
            *[(pl.col("_conviction") <= day).sum().cast(pl.UInt32).alias(f"_events_{i}") for i, day in enumerate(days)]
        )
    )
    # collected together, then put in place by position: the same plan with its two left joins, lazily, took
    # 1.06 CPU s at 1,000,000 releases against 0.42 + 0.14 (bench/NOTES.md, eighth round)
    by_release, by_event = pl.collect_all([per_release, per_event])
    return pl.DataFrame(
        [column for frame in (by_release, by_event) for column in at_positions(frame, data.releases.height)]
    )


def at_positions(frame: pl.DataFrame, height: int) -> list[pl.Series]:
    """The columns of ``frame`` other than ``KEY``, each made ``height`` long with the value of row ``KEY`` at
    position ``KEY`` and null elsewhere: a left join onto ``data.releases``, whose ``KEY`` is its row index
    (:func:`development`), in its order."""
    keys = frame.get_column(KEY)
    return [
        pl.Series(name, dtype=frame.schema[name]).extend_constant(None, height).scatter(keys, frame.get_column(name))
        for name in frame.columns
        if name != KEY
    ]


def observed_from(
    data: Development, seen: pl.DataFrame, index: int, origin: dt.date, window: FollowUpWindow
) -> pl.DataFrame:
    """:func:`observed_at` at ``origin``, the ``index``-th origin of :func:`seen_by_origin`'s frame ``seen`` (its
    rows beside ``data.releases``'s, in the same order)."""
    counts = seen.select(
        pl.col(f"_reoffences_{index}").cast(pl.Int64).alias("reoffences"),
        pl.col(f"_events_{index}").cast(pl.Int64).alias("reconviction_events"),
        pl.col(f"_first_offence_{index}").alias("_first_offence"),
        pl.col(f"_first_day_{index}").alias(FIRST_DAY),
    )
    columns = data.releases.hstack(counts).lazy()
    return _seen_by(columns.filter(pl.col("release_date") <= origin), origin, window).collect()


# ------------------------------------------------------------------------------------- the development
def development_table(reference: pl.DataFrame, rows: pl.DataFrame, max_age: int) -> pl.DataFrame:
    """Per segment and age ``t`` in 0..``max_age``: the conditional means and variances learned from complete
    releases (``reference``, with their proven reoffence ``rows``).

    For each count ``X`` (``reoffended``, ``reoffences``, ``reconviction_events``):

    * ``u_n``, ``u_mean_X``, ``u_var_X``: over reference releases with no proven reoffence convicted before day
      ``t`` (first conviction day ``>= t``, or none), the number, mean and variance of their final ``X``;
      ``u_mean_reoffended`` is ``q(t)``, the chance of eventually being a proven reoffender;
    * ``o_n``, ``o_mean_X``, ``o_var_X``: over reference releases seen to reoffend before day ``t``, the number,
      mean and variance of ``X`` still to come (convicted on day ``t`` or later).

    The variance of ``reoffended`` is ``q~(1 - q~)`` with ``q~ = (x + 1/2) / (m + 1)`` (``x`` of ``m`` at risk
    went on to reoffend), which differs from ``q(1 - q)`` only for a small reference and is never 0.
    Both are cumulative sums over the day axis of per-day changes, so the table costs one pass over the rows.
    """
    stage = pl.lit(0, pl.UInt32).alias(STAGE)
    sums = development_sums(reference.with_columns(stage), rows.with_columns(stage), max_age, 1)
    return development_moments(sums.drop(STAGE))


def development_sums(reference: pl.DataFrame, rows: pl.DataFrame, max_age: int, stages: int) -> pl.DataFrame:
    """The integer sums behind :func:`development_table` (``u_n``, ``o_n``, ``u_s1_X``, ``u_s2_X``, ``o_s1_X``,
    ``o_s2_X``: counts, sums and sums of squares) for ``stages`` nested references at once, keyed by ``STAGE``,
    segment and age: ``reference`` and ``rows`` carry ``STAGE``, the first reference (0-based) a release belongs
    to, and reference ``s`` holds every release of stage ``s`` or less (the backtest's references grow as the
    origins move on: :func:`backtest_in_one_pass`). A segment appears at a stage once it has a release there.
    Integer sums only, so each stage's sums are those of its reference alone, whatever the order of addition."""
    never = max_age + 1
    first = reference.select(
        STAGE,
        SEGMENT,
        KEY,
        pl.col(FIRST_DAY).fill_null(never).clip(upper_bound=never).alias("_d1"),
        pl.col("reoffended").cast(pl.Int64).alias("reoffended"),
        "reoffences",
        "reconviction_events",
    )
    counts = ("reoffended", "reoffences", "reconviction_events")

    # not yet seen at t: first conviction day >= t; a release counts at every age up to its first day
    unseen = first.group_by(STAGE, SEGMENT, pl.col("_d1").clip(upper_bound=max_age).cast(pl.Int32).alias(AGE)).agg(
        pl.len().alias("u_n"),
        *[pl.col(c).sum().alias(f"u_s1_{c}") for c in counts],
        *[(pl.col(c) ** 2).sum().alias(f"u_s2_{c}") for c in counts],
    )

    # seen at t (first day < t): at t = first day + 1 the release joins with what remains after that day;
    # after each later conviction day d, at t = d + 1, the remaining count drops by the rows (events) of day d
    if rows.schema[EVENT_KEY] == pl.Date:
        # an event is a conviction date, on one day: its own, or the one its court lag is stretched to
        # (drift.stretched_reference), where two dates may land on one day; so one event per release, day and date
        ordered = rows.select(STAGE, SEGMENT, KEY, DAY, EVENT_KEY).sort(KEY, DAY, EVENT_KEY)
        event = pl.col(EVENT_KEY)
        events = ordered.filter(_new_release() | (pl.col(DAY) != pl.col(DAY).shift(1)) | (event != event.shift(1)))
    else:  # an appearance: first seen on its earliest conviction day
        ordered = rows.select(STAGE, SEGMENT, KEY, DAY, EVENT_KEY).sort(KEY, DAY)
        events = (
            ordered.group_by(KEY, EVENT_KEY)
            .agg(pl.col(STAGE).first(), pl.col(SEGMENT).first(), pl.col(DAY).min())
            .sort(KEY, DAY)
        )
    changes = [_remaining_changes(ordered, "reoffences"), _remaining_changes(events, "reconviction_events")]
    joins = first.filter(pl.col("_d1") < never).select(
        STAGE, SEGMENT, (pl.col("_d1") + 1).cast(pl.Int32).alias(AGE), pl.lit(1, pl.Int64).alias("o_n")
    )
    # each part summed apart by state and joined to the grid below (its own columns; integer sums): one concat
    # of every part with nulls, then one group-by, cost 0.21 CPU s at 1,000,000 releases against 0.03 (bench/NOTES.md,
    # ninth round)
    state = [STAGE, SEGMENT, AGE]
    seen = pl.collect_all(
        part.lazy().filter(pl.col(AGE) <= max_age).group_by(state).agg(pl.exclude(state).sum())
        for part in (joins, *changes)
    )

    # every stage, segment and age; a release counts from its stage on (cumulative over stages), then over ages
    grid = (
        pl.DataFrame({STAGE: pl.int_range(0, stages, eager=True).cast(pl.UInt32)})
        .join(first.select(SEGMENT).unique(), how="cross")
        .join(pl.DataFrame({AGE: pl.int_range(0, max_age + 1, eager=True).cast(pl.Int32)}), how="cross")
    )
    table = grid.join(unseen, on=state, how="left")  # the order: sorted next
    for part in seen:
        table = table.join(part, on=state, how="left")
    table = (
        table.fill_null(0)
        .sort(SEGMENT, AGE, STAGE)
        .with_columns(pl.exclude(STAGE, SEGMENT, AGE).cum_sum().over(SEGMENT, AGE))
        .sort(STAGE, SEGMENT, AGE)
        .with_columns(
            pl.col("^u_.*$").cum_sum(reverse=True).over(STAGE, SEGMENT),
            pl.col("^o_.*$").cum_sum().over(STAGE, SEGMENT),
        )
    )
    # at age 0 nobody is seen: u_n is the segment's releases in the reference so far
    return table.filter(pl.col("u_n").first().over(STAGE, SEGMENT) > 0)


def development_moments(sums: pl.DataFrame) -> pl.DataFrame:
    """:func:`development_table` from its sums (:func:`development_sums`, one stage): means and variances."""
    counts = ("reoffended", "reoffences", "reconviction_events")
    moments = []
    for prefix, count_columns in (("u", counts), ("o", counts[1:])):
        n = pl.col(f"{prefix}_n")
        for c in count_columns:
            mean = pl.when(n > 0).then(pl.col(f"{prefix}_s1_{c}") / n)
            second = pl.when(n > 0).then(pl.col(f"{prefix}_s2_{c}") / n)
            variance = (second - mean**2).clip(lower_bound=0)
            if c == "reoffended":
                # q~ = (x + 1/2) / (m + 1) in the variance: a small reference in which nobody (or everybody)
                # at risk went on to reoffend must not give a zero-width interval
                shrunk = (pl.col(f"{prefix}_s1_{c}") + 0.5) / (n + 1)
                variance = pl.when(n > 0).then(shrunk * (1 - shrunk))
            moments += [mean.alias(f"{prefix}_mean_{c}"), variance.alias(f"{prefix}_var_{c}")]
    return sums.select(SEGMENT, AGE, "u_n", "o_n", *moments)


def _new_release() -> pl.Expr:
    """True on the first row of each release in rows sorted by release."""
    return (pl.col(KEY) != pl.col(KEY).shift(1)).fill_null(True)


def _remaining_changes(ordered: pl.DataFrame, count: str) -> pl.DataFrame:
    """Changes, by age, of the count still to come and of its square, for releases already seen to reoffend.

    ``ordered`` has one row per reoffence (or event) with its conviction day, sorted by release and day. The
    count still to come at age ``t`` is ``R(t) = #{rows with day >= t}``. A release is first seen at
    ``t = d1 + 1`` (``d1`` its first day), with ``R(d1 + 1)`` to come; each later row then lowers ``R`` by one
    at ``t = day + 1``: by ``-1``, and its square by ``(R - 1)**2 - R**2``, ``R`` counted from that row to the
    release's last. Sorted rows make this a few shifts and fills, without a group-by.
    """
    index = pl.int_range(pl.len(), dtype=pl.Int64)
    new = _new_release()
    last = (pl.col(KEY) != pl.col(KEY).shift(-1)).fill_null(True)
    frame = ordered.select(
        KEY,
        STAGE,
        SEGMENT,
        DAY,
        (pl.when(last).then(index).backward_fill() - index + 1).alias("_r"),  # rows from this one to the last
        pl.when(new).then(pl.col(DAY)).forward_fill().alias("_d1"),
    ).filter(pl.col(DAY) > pl.col("_d1"))
    first_later = _new_release()  # after the filter, a release's later rows are consecutive
    s1, s2 = f"o_s1_{count}", f"o_s2_{count}"
    r = pl.col("_r")
    return pl.concat(
        [
            frame.filter(first_later).select(
                STAGE, SEGMENT, (pl.col("_d1") + 1).cast(pl.Int32).alias(AGE), r.alias(s1), (r**2).alias(s2)
            ),
            frame.select(
                STAGE,
                SEGMENT,
                (pl.col(DAY) + 1).cast(pl.Int32).alias(AGE),
                pl.lit(-1, pl.Int64).alias(s1),
                ((r - 1) ** 2 - r**2).alias(s2),
            ),
        ]
    )


# ---------------------------------------------------------------------------------------------- nowcast
def months_observed(medians: pl.DataFrame, extract: dt.date, window: FollowUpWindow) -> pl.Series:
    """Whole calendar months from each ``_median`` release date to the day after ``extract``, at most the
    follow-up plus the waiting period (month arithmetic of :mod:`reoffend.window`)."""
    full = window.follow_up_months + window.waiting_period_months
    after = extract + dt.timedelta(days=1)
    months = pl.DataFrame({"_m": list(range(full + 1))}, schema={"_m": pl.Int32})
    found = (
        medians.select(pl.int_range(pl.len()).alias("_i"), "_median")
        .join(months, how="cross")
        .filter(add_months(pl.col("_median"), pl.col("_m")) <= after)
        .group_by("_i")
        .agg(pl.col("_m").max())
    )
    return (
        medians.select(pl.int_range(pl.len()).alias("_i"))
        .join(found, on="_i", how="left")  # the order: sorted next
        .sort("_i")
        .get_column("_m")
        .fill_null(0)
        .alias("months_observed")
    )


@dataclass
class OriginState:
    """What the backtest computes for all its origins in one pass (:func:`backtest`): the releases observed at
    an origin (:func:`observed_at`) and the development table of the releases complete then
    (:func:`development_table`)."""

    observed: pl.DataFrame
    table: pl.DataFrame


def nowcast_at(
    data: Development,
    extract: dt.date,
    params: NowcastParams,
    state: OriginState | None = None,
    groups: pl.DataFrame | None = None,
    quiet: bool = False,
) -> tuple[pl.DataFrame, list[RunWarning]]:
    """Every group of index releases dated on or before ``extract``, final or provisional (docs/nowcast.md).
    ``state``: the observed releases and development table at ``extract``, when already computed. ``groups``
    (the ``by`` columns): only these groups' figures are wanted (the backtest's); the model still learns from
    every group, and the warnings are about every group. ``quiet`` (with ``groups``): no warnings are wanted,
    so the court-lag ratio is fitted only for the cohorts of ``groups`` (the others' verdict, which tau2 reads,
    is still made) and the expectations are worked out only for their releases."""
    window, by, confidence = params.window, params.measurement.by, params.measurement.confidence
    observed = state.observed if state is not None else observed_at(data, extract, window)
    counts = group_counts(observed, by, GROUP_SEGMENT, GROUP_MEDIAN)
    group_status = counts.select(*by, "_final")
    if groups is not None:
        group_status = group_status.join(groups, on=list(by), nulls_equal=True, how="semi")
    # the backtest (groups given) compares provisional figures alone: no final group's measures for it
    final_groups = group_status.filter("_final")
    final_releases = (
        observed.join(final_groups, on=list(by), nulls_equal=True, how="semi") if groups is None else observed.head(0)
    )
    final = group_measures(final_releases.lazy(), by, confidence).collect()

    targets = observed.filter(~pl.col(COMPLETE))
    warnings: list[RunWarning] = []
    expected = targets.select(*by, SEGMENT).head(0)
    levels = lags = compared = None
    if targets.height:
        reference = observed.filter(COMPLETE)
        quiet = quiet and groups is not None
        lags = court_lag_check(data, observed, extract, groups.get_column("cohort") if quiet else None)  # type: ignore[union-attr]
        warnings += [] if quiet else _lag_warnings(lags, params)
        adjust = pl.col("_adjust") & (params.court_lag == "adjust")
        changed = pl.col("court_lag_changed").fill_null(False).alias(LAG_CHANGED)
        ratio = pl.when(adjust).then(pl.col("court_lag_ratio")).otherwise(1.0).alias(RATIO)
        ratios = lags.select("cohort", ratio, changed)
        max_age = int(targets.get_column(AGE).max())  # type: ignore[arg-type]
        table = _development_tables(data, observed, reference, ratios, max_age, params, state)
        # one join (two before); the order of the releases in follow-up is not kept: _expectations sorts them
        targets = targets.join(ratios, on="cohort", how="left").with_columns(
            pl.col(RATIO).fill_null(1.0), pl.col(LAG_CHANGED).fill_null(False)
        )
        compared = _releases_of(targets, group_status, by) if groups is not None else None
        keep = compared if quiet else None
        expected, levels = _expectations(targets, table, reference, observed, by, params.estimator, keep, counts)
        adjusted = targets.filter(pl.col(RATIO) != 1.0)
        if adjusted.height:
            levels = _with_lag_model_error(levels, expected, adjusted, table, reference, observed, by)
        warnings += [] if quiet else _reference_warnings(data, reference, targets, expected, extract)
    if compared is not None:  # in release order still: the sums over a group are those of all the releases
        expected = expected.filter(compared)
    provisional = _provisional_groups(observed, group_status, expected, levels, by, confidence, counts)
    if lags is not None and provisional.height:
        # the order of groups: _assemble sorts them (and the backtest its detail)
        provisional = provisional.join(lags.drop("_adjust"), on="cohort", how="left")
        if params.court_lag == "refuse":
            refused = pl.col("court_lag_changed").fill_null(False)
            provisional = provisional.with_columns(pl.when(~refused).then(pl.col(c)) for c in PROVISIONAL_FIGURES)
    medians = counts.select(*by, "_median")
    medians = medians.with_columns(months_observed(medians, extract, window))
    rows = _assemble(final, provisional, medians.drop("_median"), by)
    return rows, warnings


def group_counts(observed: pl.DataFrame, by: Sequence[str], *extra: pl.Expr) -> pl.DataFrame:
    """Per group of ``observed`` releases, in one group-by (the nowcast asked four of them before; integer
    counts, so the same whatever the order): ``_final`` (every release complete), ``_n`` releases,
    ``_incomplete``, ``_x`` seen to reoffend, ``_r`` reoffences and ``_e`` events seen, and the ``extra``
    aggregations (:data:`GROUP_SEGMENT`, :data:`GROUP_MEDIAN`)."""
    # lazily: only the columns read are touched (0.042 -> 0.031 CPU s a call at 1M, best of 5)
    return (
        observed.lazy()
        .group_by(by)
        .agg(
            pl.col(COMPLETE).all().alias("_final"),
            pl.len().alias("_n"),
            (~pl.col(COMPLETE)).sum().alias("_incomplete"),
            pl.col("reoffended").sum().alias("_x"),
            pl.col("reoffences").sum().alias("_r"),
            pl.col("reconviction_events").sum().alias("_e"),
            *extra,
        )
        .collect()
    )


GROUP_SEGMENT = pl.col(SEGMENT).first()  # one segment per group: the segment columns are among ``by``
# the median release date, whole days (months_observed)
GROUP_MEDIAN = pl.col("release_date").cast(pl.Int32).median().floor().cast(pl.Int32).cast(pl.Date).alias("_median")


def _releases_of(targets: pl.DataFrame, groups: pl.DataFrame, by: Sequence[str]) -> pl.Expr:
    """True for the releases of ``targets`` in ``groups`` (a filter keeps the releases' order)."""
    return pl.col(KEY).is_in(
        targets.select(KEY, *by).join(groups, on=list(by), nulls_equal=True, how="semi").get_column(KEY).implode()
    )


def _development_tables(
    data: Development,
    observed: pl.DataFrame,
    reference: pl.DataFrame,
    ratios: pl.DataFrame,
    max_age: int,
    params: NowcastParams,
    state: OriginState | None,
) -> pl.DataFrame:
    """The development table with its shares at each court-lag ratio in ``ratios`` (``RATIO``; 1: the complete
    releases as they are, from ``state`` when given, else learned here; otherwise their lags stretched)."""
    wanted = sorted({1.0, *ratios.get_column(RATIO).to_list()})
    needs_rows = state is None or len(wanted) > 1  # the rows of the complete releases, to learn from or stretch
    reference_rows = rows_of(data, reference) if needs_rows else data.rows.head(0)
    tables = []
    for ratio in wanted:
        if ratio == 1.0:
            table = state.table if state is not None else development_table(reference, reference_rows, max_age)
        else:
            stretched = stretched_reference(reference, reference_rows, data.releases, KEY, DAY, FIRST_DAY, ratio)
            table = development_table(*stretched, max_age)
        shared = _with_shares(table)
        if ratio == 1.0 and params.censored_reference:
            shared = _censored(shared, censored_shares(observed, max_age))
        tables.append(shared.with_columns(pl.lit(ratio).alias(RATIO)))
    return pl.concat(tables)


def rows_of(data: Development, releases: pl.DataFrame) -> pl.DataFrame:
    """The proven reoffence rows of ``releases`` (some of ``data.releases``), in ``data.rows``'s order: marked by
    position, the key being the row index (:func:`at_positions`), rather than joined (0.13 CPU s at 1M)."""
    marked = at_positions(releases.select(KEY, pl.lit(True).alias("_in")), data.releases.height)[0]
    return data.rows.filter(marked.gather(data.rows.get_column(KEY)).fill_null(False))


def _with_lag_model_error(
    levels: pl.DataFrame,
    expected: pl.DataFrame,
    adjusted: pl.DataFrame,
    table: pl.DataFrame,
    reference: pl.DataFrame,
    observed: pl.DataFrame,
    by: Sequence[str],
) -> pl.DataFrame:
    """``levels`` with ``_lag_sd_X``: the lag model's own error, a share of the adjustment (estimate at the
    stretched lags minus at the reference's) of the ``adjusted`` releases, as a standard deviation
    (docs/nowcast.md, "Court lag")."""
    plain, _ = _expectations(
        adjusted.with_columns(pl.lit(1.0).alias(RATIO)), table, reference, observed, by, "reference"
    )
    # in release order, as expected is: the float sums below are then those of every run
    moved = expected.join(adjusted.select(KEY), on=KEY, how="semi", maintain_order="left")
    sums = [ordered_sum(f"_mean_{c}").alias(f"_shift_{c}") for c in COUNTS.values()]
    shift = (
        moved.group_by(by).agg(sums).join(plain.group_by(by).agg(sums), on=list(by), nulls_equal=True, suffix="_plain")
    )
    lag_sd = [
        (LAG_MODEL_SHARE * (pl.col(f"_shift_{c}") - pl.col(f"_shift_{c}_plain"))).alias(f"_lag_sd_{c}")
        for c in COUNTS.values()
    ]
    return levels.join(
        shift.select(*by, *lag_sd), on=list(by), nulls_equal=True, how="left"
    )  # per group, read by its key


def _reference_warnings(
    data: Development, reference: pl.DataFrame, targets: pl.DataFrame, expected: pl.DataFrame, extract: dt.date
) -> list[RunWarning]:
    """Segments with releases in follow-up and fewer than ``SMALL_REFERENCE`` complete releases to learn from;
    segments with a release in follow-up in a state no complete release reached (its figures are empty)."""
    warnings = []
    small = (
        reference.group_by(SEGMENT)
        .agg(pl.len().alias("_m"), *[pl.col(c).first() for c in data.segments])
        .filter(pl.col("_m") < SMALL_REFERENCE)
        .join(targets.select(SEGMENT).unique(), on=SEGMENT, how="semi")
    )
    for row in small.sort(SEGMENT).iter_rows(named=True):
        group = "/".join(str(row[c]) for c in data.segments) or "all releases"
        warnings.append(
            RunWarning(
                "small-groups",
                f"only {counted(row['_m'], 'complete release')} to learn from ({group}): the provisional figures "
                "rest on few cases and the backtest is the guide to their reliability",
                subjects=[group],
                counts={"complete_releases": row["_m"], "threshold": SMALL_REFERENCE},
            )
        )
    unknown = pl.any_horizontal(pl.col("^_mean_.*$").is_null())
    missing = expected.filter(unknown).select(SEGMENT, *data.segments).unique(SEGMENT)
    if missing.height:
        groups = ["/".join(str(v) for v in row[1:]) or "all releases" for row in missing.sort(SEGMENT).rows()]
        names = ", ".join(groups)
        warnings.append(
            RunWarning(
                "no-reference",
                f"too few complete releases to learn from for {counted(missing.height, 'group')} ({names}) at "
                f"{extract} (none in the state of some release in follow-up); their provisional figures are empty",
                subjects=groups,  # as found: a value holding ", " stays one group
                counts={"groups": missing.height},
            )
        )
    return warnings


def court_lag_check(
    data: Development, observed: pl.DataFrame, extract: dt.date, fitted: pl.Series | None = None
) -> pl.DataFrame:
    """Per cohort with a release in follow-up: the court-lag monitor of :mod:`reoffend.drift` on the reconviction
    events of its releases in follow-up seen by ``extract``, against the events of the complete releases:
    ``court_lag_ratio`` (how many times as long the lags now are; null with too few events), ``court_lag_z``,
    ``court_lag_changed`` (``|z| >= LAG_Z``) and ``_adjust`` (changed, with a ratio). ``fitted``: the cohorts
    whose ratio is wanted (None: all); the others have ``z`` alone."""
    if data.events is None:  # extract-independent: built once for a nowcast and its backtest
        data.events = lag_events(data)
    extract_day = (extract - dt.date(1970, 1, 1)).days
    # lazily, in one collect: each filter copies only the columns its part reads (the reference's lags and rooms,
    # the recent events' cohort too; the cohorts in follow-up): 0.026-0.030 -> 0.017-0.018 CPU s a call at 1M
    # (best of 5, twice; bench/NOTES.md, ninth round), the same frames in the same order
    events = with_room(data.events.lazy(), extract_day)
    # complete (FollowUpWindow.is_complete: deadline <= extract + 1 day) is _last <= extract in days, and the
    # releases in follow-up are those dated by the extract and not complete: no join with the observed releases
    complete = pl.col("_last") <= extract_day
    reference_events, recent, state = pl.collect_all(
        [
            events.filter(complete).select("_lag", "_room"),
            events.filter(~complete & (pl.col("_released") <= extract_day)).select(COHORT_CODE, "_lag", "_room"),
            observed.lazy().filter(~pl.col(COMPLETE)).select("cohort"),
        ]
    )
    reference = reference_lags(reference_events)  # a histogram: the order of the events does not matter
    out = []
    # each cohort's events in their order, split in numpy by the cohort's code (a mask keeps the order, as a group
    # of polars' group-by does): the group-by and its frames cost 0.02 CPU s a call at 1,000,000 releases
    # (bench/NOTES.md, tenth round)
    codes, lags, rooms = (recent.get_column(c).to_numpy() for c in (COHORT_CODE, "_lag", "_room"))
    labels = cohort_labels(data).to_list()
    for code in np.unique(codes).tolist():
        cohort, group = labels[code], codes == code
        fit = fit_lag(reference, lags[group], rooms[group], fitted is None or cohort in fitted)
        out.append((cohort, fit.ratio, fit.z, fit.events))
    for cohort in state.get_column("cohort").unique().to_list():
        if cohort not in {row[0] for row in out}:
            out.append((cohort, None, None, 0))
    frame = pl.DataFrame(
        out,
        schema={
            "cohort": observed.schema["cohort"],
            "court_lag_ratio": pl.Float64,
            "court_lag_z": pl.Float64,
            "_events": pl.Int64,
        },
        orient="row",
    )
    changed = pl.col("court_lag_z").abs() >= LAG_Z
    return frame.select(
        "cohort",
        pl.col("court_lag_ratio").round(2),
        "court_lag_z",
        changed.alias("court_lag_changed"),
        (changed & pl.col("court_lag_ratio").is_not_null()).fill_null(False).alias("_adjust"),
    )


def lag_events(data: Development) -> pl.DataFrame:
    """The reconviction events of :func:`reoffend.drift.event_table` with their release's cohort (its code,
    ``COHORT_CODE``) and release day (``_released``), in the fixed order the monitor reads them in (release, lag,
    room: at any extract a release's room is ``min(extract, _last) - _offence``, so rising room is falling
    ``_offence``). Sorted once here, every extract's subset is in that order without a sort of its own."""
    released = (pl.col("release_date") - dt.date(1970, 1, 1)).dt.total_days().cast(pl.Int32).alias("_released")
    releases = data.releases.lazy().select(KEY, CONVICTION_DEADLINE, "cohort", released).collect()
    events = event_table(data.rows, releases, KEY, carry=("_released",), by_position=True)
    order = monitor_order(events)
    # the one number sorted alone and the events read back from it (_decoded), else the three columns
    one_key = len(order) == 1
    events = _decoded(events.select(order[0]).to_series().sort(), releases) if one_key else events.sort(order)
    # the release's cohort as its place among the cohorts in order (cohort_labels), by position: the monitor
    # splits the events by it in numpy, and a number is cheaper to gather and filter than the label
    labels = cohort_labels(data)
    codes = releases.get_column("cohort").replace_strict(
        labels, pl.int_range(labels.len(), eager=True, dtype=pl.UInt32)
    )
    cohort = codes.gather(events.get_column(KEY)).alias(COHORT_CODE)
    return events.select(KEY, "_offence", "_conviction", "_last", "_lag", cohort, "_released")


def cohort_labels(data: Development) -> pl.Series:
    """The cohorts of ``data.releases`` in order, once: a cohort's code (COHORT_CODE) is its position here."""
    if data.cohorts is None:
        data.cohorts = data.releases.get_column("cohort").unique().sort()
    return data.cohorts


def _decoded(keys: pl.Series, releases: pl.DataFrame) -> pl.DataFrame:
    """The events of :func:`lag_events` from their sort keys of :func:`monitor_order` (one number each, sorted):
    release, lag and offence day in follow-up are its three parts, the release's day and deadline are taken by
    position (``KEY`` is the row index of ``releases``), and offence and conviction follow. Sorting the one
    column and reading the rest back cost 0.04 + 0.03 CPU s at 1,000,000 releases against 0.17 for sorting the
    frame by it (bench/NOTES.md, ninth round); the same rows: two events with one key have the same columns."""
    limit = 1 << MONITOR_BITS
    parts = keys.to_frame("_k").select(
        (pl.col("_k") // (limit * limit)).cast(pl.UInt32).alias(KEY),
        (pl.col("_k") // limit % limit).cast(pl.Int64).alias("_lag"),
        (limit - 1 - pl.col("_k") % limit).cast(pl.Int32).alias("_offset"),
    )
    at = parts.get_column(KEY)
    offence = pl.col("_released") + pl.col("_offset")
    return parts.with_columns(
        releases.get_column("_released").gather(at), releases.get_column(CONVICTION_DEADLINE).gather(at)
    ).select(
        KEY,
        offence.alias("_offence"),
        (offence + pl.col("_lag")).cast(pl.Int32).alias("_conviction"),
        (pl.col(CONVICTION_DEADLINE).cast(pl.Int32) - 1).alias("_last"),
        "_lag",
        "_released",
    )


MONITOR_BITS = 16  # of the lag and of the offence's day in follow-up in the one sort key of monitor_order


def monitor_order(events: pl.DataFrame) -> list[pl.Expr]:
    """The sort keys of :func:`lag_events`: release key, lag, offence day descending.

    A proven reoffence is committed in its release's follow-up and convicted after it (validated, and the
    window's rule), so the lag and the offence's day counted from the release (which orders the offences of
    one release as their days do) are small whole numbers: where both are below 2**16 (a window of up to 179
    years), ``key * 2**32 + lag * 2**16 + (2**16 - 1 - offence day)`` sorts the events in exactly that order,
    as one unsigned number (about half the CPU of sorting by three columns, bench/NOTES.md). Otherwise the
    three columns themselves."""
    lag, offset = pl.col("_lag"), pl.col("_offence") - pl.col("_released")
    limit = 1 << MONITOR_BITS
    fits = events.select((lag.min() >= 0) & (lag.max() < limit) & (offset.min() >= 0) & (offset.max() < limit)).item()
    if not fits:  # also when there are no events (null): nothing to sort
        return [pl.col(KEY), lag, -pl.col("_offence").cast(pl.Int64)]
    return [
        pl.col(KEY).cast(pl.UInt64) * (1 << (2 * MONITOR_BITS))
        + lag.cast(pl.UInt64) * limit
        + (limit - 1 - offset).cast(pl.UInt64)
    ]


def _lag_warnings(lags: pl.DataFrame, params: NowcastParams) -> list[RunWarning]:
    changed = lags.filter(pl.col("court_lag_changed").fill_null(False)).sort("cohort")
    if not changed.height:
        return []
    listed = ", ".join(
        f"{row['cohort']} ({row['court_lag_ratio']:.2f} times, z = {row['court_lag_z']:.1f})"
        for row in changed.iter_rows(named=True)
    )
    action = {
        "adjust": "their development is learned from the complete releases with lags stretched to match",
        "refuse": "their provisional figures are withheld (--court-lag refuse)",
        "ignore": "their provisional figures assume the reference's lags all the same (--court-lag ignore)",
    }[params.court_lag]
    return [
        RunWarning(
            "court-lag",
            f"the court lag of recent convictions differs from the complete releases' in {listed}: {action} "
            "(reoffend docs nowcast, Court lag)",
            subjects=[str(c) for c in changed.get_column("cohort").to_list()],
        )
    ]


def censored_shares(observed: pl.DataFrame, max_age: int) -> pl.DataFrame:
    """Per segment and age ``t`` in 0..``max_age``: ``_q_km``, ``_S_km``, ``_P_km``, Kaplan-Meier (product-limit)
    estimates of q(t), S(t), P from every release dated by the extract, those in follow-up censored at their
    age."""
    never = pl.lit(1 << 30, pl.Int64)
    seen = pl.col(FIRST_DAY).is_not_null()
    last = (
        pl.when(seen)
        .then(pl.col(FIRST_DAY).cast(pl.Int64))
        .when(pl.col(COMPLETE))
        .then(never)
        .otherwise(pl.col(AGE).cast(pl.Int64) - 1)
    )
    top = int(observed.select(pl.max_horizontal(pl.col(FIRST_DAY).max(), pl.lit(max_age))).item())
    frame = observed.lazy().select(SEGMENT, last.clip(upper_bound=top + 1).alias("_last"), pl.col(FIRST_DAY))
    # a release is at risk on every day up to its last (first seen, or the last day observed, or never left);
    # the three counts in one collect (integer counts: the same in any order)
    leaving, events, segments = pl.collect_all(
        [
            frame.group_by(SEGMENT, pl.col("_last").cast(pl.Int32).alias(AGE)).agg(pl.len().alias("_leave")),
            frame.filter(pl.col(FIRST_DAY).is_not_null())
            .group_by(SEGMENT, pl.col(FIRST_DAY).cast(pl.Int32).alias(AGE))
            .agg(pl.len().alias("_d")),
            frame.select(SEGMENT).unique(),
        ]
    )
    ages = pl.DataFrame({AGE: pl.int_range(0, top + 2, eager=True).cast(pl.Int32)})
    grid = segments.join(ages, how="cross")
    table = (
        grid.join(leaving, on=[SEGMENT, AGE], how="left")  # the order: sorted next
        .join(events, on=[SEGMENT, AGE], how="left")
        .fill_null(0)
        .sort(SEGMENT, AGE)
        .with_columns(pl.col("_leave").cum_sum(reverse=True).over(SEGMENT).alias("_n"))
        .with_columns(pl.when(pl.col("_n") > 0).then(1 - pl.col("_d") / pl.col("_n")).otherwise(1.0).alias("_keep"))
        .with_columns(
            pl.col("_keep").cum_prod(reverse=True).over(SEGMENT).alias("_from"),
            pl.col("_keep").cum_prod().shift(1, fill_value=1.0).over(SEGMENT).alias("_before"),
        )
    )
    return table.filter(pl.col(AGE) <= max_age).select(
        SEGMENT,
        AGE,
        (1 - pl.col("_from")).alias("_q_km"),
        (1 - pl.col("_before")).alias("_S_km"),
        (1 - pl.col("_from").first().over(SEGMENT)).alias("_P_km"),
    )


def _censored(table: pl.DataFrame, shares: pl.DataFrame) -> pl.DataFrame:
    """The development table with q(t), S(t) and P replaced by their product-limit estimates, and the unseen
    releases' frequency means and variances scaled by the ratio of the new q(t) to the old."""
    joined = table.join(shares, on=[SEGMENT, AGE], how="left")  # the order: a table read by its keys
    q = pl.col("u_mean_reoffended")
    factor = pl.when(q > 0).then(pl.col("_q_km") / q).otherwise(1.0)
    counts = ("reoffences", "reconviction_events")
    scaled = [(pl.col(f"u_{m}_{c}") * factor).alias(f"u_{m}_{c}") for m in ("mean", "var") for c in counts]
    return joined.with_columns(
        *scaled, pl.col("_q_km").alias("u_mean_reoffended"), pl.col("_S_km").alias("_S"), pl.col("_P_km").alias("_P")
    ).drop("_q_km", "_S_km", "_P_km")


def _with_shares(table: pl.DataFrame) -> pl.DataFrame:
    """The development table with ``_S``, the share of the segment's reference seen to reoffend before day ``t``,
    and ``_P``, the share eventually proven reoffenders (the segment's final rate)."""
    total = pl.col("u_n").first().over(SEGMENT).cast(pl.Float64)  # at age 0 nobody is seen: every release
    return table.sort(SEGMENT, AGE).with_columns(
        (1 - pl.col("u_n") / total).alias("_S"), pl.col("u_mean_reoffended").first().over(SEGMENT).alias("_P")
    )


def _expectations(
    targets: pl.DataFrame,
    table: pl.DataFrame,
    reference: pl.DataFrame,
    observed: pl.DataFrame,
    by: Sequence[str],
    estimator: str,
    keep: pl.Expr | None = None,
    counts: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per incomplete release: the expected final minus observed of each count, its variance, and the
    standard error of that expectation (``sigma / sqrt(m)``, ``m`` reference releases in its state); and per
    group the level ratio used and the variance it adds (docs/nowcast.md, "The cohort's own level"). ``keep``:
    the releases whose expectations are wanted (None: all); the levels are learned from all. ``counts``:
    :func:`group_counts` of ``observed``, when already made.

    ``estimator="reference"``: a release not seen to reoffend by age ``t`` is completed with the reference's
    ``q(t)`` (Bornhuetter-Ferguson). ``"cohort"``: with ``q_lam(t) = lam (P - S(t)) / (1 - lam S(t))``, where
    ``S(t)`` and ``P`` are the reference's shares seen by ``t`` and finally proven, and ``lam`` the group's level
    relative to the reference: its observed-to-expected ratio ``O / E`` (``E = sum S(t_i)``) shrunk towards 1
    by the credibility ``Z = tau2 / (tau2 + v)`` (:func:`level_credibility`). ``"ratio"`` (``Z = 1``, the chain
    ladder's answer) and ``"benktander"`` (``Z`` the share developed) are the alternatives the bench compares.
    """
    # in release order: the sums over a group are then the same at every run, to the last bit
    state = [SEGMENT, AGE, RATIO]
    joined = with_state(targets, table if keep is None else table.select(*state, "_S", "_P")).sort(KEY)
    levels = level_credibility(joined, reference, observed, by, estimator, counts)
    if keep is not None:  # the levels read the shares of every release; the whole table for the kept ones alone
        joined = with_state(targets.filter(keep), table).sort(KEY)
    levels_columns = levels.select(*by, "level_ratio", "_level_mse")
    joined = joined.join(levels_columns, on=list(by), nulls_equal=True, how="left", maintain_order="left")
    columns = expectation_columns()
    drop = [c for c in (*table.columns, "level_ratio", "_level_mse") if c not in (SEGMENT, AGE, RATIO)]
    # lazily: the common subexpressions (q_lam, the scale) are then computed once, not in every column (0.33 ->
    # 0.22 CPU s a call at 1,000,000 releases); the same operations on the same values, so the same numbers
    return joined.lazy().select(pl.exclude(drop), *columns).collect(), levels


def with_state(releases: pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
    """``releases.join(table, on=[SEGMENT, AGE, RATIO], how="left", maintain_order="left")`` for a development
    table (``_development_tables``: one row per segment, age and ratio), its rows taken by position instead: a
    table whose ages run from 0 to the oldest without a gap in every (segment, ratio) is a dense array, row
    ``(SEGMENT * ratios + the ratio's place) * ages + AGE``. Where the table is not so, the join itself (bench/
    NOTES.md, tenth round: 0.026-0.033 -> 0.015-0.017 CPU s a call at 1,000,000 releases, and no sort after)."""
    state = [SEGMENT, AGE, RATIO]
    where = _dense_rows(table)
    if where is None or set(releases.columns) & set(table.columns).difference(state):
        return releases.join(table, on=state, how="left", maintain_order="left")
    rows, ratios, ages = where
    place = pl.col(RATIO).replace_strict(ratios, pl.int_range(ratios.len(), eager=True), default=None)
    position = (pl.col(SEGMENT).cast(pl.Int64) * ratios.len() + place) * ages + pl.col(AGE)
    inside = (
        (pl.col(AGE) >= 0) & (pl.col(AGE) < ages) & (pl.col(SEGMENT).cast(pl.Int64) * ratios.len() * ages < rows.len())
    )
    at = releases.select(pl.when(inside).then(position).cast(pl.UInt32)).to_series()
    found = rows.gather(at)  # a null position (no such state in the table): a null row, as the join's
    # the frame's gather (0.011 CPU s) rather than each column's in a select (0.026)
    return releases.hstack(table.drop(state).gather(found))


def _dense_rows(table: pl.DataFrame) -> tuple[pl.Series, pl.Series, int] | None:
    """For :func:`with_state`: the table's row at each position (null: none), its ratios in order and the number
    of ages; None where two rows share a position or an age is negative."""
    ratios = table.get_column(RATIO).unique().sort()
    ages = int(table.get_column(AGE).max() or 0) + 1  # type: ignore[arg-type]
    if not table.height or table.get_column(AGE).min() < 0 or ratios.null_count():  # type: ignore[operator]
        return None
    place = pl.col(RATIO).replace_strict(ratios, pl.int_range(ratios.len(), eager=True))
    position = table.select((pl.col(SEGMENT).cast(pl.Int64) * ratios.len() + place) * ages + pl.col(AGE)).to_series()
    if position.n_unique() != table.height:
        return None
    size = (int(table.get_column(SEGMENT).max()) + 1) * ratios.len() * ages  # type: ignore[arg-type]
    # row numbers as polars' index type: a gather by UInt32 cost 0.012 CPU s where Int64 cost 0.028 (the table's
    # 15 columns for 545,000 releases in follow-up)
    every = pl.int_range(table.height, eager=True, dtype=pl.UInt32)
    rows = pl.Series(dtype=pl.UInt32).extend_constant(None, size).scatter(position, every)
    return rows, ratios, ages


def expectation_columns() -> list[pl.Expr]:
    """Per release in follow-up, for each count: ``_mean_X``, ``_var_X``, ``_se_X`` and ``_d_X`` of
    :func:`_expectations`, from the development table's columns joined to it and the group's ``level_ratio``."""
    seen = pl.col("reoffended")
    q = pl.col("u_mean_reoffended")
    q_lam, slope = level_adjusted_q(pl.col("level_ratio"), pl.col("_S"), pl.col("_P"), q)
    scale = pl.when(q > 0).then(q_lam / q).otherwise(1.0)
    n_unseen = pl.col("u_n").cast(pl.Float64)
    columns: list[pl.Expr] = []
    for count in ("reoffended", "reoffences", "reconviction_events"):
        if count == "reoffended":
            shrunk = (q_lam * n_unseen + 0.5) / (n_unseen + 1)  # q~ = (x + 1/2) / (m + 1), as in the table
            mean = pl.when(seen).then(0.0).otherwise(q_lam)
            var = pl.when(seen).then(0.0).otherwise(shrunk * (1 - shrunk))
            n = pl.when(seen).then(None).otherwise(pl.col("u_n"))
            derivative = pl.when(seen).then(0.0).otherwise(slope)
        else:
            mean = pl.when(seen).then(pl.col(f"o_mean_{count}")).otherwise(pl.col(f"u_mean_{count}") * scale)
            var = pl.when(seen).then(pl.col(f"o_var_{count}")).otherwise(pl.col(f"u_var_{count}") * scale)
            n = pl.when(seen).then(pl.col("o_n")).otherwise(pl.col("u_n"))
            per_reoffender = pl.when(q > 0).then(pl.col(f"u_mean_{count}") / q).otherwise(0.0)
            derivative = pl.when(seen).then(0.0).otherwise(per_reoffender * slope)
        standard_error = pl.when(n > 0).then(var.sqrt() / n.cast(pl.Float64).sqrt()).otherwise(0.0)
        columns += [
            mean.alias(f"_mean_{count}"),
            var.alias(f"_var_{count}"),
            standard_error.alias(f"_se_{count}"),
            derivative.alias(f"_d_{count}"),
        ]
    return columns


def level_adjusted_q(lam: pl.Expr, seen: pl.Expr, final: pl.Expr, q: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The chance that a release not seen to reoffend by age ``t`` is a proven reoffender in the end, in a group
    whose level is ``lam`` times the reference's, and its derivative in ``lam``.

    With the reference's shares ``S = S(t)`` seen by ``t`` and ``P`` in the end, a level ``lam`` makes them
    ``lam S`` and ``lam P``, so of the ``1 - lam S`` not yet seen ``lam (P - S)`` are still to come:
    ``q_lam = lam (P - S) / (1 - lam S)``, cut to [0, 1], and ``d q_lam / d lam = (P - S) / (1 - lam S)**2``
    (0 where cut: where the uncut value is below 0 or above 1; at ``lam = 0`` nothing is cut and the derivative
    is ``P - S``). At ``lam = 1`` it is the reference's ``q(t) = (P - S) / (1 - S)``, taken as ``q`` itself.
    """
    room = (1 - lam * seen).clip(lower_bound=1e-9)
    uncut = lam * (final - seen) / room
    q_lam = pl.when(lam == 1.0).then(q).otherwise(uncut.clip(0.0, 1.0))
    slope = pl.when((uncut >= 0) & (uncut <= 1)).then((final - seen) / room**2).otherwise(0.0)
    return q_lam, slope


MIN_LEVEL_EXPECTED = 10.0  # groups expecting fewer reoffenders seen than this do not inform tau2
LAG_MODEL_SHARE = 0.25  # the court-lag adjustment's standard deviation, as a share of the adjustment


def level_credibility(
    joined: pl.DataFrame,
    reference: pl.DataFrame,
    observed: pl.DataFrame,
    by: Sequence[str],
    estimator: str,
    counts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per provisional group: ``level_ratio``, the level used (1 for ``estimator="reference"``), and
    ``_level_mse``, the mean squared error of that level.

    The raw ratio of a group is ``lam^ = O / E``: ``O`` its releases in follow-up seen to reoffend, ``E`` the sum
    of ``S(t_i)`` over them (what the reference's level would have shown by now); its sampling variance is
    ``v = sum lam S (1 - lam S) / E**2 + lam^**2 (se(E) / E)**2`` (each release seen or not, and ``E``'s own
    error from the ``N`` complete releases, ``se(E) = sum sqrt(S (1 - S) / N)``), the first term at ``lam = lam^``
    or at the reference's level 1, whichever is larger (Buhlmann's expected process variance is taken at the
    collective level; the larger of the two keeps a group with nobody seen yet, ``lam^ = 0``, from a level of 0
    with no error). The between-cohort variance
    ``tau2`` of levels is estimated by moments, ``mean((lam - 1)**2 - v)`` (at least 0), over the provisional
    groups and the complete ones (``lam = x / (n P)``, ``v = (1 - P) / (n P) (1 - n / N)``, a complete group
    being ``n`` of the ``N``) expecting at least ``MIN_LEVEL_EXPECTED`` reoffenders. Buhlmann's credibility
    ``Z = tau2 / (tau2 + v)`` gives ``lam = 1 + Z (lam^ - 1)``, whose mean squared error is ``Z v`` (Buhlmann
    and Gisler, A Course in Credibility Theory, 2005, ch. 3): on a stable population ``tau2`` is about 0 and the
    estimate is the reference level's; where the level has moved, ``Z`` approaches 1 and the cohort's own level
    is followed (the chain ladder's answer). For comparison (bench/
    nowcast_drift.py), ``estimator="ratio"`` takes ``Z = 1`` and ``"benktander"`` ``Z = E / sum P`` (the share
    developed; Mack, "Credible claims reserves: the Benktander method", ASTIN Bulletin 30, 2000), both with
    mean squared error ``Z**2 v + (1 - Z)**2 tau2``. ``counts``: :func:`group_counts` of ``observed``, if made.
    """
    s = pl.col("_S")
    reference_size = reference.group_by(SEGMENT).agg(pl.len().cast(pl.Float64).alias("_N"))
    groups = (
        joined.group_by(by)
        .agg(
            pl.col("reoffended").cast(pl.Float64).sum().alias("_O"),
            ordered_sum(s).alias("_E"),
            ordered_sum(s**2).alias("_E2"),
            ordered_sum((s * (1 - s)).sqrt()).alias("_E_root"),
            ordered_sum("_P").alias("_final"),
            (pl.col(LAG_CHANGED).any() if LAG_CHANGED in joined.columns else pl.lit(False)).alias("_lagged"),
            pl.col(SEGMENT).first(),  # one segment per group: the segment columns are among ``by``
        )
        .join(reference_size, on=SEGMENT, how="left")  # the order: sorted below
        # the standard error of E from the reference's sampling of S(t): sum of sqrt(S (1 - S) / N), the errors
        # at the group's ages taken as perfectly correlated (they come from one reference)
        .with_columns((pl.col("_E_root") / pl.col("_N").sqrt()).alias("_E_se"))
        .sort(list(by))
    )  # a fixed order: tau2's sum is then the same at every run, to the last bit
    ratio = pl.when(pl.col("_E") > 0).then(pl.col("_O") / pl.col("_E"))
    groups = groups.with_columns(ratio.alias("_raw"))
    raw = pl.col("_raw")

    # v = sum lam S (1 - lam S) / E^2 = (lam E - lam^2 sum S^2) / E^2, at lam^ or at the reference's level 1,
    # whichever is larger: a group with nobody seen yet (lam^ = 0) would otherwise have v = 0, Z = 1 and a level
    # of 0 with no error: a provisional 0% (0.00% to 0.14%) for 229 releases that ended at 48.9%
    def process_variance(level: pl.Expr) -> pl.Expr:
        return (level * pl.col("_E") - level**2 * pl.col("_E2")) / pl.col("_E") ** 2

    v = pl.max_horizontal(process_variance(raw), process_variance(pl.lit(1.0))).clip(lower_bound=1e-12)
    # plus the reference's share of it: Var(O / E) with E's own error, (lam^ se(E) / E)^2 by the delta method
    v = v + raw**2 * (pl.col("_E_se") / pl.col("_E")) ** 2
    groups = groups.with_columns(v.alias("_v"))
    if estimator == "reference":
        return groups.select(*by, pl.lit(1.0).alias("level_ratio"), pl.lit(0.0).alias("_level_mse"))
    # groups at least half developed (E >= half the reoffenders the reference level expects in the end) and whose
    # court lag is the reference's: an early group's ratio, or one whose lag changed, mixes level with timing
    informative = groups.filter(
        (pl.col("_E") >= MIN_LEVEL_EXPECTED) & (pl.col("_E") >= 0.5 * pl.col("_final")) & ~pl.col("_lagged")
    ).select(((raw - 1) ** 2 - pl.col("_v")).alias("_d"))
    final_share = reference.group_by(SEGMENT).agg(
        pl.col("reoffended").mean().alias("_P"), pl.len().cast(pl.Float64).alias("_N")
    )
    counts = _complete_counts(observed, by) if counts is None else counts
    complete = (
        counts.filter("_final")
        .select(*by, "_n", "_x", SEGMENT)
        .join(final_share, on=SEGMENT)
        .filter(pl.col("_n") * pl.col("_P") >= MIN_LEVEL_EXPECTED)
        .sort(list(by))
        .select(
            (
                (pl.col("_x") / (pl.col("_n") * pl.col("_P")) - 1) ** 2
                # Var(x / n - P) for n of the N releases P is learned from: P (1 - P) (1/n - 1/N), over P^2
                - (1 - pl.col("_P")) / (pl.col("_n") * pl.col("_P")) * (1 - pl.col("_n") / pl.col("_N"))
            ).alias("_d")
        )
    )
    deviations = pl.concat([informative, complete]).get_column("_d")
    tau2 = max(0.0, float(deviations.mean())) if deviations.len() else 0.0  # type: ignore[arg-type]
    v = pl.col("_v").fill_null(0.0)
    usable = pl.col("_v").is_not_null() & ~pl.col("_lagged")
    if estimator == "ratio":  # the chain ladder's answer: the group's own ratio, in full
        weight = pl.when(usable).then(1.0).otherwise(0.0)
    elif estimator == "benktander":  # weight = the share developed, p = E / sum P, whatever the evidence
        weight = pl.when(usable).then((pl.col("_E") / pl.col("_final")).clip(0.0, 1.0)).otherwise(0.0)
    else:  # Buhlmann: Z = tau2 / (tau2 + v)
        weight = pl.when(usable).then(tau2 / (tau2 + pl.col("_v"))).otherwise(0.0)
    # mean squared error Z^2 v + (1 - Z)^2 tau2, which is Z v at Buhlmann's Z
    mse = weight**2 * v + (1 - weight) ** 2 * tau2 * usable.cast(pl.Float64)
    return groups.select(*by, (1 + weight * (raw.fill_null(1.0) - 1)).alias("level_ratio"), mse.alias("_level_mse"))


def _complete_counts(observed: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """The columns of :func:`group_counts` that :func:`level_credibility` reads (``_final``, ``_n``, ``_x``, the
    segment), when it is not given them."""
    final, n, x = pl.col(COMPLETE).all().alias("_final"), pl.len().alias("_n"), pl.col("reoffended").sum()
    return observed.group_by(by).agg(final, n, x.alias("_x"), GROUP_SEGMENT)


def _provisional_groups(
    observed: pl.DataFrame,
    status: pl.DataFrame,
    expected: pl.DataFrame,
    levels: pl.DataFrame | None,
    by: Sequence[str],
    confidence: float,
    counts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per group with a release in follow-up: the provisional figures, observed plus expected (``expected``, per
    release), and their intervals from the process, estimation, level and court-lag variances (docs/nowcast.md,
    "The model" and "The cohort's own level"). ``levels`` is None when no release is in follow-up: no such group.
    ``counts``: :func:`group_counts` of ``observed``, when already made."""
    z = normal_quantile(confidence)
    groups = status.filter(~pl.col("_final")).drop("_final")
    counts = group_counts(observed, by) if counts is None else counts
    base = counts.join(groups, on=list(by), nulls_equal=True, how="semi").select(
        *by,
        pl.col("_n").cast(pl.Int64).alias("cohort_size"),
        pl.col("_incomplete").cast(pl.Int64).alias("incomplete_releases"),
        pl.col("_x").cast(pl.Int64).alias("observed_reoffenders"),
        pl.col("_r").cast(pl.Int64).alias("_obs_reoffences"),
        pl.col("_e").cast(pl.Int64).alias("_obs_reconviction_events"),
    )
    sums = []
    # a group with any release whose state the reference never reached has no provisional figure at all
    unknown = pl.any_horizontal(pl.col("^_mean_.*$").is_null()).any()
    for count in ("reoffended", "reoffences", "reconviction_events"):
        mean, var, se = pl.col(f"_mean_{count}"), pl.col(f"_var_{count}"), pl.col(f"_se_{count}")
        sums += [
            pl.when(unknown).then(None).otherwise(ordered_sum(mean)).alias(f"_further_{count}"),
            pl.when(unknown).then(None).otherwise(ordered_sum(var) + ordered_sum(se) ** 2).alias(f"_var0_{count}"),
            ordered_sum(f"_d_{count}").alias(f"_slope_{count}"),
        ]
    if levels is None:  # no release in follow-up (nowcast_at): every group is final, so base has no rows
        return base
    # per group, row by row: the groups' order is _assemble's sort (and the backtest's)
    joined = base.join(expected.group_by(by).agg(sums), on=list(by), nulls_equal=True, how="left")
    joined = joined.join(
        levels.select(*by, "level_ratio", "_level_mse", "^_lag_sd_.*$"), on=list(by), nulls_equal=True, how="left"
    )
    out = []
    size = pl.col("cohort_size").cast(pl.Float64)
    observed_columns = {
        "reoffended": "observed_reoffenders",
        "reoffences": "_obs_reoffences",
        "reconviction_events": "_obs_reconviction_events",
    }
    for measure in MEASURES:
        count = COUNTS[measure]
        seen = pl.col(observed_columns[count]).cast(pl.Float64)
        estimate = seen + pl.col(f"_further_{count}")
        # process and estimation variance, plus the level's: (d estimate / d lam)^2 times the level's MSE, plus
        # the court-lag adjustment's
        lag_sd = pl.col(f"_lag_sd_{count}").fill_null(0.0) if f"_lag_sd_{count}" in joined.columns else pl.lit(0.0)
        sd = (pl.col(f"_var0_{count}") + pl.col(f"_slope_{count}") ** 2 * pl.col("_level_mse") + lag_sd**2).sqrt()
        known = estimate.is_not_null()  # max/min_horizontal skip nulls: keep an unknown estimate's bounds null
        low = pl.when(known).then(pl.max_horizontal(estimate - z * sd, seen))
        high = estimate + z * sd
        if count == "reoffended":
            high = pl.when(known).then(pl.min_horizontal(high, size))
        scale = SCALE[measure]
        out += [
            (scale * estimate / size).alias(f"{measure}_provisional"),
            (scale * low / size).alias(f"{measure}_provisional_low"),
            (scale * high / size).alias(f"{measure}_provisional_high"),
        ]
    return joined.select(*by, "cohort_size", "incomplete_releases", "observed_reoffenders", *out, "level_ratio")


def _assemble(final: pl.DataFrame, provisional: pl.DataFrame, months: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """One table: final figures in the columns ``measure`` writes, provisional ones only in ``*_provisional``."""
    final_rows = final.select(
        *by,
        pl.lit("final").alias("status"),
        "cohort_size",
        pl.lit(0, pl.Int64).alias("incomplete_releases"),
        pl.col("reoffenders").alias("observed_reoffenders"),
        "binary_rate",
        "binary_rate_low",
        "binary_rate_high",
        "events_per_100",
        "reoffences_per_offender",
    )
    provisional_rows = provisional.with_columns(pl.lit("provisional").alias("status"))
    rows = pl.concat([final_rows, provisional_rows], how="diagonal_relaxed")
    columns = [
        *by,
        "status",
        "months_observed",
        "cohort_size",
        "incomplete_releases",
        "observed_reoffenders",
        "binary_rate",
        "binary_rate_low",
        "binary_rate_high",
    ]
    for measure in MEASURES:
        if measure != "binary_rate":
            columns.append(measure)
        columns += [f"{measure}_provisional", f"{measure}_provisional_low", f"{measure}_provisional_high"]
    columns += list(DRIFT_COLUMNS)
    rows = rows.join(months, on=list(by), nulls_equal=True, how="left")  # the order: sorted at the end
    for column in columns:
        if column not in rows.columns:
            rows = rows.with_columns(pl.lit(None, DRIFT_COLUMNS.get(column, pl.Float64)).alias(column))
    return rows.select(columns).sort(list(by), nulls_last=True)


def _shown(rows: pl.DataFrame, observed_latest: pl.DataFrame, final_cohorts: int) -> pl.DataFrame:
    """Groups of every cohort not wholly final, plus those of the latest ``final_cohorts`` final cohorts."""
    cohorts = (
        rows.group_by("cohort")
        .agg((pl.col("status") == "final").all().alias("_all_final"))
        .join(observed_latest, on="cohort", how="left")  # the order: read as a set of cohorts
    )
    latest_final = (
        cohorts.filter("_all_final").sort("_latest", "cohort", descending=True).head(final_cohorts).get_column("cohort")
    )
    keep = cohorts.filter(~pl.col("_all_final")).get_column("cohort").append(latest_final)
    return rows.filter(pl.col("cohort").is_in(keep.implode()))


def nowcast(
    inputs: ValidatedInputs,
    params: NowcastParams,
    *,
    extract: dt.date | None = None,
    data: Development | None = None,
    check: CheckParams | None = None,
) -> NowcastResult:
    """Final figures for complete cohorts and provisional ones, with intervals, for the others (docs/nowcast.md).

    ``extract`` (default: the inputs' extract date) is the day the figures are as of: releases dated after it
    are ignored (nothing of them is observed) and so are convictions dated after it. ``check``: the quick
    backtest of :class:`CheckParams` (None: none), whose verdict goes in ``result.check`` and the metadata.
    """
    extract = extract or _extract(inputs)
    data = data or development(inputs, params)
    prepared = _checked_states(data, extract, params, check)
    state = next(prepared[1]) if prepared is not None else None
    if state is not None:  # the backtest's final figures are the extract's observed releases
        data.last_observed = (extract, params.window, state.observed)
    rows, warnings = nowcast_at(data, extract, params, state)
    latest = (
        data.releases.filter(pl.col("release_date") <= extract)
        .group_by("cohort")
        .agg(pl.col("release_date").max().alias("_latest"))
    )
    rows = _shown(rows, latest, params.final_cohorts)
    if not (rows["status"] == "provisional").any():
        warnings.append(
            RunWarning(
                "all-final", f"no release is in follow-up at {extract}: every figure is final (as measure gives it)"
            )
        )
    metadata = run_metadata(inputs, params.window, data.facts)
    metadata["model"] = MODEL
    metadata["as_of"] = extract.isoformat()
    result = NowcastResult(rows=rows, params=params, metadata=metadata, warnings=warnings)
    if check is not None and check.enabled and (rows["status"] == "provisional").any():
        result.check = check_nowcast(inputs, params, rows, check, data=data, extract=extract, prepared=prepared)
        metadata["check"] = result.check.as_dict()
        if result.check.status != "passed":
            warnings.append(RunWarning("backtest-coverage", result.check.reason))
    return result


def _checked_states(
    data: Development, extract: dt.date, params: NowcastParams, check: CheckParams | None
) -> tuple[list[dt.date], Iterator[OriginState]] | None:
    """With the honesty check on and backtest origins to check at: the origins, and the states of the extract
    followed by those of the origins (:func:`origin_states`), so the extract's observed releases and development
    table come from the same one pass as its check's (None: the nowcast works them out alone)."""
    if check is None or not check.enabled:
        return None
    origins = backtest_origins(data, extract, params, BacktestParams(check.origins, check.step_months))
    if not origins:  # the check says so (check_nowcast); the nowcast needs no one pass for itself alone
        return None
    return origins, origin_states(data, [extract, *origins], params)


CHECK_MONTHS = 6  # the check judges comparisons with at least min(this, the months shown) months observed


@dataclass(frozen=True)
class CheckParams:
    """Honesty by default (docs/nowcast.md, "Honesty by default"): before provisional figures are given, a quick
    backtest (``origins`` month ends ``step_months`` apart) on the same data, and the coverage of its intervals
    over the comparisons with at least as many months observed as the least mature provisional figure shown.
    Below ``min_coverage``, or with fewer than ``min_comparisons`` comparisons to judge by, the figures are
    flagged (``nowcast`` warns; the bulletin withholds them unless its config allows)."""

    enabled: bool = True
    origins: int = 6
    step_months: int = 2
    min_coverage: float = 0.85
    min_comparisons: int = 10

    def __post_init__(self) -> None:
        if not 0 <= self.min_coverage <= 1:
            raise UsageError(f"the minimum coverage must be between 0 and 1, not {self.min_coverage}")
        BacktestParams(self.origins, self.step_months)  # the same checks


@dataclass(frozen=True)
class CheckResult:
    """``status``: ``passed``, ``failed`` (coverage below the threshold), ``too few`` (fewer comparisons than
    the minimum) or ``not possible`` (no backtest origin); ``reason`` says it in a sentence."""

    status: str
    coverage: float | None
    comparisons: int
    origins: int
    months_from: int | None
    min_coverage: float
    confidence: float
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "coverage": self.coverage,
            "comparisons": self.comparisons,
            "origins": self.origins,
            "months_observed_from": self.months_from,
            "min_coverage": self.min_coverage,
            "reason": self.reason,
        }


def coverage_check(
    detail: pl.DataFrame | None, months_from: int, options: CheckParams, confidence: float, why_none: str = ""
) -> CheckResult:
    """The verdict of :class:`CheckParams` on backtest ``detail`` rows (one per cohort-origin), for provisional
    figures with at least ``months_from`` months observed."""
    conf = f"{100 * confidence:g}%"
    if detail is None:
        reason = f"the provisional figures could not be checked: no backtest on this data ({why_none})"
        return CheckResult("not possible", None, 0, 0, months_from, options.min_coverage, confidence, reason)
    # as mature as the least mature figure shown, or 6 months when that is fewer comparisons: figures at 16
    # months are checked against comparisons from 6 months on, a harder test than they need
    months_from = min(months_from, CHECK_MONTHS)
    rows = detail.filter(pl.col("months_observed") >= months_from)
    n, origins = rows.height, (rows.get_column("origin").n_unique() if rows.height else 0)
    final = pl.col("binary_rate_final")
    covered = (pl.col("binary_rate_provisional_low") <= final) & (final <= pl.col("binary_rate_provisional_high"))
    coverage = float(rows.select(covered.mean()).item()) if n else None
    where = (
        f"{counted(n, 'backtest comparison')} with {months_from} or more months observed, at "
        f"{counted(origins, 'earlier extract date')}"
    )
    if n < options.min_comparisons:
        reason = (
            f"the provisional figures could not be checked well: only {where} (at least {options.min_comparisons} "
            "needed)"
        )
        return CheckResult("too few", coverage, n, origins, months_from, options.min_coverage, confidence, reason)
    assert coverage is not None
    if coverage < options.min_coverage:
        reason = (
            f"the {conf} intervals of the provisional figures held the final rate in only {100 * coverage:.0f}% of "
            f"{where} (threshold {100 * options.min_coverage:.0f}%): the figures are not reliable on this data"
        )
        return CheckResult("failed", coverage, n, origins, months_from, options.min_coverage, confidence, reason)
    reason = f"the {conf} intervals held the final rate in {100 * coverage:.0f}% of {where}"
    return CheckResult("passed", coverage, n, origins, months_from, options.min_coverage, confidence, reason)


def check_nowcast(
    inputs: ValidatedInputs,
    params: NowcastParams,
    rows: pl.DataFrame,
    options: CheckParams,
    *,
    data: Development | None = None,
    extract: dt.date | None = None,
    prepared: tuple[list[dt.date], Iterator[OriginState]] | None = None,
) -> CheckResult:
    """Run the quick backtest of ``options`` and judge the provisional ``rows`` shown by it. ``prepared``: the
    backtest's origins and their states, already under way (:func:`nowcast`)."""
    shown = rows.filter((pl.col("status") == "provisional") & pl.col("binary_rate_provisional").is_not_null())
    months_from = int(shown.get_column("months_observed").min()) if shown.height else 0  # type: ignore[arg-type]
    confidence = params.measurement.confidence
    try:
        backtest_params = BacktestParams(options.origins, options.step_months)
        result = backtest(inputs, params, backtest_params, data=data, extract=extract, quiet=True, prepared=prepared)
    except UsageError as error:
        return coverage_check(None, months_from, options, confidence, str(error))
    return coverage_check(result.detail, months_from, options, confidence)


MODEL = (
    "release-level development (chain ladder's incurred-but-not-reported step per release): for each release "
    "still in follow-up, observed proven reoffending plus its expected remainder given its age in days and "
    "whether it has been seen to reoffend, learned from releases complete at the extract date within the same "
    "group (the --by columns other than cohort); with --estimator cohort the remainder of releases not yet seen "
    "follows the group's own level (its observed-to-expected ratio, shrunk to the reference's by Buhlmann "
    "credibility); a court lag that has changed is monitored and adjusted for (--court-lag); normal interval "
    "from the process variance, an upper bound on the estimation variance, the level's and the lag "
    "adjustment's, cut at what is observed (docs/nowcast.md)"
)


def _extract(inputs: ValidatedInputs) -> dt.date:
    if inputs.extract_date is None:
        raise UsageError("nowcast needs an extract date: give --extract-date (the data has no conviction dates)")
    return inputs.extract_date


# --------------------------------------------------------------------------------------------- backtest
def month_end(date: dt.date) -> dt.date:
    first_next = add_months_to_date(date.replace(day=1), 1)
    return first_next - dt.timedelta(days=1)


def backtest_origins(
    data: Development, extract: dt.date, params: NowcastParams, backtest: BacktestParams
) -> list[dt.date]:
    """Month ends before ``extract``, ``step_months`` apart, latest first, at most ``origins``: each with at
    least three calendar months of releases complete at it (something to learn from) and with releases
    incomplete at it but complete at ``extract`` (something to check)."""
    window = params.window
    releases = data.releases.filter(pl.col("release_date") <= extract)
    if releases.is_empty():
        return []
    first_release = releases.get_column("release_date").min()
    full = window.follow_up_months + window.waiting_period_months
    earliest = month_end(add_months_to_date(first_release, full + 3))  # type: ignore[arg-type]
    complete_at_extract = releases.filter(window.is_complete(extract))
    origins: list[dt.date] = []
    origin = (
        month_end(add_months_to_date(extract, -1))
        if month_end(extract) == extract
        else month_end(add_months_to_date(extract.replace(day=1), -1))
    )
    while origin >= earliest and len(origins) < backtest.origins:
        checkable = complete_at_extract.filter((pl.col("release_date") <= origin) & ~window.is_complete(origin)).height
        if checkable:
            origins.append(origin)
            origin = month_end(add_months_to_date(origin.replace(day=1), -backtest.step_months))
        else:
            origin = month_end(add_months_to_date(origin.replace(day=1), -1))
    return origins


def backtest(
    inputs: ValidatedInputs,
    params: NowcastParams,
    options: BacktestParams,
    *,
    data: Development | None = None,
    extract: dt.date | None = None,
    quiet: bool = False,
    prepared: tuple[list[dt.date], Iterator[OriginState]] | None = None,
) -> BacktestResult:
    """Nowcast at each rolling origin with the convictions known then (``conviction_date <= origin``) and
    compare with the final figures of the same releases from the full data (docs/nowcast.md, "Backtest").
    ``extract`` (default: the inputs' extract date): the data as known that day is the full data. ``quiet``:
    the caller reads the detail alone (the honesty check), so no warnings are made (:func:`nowcast_at`).
    ``prepared``: origins and an iterator of their states (:func:`origin_states`), used when they are this
    backtest's origins (the nowcast's check: the extract's state already taken from the same one pass)."""
    extract = extract or _extract(inputs)
    data = data or development(inputs, params)
    by = params.measurement.by
    observed = observed_at(data, extract, params.window)
    origins = backtest_origins(data, extract, params, options)
    if not origins:
        raise UsageError(
            "no backtest origin: the data needs releases complete at some month end at least "
            f"{params.window.follow_up_months + params.window.waiting_period_months + 3} months after the first "
            "release, and releases still incomplete then but complete at the extract date"
        )
    details: list[pl.DataFrame] = []
    warnings: list[RunWarning] = []
    states = prepared[1] if prepared is not None and prepared[0] == origins else origin_states(data, origins, params)
    for origin, state in zip(origins, states, strict=True):
        finals = (  # lazily: only the columns read are filtered
            observed.lazy()
            .filter(pl.col("release_date") <= origin)
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
            .collect()
        )
        # the figures of the groups final at the extract alone: the others have nothing to be compared with
        rows, notes = nowcast_at(data, origin, params, state, finals.select(by), quiet)
        warnings += [note.prefixed(f"origin {origin}: ") for note in notes]
        provisional = rows.filter(pl.col("status") == "provisional")
        details.append(
            provisional.join(finals, on=list(by), nulls_equal=True, how="inner").select(
                pl.lit(origin).alias("origin"),
                *by,
                "months_observed",
                "cohort_size",
                "observed_reoffenders",
                *[
                    c
                    for m in MEASURES
                    for c in (f"{m}_provisional", f"{m}_provisional_low", f"{m}_provisional_high", f"{m}_final")
                ],
            )
        )
    detail = pl.concat(details).filter(pl.col("binary_rate_provisional").is_not_null()).sort("origin", *by)
    metadata = run_metadata(inputs, params.window, data.facts)
    metadata["model"] = MODEL
    metadata["origins"] = [o.isoformat() for o in origins]
    return BacktestResult(
        rows=backtest_summary(detail),
        detail=detail,
        origins=origins,
        params=params,
        backtest=options,
        metadata=metadata,
        warnings=warnings,
    )


def origin_states(data: Development, origins: Sequence[dt.date], params: NowcastParams) -> Iterator[OriginState]:
    """The observed releases and the development table (ratio 1) at each of ``origins``, in their order, as
    :func:`observed_at` and :func:`development_table` give them, but computed for all the origins together:
    the rows grouped once (:func:`seen_by_origin`), and one development table keyed by the origin from which
    each release is complete (:func:`development_sums`; a release complete at an origin is complete at every
    later one, with the same final figures, so the references are nested). Each origin's observed releases are
    made when its turn comes (one at a time in memory)."""
    window = params.window
    ascending = sorted(origins)
    seen = seen_by_origin(data, ascending)
    last = len(ascending) - 1
    latest = observed_from(data, seen, last, ascending[last], window)  # made once: also the last state's
    reference = latest.filter(COMPLETE)
    # the first origin (ascending) at which each release is complete: the number of origins at which it is not
    stage = pl.sum_horizontal([~window.is_complete(origin) for origin in ascending]).cast(pl.UInt32).alias(STAGE)
    reference = reference.with_columns(stage)
    # the oldest release in follow-up at each origin gives that origin's largest age
    oldest = data.releases.select(
        pl.col("release_date")
        .filter((pl.col("release_date") <= origin) & ~window.is_complete(origin))
        .min()
        .alias(f"_oldest_{i}")
        for i, origin in enumerate(ascending)
    ).row(0)
    ages = [
        (origin - first).days + 1 if first is not None else 0 for origin, first in zip(ascending, oldest, strict=True)
    ]
    # the reference's rows with their stage: gathered by the release key (a row index), not joined
    stages = at_positions(reference.select(KEY, STAGE), data.releases.height)[0].gather(data.rows.get_column(KEY))
    rows = data.rows.with_columns(stages).filter(pl.col(STAGE).is_not_null())
    sums = development_sums(reference, rows, max(ages), len(ascending))
    for origin in origins:
        i = ascending.index(origin)
        table = development_moments(sums.filter((pl.col(STAGE) == i) & (pl.col(AGE) <= ages[i])).drop(STAGE))
        yield OriginState(latest if i == last else observed_from(data, seen, i, origin, window), table)


def backtest_summary(detail: pl.DataFrame) -> pl.DataFrame:
    """Per months-observed band, and for 6+ and 9+ months: how many cohort-origins, and per measure the mean
    error (provisional minus final), the mean absolute error and the share of intervals covering the final
    figure. Binary-rate errors are in percentage points."""

    def stats(frame: pl.DataFrame, label: str, low: int, high: int | None) -> dict[str, object]:
        row: dict[str, object] = {
            "months_observed_band": label,
            "months_min": low,
            "months_max": high,
            "cohort_origins": frame.height,
            "origins": frame.get_column("origin").n_unique() if frame.height else 0,
        }
        for measure in MEASURES:
            scale = 100.0 if measure == "binary_rate" else 1.0
            suffix = "_pp" if measure == "binary_rate" else ""
            if frame.height:
                error = scale * (frame[f"{measure}_provisional"] - frame[f"{measure}_final"])
                final = frame[f"{measure}_final"]
                covered = (frame[f"{measure}_provisional_low"] <= final) & (
                    final <= frame[f"{measure}_provisional_high"]
                )
                row[f"{measure}_mean_error{suffix}"] = float(error.mean())  # type: ignore[arg-type]
                row[f"{measure}_mae{suffix}"] = float(error.abs().mean())  # type: ignore[arg-type]
                row[f"{measure}_coverage"] = float(covered.mean())  # type: ignore[arg-type]
            else:
                row[f"{measure}_mean_error{suffix}"] = None
                row[f"{measure}_mae{suffix}"] = None
                row[f"{measure}_coverage"] = None
        return row

    months = pl.col("months_observed")
    rows = [stats(detail.filter(months.is_between(low, high)), f"{low}-{high}", low, high) for low, high in BANDS]
    rows = [r for r in rows if r["cohort_origins"]]
    rows.append(stats(detail.filter(months >= 6), "6+", 6, None))
    rows.append(stats(detail.filter(months >= 9), "9+", 9, None))
    schema = {"months_observed_band": pl.String, "months_min": pl.Int64, "months_max": pl.Int64}
    return pl.DataFrame(rows, schema_overrides=schema, infer_schema_length=None)
