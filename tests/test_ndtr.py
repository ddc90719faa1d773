"""reoffend.ndtr against scipy.special.ndtr, bit for bit (issue 30: the bulletin's p-values without scipy).

The bulletin feeds Φ the z statistics of its tests (any finite double, NaN where a test is undefined, and
their negatives), so the property covers the whole double range, and examples sit on each branch's edges:
|a| / sqrt(2) = 1 (erf or erfc), = 8 (erfc's two approximations), a*a/2 = MAXLOG (exp underflows, erfc is 0),
with the neighbouring doubles on either side.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import special

from reoffend.ndtr import MAXLOG, SQRT1_2, ndtr, ndtr_scalar


def bits(values: np.ndarray) -> list[int]:
    """Each double's bit pattern (every NaN as one pattern: scipy and Python may carry another payload)."""
    values = np.asarray(values, dtype=np.float64)
    return [-1 if math.isnan(v) else int(b) for v, b in zip(values, values.view(np.uint64), strict=True)]


def neighbours(value: float, steps: int = 40) -> list[float]:
    """``value`` and the ``steps`` doubles on each side of it, and their negatives."""
    around = [value]
    up = down = value
    for _ in range(steps):
        up, down = math.nextafter(up, math.inf), math.nextafter(down, -math.inf)
        around += [up, down]
    return around + [-v for v in around]


# the a at which each branch changes: a * SQRT1_2 crosses 1 and 8; -(x*x) crosses -MAXLOG
EDGES = [1 / SQRT1_2, 8 / SQRT1_2, math.sqrt(MAXLOG) / SQRT1_2]
SPECIAL = [0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308]


def test_edges_of_every_branch_and_special_values():
    values = np.array([v for edge in EDGES for v in neighbours(edge)] + SPECIAL + [-v for v in SPECIAL])
    assert bits(ndtr(values)) == bits(special.ndtr(values))


def test_a_grid_over_the_range_the_tests_give():
    """Every 1/1024 from -40 to 40 (|z| beyond 38.5 is 0 or 1), and the tests' 2 * Φ(-|z|)."""
    values = np.arange(-40 * 1024, 40 * 1024 + 1) / 1024
    assert bits(ndtr(values)) == bits(special.ndtr(values))
    assert bits(2 * ndtr(-np.abs(values))) == bits(2 * special.ndtr(-np.abs(values)))


def test_random_bit_patterns():
    """200,000 doubles drawn as random 64-bit patterns (every exponent, NaNs and infinities included)."""
    patterns = np.random.default_rng(30).integers(0, 2**64, size=200_000, dtype=np.uint64, endpoint=False)
    values = patterns.view(np.float64)
    assert bits(ndtr(values)) == bits(special.ndtr(values))


@settings(max_examples=2000, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True) | st.floats(-40, 40))
@example(1 / SQRT1_2)
@example(8 / SQRT1_2)
@example(-math.sqrt(MAXLOG) / SQRT1_2)
def test_each_double_as_scipy(value):
    assert bits(np.array([ndtr_scalar(value)])) == bits(special.ndtr(np.array([value])))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=30))
def test_arrays_keep_their_shape_and_order(values):
    array = np.array(values, dtype=np.float64)
    result = ndtr(array)
    assert result.dtype == np.float64 and result.shape == array.shape
    assert bits(result) == bits(special.ndtr(array))
    assert ndtr(array.reshape(-1, 1)).shape == (len(values), 1)


def test_hand_worked_values():
    """Φ(0) = 1/2 exactly (0.5 + 0.5 * erf(0)); Φ(-inf) = 0, Φ(inf) = 1; far tails underflow to 0 and 1."""
    assert ndtr_scalar(0.0) == 0.5
    assert ndtr_scalar(-math.inf) == 0.0 and ndtr_scalar(math.inf) == 1.0
    assert ndtr_scalar(-40.0) == 0.0 and ndtr_scalar(40.0) == 1.0
    assert math.isnan(ndtr_scalar(math.nan))
    assert ndtr_scalar(-1.959963984540054) == pytest.approx(0.025, rel=1e-12)


def test_integers_and_booleans_are_taken_as_float64_as_scipy_takes_them():
    for values in (
        np.array([-3, 0, 2], dtype=np.int64),
        np.array([2**64 - 1], dtype=np.uint64),
        np.array([True, False]),
    ):
        assert bits(ndtr(values)) == bits(special.ndtr(values))


@pytest.mark.parametrize(
    "values",
    [
        [0.5, 1.0],  # a list: scipy would take it, but no caller passes one and its None would become NaN
        np.float64(0.5),  # a scalar: scipy gives a scalar back
        np.array([0.5], dtype=np.float32),  # scipy gives float32 back
        np.ma.masked_array([1.0, 2.0], mask=[False, True]),  # the mask would be lost
        np.array([1 + 1j]),  # the imaginary part would be dropped
        np.array([1.0, None], dtype=object),  # None would become NaN: scipy refuses
        np.array(["1.5"]),
    ],
)
def test_anything_but_a_real_numeric_array_is_refused(values):
    """A review found every input made float64 silently (None and text as numbers, a mask lost): refused now."""
    with pytest.raises(TypeError, match="numpy array of float64"):
        ndtr(values)
