"""Build the quarterly bulletin: compute, compose, and write the folder (docs/bulletin.md).

:func:`compute_bulletin` is the pure part (config and inputs in, a :class:`Bulletin` of tables, figures and
text out); :func:`bulletin_files` turns it into the bytes of every file, :func:`build_bulletin` does both and
writes the folder atomically. Nothing here prints; progress goes through an optional callback.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from .. import __version__
from ..errors import UsageError, single_problem
from ..inputs import InputSpec, load_inputs
from ..io import read_code_list
from ..measure import MeasureParams
from . import figures as charts
from . import text
from .comparisons import ComparisonSection, run_comparisons
from .config import BulletinConfig
from .document import Document, to_html, to_markdown
from .folder import write_folder
from .stats import (
    LAG_MONTHS,
    CohortMeasures,
    by_establishment,
    cohort_changes,
    cohort_completeness,
    court_lag,
    lag_cohorts,
    restrict_cohorts,
    year_earlier,
)

Progress = Callable[[str], None]
STEPS = (
    "reading and validating the inputs",
    "measuring cohorts",
    "latest cohort by establishment",
    "court-lag curve",
    "comparisons",
    "charts",
    "writing the folder",
)
P_VALUE_FLOOR = 0.001  # p-values below this are written "p < 0.001"


@dataclass
class Bulletin:
    """Everything the folder holds, before it is written."""

    config: BulletinConfig
    params: MeasureParams
    tables: dict[str, pl.DataFrame]
    figures: dict[str, tuple[bytes, bytes]]
    document: Document
    facts: dict[str, Any]
    inputs: dict[str, dict[str, Any]]
    comparisons: list[ComparisonSection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def measure_params(config: BulletinConfig) -> MeasureParams:
    m = config.measure
    return MeasureParams(
        window=m.window,
        by=("cohort",),
        period=m.period,
        index=m.index,
        incomplete="exclude",
        excluded_offences=read_code_list(config.inputs.exclude_offences)
        if config.inputs.exclude_offences
        else frozenset(),
        confidence=m.confidence,
        where=dict(m.where),
    )


def input_spec(config: BulletinConfig, extract_date: dt.date | None = None) -> InputSpec:
    i = config.inputs
    return InputSpec(
        releases=i.releases,
        convictions=i.convictions,
        column_map=dict(i.column_map),
        input_format=i.input_format,
        extract_date=extract_date or i.extract_date,
        dedupe=i.dedupe,
    )


def compute_bulletin(
    config: BulletinConfig, *, extract_date: dt.date | None = None, progress: Progress | None = None
) -> Bulletin:
    """Every number, chart and sentence of the bulletin (raises DataError/InputFileError/UsageError)."""
    step = progress or (lambda _name: None)
    step(STEPS[0])
    params = measure_params(config)
    spec = input_spec(config, extract_date)
    extra: dict[str, tuple[str, ...]] | None = {"convictions": ("offence_code",)} if params.excluded_offences else None
    inputs = load_inputs(spec, extra)

    step(STEPS[1])
    completeness = cohort_completeness(inputs, params)
    complete = completeness.filter(pl.col("complete"))["cohort"].to_list()
    incomplete = completeness.filter(~pl.col("complete"))
    if not completeness.height:
        raise single_problem(
            inputs.names["releases"],
            None,
            "no-releases",
            "no releases to publish" + (" after the [measure] where filters" if params.where else ""),
        )
    if not complete:
        raise single_problem(
            inputs.names["releases"],
            "release_date",
            "incomplete-follow-up",
            f"no cohort has complete follow-up at the extract date {inputs.extract_date}: every cohort has "
            f"releases whose conviction deadline ({params.window.describe()}) is later; there is nothing to publish",
        )
    column = config.measure.establishment
    if column is None:
        column = "establishment" if "establishment" in _release_columns(inputs) else ""
    elif column and column not in _release_columns(inputs):
        raise UsageError(
            f"{config.path}: [measure] establishment: {inputs.names['releases']} has no column {column!r} "
            f'(columns: {", ".join(_release_columns(inputs))}); give another, or "" for none'
        )
    measured = CohortMeasures(inputs, restrict_cohorts(params, complete), (column,))  # one join for both tables
    trend = measured.rows(params.by).filter(pl.col("cohort_size") > 0)
    complete = trend["cohort"].to_list()
    latest = complete[-1]
    latest_row = trend.row(-1, named=True)
    pairs = []
    if len(complete) > 1:
        pairs.append(("previous cohort", latest, complete[-2]))
    a_year_earlier = year_earlier(latest, params.period)
    if a_year_earlier in complete and all(earlier != a_year_earlier for _label, _c, earlier in pairs):
        pairs.append(("same cohort a year earlier", latest, a_year_earlier))
    changes = cohort_changes(trend, pairs, params.confidence)

    step(STEPS[2])
    establishments = None
    establishment_summary = None
    if column:
        establishments = by_establishment(measured, latest, column, latest_row["binary_rate"])
        counts = establishments["compared_with_all"].value_counts()
        count = dict(zip(counts["compared_with_all"].to_list(), counts["count"].to_list(), strict=True))
        establishment_summary = pl.DataFrame(
            {
                "cohort": [latest],
                "establishments": [establishments.height],
                "higher": [count.get("higher", 0)],
                "lower": [count.get("lower", 0)],
                "similar": [count.get("similar", 0)],
                "all_releases_binary_rate": [latest_row["binary_rate"]],
            },
            schema_overrides={"establishments": pl.Int64, "higher": pl.Int64, "lower": pl.Int64, "similar": pl.Int64},
        )

    step(STEPS[3])
    longest = max(LAG_MONTHS, params.window.waiting_period_months)
    lag_window = type(params.window)(params.window.follow_up_months, longest)
    lag_set = lag_cohorts(cohort_completeness(inputs, params, lag_window))
    lag = court_lag(inputs, params, lag_set, longest) if lag_set else None
    if lag is not None and not lag.row(-1, named=True)["reoffences"]:
        lag = None

    step(STEPS[4])
    comparison_sections = run_comparisons(config, inputs, params, latest, complete)

    step(STEPS[5])
    figures = {
        "trend": charts.trend_chart(trend, params.confidence),
        "events_per_100": charts.events_chart(trend),
    }
    if establishments is not None and establishments.height:
        figures["establishments"] = charts.establishment_chart(
            establishments, column, latest_row["binary_rate"], latest
        )
    if lag is not None:
        figures["court_lag"] = charts.court_lag_chart(
            lag, params.window.waiting_period_months, params.window.follow_up_months
        )

    facts = {
        "latest_cohort": latest,
        "complete_cohorts": complete,
        "incomplete_cohorts": incomplete["cohort"].to_list(),
        "court_lag_cohorts": lag_set,
        "extract_date": inputs.extract_date.isoformat() if inputs.extract_date else None,
        "extract_date_source": inputs.extract_date_source,
        "establishment_column": column if establishments is not None else None,
    }
    parameters = _parameters_table(config, params, inputs, comparison_sections)
    tables = {
        "trend.csv": trend,
        "changes.csv": changes,
        "cohorts.csv": completeness,
        "parameters.csv": parameters,
    }
    if establishments is not None and establishment_summary is not None:
        tables["establishments.csv"] = establishments
        tables["establishment_summary.csv"] = establishment_summary
    if lag is not None:
        tables["court_lag.csv"] = lag
    for section in comparison_sections:
        tables.update(section.tables)

    input_facts = _input_facts(config, inputs)
    context = text.Context(
        config=config,
        params=params,
        facts=facts,
        trend=trend,
        changes=changes,
        completeness=completeness,
        establishments=establishments,
        establishment_summary=establishment_summary,
        lag=lag,
        comparisons=comparison_sections,
        figures={name: png for name, (png, _svg) in figures.items()},
        inputs=input_facts,
        p_value_floor=P_VALUE_FLOOR,
    )
    document = text.compose(context)
    warnings = [w for section in comparison_sections for w in section.warnings]
    return Bulletin(
        config=config,
        params=params,
        tables=tables,
        figures=figures,
        document=document,
        facts=facts,
        inputs=input_facts,
        comparisons=comparison_sections,
        warnings=warnings,
    )


def _release_columns(inputs) -> list[str]:
    return inputs.releases.collect_schema().names()


def _parameters_table(
    config: BulletinConfig, params: MeasureParams, inputs, comparisons: list[ComparisonSection]
) -> pl.DataFrame:
    """The parameters the text quotes, as a table (so every number in the text is in tables/)."""
    values = [
        ("follow_up_months", str(params.window.follow_up_months)),
        ("waiting_period_months", str(params.window.waiting_period_months)),
        ("court_lag_longest_waiting_period_months", str(max(LAG_MONTHS, params.window.waiting_period_months))),
        ("confidence", f"{params.confidence:g}"),
        ("significance_level", f"{1 - params.confidence:.6g}"),
        ("p_value_floor", f"{P_VALUE_FLOOR:g}"),
        ("period", params.period),
        ("index_rule", params.index),
        ("excluded_offences", " ".join(sorted(params.excluded_offences))),
        ("where", "; ".join(f"{k}={','.join(v)}" for k, v in sorted(params.where.items()))),
        ("extract_date", inputs.extract_date.isoformat() if inputs.extract_date else ""),
        ("extract_date_source", inputs.extract_date_source),
        ("releases_file", Path(inputs.names["releases"]).name),
        ("releases_rows", str(inputs.row_counts["releases"])),
        ("convictions_file", Path(inputs.names["convictions"]).name),
        ("convictions_rows", str(inputs.row_counts["convictions"])),
        ("reoffend_version", __version__),
    ]
    values += [
        (f"{section.name}_{key}", f"{value:g}" if isinstance(value, float) else str(value))
        for section in comparisons
        for key, value in section.quoted.items()
        if value is not None
    ]
    return pl.DataFrame(values, schema={"parameter": pl.String, "value": pl.String}, orient="row")


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _input_facts(config: BulletinConfig, inputs) -> dict[str, dict[str, Any]]:
    facts = {
        role: {"path": getattr(config.inputs, role), "rows": inputs.row_counts[role]}
        for role in ("releases", "convictions")
    }
    if config.inputs.exclude_offences:
        facts["exclude_offences"] = {
            "path": config.inputs.exclude_offences,
            "codes": len(read_code_list(config.inputs.exclude_offences)),
        }
    facts["config"] = {"path": config.path}
    for entry in facts.values():
        entry["sha256"] = sha256_file(entry["path"])
    return facts


# ---------------------------------------------------------------------------------------------- files
def _csv(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_csv(buffer, float_precision=None)
    return buffer.getvalue()


def bulletin_files(bulletin: Bulletin, *, started: dt.datetime, duration: float) -> dict[str, bytes]:
    """The bytes of every file of the folder; only ``manifest.json`` depends on ``started``/``duration``."""
    files: dict[str, bytes] = {}
    files["bulletin.md"] = to_markdown(bulletin.document).encode()
    files["index.html"] = to_html(bulletin.document, kicker=bulletin.config.publisher).encode()
    for name, (png, svg) in sorted(bulletin.figures.items()):
        files[f"figures/{name}.png"] = png
        files[f"figures/{name}.svg"] = svg
    for name, frame in sorted(bulletin.tables.items()):
        files[f"tables/{name}"] = _csv(frame)
    manifest = {
        "reoffend_version": __version__,
        "command": "reoffend bulletin",
        "started": started.isoformat(timespec="seconds"),
        "duration_seconds": round(duration, 3),
        "inputs": bulletin.inputs,
        "parameters": {"config": bulletin.config.as_dict(), "measure": bulletin.params.as_dict()},
        "window": bulletin.params.window.as_dict(),
        "facts": bulletin.facts,
        "comparisons": {s.name: s.metadata for s in bulletin.comparisons},
        "warnings": bulletin.warnings,
        "files": {
            path: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            for path, data in sorted(files.items())
        },
    }
    files["manifest.json"] = (json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n").encode()
    return files


def build_bulletin(
    config: BulletinConfig,
    target: str,
    *,
    extract_date: dt.date | None = None,
    progress: Progress | None = None,
) -> Bulletin:
    """Compute the bulletin and write its folder to ``target`` atomically."""
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    clock = time.perf_counter()
    bulletin = compute_bulletin(config, extract_date=extract_date, progress=progress)
    if progress:
        progress(STEPS[6])
    files = bulletin_files(bulletin, started=started, duration=time.perf_counter() - clock)
    write_folder(target, files)
    return bulletin
