"""The numbers of the bulletin, computed from the measure core (docs/bulletin.md, "What the bulletin says").

Pure: validated inputs and parameters in, polars frames out. Every date comparison goes through
:class:`reoffend.window.FollowUpWindow` (via :mod:`reoffend.measure`); nothing here re-implements the window.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import polars as pl

from ..cohort import Period, apply_filters, partial_periods, period_label
from ..compare.baseline import BaselineParams, Counts, compare_counts
from ..measure import (
    EVENT_KEY,
    RELEASE_KEY,
    MeasureParams,
    audit_rows,
    group_measures,
    measured_releases,
    per_release_counts,
    person_key,
    proven_pairs,
    proven_reoffences,
    ratio,
)
from ..report.multiple import MultipleTesting, adjust
from ..window import CONVICTION_DEADLINE, FOLLOW_UP_END, FollowUpWindow

LAG_MONTHS = 12  # the court-lag curve runs over waiting periods 0..12 months (at least)
NEEDED = "_waiting_months_needed"


# ------------------------------------------------------------------------------------- complete cohorts
def cohort_completeness(inputs, params: MeasureParams, window: FollowUpWindow | None = None) -> pl.DataFrame:
    """Per cohort: releases, releases whose follow-up is incomplete at the extract date, and ``complete``.

    A cohort is complete when every one of its releases (all releases, not only index releases) has its
    conviction deadline under ``window`` on or before the day after the extract date
    (:meth:`FollowUpWindow.is_complete`). ``params.where`` filters apply; the cohort is derived as for the
    measure.
    """
    return completeness_tables(inputs, params, [window or params.window])[0]


def completeness_tables(inputs, params: MeasureParams, windows: Sequence[FollowUpWindow]) -> list[pl.DataFrame]:
    """:func:`cohort_completeness` under each of ``windows``, from one reading of the releases.

    The releases are first counted per (cohort, release_date), a few hundred rows, and each window is
    applied to those: the deadline depends on the release date alone.
    """
    if not params.where and "cohort" not in inputs.releases.collect_schema().names():
        per_day = releases_per_day(inputs, params.period)
        # every release is counted, so the first and last release days are those of the whole file
        partial = [entry["cohort"] for entry in partial_periods(per_day.lazy().select("release_date"), params.period)]
    else:
        per_day = probed_releases_per_day(inputs, params, windows[0])
        partial = [entry["cohort"] for entry in partial_periods(inputs.releases, params.period)]
    if inputs.extract_date is None:
        incomplete = pl.lit(0, dtype=pl.Int64)
    else:
        incomplete = pl.col("_n").filter(~FollowUpWindow.is_complete(inputs.extract_date)).sum().cast(pl.Int64)
    tables = [
        window.with_window_columns(per_day.lazy())
        .group_by("cohort")
        .agg(pl.col("_n").sum().alias("releases"), incomplete.alias("incomplete_releases"))
        .with_columns(
            (pl.col("incomplete_releases") == 0).alias("complete"),
            # a cohort the data covers only in part (cohort.partial_periods): not comparable with a full one
            pl.col("cohort").is_in(partial).alias("partial_period"),
        )
        .sort("cohort", nulls_last=True)
        for window in windows
    ]
    return pl.collect_all(tables)


def probed_releases_per_day(inputs, params: MeasureParams, window: FollowUpWindow) -> pl.DataFrame:
    """``_n``, the releases per ``cohort`` and ``release_date``, of every release the measure keeps under
    ``params.where`` (index rule "all", no extract date: completeness is judged from these)."""
    probe_inputs = replace(inputs, extract_date=None)  # measure every release; completeness is judged here
    probe = replace(params, window=window, index="all", latest_cohort=False, incomplete="exclude")
    releases, _ = measured_releases(probe_inputs, probe)
    return releases.group_by("cohort", "release_date").agg(pl.len().cast(pl.Int64).alias("_n")).collect()


def releases_per_day(inputs, period: Period) -> pl.DataFrame:
    """:func:`probed_releases_per_day` when no filter applies and the cohort is the ``period`` of the release
    date (the file has no ``cohort`` column): every release counts, so the releases are counted per day and
    each day labelled once, where the probe labels every release as text first (tests/test_fast_paths.py)."""
    return (
        inputs.releases.group_by("release_date")
        .agg(pl.len().cast(pl.Int64).alias("_n"))
        .select(period_label(pl.col("release_date"), period).alias("cohort"), "release_date", "_n")
        .collect()
    )


def complete_cohorts(params: MeasureParams, completeness: pl.DataFrame) -> MeasureParams:
    """``params`` keeping only the complete cohorts of ``completeness`` (:func:`cohort_completeness`).

    When every cohort is complete (none without a label, and no ``cohort`` filter given) the restriction
    would keep every release: ``params`` are returned as they are, which spares the measure a check of the
    cohort labels and a filter over every release (the same releases, tests/test_fast_paths.py).
    """
    complete = completeness.filter(pl.col("complete"))["cohort"].to_list()
    if len(complete) == completeness.height and None not in complete and "cohort" not in params.where:
        return params
    return restrict_cohorts(params, complete)


def restrict_cohorts(params: MeasureParams, cohorts: Sequence[str], **changes) -> MeasureParams:
    """``params`` keeping only ``cohorts`` (intersected with any ``cohort`` filter already given)."""
    where = dict(params.where)
    wanted = list(cohorts)
    if "cohort" in where:
        wanted = [c for c in wanted if c in set(where["cohort"])]
    where["cohort"] = tuple(wanted)
    return replace(params, where=where, **changes)


# ------------------------------------------------------------------------------------------ cohort labels
def year_earlier(label: str, period: str) -> str | None:
    """The label of the same cohort a year before ``label`` (None when the label has no known form)."""
    patterns: dict[str, tuple[str, Callable[..., str]]] = {
        "quarter": (r"(\d{4})Q([1-4])", lambda y, q: f"{int(y) - 1}Q{q}"),
        "month": (r"(\d{4})-(\d{2})", lambda y, m: f"{int(y) - 1}-{m}"),
        "year": (r"(\d{4})", lambda y: f"{int(y) - 1}"),
        "financial-year": (r"(\d{4})-(\d{2})", lambda y, _e: f"{int(y) - 1}-{int(y) % 100:02d}"),
    }
    pattern, earlier = patterns[period]
    match = re.fullmatch(pattern, label or "")
    return earlier(*match.groups()) if match else None


# ------------------------------------------------------------------------------------------- changes
def proportion_change(current: tuple[int, int], earlier: tuple[int, int], confidence: float) -> dict[str, float | None]:
    """Difference of two independent proportions (current minus earlier), per docs/comparisons.md section 1.

    Computed by the baseline comparison's counts-based core (:func:`reoffend.compare.baseline.compare_counts`):
    Newcombe's hybrid score interval and the pooled two-proportion z test, two-sided. Returns the difference
    and its interval as proportions and the two-sided p-value (None where no test is possible).
    """
    (x1, n1), (x0, n0) = current, earlier
    params = BaselineParams(confidence=confidence, alpha=1 - confidence, sided="two")
    row = compare_counts([Counts("current", x1, n1)], Counts("earlier", x0, n0), params).rows.row(0, named=True)
    if row["difference_pp"] is None:
        return {"difference": None, "difference_low": None, "difference_high": None, "p_value": None}
    degenerate = row["z"] is None  # nobody or everybody reoffended in both cohorts: nothing to test
    return {
        "difference": row["difference_pp"] / 100,
        "difference_low": row["difference_pp_low"] / 100,
        "difference_high": row["difference_pp_high"] / 100,
        "p_value": None if degenerate else row["p_two_sided"],
    }


def cohort_changes(trend: pl.DataFrame, pairs: Sequence[tuple[str, str, str]], confidence: float) -> pl.DataFrame:
    """One row per (label, cohort, earlier cohort): the change in the binary rate and in events per 100."""
    by_cohort = {row["cohort"]: row for row in trend.iter_rows(named=True)}
    rows = []
    for label, cohort, earlier in pairs:
        now, then = by_cohort[cohort], by_cohort[earlier]
        test = proportion_change(
            (now["reoffenders"], now["cohort_size"]), (then["reoffenders"], then["cohort_size"]), confidence
        )
        events_change = (
            now["events_per_100"] / then["events_per_100"] - 1
            if now["events_per_100"] is not None and then["events_per_100"]
            else None
        )
        rows.append(
            {
                "comparison": label,
                "cohort": cohort,
                "earlier_cohort": earlier,
                "cohort_size": now["cohort_size"],
                "reoffenders": now["reoffenders"],
                "binary_rate": now["binary_rate"],
                "earlier_cohort_size": then["cohort_size"],
                "earlier_reoffenders": then["reoffenders"],
                "earlier_binary_rate": then["binary_rate"],
                "difference_pp": None if test["difference"] is None else 100 * test["difference"],
                "difference_pp_low": None if test["difference_low"] is None else 100 * test["difference_low"],
                "difference_pp_high": None if test["difference_high"] is None else 100 * test["difference_high"],
                "p_value": test["p_value"],
                "significant": None if test["p_value"] is None else bool(test["p_value"] < 1 - confidence),
                "events_per_100": now["events_per_100"],
                "earlier_events_per_100": then["events_per_100"],
                "events_per_100_change_pct": None if events_change is None else 100 * events_change,
            }
        )
    schema = {
        "comparison": pl.String,
        "cohort": pl.String,
        "earlier_cohort": pl.String,
        "cohort_size": pl.Int64,
        "reoffenders": pl.Int64,
        "binary_rate": pl.Float64,
        "earlier_cohort_size": pl.Int64,
        "earlier_reoffenders": pl.Int64,
        "earlier_binary_rate": pl.Float64,
        "difference_pp": pl.Float64,
        "difference_pp_low": pl.Float64,
        "difference_pp_high": pl.Float64,
        "p_value": pl.Float64,
        "significant": pl.Boolean,
        "events_per_100": pl.Float64,
        "earlier_events_per_100": pl.Float64,
        "events_per_100_change_pct": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


# ------------------------------------------------------------------------------------------ establishments
class CohortMeasures:
    """The published cohorts measured once: one join serves the trend, the establishments and the court lag.

    The trend (per cohort) and the latest cohort by establishment are both :func:`group_measures` of the
    same index releases (filters, and so the cohort restriction, apply after the index release is chosen).
    The court-lag curve counts the same pairs under waiting periods ``0..longest``. So the index releases
    are joined with the convictions once, under the longest waiting period, and each proven pair gets the
    shortest waiting period that proves it (:meth:`FollowUpWindow.with_waiting_months_needed`): the pairs
    needing at most the configured waiting period are exactly the proven reoffences of the configured window
    (same follow-up, a deadline that grows with the waiting period), and give the per-release table; all of
    them give the court lag (:meth:`court_lag`). ``columns`` are the release columns the tables group by
    besides ``cohort``.
    """

    def __init__(self, inputs, params: MeasureParams, columns: Sequence[str] = (), longest: int = LAG_MONTHS) -> None:
        waiting = params.window.waiting_period_months
        self.longest = longest
        self.confidence = params.confidence
        group_columns = list(dict.fromkeys(["cohort", *params.by, *(c for c in columns if c)]))
        self.columns = tuple(group_columns)
        releases, _ = measured_releases(inputs, params)  # the configured window: its follow-up is complete
        kept = [c for c in ("offender_id", *group_columns) if c != "release_date"]
        self.keyed = (
            releases.with_row_index(RELEASE_KEY)
            .select(RELEASE_KEY, *kept, "release_date", FOLLOW_UP_END, CONVICTION_DEADLINE)
            .collect()
        )
        join_window = FollowUpWindow(params.window.follow_up_months, max(longest, waiting))
        widest = self.keyed.lazy().with_columns(
            join_window.conviction_deadline(pl.col(FOLLOW_UP_END)).alias(CONVICTION_DEADLINE)
        )
        convictions = proven_reoffences(inputs.convictions, params.excluded_offences)
        pairs = (
            proven_pairs(widest, convictions, person_key(inputs))
            .select(RELEASE_KEY, "offence_date", FOLLOW_UP_END, "conviction_date", EVENT_KEY)
            .collect()
        )
        self.pairs = join_window.with_waiting_months_needed(
            pairs.lazy(), join_window.waiting_period_months, NEEDED
        ).collect()
        counted = per_release_counts(self.pairs.lazy().filter(pl.col(NEEDED) <= waiting))
        self.per_release = audit_rows(self.keyed.lazy(), counted, group_columns).collect()
        self._tables: dict[tuple[str, ...], pl.DataFrame] = {}  # rows(by) of every cohort, made once per by
        self._first_needed: pl.DataFrame | None = None
        self._lag_counts: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame] | None = None

    def rows(self, by: Sequence[str], cohort: str | None = None) -> pl.DataFrame:
        """The measures per ``by`` (docs/measures.md "Per group"), of one ``cohort`` or of all.

        Each ``by`` is measured once over every cohort (the bulletin asks for the establishments of the latest
        cohort and of the earlier ones): a group's measures are those of its own releases (exact counts, a
        mean of whole days and a median), so one cohort's groups are the same rows either way."""
        key = tuple(by)
        if cohort is not None and "cohort" not in key:  # one cohort's groups, without the cohort column
            return group_measures(
                self.per_release.lazy().filter(pl.col("cohort") == cohort), by, self.confidence
            ).collect()
        if key not in self._tables:
            self._tables[key] = group_measures(self.per_release.lazy(), by, self.confidence).collect()
        table = self._tables[key]
        return table if cohort is None else table.filter(pl.col("cohort") == cohort)

    def first_needed(self) -> pl.DataFrame:
        """Per release with a proven pair under the longest waiting period: ``RELEASE_KEY`` and the least
        waiting period (``NEEDED``) proving one of its pairs; made once, for :meth:`court_lag` and
        :meth:`court_lag_reoffenders` (a release counts as a reoffender from that waiting period on)."""
        if self._first_needed is None:
            self._first_needed = (
                self.pairs.lazy().select(RELEASE_KEY, NEEDED).group_by(RELEASE_KEY).agg(pl.col(NEEDED).min()).collect()
            )
        return self._first_needed

    def counts(self, where: Mapping[str, Sequence[str]]) -> pl.DataFrame:
        """``cohort``, ``reoffenders`` and ``cohort_size`` of the index releases ``where`` keeps, per cohort.

        The counts of ``measure --by cohort --where ...`` over these cohorts: filters apply after the index
        release is chosen (docs/measures.md), so narrowing the measured releases counts the same people.
        ``where`` names columns of :attr:`columns` (compared as text, :func:`reoffend.cohort.matches`).
        """
        rows = apply_filters(self.per_release.lazy(), where)
        counts = group_measures(rows, ("cohort",), self.confidence)
        return counts.select("cohort", "reoffenders", "cohort_size").collect()

    def lag_counts(self) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """Per cohort, its index releases (``len``); per cohort and least waiting period ``NEEDED``, the pairs
        needing it and the releases whose least-needing pair needs it (``len``). Made once, a few hundred rows:
        :meth:`court_lag` sums the cohorts it is given, :meth:`court_lag_reoffenders` keeps them apart.

        ``RELEASE_KEY`` is the row number of :attr:`keyed` (``with_row_index`` before anything else), so each
        pair's and release's cohort is the ``keyed`` cohort at that position: a gather, not a join of the pairs
        with the releases (tests/test_court_lag_one_pass.py checks it against the join). The order of the rows
        is none in particular: every caller filters, sums or sorts them."""
        if self._lag_counts is None:
            # the cohort as categorical codes: gathered and grouped as integers (about a quarter of the CPU of
            # the labels at 1,000,000 releases), each table's labels made again as text at the end
            cohort = self.keyed.get_column("cohort").cast(pl.Categorical)
            first = self.first_needed()

            def per_cohort_and_needed(keys: pl.Series, needed: pl.Series) -> pl.LazyFrame:
                return (
                    pl.DataFrame({"cohort": cohort.gather(keys), NEEDED: needed})
                    .lazy()
                    .group_by("cohort", NEEDED)
                    .len()
                    .with_columns(pl.col("cohort").cast(pl.String))
                )

            self._lag_counts = tuple(  # type: ignore[assignment]
                pl.collect_all(
                    [
                        self.keyed.lazy().group_by("cohort").len(),
                        per_cohort_and_needed(self.pairs.get_column(RELEASE_KEY), self.pairs.get_column(NEEDED)),
                        per_cohort_and_needed(first.get_column(RELEASE_KEY), first.get_column(NEEDED)),
                    ]
                )
            )
        assert self._lag_counts is not None
        return self._lag_counts

    def court_lag(self, cohorts: Sequence[str]) -> pl.DataFrame:
        """Proven reoffences of ``cohorts`` counted under waiting periods ``0..longest`` months.

        ``cohorts`` must be complete under the longest waiting period, so no release drops out under a
        shorter one. The count under ``m`` months is the cumulative count of pairs (reoffences) or of
        releases (reoffenders, by their least-needing pair) needing at most ``m``: the same numbers as
        running the measure once per waiting period (tests/test_court_lag_one_pass.py). Each count is also
        given as a share of the count under the longest one, the "eventual" count. The counts are
        :meth:`lag_counts`' of the cohorts chosen, summed.
        """
        longest = self.longest
        sizes, pairs, releases = self.lag_counts()
        if not set(sizes["cohort"].to_list()) <= set(cohorts):  # else every release is chosen
            chosen = pl.col("cohort").is_in(list(cohorts))
            sizes, pairs, releases = sizes.filter(chosen), pairs.filter(chosen), releases.filter(chosen)
        size = int(sizes["len"].sum())
        months = pl.DataFrame({"waiting_period_months": range(longest + 1)}, schema={"waiting_period_months": pl.Int64})

        def cumulative(counts: pl.DataFrame, name: str) -> pl.Series:
            counts = counts.group_by(NEEDED).agg(pl.col("len").sum()).rename({NEEDED: "waiting_period_months"})
            # sorted after the join: its order is not kept, and the cumulative sum runs over the months in order
            joined = months.join(counts, on="waiting_period_months", how="left").sort("waiting_period_months")
            return pl.Series(name, joined["len"].fill_null(0).cum_sum(), pl.Int64)

        table = months.with_columns(
            # a column, not a literal: polars divides by a scalar as a product with its reciprocal, which can
            # differ in the last bit from the measure's division
            pl.Series("cohort_size", [size] * (longest + 1), pl.Int64),
            cumulative(releases, "reoffenders"),
            cumulative(pairs, "reoffences"),
        ).with_columns(ratio(pl.col("reoffenders"), pl.col("cohort_size")).alias("binary_rate"))
        table = table.select("waiting_period_months", "cohort_size", "reoffenders", "binary_rate", "reoffences")
        last = table.row(-1, named=True)

        def share(column: str) -> pl.Expr:
            return pl.when(pl.lit(last[column]) > 0).then(pl.col(column) / last[column]).otherwise(None)

        return table.with_columns(
            share("reoffences").alias("share_of_reoffences"),
            share("reoffenders").alias("share_of_reoffenders"),
        )

    def court_lag_reoffenders(self, cohorts: Sequence[str]) -> pl.DataFrame:
        """Per cohort of ``cohorts`` and waiting period ``0..longest``: its size and its reoffenders under that
        waiting period (as :meth:`court_lag` counts them for the cohorts together), from :meth:`lag_counts`."""
        sizes, _pairs, releases = self.lag_counts()
        chosen = pl.col("cohort").is_in(list(cohorts))
        grid = (
            sizes.filter(chosen)
            .rename({"len": "cohort_size"})
            .join(
                pl.DataFrame(
                    {"waiting_period_months": range(self.longest + 1)}, schema={"waiting_period_months": pl.Int64}
                ),
                how="cross",
            )
        )
        counted = (
            releases.filter(chosen)
            .rename({NEEDED: "waiting_period_months", "len": "_new"})
            .with_columns(pl.col("waiting_period_months").cast(pl.Int64))
        )
        return (
            # sorted after the join (whose order is not kept) and before the cumulative sum, which needs it
            grid.join(counted, on=["cohort", "waiting_period_months"], how="left")
            .sort("cohort", "waiting_period_months")
            .with_columns(pl.col("_new").fill_null(0).cum_sum().over("cohort").alias("reoffenders"))
            .select("cohort", "waiting_period_months", pl.col("cohort_size").cast(pl.Int64), "reoffenders")
        )


def by_establishment(
    measured: CohortMeasures,
    cohort: str,
    column: str,
    overall_rate: float,
    confidence: float = 0.95,
    multiple_testing: MultipleTesting = "holm",
) -> pl.DataFrame:
    """The measures of ``cohort`` per ``column``, highest rate first, each tested against all releases.

    Each establishment's rate is tested against the rate for all releases by the one-sample score test,
    ``z = (p - p0) / sqrt(p0 (1 - p0) / n)``, whose inversion is the Wilson interval: the establishment's
    interval at ``confidence`` lies wholly above (below) ``p0`` exactly when the test rejects with ``z > 0``
    (``< 0``) at ``1 - confidence`` — that is ``compared_unadjusted``. With a hundred establishments tested
    at once about five would do so by chance alone, so the two-sided p-values are adjusted
    (``multiple_testing``, Holm by default: reoffend.report.multiple) and ``compared_with_all`` is
    ``higher``/``lower`` only when the adjusted p is below ``1 - confidence``, else ``similar``
    (design: "one verdict"). Null p where the test is undefined (an empty group, or ``p0`` of 0 or 1).
    """
    rows = measured.rows(("cohort", column), cohort)
    tested = tested_against_all(rows, overall_rate, confidence, multiple_testing)
    return tested.sort(["binary_rate", column], descending=[True, False], nulls_last=True)


def tested_against_all(
    rows: pl.DataFrame,
    overall_rate: float,
    confidence: float = 0.95,
    multiple_testing: MultipleTesting = "holm",
    withheld: Sequence[bool] | None = None,
) -> pl.DataFrame:
    """The tests of :func:`by_establishment` on ``rows``. The ``withheld`` rows (disclosure control) are not
    tested and not in the family the p-values are adjusted over: an adjusted p of a published establishment
    must not depend on a withheld one's (Holm's step-down would carry a withheld p into a published one).
    The rows keep their order."""
    from ..ndtr import ndtr  # scipy.special.ndtr bit for bit, without importing scipy (issue 30); numpy here

    alpha = 1 - confidence
    n = pl.col("cohort_size").cast(pl.Float64)
    se = (pl.lit(overall_rate * (1 - overall_rate)) / n).sqrt()
    z = pl.when((n > 0) & (se > 0)).then((pl.col("binary_rate") - overall_rate) / se).otherwise(None)
    if withheld is not None:
        z = pl.when(pl.Series(list(withheld), dtype=pl.Boolean)).then(None).otherwise(z)
    rows = rows.drop("p_value", "p_adjusted", "compared_unadjusted", "compared_with_all", strict=False)
    rows = rows.with_columns(z.alias("_z"))
    p = pl.Series("p_value", 2 * ndtr(-rows["_z"].abs().to_numpy()), dtype=pl.Float64).fill_nan(None)
    rows = rows.with_columns(p, adjust(p, multiple_testing).alias("p_adjusted"))

    def compared(p_column: str) -> pl.Expr:
        return (
            pl.when((pl.col(p_column) < alpha) & (pl.col("_z") > 0))
            .then(pl.lit("higher"))
            .when((pl.col(p_column) < alpha) & (pl.col("_z") < 0))
            .then(pl.lit("lower"))
            .otherwise(pl.lit("similar"))
        )

    return rows.with_columns(
        compared("p_value").alias("compared_unadjusted"), compared("p_adjusted").alias("compared_with_all")
    ).drop("_z")


# ------------------------------------------------------------------------------------------ court lag
def court_lag_table(measured: CohortMeasures, cohorts: Sequence[str], rule) -> pl.DataFrame:
    """The bulletin's court-lag table over ``cohorts`` (the published complete ones), disclosure-controlled.

    Each row is a total over the cohorts, which successive releases add to: the difference of two releases'
    rows is the new cohorts' counts under that waiting period. So a row is withheld ([c]) unless every one
    of its cohorts would pass the rule on its own under that waiting period (reoffend.disclosure), and the
    total passes too; the sizes are always shown.
    """
    from ..disclosure import SHORTHAND

    table = measured.court_lag(cohorts)
    failing = [
        bool(rule.active and rule.fails(r["cohort_size"], r["reoffenders"])) for r in table.iter_rows(named=True)
    ]
    if rule.active:
        for row in measured.court_lag_reoffenders(cohorts).iter_rows(named=True):
            if rule.fails(row["cohort_size"], row["reoffenders"]):
                failing[row["waiting_period_months"]] = True
    mask = pl.Series(failing, dtype=pl.Boolean)
    hidden = [c for c in table.columns if c not in ("waiting_period_months", "cohort_size")]
    return table.with_columns(
        *(pl.when(mask).then(None).otherwise(pl.col(c)).alias(c) for c in hidden),
        pl.when(mask).then(pl.lit(SHORTHAND)).otherwise(pl.lit(None, pl.String)).alias("suppressed"),
    )


def court_lag(inputs, params: MeasureParams, cohorts: Sequence[str], longest: int) -> pl.DataFrame:
    """Proven reoffences counted under waiting periods ``0..longest`` months, over the same releases.

    The releases of ``cohorts`` measured with a waiting period of ``longest`` months (under which they are
    complete), then :meth:`CohortMeasures.court_lag`. The bulletin gets the same table from the
    :class:`CohortMeasures` of its trend, without a second join.
    """
    window = FollowUpWindow(params.window.follow_up_months, longest)
    measured = CohortMeasures(inputs, restrict_cohorts(params, cohorts, by=(), window=window), longest=longest)
    return measured.court_lag(cohorts)


def lag_cohorts(completeness_longest: pl.DataFrame) -> list[str]:
    return completeness_longest.filter(pl.col("complete"))["cohort"].to_list()
