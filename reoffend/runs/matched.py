"""``compare matched``: one run, for the command line and the Python API (docs/comparisons-matched.md)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..compare.design import parse_forms
from ..compare.matched import MIN_TREATED, MatchedParams, MatchedResult, compare_matched, read_id_list
from ..errors import UsageError
from ..inputs import InputSpec
from ..measure import MeasureParams
from .common import Caller, Filters, Naming, columns, filters, items, keyword, load_and_warn, refuse

IdList = str | os.PathLike[str] | Iterable[str]


def treated_id_list(treated_ids: IdList | None) -> tuple[tuple[str, ...] | None, str | None]:
    """``--treated-ids``: a file of ids (``'-'``: stdin) or the ids themselves; and how the JSON names them."""
    if treated_ids is None or treated_ids == "":
        return None, None
    if isinstance(treated_ids, str | os.PathLike):
        source = os.fspath(treated_ids)
        return read_id_list(source), source
    return tuple(str(value) for value in treated_ids), "treated_ids (list)"


def matched_params(
    measurement: MeasureParams,
    *,
    covariates: str | Sequence[str] | None,
    covariate_form: Mapping[str, str] | Sequence[str] | None = None,
    treated: Filters | None = None,
    treated_ids: IdList | None = None,
    ids_releases: str = "first",
    pool: Filters | None = None,
    exact: str | Sequence[str] = "cohort",
    ratio: int = 10,
    caliper: float = 0.2,
    drop_missing: bool = False,
    bootstrap: int = 2000,
    min_treated: int | None = None,
    seed: int = 1,
    alpha: float = 0.05,
    target: float | None = None,
    pooled_target: float | None = None,
    style: str | None = None,
    multiple_testing: str = "holm",
    flag: Naming = keyword,
    given: Mapping[str, str] | None = None,
) -> MatchedParams:
    """The matched comparison's parameters: the measurement per cohort, who is treated (``treated`` filters or
    ``treated_ids``), the pool, the propensity model's covariates and the matching (docs/comparisons-matched.md).
    ``given``: the options the caller set (name -> as it names them): ``ids_releases`` without ``treated_ids``
    would do nothing, and is refused."""
    if treated and treated_ids:
        raise UsageError(f"give {flag('treated')} or {flag('treated_ids')}, not both")
    if not treated_ids:
        refuse(given or {}, ("ids_releases",), f"goes with {flag('treated_ids')} (it says which of their releases)")
    ids, ids_source = treated_id_list(treated_ids)
    covariate_names = columns(covariates, flag("covariates"))
    forms = covariate_form if isinstance(covariate_form, Mapping) else items(covariate_form)
    return MatchedParams(
        measure=replace(measurement, by=("cohort",)),
        treated=filters(treated, flag("treated")),
        treated_ids=ids,
        treated_ids_source=ids_source,
        ids_releases=ids_releases,
        pool=filters(pool, flag("pool")),
        covariates=covariate_names,
        covariate_forms=parse_forms(forms, covariate_names, flag("covariate_form")),
        exact=columns(exact, flag("exact")),
        ratio=ratio,
        caliper=caliper,
        drop_missing=drop_missing,
        bootstrap=bootstrap,
        min_treated=MIN_TREATED if min_treated is None else min_treated,
        seed=seed,
        alpha=alpha,
        target=target,
        pooled_target=pooled_target,
        style=style,
        multiple_testing=multiple_testing,  # type: ignore[arg-type]  # checked by MatchedParams
    )


@dataclass
class MatchedRun:
    """One run of ``compare matched``: the core's result (rows, balance, matches, model) and the parameters of
    the JSON (and of the evaluation report)."""

    result: MatchedResult
    parameters: dict[str, Any]


def matched_run(spec: InputSpec, params: MatchedParams, caller: Caller) -> MatchedRun:
    """Read the inputs, match and bootstrap (docs/comparisons-matched.md)."""
    inputs = load_and_warn(spec, caller, params.measure.excluded_offences)
    caller.stage(f"matching and bootstrapping ({params.bootstrap:,} replicates)")
    result = compare_matched(inputs, params)
    return MatchedRun(result, {"inputs": spec.as_dict(), **params.as_dict()})
