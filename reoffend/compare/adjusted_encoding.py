"""The covariate encoding of the risk-adjusted baseline models (docs/comparisons-adjusted.md, design §3).

Numeric covariates enter as given (booleans 0/1); text covariates as indicators of every level but the
reference (the most common baseline level). Current values unseen in the baseline are an error naming the
value, or are pooled (``--unseen pool``). Split out of :mod:`reoffend.compare.adjusted` along its seam.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import polars as pl

from ..errors import PROBLEM_SCHEMA, DataError, UsageError, single_problem

UnseenPolicy = Literal["error", "pool"]
OTHER = "other"
INTERCEPT = "intercept"


# --------------------------------------------------------------------------------------- the encoding
@dataclass(frozen=True)
class Covariate:
    """How one covariate enters the design matrix: numeric as given, or indicators of non-reference levels.

    ``pooled`` maps unseen current values to the columns' values they are scored at: the indicators of the
    baseline level ``other`` when the baseline has one, else the baseline shares of the levels (the
    baseline's average effect of the covariate).
    """

    column: str
    kind: Literal["numeric", "categorical"]
    levels: tuple[str, ...] = ()
    reference: str | None = None
    shares: tuple[float, ...] = ()
    pooled: tuple[str, ...] = ()

    @property
    def terms(self) -> list[str]:
        if self.kind == "numeric":
            return [self.column]
        return [f"{self.column}={level}" for level in self.levels if level != self.reference]

    def expressions(self) -> list[pl.Expr]:
        column = pl.col(self.column)
        if self.kind == "numeric":
            return [column.cast(pl.Float64).alias(self.column)]
        text = column.cast(pl.String)
        exprs = []
        for level, share in zip(self.levels, self.shares, strict=True):
            if level == self.reference:
                continue
            indicator = (text == level).cast(pl.Float64)
            if self.pooled:
                pooled_value = 1.0 if level == OTHER else 0.0
                if OTHER not in self.levels:
                    pooled_value = share
                indicator = pl.when(text.is_in(list(self.pooled))).then(pooled_value).otherwise(indicator)
            exprs.append(indicator.alias(f"{self.column}={level}"))
        return exprs

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {"column": self.column, "kind": self.kind}
        if self.kind == "categorical":
            described["levels"] = list(self.levels)
            described["reference"] = self.reference
            described["baseline_shares"] = dict(zip(self.levels, self.shares, strict=True))
        return described


def encode(baseline: pl.DataFrame, covariates: Sequence[str], source: str) -> list[Covariate]:
    """Numeric columns as given (booleans 0/1); text columns as categories, reference the most common level."""
    encoded = []
    for column in covariates:
        dtype = baseline.schema[column]
        if dtype.is_numeric() or dtype == pl.Boolean:
            values = baseline.get_column(column).cast(pl.Float64)
            if values.n_unique() < 2:
                raise single_problem(
                    source,
                    column,
                    "constant-covariate",
                    f"covariate {column} takes the single value {values[0]:g} in the baseline, so its effect "
                    "cannot be estimated: leave it out of --covariates",
                )
            encoded.append(Covariate(column, "numeric"))
        elif dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
            counts = (
                baseline.get_column(column)
                .cast(pl.String)
                .value_counts(name="n")
                .sort(["n", column], descending=[True, False])
            )
            levels = tuple(counts.get_column(column).to_list())
            total = counts.get_column("n").sum()
            shares = tuple(n / total for n in counts.get_column("n").to_list())
            encoded.append(Covariate(column, "categorical", levels, levels[0], shares))
        else:
            raise UsageError(
                f"--covariates: column {column} has type {dtype}; a covariate must be numeric, boolean or text"
            )
    return encoded


def unseen_levels(
    current: pl.DataFrame, encoded: list[Covariate], policy: UnseenPolicy, source: str
) -> tuple[list[Covariate], list[dict[str, Any]]]:
    """Current values of categorical covariates that the baseline does not have: an error, or pooled."""
    found: list[dict[str, Any]] = []
    for covariate in encoded:
        if covariate.kind != "categorical":
            continue
        counts = (
            current.get_column(covariate.column)
            .cast(pl.String)
            .filter(~current.get_column(covariate.column).cast(pl.String).is_in(list(covariate.levels)))
            .value_counts(name="n")
            .sort(covariate.column)
        )
        for value, n in counts.iter_rows():
            found.append({"column": covariate.column, "value": value, "current_releases": n})
    if not found:
        return encoded, []
    if policy == "error":
        rows = [
            {
                "file": source,
                "row": None,
                "column": item["column"],
                "rule": "unseen-category",
                "value": item["value"],
                "message": f"covariate {item['column']} has the value {item['value']!r} in "
                f"{item['current_releases']} current release(s) but never in the baseline, so the baseline "
                "model has no coefficient for it; use --unseen pool to score it as 'other'",
            }
            for item in found
        ]
        raise DataError(pl.DataFrame(rows, schema=PROBLEM_SCHEMA), {"unseen-category": len(rows)})
    pooled = []
    for covariate in encoded:
        values = tuple(item["value"] for item in found if item["column"] == covariate.column)
        if values:
            covariate = replace(covariate, pooled=values)
            how = (
                f"the baseline level {OTHER!r}"
                if OTHER in covariate.levels
                else f"{OTHER!r}: the baseline average of {covariate.column} (levels weighted by baseline share)"
            )
            for item in found:
                if item["column"] == covariate.column:
                    item["scored_as"] = how
        pooled.append(covariate)
    return pooled, found


def design_matrix(frame: pl.DataFrame, encoded: Sequence[Covariate]) -> np.ndarray:
    """The model matrix (intercept first), built column-wise by polars: no per-row work in Python."""
    exprs = [pl.lit(1.0).alias(INTERCEPT)]
    for covariate in encoded:
        exprs.extend(covariate.expressions())
    return np.ascontiguousarray(frame.select(exprs).to_numpy(), dtype=np.float64)


def term_names(encoded: Sequence[Covariate]) -> list[str]:
    return [INTERCEPT, *(term for covariate in encoded for term in covariate.terms)]


def check_rank(X: np.ndarray, terms: Sequence[str], source: str) -> None:
    """Collinear covariates (a level that coincides with another, a column that is a sum of others): error."""
    cross = X.T @ X
    scale = np.sqrt(np.diag(cross))
    scale[scale == 0] = 1.0
    normalised = cross / np.outer(scale, scale)

    def full_rank(matrix: np.ndarray) -> bool:
        eig = np.linalg.eigvalsh(matrix)
        return eig.size == 0 or eig.min() > 1e-10 * max(eig.max(), 1.0)

    if full_rank(normalised):
        return
    culprits = [
        terms[j] for j in range(1, len(terms)) if full_rank(np.delete(np.delete(normalised, j, axis=0), j, axis=1))
    ]
    named = f" (dropping any one of {', '.join(culprits)} would remove it)" if culprits else ""
    raise single_problem(
        source,
        None,
        "collinear-covariates",
        f"the covariates are collinear in the baseline, so the model cannot be estimated{named}",
    )
