"""Which charts the bulletin draws, and which points they show (docs/bulletin.md, "Charts").

Pure rules, without matplotlib, shared by the build (what to draw) and the text (what to say instead):

- A chart needs at least :data:`MIN_CHART_POINTS` published points (cohorts, establishments, categories,
  waiting periods). With fewer, it would be a one-row chart whose alt text repeats one value ("38.5% ... and
  38.5%"): it is left out and a sentence says so; the table still gives every figure.
- The establishment chart ranks: with more than ``2 * ESTABLISHMENTS_AT_EACH_END`` published establishments
  it shows the :data:`ESTABLISHMENTS_AT_EACH_END` highest and lowest rates and every establishment whose rate
  differs significantly from the rate for all releases after the adjustment for multiple testing (so the
  chart never leaves out one the text counts); the table beside it lists every establishment.
"""

from __future__ import annotations

from collections.abc import Sequence

MIN_CHART_POINTS = 2
ESTABLISHMENTS_AT_EACH_END = 10

# an establishment's verdict against the rate for all releases (bulletin/stats.py: tested_against_all), in the
# words of the chart's legend and of the table (capitalised there): one definition for both
VERDICTS = {
    "higher": "significantly higher",
    "lower": "significantly lower",
    "similar": "not significantly different",
}

# what each chart's points are, for the sentence that replaces a chart left out
POINTS = {
    "trend": "cohorts",
    "events_per_100": "cohorts",
    "establishments": "establishments",
    "court_lag": "waiting periods",
}


def drawn(points: int) -> bool:
    """Whether a chart of ``points`` published points is drawn (the module's first rule)."""
    return points >= MIN_CHART_POINTS


def left_out_sentence(what: str, points: int) -> str:
    """The sentence in place of a chart left out for too few published points (``what``: "cohorts"): none or
    one, as :func:`drawn` leaves out no chart of more."""
    have = "none can" if points == 0 else "only one can"
    return (
        f"There is no chart here: a chart is drawn only when at least {MIN_CHART_POINTS} {what} can be published, "
        f"and {have}. The table gives the figures."
    )


def establishment_chart_rows(rates: Sequence[float | None], verdicts: Sequence[str | None]) -> list[bool]:
    """Per establishment (``rates`` in the table's order, None when withheld): whether the chart shows it.

    Every published establishment when there are at most ``2 * ESTABLISHMENTS_AT_EACH_END``; else the
    ``ESTABLISHMENTS_AT_EACH_END`` highest and lowest rates (ties broken by the table's order) and every one
    whose adjusted verdict (``verdicts``) is "higher" or "lower". Withheld rows are never shown."""
    published = [i for i, rate in enumerate(rates) if rate is not None]
    if len(published) <= 2 * ESTABLISHMENTS_AT_EACH_END:
        chosen = set(published)
    else:
        ranked = sorted(published, key=lambda i: (-(rates[i] or 0.0), i))
        chosen = set(ranked[:ESTABLISHMENTS_AT_EACH_END]) | set(ranked[-ESTABLISHMENTS_AT_EACH_END:])
        chosen |= {i for i in published if verdicts[i] in ("higher", "lower")}
    return [i in chosen for i in range(len(rates))]
