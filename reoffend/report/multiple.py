"""Multiple-testing adjustment of several units tested at once (docs/comparisons.md, "one verdict").

``holm`` (the default: Holm's step-down, family-wise error rate), ``bh`` (Benjamini-Hochberg, false
discovery rate) or ``none``, by statsmodels ``multipletests``. Null p-values (units too few to test) are
left out of the family and stay null.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl

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
    values = p_values.cast(pl.Float64).fill_nan(None)
    out = np.full(values.len(), np.nan)
    present = values.is_not_null().to_numpy()
    if present.any():
        raw = values.to_numpy()[present]
        if method == "none":
            out[present] = raw
        else:
            from statsmodels.stats.multitest import multipletests

            out[present] = multipletests(raw, method=STATSMODELS_METHOD[method])[1]
    return pl.Series(p_values.name, out, dtype=pl.Float64).fill_nan(None)
