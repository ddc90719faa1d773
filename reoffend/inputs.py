"""Open and validate the two input tables in one call: what every command that reads records starts with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import polars as pl

from .errors import UsageError
from .io import (
    STDIN,
    TableSource,
    canonical_columns,
    check_delimiter,
    check_encoding,
    check_input_format,
    compression_of,
    detect_format,
    extension_format,
    is_stream,
    open_table,
    read_failure,
)
from .validate import (
    CONVICTIONS,
    DATE_FORMAT,
    RELEASES,
    Query,
    Table,
    TableSpec,
    ValidatedInputs,
    check_date_format,
    validate_inputs,
)
from .window import check_extract_date, recorded_by


@dataclass(frozen=True)
class InputSpec:
    """Where the records are and how to read them (docs/data.md, "Reading the files").

    ``input_format``: of an input whose name does not tell it (a pipe); ``delimiter``: of every CSV input
    (None: tab for ``.tsv``, else sniffed from each header); ``encoding``: of every text input (None: UTF-8,
    or what a byte-order mark names); ``date_format``: strftime form of every date column given as text
    (None: ISO ``%Y-%m-%d``). Each is checked here: a bad one is a usage error (exit 2).

    ``releases`` and ``convictions`` are paths, or polars frames (the Python API, docs/python.md): a frame
    goes through the same column mapping and validation as a file, and is named ``releases (DataFrame)``.
    """

    releases: TableInput
    convictions: TableInput
    column_map: Mapping[str, str] = field(default_factory=dict)
    input_format: str | None = None
    extract_date: dt.date | None = None
    dedupe: bool = False
    streaming: bool = False
    as_at: dt.date | None = None  # measure as an extract taken on this date would have (:func:`cut_as_at`)
    delimiter: str | None = None
    encoding: str | None = None
    date_format: str | None = None

    def __post_init__(self) -> None:
        check_extract_date(self.extract_date)
        check_extract_date(self.as_at, "--as-at")
        if self.input_format:
            check_input_format(self.input_format)
        if self.delimiter is not None:
            object.__setattr__(self, "delimiter", check_delimiter(self.delimiter))
        if self.encoding is not None:
            object.__setattr__(self, "encoding", check_encoding(self.encoding))
        if self.date_format is not None:
            object.__setattr__(self, "date_format", check_date_format(self.date_format))

    def as_dict(self) -> dict[str, object]:
        return {
            "releases": input_name(self.releases, "releases"),
            "convictions": input_name(self.convictions, "convictions"),
            "column_map": dict(sorted(self.column_map.items())),
            "input_format": self.input_format,
            "delimiter": self.delimiter,
            "encoding": self.encoding,
            "date_format": self.date_format,
            "extract_date": self.extract_date.isoformat() if self.extract_date else None,
            "dedupe": self.dedupe,
            "as_at": self.as_at.isoformat() if self.as_at else None,
        }


# an input table: a path (or '-'), or a polars frame given to the Python API (reoffend.api)
TableInput = str | pl.DataFrame | pl.LazyFrame


def input_name(table: TableInput, role: str) -> str:
    """How a table is named in problems and metadata: a path as given, a frame as ``releases (DataFrame)``."""
    if isinstance(table, str):
        return table
    return f"{role} ({type(table).__name__})"


def _frame_table(frame: pl.DataFrame | pl.LazyFrame, spec_of: TableSpec, spec: InputSpec) -> Table:
    """A frame given to the Python API as validation takes a file: renamed by the same ``column_map``, its
    working columns dropped (:func:`reoffend.io.canonical_columns`), and typed and checked by the same rules.
    A problem's row is the frame's row counted from 1 (``frame[row - 1]``), as a file's counts data rows."""
    name = input_name(frame, spec_of.role)
    lazy = frame.lazy()  # a DataFrame's lazy view: no copy
    try:
        names = lazy.collect_schema().names()
    except Exception as error:  # a LazyFrame whose plan fails (a column it selects is missing, a file it scans)
        raise _not_computed(name, error) from None
    renamed = canonical_columns(lazy, names, name, spec.column_map)
    if isinstance(frame, pl.LazyFrame) and not spec.streaming:
        # computed here, once, as validation would hold it in memory anyway: a plan that fails to run (a function
        # of the user's that raises, a cast that fails) is said of the frame, not as an error of reoffend's
        try:
            renamed = renamed.collect().lazy()
        except Exception as error:
            raise _not_computed(name, error) from None
    table = Table(name, spec_of, renamed, in_memory=not spec.streaming, date_format=spec.date_format or DATE_FORMAT)
    table.read_as = {"format": f"polars {type(frame).__name__}", "date_format": spec.date_format or DATE_FORMAT}
    return table


def _not_computed(name: str, error: BaseException) -> UsageError:
    """A frame whose plan fails, named with the first line of the reason (issue 32: never another error type)."""
    first = str(error).strip().splitlines()
    return UsageError(f"{name}: the frame cannot be computed: {first[0] if first else type(error).__name__}")


def _scanned(path: str, spec: InputSpec) -> bool:
    """Scan the file at each pass rather than hold it in memory: with --streaming, and always for Parquet.

    Parquet is quick to read again column by column, so each pass (validation, the measure) reads only the
    columns it needs, in parallel with the work, and memory never holds the unused ones (bench/RESULTS.md:
    at 5,000,000 releases this is faster and takes about a quarter less memory than reading it whole).
    """
    if is_stream(path) or compression_of(path):
        return False  # read whole into memory: a stream can be read only once, polars scans no .gz/.zst
    if spec.streaming:
        return True
    return Path(path).is_file() and detect_format(path, spec.input_format) == "parquet"


def _csv_file(path: str, spec: InputSpec) -> bool:
    """A plain UTF-8 CSV file (not a stream, not compressed, not transcoded): scanned, and typed as it is read
    (:func:`_table`)."""
    if is_stream(path) or compression_of(path) or spec.encoding or not Path(path).is_file():
        return False
    return detect_format(path, spec.input_format) == "csv"


def _table(path: TableInput, spec_of: TableSpec, spec: InputSpec) -> Table:
    """One input table as validation takes it.

    Scanned at each pass (:func:`_scanned`), or held in memory. A plain CSV file held in memory is scanned
    once by validation, which keeps only the typed columns (reoffend.validate._typed_in_memory): the date
    text is never held whole. A failure of that scan (a ragged row, bytes that are not UTF-8) is reported
    as reading the file would report it (:func:`reoffend.io.read_failure`), also when ``--streaming`` scans
    the CSV file at each pass (the row and line, not a bare "cannot read"). A frame: :func:`_frame_table`.
    """
    if not isinstance(path, str):
        return _frame_table(path, spec_of, spec)
    source = TableSource(path, spec.input_format, spec.column_map, spec.delimiter, spec.encoding)
    lazy = _scanned(path, spec)
    csv_file = _csv_file(path, spec)
    typed_as_read = not lazy and csv_file
    frame, source = open_table(source, lazy=lazy or typed_as_read)
    table = Table(source.name, spec_of, frame, in_memory=not lazy, date_format=spec.date_format or DATE_FORMAT)
    table.read_as = read_as(source, spec.date_format)
    if csv_file:  # typed as read, or scanned at each pass (--streaming): a damaged row is named either way
        table.read_error = partial(read_failure, source, "csv", None)
    return table


def read_as(source: TableSource, date_format: str | None) -> dict[str, str]:
    """How an input was read, for the metadata's input description: its format, and for a CSV file its
    delimiter and encoding; and the form of its text dates."""
    described = {"format": source.input_format or "csv"}
    if described["format"] == "csv":
        described["delimiter"] = source.delimiter or ","
    if described["format"] != "parquet":
        described["encoding"] = source.encoding or "utf-8"
    described["date_format"] = date_format or DATE_FORMAT
    return described


def check_input_format_used(spec: InputSpec) -> None:
    """``--input-format`` names the format of an input its name does not tell (a pipe, ``data.txt``); given
    where both inputs are told by their extensions, and different from one of them, it would do nothing
    there: a usage error (exit 2) rather than silence."""
    if not spec.input_format:
        return
    paths = [path for path in (spec.releases, spec.convictions) if isinstance(path, str)]
    if len(paths) < 2:
        if not paths:  # frames only: there is no file whose format to name
            raise UsageError("input_format: both inputs are data frames, which have no file format; drop it")
        return
    told = {path: extension_format(path) for path in paths if not is_stream(path)}
    if len(told) == 2 and all(told.values()) and any(fmt != spec.input_format for fmt in told.values()):
        names = " and ".join(f"{path} ({fmt})" for path, fmt in told.items())
        raise UsageError(
            f"--input-format {spec.input_format}: it applies only to a pipe or to a file whose extension does "
            f"not tell its format, and {names} are told by their extensions; rename the file, or drop "
            "--input-format"
        )


def check_dialect_used(spec: InputSpec) -> None:
    """``--delimiter`` where neither input is CSV, or ``--encoding`` where both are Parquet (each told by its
    extension; a pipe may be either, so it never counts), would do nothing: a usage error (exit 2)."""
    told = [
        "frame"
        if not isinstance(path, str)
        else None
        if is_stream(path)
        else extension_format(path) or spec.input_format
        for path in (spec.releases, spec.convictions)
    ]
    formats = [fmt for fmt in told if fmt is not None]
    if len(formats) < len(told):  # a pipe, or a name that tells nothing: reading it says what it is
        return
    if spec.delimiter is not None and "csv" not in formats:
        raise UsageError(f"--delimiter: neither input is CSV ({', '.join(formats)}), so it would do nothing; drop it")
    if spec.encoding is not None and set(formats) <= {"parquet", "frame"}:
        what = "Parquet" if set(formats) == {"parquet"} else "Parquet or data frames"
        raise UsageError(f"--encoding: both inputs are {what}, which has no text encoding to choose; drop it")


def load_inputs(
    spec: InputSpec,
    extra_required: dict[str, tuple[str, ...]] | None = None,
    release_columns: Collection[str] | None = None,
    prefetch: Mapping[str, Query] | None = None,
) -> ValidatedInputs:
    """Read both tables and validate them (docs/data.md); raises DataError, InputFileError or UsageError.

    ``release_columns``: the release columns the command uses; ``prefetch``: queries it will make of the
    valid inputs, collected with validation's pass (both: :func:`reoffend.validate.validate_inputs`).
    """
    if all(isinstance(table, str) and table == STDIN for table in (spec.releases, spec.convictions)):
        raise UsageError(
            "RELEASES and CONVICTIONS cannot both be '-': only one of the two tables can be read from standard "
            "input (give the other as a file, or as a pipe with <(...))"
        )
    check_input_format_used(spec)
    check_dialect_used(spec)
    releases = _table(spec.releases, RELEASES, spec)
    convictions = _table(spec.convictions, CONVICTIONS, spec)
    inputs = validate_inputs(
        releases,
        convictions,
        extract_date=spec.extract_date,
        dedupe=spec.dedupe,
        in_memory=not spec.streaming,
        extra_required=extra_required,
        release_columns=release_columns,
        prefetch=None if spec.as_at else prefetch,  # queries of the whole extract: the cut makes them again
    )
    return inputs if spec.as_at is None else cut_as_at(inputs, spec.as_at)


def cut_as_at(inputs: ValidatedInputs, as_at: dt.date) -> ValidatedInputs:
    """The valid inputs as an extract taken on ``as_at`` would hold them (``--as-at``, docs/measures.md
    "Measuring as at a date").

    Releases dated after it, and convictions with an offence or conviction dated after it, are dropped
    (:func:`reoffend.window.recorded_by`), and the extract date becomes ``as_at``: completeness of follow-up
    is judged there. The whole extract was validated first, at its own extract date: a cut never hides a
    problem of the file. An ``as_at`` later than that extract date is no later extract (the convictions of
    the days between were never seen): the extract date stays, and the metadata says so.
    """
    extract = inputs.extract_date
    cut = as_at if extract is None or as_at <= extract else extract
    if extract is not None and cut == extract:  # validation refused every row dated later: nothing to drop
        source = "--as-at" if as_at == extract else f"{inputs.extract_date_source} (--as-at {as_at} is later)"
        return replace(
            inputs,
            extract_date_source=source,
            as_at={
                "date": as_at.isoformat(),
                "extract_date_of_data": extract.isoformat(),
                "releases_after": 0,
                "convictions_after": 0,
            },
        )
    kept_releases = inputs.releases.filter(recorded_by(cut, "release_date"))
    kept_convictions = inputs.convictions.filter(recorded_by(cut, "offence_date", "conviction_date"))
    releases_rows, convictions_rows = (
        frame.select(pl.len()).collect().item() for frame in (kept_releases, kept_convictions)
    )
    row_counts = {"releases": int(releases_rows), "convictions": int(convictions_rows)}
    if not releases_rows and inputs.row_counts["releases"]:  # an empty result is no answer: say why (exit 2)
        earliest = inputs.releases.select(pl.col("release_date").min()).collect().item()
        raise UsageError(
            f"--as-at {as_at}: before every release (the earliest is {earliest}): an extract taken then would hold "
            "none; give a later date"
        )
    source = "--as-at" if cut == as_at else f"{inputs.extract_date_source} (--as-at {as_at} is later)"
    return replace(
        inputs,
        releases=kept_releases,
        convictions=kept_convictions,
        extract_date=cut,
        extract_date_source=source,
        row_counts=row_counts,
        prefetched={},
        prefetched_of=None,
        as_at={
            "date": as_at.isoformat(),
            "extract_date_of_data": extract.isoformat() if extract else None,
            "releases_after": inputs.row_counts["releases"] - inputs.deduplicated_rows - row_counts["releases"],
            "convictions_after": inputs.row_counts["convictions"] - row_counts["convictions"],
        },
    )
