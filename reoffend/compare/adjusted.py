"""Risk-adjusted baseline comparison: the national payment mechanism (docs/comparisons-adjusted.md).

The baseline cohorts' own outcomes, adjusted for the mix of offenders a provider has now
(design: comparisons.md section 3). Two models are fitted on the baseline index releases with statsmodels:
a logistic regression of ``reoffended`` and a count model (negative binomial NB2 by default, or Poisson) of
``reoffences``, both on the covariates. Each current index release is scored with both; per provider and
current cohort the actual binary rate is set against the mean predicted probability and the actual
reoffences per offender against the mean predicted count.

The test treats the current outcomes as independent draws from the baseline model: the variance of the sum
of outcomes is ``sum p(1-p)`` (binary) and ``sum mu + alpha mu^2`` (NB2) or ``sum mu`` (Poisson). By default
this ignores the uncertainty in the baseline model's parameters, as the mechanism does; the delta-method
variance of the expected sum from the parameters' covariance is always reported, and added to the test's
variance with ``parameter_uncertainty=True``.

The core is pure: a per-release frame (or validated inputs) and :class:`AdjustedParams` in,
:class:`AdjustedResult` out. Index releases and outcomes come from the measure core; the window is never
re-implemented here.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import special, stats

from ..cohort import apply_filters, check_values_present, with_cohort
from ..errors import PROBLEM_SCHEMA, DataError, UsageError, single_problem
from ..intervals import normal_quantile, rank_auc
from ..measure import MeasureParams, measured_releases, per_release, proven_reoffences, run_metadata
from ..validate import ValidatedInputs, check_covariate_values
from .calibration import band_warnings, calibration, range_warnings
from .design import (
    OTHER,
    SPLINE,
    Covariate,
    CovariateForm,
    design_matrix,
    encode,
    forms_text,
    term_names,
)
from .sensitivity import E_VALUE_NOTE, e_value_columns

CountModel = Literal["negbin", "poisson"]
UnseenPolicy = Literal["error", "pool"]
COUNT_MODELS = ("negbin", "poisson")
UNSEEN_POLICIES = ("error", "pool")
OUTCOMES = ("reoffended", "reoffences")
SORT_TAIL = ("offender_id", "release_date")
CALIBRATION_GROUPS = 10
SMALL_GROUP = 30
BOUNDARY_ALPHA = 1e-4


@dataclass(frozen=True)
class AdjustedParams:
    """What defines a risk-adjusted comparison, apart from the data.

    ``measure`` supplies the window, cohort period, index rule, incomplete policy, excluded offences, the
    ``where`` filters (applied to baseline and current alike) and the confidence level; its ``by`` and
    ``latest_cohort`` are ignored (``by`` and ``latest_current`` here say what is compared).
    """

    covariates: tuple[str, ...]
    baseline: tuple[str, ...]
    measure: MeasureParams = field(default_factory=MeasureParams)
    baseline_filter: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    current: tuple[str, ...] | None = None
    latest_current: bool = False
    by: tuple[str, ...] = ("establishment",)
    count_model: CountModel = "negbin"
    alpha: float = 0.05
    sided: Literal["one", "two"] = "one"
    current_filter: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    unseen: UnseenPolicy = "error"
    parameter_uncertainty: bool = False
    covariate_forms: Mapping[str, CovariateForm] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.covariates:
            raise UsageError("--covariates: name at least one release column to adjust for")
        if not self.baseline:
            raise UsageError("--baseline: name at least one baseline cohort")
        if self.count_model not in COUNT_MODELS:
            raise UsageError(f"count model must be one of {', '.join(COUNT_MODELS)}, not {self.count_model!r}")
        if self.unseen not in UNSEEN_POLICIES:
            raise UsageError(f"--unseen must be one of {', '.join(UNSEEN_POLICIES)}, not {self.unseen!r}")
        if not 0 < self.alpha < 1:
            raise UsageError(f"--alpha must be between 0 and 1, not {self.alpha}")
        if self.sided not in ("one", "two"):
            raise UsageError(f"--sided must be 'one' or 'two', not {self.sided!r}")
        for name in ("cohort", *OUTCOMES, *SORT_TAIL):
            if name in self.covariates:
                raise UsageError(f"{name!r} cannot be a covariate of the risk model")
        duplicated = sorted({c for c in self.covariates if self.covariates.count(c) > 1})
        if duplicated:
            raise UsageError(f"--covariates names {', '.join(duplicated)} more than once")
        overlap = sorted(set(self.baseline) & set(self.current or ()))
        if overlap:
            raise UsageError(f"cohort(s) {', '.join(overlap)} are in both --baseline and --current")
        if self.current is not None and self.latest_current:
            raise UsageError("give --current or --latest-cohort, not both")
        strays = sorted(set(self.covariate_forms) - set(self.covariates))
        if strays:
            raise UsageError(f"--covariate-form names {', '.join(strays)}, which is not in --covariates")

    @property
    def group_columns(self) -> tuple[str, ...]:
        """Provider columns then the cohort: one comparison row per combination."""
        return (*(c for c in self.by if c != "cohort"), "cohort")

    def as_dict(self) -> dict[str, Any]:
        values = {k: v for k, v in asdict(self).items() if k != "measure"}
        measure = self.measure.as_dict()
        for unused in ("by", "latest_cohort"):
            measure.pop(unused, None)
        values.update(measure)
        values["covariates"] = list(self.covariates)
        values["baseline"] = list(self.baseline)
        values["current"] = list(self.current) if self.current is not None else None
        values["by"] = list(self.by)
        values["baseline_filter"] = {c: list(v) for c, v in sorted(self.baseline_filter.items())}
        values["current_filter"] = {c: list(v) for c, v in sorted(self.current_filter.items())}
        values["covariate_forms"] = forms_text(self.covariate_forms)
        values["significance_test"] = "one-sided p for a reduction" if self.sided == "one" else "two-sided p"
        return values


@dataclass
class AdjustedResult:
    """One row per provider and current cohort; the baseline models' summaries; unseen levels pooled."""

    rows: pl.DataFrame
    models: dict[str, Any]
    metadata: dict[str, Any]
    params: AdjustedParams
    unseen: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def headline(self) -> str:
        """One plain-English sentence per comparison row, both measures reported separately."""
        return "\n".join(headline_row(row, self.params) for row in self.rows.iter_rows(named=True))

    def extra_json(self) -> dict[str, Any]:
        return {
            "baseline_models": self.models,
            "unseen_levels": self.unseen,
            "sensitivity": {"e_value": E_VALUE_NOTE},
            "warnings": self.warnings,
            "headlines": [headline_row(row, self.params) for row in self.rows.iter_rows(named=True)],
        }


# ------------------------------------------------------------------------------------------ the data
def adjusted_releases(inputs: ValidatedInputs, params: AdjustedParams) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The index releases with cohort, provider, covariate and filter columns and both outcomes.

    Built by the measure core (index release, window, proven reoffences). Row order is not fixed here:
    :func:`compare_adjusted` sorts before it sums.
    """
    measure_params = replace(params.measure, by=(), latest_cohort=False)
    releases, facts = measured_releases(inputs, measure_params)
    available = releases.collect_schema().names()
    wanted = {
        "--covariates": params.covariates,
        "--by": params.by,
        "--baseline-filter": tuple(params.baseline_filter),
        "--current-filter": tuple(params.current_filter),
    }
    for option, columns in wanted.items():
        missing = [c for c in columns if c not in available]
        if missing:
            listed = ", ".join(c for c in available if c not in ("follow_up_end", "conviction_deadline"))
            raise UsageError(
                f"{option}: {inputs.names['releases']} has no column {', '.join(map(repr, missing))} "
                f"(columns: {listed})"
            )
    check_covariate_values(inputs.releases, params.covariates, inputs.names["releases"])
    everyone = with_cohort(inputs.releases, measure_params.period)
    check_values_present(everyone, params.baseline_filter, inputs.names["releases"], "--baseline-filter")
    check_values_present(everyone, params.current_filter, inputs.names["releases"], "--current-filter")
    group = list(
        dict.fromkeys(["cohort", *params.by, *params.covariates, *params.baseline_filter, *params.current_filter])
    )
    convictions = proven_reoffences(inputs.convictions, measure_params.excluded_offences)
    audit = per_release(releases, convictions, group)
    frame = audit.select(*SORT_TAIL, *group, *OUTCOMES).collect()
    return frame, run_metadata(inputs, params.measure.window, facts)


def run_adjusted(inputs: ValidatedInputs, params: AdjustedParams) -> AdjustedResult:
    """Validated inputs to the comparison: :func:`adjusted_releases` then :func:`compare_adjusted`."""
    frame, metadata = adjusted_releases(inputs, params)
    return compare_adjusted(frame, params, metadata=metadata, source=inputs.names["releases"])


# --------------------------------------------------------------------------------------- the encoding
def _encode(
    baseline: pl.DataFrame, covariates: Sequence[str], forms: Mapping[str, CovariateForm], source: str
) -> list[Covariate]:
    """The shared encoding (:mod:`reoffend.compare.design`); a numeric covariate constant in the baseline: error."""
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
    return encode(baseline, covariates, forms, default=SPLINE, source=source)


def _unseen_levels(
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


def _check_rank(X: np.ndarray, terms: Sequence[str], source: str) -> None:
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


# -------------------------------------------------------------------------------------------- fitting
@dataclass
class FittedModel:
    """Coefficients, their covariance, and the summary of one baseline model."""

    params: np.ndarray
    cov: np.ndarray
    summary: dict[str, Any]
    alpha: float = 0.0


def _fit(model, fit_kwargs: dict, what: str, notes: list[str]):
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
            notes.append(note)
    converged = bool(result.mle_retvals.get("converged", True)) if hasattr(result, "mle_retvals") else True
    if not converged:
        notes.append(f"{what} model did not converge: treat its predictions with caution")
    return result, converged


def _coefficients(terms: Sequence[str], params, se) -> list[dict[str, Any]]:
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.asarray(params) / np.asarray(se)
    p = 2 * stats.norm.sf(np.abs(z))
    return [
        {"term": t, "estimate": float(b), "se": float(s), "z": float(zz), "p": float(pp)}
        for t, b, s, zz, pp in zip(terms, params, se, z, p, strict=True)
    ]


def fit_binary(X: np.ndarray, y: np.ndarray, terms: Sequence[str], notes: list[str]) -> FittedModel:
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


def fit_count(X: np.ndarray, y: np.ndarray, terms: Sequence[str], kind: CountModel, notes: list[str]) -> FittedModel:
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
                "count model: the baseline counts show no over-dispersion (NB2 alpha at its boundary 0), so the "
                "negative binomial reduces to its limit, the Poisson model, which is fitted instead"
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


# ----------------------------------------------------------------------------------------- comparison
def compare_adjusted(
    frame: pl.DataFrame,
    params: AdjustedParams,
    *,
    metadata: Mapping[str, Any] | None = None,
    source: str = "releases",
) -> AdjustedResult:
    """Fit on the baseline cohorts of ``frame``, score the current cohorts, compare per provider and cohort.

    ``frame`` has one row per index release with ``cohort``, the ``by`` columns, the covariates, the
    baseline-filter columns, ``reoffended`` and ``reoffences`` (as from :func:`adjusted_releases`).
    """
    notes: list[str] = []
    baseline, current, cohorts = _split(frame, params, source)
    # a fixed row order, so that every sum runs in the same order whatever order the frame came in
    baseline = baseline.sort(["cohort", *SORT_TAIL], nulls_last=True, maintain_order=True)
    _check_nulls(baseline, current, params, source)
    encoded = _encode(baseline, params.covariates, params.covariate_forms, source)
    notes.extend(c.note for c in encoded if c.note)
    encoded, unseen = _unseen_levels(current, encoded, params.unseen, source)
    for covariate in encoded:
        if covariate.kind == "categorical" and len(covariate.levels) == 1:
            notes.append(
                f"covariate {covariate.column} has the single level {covariate.levels[0]!r} in the baseline "
                "and adjusts for nothing"
            )
    for item in unseen:
        notes.append(
            f"{item['column']}={item['value']!r} ({item['current_releases']} current releases) is not in the "
            f"baseline; pooled as {item['scored_as']}"
        )
    terms = term_names(encoded)
    X_base = design_matrix(baseline, encoded)
    _check_rank(X_base, terms, source)
    binary = fit_binary(X_base, baseline.get_column("reoffended").cast(pl.Float64).to_numpy(), terms, notes)
    count = fit_count(
        X_base, baseline.get_column("reoffences").cast(pl.Float64).to_numpy(), terms, params.count_model, notes
    )
    providers = [c for c in params.by if c != "cohort"]
    calibration_table_by = calibration(
        baseline,
        encoded,
        providers,
        _baseline_predictions(X_base, baseline, binary, count),
        normal_quantile(params.measure.confidence),
    )
    del X_base
    notes.extend(band_warnings(calibration_table_by, params.measure.confidence))
    notes.extend(range_warnings(current, encoded, providers))

    keys = list(params.group_columns)
    current = current.sort([*keys, *SORT_TAIL], nulls_last=True, maintain_order=True)
    rows = _score(current, design_matrix(current, encoded), keys, binary, count, params)
    rows = rows.with_columns(
        *(
            series
            for name in ("binary", "frequency")
            for series in e_value_columns(
                rows[f"{name}_ratio"], rows[f"{name}_ratio_low"], rows[f"{name}_ratio_high"], name
            )
        )
    )
    small = int((rows["cohort_size"] < SMALL_GROUP).sum())
    if small:
        notes.append(
            f"{small} of {rows.height} comparisons have fewer than {SMALL_GROUP} releases: the normal approximation "
            "behind their intervals and p-values is rough"
        )
    models = {
        "binary": binary.summary,
        "frequency": count.summary,
        "calibration_by": calibration_table_by,
        "design": {
            "covariates": [c.describe() for c in encoded],
            "terms": terms,
            "baseline_cohorts": list(params.baseline),
            "baseline_filter": {c: list(v) for c, v in sorted(params.baseline_filter.items())},
            "baseline_releases": baseline.height,
            "current_cohorts": cohorts,
            "current_releases": current.height,
            "variance": (
                "outcomes independent under the baseline model, plus the delta-method variance of the expected "
                "sum from the baseline coefficients' covariance"
                if params.parameter_uncertainty
                else "outcomes independent under the baseline model; the baseline coefficients are treated as "
                "known (parameter uncertainty is reported in *_expected_se_parameters but not in the test)"
            ),
        },
    }
    meta = dict(metadata or {})
    meta.update(
        {
            "baseline_cohorts": list(params.baseline),
            "baseline_releases": baseline.height,
            "current_cohorts": cohorts,
            "current_releases": current.height,
            "significance_level": params.alpha,
        }
    )
    return AdjustedResult(rows=rows, models=models, metadata=meta, params=params, unseen=unseen, warnings=notes)


def _baseline_predictions(
    X: np.ndarray, baseline: pl.DataFrame, binary: FittedModel, count: FittedModel
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per baseline release: outcome, prediction and model variance, for both models (calibration)."""
    p = special.expit(X @ binary.params)
    mu = np.exp(X @ count.params)
    return {
        "binary": (baseline.get_column("reoffended").cast(pl.Float64).to_numpy(), p, p * (1 - p)),
        "frequency": (baseline.get_column("reoffences").cast(pl.Float64).to_numpy(), mu, mu + count.alpha * mu * mu),
    }


def _split(frame: pl.DataFrame, params: AdjustedParams, source: str):
    present = sorted(frame.get_column("cohort").drop_nulls().unique().to_list())
    counts = dict(frame.group_by("cohort").len().iter_rows())
    empty = [c for c in params.baseline if not counts.get(c)]
    if empty:
        raise single_problem(
            source,
            "cohort",
            "empty-baseline",
            f"baseline cohort(s) {', '.join(empty)} have no index releases (cohorts in the data: "
            f"{', '.join(present) if present else 'none'})",
            value=", ".join(empty),
        )
    baseline = apply_filters(frame.filter(pl.col("cohort").is_in(list(params.baseline))), params.baseline_filter)
    if baseline.height == 0:
        filters = "; ".join(f"{c}={','.join(v)}" for c, v in params.baseline_filter.items())
        raise single_problem(
            source,
            None,
            "empty-baseline",
            f"no baseline index releases in {', '.join(params.baseline)} satisfy --baseline-filter {filters}",
        )
    if params.current is not None:
        missing = [c for c in params.current if not counts.get(c)]
        if missing:
            raise single_problem(
                source,
                "cohort",
                "empty-current",
                f"current cohort(s) {', '.join(missing)} have no index releases (cohorts in the data: "
                f"{', '.join(present)})",
                value=", ".join(missing),
            )
        chosen = sorted(params.current)
    else:
        last = max(params.baseline)
        chosen = [c for c in present if c > last and c not in params.baseline]
        if params.latest_current:
            chosen = chosen[-1:]
        if not chosen:
            raise UsageError(
                f"no cohort after the baseline ({last}) to compare (cohorts in the data: {', '.join(present)}); "
                "name them with --current"
            )
    current = apply_filters(frame.filter(pl.col("cohort").is_in(chosen)), params.current_filter)
    if current.height == 0:
        filters = "; ".join(f"{c}={','.join(v)}" for c, v in params.current_filter.items())
        raise single_problem(
            source,
            None,
            "empty-current",
            f"no current index releases in {', '.join(chosen)} satisfy --current-filter {filters}",
        )
    return baseline, current, chosen


def _check_nulls(baseline: pl.DataFrame, current: pl.DataFrame, params: AdjustedParams, source: str) -> None:
    rows = []
    for part, frame in (("baseline", baseline), ("current", current)):
        nulls = frame.select(pl.col(list(params.covariates)).null_count()).row(0, named=True)
        for column in params.covariates:
            if nulls[column]:
                rows.append(
                    {
                        "file": source,
                        "row": None,
                        "column": column,
                        "rule": "missing-covariate",
                        "value": None,
                        "message": f"covariate {column} is empty in {nulls[column]} {part} index release(s); "
                        "the model needs a value for every release (fill it, or choose other covariates)",
                    }
                )
    if rows:
        raise DataError(pl.DataFrame(rows, schema=PROBLEM_SCHEMA), {"missing-covariate": len(rows)})


def _group_starts(frame: pl.DataFrame, keys: Sequence[str]) -> np.ndarray:
    """First row of each run of equal keys in a frame sorted by them."""
    if frame.height == 0:
        return np.zeros(0, dtype=np.int64)
    run = frame.select(pl.struct(list(keys)).rle_id()).to_series().to_numpy()
    return np.flatnonzero(np.r_[True, run[1:] != run[:-1]])


def _score(
    current: pl.DataFrame,
    X: np.ndarray,
    keys: list[str],
    binary: FittedModel,
    count: FittedModel,
    params: AdjustedParams,
) -> pl.DataFrame:
    """Per group: actual and expected sums, the model variance of the sum, and the comparison columns."""
    starts = _group_starts(current, keys)
    groups = current.select(keys)[starts.tolist()] if starts.size else current.select(keys).clear()
    n = np.diff(np.r_[starts, current.height]).astype(np.float64)

    def sums(values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, starts, axis=0) if starts.size else np.zeros((0, *values.shape[1:]))

    def parameter_variance(gradient_weights: np.ndarray, cov: np.ndarray) -> np.ndarray:
        gradient = sums(X * gradient_weights[:, None])
        return np.einsum("gi,ij,gj->g", gradient, cov, gradient)

    p = special.expit(X @ binary.params)
    mu = np.exp(X @ count.params)
    measures = {
        "binary": (
            current.get_column("reoffended").cast(pl.Float64).to_numpy(),
            p,
            p * (1 - p),
            parameter_variance(p * (1 - p), binary.cov),
        ),
        "frequency": (
            current.get_column("reoffences").cast(pl.Float64).to_numpy(),
            mu,
            mu + count.alpha * mu * mu,
            parameter_variance(mu, count.cov),
        ),
    }
    z_crit = normal_quantile(params.measure.confidence)
    one_sided = params.sided == "one"
    columns: dict[str, Any] = {"cohort_size": n.astype(np.int64)}
    for name, (y, predicted, outcome_var, param_var) in measures.items():
        actual, expected = sums(y), sums(predicted)
        variance = sums(outcome_var) + (param_var if params.parameter_uncertainty else 0.0)
        sd = np.sqrt(variance)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (actual - expected) / sd
        difference = (actual - expected) / n
        se = sd / n
        ratio = actual / expected
        p_two, p_reduction = 2 * stats.norm.sf(np.abs(z)), stats.norm.cdf(z)
        significant = (p_reduction if one_sided else p_two) < params.alpha
        count_name = "reoffenders" if name == "binary" else "reoffences"
        columns[count_name] = actual.round().astype(np.int64)
        columns[f"{name}_actual"] = actual / n
        columns[f"{name}_expected"] = expected / n
        columns[f"{name}_difference"] = difference
        columns[f"{name}_se"] = se
        # the interval, clipped to what is possible: an actual rate of at least 0 (binary: at most 1)
        ceiling = (n - expected) / n if name == "binary" else np.inf
        columns[f"{name}_difference_low"] = np.maximum(difference - z_crit * se, -expected / n)
        columns[f"{name}_difference_high"] = np.minimum(difference + z_crit * se, ceiling)
        columns[f"{name}_ratio"] = ratio
        columns[f"{name}_ratio_low"] = np.maximum(ratio - z_crit * sd / expected, 0.0)
        columns[f"{name}_ratio_high"] = np.minimum(
            ratio + z_crit * sd / expected, n / expected if name == "binary" else np.inf
        )
        if name == "binary":
            columns["binary_reduction_pp"] = -100 * difference
        else:
            columns["frequency_reduction_pct"] = 100 * (1 - ratio)
        columns[f"{name}_z"] = z
        columns[f"{name}_p_two_sided"] = p_two
        columns[f"{name}_p_reduction"] = p_reduction
        columns[f"{name}_significant"] = significant
        columns[f"{name}_beat_baseline"] = significant & (actual < expected)
        columns[f"{name}_expected_se_parameters"] = np.sqrt(param_var) / n
    return pl.concat([groups, pl.DataFrame(columns)], how="horizontal")


# ------------------------------------------------------------------------------------------- headline
def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def headline_row(row: Mapping[str, Any], params: AdjustedParams) -> str:
    """One sentence: who, then the binary and the frequency verdicts side by side (never merged)."""
    who = ", ".join(f"{row[c]}" for c in params.group_columns)
    level = f"{100 * params.measure.confidence:g}%"
    p_column, p_name = ("p_reduction", "one-sided p") if params.sided == "one" else ("p_two_sided", "two-sided p")

    def verdict(name: str) -> str:
        if row[f"{name}_beat_baseline"]:
            return "a significant reduction: beat the baseline"
        if row[f"{name}_significant"]:
            return "a significant increase: did not beat the baseline"
        return "not a significant reduction: did not beat the baseline"

    binary = (
        f"binary rate {_pct(row['binary_actual'])} against {_pct(row['binary_expected'])} expected "
        f"(difference {100 * row['binary_difference']:+.1f} pp, {level} CI "
        f"{100 * row['binary_difference_low']:+.1f} to {100 * row['binary_difference_high']:+.1f}; "
        f"{p_name} = {_p(row[f'binary_{p_column}'])}), {verdict('binary')}"
    )
    frequency = (
        f"reoffences per offender {row['frequency_actual']:.2f} against {row['frequency_expected']:.2f} expected "
        f"(ratio {row['frequency_ratio']:.2f}, {level} CI {row['frequency_ratio_low']:.2f} to "
        f"{row['frequency_ratio_high']:.2f}; {p_name} = {_p(row[f'frequency_{p_column}'])}), {verdict('frequency')}"
    )
    return f"{who} ({row['cohort_size']:,} released): {binary}; {frequency}."


def _p(value: float) -> str:
    if value is None or math.isnan(value):
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"
