"""``reoffend compare matched``: Peterborough style, against a propensity-score-matched comparison group.

A thin wrapper over :mod:`reoffend.compare.matched` (docs/comparisons-matched.md).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import click

from ..bulletin.folder import REPORT, check_target, write_folder
from ..compare.matched import MIN_TREATED, STYLES, MatchedResult
from ..compare.rows import MatchedRow
from ..errors import UsageError, escape_controls
from ..report.evaluation_report import report_files
from ..report.sensitivity import sensitivity_summary
from ..report.terminal.matched import (
    MATCHED_TITLE,
    caption,
    diagnostics_text,
    display_rows,
    matched_headline,
    primary_spec,
    render_details,
)
from ..report.views import matched_extra_json
from ..runs.common import command_line_flag
from ..runs.matched import MatchedRun, matched_params, matched_run
from .caller import command_caller
from .covariate_forms import covariate_form_option
from .inputs import errors_reported
from .options import (
    alpha_option,
    cohort_options,
    fail_unless_significant_option,
    hide_options,
    input_options,
    multiple_testing_option,
    output_options,
    refuse_unused,
    typed,
    window_options,
)
from .output import OUTPUT_OPTIONS, figure_bytes, plot_format_for, writer_for_suffix
from .tables import pipe_console


@click.command("matched")
@hide_options("confidence")
@input_options
@window_options
@cohort_options
@click.option(
    "--treated",
    multiple=True,
    metavar="COLUMN=VALUE[,VALUE]",
    help="The treated index releases, e.g. establishment=EST042. Repeatable (all must hold).",
)
@click.option(
    "--treated-ids",
    type=click.Path(),
    help="File of offender_id, one per line ('-': stdin): a programme's participants; which of their index "
    "releases are treated: --ids-releases.",
)
@click.option(
    "--ids-releases",
    type=click.Choice(["first", "all"]),
    default="first",
    show_default=True,
    help="With --treated-ids: treat each listed person's earliest index release in the cohorts compared, or all.",
)
@click.option(
    "--pool",
    multiple=True,
    metavar="COLUMN=VALUE[,VALUE]",
    help="Narrow the comparison pool (default: every other index release in the treated cohorts). Repeatable.",
)
@click.option(
    "--covariates",
    metavar="COLS",
    help="Release columns of the propensity model: numeric as given, text as categories (e.g. age,sex,...).",
)
@covariate_form_option("linear")
@click.option("--exact", default="cohort", show_default=True, metavar="COLS", help="Match exactly on these columns.")
@click.option(
    "--ratio", type=click.IntRange(min=1), default=10, show_default=True, help="Comparators per treated release."
)
@click.option(
    "--caliper",
    type=click.FloatRange(min=0, min_open=True),
    default=0.2,
    show_default=True,
    help="Maximum distance, in standard deviations of the logit of the propensity score.",
)
@click.option("--drop-missing", is_flag=True, help="Drop index releases with a missing covariate (else an error).")
@click.option(
    "--bootstrap",
    type=click.IntRange(min=0),
    default=2000,
    show_default=True,
    help="Bootstrap replicates (treated releases resampled with their comparators; 0: no intervals).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the bootstrap and of tie-breaking.")
@click.option(
    "--min-treated",
    type=click.IntRange(min=1),
    default=MIN_TREATED,
    show_default=True,
    help="Fewest matched treated releases a row needs to be tested; below it: 'too few to test'.",
)
@alpha_option("Significance level of the one-sided test for a reduction.")
@multiple_testing_option()
@click.option("--target", type=float, metavar="PCT", help="Per-cohort target: a reduction in events per 100 of PCT %.")
@click.option("--pooled-target", type=float, metavar="PCT", help="Target for all cohorts together, in %.")
@click.option(
    "--style",
    type=click.Choice(sorted(STYLES)),
    help="peterborough: --target 10 and --pooled-target 7.5 unless given.",
)
@click.option(
    "--balance-plot",
    type=click.Path(dir_okay=False),
    help="Draw the SMD before/after plot to FILE.png or FILE.svg (the format from the extension).",
)
@click.option(
    "--matches",
    "matches_file",
    type=click.Path(dir_okay=False),
    help="Write the matched pairs (treated, comparator, distance, weight) to FILE (.csv/.parquet/.ndjson).",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False),
    help="Also write a one-page evaluation report (report.html, report.md, balance.png, result.json) to DIR, "
    "atomically.",
)
@fail_unless_significant_option(
    "Exit with status 1 (after writing the output) unless the reduction in events over all cohorts together "
    "is significant."
)
@output_options
@click.pass_context
def compare_matched_command(
    ctx,
    spec,
    errors_file,
    measurement,
    treated,
    treated_ids,
    ids_releases,
    pool,
    covariates,
    covariate_form,
    exact,
    ratio,
    caliper,
    drop_missing,
    bootstrap,
    seed,
    min_treated,
    alpha,
    multiple_testing,
    target,
    pooled_target,
    style,
    balance_plot,
    matches_file,
    report_dir,
    fail_unless_significant,
    out,
):
    """Peterborough style: treated releases against a propensity-score-matched comparison group.

    Exact matching on --exact (default the cohort), then up to --ratio nearest neighbours on the logit of the
    propensity score, with replacement, within --caliper SDs. Reconviction events per 100 (primary) and the
    binary rate of the treated against the weighted comparison group, per cohort and pooled, with bootstrap
    intervals, one-sided p for a reduction, target verdicts, and the balance diagnostics
    (reoffend docs comparisons-matched).
    """
    check_matched_options(ctx, treated, treated_ids, report_dir)
    params = matched_params(
        measurement,
        covariates=covariates,
        covariate_form=covariate_form,
        treated=treated,
        treated_ids=treated_ids,
        ids_releases=ids_releases,
        pool=pool,
        exact=exact,
        ratio=ratio,
        caliper=caliper,
        drop_missing=drop_missing,
        bootstrap=bootstrap,
        min_treated=min_treated,
        seed=seed,
        alpha=alpha,
        target=target,
        pooled_target=pooled_target,
        style=style,
        multiple_testing=multiple_testing,
        flag=command_line_flag,
        given=typed({"ids_releases": "--ids-releases"}),  # refused without --treated-ids
    )
    out.expect_columns(MatchedRow.columns())
    with out.status("reading the inputs") as progress, errors_reported(errors_file):
        run = matched_run(spec, params, command_caller(out, errors_file, progress))
    emit_matched(run, out, matches_file, balance_plot)
    if report_dir:
        write_report(run, report_dir)
    for sentence in sensitivity_summary(run.result):
        out.message(f"sensitivity: {sentence}")
    out.message(diagnostics_text(run.result))
    if fail_unless_significant and not run.result.all_significant():
        ctx.exit(1)


def check_matched_options(ctx: click.Context, treated, treated_ids, report_dir) -> None:
    """Refuse what would do nothing (--confidence; --ids-releases without --treated-ids is refused by
    :func:`reoffend.runs.matched.matched_params`) and a --report folder that holds another output (replaced
    whole, it would lose it)."""
    refuse_unused(
        {"confidence": "--confidence"},
        "does nothing here: the intervals of compare matched are the (1 - 2 alpha) bootstrap percentile intervals "
        "its one-sided test at --alpha reads; set --alpha (0.05 gives 90% intervals)",
    )
    if report_dir:
        folder = check_target(report_dir, REPORT)
        for name, flag in OUTPUT_OPTIONS.items():  # a file inside would be lost when the folder is replaced
            path = ctx.params.get(name)
            if path and path != "-" and Path(os.path.realpath(path)).is_relative_to(folder):
                raise UsageError(
                    f"{flag} {path} is inside the --report folder {report_dir}, which is replaced whole; "
                    "write it elsewhere"
                )


def emit_matched(run: MatchedRun, out, matches_file: str | None, balance_plot: str | None) -> None:
    """The run's warnings, the rows and their JSON, the --matches and --balance-plot files; at a terminal, the
    other tables too."""
    result = run.result
    for warning in result.warnings:
        out.warn(warning)
    extra: list[tuple] = []
    if matches_file:
        extra.append((matches_file, writer_for_suffix(result.matches, matches_file), True))  # record-level
    if balance_plot:
        extra.append((balance_plot, balance_plot_writer(result, plot_format_for(balance_plot))))
    out.emit(
        result.rows,
        parameters=run.parameters,
        metadata=result.metadata,
        title=MATCHED_TITLE,
        display=display_rows(result),
        display_numeric=primary_spec(result).numeric(),
        extra_json=matched_extra_json(result),
        extra_outputs=extra,
        caption=caption(result),
        headline=matched_headline(result),
    )
    if out.output_format == "table":
        render_details(result, pipe_console())


def write_report(run: MatchedRun, report_dir: str) -> None:
    """``--report DIR``: the one-page evaluation report, written atomically."""
    png = io.BytesIO()
    balance_plot_writer(run.result)(png)
    files = report_files(run.result, run.parameters, png.getvalue(), matched_extra_json(run.result))
    write_folder(report_dir, files, REPORT)


# -------------------------------------------------------------------------------------------- the plot
def balance_plot_writer(result: MatchedResult, plot_format: str = "png"):
    """A writer of the before/after SMD plot, PNG or SVG (:func:`reoffend.cli.output.figure_bytes`: identical
    input gives identical bytes; a covariate level is drawn as written, never as mathtext)."""
    data = figure_bytes(lambda plt: _balance_plot(result, plt), plot_format)
    return lambda handle: handle.write(data)


def _balance_plot(result: MatchedResult, plt):
    frame = result.balance.reverse()
    # a control character (U+0001) is not allowed in XML: shown as an escape, as in the bulletin's charts
    labels = [
        escape_controls(c if lv is None else f"{c}={lv}")
        for c, lv in zip(frame.get_column("covariate"), frame.get_column("level"), strict=True)
    ]
    before = [float("nan") if v is None else v for v in frame.get_column("smd_before")]
    after = [float("nan") if v is None else v for v in frame.get_column("smd_after")]
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(labels) + 1.4), dpi=110)
    y = list(range(len(labels)))
    ax.axvline(0, color="0.6", lw=0.8)
    for x in (-0.1, 0.1):
        ax.axvline(x, color="tab:red", lw=0.8, ls="--")
    ax.scatter(before, y, facecolors="none", edgecolors="tab:gray", label="before matching", zorder=3)
    ax.scatter(after, y, color="tab:blue", label="after matching (weighted)", zorder=3)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("standardised mean difference (treated − comparison)")
    ax.set_title("Covariate balance", fontsize=10, pad=22)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
