"""The proven reoffending measure as one SQL query, for the engine where the records already are.

``reoffend sql`` prints, for a :class:`~reoffend.measure.MeasureParams`, a query that computes what
:func:`reoffend.measure.measure` computes (docs/measures.md, every rule; docs/sql.md):

* cohorts: the table's ``cohort`` column (cast to text) when :attr:`SqlSource.cohort_column`, else the
  ``--period`` label of ``release_date`` (``2024-01``, ``2024Q1``, ``2024``, ``2023-24``);
* the index release: each person's earliest release per cohort (``ROW_NUMBER() ... = 1``), or every release;
* ``--where`` (values compared as text; a null never matches), then ``--latest-cohort``, after the index
  release is chosen, as in :func:`reoffend.measure.measured_releases`;
* the follow-up window and its comparisons from :class:`~reoffend.window.FollowUpWindow`'s SQL methods (one
  definition of the window; calendar months with month-end clamping in every dialect);
* ``--incomplete exclude`` drops index releases whose follow-up is incomplete at the extract date
  (``--extract-date``, else the latest conviction_date in 1900-01-01 .. 9999-12-30, as validation takes it);
* reoffences, reconviction events (distinct ``appearance_id`` where :attr:`SqlSource.appearance_ids`, a row
  without one being its own appearance on its conviction date; else distinct ``conviction_date``), days to
  the first reoffence; then per group every column of ``measure``: counts, exact ratios (null on a zero
  denominator), the Wilson bounds with the same operation order and constants as reoffend/intervals.py,
  mean days, and the median (the mean of the one or two middle values, found by row numbers, so it is exact
  in every engine, Trino included, which has only an approximate percentile);
* no group columns: one row even for an empty table (counts 0, rates null); rows sorted by the group
  columns, nulls last.

What does not move into the query is validation (docs/data.md): the query trusts its tables as ``measure``
trusts validated inputs. :func:`validation_query` counts the problems that SQL can find, one row per rule.

The syntax trees are built with sqlglot and rendered in each dialect by its generator (no per-dialect text).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres

from .cohort import PERIODS
from .errors import UsageError
from .intervals import normal_quantile
from .measure import GROUP_MEASURES, MeasureParams
from .validate import EARLIEST_DATE
from .window import LATEST_EXTRACT_DATE, check_extract_date

DIALECTS = ("duckdb", "spark", "trino", "bigquery", "postgres")

# names of the query's own common table expressions and helper columns
_RANK, _EVENT, _FIRST, _DAYS, _POS, _N = "_index_rank", "_event", "_first_offence", "_days", "_median_pos", "_median_n"


@dataclass(frozen=True)
class SqlSource:
    """Where the records are in the warehouse and which optional columns they have.

    ``column_map`` is ``--map``: canonical name -> the table's column (applied to both tables, as on read).
    The Python path sees the files and so knows whether ``cohort`` and ``appearance_id`` exist; the query
    cannot, so they are said here (a mapped name implies the column exists).
    """

    releases_table: str = "releases"
    convictions_table: str = "convictions"
    column_map: Mapping[str, str] = field(default_factory=dict)
    cohort_column: bool = False
    appearance_ids: bool = False
    extract_date: dt.date | None = None
    releases_file: str | None = None  # DuckDB only: read the file in the query instead of a table
    convictions_file: str | None = None

    def __post_init__(self) -> None:
        check_extract_date(self.extract_date)
        for path in (self.releases_file, self.convictions_file):
            if path is not None:
                _file_reader(path)  # a file that cannot be read in SQL is refused now, not in the database

    def relation(self, which: str) -> exp.Table:
        """What the query reads the ``releases`` or ``convictions`` from: the file (``read_parquet(...)`` and
        the like, the path a quoted string literal) or the table."""
        path = self.releases_file if which == "releases" else self.convictions_file
        if path is not None:
            return exp.Table(this=_file_reader(path))
        return _table(self.releases_table if which == "releases" else self.convictions_table)

    def describe(self, which: str) -> str:
        path = self.releases_file if which == "releases" else self.convictions_file
        if path is not None:
            return f"file {path}"
        return self.releases_table if which == "releases" else self.convictions_table

    @property
    def has_cohort(self) -> bool:
        return self.cohort_column or "cohort" in self.column_map

    @property
    def has_appearance_ids(self) -> bool:
        return self.appearance_ids or "appearance_id" in self.column_map

    def column(self, canonical: str) -> str:
        return self.column_map.get(canonical, canonical)


# The releases' columns docs/data.md names (required, optional, and the covariates it lists): the query cannot
# see the table, so --by and --where may name these, a --map name, or a column declared with --release-columns.
RELEASE_COLUMNS = (
    "offender_id",
    "release_date",
    "establishment",
    "cohort",
    "age",
    "sex",
    "sentence_months",
    "prior_convictions",
    "index_offence",
)


def known_release_columns(source: SqlSource, declared: Sequence[str] = ()) -> tuple[str, ...]:
    """The release columns a query may group or filter by: :data:`RELEASE_COLUMNS`, the ``--map`` names, and
    ``declared`` (``--release-columns``), in that order, each once."""
    return tuple(dict.fromkeys([*RELEASE_COLUMNS, *source.column_map, *declared]))


# ------------------------------------------------------------------------------------------ small helpers
def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _table(name: str) -> exp.Table:
    """``[catalog.][schema.]table``, each part plain or quoted (``"a.b".c``: the schema ``a.b``, the table ``c``;
    backticks as Spark and BigQuery quote; a quote inside doubled), written quoted in every dialect."""
    parts = [exp.to_identifier(part, quoted=True) for part in _name_parts(name)]
    if not all(part.name for part in parts) or len(parts) > 3:
        raise UsageError(f"not a table name: {name!r} (give [catalog.][schema.]table)")
    table, db, catalog = [*reversed(parts), None, None][:3]
    return exp.Table(this=table, db=db, catalog=catalog)


FILE_READERS = {
    ".parquet": "read_parquet",
    ".csv": "read_csv",
    ".tsv": "read_csv",
    ".ndjson": "read_ndjson",
    ".jsonl": "read_ndjson",
}


def _file_reader(path: str) -> exp.Expr:
    """DuckDB's reader of ``path`` by its extension (``.gz``/``.zst`` after it allowed for text files); CSV read
    with every column as text (``all_varchar``), as `measure` reads ids: a leading zero is kept."""
    if not path.strip() or any(unicodedata.category(char) == "Cc" for char in path):
        raise UsageError(f"not a file name for the query: {path!r}")
    name = path.lower()
    for compressed in (".gz", ".zst"):
        name = name.removesuffix(compressed)
    suffix = next((s for s in FILE_READERS if name.endswith(s)), None)
    if suffix is None or (suffix == ".parquet" and name != path.lower()):
        raise UsageError(
            f"{path}: the query reads .parquet, .csv, .tsv, .ndjson or .jsonl files (text ones may end .gz or .zst)"
        )
    arguments: list[exp.Expr] = [exp.Literal.string(path)]
    if FILE_READERS[suffix] == "read_csv":
        arguments.append(exp.EQ(this=exp.column("all_varchar"), expression=exp.true()))
        if suffix == ".tsv":
            arguments.append(exp.EQ(this=exp.column("delim"), expression=exp.Literal.string("\t")))
    return exp.Anonymous(this=FILE_READERS[suffix], expressions=arguments)


def _name_parts(name: str) -> list[str]:
    """The parts of a qualified name, split at the dots outside quotes (``"``, `````), quotes removed."""
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    position = 0
    while position < len(name):
        char = name[position]
        if quote is not None:
            if char == quote and name[position + 1 : position + 2] == quote:  # a doubled quote is one quote
                current.append(char)
                position += 1
            elif char == quote:
                quote = None
            else:
                current.append(char)
        elif char in '"`':
            quote = char
        elif char == ".":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        position += 1
    if quote is not None:
        raise UsageError(f"not a table name: {name!r} (a quote {quote} is never closed)")
    parts.append("".join(current).strip())
    if any(unicodedata.category(char) == "Cc" for char in name):
        raise UsageError(f"not a table name: {name!r} (it holds a control character such as a line break)")
    plain = [part for part, was_quoted in zip(parts, _quoted_parts(name), strict=True) if not was_quoted]
    odd = [part for part in plain if part and not PLAIN_IDENTIFIER.fullmatch(part)]
    if odd:
        raise UsageError(
            f"not a table name: {name!r} ({odd[0]!r} is not a plain name: letters, digits, _, $ and -, not starting "
            'with a digit; quote a part that really has other characters, e.g. "my table")'
        )
    return parts


PLAIN_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$-]*")  # - as BigQuery project ids have it


def _quoted_parts(name: str) -> list[bool]:
    """Per dot-separated part of ``name`` (as :func:`_name_parts` splits it): whether it was written quoted."""
    flags: list[bool] = []
    quoted = False
    quote: str | None = None
    for char in name:
        if quote is not None:
            if char == quote:
                quote = None  # a doubled quote closes and reopens: still quoted
        elif char in '"`':
            quote, quoted = char, True
        elif char == ".":
            flags.append(quoted)
            quoted = False
    flags.append(quoted)
    return flags


BINARY = "reoffend_binary_order"  # a column's meta: compared and ordered by code point, whatever the collation


def _binary(column: exp.Column) -> exp.Column:
    """``column`` (text) compared and ordered by its characters' code points, as polars does, not by the
    database's collation: PostgreSQL under a linguistic collation puts ``Z-early`` after ``b-late`` (and may
    even find two different labels equal), so ``--latest-cohort`` would pick another cohort than ``measure``.
    The other dialects compare text by code point already; PostgreSQL is told ``COLLATE "C"``."""
    column.meta[BINARY] = True
    return column


def _num(value: float | int) -> exp.Expr:
    """A numeric literal; a float in exponent form, which every dialect reads as a double (not a decimal)."""
    if isinstance(value, float):
        text = repr(value)
        return exp.Literal.number(text if "e" in text else f"{text}e0")
    return exp.Literal.number(value)


def _str(value: str) -> exp.Expr:
    return exp.Literal.string(value)


def _double(expression: exp.Expr) -> exp.Expr:
    return exp.cast(expression, exp.DataType.Type.DOUBLE)


def _text(expression: exp.Expr) -> exp.Expr:
    return exp.cast(expression, exp.DataType.Type.TEXT)


def _bigint(expression: exp.Expr) -> exp.Expr:
    return exp.cast(expression, exp.DataType.Type.BIGINT)


def _date(expression: exp.Expr) -> exp.Expr:
    return exp.cast(expression, exp.DataType.Type.DATE)


def _lenient_date(expression: exp.Expr) -> exp.Expr:
    """The column as a DATE, or null where its text is not a date (``TRY_CAST``; ``SAFE_CAST`` in BigQuery).

    For the validation query, which must count bad dates rather than fail on them. Postgres has no such cast:
    there, a date column held as text that does not parse makes the validation query fail (docs/sql.md).
    """
    text = exp.Trim(this=_text(expression))
    return exp.TryCast(this=text, to=exp.DataType.build("DATE"), safe=True)


def _date_literal(value: dt.date) -> exp.Expr:
    return _date(_str(value.isoformat()))


def _case(condition: exp.Expr, then: exp.Expr, otherwise: exp.Expr | None = None) -> exp.Case:
    case = exp.Case().when(condition, then)
    return case.else_(otherwise) if otherwise is not None else case


def _count_if(condition: exp.Expr) -> exp.Expr:
    """The number of rows where ``condition`` holds, 0 (not null) over no rows."""
    return _bigint(exp.Coalesce(this=exp.Sum(this=_case(condition, _num(1), _num(0))), expressions=[_num(0)]))


def _as(expression: exp.Expr, name: str) -> exp.Expr:
    return exp.alias_(expression, name, quoted=True)


# ------------------------------------------------------------------------------------------------ cohorts
def period_label(date: exp.Expr, period: str) -> exp.Expr:
    """SQL twin of :func:`reoffend.cohort.period_label`: ``2024-01``, ``2024Q1``, ``2024``, ``2023-24``."""
    year = _bigint(exp.Year(this=date))
    month = _bigint(exp.Month(this=date))

    def concat(*parts: exp.Expr) -> exp.Expr:
        return exp.Concat(expressions=list(parts), safe=True)

    def two_digits(number: exp.Expr) -> exp.Expr:
        return exp.Pad(this=_text(number), expression=_num(2), fill_pattern=_str("0"), is_left=True)

    if period == "month":
        return concat(_text(year), _str("-"), two_digits(month))
    if period == "quarter":
        quarter = exp.Case(
            ifs=[exp.If(this=exp.LTE(this=month, expression=_num(3 * q)), true=_num(q)) for q in (1, 2, 3)],
            default=_num(4),
        )
        return concat(_text(year), _str("Q"), _text(quarter))
    if period == "year":
        return _text(year)
    if period == "financial-year":
        start = _case(exp.GTE(this=month, expression=_num(4)), year, exp.Sub(this=year, expression=_num(1)))
        following = exp.Mod(this=exp.Paren(this=exp.Add(this=start.copy(), expression=_num(1))), expression=_num(100))
        return concat(_text(start), _str("-"), two_digits(following))
    raise ValueError(f"unknown period {period!r}; choose from {', '.join(PERIODS)}")


# -------------------------------------------------------------------------------------------- the query
def _group_columns(params: MeasureParams) -> list[str]:
    return list(dict.fromkeys(params.by))


def _extract_date(source: SqlSource, lenient: bool = False) -> exp.Expr:
    """``--extract-date``, else the latest conviction_date in 1900-01-01 .. 9999-12-30 (as validation takes it)."""
    if source.extract_date is not None:
        return _date_literal(source.extract_date)
    conviction_date = (_lenient_date if lenient else _date)(_col(source.column("conviction_date")))
    in_range = exp.And(
        this=exp.GTE(this=conviction_date, expression=_date_literal(EARLIEST_DATE)),
        expression=exp.LTE(this=conviction_date.copy(), expression=_date_literal(LATEST_EXTRACT_DATE)),
    )
    latest = exp.Max(this=_case(in_range, conviction_date.copy()))
    return exp.Subquery(this=exp.select(latest).from_(source.relation("convictions")))


def _release_ctes(params: MeasureParams, source: SqlSource, lenient: bool = False) -> list[tuple[str, exp.Select]]:
    """Index releases with cohort and window columns, filtered (``measured_releases``), as named CTEs.

    ``lenient`` reads release dates that do not parse as null (for the validation query).
    """
    keep = [c for c in dict.fromkeys([*params.by, *params.where]) if c not in ("offender_id", "release_date", "cohort")]
    parse = _lenient_date if lenient else _date
    rows = exp.select(
        _as(_col(source.column("offender_id")), "offender_id"),
        _as(parse(_col(source.column("release_date"))), "release_date"),
        *([_as(_text(_col(source.column("cohort"))), "cohort")] if source.has_cohort else []),
        *[_as(_col(source.column(c)), c) for c in keep],
    ).from_(source.relation("releases"))
    cohorted = exp.select(exp.Star()).from_("release_rows")
    if not source.has_cohort:
        cohorted = exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("release_rows"))).select(
            _as(period_label(_col("release_date"), params.period), "cohort")
        )
        cohorted = cohorted.from_("release_rows")
    rank = exp.Window(
        this=exp.RowNumber(),
        partition_by=[_col("offender_id"), _col("cohort")],
        order=exp.Order(expressions=[exp.Ordered(this=_col("release_date"), nulls_first=False)]),
    )
    ranked = exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("cohorted"))).select(_as(rank, _RANK))
    ranked = ranked.from_("cohorted")
    conditions: list[exp.Expr] = []
    if params.index == "first":
        conditions.append(exp.EQ(this=_col(_RANK), expression=_num(1)))
    for column, values in params.where.items():
        conditions.append(exp.In(this=_text(_col(column)), expressions=[_str(v) for v in values]))
    filtered = exp.select(exp.Star()).from_("ranked_releases")
    if conditions:
        filtered = filtered.where(exp.and_(*conditions))
    ctes: list[tuple[str, exp.Select]] = [
        ("release_rows", rows),
        ("cohorted", cohorted),
        ("ranked_releases", ranked),
        ("index_releases", filtered),
    ]
    current = "index_releases"
    if params.latest_cohort:  # the greatest label in code-point order, as measure's polars takes it
        latest = exp.Subquery(this=exp.select(exp.Max(this=_binary(_col("cohort")))).from_(current))
        ctes.append(
            (
                "latest_cohort",
                exp.select(exp.Star()).from_(current).where(exp.EQ(this=_binary(_col("cohort")), expression=latest)),
            )
        )
        current = "latest_cohort"
    end, deadline = params.window.sql_bounds(_col("release_date"))
    # the columns measured from here on, by name: a --where column (say one called follow_up_end) has done its
    # work, and carried on it would stand beside the window's own columns of the same name
    carried = dict.fromkeys(["offender_id", "cohort", _RANK, "release_date", *params.by])
    windowed = exp.select(*[_col(c) for c in carried]).select(
        _as(end, "follow_up_end"), _as(deadline, "conviction_deadline")
    )
    ctes.append(("windowed", windowed.from_(current)))
    current = "windowed"
    if params.incomplete == "exclude":
        complete = params.window.sql_is_complete(_col("conviction_deadline"), _extract_date(source, lenient))
        ctes.append(("measured_releases", exp.select(exp.Star()).from_(current).where(complete)))
    else:
        ctes.append(("measured_releases", exp.select(exp.Star()).from_(current)))
    return ctes


def _conviction_cte(params: MeasureParams, source: SqlSource) -> exp.Select:
    """``proven_reoffences``: conviction rows that may count, with the event key."""
    conviction_date = _date(_col(source.column("conviction_date")))
    if source.has_appearance_ids:
        # the two kinds of key marked apart, as measure.proven_reoffences does: an id reading "date:..." is no date
        # and empty text is no id, as there
        appearance = exp.Nullif(this=_text(_col(source.column("appearance_id"))), expression=_str(""))
        marker = exp.Concat(expressions=[_str("date:"), _text(conviction_date.copy())], safe=True)
        marked = exp.Concat(expressions=[_str("id:"), appearance.copy()], safe=True)
        without_id = exp.Is(this=appearance, expression=exp.Null())
        event: exp.Expr = exp.Case(ifs=[exp.If(this=without_id, true=marker)], default=marked)
    else:
        event = conviction_date.copy()
    rows = exp.select(
        _as(_col(source.column("offender_id")), "offender_id"),
        _as(_date(_col(source.column("offence_date"))), "offence_date"),
        _as(conviction_date, "conviction_date"),
        _as(event, _EVENT),
    ).from_(source.relation("convictions"))
    if params.excluded_offences:
        code = _col(source.column("offence_code"))
        codes = [_str(c) for c in sorted(params.excluded_offences)]
        rows = rows.where(
            exp.or_(exp.Is(this=code, expression=exp.Null()), exp.Not(this=exp.In(this=code.copy(), expressions=codes)))
        )
    return rows


def measure_query(params: MeasureParams, source: SqlSource | None = None) -> exp.Select:
    """The whole measure as one SELECT (a syntax tree; :func:`render` prints it in a dialect)."""
    source = source or SqlSource()
    by = _group_columns(params)
    ctes = _release_ctes(params, source)
    ctes.append(("conviction_rows", _conviction_cte(params, source)))

    # per release: the LEFT JOIN keeps releases without a proven reoffence (counts 0)
    r, c = "r", "c"
    proven = params.window.sql_is_proven_reoffence(
        _col("release_date", r),
        _col("follow_up_end", r),
        _col("conviction_deadline", r),
        _col("offence_date", c),
        _col("conviction_date", c),
    )
    on = exp.and_(exp.EQ(this=_col("offender_id", c), expression=_col("offender_id", r)), proven)
    key = ["offender_id", "cohort", _RANK, "release_date"]
    carried = [col for col in by if col not in key]
    per_release = (
        exp.select(
            *[_as(_col(k, r), k) for k in [*key, *carried]],
            _as(_bigint(exp.Count(this=_col("offender_id", c))), "reoffences"),
            _as(_bigint(exp.Count(this=exp.Distinct(expressions=[_col(_EVENT, c)]))), "reconviction_events"),
            _as(exp.Min(this=_col("offence_date", c)), _FIRST),
        )
        .from_(exp.alias_(exp.to_table("measured_releases"), r))
        .join(exp.alias_(exp.to_table("conviction_rows"), c), on=on, join_type="left")
        .group_by(*[_col(k, r) for k in [*key, *carried]])
    )
    ctes.append(("per_release", per_release))

    # the median's row numbers: the days of the reoffenders ranked within each group
    days = params.window.sql_days_from_release(_col(_FIRST), _col("release_date"))
    partition = [_col(b) for b in by]
    position = exp.Window(
        this=exp.RowNumber(),
        partition_by=partition or None,
        order=exp.Order(expressions=[exp.Ordered(this=_col(_DAYS), nulls_first=False)]),
    )
    counted = exp.Window(this=exp.Count(this=_col(_DAYS)), partition_by=[p.copy() for p in partition] or None)
    ranked = exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("per_release")), _as(days, _DAYS)).from_(
        "per_release"
    )
    ctes.append(("with_days", ranked))
    ctes.append(
        (
            "median_ranks",
            exp.select(exp.Star(), _as(position, _POS), _as(counted, _N)).from_("with_days"),
        )
    )

    # per group
    two_pos = exp.Mul(this=_num(2), expression=_col(_POS))
    middle = exp.and_(
        exp.Not(this=exp.Is(this=_col(_DAYS), expression=exp.Null())),
        exp.GTE(this=two_pos, expression=_col(_N)),
        exp.LTE(this=two_pos.copy(), expression=exp.Add(this=_col(_N), expression=_num(2))),
    )
    sums = exp.select(
        *[_col(b) for b in by],
        _as(_bigint(exp.Count(this=exp.Star())), "cohort_size"),
        _as(_count_if(exp.GT(this=_col("reoffences"), expression=_num(0))), "reoffenders"),
        _as(_bigint(exp.Coalesce(this=exp.Sum(this=_col("reoffences")), expressions=[_num(0)])), "reoffences"),
        _as(
            _bigint(exp.Coalesce(this=exp.Sum(this=_col("reconviction_events")), expressions=[_num(0)])),
            "reconviction_events",
        ),
        _as(exp.Avg(this=_double(_col(_DAYS))), "mean_days_to_first"),
        _as(exp.Avg(this=_case(middle, _double(_col(_DAYS)))), "median_days_to_first"),
    ).from_("median_ranks")
    if by:
        sums = sums.group_by(*[_col(b) for b in by])
    ctes.append(("group_counts", sums))
    ctes.append(("group_bounds", _bounds_cte(params.confidence)))

    final = exp.select(*[_col(b) for b in by], *_group_columns_sql()).from_("group_bounds")
    if by:
        final = final.order_by(*[exp.Ordered(this=_col(b), nulls_first=False) for b in by])
    for name, cte in ctes:
        final = final.with_(name, as_=cte)
    return final


def _ratio(numerator: exp.Expr, denominator: exp.Expr) -> exp.Expr:
    """``numerator / denominator`` as a double; null where the denominator is 0 (``measure._ratio``)."""
    return _case(
        exp.GT(this=denominator, expression=_num(0)), exp.Div(this=_double(numerator), expression=denominator.copy())
    )


def _bounds_cte(confidence: float) -> exp.Select:
    """``group_counts`` plus the Wilson interval's unclipped bounds (null for an empty group).

    The operation order and constants are those of :func:`reoffend.intervals.wilson_interval`: ``z * z / 2``,
    ``z * z`` and ``z * z / 4`` are computed in Python as there, so the doubles agree.
    """
    z = normal_quantile(confidence)
    x, n = _double(_col("reoffenders")), _double(_col("cohort_size"))

    def z_over_n() -> exp.Expr:
        return exp.Paren(this=exp.Add(this=n.copy(), expression=_num(z * z)))

    centre = exp.Div(this=exp.Paren(this=exp.Add(this=x, expression=_num(z * z / 2))), expression=z_over_n())
    spread = exp.Div(
        this=exp.Mul(this=x.copy(), expression=exp.Paren(this=exp.Sub(this=n.copy(), expression=x.copy()))),
        expression=n.copy(),
    )
    half = exp.Mul(
        this=exp.Div(this=_num(z), expression=z_over_n()),
        expression=exp.Sqrt(this=exp.Add(this=spread, expression=_num(z * z / 4))),
    )
    nonempty = exp.GT(this=_col("cohort_size"), expression=_num(0))
    return exp.select(
        exp.Column(this=exp.Star(), table=exp.to_identifier("group_counts")),
        _as(_case(nonempty, exp.Sub(this=centre, expression=half)), "_wilson_low"),
        _as(_case(nonempty.copy(), exp.Add(this=centre.copy(), expression=half.copy())), "_wilson_high"),
    ).from_("group_counts")


def _group_columns_sql() -> list[exp.Expr]:
    """The columns of ``group_measures``, in its order, from ``group_bounds``."""
    size, reoffenders, events = _col("cohort_size"), _col("reoffenders"), _col("reconviction_events")

    def clipped(value: str) -> exp.Expr:
        return exp.Case(
            ifs=[
                exp.If(this=exp.LT(this=_col(value), expression=_num(0.0)), true=_num(0.0)),
                exp.If(this=exp.GT(this=_col(value), expression=_num(1.0)), true=_num(1.0)),
            ],
            default=_col(value),
        )

    # at no (every) reoffender the lower (upper) bound is exactly 0 (1), as in wilson_interval
    low = exp.Case(
        ifs=[
            exp.If(this=exp.LTE(this=size.copy(), expression=_num(0)), true=exp.Null()),
            exp.If(this=exp.LTE(this=reoffenders.copy(), expression=_num(0)), true=_num(0.0)),
        ],
        default=clipped("_wilson_low"),
    )
    high = exp.Case(
        ifs=[
            exp.If(this=exp.LTE(this=size.copy(), expression=_num(0)), true=exp.Null()),
            exp.If(this=exp.GTE(this=reoffenders.copy(), expression=size.copy()), true=_num(1.0)),
        ],
        default=clipped("_wilson_high"),
    )
    columns = {
        "cohort_size": size,
        "reoffenders": reoffenders,
        "binary_rate": _ratio(reoffenders, size),
        "binary_rate_low": low,
        "binary_rate_high": high,
        "reoffences": _col("reoffences"),
        "reoffences_per_offender": _ratio(_col("reoffences"), size),
        "reoffences_per_reoffender": _ratio(_col("reoffences"), reoffenders),
        "reconviction_events": events,
        "events_per_100": _ratio(exp.Mul(this=_num(100), expression=events), size),
        "events_per_reoffender": _ratio(events, reoffenders),
        "mean_days_to_first": _col("mean_days_to_first"),
        "median_days_to_first": _col("median_days_to_first"),
    }
    assert tuple(columns) == GROUP_MEASURES
    return [_as(expression.copy(), name) for name, expression in columns.items()]


# ----------------------------------------------------------------------------------------- validation
def validation_query(params: MeasureParams, source: SqlSource | None = None) -> exp.Select:
    """Problem counts per rule that SQL can check (docs/data.md), one row each: table, rule, column, problems.

    ``missing-id``, ``missing-date`` (null, or empty text), ``unparseable-date`` (text that is not a date),
    ``date-out-of-range`` (before 1900-01-01 or after the extract date), ``conviction-before-offence``,
    ``duplicate-release`` (rows repeating an earlier row's offender_id and release_date: exact repeats and
    conflicting rows alike, as the query cannot see every column) and
    ``incomplete-follow-up`` (index releases, after the filters, whose conviction deadline is after the
    extract date plus one day; the count ``measure`` reports or excludes).
    """
    source = source or SqlSource()
    extract = _extract_date(source, lenient=True)
    checks = _row_checks(source, extract)
    ctes = [
        *_row_check_ctes(checks, source),
        *_duplicate_ctes(source),
        *_incomplete_ctes(params, source, extract),
    ]
    final = exp.select(_col("table_name"), _col("rule"), _col("column_name"), _col("problems")).from_(
        exp.Subquery(this=_problem_rows(checks), alias=exp.TableAlias(this=exp.to_identifier("checks")))
    )
    final = final.order_by(_col("_order"))
    for name, cte in ctes:
        final = final.with_(name, as_=cte)
    return final


RowCheck = tuple[str, str, str, exp.Expr]  # table, rule, column, the condition a problem row meets


def _missing(column: exp.Expr) -> exp.Expr:
    """Null, or empty text (a CSV's empty field held as text)."""
    return exp.or_(exp.Is(this=column, expression=exp.Null()), exp.EQ(this=_text(column.copy()), expression=_str("")))


def _date_checks(source: SqlSource, extract: exp.Expr, table: str, column: str) -> list[RowCheck]:
    """A date column's checks: missing, not a date, and before 1900-01-01 or after the extract date."""
    raw = _col(source.column(column))
    unparseable = exp.and_(
        exp.Not(this=exp.Paren(this=_missing(raw))),
        exp.Is(this=_lenient_date(raw.copy()), expression=exp.Null()),
    )
    in_range = _lenient_date(raw.copy())
    out_of_range = exp.or_(
        exp.LT(this=in_range, expression=_date_literal(EARLIEST_DATE)),
        exp.GT(this=in_range.copy(), expression=extract.copy()),
    )
    return [
        (table, "missing-date", column, _missing(raw.copy())),
        (table, "unparseable-date", column, unparseable),
        (table, "date-out-of-range", column, out_of_range),
    ]


def _row_checks(source: SqlSource, extract: exp.Expr) -> list[RowCheck]:
    """The checks of one row at a time, in the order of the result: ids, dates, conviction before offence."""
    offence_date = _lenient_date(_col(source.column("offence_date")))
    conviction_date = _lenient_date(_col(source.column("conviction_date")))
    return [
        ("releases", "missing-id", "offender_id", _missing(_col(source.column("offender_id")))),
        *_date_checks(source, extract, "releases", "release_date"),
        ("convictions", "missing-id", "offender_id", _missing(_col(source.column("offender_id")))),
        *_date_checks(source, extract, "convictions", "offence_date"),
        *_date_checks(source, extract, "convictions", "conviction_date"),
        (
            "convictions",
            "conviction-before-offence",
            "conviction_date",
            exp.LT(this=conviction_date, expression=offence_date),
        ),
    ]


def _row_check_ctes(checks: list[RowCheck], source: SqlSource) -> list[tuple[str, exp.Select]]:
    """One pass over each table counting the rows that fail each of its checks (columns c0, c1, ...)."""
    ctes: list[tuple[str, exp.Select]] = []
    for table in ("releases", "convictions"):
        counts = [_as(_count_if(cond), f"c{i}") for i, (t, _, _, cond) in enumerate(checks) if t == table]
        ctes.append((f"{table}_checks", exp.select(*counts).from_(source.relation(table))))
    return ctes


def _duplicate_ctes(source: SqlSource) -> list[tuple[str, exp.Select]]:
    """The releases repeating an earlier row's offender_id and release_date: each key's rows less one, summed."""
    release_date = _lenient_date(_col(source.column("release_date")))
    keys = exp.select(exp.Count(this=exp.Star()).as_("n", quoted=True)).from_(source.relation("releases"))
    keys = keys.group_by(_col(source.column("offender_id")), release_date)
    repeats = exp.Sub(this=_col("n"), expression=_num(1))
    duplicates = exp.select(_as(_bigint(exp.Coalesce(this=exp.Sum(this=repeats), expressions=[_num(0)])), "c")).from_(
        "release_keys"
    )
    return [("release_keys", keys), ("duplicate_checks", duplicates)]


def _incomplete_ctes(params: MeasureParams, source: SqlSource, extract: exp.Expr) -> list[tuple[str, exp.Select]]:
    """The index releases as the measure chooses them, none dropped, and how many have an incomplete follow-up."""
    release_ctes = _release_ctes(replace(params, incomplete="error"), source, lenient=True)
    complete = params.window.sql_is_complete(_col("conviction_deadline"), extract.copy())
    incomplete = exp.select(_as(_count_if(exp.Not(this=exp.Paren(this=complete))), "c")).from_("measured_releases")
    return [*release_ctes, ("incomplete_checks", incomplete)]


def _problem_rows(checks: list[RowCheck]) -> exp.Expr:
    """One row per rule (table_name, rule, column_name, problems, _order), unioned in the result's order."""

    def row(table: str, rule: str, column: str, value: exp.Expr, from_: str, order: int) -> exp.Select:
        return exp.select(
            _as(_str(table), "table_name"),
            _as(_str(rule), "rule"),
            _as(_str(column), "column_name"),
            _as(_bigint(value), "problems"),
            _as(_num(order), "_order"),
        ).from_(from_)

    parts: list[exp.Select] = []
    for i, (table, rule, column, _) in enumerate(checks):
        parts.append(row(table, rule, column, _col(f"c{i}"), f"{table}_checks", len(parts)))
    parts.append(row("releases", "duplicate-release", "offender_id", _col("c"), "duplicate_checks", len(parts)))
    parts.append(row("releases", "incomplete-follow-up", "release_date", _col("c"), "incomplete_checks", len(parts)))
    union: exp.Expr = parts[0]
    for part in parts[1:]:
        union = exp.union(union, part, distinct=False)
    return union


# ------------------------------------------------------------------------------------------------ render
_POSTGRES_GENERATOR: Any = Postgres.Generator  # a class attribute to sqlglot, which mypy will not take as a base


class _EscapeStringPostgres(Postgres):
    """PostgreSQL with every text literal holding a backslash an escape string, ``E'...'`` (backslashes and
    quotes doubled).

    A plain ``'...'`` means different things as the server's ``standard_conforming_strings`` is on (a backslash
    is itself) or off (a backslash escapes the next character: ``'x\\') OR TRUE --'`` then closes the literal
    early, and a ``--where`` value or a line of an exclusion list becomes SQL). An escape string is read the
    same way under either setting, so a value is always only a value.
    """

    class Generator(_POSTGRES_GENERATOR):
        def column_sql(self, expression: exp.Column) -> str:
            text = super().column_sql(expression)
            return f'{text} COLLATE "C"' if expression.meta.get(BINARY) else text

        def literal_sql(self, expression: exp.Literal) -> str:
            text = expression.this or ""
            if not expression.is_string or "\\" not in text:  # without a backslash, '...' reads alike either way
                return super().literal_sql(expression)
            return "E'" + self._replace_line_breaks(text.replace("\\", "\\\\").replace("'", "''")) + "'"


def render(query: exp.Expr, dialect: str, *, pretty: bool = True) -> str:
    """The query as text in ``dialect`` (one of :data:`DIALECTS`), via sqlglot's generator for it (for
    PostgreSQL, with literals no server setting reads otherwise: :class:`_EscapeStringPostgres`)."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; choose from {', '.join(DIALECTS)}")
    generator: str | type[Postgres] = _EscapeStringPostgres if dialect == "postgres" else dialect
    return query.sql(dialect=generator, pretty=pretty, unsupported_level=sqlglot.ErrorLevel.RAISE)


def header(params: MeasureParams, source: SqlSource, dialect: str, version: str) -> str:
    """A comment block naming what the query computes, for whoever finds it in a scheduler."""
    cohort = "the table's cohort column" if source.has_cohort else f"the {params.period} of release_date"
    lines = [
        f"reoffend {version} sql --dialect {dialect}: proven reoffending (docs/measures.md, docs/sql.md)",
        f"window: {params.window.describe()}",
        f"tables: releases = {source.describe('releases')}, convictions = {source.describe('convictions')}",
        f"cohort: {cohort}; index release: {params.index}; group by: {', '.join(params.by) or '(none: one row)'}",
    ]
    if params.excluded_offences:
        lines.append(f"excluded offence codes: {', '.join(sorted(params.excluded_offences))}")
    if params.where:
        lines.append("where: " + "; ".join(f"{c} in ({', '.join(v)})" for c, v in params.where.items()))
    if params.latest_cohort:
        lines.append("the latest cohort only")
    extract = source.extract_date.isoformat() if source.extract_date else "the latest conviction_date"
    if params.incomplete == "exclude":
        lines.append(f"releases with follow-up incomplete at {extract} are excluded")
    else:
        lines.append(
            f"follow-up incomplete at {extract} is not refused here, as measure would: count it with --with-validation"
        )
    return "".join("-- " + " ".join(line.splitlines()) + "\n" for line in lines)
