"""The bulletin's optional ``[provisional]`` section (docs/bulletin.md, "Provisional figures"; docs/nowcast.md).

The latest cohorts still in follow-up, as provisional estimates with intervals from :mod:`reoffend.nowcast`,
marked as estimates in the words, the table and the chart (a dashed line and hollow points beside the solid
line and filled points of the final figures), with the coverage of the intervals in a backtest on the same
data quoted. Pure: config, inputs and parameters in; tables, a chart and document blocks out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import polars as pl

from ..disclosure import SHORTHAND, DisclosureRule, withhold
from ..errors import UsageError
from ..measure import MeasureParams
from ..report import format as fmt
from .config import ProvisionalConfig
from .document import Block, Figure, Heading, Paragraph, Table, strong
from .text import withheld_cohorts

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

    from ..nowcast import CheckResult

PROVISIONAL_COLUMNS = (
    "binary_rate_provisional",
    "binary_rate_provisional_low",
    "binary_rate_provisional_high",
    "events_per_100_provisional",
    "events_per_100_provisional_low",
    "events_per_100_provisional_high",
    "reoffences_per_offender_provisional",
    "reoffences_per_offender_provisional_low",
    "reoffences_per_offender_provisional_high",
    "observed_reoffenders",
)
# what an unreliable estimate loses (docs/nowcast.md, "Honesty by default"): its figures; not what was observed
UNRELIABLE_COLUMNS = tuple(c for c in PROVISIONAL_COLUMNS if c != "observed_reoffenders")
NOT_AVAILABLE = "[x]"


@dataclass
class ProvisionalSection:
    rows: pl.DataFrame  # nowcast rows of the cohorts shown (status provisional), disclosure-controlled
    backtest: pl.DataFrame | None  # the backtest summary per band (None: not run, or not possible)
    origins: int
    backtest_note: str  # why there is no backtest, when there is none
    confidence: float
    skipped: list[str]  # earlier cohorts still in follow-up, not shown (config cohorts)
    check: CheckResult | None = None  # the honesty check of the estimates shown (docs/nowcast.md)
    withheld: bool = False  # the check failed and the config does not allow publishing: figures withheld

    def published(self) -> int:
        """How many cohorts have a published provisional estimate (none: no chart, chartrules.py)."""
        return int(self.rows["binary_rate_provisional"].is_not_null().sum())


def compute_provisional(
    config: ProvisionalConfig, inputs, params: MeasureParams, rule: DisclosureRule
) -> ProvisionalSection | None:
    """The nowcast of the latest ``config.cohorts`` incomplete cohorts and, if asked, its backtest.

    None when no cohort is incomplete. A cohort whose observed counts fail the disclosure rule has its
    provisional figures withheld (they would tell about the people seen so far).
    """
    # imported here: reoffend.nowcast imports numpy (reoffend.drift), which every bulletin would otherwise load
    # on the main thread before its chart thread starts (bulletin.build.ChartWorker imports it there)
    from ..nowcast import (
        CHECK_MONTHS,
        BacktestParams,
        CheckParams,
        NowcastParams,
        backtest,
        check_nowcast,
        coverage_check,
        nowcast,
    )

    nparams = NowcastParams(replace(params, by=("cohort",), incomplete="exclude"), final_cohorts=0)
    rows = nowcast(inputs, nparams).rows.filter(pl.col("status") == "provisional")
    if not rows.height:
        return None
    shown = rows.tail(config.cohorts) if config.cohorts else rows
    skipped = rows["cohort"].to_list()[: rows.height - shown.height]
    rows = shown
    reasons = [
        rule.fails(size, seen)
        for size, seen in zip(rows["cohort_size"].to_list(), rows["observed_reoffenders"].to_list(), strict=True)
    ]
    # one mark, whatever the reason (docs/bulletin.md, "Disclosure control")
    rows = withhold(rows, [bool(r) for r in reasons], PROVISIONAL_COLUMNS, SHORTHAND)
    summary, origins, note = None, 0, "not run ([provisional] backtest = false)"
    options = CheckParams(min_coverage=config.min_coverage)
    check = None
    shown_months = rows.filter(pl.col("binary_rate_provisional").is_not_null()).get_column("months_observed")
    # with no estimate shown the check judges the comparisons the backtest sentence quotes (6 or more months)
    months_from = int(shown_months.min()) if shown_months.len() else CHECK_MONTHS  # type: ignore[arg-type]
    if config.backtest:
        try:
            result = backtest(inputs, nparams, BacktestParams(config.origins, config.origin_step))
            summary, origins, note = result.rows, len(result.origins), ""
            check = coverage_check(result.detail, months_from, options, params.confidence)
        except UsageError as error:
            note = str(error)
            check = coverage_check(None, months_from, options, params.confidence, note)
    else:  # honesty by default: the quoted backtest is off, the quick check is not
        check = check_nowcast(inputs, nparams, rows, options)
    withheld = check.status == "failed" and not config.allow_low_coverage
    if withheld:
        rows = rows.with_columns(pl.lit(None, rows.schema[c]).alias(c) for c in UNRELIABLE_COLUMNS)
    return ProvisionalSection(rows, summary, origins, note, params.confidence, skipped, check, withheld)


def check_sentence(section: ProvisionalSection) -> str:
    """What the honesty check found and, when the estimates are withheld, why (docs/bulletin.md)."""
    check = section.check
    if check is None or check.status == "passed":
        return ""
    if not section.withheld and not section.published():  # no estimate to read with caution (all withheld)
        return ""
    if check.status == "failed" and section.withheld:
        return (
            f"{strong('The estimates are not published:')} {check.reason}. They are shown as {NOT_AVAILABLE} "
            "until the estimate holds on this data again (see the methodology)."
        )
    if check.status == "failed":
        return f"{strong('Read these estimates with caution:')} {check.reason}; they are published as configured."
    return f"{strong('Read these estimates with caution:')} {check.reason}."


def _band(summary: pl.DataFrame, label: str) -> dict | None:
    found = summary.filter(pl.col("months_observed_band") == label)
    return found.row(0, named=True) if found.height else None


def backtest_sentence(section: ProvisionalSection) -> str:
    conf = fmt.level(section.confidence)
    if section.backtest is None:
        return f"No backtest could be run on this data: {section.backtest_note}."
    six = _band(section.backtest, "6+")
    if six is None or not six["cohort_origins"]:
        return "The backtest found no cohort with 6 or more months observed to check."
    nine = _band(section.backtest, "9+")
    text = (
        f"How far to trust them: replaying the estimate on this data at earlier extract dates, the {conf} "
        f"intervals held the final rate in {fmt.pct(six['binary_rate_coverage'], 0)} of the {six['cohort_origins']} "
        f"cohort estimates made with 6 or more months observed (at {six['origins']} extract dates), and the "
        f"estimates were {six['binary_rate_mae_pp']:.1f} percentage points from the final rate on average"
    )
    if nine is not None and nine["cohort_origins"]:
        text += f" ({nine['binary_rate_mae_pp']:.1f} with 9 or more months observed)"
    return text + "."


def provisional_chart(
    trend: pl.DataFrame, section: ProvisionalSection, title: str = "", desc: str = ""
) -> tuple[bytes, bytes]:
    """Final rates (solid line, filled points) and provisional estimates (dashed line, hollow points, with their
    intervals as error bars), on one cohort axis. A withheld cohort, final or provisional, keeps its place on the
    axis, marked ``[c]``, and no line is drawn across it (docs/bulletin.md, "Charts"); estimates withheld by the
    honesty check are not on the chart at all (the text says why)."""
    from .figures import (  # matplotlib: drawn in the chart thread
        BLUE,
        DARK,
        NAVY,
        ORANGE,
        PERCENT,
        WIDE_TICKS_LEFT,
        WIDTH,
        _cohort_axis,
        _gap_heights,
        _mark_withheld,
        _nan,
        render,
    )

    estimates = section.rows.head(0) if section.withheld else section.rows
    cohorts = [str(c) for c in trend["cohort"].to_list() + estimates["cohort"].to_list()]
    finals = trend.height
    xf = list(range(finals))
    xp = [finals + i for i in range(estimates.height)]
    rate = _nan(trend["binary_rate"].to_list())
    est = _nan(estimates["binary_rate_provisional"].to_list())
    low = _nan(estimates["binary_rate_provisional_low"].to_list())
    high = _nan(estimates["binary_rate_provisional_high"].to_list())
    withheld = [v != v for v in rate + est]  # NaN: withheld ([c])
    published = [v for v in rate + high if v == v]
    top = max(published) if published else 100.0
    ceiling = min(100, max(10, top * 1.15))

    def draw(figure: MplFigure) -> None:
        axes = figure.subplots()
        (final_line,) = axes.plot(xf, rate, color=BLUE, marker="o", linewidth=2, label="final (complete cohorts)")
        final_line.set_gid("final-line")
        shown = [i for i, e in enumerate(est) if e == e]
        if shown:
            # the dashed line continues from the last final figure into the estimates, unless cohorts between
            # them are not shown or either end is withheld (NaN breaks it)
            joined = bool(xf) and not section.skipped
            join_x = ([xf[-1]] if joined else []) + xp
            join_y = ([rate[-1]] if joined else []) + est
            (dashed,) = axes.plot(join_x, join_y, color=ORANGE, linestyle="--", linewidth=1.6)
            dashed.set_gid("provisional-line")
            errors = [[est[i] - low[i] for i in shown], [high[i] - est[i] for i in shown]]
            axes.errorbar(
                [xp[i] for i in shown],
                [est[i] for i in shown],
                yerr=errors,
                fmt="o",
                markersize=7,
                markerfacecolor="white",
                markeredgecolor=ORANGE,
                markeredgewidth=1.8,
                ecolor=ORANGE,
                elinewidth=1.2,
                capsize=4,
                linestyle="none",
                label=f"provisional estimate, {fmt.level(section.confidence)}\nrange for the final rate",
            )
        if xp:
            axes.axvline(finals - 0.5, color=NAVY, linewidth=0.8, linestyle=":")
        _mark_withheld(axes, withheld, cohorts, _gap_heights(rate + est, ceiling / 2))
        _cohort_axis(axes, cohorts, withheld)  # thinned as the trend charts' are, with very many cohorts
        axes.yaxis.set_major_formatter(PERCENT)
        axes.set_ylim(0, ceiling)
        axes.set_xlabel("cohort (period of release)")
        axes.set_ylabel("reoffenders as %\nof released")
        axes.set_title("Proven reoffending rate:\nfinal and provisional", color=DARK)
        axes.legend(loc="lower left")

    left = WIDE_TICKS_LEFT if ceiling >= 100 else 0.95  # room for "100%" and the axis title (figures.py)
    return render(draw, (WIDTH, 4.8), (left, 0.15, 0.7, 1.25), title, desc)  # legible on a phone (figures.py)


def provisional_finding(section: ProvisionalSection, trend: pl.DataFrame | None = None) -> tuple[str, str]:
    """The chart's title and description: the estimates shown and, with ``trend``, how many cohorts on its axis
    are withheld and marked [c] (as provisional_chart draws them)."""
    shown = section.rows.filter(pl.col("binary_rate_provisional").is_not_null())
    marked = 0
    if trend is not None:
        marked = int(trend["binary_rate"].is_null().sum())
        marked += 0 if section.withheld else section.rows.height - shown.height
    parts = [
        f"{r['cohort']} about {fmt.pct(r['binary_rate_provisional'])} "
        f"({fmt.pct(r['binary_rate_provisional_low'])} to {fmt.pct(r['binary_rate_provisional_high'])}, "
        f"{r['months_observed']} months observed)"
        for r in shown.iter_rows(named=True)
    ]
    return (
        "Proven reoffending rate: final and provisional",
        "Final rates of complete cohorts, then provisional estimates for cohorts still in follow-up: "
        + ("; ".join(parts) if parts else "none published")
        + "."
        + withheld_cohorts(marked),
    )


def provisional_blocks(
    section: ProvisionalSection, figure_png: bytes | None, alt: str, waiting: int, follow_up: int
) -> list[Block]:
    """The section: what the estimates are, the honesty check, the chart (left out, and said so, when no
    estimate is published: chartrules.py), what the range covers, the backtest and the table."""
    conf = fmt.level(section.confidence)

    missing = NOT_AVAILABLE if section.withheld else SHORTHAND  # withheld as unreliable, or for disclosure

    def pct(value: float | None) -> str:
        return missing if value is None else fmt.pct(value)

    def rate_range(row: dict) -> str:
        if row["binary_rate_provisional_low"] is None:
            return missing
        return f"{pct(row['binary_rate_provisional_low'])} to {pct(row['binary_rate_provisional_high'])}"

    def events(row: dict) -> str:
        value = row["events_per_100_provisional"]
        return missing if value is None else fmt.number(value, 1)

    rows = [
        [
            r["cohort"],
            str(r["months_observed"]),
            fmt.count(r["cohort_size"]),
            SHORTHAND if r["observed_reoffenders"] is None else fmt.count(r["observed_reoffenders"]),
            pct(r["binary_rate_provisional"]),
            rate_range(r),
            events(r),
        ]
        for r in section.rows.iter_rows(named=True)
    ]
    return [
        Heading("Provisional figures for cohorts still in follow-up", anchor="provisional"),
        Paragraph(
            strong("These are provisional estimates, not final statistics.")
            + " The cohorts above are published only once "
            f"the {follow_up}-month follow-up and the {waiting}-month waiting period of their last release are over. "
            "For the latest "
            "cohorts still in follow-up, the estimates below add to the proven reoffending already observed what "
            "the complete cohorts say is still to come, given how long each person has been followed. They follow "
            "each cohort's own level of reoffending as far as it already shows, and allow for convictions now "
            "reaching court more slowly (or quickly) than for the complete cohorts; a change that does not yet show "
            "in what is observed can still make them wrong in ways the ranges do not show."
            + (
                f" In the chart they are the hollow points on the dashed line, with their {conf} ranges; final "
                "figures are the filled points on the solid line."
                if figure_png is not None
                else ""
            )
        ),
        *([Paragraph(check_sentence(section))] if check_sentence(section) else []),
        # the chart right after what the estimates are (kept with its heading in print), then the caveats
        Figure(
            "provisional",
            f"Proven reoffending rate: final (solid line) and provisional estimates with the {conf} range for "
            "the final figure (dashed line, hollow points).",
            alt,
            figure_png,
        )
        if figure_png is not None
        else Paragraph(
            "There is no chart here: no provisional estimate can be published, so a chart would show none. The "
            "table lists the cohorts still in follow-up."
        ),
        Paragraph(
            f"What the range covers: the {conf} range of a provisional estimate is where the cohort's final "
            "published rate is expected to fall, allowing only for the reoffending still to be proven. It is not a "
            "confidence interval like those of the final cohorts, which also allow for the chance variation of a "
            "cohort of its size: a provisional figure is less certain than a final one, not more, and its "
            "confidence interval once final will be as wide as a final cohort's of the same size."
        ),
        Paragraph(
            backtest_sentence(section)
            + (
                f" Earlier cohorts still in follow-up, not shown here: {', '.join(section.skipped)}."
                if section.skipped
                else ""
            )
        ),
        Table(
            caption="Provisional estimates for cohorts still in follow-up (estimates, not final figures)",
            columns=[
                "Cohort",
                "Months observed",
                "People released (index releases)",
                "Reoffenders seen so far",
                "Provisional rate (estimate)",
                f"{conf} range for the final rate (not a confidence interval)",
                "Events per 100 (estimate)",
            ],
            rows=rows,
            source="provisional.csv",
            numeric=[False, True, True, True, True, False, True],
        ),
    ]
