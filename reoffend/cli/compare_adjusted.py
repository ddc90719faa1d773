"""``reoffend compare adjusted``: the risk-adjusted baseline, the national payment mechanism.

A thin wrapper over :mod:`reoffend.compare.adjusted` (docs/comparisons-adjusted.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import click
import polars as pl

from ..compare.adjusted import AdjustedResult
from ..io import by_name, check_writable
from ..report.format import level, p_value, pct
from ..report.multiple import DESCRIPTION
from ..report.tables import AdjustedLine, adjusted_table
from ..report.verdict import Verdict
from ..report.views import adjusted_extra_json, adjusted_headline, adjusted_headlines, shift_summary
from ..runs.adjusted import adjusted_params, adjusted_run
from ..runs.common import command_line_flag
from .caller import command_caller
from .covariate_forms import covariate_form_option
from .inputs import errors_reported
from .options import (
    alpha_option,
    cohort_options,
    fail_unless_significant_option,
    input_options,
    multiple_testing_option,
    output_options,
    sided_option,
    window_options,
)
from .output import json_value
from .tables import render_table

HEADLINES_SHOWN = 10


@click.command("adjusted")
@input_options
@window_options
@cohort_options
@click.option(
    "--baseline",
    required=True,
    metavar="COHORT[,COHORT]",
    help="Baseline cohort label(s) the models are fitted on (e.g. 2022Q1,2022Q2).",
)
@click.option(
    "--baseline-filter",
    multiple=True,
    metavar="COLUMN=VALUE[,VALUE]",
    help="Fit only on baseline releases whose COLUMN is one of the values (default: all providers). Repeatable.",
)
@click.option(
    "--current",
    metavar="COHORT[,COHORT]",
    help="Current cohort label(s) to compare (default: every cohort after the baseline; --latest-cohort: the last).",
)
@click.option(
    "--current-filter",
    multiple=True,
    metavar="COLUMN=VALUE[,VALUE]",
    help="Compare only current releases whose COLUMN is one of the values (the fit is unaffected). Repeatable.",
)
@click.option(
    "--by",
    default="establishment",
    show_default=True,
    metavar="COLS",
    help="Provider column(s): one comparison per provider and current cohort.",
)
@click.option(
    "--covariates",
    required=True,
    metavar="COLS",
    help="Release columns the risk models adjust for: numeric as given, text as categories.",
)
@covariate_form_option("spline:4")
@click.option(
    "--count-model",
    type=click.Choice(["negbin", "poisson"]),
    default="negbin",
    show_default=True,
    help="Model of reoffences per offender: negative binomial (NB2) or Poisson.",
)
@click.option(
    "--unseen",
    type=click.Choice(["error", "pool"]),
    default="error",
    show_default=True,
    help="A current category the baseline lacks: an error, or scored as 'other'.",
)
@click.option(
    "--parameter-uncertainty",
    is_flag=True,
    help="Add the baseline coefficients' uncertainty (delta method) to the test's variance.",
)
@click.option(
    "--relative-to",
    type=click.Choice(["baseline", "others"]),
    default="baseline",
    show_default=True,
    help="Judge each unit against the baseline model (the payment mechanism), or against the other units of its "
    "cohort: its actual minus expected less theirs, so a shift everyone shares cancels out.",
)
@alpha_option("Significance level of the tests.")
@sided_option()
@multiple_testing_option()
@click.option(
    "--model-summary",
    type=click.Path(dir_okay=False),
    help="Also write the baseline models' summaries (coefficients, fit, calibration) to this JSON file.",
)
@fail_unless_significant_option(
    "Exit with status 1 (after writing the output) unless every row beat the baseline on both measures "
    "(after the --multiple-testing adjustment)."
)
@output_options
@click.pass_context
def compare_adjusted(
    ctx,
    spec,
    errors_file,
    measurement,
    baseline,
    baseline_filter,
    current,
    current_filter,
    by,
    covariates,
    covariate_form,
    count_model,
    unseen,
    parameter_uncertainty,
    relative_to,
    alpha,
    sided,
    multiple_testing,
    model_summary,
    fail_unless_significant,
    out,
):
    """Risk-adjusted baseline (national payment mechanism): actual against expected, per provider and cohort.

    Fits a logistic regression of reoffended and a negative binomial (or Poisson) regression of reoffences
    on --covariates over the --baseline cohorts, predicts every current index release, and compares per
    provider (--by) and current cohort the actual binary rate with the mean predicted probability and the
    actual reoffences per offender with the mean predicted count. Both measures are tested and reported
    separately (reoffend docs comparisons-adjusted).
    """
    if model_summary:
        check_writable(model_summary)
    params = adjusted_params(
        measurement,
        covariates=covariates,
        baseline=baseline,
        covariate_form=covariate_form,
        baseline_filter=baseline_filter,
        current=current,
        current_filter=current_filter,
        by=by,
        count_model=count_model,
        unseen=unseen,
        parameter_uncertainty=parameter_uncertainty,
        relative_to=relative_to,
        alpha=alpha,
        sided=sided,
        multiple_testing=multiple_testing,
        flag=command_line_flag,
    )
    out.expect_columns([*params.group_columns, *params.row_class.columns()])
    with out.status("reading the inputs") as progress, errors_reported(errors_file):
        run = adjusted_run(spec, params, command_caller(out, errors_file, progress))
    for warning in run.warnings:
        out.warn(warning)
    result = run.result
    extra_outputs = []
    if model_summary:
        text = json.dumps(json_value(result.models), indent=2, ensure_ascii=False) + "\n"
        write_summary = by_name(model_summary, lambda handle: handle.write(text.encode()), "--model-summary")
        extra_outputs.append((model_summary, write_summary))
    out.emit(
        result.rows,
        parameters=run.parameters,
        metadata=result.metadata,
        title=ADJUSTED_TITLE,
        display=display_rows(result),
        display_numeric=adjusted_table(result.params).numeric(),
        caption=_caption(result),
        extra_json=adjusted_extra_json(result, run.result_warnings),
        extra_outputs=extra_outputs,
        headline=_summary(result),
    )
    if out.output_format == "table":
        print_models(result)
    if fail_unless_significant and not result.all_significant():
        ctx.exit(1)


ADJUSTED_TITLE = "Risk-adjusted comparison with the baseline"


def _summary(result: AdjustedResult) -> str:
    rows = result.rows
    shift = shift_summary(result)
    if rows.height <= HEADLINES_SHOWN:
        return "\n".join(line for line in (adjusted_headlines(result), shift) if line)
    params = result.params
    others = params.relative_to == "others"
    against, them = ("the other units", "them") if others else ("the baseline", "it")
    lines = []
    for row in result.verdict_counts().iter_rows(named=True):
        freq = {k: row[f"reoffences_per_offender_{k}"] for k in ("reduction", "increase", "reduction_unadjusted")}
        # each count beside its own measure, the unadjusted one too (issue 26's review: "6 and 1 before it" read
        # as 6 beat and 1 worse on the second measure, where 6 was the binary rate's)
        lines.append(
            f"{row['units']} units in {row['cohort']} ({params.sided}-sided tests at {level(params.alpha)}, "
            f"{DESCRIPTION[params.multiple_testing]}): on the binary rate {row['binary_reduction']} beat {against} "
            f"and {row['binary_increase']} were significantly worse ({row['binary_reduction_unadjusted']} beat "
            f"{them} before the adjustment); on reoffences per offender {freq['reduction']} beat {them} and "
            f"{freq['increase']} were significantly worse ({freq['reduction_unadjusted']} beat {them} before the "
            "adjustment)"
        )
    changed = rows.filter(
        (pl.col("binary_verdict_adjusted") != Verdict.NO_CHANGE.value)
        | (pl.col("reoffences_per_offender_verdict_adjusted") != Verdict.NO_CHANGE.value)
    )
    lines.extend(
        adjusted_headline(row, params)
        for row in params.row_class.of(changed.head(HEADLINES_SHOWN), params.group_columns)
    )
    if changed.height > HEADLINES_SHOWN:
        lines.append(f"... and {changed.height - HEADLINES_SHOWN} more (see the rows)")
    if shift:
        lines.append(shift)
    return "\n".join(lines)


def _caption(result: AdjustedResult) -> str:
    binary, frequency = result.models["binary"], result.models["frequency"]
    design = result.models["design"]
    parts = [
        "binary: share who reoffended, difference in percentage points; frequency: reoffences per offender; "
        + ("p: one-sided, for a reduction" if result.params.sided == "one" else "p: two-sided")
        + f" (raw); significant: the verdict after {DESCRIPTION[result.params.multiple_testing]} over the units",
        f"fitted on {design['baseline_releases']:,} baseline releases ({', '.join(design['baseline_cohorts'])})",
        f"binary model AUC {binary['auc']:.3f}, pseudo R² {binary['pseudo_r_squared']:.3f}",
        f"count model pseudo R² {frequency['pseudo_r_squared']:.3f}"
        + (f", alpha {frequency['alpha']:.3f}" if frequency["alpha"] is not None else ""),
    ]
    for item in result.unseen:
        parts.append(f"{item['column']}={item['value']} pooled as {item['scored_as']}")
    if result.params.relative_to == "others":
        parts.insert(
            0,
            "relative to the other units (--relative-to others): expected = the baseline model's expectation moved "
            "by the shift of the rest of the unit's cohort; the payment mechanism used the baseline alone",
        )
    return "; ".join(parts)


# ----------------------------------------------------------------------------------------------- display
def display_rows(result: AdjustedResult) -> pl.DataFrame:
    """The terminal view, from the comparison's table spec (reoffend.report.tables: the bulletin's table shows
    the same headers and cells): two lines per unit, one per measure (never merged)."""
    if not result.rows.height:
        return pl.DataFrame()
    return adjusted_table(result.params).frame(AdjustedLine.of(result.typed_rows()))


def print_models(result: AdjustedResult, console: Any = None) -> None:
    """The baseline models' summaries on the terminal: fit, coefficients and calibration tables."""
    models = result.models
    binary, frequency = models["binary"], models["frequency"]
    fit = pl.DataFrame(
        {
            "model": ["logit: reoffended", f"{_count_name(frequency)}: reoffences"],
            "n": [f"{binary['n']:,}", f"{frequency['n']:,}"],
            "observed": [pct(binary["observed_rate"]), f"{frequency['observed_per_offender']:.3f} per offender"],
            "pseudo R²": [f"{binary['pseudo_r_squared']:.4f}", f"{frequency['pseudo_r_squared']:.4f}"],
            "AUC": [f"{binary['auc']:.3f}", "–"],
            "alpha": ["–", "–" if frequency["alpha"] is None else f"{frequency['alpha']:.4f}"],
            "converged": ["yes" if binary["converged"] else "NO", "yes" if frequency["converged"] else "NO"],
        }
    )
    render_table(fit, title="Baseline models", console=console)
    coefficients = pl.DataFrame(
        {
            "term": [c["term"] for c in binary["coefficients"]],
            "logit coef": [f"{c['estimate']:+.4f}" for c in binary["coefficients"]],
            "logit se": [f"{c['se']:.4f}" for c in binary["coefficients"]],
            "logit p": [p_value(c["p"]) for c in binary["coefficients"]],
            "count coef": [f"{c['estimate']:+.4f}" for c in frequency["coefficients"]],
            "count se": [f"{c['se']:.4f}" for c in frequency["coefficients"]],
            "count p": [p_value(c["p"]) for c in frequency["coefficients"]],
        }
    )
    render_table(coefficients, title="Coefficients (log-odds; log of reoffences per offender)", console=console)
    render_table(
        _calibration_display(binary["calibration"], frequency["calibration"]),
        title="Calibration on the baseline, by decile of each model's own prediction",
        console=console,
    )
    render_table(
        _band_display(models["calibration_by"]["bands"]),
        title="Calibration on the baseline by covariate band: observed / expected (interval)",
        console=console,
    )


def _band_display(bands: Mapping[str, list[Mapping]]) -> pl.DataFrame:
    """One line per covariate band: O/E of both models with their intervals; '*' where it excludes 1."""
    frequency = {(r["covariate"], r["band"]): r for r in bands.get("frequency", [])}

    def cell(row: Mapping | None) -> str:
        if row is None:
            return "–"
        mark = " *" if row["off"] else ""
        return f"{row['observed_expected']:.2f} ({row['low']:.2f}–{row['high']:.2f}){mark}"

    return pl.DataFrame(
        [
            {
                "covariate": r["covariate"],
                "band": r["band"],
                "releases": f"{r['releases']:,}",
                "binary O/E": cell(r),
                "frequency O/E": cell(frequency.get((r["covariate"], r["band"]))),
            }
            for r in bands.get("binary", [])
        ],
        schema=dict.fromkeys(["covariate", "band", "releases", "binary O/E", "frequency O/E"], pl.String),
    )


def _count_name(summary: Mapping) -> str:
    return "negative binomial (NB2)" if summary["alpha"] is not None else "Poisson"


def _calibration_display(binary: list[Mapping], frequency: list[Mapping]) -> pl.DataFrame:
    count_by_group = {row["group"]: row for row in frequency}
    records = []
    for row in binary:
        other = count_by_group.get(row["group"])
        records.append(
            {
                "decile": str(row["group"]),
                "releases": f"{row['releases']:,}",
                "predicted rate": pct(row["predicted_mean"]),
                "observed rate": pct(row["observed_mean"]),
                "predicted per offender": "–" if other is None else f"{other['predicted_mean']:.2f}",
                "observed per offender": "–" if other is None else f"{other['observed_mean']:.2f}",
            }
        )
    return pl.DataFrame(records)
