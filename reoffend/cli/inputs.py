"""The inputs of a command: its options made into the core's parameters (:class:`reoffend.inputs.InputSpec`,
:class:`reoffend.measure.MeasureParams`), the records loaded and validated, and ``--errors`` written for invalid
data (docs/data.md; exit 65)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from ..errors import PROBLEM_SCHEMA, DataError, OutputNotCreatable, OutputWriteError, UsageError
from ..io import atomic_write, is_direct, read_code_list
from ..lazy_import import lazy_module
from ..window import FollowUpWindow
from .output import writer_for_suffix
from .parsing import parse_columns, parse_pairs, parse_where

# the data layer (inputs, validation, the measure) is imported where it is used: an option of a command that
# reads no records (`reoffend power` from numbers) loads no polars (issue 30)
if TYPE_CHECKING:
    import polars as pl

    from ..cohort import IndexRule, Period
    from ..inputs import InputSpec
    from ..measure import IncompletePolicy, MeasureParams
    from ..validate import Query, ValidatedInputs
    from .output import Output
else:
    pl = lazy_module("polars")


def input_spec(
    releases: str | None,
    convictions: str | None,
    column_map: Sequence[str],
    input_format: str | None,
    extract_date: dt.datetime | None,
    dedupe: bool,
    streaming: bool,
    as_at: dt.datetime | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
) -> InputSpec:
    from ..inputs import InputSpec

    if not releases or not convictions:
        raise UsageError("give both files: RELEASES and CONVICTIONS")
    return InputSpec(
        releases=releases,
        convictions=convictions,
        column_map=parse_pairs(column_map, "--map"),
        input_format=input_format,
        extract_date=extract_date.date() if extract_date else None,
        dedupe=dedupe,
        streaming=streaming,
        as_at=as_at.date() if as_at else None,
        delimiter=delimiter,
        encoding=encoding,
        date_format=date_format,
    )


def measure_params(
    *,
    by: str | Sequence[str] | None,
    window: FollowUpWindow,
    period: Period,
    index_rule: IndexRule,
    incomplete: IncompletePolicy,
    exclude_offences: str | None,
    where: Sequence[str],
    latest_cohort: bool,
    confidence: float,
) -> MeasureParams:
    from ..measure import MeasureParams

    return MeasureParams(
        window=window,
        by=parse_columns(by, "--by"),
        period=period,
        index=index_rule,
        incomplete=incomplete,
        excluded_offences=read_code_list(exclude_offences) if exclude_offences else frozenset(),
        confidence=confidence,
        where=parse_where(where),
        latest_cohort=latest_cohort,
    )


def write_errors_file(error: DataError, path: str | None) -> None:
    """``--errors FILE``: the full problem list (CSV, or Parquet/NDJSON by the extension), written atomically.

    When the file cannot be written (a full disk, 74; a folder gone, 73) the validation report is not lost
    behind that failure: the error raised carries both, the report first (docs/cli.md, "Exit status": the
    status is the write's, as for every output that fails).
    """
    if not path:
        return
    try:
        atomic_write(path, writer_for_suffix(error.problems, path, "--errors"), private=True)  # rows' values
    except (OutputWriteError, OutputNotCreatable) as failure:
        raise type(failure)(
            f"{error.summary()}\nand the --errors file was not written: {failure} "
            "(the problems above are the validation report)"
        ) from None


def load_or_report(
    spec: InputSpec,
    errors_file: str | None,
    extra_required=None,
    *,
    out: Output | None = None,
    excluded_offences: frozenset[str] = frozenset(),
    release_columns: Collection[str] | None = None,
    prefetch: Mapping[str, Query] | None = None,
) -> ValidatedInputs:
    """Load and validate the inputs, inside :func:`errors_reported` (which writes ``--errors`` for invalid data,
    once: a second write would repeat the list on a device or a pipe). On valid data a regular ``--errors``
    file is written with no problem rows (docs/data.md), so that a file left by an earlier failed run is never
    read as this run's.

    With ``out``, valid inputs that are probably not what was meant are warned about
    (:func:`reoffend.validate.input_warnings`). The queries of those warnings and ``prefetch`` (queries the
    command will make) are collected with validation's own pass (:func:`reoffend.validate.validate_inputs`).
    """
    from ..inputs import load_inputs
    from ..validate import input_warnings, warning_queries

    queries = {**(warning_queries(excluded_offences) if out is not None else {}), **(prefetch or {})}
    inputs = load_inputs(spec, extra_required, release_columns, queries)
    if errors_file and not is_direct(errors_file):  # valid: a file says so (no problem rows), never yesterday's
        write_errors_file(DataError(pl.DataFrame(schema=PROBLEM_SCHEMA)), errors_file)
    if out is not None:
        for warning in input_warnings(inputs, excluded_offences):
            out.warn(warning)
    return inputs


@contextlib.contextmanager
def errors_reported(errors_file: str | None):
    """Write ``--errors`` for a DataError raised inside: invalid inputs (:func:`load_or_report`), or e.g.
    incomplete follow-up found while measuring. Every command loads its inputs inside this."""
    try:
        yield
    except DataError as error:
        write_errors_file(error, errors_file)
        raise
