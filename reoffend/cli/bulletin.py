"""``reoffend bulletin``: a quarterly bulletin folder from one TOML config (docs/bulletin.md)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from ..errors import UsageError, printable
from ..runs.bulletin import DEFAULT_FOLDER, prepared_bulletin
from . import run_log
from .console import prefixed, stderr_console
from .run_log import check_log_outside

if TYPE_CHECKING:
    pass


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(),
    metavar="FILE",
    help="The bulletin's TOML config (see --example-config).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help=f"Folder to write (replaced atomically; default: the config's `output`, else ./{DEFAULT_FOLDER}).",
)
@click.option(
    "--extract-date",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Date the data was extracted (beats the config; default: the latest conviction_date).",
)
@click.option(
    "--as-at",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Publish as an extract taken on this date would have (beats [inputs] as_at; reoffend docs measures).",
)
@click.option(
    "--previous",
    type=click.Path(file_okay=False),  # a folder read as data (reoffend/bulletin/revisions.py), never written
    metavar="DIR",
    help="The previous bulletin's folder: publish a revisions table of its figures (beats [publication] previous).",
)
@click.option("--example-config", is_flag=True, help="Print a commented example config and exit.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors on standard error.")
def bulletin(config_path, output, extract_date, as_at, previous, example_config, quiet):
    """Write a quarterly reoffending bulletin: index.html, bulletin.md, figures/, tables/, manifest.json.

    The folder is built beside the target and renamed into place only when complete, so a failed run leaves
    an earlier bulletin untouched. Progress is shown on a terminal only (silent under cron). The config and
    the document: reoffend docs bulletin.
    """
    # imported here: matplotlib and the bulletin modules cost every other command half a second
    from ..bulletin.build import STEPS, build_bulletin
    from ..bulletin.config import EXAMPLE_CONFIG
    from ..bulletin.folder import folder_lock

    if example_config:
        if config_path or output or extract_date or as_at or previous:  # they would be ignored, silently
            raise UsageError("--example-config prints the example config and does nothing else: give it alone")
        sys.stdout.write(EXAMPLE_CONFIG)
        return
    if not config_path:
        raise UsageError("bulletin needs --config FILE (reoffend bulletin --example-config prints an example)")
    report = run_log.current()

    def check_log(target: str) -> None:
        if report.log_path and not output:  # the config's folder: the log must not be inside what is replaced
            check_log_outside(report.log_path, target)

    config, target = prepared_bulletin(
        config_path,
        output,
        as_at=as_at.date() if as_at else None,
        previous=previous,
        acknowledged=report.acknowledged,
        check_log=check_log,
    )
    # --acknowledge adds to the config's: the manifest marks what either expects
    report.acknowledge(config.acknowledge)
    report.quiet = quiet
    with folder_lock(target):  # a second run into the same folder exits 75 rather than racing this one
        _build(config, target, extract_date, quiet, build_bulletin, STEPS)


def _build(config, target, extract_date, quiet, build_bulletin, steps) -> None:
    console = None if quiet else stderr_console()  # -q prints nothing: rich is not even imported
    show = console is not None and console.is_terminal
    date = extract_date.date() if extract_date else None
    if not show:
        result = build_bulletin(config, target, extract_date=date)
    else:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("bulletin", total=len(steps))
            seen: list[str] = []

            def step(name: str) -> None:
                if seen:
                    progress.advance(task)
                seen.append(name)
                progress.update(task, description=name)

            result = build_bulletin(config, target, extract_date=date, progress=step)
            progress.advance(task)
    run_log.current().warn_all(result.warnings)  # said at the end of the run, merged; all in --log
    failing = [s.name for s in result.comparisons if s.fail_unless_significant and not s.all_significant]
    if show and console is not None:  # a summary on a terminal; under cron only warnings and errors
        excluded = result.facts["incomplete_cohorts"]
        if excluded:
            console.print(
                prefixed(printable(f"cohorts with incomplete follow-up left out: {', '.join(excluded)}")),
                highlight=False,
                markup=False,
            )
        console.print(
            prefixed(
                printable(
                    f"bulletin for {result.facts['latest_cohort']} written to {target}/ (index.html, bulletin.md)"
                )
            ),
            highlight=False,
            markup=False,
        )
    if failing:
        if console is not None:
            console.print(
                run_log.PREFIX
                + f"not every estimate is a significant reduction in: {', '.join(failing)} (fail_unless_significant)",
                highlight=False,
                markup=False,
            )
        click.get_current_context().exit(1)
