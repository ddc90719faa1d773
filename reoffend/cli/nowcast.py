"""``reoffend nowcast``: provisional figures for cohorts still in follow-up, and ``--backtest``."""

from __future__ import annotations

import click

from ..nowcast import COURT_LAG, ESTIMATORS
from ..report.terminal.nowcast import NOWCAST_TITLE, display_backtest, display_nowcast
from ..runs.common import command_line_flag
from ..runs.nowcast import backtest_run, nowcast_params, nowcast_run
from .caller import command_caller
from .inputs import errors_reported
from .options import cohort_options, input_options, output_options, refuse_unused, typed, window_options
from .output import writer_for_suffix

# a nowcast takes every cohort as it is at the extract date: these two options of the measure do not apply
NOT_APPLICABLE = ("incomplete", "latest_cohort")


@click.command()
@input_options
@window_options
@cohort_options
@click.option(
    "--by",
    default="cohort",
    show_default=True,
    metavar="COLS",
    help="Comma-separated release columns to group by; cohort is always one of them.",
)
@click.option(
    "--final-cohorts",
    type=click.IntRange(min=0),
    default=4,
    show_default=True,
    help="How many of the latest complete cohorts to show, as final figures, for reference.",
)
@click.option(
    "--estimator",
    type=click.Choice(ESTIMATORS),
    default="cohort",
    show_default=True,
    help="cohort: follow each cohort's own level as far as it differs from the reference's (credibility); "
    "reference: complete every release at the complete releases' level (the model before issue 25); ratio "
    "(full weight on the cohort's own level) and benktander (weight = share developed): for comparison.",
)
@click.option(
    "--court-lag",
    type=click.Choice(COURT_LAG),
    default="adjust",
    show_default=True,
    help="When recent convictions took longer (or less long) than the complete releases' to arrive: adjust "
    "the development to the new lag and widen the interval, refuse (no provisional figures for those cohorts), "
    "or ignore (warn only).",
)
@click.option(
    "--learn-from",
    type=click.Choice(("all", "complete")),
    default="all",
    show_default=True,
    help="all: learn the chance of reoffending after each day from every release, those still in follow-up "
    "counted up to the day they have reached (Kaplan-Meier); complete: from the complete releases alone (with "
    "--estimator reference --court-lag ignore, the model before issue 25).",
)
@click.option(
    "--check/--no-check",
    default=True,
    show_default=True,
    help="Run a quick backtest (6 origins, 2 months apart) and warn when its intervals held the final rate too "
    "rarely at the months observed shown.",
)
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 1),
    default=0.85,
    show_default=True,
    help="--check: the coverage below which the provisional figures are flagged as unreliable.",
)
@click.option(
    "--backtest",
    "run_backtest",
    is_flag=True,
    help="Instead of the nowcast, nowcast at earlier month ends with the convictions known then and report "
    "the errors and interval coverage against the final figures, per months-observed band.",
)
@click.option(
    "--origins",
    type=click.IntRange(min=1),
    default=12,
    show_default=True,
    help="--backtest: the number of origins (month ends).",
)
@click.option(
    "--origin-step",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="--backtest: months between origins.",
)
@click.option(
    "--detail",
    type=click.Path(dir_okay=False),
    help="--backtest: also write one row per cohort-origin (provisional, interval, final) to this file.",
)
@output_options
def nowcast_command(
    spec,
    errors_file,
    measurement,
    by,
    final_cohorts,
    estimator,
    court_lag,
    learn_from,
    check,
    min_coverage,
    run_backtest,
    origins,
    origin_step,
    detail,
    out,
):
    """Provisional figures, with intervals, for cohorts whose follow-up is not complete yet.

    What is observed at the extract date, completed by the development learned from releases whose
    follow-up is complete (reoffend docs nowcast). Complete cohorts are final and equal `measure`'s figures.
    """
    if detail and not run_backtest:
        raise click.UsageError("--detail goes with --backtest")
    if run_backtest:
        refuse_unused(
            {"final_cohorts": "--final-cohorts"}, "does nothing with --backtest (it shows every cohort at each origin)"
        )
        refuse_unused({"check": "--check/--no-check", "min_coverage": "--min-coverage"}, "does nothing with --backtest")
    else:
        refuse_unused({"origins": "--origins", "origin_step": "--origin-step"}, "goes with --backtest")
    params = nowcast_params(
        measurement,
        by=by,
        final_cohorts=final_cohorts,
        estimator=estimator,
        court_lag=court_lag,
        learn_from=learn_from,
        flag=command_line_flag,
    )
    with out.status("reading the inputs") as progress, errors_reported(errors_file):
        caller = command_caller(out, errors_file, progress)
        if run_backtest:
            tested = backtest_run(spec, params, caller, origins=origins, origin_step=origin_step)
        else:
            given = typed({"min_coverage": "--min-coverage"})  # refused without --check
            run = nowcast_run(spec, params, caller, check=check, min_coverage=min_coverage, given=given)
    if run_backtest:
        for warning in tested.result.warnings:
            out.warn(warning)
        extra = [(detail, writer_for_suffix(tested.result.detail, detail))] if detail else []
        out.emit(
            tested.result.rows,
            parameters=tested.parameters,
            metadata=tested.result.metadata,
            extra_outputs=extra,
            title="Nowcast backtest",
            display=display_backtest(tested.result.rows),
            caption=tested.caption,
        )
        return
    for warning in run.outcome.warnings:
        out.warn(warning)
    out.emit(
        run.outcome.rows,
        parameters=run.parameters,
        metadata=run.outcome.metadata,
        title=NOWCAST_TITLE,
        display=display_nowcast(run.outcome.rows, params.measurement.by, params.measurement.confidence),
        caption=run.caption,
    )


nowcast_command.params = [p for p in nowcast_command.params if p.name not in NOT_APPLICABLE]
nowcast_command.name = "nowcast"
