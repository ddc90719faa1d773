"""Checking a published result from its published figures (``compare published``; docs/comparisons-published.md).

An evaluation publishes figures, not records: rates with sizes (``18%`` of 805), reconviction events per 100
(Peterborough: 142 against 155 per 100, about 1,000 people each), or a Justice Data Lab summary (805
participants at 18% against 23% of a comparison group of a given effective size). For each result this gives
the test and interval those figures support, the verdict, and whether the rounding of the published figures
could change it (the verdict at both extremes of what rounds to them).

* ``rates``: the nearest whole counts (:func:`reoffend.compare.baseline.parse_rate`) through ``compare
  baseline``'s pooled two-proportion z test and its score interval; the rounding check is
  :func:`reoffend.compare.baseline.rounding_check` (every count that rounds to the published rates).
* ``events``: the ratio of two mean counts per person with a stated variance model: a person's count has
  variance ``D mu`` (``dispersion`` D, the variance-to-mean ratio; 1 is Poisson, the default) or ``sd**2`` (a
  published standard deviation per person). Wald test on the log ratio,
  ``Var(log r) = Var1 / mu1**2 + Var0 / mu0**2`` with ``Var = D mu / n`` (or ``sd**2 / n``), the interval of the
  change ``100 (r - 1)`` from it, and the difference in events per 100 with the ratio's interval on the
  baseline's scale (one verdict for every interval). With ``D = 1`` this is statsmodels'
  ``test_poisson_2indep(method="wald-log")``; with ``D`` it is that test on the counts and exposures divided by
  ``D`` (quasi-Poisson). A mean of 0: the score test and the interval that inverts it. Tested.
* ``data-lab``: :func:`reoffend.compare.datalab.wald_difference`, the Justice Data Lab's Wald interval for a
  difference of two proportions with the comparison group's effective size; two-sided at ``alpha``.

The core is pure: :class:`Published` values in, rows of :class:`PublishedRow` out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import polars as pl
from scipy import stats

from ..errors import PROBLEM_SCHEMA, DataError, UsageError, problem_row
from ..intervals import normal_quantile
from ..report.verdict import Verdict, interval_confidence, verdict_of
from .baseline import BaselineParams, compare_counts, parse_rate, rounding_check
from .datalab import wald_difference
from .rows import PublishedRow

Kind = Literal["rates", "events", "data-lab"]
KINDS: tuple[str, ...] = ("rates", "events", "data-lab")
Sided = Literal["one", "two"]
MAX_SIZE = 10**12

# the batch file's columns: required, then optional
REQUIRED = ("kind", "current", "current_size", "baseline", "baseline_size")
OPTIONAL = ("label", "dispersion", "sd_current", "sd_baseline", "target_reduction_pct")

_FIGURE = re.compile(r"^\s*(?P<value>\d+(?:\.(?P<places>\d+))?)\s*(?P<pct>%?)\s*$")

METHODS = {
    "rates": "pooled two-proportion z test on the nearest whole counts, score interval (compare baseline)",
    "events": "Wald test on the log ratio of the two means (a mean of 0: the score test), the difference's interval "
    "the ratio's; a person's count has variance {model}",
    "data-lab": "Justice Data Lab: Wald interval for a difference of two proportions, the comparison group at "
    "its effective size; two-sided",
}


@dataclass(frozen=True)
class Figure:
    """A published figure: its value and half a unit of its last published place (what rounding hides)."""

    text: str
    value: float
    half: float

    @classmethod
    def parse(cls, text: str, what: str, percent: bool) -> Figure:
        match = _FIGURE.match(text)
        if not match or (match["pct"] and not percent):
            unit = "a percentage such as 18% or 17.9" if percent else "events per 100 such as 142 or 141.7"
            raise ValueError(f"{what} must be {unit}, not {text!r}")
        value = float(match["value"])
        if percent and value > 100:
            raise ValueError(f"{what} is a rate of at most 100%, not {text!r}")
        return cls(text.strip(), value, 0.5 * 10 ** -len(match["places"] or ""))


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a result: the column (batch) it is in, and why."""

    column: str | None
    message: str
    rule: str = "invalid-result"


class InvalidResult(ValueError):
    """Every problem of one result at once; each names its column structurally (not by the message's words)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(p.message for p in self.problems))


def result_problems(
    kind: str,
    current: str,
    current_size: float | None,
    baseline: str,
    baseline_size: float | None,
    dispersion: float | None = None,
    sd_current: float | None = None,
    sd_baseline: float | None = None,
    target_reduction_pct: float | None = None,
) -> list[Problem]:
    """Every problem of one result's values, each with its column. A size of None is one already reported (a
    batch cell that is empty or not a number): the checks that need it are skipped, the others still run."""
    problems: list[Problem] = []
    known_kind = kind in KINDS
    if not kind.strip():
        problems.append(Problem("kind", f"kind is empty: one of {', '.join(KINDS)}", "missing-value"))
    elif not known_kind:
        problems.append(Problem("kind", f"kind must be one of {', '.join(KINDS)}, not {kind!r}"))
    sizes = {"current_size": current_size, "baseline_size": baseline_size}
    for name, size in sizes.items():
        if size is None:
            continue
        if not math.isfinite(size) or not 0 < size <= MAX_SIZE:
            problems.append(Problem(name, f"{name} must be a number of people above 0, not {size:g}"))
            sizes[name] = None
        elif (kind != "data-lab" or name == "current_size") and size != int(size):
            problems.append(Problem(name, f"{name} must be a whole number of people, not {size:g}"))
            sizes[name] = None
    if (sd_current is None) != (sd_baseline is None):
        missing = "sd_baseline" if sd_baseline is None else "sd_current"
        problems.append(Problem(missing, "give both sd_current and sd_baseline, or neither"))
    if known_kind and kind != "events":
        for name, value in (("dispersion", dispersion), ("sd_current", sd_current), ("sd_baseline", sd_baseline)):
            if value is not None:
                problems.append(
                    Problem(name, f"{name} applies to events only (a rate's variance follows from the rate)")
                )
    if dispersion is not None and sd_current is not None:
        problems.append(Problem("dispersion", "give dispersion or the standard deviations, not both"))
    if dispersion is not None and not (math.isfinite(dispersion) and 0 < dispersion <= 1000):
        problems.append(
            Problem(
                "dispersion", f"dispersion must be between 0 and 1,000 (the variance-to-mean ratio), not {dispersion}"
            )
        )
    for name, sd in (("sd_current", sd_current), ("sd_baseline", sd_baseline)):
        if sd is not None and not (math.isfinite(sd) and sd > 0):
            problems.append(Problem(name, f"{name} must be a standard deviation above 0, not {sd}"))
    if target_reduction_pct is not None and not math.isfinite(target_reduction_pct):
        problems.append(
            Problem("target_reduction_pct", f"target_reduction_pct must be a number, not {target_reduction_pct}")
        )
    if not known_kind:
        return problems
    for name, text, size in (
        ("current", current, sizes["current_size"]),
        ("baseline", baseline, sizes["baseline_size"]),
    ):
        if not text.strip():
            problems.append(Problem(name, f"{name} is empty: give the figure as published", "missing-value"))
            continue
        try:
            figure = Figure.parse(text, name, kind != "events")
        except ValueError as error:
            problems.append(Problem(name, str(error)))
            continue
        # some whole count of the people must round to a rate (rates; data-lab's participants, a whole number:
        # the comparison group's rate is a weighted one over an effective size, so any rate is possible there)
        whole_count = kind == "rates" or (kind == "data-lab" and name == "current")
        if whole_count and size is not None:
            try:
                parse_rate(f"{figure.text.rstrip('%').strip()}%/{int(size)}", name)
            except UsageError as error:
                problems.append(Problem(name, f"{name}: {error}"))
    return problems


@dataclass(frozen=True)
class Published:
    """One published result: the figures as published (text) and what the test needs besides.

    ``current`` and ``baseline`` are rates in per cent (``rates``, ``data-lab``: the participants' and the
    comparison group's) or reconviction events per 100 (``events``); ``baseline_size`` is the comparison group's
    effective size for ``data-lab`` (it may be fractional). Invalid values raise :class:`InvalidResult` with
    every problem (:func:`result_problems`).
    """

    kind: str
    current: str
    current_size: float
    baseline: str
    baseline_size: float
    label: str = ""
    dispersion: float | None = None
    sd_current: float | None = None
    sd_baseline: float | None = None
    target_reduction_pct: float | None = None

    def __post_init__(self) -> None:
        problems = result_problems(
            self.kind,
            self.current,
            self.current_size,
            self.baseline,
            self.baseline_size,
            self.dispersion,
            self.sd_current,
            self.sd_baseline,
            self.target_reduction_pct,
        )
        if problems:
            raise InvalidResult(problems)

    def figures(self) -> tuple[Figure, Figure]:
        percent = self.kind != "events"
        return Figure.parse(self.current, "current", percent), Figure.parse(self.baseline, "baseline", percent)

    @property
    def variance_model(self) -> str:
        if self.kind != "events":
            return "binomial"
        if self.sd_current is not None:
            return f"sd^2 (published standard deviations {self.sd_current:g} and {self.sd_baseline:g} per person)"
        dispersion = self.dispersion or 1.0
        return "D mu, Poisson (D = 1)" if dispersion == 1 else f"D mu, over-dispersed (D = {dispersion:g})"


@dataclass(frozen=True)
class Test:
    """One evaluation of a result's figures."""

    difference: float  # current - baseline, per 100
    difference_low: float | None
    difference_high: float | None
    change_pct: float | None  # 100 (current / baseline - 1)
    change_low: float | None
    change_high: float | None
    z: float | None
    p_two_sided: float | None
    p_reduction: float | None
    p_increase: float | None
    verdict: str


def _p_values(z: float) -> tuple[float, float, float]:
    return float(2 * stats.norm.sf(abs(z))), float(stats.norm.cdf(z)), float(stats.norm.sf(z))


def events_test(result: Published, current: float, baseline: float, alpha: float, sided: Sided) -> Test:
    """Events per 100 ``current`` against ``baseline`` under the stated variance model: Wald on the log ratio (the
    verdict and the change's interval), and the difference with the interval that follows from the ratio's,
    ``baseline x (ratio bounds - 1)``, so that one verdict agrees with every interval. With a mean of 0 there is
    no log ratio: :func:`events_score_test`."""
    mu1, mu0 = current / 100, baseline / 100
    n1, n0 = result.current_size, result.baseline_size
    if mu1 <= 0 or mu0 <= 0:
        return events_score_test(result, current, baseline, alpha, sided)
    if result.sd_current is not None and result.sd_baseline is not None:
        var1, var0 = result.sd_current**2 / n1, result.sd_baseline**2 / n0
    else:
        dispersion = result.dispersion or 1.0
        var1, var0 = dispersion * mu1 / n1, dispersion * mu0 / n0
    z_crit = normal_quantile(interval_confidence(alpha, sided))
    log_ratio = math.log(mu1 / mu0)
    se_log = math.sqrt(var1 / mu1**2 + var0 / mu0**2)
    z = log_ratio / se_log
    p_two, p_reduction, p_increase = _p_values(z)
    p = min(p_reduction, p_increase) if sided == "one" else p_two
    change_low, change_high = _change_pct(log_ratio - z_crit * se_log), _change_pct(log_ratio + z_crit * se_log)
    return Test(
        current - baseline,
        baseline * change_low / 100,
        baseline * change_high / 100,
        100 * (mu1 / mu0 - 1),
        change_low,
        change_high,
        z,
        p_two,
        p_reduction,
        p_increase,
        verdict_of(p, log_ratio, alpha).value,
    )


def score_ratio_bounds(y1: float, y0: float, d: float, z_crit: float) -> tuple[float, float]:
    """The ratio ``R`` of two Poisson rates (counts ``y1``, ``y0``; exposures in the ratio ``d = e1 / e0``) for
    which the score statistic ``(y1 - y0 R d) / sqrt((y1 + y0) R d)`` (statsmodels' ``test_poisson_2indep(method=
    "score")``) is within ``z_crit``: the roots of ``y0**2 x**2 - (2 y1 y0 + z**2 (y1 + y0)) x + y1**2 = 0`` in
    ``x = R d``. At ``y1 = 0`` that is ``[0, z**2 / (y0 d)]``; at ``y0 = 0``, ``[y1 / (z**2 d), inf)``."""
    z2 = z_crit**2
    if y0 == 0:
        return y1 / (z2 * d), math.inf
    b = 2 * y1 * y0 + z2 * (y1 + y0)
    root = math.sqrt(max(b * b - 4 * (y0 * y1) ** 2, 0.0))
    high = (b + root) / (2 * y0 * y0)
    low = y1 * y1 / (y0 * y0 * high)  # the product of the roots is y1**2 / y0**2: no cancellation
    return low / d, high / d


def events_score_test(result: Published, current: float, baseline: float, alpha: float, sided: Sided) -> Test:
    """A mean of 0 (no log ratio): the score test of two Poisson rates on the counts and exposures divided by the
    dispersion (quasi-Poisson, as the Wald test's), with the interval of the ratio that inverts it
    (:func:`score_ratio_bounds`), so the verdict and the interval agree. Both means 0, or published standard
    deviations (a mean of 0 has none to speak of): no test."""
    difference = current - baseline
    if result.sd_current is not None or (current <= 0 and baseline <= 0):
        return Test(difference, None, None, None, None, None, None, None, None, None, Verdict.TOO_FEW.value)
    dispersion = result.dispersion or 1.0
    n1, n0 = result.current_size, result.baseline_size
    y1, y0 = current / 100 * n1 / dispersion, baseline / 100 * n0 / dispersion
    d = n1 / n0
    z = (y1 - y0 * d) / math.sqrt((y1 + y0) * d)
    p_two, p_reduction, p_increase = _p_values(z)
    p = min(p_reduction, p_increase) if sided == "one" else p_two
    low, high = score_ratio_bounds(y1, y0, d, normal_quantile(interval_confidence(alpha, sided)))
    change_low, change_high = 100 * (low - 1), (100 * (high - 1) if math.isfinite(high) else math.inf)
    if baseline > 0:  # the current mean is 0: a change of -100%
        change, difference_low, difference_high = -100.0, baseline * change_low / 100, baseline * change_high / 100
    else:  # from 0: no relative change, and no difference's interval follows from the ratio's
        change, difference_low, difference_high = None, None, None
    return Test(
        difference,
        difference_low,
        difference_high,
        change,
        change_low,
        change_high,
        z,
        p_two,
        p_reduction,
        p_increase,
        verdict_of(p, difference, alpha).value,
    )


def _change_pct(log_ratio: float) -> float:
    """``100 (exp(log_ratio) - 1)``; a bound beyond what a float holds (a handful of people, events near 0) is
    infinite, as the interval then is."""
    return 100 * (math.exp(log_ratio) - 1) if log_ratio < 700 else math.inf


def data_lab_test(result: Published, current: float, baseline: float, alpha: float) -> Test:
    """The Justice Data Lab's Wald interval and two-sided test (:func:`reoffend.compare.datalab.wald_difference`)."""
    p1, p2 = current / 100, baseline / 100
    found = wald_difference(int(result.current_size), p1, p2, result.baseline_size, 1 - alpha)
    difference, low, high, p_two = (float(v) for v in found)
    se = math.sqrt(p1 * (1 - p1) / result.current_size + p2 * (1 - p2) / result.baseline_size)
    z = difference / se if se > 0 else None
    p_reduction, p_increase = (None, None) if z is None else _p_values(z)[1:]
    return Test(
        100 * difference,
        100 * low,
        100 * high,
        100 * (p1 / p2 - 1) if p2 > 0 else None,
        None,
        None,
        z,
        p_two,
        p_reduction,
        p_increase,
        verdict_of(p_two, difference, alpha).value,
    )


def check(result: Published, alpha: float = 0.05, sided: Sided = "one", row: int = 1) -> dict[str, Any]:
    """One row of checks (the columns of :class:`~reoffend.compare.rows.PublishedRow`)."""
    current, baseline = result.figures()
    if result.kind == "data-lab":
        sided = "two"  # the Justice Data Lab's convention
    confidence = interval_confidence(alpha, sided)
    if result.kind == "rates":
        test, extremes, values = _rates(result, current, baseline, alpha, sided)
    else:
        run = (
            (lambda c, b: events_test(result, c, b, alpha, sided))
            if result.kind == "events"
            else (lambda c, b: data_lab_test(result, c, b, alpha))
        )
        test = run(current.value, baseline.value)
        # what rounds to the figures, within what they can be: at least 0, and a rate at most 100%
        top = 100.0 if result.kind == "data-lab" else math.inf
        largest = run(max(current.value - current.half, 0.0), min(baseline.value + baseline.half, top))
        smallest = run(min(current.value + current.half, top), max(baseline.value - baseline.half, 0.0))
        extremes = (largest.verdict, smallest.verdict)
        values = (current.value, baseline.value)
    reduction = None if test.change_pct is None else 0.0 - test.change_pct  # no -0.0 for no change
    target = result.target_reduction_pct
    method = METHODS[result.kind].format(model=result.variance_model)
    return {
        "row": row,
        "label": result.label,
        "kind": result.kind,
        "current_published": current.text,
        "baseline_published": baseline.text,
        "current_size": int(result.current_size),
        "baseline_size": float(result.baseline_size),
        "current_per_100": values[0],
        "baseline_per_100": values[1],
        "dispersion": (result.dispersion or 1.0) if result.kind == "events" and result.sd_current is None else None,
        "difference_per_100": test.difference,
        "difference_low": test.difference_low,
        "difference_high": test.difference_high,
        "change_pct": test.change_pct,
        "change_low_pct": test.change_low,
        "change_high_pct": test.change_high,
        "reduction_pct": reduction,
        "interval_confidence": confidence,
        "sided": sided,
        "z": test.z,
        "p_two_sided": test.p_two_sided,
        "p_reduction": test.p_reduction,
        "p_increase": test.p_increase,
        "verdict": test.verdict,
        "significant": None if test.verdict == Verdict.TOO_FEW.value else test.verdict == Verdict.REDUCTION.value,
        "target_reduction_pct": target,
        "target_met": None if target is None or reduction is None else _target_met(result, values, target),
        "verdict_at_largest_fall": extremes[0],
        "verdict_at_smallest_fall": extremes[1],
        "rounding_could_change": len({test.verdict, *extremes}) > 1,
        "method": method,
    }


def _target_met(result: Published, values: tuple[float, float], target: float) -> bool:
    """Whether the relative fall ``100 (1 - current / baseline)`` reaches the threshold, compared exactly: in
    rational arithmetic on the figures compared (the published decimals, or the rates' whole counts) and the
    threshold as written (its shortest decimal), so equality is met and no rounding tips either side."""
    if result.kind == "rates":
        current, baseline = (
            _nearest_count(f, s)
            for f, s in ((result.current, result.current_size), (result.baseline, result.baseline_size))
        )
    else:
        current, baseline = (Fraction(repr(v)) for v in values)
    return 100 * (1 - current / baseline) >= Fraction(repr(float(target)))


def _nearest_count(figure: str, size: float) -> Fraction:
    """The nearest whole count's rate (``compare baseline``'s, :func:`parse_rate`) as an exact fraction, in %."""
    counts = parse_rate(f"{figure.rstrip('%').strip()}%/{int(size)}", "rate")
    assert counts is not None
    return Fraction(100 * counts.reoffenders, counts.cohort_size)


def _rates(
    result: Published, current: Figure, baseline: Figure, alpha: float, sided: Sided
) -> tuple[Test, tuple[str, str], tuple[float, float]]:
    """Rates through ``compare baseline`` at the nearest counts; the rounding by every count that rounds."""
    try:
        counts = [
            parse_rate(f"{figure.text.rstrip('%').strip()}%/{int(size)}", name)
            for figure, size, name in (
                (current, result.current_size, "current"),
                (baseline, result.baseline_size, "baseline"),
            )
        ]
    except UsageError as error:
        raise ValueError(str(error)) from None
    now, then = counts[0], counts[1]
    assert now is not None and then is not None
    params = BaselineParams(alpha=alpha, sided=sided, multiple_testing="none")
    row = compare_counts([now], then, params).typed_rows()[0]
    (rounding,) = rounding_check([now], then, params)
    rate_change = None
    if row.current_rate is not None and row.baseline_rate:
        rate_change = 100 * (row.current_rate / row.baseline_rate - 1)
    test = Test(
        row.difference_pp or 0.0,
        row.difference_pp_low,
        row.difference_pp_high,
        rate_change,
        None,
        None,
        row.z,
        row.p_two_sided,
        row.p_reduction,
        row.p_increase,
        row.verdict,
    )
    values = (100 * now.reoffenders / now.cohort_size, 100 * then.reoffenders / then.cohort_size)
    return test, (rounding["verdict_at_largest_fall"], rounding["verdict_at_smallest_fall"]), values


def check_all(results: Sequence[Published], alpha: float = 0.05, sided: Sided = "one") -> pl.DataFrame:
    """One row of checks per result, in the order given."""
    rows = [check(result, alpha, sided, row=i) for i, result in enumerate(results, start=1)]
    return (
        pl.DataFrame(rows, schema=PublishedRow.schema(), orient="row")
        if rows
        else pl.DataFrame(schema=PublishedRow.schema())
    )


# ------------------------------------------------------------------------------------------------ the batch
def _number(text: str | None) -> float | None:
    if text is None or not text.strip():
        return None
    value = float(text.replace(",", "").strip())  # ValueError for what is not a number
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


_NUMBERS = ("current_size", "baseline_size", "dispersion", "sd_current", "sd_baseline", "target_reduction_pct")
_DUPLICATED = re.compile(r"^(?P<name>.*)_duplicated_\d+$")  # polars' name for a header's second copy


def _duplicate_columns(columns: Sequence[str], source: str) -> list[dict]:
    """A column named twice, after stripping whitespace (``kind`` and `` kind``) or exactly (polars reads the
    second copy as ``kind_duplicated_0``): one problem per name (exit 65, not polars' DuplicateError)."""
    stripped = [c.strip() for c in columns]
    named: dict[str, int] = {}
    for column in stripped:
        match = _DUPLICATED.match(column)
        base = match["name"].strip() if match and match["name"].strip() in stripped else column
        named[base] = named.get(base, 0) + 1
    return [
        problem_row(source, c, "duplicate-column", f"the batch names column {c!r} {k} times: keep one")
        for c, k in named.items()
        if k > 1
    ]


def read_batch(frame: pl.DataFrame, source: str) -> list[Published]:
    """The rows of a batch file (every column read as text) as results; every problem named by its row (1-based,
    the header excluded) and column, every bad cell of every row at once (exit 65)."""
    duplicates = _duplicate_columns(frame.columns, source)
    if duplicates:
        raise DataError(pl.DataFrame(duplicates, schema=PROBLEM_SCHEMA))
    columns = [c.strip() for c in frame.columns]
    frame = frame.rename(dict(zip(frame.columns, columns, strict=True)))
    missing = [c for c in REQUIRED if c not in columns]
    unknown = [c for c in columns if c not in REQUIRED + OPTIONAL]
    problems = [
        problem_row(source, c, "missing-column", f"the batch needs a column {c!r} (columns: {', '.join(REQUIRED)})")
        for c in missing
    ] + [
        problem_row(
            source, c, "unknown-column", f"unknown column {c!r}: the columns are {', '.join(REQUIRED + OPTIONAL)}"
        )
        for c in unknown
    ]
    if problems:
        raise DataError(pl.DataFrame(problems, schema=PROBLEM_SCHEMA))
    if frame.height == 0:
        raise DataError(
            pl.DataFrame(
                [problem_row(source, None, "empty", "the batch has a header and no result")], schema=PROBLEM_SCHEMA
            )
        )
    results = []
    for number, record in enumerate(frame.iter_rows(named=True), start=1):
        values: dict[str, Any] = {}
        row_problems: list[dict] = []
        for column in _NUMBERS:
            text = record.get(column)
            try:
                values[column] = _number(text)
            except ValueError:
                values[column] = None
                row_problems.append(
                    problem_row(source, column, "not-a-number", f"{column} must be a number", row=number, value=text)
                )
            else:
                if values[column] is None and column in REQUIRED:
                    row_problems.append(problem_row(source, column, "missing-value", f"{column} is empty", row=number))
        found = result_problems(
            (record["kind"] or "").strip(),
            record["current"] or "",
            values["current_size"],
            record["baseline"] or "",
            values["baseline_size"],
            values["dispersion"],
            values["sd_current"],
            values["sd_baseline"],
            values["target_reduction_pct"],
        )
        row_problems += [
            problem_row(
                source,
                problem.column,
                problem.rule,
                problem.message,
                row=number,
                value=None if problem.column is None else record.get(problem.column),
            )
            for problem in found
        ]
        if row_problems:
            problems += row_problems
            continue
        results.append(
            Published(
                kind=(record["kind"] or "").strip(),
                current=record["current"] or "",
                current_size=values["current_size"],
                baseline=record["baseline"] or "",
                baseline_size=values["baseline_size"],
                label=(record.get("label") or "").strip(),
                dispersion=values["dispersion"],
                sd_current=values["sd_current"],
                sd_baseline=values["sd_baseline"],
                target_reduction_pct=values["target_reduction_pct"],
            )
        )
    if problems:
        raise DataError(pl.DataFrame(problems, schema=PROBLEM_SCHEMA))
    return results
