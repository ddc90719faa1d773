"""Power and minimum detectable effect (docs/comparisons.md §4; formulas in docs/power.md).

Before a contract is signed: which reduction could cohorts of these sizes detect, and how large must a
cohort be to detect a given reduction?

Both measures use a variance-stabilising transform, so one normal power calculation serves both:

* binary rate ``p``: ``φ = 2·asin(√p)`` has variance ``1/n`` (Cohen's h; what
  ``statsmodels.stats.power.NormalIndPower`` with ``proportion_effectsize`` computes);
* events per offender ``μ`` (events per 100 / 100) with dispersion ``D = variance / mean`` (``D = 1``
  Poisson, ``D > 1`` over-dispersed, the quasi-Poisson or negative binomial approximation at the baseline
  mean): ``φ = 2·√(μ / D)`` has variance ``1/n`` (delta method: ``Var √x̄ ≈ D / (4n)``).

With ``s = √(1/n_current + 1/n_baseline)`` a test at level ``alpha`` has power ``power`` against an effect
``h = φ_baseline - φ_current`` when ``h / s = d``, where ``d = z_{1-alpha} + z_{power}`` one-sided and, two-sided,
the root of ``Φ(d - z_{1-alpha/2}) + Φ(-d - z_{1-alpha/2}) = power`` (found by Newton's method).

The core is pure: numbers in, a :class:`PowerResult` out.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Literal

from ..errors import UsageError, single_problem
from ..lazy_import import lazy_module
from ..ndtr import ndtr_scalar
from ..report.schema import ResultSchemaError
from ..run_warnings import RunWarning
from .rows import PowerRow

if TYPE_CHECKING:
    import polars as pl
else:
    pl = lazy_module("polars")

if TYPE_CHECKING:
    from ..measure import MeasureParams
    from ..validate import ValidatedInputs

Measure = Literal["binary", "frequency"]
Sided = Literal["one", "two"]

RESULT_COLUMNS = PowerRow.columns()  # declared once, with dtypes, in reoffend/compare/rows.py


@dataclass(frozen=True)
class PowerParams:
    alpha: float = 0.05
    power: float = 0.8
    sided: Sided = "one"

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise UsageError(f"alpha must be between 0 and 1, not {self.alpha}")
        if not 0 < self.power < 1:
            raise UsageError(f"power must be between 0 and 1, not {self.power}")
        if self.sided not in ("one", "two"):
            raise UsageError(f"sided must be 'one' or 'two', not {self.sided!r}")
        if self.power <= (self.alpha if self.sided == "one" else self.alpha / 2):
            raise UsageError(f"power ({self.power}) must exceed the test's level ({self.alpha}, {self.sided}-sided)")

    def as_dict(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "power": self.power, "sided": self.sided}


@dataclass(frozen=True)
class Baseline:
    """The baseline of one measure: rate (binary, 0..1) or events per 100 (frequency) and its dispersion."""

    measure: Measure
    value: float
    dispersion: float = 1.0

    def __post_init__(self) -> None:
        if self.measure == "binary":
            if not 0 < self.value < 1:
                raise UsageError(f"the baseline rate must be strictly between 0 and 1 (0% and 100%), not {self.value}")
        elif self.measure == "frequency":
            if not (math.isfinite(self.value) and self.value > 0):
                raise UsageError(f"the baseline events per 100 must be a positive number, not {self.value}")
            if not (math.isfinite(self.dispersion) and self.dispersion > 0):
                raise UsageError(f"the dispersion (variance/mean) must be a positive number, not {self.dispersion}")
        else:
            raise UsageError(f"measure must be 'binary' or 'frequency', not {self.measure!r}")

    @property
    def per_100(self) -> float:
        return 100 * self.value if self.measure == "binary" else self.value


@dataclass
class PowerResult:
    """The rows of a power calculation as plain dicts (:data:`RESULT_COLUMNS`), so that `reoffend power` can
    write them without polars (issue 30); :attr:`rows` is the same as a frame, checked against :class:`PowerRow`."""

    records: list[dict[str, Any]]
    params: PowerParams
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[RunWarning] = field(default_factory=list)

    def __post_init__(self) -> None:
        for record in self.records:
            if tuple(record) != RESULT_COLUMNS:
                raise ResultSchemaError(f"internal error: power rows do not match PowerRow: {list(record)}")

    @functools.cached_property
    def rows(self) -> pl.DataFrame:
        """The records as a frame of :class:`PowerRow`'s columns and dtypes."""
        frame = pl.DataFrame(self.records, schema=pl.Schema(PowerRow.schema()))
        PowerRow.check(frame, "power")
        return frame

    def typed_rows(self) -> list[PowerRow]:
        return [PowerRow(**record) for record in self.records]


# ------------------------------------------------------------------------------------------- the maths
# Plain Python floats (math, statistics.NormalDist): `reoffend power` needs no numpy or scipy, whose import was
# most of its start-up (issue 30). Elementwise float arithmetic is the same IEEE arithmetic numpy did.
def normal_cdf(x: float) -> float:
    """Φ(x): :func:`reoffend.ndtr.ndtr_scalar`, Cephes' ``ndtr`` in plain Python floats, the bits of
    ``scipy.special.ndtr`` that this module used before it dropped scipy (one Φ for every p-value and power)."""
    return ndtr_scalar(x)


def standardised_effect(params: PowerParams) -> float:
    """``d``: the effect, in standard errors of the difference, that the test detects with the given power."""
    dist = NormalDist()
    z_power = dist.inv_cdf(params.power)
    if params.sided == "one":
        return dist.inv_cdf(1 - params.alpha) + z_power
    crit = dist.inv_cdf(1 - params.alpha / 2)
    d = crit + z_power
    for _ in range(50):  # Newton on f(d) = Φ(d - c) + Φ(-d - c) - power, increasing in d > 0
        f = normal_cdf(d - crit) + normal_cdf(-d - crit) - params.power
        slope = _pdf(d - crit) - _pdf(-d - crit)
        step = f / slope
        d = d - step
        if abs(step) < 1e-14:
            break
    return d


def _pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _transform(baseline: Baseline, value_per_person: float) -> float:
    """φ of the variance-stabilising transform, for a rate (0..1) or events per person."""
    if baseline.measure == "binary":
        return 2 * math.asin(math.sqrt(value_per_person))
    return 2 * math.sqrt(value_per_person / baseline.dispersion)


def _inverse(baseline: Baseline, phi: float) -> float:
    """The rate (0..1) or events per person of φ; NaN where φ < 0 (no such reduction exists)."""
    if not phi >= 0:
        return math.nan
    if baseline.measure == "binary":
        sine = math.sin(phi / 2)
        return sine * sine
    half = phi / 2
    return baseline.dispersion * (half * half)


def _per_person(baseline: Baseline) -> float:
    return baseline.value if baseline.measure == "binary" else baseline.value / 100


def minimum_detectable(
    baseline: Baseline, current_sizes: Sequence[int], baseline_sizes: Sequence[int], params: PowerParams
) -> PowerResult:
    """The smallest reduction detectable with the given power, for each (current size, baseline size) pair.

    ``baseline_sizes`` is one size for all or one per current size. A reduction that would need a rate
    below 0 is null (the cohorts are too small to detect any reduction from this baseline).
    """
    n1, n0 = _sizes(current_sizes, baseline_sizes)
    d = standardised_effect(params)
    h = [d * math.sqrt(1 / a + 1 / b) for a, b in zip(n1, n0, strict=True)]
    phi0 = _transform(baseline, _per_person(baseline))
    current = [_inverse(baseline, phi0 - effect) for effect in h]
    result = power_records(baseline, params, "reduction", n1, n0, current, h)
    warnings = []
    if any(record["reduction_per_100"] is None for record in result):
        warnings.append(
            RunWarning(
                "no-detectable-reduction",
                "some cohort sizes are too small to detect any reduction from this baseline with this power "
                "(the reduction would take the rate below zero)",
            )
        )
    return PowerResult(result, params, warnings=warnings)


def needed_size(
    baseline: Baseline,
    reductions_per_100: Sequence[float],
    baseline_size: int | None,
    params: PowerParams,
    ratio: float = 1.0,
) -> PowerResult:
    """The current cohort size needed to detect each reduction (in points per 100) with the given power.

    Without ``baseline_size`` both cohorts are solved together, the current one ``ratio`` times the baseline
    (1: the same size; ``1/n_current + 1/n_baseline = (1 + 1/ratio) / n_baseline``, as statsmodels'
    ``NormalIndPower.solve_power`` with its ``ratio = nobs2 / nobs1 = 1/ratio``); each size is rounded up, so the
    power is at least the one asked for. With ``baseline_size`` the baseline is fixed (already observed) and
    only the current size is solved, which is impossible (null) when the baseline alone is too small:
    ``1/n_baseline >= (h/d)²``.
    """
    if not (math.isfinite(ratio) and ratio > 0):
        raise UsageError(f"the allocation ratio (current / baseline size) must be a positive number, not {ratio}")
    reductions = _reductions(baseline, reductions_per_100)
    if baseline_size is not None and baseline_size < 1:
        raise UsageError("the baseline cohort size must be at least 1")
    current = [_per_person(baseline) - reduction / 100 for reduction in reductions]
    phi0 = _transform(baseline, _per_person(baseline))
    h = [phi0 - _transform(baseline, value) for value in current]
    d = standardised_effect(params)
    variance = [(effect / d) * (effect / d) for effect in h]  # the largest 1/n1 + 1/n0 that still gives the power
    n1: list[float]
    if baseline_size is None:
        n0 = [float(math.ceil((1 + 1 / ratio) / v - 1e-9)) for v in variance]
        n1 = [float(math.ceil(ratio * (1 + 1 / ratio) / v - 1e-9)) for v in variance]
    else:
        rooms = [v - 1 / baseline_size for v in variance]
        n1 = [float(math.ceil(1 / room - 1e-9)) if room > 0 else math.nan for room in rooms]
        n0 = [float(baseline_size)] * len(n1)
    solved_for = "cohort_size" if baseline_size is None else "current_size"
    rows = power_records(baseline, params, solved_for, n1, n0, current, h)
    warnings = []
    if any(record["current_size"] is None for record in rows):
        warnings.append(
            RunWarning(
                "baseline-too-small",
                f"a baseline cohort of {baseline_size} is too small to detect some of these reductions with this "
                "power, however large the current cohort",
            )
        )
    return PowerResult(rows, params, warnings=warnings)


def power_of(params: PowerParams, effect: Sequence[float], spread: Sequence[float]) -> list[float]:
    """The chance that the test at ``params``' level detects an effect ``h`` (on the transformed scale) with
    standard error ``s = √(1/n_current + 1/n_baseline)``: one-sided ``Φ(h/s − z₁₋α)``; two-sided
    ``Φ(h/s − z₁₋α/₂) + Φ(−h/s − z₁₋α/₂)`` (either tail rejects), as ``NormalIndPower.power``."""
    dist = NormalDist()
    ratios = [h / s for h, s in zip(effect, spread, strict=True)]
    if params.sided == "one":
        crit = dist.inv_cdf(1 - params.alpha)
        return [normal_cdf(r - crit) for r in ratios]
    crit = dist.inv_cdf(1 - params.alpha / 2)
    return [normal_cdf(r - crit) + normal_cdf(-r - crit) for r in ratios]


def achieved_power(
    baseline: Baseline,
    current_sizes: Sequence[int],
    baseline_sizes: Sequence[int],
    reductions_per_100: Sequence[float],
    params: PowerParams,
) -> PowerResult:
    """The power to detect each reduction with each (current size, baseline size) pair: "what power do I have?"

    One row per pair and reduction (pairs first), ``solved_for = "power"`` and ``power`` the achieved power
    (``params.power`` plays no part). Same transform and test as :func:`minimum_detectable`, so at the minimum
    detectable reduction the achieved power is ``params.power`` (a tested identity).
    """
    pair_n1, pair_n0 = _sizes(current_sizes, baseline_sizes)
    each_reduction = _reductions(baseline, reductions_per_100)
    n1 = [n for n in pair_n1 for _ in each_reduction]
    n0 = [n for n in pair_n0 for _ in each_reduction]
    reductions = each_reduction * len(pair_n1)
    current = [_per_person(baseline) - reduction / 100 for reduction in reductions]
    phi0 = _transform(baseline, _per_person(baseline))
    h = [phi0 - _transform(baseline, value) for value in current]
    rows = power_records(baseline, params, "power", n1, n0, current, h)
    spread = [math.sqrt(1 / a + 1 / b) for a, b in zip(n1, n0, strict=True)]
    for record, power in zip(rows, power_of(params, h, spread), strict=True):
        record["power"] = power
    return PowerResult(rows, params)


def power_curve(
    baseline: Baseline, current_size: int, baseline_size: int, params: PowerParams, points: int = 101
) -> pl.DataFrame:
    """Power against the reduction, from 0 to just below the baseline (``points`` evenly spaced), for one pair
    of sizes: what ``power --plot`` draws. Columns ``reduction_per_100`` and ``power``."""
    top = baseline.per_100 * (1 - 1e-6)
    grid = _linspace(top, points)
    phi0 = _transform(baseline, _per_person(baseline))
    h = [phi0 - _transform(baseline, _per_person(baseline) - value / 100) for value in grid]
    spread = math.sqrt(1 / current_size + 1 / baseline_size)
    return pl.DataFrame({"reduction_per_100": grid, "power": power_of(params, h, [spread] * len(h))})


def _linspace(top: float, points: int) -> list[float]:
    """``points`` evenly spaced values from 0 to ``top``, as ``numpy.linspace(0.0, top, points)``: ``i * step``
    with the last one exactly ``top``."""
    if points == 1:
        return [0.0]
    step = top / (points - 1)
    return [index * step for index in range(points - 1)] + [top]


def _reductions(baseline: Baseline, reductions_per_100: Sequence[float]) -> list[float]:
    """Reductions in points per 100, each positive and below the baseline (a usage error otherwise)."""
    reductions = [float(value) for value in reductions_per_100]
    if not reductions:
        raise UsageError("give at least one reduction")
    if any(not math.isfinite(value) or value <= 0 for value in reductions):
        raise UsageError("a reduction must be a positive number of points per 100")
    if any(value >= baseline.per_100 for value in reductions):
        raise UsageError(
            f"a reduction of {max(reductions):g} per 100 is not below the baseline of {baseline.per_100:g} per 100"
        )
    return reductions


def _sizes(current_sizes: Sequence[int], baseline_sizes: Sequence[int]) -> tuple[list[float], list[float]]:
    n1 = [float(size) for size in current_sizes]
    n0 = [float(size) for size in baseline_sizes]
    if not n1 or not n0:
        raise UsageError("give at least one cohort size")
    if len(n0) == 1:
        n0 = [n0[0]] * len(n1)
    if len(n1) == 1 and len(n0) > 1:
        n1 = [n1[0]] * len(n0)
    if len(n1) != len(n0):
        raise UsageError("give one baseline size, or one per current size")
    if any(n < 1 for n in n1) or any(n < 1 for n in n0):
        raise UsageError("cohort sizes must be at least 1")
    return n1, n0


def _number(value: float) -> float | None:
    """A float cell: NaN is null (no such reduction, no such cohort)."""
    return None if math.isnan(value) else value


def power_records(
    baseline: Baseline,
    params: PowerParams,
    solved_for: str,
    n1: Sequence[float],
    n0: Sequence[float],
    current: Sequence[float],
    h: Sequence[float],
) -> list[dict[str, Any]]:
    """One dict per row, in :data:`RESULT_COLUMNS` order: sizes whole numbers and NaN null."""
    base = baseline.per_100
    records = []
    for current_size, baseline_size, current_rate, effect in zip(n1, n0, current, h, strict=True):
        current_per_100 = 100 * current_rate
        reduction = base - current_per_100
        records.append(
            {
                "measure": "binary" if baseline.measure == "binary" else "events_per_100",
                "solved_for": solved_for,
                "baseline_per_100": base,
                "dispersion": None if baseline.measure == "binary" else baseline.dispersion,
                "alpha": params.alpha,
                "power": params.power,
                "sided": params.sided,
                "current_size": None if math.isnan(current_size) else int(current_size),
                "baseline_size": None if math.isnan(baseline_size) else int(baseline_size),
                "reduction_per_100": _number(reduction),
                "reduction_relative_pct": _number(100 * reduction / base),
                "current_per_100": _number(current_per_100),
                "effect_size": _number(effect),
            }
        )
    return records


# ---------------------------------------------------------------------------------------- from records
def dispersion_of(events: pl.Series) -> float | None:
    """Variance / mean of reconviction events per offender (sample variance, n - 1); null when undefined."""
    if events.len() < 2:
        return None
    values = events.cast(pl.Float64)
    mean, variance = values.mean(), values.var(ddof=1)
    if not isinstance(mean, float) or not isinstance(variance, float) or mean == 0:
        return None
    return variance / mean


# ------------------------------------------------------------------------------------------- from records
@dataclass(frozen=True)
class MeasuredBaseline:
    """A baseline cohort measured from records: what a power calculation needs from it (design: §4)."""

    cohort: str
    site: str | None
    cohort_size: int
    reoffenders: int
    binary_rate: float
    events_per_100: float
    dispersion: float | None
    metadata: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """Every field but the metadata, which the output carries apart."""
        return {item.name: getattr(self, item.name) for item in fields(self) if item.name != "metadata"}


def check_measured_baseline(
    measured: MeasuredBaseline,
    measures: Sequence[str],
    convictions_name: str,
    conviction_rows: int,
    dispersion_given: bool = False,
) -> None:
    """Invalid data (65, ``degenerate-baseline``) when the baseline cohort measured from records gives a power
    calculation nothing to work on (issue 24: a header-only convictions file was a usage error, exit 2, about a
    "baseline rate of 0.0"): a binary rate of 0% or 100%, no reconviction events, or (unless ``--dispersion``
    is given) events that do not vary, a dispersion of 0. One sentence saying why."""
    where = f"the baseline cohort {measured.cohort}" + (f" at {measured.site}" if measured.site else "")
    why = " (the convictions file has no rows)" if not conviction_rows else ""
    check = "; check the convictions file, the extract date and --exclude-offences"
    if "binary" in measures and measured.reoffenders in (0, measured.cohort_size):
        rate = "0%" if not measured.reoffenders else "100%"
        raise single_problem(
            convictions_name,
            None,
            "degenerate-baseline",
            f"{where}: {measured.reoffenders:,} of its {measured.cohort_size:,} index releases reoffended{why}, a "
            f"rate of {rate}, from which no reduction can be detected{check}",
        )
    if "frequency" in measures and not measured.events_per_100:
        raise single_problem(
            convictions_name,
            None,
            "degenerate-baseline",
            f"{where}: its {measured.cohort_size:,} index releases have no reconviction events{why}, so no "
            f"reduction in events can be detected{check}",
        )
    if "frequency" in measures and not dispersion_given and measured.dispersion == 0:
        raise single_problem(
            convictions_name,
            None,
            "degenerate-baseline",
            f"{where}: each of its {measured.cohort_size:,} index releases has the same number of reconviction "
            "events, so their dispersion (variance / mean) is 0 and no test can be based on it; give --dispersion",
        )


def measure_baseline(
    inputs: ValidatedInputs,
    measurement: MeasureParams,
    baseline: str,
    *,
    site: str | None = None,
    site_column: str = "establishment",
) -> MeasuredBaseline:
    """The baseline cohort's size, binary rate, events per 100 and their dispersion, by the measure core
    (:func:`reoffend.compare.baseline.measure_cohorts`: the one window definition). An empty cohort is
    invalid data (65), as filters leaving no releases are in every comparison: there is nothing to base a power
    calculation on."""
    from .baseline import measure_cohorts

    where = {**measurement.where, **({site_column: (site,)} if site else {})}
    mparams = replace(measurement, by=("cohort",), where=where)
    _, base, measured = measure_cohorts(
        inputs, mparams, [baseline], baseline, audit_table=True, current_option="--baseline"
    )
    if base.cohort_size == 0:  # filters leaving no releases: invalid data, as in compare adjusted (65)
        filters = "; ".join(f"{c}={','.join(v)}" for c, v in where.items())
        raise single_problem(
            inputs.names["releases"],
            None,
            "empty-baseline",
            f"the baseline cohort {baseline} has no index releases with {filters}: nothing to base the power on",
        )
    assert measured.per_release is not None  # asked for with audit_table=True
    events = measured.per_release["reconviction_events"]
    return MeasuredBaseline(
        cohort=baseline,
        site=site,
        cohort_size=base.cohort_size,
        reoffenders=base.reoffenders,
        binary_rate=base.reoffenders / base.cohort_size,
        events_per_100=100 * float(events.sum()) / base.cohort_size,
        dispersion=dispersion_of(events),
        metadata={**measured.metadata, "measure": mparams.as_dict()},
    )
