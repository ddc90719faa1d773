"""The bulletin's charts, as PNG and SVG bytes (matplotlib figures without pyplot: no GUI backend).

Deterministic: the same numbers give byte-identical files (a fixed ``svg.hashsalt``, no date or creator in
the metadata, text drawn as paths).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import matplotlib
import polars as pl
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.typing import RcKeyType

BLUE = "#1d70b8"
DARK = "#0b0c0c"
GREY = "#505a5f"
LIGHT = "#c5d9ee"
ORANGE = "#d4351c"
GREEN = "#00703c"

STYLE: dict[RcKeyType, Any] = {
    "svg.hashsalt": "reoffend-bulletin",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
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


def render(
    draw: Callable[[Figure], None], size: tuple[float, float], margins: tuple[float, float, float, float]
) -> tuple[bytes, bytes]:
    """PNG (at 144 dpi, sharp on high-density screens) and SVG bytes of the figure ``draw`` fills in.

    ``margins`` (left, right, top, bottom) are in inches: a fixed layout, much cheaper than matplotlib's
    constrained layout, which measures every tick label again for each file.
    """
    width, height = size
    left, right, top, bottom = margins
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=size)
        figure.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height, bottom=bottom / height)
        draw(figure)
        png, svg = io.BytesIO(), io.BytesIO()
        figure.savefig(png, format="png", dpi=144, metadata=PNG_METADATA, facecolor="white")
        figure.savefig(svg, format="svg", metadata=SVG_METADATA, facecolor="white")
    return png.getvalue(), svg.getvalue()


def trend_chart(trend: pl.DataFrame, confidence: float) -> tuple[bytes, bytes]:
    cohorts = trend["cohort"].to_list()
    x = list(range(len(cohorts)))
    rate = (100 * trend["binary_rate"]).to_list()
    low = (100 * trend["binary_rate_low"]).to_list()
    high = (100 * trend["binary_rate_high"]).to_list()

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        axes.fill_between(x, low, high, color=LIGHT, linewidth=0, label=f"{100 * confidence:g}% confidence interval")
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

    return render(draw, (8.0, 4.2), (0.85, 0.25, 0.45, 0.75))


def events_chart(trend: pl.DataFrame) -> tuple[bytes, bytes]:
    cohorts = trend["cohort"].to_list()
    x = list(range(len(cohorts)))
    events = trend["events_per_100"].to_list()

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        colours = [LIGHT] * (len(x) - 1) + [BLUE]
        bars = axes.bar(x, events, color=colours, width=0.65)
        axes.bar_label(bars, labels=[f"{v:.1f}" for v in events], padding=3, fontsize=9, color=DARK)
        axes.set_xticks(x, cohorts, rotation=45 if len(x) > 10 else 0, ha="right" if len(x) > 10 else "center")
        axes.set_ylim(0, max(events) * 1.15 if events and max(events) > 0 else 1)
        axes.set_xlabel("cohort (period of release)")
        axes.set_ylabel("reconviction events per 100 released")
        axes.set_title("Reconviction events per 100 released, by cohort")

    return render(draw, (8.0, 4.2), (0.85, 0.25, 0.45, 0.75))


def establishment_chart(rows: pl.DataFrame, column: str, overall: float, cohort: str) -> tuple[bytes, bytes]:
    """Dot and interval per establishment, highest rate at the top, against the rate for all releases."""
    rows = rows.reverse()  # rows come highest first; matplotlib draws the first row at the bottom
    names = rows[column].cast(pl.String).fill_null("(none)").to_list()
    rate = (100 * rows["binary_rate"]).to_list()
    low = (100 * rows["binary_rate_low"]).to_list()
    high = (100 * rows["binary_rate_high"]).to_list()
    verdict = rows["compared_with_all"].to_list()
    colour = {"higher": ORANGE, "lower": GREEN, "similar": GREY}
    y = list(range(len(names)))
    height = max(3.0, 0.13 * len(names) + 1.4)

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        axes.grid(axis="x", color="#dddddd")
        axes.grid(axis="y", visible=False)
        for group, label in (
            ("similar", "interval includes the rate for all"),
            ("higher", "higher"),
            ("lower", "lower"),
        ):
            index = [i for i, v in enumerate(verdict) if v == group]
            if not index:
                continue
            axes.errorbar(
                [rate[i] for i in index],
                [y[i] for i in index],
                xerr=[[rate[i] - low[i] for i in index], [high[i] - rate[i] for i in index]],
                fmt="o",
                markersize=3.5,
                color=colour[group],
                elinewidth=1,
                label=label,
            )
        axes.axvline(
            100 * overall, color=BLUE, linewidth=1.5, linestyle="--", label=f"all releases {100 * overall:.1f}%"
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

    return render(draw, (8.0, height), (0.85, 0.25, 1.05, 0.2))


def court_lag_chart(lag: pl.DataFrame, waiting_period: int, follow_up: int) -> tuple[bytes, bytes]:
    months = lag["waiting_period_months"].to_list()
    offences = (100 * lag["share_of_reoffences"]).to_list()
    people = (100 * lag["share_of_reoffenders"]).to_list()

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        axes.plot(months, offences, color=BLUE, marker="o", linewidth=2, label="proven reoffences")
        axes.plot(months, people, color=GREY, marker="s", linewidth=1.5, linestyle="--", label="reoffenders")
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

    return render(draw, (8.0, 4.2), (0.85, 0.25, 0.45, 0.75))
