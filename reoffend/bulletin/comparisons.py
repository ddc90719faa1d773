"""The configured comparisons of the bulletin, each run through its core API (docs/comparisons.md).

Each ``[comparisons.NAME]`` table of the config becomes a :class:`ComparisonSection`: the core result's rows
as a CSV under ``tables/``, its plain-English headline as the text, its warnings, and its metadata for the
manifest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
    table_columns: Sequence[tuple[str, str, Callable[[Any], str]]]  # (column, heading, format)
    rows: pl.DataFrame
    tables: dict[str, pl.DataFrame]
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


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
