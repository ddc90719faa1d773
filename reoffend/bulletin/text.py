"""The words of the bulletin, composed from the computed tables (docs/bulletin.md, "What the bulletin says").

Every number written here is formatted from a value in one of the tables written under ``tables/`` (rates as
percentages with one decimal, counts with thousands separators), so a reader can trace each one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from .. import __version__
from ..measure import MeasureParams
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


# ------------------------------------------------------------------------------------------- formatting
def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def one(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}"


def two(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}"


def level(confidence: float) -> str:
    return f"{100 * confidence:g}%"


def p_text(p_value: float | None, floor: float) -> str:
    if p_value is None:
        return "no test possible"
    return f"p < {floor:g}" if p_value < floor else f"p = {p_value:.3f}"


def interval(low: float | None, high: float | None, formatter=pct) -> str:
    return f"{formatter(low)} to {formatter(high)}"


# ---------------------------------------------------------------------------------------------- pieces
def change_sentence(row: Mapping[str, Any], context: Context) -> str:
    """The change in the binary rate since an earlier cohort, with its significance in words."""
    confidence = context.params.confidence
    difference = row["difference_pp"]
    earlier = f"{row['earlier_cohort']} ({pct(row['earlier_binary_rate'])})"
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
        f"interval for the change is {one(row['difference_pp_low'])} to {one(row['difference_pp_high'])} "
        "percentage points."
    )


def events_sentence(latest: Mapping[str, Any], changes: pl.DataFrame) -> str:
    text = (
        f"There were {one(latest['events_per_100'])} reconviction events (court appearances at which a "
        f"reoffence was proven) per 100 people released in {latest['cohort']}"
    )
    parts = []
    for row in changes.iter_rows(named=True):
        change = row["events_per_100_change_pct"]
        if change is None:
            continue
        direction = "higher" if change > 0 else "lower" if change < 0 else "the same"
        amount = f"{one(abs(change))}% {direction}" if change else "the same"
        parts.append(f"{amount} than the {one(row['earlier_events_per_100'])} of {row['earlier_cohort']}")
    if parts:
        text += ", " + " and ".join(parts)
    return text + "."


def trend_table(context: Context) -> Table:
    conf = level(context.params.confidence)
    rows = [
        [
            r["cohort"],
            count(r["cohort_size"]),
            count(r["reoffenders"]),
            pct(r["binary_rate"]),
            interval(r["binary_rate_low"], r["binary_rate_high"]),
            one(r["events_per_100"]),
            two(r["reoffences_per_offender"]),
        ]
        for r in context.trend.iter_rows(named=True)
    ]
    return Table(
        caption="Proven reoffending by cohort",
        columns=[
            "Cohort",
            "Released",
            "Reoffenders",
            "Rate",
            f"{conf} confidence interval",
            "Events per 100",
            "Reoffences per person",
        ],
        rows=rows,
        source="trend.csv",
        numeric=[False, True, True, True, True, True, True],
        highlight_last=True,
    )


# ---------------------------------------------------------------------------------------------- compose
def compose(context: Context) -> Document:
    params, facts = context.params, context.facts
    window = params.window
    latest = context.trend.row(-1, named=True)
    conf = level(params.confidence)
    blocks: list[Block] = []

    # -- main points
    blocks.append(Heading("Main points", anchor="main-points"))
    blocks.append(
        KeyFigures(
            [
                KeyFigure(
                    pct(latest["binary_rate"]),
                    f"proven reoffending rate, {latest['cohort']}",
                    f"{conf} confidence interval {interval(latest['binary_rate_low'], latest['binary_rate_high'])}",
                ),
                KeyFigure(
                    count(latest["cohort_size"]),
                    f"people released in {latest['cohort']}",
                    f"of whom {count(latest['reoffenders'])} reoffended",
                ),
                KeyFigure(one(latest["events_per_100"]), "reconviction events per 100 released"),
                KeyFigure(two(latest["reoffences_per_offender"]), "proven reoffences per person released"),
            ]
        )
    )
    points = [
        f"**{pct(latest['binary_rate'])}** of the {count(latest['cohort_size'])} people released from custody in "
        f"{latest['cohort']} committed a proven reoffence within {window.follow_up_months} months "
        f"({count(latest['reoffenders'])} people; {conf} confidence interval "
        f"{interval(latest['binary_rate_low'], latest['binary_rate_high'])}).",
    ]
    points += [change_sentence(row, context) for row in context.changes.iter_rows(named=True)]
    earlier_kinds = set(context.changes["comparison"].to_list())
    if "same cohort a year earlier" not in earlier_kinds:
        points.append(f"No cohort from a year before {latest['cohort']} has complete follow-up to compare with.")
    points.append(events_sentence(latest, context.changes))
    points.append(incomplete_sentence(context))
    blocks.append(Bullets(points))

    # -- trend
    blocks.append(Heading("Proven reoffending over time", anchor="trend"))
    first = context.trend.row(0, named=True)
    blocks.append(
        Paragraph(
            f"The proven reoffending rate was {pct(first['binary_rate'])} for people released in {first['cohort']} "
            f"and {pct(latest['binary_rate'])} for those released in {latest['cohort']}. The shaded band is the "
            f"{conf} confidence interval: the range of rates consistent with the cohort's size."
        )
    )
    blocks.append(
        Figure(
            "trend",
            f"Proven reoffending rate by cohort, with {conf} confidence intervals (Wilson score).",
            "Line chart of the proven reoffending rate for each cohort with a shaded confidence band",
            context.figures["trend"],
        )
    )
    blocks.append(trend_table(context))

    blocks.append(Heading("How often people reoffend", anchor="frequency"))
    blocks.append(
        Paragraph(
            "The frequency measure counts reconviction events: each court appearance at which one or more "
            "reoffences are proven. Per 100 people released it was "
            f"{one(latest['events_per_100'])} in {latest['cohort']}, and {one(first['events_per_100'])} in "
            f"{first['cohort']}."
        )
    )
    blocks.append(
        Figure(
            "events_per_100",
            "Reconviction events per 100 people released, by cohort (latest cohort highlighted).",
            "Bar chart of reconviction events per 100 people released for each cohort",
            context.figures["events_per_100"],
        )
    )

    # -- establishments
    if context.establishments is not None and context.establishment_summary is not None:
        blocks += establishment_blocks(context, latest)

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
                columns=["Cohort", "Releases", "Releases with incomplete follow-up"],
                rows=[
                    [r["cohort"], count(r["releases"]), count(r["incomplete_releases"])]
                    for r in incomplete.iter_rows(named=True)
                ],
                source="cohorts.csv",
                numeric=[False, True, True],
            )
        )

    # -- about
    blocks += about_blocks(context)

    publisher = f"{context.config.publisher}. " if context.config.publisher else ""
    subtitle = (
        f"People released from custody in {latest['cohort']}, followed up for {window.follow_up_months} months. "
        f"Data extracted {facts['extract_date']}."
    )
    footer = (
        f"{publisher}Produced with reoffend {__version__}. Every number in this bulletin is in the CSV files "
        "under `tables/`; `manifest.json` records the inputs (with SHA-256 checksums) and every parameter."
    )
    return Document(title=context.config.title, subtitle=subtitle, blocks=blocks, footer=footer)


def incomplete_sentence(context: Context) -> str:
    extract = context.facts["extract_date"]
    incomplete = context.completeness.filter(~pl.col("complete"))
    window = context.params.window
    if not incomplete.height:
        return f"Every cohort in the data had complete follow-up at the extract date, {extract}, and is included."
    parts = [
        f"{r['cohort']} ({count(r['incomplete_releases'])} of {count(r['releases'])} releases)"
        for r in incomplete.iter_rows(named=True)
    ]
    return (
        f"Not yet included: {'; '.join(parts)}. Their follow-up was not complete at the extract date, {extract}: "
        f"an offence committed within {window.follow_up_months} months of release can still be proven by a "
        f"conviction up to {window.waiting_period_months} months later. These cohorts will be published when "
        "their follow-up is complete."
    )


def establishment_blocks(context: Context, latest: Mapping[str, Any]) -> list[Block]:
    assert context.establishments is not None and context.establishment_summary is not None, "no establishments"
    summary = context.establishment_summary.row(0, named=True)
    conf = level(context.params.confidence)
    column = context.facts["establishment_column"]
    outliers = context.establishments.filter(pl.col("compared_with_all") != "similar")
    blocks: list[Block] = [
        Heading(f"Latest cohort by {column.replace('_', ' ')}", anchor="establishments"),
        Paragraph(
            f"In {latest['cohort']}, {count(summary['higher'])} of the {count(summary['establishments'])} "
            f"establishments had a {conf} confidence interval wholly above the rate for all releases "
            f"({pct(summary['all_releases_binary_rate'])}), and {count(summary['lower'])} wholly below. Small "
            "establishments have wide intervals; with many establishments, a few will fall outside the band by "
            "chance alone, and differences in the mix of people released are not taken into account here."
        ),
        Figure(
            "establishments",
            f"Proven reoffending rate by establishment, {latest['cohort']}, highest first, with {conf} "
            "confidence intervals; the dashed line is the rate for all releases.",
            "Dot chart of each establishment's proven reoffending rate with confidence intervals, sorted",
            context.figures["establishments"],
        ),
    ]
    if outliers.height:
        blocks.append(
            Table(
                caption=f"Establishments whose interval lies above or below the rate for all, {latest['cohort']}",
                columns=["Establishment", "Released", "Reoffenders", "Rate", f"{conf} confidence interval", "Compared"],
                rows=[
                    [
                        str(r[column]),
                        count(r["cohort_size"]),
                        count(r["reoffenders"]),
                        pct(r["binary_rate"]),
                        interval(r["binary_rate_low"], r["binary_rate_high"]),
                        r["compared_with_all"],
                    ]
                    for r in outliers.iter_rows(named=True)
                ],
                source="establishments.csv",
                numeric=[False, True, True, True, True, False],
            )
        )
    return blocks


def comparison_blocks(section: ComparisonSection) -> list[Block]:
    blocks: list[Block] = [Heading(section.title, anchor=f"comparison-{section.name}"), Paragraph(section.intro)]
    blocks.append(Bullets(section.headline))
    if section.rows.height:
        blocks.append(
            Table(
                caption=section.table_caption,
                columns=[heading for heading, _cell, _numeric in section.table_columns],
                rows=[
                    [cell(row) for _h, cell, _n in section.table_columns] for row in section.rows.iter_rows(named=True)
                ],
                source=next(iter(section.tables)),
                numeric=[numeric for _h, _cell, numeric in section.table_columns],
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
    span = cohorts[0] if len(cohorts) == 1 else f"{cohorts[0]} to {cohorts[-1]}"
    return [
        Heading(f"Why we wait {window.waiting_period_months} months: the court lag", anchor="court-lag"),
        Paragraph(
            "An offence is only counted once a court has convicted for it, and courts take time. For the "
            f"{count(longest['cohort_size'])} people released in {span}, whose convictions can be followed for "
            f"{longest['waiting_period_months']} months after the end of the follow-up, "
            f"{pct(at_zero['share_of_reoffences'])} of the proven reoffences eventually counted had been convicted "
            f"by the end of the {window.follow_up_months}-month follow-up itself. The "
            f"{window.waiting_period_months}-month waiting period used here captures "
            f"{pct(used['share_of_reoffences'])} of them, and {pct(used['share_of_reoffenders'])} of the people "
            f"eventually counted as reoffenders. Without a waiting period the proven reoffending rate of these "
            f"people would be {pct(at_zero['binary_rate'])} rather than {pct(longest['binary_rate'])}."
        ),
        Figure(
            "court_lag",
            "Share of eventual proven reoffences (and reoffenders) counted, by the length of the "
            f"waiting period for the conviction after the {window.follow_up_months}-month follow-up.",
            "Line chart of the share of eventual proven reoffences captured by waiting periods of 0 to 12 months",
            context.figures["court_lag"],
        ),
        Table(
            caption="Proven reoffending counted by the length of the waiting period",
            columns=["Waiting period (months)", "Reoffences", "Share of reoffences", "Reoffenders", "Rate"],
            rows=[
                [
                    str(r["waiting_period_months"]),
                    count(r["reoffences"]),
                    pct(r["share_of_reoffences"]),
                    count(r["reoffenders"]),
                    pct(r["binary_rate"]),
                ]
                for r in lag.iter_rows(named=True)
            ],
            source="court_lag.csv",
            numeric=[True] * 5,
        ),
    ]


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
            f"release) and proven by a court conviction or caution within those months or a further "
            f"{window.waiting_period_months} months (the waiting period, which allows for the time courts take)."
            + (f" Offences coded {excluded} are not new offences and are not counted." if excluded else ""),
        ),
        (
            "Proven reoffending rate",
            "The share of the cohort with at least one proven reoffence (the binary measure).",
        ),
        (
            "Reconviction events per 100",
            "Court appearances at which at least one reoffence was proven, per 100 people released (the "
            "frequency measure).",
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
        Definitions(definitions),
        Paragraph(source, css="note"),
    ]
