"""Validation of the two input tables (docs/data.md, "Validation").

Every rule is a vectorised polars expression over whole columns. The normal path costs one pass of column
aggregates per table; row-level detail (file, 1-based row, column, value) is built only when a rule fails.

Rules, by identifier (stable: they appear in reports and in ``--errors`` files):

``missing-column``, ``column-type``, ``id-type-mismatch``, ``missing-id``, ``missing-date``,
``unparseable-date``, ``date-out-of-range`` (before 1900-01-01 or after the extract date),
``conviction-before-offence``, ``duplicate-release`` (exact duplicate rows; allowed with ``dedupe``),
``conflicting-release`` (same offender_id and release_date, different attributes: always an error).
``incomplete-follow-up`` is checked by :mod:`reoffend.measure`, which knows the window.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from .cohort import ORDER_KEY, SharedIndexKeys, release_order_key, shared_from_release_order
from .errors import PROBLEM_SCHEMA, DataError, UsageError, cut_value, name_list, problem_row, single_problem
from .run_warnings import RunWarning
from .window import LATEST_EXTRACT_DATE

EARLIEST_DATE = dt.date(1900, 1, 1)
DATE_FORMAT = "%Y-%m-%d"
ROW = "_row"
RAW = "_raw_"
NULL = RAW + "null_"  # NULL + column: the raw value of a date column is missing (a boolean kept while validating)
DECODED = RAW + "decoded"  # a row's columns not held were read (_typed_in_memory): a boolean, dropped at once


@dataclass(frozen=True)
class TableSpec:
    role: str
    required: tuple[str, ...]
    dates: tuple[str, ...]
    optional: tuple[str, ...] = ()


RELEASES = TableSpec("releases", ("offender_id", "release_date"), ("release_date",), ("establishment", "cohort"))
CONVICTIONS = TableSpec(
    "convictions",
    ("offender_id", "offence_date", "conviction_date"),
    ("offence_date", "conviction_date"),
    ("offence_code", "appearance_id"),
)


@dataclass
class Table:
    """One input table: its display name, the frame as read, and (after validation) the typed frame."""

    name: str
    spec: TableSpec
    raw: pl.LazyFrame
    typed: pl.LazyFrame = field(init=False)  # set by validate_inputs
    rows: int = 0  # counted by validate_inputs
    in_memory: bool | None = None  # materialise the typed frame? None: as validate_inputs(in_memory=...) says
    id_bytes: tuple[int, int] | None = None  # shortest and longest text offender_id, in bytes (validate_inputs)
    padded_ids: int = 0  # text ids with surrounding whitespace (validate_inputs)
    # what a failure to read ``raw`` (e.g. a CSV scanned while typing it) becomes: the reader's own error
    read_error: Callable[[BaseException], BaseException] | None = None
    date_format: str = "%Y-%m-%d"  # strftime form of its text dates (--date-format; DATE_FORMAT by default)
    read_as: dict[str, str] = field(default_factory=dict)  # how it was read (format, delimiter...), for metadata
    # the columns a materialised typed frame holds when it was read without those no command uses
    # (validate_inputs ``release_columns``); None: every column
    held: tuple[str, ...] | None = None


# A query a command will make of the validated inputs, from (releases, convictions) typed frames: one it may
# ask validation to collect together with its own pass (:func:`validate_inputs`, ``prefetch``).
Query = Callable[[pl.LazyFrame, pl.LazyFrame], pl.LazyFrame]


@dataclass
class ValidatedInputs:
    """Typed, checked inputs and the facts about them every output's metadata carries."""

    releases: pl.LazyFrame
    convictions: pl.LazyFrame
    extract_date: dt.date | None
    extract_date_source: str
    row_counts: dict[str, int]
    names: dict[str, str]
    deduplicated_rows: int = 0
    summary: dict[str, Any] = field(default_factory=dict)
    id_bytes: tuple[int, int] | None = None  # shortest and longest text offender_id of both tables, in bytes
    prefetched: dict[str, pl.DataFrame] = field(default_factory=dict)  # by name: results of prefetch queries
    # the (releases, convictions) frames the prefetched results are of: a copy of the inputs with other frames
    # (e.g. banded releases, dataclasses.replace) makes its queries again
    prefetched_of: tuple[pl.LazyFrame, pl.LazyFrame] | None = None
    # --as-at: the date, and the rows of each table dated after it, which the measure does not see
    as_at: dict[str, object] | None = None
    read_as: dict[str, dict[str, str]] = field(default_factory=dict)  # by role: format, delimiter, encoding...


def prefetched(inputs: ValidatedInputs, queries: Mapping[str, Query]) -> dict[str, pl.DataFrame]:
    """The results of ``queries`` (by name) on the validated inputs.

    Each is the one collected with validation's pass when the command asked for it there (``prefetch`` of
    :func:`validate_inputs`: the same query on the same rows and values), else collected now, all the
    missing ones at once. A name stands for one query: the module that builds it makes the name.
    """
    of = inputs.prefetched_of
    ready = inputs.prefetched if of and of[0] is inputs.releases and of[1] is inputs.convictions else {}
    missing = {name: query for name, query in queries.items() if name not in ready}
    found = {name: ready[name] for name in queries if name not in missing}
    if missing:
        results = pl.collect_all([query(inputs.releases, inputs.convictions) for query in missing.values()])
        found.update(zip(missing, results, strict=True))
    return found


# ----------------------------------------------------------------------------------------- column checks
def check_columns(table: Table, extra_required: tuple[str, ...] = ()) -> list[dict]:
    """Problems for required columns that are absent, with a ``--map`` suggestion for a close name."""
    names = table.raw.collect_schema().names()
    problems = []
    for column in (*table.spec.required, *extra_required):
        if column in names:
            continue
        close = close_column(column, names)
        hint = f"; if it is {cut_value(close, 60)!r}, add --map {column}={cut_value(close, 60)}" if close else ""
        if any("\x00" in name for name in names):  # a NUL between letters: UTF-16 read as UTF-8
            first = names[0] if names else ""
            order = "utf-16-be" if first.startswith("\x00") else "utf-16-le"
            hint = (
                "; the header has a NUL between letters: the file looks like UTF-16 without a byte-order mark, "
                f"give --encoding {order}"
            )
        problems.append(
            problem_row(
                table.name,
                column,
                "missing-column",
                f"required column {column!r} is missing (found: {name_list(names)}){hint}",
            )
        )
    return problems


def close_column(wanted: str, names: list[str]) -> str | None:
    """A present column that is probably ``wanted`` under another name (spelling, or a shared word)."""
    close = difflib.get_close_matches(wanted, names, n=1, cutoff=0.6)
    if close:
        return close[0]
    words = set(wanted.lower().split("_"))
    sharing = [name for name in names if words & set(name.lower().replace("-", "_").split("_"))]
    return sharing[0] if len(sharing) == 1 else None


TEXT_CAST = ("establishment", "cohort", "offence_code", "appearance_id")  # read as text whenever present


def check_types(releases: Table, convictions: Table, used: Collection[str] | None = None) -> list[dict]:
    """Column types: dates, ids, and no column of lists or records among those the command uses (``used``: the
    release columns it names, as ``release_columns``; None: every column, as ``validate`` checks them all)."""
    problems = []
    for table in (releases, convictions):
        schema = table.raw.collect_schema()
        for column in table.spec.dates:
            dtype = schema[column]
            if not (dtype == pl.String or dtype == pl.Date or isinstance(dtype, pl.Datetime) or dtype == pl.Null):
                problems.append(
                    problem_row(
                        table.name,
                        column,
                        "column-type",
                        f"column {column!r} holds {dtype}, not dates (YYYY-MM-DD)",
                    )
                )
        for column, column_type in schema.items():
            # a column of lists or records (an NDJSON array, a Parquet list<string>) has no single value a row can
            # be grouped, filtered or written by: one problem here, not an internal error later (exit 70)
            in_use = used is None or column in used or column in TEXT_CAST or table is convictions
            if column != "offender_id" and column not in table.spec.dates and column_type.is_nested() and in_use:
                problems.append(
                    problem_row(
                        table.name,
                        column,
                        "column-type",
                        f"column {column!r} holds {column_type}; every column must hold one value a row",
                    )
                )
        dtype = schema["offender_id"]
        if not (dtype == pl.String or dtype.is_integer() or dtype == pl.Null):
            problems.append(
                problem_row(
                    table.name,
                    "offender_id",
                    "column-type",
                    f"offender_id holds {dtype}; it must be text or whole numbers",
                )
            )
        elif dtype.is_integer() and dtype not in SIGNED_64_FITS:
            problems.extend(_ids_beyond_64_bits(table))
    release_kind = _id_kind(releases.raw.collect_schema()["offender_id"])
    conviction_kind = _id_kind(convictions.raw.collect_schema()["offender_id"])
    if None not in (release_kind, conviction_kind) and release_kind != conviction_kind:
        problems.append(
            problem_row(
                convictions.name,
                "offender_id",
                "id-type-mismatch",
                f"offender_id is {conviction_kind} here but {release_kind} in {releases.name}; "
                "convert one so the two files use the same type",
            )
        )
    return problems


# integer id types whose every value is a 64-bit signed integer (the type ids are joined as, _typed_columns)
SIGNED_64_FITS = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32)


def _ids_beyond_64_bits(table: Table) -> list[dict]:
    """``column-type`` for a whole-number ``offender_id`` (UInt64, a 128-bit type: Parquet) holding a value a
    64-bit signed integer cannot, which typing it would otherwise fail on (an internal error, exit 70)."""
    ids = pl.col("offender_id")
    low, high = table.raw.select(ids.min().alias("low"), ids.max().alias("high")).collect().row(0)
    if high is None or (low >= -(2**63) and high < 2**63):
        return []
    value = high if high >= 2**63 else low
    return [
        problem_row(
            table.name,
            "offender_id",
            "column-type",
            f"offender_id holds whole numbers beyond the 64-bit signed range (e.g. {value}); store it as text",
            value=str(value),
        )
    ]


def _id_kind(dtype: pl.DataType) -> str | None:
    if dtype == pl.Null:
        return None
    return "whole numbers" if dtype.is_integer() else "text"


# ------------------------------------------------------------------------------------------- typed frames
def parse_date(column: str, dtype: pl.DataType, *, strip: bool = True, date_format: str = DATE_FORMAT) -> pl.Expr:
    """A date column as ``pl.Date``: text parsed in ``date_format`` (bad text becomes null), datetimes truncated.

    Surrounding whitespace is allowed. ``strip=False`` skips stripping it first: the parser already skips
    leading whitespace and rejects trailing, so a value it parses unstripped has the same date stripped
    (see :func:`_typed_in_memory`, which re-parses stripped only when some value fails).

    The rule is docs/data.md's "a date does not parse" (ISO ``YYYY-MM-DD``, or ``--date-format``, with ISO still
    read): exactly polars' ``to_date`` with :data:`DATE_FORMAT` or the form given, then ISO. ``cache=False``
    only turns off its memo of
    recent values (the same parse function runs on every value instead of a hash lookup first): about half
    the CPU of the parse, 0.09 against 0.17 s per 4 million dates (bench/NOTES.md, fourth round).
    """
    if dtype == pl.String:
        text = pl.col(column).str.strip_chars() if strip else pl.col(column)
        parsed = text.str.to_date(date_format, strict=False, cache=False)
        if date_format == DATE_FORMAT:
            return parsed
        # ISO is always read too: one --date-format serves both files when one of them is in ISO already (a
        # DD/MM releases file beside ISO convictions had no option that read both)
        return parsed.fill_null(text.str.to_date(DATE_FORMAT, strict=False, cache=False))
    if isinstance(dtype, pl.Datetime):
        return pl.col(column).dt.date()
    return pl.col(column).cast(pl.Date)


FORMAT_SAMPLE = dt.date(2023, 4, 25)  # a day whose day, month and year differ in every digit form


def check_date_format(date_format: str, option: str = "--date-format") -> str:
    """A strftime form of dates (``%d/%m/%Y``) that writes a date and reads it back as the same date; anything
    else (no directive, a time only, ``%Q``) is a usage error (exit 2) naming the option."""
    try:
        written = FORMAT_SAMPLE.strftime(date_format)
        read = pl.Series([written]).str.to_date(date_format, strict=False).item()
    except (ValueError, pl.exceptions.PolarsError):
        read = None
    if read != FORMAT_SAMPLE or not date_format.strip():
        raise UsageError(
            f"{option} {date_format!r}: not a form that reads a date back (it writes {FORMAT_SAMPLE} as "
            f"{FORMAT_SAMPLE.strftime(date_format) if date_format else ''!r}); give a strftime form such as "
            "%d/%m/%Y, %m/%d/%Y or %d.%m.%Y"
        )
    return date_format


def date_shape(date_format: str) -> str:
    """``YYYY-MM-DD``, ``DD/MM/YYYY``: a strftime form as people write it, for messages."""
    for directive, shape in (("%Y", "YYYY"), ("%m", "MM"), ("%d", "DD"), ("%y", "YY"), ("%b", "Mon"), ("%B", "Month")):
        date_format = date_format.replace(directive, shape)
    return date_format


# the forms suggested when every text date of a column fails to parse (never used without being given)
SUGGESTED_FORMATS = ("%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%m-%d-%Y", "%d.%m.%Y", "%Y/%m/%d", DATE_FORMAT)
# a form and the one that reads the same text with day and month swapped: both fit when no day is above 12
SWAPPED = {"%d/%m/%Y": "%m/%d/%Y", "%m/%d/%Y": "%d/%m/%Y", "%d-%m-%Y": "%m-%d-%Y", "%m-%d-%Y": "%d-%m-%Y"}


def typed_frame(table: Table, *, strip_dates: bool = True, strip_ids: bool = True) -> pl.LazyFrame:
    """The table with dates as ``pl.Date``, integer ids as Int64, text ids stripped, codes as text.

    ``strip_ids=False`` leaves text ids as they are: for a scanned file in which validation found none
    padded, so that each later pass does not copy every id (0.2 CPU s per 20 million ids).
    """
    return table.raw.with_columns(_typed_columns(table, strip_dates=strip_dates, strip_ids=strip_ids))


def _typed_columns(table: Table, *, strip_dates: bool = True, strip_ids: bool = True) -> list[pl.Expr]:
    schema = table.raw.collect_schema()
    exprs = [
        parse_date(column, schema[column], strip=strip_dates, date_format=table.date_format).alias(column)
        for column in table.spec.dates
    ]
    id_dtype = schema["offender_id"]
    if id_dtype.is_integer():
        exprs.append(pl.col("offender_id").cast(pl.Int64))
    elif id_dtype == pl.String and strip_ids:
        exprs.append(pl.col("offender_id").str.strip_chars())
    for column in TEXT_CAST:
        if column in schema and schema[column] != pl.String:
            exprs.append(pl.col(column).cast(pl.String))
    return exprs


def _typed_in_memory(table: Table, held: Collection[str] | None = None) -> pl.DataFrame:
    """The typed frame, materialised, with a :data:`NULL` flag per date column (the raw value is missing).

    ``held``: the columns kept (None: all). Every other column is still decoded, as the reader types it (so a
    value its type cannot hold fails the read as before), but only to a :data:`DECODED` flag of the row that
    is dropped at once: the frame never holds it (:func:`validate_inputs`, ``release_columns``).

    Made by the streaming engine from ``table.raw``, which may be a scan of a CSV file: the date text is
    parsed as it is read, and only the typed columns are ever held whole (at 5,000,000 releases the peak
    memory of CSV input is about half that of parsing the file into memory as text first; bench/NOTES.md).
    Validation counts ``missing-date`` from the flags; the raw text is read again only to report the rows
    of a failing rule. Text dates are parsed without stripping unless that leaves a value unparsed: the
    same values as ``typed_frame(table)`` (see :func:`parse_date`), without copying every date string.
    """
    text_dates = _flagged_dates(table)
    flagged = table.raw.with_columns(_null_flags(table))
    names = flagged.collect_schema().names()
    others = [] if held is None else [c for c in names if c not in held and not c.startswith(NULL)]
    # the columns not held, each decoded by the reader and reduced to one boolean of the row (then dropped)
    decoded = [pl.any_horizontal([pl.col(c).is_null() for c in others]).alias(DECODED)] if others else []

    def typed_as(strip_dates: bool) -> pl.DataFrame:
        typed = flagged.with_columns([*_typed_columns(table, strip_dates=strip_dates), *decoded])
        if others:
            typed = typed.select(c for c in [*names, DECODED] if c not in others)
        return typed.collect(engine="streaming").drop(DECODED, strict=False)

    typed = typed_as(strip_dates=False)
    if text_dates:
        unparsed = pl.any_horizontal((~pl.col(NULL + c) & pl.col(c).is_null()).any() for c in text_dates)
        if typed.select(unparsed).item():
            typed = typed_as(strip_dates=True)
    return typed


def _flagged_dates(table: Table) -> list[str]:
    """The date columns that get a :data:`NULL` flag: those read as text, where a missing typed date is either
    a missing raw value or text that is not a date. For any other type (a Parquet Date, a datetime, an
    all-null column) the typed date is missing exactly when the raw value is, so ``missing-date`` is counted
    on the typed column and no flag column is made (at 5,000,000 releases, 45 million booleans)."""
    schema = table.raw.collect_schema()
    return [c for c in table.spec.dates if schema[c] == pl.String]


def _null_flags(table: Table) -> list[pl.Expr]:
    return [pl.col(c).is_null().alias(NULL + c) for c in _flagged_dates(table)]


def _missing_id(dtype: pl.DataType) -> pl.Expr:
    missing = pl.col("offender_id").is_null()
    if dtype == pl.String:
        missing = missing | (pl.col("offender_id") == "")
    return missing


# ------------------------------------------------------------------------------------------------ masks
def _masks(
    table: Table, extract_date: dt.date | None, *, early_only: bool = False
) -> dict[tuple[str, str], tuple[pl.Expr, str | pl.Expr]]:
    """(rule, column) -> (boolean expression over the typed frame with raw columns, message).

    ``early_only``: the ``date-out-of-range`` masks test only "before 1900-01-01" (the extract date is not
    known yet, :func:`_count_problems`).
    """
    raw_schema = table.raw.collect_schema()
    masks: dict[tuple[str, str], tuple[pl.Expr, str | pl.Expr]] = {
        ("missing-id", "offender_id"): (
            _missing_id(table.typed.collect_schema()["offender_id"]),
            "offender_id is empty",
        ),
    }
    latest = extract_date or dt.date.max
    flagged = _flagged_dates(table)
    for column in table.spec.dates:
        missing = pl.col(NULL + column) if column in flagged else pl.col(column).is_null()
        parsed = pl.col(column)
        masks[("missing-date", column)] = (missing, f"{column} is empty")
        if raw_schema[column] == pl.String:
            masks[("unparseable-date", column)] = (
                ~missing & parsed.is_null(),
                f"{column} is not a date in the form {date_shape(table.date_format)}",
            )
        masks[("date-out-of-range", column)] = (
            (parsed < EARLIEST_DATE) if early_only else (parsed < EARLIEST_DATE) | (parsed > latest),
            f"{column} is outside {EARLIEST_DATE} .. {extract_date} (the extract date)"
            if extract_date is not None
            else f"{column} is before {EARLIEST_DATE}",
        )
    if table.spec is CONVICTIONS:
        masks[("conviction-before-offence", "conviction_date")] = (
            pl.col("conviction_date") < pl.col("offence_date"),
            "conviction_date is before offence_date",
        )
    return masks


def _with_raw(table: Table, *, values: bool = False, strip_ids: bool = True) -> pl.LazyFrame:
    """The typed frame with what the rules need of the raw one: the :data:`NULL` flags of the date columns,
    for a scanned file a raw copy of a text ``offender_id`` (to count padded ids), and with ``values`` raw
    copies of the date columns (the values a failing rule reports; for a materialised frame, read again).
    ``strip_ids=False``: a scanned file's text ids as read, with no raw copy (:func:`_rules_query`)."""
    copies = [pl.col(c).alias(RAW + c) for c in table.spec.dates] if values else []
    if not table.in_memory:  # a scanned file: one scan, flags and raw copies then the typed columns in place
        if table.raw.collect_schema()["offender_id"] == pl.String and strip_ids:
            copies.append(pl.col("offender_id").alias(RAW + "offender_id"))
        typed = _typed_columns(table, strip_ids=strip_ids)
        return table.raw.with_columns(*_null_flags(table), *copies).with_columns(typed)
    if not copies:
        return table.typed  # materialised with its flags (_typed_in_memory)
    return pl.concat([table.typed, table.raw.select(copies)], how="horizontal")


def _duplicate_masks(typed: pl.LazyFrame) -> tuple[pl.Expr, pl.Expr]:
    """(exact repeat of an earlier row, same key as another row but different attributes)."""
    key = ["offender_id", "release_date"]
    columns = [c for c in typed.collect_schema().names() if not c.startswith(RAW) and c != ROW]
    row_hash = pl.struct(columns).hash(seed=0)
    # a release_date that is missing or failed to parse is reported as such, never as a duplicate key too
    key_duplicated = pl.struct(key).is_duplicated() & pl.col("release_date").is_not_null()
    conflicting = key_duplicated & (row_hash.n_unique().over(key) > 1)
    repeated = key_duplicated & ~conflicting & row_hash.is_duplicated() & ~row_hash.is_first_distinct()
    return repeated, conflicting


# --------------------------------------------------------------------------------------------- validate
def validate_inputs(
    releases: Table,
    convictions: Table,
    *,
    extract_date: dt.date | None = None,
    dedupe: bool = False,
    in_memory: bool = True,
    extra_required: dict[str, tuple[str, ...]] | None = None,
    release_columns: Collection[str] | None = None,
    prefetch: Mapping[str, Query] | None = None,
) -> ValidatedInputs:
    """Check both tables against every rule of docs/data.md; raise :class:`DataError` listing problems.

    ``extract_date`` defaults to the latest valid ``conviction_date``. ``in_memory`` materialises the typed
    frames once so that later passes do not re-read or re-parse the files. ``release_columns`` names the
    release columns a command uses besides ``offender_id`` and ``release_date``: when the file has them
    all (``cohort`` may be absent), the others are checked, then dropped, so that a table held in memory
    does not keep them while the command runs (at 5,000,000 CSV releases, a quarter of a GB of measure's peak).

    ``prefetch`` names queries the command will make of the valid inputs (:data:`Query`): they are collected
    in one ``collect_all`` with validation's own pass, so their reading and work overlap it (both cores busy
    where small queries one after another leave one idle), and kept in ``prefetched`` when they saw exactly
    the rows and values the command gets: not when ``dedupe`` dropped rows, nor when a scanned file has ids
    with surrounding whitespace (the queries read ids unstripped, as later passes do when none is). If the
    joint collect fails, validation's pass runs alone, so invalid data is reported as without ``prefetch``.
    """
    _check_extract_date(extract_date)
    _check_columns_and_types(releases, convictions, extra_required or {}, release_columns)
    if release_columns is not None:
        releases.held = _kept_columns(releases.raw.collect_schema().names(), release_columns)
    _read_typed(releases, convictions, in_memory)

    source = "--extract-date" if extract_date is not None else "latest conviction_date in the data"
    try:
        counts, extract_date, fetched = _count_problems(releases, convictions, extract_date, prefetch)
    except (pl.exceptions.ComputeError, pl.exceptions.PanicException) as error:
        raise _unreadable(error, releases, convictions) from None
    if source == "--extract-date":
        _check_not_every_release_after(releases, counts, extract_date)
    failing, duplicates = _failing_rules(counts, dedupe)
    _raise_problems(releases, convictions, extract_date, failing)

    releases_typed, deduplicated = _valid_frames(releases, convictions, dedupe, duplicates, in_memory, release_columns)
    row_counts = {"releases": releases.rows, "convictions": convictions.rows}
    if deduplicated or any(table.padded_ids and not table.in_memory for table in (releases, convictions)):
        fetched = {}  # they saw other rows or values than the command gets: it makes them again
    return ValidatedInputs(
        releases=releases_typed,
        convictions=convictions.typed,
        extract_date=extract_date,
        extract_date_source=source,
        row_counts=row_counts,
        names={"releases": releases.name, "convictions": convictions.name},
        deduplicated_rows=deduplicated,
        id_bytes=_id_bytes(releases, convictions),
        prefetched=fetched,
        prefetched_of=(releases_typed, convictions.typed),
        read_as={"releases": releases.read_as, "convictions": convictions.read_as},
    )


def _check_extract_date(extract_date: dt.date | None) -> None:
    """A usage error for an extract date before the earliest date a record may hold (0001-01-01 would give
    thousands of date problems, not the one mistake)."""
    if extract_date is not None and extract_date < EARLIEST_DATE:
        raise UsageError(
            f"the extract date {extract_date} is before {EARLIEST_DATE}, the earliest date a record may hold "
            "(docs/data.md): give the date the data was extracted (--extract-date)"
        )


def _check_columns_and_types(
    releases: Table,
    convictions: Table,
    extra_required: Mapping[str, tuple[str, ...]],
    release_columns: Collection[str] | None,
) -> None:
    """The required columns of both tables, then (when all are there) their types: a data error listing every
    problem, before any row is read."""
    problems = check_columns(releases, extra_required.get("releases", ()))
    problems += check_columns(convictions, extra_required.get("convictions", ()))
    if not problems:
        problems = check_types(releases, convictions, release_columns)
    if problems:
        raise _data_error(pl.DataFrame(problems, schema=PROBLEM_SCHEMA))


def _read_typed(releases: Table, convictions: Table, in_memory: bool) -> None:
    """Each table's typed frame (held in memory, or scanned), a read error as the table's own error."""
    for table in (releases, convictions):
        table.in_memory = in_memory if table.in_memory is None else table.in_memory
        if not table.in_memory:
            table.held = None  # a scanned frame reads only what each pass asks of it (_used_columns)
        try:
            table.typed = _typed_in_memory(table, table.held).lazy() if table.in_memory else typed_frame(table)
        except (pl.exceptions.ComputeError, pl.exceptions.SchemaError, OSError) as error:
            if table.read_error is None:
                raise
            raise table.read_error(error) from None


def _check_not_every_release_after(
    releases: Table, counts: Mapping[tuple[str, str], int], extract_date: dt.date | None
) -> None:
    """With ``--extract-date``, one error (not a row per release) when every release is after it."""
    if not (releases.rows and counts.get(("date-out-of-range", "release_date")) == releases.rows):
        return
    # compared in polars: the earliest date may be one Python's date cannot hold (year -1 or 10183: exit 70)
    after = (
        releases.typed.select(pl.col("release_date").min() > pl.lit(extract_date, dtype=pl.Date)).collect().item()
        if extract_date is not None
        else None
    )
    if after and extract_date is not None:
        raise every_release_after(releases, extract_date)


def _failing_rules(counts: dict[tuple[str, str], int], dedupe: bool) -> tuple[dict[tuple[str, str], int], int]:
    """The rules with problems, and the duplicate releases: with ``dedupe`` exact repeats are no problem (they
    are dropped), conflicting rows still are."""
    duplicates = counts.pop(("duplicate-release", "offender_id"), 0)
    conflicts = counts.pop(("conflicting-release", "offender_id"), 0)
    if dedupe:
        failing = {key: n for key, n in counts.items() if n} | (
            {("conflicting-release", "offender_id"): conflicts} if conflicts else {}
        )
    else:
        failing = {key: n for key, n in counts.items() if n}
        if duplicates:
            failing[("duplicate-release", "offender_id")] = duplicates
        if conflicts:
            failing[("conflicting-release", "offender_id")] = conflicts
    return failing, duplicates


def _raise_problems(
    releases: Table, convictions: Table, extract_date: dt.date | None, failing: dict[tuple[str, str], int]
) -> None:
    """A data error for the failing rules (one line of advice when every bad date fits another form, else the
    problem rows), or for releases without an extract date to check them against."""
    if failing:
        advice = date_format_advice(releases, convictions, failing)
        if advice is not None:
            raise advice
        raise _data_error(_problem_rows(releases, convictions, extract_date, set(failing)), failing)
    if extract_date is None and releases.rows:  # releases but no conviction: the checks need an extract date
        raise single_problem(
            convictions.name,
            "conviction_date",
            "no extract date",
            "there is no conviction_date to take the extract date from (the file has no convictions), so "
            "releases after the extract and incomplete follow-up cannot be checked: give --extract-date",
        )


def _valid_frames(
    releases: Table,
    convictions: Table,
    dedupe: bool,
    duplicates: int,
    in_memory: bool,
    release_columns: Collection[str] | None,
) -> tuple[pl.LazyFrame, int]:
    """The valid frames as later passes read them: the validation flags dropped, exact repeats dropped with
    ``dedupe``, the release columns no command uses dropped; and how many rows were deduplicated."""
    for table in (releases, convictions):
        if table.in_memory:
            table.typed = table.typed.drop(NULL + c for c in _flagged_dates(table))
        elif table.id_bytes is not None and not table.padded_ids:
            table.typed = typed_frame(table, strip_ids=False)  # no id to strip: later passes skip the copy
    releases_typed = releases.typed
    deduplicated = 0
    if dedupe and duplicates:
        releases_typed = releases_typed.unique(maintain_order=True)
        deduplicated = duplicates
        if in_memory if releases.in_memory is None else releases.in_memory:
            releases_typed = releases_typed.collect().lazy()
    if release_columns is not None:
        releases_typed = _used_columns(releases_typed, release_columns, bool(releases.in_memory))
    return releases_typed, deduplicated


def date_format_advice(releases: Table, convictions: Table, failing: Mapping[tuple[str, str], int]) -> DataError | None:
    """One line in place of a row per date when every text date that failed to parse fits one other form:
    "every release_date looks like DD/MM/YYYY; use --date-format %d/%m/%Y" (docs/data.md, "Reading the
    files"). The forms tried are :data:`SUGGESTED_FORMATS`, on every non-missing value of each failing
    column of both files together. When a form and its day-month swap both fit (no day above 12), both are
    named and neither chosen: a date is never guessed. None when no single form fits them all (the rows are
    then reported one by one)."""
    columns: list[tuple[Table, str]] = []
    for table in (releases, convictions):
        suffix = "" if table.spec is RELEASES else "@c"
        columns += [(table, c) for c in table.spec.dates if ("unparseable-date" + suffix, c) in failing]
    if not columns:
        return None
    # ISO is always read (parse_date), so a date that failed is never ISO: the other forms are the candidates
    candidates = [f for f in SUGGESTED_FORMATS if f not in (releases.date_format, DATE_FORMAT)]
    fits = set(candidates)
    example, row = None, None
    for table in (releases, convictions):
        mine = [c for t, c in columns if t is table]
        if not mine:
            continue
        exprs = []
        for column in mine:
            present = pl.col(column).is_not_null()
            text = pl.col(column).str.strip_chars()
            exprs.append(present.sum().alias(f"{column}|n"))
            exprs.append(pl.col(column).filter(present).first().alias(f"{column}|example"))
            # the first row holding a value: arg_true, not arg_max, which returns the last of equal values when
            # polars has flagged the column sorted (a frame of two equal rows said row 2, its CSV file row 1)
            exprs.append(present.arg_true().first().alias(f"{column}|row"))
            exprs += [
                (present & text.str.to_date(form, strict=False, cache=False).is_not_null())
                .sum()
                .alias(f"{column}|{form}")
                for form in candidates
            ]
        found = table.raw.select(exprs).collect(engine="streaming").row(0, named=True)
        for column in mine:
            fits &= {form for form in candidates if found[f"{column}|{form}"] == found[f"{column}|n"]}
            if example is None:
                example, row = found[f"{column}|example"], found[f"{column}|row"] + 1
    if not fits:
        return None
    tables = [table for table in (releases, convictions) if any(t is table for t, _ in columns)]
    names = " and ".join(
        name_list([c for t, c in columns if t is table]) + (f" ({table.name})" if len(tables) > 1 else "")
        for table in tables
    )
    ordered = [form for form in candidates if form in fits]
    form = ordered[0]
    if len(ordered) == 2 and SWAPPED.get(form) == ordered[1]:
        message = (
            f"every {names} looks like {date_shape(form)} or {date_shape(ordered[1])}, and no day is above 12 to "
            f"tell which: give --date-format {form} or --date-format {ordered[1]} (a date is never guessed)"
        )
    elif len(ordered) > 1:
        message = f"every {names} fits several forms: give --date-format, one of {', '.join(ordered)}"
    else:
        message = f"every {names} looks like {date_shape(form)}; use --date-format {form}"
    return single_problem(columns[0][0].name, columns[0][1], "date-format", message, row=row, value=example)


def _used_columns(releases: pl.LazyFrame, used: Collection[str], in_memory: bool) -> pl.LazyFrame:
    """``releases`` without the columns a command does not use (:func:`validate_inputs`), if it has them all."""
    kept = _kept_columns(releases.collect_schema().names(), used)
    if kept is None:
        return releases
    narrowed = releases.select(kept)
    return narrowed.collect().lazy() if in_memory else narrowed


def _kept_columns(names: list[str], used: Collection[str]) -> tuple[str, ...] | None:
    """The columns of ``names`` a command that uses ``used`` keeps, in their order; None to keep them all (it
    uses them all, or misses one and then reports it with all the file's columns)."""
    if any(c not in names for c in set(used) - {"cohort"}):
        return None  # the command reports a missing column with all the file's columns
    wanted = {*RELEASES.required, *RELEASES.optional, *used}  # establishment: the index rule's tie-break
    if wanted.issuperset(names):
        return None
    return tuple(c for c in names if c in wanted)


def _id_bytes(*tables: Table) -> tuple[int, int] | None:
    """The shortest and longest text offender_id of the tables, in bytes; None unless the ids are text."""
    if any(table.raw.collect_schema()["offender_id"] != pl.String for table in tables):
        return None
    bounds = [table.id_bytes for table in tables if table.id_bytes is not None]
    if not bounds:
        return None
    return min(low for low, _ in bounds), max(high for _, high in bounds)


def _count_problems(
    releases: Table, convictions: Table, extract_date: dt.date | None, prefetch: Mapping[str, Query] | None = None
) -> tuple[dict[tuple[str, str], int], dt.date | None, dict[str, pl.DataFrame]]:
    """One aggregate pass per table: the number of rows failing each rule, the extract date, and the results
    of the ``prefetch`` queries (:func:`validate_inputs`) collected with it.

    Without ``extract_date`` it is the latest ``conviction_date`` in 1900-01-01 .. 9999-12-30 (docs/data.md;
    a later one, such as the placeholder 9999-12-31, is then after the extract date and reported),
    found in the same pass rather than by a scan of its own: ``date-out-of-range`` then counts the dates
    before 1900 there, and each date column's latest value; only a column whose latest date is after the
    extract date (invalid data) has its later dates counted, in a second query. The two parts are
    disjoint (the extract date is not before 1900), so the count is the rule's.
    """
    derived = extract_date is None
    queries = [_rules_query(table, extract_date, derived) for table in (releases, convictions)]
    keys = [releases, convictions]
    # a scanned file: every other column is decoded once here, so a damaged file is reported; a query of its
    # own on the file as read, so that the rules' pass reads and carries only the columns it checks
    decoded = [query for table in (releases, convictions) if (query := _decoding_query(table)) is not None]
    # rows less distinct keys of (offender_id, release_date): runs of equal values in the sorted keys (a parallel
    # sort; n_unique's hash table took about twice the CPU at 5,000,000 releases). When they are all distinct so
    # are the pairs, and the exact duplicate checks are skipped; a key shared by different pairs only sends the
    # run to them. A command's shared index keys with cohorts by period come from the same sort (one sort of
    # every release, not two: reoffend.cohort.shared_from_release_order).
    fused = {
        name: query.period
        for name, query in (prefetch or {}).items()
        if isinstance(query, SharedIndexKeys) and "cohort" not in releases.raw.collect_schema().names()
    }
    ordered = _with_raw(releases, strip_ids=False).select(release_order_key().alias(ORDER_KEY)).sort(ORDER_KEY)
    if fused:
        ordered = ordered.cache()  # read and sorted once for both queries
    queries.append(_key_duplicated(ordered))
    checks = len(queries) + len(decoded)
    fetched: dict[str, pl.DataFrame] = {}
    if prefetch:
        frames = [_prefetch_frame(table) for table in (releases, convictions)]
        asked = [
            shared_from_release_order(ordered, fused[name]) if name in fused else query(*frames)
            for name, query in prefetch.items()
        ]
        try:
            results = pl.collect_all([*queries, *decoded, *asked])
            fetched = dict(zip(prefetch, results[checks:], strict=True))
        except (pl.exceptions.PolarsError, pl.exceptions.PanicException):
            results = pl.collect_all([*queries, *decoded])  # validation alone: its own error, or valid after all
    else:
        results = pl.collect_all([*queries, *decoded])
    results = results[: len(queries)]
    for index, table in enumerate(keys):  # ids that may have surrounding whitespace: the exact rules, stripped
        if "edges|" in results[index].columns:
            if results[index].get_column("edges|").item():
                results[index] = _rules_query(table, extract_date, derived, quick_ids=False).collect()
                if table is releases and results[index].get_column("padded|").item():
                    ordered = _with_raw(releases).select(release_order_key().alias(ORDER_KEY)).sort(ORDER_KEY)
                    results[-1] = _key_duplicated(ordered).collect()
            else:
                results[index] = results[index].drop("edges|")
    results[0] = pl.concat([results[0], results.pop().select("key-duplicated|")], how="horizontal")
    if derived:
        extract_date = results[1].get_column("extract|").item()
    late: list[tuple[Table, str]] = []  # (table, date column) with dates after the extract date
    last_day = None if extract_date is None else (extract_date - dt.date(1970, 1, 1)).days
    counts: dict[tuple[str, str], int] = {}
    for table, result in zip(keys, results, strict=True):
        row = result.row(0, named=True)
        row.pop("extract|", None)
        for column in table.spec.dates:
            latest = row.pop(f"latest|{column}", None)
            if latest is not None and last_day is not None and latest > last_day:
                late.append((table, column))
        table.rows = int(row.pop("rows|"))
        table.padded_ids = int(row.pop("padded|", 0) or 0)
        if "id-bytes-min|" in row:
            low, high = row.pop("id-bytes-min|"), row.pop("id-bytes-max|")
            table.id_bytes = None if low is None else (int(low), int(high))
        key_duplicated = int(row.pop("key-duplicated|", 0) or 0)
        for name, value in row.items():
            rule, column = name.split("|")
            counts[(rule, column) if table.spec is RELEASES else (rule + "@c", column)] = int(value or 0)
        if key_duplicated:  # some rows may share offender_id and release_date: count exactly
            _count_duplicate_releases(table, counts)
    if late:  # invalid data: dates after the extract date, counted now that it is known
        after = pl.collect_all(
            [_with_raw(table).select((pl.col(column) > extract_date).sum()) for table, column in late]
        )
        for (table, column), result in zip(late, after, strict=True):
            key = ("date-out-of-range" if table.spec is RELEASES else "date-out-of-range@c", column)
            counts[key] += int(result.item() or 0)
    return counts, extract_date, fetched


def _decoding_query(table: Table) -> pl.LazyFrame | None:
    """A scanned file's columns that the rules' pass does not read, decoded once so that a damaged file is
    reported (None for a table held in memory, or with no such column). A scanned CSV file (``--streaming``)
    has every column read: polars checks a row's number of fields only when a scan reads them all, so a row
    with too many would otherwise pass validation and fail the measure's own scan as an internal error."""
    if table.in_memory:
        return None
    names = table.raw.collect_schema().names()
    if table.read_error is None:
        names = [c for c in names if c not in (*table.spec.dates, "offender_id")]
    return table.raw.select(pl.col(c).is_null().sum() for c in names) if names else None


def _count_duplicate_releases(table: Table, counts: dict[tuple[str, str], int]) -> None:
    """The duplicate-release rules counted exactly, comparing whole rows: a releases table held without the
    columns the command drops (``held``) is read and typed whole after all."""
    if table.held is not None:
        table.typed = _typed_in_memory(table).lazy()
        table.held = None
    repeated, conflicting = _duplicate_masks(table.typed)
    dup = table.typed.select(repeated.sum().alias("r"), conflicting.sum().alias("c")).collect().row(0)
    counts[("duplicate-release", "offender_id")] = int(dup[0])
    counts[("conflicting-release", "offender_id")] = int(dup[1])


def _rules_query(table: Table, extract_date: dt.date | None, derived: bool, *, quick_ids: bool = True) -> pl.LazyFrame:
    """One table's pass of :func:`_count_problems`: the rows failing each rule, the rows, the latest dates and
    (without ``extract_date``) the extract date, the text ids' shortest and longest length in bytes and, for a
    scanned file, how many ids have surrounding whitespace (``padded|``).

    ``quick_ids``: a scanned file's text ids are read as they are, not stripped (a copy of every id, 0.27 CPU s
    per 20 million), and ``edges|`` counts the ids whose first or last byte is not printable ASCII. When none
    is, no id has whitespace to strip (a UTF-8 character beyond ASCII, whitespace or not, has no byte in
    0x21..0x7E), so every figure is what the stripped ids give and ``padded|`` is 0; otherwise the caller
    makes the pass again with ``quick_ids=False``, on the stripped ids."""
    scanned_text = not table.in_memory and table.raw.collect_schema()["offender_id"] == pl.String
    quick = quick_ids and scanned_text
    frame = _with_raw(table, strip_ids=not quick)
    masks = _masks(table, extract_date, early_only=derived)
    exprs = [mask.sum().alias(f"{rule}|{column}") for (rule, column), (mask, _) in masks.items()]
    exprs.append(pl.len().alias("rows|"))
    if derived:
        # as day numbers: a Date beyond year 9999 (invalid, and reported as such) is no Python date
        exprs += [pl.col(column).max().cast(pl.Int32).alias(f"latest|{column}") for column in table.spec.dates]
        if table.spec is CONVICTIONS:
            day = pl.col("conviction_date")
            # not .filter: that stops streaming
            latest = pl.when(day.is_between(EARLIEST_DATE, LATEST_EXTRACT_DATE)).then(day).max()
            exprs.append(latest.alias("extract|"))
    if table.raw.collect_schema()["offender_id"] == pl.String:
        length = pl.col("offender_id").str.len_bytes()
        exprs += [length.min().alias("id-bytes-min|"), length.max().alias("id-bytes-max|")]
        if quick:
            ids = pl.col("offender_id").cast(pl.Binary)
            plain = ids.bin.get(0, null_on_oob=True).is_between(0x21, 0x7E)
            plain = plain & ids.bin.get(-1, null_on_oob=True).is_between(0x21, 0x7E)
            exprs.append((~plain).sum().alias("edges|"))  # null and empty ids: null, not counted
        elif scanned_text:  # a materialised frame is stripped once; a scanned one at each pass
            exprs.append((length != pl.col(RAW + "offender_id").str.len_bytes()).sum().alias("padded|"))
    return frame.select(exprs)


def _key_duplicated(ordered: pl.LazyFrame) -> pl.LazyFrame:
    """Rows less distinct values of ``ordered``'s one column, sorted (:func:`_count_problems`)."""
    order = pl.col(ordered.collect_schema().names()[0])
    return ordered.select((pl.len() - 1 - order.rle_id().max()).alias("key-duplicated|"))


def every_release_after(releases: Table, extract_date: dt.date) -> UsageError:
    """One sentence, not a problem a row, when every release is dated after a given extract date (issue 24: an
    extract date of 2010-01-01 gave 27,202 problems): a usage error (2)."""
    return UsageError(
        f"the extract date {extract_date} is before every release (all {releases.rows:,} release dates in "
        f"{releases.name} are after it): give the date the data was extracted (--extract-date)"
    )


def _prefetch_frame(table: Table) -> pl.LazyFrame:
    """The frame a prefetch query reads: the typed frame as later passes will read it if the data is valid
    (a scanned file's text ids unstripped, which :func:`validate_inputs` checks afterwards)."""
    if table.in_memory:
        return table.typed.drop(NULL + c for c in _flagged_dates(table))
    return typed_frame(table, strip_ids=False)


def _unreadable(error: BaseException, *tables: Table) -> BaseException:
    """A file that is read at each pass (Parquet; CSV with --streaming) failed while being read: name it, as
    reading it whole would (for CSV the row and line, :attr:`Table.read_error`).

    polars reports a damaged page as a ComputeError or, from its streaming engine, sometimes as a panic.
    """
    for table in tables:
        if table.in_memory:
            continue
        try:
            table.raw.select(pl.all().is_null().sum()).collect()
        except (pl.exceptions.ComputeError, pl.exceptions.PanicException) as failure:
            if table.read_error is not None:  # a scanned CSV file: the row and line, as reading it whole says
                return table.read_error(failure)
            lines = str(failure).strip().splitlines()
            return single_problem(table.name, None, "unreadable file", f"cannot read: {lines[0] if lines else failure}")
    return error


def _problem_rows(
    releases: Table, convictions: Table, extract_date: dt.date | None, failing: set[tuple[str, str]]
) -> pl.DataFrame:
    """Row-level problems for the failing rules, in file then row order."""
    parts = []
    for table in (releases, convictions):
        suffix = "" if table.spec is RELEASES else "@c"
        frame = _with_raw(table, values=True).with_row_index(ROW, offset=1)
        rules = dict(_masks(table, extract_date))
        if table.spec is RELEASES and failing & {
            ("duplicate-release", "offender_id"),
            ("conflicting-release", "offender_id"),
        }:
            repeated, conflicting = _duplicate_masks(table.typed)
            key = ["offender_id", "release_date"]
            frame = frame.with_columns(
                pl.col(ROW).min().over(key).alias("_first_row"),
                pl.col(ROW).cast(pl.String).str.join(", ").over(key).alias("_key_rows"),
            )
            rules[("duplicate-release", "offender_id")] = (
                repeated,
                pl.format("exact repeat of row {} (use --dedupe to drop repeats)", pl.col("_first_row")),
            )
            rules[("conflicting-release", "offender_id")] = (
                conflicting,
                pl.format(
                    "rows {} have the same offender_id and release_date but other values differ", pl.col("_key_rows")
                ),
            )
        for (rule, column), (mask, message) in rules.items():
            if (rule + suffix, column) not in failing:
                continue
            value = pl.col(RAW + column) if column in table.spec.dates else pl.col(column)
            if frame.collect_schema()[value.meta.output_name()] == pl.Date:
                value = _date_text(value)
            parts.append(
                frame.filter(mask).select(
                    pl.lit(table.name).alias("file"),
                    pl.col(ROW).cast(pl.Int64).alias("row"),
                    pl.lit(column).alias("column"),
                    pl.lit(rule).alias("rule"),
                    value.cast(pl.String).alias("value"),
                    (message if isinstance(message, pl.Expr) else pl.lit(message)).alias("message"),
                    pl.lit(0 if table.spec is RELEASES else 1).alias("_file_order"),
                )
            )
    detail = pl.concat(pl.collect_all(parts)) if parts else pl.DataFrame(schema=PROBLEM_SCHEMA)
    return detail.sort("_file_order", "row", "column", "rule").drop("_file_order")


# The days since 1970-01-01 that polars can write as text (chrono's dates, -262143-01-01 .. +262142-12-31):
# a Parquet Date column can hold any 32-bit day number, and casting one outside these to text panics.
WRITABLE_DAYS = (-96_465_292, 95_026_236)


def _date_text(value: pl.Expr) -> pl.Expr:
    """A Date as YYYY-MM-DD text, or, for a day number polars cannot write as a date, as that number
    ("day 2147483637 after 1970-01-01"): the value a ``date-out-of-range`` problem reports must not panic.
    Both branches are evaluated on every row, so the date branch is clipped into the writable range first."""
    days = value.cast(pl.Int32)
    writable = days.clip(*WRITABLE_DAYS).cast(pl.Date).cast(pl.String)
    return pl.when(days.is_between(*WRITABLE_DAYS)).then(writable).otherwise(pl.format("day {} after 1970-01-01", days))


def _data_error(problems: pl.DataFrame, counts: dict[tuple[str, str], int] | None = None) -> DataError:
    totals: dict[str, int] = {}
    if counts is None:
        totals = dict(problems.group_by("rule").len().iter_rows())
    else:
        for (rule, _), n in counts.items():
            rule = rule.removesuffix("@c")
            totals[rule] = totals.get(rule, 0) + n
    return DataError(problems, totals)


# ------------------------------------------------------------------------------------ covariate values
NUMERIC_SHARE = 0.5  # a text column in which at least this share of values are numbers is a numeric column
SHOWN_ROWS = 20
FILE_ROW = "_file_row"


def release_file_rows(releases: pl.LazyFrame) -> pl.LazyFrame:
    """offender_id, release_date and each release's row in its file (1-based below the header)."""
    return releases.select("offender_id", "release_date").with_row_index(FILE_ROW, offset=1)


def file_rows_of(chosen: pl.DataFrame, file_rows: pl.LazyFrame | None) -> list[int]:
    """The file rows of the first :data:`SHOWN_ROWS` releases in ``chosen`` (by offender_id, release_date).

    Lets a problem found after the index release is chosen (a missing covariate) name its row in the file,
    as a bad date does (issue 11). Empty when the rows are not known.
    """
    if file_rows is None or chosen.height == 0:
        return []
    keys = chosen.select("offender_id", "release_date").lazy()
    found = (
        file_rows.join(keys, on=["offender_id", "release_date"], how="semi").sort(FILE_ROW).head(SHOWN_ROWS).collect()
    )
    return [int(r) for r in found.get_column(FILE_ROW)]


def check_covariate_values(releases: pl.LazyFrame, covariates: tuple[str, ...] | list[str], file: str) -> None:
    """Covariate values are validated like dates (issue 11): :class:`DataError` (65) naming row and value.

    A covariate read as text whose values are mostly numbers is a numeric column with bad values: each value
    that is not a number is a ``covariate-not-numeric`` problem (``abc`` in ``age``), where the comparison
    would otherwise turn ``age`` into categories and fail on "unseen" levels. If every value is a number the
    column is numbers stored as text (a Parquet string column): one ``covariate-stored-as-text`` problem.
    Rows are those of the file (1-based below the header).
    """
    schema = releases.collect_schema()
    text = [c for c in dict.fromkeys(covariates) if c in schema and schema[c] == pl.String]
    if not text:
        return

    def number(column: str) -> pl.Expr:
        return pl.col(column).str.strip_chars().cast(pl.Float64, strict=False)

    stats = (
        releases.select(
            *[pl.col(c).is_not_null().sum().alias(f"{c}|present") for c in text],
            *[number(c).is_not_null().sum().alias(f"{c}|numbers") for c in text],
        )
        .collect()
        .row(0, named=True)
    )
    problems: list[dict] = []
    totals: dict[str, int] = {}
    for column in text:
        present, numbers = stats[f"{column}|present"], stats[f"{column}|numbers"]
        if not present or numbers / present < NUMERIC_SHARE:
            continue  # a text covariate: categories
        if numbers == present:
            problems.append(
                problem_row(
                    file,
                    column,
                    "covariate-stored-as-text",
                    f"covariate {column} holds numbers stored as text ({present:,} values); store the column as "
                    "numbers, or the models would read every value as a category of its own",
                )
            )
            totals["covariate-stored-as-text"] = totals.get("covariate-stored-as-text", 0) + 1
            continue
        bad = (
            releases.select(pl.col(column))
            .with_row_index(ROW, offset=1)
            .filter(pl.col(column).is_not_null() & number(column).is_null())
        )
        count = bad.select(pl.len()).collect().item()
        for row_number, value in bad.head(SHOWN_ROWS).collect().iter_rows():
            problems.append(
                problem_row(
                    file,
                    column,
                    "covariate-not-numeric",
                    f"covariate {column} is numeric ({numbers:,} of its {present:,} values are numbers), "
                    "but this value is not a number",
                    row=row_number,
                    value=value,
                )
            )
        totals["covariate-not-numeric"] = totals.get("covariate-not-numeric", 0) + count
    if problems:
        raise DataError(pl.DataFrame(problems, schema=PROBLEM_SCHEMA), totals)


# --------------------------------------------------------------------------------------------- warnings
ID_SAMPLE = 10_000  # conviction rows whose ids are looked for among the releases before the full check
RELEASE_SAMPLE = 100_000  # release rows those are looked for in first, before all of them
CODE_SAMPLE = 100_000  # conviction rows the excluded codes are looked for in first, before all of them


def input_warnings(inputs: ValidatedInputs, excluded_offences: frozenset[str] = frozenset()) -> list[RunWarning]:
    """Valid inputs that are probably not what was meant (issue 11): said on stderr, never silent.

    * no conviction's offender_id is a released person's (ids written ``007`` in one file and ``7`` in the
      other): every rate would be 0%;
    * an ``--exclude-offences`` code that no conviction has (a typo, or another coding scheme);
    * a releases file with a header and no row: every figure is for nobody (an empty table with exit 0 would
      be a silent success; the id warning above would send the user looking for the wrong cause);
    * a convictions file with a header and no row: every rate is 0% (an extract cut short looks like that).
    """
    warnings = []
    if inputs.row_counts.get("releases") == 0:
        warnings.append(
            RunWarning(
                "empty-releases",
                f"{inputs.names['releases']} has a header but no release rows: there is nobody to measure",
            )
        )
    elif inputs.row_counts.get("convictions") == 0:
        warnings.append(
            RunWarning(
                "empty-convictions",
                f"{inputs.names['convictions']} has a header but no conviction rows: nobody can reoffend, so every "
                "rate is 0%; check that the extract is complete",
            )
        )
    found = prefetched(inputs, warning_queries(excluded_offences))
    # Usually some of the first conviction rows are released people, and found among the first release rows:
    # that settles "some id matches" for a look at a few rows (the limit does not stop a join's scan early:
    # all 5,000,000 release ids cost 0.13 CPU s), where the full answer hashes every distinct conviction id
    # (3.3 of the 11 CPU seconds of a 5,000,000-release measure, bench/NOTES.md). Only when the first
    # releases match none of the sample are all releases looked through, and only when those match none
    # is the full check run, so the warning fires exactly as before.
    releases_ids, conviction_ids = _ids(inputs.releases), _ids(inputs.convictions)
    sample = _id_sample(inputs.convictions)
    if (
        not found[_sample_match_name()].height
        and inputs.row_counts.get("releases") != 0
        and not releases_ids.join(sample, on="offender_id", how="semi").limit(1).collect().height
    ):
        matched, convicted = pl.collect_all(
            [
                conviction_ids.unique().join(releases_ids.unique(), on="offender_id", how="semi").limit(1),
                conviction_ids.limit(1),
            ]
        )
        if convicted.height and not matched.height:
            warnings.append(
                RunWarning(
                    "no-matching-ids",
                    f"no offender_id in {inputs.names['convictions']} matches one in {inputs.names['releases']}, so "
                    "nobody can reoffend; check that the ids are written alike in both files (e.g. 007 and 7)",
                )
            )
    if excluded_offences and "offence_code" in inputs.convictions.collect_schema().names():
        present = set(found[_codes_present_name(excluded_offences)].to_series().drop_nulls().to_list())
        if excluded_offences - present and inputs.row_counts.get("convictions", 0) > CODE_SAMPLE:
            present = set(_codes_present(inputs.convictions, excluded_offences).collect().to_series().drop_nulls())
        unused = sorted(excluded_offences - present)
        if unused:
            warnings.append(
                RunWarning(
                    "unused-exclusion-codes",
                    f"--exclude-offences: no conviction has the offence code(s) {', '.join(unused)}; check the codes",
                    subjects=unused,
                )
            )
    return warnings


def no_reoffence_reason(inputs: ValidatedInputs, excluded_offences: frozenset[str] = frozenset()) -> tuple[str, str]:
    """Why no conviction counted as a reoffence although the convictions file has rows (docs/data.md, issue 24):
    no offender_id links the files, every offence code is excluded, or no offence of a released person falls in
    a follow-up window and is proven within the waiting period. Called only when nothing counted (one cheap
    look at the ids and codes). The reason's kind (``ids``, ``excluded`` or ``window``) and a sentence."""
    convictions, releases = inputs.names["convictions"], inputs.names["releases"]
    linked = _ids(inputs.convictions).join(_ids(inputs.releases).unique(), on="offender_id", how="semi")
    if not linked.limit(1).collect().height:
        return "ids", f"no offender_id in {convictions} matches one in {releases} (are the ids written alike?)"
    if excluded_offences and "offence_code" in inputs.convictions.collect_schema().names():
        code = pl.col("offence_code").cast(pl.String)
        kept = inputs.convictions.filter(code.is_null() | ~code.is_in(sorted(excluded_offences)))
        if not kept.limit(1).collect().height:
            return "excluded", f"every conviction in {convictions} has an excluded offence code"
    return "window", (
        f"no offence of a released person in {convictions} falls in a follow-up window and is proven within the "
        "waiting period"
    )


def _sample_match_name() -> str:
    return f"warnings: one of the first {RELEASE_SAMPLE} release ids among the first {ID_SAMPLE} conviction rows"


def _codes_present_name(excluded_offences: frozenset[str]) -> str:
    return f"warnings: which of the codes {sorted(excluded_offences)} the first {CODE_SAMPLE} conviction rows have"


def _codes_present(convictions: pl.LazyFrame, excluded_offences: frozenset[str]) -> pl.LazyFrame:
    code = pl.col("offence_code").cast(pl.String)
    return convictions.select(code.filter(code.is_in(sorted(excluded_offences))).unique())


def warning_queries(excluded_offences: frozenset[str] = frozenset()) -> dict[str, Query]:
    """The queries of :func:`input_warnings`, by name: a command may have them collected with validation's
    pass (:func:`validate_inputs`, ``prefetch``)."""

    def sample_match(releases: pl.LazyFrame, convictions: pl.LazyFrame) -> pl.LazyFrame:
        return _ids(releases).head(RELEASE_SAMPLE).join(_id_sample(convictions), on="offender_id", how="semi").limit(1)

    def codes_present(_releases: pl.LazyFrame, convictions: pl.LazyFrame) -> pl.LazyFrame:
        if "offence_code" not in convictions.collect_schema().names():
            return pl.LazyFrame(schema={"offence_code": pl.String})
        return _codes_present(convictions.head(CODE_SAMPLE), excluded_offences)

    queries: dict[str, Query] = {_sample_match_name(): sample_match}
    if excluded_offences:
        queries[_codes_present_name(excluded_offences)] = codes_present
    return queries


def _ids(frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.select(pl.col("offender_id").cast(pl.String))


def _id_sample(convictions: pl.LazyFrame) -> pl.LazyFrame:
    """The distinct ids of the first :data:`ID_SAMPLE` conviction rows: looked for among the releases first."""
    return _ids(convictions).head(ID_SAMPLE).unique()


# ---------------------------------------------------------------------------------------------- summary
def summarise_inputs(inputs: ValidatedInputs) -> dict[str, Any]:
    """Rows, people and date ranges of the validated inputs (what ``validate`` prints)."""
    release_stats, conviction_stats = pl.collect_all(
        [
            inputs.releases.select(
                pl.len().alias("rows"),
                pl.col("offender_id").n_unique().alias("people"),
                pl.col("release_date").min().alias("first_release_date"),
                pl.col("release_date").max().alias("last_release_date"),
            ),
            inputs.convictions.select(
                pl.len().alias("rows"),
                pl.col("offender_id").n_unique().alias("people"),
                pl.col("offence_date").min().alias("first_offence_date"),
                pl.col("offence_date").max().alias("last_offence_date"),
                pl.col("conviction_date").min().alias("first_conviction_date"),
                pl.col("conviction_date").max().alias("last_conviction_date"),
            ),
        ]
    )
    return {
        "releases": release_stats.row(0, named=True),
        "convictions": conviction_stats.row(0, named=True),
    }
