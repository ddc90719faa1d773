"""A module imported when first used, not when named (issue 30: `reoffend power` needs no data frame).

``import polars as pl`` costs about 0.2 CPU s before any work. The modules on the path of a command that may
never touch a frame (the option layer, the output layer, the schemas of results) name polars through
:func:`lazy_module` instead; their type hints still see the real module::

    if TYPE_CHECKING:
        import polars as pl
    else:
        pl = lazy_module("polars")

The first attribute read (``pl.col``) imports the module; after that each read is one dictionary look-up more
than a plain import. Nothing changes in what the code computes. tests/test_startup.py checks which commands
load polars.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module ``name`` and imports it at the first attribute read."""

    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}{'' if self._module is None else ' (loaded)'}>"


def lazy_module(name: str) -> Any:
    """A stand-in for ``import name`` that imports it when first used (see the module's docstring)."""
    return LazyModule(name)
