"""Calibration of the baseline risk models where misfit would bias a verdict (docs/comparisons-adjusted.md,
"Calibration and misfit").

The decile table of the models' own predictions (in :mod:`reoffend.compare.adjusted`) can look fine while
the model is wrong for a kind of offender, and a provider with many such offenders then gets a verdict the
model made. So the baseline fit is also shown

* **within each provider** (the ``--by`` columns) of the baseline, and
* **within bands of each numeric covariate** (:data:`BANDS` bands at the baseline's quantiles; repeated edges
  merged, so a count with many zeros gets fewer bands),

as observed / expected (O/E) for both models, with the interval of the comparison itself: the variance of
the observed sum under the model (``sum p (1 - p)`` binary; ``sum mu + alpha mu^2`` NB2, ``sum mu`` Poisson),
``O/E +- z sqrt(V) / E``. A band whose interval excludes 1 is marked ``off`` and named in the warnings
(about one band in twenty is off by chance at 95%, which the warning says). A current provider with
covariate values outside the baseline's range is named in the warnings too: the model extrapolates there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from ..messages import counted
from ..run_warnings import RunWarning
from .design import Covariate

BANDS = 5
LISTED = 6


def observed_expected(
    labels: Sequence[dict[str, Any]],
    group: np.ndarray,
    observed: np.ndarray,
    expected: np.ndarray,
    variance: np.ndarray,
    z: float,
) -> list[dict[str, Any]]:
    """O/E with its interval for each group code ``0..len(labels)-1``."""
    size = len(labels)
    n = np.bincount(group, minlength=size)
    o = np.bincount(group, weights=observed, minlength=size)
    e = np.bincount(group, weights=expected, minlength=size)
    v = np.bincount(group, weights=variance, minlength=size)
    rows = []
    for g, label in enumerate(labels):
        if n[g] == 0 or e[g] <= 0:
            continue
        ratio = o[g] / e[g]
        half = z * np.sqrt(v[g]) / e[g]
        low, high = max(ratio - half, 0.0), ratio + half
        rows.append(
            {
                **label,
                "releases": int(n[g]),
                "observed": float(o[g]),
                "expected": float(e[g]),
                "observed_expected": float(ratio),
                "low": float(low),
                "high": float(high),
                "off": bool(low > 1 or high < 1),
            }
        )
    return rows


def band_edges(values: np.ndarray, bands: int = BANDS) -> np.ndarray:
    """Inner band edges at the baseline's quantiles; a value ``x`` is in band ``searchsorted(edges, x, 'left')``
    (band 0: up to the first edge; band i: over edge i-1 up to edge i). An edge at the minimum is kept (a band
    of the minimum alone: people with no previous conviction)."""
    if not values.size:
        return np.zeros(0)
    # the k-th of ``bands`` quantiles as a data value (inverted CDF), by integer arithmetic on ranks
    n = values.size
    ranks = [(k * n + bands - 1) // bands - 1 for k in range(1, bands)]
    inner = np.unique(np.sort(values)[ranks])
    return inner[inner < values.max()]


def band_labels(edges: np.ndarray, low: float, high: float) -> list[str]:
    bounds = [low, *edges.tolist(), high]
    return [
        f"{_g(bounds[i])} to {_g(bounds[i + 1])}" if i == 0 else f"over {_g(bounds[i])} to {_g(bounds[i + 1])}"
        for i in range(len(bounds) - 1)
    ]


def _g(x: float) -> str:
    return f"{x:g}"


def calibration(
    baseline: pl.DataFrame,
    encoded: Sequence[Covariate],
    providers: Sequence[str],
    models: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    z: float,
) -> dict[str, Any]:
    """Provider and band calibration of each model: ``models[name] = (observed, predicted, variance)``."""
    result: dict[str, Any] = {"providers": {}, "bands": {}}
    if providers:
        keys = baseline.select(list(providers))
        distinct = keys.unique(maintain_order=False).sort(list(providers), nulls_last=True)
        code = (
            # each row's group code in the rows' own order (zipped with the outcomes below): a join keeps the left
            # frame's order only when asked to
            keys.join(
                distinct.with_row_index("_g"), on=list(providers), how="left", nulls_equal=True, maintain_order="left"
            )
            .get_column("_g")
            .to_numpy()
            .astype(np.int64)
        )
        labels = distinct.to_dicts()
        for name, (y, predicted, variance) in models.items():
            result["providers"][name] = observed_expected(labels, code, y, predicted, variance, z)
    for covariate in encoded:
        if covariate.kind != "numeric" or covariate.lower is None or covariate.upper is None:
            continue
        values = baseline.get_column(covariate.column).cast(pl.Float64).to_numpy()
        edges = band_edges(values)
        code = np.searchsorted(edges, values, side="left").astype(np.int64)
        labels = [
            {"covariate": covariate.column, "band": b} for b in band_labels(edges, covariate.lower, covariate.upper)
        ]
        for name, (y, predicted, variance) in models.items():
            result["bands"].setdefault(name, []).extend(observed_expected(labels, code, y, predicted, variance, z))
    return result


def band_warnings(table: dict[str, Any], confidence: float) -> list[RunWarning]:
    """One warning per model whose bands are off (O/E interval excluding 1)."""
    notes = []
    names = {"binary": "binary model", "frequency": "count model"}
    for name, rows in table["bands"].items():
        off = [r for r in rows if r["off"]]
        if not off:
            continue
        listed = "; ".join(
            f"{r['covariate']} {r['band']}: O/E {r['observed_expected']:.2f} ({r['low']:.2f} to {r['high']:.2f})"
            for r in off[:LISTED]
        )
        more = f"; and {len(off) - LISTED} more" if len(off) > LISTED else ""
        notes.append(
            RunWarning(
                "calibration",
                f"{names.get(name, name)} misfits the baseline in {len(off)} of {len(rows)} covariate bands "
                f"({100 * confidence:g}% interval of observed/expected excludes 1; about "
                f"{len(rows) * (1 - confidence):.1f} expected by chance): {listed}{more}. Consider another "
                "--covariate-form for that covariate",
                subjects=[names.get(name, name)],
            )
        )
    return notes


def range_warnings(current: pl.DataFrame, encoded: Sequence[Covariate], providers: Sequence[str]) -> list[RunWarning]:
    """Current providers with numeric covariate values outside the baseline's range (the model extrapolates)."""
    notes = []
    keys = [*providers, "cohort"]
    for covariate in encoded:
        if covariate.kind != "numeric" or covariate.lower is None or covariate.upper is None:
            continue
        value = pl.col(covariate.column).cast(pl.Float64)
        outside = (
            current.group_by(keys)
            .agg(
                (value < covariate.lower).sum().alias("below"),
                (value > covariate.upper).sum().alias("above"),
            )
            .filter((pl.col("below") > 0) | (pl.col("above") > 0))
            .sort(keys, nulls_last=True)
        )
        if outside.height == 0:
            continue
        listed = "; ".join(
            # no value of the releases themselves: a provider's extreme can be one person's (docs/bulletin.md)
            f"{', '.join(str(r[k]) for k in keys)}: {counted(r['below'] + r['above'], 'release')}"
            for r in outside.head(LISTED).iter_rows(named=True)
        )
        more = f"; and {outside.height - LISTED} more" if outside.height > LISTED else ""
        notes.append(
            RunWarning(
                "outside-range",
                f"{covariate.column} outside the baseline's range ({_g(covariate.lower)} to {_g(covariate.upper)}) "
                f"at {counted(outside.height, 'current provider')}, where the model extrapolates: {listed}{more}",
                subjects=[covariate.column],
            )
        )
    return notes
