"""Sensitivity to hidden bias in words (docs/comparisons-matched.md, "Sensitivity to hidden bias").

:mod:`reoffend.compare.sensitivity` computes the E-values and the Rosenbaum bound; this module says what they
mean: a sentence per E-value and per bound, the summary a matched comparison prints under its result, and the
JSON ``sensitivity`` object with those words in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..compare.sensitivity import GAMMA_MAX

if TYPE_CHECKING:
    from ..compare.matched import MatchedResult


def e_value_sentence(what: str, estimate: float | None, limit: float | None, confidence: float = 0.95) -> str:
    """What the two E-values mean, in one sentence; the interval named with its level (``confidence``: the
    verdict's interval, 90% for a one-sided test at 5%, where the literature's convention is 95%)."""
    if estimate is None:
        return f"{what}: no E-value (no estimate)."
    text = (
        f"{what}: to explain the estimate away, an unmeasured factor would have to be associated with both "
        f"the group compared and reoffending by a risk ratio of at least {estimate:.2f} each, beyond the "
        "covariates"
    )
    interval = f"{100 * confidence:g}% interval"
    if limit is None:
        return text + "."
    if limit <= 1:
        return text + f"; the {interval} already includes no difference, so no hidden bias is needed to reach it."
    return text + f"; {limit:.2f} each would move the {interval} to include no difference."


def rosenbaum_sentence(p_no_hidden_bias: float, gamma: float | None, alpha: float) -> str:
    """What a Rosenbaum bound (:func:`reoffend.compare.sensitivity.rosenbaum_gamma`) means: how large a hidden
    bias (Gamma) the binary rate's reduction survives, or that there is no reduction to explain away."""
    if gamma is None:
        return (
            f"Even with no hidden bias the matched sets give no significant reduction in the binary rate "
            f"(one-sided p = {p_no_hidden_bias:.3f} by the randomisation test), so there is nothing for hidden bias "
            "to explain away."
        )
    if gamma >= GAMMA_MAX:
        return f"The reduction in the binary rate stays significant for any hidden bias up to Gamma = {GAMMA_MAX:g}."
    return (
        f"The reduction in the binary rate stays significant at {alpha:g} unless a hidden factor makes "
        f"the odds of being in the treated group differ by a factor of more than {gamma:.2f} between two "
        "people with the same covariates (Rosenbaum's Gamma); above that, it could be due to such bias."
    )


def _bound_meaning(bound: dict[str, Any]) -> str:
    """A bound's sentence; nothing for a cohort that was not tested (no ``p_no_hidden_bias``)."""
    if "p_no_hidden_bias" not in bound:
        return ""
    return rosenbaum_sentence(bound["p_no_hidden_bias"], bound["gamma"], bound["alpha"])


def sensitivity_summary(result: MatchedResult) -> list[str]:
    """The sensitivity of all cohorts together in words: the E-values of events per 100 and of the binary rate,
    then the Rosenbaum bound (what ``compare matched`` prints as ``sensitivity:`` lines)."""
    sensitivity = result.sensitivity
    if not sensitivity:
        return []
    pooled = result.rows.row(-1, named=True)
    confidence = float(sensitivity["e_value_interval_confidence"])  # type: ignore[arg-type]
    bounds: list[dict[str, Any]] = sensitivity["rosenbaum"]  # type: ignore[assignment]
    sentences = [
        e_value_sentence(
            "Reconviction events per 100", pooled["events_e_value"], pooled["events_e_value_interval"], confidence
        ),
        e_value_sentence(
            "Binary rate (risk ratio)", pooled["binary_e_value"], pooled["binary_e_value_interval"], confidence
        ),
        _bound_meaning(bounds[-1]),
    ]
    return [sentence for sentence in sentences if sentence]


def sensitivity_json(result: MatchedResult) -> dict[str, object]:
    """The JSON ``sensitivity`` object: the computed one, each tested cohort's bound with its ``meaning``, and
    the ``summary`` in words."""
    if not result.sensitivity:
        return result.sensitivity
    bounds: list[dict[str, Any]] = result.sensitivity["rosenbaum"]  # type: ignore[assignment]
    worded = [{**bound, "meaning": _bound_meaning(bound)} if _bound_meaning(bound) else bound for bound in bounds]
    return {**result.sensitivity, "rosenbaum": worded, "summary": sensitivity_summary(result)}
