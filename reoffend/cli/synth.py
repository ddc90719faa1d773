"""``reoffend synth``: a seeded synthetic population for demos, tests and benchmarks."""

from __future__ import annotations

import datetime as dt
import difflib

import click

from ..synth import MAX_RELEASES, SynthParams, establishment_names, period_end, write
from .console import Stages, prefixed, progress_console
from .options import FiniteFloatRange, given

# the data must pass `validate` (dates from 1900-01-01 on): offences before release go back up to four years
# before --start (a year of earlier releases, three years of history); the default extract date is two years
# after the last cohort, and a conviction_date of 9999-12-31 reads as a placeholder
EARLIEST_START = dt.date(1905, 1, 1)
LATEST_END = dt.date(9997, 12, 31)
LATEST_EXTRACT = dt.date(9999, 12, 30)


@click.command()
@click.option(
    "--releases",
    "n_releases",
    type=click.IntRange(1, MAX_RELEASES),
    default=10_000,
    show_default=True,
    help=f"Number of release rows (at most {MAX_RELEASES:,}: a larger population is several seeds).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Random seed, 0 or more (same seed, same files).",
)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Folder to write into.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "csv"]),
    default="parquet",
    show_default=True,
    help="Format of the two files.",
)
@click.option(
    "--establishments", type=click.IntRange(1, 10_000), default=110, show_default=True, help="Number of prisons."
)
@click.option(
    "--cohorts",
    type=click.IntRange(1, 400),
    default=8,
    show_default=True,
    help="Number of quarterly cohorts of releases (at most 400: a century).",
)
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d"]),
    default="2022-01-01",
    show_default=True,
    help="First day of the first cohort.",
)
@click.option("--treated", default="EST042", show_default=True, help="Establishment given the planted effect.")
@click.option(
    "--effect-log-odds",
    type=FiniteFloatRange(-10, 10),
    default=-0.4,
    show_default=True,
    help="Planted change in the log-odds of reoffending at --treated (0: none).",
)
@click.option(
    "--effect-frequency",
    type=FiniteFloatRange(0, 100, min_open=True),
    default=0.8,
    show_default=True,
    help="Planted multiplier of offence frequency at --treated (1: none).",
)
@click.option(
    "--site-effect-sd",
    type=FiniteFloatRange(0, 10),
    default=0.0,
    show_default=True,
    help="SD of random establishment effects on the log-odds (0: sites differ only in offender mix).",
)
@click.option(
    "--extract-date",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Convictions after this day are not in the data (default: two years after the last cohort ends).",
)
@click.option(
    "--lag-multiplier",
    type=FiniteFloatRange(0, 100, min_open=True),
    default=1.0,
    show_default=True,
    help="Multiply the court lag of offences after releases from --lag-change-from on (a court backlog).",
)
@click.option(
    "--lag-change-from",
    type=click.DateTime(["%Y-%m-%d"]),
    help="First release date whose offences get the --lag-multiplier court lag.",
)
@click.option(
    "--level-trend",
    type=FiniteFloatRange(-100, 100),
    default=0.0,
    show_default=True,
    metavar="POINTS",
    help="Change the chance of reoffending by about this many percentage points a year across release dates.",
)
@click.option(
    "--level-shift",
    type=FiniteFloatRange(-100, 100),
    default=0.0,
    show_default=True,
    metavar="POINTS",
    help="Change the chance of reoffending by about this many points for releases from --level-shift-from on.",
)
@click.option(
    "--level-shift-from",
    type=click.DateTime(["%Y-%m-%d"]),
    help="First release date given the --level-shift.",
)
@click.option(
    "--truncate-repeats",
    is_flag=True,
    help="Do not simulate second releases after the period: the level falls over the last cohorts.",
)
@click.option("-q", "--quiet", is_flag=True, help="Do not list the files written (on standard error).")
def synth(
    n_releases,
    seed,
    out_dir,
    fmt,
    establishments,
    cohorts,
    start,
    treated,
    effect_log_odds,
    effect_frequency,
    site_effect_sd,
    extract_date,
    lag_multiplier,
    lag_change_from,
    level_trend,
    level_shift,
    level_shift_from,
    truncate_repeats,
    quiet,
):
    """Write releases, convictions and meta.json (the planted truth) into --out.

    Seeded: the same options give the same files. What is planted and how: reoffend docs synth.
    """
    params = SynthParams(
        releases=n_releases,
        seed=seed,
        establishments=establishments,
        cohorts=cohorts,
        start=start.date() if isinstance(start, dt.datetime) else start,
        treated_establishment=treated,
        effect_log_odds=effect_log_odds,
        effect_frequency=effect_frequency,
        site_effect_sd=site_effect_sd,
        extract_date=extract_date.date() if extract_date else None,
        lag_multiplier=lag_multiplier,
        lag_change_from=lag_change_from.date() if lag_change_from else None,
        level_trend=level_trend,
        level_shift=level_shift,
        level_shift_from=level_shift_from.date() if level_shift_from else None,
        truncate_repeats=truncate_repeats,
    )
    if lag_multiplier != 1.0 and lag_change_from is None:
        raise click.UsageError("--lag-multiplier needs --lag-change-from DATE")
    if lag_change_from is not None and lag_multiplier == 1.0:
        raise click.UsageError("--lag-change-from changes nothing without --lag-multiplier M (other than 1)")
    if level_shift and level_shift_from is None:
        raise click.UsageError("--level-shift needs --level-shift-from DATE")
    if level_shift_from is not None and not level_shift:
        raise click.UsageError("--level-shift-from changes nothing without --level-shift POINTS (other than 0)")
    first = start.date() if isinstance(start, dt.datetime) else start
    if first < EARLIEST_START:
        raise click.UsageError(f"--start {first}: give a date from {EARLIEST_START} on")
    end = period_end(first, cohorts)  # the day after the last cohort, or None when past the calendar
    if end is None or end > LATEST_END:
        raise click.UsageError(
            f"--start {first} with --cohorts {cohorts}: the last cohort must end by {LATEST_END} (the data and its "
            "default extract date, two years on, must fit the calendar); give an earlier --start or fewer --cohorts"
        )
    if extract_date is not None and extract_date.date() > LATEST_EXTRACT:
        raise click.UsageError(f"--extract-date {extract_date.date()}: give a date up to {LATEST_EXTRACT}")
    if extract_date is not None and extract_date.date() < end - dt.timedelta(days=1):
        raise click.UsageError(
            f"--extract-date {extract_date.date()}: before the last day of the last cohort "
            f"({end - dt.timedelta(days=1)}), so releases would be dated after the extract; give that day or later"
        )
    names = establishment_names(establishments)
    if treated not in names and (given("treated") or given("effect_log_odds") or given("effect_frequency")):
        # the planted effect would land on nobody, silently: the comparisons' truth would be "no effect"
        near = difflib.get_close_matches(treated, list(names), n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(near)}?" if near else ""
        raise click.UsageError(
            f"--treated {treated}: no such establishment among the {establishments} (EST001 to {names[-1]}), so the "
            f"effect would be planted on nobody{hint}"
        )
    with Stages.on(progress_console(quiet), "generating") as progress:
        paths = write(params, out_dir, fmt, progress=progress.stage)
    if not quiet:
        click.echo(prefixed(f"wrote {', '.join(str(p) for p in paths.values())}"), err=True)
