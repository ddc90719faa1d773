"""Doncaster-style comparison: a cohort against the same site's own baseline cohort (docs/comparisons.md §1).

The binary measure only. For each current cohort against the one baseline cohort:

* both proven reoffending rates with Wilson score intervals (:func:`reoffend.intervals.wilson_interval`);
* the signed difference ``current - baseline`` and the reduction ``baseline - current``, in percentage points;
* the pooled two-proportion z test: ``z = (p1 - p0) / sqrt(p̄(1 - p̄)(1/n1 + 1/n0))`` with
  ``p̄ = (x1 + x0) / (n1 + n0)``; the two-sided p ``2Φ(-|z|)``, the one-sided p for a reduction ``Φ(z)``
  and for an increase ``Φ(-z)``;
* the interval printed beside the verdict: the score interval that inverts that z test
  (:func:`reoffend.intervals.score_difference_interval`, statsmodels' ``method="score", correction=False``)
  at the level that agrees with the test (``1 - 2 alpha`` one-sided, ``1 - alpha`` two-sided), so the
  verdict and its interval cannot disagree (design: comparisons.md §1, "one verdict");
* Newcombe's hybrid score interval at ``--confidence`` (Newcombe 1998, method 10), built from the two
  Wilson intervals, reported beside it for comparison with published reports:
  ``[d - sqrt((p1 - l1)² + (u0 - p0)²), d + sqrt((u1 - p1)² + (p0 - l0)²)]``;
* the verdict with its direction (:mod:`reoffend.report.verdict`), adjusted for several current cohorts
  tested against one baseline (``multiple_testing``, Holm by default), the contract target and the
  payment schedule step, each reported separately.

The core is pure: counts and a :class:`BaselineParams` in, a :class:`BaselineResult` out. From records the
counts come from :func:`reoffend.measure.measure` (the one window definition), see :func:`counts_from_measure`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import polars as pl

from ..cohort import Period, apply_filters, check_cohorts_present, with_cohort
from ..errors import UsageError
from ..intervals import score_difference_interval, wilson_interval
from ..io import read_toml
from ..measure import MeasureParams, MeasureResult, measure
from ..messages import plural
from ..report.multiple import DESCRIPTION, METHODS, MultipleTesting, adjust
from ..report.verdict import Verdict, interval_confidence, interval_label, verdict_expr, verdict_p
from ..run_warnings import RunWarning
from ..validate import ValidatedInputs
from .rows import BaselineRow

Sided = Literal["one", "two"]
# A reduction equal to the target or a schedule threshold up to this many decimals of a percentage point
# meets it: 530/1000 against 480/1000 is a reduction of exactly 5 pp, whatever binary floating point says.
PP_DECIMALS = 9

COUNT_SCHEMA = {"label": pl.String, "reoffenders": pl.Int64, "cohort_size": pl.Int64}


@dataclass(frozen=True)
class Counts:
    """A cohort as published: ``reoffenders`` out of ``cohort_size`` index releases, with a label."""

    label: str
    reoffenders: int
    cohort_size: int
    # a published rate with its size (18%/805): the reoffender counts that round to that rate, lowest and highest
    possible: tuple[int, int] | None = None
    published: str | None = None  # the rate as published ("18%"), when it was given as one

    def __post_init__(self) -> None:
        if self.cohort_size < 0:
            raise UsageError(f"{self.label}: the cohort size cannot be negative ({self.cohort_size})")
        if self.reoffenders < 0:
            raise UsageError(f"{self.label}: the number of reoffenders cannot be negative ({self.reoffenders})")
        if self.reoffenders > self.cohort_size:
            raise UsageError(
                f"{self.label}: {self.reoffenders} reoffenders is more than the cohort of {self.cohort_size}"
            )


@dataclass(frozen=True)
class ScheduleStep:
    reduction_pp: float
    payment: float


@dataclass(frozen=True)
class BaselineParams:
    """How to judge a comparison: interval level, test level and side, contract target and schedule."""

    confidence: float = 0.95
    alpha: float = 0.05
    sided: Sided = "one"
    target_pp: float | None = None
    schedule: tuple[ScheduleStep, ...] = ()
    multiple_testing: MultipleTesting = "holm"

    @property
    def interval_confidence(self) -> float:
        """The level of the interval beside the verdict: the one that agrees with the test."""
        return interval_confidence(self.alpha, self.sided)

    def __post_init__(self) -> None:
        if not 0 < self.confidence < 1:
            raise UsageError(f"confidence must be between 0 and 1, not {self.confidence}")
        if not 0 < self.alpha < 1:
            raise UsageError(f"alpha must be between 0 and 1, not {self.alpha}")
        if self.sided not in ("one", "two"):
            raise UsageError(f"sided must be 'one' or 'two', not {self.sided!r}")
        if self.multiple_testing not in METHODS:
            raise UsageError(f"multiple testing must be one of {', '.join(METHODS)}, not {self.multiple_testing!r}")
        if self.target_pp is not None and not math.isfinite(self.target_pp):
            raise UsageError(f"the target must be a finite number of percentage points, not {self.target_pp}")

    def as_dict(self) -> dict[str, object]:
        return {
            "confidence": self.confidence,
            "alpha": self.alpha,
            "significance_test": "one-sided p for a reduction" if self.sided == "one" else "two-sided p",
            "interval_confidence": self.interval_confidence,
            "interval": interval_label(self.alpha, self.sided),
            "multiple_testing": self.multiple_testing,
            "multiple_testing_method": DESCRIPTION[self.multiple_testing],
            "target_pp": self.target_pp,
            "schedule": [{"reduction_pp": s.reduction_pp, "payment": s.payment} for s in self.schedule],
        }


@dataclass
class BaselineResult:
    """One row per current cohort against the baseline: the columns of :class:`~reoffend.compare.rows.BaselineRow`."""

    rows: pl.DataFrame
    params: BaselineParams
    metadata: dict[str, object] = field(default_factory=dict)
    warnings: list[RunWarning] = field(default_factory=list)
    site: str | None = None

    def __post_init__(self) -> None:
        BaselineRow.check(self.rows, "compare baseline")

    def typed_rows(self) -> list[BaselineRow]:
        return BaselineRow.of(self.rows)

    def all_significant(self) -> bool:
        """True when every comparison is a significant reduction after the multiple-testing adjustment."""
        return self.rows.height > 0 and bool(self.rows["significant_adjusted"].fill_null(False).all())


RESULT_COLUMNS = BaselineRow.columns()  # declared once, with dtypes, in reoffend/compare/rows.py


# ------------------------------------------------------------------------------------------------ parsing
_COUNTS = re.compile(r"^\s*(?:(?P<label>[^=]+?)\s*=\s*)?(?P<x>[+-]?\d+)\s*/\s*(?P<n>[+-]?\d+)\s*$")


_RATE = re.compile(r"^\s*(?:(?P<label>[^=]+?)\s*=\s*)?(?P<rate>\d+(?:\.(?P<places>\d+))?)\s*%\s*/\s*(?P<n>\d+)\s*$")


def parse_rate(text: str, default_label: str) -> Counts | None:
    """``18%/805`` (or ``2023Q4=17.9%/805``): a rate as published, with its cohort size. The reoffenders are the
    nearest whole number to the rate (18% of 805 = 144.9: 145), and ``possible`` every count that rounds to the
    published rate at its places (18% is 17.5% to 18.5%, so 141 to 148 of 805: 140.875 and 148.925 rounded in).
    None when ``text`` is not a rate."""
    match = _RATE.match(text)
    if not match:
        return None
    size = int(match["n"])
    if size > MAX_COUNT:
        raise UsageError(f"a cohort size is at most {MAX_COUNT:,} people, not {size:,}")
    rate = float(match["rate"])
    if rate > 100:
        raise UsageError(f"a rate is at most 100%, not {match['rate']}%")
    half = 0.5 * 10 ** -len(match["places"] or "")  # half a unit of the last place published, in per cent
    lowest = max(0, math.ceil((rate - half) * size / 100 - 1e-9))
    highest = min(size, math.floor((rate + half) * size / 100 - 1e-9))  # a rate of exactly r + half rounds up
    nearest = min(max(math.floor(rate * size / 100 + 0.5), lowest), highest) if lowest <= highest else None
    if nearest is None:
        raise UsageError(f"{match['rate']}% of {size:,}: no whole number of reoffenders rounds to that rate")
    return Counts(
        match["label"] or default_label, nearest, size, possible=(lowest, highest), published=f"{match['rate']}%"
    )


def parse_counts(text: str, default_label: str) -> Counts:
    """``480/1000`` or ``2023Q4=480/1000``: reoffenders out of the cohort size; or a published rate with its size,
    ``18%/805`` (:func:`parse_rate`)."""
    rate = parse_rate(text, default_label)
    if rate is not None:
        return rate
    match = _COUNTS.match(text)
    if not match:
        raise UsageError(
            "counts take REOFFENDERS/COHORT_SIZE as whole numbers (or RATE%/COHORT_SIZE as published), optionally "
            f"LABEL=..., e.g. 480/1000 or 48%/1000, not {text!r}"
        )
    reoffenders, size = int(match["x"]), int(match["n"])
    if size > MAX_COUNT:  # no cohort has more people; a larger number overflows a 64-bit count (was exit 70)
        raise UsageError(f"a cohort size is at most {MAX_COUNT:,} people, not {size:,}")
    return Counts(match["label"] or default_label, reoffenders, size)


MAX_COUNT = 10**12  # people in a cohort given as counts: more than have ever lived at once


def read_schedule(path: str) -> tuple[ScheduleStep, ...]:
    """A payment schedule: TOML ``[[step]]`` tables (or a ``step``/``steps`` array) of reduction_pp and payment."""
    data, _ = read_toml(path, "schedule file")
    keys = [k for k in ("step", "steps") if k in data]
    unknown = sorted(set(data) - {"step", "steps"})
    if len(keys) != 1 or unknown:
        raise UsageError(
            f"{path}: a schedule is a list of steps, e.g. [[step]] reduction_pp = 5 payment = 100000"
            + (f" (unknown key {', '.join(map(repr, unknown))})" if unknown else "")
        )
    raw = data[keys[0]]
    if not isinstance(raw, list) or not raw:
        raise UsageError(f"{path}: '{keys[0]}' must be a non-empty list of {{reduction_pp, payment}} tables")
    steps = []
    for step_number, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or set(item) != {"reduction_pp", "payment"}:
            raise UsageError(f"{path}: step {step_number} must have exactly the keys reduction_pp and payment")
        values = [item["reduction_pp"], item["payment"]]
        if any(isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) for v in values):
            raise UsageError(f"{path}: step {step_number}: reduction_pp and payment must be numbers")
        steps.append(ScheduleStep(float(item["reduction_pp"]), float(item["payment"])))
    thresholds = [s.reduction_pp for s in steps]
    if len(set(thresholds)) != len(thresholds):
        raise UsageError(f"{path}: two steps have the same reduction_pp")
    return tuple(sorted(steps, key=lambda s: s.reduction_pp))


# ---------------------------------------------------------------------------------------------- the core
def counts_frame(cohorts: Sequence[Counts]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "label": [c.label for c in cohorts],
            "reoffenders": [c.reoffenders for c in cohorts],
            "cohort_size": [c.cohort_size for c in cohorts],
        },
        schema=COUNT_SCHEMA,
    )


def rounding_check(current: Sequence[Counts], baseline: Counts, params: BaselineParams) -> list[dict[str, Any]]:
    """What the rounding of published rates allows: for each current cohort given as a rate (or against a
    baseline given as one), the verdict at the two extremes of the counts that round to the published rates
    (the current count lowest and the baseline's highest, then the reverse) and whether it is the verdict of the
    nearest counts at both. A verdict that changes within the rounding is no verdict a payment can rest on."""
    out = []
    base_low, base_high = baseline.possible or (baseline.reoffenders, baseline.reoffenders)
    for cohort in current:
        if cohort.possible is None and baseline.possible is None:
            continue
        low, high = cohort.possible or (cohort.reoffenders, cohort.reoffenders)
        cases = [
            (cohort.reoffenders, baseline.reoffenders),
            (low, base_high),  # the largest fall the rounding allows
            (high, base_low),  # the smallest
        ]
        verdicts = [
            compare_counts(
                [replace(cohort, reoffenders=x, possible=None)], replace(baseline, reoffenders=b, possible=None), params
            )
            .typed_rows()[0]
            .verdict
            for x, b in cases
        ]
        out.append(
            {
                "current": cohort.label,
                "current_published": cohort.published,
                "current_reoffenders_possible": [low, high],
                "baseline_published": baseline.published,
                "baseline_reoffenders_possible": [base_low, base_high],
                "verdict": verdicts[0],
                "verdict_at_largest_fall": verdicts[1],
                "verdict_at_smallest_fall": verdicts[2],
                "verdict_holds": len(set(verdicts)) == 1,
            }
        )
    return out


def compare_counts(
    current: Sequence[Counts] | pl.DataFrame,
    baseline: Counts,
    params: BaselineParams,
    *,
    metadata: dict[str, object] | None = None,
    site: str | None = None,
) -> BaselineResult:
    """Each current cohort against ``baseline``. ``current`` is Counts or a frame of label/reoffenders/cohort_size.

    A cohort of size 0 gives null rates and null statistics (never NaN). Two cohorts whose pooled rate is 0
    or 1 (nobody, or everybody, reoffended in both) have no z statistic (0/0): z is null and both p-values
    are 1, as Fisher's exact test gives for such a table; the difference is exactly 0.
    """
    frame = current if isinstance(current, pl.DataFrame) else counts_frame(current)
    frame = frame.select(
        pl.col("label").cast(pl.String).alias("current"),
        pl.lit(baseline.label, pl.String).alias("baseline"),
        pl.col("cohort_size").cast(pl.Int64).alias("current_size"),
        pl.col("reoffenders").cast(pl.Int64).alias("current_reoffenders"),
        pl.lit(baseline.cohort_size, pl.Int64).alias("baseline_size"),
        pl.lit(baseline.reoffenders, pl.Int64).alias("baseline_reoffenders"),
    )
    warnings: list[RunWarning] = []
    rate_columns = []
    for arm in ("current", "baseline"):
        x, n = pl.col(f"{arm}_reoffenders"), pl.col(f"{arm}_size")
        low, high = wilson_interval(x, n, params.confidence)
        rate = pl.when(n > 0).then(x.cast(pl.Float64) / n).otherwise(None)
        rate_columns += [rate.alias(f"{arm}_rate"), low.alias(f"{arm}_rate_low"), high.alias(f"{arm}_rate_high")]
    frame = frame.with_columns(rate_columns)
    stats = _statistics(frame, params)
    rows = pl.concat([frame, stats], how="horizontal").select(RESULT_COLUMNS)
    if baseline.cohort_size == 0:
        warnings.append(
            RunWarning("empty-baseline", f"the baseline cohort {baseline.label} is empty: nothing to compare")
        )
    empty = rows.filter(pl.col("current_size") == 0)["current"].to_list()
    if empty:
        warnings.append(
            RunWarning(
                "empty-current",
                f"empty current {plural(len(empty), 'cohort')}: {', '.join(map(str, empty))}: no comparison",
                subjects=[str(c) for c in empty],
            )
        )
    small = rows.filter((pl.col("current_size") > 0) & (pl.col("baseline_size") > 0) & (_min_expected() < 5))[
        "current"
    ].to_list()
    if small:
        warnings.append(
            RunWarning(
                "few-expected",
                f"fewer than 5 expected reoffenders or non-reoffenders in a cohort ({', '.join(map(str, small))} "
                "against the baseline): the z test's normal approximation is rough, read the p-value with care",
                subjects=[str(c) for c in small],
            )
        )
    same = rows.filter(pl.col("current") == pl.col("baseline"))["current"].to_list()
    if same:
        warnings.append(RunWarning("compared-with-itself", f"cohort {same[0]} is compared with itself"))
    return BaselineResult(rows=rows, params=params, metadata=dict(metadata or {}), warnings=warnings, site=site)


def _min_expected() -> pl.Expr:
    """The smallest expected count of reoffenders or non-reoffenders in either cohort under the pooled rate."""
    x = pl.col("current_reoffenders") + pl.col("baseline_reoffenders")
    n = pl.col("current_size") + pl.col("baseline_size")
    pooled = x.cast(pl.Float64) / n
    share = pl.min_horizontal(pooled, 1 - pooled)
    return share * pl.min_horizontal(pl.col("current_size"), pl.col("baseline_size"))


def _statistics(frame: pl.DataFrame, params: BaselineParams) -> pl.DataFrame:
    """Difference, Newcombe interval, pooled z test and the verdicts, vectorised over the comparisons."""
    # imported here: the bulletin imports numpy in its chart thread while polars reads (bulletin.build.ChartWorker)
    import numpy as np

    from ..ndtr import ndtr  # scipy.special.ndtr bit for bit, without importing scipy (issue 30)

    x1 = frame["current_reoffenders"].to_numpy().astype(float)
    n1 = frame["current_size"].to_numpy().astype(float)
    x0 = frame["baseline_reoffenders"].to_numpy().astype(float)
    n0 = frame["baseline_size"].to_numpy().astype(float)
    valid = (n1 > 0) & (n0 > 0)
    nan = np.full(len(frame), np.nan)

    def col(name: str) -> np.ndarray:
        return frame[name].fill_null(np.nan).to_numpy().astype(float)

    p1, l1, u1 = col("current_rate"), col("current_rate_low"), col("current_rate_high")
    p0, l0, u0 = col("baseline_rate"), col("baseline_rate_low"), col("baseline_rate_high")
    with np.errstate(invalid="ignore", divide="ignore"):
        # one division of exact integers: 480/1000 against 530/1000 is exactly -5.0 pp
        difference = np.where(valid, 100 * (x1 * n0 - x0 * n1) / (n1 * n0), nan)
        d = difference / 100
        newcombe_low = 100 * (d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2))
        newcombe_high = 100 * (d + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2))
        pooled = (x1 + x0) / (n1 + n0)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
        degenerate = valid & (se == 0)
        z = np.where(valid & ~degenerate, (p1 - p0) / se, nan)
    score_low, score_high = score_difference_interval(x1, n1, x0, n0, params.interval_confidence)
    low, high = 100 * score_low, 100 * score_high
    p_two = np.where(degenerate, 1.0, 2 * ndtr(-np.abs(z)))
    p_one = np.where(degenerate, 1.0, ndtr(z))
    p_up = np.where(degenerate, 1.0, ndtr(-z))
    p_two = np.where(valid, p_two, nan)
    p_one = np.where(valid, p_one, nan)
    p_up = np.where(valid, p_up, nan)
    reduction = -difference
    stats = pl.DataFrame(
        {
            "difference_pp": difference,
            "difference_pp_low": low,
            "difference_pp_high": high,
            "reduction_pp": reduction,
            "reduction_pp_low": -high,
            "reduction_pp_high": -low,
            "interval_confidence": np.where(valid, params.interval_confidence, nan),
            "reduction_pp_newcombe_low": -newcombe_high,
            "reduction_pp_newcombe_high": -newcombe_low,
            "z": z,
            "p_two_sided": p_two,
            "p_reduction": p_one,
            "p_increase": p_up,
        }
    ).with_columns(pl.all().fill_nan(None))
    # negative zero (a difference of exactly 0) prints as -0.0: make it 0.0
    stats = stats.with_columns(pl.all() + 0.0)
    reduction_expr = pl.col("reduction_pp").round(PP_DECIMALS)
    p_verdict = verdict_p(pl.col("p_reduction"), pl.col("p_increase"), params.sided)
    stats = stats.with_columns(p_verdict.alias("_p"))
    stats = stats.with_columns(adjust(stats["_p"], params.multiple_testing).alias("p_adjusted"))
    stats = stats.with_columns(
        verdict_expr(pl.col("_p"), pl.col("difference_pp"), params.alpha).alias("verdict"),
        verdict_expr(pl.col("p_adjusted"), pl.col("difference_pp"), params.alpha).alias("verdict_adjusted"),
    ).drop("_p")
    # payment follows a significant reduction only; null where there is nothing to test
    significant = (
        pl.when(pl.col("verdict") == Verdict.TOO_FEW.value)
        .then(None)
        .otherwise(pl.col("verdict") == Verdict.REDUCTION.value)
    )
    significant_adjusted = (
        pl.when(pl.col("verdict_adjusted") == Verdict.TOO_FEW.value)
        .then(None)
        .otherwise(pl.col("verdict_adjusted") == Verdict.REDUCTION.value)
    )
    columns = [
        significant.alias("significant"),
        significant_adjusted.alias("significant_adjusted"),
    ]
    if params.target_pp is None:
        columns.append(pl.lit(None, pl.Boolean).alias("target_met"))
    else:
        columns.append((reduction_expr >= params.target_pp).alias("target_met"))
    columns += _schedule_columns(reduction_expr, params.schedule)
    return stats.with_columns(columns)


def _schedule_columns(reduction: pl.Expr, schedule: Sequence[ScheduleStep]) -> list[pl.Expr]:
    """The highest step whose reduction_pp the reduction reaches (null when none, or no schedule)."""
    step: pl.Expr = pl.lit(None, pl.Float64)
    payment: pl.Expr = pl.lit(None, pl.Float64)
    for s in schedule:  # ascending, so a later (higher) step reached overrides a lower one
        reached = reduction >= s.reduction_pp
        step = pl.when(reached).then(pl.lit(s.reduction_pp)).otherwise(step)
        payment = pl.when(reached).then(pl.lit(s.payment)).otherwise(payment)
    return [step.alias("schedule_step_pp"), payment.alias("schedule_payment")]


# ------------------------------------------------------------------------------------------- from records
def cohort_labels(inputs: ValidatedInputs, period: Period) -> list[str]:
    """Every cohort label in the releases (all sites), sorted."""
    labels = with_cohort(inputs.releases, period).select(pl.col("cohort").unique()).collect()["cohort"]
    return sorted(label for label in labels.to_list() if label is not None)


def measure_cohorts(
    inputs: ValidatedInputs,
    params: MeasureParams,
    current: Sequence[str],
    baseline: str,
    *,
    audit_table: bool = False,
    current_option: str = "--current",
) -> tuple[pl.DataFrame, Counts, MeasureResult]:
    """Measure the current cohorts and the baseline cohort with :func:`reoffend.measure.measure`.

    ``params.where`` carries the site and any other filters; the cohorts are added to it here, so only the
    compared cohorts must have complete follow-up. A label that no release has is invalid data (65,
    ``value-not-found``, named as ``current_option`` or ``--baseline`` with the closest labels); a label the
    filtered releases do not have gives a cohort of size 0. Returns the current counts (in the order given),
    the baseline counts and the measure result (its per-release rows with ``audit_table``).
    """
    if not current:
        raise UsageError("give at least one current cohort")
    known = cohort_labels(inputs, params.period)
    check_cohorts_present(current, known, inputs.names["releases"], current_option, params.period)
    check_cohorts_present([baseline], known, inputs.names["releases"], "--baseline", params.period)
    where = dict(params.where)
    where["cohort"] = tuple(dict.fromkeys([*current, baseline]))
    measured = measure(
        inputs, replace(params, by=("cohort",), where=where, latest_cohort=False), audit_table=audit_table
    )
    frame, base_counts = cohort_counts(measured.rows, current, baseline)
    return frame, base_counts, measured


def cohort_counts(sizes: pl.DataFrame, current: Sequence[str], baseline: str) -> tuple[pl.DataFrame, Counts]:
    """The current cohorts' counts (in the order given) and the baseline's, from measured per-cohort ``sizes``
    (``cohort``, ``reoffenders``, ``cohort_size``); a cohort ``sizes`` lacks has size 0.

    The current counts are a new frame of plain values (:func:`counts_frame`, as published counts give), not
    a join with ``sizes``: polars' arithmetic on a joined column can differ in the last place with what the
    join carried over (e.g. a cohort named twice, joined from a table of more cohorts), so the rates would
    depend on which table the counts were measured in (tests/test_fast_paths.py, the bulletin's one join).
    """
    sizes = sizes.select("cohort", "reoffenders", "cohort_size")
    found = {cohort: (int(x or 0), int(n or 0)) for cohort, x, n in sizes.iter_rows()}
    frame = counts_frame([Counts(label, *found.get(label, (0, 0))) for label in current])
    base = sizes.filter(pl.col("cohort") == baseline)
    base_counts = (
        Counts(baseline, int(base["reoffenders"][0]), int(base["cohort_size"][0]))
        if base.height
        else Counts(baseline, 0, 0)
    )
    return frame, base_counts


def latest_cohort(inputs: ValidatedInputs, params: MeasureParams) -> str:
    """The latest cohort label among the releases that ``params.where`` keeps (the site's latest cohort)."""
    releases = apply_filters(with_cohort(inputs.releases, params.period), params.where)
    latest = releases.select(pl.col("cohort").max()).collect().item()
    if latest is None:
        raise UsageError("--latest-cohort: no releases match the site and filters")
    return str(latest)


def compare_records(
    inputs: ValidatedInputs,
    measurement: MeasureParams,
    params: BaselineParams,
    *,
    current: Sequence[str],
    baseline: str,
    site: str | None = None,
    site_column: str = "establishment",
    sizes: pl.DataFrame | None = None,
) -> BaselineResult:
    """The one entry point from records, for the CLI and the bulletin alike (design: comparisons.md §1).

    ``site`` narrows both cohorts to ``site_column == site`` (on top of ``measurement.where``); no
    ``current`` cohort means the site's latest. The cohorts are measured by :func:`measure_cohorts` and
    compared by :func:`compare_counts`; the result's metadata says which cohorts were compared and with
    which measure parameters (``compared``).

    ``sizes``, when given, are the cohorts already measured: ``cohort``, ``reoffenders`` and ``cohort_size``
    of the releases ``measurement.where`` and the site keep (the bulletin counts them from the per-release
    table of its one join, :meth:`reoffend.bulletin.stats.CohortMeasures.counts`), and no measure is run. The
    rows are the same (filters apply after the index release is chosen, so narrowing the measured releases
    to the site and cohorts counts the same people: tests/test_fast_paths.py); the metadata then lacks the
    measure's own run metadata.
    """
    where = dict(measurement.where)
    if site:
        where[site_column] = (site,)
    mparams = replace(measurement, by=("cohort",), where=where, latest_cohort=False)
    labels = list(current) or [latest_cohort(inputs, mparams)]
    run: dict[str, object] = {}
    if sizes is None:
        frame, base, measured = measure_cohorts(inputs, mparams, labels, baseline)
        run = measured.metadata
    else:
        frame, base = cohort_counts(sizes, labels, baseline)
    metadata = {
        "source": "records",
        **run,
        "compared": {"current": labels, "baseline": baseline, "measure": mparams.as_dict()},
    }
    return compare_counts(frame, base, params, metadata=metadata, site=site)
