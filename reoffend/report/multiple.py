"""Multiple-testing adjustment of several units tested at once (docs/comparisons.md, "one verdict").

``holm`` (the default: Holm's step-down, family-wise error rate), ``bh`` (Benjamini-Hochberg, false
discovery rate) or ``none``, as statsmodels ``multipletests`` computes them. Null p-values (units too few to test) are
left out of the family and stay null.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import polars as pl

if TYPE_CHECKING:
    import numpy as np

MultipleTesting = Literal["holm", "bh", "none"]
METHODS: tuple[str, ...] = ("holm", "bh", "none")
STATSMODELS_METHOD = {"holm": "holm", "bh": "fdr_bh"}
DESCRIPTION = {
    "holm": "Holm's step-down adjustment (family-wise error rate)",
    "bh": "Benjamini-Hochberg adjustment (false discovery rate)",
    "none": "no adjustment for multiple testing",
}


def adjust(p_values: pl.Series, method: MultipleTesting) -> pl.Series:
    """The adjusted p-values, in the same order; nulls (and NaN) stay null and are not counted as tests."""
    if method not in METHODS:
        from ..errors import UsageError

        raise UsageError(f"--multiple-testing must be one of {', '.join(METHODS)}, not {method!r}")
    import numpy as np  # here: the bulletin imports it in its chart thread while polars reads (build.ChartWorker)

    values = p_values.cast(pl.Float64).fill_nan(None)
    out = np.full(values.len(), np.nan)
    present = values.is_not_null().to_numpy()
    if present.any():
        raw = values.to_numpy()[present]
        if method == "none":
            out[present] = raw
        else:
            out[present] = step_adjusted(raw, method)
    return pl.Series(p_values.name, out, dtype=pl.Float64).fill_nan(None)


def step_adjusted(raw: np.ndarray, method: MultipleTesting) -> np.ndarray:
    """Holm's or Benjamini-Hochberg's adjusted p-values of ``raw``, in its order.

    The same numbers as statsmodels' ``multipletests(raw, method=STATSMODELS_METHOD[method])[1]``, by the
    same operations in the same order (so the same floats; tests/test_fast_paths.py compares them), without
    importing statsmodels, which took 0.6 s of every bulletin's start (bench/NOTES.md). Sorted ascending,
    Holm multiplies the i-th smallest of m by m - i + 1 and takes running maxima; Benjamini-Hochberg divides
    it by i / m and takes running minima from the largest; both are capped at 1.
    """
    import numpy as np

    order = np.argsort(raw)
    ranked = np.take(raw, order)
    tests = len(ranked)
    if method == "holm":
        adjusted = np.maximum.accumulate(ranked * np.arange(tests, 0, -1))
    elif method == "bh":
        adjusted = np.minimum.accumulate((ranked / (np.arange(1, tests + 1) / float(tests)))[::-1])[::-1]
    else:
        raise ValueError(f"no step-wise adjustment {method!r}")
    adjusted[adjusted > 1] = 1
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out
