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
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import special, stats

from ..cohort import apply_filters, check_cohorts_present, check_values_present, with_cohort
from ..errors import PROBLEM_SCHEMA, DataError, UsageError, problem_row, single_problem
from ..intervals import normal_quantile
from ..measure import MeasureParams, measured_releases, per_release, proven_reoffences, run_metadata
from ..report.multiple import DESCRIPTION, METHODS, MultipleTesting
from ..report.verdict import Verdict, interval_confidence, interval_label
from ..run_warnings import RunWarning
from ..sums import ordered_sum
from ..validate import ValidatedInputs, check_covariate_values, file_rows_of, release_file_rows
from .adjusted_models import CountModel, FittedModel, fit_binary, fit_count
from .adjusted_score import national_shift, score_groups
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
from .rows import AdjustedOthersRow, AdjustedRow
from .sensitivity import E_VALUE_NOTE, e_value_columns

UnseenPolicy = Literal["error", "pool"]
RelativeTo = Literal["baseline", "others"]
REFERENCES = ("baseline", "others")
COUNT_MODELS = ("negbin", "poisson")
UNSEEN_POLICIES = ("error", "pool")
OUTCOMES = ("reoffended", "reoffences")
SORT_TAIL = ("offender_id", "release_date")
SMALL_GROUP = 30
REFERENCE_OTHERS = (
    "each unit against the other units of its current cohort: (actual - expected) of the unit minus (actual - "
    "expected) of the rest, both under the baseline model; the payment mechanism used the baseline alone"
)


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
    multiple_testing: MultipleTesting = "holm"
    covariate_forms: Mapping[str, CovariateForm] = field(default_factory=dict)
    # what each unit is judged against: the baseline model (the mechanism), or the other units' shift from it
    relative_to: RelativeTo = "baseline"

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
        if self.multiple_testing not in METHODS:
            raise UsageError(f"--multiple-testing must be one of {', '.join(METHODS)}, not {self.multiple_testing!r}")
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
        if self.relative_to not in REFERENCES:
            raise UsageError(f"--relative-to must be one of {', '.join(REFERENCES)}, not {self.relative_to!r}")
        strays = sorted(set(self.covariate_forms) - set(self.covariates))
        if strays:
            raise UsageError(f"--covariate-form names {', '.join(strays)}, which is not in --covariates")

    @property
    def group_columns(self) -> tuple[str, ...]:
        """Provider columns then the cohort: one comparison row per combination."""
        return (*(c for c in self.by if c != "cohort"), "cohort")

    @property
    def row_class(self) -> type[AdjustedRow]:
        """The rows' schema: against the other units the rows also say who the rest were and how far they moved."""
        return AdjustedOthersRow if self.relative_to == "others" else AdjustedRow

    def as_dict(self) -> dict[str, Any]:
        values = {k: v for k, v in asdict(self).items() if k != "measure"}
        if self.relative_to == "baseline":  # the mechanism's own comparison: its parameters as they always were
            del values["relative_to"]
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
        values["interval_confidence"] = interval_confidence(self.alpha, self.sided)
        values["interval"] = interval_label(self.alpha, self.sided)
        values["multiple_testing_method"] = DESCRIPTION[self.multiple_testing]
        return values


@dataclass
class AdjustedResult:
    """One row per provider and current cohort; the baseline models' summaries; unseen levels pooled."""

    rows: pl.DataFrame
    models: dict[str, Any]
    metadata: dict[str, Any]
    params: AdjustedParams
    unseen: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[RunWarning] = field(default_factory=list)
    # covariates outside the baseline's range, per unit (calibration.range_warnings): for the analyst, never
    # published (they quote one person's value and may name a withheld unit)
    extrapolation: list[RunWarning] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.params.row_class.check(self.rows, "compare adjusted", self.params.group_columns)

    def typed_rows(self) -> list[AdjustedRow]:
        return self.params.row_class.of(self.rows, self.params.group_columns)

    def all_significant(self) -> bool:
        """Every unit beat the baseline on both measures after the multiple-testing adjustment: the one rule
        of ``--fail-unless-significant`` (the CLI and the bulletin both ask this)."""
        rows = self.rows
        return rows.height > 0 and bool(
            (rows["binary_significant_adjusted"] & rows["reoffences_per_offender_significant_adjusted"])
            .fill_null(False)
            .all()
        )

    def verdict_counts(self) -> pl.DataFrame:
        """Per current cohort: units, index releases (``cohort_size``) and how many had each adjusted verdict on
        each measure."""
        exprs: list[pl.Expr] = [
            pl.len().cast(pl.Int64).alias("units"),
            pl.col("cohort_size").sum().cast(pl.Int64).alias("cohort_size"),
        ]
        for name in ("binary", "reoffences_per_offender"):
            verdict = pl.col(f"{name}_verdict_adjusted")
            exprs += [
                (verdict == Verdict.REDUCTION.value).sum().cast(pl.Int64).alias(f"{name}_reduction"),
                (verdict == Verdict.INCREASE.value).sum().cast(pl.Int64).alias(f"{name}_increase"),
                (pl.col(f"{name}_verdict") == Verdict.REDUCTION.value)
                .sum()
                .cast(pl.Int64)
                .alias(f"{name}_reduction_unadjusted"),
            ]
        return self.rows.group_by("cohort").agg(exprs).sort("cohort")

    def all_warnings(self) -> list[RunWarning]:
        """The model's warnings and the covariates outside the baseline's range; the national shift's, when
        :func:`shift_is_warned`, is worded above the core (:func:`reoffend.runs.adjusted.adjusted_warnings`). The
        bulletin prints only :attr:`warnings`: the range notes quote one person's value and may name a withheld
        unit."""
        return [*self.warnings, *self.extrapolation]

    def json_sections(self) -> dict[str, Any]:
        """The JSON document's sections beyond the rows, as computed; the rendering layer adds the headline
        (:func:`reoffend.report.views.adjusted_extra_json`)."""
        return {
            "baseline_models": self.models,
            "unseen_levels": self.unseen,
            "sensitivity": {
                "e_value": E_VALUE_NOTE,
                "e_value_interval_confidence": interval_confidence(self.params.alpha, self.params.sided),
            },
            "warnings": self.all_warnings(),
        }


def shift_is_warned(shift: Mapping[str, Any], relative_to: RelativeTo = "baseline") -> bool:
    """Whether the shift all units share is a warning: significant on either measure, over two units or more,
    against the baseline. Units then 'beat the baseline' (or fail to) together, whatever each did. Against the
    other units (``relative_to="others"``) each unit is already judged net of the rest's shift, so the shift is
    then a sentence, not a warning. The warning is worded by the run (:mod:`reoffend.runs.adjusted`)."""
    if relative_to == "others" or shift.get("units", 0) < 2:
        return False
    return any(shift.get(f"{c}_significant") for c in ("binary_difference_pp", "reoffences_per_offender_difference"))


SHIFT_MEASURES = (
    # (the shift's column prefix, the rows' difference column, its scale to a proportion or per offender)
    ("binary_shift_pp", "binary_difference_pp", 100.0),
    ("reoffences_per_offender_shift", "reoffences_per_offender_difference", 1.0),
)


def shift_of_rows(rows: pl.DataFrame, params: AdjustedParams) -> pl.DataFrame:
    """Per current cohort, the units of ``rows`` together against the baseline model: the national shift
    (:func:`reoffend.compare.adjusted_score.national_shift`) from the units' own published figures, so that it can
    be said of the units a publication shows (the bulletin's withheld units left out, and nothing about them
    derivable from it).

    Each unit's outcome variance is recovered from its row: ``(se² − se_parameters²) n²`` (the test's variance less
    the parameter part when ``--parameter-uncertainty`` added it), so the shift is tested as ``national_shift``
    tests it without that option, on the outcome variance, at the units' sidedness, with the interval at their
    level (the pooled expectation's parameter variance needs the cross terms between units, which the rows do not
    hold), its interval clipped as the units' are to an actual rate of at least 0 (binary: at most 1). Against the
    baseline only (``relative_to="baseline"``: against the others each row's difference is already net of a shift).
    """
    if params.relative_to != "baseline":  # the rows' se and expectations then hold the rest's shift: a wrong sum
        raise UsageError("the shift of the units' rows is against the baseline only (relative_to='baseline')")
    confidence = interval_confidence(params.alpha, params.sided)
    z_crit = normal_quantile(confidence)
    n = pl.col("cohort_size").cast(pl.Float64)
    aggregations: list[pl.Expr] = [
        pl.len().cast(pl.Int64).alias("units"),
        pl.col("cohort_size").sum().alias("releases"),
    ]
    for prefix, difference, scale in SHIFT_MEASURES:
        measure = difference.removesuffix("_difference_pp").removesuffix("_difference")
        excess = pl.col(difference) / scale * n  # actual - expected, summed over the unit's releases
        se = pl.col(f"{difference}_se") / scale
        parameter = pl.col(f"{measure}_expected_se_parameters") ** 2 if params.parameter_uncertainty else pl.lit(0.0)
        variance = (se**2 - parameter).clip(lower_bound=0.0) * n**2
        expected = pl.col(f"{measure}_expected") * n  # the unit's expected sum
        aggregations += [
            ordered_sum(excess).alias(f"_{prefix}_excess"),
            ordered_sum(variance).alias(f"_{prefix}_variance"),
            ordered_sum(expected).alias(f"_{prefix}_expected"),
        ]
    per_cohort = rows.group_by("cohort", maintain_order=True).agg(aggregations).sort("cohort")
    columns: list[pl.Expr] = []
    total = pl.col("releases").cast(pl.Float64)
    for prefix, _difference, scale in SHIFT_MEASURES:
        excess, variance = pl.col(f"_{prefix}_excess"), pl.col(f"_{prefix}_variance")
        shift = excess / total
        half = z_crit * variance.sqrt() / total
        floor = -pl.col(f"_{prefix}_expected") / total  # an actual rate of at least 0
        ceiling = (total - pl.col(f"_{prefix}_expected")) / total if prefix == "binary_shift_pp" else pl.lit(math.inf)
        z = excess / variance.sqrt()
        p_two = pl.when(variance > 0).then(
            z.abs().map_batches(lambda v: pl.Series(2 * stats.norm.sf(v.to_numpy())), return_dtype=pl.Float64)
        )
        p = p_two / 2 if params.sided == "one" else p_two
        columns += [
            (scale * shift).alias(prefix),
            (scale * pl.max_horizontal(shift - half, floor)).alias(f"{prefix}_low"),
            (scale * pl.min_horizontal(shift + half, ceiling)).alias(f"{prefix}_high"),
            p.alias(f"{prefix}_p"),
            (p < params.alpha).fill_null(False).alias(f"{prefix}_significant"),
        ]
    return per_cohort.select("cohort", "units", "releases", *columns)


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
    file_rows = release_file_rows(inputs.releases)
    return compare_adjusted(frame, params, metadata=metadata, source=inputs.names["releases"], file_rows=file_rows)


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
                f"{item['current_releases']:,} current release{'' if item['current_releases'] == 1 else 's'} "
                "but never in the baseline, so the baseline "
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


# ----------------------------------------------------------------------------------------- comparison
def compare_adjusted(
    frame: pl.DataFrame,
    params: AdjustedParams,
    *,
    metadata: Mapping[str, Any] | None = None,
    source: str = "releases",
    file_rows: pl.LazyFrame | None = None,
) -> AdjustedResult:
    """Fit on the baseline cohorts of ``frame``, score the current cohorts, compare per provider and cohort.

    ``frame`` has one row per index release with ``cohort``, the ``by`` columns, the covariates, the
    baseline-filter columns, ``reoffended`` and ``reoffences`` (as from :func:`adjusted_releases`).
    """
    notes: list[RunWarning] = []
    baseline, current, cohorts = _split(frame, params, source)
    # a fixed row order, so that every sum runs in the same order whatever order the frame came in
    baseline = baseline.sort(["cohort", *SORT_TAIL], nulls_last=True, maintain_order=True)
    _check_nulls(baseline, current, params, source, file_rows)
    encoded = _encode(baseline, params.covariates, params.covariate_forms, source)
    notes.extend(RunWarning("spline-knots", c.note, subjects=[c.column]) for c in encoded if c.note)
    encoded, unseen = _unseen_levels(current, encoded, params.unseen, source)
    notes += _covariate_warnings(encoded, unseen)
    terms = term_names(encoded)
    providers = [c for c in params.by if c != "cohort"]
    binary, count, calibration_table_by = _fit_baseline(baseline, encoded, terms, providers, params, source, notes)
    # beside the other notes, not among them: they quote the baseline's extremes (one person's value) and name
    # units, which may be withheld in a publication (the bulletin prints result.warnings, not these)
    extrapolation = range_warnings(current, encoded, providers)

    current = current.sort([*params.group_columns, *SORT_TAIL], nulls_last=True, maintain_order=True)
    rows, shift = _score_current(current, encoded, binary, count, params)
    notes += _small_comparisons_warnings(rows)
    models = {
        "binary": binary.summary,
        "frequency": count.summary,
        "calibration_by": calibration_table_by,
        "design": _design_summary(encoded, terms, params, baseline, current, cohorts),
    }
    meta = dict(metadata or {})
    meta.update(
        {
            "baseline_cohorts": list(params.baseline),
            "baseline_releases": baseline.height,
            "current_cohorts": cohorts,
            "current_releases": current.height,
            "significance_level": params.alpha,
            "national_shift": shift,
        }
    )
    if params.relative_to == "others":  # the mechanism's own runs keep their metadata as they always were
        meta["reference"] = REFERENCE_OTHERS
    return AdjustedResult(
        rows=rows,
        models=models,
        metadata=meta,
        params=params,
        unseen=unseen,
        warnings=notes,
        extrapolation=extrapolation,
    )


def _covariate_warnings(encoded: Sequence[Covariate], unseen: Sequence[Mapping[str, Any]]) -> list[RunWarning]:
    """A warning for each categorical covariate with a single level in the baseline (it adjusts for nothing),
    then one for each current level the baseline never saw (pooled, :func:`_unseen_levels`)."""
    notes = [
        RunWarning(
            "constant-covariates",
            f"covariate {covariate.column} has the single level {covariate.levels[0]!r} in the baseline "
            "and adjusts for nothing",
            subjects=[covariate.column],
        )
        for covariate in encoded
        if covariate.kind == "categorical" and len(covariate.levels) == 1
    ]
    notes += [
        RunWarning(
            "unseen-level",
            f"{item['column']}={item['value']!r} ({item['current_releases']} current releases) is not in the "
            f"baseline; pooled as {item['scored_as']}",
            subjects=[f"{item['column']}={item['value']}"],
        )
        for item in unseen
    ]
    return notes


def _fit_baseline(
    baseline: pl.DataFrame,
    encoded: Sequence[Covariate],
    terms: list[str],
    providers: list[str],
    params: AdjustedParams,
    source: str,
    notes: list[RunWarning],
) -> tuple[FittedModel, FittedModel, Any]:
    """The baseline's two models (the binary logit and the count model) and their calibration by provider; the
    models' and the calibration bands' warnings are added to ``notes``."""
    X_base = design_matrix(baseline, encoded)
    _check_rank(X_base, terms, source)
    binary = fit_binary(X_base, baseline.get_column("reoffended").cast(pl.Float64).to_numpy(), terms, notes)
    count = fit_count(
        X_base, baseline.get_column("reoffences").cast(pl.Float64).to_numpy(), terms, params.count_model, notes
    )
    calibration_table_by = calibration(
        baseline,
        encoded,
        providers,
        _baseline_predictions(X_base, baseline, binary, count),
        normal_quantile(params.measure.confidence),
    )
    notes.extend(band_warnings(calibration_table_by, params.measure.confidence))
    return binary, count, calibration_table_by


def _score_current(
    current: pl.DataFrame,
    encoded: Sequence[Covariate],
    binary: FittedModel,
    count: FittedModel,
    params: AdjustedParams,
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The comparison rows (the current cohorts scored by the baseline models, per provider and cohort, with
    their E-values, in the declared column order) and the national shift every unit shares."""
    X_current = design_matrix(current, encoded)
    rows = score_groups(current, X_current, list(params.group_columns), binary, count, params)
    shift = {"units": rows.height, **national_shift(current, X_current, binary, count, params)}
    del X_current
    rows = rows.with_columns(
        *(
            series
            for name in ("binary", "reoffences_per_offender")
            for series in e_value_columns(
                rows[f"{name}_ratio"], rows[f"{name}_ratio_low"], rows[f"{name}_ratio_high"], name
            )
        )
    )
    # the declared order: with --relative-to others, who the rest were comes after the E-values
    return rows.select(*params.group_columns, *params.row_class.columns()), shift


def _small_comparisons_warnings(rows: pl.DataFrame) -> list[RunWarning]:
    """A warning when some comparisons have fewer than :data:`SMALL_GROUP` releases (rough normal intervals)."""
    small = int((rows["cohort_size"] < SMALL_GROUP).sum())
    if not small:
        return []
    return [
        RunWarning(
            "small-comparisons",
            f"{small} of {rows.height} comparisons have fewer than {SMALL_GROUP} releases: the normal "
            "approximation behind their intervals and p-values is rough",
            counts={"comparisons": small, "of": rows.height, "threshold": SMALL_GROUP},
        )
    ]


def _design_summary(
    encoded: Sequence[Covariate],
    terms: list[str],
    params: AdjustedParams,
    baseline: pl.DataFrame,
    current: pl.DataFrame,
    cohorts: list[str],
) -> dict[str, Any]:
    """The models' design in the JSON: covariates, terms, the cohorts and releases fitted and scored, and the
    variance the tests use."""
    return {
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
    }


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
    check_cohorts_present(params.baseline, present, source, "--baseline", params.measure.period)
    check_cohorts_present(params.current or (), present, source, "--current", params.measure.period)
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


def _check_nulls(
    baseline: pl.DataFrame,
    current: pl.DataFrame,
    params: AdjustedParams,
    source: str,
    file_rows: pl.LazyFrame | None = None,
) -> None:
    """A missing covariate is a data error (65); with ``file_rows`` the first releases missing it are named by
    their row in the file (issue 11), otherwise one problem per covariate and part gives the count."""
    records = []
    total = 0
    for part, frame in (("baseline", baseline), ("current", current)):
        nulls = frame.select(pl.col(list(params.covariates)).null_count()).row(0, named=True)
        for column in params.covariates:
            if not nulls[column]:
                continue
            message = (
                f"covariate {column} is empty in {nulls[column]:,} {part} index "
                f"release{'' if nulls[column] == 1 else 's'}; "
                "the model needs a value for every release (fill it, or choose other covariates)"
            )
            rows = file_rows_of(frame.filter(pl.col(column).is_null()), file_rows)
            if rows:
                records += [problem_row(source, column, "missing-covariate", message, row=r) for r in rows]
                total += nulls[column]
            else:
                records.append(problem_row(source, column, "missing-covariate", message))
                total += 1
    if records:
        raise DataError(pl.DataFrame(records, schema=PROBLEM_SCHEMA), {"missing-covariate": total})
