"""Declared row schemas of the results: one typed row class per comparison (design: comparisons.md, "one verdict").

A result's rows stay a polars frame (the tabular output, written as it is), but its columns are declared once,
by a frozen dataclass subclassing :class:`Row`: each annotated field is a column, in order, and its type is the
column's dtype (``str`` String, ``int`` Int64, ``float`` Float64, ``bool`` Boolean); a field that may be null
is annotated ``X | None``. Every column is a key of docs/output-dictionary.md (its meaning and unit), which
tests/test_output_dictionary.py checks.

A result checks its frame against its row class when it is constructed (:meth:`Row.check`): a missing, extra
or misplaced column, a wrong dtype or a null where none is declared is a bug (:class:`ResultSchemaError`, an
internal error), never rendered. The views read rows through :meth:`Row.of`, so mypy checks the field names
they use.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self

from ..lazy_import import lazy_module

if TYPE_CHECKING:
    import polars as pl
else:
    pl = lazy_module("polars")


# the polars dtype of each column type, by name: declaring and naming columns needs no polars (issue 30)
DTYPES: dict[type, str] = {str: "String", int: "Int64", float: "Float64", bool: "Boolean"}
NOT_A_COLUMN = {"column": False}  # field metadata of a field that is not one of the frame's columns


class ResultSchemaError(RuntimeError):
    """A result frame that does not match its declared row schema: a bug, reported as an internal error."""


@dataclasses.dataclass(frozen=True)
class ColumnType:
    kind: type  # str, int, float or bool: a key of DTYPES
    nullable: bool

    @property
    def dtype(self) -> pl.DataType:
        """The column's polars dtype (:data:`DTYPES`)."""
        dtype: pl.DataType = getattr(pl, DTYPES[self.kind])()
        return dtype


class Row:
    """Base of the typed rows. ``GROUPED``: the frame starts with group columns of any name and dtype (the
    ``--by`` columns), passed to :meth:`check` and :meth:`of` as ``groups`` and kept in the ``groups`` field."""

    GROUPED: ClassVar[bool] = False

    @classmethod
    @functools.cache
    def column_types(cls) -> dict[str, ColumnType]:
        """The declared columns, in order, with dtype and nullability."""
        hints = typing.get_type_hints(cls)
        declared = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.metadata.get("column", True) is False:
                continue
            hint = hints[f.name]
            args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
            base = [a for a in args if a is not type(None)]
            if len(base) != 1 or base[0] not in DTYPES:
                raise TypeError(f"{cls.__name__}.{f.name}: a column is str, int, float or bool (or X | None)")
            declared[f.name] = ColumnType(base[0], nullable=len(base) != len(args))
        return declared

    @classmethod
    def schema(cls) -> dict[str, pl.DataType]:
        """Column name -> polars dtype, in order (for building frames and for docs)."""
        return {name: t.dtype for name, t in cls.column_types().items()}

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        return tuple(cls.column_types())

    @classmethod
    def check(cls, frame: pl.DataFrame, owner: str, groups: Sequence[str] = ()) -> None:
        """Raise :class:`ResultSchemaError` unless ``frame`` is exactly ``groups`` then the declared columns,
        with the declared dtypes and no null in a column not declared nullable."""
        if groups and not cls.GROUPED:
            raise ResultSchemaError(f"{owner}: {cls.__name__} has no group columns")
        declared = cls.column_types()
        expected = [*groups, *declared]
        if frame.columns != expected:
            missing = [c for c in expected if c not in frame.columns]
            extra = [c for c in frame.columns if c not in expected]
            raise ResultSchemaError(
                f"internal error: {owner} rows do not match {cls.__name__}: missing {missing}, unexpected {extra}"
                + ("" if missing or extra else f", order {frame.columns} instead of {expected}")
            )
        problems = []
        for name, column in declared.items():
            series = frame.get_column(name)
            if series.dtype != column.dtype and not (series.dtype == pl.Null and column.nullable):
                problems.append(f"{name} is {series.dtype}, declared {column.dtype}")
            elif not column.nullable and series.null_count():
                problems.append(f"{name} has {series.null_count()} null(s), declared never null")
        if problems:
            raise ResultSchemaError(f"internal error: {owner} rows do not match {cls.__name__}: {'; '.join(problems)}")

    @classmethod
    def of(cls, frame: pl.DataFrame, groups: Sequence[str] = ()) -> list[Self]:
        """The frame's rows as typed rows (group columns, if any, in the ``groups`` field)."""
        names = cls.columns()
        rows = []
        for record in frame.iter_rows(named=True):
            values: dict[str, Any] = {name: record[name] for name in names}
            if cls.GROUPED:
                values["groups"] = {name: record[name] for name in groups}
            rows.append(cls(**values))
        return rows
