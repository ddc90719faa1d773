"""The words of the bulletin, composed from the computed tables (docs/bulletin.md, "What the bulletin says").

Every number written here is formatted from a value in one of the tables written under ``tables/`` (rates as
percentages with one decimal, counts with thousands separators), so a reader can trace each one.

House style (docs/bulletin.md, "House style"; issue 26 item 3): cohorts and dates in words, columns and
their values by their labels (reoffend/bulletin/labels.py), one minus sign (U+2212), counts and nouns that
agree (reoffend.report.format.counted), jargon explained in the glossary, and no tool furniture (file
names, the program's version, ISO dates): provenance is in the manifest and "About these statistics".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ..disclosure import SHORTHAND
from ..measure import MeasureParams
from ..report.format import count, counted, level, number, pct, plural
from ..report.tables import TableSpec, court_lag_table, group_column, measure_table, rate_interval, shown
from .chartrules import ESTABLISHMENTS_AT_EACH_END, VERDICTS
from .comparisons import ComparisonSection
from .config import STATUSES, BulletinConfig
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
    link,
    replace_text,
    strong,
)
from .labels import Labels, plain_words
from .revisions import COMPLETED, CORRECTIONS, GONE, LATE, UNCHANGED, told


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
    left_out: Mapping[str, str] = field(default_factory=dict)  # name: the sentence in place of a chart left out
    revisions: pl.DataFrame | None = None  # revisions.csv when a previous bulletin is given (bulletin/revisions.py)
    previous_provisional: bool = False  # the previous bulletin published provisional estimates


# ------------------------------------------------------------------------------------------- formatting
# the one set of number formatters (reoffend/report/format.py), under the names this module's text uses
def one(value: float | None) -> str:
    return number(value, 1)


def two(value: float | None) -> str:
    return number(value, 2)


MINUS = "\u2212"
# a hyphen-minus that is a sign: before a digit, after a space, an opening bracket or the start (not in
# 2023-24, EST-1, a date or an address)
SIGN = re.compile(r"(?<![\w.,/:=@\-\u2212])-(?=\d)")


def minus(text: str) -> str:
    """Every negative sign in ``text`` as the minus sign U+2212 (GOV.UK style): ``-4.8`` -> ``−4.8``."""
    return SIGN.sub(MINUS, text)


def signed(value: float | None, decimals: int = 1) -> str:
    """A change with its sign: ``+0.6``, ``−7.1`` (one minus sign, U+2212, everywhere in the text)."""
    return minus(number(value, decimals, signed=True))


def words(label: str, params: MeasureParams) -> str:
    """A cohort in words under the bulletin's period (:func:`cohort_words`)."""
    return cohort_words(label, params.period)


def p_text(p_value: float | None, floor: float) -> str:
    if p_value is None:
        return "no test possible"
    return f"p < {floor:g}" if p_value < floor else f"p = {p_value:.3f}"


def cell(row: Mapping[str, Any], column: str, formatter: Callable[[Any], str] = count) -> str:
    """A figure in the text as the tables show it: ``[c]`` when withheld (reoffend.report.tables.shown)."""
    return shown(column, formatter)(row)


ci_cell = rate_interval  # the rate's interval in the text, as the tables show it


def labelled(labels: Labels, column: str) -> Callable[[Any], str]:
    """The label of each value of ``column`` (reoffend/bulletin/labels.py), for a table's label cells."""
    return lambda value: labels.value(column, value)


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
    if period == "year" and re.fullmatch(r"\d{4}", label):
        return f"the year {label}"
    return label


def cohort_span(first: str, last: str, period: str) -> str:
    """The cohorts from ``first`` to ``last`` in words: "between January 2022 and March 2023"."""
    start, end = cohort_words(first, period), cohort_words(last, period)
    if period == "quarter" and " to " in start and " to " in end:
        start = start.split(" to ")[0] + " " + start.rsplit(" ", 1)[1]
        end = end.split(" to ")[1]
    elif period == "financial-year" and " to " in start and " to " in end:
        start, end = start.split(" to ")[0], end.split(" to ")[1]
    elif period == "year":
        start, end = start.removeprefix("the year "), end.removeprefix("the year ")
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
    """The bulletin's document: its sections in reading order (:data:`SECTIONS`), then every sentence, caption
    and figure written as the bulletin writes them (cohorts and columns in words, one minus sign U+2212)."""
    latest = context.trend.row(-1, named=True)
    blocks = [block for section in SECTIONS for block in section(context, latest)]
    document = Document(
        title=context.config.title,
        subtitle=subtitle(context, latest),
        blocks=blocks,
        footer=footer(context),
        meta=publication_meta(context),
    )
    return replace_text(document, lambda text: written(text, context))


def subtitle(context: Context, latest: Mapping[str, Any]) -> str:
    """Who the bulletin is about and how long they were followed up, and the extract's date in words."""
    facts = context.facts
    extracted = dt.date.fromisoformat(facts["extract_date"]) if facts["extract_date"] else None
    return (
        f"People released from custody in {cohort_words(latest['cohort'], context.params.period)}, followed up for "
        f"{context.params.window.follow_up_months} months."
        + (f" Data extracted {long_date(extracted)}." if extracted else "")
    )


def footer(context: Context) -> str:
    publisher = f"{context.config.publisher}. " if context.config.publisher else ""
    return f"{publisher}Every figure in this bulletin is in the data tables published with it."


def published_changes(context: Context, comparison: str) -> pl.DataFrame:
    """The published change (``changes.csv``) since the cohort of ``comparison``: "previous cohort" or "same
    cohort a year earlier" (none when it is withheld or there is no such cohort)."""
    changes = context.changes.filter(pl.col("difference_pp").is_not_null())
    return changes.filter(pl.col("comparison") == comparison)


def main_points_blocks(context: Context, latest: Mapping[str, Any]) -> list[Block]:
    """The main points: the cards give the figures at a glance; the bullets say them in sentences."""
    params = context.params
    words = cohort_words(latest["cohort"], params.period)
    blocks: list[Block] = [Heading("Main points", anchor="main-points")]
    # a card is a figure at a glance: a withheld one ([c]) is no figure, and the bullets say why it is withheld
    cards = [card for card in key_figures(context, latest) if card.value != SHORTHAND]
    if cards:
        blocks.append(KeyFigures(cards))
    points = [
        f"{strong(cell(latest, 'binary_rate', pct))} of the {count(latest['cohort_size'])} people released from "
        f"custody in {words} committed a proven reoffence within {params.window.follow_up_months} months "
        f"({cell(latest, 'reoffenders')} people; {level(params.confidence)} confidence interval {ci_cell(latest)})."
        if latest["binary_rate"] is not None
        else f"The reoffending figures of the {counted(latest['cohort_size'], 'person', 'people')} released from "
        f"custody in {words} are withheld ({SHORTHAND}) to protect the people in a group this small.",
    ]
    # the change since the same cohort a year earlier leads (seasonal cohorts compare like with like, as the
    # MoJ bulletin does), set against the whole series; the previous cohort is in the trend section
    year_on_year = published_changes(context, "same cohort a year earlier")
    previous = published_changes(context, "previous cohort")
    if year_on_year.height:
        points.append(change_sentence(year_on_year.row(0, named=True), context))
    else:
        points.append(f"No cohort from a year before {words} is published to compare it with.")
    points.append(series_sentence(context, latest))
    points.append(events_sentence(latest, year_on_year if year_on_year.height else previous, params.period))
    points.append(
        f"The {cell(latest, 'reoffenders')} people who reoffended committed "
        f"{cell(latest, 'reoffences_per_reoffender', two)} "
        f"proven reoffences each on average (reoffences per reoffender); over everyone released that is "
        f"{cell(latest, 'reoffences_per_offender', two)} reoffences per offender."
    )
    points.append(incomplete_sentence(context))
    revision = revision_sentence(context)
    if revision:
        points.append(revision)
    blocks.append(Bullets(points))
    return blocks


def trend_blocks(context: Context, latest: Mapping[str, Any]) -> list[Block]:
    """Proven reoffending over time: the first and last published cohorts in words, the chart and the table."""
    period = context.params.period
    # the text starts from the first published cohort, as the chart's alt text does: a withheld figure is never
    # a number of a sentence ("was [c] for ..."); the withheld cohorts are said in words (issue 26)
    published_trend = context.trend.filter(pl.col("binary_rate").is_not_null())
    none_shown = published_trend.is_empty()  # too little to publish: say so, not "[c] and [c]"
    first = published_trend.row(0, named=True) if not none_shown else context.trend.row(0, named=True)
    last = published_trend.row(-1, named=True) if not none_shown else latest
    # one cohort: its figure once, not "55.5% ... and 55.5%"; no chart: no band to describe (chartrules.py)
    only_one = published_trend.height == 1
    blocks: list[Block] = [Heading("Proven reoffending over time", anchor="trend")]
    blocks.append(
        Paragraph(
            (
                f"The reoffending figures of every cohort are withheld ({SHORTHAND}) to protect the people in "
                "groups this small; the table gives the number of people released in each."
                if none_shown
                else f"The proven reoffending rate was {pct(last['binary_rate'])} for people released in "
                f"{cohort_words(last['cohort'], period)}, the only cohort in this bulletin with complete "
                "follow-up."
                if only_one and context.trend.height == 1
                else f"The proven reoffending rate can be published for one cohort only: {pct(last['binary_rate'])} "
                f"for people released in {cohort_words(last['cohort'], period)}."
                if only_one
                else f"The proven reoffending rate was {pct(first['binary_rate'])} for people released in "
                f"{cohort_words(first['cohort'], period)} and {pct(last['binary_rate'])} for those "
                f"released in {cohort_words(last['cohort'], period)}."
            )
            + ("" if none_shown else withheld_cohorts_words(context.trend, "binary_rate", period))
            + (
                ""
                if "trend" in context.left_out
                else f" The shaded band, between dashed lines, is the {level(context.params.confidence)} confidence "
                "interval: the range of rates consistent with the cohort's size."
            )
        )
    )
    previous = published_changes(context, "previous cohort")
    if previous.height:  # the short-term movement, after the like-for-like comparison of the main points
        blocks.append(Paragraph(change_sentence(previous.row(0, named=True), context)))
    blocks.append(
        figure(
            context,
            "trend",
            f"Proven reoffending rate by cohort, with {level(context.params.confidence)} confidence intervals "
            "(Wilson score).",
        )
    )
    blocks.append(trend_table(context))
    return blocks


def frequency_blocks(context: Context, _latest: Mapping[str, Any]) -> list[Block]:
    """How often people reoffend: reconviction events per 100 released, first and last published cohorts."""
    period = context.params.period
    published_events = context.trend.filter(pl.col("events_per_100").is_not_null())
    first_events = published_events.row(0, named=True) if published_events.height else None
    last_events = published_events.row(-1, named=True) if published_events.height else None
    return [
        Heading("How often people reoffend", anchor="frequency"),
        Paragraph(
            "The frequency measure counts reconviction events: each day on which a person was convicted of one or "
            "more reoffences (taken as one court appearance). "
            + (
                f"Its figures are withheld ({SHORTHAND}) for every cohort, as the rates are."
                if first_events is None or last_events is None
                else f"Per 100 people released it was {one(last_events['events_per_100'])} in "
                f"{cohort_words(last_events['cohort'], period)}"
                + (
                    "."
                    if published_events.height == 1
                    else f", and {one(first_events['events_per_100'])} in "
                    f"{cohort_words(first_events['cohort'], period)}."
                )
                + withheld_cohorts_words(context.trend, "events_per_100", period)
            )
        ),
        figure(
            context,
            "events_per_100",
            "Reconviction events per 100 people released, by cohort (latest cohort highlighted).",
        ),
    ]


def establishments_section(context: Context, latest: Mapping[str, Any]) -> list[Block]:
    """The latest cohort by establishment, when the bulletin has an establishment column."""
    if context.establishments is None or context.establishment_summary is None:
        return []
    return establishment_blocks(context, latest)


def breakdowns_section(context: Context, latest: Mapping[str, Any]) -> list[Block]:
    """The latest cohort by each ``[breakdowns]`` column, in the order configured."""
    return [block for breakdown in context.breakdowns for block in breakdown_blocks(context, breakdown, latest)]


def comparisons_section(context: Context, _latest: Mapping[str, Any]) -> list[Block]:
    """Each ``[comparisons]`` section, as it published itself (reoffend/bulletin/comparisons.py)."""
    return [block for section in context.comparisons for block in comparison_blocks(section)]


def court_lag_section(context: Context, _latest: Mapping[str, Any]) -> list[Block]:
    """The court-lag curve, or why the court lag there was to publish is left out."""
    if context.lag is not None:
        return court_lag_blocks(context)
    if context.facts.get("court_lag_left_out"):
        return court_lag_left_out_blocks(context)
    return []


def incomplete_blocks(context: Context, _latest: Mapping[str, Any]) -> list[Block]:
    """Cohorts not yet included: those still in follow-up at the extract date, then any provisional figures."""
    blocks: list[Block] = [
        Heading("Cohorts not yet included", anchor="incomplete"),
        Paragraph(incomplete_sentence(context)),
    ]
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
    return blocks + list(context.provisional)


def written(text: str, context: Context) -> str:
    """``text`` as the bulletin writes every sentence: cohorts and columns in words (:func:`in_words`), one
    minus sign (:func:`minus`). A chart's SVG ``<title>``/``<desc>`` go through it too, so they say what the
    alt text says."""
    return minus(in_words(text, context))


COHORT_CODES = {
    "quarter": re.compile(r"(?<![\w-])\d{4}Q[1-4](?![\w-])"),
    "month": re.compile(r"(?<![\w-])\d{4}-(?:0[1-9]|1[0-2])(?![\w-])"),
    "financial-year": re.compile(r"(?<![\w-])\d{4}-\d{2}(?![\w-])"),
}


# the reasons of revisions.py, explained once: in the Revisions section (the main point names its reason only)
REASONS = {
    LATE: "late convictions (convictions recorded after the previous extract for offences in the follow-up)",
    CORRECTIONS: "data corrections (releases or convictions corrected since the previous extract)",
    COMPLETED: "a cohort whose follow-up is now complete",
    GONE: "a cohort or group no longer in the data",
}


def revision_group(row: Mapping[str, Any], context: Context) -> str:
    """The group of a revisions row in words: its cohort, and its columns' values (as the tables label them)."""
    group = cohort_words(row["cohort"], context.params.period)
    columns = list(row)
    splits = columns[columns.index("cohort") + 1 : columns.index("previous_cohort_size")]
    values = [labelled(context.config.labels, c)(row[c]) for c in splits if row[c] is not None]
    return group + (f" ({', '.join(values)})" if values else "")


def revision_sentence(context: Context) -> str:
    """The main point on revisions: the largest change of a rate published in both bulletins, when it is at
    least ``[publication] revision_threshold`` percentage points (docs/bulletin.md, "Revisions")."""

    if context.revisions is None:
        return ""
    row = told(context.revisions, context.config.publication.revision_threshold)
    if row is None:
        return ""
    return (
        f"The largest revision to the previous bulletin is for people released in {revision_group(row, context)}: "
        f"the proven reoffending rate published as {pct(row['previous_binary_rate'])} is now "
        f"{pct(row['binary_rate'])} ({signed(row['change_pp'])} percentage points), because of {row['reason']}. "
        "The Revisions section explains the reasons and lists every revised figure."
    )


def revision_blocks(context: Context) -> list[Block]:
    """The revisions section: what changed since the previous bulletin, the national series as a table (every
    revised figure is in revisions.csv)."""
    table = context.revisions
    if table is None:
        return []
    blocks: list[Block] = [Heading("Revisions", anchor="revisions")]
    if not table.filter(pl.col("reason").is_not_null() & (pl.col("reason") != "unchanged")).height:
        blocks.append(Paragraph("No figure published in the previous bulletin has changed."))
        return blocks
    reasons = list(REASONS.values())
    blocks.append(
        Paragraph(
            f"Figures published in the previous bulletin that have changed, and why: {', '.join(reasons[:-1])}, "
            f"or {reasons[-1]}. Every final figure the previous bulletin published (by cohort, by establishment "
            "and in each breakdown), revised or not, is in the data table of revisions published with this "
            f"bulletin, with its value now; a figure withheld in either bulletin is withheld there ({SHORTHAND})."
            # the revisions table holds the final figures only (revisions.py): a provisional estimate is not
            # revised but replaced, and the sentence says so rather than claim it is there (issue 26 review, 3)
            + (
                " Its provisional estimates are not in that table: each is replaced in this bulletin by the final "
                "figure, once the cohort's follow-up is complete, or by a new estimate."
                if context.previous_provisional
                else ""
            )
        )
    )
    national = table.filter(
        (pl.col("table") == "trend.csv") & pl.col("reason").is_not_null() & (pl.col("reason") != UNCHANGED)
    )
    if national.height:
        blocks.append(
            Table(
                caption="Revisions to the proven reoffending rate of each cohort",
                columns=["Cohort", "Published before", "Now", "Change (percentage points)", "Reason"],
                rows=[
                    [
                        r["cohort"],
                        # [z]: no figure to show by definition (a cohort new to this bulletin, or gone from it)
                        cell(r, "previous_binary_rate", pct)
                        if r["previous_cohort_size"] is not None
                        else NOT_APPLICABLE,
                        cell(r, "binary_rate", pct) if r["cohort_size"] is not None else NOT_APPLICABLE,
                        signed(r["change_pp"])
                        if r["change_pp"] is not None
                        else (SHORTHAND if r["suppressed"] else NOT_APPLICABLE),
                        r["reason"],
                    ]
                    for r in national.iter_rows(named=True)
                ],
                source="revisions.csv",
                numeric=[False, True, True, True, False],
            )
        )
    return blocks


def named_columns(config: BulletinConfig, establishment: str | None) -> set[str]:
    """The release columns the config names (breakdowns, comparisons, labels): those a sentence may mention."""
    columns = {*config.breakdowns.columns, *config.labels.columns, *config.labels.values}
    if establishment:
        columns.add(establishment)
    for options in config.comparisons.values():
        for key in ("covariates", "by", "exact"):
            columns.update(options.get(key) or ())
        for key in ("treated", "pool"):
            columns.update(options.get(key) or {})
        if options.get("site_column"):
            columns.add(options["site_column"])
    return columns


def cohorts_in_words(text: str, period: str) -> str:
    """Each cohort code of ``period`` in ``text`` in words: ``2023Q3`` -> "July to September 2023"."""
    if period not in COHORT_CODES:
        return text
    return COHORT_CODES[period].sub(lambda found: cohort_words(found.group(), period), text)


# the analysis cores' names of a measure (shared with the terminal) in the bulletin's words (issue 26, list 3)
MEASURE_WORDS = {"Binary rate": "Proven reoffending rate", "binary rate": "proven reoffending rate"}
MEASURE_NAMES = re.compile(r"\b(?:" + "|".join(MEASURE_WORDS) + r")\b")


def plain_measures(text: str) -> str:
    """The comparisons' "binary rate" (the cores' word, shared with the terminal) as the bulletin names the
    measure everywhere else: the proven reoffending rate."""
    return MEASURE_NAMES.sub(lambda found: MEASURE_WORDS[found.group()], text)


def in_words(text: str, context: Context) -> str:
    """``text`` with each cohort code in words (``2023Q3`` -> "July to September 2023") and each column name
    written as a code (``sentence_months``) as its label in a sentence ("sentence length (months)"): the
    comparisons' sentences come from the analysis cores, which the terminal shares, and keep the codes there."""
    text = plain_measures(cohorts_in_words(text, context.params.period))
    labels = context.config.labels
    for column in sorted(named_columns(context.config, context.facts.get("establishment_column")), key=len)[::-1]:
        if "_" in column:
            text = re.sub(rf"(?<![\w]){re.escape(column)}(?![\w])", labels.name(column), text)
    return text


def series_sentence(context: Context, latest: Mapping[str, Any]) -> str:
    """The latest rate set against every published cohort of the series: its lowest and highest, in words."""
    period = context.params.period
    shown = context.trend.filter(pl.col("binary_rate").is_not_null())
    if latest["binary_rate"] is None:
        return (
            f"The rate of the latest cohort, {cohort_words(latest['cohort'], period)}, is withheld ({SHORTHAND}), so "
            "it is not set against the series."
        )
    if shown.height < 3:
        return (
            f"The series starts in {cohort_words(context.trend.row(0, named=True)['cohort'], period)}: too few "
            "cohorts are published to say how the latest compares with the series as a whole."
        )
    first = shown.row(0, named=True)
    low = shown.sort("binary_rate").row(0, named=True)
    high = shown.sort("binary_rate", descending=True).row(0, named=True)
    span = cohort_span(first["cohort"], latest["cohort"], period)
    rate = cell(latest, "binary_rate", pct)
    if latest["cohort"] == low["cohort"]:
        where = f"{rate} is the lowest rate of the series"
    elif latest["cohort"] == high["cohort"]:
        where = f"{rate} is the highest rate of the series"
    else:
        where = f"{rate} is within the range of the series"
    return (
        f"Over the whole series, the cohorts released {span}, the rate has ranged from {pct(low['binary_rate'])} "
        f"({cohort_words(low['cohort'], period)}) to {pct(high['binary_rate'])} "
        f"({cohort_words(high['cohort'], period)}): {where}."
    )


def incomplete_sentence(context: Context) -> str:
    extracted = extract_words(context)
    incomplete = context.completeness.filter(~pl.col("complete"))
    window = context.params.window
    if not incomplete.height:
        return f"Every cohort in the data had complete follow-up at the extract date, {extracted}, and is included."
    parts = [
        f"{cohort_words(r['cohort'], context.params.period)} ({count(r['incomplete_releases'])} of "
        f"{count(r['releases'])} {plural(r['releases'], 'release')})"
        for r in incomplete.iter_rows(named=True)
    ]
    return (
        f"Not yet included: {'; '.join(parts)}. Their follow-up was not complete at the extract date, {extracted}: "
        f"an offence committed within {window.follow_up_months} months of release can still be proven by a "
        f"conviction up to {window.waiting_period_months} months later. These cohorts will be published as "
        "final figures when their follow-up is complete"
        + (
            "; the latest of them are given below as provisional estimates, marked as such."
            if context.provisional
            else "."
        )
    )


def establishment_blocks(context: Context, latest: Mapping[str, Any]) -> list[Block]:
    """The latest cohort by establishment: as many as can be published, each against the rate for all releases
    after the adjustment for multiple testing (none or one published: said in words, no test)."""
    assert context.establishments is not None and context.establishment_summary is not None, "no establishments"
    summary = context.establishment_summary.row(0, named=True)
    column = context.facts["establishment_column"]
    heading = Heading(f"Latest cohort by {context.config.labels.name(column)}", anchor="establishments")
    published = summary["establishments"] - summary["suppressed_establishments"]
    if not published:  # too little to publish: no counts of nothing, no test of nothing
        return [
            heading,
            none_published_paragraph(context, summary, latest),
            establishment_table(context, column, latest),
        ]
    if published < 2:  # no comparison of one establishment with a rate for all it is most or all of
        hidden = summary["suppressed_establishments"]
        return [
            heading,
            one_published_paragraph(context, summary, latest),
            *([establishment_table(context, column, latest)] if hidden else []),
        ]
    blocks: list[Block] = [heading, Paragraph(establishments_tested_sentences(context, summary, latest))]
    if "establishments" in context.figures:
        # the chart's own heading: a ranked list is taller than wide, and in print it starts a page with this
        # heading rather than leaving the section's heading and paragraph alone at the foot of the page before
        blocks.append(Heading(f"Each {context.config.labels.name(column)} against the rate for all releases", level=3))
    blocks.append(figure(context, "establishments", establishment_caption(context, summary, latest)))
    blocks.append(establishment_table(context, column, latest))
    return blocks


def establishments_withheld_words(hidden: int) -> str:
    """The sentence on the establishments whose figures are suppressed (empty when none is)."""
    them = plural(hidden, "it", "them")
    return (
        f" The figures of {counted(hidden, 'establishment')} are suppressed ({SHORTHAND}) to protect the people "
        f"in small groups (see About these statistics): the table lists {them}, with no figures, and the chart "
        f"leaves {them} out."
        if hidden
        else ""
    )


def none_published_paragraph(context: Context, summary: Mapping[str, Any], latest: Mapping[str, Any]) -> Paragraph:
    """No establishment's figures can be published: how many are withheld, and that the table lists them."""
    name = context.config.labels.name(context.facts["establishment_column"])
    hidden = summary["suppressed_establishments"]
    return Paragraph(
        f"In {cohort_words(latest['cohort'], context.params.period)}, no {name} can be published: the figures of "
        + (f"the one {name}" if hidden == 1 else f"all {count(hidden)} {plural(hidden, name)}")
        + f" are withheld ({SHORTHAND}) to protect the people in small groups (see About these statistics); "
        f"the table lists {plural(hidden, 'it', 'them')} with the number of people released."
    )


def one_published_paragraph(context: Context, summary: Mapping[str, Any], latest: Mapping[str, Any]) -> Paragraph:
    """One establishment's figures only can be published (or the bulletin has one): its rate, and why there is no
    comparison with the rate for all releases."""
    assert context.establishments is not None, "no establishments"
    labels = context.config.labels
    column = context.facts["establishment_column"]
    words = cohort_words(latest["cohort"], context.params.period)
    hidden = summary["suppressed_establishments"]
    only = context.establishments.filter(pl.col("binary_rate").is_not_null()).row(0, named=True)
    return Paragraph(
        (
            f"In {words}, the figures of one {labels.name(column)} only can be published: "
            f"{labelled(labels, column)(only[column])}, with a proven reoffending rate of "
            f"{pct(only['binary_rate'])}."
            if hidden
            else f"In {words}, this bulletin covers one {labels.name(column)} only: "
            f"{labelled(labels, column)(only[column])}, whose proven reoffending rate of "
            f"{pct(only['binary_rate'])} is the rate for all its releases."
        )
        + f" Comparing {labels.name(column)}s with the rate for all releases needs "
        f"at least two published {labels.name(column)}s, so there is no such comparison here."
        + (
            f" The figures of {counted(hidden, 'other ' + labels.name(column))} are withheld ({SHORTHAND}) "
            f"to protect the people in small groups; the table lists {plural(hidden, 'it', 'them')} with the number "
            "of people released."
            if hidden
            else ""
        )
    )


def establishments_tested_sentences(context: Context, summary: Mapping[str, Any], latest: Mapping[str, Any]) -> str:
    """How many published establishments were above and below the rate for all releases, before and after the
    adjustment for multiple testing (establishment_summary.csv)."""
    hidden = summary["suppressed_establishments"]
    published = summary["establishments"] - hidden
    higher, lower = summary["higher"], summary["lower"]
    return (
        f"In {cohort_words(latest['cohort'], context.params.period)}, {count(summary['higher_unadjusted'])} of the "
        f"{count(published)} {'published ' if hidden else ''}{plural(published, 'establishment')} had a "
        f"{level(context.params.confidence)} confidence "
        f"interval wholly above the rate for all releases ({cell(summary, 'all_releases_binary_rate', pct)}) "
        f"and {count(summary['lower_unadjusted'])} wholly below. With this many establishments some would do "
        "so by chance alone, so each establishment's test against the rate for all is adjusted for multiple "
        f"testing (see the glossary): after it, {count(higher)} {plural(higher, 'is', 'are')} significantly "
        f"higher and {count(lower)} significantly lower. Differences in the mix of people released are not "
        "taken into account here." + establishments_withheld_words(hidden)
    )


def establishment_caption(context: Context, summary: Mapping[str, Any], latest: Mapping[str, Any]) -> str:
    """The establishment chart's caption: which establishments it shows (all, or the ends and the significant
    ones: reoffend/bulletin/chartrules.py), and that the suppressed ones are not in it."""
    name = context.config.labels.name(context.facts["establishment_column"])
    hidden = summary["suppressed_establishments"]
    ranked = summary["establishments"] - hidden > 2 * ESTABLISHMENTS_AT_EACH_END
    shows = (
        f"the {ESTABLISHMENTS_AT_EACH_END} highest and {ESTABLISHMENTS_AT_EACH_END} lowest rates and every "
        f"{name} significantly higher or lower after the adjustment for multiple testing (the table "
        f"lists every {name})"
        if ranked
        else f"every published {name}"
    )
    return (
        f"Proven reoffending rate by {name}, {cohort_words(latest['cohort'], context.params.period)}: {shows}, "
        f"highest first, with {level(context.params.confidence)} "
        "confidence intervals; the dashed line is the rate for all releases; colour and marker give the verdict "
        "after the adjustment for multiple testing"
        + (
            f"; {counted(hidden, 'suppressed establishment')} {plural(hidden, 'is', 'are')} not in the chart."
            if hidden
            else "."
        )
    )


def verdict_cell(row: Mapping[str, Any], column: str) -> str:
    """An establishment's verdict in the table (chartrules.VERDICTS, capitalised), ``[c]`` when withheld."""
    if row["binary_rate"] is None:
        return SHORTHAND
    words = VERDICTS.get(row[column] or "", "")
    return words[:1].upper() + words[1:]


def establishment_table(context: Context, column: str, latest: Mapping[str, Any]) -> Table:
    """Every establishment of the latest cohort, highest rate first, withheld ones last with ``[c]``: the
    accessible table beside the chart. Each verdict says which it is (issue 26, item 1): the interval's own,
    before the adjustment for multiple testing, beside it; then the adjusted p and the verdict after it (the
    one the text counts and the chart colours)."""
    assert context.establishments is not None, "no establishments"
    labels = context.config.labels
    whole = measure_table(
        context.params.confidence, [group_column(column, labels.title(column), labelled(labels, column))]
    )
    interval = whole.pick([whole.keys()[0], *TREND[1:5]])  # the group's key: with_groups
    adjusted_p = whole.pick(["p_adjusted"])
    rows = list(context.establishments.iter_rows(named=True))
    words = cohort_words(latest["cohort"], context.params.period)
    return Table(
        caption=f"Proven reoffending by {labels.name(column)}, {words}: every {labels.name(column)}, highest rate "
        "first, compared with the rate for all releases before and after the adjustment for multiple testing",
        columns=[
            *interval.headers(),
            "Compared with all releases (unadjusted)",
            *adjusted_p.headers(),
            "Compared with all releases (adjusted)",
        ],
        rows=[
            [*cells, verdict_cell(row, "compared_unadjusted"), *p_cells, verdict_cell(row, "compared_with_all")]
            for cells, p_cells, row in zip(interval.cells(rows), adjusted_p.cells(rows), rows, strict=True)
        ],
        source="establishments.csv",
        numeric=[*interval.numeric(), False, *adjusted_p.numeric(), False],
    )


def breakdown_blocks(context: Context, breakdown: Any, latest: Mapping[str, Any]) -> list[Block]:
    """The latest complete cohort by one ``[breakdowns]`` column (table and chart) and its trend (table)."""
    column = breakdown.column
    labels = context.config.labels
    name = labels.name(column)
    conf = level(context.params.confidence)
    words = cohort_words(latest["cohort"], context.params.period)
    rows = breakdown.latest(latest["cohort"])
    label = labelled(labels, column)

    shown = rows.filter(pl.col("binary_rate").is_not_null())
    sentence = f"By {name}, the proven reoffending rate of people released in {words} "  # labels.name: in words
    hidden = rows.height - shown.height
    if shown.height >= 2:
        high = shown.sort("binary_rate", descending=True).row(0, named=True)
        low = shown.sort("binary_rate").row(0, named=True)
        sentence += (
            f"ranged from {pct(low['binary_rate'])} ({label(low[column])}) to {pct(high['binary_rate'])} "
            f"({label(high[column])})."
        )
        if hidden:
            sentence += (
                f" The figures of {count(hidden)} of the {counted(rows.height, 'group')} "
                f"{plural(hidden, 'is', 'are')} withheld ({SHORTHAND}) to protect the people in groups this small."
            )
    elif shown.height == 1:  # one figure, said once; the others withheld in words, never "[c]" as a number
        only = shown.row(0, named=True)
        sentence += (
            f"can be published for one group only: {pct(only['binary_rate'])} ({label(only[column])}). The "
            f"figures of the other {counted(hidden, 'group')} are withheld ({SHORTHAND}) to protect the people in "
            "groups this small."
            if hidden
            else f"was {pct(only['binary_rate'])} ({label(only[column])}), its only group."
        )
    else:
        sentence = (
            f"By {name}, the figures of every group of people released in {words} are withheld ({SHORTHAND}) to "
            "protect the people in groups this small; the table gives the number of people released in each."
        )
    if breakdown.bands:
        sentence += f" Bands of {name} include their lower edge." + breakdown.merge_note
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
    heading = Heading(f"By {name}", anchor="breakdown-" + breakdown.name.removeprefix("breakdown_"))

    def by_cohort(latest_shown: bool) -> Table:
        """The rate by cohort and category; its last row is the latest cohort when that is published."""
        return Table(
            caption=f"Proven reoffending rate by {name} and cohort",
            columns=["Cohort", *[label(c) for c in categories]],
            rows=trend_rows,
            source=f"{breakdown.name}.csv",
            numeric=[False] + [True] * len(categories),
            highlight_last=latest_shown,
        )

    if rows.is_empty():  # too little to publish (build._publishable_cohorts): no empty table, no chart
        left_out = (
            f"By {name}, the groups of people released in {words} are too small for any two of them to be "
            "published, so this breakdown leaves that cohort out"
        )
        if not trend_rows:
            return [heading, Paragraph(left_out + ", as it does every cohort.")]
        return [heading, Paragraph(left_out + "; the cohorts it can publish are in the table."), by_cohort(False)]
    return [
        heading,
        Paragraph(sentence),
        figure(
            context,
            breakdown.name,
            f"Proven reoffending rate by {name}, {words}, with {conf} confidence intervals; the dashed "
            "line is the rate for all releases.",
        ),
        spec_table(
            (
                spec := measure_table(context.params.confidence, [group_column(column, labels.title(column), label)])
            ).pick(
                [spec.keys()[0], *TREND[1:]]  # the group's key, told apart from the measures' by with_groups
            ),
            rows,
            caption=f"Proven reoffending by {name}, {words}",
            source=f"{breakdown.name}.csv",
        ),
        by_cohort(True),
    ]


def comparison_blocks(section: ComparisonSection) -> list[Block]:
    blocks: list[Block] = [Heading(section.title, anchor=f"comparison-{section.name}"), Paragraph(section.intro)]
    blocks.append(Bullets(section.headline))
    if section.rows.height:
        rows = section.table.cells(section.typed_rows(section.rows))
        if "scope" in section.rows.columns:  # the pooled row's cohort "all" (a code of the CSV) in words
            for row, scope in zip(rows, section.rows["scope"], strict=True):
                row[0] = "All cohorts" if scope == "pooled" else row[0]
        blocks.append(
            Table(
                caption=section.table_caption,
                columns=section.table.headers(),
                rows=rows,
                source=next(iter(section.tables)),
                numeric=section.table.numeric(),
            )
        )
    for warning in section.warnings:
        # the core's warning (shared with the terminal; its column names are put in words below) ends a sentence
        stop = "" if warning.endswith((".", "?", "!")) else "."
        blocks.append(Paragraph(f"Note: {note_words(warning)}{stop}", css="note"))
    return blocks


def note_words(warning: Any) -> str:
    """A comparison's warning as the bulletin says it. The small-comparisons warning counts every comparison,
    published or not ("95 of 110"), a total no table shows: the bulletin points to the table instead, with the
    threshold the section quotes (parameters.csv)."""
    if getattr(warning, "code", "") == "small-comparisons":
        return (
            f"the intervals and p-values of comparisons of fewer than {count(warning.counts['threshold'])} "
            "releases (the table gives each one's releases) rest on a normal approximation that is rough for so "
            "few: read them with care"
        )
    return str(warning)


def court_lag_left_out_blocks(context: Context) -> list[Block]:
    """The court-lag section when its table is left out for disclosure (build.py): said plainly, with no
    figure (docs/bulletin.md, "Disclosure control", rule 4)."""
    window = context.params.window
    why = (
        "set against the one the previous bulletin published, its figures would show those of the people added "
        "to it since then, and they are too few to publish without risk of identifying them"
        if context.facts["court_lag_left_out"] == "successive"
        else "its figures would describe groups too small to publish without risk of identifying the people in them"
    )
    return [
        Heading(f"Why we wait {window.waiting_period_months} months: the court lag", anchor="court-lag"),
        Paragraph(
            "An offence is only counted once a court has convicted for it, and courts take time; the waiting "
            f"period of {window.waiting_period_months} months allows for that. The table of how much proven "
            f"reoffending each length of waiting period would count is left out of this bulletin: {why}. It will "
            "return when it can be published safely."
        ),
    ]


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
            f"{count(longest['cohort_size'])} people released {span if span.startswith('between') else 'in ' + span}, "
            "whose convictions can be followed for "
            f"{longest['waiting_period_months']} months after the end of the follow-up, "
            f"{share(at_zero, 'share_of_reoffences')} of the proven reoffences eventually counted had been convicted "
            f"by the end of the {window.follow_up_months}-month follow-up itself. The "
            f"{window.waiting_period_months}-month waiting period used here captures "
            f"{share(used, 'share_of_reoffences')} of them, and {share(used, 'share_of_reoffenders')} of the people "
            f"eventually counted as reoffenders. " + rate_without_waiting(at_zero, used, window.waiting_period_months)
        ),
        figure(
            context,
            "court_lag",
            "Share of eventual proven reoffences (and reoffenders) counted, by the length of the "
            f"waiting period for the conviction after the {window.follow_up_months}-month follow-up.",
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
    # the excluded offence codes in words (a [labels.offence] label, else the code in plain words), never
    # "offences coded BREACH" (issue 26 review, item 11)
    excluded = (
        and_list(
            [
                context.config.labels.values.get("offence", {}).get(code) or plain_words(code.lower())
                for code in sorted(params.excluded_offences)
            ]
        )
        if params.excluded_offences
        else ""
    )
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
            + (f" Some types of offence are not new offences and are not counted: {excluded}." if excluded else "")
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
    provenance = (
        "Every figure in this bulletin is taken from the data tables published with it, where it is given "
        "unrounded. A manifest published with the tables records the input data (with checksums that identify "
        "them exactly) and every setting used, so that the figures can be produced again from the same data."
    )
    return [
        Heading("About these statistics", anchor="about"),
        Definitions(definitions + publication_definitions(context)),
        Paragraph(provenance, css="note"),
    ]


def extract_words(context: Context) -> str:
    extract = context.facts["extract_date"]
    return long_date(dt.date.fromisoformat(extract)) if extract else "an unknown date"


def things_to_know(context: Context) -> list[Block]:
    """What a reader must know before using the figures (the MoJ bulletin's "Things you need to know"): the
    measure is a proxy for actual reoffending, and cohorts differ in who is released."""
    window = context.params.window
    adjusted = any(section.name == "adjusted" for section in context.comparisons)
    mix = (
        "People released in one period differ from those released in another: in age, sex, previous "
        "convictions, sentence length and offence. A change in the rate can come from a change in that mix "
        "rather than a change in how likely people are to reoffend. The rates in this bulletin are not adjusted "
        "for it"
        + (
            "; the comparison against the risk-adjusted baseline is, and should be used to compare establishments."
            if adjusted
            else "."
        )
    )
    return [
        Heading("Things you need to know", anchor="things-to-know"),
        Bullets(
            [
                "Proven reoffending is a proxy for actual reoffending. It counts only offences committed within "
                f"{window.follow_up_months} months of release that a court has proven by a conviction within a "
                f"further {window.waiting_period_months} months. Offences that are not detected, not prosecuted "
                "or dealt with out of court are not counted, so actual reoffending is higher than these figures.",
                mix,
                "Each person is counted once in each period, at their first release in it, so the figures are about "
                "people, not releases."
                if context.params.index == "first"
                else "Every release is counted, so a person released twice in a period is counted twice.",
                "Figures are published once every person in the cohort has been followed up for the full period; "
                "the latest cohorts are therefore from some time ago (see Cohorts not yet included).",
                # the MoJ's rounding note (issue 26 review, item 10): a change is worked out from the unrounded
                # figures, so it can differ slightly from the difference of the rounded ones shown
                "Figures are rounded to the places shown. Changes and differences are worked out from the "
                "unrounded figures, so they may not equal exactly the difference of the rounded figures shown, and "
                "figures may not sum to the totals shown because of rounding.",
            ]
        ),
    ]


def source_and_quality_blocks(context: Context) -> list[Block]:
    """Where the data come from (``[publication] data_source``) and what limits their quality."""
    releases, convictions = context.inputs["releases"], context.inputs["convictions"]
    source = context.config.publication.data_source
    counts = (
        f"This bulletin uses {counted(releases['rows'], 'release record')} and "
        f"{counted(convictions['rows'], 'conviction record')}, extracted on {extract_words(context)}."
    )
    quality = (
        "These are administrative data, recorded to run prisons and courts rather than to produce statistics. "
        "Counts of offences are counts of offences proven in court, not of all offending. Only convictions are "
        "recorded: cautions and other out-of-court disposals are not, so the rates are lower than under a "
        "measure that counts them. A conviction recorded after the extract is not counted; the waiting period "
        "allows for most of the time courts take"
        + (" (see Why we wait)." if context.lag is not None else ".")
        + " The records are checked before any figure is produced: a release or conviction that breaks a rule of "
        "the data stops the bulletin rather than being dropped silently."
    )
    return [
        Heading("Data source and quality", anchor="data-quality"),
        *([Paragraph(source)] if source else []),
        Paragraph(counts),
        Paragraph(quality),
    ]


def glossary_blocks(context: Context) -> list[Block]:
    """Plain words for the statistical terms the bulletin uses; the comparisons' terms only when they are shown,
    the provisional figures' only when there are any."""
    names = {section.name for section in context.comparisons}
    terms = core_terms(level(context.params.confidence))
    if "baseline" in names:
        terms.append(DONCASTER_DESIGN)
    if "matched" in names:
        terms += MATCHED_TERMS
    if "adjusted" in names:
        terms += ADJUSTED_TERMS
    if names & {"matched", "adjusted", "baseline"}:
        terms.append(NORMAL_APPROXIMATION)
    if context.provisional:
        terms += PROVISIONAL_TERMS
    return [Heading("Glossary", anchor="glossary"), Definitions(terms)]


def core_terms(conf: str) -> list[tuple[str, str]]:
    """The terms of every bulletin (``conf``: the confidence level, "95%")."""
    return [
        (
            "Confidence interval",
            f"The range in which the true value is likely to lie, given the size of the group: {conf} of such "
            "ranges contain it. A wider range means a less precise figure.",
        ),
        (
            "Statistically significant",
            "A difference too large to be put down to chance alone, at the level stated. A difference that is "
            "not significant may still be real, but the data cannot tell it from chance.",
        ),
        (
            "Adjustment for multiple testing",
            "When many groups are each tested, some look significantly different by chance alone. The p-values "
            "are therefore adjusted (Holm's method) so that the chance of any false finding among all the tests "
            "stays at the level stated.",
        ),
        ("p-value", "The chance of a difference at least as large as the one seen if there were no real difference."),
        (
            "Percentage point",
            "The unit of the difference between two percentages: the later rate minus the earlier one.",
        ),
    ]


DONCASTER_DESIGN = (
    "Doncaster design",
    "A comparison of one establishment's reoffending with its own in an earlier period (its baseline "
    "cohort), named after the payment-by-results pilot at HMP Doncaster that used it.",
)
# the Peterborough design's terms (a [comparisons.matched] section)
MATCHED_TERMS: tuple[tuple[str, str], ...] = (
    (
        "Peterborough design",
        "A comparison of the people an intervention dealt with (the treated releases) against similar "
        "people released elsewhere at the same time, named after the social impact bond pilot at HMP "
        "Peterborough that used it.",
    ),
    (
        "Treated releases",
        "The releases of the group being evaluated: the people the intervention or establishment dealt with.",
    ),
    (
        "Weighted comparison group",
        "The people matched to the treated releases, each counted in proportion to how many treated "
        "people they stand in for, so that the group is as alike to the treated people as possible.",
    ),
    (
        "Covariate",
        "A characteristic of a person used to compare like with like, such as age, sex, previous "
        "convictions, sentence length or offence.",
    ),
    (
        "Bootstrap resamples",
        "The comparison repeated many times on groups drawn at random, with replacement, from the matched "
        "people; how much its result varies gives the interval and the p-value.",
    ),
    (
        "Propensity score",
        "The estimated chance that a person is in the group being evaluated, given their characteristics; "
        "people with similar scores are alike on those characteristics taken together.",
    ),
    (
        "Standardised mean difference",
        "How far apart the evaluated group and its comparison group are on one characteristic, in standard "
        "deviations: the nearer to zero, the better the two groups are balanced.",
    ),
)
# the national payment mechanism's terms (a [comparisons.adjusted] section)
ADJUSTED_TERMS: tuple[tuple[str, str], ...] = (
    (
        "Logistic regression",
        "A statistical model of the chance that something happens (here, that a person reoffends) given "
        "their characteristics.",
    ),
    (
        "Count model",
        "A statistical model of how many times something happens (here, the number of proven reoffences "
        "a person commits) given their characteristics.",
    ),
    (
        "Risk-adjusted baseline",
        "The reoffending expected for the people released now, predicted from how similar people "
        "reoffended in the baseline cohorts.",
    ),
    (
        "AUC (area under the curve)",
        "How well a model tells apart people who reoffend from those who do not: from one half, no better "
        "than chance, to one, perfect.",
    ),
    (
        "Pseudo R-squared",
        "How much better a model predicts than one that gives everyone the same chance: zero is no better, "
        "and low values are usual for models of individual behaviour.",
    ),
)
NORMAL_APPROXIMATION = (
    "Normal approximation",
    "A shortcut for working out intervals and p-values that assumes the figures follow the familiar "
    "bell-shaped curve; it is close for large groups and rough for small ones.",
)
# the [provisional] section's terms
PROVISIONAL_TERMS: tuple[tuple[str, str], ...] = (
    (
        "Backtest comparisons",
        "Checks of the provisional method on this data: estimates made as if at earlier extract dates, "
        "set against the final figures those cohorts later had.",
    ),
    (
        "Provisional estimate",
        "An estimate of a cohort's final rate made before its follow-up is complete; it is replaced by the "
        "final figure when the follow-up ends.",
    ),
)


def status_blocks(context: Context) -> list[Block]:
    """What the statistics status means (one sentence per status), and the pre-release access statement."""
    publication = context.config.publication
    blocks: list[Block] = []
    if publication.status:
        blocks += [
            Heading("Statistics status", anchor="status"),
            Paragraph(f"These are {publication.status.lower()}. {STATUSES[publication.status]}"),
        ]
    if publication.pre_release:
        blocks += [Heading("Pre-release access", anchor="pre-release"), Paragraph(publication.pre_release)]
    return blocks


def contact_blocks(context: Context) -> list[Block]:
    """The named responsible statistician, the press office, the contact and the invitation to give feedback."""
    publication = context.config.publication
    items: list[tuple[str, str]] = []
    if publication.statistician:
        items.append(("Responsible statistician", publication.statistician))
    if publication.contact:
        items.append(("Enquiries about these statistics", publication.contact))
    if publication.press_office:
        items.append(("Press enquiries", publication.press_office))
    if publication.feedback_email:
        email = publication.feedback_email
        items.append(
            (
                "Feedback",
                "We welcome feedback on this bulletin: what you use it for, and what would make it more useful. "
                f"Email {link(email, 'mailto:' + email)}.",
            )
        )
    return [Heading("Contact us", anchor="contact"), Definitions(items)] if items else []


def publication_definitions(context: Context) -> list[tuple[str, str]]:
    """Disclosure control, the symbols, what is provisional, revisions, methodology and contact."""
    rule = context.config.disclosure
    items = [
        ("Disclosure control", rule.describe()),
        (
            "Symbols",
            f"{SHORTHAND} confidential: suppressed to protect the people in small groups; [x] not available; "
            "[z] not applicable (the figure does not exist for its row: no one in the group was released in that "
            "cohort, or a revised figure the previous bulletin did not publish). The data tables leave such "
            f"cells empty and mark a withheld row {SHORTHAND}, whatever the reason.",
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
    if publication.statistician:
        meta.append(("Responsible statistician", publication.statistician))
    if publication.contact:
        meta.append(("Contact", publication.contact))
    return meta


def figure(context: Context, name: str, caption: str) -> Block:
    """The chart ``name`` with its caption and alt text, or the sentence saying why it is left out (too few
    published points: reoffend/bulletin/chartrules.py)."""
    if name not in context.figures:
        return Paragraph(context.left_out.get(name, "There is no chart here."))
    return Figure(name, caption, alt_text(context, name), context.figures[name])


NOT_APPLICABLE = "[z]"  # Analysis Function shorthand: not applicable (the Symbols definition says so)


def and_list(items: Sequence[str]) -> str:
    """Items in a sentence: "a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" and {items[-1]}"


def withheld_cohorts_words(trend: pl.DataFrame, column: str, period: str) -> str:
    """The sentence naming, in words, the cohorts whose ``column`` is withheld (empty when none is): the text
    never reads a withheld figure out as a number (issue 26)."""
    withheld = trend.filter(pl.col(column).is_null())["cohort"].to_list()
    if not withheld:
        return ""
    names = [cohort_words(c, period) for c in withheld]
    return (
        f" The figures of {counted(len(names), 'cohort')} ({and_list(names)}) "
        f"{plural(len(names), 'is', 'are')} withheld ({SHORTHAND} in the table) to protect the people in groups "
        "this small."
    )


def withheld_cohorts(number_of: int) -> str:
    """The sentence of a trend chart's alt text on its withheld cohorts, kept on the axis and marked."""
    if not number_of:
        return ""
    return f" {count(number_of)} withheld {plural(number_of, 'cohort')} {'is' if number_of == 1 else 'are'} marked [c]."


def alt_text(context: Context, name: str) -> str:
    """The finding a chart shows, for its alt text (the same words as the SVG's ``<desc>``)."""
    return context.charts.get(name, ("", f"Chart: {name.replace('_', ' ')}"))[1]


def chart_findings(
    params: MeasureParams,
    trend: pl.DataFrame,
    establishment_summary: pl.DataFrame | None,
    lag: pl.DataFrame | None,
    breakdowns: Sequence[Any],
    labels: Labels | None = None,
) -> dict[str, tuple[str, str]]:
    """(title, finding) of each chart, for the SVG's ``<title>``/``<desc>`` and the image's alt text.

    The finding states what the chart shows in numbers (formatted from the tables), not the chart type.
    """
    period = params.period
    labels = labels or Labels()
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
            f"{cohort_words(last['cohort'], period)}"
            # with two cohorts the highest and the lowest are those two: not said twice
            + (
                f"; the highest was {pct(high['binary_rate'])} ({cohort_words(high['cohort'], period)}) and the "
                f"lowest {pct(low['binary_rate'])} ({cohort_words(low['cohort'], period)})."
                if shown.height > 2
                else "."
            )
            + withheld_cohorts(trend.height - shown.height),
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
            f"Proven reoffending rate by establishment, {cohort_words(s['cohort'], period)}",
            f"Of {counted(plotted, 'published establishment')}, {count(s['higher_unadjusted'])} had a rate whose "
            "confidence interval lies wholly above the rate for all releases "
            f"({cell(s, 'all_releases_binary_rate', pct)}) and "
            f"{count(s['lower_unadjusted'])} wholly below ({count(s['higher'])} and {count(s['lower'])} after the "
            "adjustment for multiple testing)"
            + (
                f"; {counted(s['suppressed_establishments'], 'suppressed establishment')} "
                f"{plural(s['suppressed_establishments'], 'is', 'are')} not in the chart."
                if s["suppressed_establishments"]
                else "."
            ),
        )
    for breakdown in breakdowns:
        latest = shown.row(-1, named=True)["cohort"] if shown.height else trend.row(-1, named=True)["cohort"]
        rows = breakdown.latest(latest)
        parts = [
            f"{labels.value(breakdown.column, r[breakdown.column])}: {pct(r['binary_rate'])}"
            for r in rows.iter_rows(named=True)
            if r["binary_rate"] is not None
        ]
        withheld = [
            labels.value(breakdown.column, r[breakdown.column])
            for r in rows.iter_rows(named=True)
            if r["binary_rate"] is None
        ]
        name = labels.name(breakdown.column)
        findings[breakdown.name] = (
            f"Proven reoffending rate by {name}, {cohort_words(latest, period)}",
            f"Proven reoffending rate by {name} for people released in {cohort_words(latest, period)}: "
            + ("; ".join(parts) if parts else "no group's figures can be published")
            + "."
            # a withheld group is said in words, not read out as "[c]" (issue 26)
            + (
                f" The figures of {and_list(withheld)} {plural(len(withheld), 'is', 'are')} withheld."
                if withheld and parts
                else ""
            ),
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


def _whole(blocks: Callable[[Context], list[Block]]) -> Callable[[Context, Mapping[str, Any]], list[Block]]:
    """A section that needs the context only, as one of :data:`SECTIONS`."""
    return lambda context, _latest: blocks(context)


# The bulletin, section by section in reading order: each gives its blocks from the context and the latest
# cohort's trend row (none when it does not apply). The furniture of official statistics comes after the
# figures, and provenance last ("About these statistics").
SECTIONS: tuple[Callable[[Context, Mapping[str, Any]], list[Block]], ...] = (
    main_points_blocks,
    _whole(things_to_know),
    trend_blocks,
    frequency_blocks,
    _whole(revision_blocks),
    establishments_section,
    breakdowns_section,
    comparisons_section,
    court_lag_section,
    incomplete_blocks,
    _whole(source_and_quality_blocks),
    _whole(glossary_blocks),
    _whole(status_blocks),
    _whole(contact_blocks),
    _whole(about_blocks),
)
