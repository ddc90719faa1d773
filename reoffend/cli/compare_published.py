"""``reoffend compare published``: check published results from their published figures.

A thin wrapper over :mod:`reoffend.compare.published` (docs/comparisons-published.md): one result from the
options, or a batch CSV of them (``--batch``), one row of checks per result.
"""

from __future__ import annotations

import io

import click
import polars as pl

from ..compare.published import KINDS, OPTIONAL, REQUIRED, InvalidResult, Published, check_all, read_batch
from ..compare.rows import PublishedRow
from ..errors import UsageError, one_line, single_problem
from ..io import check_csv_chunk, read_text_file
from ..report.format import number, p_is, per_cent
from .options import FiniteFloatRange, alpha_option, output_options, sided_option

SINGLE = ("kind", "current", "current_size", "baseline", "baseline_size")


@click.command("published")
@click.option(
    "--kind", type=click.Choice(list(KINDS)), help="What was published: rates, events per 100, or a data-lab summary."
)
@click.option(
    "--current",
    metavar="FIGURE",
    help="The current (treated) figure as published: 18% (a rate) or 142 (events per 100).",
)
@click.option(
    "--current-size", type=FiniteFloatRange(min=1), metavar="N", help="People in the current (treated) group."
)
@click.option("--baseline", metavar="FIGURE", help="The baseline (comparison) figure as published.")
@click.option(
    "--baseline-size",
    type=FiniteFloatRange(min=1),
    metavar="N",
    help="People in the baseline group (data-lab: the comparison group's effective size).",
)
@click.option(
    "--dispersion",
    type=FiniteFloatRange(min=0, min_open=True, max=1000),
    metavar="D",
    help="events: the variance-to-mean ratio of a person's events (1, Poisson, unless given).",
)
@click.option("--sd", metavar="CURRENT,BASELINE", help="events: published standard deviations of events per person.")
@click.option(
    "--target-reduction",
    type=FiniteFloatRange(),
    metavar="PCT",
    help="A threshold on the relative fall, in % (Peterborough: 10).",
)
@click.option("--label", default="", help="A name for the result in the output.")
@click.option(
    "--batch",
    type=click.Path(allow_dash=True),  # a folder is read_text_file's to refuse: exit 66, as for any input
    metavar="FILE.csv",
    help=f"A CSV of results, one per row (columns {', '.join(REQUIRED)}; optional {', '.join(OPTIONAL)}).",
)
@alpha_option("Significance level of the tests.")
@sided_option("One-sided tests for a reduction and an increase, or a two-sided test (data-lab: always two-sided).")
@output_options
def compare_published(
    kind,
    current,
    current_size,
    baseline,
    baseline_size,
    dispersion,
    sd,
    target_reduction,
    label,
    batch,
    alpha,
    sided,
    out,
):
    """Check published results from their published figures: the test, interval and verdict they support, and
    whether the rounding of the figures could change the verdict (reoffend docs comparisons-published).

    One result from --kind, --current, --current-size, --baseline and --baseline-size, or many from --batch.
    """
    given = {
        name: value for name, value in zip(SINGLE, (kind, current, current_size, baseline, baseline_size), strict=True)
    }
    extras = {"--dispersion": dispersion, "--sd": sd, "--target-reduction": target_reduction, "--label": label or None}
    if batch is not None:
        named = [f"--{n.replace('_', '-')}" for n, v in given.items() if v is not None]
        named += [n for n, v in extras.items() if v is not None]
        if named:
            raise UsageError(f"--batch takes every result from its file: drop {', '.join(named)}")
        results = read_batch(_read_csv(batch), "<stdin>" if batch == "-" else batch)
    else:
        missing = [f"--{n.replace('_', '-')}" for n, v in given.items() if v is None]
        if missing:
            raise UsageError(f"give {', '.join(missing)} (or --batch FILE.csv)")
        sd_pair = _sd(sd)
        try:
            results = [
                Published(
                    kind=kind,
                    current=current,
                    current_size=current_size,
                    baseline=baseline,
                    baseline_size=baseline_size,
                    label=label,
                    dispersion=dispersion,
                    sd_current=sd_pair[0],
                    sd_baseline=sd_pair[1],
                    target_reduction_pct=target_reduction,
                )
            ]
        except InvalidResult as error:
            raise UsageError("; ".join(_option_words(p.message) for p in error.problems)) from None
    out.expect_columns(list(PublishedRow.columns()))
    rows = check_all(results, alpha, sided)
    headline = "\n".join(one_line(sentence(row)) for row in PublishedRow.of(rows))  # a label's newline stays data
    out.emit(
        rows,
        parameters={"alpha": alpha, "sided": sided, "batch": batch, "results": len(results)},
        metadata={"results": rows.height, "rounding_could_change": int(rows["rounding_could_change"].sum())},
        title="Published results checked",
        display=_display(rows),
        caption="difference and change: current against baseline; rates in %, events per 100; the interval beside "
        "the verdict (change for events, difference otherwise)",
        extra_json={"headline": headline.splitlines()},
        headline=headline,
    )


def _read_csv(path: str) -> pl.DataFrame:
    text = read_text_file(path, "batch of published results")
    check_csv_chunk()
    try:
        return pl.read_csv(io.StringIO(text), infer_schema=False)
    except pl.exceptions.PolarsError as error:
        name = "<stdin>" if path == "-" else path
        raise single_problem(
            name, None, "not-csv", f"cannot read the batch as CSV: {str(error).splitlines()[0]}"
        ) from None


def _sd(text: str | None) -> tuple[float | None, float | None]:
    if text is None:
        return None, None
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 2:
        raise UsageError(f"--sd takes two standard deviations, CURRENT,BASELINE (e.g. 2.1,2.3), not {text!r}")
    return values[0], values[1]


def _option_words(message: str) -> str:
    """A core message names a batch column (``sd_current``); on the command line say the option."""
    for column, option in (
        ("current_size", "--current-size"),
        ("baseline_size", "--baseline-size"),
        ("sd_current and sd_baseline", "--sd"),
        ("sd_current", "--sd"),
        ("sd_baseline", "--sd"),
        ("target_reduction_pct", "--target-reduction"),
        ("dispersion", "--dispersion"),
        ("current", "--current"),
        ("baseline", "--baseline"),
        ("kind", "--kind"),
    ):
        if message.startswith(column):
            return option + message[len(column) :]
    return message


def _display(rows: pl.DataFrame) -> pl.DataFrame:
    """The terminal view: one line per result."""
    typed = PublishedRow.of(rows)
    return pl.DataFrame(
        {
            "Result": [r.label or str(r.row) for r in typed],
            "Kind": [r.kind for r in typed],
            "Current": [f"{r.current_published} of {r.current_size:,}" for r in typed],
            "Baseline": [f"{r.baseline_published} of {number(r.baseline_size, 0)}" for r in typed],
            "Verdict": [r.verdict for r in typed],
            "Interval": [_interval(r) for r in typed],
            "Rounding could change it": ["yes" if r.rounding_could_change else "no" for r in typed],
        },
        schema=dict.fromkeys(
            ["Result", "Kind", "Current", "Baseline", "Verdict", "Interval", "Rounding could change it"], pl.String
        ),
    )


def _interval(row: PublishedRow) -> str:
    level = per_cent(100 * row.interval_confidence, 0)

    def signed(value: float | None) -> str:
        return number(value, 1, signed=True)

    if row.kind == "events":
        low, high = signed(row.change_low_pct), signed(row.change_high_pct)
        return f"change {signed(row.change_pct)}% ({level}: {low} to {high})"
    low, high = signed(row.difference_low), signed(row.difference_high)
    return f"{signed(row.difference_per_100)} points ({level}: {low} to {high})"


def sentence(row: PublishedRow) -> str:
    """One result in words: the figures, the interval beside the verdict, the verdict, the rounding."""
    who = f"{row.label}: " if row.label else f"Result {row.row}: "
    level = per_cent(100 * row.interval_confidence, 0)
    p = (
        row.p_two_sided
        if row.sided == "two"
        else (None if row.p_reduction is None or row.p_increase is None else min(row.p_reduction, row.p_increase))
    )
    test = f"{row.sided}-sided p {p_is(p)}"

    def signed(value: float | None) -> str:
        return number(value, 1, signed=True)

    if row.kind == "events" and row.change_pct is None and row.p_two_sided is None:
        figures = (
            f"{row.current_published} against {row.baseline_published} reconviction events per 100: no change can be "
            "estimated from a mean of 0"
        )
    elif row.kind == "events" and row.change_pct is None:
        figures = (
            f"{row.current_published} against {row.baseline_published} reconviction events per 100 "
            f"({row.current_size:,} and {number(row.baseline_size, 0)} people), a rise from a baseline of 0 (no "
            f"relative change; {level} interval of the change from {signed(row.change_low_pct)}% up, no upper bound; "
            f"score test, {test})"
        )
    elif row.kind == "events":
        dispersion = number(row.dispersion, 2) if row.dispersion is not None else "from the published SDs"
        if row.current_per_100 == 0:  # no log ratio: the score test (reoffend.compare.published.events_score_test)
            test = f"score test, {test}"
        figures = (
            f"{row.current_published} against {row.baseline_published} reconviction events per 100 "
            f"({row.current_size:,} and {number(row.baseline_size, 0)} people), a change of {signed(row.change_pct)}% "
            f"({level} interval {signed(row.change_low_pct)}% to {signed(row.change_high_pct)}%; {test}, "
            f"dispersion {dispersion})"
        )
    else:
        what = "participants against the comparison group" if row.kind == "data-lab" else "against the baseline"
        figures = (
            f"{row.current_published} of {row.current_size:,} {what}'s {row.baseline_published} of "
            f"{number(row.baseline_size, 0)}, a difference of {signed(row.difference_per_100)} points "
            f"({level} interval {signed(row.difference_low)} to {signed(row.difference_high)}; {test})"
        )
    target = ""
    if row.target_met is not None:
        target = f"; the {number(row.target_reduction_pct, 1)}% threshold is {'met' if row.target_met else 'not met'}"
    rounding = (
        f"; the rounding of the published figures could change it ({row.verdict_at_largest_fall} at the largest "
        f"fall they allow, {row.verdict_at_smallest_fall} at the smallest)"
        if row.rounding_could_change
        else "; the rounding of the published figures cannot change it"
    )
    return f"{who}{figures}: {row.verdict}{target}{rounding}."
