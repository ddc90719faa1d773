"""The bulletin's charts, as PNG and SVG bytes (matplotlib figures without pyplot: no GUI backend).

Deterministic: the same numbers give byte-identical files (a fixed ``svg.hashsalt``, no date or creator in
the metadata). The SVG keeps its text as text (``svg.fonttype: none``, in DejaVu Sans with a sans-serif
fallback): a screen reader, a search and a copy find the words, the file is smaller, and it is written in
about a third less time than with each glyph drawn as a path (bench/NOTES.md).

Accessible (docs/bulletin.md, "Accessibility"): every colour that carries meaning has a contrast of at least
3:1 against the white background (WCAG 2.1 success criterion 1.4.11, checked in the tests), the categories
are told apart by marker shape as well as colour and never by red against green alone (the Government
Analysis Function's categorical palette), each SVG carries a ``<title>`` and ``<desc>`` stating its finding,
and a suppressed value (``[c]``, reoffend/disclosure.py) is never plotted.
"""

from __future__ import annotations

import html
import io
import logging
import re
import textwrap
import warnings
from collections.abc import Callable
from typing import Any

import matplotlib
import polars as pl
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import Formatter, FuncFormatter, MaxNLocator
from matplotlib.typing import RcKeyType

from ..errors import printable

# A label in a script the font lacks is drawn as boxes, which the text and the tables say in words: matplotlib's
# own notes of it (a warning per glyph, a log line per font looked for) never reach the terminal or a cron log.
warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
logging.getLogger("matplotlib").setLevel(logging.ERROR)

BLUE = "#1d70b8"  # 5.2:1 against white
DARK = "#0b0c0c"
GREY = "#505a5f"  # 7.1:1
MID = "#5694ca"  # 3.2:1: earlier cohorts' bars, the edges of an interval band
BAND = "#c5d9ee"  # fill of an interval band only (its edges are drawn in MID)
NAVY = "#12436d"  # 10.3:1 (Analysis Function palette: dark blue)
ORANGE = "#f46a25"  # 3.0:1 (Analysis Function palette: orange)
SILVER = "#6f777b"  # 4.6:1
# Colours that carry meaning; tests check each against white at 3:1 or more.
MEANINGFUL = (BLUE, DARK, GREY, MID, NAVY, ORANGE, SILVER)

STYLE: dict[RcKeyType, Any] = {
    "svg.hashsalt": "reoffend-bulletin",
    "svg.fonttype": "none",
    "text.parse_math": False,  # a label is shown as written: "$\\foo{$" is a name, not mathtext
    "font.family": ["DejaVu Sans", "sans-serif"],
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": GREY,
    "axes.labelcolor": DARK,
    "axes.titleweight": "bold",
    "axes.titlesize": 12,
    "axes.titlelocation": "left",
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#dddddd",
    "grid.linewidth": 0.8,
    "xtick.color": GREY,
    "ytick.color": GREY,
    "legend.frameon": False,
    "figure.dpi": 100,
}
PNG_METADATA = {"Software": "reoffend"}
SVG_METADATA = {"Date": None, "Creator": "reoffend"}
PERCENT = FuncFormatter(lambda value, _pos: f"{value:.0f}%")

TITLE_WIDTH = 62  # characters of a chart title a line (12 pt bold over the 6.1 inches of a breakdown's axes)


def render(
    draw: Callable[[Figure], None],
    size: tuple[float, float],
    margins: tuple[float, float, float, float],
    title: str = "",
    desc: str = "",
) -> tuple[bytes, bytes]:
    """PNG (at 144 dpi, sharp on high-density screens) and SVG bytes of the figure ``draw`` fills in.

    ``margins`` (left, right, top, bottom) are in inches: a fixed layout, much cheaper than matplotlib's
    constrained layout, which measures every tick label again for each file. ``title`` and ``desc`` become
    the SVG's ``<title>`` and ``<desc>`` (its accessible name and description).
    """
    width, height = size
    left, right, top, bottom = margins
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=size)
        figure.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height, bottom=bottom / height)
        draw(figure)
        _printable_labels(figure)
        png, svg = io.BytesIO(), io.BytesIO()
        figure.savefig(png, format="png", dpi=144, metadata=PNG_METADATA, facecolor="white")
        figure.savefig(svg, format="svg", metadata=SVG_METADATA, facecolor="white")
    return png.getvalue(), label_svg(svg.getvalue(), title, desc)


def _printable_labels(figure: Figure) -> None:
    """Every label of ``figure`` (titles, tick labels of establishments or cohorts, legends) with its control
    characters shown as escapes (:func:`reoffend.errors.printable`): a control character in a name is not a
    character XML allows, so the SVG would not be a valid file, and the PNG would draw a missing glyph."""
    for text in figure.findobj(Text):
        shown = printable(text.get_text())
        if shown != text.get_text():
            text.set_text(shown)
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):  # tick labels are made again from the formatter at each draw
            if not isinstance(axis.get_major_formatter(), _PrintableFormatter):
                axis.set_major_formatter(_PrintableFormatter(axis.get_major_formatter()))


class _PrintableFormatter(Formatter):
    """A tick formatter whose labels (``set_xticks(x, cohorts)``: a cohort, an establishment) pass through
    :func:`reoffend.errors.printable`; everything else is the formatter it wraps."""

    def __init__(self, inner: Formatter) -> None:
        self.inner = inner

    def __call__(self, x: Any, pos: Any = None) -> str:
        return printable(str(self.inner(x, pos)))

    def format_ticks(self, values: Any) -> list[str]:
        return [printable(str(label)) for label in self.inner.format_ticks(values)]

    def set_locs(self, locs: Any) -> None:
        self.inner.set_locs(locs)

    def get_offset(self) -> str:
        return printable(self.inner.get_offset())

    def format_data(self, value: Any) -> str:
        return printable(self.inner.format_data(value))

    def format_data_short(self, value: Any) -> str:
        return printable(self.inner.format_data_short(value))


def label_svg(svg: bytes, title: str, desc: str) -> bytes:
    """The SVG with ``role="img"``, ``<title>`` and ``<desc>`` as its first children (aria-labelledby both)."""
    if not title:
        return svg
    text = svg.decode("utf-8")
    match = re.search(r"<svg\b[^>]*>", text)
    if match is None:
        return svg
    opening = match.group(0)
    labelled = opening[:-1] + ' role="img" aria-labelledby="chart-title chart-desc">'
    title, desc = html.escape(printable(title)), html.escape(printable(desc))
    children = f'<title id="chart-title">{title}</title><desc id="chart-desc">{desc}</desc>'
    return (text[: match.start()] + labelled + children + text[match.end() :]).encode("utf-8")


def _nothing_to_plot(axes) -> None:
    """Every value is suppressed: say so rather than draw empty axes."""
    axes.set_axis_off()
    axes.text(0.5, 0.5, "Every value is suppressed [c]: nothing is plotted", ha="center", va="center", color=DARK)


def trend_chart(trend: pl.DataFrame, confidence: float, title: str = "", desc: str = "") -> tuple[bytes, bytes]:
    trend = trend.filter(pl.col("binary_rate").is_not_null())  # a suppressed cohort is not plotted
    cohorts = trend["cohort"].to_list()
    x = list(range(len(cohorts)))
    rate = (100 * trend["binary_rate"]).to_list()
    low = (100 * trend["binary_rate_low"]).to_list()
    high = (100 * trend["binary_rate_high"]).to_list()

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        if not x:
            _nothing_to_plot(axes)
            return
        axes.fill_between(x, low, high, color=BAND, linewidth=0, label=f"{100 * confidence:g}% confidence interval")
        axes.plot(x, low, color=MID, linewidth=0.8, linestyle="--")
        axes.plot(x, high, color=MID, linewidth=0.8, linestyle="--")
        axes.plot(x, rate, color=BLUE, marker="o", linewidth=2, label="proven reoffending rate")
        axes.annotate(
            f"{rate[-1]:.1f}%",
            (x[-1], rate[-1]),
            xytext=(6, 6),
            textcoords="offset points",
            color=DARK,
            fontweight="bold",
        )
        axes.set_xticks(x, cohorts, rotation=45 if len(x) > 10 else 0, ha="right" if len(x) > 10 else "center")
        axes.yaxis.set_major_formatter(PERCENT)
        top = max(high) if high else 100
        axes.set_ylim(0, min(100, max(10, top * 1.15)))
        axes.set_xlim(-0.4, len(x) - 0.4)
        axes.set_xlabel("cohort (period of release)")
        axes.set_ylabel("reoffenders as % of released")
        axes.set_title("Proven reoffending rate by cohort")
        axes.legend(loc="lower left")

    return render(draw, (8.0, 4.2), (0.85, 0.25, 0.45, 0.75), title, desc)


def events_chart(trend: pl.DataFrame, title: str = "", desc: str = "") -> tuple[bytes, bytes]:
    trend = trend.filter(pl.col("events_per_100").is_not_null())  # a suppressed cohort is not plotted
    cohorts = trend["cohort"].to_list()
    x = list(range(len(cohorts)))
    events = trend["events_per_100"].to_list()

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        if not x:
            _nothing_to_plot(axes)
            return
        colours = [MID] * (len(x) - 1) + [NAVY]
        bars = axes.bar(x, events, color=colours, width=0.65)
        axes.bar_label(bars, labels=[f"{v:.1f}" for v in events], padding=3, fontsize=9, color=DARK)
        axes.set_xticks(x, cohorts, rotation=45 if len(x) > 10 else 0, ha="right" if len(x) > 10 else "center")
        axes.set_ylim(0, max(events) * 1.15 if events and max(events) > 0 else 1)
        axes.set_xlabel("cohort (period of release)")
        axes.set_ylabel("reconviction events per 100 released")
        axes.set_title("Reconviction events per 100 released, by cohort")

    return render(draw, (8.0, 4.2), (0.85, 0.25, 0.45, 0.75), title, desc)


def establishment_chart(
    rows: pl.DataFrame, column: str, overall: float | None, cohort: str, title: str = "", desc: str = ""
) -> tuple[bytes, bytes]:
    """Dot and interval per establishment, highest rate at the top, against the rate for all releases.

    Suppressed establishments (no rate) are left out.
    """
    rows = rows.filter(
        pl.col("binary_rate").is_not_null()
    ).reverse()  # rows come highest first; matplotlib draws the first row at the bottom
    names = rows[column].cast(pl.String).fill_null("(none)").to_list()
    rate = (100 * rows["binary_rate"]).to_list()
    low = (100 * rows["binary_rate_low"]).to_list()
    high = (100 * rows["binary_rate_high"]).to_list()
    # the colours give the verdict the text and the tables give: after the adjustment for testing every
    # establishment at once (an interval wholly above the line may still be "similar" after it; the legend says so)
    verdict = rows["compared_with_all"].to_list()
    colour = {"higher": ORANGE, "lower": NAVY, "similar": SILVER}
    marker = {"higher": "^", "lower": "v", "similar": "o"}
    y = list(range(len(names)))
    height = max(3.0, 0.13 * len(names) + 1.4)

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        axes.grid(axis="x", color="#dddddd")
        axes.grid(axis="y", visible=False)
        for group, label in (
            ("similar", "not significantly different (after adjustment for multiple testing)"),
            ("higher", "significantly higher (after adjustment)"),
            ("lower", "significantly lower (after adjustment)"),
        ):
            index = [i for i, v in enumerate(verdict) if v == group]
            if not index:
                continue
            axes.errorbar(
                [rate[i] for i in index],
                [y[i] for i in index],
                xerr=[[rate[i] - low[i] for i in index], [high[i] - rate[i] for i in index]],
                fmt=marker[group],
                markersize=4 if group == "similar" else 5,
                color=colour[group],
                elinewidth=1,
                label=label,
            )
        if overall is not None:
            axes.axvline(
                100 * overall, color=DARK, linewidth=1.2, linestyle="--", label=f"all releases {100 * overall:.1f}%"
            )
        axes.set_yticks(y, names, fontsize=6 if len(names) > 40 else 8)
        axes.set_ylim(-0.8, len(names) - 0.2)
        axes.set_xlim(-2, 102)
        axes.xaxis.set_major_formatter(PERCENT)
        axes.xaxis.set_major_locator(MaxNLocator(11))
        axes.xaxis.tick_top()
        axes.set_xlabel("reoffenders as % of released (with confidence interval)")
        axes.set_title(f"Proven reoffending rate by establishment, {cohort}")
        axes.legend(loc="lower right", fontsize=8, framealpha=0.9, frameon=True)

    return render(draw, (8.0, height), (0.85, 0.25, 1.05, 0.2), title, desc)


def breakdown_chart(
    rows: pl.DataFrame,
    column: str,
    cohort: str,
    overall: float | None,
    confidence: float,
    title: str = "",
    desc: str = "",
) -> tuple[bytes, bytes]:
    """The latest cohort's rate per category of a breakdown (in band order, top to bottom), with intervals.

    Suppressed categories are named on the axis with ``[c]`` and no dot: never plotted.
    """
    names = [label or "Not recorded" for label in rows[column].cast(pl.String).fill_null("").to_list()]
    names = [f"{n} [c]" if hidden else n for n, hidden in zip(names, rows["binary_rate"].is_null(), strict=True)]
    # a suppressed category has no rate: NaN here, and never plotted (only ``shown`` points are drawn)
    rate = [float("nan") if v is None else 100 * v for v in rows["binary_rate"].to_list()]
    low = [float("nan") if v is None else 100 * v for v in rows["binary_rate_low"].to_list()]
    high = [float("nan") if v is None else 100 * v for v in rows["binary_rate_high"].to_list()]
    y = list(range(len(names)))[::-1]
    height = max(2.4, 0.32 * len(names) + 1.3)
    # the title in words ("by offence at index release, July to September 2023") wraps above the axes rather
    # than running off the figure: each extra line adds to the top margin, the axes keep their size
    heading = textwrap.wrap(f"Proven reoffending rate by {column.replace('_', ' ')}, {cohort}", TITLE_WIDTH)
    extra = 0.22 * (len(heading) - 1)

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        axes.grid(axis="x", color="#dddddd")
        axes.grid(axis="y", visible=False)
        shown = [i for i, v in enumerate(rate) if v == v]  # not NaN
        if shown:
            axes.errorbar(
                [rate[i] for i in shown],
                [y[i] for i in shown],
                xerr=[[rate[i] - low[i] for i in shown], [high[i] - rate[i] for i in shown]],
                fmt="o",
                markersize=6,
                color=NAVY,
                elinewidth=1.5,
                capsize=3,
                label=f"rate with {100 * confidence:g}% confidence interval",
            )
            for i in shown:
                axes.annotate(
                    f"{rate[i]:.1f}%",
                    (high[i], y[i]),
                    xytext=(5, -3),
                    textcoords="offset points",
                    fontsize=8,
                    color=DARK,
                )
        if overall is not None:
            axes.axvline(
                100 * overall, color=DARK, linewidth=1.2, linestyle="--", label=f"all releases {100 * overall:.1f}%"
            )
        axes.set_yticks(y, names, fontsize=9)
        axes.set_ylim(-0.7, len(names) - 0.3)
        axes.set_xlim(0, 100)
        axes.xaxis.set_major_formatter(PERCENT)
        axes.set_xlabel("reoffenders as % of released")
        axes.set_title("\n".join(heading))
        # below the axes, so it never covers a point or its label
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.5 / (height - 1.35)), ncol=2, fontsize=8)

    return render(draw, (8.0, height + 0.35 + extra), (1.6, 0.3, 0.4 + extra, 0.9), title, desc)


def court_lag_chart(
    lag: pl.DataFrame, waiting_period: int, follow_up: int, title: str = "", desc: str = ""
) -> tuple[bytes, bytes]:
    lag = lag.filter(pl.col("share_of_reoffences").is_not_null())  # a suppressed row is not plotted
    months = lag["waiting_period_months"].to_list()
    offences = (100 * lag["share_of_reoffences"]).to_list()
    people = (100 * lag["share_of_reoffenders"]).to_list()

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        axes.plot(months, offences, color=BLUE, marker="o", linewidth=2, label="proven reoffences")
        axes.plot(months, people, color=SILVER, marker="s", linewidth=1.5, linestyle="--", label="reoffenders")
        if waiting_period in months:
            at = months.index(waiting_period)
            axes.axvline(waiting_period, color=ORANGE, linewidth=1.2, linestyle=":")
            axes.annotate(
                f"{waiting_period}-month waiting period:\n{offences[at]:.1f}% of reoffences counted",
                (waiting_period, offences[at]),
                xytext=(12, -38),
                textcoords="offset points",
                color=DARK,
                fontsize=9,
                arrowprops={"arrowstyle": "-", "color": ORANGE},
            )
        axes.set_xticks(months)
        low = min([*offences, *people]) if offences else 0
        axes.set_ylim(max(0, low - 10), 102)
        axes.yaxis.set_major_formatter(PERCENT)
        axes.set_xlabel(f"months allowed for the conviction after the {follow_up}-month follow-up (waiting period)")
        axes.set_ylabel(f"% of those counted with {months[-1]} months")
        axes.set_title("Court lag: share of eventual proven reoffending counted")
        axes.legend(loc="lower right")

    return render(draw, (8.0, 4.2), (0.85, 0.25, 0.45, 0.75), title, desc)
