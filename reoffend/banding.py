"""Banding numeric release columns for breakdowns (docs/bulletin.md, "Breakdowns"; docs/cli.md, measure --band).

Edges ``[18, 21, 25]`` cut a column into ``Under 18``, ``18 to 20``, ``21 to 24`` and ``25 and over``: each
band includes its lower edge and excludes the next edge, as official tables of age and of previous offences
are banded. Labels are written for whole-number columns (age in years, counts of offences, months), the way
the Ministry of Justice's tables write them: the top band of ``age`` is "N and over", of any other column
"N or more"; a band one value wide is that value (``0``, ``1``); the band below a first edge of 1 is ``0``.
A column with fractional values is labelled "a to under b". The banded column keeps its name and becomes an
ordered ``Enum``, so tables sort in band order rather than alphabetically; a missing value stays missing.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import polars as pl

from .errors import UsageError, name_list


def check_edges(column: str, edges: Sequence[float]) -> tuple[float, ...]:
    """The edges as a tuple, or a UsageError unless they are numbers in strictly increasing order."""
    values = tuple(edges)
    if not values:
        raise UsageError(f"band {column}: give at least one edge, e.g. {column}=18,21,25")
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
        raise UsageError(f"band {column}: edges must be numbers, got {list(values)}")
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise UsageError(f"band {column}: edges must increase strictly, got {list(values)}")
    large = [v for v in values if abs(v) > MAX_EDGE]
    if large:  # beyond 64-bit integers (1e50 was exit 70), and beyond any age, count or sentence anyway
        raise UsageError(f"band {column}: an edge is at most {MAX_EDGE:.0e} in size, got {large[0]:g}")
    return values


MAX_EDGE = 1e15  # the largest edge (in size): whole numbers up to it are exact as floats and as 64-bit integers


def _number(value: float) -> str:
    return f"{int(value)}" if float(value).is_integer() else f"{value:g}"


def band_labels(column: str, edges: Sequence[float], whole: bool = True) -> list[str]:
    """The label of each band, lowest first (len(edges) + 1 labels)."""
    edges = check_edges(column, edges)
    top = "and over" if column == "age" or column.endswith("_age") else "or more"
    labels = []
    first = edges[0]
    if whole and first == 1:
        labels.append("0")
    else:
        labels.append(f"Under {_number(first)}")
    for low, high in itertools.pairwise(edges):
        if not whole:
            labels.append(f"{_number(low)} to under {_number(high)}")
        elif whole and float(low).is_integer() and float(high).is_integer():
            last = int(high) - 1
            labels.append(_number(low) if last == int(low) else f"{_number(low)} to {last}")
        else:
            labels.append(f"{_number(low)} to under {_number(high)}")
    labels.append(f"{_number(edges[-1])} {top}")
    return labels


def band_expr(column: str, edges: Sequence[float], whole: bool = True) -> pl.Expr:
    """``column`` cut at ``edges`` into its labelled bands (an ordered Enum; null stays null)."""
    edges = check_edges(column, edges)
    labels = band_labels(column, edges, whole)
    value = pl.col(column)
    expr: pl.Expr = pl.lit(labels[-1])
    for index in range(len(edges) - 1, -1, -1):  # innermost first: the first edge above the value wins
        expr = pl.when(value < edges[index]).then(pl.lit(labels[index])).otherwise(expr)
    return pl.when(value.is_null()).then(None).otherwise(expr).cast(pl.Enum(labels)).alias(column)


def band_frame(frame: pl.LazyFrame, bands: Mapping[str, Sequence[float]], source: str = "releases") -> pl.LazyFrame:
    """``frame`` with each column of ``bands`` replaced by its bands (a UsageError for a missing or text column)."""
    if not bands:
        return frame
    schema = frame.collect_schema()
    exprs = []
    for column, edges in bands.items():
        if column not in schema:
            raise UsageError(f"{source}: no column {column!r} to band (columns: {name_list(schema.names())})")
        dtype = schema[column]
        if not dtype.is_numeric():
            raise UsageError(f"{source}: column {column!r} is {dtype}, not numeric: it cannot be banded")
        exprs.append(band_expr(column, edges, whole=dtype.is_integer()))
    return frame.with_columns(exprs)


def band_inputs(inputs, bands: Mapping[str, Sequence[float]]):
    """Validated inputs whose releases have the ``bands`` columns banded (the convictions unchanged)."""
    if not bands:
        return inputs
    return replace(inputs, releases=band_frame(inputs.releases, bands, inputs.names["releases"]))


def parse_band(text: str) -> tuple[str, tuple[float, ...]]:
    """``age=18,21,25`` as ("age", (18, 21, 25)); a UsageError naming the option otherwise."""
    column, sep, values = text.partition("=")
    column = column.strip()
    if not sep or not column:
        raise UsageError(f"--band {text!r}: expected COLUMN=EDGE,EDGE,... e.g. age=18,21,25")
    edges = []
    for item in values.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            number = float(item)
        except ValueError:
            raise UsageError(f"--band {text!r}: {item!r} is not a number") from None
        if not math.isfinite(number):  # float() reads 'inf' and 'nan': no band has such an edge
            raise UsageError(f"--band {text!r}: {item!r} is not a finite number")
        edges.append(int(number) if number.is_integer() else number)
    return column, check_edges(column, edges)


def merge_sparse_ends(
    edges: Sequence[float],
    bands_by_cohort: Sequence[Sequence[tuple[int, int]]],
    fails: Callable[[int, int], object],
) -> tuple[float, ...]:
    """The edges with a sparse top band, then a sparse bottom band, merged into its neighbours (docs/bulletin.md,
    "Breakdowns": suppression with judgement).

    ``bands_by_cohort[c][b]`` is the (size, reoffenders) of band ``b`` (lowest first, ``len(edges) + 1`` bands)
    in cohort ``c``; ``fails(size, reoffenders)`` is the primary disclosure rule. An end band that fails it in
    any cohort where it has people absorbs the band next to it, then the next, until the merged band passes in
    every cohort: "48 or more" with 4 people becomes "24 or more" rather than withhold its neighbour for want of
    merging. When no merge passes while two bands remain, that end keeps its configured edges (suppression
    does the rest). Decided over the cohorts of one release (docs/bulletin.md notes what is not checked across
    releases). Edges only go: every merged band is a band of the remaining edges, as :func:`band_expr` cuts it.
    """
    kept = list(check_edges("band", edges))
    if any(len(bands) != len(kept) + 1 for bands in bands_by_cohort):
        raise ValueError("one (size, reoffenders) per band of every cohort")

    def passes(first: int, last: int) -> bool:
        """Whether bands first..last (inclusive) merged pass the rule in every cohort with people in them."""
        for bands in bands_by_cohort:
            size = sum(bands[i][0] for i in range(first, last + 1))
            reoffenders = sum(bands[i][1] for i in range(first, last + 1))
            if size and fails(size, reoffenders):
                return False
        return True

    top, bottom = len(kept), 0  # band indices into the configured bands
    if not passes(top, top):
        merged = next((k for k in range(top - 1, 0, -1) if passes(k, top)), None)
        if merged is not None:
            del kept[merged:]  # bands merged..top become one: the edges between them go
            top = merged
    if not passes(bottom, bottom):
        merged = next((k for k in range(1, top) if passes(bottom, k)), None)
        if merged is not None:
            del kept[:merged]
    return tuple(kept)
