"""The configured comparisons of the bulletin, each run through its core API (docs/comparisons.md).

Each ``[comparisons.NAME]`` table of the config becomes a :class:`ComparisonSection`: the core result's rows
as a CSV under ``tables/``, its plain-English headline as the text, its warnings, and its metadata for the
manifest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from ..errors import UsageError
from ..measure import MeasureParams
from .config import BulletinConfig


@dataclass
class ComparisonSection:
    name: str
    title: str
    intro: str
    headline: list[str]
    table_columns: Sequence[tuple[str, Callable[[Mapping[str, Any]], str], bool]]  # heading, cell(row), numeric
    rows: pl.DataFrame
    tables: dict[str, pl.DataFrame]
    table_caption: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    all_significant: bool | None = None  # every estimate a significant reduction (for fail_unless_significant)
    fail_unless_significant: bool = False
    quoted: dict[str, Any] = field(default_factory=dict)  # parameters its text quotes, for tables/parameters.csv


Runner = Callable[[Mapping[str, Any], Any, MeasureParams, str, Sequence[str]], ComparisonSection]
RUNNERS: dict[str, Runner] = {}


def run_comparisons(
    config: BulletinConfig, inputs, params: MeasureParams, latest: str, complete: Sequence[str]
) -> list[ComparisonSection]:
    """Run every configured comparison in a fixed order (baseline, matched, adjusted)."""
    sections = []
    for name in ("baseline", "matched", "adjusted"):
        if name not in config.comparisons:
            continue
        if name not in RUNNERS:
            raise UsageError(
                f"{config.path}: [comparisons.{name}]: this version of reoffend cannot run the {name} comparison "
                "in a bulletin; remove the table"
            )
        sections.append(RUNNERS[name](config.comparisons[name], inputs, params, latest, complete))
    return sections


# ------------------------------------------------------------------------------------------------ formats
def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _pp(value: Any) -> str:
    return "–" if value is None else f"{value:.1f}"


def _p(value: Any) -> str:
    return "–" if value is None else ("< 0.001" if value < 0.001 else f"{value:.3f}")


def _yes(value: Any) -> str:
    return "–" if value is None else ("yes" if value else "no")


def text_cell(value: Any) -> str:
    return "–" if value is None else str(value)


def _check_complete(name: str, key: str, cohorts: Sequence[str], complete: Sequence[str]) -> None:
    late = [c for c in cohorts if c not in complete]
    if late:
        raise UsageError(
            f"[comparisons.{name}] {key}: cohort {', '.join(late)} is not a complete cohort at the extract date "
            f"(complete cohorts: {', '.join(complete)})"
        )


# ------------------------------------------------------------------------------------------------ baseline
def run_baseline(
    options: Mapping[str, Any], inputs, params: MeasureParams, latest: str, complete: Sequence[str]
) -> ComparisonSection:
    """Doncaster style (docs/comparisons.md section 1) via :mod:`reoffend.compare.baseline`."""
    from ..compare.baseline import BaselineParams, compare_counts, measure_cohorts, read_schedule

    if "baseline" not in options:
        raise UsageError('[comparisons.baseline] baseline: the baseline cohort is required (e.g. baseline = "2022Q4")')
    current = list(options.get("current") or [latest])
    baseline = options["baseline"]
    _check_complete("baseline", "current", current, complete)
    _check_complete("baseline", "baseline", [baseline], complete)
    site, column = options.get("site"), options.get("site_column", "establishment")
    where = dict(params.where)
    if site is not None:
        where[column] = (site,)
    verdict = BaselineParams(
        confidence=params.confidence,
        alpha=options.get("alpha", 0.05),
        sided=options.get("sided", "one"),
        target_pp=options.get("target"),
        schedule=read_schedule(options["schedule"]) if options.get("schedule") else (),
    )
    frame, base, _measured = measure_cohorts(inputs, replace(params, where=where), current, baseline)
    result = compare_counts(frame, base, verdict, metadata={"source": "records"}, site=site)
    rows = result.rows
    who = f"{site} ({column})" if site is not None else "all releases"
    level = f"{100 * params.confidence:g}%"
    p_column = "p_reduction" if verdict.sided == "one" else "p_two_sided"
    columns: list[tuple[str, Callable[[Mapping[str, Any]], str], bool]] = [
        ("Cohort", lambda r: text_cell(r["current"]), False),
        ("Rate", lambda r: f"{_pct(r['current_rate'])} ({r['current_reoffenders']:,} of {r['current_size']:,})", True),
        ("Baseline", lambda r: text_cell(r["baseline"]), False),
        (
            "Baseline rate",
            lambda r: f"{_pct(r['baseline_rate'])} ({r['baseline_reoffenders']:,} of {r['baseline_size']:,})",
            True,
        ),
        ("Reduction (points)", lambda r: _pp(r["reduction_pp"]), True),
        (f"{level} interval", lambda r: f"{_pp(r['reduction_pp_low'])} to {_pp(r['reduction_pp_high'])}", True),
        ("p (one-sided)" if verdict.sided == "one" else "p (two-sided)", lambda r: _p(r[p_column]), True),
        ("Significant reduction", lambda r: _yes(r["significant"]), False),
    ]
    if verdict.target_pp is not None:
        columns.append((f"Target ({verdict.target_pp:g} points) met", lambda r: _yes(r["target_met"]), False))
    if verdict.schedule:
        columns.append(
            (
                "Payment step (points)",
                lambda r: "–" if r["schedule_step_pp"] is None else f"{r['schedule_step_pp']:g}",
                True,
            )
        )
    intro = (
        f"The proven reoffending rate of {who} against its own baseline cohort, {baseline} (the Doncaster "
        "design). A reduction is shown as a positive number of percentage points. Payment by results follows "
        "only a statistically significant reduction, so significance and any contract target are reported "
        "side by side."
    )
    parameters = {
        "site": site,
        "site_column": column if site is not None else None,
        "current": current,
        **verdict.as_dict(),
    }
    parameters["baseline"] = baseline
    return ComparisonSection(
        name="baseline",
        title="Against the baseline" + (f": {site}" if site is not None else ""),
        intro=intro,
        headline=result.headline().splitlines(),
        table_columns=columns,
        rows=rows,
        tables={"comparison_baseline.csv": rows},
        table_caption=f"Proven reoffending of {who} against the baseline cohort {baseline}",
        metadata={"parameters": parameters, **result.metadata},
        warnings=list(result.warnings),
        all_significant=result.all_significant(),
        fail_unless_significant=bool(options.get("fail_unless_significant", False)),
        quoted={"alpha": verdict.alpha, "target_pp": verdict.target_pp, "site": site},
    )


RUNNERS["baseline"] = run_baseline
