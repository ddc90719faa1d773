"""The propensity score of the matched comparison (docs/comparisons-matched.md, design section 2).

A logistic regression (statsmodels ``Logit``, Newton's method) of treatment on the covariates, in the
encoding shared with the risk-adjusted models (:mod:`reoffend.compare.design`): numeric covariates in their
form (``linear`` by default here, or ``log1p`` / ``spline:K`` by ``--covariate-form``), text covariates as
indicator columns of their levels with the most common level as the reference. The score used for
matching is the *logit* of the propensity score, i.e. the linear predictor, rounded to 10 decimals so
that units with identical covariates tie exactly whatever the floating-point path of the matrix product.

Pure: arrays and frames in, a :class:`PropensityModel` out; problems raise :class:`DataError` (exit 65).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationError, PerfectSeparationWarning

from ..errors import single_problem
from ..intervals import rank_auc
from .design import INTERCEPT, Covariate

SCORE_DECIMALS = 10


def balance_columns(
    frame: pl.DataFrame, covariates: list[Covariate]
) -> tuple[np.ndarray, list[tuple[str, str | None]]]:
    """Every numeric covariate and every category level (reference included) as float columns, for balance."""
    columns: list[pl.Expr] = []
    labels: list[tuple[str, str | None]] = []
    for covariate in covariates:
        if covariate.is_category:
            text = pl.col(covariate.name).cast(pl.String)
            for level in sorted(covariate.levels):
                columns.append((text == level).cast(pl.Float64))
                labels.append((covariate.name, level))
        else:
            columns.append(pl.col(covariate.name).cast(pl.Float64))
            labels.append((covariate.name, None))
    if not columns:
        return np.zeros((frame.height, 0)), labels
    matrix = frame.select([c.alias(f"_b{i}") for i, c in enumerate(columns)]).to_numpy().astype(np.float64)
    return matrix, labels


@dataclass
class PropensityModel:
    """The fitted model and the score of every unit it was fitted on."""

    terms: list[str]
    params: np.ndarray
    bse: np.ndarray
    n: int
    n_treated: int
    converged: bool
    iterations: int
    log_likelihood: float
    pseudo_r2: float
    auc: float
    logit: np.ndarray  # the linear predictor of every unit, rounded to SCORE_DECIMALS
    dropped_terms: list[str]

    def summary(self) -> dict[str, object]:
        z = self.params / self.bse
        p = 2 * stats.norm.sf(np.abs(z))
        return {
            "model": "logistic regression of treatment on the covariates (statsmodels Logit, Newton)",
            "n": self.n,
            "n_treated": self.n_treated,
            "converged": self.converged,
            "iterations": self.iterations,
            "log_likelihood": float(self.log_likelihood),
            "pseudo_r2_mcfadden": float(self.pseudo_r2),
            "auc": float(self.auc),
            "dropped_terms": self.dropped_terms,
            "coefficients": [
                {"term": t, "estimate": float(c), "se": float(s), "z": float(zz), "p": float(pp)}
                for t, c, s, zz, pp in zip(self.terms, self.params, self.bse, z, p, strict=True)
            ],
        }


def fit_propensity(
    design: np.ndarray, terms: list[str], treated: np.ndarray, file: str = "releases"
) -> PropensityModel:
    """Fit ``treated ~ design`` by maximum likelihood; separation or collinearity is a DataError (exit 65).

    Constant non-intercept columns (a covariate with one value among the units) are dropped and listed.
    """
    treated = np.asarray(treated, dtype=np.float64)
    n, n_treated = treated.size, int(treated.sum())
    if n_treated == 0 or n_treated == n:
        raise single_problem(
            file, None, "propensity-model", "the propensity model needs both treated and comparison units"
        )
    keep = [0] + [j for j in range(1, design.shape[1]) if np.ptp(design[:, j]) > 0]
    dropped = [terms[j] for j in range(1, design.shape[1]) if j not in keep]
    design, terms = design[:, keep], [terms[j] for j in keep]
    scale = np.maximum(np.abs(design).max(axis=0), 1e-300)
    gram = (design / scale).T @ (design / scale)
    if np.linalg.matrix_rank(gram) < design.shape[1]:
        raise single_problem(
            file,
            None,
            "propensity-model",
            "the covariates are collinear (one is a combination of others: "
            f"terms {', '.join(terms[1:])}); drop one from --covariates",
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = sm.Logit(treated, design).fit(method="newton", maxiter=100, disp=0)
        except (PerfectSeparationError, np.linalg.LinAlgError) as error:
            raise _separation(file, terms, str(error)) from None
    categories = {w.category for w in caught}
    if PerfectSeparationWarning in categories:
        raise _separation(file, terms, "the covariates predict treatment perfectly")
    converged = bool(result.mle_retvals.get("converged", False))
    params = np.asarray(result.params, dtype=np.float64)
    if not converged or ConvergenceWarning in categories or not np.all(np.isfinite(params)):
        suspects = [t for t, c in zip(terms, params, strict=True) if abs(c) > 15 and t != INTERCEPT]
        detail = f" (diverging terms: {', '.join(suspects)})" if suspects else ""
        raise _separation(file, terms, f"the model did not converge{detail}")
    bse = np.asarray(result.bse, dtype=np.float64)
    logit = np.round(design @ params, SCORE_DECIMALS)
    return PropensityModel(
        terms=terms,
        params=params,
        bse=bse,
        n=n,
        n_treated=n_treated,
        converged=converged,
        iterations=int(result.mle_retvals.get("iterations", 0)),
        log_likelihood=float(result.llf),
        pseudo_r2=_mcfadden(float(result.llf), treated),
        auc=rank_auc(logit, treated.astype(bool)),
        logit=logit,
        dropped_terms=dropped,
    )


def _mcfadden(log_likelihood: float, treated: np.ndarray) -> float:
    """McFadden's pseudo R-squared, 1 - llf / llnull, with the intercept-only log-likelihood in closed form."""
    n1 = float(treated.sum())
    n0 = treated.size - n1
    share = n1 / treated.size
    null = n1 * np.log(share) + n0 * np.log1p(-share)
    return 1 - log_likelihood / null


def _separation(file: str, terms: list[str], detail: str):
    return single_problem(
        file,
        None,
        "perfect-separation",
        f"the propensity model cannot be fitted: {detail}. Treated and comparison units do not overlap on "
        f"the covariates ({', '.join(terms[1:])}); remove the covariate that separates them from "
        "--covariates, match exactly on it with --exact, or narrow the pool with --pool",
    )
