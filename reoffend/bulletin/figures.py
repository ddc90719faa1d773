"""The bulletin's charts, as PNG and SVG bytes (matplotlib figures without pyplot: no GUI backend).

Deterministic: the same numbers give byte-identical files (a fixed ``svg.hashsalt``, no date or creator in
the metadata). The SVG keeps its text as text (``svg.fonttype: none``, in DejaVu Sans with a sans-serif
fallback): a screen reader, a search and a copy find the words, the file is smaller, and it is written in
about a third less time than with each glyph drawn as a path (bench/NOTES.md).

Accessible (docs/bulletin.md, "Accessibility"): every colour that carries meaning has a contrast of at least
3:1 against the white background (WCAG 2.1 success criterion 1.4.11, checked in the tests), the categories
are told apart by marker shape as well as colour and never by red against green alone (the Government
Analysis Function's categorical palette), each SVG carries a ``<title>`` and ``<desc>`` stating its finding,
and a suppressed value (``[c]``, reoffend/disclosure.py) is never plotted: a withheld cohort keeps its place
on a trend's axis, marked ``[c]``, and the line is broken there, never drawn across it.
"""

from __future__ import annotations

import html
import io
import logging
import re
import textwrap
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import matplotlib
import polars as pl
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import Formatter, FuncFormatter, MaxNLocator
from matplotlib.typing import RcKeyType

from ..errors import printable
from .chartrules import VERDICTS

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

# Legible on a phone (docs/bulletin.md, "Charts"): every chart is WIDTH inches wide (an SVG viewBox WIDTH * 72
# units wide) and no text is smaller than TEXT_PT points, so scaled to a 390 px wide screen the smallest text is
# 12 * 390 / 324 = 14.4 CSS px, and 12.4 px in the 334 px column of a 390 px phone (tests measure the SVGs).
WIDTH = 4.5
TEXT_PT = 12
TITLE_CHARACTERS = 38  # a chart title longer than this wraps onto a second line

STYLE: dict[RcKeyType, Any] = {
    "svg.hashsalt": "reoffend-bulletin",
    "svg.fonttype": "none",
    "text.parse_math": False,  # a label is shown as written: "$\\foo{$" is a name, not mathtext
    "font.family": ["DejaVu Sans", "sans-serif"],
    "font.size": TEXT_PT,
    "axes.labelsize": TEXT_PT,
    "xtick.labelsize": TEXT_PT,
    "ytick.labelsize": TEXT_PT,
    "legend.fontsize": TEXT_PT,
    "legend.title_fontsize": TEXT_PT,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": GREY,
    "axes.labelcolor": DARK,
    "axes.titleweight": "bold",
    "axes.titlesize": TEXT_PT + 1,
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
WIDE_TICKS_LEFT = 1.1  # inches left of the axes when a tick label reads "100%"
PERCENT = FuncFormatter(lambda value, _pos: f"{value:.0f}%")


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
    axes.text(
        0.5, 0.5, "Every value is suppressed [c]:\nnothing is plotted", ha="center", va="center", color=DARK, wrap=True
    )


def _title(axes, title: str) -> None:
    """The chart's title at the figure's top left (not over the axes only: a long label column would push it
    off the right edge), wrapped at TITLE_CHARACTERS."""
    figure = axes.get_figure()
    figure.suptitle(
        textwrap.fill(title, TITLE_CHARACTERS),
        x=0.12 / figure.get_figwidth(),
        y=1 - 0.1 / figure.get_figheight(),
        ha="left",
        va="top",
        fontweight="bold",
        fontsize=TEXT_PT + 1,
    )


def _label_margin(labels: list[str]) -> float:
    """The left margin in inches that fits the longest of ``labels`` at TEXT_PT (DejaVu Sans: about 0.6 em a
    character), with room for the ticks."""
    return 0.3 + max((len(label) for label in labels), default=4) * TEXT_PT * 0.62 / 72


def _percent_axis(axis) -> None:
    """A percentage axis with at most five labelled ticks (at 12 pt, "100%" is about 30 pt wide)."""
    axis.set_major_formatter(PERCENT)
    axis.set_major_locator(MaxNLocator(4, steps=[1, 2.5, 5, 10]))


def _nan(values: list[Any], scale: float = 100.0) -> list[float]:
    """``values`` times ``scale``, a withheld (None) value as NaN: never plotted, and a line breaks there."""
    return [float("nan") if v is None else scale * v for v in values]


def _cohort_axis(axes, cohorts: list[str], withheld: list[bool]) -> None:
    """The cohorts on the x axis, every one in its place (a withheld one too), upright when few; with very many,
    every k-th label, the latest and every withheld one."""
    x = list(range(len(cohorts)))
    step = max(1, -(-len(cohorts) // 24))
    labels = [c if i % step == 0 or i == len(cohorts) - 1 or withheld[i] else "" for i, c in enumerate(cohorts)]
    upright = len(cohorts) <= 4
    axes.set_xticks(x, labels, rotation=0 if upright else 90, ha="center")
    axes.set_xlim(-0.6, len(cohorts) - 0.4)


def _mark_withheld(axes, withheld: list[bool], cohorts: list[str], y: list[float]) -> None:
    """Each withheld cohort: a shaded slot and ``[c]`` at ``y`` (its id ``withheld-COHORT`` in the SVG)."""
    for i, hidden in enumerate(withheld):
        if not hidden:
            continue
        axes.axvspan(i - 0.45, i + 0.45, color="#f3f2f1", linewidth=0, zorder=0)
        mark = axes.text(i, y[i], "[c]", ha="center", va="center", color=DARK, fontweight="bold", zorder=5)
        mark.set_gid(f"withheld-{printable(str(cohorts[i]))}")


def _gap_heights(values: list[float], default: float) -> list[float]:
    """Where to write a withheld point's ``[c]``: halfway between the published values either side of it."""
    out = []
    for i in range(len(values)):
        before = next((values[j] for j in range(i - 1, -1, -1) if values[j] == values[j]), None)
        after = next((values[j] for j in range(i + 1, len(values)) if values[j] == values[j]), None)
        near = [v for v in (before, after) if v is not None]
        out.append(sum(near) / len(near) if near else default)
    return out


def _isolated(withheld: list[bool], i: int) -> bool:
    """Whether cohort ``i`` has no published cohort next to it (so a band through it would be no area)."""
    before = i > 0 and not withheld[i - 1]
    after = i < len(withheld) - 1 and not withheld[i + 1]
    return not (before or after)


def trend_chart(trend: pl.DataFrame, confidence: float, title: str = "", desc: str = "") -> tuple[bytes, bytes]:
    """The rate of every cohort with its interval band; a withheld cohort stays on the axis, marked ``[c]``,
    and the line and the band are broken there."""
    cohorts = trend["cohort"].cast(pl.String).to_list()
    withheld = trend["binary_rate"].is_null().to_list()
    x = list(range(len(cohorts)))
    rate = _nan(trend["binary_rate"].to_list())
    low = _nan(trend["binary_rate_low"].to_list())
    high = _nan(trend["binary_rate_high"].to_list())
    top = max((v for v in high if v == v), default=100.0)
    ceiling = min(100, max(10, top * 1.15))

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        if all(withheld):
            _nothing_to_plot(axes)
            return
        # NaN breaks the band and the lines: nothing is drawn across a withheld cohort
        axes.fill_between(x, low, high, color=BAND, linewidth=0, label=f"{100 * confidence:g}% confidence interval")
        axes.plot(x, low, color=MID, linewidth=0.8, linestyle="--")
        axes.plot(x, high, color=MID, linewidth=0.8, linestyle="--")
        # a cohort with no published neighbour has no band to show: its interval is drawn as a bar instead
        alone = [i for i in x if not withheld[i] and _isolated(withheld, i)]
        if alone:
            axes.errorbar(
                alone,
                [rate[i] for i in alone],
                yerr=[[rate[i] - low[i] for i in alone], [high[i] - rate[i] for i in alone]],
                fmt="none",
                ecolor=MID,
                elinewidth=1.2,
                capsize=4,
            )
        (line,) = axes.plot(x, rate, color=BLUE, marker="o", linewidth=2, label="proven reoffending rate")
        line.set_gid("rate-line")
        _mark_withheld(axes, withheld, cohorts, _gap_heights(rate, ceiling / 2))
        if not withheld[-1]:
            axes.annotate(
                f"{rate[-1]:.1f}%",
                (x[-1], high[-1]),
                xytext=(0, 4),
                textcoords="offset points",
                ha="center",
                va="bottom",
                color=DARK,
                fontweight="bold",
            )
        _cohort_axis(axes, cohorts, withheld)
        axes.yaxis.set_major_formatter(PERCENT)
        axes.set_ylim(0, ceiling)
        axes.set_xlabel("cohort (period of release)")
        axes.set_ylabel("reoffenders as %\nof released")
        _title(axes, "Proven reoffending rate by cohort")
        axes.legend(loc="lower left")

    # an axis to 100% has a tick label one character wider: the two-line axis title needs more room (else
    # it is clipped at the image's edge, issue 26 review, item 8)
    left = WIDE_TICKS_LEFT if ceiling >= 100 else 0.95
    return render(draw, (WIDTH, 4.4), (left, 0.15, 0.45, 1.25), title, desc)


def events_chart(trend: pl.DataFrame, title: str = "", desc: str = "") -> tuple[bytes, bytes]:
    """Reconviction events per 100 released, a bar per cohort (the latest darker); a withheld cohort keeps
    its slot, marked ``[c]``. The first and the latest bar are labelled (the table gives the rest)."""
    cohorts = trend["cohort"].cast(pl.String).to_list()
    withheld = trend["events_per_100"].is_null().to_list()
    x = list(range(len(cohorts)))
    events = _nan(trend["events_per_100"].to_list(), 1.0)
    tallest = max((v for v in events if v == v), default=0.0)
    ceiling = tallest * 1.2 if tallest > 0 else 1.0

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        if all(withheld):
            _nothing_to_plot(axes)
            return
        shown = [i for i in x if not withheld[i]]
        latest = len(x) - 1  # highlighted as the caption says, only when the latest cohort is published
        colours = [NAVY if i == latest else MID for i in shown]
        bars = axes.bar(shown, [events[i] for i in shown], color=colours, width=0.65)
        ends = {shown[0], shown[-1]}
        labels = [f"{events[i]:.1f}" if i in ends else "" for i in shown]
        axes.bar_label(bars, labels=labels, padding=3, color=DARK)
        _mark_withheld(axes, withheld, cohorts, [ceiling * 0.12] * len(x))
        _cohort_axis(axes, cohorts, withheld)
        axes.set_ylim(0, ceiling)
        axes.set_xlabel("cohort (period of release)")
        axes.set_ylabel("reconviction events\nper 100 released")
        _title(axes, "Reconviction events per 100 released, by cohort")

    return render(draw, (WIDTH, 4.4), (0.95, 0.15, 0.7, 1.25), title, desc)


def establishment_chart(
    rows: pl.DataFrame,
    column: str,
    overall: float | None,
    cohort: str,
    title: str = "",
    desc: str = "",
    shown: list[bool] | None = None,
) -> tuple[bytes, bytes]:
    """Dot and interval per establishment, highest rate at the top, against the rate for all releases.

    ``rows`` come highest first (withheld last); ``shown`` picks the rows drawn (reoffend.bulletin.chartrules:
    the highest and lowest and every significant one), each run of rows left out is one line saying how many
    are in the table. Colour and marker give the verdict after the adjustment for multiple testing (Holm), the
    one the text counts, and the legend says so. Suppressed establishments are never drawn.
    """
    published = rows["binary_rate"].is_not_null().to_list()
    picked = [p and (shown is None or s) for p, s in zip(published, shown or published, strict=True)]
    names = [printable(str(v)) if v is not None else "(none)" for v in rows[column].cast(pl.String).to_list()]
    rate, low, high = (_nan(rows[c].to_list()) for c in ("binary_rate", "binary_rate_low", "binary_rate_high"))
    plot = _EstablishmentPlot(
        _establishment_lines(published, picked, names), rate, low, high, rows["compared_with_all"].to_list(), overall
    )
    legend_lines = len(plot.groups) + (overall is not None) + 2  # and a title of two lines
    legend_height = 0.3 + 0.24 * legend_lines
    height = 0.27 * max(len(plot.lines), 3) + 1.1 + legend_height
    left_margin = _label_margin([label for label, i in plot.lines if i is not None])
    return render(
        partial(_draw_establishments, plot, cohort),
        (WIDTH, height),
        (left_margin, 0.25, 1.25, legend_height + 0.1),
        title,
        desc,
    )


def _establishment_lines(published: list[bool], picked: list[bool], names: list[str]) -> list[tuple[str, int | None]]:
    """The lines of the establishment chart, top to bottom: (label, row) of each row drawn, and (how many more,
    None) where a run of published rows is left out (withheld rows are never lines)."""
    lines: list[tuple[str, int | None]] = []
    skipped = 0
    for i, p in enumerate(published):
        if not p:
            continue
        if picked[i]:
            if skipped:
                lines.append((f"{skipped:,} more: see the table", None))
                skipped = 0
            lines.append((textwrap.shorten(names[i], 18, placeholder="..."), i))
        else:
            skipped += 1
    if skipped:
        lines.append((f"{skipped:,} more: see the table", None))
    return lines


ESTABLISHMENT_COLOURS = {"higher": ORANGE, "lower": NAVY, "similar": SILVER}
ESTABLISHMENT_MARKERS = {"higher": "^", "lower": "v", "similar": "o"}


@dataclass(frozen=True)
class _EstablishmentPlot:
    """What the establishment chart draws: its lines (:func:`_establishment_lines`), each row's rate and
    interval in per cent, its verdict (``compared_with_all``), and the rate for all releases."""

    lines: list[tuple[str, int | None]]
    rate: list[float]
    low: list[float]
    high: list[float]
    verdict: list[str | None]
    overall: float | None

    @property
    def y_of(self) -> dict[int, int]:
        """The height of each row drawn (the top line highest)."""
        return {i: len(self.lines) - 1 - n for n, (_label, i) in enumerate(self.lines) if i is not None}

    @property
    def drawn(self) -> list[int]:
        return list(self.y_of)

    @property
    def groups(self) -> list[str]:
        """The verdicts of the rows drawn, in the legend's order."""
        return [g for g in ("higher", "lower", "similar") if any(self.verdict[i] == g for i in self.drawn)]

    def x_range(self) -> tuple[float, float]:
        """The rate axis: every interval drawn and the rate for all releases, to the tens around them."""
        lowest = min((self.low[i] for i in self.drawn), default=0.0)
        highest = max((self.high[i] for i in self.drawn), default=100.0)
        if self.overall is not None:
            lowest, highest = min(lowest, 100 * self.overall), max(highest, 100 * self.overall)
        return max(0.0, 10 * ((lowest - 2) // 10)), min(100.0, 10 * -(-(highest + 2) // 10))


def _draw_establishments(plot: _EstablishmentPlot, cohort: str, figure: Figure) -> None:
    """The establishment chart on ``figure``: a dot and interval per row drawn, by verdict, the rate for all
    releases as a dashed line, a band for each run of rows left out, and the legend below."""
    axes = figure.subplots()
    if not plot.drawn:
        _nothing_to_plot(axes)
        return
    axes.grid(axis="x", color="#dddddd")
    axes.grid(axis="y", visible=False)
    y_of, lines, rate, low, high = plot.y_of, plot.lines, plot.rate, plot.low, plot.high
    handles: list[Any] = []
    for group in plot.groups:
        index = [i for i in plot.drawn if plot.verdict[i] == group]
        handles.append(
            axes.errorbar(
                [rate[i] for i in index],
                [y_of[i] for i in index],
                xerr=[[rate[i] - low[i] for i in index], [high[i] - rate[i] for i in index]],
                fmt=ESTABLISHMENT_MARKERS[group],
                markersize=5 if group == "similar" else 7,
                color=ESTABLISHMENT_COLOURS[group],
                elinewidth=1.2,
                label=VERDICTS[group],
            )
        )
    if plot.overall is not None:
        overall = plot.overall
        handles.append(
            axes.axvline(
                100 * overall, color=DARK, linewidth=1.2, linestyle="--", label=f"all releases {100 * overall:.1f}%"
            )
        )
    ticks = [len(lines) - 1 - n for n in range(len(lines))]
    axes.set_yticks(ticks, [label if i is not None else "" for label, i in lines])
    axes.set_ylim(-0.7, len(lines) - 0.3)
    left, right = plot.x_range()
    axes.set_xlim(left, right)
    for tick, (label, i) in zip(ticks, lines, strict=True):
        if i is None:  # the rows left out: a line across the chart saying how many, and where they are
            axes.axhline(tick, color="#dddddd", linewidth=8, zorder=0)
            axes.text((left + right) / 2, tick, label, ha="center", va="center", color=DARK, fontstyle="italic")
    _percent_axis(axes.xaxis)
    axes.xaxis.tick_top()
    axes.xaxis.set_label_position("top")
    axes.set_xlabel("reoffenders as % of released")
    _title(axes, f"Proven reoffending rate by establishment, {cohort}")
    figure.legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(0.02, 0.01),
        title="Compared with all releases, after\nadjustment for multiple testing (Holm):",
        alignment="left",
    )


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
    names = [
        textwrap.shorten(n, 18, placeholder="...") + (" [c]" if hidden else "")
        for n, hidden in zip(names, rows["binary_rate"].is_null(), strict=True)
    ]
    # a suppressed category has no rate: NaN here, and never plotted (only ``shown`` points are drawn)
    rate, low, high = (_nan(rows[c].to_list()) for c in ("binary_rate", "binary_rate_low", "binary_rate_high"))
    y = list(range(len(names)))[::-1]
    height = max(2.6, 0.36 * len(names) + 1.2)

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
                    xytext=(5, 0),
                    textcoords="offset points",
                    va="center",
                    color=DARK,
                    annotation_clip=False,
                    # legible where it crosses the line for all releases
                    bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
                )
        if overall is not None:
            axes.axvline(
                100 * overall, color=DARK, linewidth=1.2, linestyle="--", label=f"all releases {100 * overall:.1f}%"
            )
        axes.set_yticks(y, names)
        axes.set_ylim(-0.7, len(names) - 0.3)
        axes.set_xlim(0, 100)
        _percent_axis(axes.xaxis)
        axes.set_xlabel("reoffenders as % of released")
        _title(axes, f"Proven reoffending rate by {column.replace('_', ' ')}, {cohort}")
        # below the axes, so it never covers a point or its label
        figure.legend(loc="lower left", bbox_to_anchor=(0.02, 0.01))

    return render(draw, (WIDTH, height + 0.9), (_label_margin(names), 0.6, 0.7, 1.45), title, desc)


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
                f"{waiting_period}-month waiting\nperiod: {offences[at]:.1f}% of\nreoffences counted",
                (waiting_period, offences[at]),
                xytext=(40, -72),
                textcoords="offset points",
                ha="center",
                color=DARK,
                arrowprops={"arrowstyle": "-", "color": ORANGE},
            )
        axes.xaxis.set_major_locator(MaxNLocator(8, integer=True))
        low = min([*offences, *people]) if offences else 0
        axes.set_ylim(max(0, low - 10), 102)
        axes.yaxis.set_major_formatter(PERCENT)
        axes.set_xlabel(
            textwrap.fill(
                f"months allowed for the conviction after the {follow_up}-month follow-up (waiting period)", 36
            )
        )
        axes.set_ylabel(f"% of those counted\nwith {months[-1]} months" if months else "%")
        _title(axes, "Court lag: share of eventual proven reoffending counted")
        axes.legend(loc="lower right")

    return render(draw, (WIDTH, 4.6), (1.2, 0.15, 0.75, 1.0), title, desc)
