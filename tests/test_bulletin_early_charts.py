"""The trend's charts drawn before disclosure control (issue 30): the same charts as drawn after it.

bulletin.build submits the trend and events charts as soon as the trend is measured, from the trend as it is
published when disclosure control withholds none of its rows (the chart thread draws them while the
establishments and comparisons are measured), and keeps them only if the published trend is that frame;
otherwise they are dropped and drawn again from the published trend. These tests build bulletins with and
without the early drawing (``_Charts.guess_trend`` a no-op: the route before) and compare every chart's bytes,
when the guess holds and when a withheld cohort makes it wrong; and check the bookkeeping by hand.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from reoffend.bulletin import build
from reoffend.bulletin.build import Bulletin, compute_bulletin
from reoffend.bulletin.config import parse_config
from reoffend.synth import SynthParams, write


# --------------------------------------------------------------------------------- the bookkeeping by hand
class RecordingWorker:
    """ChartWorker's draw/forget, recording the frame each trend chart was given (nothing drawn)."""

    def __init__(self) -> None:
        self.drawings: dict[str, object] = {}
        self.log: list[str] = []

    def draw(self, name, drawing) -> None:
        self.drawings[name] = drawing
        self.log.append(f"draw {name}")

    def forget(self, name) -> None:
        self.drawings.pop(name, None)
        self.log.append(f"forget {name}")


class Params:
    confidence = 0.95


def trend_frame(rates: list[float | None]) -> pl.DataFrame:
    cohorts = [f"2022Q{i + 1}" for i in range(len(rates))]
    return pl.DataFrame(
        {"cohort": cohorts, "binary_rate": rates, "events_per_100": [None if r is None else 100 * r for r in rates]},
        schema={"cohort": pl.String, "binary_rate": pl.Float64, "events_per_100": pl.Float64},
    )


def test_a_guess_that_holds_is_kept_and_nothing_is_drawn_again():
    worker = RecordingWorker()
    charts = build._Charts(worker)  # type: ignore[arg-type]
    guessed = trend_frame([0.5, 0.52, 0.54])
    charts.guess_trend(guessed, Params)  # type: ignore[arg-type]
    charts.trend(guessed.clone(), Params)  # type: ignore[arg-type]  # an equal frame, another object
    assert worker.log == ["draw trend", "draw events_per_100"]
    assert worker.drawings["trend"].args[1] is guessed  # type: ignore[attr-defined]


def test_a_wrong_guess_is_dropped_and_drawn_again_from_the_published_trend_in_the_same_order():
    worker = RecordingWorker()
    charts = build._Charts(worker)  # type: ignore[arg-type]
    charts.guess_trend(trend_frame([0.5, 0.52, 0.54]), Params)  # type: ignore[arg-type]
    published = trend_frame([0.5, None, 0.54])  # the second cohort withheld
    charts.trend(published, Params)  # type: ignore[arg-type]
    assert worker.log == [
        *("draw trend", "draw events_per_100"),
        *("forget trend", "forget events_per_100"),
        *("draw trend", "draw events_per_100"),
    ]
    assert list(worker.drawings) == ["trend", "events_per_100"]
    assert worker.drawings["trend"].args[1] is published  # type: ignore[attr-defined]
    assert worker.drawings["events_per_100"].args[1] is published  # type: ignore[attr-defined]


def test_a_chart_left_out_in_the_guess_but_drawn_when_published_and_the_reverse():
    """Fewer than two published points leave a chart out with a sentence (chartrules): the sentence of a wrong
    guess goes with it."""
    worker = RecordingWorker()
    charts = build._Charts(worker)  # type: ignore[arg-type]
    charts.guess_trend(trend_frame([0.5]), Params)  # type: ignore[arg-type]
    assert set(charts.left_out) == {"trend", "events_per_100"} and not worker.drawings
    charts.trend(trend_frame([0.5, 0.6]), Params)  # type: ignore[arg-type]
    assert not charts.left_out and list(worker.drawings) == ["trend", "events_per_100"]

    worker = RecordingWorker()
    charts = build._Charts(worker)  # type: ignore[arg-type]
    charts.guess_trend(trend_frame([0.5, 0.6]), Params)  # type: ignore[arg-type]
    charts.trend(trend_frame([0.5, None]), Params)  # type: ignore[arg-type]
    assert set(charts.left_out) == {"trend", "events_per_100"} and not worker.drawings


def test_a_frame_of_other_types_is_not_the_guess():
    """Equal values in another dtype could be drawn otherwise: only an equal frame (schema too) is kept."""
    worker = RecordingWorker()
    charts = build._Charts(worker)  # type: ignore[arg-type]
    guessed = trend_frame([0.5, 0.52])
    charts.guess_trend(guessed, Params)  # type: ignore[arg-type]
    charts.trend(guessed.with_columns(pl.col("cohort").cast(pl.Categorical)), Params)  # type: ignore[arg-type]
    assert worker.log[2:] == ["forget trend", "forget events_per_100", "draw trend", "draw events_per_100"]


# ------------------------------------------------------------------------- whole bulletins, both routes
def _bulletin(folder: Path, small_first_cohort: bool, monkeypatch, early: bool) -> tuple[Bulletin, list[str]]:
    """The bulletin of a synthetic extract (its first cohort cut to 4 releases, under min_cohort = 10, when
    ``small_first_cohort``), with the trend's charts drawn early or not, and the names of the charts forgotten."""
    releases = folder / "releases.csv"
    if not releases.exists():
        write(SynthParams(releases=3000, seed=30, cohorts=6, extract_date=dt.date(2025, 3, 31)), folder, "csv")
        if small_first_cohort:
            frame = pl.read_csv(releases, infer_schema=False)
            first = frame.filter(pl.col("release_date") < "2022-04-01")
            frame.filter(pl.col("release_date") >= "2022-04-01").vstack(first.head(4)).write_csv(releases)
        (folder / "job.toml").write_text(
            """title = "Early charts"
[inputs]
releases = "releases.csv"
convictions = "convictions.csv"
[measure]
follow_up = 12
waiting_period = 6
establishment = "establishment"
[disclosure]
min_cohort = 10
min_count = 3
"""
        )
    forgotten: list[str] = []
    forget = build.ChartWorker.forget

    def spy(self, name):
        forgotten.append(name)
        forget(self, name)

    with monkeypatch.context() as patch:
        patch.setattr(build.ChartWorker, "forget", spy)
        if not early:
            patch.setattr(build._Charts, "guess_trend", lambda *_args: None)
        return compute_bulletin(parse_config(str(folder / "job.toml"))), forgotten


@pytest.mark.parametrize("small_first_cohort", [False, True], ids=["guess-holds", "cohort-withheld"])
def test_every_chart_is_the_same_drawn_early_or_after_disclosure_control(tmp_path, monkeypatch, small_first_cohort):
    early, forgotten = _bulletin(tmp_path, small_first_cohort, monkeypatch, early=True)
    late, _ = _bulletin(tmp_path, small_first_cohort, monkeypatch, early=False)
    withheld = early.tables["trend.csv"]["suppressed"].is_not_null().any()
    assert withheld == small_first_cohort  # the fixture is what it says: a withheld trend row, or none
    assert forgotten == (["trend", "events_per_100"] if small_first_cohort else [])
    assert list(early.figures) == list(late.figures)
    assert {"trend", "events_per_100"} <= set(early.figures)
    for name in early.figures:
        assert early.figures[name] == late.figures[name], name
    assert early.facts == late.facts
    assert early.tables.keys() == late.tables.keys()
    assert all(early.tables[name].equals(late.tables[name]) for name in early.tables)


def test_the_same_frame_is_strict_where_equals_is_not():
    """-0.0 against 0.0, NaN, Float32 against Float64 and String against Categorical are other frames."""
    frame = pl.DataFrame({"cohort": ["a", "b"], "rate": [0.0, float("nan")]})
    assert build._same_frame(frame, frame.clone())
    assert not build._same_frame(frame, frame.with_columns(pl.Series("rate", [-0.0, float("nan")])))
    assert not build._same_frame(frame, frame.with_columns(pl.Series("rate", [0.0, 1.0])))
    assert not build._same_frame(frame, frame.with_columns(pl.col("rate").cast(pl.Float32)))
    assert not build._same_frame(frame, frame.with_columns(pl.col("cohort").cast(pl.Categorical)))
    assert not build._same_frame(frame, frame.select("rate", "cohort"))
