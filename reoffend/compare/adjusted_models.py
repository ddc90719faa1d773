"""The two baseline models of the risk-adjusted comparison (docs/comparisons-adjusted.md, design §3).

A logistic regression of ``reoffended`` and a count model of ``reoffences`` (negative binomial NB2 by
default, or Poisson), fitted with statsmodels on the baseline design matrix, with their fit statistics
(log-likelihoods, pseudo R-squared, AUC, calibration by decile). Split out of
:mod:`reoffend.compare.adjusted` along its seam.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import special, stats

from ..errors import single_problem
from ..intervals import rank_auc
from ..run_warnings import RunWarning

CountModel = Literal["negbin", "poisson"]
CALIBRATION_GROUPS = 10
BOUNDARY_ALPHA = 1e-4


# -------------------------------------------------------------------------------------------- fitting
@dataclass
class FittedModel:
    """Coefficients, their covariance, and the summary of one baseline model."""

    params: np.ndarray
    cov: np.ndarray
    summary: dict[str, Any]
    alpha: float = 0.0


def _fit(model, fit_kwargs: dict, what: str, notes: list[RunWarning]):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = model.fit(disp=0, **fit_kwargs)
        except np.linalg.LinAlgError:
            raise single_problem(
                "baseline", None, "model-failed", f"the {what} model cannot be estimated (singular matrix)"
            ) from None
        except Exception as error:
            if type(error).__name__ == "PerfectSeparationError":
                raise single_problem(
                    "baseline",
                    None,
                    "perfect-separation",
                    f"the {what} model cannot be estimated: a covariate or level predicts the outcome "
                    "perfectly in the baseline (too few releases in a level?)",
                ) from None
            raise
    for warning in caught:
        text = str(warning.message).strip().splitlines()[0]
        note = f"{what} model: {text}"
        if any(word in text.lower() for word in ("separation", "converge", "overflow")) and note not in notes:
            notes.append(RunWarning("model-fit", note, subjects=[what]))
    converged = bool(result.mle_retvals.get("converged", True)) if hasattr(result, "mle_retvals") else True
    if not converged:
        notes.append(RunWarning("model-fit", f"{what} model did not converge: treat its predictions with caution"))
    return result, converged


def _coefficients(terms: Sequence[str], params, se) -> list[dict[str, Any]]:
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.asarray(params) / np.asarray(se)
    p = 2 * stats.norm.sf(np.abs(z))
    return [
        {"term": t, "estimate": float(b), "se": float(s), "z": float(zz), "p": float(pp)}
        for t, b, s, zz, pp in zip(terms, params, se, z, p, strict=True)
    ]


def fit_binary(X: np.ndarray, y: np.ndarray, terms: Sequence[str], notes: list[RunWarning]) -> FittedModel:
    """Logistic regression of ``reoffended`` (statsmodels Logit, Newton-Raphson)."""
    from statsmodels.discrete.discrete_model import Logit

    if y.min() == y.max():
        raise single_problem(
            "baseline",
            "reoffended",
            "constant-outcome",
            f"every baseline release has reoffended = {bool(y[0])}: the binary model cannot be estimated",
        )
    result, converged = _fit(Logit(y, X), {"method": "newton", "maxiter": 100}, "binary", notes)
    params = np.asarray(result.params)
    predicted = special.expit(X @ params)
    llnull = null_log_likelihood(y, "logit")
    summary = {
        "model": "logistic regression (statsmodels Logit)",
        "outcome": "reoffended",
        "n": int(y.size),
        "reoffenders": int(y.sum()),
        "observed_rate": float(y.mean()),
        "coefficients": _coefficients(terms, params, np.asarray(result.bse)),
        "log_likelihood": float(result.llf),
        "null_log_likelihood": llnull,
        "pseudo_r_squared": 1 - float(result.llf) / llnull,
        "auc": rank_auc(predicted, y),
        "converged": converged,
        "calibration": calibration_table(predicted, y),
    }
    return FittedModel(params, np.asarray(result.cov_params()), summary)


def fit_count(
    X: np.ndarray, y: np.ndarray, terms: Sequence[str], kind: CountModel, notes: list[RunWarning]
) -> FittedModel:
    """Negative binomial (NB2, alpha estimated by maximum likelihood) or Poisson regression of ``reoffences``.

    Poisson: statsmodels' ``Poisson`` by Newton-Raphson. NB2: statsmodels'
    ``NegativeBinomial(loglike_method="nb2")``, maximised jointly in (beta, alpha) by BFGS from start values
    at the optimum's doorstep (:func:`nb2_start_values`). The null (intercept-only) log-likelihood behind the
    pseudo R-squared is exact in closed form (:func:`null_log_likelihood`) instead of statsmodels'
    Nelder-Mead refit, which took longer than the fit itself.
    """
    from statsmodels.discrete.discrete_model import NegativeBinomial, Poisson

    if y.max() == 0:
        raise single_problem(
            "baseline",
            "reoffences",
            "constant-outcome",
            "no baseline release has a proven reoffence: the count model cannot be estimated",
        )
    k = X.shape[1]
    if kind == "negbin":
        start = nb2_start_values(X, y)
        result, converged = _fit(
            NegativeBinomial(y, X, loglike_method="nb2"),
            {"start_params": start, "method": "bfgs", "maxiter": 500},
            "count",
            notes,
        )
        everything = np.asarray(result.params)
        params, alpha = everything[:k], float(everything[k])
        try:
            cov = np.asarray(result.cov_params())
            usable = bool(np.all(np.isfinite(np.diag(cov))) and np.all(np.diag(cov) >= 0))
        except (ValueError, np.linalg.LinAlgError):
            usable = False
        if usable and alpha > BOUNDARY_ALPHA:
            alpha_se = float(np.sqrt(cov[k, k]))
            cov = cov[:k, :k]
            described = "negative binomial NB2 (statsmodels NegativeBinomial), variance mu + alpha mu^2"
        elif alpha <= BOUNDARY_ALPHA:
            # no over-dispersion: the likelihood peaks at alpha = 0, where NB2 is the Poisson model
            notes.append(
                RunWarning(
                    "poisson-fallback",
                    "count model: the baseline counts show no over-dispersion (NB2 alpha at its boundary 0), so the "
                    "negative binomial reduces to its limit, the Poisson model, which is fitted instead",
                )
            )
            result, converged = _fit(Poisson(y, X), {"method": "newton", "maxiter": 100}, "count", notes)
            params, alpha, alpha_se = np.asarray(result.params), 0.0, None
            cov = np.asarray(result.cov_params())
            described = "negative binomial NB2 at alpha = 0: Poisson regression (statsmodels Poisson), variance mu"
        else:
            raise single_problem(
                "baseline",
                None,
                "model-failed",
                "the count model's covariance cannot be computed (a singular information matrix): "
                "check the covariates for levels with very few releases",
            )
    else:
        result, converged = _fit(Poisson(y, X), {"method": "newton", "maxiter": 100}, "count", notes)
        params, alpha, alpha_se = np.asarray(result.params), 0.0, None
        cov = np.asarray(result.cov_params())
        described = "Poisson regression (statsmodels Poisson), variance mu"
    predicted = np.exp(X @ params)
    llnull = null_log_likelihood(y, kind)
    summary = {
        "model": described,
        "outcome": "reoffences",
        "n": int(y.size),
        "reoffences": int(y.sum()),
        "observed_per_offender": float(y.mean()),
        "coefficients": _coefficients(terms, params, np.sqrt(np.diag(cov))),
        "log_likelihood": float(result.llf),
        "null_log_likelihood": llnull,
        "pseudo_r_squared": 1 - float(result.llf) / llnull,
        "alpha": alpha if kind == "negbin" else None,
        "alpha_se": alpha_se,
        "converged": converged,
        "calibration": calibration_table(predicted, y),
    }
    return FittedModel(params, cov, summary, alpha)


def nb2_start_values(X: np.ndarray, y: np.ndarray, rounds: int = 2) -> np.ndarray:
    """Start values ``(beta, alpha)`` for the NB2 maximum likelihood, close to the optimum.

    Alternates Fisher scoring for ``beta`` at fixed ``alpha`` (the NB2 GLM's iteratively reweighted least
    squares: weights ``mu / (1 + alpha mu)``, working response ``eta + (y - mu) / mu``) with the exact 1-D
    maximum-likelihood ``alpha`` at fixed means. Two rounds land within rounding of the joint optimum, so
    statsmodels' BFGS, which makes the fit and its covariance, stops after a step or two instead of about
    forty likelihood evaluations (seconds, not tens of seconds, for a million releases). Falls back to a
    plain start (log mean, zeros, alpha 1) if scoring fails on degenerate data.
    """
    beta = np.zeros(X.shape[1])
    beta[0] = math.log(max(float(y.mean()), 1e-12))
    alpha = 1.0
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            for _ in range(rounds):
                for _step in range(50):
                    eta = X @ beta
                    mu = np.exp(eta)
                    weighted = X.T * (mu / (1 + alpha * mu))
                    new = np.linalg.solve(weighted @ X, weighted @ (eta + (y - mu) / mu))
                    converged = np.max(np.abs(new - beta)) < 1e-8
                    beta = new
                    if converged:
                        break
                alpha, _ = nb2_alpha_given_mean(y, np.exp(X @ beta))
    except (FloatingPointError, np.linalg.LinAlgError):
        beta = np.zeros(X.shape[1])
        beta[0] = math.log(max(float(y.mean()), 1e-12))
        alpha = 1.0
    if not np.all(np.isfinite(beta)):
        beta = np.zeros(X.shape[1])
        beta[0] = math.log(max(float(y.mean()), 1e-12))
    return np.r_[beta, min(max(alpha, 1e-6), 1e3)]


def nb2_log_likelihood(y: np.ndarray, mu: np.ndarray, alpha: float) -> float:
    """NB2 log-likelihood of counts ``y`` with means ``mu`` and variance ``mu + alpha mu^2``.

    ``log Gamma(y + 1/a) - log Gamma(1/a) = sum_{j<y} log(j + 1/a)`` depends on ``y`` only, so it is
    summed over ``j`` weighted by the number of releases with ``y > j``: the per-row work is two logs.
    """
    counts = np.asarray(y, dtype=np.int64)
    top = int(counts.max()) if counts.size else 0
    above = np.bincount(counts, minlength=top + 1)[::-1].cumsum()[::-1][1:]  # releases with y > j, j < top
    r = 1.0 / alpha
    gamma_part = float((above * np.log(np.arange(top) + r)).sum()) - float(special.gammaln(counts + 1.0).sum())
    return gamma_part + float((y * np.log(alpha * mu) - (y + r) * np.log1p(alpha * mu)).sum())


def nb2_alpha_given_mean(y: np.ndarray, mu: np.ndarray) -> tuple[float, float]:
    """The maximum-likelihood NB2 ``alpha`` for fixed means ``mu`` (1-D search over log alpha), and its llf."""
    from scipy import optimize

    found = optimize.minimize_scalar(
        lambda log_alpha: -nb2_log_likelihood(y, mu, math.exp(log_alpha)),
        bounds=(-18.0, 6.0),
        method="bounded",
        options={"xatol": 1e-9},
    )
    return math.exp(found.x), -float(found.fun)


def null_log_likelihood(y: np.ndarray, kind: Literal["logit", "negbin", "poisson"]) -> float:
    """The intercept-only model's maximised log-likelihood, exactly.

    With an intercept only, the fitted mean is the sample mean ``ybar`` in all three models (the intercept's
    score equation); logit: ``n1 log(ybar) + n0 log(1 - ybar)``; Poisson: ``sum(y log ybar - ybar - log y!)``;
    NB2: the likelihood at ``mu = ybar`` maximised over alpha.
    """
    y = np.asarray(y, dtype=np.float64)
    mean = float(y.mean())
    if kind == "logit":
        ones = float(y.sum())
        return ones * math.log(mean) + (y.size - ones) * math.log1p(-mean)
    if kind == "poisson":
        return float((y * math.log(mean)).sum() - y.size * mean - special.gammaln(y + 1.0).sum())
    return nb2_alpha_given_mean(y, np.full(y.size, mean))[1]


# ------------------------------------------------------------------------------------- fit statistics
def calibration_table(predicted: np.ndarray, observed: np.ndarray, groups: int = CALIBRATION_GROUPS) -> list[dict]:
    """Predicted against observed by group of predicted value (deciles by default).

    Releases are ordered by prediction (stable, so ties keep input order) and cut into ``groups`` groups of
    equal size (sizes differ by at most one): release at position ``i`` of ``n`` is in group
    ``floor(i * groups / n) + 1``.
    """
    n = predicted.size
    if n == 0:
        return []
    order = np.argsort(predicted, kind="stable")
    group = np.empty(n, dtype=np.int64)
    group[order] = np.arange(n) * groups // n
    size = np.bincount(group, minlength=groups)
    pred_sum = np.bincount(group, weights=predicted, minlength=groups)
    obs_sum = np.bincount(group, weights=np.asarray(observed, dtype=np.float64), minlength=groups)
    low = np.full(groups, np.inf)
    high = np.full(groups, -np.inf)
    np.minimum.at(low, group, predicted)
    np.maximum.at(high, group, predicted)
    return [
        {
            "group": g + 1,
            "releases": int(size[g]),
            "predicted_low": float(low[g]),
            "predicted_high": float(high[g]),
            "predicted_mean": float(pred_sum[g] / size[g]),
            "observed_mean": float(obs_sum[g] / size[g]),
        }
        for g in range(groups)
        if size[g]
    ]
