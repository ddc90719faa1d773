"""``reoffend compare adjusted``: the risk-adjusted baseline, the national payment mechanism.

A thin wrapper over :mod:`reoffend.compare.adjusted` (docs/comparisons-adjusted.md).
"""

from __future__ import annotations

import json

import click

from ..io import by_name, check_writable
from ..report.tables import adjusted_table
from ..report.terminal.adjusted import ADJUSTED_TITLE, adjusted_caption, adjusted_summary, display_rows, print_models
from ..report.views import adjusted_extra_json
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
from .tables import pipe_console


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
        caption=adjusted_caption(result),
        extra_json=adjusted_extra_json(result, run.result_warnings),
        extra_outputs=extra_outputs,
        headline=adjusted_summary(result),
    )
    if out.output_format == "table":
        print_models(result, pipe_console())
    if fail_unless_significant and not result.all_significant():
        ctx.exit(1)
