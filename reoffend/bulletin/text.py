"""The words of the bulletin, composed from the computed tables (docs/bulletin.md, "What the bulletin says").

Every number written here is formatted from a value in one of the tables written under ``tables/`` (rates as
percentages with one decimal, counts with thousands separators), so a reader can trace each one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from .. import __version__
from ..disclosure import SHORTHAND
from ..measure import MeasureParams
from ..report.format import count, level, number, pct
from ..report.tables import TableSpec, court_lag_table, group_column, measure_table, rate_interval, shown
from .comparisons import ComparisonSection
from .config import BulletinConfig
from .document import (
    Block,
    Bullets,
    Definitions,
    Document,
    Figure,
    Heading,
    KeyFigure,
    KeyFigures,
    Paragraph,
    Table,
    code,
    link,
    strong,
)


@dataclass
class Context:
    config: BulletinConfig
    params: MeasureParams
    facts: Mapping[str, Any]
    trend: pl.DataFrame
    changes: pl.DataFrame
    completeness: pl.DataFrame
    establishments: pl.DataFrame | None
    establishment_summary: pl.DataFrame | None
    lag: pl.DataFrame | None
    comparisons: Sequence[ComparisonSection]
    figures: Mapping[str, bytes]
    inputs: Mapping[str, Mapping[str, Any]]
    p_value_floor: float
    breakdowns: Sequence[Any] = ()  # build.Breakdown
    charts: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # name: (title, finding) of each chart
    provisional: Sequence[Block] = ()  # the [provisional] section (reoffend/bulletin/provisional.py), if any


# ------------------------------------------------------------------------------------------- formatting
# the one set of number formatters (reoffend/report/format.py), under the names this module's text uses
def one(value: float | None) -> str:
    return number(value, 1)


def two(value: float | None) -> str:
    return number(value, 2)


def signed(value: float | None, decimals: int = 1) -> str:
    """A change with its sign: ``+0.6``, ``-7.1`` (one minus sign, the hyphen-minus, everywhere)."""
    return number(value, decimals, signed=True)


def p_text(p_value: float | None, floor: float) -> str:
    if p_value is None:
        return "no test possible"
    return f"p < {floor:g}" if p_value < floor else f"p = {p_value:.3f}"


def cell(row: Mapping[str, Any], column: str, formatter: Callable[[Any], str] = count) -> str:
    """A figure in the text as the tables show it: ``[c]`` when withheld (reoffend.report.tables.shown)."""
    return shown(column, formatter)(row)


ci_cell = rate_interval  # the rate's interval in the text, as the tables show it


MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def long_date(value: dt.date) -> str:
    """A date as GOV.UK writes it: "30 April 2026" (no leading zero, no ordinal, no comma)."""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def cohort_words(label: str, period: str) -> str:
    """A cohort label in words for running text: 2023Q4 -> "October to December 2023", 2023-10 -> "October
    2023", financial year 2023-24 -> "April 2023 to March 2024"; the tables keep the codes."""
    label = str(label)
    if period == "quarter" and (match := re.fullmatch(r"(\d{4})Q([1-4])", label)):
        year, quarter = match.group(1), int(match.group(2))
        return f"{MONTHS[3 * quarter - 3]} to {MONTHS[3 * quarter - 1]} {year}"
    if period == "month" and (match := re.fullmatch(r"(\d{4})-(\d{2})", label)) and 1 <= int(match.group(2)) <= 12:
        return f"{MONTHS[int(match.group(2)) - 1]} {match.group(1)}"
    if period == "financial-year" and (match := re.fullmatch(r"(\d{4})-(\d{2})", label)):
        start = int(match.group(1))
        return f"April {start} to March {start + 1}"
    return label


def cohort_span(first: str, last: str, period: str) -> str:
    """The cohorts from ``first`` to ``last`` in words: "between January 2022 and March 2023"."""
    start, end = cohort_words(first, period), cohort_words(last, period)
    if period == "quarter" and " to " in start and " to " in end:
        start = start.split(" to ")[0] + " " + start.rsplit(" ", 1)[1]
        end = end.split(" to ")[1]
    elif period == "financial-year" and " to " in start and " to " in end:
        start, end = start.split(" to ")[0], end.split(" to ")[1]
    return f"between {start} and {end}"


# ---------------------------------------------------------------------------------------------- pieces
def change_sentence(row: Mapping[str, Any], context: Context) -> str:
    """The change in the binary rate since an earlier cohort, with its significance in words."""
    confidence = context.params.confidence
    difference = row["difference_pp"]
    earlier = f"{cohort_words(row['earlier_cohort'], context.params.period)} ({pct(row['earlier_binary_rate'])})"
    what = "the previous cohort" if row["comparison"] == "previous cohort" else "the same cohort a year earlier"
    if difference is None:
        return f"Compared with {what}, {earlier}, no change can be computed."
    if round(difference, 1) == 0:
        movement = f"was unchanged at one decimal place ({one(abs(difference))} percentage points)"
    else:
        movement = f"{'rose' if difference > 0 else 'fell'} by {one(abs(difference))} percentage points"
    significant = row["significant"]
    if significant is None:
        verdict = "the change cannot be tested"
    elif significant:
        verdict = (
            f"this {'rise' if difference > 0 else 'fall'} is statistically significant at the "
            f"{level(1 - confidence)} level ({p_text(row['p_value'], context.p_value_floor)})"
        )
    else:
        verdict = (
            f"this change is not statistically significant at the {level(1 - confidence)} level "
            f"({p_text(row['p_value'], context.p_value_floor)}), so it may be down to chance"
        )
    return (
        f"Compared with {what}, {earlier}, the rate {movement}; {verdict}. The {level(confidence)} confidence "
        f"interval for the change (current minus earlier) is {signed(row['difference_pp_low'])} to "
        f"{signed(row['difference_pp_high'])} percentage points."
    )


def events_sentence(latest: Mapping[str, Any], changes: pl.DataFrame, period: str = "quarter") -> str:
    text = (
        f"There were {cell(latest, 'events_per_100', one)} reconviction events (days on which a person was "
        f"convicted of one or more reoffences) per 100 people released in {cohort_words(latest['cohort'], period)}"
    )
    parts = []
    for row in changes.iter_rows(named=True):
        change = row["events_per_100_change_pct"]
        if change is None:
            continue
        direction = "higher" if change > 0 else "lower" if change < 0 else "the same"
        amount = f"{one(abs(change))}% {direction}" if change else "the same"
        parts.append(
            f"{amount} than the {one(row['earlier_events_per_100'])} of {cohort_words(row['earlier_cohort'], period)}"
        )
    if parts:
        text += ", " + " and ".join(parts)
    return text + "."


def spec_table(spec: TableSpec[Mapping[str, Any]], rows: pl.DataFrame, **block: Any) -> Table:
    """A table block rendered from a table spec (reoffend.report.tables: the headers and formats of every table)."""
    return Table(
        columns=spec.headers(), rows=spec.cells(list(rows.iter_rows(named=True))), numeric=spec.numeric(), **block
    )


TREND = ("cohort", "cohort_size", "reoffenders", "binary_rate", "binary_rate_interval", "events_per_100")


def trend_table(context: Context) -> Table:
    spec = measure_table(context.params.confidence, [group_column("cohort", "Cohort")])
    return spec_table(
        spec.pick([*TREND, "reoffences_per_offender"]),
        context.trend,
        caption="Proven reoffending by cohort",
        source="trend.csv",
        highlight_last=True,
    )


# ---------------------------------------------------------------------------------------------- compose
def compose(context: Context) -> Document:
    params, facts = context.params, context.facts
    window = params.window
    latest = context.trend.row(-1, named=True)
    conf = level(params.confidence)
    words = cohort_words(latest["cohort"], params.period)
    blocks: list[Block] = []

    # -- main points: the cards give the figures at a glance; the bullets say them in sentences
    blocks.append(Heading("Main points", anchor="main-points"))
    blocks.append(KeyFigures(key_figures(context, latest)))
    points = [
        f"{strong(cell(latest, 'binary_rate', pct))} of the {count(latest['cohort_size'])} people released from "
        f"custody in {words} committed a proven reoffence within {window.follow_up_months} months "
        f"({cell(latest, 'reoffenders')} people; {conf} confidence interval {ci_cell(latest)}).",
    ]
    published_changes = context.changes.filter(pl.col("difference_pp").is_not_null())
    # the change since the same cohort a year earlier leads (seasonal cohorts compare like with like)
    published_changes = published_changes.sort(pl.col("comparison") != "same cohort a year earlier")
    points += [change_sentence(row, context) for row in published_changes.iter_rows(named=True)]
    earlier_kinds = set(context.changes["comparison"].to_list())
    if "same cohort a year earlier" not in earlier_kinds:
        points.append(f"No cohort from a year before {words} has complete follow-up to compare with.")
    points.append(events_sentence(latest, published_changes, params.period))
    points.append(
        f"The {cell(latest, 'reoffenders')} people who reoffended committed "
        f"{cell(latest, 'reoffences_per_reoffender', two)} "
        f"proven reoffences each on average (reoffences per reoffender); over everyone released that is "
        f"{cell(latest, 'reoffences_per_offender', two)} reoffences per offender."
    )
    points.append(incomplete_sentence(context))
    blocks.append(Bullets(points))

    # -- trend
    blocks.append(Heading("Proven reoffending over time", anchor="trend"))
    first = context.trend.row(0, named=True)
    blocks.append(
        Paragraph(
            f"The proven reoffending rate was {cell(first, 'binary_rate', pct)} for people released in "
            f"{cohort_words(first['cohort'], params.period)} and {cell(latest, 'binary_rate', pct)} for those "
            f"released in {words}. The shaded band, between dashed lines, is the {conf} confidence interval: the "
            "range of rates consistent with the cohort's size."
        )
    )
    blocks.append(
        Figure(
            "trend",
            f"Proven reoffending rate by cohort, with {conf} confidence intervals (Wilson score).",
            alt_text(context, "trend"),
            context.figures["trend"],
        )
    )
    blocks.append(trend_table(context))

    blocks.append(Heading("How often people reoffend", anchor="frequency"))
    blocks.append(
        Paragraph(
            "The frequency measure counts reconviction events: each day on which a person was convicted of one or "
            "more reoffences (taken as one court appearance). Per 100 people released it was "
            f"{cell(latest, 'events_per_100', one)} in {words}, and {cell(first, 'events_per_100', one)} in "
            f"{cohort_words(first['cohort'], params.period)}."
        )
    )
    blocks.append(
        Figure(
            "events_per_100",
            "Reconviction events per 100 people released, by cohort (latest cohort highlighted).",
            alt_text(context, "events_per_100"),
            context.figures["events_per_100"],
        )
    )

    # -- establishments
    if context.establishments is not None and context.establishment_summary is not None:
        blocks += establishment_blocks(context, latest)

    # -- breakdowns
    for breakdown in context.breakdowns:
        blocks += breakdown_blocks(context, breakdown, latest)

    # -- comparisons
    for section in context.comparisons:
        blocks += comparison_blocks(section)

    # -- court lag
    if context.lag is not None:
        blocks += court_lag_blocks(context)

    # -- incomplete cohorts
    blocks.append(Heading("Cohorts not yet included", anchor="incomplete"))
    blocks.append(Paragraph(incomplete_sentence(context)))
    incomplete = context.completeness.filter(~pl.col("complete"))
    if incomplete.height:
        blocks.append(
            Table(
                caption="Cohorts with incomplete follow-up at the extract date",
                # all releases, not only index releases (the people counted in the other tables): named apart
                columns=["Cohort", "All releases", "All releases with incomplete follow-up"],
                rows=[
                    [r["cohort"], count(r["releases"]), count(r["incomplete_releases"])]
                    for r in incomplete.iter_rows(named=True)
                ],
                source="cohorts.csv",
                numeric=[False, True, True],
            )
        )
    blocks += list(context.provisional)

    # -- about
    blocks += about_blocks(context)

    publisher = f"{context.config.publisher}. " if context.config.publisher else ""
    extracted = dt.date.fromisoformat(facts["extract_date"]) if facts["extract_date"] else None
    subtitle = (
        f"People released from custody in {words} ({latest['cohort']}), followed up for "
        f"{window.follow_up_months} months." + (f" Data extracted {long_date(extracted)}." if extracted else "")
    )
    footer = (
        f"{publisher}Produced with reoffend {__version__}. Every number in this bulletin is in the CSV files under "
        f"{code('tables/')}; {code('manifest.json')} records the inputs (with SHA-256 checksums) and every parameter."
    )
    return Document(
        title=context.config.title, subtitle=subtitle, blocks=blocks, footer=footer, meta=publication_meta(context)
    )


def incomplete_sentence(context: Context) -> str:
    extract = context.facts["extract_date"]
    extract_words = long_date(dt.date.fromisoformat(extract)) if extract else "unknown"
    incomplete = context.completeness.filter(~pl.col("complete"))
    window = context.params.window
    if not incomplete.height:
        return f"Every cohort in the data had complete follow-up at the extract date, {extract_words}, and is included."
    parts = [
        f"{cohort_words(r['cohort'], context.params.period)} ({count(r['incomplete_releases'])} of "
        f"{count(r['releases'])} {plural(r['releases'], 'release')})"
        for r in incomplete.iter_rows(named=True)
    ]
    return (
        f"Not yet included: {'; '.join(parts)}. Their follow-up was not complete at the extract date, {extract_words}: "
        f"an offence committed within {window.follow_up_months} months of release can still be proven by a "
        f"conviction up to {window.waiting_period_months} months later. These cohorts will be published as "
        "final figures when their follow-up is complete"
        + (
            "; the latest of them are given below as provisional estimates, marked as such."
            if context.provisional
            else "."
        )
    )


def plural(number_of: int | None, noun: str, many: str = "") -> str:
    """``release`` for 1, ``releases`` otherwise (``many`` when the plural is not noun + s)."""
    return noun if number_of == 1 else (many or noun + "s")


def establishment_blocks(context: Context, latest: Mapping[str, Any]) -> list[Block]:
    assert context.establishments is not None and context.establishment_summary is not None, "no establishments"
    summary = context.establishment_summary.row(0, named=True)
    conf = level(context.params.confidence)
    column = context.facts["establishment_column"]
    outliers = context.establishments.filter(pl.col("compared_with_all") != "similar")
    words = cohort_words(latest["cohort"], context.params.period)
    hidden = summary["suppressed_establishments"]
    withheld = (
        f" The figures of {count(hidden)} establishments are suppressed ({SHORTHAND}) to protect the people in "
        "small groups (see About these statistics) and are not shown."
        if hidden
        else ""
    )
    blocks: list[Block] = [
        Heading(f"Latest cohort by {column.replace('_', ' ')}", anchor="establishments"),
        Paragraph(
            f"In {words}, {count(summary['higher_unadjusted'])} of the "
            f"{count(summary['establishments'] - hidden)} {'published ' if hidden else ''}"
            f"establishments had a {conf} confidence interval wholly above the rate for all releases "
            f"({cell(summary, 'all_releases_binary_rate', pct)}) and {count(summary['lower_unadjusted'])} wholly "
            f"below. With this many establishments some would do so by chance alone, so each establishment's test "
            f"against the rate for all is adjusted for multiple testing (Holm's method): after it, "
            f"{count(summary['higher'])} are significantly higher and {count(summary['lower'])} significantly lower. "
            "Differences in the mix of people released are not taken into account here." + withheld
        ),
    ]
    if "establishments" in context.figures:
        blocks.append(
            Figure(
                "establishments",
                f"Proven reoffending rate by establishment, {latest['cohort']}, highest first, with {conf} "
                "confidence intervals; the dashed line is the rate for all releases"
                + (f"; {count(hidden)} suppressed establishments are not shown." if hidden else "."),
                alt_text(context, "establishments"),
                context.figures["establishments"],
            )
        )
    if outliers.height:
        blocks.append(
            spec_table(
                (spec := measure_table(context.params.confidence, [group_column(column, "Establishment")])).pick(
                    [spec.keys()[0], *TREND[1:5], "p_adjusted", "compared_with_all"]  # the group's key: with_groups
                ),
                outliers,
                caption=f"Establishments significantly above or below the rate for all after the adjustment for "
                f"multiple testing, {latest['cohort']}",
                source="establishments.csv",
            )
        )
    return blocks


def breakdown_blocks(context: Context, breakdown: Any, latest: Mapping[str, Any]) -> list[Block]:
    """The latest complete cohort by one ``[breakdowns]`` column (table and chart) and its trend (table)."""
    column = breakdown.column
    name = column.replace("_", " ")
    conf = level(context.params.confidence)
    words = cohort_words(latest["cohort"], context.params.period)
    rows = breakdown.latest(latest["cohort"])

    def label(value: Any) -> str:
        return "Not recorded" if value is None else str(value)

    shown = rows.filter(pl.col("binary_rate").is_not_null())
    sentence = f"By {name}, the proven reoffending rate of people released in {words} "
    if shown.height >= 2:
        high = shown.sort("binary_rate", descending=True).row(0, named=True)
        low = shown.sort("binary_rate").row(0, named=True)
        sentence += (
            f"ranged from {pct(low['binary_rate'])} ({label(low[column])}) to {pct(high['binary_rate'])} "
            f"({label(high[column])})."
        )
    else:
        sentence += "can be published for fewer than two groups."
    hidden = rows.height - shown.height
    if hidden:
        sentence += f" The figures of {count(hidden)} of the {count(rows.height)} groups are suppressed ({SHORTHAND})."
    if breakdown.bands:
        sentence += f" Bands of {name} include their lower edge."
    categories = [c for c in breakdown.categories]
    cohorts = breakdown.rows["cohort"].unique(maintain_order=True).to_list()
    by_key = {(r["cohort"], r[column]): r for r in breakdown.rows.iter_rows(named=True)}
    trend_rows = []
    for cohort in cohorts:
        row = [cohort]
        for category in categories:
            r = by_key.get((cohort, category))
            row.append("[z]" if r is None else cell(r, "binary_rate", pct))
        trend_rows.append(row)
    return [
        Heading(f"By {name}", anchor="breakdown-" + breakdown.name.removeprefix("breakdown_")),
        Paragraph(sentence),
        Figure(
            breakdown.name,
            f"Proven reoffending rate by {name}, {latest['cohort']}, with {conf} confidence intervals; the dashed "
            "line is the rate for all releases.",
            alt_text(context, breakdown.name),
            context.figures[breakdown.name],
        ),
        spec_table(
            (spec := measure_table(context.params.confidence, [group_column(column, name.capitalize(), label)])).pick(
                [spec.keys()[0], *TREND[1:]]  # the group's key, told apart from the measures' by with_groups
            ),
            rows,
            caption=f"Proven reoffending by {name}, {latest['cohort']}",
            source=f"{breakdown.name}.csv",
        ),
        Table(
            caption=f"Proven reoffending rate by {name} and cohort",
            columns=["Cohort", *[label(c) for c in categories]],
            rows=trend_rows,
            source=f"{breakdown.name}.csv",
            numeric=[False] + [True] * len(categories),
            highlight_last=True,
        ),
    ]


def comparison_blocks(section: ComparisonSection) -> list[Block]:
    blocks: list[Block] = [Heading(section.title, anchor=f"comparison-{section.name}"), Paragraph(section.intro)]
    blocks.append(Bullets(section.headline))
    if section.rows.height:
        blocks.append(
            Table(
                caption=section.table_caption,
                columns=section.table.headers(),
                rows=section.table.cells(section.typed_rows(section.rows)),
                source=next(iter(section.tables)),
                numeric=section.table.numeric(),
            )
        )
    for warning in section.warnings:
        blocks.append(Paragraph(f"Note: {warning}", css="note"))
    return blocks


def court_lag_blocks(context: Context) -> list[Block]:
    lag = context.lag
    assert lag is not None, "no court-lag table"
    window = context.params.window
    cohorts = context.facts["court_lag_cohorts"]
    longest = lag.row(-1, named=True)
    at_zero = lag.row(0, named=True)
    used = lag.filter(pl.col("waiting_period_months") == window.waiting_period_months).row(0, named=True)
    complete = context.facts.get("court_lag_complete_cohorts", cohorts)
    period = context.params.period
    words = [cohort_words(c, period) for c in cohorts]
    span = words[0] if len(words) == 1 else cohort_span(cohorts[0], cohorts[-1], period)
    left_out = [c for c in complete if c not in cohorts]
    if left_out:  # the court lag sums published cohorts only (docs/bulletin.md, "Disclosure control")
        span = f"the published cohorts {'; '.join(words)}"

    def share(row, key: str) -> str:
        return shown(key, pct)(row)

    return [
        Heading(f"Why we wait {window.waiting_period_months} months: the court lag", anchor="court-lag"),
        Paragraph(
            "An offence is only counted once a court has convicted for it, and courts take time. For the "
            f"{count(longest['cohort_size'])} people released in {span}, whose convictions can be followed for "
            f"{longest['waiting_period_months']} months after the end of the follow-up, "
            f"{share(at_zero, 'share_of_reoffences')} of the proven reoffences eventually counted had been convicted "
            f"by the end of the {window.follow_up_months}-month follow-up itself. The "
            f"{window.waiting_period_months}-month waiting period used here captures "
            f"{share(used, 'share_of_reoffences')} of them, and {share(used, 'share_of_reoffenders')} of the people "
            f"eventually counted as reoffenders. " + rate_without_waiting(at_zero, used, window.waiting_period_months)
        ),
        Figure(
            "court_lag",
            "Share of eventual proven reoffences (and reoffenders) counted, by the length of the "
            f"waiting period for the conviction after the {window.follow_up_months}-month follow-up.",
            alt_text(context, "court_lag"),
            context.figures["court_lag"],
        ),
        spec_table(
            court_lag_table(),
            lag,
            caption="Proven reoffending counted by the length of the waiting period",
            source="court_lag.csv",
        ),
    ]


def rate_without_waiting(at_zero: Mapping[str, Any], used: Mapping[str, Any], waiting: int) -> str:
    """The rate without a waiting period against the rate published, with the configured one (not the longest)."""
    without, published = shown("binary_rate", pct)(at_zero), shown("binary_rate", pct)(used)
    if waiting == 0:
        return ""
    if without == published:
        return (
            f"For these people the waiting period makes no difference to the proven reoffending rate at one "
            f"decimal place: {published} with it or without it."
        )
    return (
        f"Without a waiting period the proven reoffending rate of these people would be {without} rather than "
        f"the {published} counted with the {waiting}-month waiting period."
    )


def about_blocks(context: Context) -> list[Block]:
    params = context.params
    window = params.window
    conf = level(params.confidence)
    excluded = ", ".join(sorted(params.excluded_offences))
    index = (
        "Each person is counted once per cohort, at their first release in the period (the index release)."
        if params.index == "first"
        else "Every release is counted, so a person released twice in a period appears twice."
    )
    period = {"quarter": "quarter", "month": "month", "year": "calendar year", "financial-year": "financial year"}
    definitions = [
        (
            "Cohort",
            f"The people released from custody in a {period[params.period]}. {index}",
        ),
        (
            "Proven reoffence",
            f"An offence committed in the {window.follow_up_months} months after release (from the day of "
            f"release) and proven by a court conviction within those months or a further "
            f"{window.waiting_period_months} months (the waiting period, which allows for the time courts take)."
            + (f" Offences coded {excluded} are not new offences and are not counted." if excluded else "")
            + " The data hold convictions only: cautions and other out-of-court disposals are not counted, so the "
            "rates are lower than they would be under a measure that counts them.",
        ),
        (
            "Proven reoffending rate",
            "The share of the cohort with at least one proven reoffence (the binary measure).",
        ),
        (
            "Reconviction events per 100",
            "The days on which a person was convicted of at least one reoffence, per 100 people released (the "
            "frequency measure). Each such day is counted as one court appearance: the data record conviction "
            "dates, not hearings.",
        ),
        (
            "Reoffences per offender and per reoffender",
            "Proven reoffences divided by everyone released (per offender), or by the people with at least one "
            "proven reoffence (per reoffender).",
        ),
        (
            "Confidence interval",
            f"The {conf} interval around a rate is the Wilson score interval. Changes between cohorts are "
            f"tested with the two-proportion z test, and their {conf} interval is Newcombe's hybrid score "
            f"interval; a change is statistically significant when p is below {level(1 - params.confidence)}.",
        ),
        (
            "Complete follow-up",
            "A cohort is published once every release in it has had its full follow-up and waiting period by "
            "the date the data were extracted; later cohorts are held back rather than published with "
            "reoffending undercounted.",
        ),
    ]
    releases = context.inputs["releases"]
    convictions = context.inputs["convictions"]
    source = (
        f"Source: {count(releases['rows'])} release records ({Path(releases['path']).name}) and "
        f"{count(convictions['rows'])} conviction records ({Path(convictions['path']).name}), extracted "
        f"{context.facts['extract_date']}. These are administrative data; counts of offences are counts of "
        "offences proven in court, not of all offending."
    )
    return [
        Heading("About these statistics", anchor="about"),
        Definitions(definitions + publication_definitions(context)),
        Paragraph(source, css="note"),
    ]


def publication_definitions(context: Context) -> list[tuple[str, str]]:
    """Disclosure control, the symbols, what is provisional, revisions, methodology and contact."""
    rule = context.config.disclosure
    items = [
        ("Disclosure control", rule.describe()),
        (
            "Symbols",
            f"{SHORTHAND} confidential: suppressed to protect the people in small groups; [x] not available; "
            "[z] not applicable (no one in the group was released in that cohort). The CSV files leave such "
            f"cells empty and mark a withheld row {SHORTHAND} in their {code('suppressed')} column, whatever the "
            "reason.",
        ),
    ]
    incomplete = context.completeness.filter(~pl.col("complete"))["cohort"].to_list()
    period = context.params.period
    named = ", ".join(cohort_words(c, period) for c in incomplete) if incomplete else "none at this extract"
    if context.provisional:
        provisional = (
            "Cohorts whose follow-up is not yet complete are not published as final figures (see Cohorts not yet "
            f"included): {named}. The latest of them are published as provisional estimates only, in the section "
            "Provisional figures for cohorts still in follow-up, and are marked as estimates wherever they appear."
        )
    else:
        provisional = (
            f"Cohorts whose follow-up is not yet complete are not published (see Cohorts not yet included): {named}."
        )
    provisional += (
        " The final figures are final for this extract, but a conviction recorded late can still change them."
    )
    items.append(("What is provisional", provisional))
    publication = context.config.publication
    if publication.revisions:
        items.append(("Revisions", publication.revisions))
    if publication.methodology_url:
        items.append(("Methodology", link(publication.methodology_url, publication.methodology_url)))
    if publication.contact:
        items.append(("Contact", publication.contact))
    return items


# ------------------------------------------------------------------------------- publication and charts
def key_figures(context: Context, latest: Mapping[str, Any]) -> list[KeyFigure]:
    """The "Main points" cards: the figures at a glance, none of them a copy of the first bullet's sentence."""
    words = cohort_words(latest["cohort"], context.params.period)
    cards = [KeyFigure(cell(latest, "binary_rate", pct), "proven reoffending rate", f"people released in {words}")]
    changes = {row["comparison"]: row for row in context.changes.iter_rows(named=True)}
    change = changes.get("same cohort a year earlier") or changes.get("previous cohort")
    if change is not None and change["difference_pp"] is not None:
        difference = change["difference_pp"]
        verdict = (
            "cannot be tested"
            if change["significant"] is None
            else "statistically significant"
            if change["significant"]
            else "not statistically significant"
        )
        cards.append(
            KeyFigure(
                signed(difference) if round(difference, 1) else one(0.0),
                f"percentage points since {cohort_words(change['earlier_cohort'], context.params.period)}",
                verdict,
            )
        )
    cards.append(KeyFigure(cell(latest, "events_per_100", one), "reconviction events per 100 released"))
    cards.append(KeyFigure(cell(latest, "reoffences_per_reoffender", two), "reoffences per reoffender"))
    return cards


def publication_meta(context: Context) -> list[tuple[str, str]]:
    """The release's furniture under the title ([publication] in the config): dates as GOV.UK writes them."""
    publication = context.config.publication
    meta = []
    if publication.published:
        meta.append(("Published", long_date(publication.published)))
    if publication.next_release:
        release = publication.next_release
        meta.append(("Next release", long_date(release) if isinstance(release, dt.date) else str(release)))
    if publication.status:
        meta.append(("Statistics status", publication.status))
    meta.append(("Period covered", f"{cohort_words(context.facts['latest_cohort'], context.params.period)} cohort"))
    if publication.contact:
        meta.append(("Contact", publication.contact))
    return meta


def alt_text(context: Context, name: str) -> str:
    """The finding a chart shows, for its alt text (the same words as the SVG's ``<desc>``)."""
    return context.charts.get(name, ("", f"Chart: {name.replace('_', ' ')}"))[1]


def chart_findings(
    params: MeasureParams,
    trend: pl.DataFrame,
    establishment_summary: pl.DataFrame | None,
    lag: pl.DataFrame | None,
    breakdowns: Sequence[Any],
) -> dict[str, tuple[str, str]]:
    """(title, finding) of each chart, for the SVG's ``<title>``/``<desc>`` and the image's alt text.

    The finding states what the chart shows in numbers (formatted from the tables), not the chart type.
    """
    period = params.period
    shown = trend.filter(pl.col("binary_rate").is_not_null())
    findings: dict[str, tuple[str, str]] = {}
    if shown.height:
        first, last = shown.row(0, named=True), shown.row(-1, named=True)
        high = shown.sort("binary_rate", descending=True).row(0, named=True)
        low = shown.sort("binary_rate").row(0, named=True)
        findings["trend"] = (
            "Proven reoffending rate by cohort",
            f"The proven reoffending rate was {pct(first['binary_rate'])} for people released in "
            f"{cohort_words(first['cohort'], period)} and {pct(last['binary_rate'])} for "
            f"{cohort_words(last['cohort'], period)}; the highest was {pct(high['binary_rate'])} "
            f"({high['cohort']}) and the lowest {pct(low['binary_rate'])} ({low['cohort']}).",
        )
        findings["events_per_100"] = (
            "Reconviction events per 100 released, by cohort",
            f"There were {one(last['events_per_100'])} reconviction events per 100 people released in "
            f"{cohort_words(last['cohort'], period)}, against {one(first['events_per_100'])} in "
            f"{cohort_words(first['cohort'], period)}.",
        )
    if establishment_summary is not None and establishment_summary.height:
        s = establishment_summary.row(0, named=True)
        plotted = s["establishments"] - s["suppressed_establishments"]
        findings["establishments"] = (
            f"Proven reoffending rate by establishment, {s['cohort']}",
            f"Of {count(plotted)} establishments shown, {count(s['higher_unadjusted'])} had a rate whose confidence "
            f"interval lies wholly above the rate for all releases ({cell(s, 'all_releases_binary_rate', pct)}) and "
            f"{count(s['lower_unadjusted'])} wholly below ({count(s['higher'])} and {count(s['lower'])} after the "
            "adjustment for multiple testing)"
            + (
                f"; {count(s['suppressed_establishments'])} suppressed establishments are not shown."
                if s["suppressed_establishments"]
                else "."
            ),
        )
    for breakdown in breakdowns:
        latest = shown.row(-1, named=True)["cohort"] if shown.height else trend.row(-1, named=True)["cohort"]
        rows = breakdown.latest(latest)
        parts = [
            f"{'Not recorded' if r[breakdown.column] is None else r[breakdown.column]}: "
            f"{SHORTHAND if r['binary_rate'] is None else pct(r['binary_rate'])}"
            for r in rows.iter_rows(named=True)
        ]
        name = breakdown.column.replace("_", " ")
        findings[breakdown.name] = (
            f"Proven reoffending rate by {name}, {latest}",
            f"Proven reoffending rate by {name} for people released in {cohort_words(latest, period)}: "
            + "; ".join(parts)
            + ".",
        )
    if lag is not None and lag.height:
        at_zero = lag.row(0, named=True)
        used = lag.filter(pl.col("waiting_period_months") == params.window.waiting_period_months)
        sentence = (
            f"{pct(at_zero['share_of_reoffences'])} of the proven reoffences eventually counted had been convicted "
            "by the end of the follow-up"
        )
        if used.height:
            sentence += (
                f", and {pct(used.row(0, named=True)['share_of_reoffences'])} within the "
                f"{params.window.waiting_period_months}-month waiting period"
            )
        findings["court_lag"] = ("Court lag: share of eventual proven reoffending counted", sentence + ".")
    return findings
