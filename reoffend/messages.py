"""The number words of every message: a count with its noun, a percentage, a p-value and a level.

The core's warnings and errors (and the verdict's labels) say a count or a p-value in these words, and the
rendering layer's formatters (:mod:`reoffend.report.format`) are these same functions, so a warning and a
headline say a number the same way. This module sits below the comparisons: it decides no result and
imports nothing of the package.

Each takes ``None`` (a value that could not be computed) and prints an en dash for it.
"""

from __future__ import annotations

import math

DASH = "–"
P_FLOOR = 0.001


def is_nan(value: object) -> bool:
    """NaN is treated as None: a value that could not be computed."""
    return isinstance(value, float) and math.isnan(value)


def pct(proportion: float | None, decimals: int = 1) -> str:
    """A proportion as a percentage: ``0.45`` -> ``45.0%``."""
    return DASH if proportion is None or is_nan(proportion) else f"{100 * proportion:.{decimals}f}%"


def count(value: int | None) -> str:
    """A whole number with thousands separators: ``12345`` -> ``12,345``."""
    return DASH if value is None else f"{value:,}"


def plural(number_of: int | None, noun: str, many: str = "") -> str:
    """``noun`` for exactly 1, its plural otherwise: ``release``/``releases`` (``many`` when the plural is not
    noun + s: ``person``/``people``). The one pluralising rule of every message and sentence."""
    return noun if number_of == 1 else (many or noun + "s")


def counted(number_of: int | None, noun: str, many: str = "") -> str:
    """A count and its noun agreeing: ``1 release``, ``2,031 releases``, ``0 establishments``."""
    return f"{count(number_of)} {plural(number_of, noun, many)}"


def p_value(p: float | None, floor: float = P_FLOOR) -> str:
    """A p-value to three decimals, or ``< 0.001`` below the floor."""
    if p is None or is_nan(p):
        return DASH
    return f"< {floor:g}" if p < floor else f"{p:.3f}"


def p_is(p: float | None, floor: float = P_FLOOR) -> str:
    """``= 0.045`` or ``< 0.001``: a p-value after its name in a sentence ("one-sided p = 0.045")."""
    text = p_value(p, floor)
    return text if text.startswith("<") or text == DASH else f"= {text}"


def level(confidence: float) -> str:
    """A confidence level or test size as a percentage: ``0.95`` -> ``95%``, ``0.05`` -> ``5%``."""
    return f"{100 * confidence:g}%"
