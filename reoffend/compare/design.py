"""One covariate encoding and design matrix for every model of the comparisons.

Used by the risk-adjusted baseline's two models (``compare adjusted``, design section 3) and by the
propensity model of the matched comparison (``compare matched``, design section 2), so that a covariate
means the same thing in both. The rules (docs/comparisons-adjusted.md, "Covariate forms"):

* A **text** column (or polars Categorical/Enum) is a category: one indicator column per level except the
  reference, the most common level in the fitting data (ties: the first in text order).
* A **numeric** column (or boolean, as 0/1) enters in one of three *forms*:

  - ``linear``: the value as given (one column);
  - ``log1p``: ``log(1 + value)`` (one column; values must be 0 or more);
  - ``spline:K``: a natural cubic regression spline with ``K`` degrees of freedom, patsy's ``cr``
    basis (Wood 2006, section 4.1.2) with ``K + 1`` knots: the two boundary knots at the fitting data's minimum
    and maximum and ``K - 1`` inner knots at equally spaced quantiles of all its values, ties counted (patsy's
    ``cr(x, df=K)`` takes quantiles of the distinct values instead; pass these knots to ``cr`` to reproduce),
    centred (the basis columns have mean zero over the fitting data) so that it sits beside the
    intercept. The curve is linear beyond the boundary knots.

  The knots and the centring are fixed on the **fitting data** (the baseline cohorts; the units of the
  propensity model) and stored in :class:`Covariate`, so that scoring other data (the current cohorts)
  uses the same basis. Ties in the data can make quantile knots coincide: repeated knots are dropped and
  the degrees of freedom fall accordingly (said in the model's description); with no inner knot left the
  covariate enters linearly.

* The default form of a numeric covariate is the caller's: the risk-adjusted models use
  ``spline:4`` (:data:`DEFAULT_SPLINE_DF`), because a straight line in a count such as the number of previous
  convictions misstates the risk at both ends and shifts the verdict of providers whose mix sits there; the
  propensity model of the matched comparison keeps ``linear`` (the main-effects model of MatchIt and the
  Peterborough evaluation), overridable covariate by covariate. Booleans and numeric columns with two values
  are always linear (a curve through two points is a line).

Forms are chosen by name (``COLUMN=linear|log1p|spline:K``), never by formula code: a configuration file
can choose among these forms but cannot run anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from ..errors import UsageError, single_problem

INTERCEPT = "intercept"
OTHER = "other"
DEFAULT_SPLINE_DF = 4
MAX_SPLINE_DF = 10
FORM_KINDS = ("linear", "log1p", "spline")
FORM_HELP = "linear | log1p | spline:K (natural cubic spline with K degrees of freedom, 1 <= K <= 10)"


@dataclass(frozen=True)
class CovariateForm:
    """How a numeric covariate enters a model: ``linear``, ``log1p`` or ``spline`` with ``df`` degrees of freedom."""

    kind: Literal["linear", "log1p", "spline"]
    df: int | None = None

    def __str__(self) -> str:
        return f"spline:{self.df}" if self.kind == "spline" else self.kind


LINEAR = CovariateForm("linear")
SPLINE = CovariateForm("spline", DEFAULT_SPLINE_DF)
_FORM = re.compile(r"^(linear|log1p|spline)(?::(\d+))?$")


def parse_form(text: str, option: str = "--covariate-form") -> CovariateForm:
    """``linear``, ``log1p``, ``spline`` (the default df) or ``spline:K``; anything else is a usage error."""
    match = _FORM.match(text.strip().lower())
    if not match or (match.group(2) is not None and match.group(1) != "spline"):
        raise UsageError(f"{option}: unknown covariate form {text!r}; use {FORM_HELP}")
    if match.group(1) != "spline":
        return CovariateForm(match.group(1))  # type: ignore[arg-type]
    df = int(match.group(2)) if match.group(2) is not None else DEFAULT_SPLINE_DF
    if not 1 <= df <= MAX_SPLINE_DF:
        raise UsageError(f"{option}: spline degrees of freedom must be 1 to {MAX_SPLINE_DF}, not {df}")
    return CovariateForm("spline", df)


def parse_forms(
    items: Sequence[str] | Mapping[str, str], covariates: Sequence[str], option: str = "--covariate-form"
) -> dict[str, CovariateForm]:
    """``COLUMN=FORM`` items (or a mapping) to forms; a column that is not a covariate is a usage error."""
    pairs: list[tuple[str, str]] = []
    if isinstance(items, Mapping):
        pairs = [(str(k), str(v)) for k, v in items.items()]
    else:
        for item in items:
            for part in (p for p in item.split(",") if p.strip()):
                column, sep, form = part.partition("=")
                if not sep or not column.strip():
                    raise UsageError(f"{option}: expected COLUMN=FORM, got {part!r} (forms: {FORM_HELP})")
                pairs.append((column.strip(), form))
    forms: dict[str, CovariateForm] = {}
    for column, form in pairs:
        if column not in covariates:
            raise UsageError(
                f"{option}: {column!r} is not one of the covariates ({', '.join(covariates)}); "
                "name a column given in --covariates"
            )
        if column in forms:
            raise UsageError(f"{option}: {column!r} is given a form twice")
        forms[column] = parse_form(form, option)
    return forms


def forms_text(forms: Mapping[str, CovariateForm]) -> dict[str, str]:
    return {column: str(form) for column, form in sorted(forms.items())}


@dataclass(frozen=True)
class Covariate:
    """One covariate as fitted: its kind, form and everything fixed on the fitting data.

    Categories: ``levels`` (most common first; the first is the ``reference``) and their ``shares`` in the
    fitting data; ``pooled`` lists values scored as unseen (see :func:`pool_unseen` in the adjusted model).
    Numeric: the ``form``, the fitting data's range (``lower``, ``upper``) and, for a spline, the ``knots``
    (boundary knots included) and the centring ``constraint`` (the free basis' means over the fitting data).
    """

    column: str
    kind: Literal["numeric", "categorical"]
    levels: tuple[str, ...] = ()
    reference: str | None = None
    shares: tuple[float, ...] = ()
    pooled: tuple[str, ...] = ()
    form: CovariateForm = LINEAR
    lower: float | None = None
    upper: float | None = None
    knots: tuple[float, ...] = ()
    constraint: tuple[float, ...] = ()
    note: str | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.column

    @property
    def is_category(self) -> bool:
        return self.kind == "categorical"

    @property
    def category_levels(self) -> tuple[str, ...]:
        """The levels of a category covariate; empty for a numeric one."""
        return self.levels if self.kind == "categorical" else ()

    def term(self, level: str) -> str:
        return f"{self.column}={level}"

    @property
    def terms(self) -> list[str]:
        if self.kind == "categorical":
            return [self.term(level) for level in self.levels if level != self.reference]
        if self.form.kind == "log1p":
            return [f"log1p({self.column})"]
        if self.form.kind == "spline":
            return [f"{self.column}[spline {j + 1}]" for j in range(len(self.knots) - 1)]
        return [self.column]

    def columns(self, frame: pl.DataFrame) -> np.ndarray:
        """This covariate's columns of the design matrix for ``frame`` (rows in frame order)."""
        if self.kind == "categorical":
            return _indicator_columns(frame, self)
        values = frame.get_column(self.column).cast(pl.Float64).to_numpy()
        if self.form.kind == "log1p":
            return np.log1p(values)[:, None]
        if self.form.kind == "spline":
            return spline_basis(values, self.knots, self.constraint)
        return values[:, None]

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {"column": self.column, "kind": self.kind}
        if self.kind == "categorical":
            described["levels"] = list(self.levels)
            described["reference"] = self.reference
            described["baseline_shares"] = dict(zip(self.levels, self.shares, strict=True))
        else:
            described["form"] = str(self.form)
            described["fitting_range"] = [self.lower, self.upper]
            if self.form.kind == "spline":
                described["knots"] = list(self.knots)
                described["spline"] = (
                    "natural cubic regression spline, centred (patsy cr(x, knots=inner knots, lower_bound, "
                    "upper_bound, constraints=centring fixed on the fitting data)); linear beyond the boundary knots"
                )
            if self.note:
                described["note"] = self.note
        return described


def _indicator_columns(frame: pl.DataFrame, covariate: Covariate) -> np.ndarray:
    text = pl.col(covariate.column).cast(pl.String)
    exprs = []
    for level, share in zip(covariate.levels, covariate.shares, strict=True):
        if level == covariate.reference:
            continue
        indicator = (text == level).cast(pl.Float64)
        if covariate.pooled:
            pooled_value = (1.0 if level == OTHER else 0.0) if OTHER in covariate.levels else share
            indicator = pl.when(text.is_in(list(covariate.pooled))).then(pooled_value).otherwise(indicator)
        exprs.append(indicator.alias(covariate.term(level)))
    if not exprs:
        return np.zeros((frame.height, 0))
    return frame.select(exprs).to_numpy().astype(np.float64)


# ------------------------------------------------------------------------------------------- splines
def spline_knots(values: np.ndarray, df: int) -> np.ndarray:
    """The knots of ``cr(x, df)``: min, max and ``df - 1`` inner knots at equally spaced quantiles.

    As patsy (``np.percentile`` at ``linspace(0, 100, df + 1)[1:-1]``), except that repeated knots (ties in
    the data) are dropped instead of being an error.
    """
    lower, upper = float(values.min()), float(values.max())
    inner_q = np.linspace(0, 100, df + 1)[1:-1]
    inner = np.unique(np.percentile(values, inner_q.tolist())) if inner_q.size else np.zeros(0)
    inner = inner[(inner > lower) & (inner < upper)]
    return np.concatenate(([lower], inner, [upper]))


def _free_basis(values: np.ndarray, knots: Sequence[float] | np.ndarray) -> np.ndarray:
    from patsy import cr

    at = np.asarray(knots, dtype=np.float64)
    return np.asarray(cr(values, knots=at[1:-1], lower_bound=at[0], upper_bound=at[-1]), dtype=np.float64)


def spline_constraint(values: np.ndarray, knots: Sequence[float] | np.ndarray) -> np.ndarray:
    """The centring constraint: the free basis' column means over the fitting data (patsy's ``center``)."""
    return _free_basis(values, knots).mean(axis=0)


def spline_basis(values: np.ndarray, knots: Sequence[float], constraint: Sequence[float]) -> np.ndarray:
    """The centred natural cubic spline basis at ``values``, with knots and centring fixed beforehand."""
    from patsy import cr

    at = np.asarray(knots, dtype=np.float64)
    return np.asarray(
        cr(
            values,
            knots=at[1:-1],
            lower_bound=at[0],
            upper_bound=at[-1],
            constraints=np.asarray(constraint, dtype=np.float64)[None, :],
        ),
        dtype=np.float64,
    )


# -------------------------------------------------------------------------------------------- encoding
def encode(
    frame: pl.DataFrame,
    covariates: Sequence[str],
    forms: Mapping[str, CovariateForm] | None = None,
    *,
    default: CovariateForm = SPLINE,
    source: str = "releases",
) -> list[Covariate]:
    """Encode ``covariates`` on the fitting data ``frame``: types, reference levels, forms, knots.

    A column of another type (a date, a list) is a usage error; ``log1p`` of a negative value is a data
    error naming the column and count.
    """
    forms = dict(forms or {})
    encoded = []
    for column in covariates:
        dtype = frame.schema[column]
        if dtype.is_numeric() or dtype == pl.Boolean:
            encoded.append(_numeric(frame, column, forms.get(column), default, dtype == pl.Boolean, source))
        elif dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
            if column in forms:
                raise UsageError(
                    f"--covariate-form: {column} is a text column, entered as categories; forms apply to numeric "
                    "covariates"
                )
            counts = (
                frame.get_column(column)
                .cast(pl.String)
                .drop_nulls()
                .value_counts(name="n")
                .sort(["n", column], descending=[True, False])
            )
            levels = tuple(counts.get_column(column).to_list())
            total = counts.get_column("n").sum()
            shares = tuple(n / total for n in counts.get_column("n").to_list())
            encoded.append(Covariate(column, "categorical", levels, levels[0] if levels else None, shares))
        else:
            raise UsageError(
                f"--covariates: column {column} has type {dtype}; a covariate must be numeric, boolean or text"
            )
    return encoded


def _numeric(
    frame: pl.DataFrame,
    column: str,
    asked: CovariateForm | None,
    default: CovariateForm,
    boolean: bool,
    source: str,
) -> Covariate:
    values = frame.get_column(column).cast(pl.Float64).drop_nulls().to_numpy()
    lower = float(values.min()) if values.size else None
    upper = float(values.max()) if values.size else None
    form = asked or default
    distinct = np.unique(values).size
    if form.kind == "spline" and (boolean or distinct <= 2):
        if asked is not None:
            raise UsageError(
                f"--covariate-form: {column} takes {distinct} value(s) in the fitting data; a spline needs "
                "more than two (use linear)"
            )
        form = LINEAR
    if form.kind == "log1p":
        check_log1p(frame, column, source)
    if form.kind != "spline":
        return Covariate(column, "numeric", form=form, lower=lower, upper=upper)
    assert form.df is not None
    knots = spline_knots(values, form.df)
    note = None
    if knots.size - 1 < form.df:
        note = (
            f"{column}: ties in the fitting data leave {knots.size - 2} distinct inner knot(s), so the spline has "
            f"{knots.size - 1} degrees of freedom instead of {form.df}"
        )
    if knots.size == 2:
        return Covariate(column, "numeric", form=LINEAR, lower=lower, upper=upper, note=note)
    constraint = spline_constraint(values, knots)
    return Covariate(
        column,
        "numeric",
        form=form,
        lower=lower,
        upper=upper,
        knots=tuple(float(k) for k in knots),
        constraint=tuple(float(c) for c in constraint),
        note=note,
    )


def check_log1p(frame: pl.DataFrame, column: str, source: str) -> None:
    """``log1p`` is for counts and amounts: a negative value is a data error naming the column and count."""
    negative = int((frame.get_column(column).cast(pl.Float64) < 0).sum())
    if negative:
        raise single_problem(
            source,
            column,
            "covariate-form",
            f"covariate {column} is negative in {negative:,} index release{'' if negative == 1 else 's'}; "
            "the log1p form needs values of 0 or "
            "more (use linear or spline)",
            count=negative,
        )


def design_matrix(frame: pl.DataFrame, encoded: Sequence[Covariate]) -> np.ndarray:
    """The model matrix of ``frame``: the intercept, then each covariate's columns in order."""
    for covariate in encoded:
        if covariate.kind == "numeric" and covariate.form.kind == "log1p":
            check_log1p(frame, covariate.column, "releases")
    blocks = [np.ones((frame.height, 1))] + [covariate.columns(frame) for covariate in encoded]
    return np.ascontiguousarray(np.hstack(blocks), dtype=np.float64)


def term_names(encoded: Sequence[Covariate]) -> list[str]:
    return [INTERCEPT, *(term for covariate in encoded for term in covariate.terms)]


def outside_range(frame: pl.DataFrame, encoded: Sequence[Covariate]) -> list[dict[str, Any]]:
    """Numeric covariates of ``frame`` with values outside the fitting data's range: counts below and above."""
    found = []
    for covariate in encoded:
        if covariate.kind != "numeric" or covariate.lower is None or covariate.upper is None:
            continue
        values = frame.get_column(covariate.column).cast(pl.Float64)
        below, above = int((values < covariate.lower).sum()), int((values > covariate.upper).sum())
        if below or above:
            found.append(
                {
                    "column": covariate.column,
                    "fitting_range": [covariate.lower, covariate.upper],
                    "below": below,
                    "above": above,
                    "min": float(values.min()),  # type: ignore[arg-type]
                    "max": float(values.max()),  # type: ignore[arg-type]
                }
            )
    return found
