"""Φ(x), the standard normal distribution function, bit for bit as ``scipy.special.ndtr`` (issue 30).

The bulletin's p-values (the establishments against all releases, the baseline comparison) were
``scipy.special.ndtr``, and importing scipy.special for it alone was about 0.11 CPU s of every bulletin
(bench/NOTES.md, ninth round). This is the same algorithm in plain Python floats: Cephes' ``ndtr`` with its
``erf`` and ``erfc`` (Cephes Math Library 2.2, S. L. Moshier, as scipy compiles it in xsf/cephes/ndtr.h:
the same branches, rational approximations, coefficients and order of operations; ``math.exp`` is the C
library's ``exp``, which scipy calls too). Python's float arithmetic is the same IEEE double arithmetic, so
every value is the same double: tests/test_ndtr.py checks it against scipy over the whole double range and
at every branch's edges. (``math.erf``/``math.erfc`` are other algorithms and differ in the last bits.)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

SQRT1_2 = 7.07106781186547524401e-1  # M_SQRT1_2
MAXLOG = 7.09782712893383996843e2  # log(2**1024): exp(-x*x) underflows below -MAXLOG

# erfc(x) = exp(-x*x) P(x)/Q(x) for 1 <= x < 8, and R(x)/S(x) for x >= 8 (Q and S monic, leading 1 left out)
_P = (
    2.46196981473530512524e-10,
    5.64189564831068821977e-1,
    7.46321056442269912687e0,
    4.86371970985681366614e1,
    1.96520832956077098242e2,
    5.26445194995477358631e2,
    9.34528527171957607540e2,
    1.02755188689515710272e3,
    5.57535335369399327526e2,
)
_Q = (
    1.32281951154744992508e1,
    8.67072140885989742329e1,
    3.54937778887819891062e2,
    9.75708501743205489753e2,
    1.82390916687909736289e3,
    2.24633760818710981792e3,
    1.65666309194161350182e3,
    5.57535340817727675546e2,
)
_R = (
    5.64189583547755073984e-1,
    1.27536670759978104416e0,
    5.01905042251180477414e0,
    6.16021097993053585195e0,
    7.40974269950448939160e0,
    2.97886665372100240670e0,
)
_S = (
    2.26052863220117276590e0,
    9.39603524938001434673e0,
    1.20489539808096656605e1,
    1.70814450747565897222e1,
    9.60896809063285878198e0,
    3.36907645100081516050e0,
)
# erf(x) = x T(x*x)/U(x*x) for |x| <= 1 (U monic)
_T = (
    9.60497373987051638749e0,
    9.00260197203842689217e1,
    2.23200534594684319226e3,
    7.00332514112805075473e3,
    5.55923013010394962768e4,
)
_U = (
    3.35617141647503099647e1,
    5.21357949780152679795e2,
    4.59432382970980127987e3,
    2.26290000613890934246e4,
    4.92673942608635921086e4,
)


def _polevl(x: float, coefficients: tuple[float, ...]) -> float:
    """c[0] x^n + ... + c[n], by Horner's rule in Cephes' order (polevl)."""
    total = coefficients[0]
    for coefficient in coefficients[1:]:
        total = total * x + coefficient
    return total


def _p1evl(x: float, coefficients: tuple[float, ...]) -> float:
    """x^n + c[0] x^(n-1) + ... + c[n-1]: the leading coefficient 1 (p1evl)."""
    total = x + coefficients[0]
    for coefficient in coefficients[1:]:
        total = total * x + coefficient
    return total


def erf(x: float) -> float:
    """Cephes' erf: the rational approximation for |x| <= 1, else 1 - erfc(x)."""
    if math.isnan(x):
        return math.nan
    if x < 0.0:
        return -erf(-x)
    if abs(x) > 1.0:
        return 1.0 - erfc(x)
    z = x * x
    return x * _polevl(z, _T) / _p1evl(z, _U)


def erfc(a: float) -> float:
    """Cephes' erfc: 1 - erf(a) for |a| < 1, else exp(-a*a) times a rational approximation (2 or 0 where
    it underflows)."""
    if math.isnan(a):
        return math.nan
    x = -a if a < 0.0 else a
    if x < 1.0:
        return 1.0 - erf(a)
    z = -a * a
    if z >= -MAXLOG:
        z = math.exp(z)
        if x < 8.0:
            p, q = _polevl(x, _P), _p1evl(x, _Q)
        else:
            p, q = _polevl(x, _R), _p1evl(x, _S)
        y = (z * p) / q
        if a < 0:
            y = 2.0 - y
        if y != 0.0:
            return y
    return 2.0 if a < 0 else 0.0


def ndtr_scalar(a: float) -> float:
    """Φ(a) by erf near 0 and erfc in the tails (Cephes' ndtr); NaN for NaN."""
    if math.isnan(a):
        return math.nan
    x = a * SQRT1_2
    z = abs(x)
    if z < 1.0:
        return 0.5 + 0.5 * erf(x)
    y = 0.5 * erfc(z)
    return 1.0 - y if x > 0 else y


def ndtr(values: np.ndarray) -> np.ndarray:
    """Φ of each value of a numpy array of float64 (or of integers or booleans, taken as float64), as float64:
    ``scipy.special.ndtr(values)`` bit for bit (for the few p-values of a bulletin: a Python loop, no scipy
    import). Anything else is a TypeError, where scipy would give another type (float32, a scalar, a masked
    array) or refuse (None, text, complex): nothing is silently made a number."""
    import numpy as np  # here: ndtr_scalar serves `reoffend power`, which loads no numpy (tests/test_startup.py)

    if (
        not isinstance(values, np.ndarray)
        or isinstance(values, np.ma.MaskedArray)
        or not (values.dtype.kind in "biu" or values.dtype == np.float64)
    ):
        kind = getattr(values, "dtype", type(values).__name__)
        raise TypeError(f"ndtr takes a numpy array of float64, integers or booleans, not {kind}")
    array = values.astype(np.float64, copy=False)
    return np.fromiter((ndtr_scalar(float(v)) for v in array.ravel()), dtype=np.float64, count=array.size).reshape(
        array.shape
    )
