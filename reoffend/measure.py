"""The proven reoffending measures (docs/measures.md): per release and per group.

The core is pure: validated frames and a :class:`MeasureParams` in, a :class:`MeasureResult` out. It never
prints. Every date comparison goes through :class:`reoffend.window.FollowUpWindow`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal

import polars as pl

from . import __version__
from .cohort import (
    COHORT_KEY,
    IndexRule,
    Period,
    SharedIndexKeys,
    apply_filters,
    check_values_present,
    index_releases,
    partial_periods,
    period_key,
    period_label,
    with_cohort,
)
from .errors import UsageError, name_list, single_problem
from .intervals import wilson_interval
from .io import RESERVED_HINT, RESERVED_PREFIX
from .report.schema import NOT_A_COLUMN, Row
from .validate import Query, ValidatedInputs, prefetched
from .window import CONVICTION_DEADLINE, FOLLOW_UP_END, FollowUpWindow

IncompletePolicy = Literal["error", "exclude"]
Engine = Literal["auto", "in-memory", "streaming"]
RELEASE_KEY = "_release"
EVENT_KEY = "_event"
PERSON_KEY = "_person"
KEY_TYPES = {1: pl.UInt8, 2: pl.UInt16, 4: pl.UInt32, 8: pl.UInt64, 16: pl.UInt128}

PER_RELEASE_MEASURES = ("reoffended", "reoffences", "reconviction_events", "days_to_first_reoffence")


@dataclass(frozen=True)
class MeasureRow(Row):
    """One group of the measure (the ``--by`` columns, in ``groups``): the columns after the group columns,
    declared once with their dtypes (reoffend.report.schema; meanings in docs/output-dictionary.md)."""

    GROUPED: ClassVar[bool] = True

    cohort_size: int
    reoffenders: int
    binary_rate: float | None
    binary_rate_low: float | None
    binary_rate_high: float | None
    reoffences: int
    reoffences_per_offender: float | None
    reoffences_per_reoffender: float | None
    reconviction_events: int
    events_per_100: float | None
    events_per_reoffender: float | None
    mean_days_to_first: float | None
    median_days_to_first: float | None
    groups: dict[str, Any] = field(default_factory=dict, metadata=NOT_A_COLUMN)


GROUP_MEASURES = MeasureRow.columns()
# the columns reoffend computes, which a release column of the same name must never be taken for (--by)
OUTPUT_NAMES = frozenset([*GROUP_MEASURES, *PER_RELEASE_MEASURES, FOLLOW_UP_END, CONVICTION_DEADLINE])


@dataclass(frozen=True)
class MeasureParams:
    """Everything that defines a measurement, apart from the data. Written into every output's metadata."""

    window: FollowUpWindow = field(default_factory=FollowUpWindow)
    by: tuple[str, ...] = ("cohort",)
    period: Period = "quarter"
    index: IndexRule = "first"
    incomplete: IncompletePolicy = "error"
    excluded_offences: frozenset[str] = frozenset()
    confidence: float = 0.95
    where: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    latest_cohort: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.confidence < 1:
            raise UsageError(f"confidence must be between 0 and 1, not {self.confidence}")
        taken = [c for c in self.by if c in OUTPUT_NAMES]
        if taken:
            raise UsageError(
                f"cannot group by {taken[0]!r}: reoffend computes a column of that name (the measure's output, the "
                "per-release table or the follow-up window), and an input column never takes its place; rename "
                f"the input column, e.g. --map input_{taken[0]}={taken[0]}"
            )
        if self.incomplete not in ("error", "exclude"):
            raise UsageError(f"incomplete must be 'error' or 'exclude', not {self.incomplete!r}")

    def as_dict(self) -> dict[str, object]:
        values = asdict(self)
        values["window"] = self.window.as_dict()
        values["by"] = list(self.by)
        values["excluded_offences"] = sorted(self.excluded_offences)
        values["where"] = {column: list(v) for column, v in sorted(self.where.items())}
        return values


@dataclass
class MeasureResult:
    """The per-group table, the per-release audit table and the metadata of a run."""

    rows: pl.DataFrame
    per_release: pl.DataFrame | None
    params: MeasureParams
    metadata: dict[str, object]
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        MeasureRow.check(self.rows, "measure", self.params.by)


# ------------------------------------------------------------------------------------------ the cohort
def measured_releases(inputs: ValidatedInputs, params: MeasureParams) -> tuple[pl.LazyFrame, dict[str, object]]:
    """Index releases with cohort and window columns, filtered, with incomplete follow-up handled.

    Returns the frame and facts for the metadata (incomplete releases excluded, cohort chosen by
    ``latest_cohort``). Raises :class:`DataError` for incomplete follow-up under ``incomplete="error"``.
    """
    columns = inputs.releases.collect_schema().names()
    wanted = set(params.by) | set(params.where)
    unknown = sorted(c for c in wanted if c not in columns and c != "cohort")
    if unknown:
        reserved = f"; {RESERVED_HINT}" if any(c.startswith(RESERVED_PREFIX) for c in unknown) else ""
        raise UsageError(
            f"{inputs.names['releases']}: no column {name_list(map(repr, unknown))} to group or filter by "
            f"(columns: {name_list(columns)}){reserved}"
        )
    if params.where:
        check_values_present(with_cohort(inputs.releases, params.period), params.where, inputs.names["releases"])
    queries = release_queries(params)
    found = prefetched(inputs, queries)
    days = found[RELEASE_DAYS].get_column("release_date")
    shared = found[_shared_name(params)].get_column("key") if _shared_name(params) in queries else None
    period = cohort_period(inputs, params)
    releases = index_releases(with_cohort(inputs.releases, params.period), params.index, period, shared)
    releases = apply_filters(releases, params.where)
    facts: dict[str, object] = {}
    # the first and last release dates are those of the distinct days
    partial = partial_periods(days.to_frame().lazy(), params.period) if period is not None else []
    facts["partial_period"] = bool(partial)  # a cohort the data covers only in part (cohort.partial_periods)
    if partial:
        facts["partial_periods"] = partial
    if params.latest_cohort:
        latest = releases.select(pl.col("cohort").max()).collect().item()
        facts["latest_cohort"] = latest
        releases = releases.filter(pl.col("cohort") == latest)
    releases = params.window.with_window_columns_looked_up(releases, days)
    if inputs.extract_date is not None:
        releases, facts["incomplete_releases_excluded"] = _handle_incomplete(
            releases,
            params.window,
            inputs.extract_date,
            params.incomplete,
            inputs.names["releases"],
            all_releases=days.to_frame().lazy(),
        )
    return releases, facts


RELEASE_DAYS = "measure: the distinct release dates"


def _shared_name(params: MeasureParams) -> str:
    return f"measure: (offender_id, cohort) hashes more than one release has, cohorts by {params.period}"


def release_queries(params: MeasureParams) -> dict[str, Query]:
    """The queries :func:`measured_releases` makes of the inputs before its plan, by name: a command may have
    them collected with validation's pass (``prefetch`` of :func:`reoffend.inputs.load_inputs`).

    The distinct release dates (a few thousand: the window columns are computed for those, and they give
    the first and last release) and, for index releases, the hashes of (offender_id, cohort) that more
    than one release has (:func:`reoffend.cohort.shared_index_keys`).
    """

    def days(releases: pl.LazyFrame, _convictions: pl.LazyFrame) -> pl.LazyFrame:
        return releases.select(pl.col("release_date").unique())

    queries: dict[str, Query] = {RELEASE_DAYS: days}
    if params.index == "first":
        queries[_shared_name(params)] = SharedIndexKeys(params.period)
    return queries


def cohort_period(inputs: ValidatedInputs, params: MeasureParams) -> Period | None:
    """``params.period`` when cohorts are periods of ``release_date`` (the file has no ``cohort`` column)."""
    return None if "cohort" in inputs.releases.collect_schema().names() else params.period


def _all_complete(releases: pl.LazyFrame, window: FollowUpWindow, extract_date: dt.date) -> bool:
    """True when the latest release in ``releases`` has complete follow-up, and so every release has.

    The conviction deadline never decreases as the release date increases (calendar-month addition with
    month-end clamping is monotone), so one row decides for all. Checking it costs one column maximum, where
    counting incomplete index releases costs a second run of the whole index-release plan.
    """
    latest = releases.select(pl.col("release_date").max()).collect()
    if latest.item() is None:
        return True
    return bool(window.with_window_columns(latest.lazy()).select(window.is_complete(extract_date)).collect().item())


def _handle_incomplete(
    releases: pl.LazyFrame,
    window: FollowUpWindow,
    extract_date: dt.date,
    policy: IncompletePolicy,
    file: str,
    all_releases: pl.LazyFrame | None = None,
) -> tuple[pl.LazyFrame, int]:
    """Count, and reject or drop, index releases whose follow-up is incomplete at ``extract_date``.

    ``all_releases`` (a superset of ``releases``, e.g. the input before index selection) allows the quick
    answer "none": when its latest release is complete, no release is incomplete.
    """
    if all_releases is not None and _all_complete(all_releases, window, extract_date):
        return releases, 0
    complete = window.is_complete(extract_date)
    stats = (
        releases.select(
            (~complete).sum().alias("incomplete"),
            pl.col("release_date").filter(~complete).min().alias("earliest_incomplete"),
        )
        .collect()
        .row(0, named=True)
    )
    incomplete = int(stats["incomplete"] or 0)
    if incomplete and policy == "error":
        latest_complete = window.latest_complete_release(extract_date)
        message = (
            f"{incomplete:,} {'release has' if incomplete == 1 else 'releases have'} follow-up not yet complete "
            f"at the extract date {extract_date} "
            f"({'its' if incomplete == 1 else 'their'} conviction deadline is later); "
            f"the earliest is dated {stats['earliest_incomplete']}. "
            f"Releases on or before {latest_complete} are complete. Use --incomplete exclude to drop them, "
            f"or (in measure and compare, which filter) --where cohort=... to measure complete cohorts only"
        )
        raise single_problem(
            file,
            "release_date",
            "incomplete-follow-up",
            message,
            value=str(stats["earliest_incomplete"]),
            count=incomplete,
        )
    return (releases.filter(complete) if incomplete else releases), incomplete


def proven_reoffences(convictions: pl.LazyFrame, excluded_offences: frozenset[str]) -> pl.LazyFrame:
    """Conviction rows that may count: excluded offence codes dropped, with the event key.

    A reconviction event is a distinct court appearance: ``appearance_id`` where the file has it (a row
    without one, missing or empty text, is its own appearance on its conviction date), else the
    ``conviction_date``. The two kinds of
    key are marked apart (``id:`` and ``date:``), so an appearance id that reads ``date:2023-07-01`` is never
    taken for the rows without an id convicted that day.
    """
    columns = convictions.collect_schema().names()
    if excluded_offences:
        if "offence_code" not in columns:
            raise UsageError("--exclude-offences needs an offence_code column in the convictions file")
        convictions = convictions.filter(
            pl.col("offence_code").is_null() | ~pl.col("offence_code").is_in(sorted(excluded_offences))
        )
    if "appearance_id" in columns:
        text = pl.col("appearance_id").cast(pl.String)
        # empty text is no id (a CSV's quoted "" reads as ""; SQL engines read it as NULL): null stays null
        appearance = pl.concat_str(pl.lit("id:"), pl.when(text != "").then(text))
        event = pl.coalesce(appearance, pl.format("date:{}", pl.col("conviction_date")))
    else:
        event = pl.col("conviction_date")
    return convictions.select("offender_id", "offence_date", "conviction_date", event.alias(EVENT_KEY))


# ------------------------------------------------------------------------------------------ per release
def person_key(inputs: ValidatedInputs) -> pl.Expr:
    """``offender_id`` as a fixed-width integer where that is one to one, else ``offender_id`` itself.

    When every text id of both tables has the same length of 1, 2, 4, 8 or 16 bytes (validation measures
    them, :attr:`ValidatedInputs.id_bytes`), its bytes read as one unsigned integer are a different number
    for each different id, and the cast costs next to nothing. The measure's join and its group-bys then
    move fixed-width numbers instead of text: at 5,000,000 releases the join takes about half the CPU
    (bench/NOTES.md). Ids of other lengths stay text (padding them to a width would cost more than it
    saves, and would depend on characters, not bytes).
    """
    bounds = inputs.id_bytes
    if bounds is not None and bounds[0] == bounds[1] and bounds[0] in KEY_TYPES:
        return pl.col("offender_id").cast(pl.Binary).bin.reinterpret(dtype=KEY_TYPES[bounds[0]])
    return pl.col("offender_id")


def proven_pairs(keyed: pl.LazyFrame, convictions: pl.LazyFrame, person: pl.Expr | None = None) -> pl.LazyFrame:
    """(release, conviction) pairs that are proven reoffences: the one join of the measure.

    ``keyed`` holds index releases with the window columns and a ``_release`` key; ``convictions`` comes
    from :func:`proven_reoffences`. The rows keep the window columns, so a caller can ask more of each pair
    (the bulletin's court lag asks which waiting periods prove it). ``person`` (:func:`person_key`) is what
    the two sides are joined on; by default ``offender_id`` itself.
    """
    window_rows = keyed.select(RELEASE_KEY, "offender_id", "release_date", FOLLOW_UP_END, CONVICTION_DEADLINE)
    if person is None or person.meta.eq(pl.col("offender_id")):
        return window_rows.join(convictions, on="offender_id", how="inner").filter(FollowUpWindow.is_proven_reoffence())
    return (
        window_rows.with_columns(person.alias(PERSON_KEY))
        .join(convictions.select(person.alias(PERSON_KEY), pl.exclude("offender_id")), on=PERSON_KEY, how="inner")
        .filter(FollowUpWindow.is_proven_reoffence())
        .drop(PERSON_KEY)
    )


def per_release(
    releases: pl.LazyFrame, convictions: pl.LazyFrame, group_columns: Sequence[str], person: pl.Expr | None = None
) -> pl.LazyFrame:
    """The audit table: one row per index release with its proven reoffences (docs/measures.md).

    ``releases`` carries the window columns (from :func:`measured_releases`); ``convictions`` comes from
    :func:`proven_reoffences`; ``person`` as in :func:`proven_pairs`.
    """
    keyed = releases.with_row_index(RELEASE_KEY)
    return audit_rows(keyed, per_release_counts(proven_pairs(keyed, convictions, person)), group_columns)


def audit_rows(keyed: pl.LazyFrame, counted: pl.LazyFrame, group_columns: Sequence[str]) -> pl.LazyFrame:
    """The audit table from the keyed index releases and their counts (:func:`per_release_counts`): one row per
    release of ``keyed``, in its order (the matched comparison draws its units from these rows in order)."""
    group_columns = [c for c in group_columns if c not in ("offender_id", "release_date")]
    return (
        keyed.select(RELEASE_KEY, "offender_id", *group_columns, "release_date", FOLLOW_UP_END, CONVICTION_DEADLINE)
        .join(counted, on=RELEASE_KEY, how="left", maintain_order="left")
        .with_columns(
            pl.col("reoffences").fill_null(0),
            pl.col("reconviction_events").fill_null(0),
        )
        .with_columns(
            (pl.col("reoffences") > 0).alias("reoffended"),
            FollowUpWindow.days_from_release("_first_offence").cast(pl.Int64).alias("days_to_first_reoffence"),
        )
        .select(
            "offender_id", *group_columns, "release_date", FOLLOW_UP_END, CONVICTION_DEADLINE, *PER_RELEASE_MEASURES
        )
    )


def per_release_counts(pairs: pl.LazyFrame) -> pl.LazyFrame:
    """Per index release with a proven reoffence: reoffences, reconviction events, first offence date."""
    return pairs.group_by(RELEASE_KEY).agg(
        pl.len().cast(pl.Int64).alias("reoffences"),
        pl.col(EVENT_KEY).n_unique().cast(pl.Int64).alias("reconviction_events"),
        pl.col("offence_date").min().alias("_first_offence"),
    )


# --------------------------------------------------------------------------------------------- per group
def group_measures(per_release_rows: pl.LazyFrame, by: Sequence[str], confidence: float) -> pl.LazyFrame:
    """The measures of docs/measures.md "Per group", sorted by the group columns.

    With no group columns the result is one row for everybody, even for an empty input (counts 0, rates
    null). Rates are exact ratios of integer counts; a ratio with a zero denominator is null.
    """
    aggregates = [
        pl.len().cast(pl.Int64).alias("cohort_size"),
        pl.col("reoffended").sum().cast(pl.Int64).alias("reoffenders"),
        pl.col("reoffences").sum().cast(pl.Int64).alias("reoffences"),
        pl.col("reconviction_events").sum().cast(pl.Int64).alias("reconviction_events"),
        pl.col("days_to_first_reoffence").mean().alias("mean_days_to_first"),
        pl.col("days_to_first_reoffence").median().cast(pl.Float64).alias("median_days_to_first"),
    ]
    if by:
        counts = per_release_rows.group_by(list(by)).agg(aggregates).sort(list(by), nulls_last=True)
    else:
        counts = per_release_rows.select(aggregates)
    return counts.with_columns(rate_columns(confidence)).select(*by, *GROUP_MEASURES)


def grouped_measures(
    releases: pl.LazyFrame,
    convictions: pl.LazyFrame,
    by: Sequence[str],
    confidence: float,
    person: pl.Expr | None = None,
    period: Period | None = None,
) -> pl.LazyFrame:
    """The same table as ``group_measures(per_release(releases, convictions, by), by, confidence)``, built
    without the per-release table (docs/measures.md "Per group").

    Only releases with a proven reoffence come out of the join's group-by; their sums, mean and median per
    group are joined to the group sizes counted from the index releases. The per-release route joins every
    index release back to its counts first (a second join as long as the cohort), which this one skips:
    about a tenth of measure's CPU time (bench/NOTES.md). Counts are exact integers, so the sums and the
    mean are the same numbers; the median is over the same values.

    ``period`` (:func:`cohort_period`) says ``cohort`` is the period of ``release_date``: the groups are
    then made on :func:`reoffend.cohort.period_key`, which sorts as the labels do, and each group's label is
    made once, from one of its release dates (every release of a cohort has the same label).
    """
    labelled = by = list(by)
    keyed = releases.with_row_index(RELEASE_KEY)
    if period is not None and "cohort" in by:
        by = [COHORT_KEY if c == "cohort" else c for c in by]
        keyed = keyed.with_columns(period_key(pl.col("release_date"), period).alias(COHORT_KEY))
    counted = per_release_counts(proven_pairs(keyed, convictions, person))
    reoffenders = counted.join(keyed.select(list(dict.fromkeys([RELEASE_KEY, *by, "release_date"]))), on=RELEASE_KEY)
    days = FollowUpWindow.days_from_release("_first_offence").cast(pl.Int64)
    aggregates = [
        pl.len().cast(pl.Int64).alias("reoffenders"),
        pl.col("reoffences").sum().cast(pl.Int64),
        pl.col("reconviction_events").sum().cast(pl.Int64),
        days.mean().alias("mean_days_to_first"),
        days.median().cast(pl.Float64).alias("median_days_to_first"),
    ]
    size = pl.len().cast(pl.Int64).alias("cohort_size")
    if by:
        sizes = [size, pl.col("release_date").first().alias("_cohort_date")] if COHORT_KEY in by else [size]
        counts = (  # the join's order is irrelevant: one row per group, sorted by the group columns after it
            keyed.group_by(by)
            .agg(sizes)
            .join(reoffenders.group_by(by).agg(aggregates), on=by, how="left", nulls_equal=True)
            .with_columns(pl.col("reoffenders", "reoffences", "reconviction_events").fill_null(0))
            .sort(by, nulls_last=True)
        )
        if period is not None and COHORT_KEY in by:
            counts = counts.with_columns(period_label(pl.col("_cohort_date"), period).alias("cohort"))
    else:  # one row for everybody, also when there is nobody
        counts = pl.concat([keyed.select(size), reoffenders.select(aggregates)], how="horizontal")
    return counts.with_columns(rate_columns(confidence)).select(*labelled, *GROUP_MEASURES)


def rate_columns(confidence: float) -> list[pl.Expr]:
    """Ratios of the count columns; null where the denominator is 0."""
    size, reoffenders = pl.col("cohort_size"), pl.col("reoffenders")
    low, high = wilson_interval(reoffenders, size, confidence)
    return [
        ratio(reoffenders, size).alias("binary_rate"),
        low.alias("binary_rate_low"),
        high.alias("binary_rate_high"),
        ratio(pl.col("reoffences"), size).alias("reoffences_per_offender"),
        ratio(pl.col("reoffences"), reoffenders).alias("reoffences_per_reoffender"),
        ratio(100 * pl.col("reconviction_events"), size).alias("events_per_100"),
        ratio(pl.col("reconviction_events"), reoffenders).alias("events_per_reoffender"),
    ]


def ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """``numerator / denominator`` as a float; null where the denominator is not positive."""
    return pl.when(denominator > 0).then(numerator.cast(pl.Float64) / denominator).otherwise(None)


# ------------------------------------------------------------------------------------------------- run
def measure(
    inputs: ValidatedInputs, params: MeasureParams, *, audit_table: bool = False, engine: Engine = "auto"
) -> MeasureResult:
    """Measure proven reoffending per group of index releases; ``audit_table`` also keeps the per-release rows."""
    releases, facts = measured_releases(inputs, params)
    convictions = proven_reoffences(inputs.convictions, params.excluded_offences)
    per_release_rows = None
    if audit_table:
        audit = per_release(releases, convictions, params.by, person_key(inputs))
        summary = group_measures(audit, params.by, params.confidence)
        sort_keys = list(dict.fromkeys([*params.by, "offender_id", "release_date"]))
        rows, per_release_rows = pl.collect_all([summary, audit.sort(sort_keys, nulls_last=True)], engine=engine)
    else:
        person, period = person_key(inputs), cohort_period(inputs, params)
        rows = grouped_measures(releases, convictions, params.by, params.confidence, person, period).collect(
            engine=engine
        )
    return MeasureResult(
        rows=rows,
        per_release=per_release_rows,
        params=params,
        metadata=run_metadata(inputs, params.window, facts),
    )


def run_metadata(inputs: ValidatedInputs, window: FollowUpWindow, facts: Mapping[str, object] | None = None) -> dict:
    """What every output records about a run besides its parameters (docs/cli.md)."""
    metadata: dict[str, object] = {
        "reoffend_version": __version__,
        "window": window.as_dict(),
        "extract_date": inputs.extract_date.isoformat() if inputs.extract_date else None,
        "extract_date_source": inputs.extract_date_source,
        "inputs": {
            role: {"file": inputs.names[role], "rows": inputs.row_counts[role], **inputs.read_as.get(role, {})}
            for role in inputs.names
        },
    }
    if inputs.deduplicated_rows:
        metadata["duplicate_rows_dropped"] = inputs.deduplicated_rows
    metadata["as_at"] = inputs.as_at  # --as-at: the date and the rows after it (None: the whole extract)
    metadata.update(facts or {})
    return metadata
