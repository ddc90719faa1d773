"""One table spec per comparison: the header words and the number formats of every table, in one place.

A :class:`TableSpec` is a list of :class:`Column` (a key, the header text, the formatter from
:mod:`reoffend.report.format` that turns a typed row into the cell, the alignment and the unit). The terminal
tables (``reoffend compare ...``) and the bulletin's HTML and Markdown tables are both rendered from the same
spec, each choosing the columns it shows by key (:meth:`TableSpec.pick`), so the same comparison reads with
the same headers and the same cells in both (design: comparisons.md, "one verdict"; tests/test_report_tables.py).
A verdict in a table is its short word under a "significant" header (``reduction``, ``increase``,
``no significant change``, ``too few``: :func:`reoffend.report.verdict.short`), after the multiple-testing
adjustment where several units are tested; the sentences (:mod:`reoffend.report.views`) give it in full.
The CSV, JSON and spreadsheet outputs keep the result's own column names (docs/output-dictionary.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import polars as pl

from ..disclosure import SHORTHAND
from .format import DASH, count, interval, level, number, p_value, pct, per_cent, text, yes_no
from .verdict import interval_label, short, side_p

if TYPE_CHECKING:
    from ..compare.adjusted import AdjustedParams
    from ..compare.baseline import BaselineParams
    from ..compare.matched import MatchedParams
    from ..compare.rows import AdjustedRow, BaselineRow, MatchedRow

R = TypeVar("R")


@dataclass(frozen=True)
class Column(Generic[R]):
    """One column: ``key`` (how a front end asks for it), ``header`` (its words everywhere), ``cell`` (the
    formatted value of a row), ``numeric`` (right-aligned) and ``unit`` (what the number counts)."""

    key: str
    header: str
    cell: Callable[[R], str]
    numeric: bool = True
    unit: str = ""


GROUP_SUFFIX = " (group)"


def with_groups(groups: Sequence[Column[R]], columns: Sequence[Column[R]]) -> tuple[Column[R], ...]:
    """Group columns (named after release columns, from the data) before the program's own ``columns``. A group
    whose key or header is already taken (a release column ``expected`` or ``Rate``; ``unit_a`` beside
    ``Unit a``) is told apart by ``" (group)"`` rather than clashing (issue 24: exit 70 for ``--by Rate``)."""
    keys, headers = {c.key for c in columns}, {c.header for c in columns}
    distinct = []
    for column in groups:
        while column.key in keys:
            column = replace(column, key=column.key + GROUP_SUFFIX)
        while column.header in headers:
            column = replace(column, header=column.header + GROUP_SUFFIX)
        keys.add(column.key)
        headers.add(column.header)
        distinct.append(column)
    return (*distinct, *columns)


@dataclass(frozen=True)
class TableSpec(Generic[R]):
    columns: tuple[Column[R], ...]

    def __post_init__(self) -> None:
        keys = [c.key for c in self.columns]
        headers = [c.header for c in self.columns]
        if len(set(keys)) != len(keys) or len(set(headers)) != len(headers):
            raise ValueError(f"a table spec names a key or a header twice: {keys} {headers}")

    def keys(self) -> list[str]:
        return [c.key for c in self.columns]

    def pick(self, keys: Sequence[str]) -> TableSpec[R]:
        """The columns with these keys, in this order (a key the spec does not have is a bug)."""
        by_key = {c.key: c for c in self.columns}
        missing = [k for k in keys if k not in by_key]
        if missing:
            raise KeyError(f"no column {missing} in the table spec (keys: {', '.join(by_key)})")
        return TableSpec(tuple(by_key[k] for k in keys))

    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def numeric(self) -> list[bool]:
        return [c.numeric for c in self.columns]

    def cells(self, rows: Sequence[R]) -> list[list[str]]:
        return [[c.cell(row) for c in self.columns] for row in rows]

    def frame(self, rows: Sequence[R]) -> pl.DataFrame:
        """One line per row, one column per spec column (headed by its header): a terminal view."""
        cells = self.cells(rows)
        return pl.DataFrame(
            {c.header: [line[i] for line in cells] for i, c in enumerate(self.columns)},
            schema=dict.fromkeys(self.headers(), pl.String),
        )

    def transposed(self, rows: Sequence[R], names: Sequence[str]) -> pl.DataFrame:
        """One line per spec column (its header first), one column per row (headed by ``names``): the view
        of a few rows with many quantities."""
        names = [n if names.count(n) == 1 else f"{n} ({i + 1})" for i, n in enumerate(names)]
        data = {"": self.headers()}
        for name, row in zip(names, rows, strict=True):
            data[name or " "] = [c.cell(row) for c in self.columns]
        return pl.DataFrame(data, schema=dict.fromkeys(data, pl.String))


def _signed(value: float | None) -> str:
    return number(value, signed=True)


def _rate_of(rate: float | None, reoffenders: int, size: int) -> str:
    """``45.0% (45 of 100)``: a rate beside the counts it comes from."""
    return f"{pct(rate)} ({count(reoffenders)} of {count(size)})"


# ------------------------------------------------------------------------------------------- baseline
# the bulletin shows the change in one sign convention (current minus baseline, as its sentence does): a fall is
# negative, and the interval is the same change's, so sentence and table never read as opposite signs
BASELINE_BULLETIN = ("current", "current_rate", "baseline", "baseline_rate", "difference_pp", "difference_interval")


def baseline_table(params: BaselineParams) -> TableSpec[BaselineRow]:
    """Every quantity of a baseline comparison that a table shows, in reading order."""
    conf = level(params.confidence)
    method = params.multiple_testing
    columns: list[Column[BaselineRow]] = [
        Column("current", "Cohort", lambda r: text(r.current), numeric=False, unit="label"),
        Column("current_rate", "Rate", lambda r: _rate_of(r.current_rate, r.current_reoffenders, r.current_size)),
        Column(
            "current_rate_interval",
            f"Rate, {conf} confidence interval",
            lambda r: interval(r.current_rate_low, r.current_rate_high, pct),
            unit="per cent",
        ),
        Column("baseline", "Baseline", lambda r: text(r.baseline), numeric=False, unit="label"),
        Column(
            "baseline_rate",
            "Baseline rate",
            lambda r: _rate_of(r.baseline_rate, r.baseline_reoffenders, r.baseline_size),
            unit="per cent",
        ),
        Column(
            "baseline_rate_interval",
            f"Baseline rate, {conf} confidence interval",
            lambda r: interval(r.baseline_rate_low, r.baseline_rate_high, pct),
            unit="per cent",
        ),
        Column("difference_pp", "Change (points)", lambda r: _signed(r.difference_pp), unit="percentage points"),
        Column(
            "difference_interval",
            f"Change, {interval_label(params.alpha, params.sided)}",
            lambda r: interval(r.difference_pp_low, r.difference_pp_high, _signed),
            unit="percentage points",
        ),
        Column("reduction_pp", "Reduction (points)", lambda r: number(r.reduction_pp), unit="percentage points"),
        Column(
            "reduction_interval",
            interval_label(params.alpha, params.sided).capitalize(),
            lambda r: interval(r.reduction_pp_low, r.reduction_pp_high),
            unit="percentage points",
        ),
        Column(
            "reduction_newcombe",
            f"{conf} interval (Newcombe)",
            lambda r: interval(r.reduction_pp_newcombe_low, r.reduction_pp_newcombe_high),
            unit="percentage points",
        ),
        Column("z", "z (pooled)", lambda r: number(r.z, 3), unit="standard errors"),
        Column("p_two_sided", "p (two-sided)", lambda r: p_value(r.p_two_sided), unit="probability"),
        Column("p_reduction", "p (reduction)", lambda r: p_value(r.p_reduction), unit="probability"),
        Column("p_increase", "p (increase)", lambda r: p_value(r.p_increase), unit="probability"),
        Column(
            "p_side",
            "p (one-sided, in the direction of the change)",
            lambda r: p_value(side_p(r.p_reduction, r.p_increase)),
            unit="probability",
        ),
        Column(
            "verdict",
            f"Significant ({params.sided}-sided test at {level(params.alpha)})",
            lambda r: short(r.verdict),
            numeric=False,
        ),
        Column("p_adjusted", f"p adjusted ({method})", lambda r: p_value(r.p_adjusted), unit="probability"),
        Column(
            "verdict_adjusted",
            f"Significant after the {method} adjustment",
            lambda r: short(r.verdict_adjusted),
            numeric=False,
        ),
    ]
    if params.target_pp is not None:
        columns.append(
            Column("target_met", f"Target ({params.target_pp:g} points) met", lambda r: yes_no(r.target_met), False)
        )
    if params.schedule:
        columns.append(
            Column(
                "schedule_step",
                "Payment step reached (points)",
                lambda r: (
                    "none"
                    if r.schedule_step_pp is None or r.schedule_payment is None
                    else f"{r.schedule_step_pp:g} (payment {r.schedule_payment:,.0f})"
                ),
                unit="percentage points",
            )
        )
    return TableSpec(tuple(columns))


def baseline_keys(params: BaselineParams, rows: int, *, bulletin: bool) -> list[str]:
    """The columns the terminal (every quantity) or the bulletin (the published few) shows; the verdict after
    the multiple-testing adjustment when several cohorts are tested, the p-value the sided test uses."""
    extra = (["target_met"] if params.target_pp is not None else []) + (["schedule_step"] if params.schedule else [])
    verdict = ["verdict", "p_adjusted", "verdict_adjusted"] if rows > 1 else ["verdict"]
    if bulletin:
        # the p-value the sentence quotes: one-sided on the side of the change, or two-sided
        p = "p_side" if params.sided == "one" else "p_two_sided"
        return [*BASELINE_BULLETIN, p, "verdict_adjusted" if rows > 1 else "verdict", *extra]
    every = baseline_table(params).keys()
    hidden = ("verdict", "p_adjusted", "verdict_adjusted", *extra)
    return [k for k in every if k not in hidden] + verdict + extra


# -------------------------------------------------------------------------------------------- matched
MATCHED_TERMINAL = (
    "cohort",
    "events_per_100_treated",
    "events_per_100_comparison",
    "events_change",
    "events_interval",
    "events_verdict",
    "events_p_side",
    "events_p_adjusted",
    "target",
)
MATCHED_BINARY = (
    "cohort",
    "binary_rate_treated",
    "binary_rate_comparison",
    "binary_difference",
    "binary_interval",
    "binary_verdict",
    "binary_p_side",
)
MATCHED_BULLETIN = (  # twelve columns do not fit a printed A4 page: the matched counts are in the sentences
    "cohort",
    "events_per_100_treated",
    "events_per_100_comparison",
    "events_change",
    "events_interval",
    "events_p_side",
    "events_p_adjusted",
    "events_verdict",
    "target",
    "binary_rate_treated",
    "binary_rate_comparison",
)


def matched_table(params: MatchedParams) -> TableSpec[MatchedRow]:
    """The primary measure (reconviction events per 100) of each cohort and of all cohorts together."""
    label = interval_label(params.alpha, "one").capitalize()
    # the verdict of each cohort is adjusted for testing several cohorts at once; its p-value beside it is too,
    # while the interval and the first p-value are each cohort's own: the headers say which is which
    several = "adjusted" if params.multiple_testing != "none" else "not adjusted"

    def target(r: MatchedRow) -> str:
        if r.target_pct is None or r.target_met is None:
            return DASH
        return f"{r.target_pct:g}% {'met' if r.target_met else 'not met'}"

    return TableSpec(
        (
            Column(
                "cohort",
                "Cohort",
                lambda r: "all" if r.scope == "pooled" else text(r.cohort),
                numeric=False,
                unit="label",
            ),
            Column("matched", "Treated matched", lambda r: f"{count(r.matched)} of {count(r.treated)}", unit="count"),
            Column(
                "events_per_100_treated",
                "Treated per 100",
                lambda r: number(r.events_per_100_treated),
                unit="events per 100 offenders",
            ),
            Column(
                "events_per_100_comparison",
                "Comparison per 100",
                lambda r: number(r.events_per_100_comparison),
                unit="events per 100 offenders",
            ),
            Column("events_change", "Change", lambda r: per_cent(r.events_change_pct, signed=True), unit="per cent"),
            Column(
                "events_interval",
                label,
                lambda r: interval(r.events_change_low, r.events_change_high, lambda v: per_cent(v, signed=True)),
                unit="per cent",
            ),
            # the p the verdict rests on: one-sided, on the side of the change (a rise's p is not 1 - its p of a
            # fall shown as "p (reduction)" beside an adjusted p below it); the adjusted one beside it is its Holm
            Column(
                "events_p_side",
                "p (one-sided, side of the change)",
                lambda r: p_value(side_p(r.events_p_reduction, r.events_p_increase)),
                unit="probability",
            ),
            Column(
                "events_p_adjusted",
                f"p ({several})",
                lambda r: p_value(r.events_p_adjusted),
                unit="probability",
            ),
            Column(
                "events_verdict", f"Significant ({several})", lambda r: short(r.events_verdict_adjusted), numeric=False
            ),
            Column("target", "Target", target, numeric=False, unit="per cent"),
            Column("binary_rate_treated", "Rate, treated", lambda r: pct(r.binary_rate_treated), unit="per cent"),
            Column(
                "binary_rate_comparison", "Rate, comparison", lambda r: pct(r.binary_rate_comparison), unit="per cent"
            ),
            Column(
                "binary_difference",
                "Rate difference (points)",
                lambda r: _signed(r.binary_difference_pp),
                unit="percentage points",
            ),
            Column(
                "binary_interval",
                f"{label} (points)",
                lambda r: interval(r.binary_difference_pp_low, r.binary_difference_pp_high, _signed),
                unit="percentage points",
            ),
            Column(
                "binary_p_side",
                "Rate: p (one-sided, side of the change)",
                lambda r: p_value(side_p(r.binary_p_reduction, r.binary_p_increase)),
                unit="probability",
            ),
            Column(
                "binary_verdict",
                f"Rate: significant ({several})",
                lambda r: short(r.binary_verdict_adjusted),
                numeric=False,
            ),
        )
    )


# ------------------------------------------------------------------------------------------- adjusted
@dataclass(frozen=True)
class AdjustedLine:
    """One measure of one unit: a line of the adjusted table, two lines per unit (the measures never merged)."""

    row: AdjustedRow
    binary: bool

    @staticmethod
    def of(rows: Sequence[AdjustedRow]) -> list[AdjustedLine]:
        return [AdjustedLine(row, binary) for row in rows for binary in (True, False)]

    def first(self, value: str) -> str:
        """``value`` on a unit's first line, blank on its second (the unit's name and size are said once)."""
        return value if self.binary else ""


def adjusted_table(params: AdjustedParams) -> TableSpec[AdjustedLine]:
    """Each unit's two measures on two lines: actual, expected, the adjusted verdict, then the difference with
    the interval that agrees with the verdict, the ratio and the p-value the verdict rests on (the verdict comes
    before its detail so that an 80- or 120-column terminal keeps it)."""
    one = params.sided == "one"
    conf = level(1 - 2 * params.alpha if one else 1 - params.alpha)

    def group(name: str) -> Column[AdjustedLine]:
        header = name.replace("_", " ").capitalize()
        return Column(name, header, lambda line: line.first(text(line.row.groups[name])), False, "label")

    def actual(line: AdjustedLine) -> str:
        r = line.row
        return pct(r.binary_actual) if line.binary else number(r.reoffences_per_offender_actual, 2)

    def expected(line: AdjustedLine) -> str:
        r = line.row
        return pct(r.binary_expected) if line.binary else number(r.reoffences_per_offender_expected, 2)

    def difference(line: AdjustedLine) -> str:
        r = line.row
        if line.binary:
            values = (r.binary_difference_pp, r.binary_difference_pp_low, r.binary_difference_pp_high)
            decimals = 1
        else:
            values = (
                r.reoffences_per_offender_difference,
                r.reoffences_per_offender_difference_low,
                r.reoffences_per_offender_difference_high,
            )
            decimals = 2

        def signed(value: float | None) -> str:
            return number(value, decimals, signed=True)

        return f"{signed(values[0])} ({interval(values[1], values[2], signed)})"

    def ratio(line: AdjustedLine) -> str:
        return number(line.row.binary_ratio if line.binary else line.row.reoffences_per_offender_ratio, 2)

    def p(line: AdjustedLine) -> str:
        r = line.row
        if line.binary:
            side = side_p(r.binary_p_reduction, r.binary_p_increase)
            return p_value(side if one else r.binary_p_two_sided)
        side = side_p(r.reoffences_per_offender_p_reduction, r.reoffences_per_offender_p_increase)
        return p_value(side if one else r.reoffences_per_offender_p_two_sided)

    def verdict(line: AdjustedLine) -> str:
        r = line.row
        return short(r.binary_verdict_adjusted if line.binary else r.reoffences_per_offender_verdict_adjusted)

    def p_adjusted(line: AdjustedLine) -> str:
        r = line.row
        return p_value(r.binary_p_adjusted if line.binary else r.reoffences_per_offender_p_adjusted)

    # the verdict is adjusted for testing every unit at once; its p-value at the end of the line is too, while the
    # interval and the first p-value are each unit's own: the headers say which is which
    several = "adjusted" if params.multiple_testing != "none" else "not adjusted"

    return TableSpec(
        with_groups(
            [group(c) for c in params.group_columns],
            [
                Column("cohort_size", "Released", lambda line: line.first(count(line.row.cohort_size)), unit="count"),
                Column(
                    "measure",
                    "Measure",
                    lambda line: "Rate" if line.binary else "Reoffences per offender",
                    numeric=False,
                ),
                Column("actual", "Actual", actual, unit="per cent (binary), reoffences per offender (frequency)"),
                Column(
                    "expected",
                    "Expected (given the others)" if params.relative_to == "others" else "Expected",
                    expected,
                    unit="per cent (binary), reoffences per offender (frequency)",
                ),
                Column("verdict", f"Significant ({several})", verdict, numeric=False),
                Column(
                    "difference",
                    f"Difference ({conf} interval)",
                    difference,
                    unit="percentage points (binary), reoffences per offender (frequency)",
                ),
                Column("ratio", "Ratio", ratio, unit="ratio"),
                Column("p", "p (one-sided, side of the change)" if one else "p (two-sided)", p, unit="probability"),
                Column("p_adjusted", f"p ({several})", p_adjusted, unit="probability"),
            ],
        )
    )


# ------------------------------------------------------------------------------ measures of groups
Record = Mapping[str, Any]
DAYS_KEYS = ("mean_days_to_first", "median_days_to_first")


def shown(key: str, formatter: Callable[[Any], str] = count) -> Callable[[Record], str]:
    """The cell of ``key``: ``[c]`` when disclosure control withheld the row's figures (reoffend/disclosure.py),
    else the formatted value."""

    def cell(row: Record) -> str:
        if row.get("suppressed") is not None and row.get(key) is None:
            return SHORTHAND
        if key in DAYS_KEYS and row.get(key) is None and (row.get("reoffenders") or 0) > 0:
            return SHORTHAND  # the days of too few reoffenders to publish (docs/bulletin.md)
        return formatter(row[key])

    return cell


def rate_interval(row: Record) -> str:
    """The cell of the rate's confidence interval: ``[c]`` when disclosure control withheld it (as :func:`shown`)."""
    if row.get("suppressed") is not None and row.get("binary_rate_low") is None:
        return SHORTHAND
    return interval(row["binary_rate_low"], row["binary_rate_high"], pct)


def _ratio(key: str, header: str, places: int, unit: str) -> Column[Record]:
    """A measure shown to ``places`` decimals (``[c]`` when withheld)."""
    return Column(key, header, shown(key, lambda value: number(value, places)), unit=unit)


def measure_table(confidence: float, groups: Sequence[Column[Record]] = ()) -> TableSpec[Record]:
    """The measures of groups of releases, after the group columns given: the terminal table of ``measure``
    and the bulletin's trend, breakdown and establishment tables."""
    return TableSpec(
        with_groups(
            groups,
            [
                Column("cohort_size", "Released", shown("cohort_size"), unit="count"),
                Column("reoffenders", "Reoffenders", shown("reoffenders"), unit="count"),
                Column("binary_rate", "Rate", shown("binary_rate", pct), unit="per cent"),
                Column(
                    "binary_rate_interval", f"{level(confidence)} confidence interval", rate_interval, unit="per cent"
                ),
                _ratio("events_per_100", "Events per 100", 1, "events per 100 offenders"),
                _ratio("reoffences_per_offender", "Reoffences per offender", 2, "reoffences per offender"),
                _ratio("reoffences_per_reoffender", "Reoffences per reoffender", 2, "reoffences per reoffender"),
                _ratio("median_days_to_first", "Median days to first reoffence", 0, "days"),
                Column("reoffences", "Reoffences", shown("reoffences"), unit="count"),
                Column("p_adjusted", "Adjusted p", shown("p_adjusted", p_value), unit="probability"),
                Column("compared_with_all", "Compared", lambda r: text(r["compared_with_all"]), numeric=False),
            ],
        )
    )


def group_column(key: str, header: str, label: Callable[[Any], str] = text) -> Column[Record]:
    """A group column of a measure table (its value as a label)."""
    return Column(key, header, lambda row: label(row[key]), numeric=False, unit="label")


def court_lag_table() -> TableSpec[Record]:
    """The bulletin's court-lag table: proven reoffending counted by the length of the waiting period."""
    return TableSpec(
        (
            Column(
                "waiting_period_months",
                "Waiting period (months)",
                lambda r: str(r["waiting_period_months"]),
                unit="months",
            ),
            Column("reoffences", "Reoffences", shown("reoffences"), unit="count"),
            Column("share_of_reoffences", "Share of reoffences", shown("share_of_reoffences", pct), unit="per cent"),
            Column("reoffenders", "Reoffenders", shown("reoffenders"), unit="count"),
            Column("binary_rate", "Rate", shown("binary_rate", pct), unit="per cent"),
        )
    )
