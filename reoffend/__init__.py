"""reoffend: proven reoffending statistics from prison release and court conviction records.

The Python API (docs/python.md): each function takes the two tables as paths or data frames and the command's
options as keyword arguments, and returns a :class:`reoffend.api.Result`. Imported on first use, so that
``reoffend --version`` and the command line start without loading polars for it.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "InputFileError",
    "ReoffendError",
    "ReoffendWarning",
    "Result",
    "UsageError",
    "__version__",
    "compare_adjusted",
    "compare_baseline",
    "compare_matched",
    "measure",
    "nowcast",
    "power",
    "validate",
    "write_bulletin",
]

if TYPE_CHECKING:
    from .api import (
        ReoffendWarning,
        Result,
        compare_adjusted,
        compare_baseline,
        compare_matched,
        measure,
        nowcast,
        power,
        validate,
        write_bulletin,
    )
    from .errors import DataError, InputFileError, ReoffendError, UsageError


# reoffend.measure, reoffend.validate and reoffend.nowcast are also modules of the core. The package's names are
# the API's functions (issue 32): the import system, loading such a module, sets it as an attribute of the
# package, which would hide the function from then on; that assignment is dropped (the module stays in
# sys.modules, where `from reoffend.measure import ...` finds it; `import reoffend.validate as m` gives the
# function, so import a core module with `from reoffend.validate import ...` or importlib).
SHADOWED_MODULES = frozenset({"measure", "validate", "nowcast"})


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        if name in SHADOWED_MODULES and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    """The API's names, imported when first asked for (PEP 562)."""
    if name in ("DataError", "InputFileError", "ReoffendError", "UsageError"):
        from . import errors

        return getattr(errors, name)
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'reoffend' has no attribute {name!r}")
