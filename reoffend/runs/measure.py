"""``measure`` and ``validate``: one run each, for the command line (reoffend.cli.measure) and the Python API."""

from __future__ import annotations

import collections
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from ..banding import band_inputs, parse_band
from ..cohort import Period
from ..disclosure import SUPPRESSED, DisclosureRule, suppress
from ..errors import UsageError
from ..inputs import InputSpec
from ..measure import (
    GROUP_MEASURES,
    Engine,
    IncompletePolicy,
    MeasureParams,
    MeasureResult,
    measured_releases,
    release_queries,
    run_metadata,
)
from ..measure import measure as run_measure
from ..offences import breach_like_codes, breach_warning
from ..run_warnings import RunWarning
from ..validate import ValidatedInputs, input_warnings, no_reoffence_reason, summarise_inputs, warning_queries
from ..window import FollowUpWindow
from .common import PERIODS, Caller, Naming, choice, load


@dataclass
class MeasureRun:
    """One run of ``measure``: the rows as written (suppressed with --suppress), the core result, the
    parameters of the JSON, the warnings (said after the run) and the terminal table's caption."""

    rows: pl.DataFrame
    result: MeasureResult
    parameters: dict[str, Any]
    warnings: list[RunWarning]
    caption: str


def disclosure_rule(
    min_cohort: int | None, min_count: int | None, per_release: bool, flag: Naming
) -> DisclosureRule | None:
    """``--suppress N`` and ``--min-count M`` as a rule (docs/bulletin.md, disclosure control), or None."""
    if min_count is not None and min_cohort is None:
        raise UsageError(f"{flag('min_count')} sets a threshold of disclosure control: it needs {flag('suppress')} N")
    if per_release and min_cohort is not None:
        raise UsageError(
            f"{flag('per_release')} writes every release's outcome, which cannot be disclosure-controlled, so it "
            f"cannot be combined with {flag('suppress')}; write the audit table in a separate run without "
            f"{flag('suppress')}"
        )
    if min_cohort is None:
        return None
    return DisclosureRule(
        min_cohort=min_cohort, min_count=DisclosureRule().min_count if min_count is None else min_count
    )


def band_edges(bands: Sequence[str], params: MeasureParams, flag: Naming) -> dict[str, tuple[float, ...]]:
    """``--band COL=EDGES`` items, each column once and each grouped or filtered by (else it would do nothing)."""
    parsed = [parse_band(text) for text in bands]
    twice = sorted(column for column, times in collections.Counter(c for c, _ in parsed).items() if times > 1)
    if twice:  # a dict would keep the last silently
        raise UsageError(f"{flag('band')} names {', '.join(twice)} more than once; give each column's edges once")
    edges = dict(parsed)
    unused = [column for column in edges if column not in params.by and column not in params.where]
    if unused:  # banding a column nothing groups or filters by would change nothing, silently
        raise UsageError(
            f"{flag('band')} {', '.join(unused)}: not in {flag('by')} (or {flag('where')}), so the bands would not "
            f"be used; group by it, e.g. {flag('by')} {','.join(dict.fromkeys([*params.by, *unused]))}"
        )
    return edges


def measure_run(
    spec: InputSpec,
    params: MeasureParams,
    caller: Caller,
    *,
    bands: Sequence[str] = (),
    min_cohort: int | None = None,
    min_count: int | None = None,
    per_release: bool = False,
) -> MeasureRun:
    """Check the options, read and validate the inputs, measure, and suppress (docs/measures.md): everything of
    ``measure`` but the rendering. ``caller.expect_columns`` checks --columns before any work."""
    edges = band_edges(bands, params, caller.flag)
    rule = disclosure_rule(min_cohort, min_count, per_release, caller.flag)
    caller.expect_columns([*params.by, *GROUP_MEASURES, *([SUPPRESSED] if rule is not None else [])])
    loaded, _ = load(
        spec,
        caller,
        params.excluded_offences,
        with_warnings=False,  # asked of the banded inputs below, their queries collected with validation's pass
        release_columns=[*params.by, *params.where, *edges],
        prefetch={**warning_queries(params.excluded_offences), **release_queries(params)},
    )
    inputs = band_inputs(loaded, edges)
    run_warnings = input_warnings(inputs, params.excluded_offences)
    engine: Engine = "streaming" if spec.streaming else "auto"
    caller.stage("measuring")
    result = run_measure(inputs, params, audit_table=per_release, engine=engine)
    run_warnings.extend(measure_warnings(inputs, params, result))
    parameters = {"inputs": spec.as_dict(), **params.as_dict(), "bands": {k: list(v) for k, v in edges.items()}}
    rows = result.rows
    if rule is not None:
        # every grouping column's total is assumed published (e.g. by `measure --by ''`): secondary suppression
        # protects each suppressed cell against all of them
        rows = suppress(rows, rule, by=params.by, margins=params.by)
        parameters["disclosure"] = {**rule.as_dict(), "margins": list(params.by)}
    caption = f"{params.window.describe()}; extract date {result.metadata['extract_date']}"
    return MeasureRun(rows, result, parameters, run_warnings, caption)


def measure_warnings(inputs: ValidatedInputs, params: MeasureParams, result: MeasureResult) -> list[RunWarning]:
    """What a measured run warns of after the inputs' warnings (docs/cli.md, "Warnings"): partial periods,
    breach-like codes counted, no reoffence at all, releases excluded as incomplete."""
    from .warnings import incomplete_excluded, partial_period_warnings

    found = partial_period_warnings(result.metadata)
    if not params.excluded_offences and (warning := breach_warning(breach_like_codes(inputs.convictions))):
        found.append(warning)
    if inputs.row_counts["convictions"] and result.rows["cohort_size"].sum() and not result.rows["reoffenders"].sum():
        kind, reason = no_reoffence_reason(inputs, params.excluded_offences)
        if kind != "ids":  # unlinked ids are warned of with the inputs
            found.append(
                RunWarning(
                    "no-reoffences",
                    f"no conviction counts as a reoffence, because {reason}: every rate is 0%; check the extract",
                    subjects=[kind],
                )
            )
    excluded = result.metadata.get("incomplete_releases_excluded")
    if isinstance(excluded, int) and excluded:
        found.append(incomplete_excluded(excluded))
    return found


@dataclass
class ValidateRun:
    """What ``validate`` reports of valid inputs: the summary rows, the parameters and metadata of the JSON,
    and the one-line verdict."""

    rows: pl.DataFrame
    parameters: dict[str, Any]
    metadata: dict[str, Any]
    message: str


def validate_run(
    spec: InputSpec, window: FollowUpWindow, incomplete: IncompletePolicy, period: Period, caller: Caller
) -> ValidateRun:
    """Validate the inputs (docs/data.md: a DataError when a rule fails) and summarise them per ``period``."""
    choice(period, PERIODS, caller.flag("period"))
    params = MeasureParams(window=window, by=("cohort",), period=period, index="all", incomplete=incomplete)
    inputs, _ = load(spec, caller, with_warnings=False)
    releases, facts = measured_releases(inputs, params)
    by_cohort = releases.group_by("cohort").agg(pl.len().alias("releases")).sort("cohort").collect()
    summary = summarise_inputs(inputs)
    metadata = run_metadata(inputs, params.window, facts)
    rows = pl.concat([_summary_rows(summary, inputs, facts), _cohort_rows(by_cohort, period)])
    message = (
        f"valid: {inputs.names['releases']} ({inputs.row_counts['releases']:,} rows) and "
        f"{inputs.names['convictions']} ({inputs.row_counts['convictions']:,} rows)"
    )
    parameters = {"inputs": spec.as_dict(), "window": params.window.as_dict()}
    return ValidateRun(rows, parameters, metadata, message)


def _cohort_rows(by_cohort: pl.DataFrame, period: str) -> pl.DataFrame:
    """One row per cohort of ``--period`` (table ``releases by cohort``): its releases with complete follow-up
    (with ``--incomplete exclude``, those excluded are counted in the run row, not here)."""
    return pl.DataFrame(
        {
            "table": [f"releases by {period}"] * by_cohort.height,
            "item": [str(cohort) for cohort in by_cohort.get_column("cohort")],
            "value": [str(count) for count in by_cohort.get_column("releases")],
        },
        schema={"table": pl.String, "item": pl.String, "value": pl.String},
    )


def _summary_rows(summary: Any, inputs: ValidatedInputs, facts: Any) -> pl.DataFrame:
    items = [
        ("releases", "rows", summary["releases"]["rows"]),
        ("releases", "people", summary["releases"]["people"]),
        ("releases", "first release_date", summary["releases"]["first_release_date"]),
        ("releases", "last release_date", summary["releases"]["last_release_date"]),
        ("convictions", "rows", summary["convictions"]["rows"]),
        ("convictions", "people", summary["convictions"]["people"]),
        ("convictions", "first offence_date", summary["convictions"]["first_offence_date"]),
        ("convictions", "last offence_date", summary["convictions"]["last_offence_date"]),
        ("convictions", "first conviction_date", summary["convictions"]["first_conviction_date"]),
        ("convictions", "last conviction_date", summary["convictions"]["last_conviction_date"]),
        ("run", "extract date", inputs.extract_date),
        ("run", "extract date source", inputs.extract_date_source),
        ("run", "releases with incomplete follow-up", facts.get("incomplete_releases_excluded", 0)),
        ("run", "duplicate rows dropped", inputs.deduplicated_rows),
    ]
    return pl.DataFrame(
        {
            "table": [t for t, _, _ in items],
            "item": [i for _, i, _ in items],
            "value": ["" if v is None else str(v) for _, _, v in items],
        },
    )
