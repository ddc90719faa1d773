"""The Python API: the commands' statistics on paths or data frames, without a shell (docs/python.md).

Each function takes the two tables as paths or frames (polars DataFrame or LazyFrame; a pandas DataFrame or a
pyarrow Table is converted by ``pl.from_pandas`` / ``pl.from_arrow``) and the command's options as keyword
arguments named as the command line names them (``--exclude-offences`` -> ``exclude_offences``). A frame goes
through the same column mapping and validation as a file (:func:`reoffend.inputs.load_inputs`). Errors are
:class:`reoffend.errors.DataError` (its ``problems`` a polars frame), :class:`reoffend.errors.UsageError` and
:class:`reoffend.errors.InputFileError` (a path that cannot be read), all :class:`ReoffendError`, never
``SystemExit``; a run's warnings are Python warnings of :class:`ReoffendWarning` and on ``.warnings``.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import inspect
import io
import numbers
import os
import re
import sys
import traceback
import types
import typing
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, ParamSpec, TypedDict, TypeVar

import polars as pl

from .errors import DataError, InputFileError, ReoffendError, UsageError, escape_controls
from .inputs import InputSpec, TableInput
from .measure import MeasureParams
from .run_state import release_stdin
from .run_warnings import RunWarning
from .runs.common import Caller, Filters, a_date, follow_up_window, items, measure_params

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .compare.adjusted import AdjustedResult
    from .compare.matched import MatchedResult
    from .compare.power import PowerParams
    from .runs.baseline import BaselineRun
    from .runs.nowcast import NowcastRun
    from .runs.power import PowerRun  # typing.Unpack from Python 3.12; only read by type checkers here

__all__ = [
    "DataError",
    "InputFileError",
    "ReoffendError",
    "ReoffendWarning",
    "Result",
    "UsageError",
    "compare_adjusted",
    "compare_baseline",
    "compare_matched",
    "measure",
    "nowcast",
    "power",
    "validate",
    "write_bulletin",
]

CoreResult = TypeVar("CoreResult")
TableLike = Any  # a path, or a polars/pandas/pyarrow table: checked at run time by :func:`as_table_input`
Period = Literal["month", "quarter", "year", "financial-year"]
IndexRule = Literal["first", "all"]
Incomplete = Literal["error", "exclude"]
Codes = str | os.PathLike[str] | Iterable[str]


class ReoffendWarning(UserWarning):
    """A warning of a run (docs/cli.md, "Warnings"): ``code`` is its stable code (e.g. ``partial-period``)."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Result(Generic[CoreResult]):
    """What a command renders, as objects: ``table`` (the documented columns, as the command's CSV),
    ``metadata`` and ``parameters`` (as its JSON), ``headline`` (the verdict in words, where it has one),
    ``warnings``, and ``core``, the core's own result (e.g. :class:`reoffend.compare.matched.MatchedResult`,
    with its balance table and matches), whose attributes are also read through this object."""

    table: pl.DataFrame
    metadata: dict[str, Any]
    parameters: dict[str, Any]
    core: CoreResult
    title: str
    headline: str | None = None
    warnings: list[RunWarning] = field(default_factory=list)
    render: Callable[[Any], None] | None = field(default=None, repr=False)  # prints the terminal view to a console

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "core":
            raise AttributeError(name)
        return getattr(self.core, name)

    def summary(self, width: int = 120) -> str:
        """What the command prints at a terminal (``--format table``): its tables, then the headline."""
        from rich.console import Console

        from .report.terminal import render_table

        buffer = io.StringIO()
        console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
        if self.render is not None:  # the command's own view, its headline where the command prints it
            self.render(console)
        else:
            render_table(self.table, title=self.title, console=console)
            if self.headline:
                console.print(self.headline, highlight=False, markup=False)
        return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())  # no padding at line ends

    def _repr_html_(self) -> str:
        """Jupyter's view: the table as HTML, every value escaped (a label from the data is shown, never run)."""
        head = "".join(f"<th>{_html(str(column))}</th>" for column in self.table.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{_html('' if v is None else str(v))}</td>" for v in row) + "</tr>"
            for row in self.table.iter_rows()
        )
        caption = f"<caption>{_html(self.title)}</caption>" if self.title else ""
        headline = f"<p>{_html(self.headline)}</p>" if self.headline else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{headline}"


def _html(text: str) -> str:
    """Text from the data as HTML: its control characters shown as escapes (``\\x1b``, ``\\u202e``), never acted
    on (as :meth:`Result.summary` and the bulletin show them: :func:`reoffend.errors.escape_controls`), then
    HTML-escaped."""
    return html.escape(escape_controls(text))


# ----------------------------------------------------------------------------------------------- inputs
class InputOptions(TypedDict, total=False):
    """How to read the two tables: the command line's input options, as keyword arguments of every function
    that reads them (``column_map`` is ``--map``: ``{"offender_id": "id"}`` reads column ``id`` as
    ``offender_id``; the dates take a ``datetime.date`` or ``'YYYY-MM-DD'``)."""

    column_map: Mapping[str, str]
    extract_date: dt.date | str | None
    as_at: dt.date | str | None
    dedupe: bool
    streaming: bool
    input_format: str | None
    delimiter: str | None
    encoding: str | None
    date_format: str | None


INPUT_OPTIONS = frozenset(InputOptions.__annotations__)
INPUT_HINTS: dict[str, Any] = typing.get_type_hints(InputOptions)


def as_table_input(table: TableLike, argument: str) -> TableInput:
    """A path (str or ``os.PathLike``) or a polars frame as given; a pandas DataFrame or a pyarrow Table
    converted (``pl.from_pandas``, ``pl.from_arrow``: zero-copy where the types allow; the pandas index is not
    a column); else a usage error. A table polars cannot take (a column named twice, a column of mixed Python
    objects) is a :class:`DataError` naming the column."""
    if isinstance(table, pl.DataFrame | pl.LazyFrame | str):
        return table
    if isinstance(table, os.PathLike):
        path = os.fspath(table)
        if not isinstance(path, str):
            raise UsageError(f"{argument}: give a path as text (str or a PathLike of str), not {path!r}")
        return path
    module, kind = type(table).__module__.split(".")[0], type(table).__name__
    if module == "pandas" and kind == "DataFrame":
        return _converted(table, [str(name) for name in table.columns], f"{argument} (pandas {kind})", pl.from_pandas)
    if module == "pyarrow" and kind in ("Table", "RecordBatch"):
        return _converted(table, list(table.schema.names), f"{argument} (pyarrow {kind})", pl.from_arrow)
    raise UsageError(f"{argument}: give a path, or a polars, pandas or pyarrow table, not a {kind}")


def _converted(table: Any, names: list[str], name: str, convert: Callable[[Any], Any]) -> pl.DataFrame:
    """``convert(table)`` as a polars DataFrame, or a DataError naming the columns it cannot take: a name given
    twice (``duplicate-column``, as for a file's header), a column polars cannot convert (``column-type``)."""
    from .errors import PROBLEM_SCHEMA, problem_row

    twice = sorted({column for column in names if names.count(column) > 1})
    problems = [
        problem_row(name, column, "duplicate-column", f"the table names the column {column!r} more than once")
        for column in twice
    ]
    if not problems:
        try:
            converted = convert(table)
        except Exception:  # the user's table, whatever its library raises: the columns found one by one
            problems = [
                problem_row(name, column, "column-type", f"column {column!r} cannot be converted to polars: {reason}")
                for column, reason in _unconvertible(table, names, convert)
            ] or [problem_row(name, None, "column-type", "the table cannot be converted to polars")]
        else:
            assert isinstance(converted, pl.DataFrame)
            return converted
    raise DataError(pl.DataFrame(problems, schema=PROBLEM_SCHEMA))


def _unconvertible(table: Any, names: list[str], convert: Callable[[Any], Any]) -> list[tuple[str, str]]:
    """The columns of ``table`` that ``convert`` fails on alone, with the first line of its reason."""
    failed = []
    for position, column in enumerate(names):
        try:
            part = table.iloc[:, [position]] if hasattr(table, "iloc") else table.select([position])
            convert(part)
        except Exception as error:  # its reason reported as data
            failed.append((column, (str(error).strip().splitlines() or [type(error).__name__])[0]))
    return failed


def input_spec(releases: TableLike, convictions: TableLike, options: InputOptions) -> InputSpec:
    """The :class:`InputSpec` of a call: the two tables and how to read them (:class:`InputOptions`, their
    names and types checked by :func:`_public` before any public function runs)."""
    column_map = dict(options.get("column_map") or {})
    for name, column in column_map.items():  # as --map NAME=COLUMN: both named
        if not name.strip() or not column.strip():
            raise UsageError(f"column_map takes {{NAME: COLUMN}}, both named, not {{{name!r}: {column!r}}}")
    return InputSpec(
        releases=as_table_input(releases, "releases"),
        convictions=as_table_input(convictions, "convictions"),
        column_map=column_map,
        input_format=options.get("input_format"),
        extract_date=a_date(options.get("extract_date"), "extract_date"),
        dedupe=bool(options.get("dedupe", False)),
        streaming=bool(options.get("streaming", False)),
        as_at=a_date(options.get("as_at"), "as_at"),
        delimiter=options.get("delimiter"),
        encoding=options.get("encoding"),
        date_format=options.get("date_format"),
    )


def _listed(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))


def _measurement(
    follow_up: int,
    waiting_period: int,
    period: Period,
    index: IndexRule,
    incomplete: Incomplete,
    exclude_offences: Codes | None,
    where: Filters | None,
    latest_cohort: bool = False,
    confidence: float = 0.95,
) -> MeasureParams:
    """A call's measurement options, as the commands' (:func:`reoffend.runs.common.measure_params`), ungrouped."""
    return measure_params(
        by=(),
        window=follow_up_window(follow_up, waiting_period),
        period=period,
        index=index,
        incomplete=incomplete,
        exclude_offences=exclude_offences,
        where=where,
        latest_cohort=latest_cohort,
        confidence=confidence,
    )


def _texts(values: Any) -> list[str]:
    """One value or several, as the command line's texts (``current_size``, ``reduction``)."""
    return [str(values)] if isinstance(values, str | int | float) else [str(value) for value in values]


def _collecting() -> tuple[Caller, list[RunWarning]]:
    """A caller that keeps the warnings a run says as it goes (for ``.warnings`` and Python's warnings)."""
    collected: list[RunWarning] = []
    return Caller(warn=collected.append), collected


def _warn(found: Iterable[RunWarning]) -> list[RunWarning]:
    """Each warning of a run as a Python warning (:class:`ReoffendWarning`) pointing at the user's line (the
    first frame outside the package, however many of the package's frames lie between), and the list for
    ``.warnings``."""
    listed = list(found)
    level, frame = 1, sys._getframe(0)
    while frame.f_back is not None and _in_package(frame.f_code.co_filename):
        frame, level = frame.f_back, level + 1
    for warning in listed:
        warnings.warn(ReoffendWarning(str(warning), warning.code), stacklevel=level)
    return listed


PACKAGE_FOLDER = str(Path(__file__).resolve().parent)
POLARS_FOLDER = str(Path(pl.__file__).resolve().parent)


def _in_package(filename: str, folder: str = PACKAGE_FOLDER) -> bool:
    return filename.startswith(folder + os.sep)


# ----------------------------------------------------------------------------------------------- arguments
Params = ParamSpec("Params")
Returned = TypeVar("Returned")


def _public(function: Callable[Params, Returned]) -> Callable[Params, Returned]:
    """A function of the API, as every one is called: its arguments checked against its type hints (a wrong
    type, a keyword it does not take: a :class:`UsageError` naming the keyword and what it takes, never a
    ``TypeError`` from deep inside), standard input unclaimed at the start of each call (each call, like each
    run of the command line, may read ``-`` once; the claim is the calling thread's: reoffend.run_state), and a
    LazyFrame's failure to compute while it is streamed said as a :class:`UsageError` naming the frame."""
    signature = inspect.signature(function)

    @functools.wraps(function)
    def call(*args: Params.args, **kwargs: Params.kwargs) -> Returned:
        arguments = _checked_arguments(function, signature, args, kwargs)
        release_stdin()
        try:
            return function(*args, **kwargs)
        except UsageError as error:
            if len(error.args) == 1 and isinstance(error.args[0], str):  # the core's words name the CLI's options
                error.args = (in_python_terms(error.args[0], [*signature.parameters, *INPUT_OPTIONS]),)
            raise
        except ReoffendError:
            raise
        except Exception as error:
            streamed = _streamed_frames(arguments)
            if not streamed or not _raised_computing_a_frame(error):
                raise
            reason = (str(error).strip().splitlines() or [""])[0]
            raise UsageError(
                f"{' or '.join(streamed)}: the frame cannot be computed as it is streamed: "
                f"{type(error).__name__}: {reason}"
            ) from None

    return call


# an option as the command line names it, inside a message (``--ratio``, ``--treated-ids``), not ``a--b`` nor a
# quoted value from the data (``'--ratio'``: an establishment so named stays as it is)
COMMAND_LINE_OPTION = re.compile(r"(?<![\w'\"-])--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)")
KEYWORD_OF_OPTION = {"map": "column_map"}  # where the keyword is not the option's name


def in_python_terms(message: str, keywords: Iterable[str]) -> str:
    """``message`` with each command-line option among ``keywords`` named as the keyword argument it is here:
    ``--ratio must be at least 1`` is ``ratio must be at least 1`` (docs/python.md, "Errors and warnings"). An
    option the function does not take is left as it is."""
    taken = set(keywords)

    def keyword(match: re.Match[str]) -> str:
        name = match.group(1).replace("-", "_")
        name = KEYWORD_OF_OPTION.get(name, name)
        return name if name in taken else match.group(0)

    return COMMAND_LINE_OPTION.sub(keyword, message)


def _checked_arguments(
    function: Callable[..., Any], signature: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """The arguments of a call by name (the input options among them), each of the type its hint says; else a
    :class:`UsageError` naming the keyword and what it takes (docs/python.md, "Errors and warnings")."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as error:
        takes_more = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
        unknown = [] if takes_more else sorted(set(kwargs) - set(signature.parameters))
        if unknown:
            raise UsageError(
                f"unknown option {', '.join(unknown)}: the options of {function.__name__} are "
                f"{_listed(signature.parameters)}"
            ) from None
        raise UsageError(f"{function.__name__}: {error}") from None
    hints = _hints(function)
    given: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        if signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
            unknown = sorted(set(value) - INPUT_OPTIONS)
            if unknown:  # as input_spec says it, even where no table is read (published counts)
                raise UsageError(
                    f"unknown option {', '.join(unknown)}: the options of the inputs are {_listed(INPUT_OPTIONS)}"
                )
            given.update(value)
            checks = [(key, item, INPUT_HINTS[key]) for key, item in value.items()]
        else:
            given[name] = value
            checks = [(name, value, hints.get(name, Any))]
        for keyword, item, hint in checks:
            if not _fits(item, hint):
                shown = repr(item) if len(repr(item)) <= 60 else repr(item)[:57] + "..."
                raise UsageError(f"{keyword} takes {_described(hint)}, not {shown}")
    return given


@functools.cache
def _hints(function: Callable[..., Any]) -> dict[str, Any]:
    """The type hints of a function's named parameters (those only a type checker can read taken as ``Any``)."""
    hints = {}
    for name, parameter in inspect.signature(function).parameters.items():
        try:
            hints[name] = eval(parameter.annotation, vars(sys.modules[__name__]))
        except Exception:  # a name imported for type checkers only: not checked here
            hints[name] = Any
    return hints


def _fits(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of the type ``hint`` says (the few forms the API's hints use); a number of numpy's
    counts as Python's, a bool is not a number, one string is a sequence of one item (``by="a,b"``)."""
    origin, parts = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if hint is None or hint is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, part) for part in parts)
    if origin is Literal:
        return isinstance(value, str) and value in parts
    if hint in (int, float):
        kind = numbers.Integral if hint is int else numbers.Real
        return isinstance(value, kind) and not isinstance(value, bool)
    if origin is os.PathLike:
        return isinstance(value, os.PathLike) and isinstance(value.__fspath__(), str)
    if origin in (Mapping, dict):
        return isinstance(value, Mapping) and all(_fits(k, parts[0]) and _fits(v, parts[1]) for k, v in value.items())
    if origin in (Sequence, Iterable):
        of = parts[0] if parts else Any
        if isinstance(value, str):
            return _fits(value, of)
        if isinstance(value, Mapping) or not isinstance(value, Sequence if origin is Sequence else Iterable):
            return False
        return not isinstance(value, Sequence | set | frozenset) or all(_fits(item, of) for item in value)
    return isinstance(value, origin or hint) if isinstance(origin or hint, type) else True


def _described(hint: Any) -> str:
    """What a hint takes, in words: ``by`` takes "a str or a list of str"."""
    origin, parts = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        words = [_described(part) for part in parts]
        return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
    if origin is Literal:
        return "one of " + ", ".join(repr(part) for part in parts)
    if origin is os.PathLike:
        return "a path"
    if origin in (Mapping, dict):
        return f"a mapping of {_noun(parts[0])} to {_noun(parts[1])}"
    if origin in (Sequence, Iterable):
        return f"a {'list' if origin is Sequence else 'collection'} of {_noun(parts[0])}"
    return {None: "None", type(None): "None", Any: "anything"}.get(hint) or f"a {_noun(hint)}"


def _noun(hint: Any) -> str:
    """A type as a noun: ``str``, ``int`` (a whole number), ``number``, ``path``; a union in words."""
    if typing.get_origin(hint) is not None or hint is Any:
        return _described(hint).removeprefix("a ")
    names = {str: "str", int: "whole number (int)", float: "number", bool: "bool (True or False)", dt.date: "date"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _streamed_frames(arguments: Mapping[str, Any]) -> list[str]:
    """The LazyFrames of a call with ``streaming=True``, named (``releases (LazyFrame)``): computed only as the
    run goes (never held whole), so a plan of the user's that fails to run fails inside the run. (Without
    ``streaming`` the frame is computed first, where its failure is said: :func:`reoffend.inputs._frame_table`.)"""
    if not arguments.get("streaming"):
        return []
    tables = {name: arguments.get(name) for name in ("releases", "convictions")}
    return [f"{name} (LazyFrame)" for name, table in tables.items() if isinstance(table, pl.LazyFrame)]


def _raised_computing_a_frame(error: Exception) -> bool:
    """Whether ``error`` came from computing the user's plan: polars' own error (the plan failed), a file the
    plan scans that cannot be read, or a function of the user's that polars called as the plan ran (the
    traceback passes from polars into code that is neither polars' nor this package's). Anything else (a fault
    of this package) is not blamed on the frame."""
    if isinstance(error, pl.exceptions.PolarsError | OSError):
        return True
    files = [frame.f_code.co_filename for frame, _ in traceback.walk_tb(error.__traceback__)]
    in_polars = [_in_package(name, POLARS_FOLDER) for name in files]
    if True not in in_polars:
        return False
    after = files[in_polars.index(True) :]
    return any(not _in_package(name, POLARS_FOLDER) and not _in_package(name) for name in after)


# ----------------------------------------------------------------------------------------------- commands
@_public
def measure(
    releases: TableLike,
    convictions: TableLike,
    *,
    by: str | Sequence[str] = "cohort",
    exclude_offences: Codes | None = None,
    where: Filters | None = None,
    period: Period = "quarter",
    index: IndexRule = "first",
    incomplete: Incomplete = "error",
    latest_cohort: bool = False,
    confidence: float = 0.95,
    follow_up: int = 12,
    waiting_period: int = 6,
    band: Mapping[str, Sequence[float]] | Sequence[str] | None = None,
    suppress: int | None = None,
    min_count: int | None = None,
    per_release: bool = False,
    **read: Unpack[InputOptions],
) -> Result[Any]:
    """``reoffend measure``: proven reoffending per group of index releases (docs/measures.md).

    ``per_release=True`` keeps the audit table (``result.per_release``); ``band``: ``{"age": [18, 21]}`` or
    the command line's ``"age=18,21"`` items; ``suppress``/``min_count``: ``--suppress``/``--min-count``;
    ``read``: how to read the tables (:class:`InputOptions`).
    """
    from .report.terminal.measure import render_measure
    from .runs.measure import measure_run

    spec = input_spec(releases, convictions, read)
    params = measure_params(
        by=by,
        window=follow_up_window(follow_up, waiting_period),
        period=period,
        index=index,
        incomplete=incomplete,
        exclude_offences=exclude_offences,
        where=where,
        latest_cohort=latest_cohort,
        confidence=confidence,
    )
    bands = _band_items(band) if isinstance(band, Mapping) else items(band)  # one string: one COLUMN=EDGES item
    caller, _ = _collecting()  # measure says its warnings after the run, with the run's
    run = measure_run(
        spec,
        params,
        caller,
        bands=tuple(bands or ()),
        min_cohort=suppress,
        min_count=min_count,
        per_release=per_release,
    )
    return Result(
        table=run.rows,
        metadata=dict(run.result.metadata),
        parameters=run.parameters,
        core=run.result,
        title="Proven reoffending",
        warnings=_warn(run.warnings),
        render=functools.partial(render_measure, run),
    )


def _band_items(band: Mapping[str, Sequence[float]]) -> list[str]:
    """``{"age": [18, 21]}`` as the command line's ``age=18,21``."""
    return [f"{column}={','.join(str(edge) for edge in edges)}" for column, edges in band.items()]


@_public
def validate(
    releases: TableLike,
    convictions: TableLike,
    *,
    incomplete: Incomplete = "error",
    period: Period = "quarter",
    follow_up: int = 12,
    waiting_period: int = 6,
    **read: Unpack[InputOptions],
) -> Result[Any]:
    """``reoffend validate``: check the inputs against every rule of docs/data.md (a :class:`DataError`
    listing the problems when one fails) and summarise them (``table``: columns ``table``, ``item``, ``value``)."""
    from .runs.measure import validate_run

    spec = input_spec(releases, convictions, read)
    run = validate_run(spec, follow_up_window(follow_up, waiting_period), incomplete, period, Caller())
    return Result(
        table=run.rows,
        metadata=run.metadata,
        parameters=run.parameters,
        core=run,
        title="Input summary",
        headline=run.message,
    )


@_public
def nowcast(
    releases: TableLike,
    convictions: TableLike,
    *,
    by: str | Sequence[str] = "cohort",
    final_cohorts: int = 4,
    estimator: Literal["cohort", "reference", "ratio", "benktander"] = "cohort",
    court_lag: Literal["adjust", "refuse", "ignore"] = "adjust",
    learn_from: Literal["all", "complete"] = "all",
    check: bool = True,
    min_coverage: float | None = None,
    exclude_offences: Codes | None = None,
    where: Filters | None = None,
    period: Period = "quarter",
    index: IndexRule = "first",
    confidence: float = 0.95,
    follow_up: int = 12,
    waiting_period: int = 6,
    **read: Unpack[InputOptions],
) -> Result[Any]:
    """``reoffend nowcast``: final figures for complete cohorts, provisional ones with intervals for cohorts
    still in follow-up (docs/nowcast.md). ``table`` has a ``status`` column: ``final`` or ``provisional``.
    ``min_coverage`` (default 0.85) goes with ``check``: given with ``check=False`` it would do nothing, and is a
    :class:`UsageError`, as on the command line."""
    from .report.terminal.nowcast import NOWCAST_TITLE
    from .runs.nowcast import nowcast_params, nowcast_run

    spec = input_spec(releases, convictions, read)
    measurement = _measurement(
        follow_up, waiting_period, period, index, "error", exclude_offences, where, False, confidence
    )
    params = nowcast_params(
        measurement, by=by, final_cohorts=final_cohorts, estimator=estimator, court_lag=court_lag, learn_from=learn_from
    )
    caller, collected = _collecting()
    given = {} if min_coverage is None else {"min_coverage": "min_coverage"}
    coverage = 0.85 if min_coverage is None else min_coverage
    run = nowcast_run(spec, params, caller, check=check, min_coverage=coverage, given=given)
    outcome = run.outcome
    return Result(
        table=outcome.rows,
        metadata=dict(outcome.metadata),
        parameters=run.parameters,
        core=outcome,
        title=NOWCAST_TITLE,
        warnings=_warn([*collected, *outcome.warnings]),
        render=functools.partial(_render_nowcast, run, params.measurement),
    )


def _render_nowcast(run: NowcastRun, measurement: MeasureParams, console: Any) -> None:
    """What ``nowcast`` prints at a terminal: its table, with the caption."""
    from .report.terminal import render_table
    from .report.terminal.nowcast import NOWCAST_TITLE, display_nowcast

    view = display_nowcast(run.outcome.rows, measurement.by, measurement.confidence)
    render_table(view, title=NOWCAST_TITLE, caption=run.caption, console=console)


@_public
def compare_matched(
    releases: TableLike,
    convictions: TableLike,
    *,
    covariates: str | Sequence[str],
    treated: Filters | None = None,
    treated_ids: str | os.PathLike[str] | Iterable[str] | None = None,
    ids_releases: Literal["first", "all"] | None = None,
    pool: Filters | None = None,
    covariate_form: Mapping[str, str] | Sequence[str] | None = None,
    exact: str | Sequence[str] = "cohort",
    ratio: int = 10,
    caliper: float = 0.2,
    drop_missing: bool = False,
    bootstrap: int = 2000,
    seed: int = 1,
    min_treated: int | None = None,
    alpha: float = 0.05,
    multiple_testing: Literal["holm", "bh", "none"] = "holm",
    target: float | None = None,
    pooled_target: float | None = None,
    style: Literal["peterborough", "data-lab"] | None = None,
    exclude_offences: Codes | None = None,
    where: Filters | None = None,
    period: Period = "quarter",
    index: IndexRule = "first",
    incomplete: Incomplete = "error",
    latest_cohort: bool = False,
    follow_up: int = 12,
    waiting_period: int = 6,
    **read: Unpack[InputOptions],
) -> Result[Any]:
    """``reoffend compare matched``: treated releases against a propensity-score-matched comparison group
    (docs/comparisons-matched.md). ``treated``: ``{"establishment": "EST042"}``; or ``treated_ids``, a file
    of ids or the ids themselves. ``result.balance``, ``result.matches``, ``result.model`` are the core's."""
    from .report.terminal import matched as view
    from .runs.matched import matched_params, matched_run

    spec = input_spec(releases, convictions, read)
    measurement = _measurement(
        follow_up, waiting_period, period, index, incomplete, exclude_offences, where, latest_cohort, 0.95
    )
    params = matched_params(
        measurement,
        covariates=covariates,
        covariate_form=covariate_form,
        treated=treated,
        treated_ids=treated_ids,
        ids_releases=ids_releases or "first",
        pool=pool,
        exact=exact,
        ratio=ratio,
        caliper=caliper,
        drop_missing=drop_missing,
        bootstrap=bootstrap,
        min_treated=min_treated,
        seed=seed,
        alpha=alpha,
        target=target,
        pooled_target=pooled_target,
        style=style,
        multiple_testing=multiple_testing,
        given={} if ids_releases is None else {"ids_releases": "ids_releases"},
    )
    caller, collected = _collecting()
    run = matched_run(spec, params, caller)
    result = run.result
    return Result(
        table=result.rows,
        metadata=dict(result.metadata),
        parameters=run.parameters,
        core=result,
        title=view.MATCHED_TITLE,
        headline=view.matched_headline(result),
        warnings=_warn([*collected, *result.warnings]),
        render=functools.partial(_render_matched, result),
    )


def _render_matched(result: MatchedResult, console: Any) -> None:
    """What ``compare matched`` prints at a terminal: its table, the headline, then the details."""
    from .report.terminal import matched as view
    from .report.terminal import render_table

    rows, numeric = view.display_rows(result), view.primary_spec(result).numeric()
    render_table(rows, title=view.MATCHED_TITLE, caption=view.caption(result), console=console, numeric=numeric)
    console.print(view.matched_headline(result), highlight=False, markup=False)
    view.render_details(result, console)


@_public
def compare_baseline(
    releases: TableLike = None,
    convictions: TableLike = None,
    *,
    site: str | None = None,
    site_column: str | None = None,
    current: str | Sequence[str] = (),
    baseline: str | None = None,
    current_counts: str | Sequence[str] = (),
    baseline_counts: str | None = None,
    alpha: float = 0.05,
    sided: Literal["one", "two"] = "one",
    multiple_testing: Literal["holm", "bh", "none"] = "holm",
    target: float | None = None,
    schedule: str | os.PathLike[str] | None = None,
    exclude_offences: Codes | None = None,
    where: Filters | None = None,
    period: Period | None = None,
    index: IndexRule | None = None,
    incomplete: Incomplete | None = None,
    latest_cohort: bool = False,
    confidence: float = 0.95,
    follow_up: int | None = None,
    waiting_period: int | None = None,
    **read: Unpack[InputOptions],
) -> Result[Any]:
    """``reoffend compare baseline``: a site's current cohort(s) against its own baseline cohort, binary measure
    (docs/comparisons-baseline.md). From records (the two tables with ``site``, ``current`` and ``baseline``),
    or from published counts (``current_counts="480/1000"``, ``baseline_counts="530/1000"``, no tables). The
    measurement options default as ``measure``'s (``site_column`` to ``establishment``); given with published
    counts, where they would do nothing, they are a :class:`UsageError`, as on the command line."""
    from .runs.baseline import BaselineRecords, PublishedCounts, baseline_params, baseline_run
    from .runs.common import RECORD_ONLY

    measuring = {
        "site_column": site_column,
        "follow_up": follow_up,
        "waiting_period": waiting_period,
        "period": period,
        "index": index,
        "incomplete": incomplete,
        "exclude_offences": exclude_offences,
        "where": where,
        "latest_cohort": latest_cohort or None,
    }
    given = {name: name for name in RECORD_ONLY if measuring.get(name) is not None or name in read}

    params = baseline_params(
        confidence=confidence,
        alpha=alpha,
        sided=sided,
        multiple_testing=multiple_testing,
        target=target,
        schedule=schedule,
    )
    counts = [current_counts] if isinstance(current_counts, str) else list(current_counts)
    source: PublishedCounts | BaselineRecords
    if counts or baseline_counts:
        if releases is not None or convictions is not None or current or baseline or site:
            raise UsageError(
                "give either the tables with current/baseline (and site), or current_counts/baseline_counts, not both"
            )
        source = PublishedCounts(counts, baseline_counts or "")
    else:
        if releases is None or convictions is None:
            raise UsageError("comparing records needs both tables: releases and convictions")
        window = (12 if follow_up is None else follow_up, 6 if waiting_period is None else waiting_period)
        measurement = _measurement(
            *window,
            period or "quarter",
            index or "first",
            incomplete or "error",
            exclude_offences,
            where,
            latest_cohort,
            confidence,
        )
        labels = [current] if isinstance(current, str) else list(current)
        spec = input_spec(releases, convictions, read)
        source = BaselineRecords(spec, measurement, site, site_column or "establishment", labels, baseline)
    caller, collected = _collecting()
    run = baseline_run(source, params, caller, given)
    result = run.result
    title = "Against the baseline" + (f": {result.site}" if result.site else "")
    return Result(
        table=result.rows,
        metadata=dict(result.metadata),
        parameters=run.parameters,
        core=result,
        title=title,
        headline=run.headline,
        warnings=_warn([*collected, *result.warnings]),
        render=functools.partial(_render_baseline, run, title),
    )


def _render_baseline(run: BaselineRun, title: str, console: Any) -> None:
    """What ``compare baseline`` prints at a terminal: its table, then the headline."""
    from .report.terminal import render_table
    from .report.terminal.baseline import display_rows

    view, numeric = display_rows(run.result)
    render_table(view, title=title, console=console, numeric=numeric)
    console.print(run.headline, highlight=False, markup=False)


@_public
def power(
    releases: TableLike = None,
    convictions: TableLike = None,
    *,
    measure: Literal["binary", "frequency", "both"] = "binary",
    baseline_rate: str | float | None = None,
    baseline_events: float | None = None,
    dispersion: float | None = None,
    current_size: int | str | Sequence[int | str] = (),
    baseline_size: int | None = None,
    reduction: float | str | Sequence[float | str] = (),
    ratio: float | None = None,
    alpha: float = 0.05,
    power: float | None = None,
    sided: Literal["one", "two"] = "one",
    site: str | None = None,
    site_column: str | None = None,
    baseline: str | None = None,
    exclude_offences: Codes | None = None,
    where: Filters | None = None,
    period: Period | None = None,
    index: IndexRule | None = None,
    incomplete: Incomplete | None = None,
    follow_up: int | None = None,
    waiting_period: int | None = None,
    **read: Unpack[InputOptions],
) -> Result[Any]:
    """``reoffend power`` (docs/power.md): the minimum detectable reduction for cohort sizes, the size needed for
    a ``reduction``, or with both the power to detect it. From numbers (``baseline_rate=0.46`` or ``"46%"``), or
    from the tables with ``baseline`` (and ``site``, in ``site_column``, default ``establishment``): the
    baseline cohort measured, with the measurement options of ``measure`` (their defaults the same). ``power``
    (default 0.8) is the chance of detection wanted; it is what is computed when sizes and reductions are both
    given. An option that would do nothing (``dispersion`` with the binary measure alone, a measurement option
    from numbers) is a :class:`UsageError`, as on the command line."""
    from .runs.power import PowerQuestion, PowerRecords, power_params, power_run

    if measure not in ("binary", "frequency", "both"):
        raise UsageError(f"measure must be binary, frequency or both, not {measure!r}")
    from_records = releases is not None or convictions is not None
    if from_records and (releases is None or convictions is None):
        raise UsageError("from records, give both tables: releases and convictions")
    measuring = {
        "site_column": site_column,
        "follow_up": follow_up,
        "waiting_period": waiting_period,
        "period": period,
        "index": index,
        "incomplete": incomplete,
        "exclude_offences": exclude_offences,
        "where": where,
    }
    numbers = {"baseline_rate": baseline_rate, "baseline_events": baseline_events, "dispersion": dispersion}
    given = {name: name for name, value in {**numbers, **measuring}.items() if value is not None} | {
        name: name for name in read
    }

    def measurement() -> MeasureParams:  # made only when records are measured (issue 30)
        window = (12 if follow_up is None else follow_up, 6 if waiting_period is None else waiting_period)
        return _measurement(
            *window, period or "quarter", index or "first", incomplete or "error", exclude_offences, where
        )

    question = PowerQuestion(
        wanted=("binary", "frequency") if measure == "both" else (measure,),
        baseline_rate=None if baseline_rate is None else str(baseline_rate),
        baseline_events=baseline_events,
        dispersion=dispersion,
        current_size=_texts(current_size),
        baseline_size=baseline_size,
        reduction=_texts(reduction),
        ratio=ratio,
        power_given=power is not None,
    )
    spec = input_spec(releases, convictions, read) if from_records else None
    records = PowerRecords(spec, measurement, site, site_column or "establishment", baseline)
    params = power_params(alpha, power, sided)
    run = power_run(question, records, params, Caller(), given)
    return Result(
        table=run.rows.frame(),
        metadata=dict(run.metadata),
        parameters=dict(run.parameters),
        core=run,
        title="Power",
        headline=run.headline,
        warnings=_warn(run.warnings),
        render=functools.partial(_render_power, run, _power_caption(run, params)),
    )


def _power_caption(run: PowerRun, params: PowerParams) -> str:
    """The caption of ``power``'s table: the test, and the power wanted unless it is what was computed."""
    solved_power = run.rows.rows[0]["solved_for"] == "power"
    return f"{params.sided}-sided test at alpha {params.alpha:g}" + (
        "" if solved_power else f", power {100 * params.power:g}%"
    )


def _render_power(run: PowerRun, caption: str, console: Any) -> None:
    """What ``power`` prints at a terminal: the calculations, one column each, then the headline."""
    from .report.terminal import render_table
    from .report.terminal.power import display_rows

    render_table(display_rows(run.rows.frame()), title="Power", caption=caption, console=console)
    console.print(run.headline, highlight=False, markup=False)


@_public
def compare_adjusted(
    releases: TableLike,
    convictions: TableLike,
    *,
    baseline: str | Sequence[str],
    covariates: str | Sequence[str],
    baseline_filter: Filters | None = None,
    current: str | Sequence[str] | None = None,
    current_filter: Filters | None = None,
    by: str | Sequence[str] = "establishment",
    covariate_form: Mapping[str, str] | Sequence[str] | None = None,
    count_model: Literal["negbin", "poisson"] = "negbin",
    unseen: Literal["error", "pool"] = "error",
    parameter_uncertainty: bool = False,
    relative_to: Literal["baseline", "others"] = "baseline",
    alpha: float = 0.05,
    sided: Literal["one", "two"] = "one",
    multiple_testing: Literal["holm", "bh", "none"] = "holm",
    exclude_offences: Codes | None = None,
    where: Filters | None = None,
    period: Period = "quarter",
    index: IndexRule = "first",
    incomplete: Incomplete = "error",
    latest_cohort: bool = False,
    confidence: float = 0.95,
    follow_up: int = 12,
    waiting_period: int = 6,
    **read: Unpack[InputOptions],
) -> Result[Any]:
    """``reoffend compare adjusted``: each unit's current cohort against what the baseline cohort's models
    expect of its releases (the national mechanism, docs/comparisons-adjusted.md). ``result.models`` holds the
    fitted models' summaries (the command's ``--model-summary``)."""
    from .report.terminal import adjusted as view
    from .runs.adjusted import adjusted_params, adjusted_run

    spec = input_spec(releases, convictions, read)
    measurement = _measurement(
        follow_up, waiting_period, period, index, incomplete, exclude_offences, where, latest_cohort, confidence
    )
    params = adjusted_params(
        measurement,
        covariates=covariates,
        baseline=baseline,
        covariate_form=covariate_form,
        baseline_filter=baseline_filter,
        current=current,
        current_filter=current_filter,
        by=by,
        count_model=count_model,
        unseen=unseen,
        parameter_uncertainty=parameter_uncertainty,
        relative_to=relative_to,
        alpha=alpha,
        sided=sided,
        multiple_testing=multiple_testing,
    )
    caller, collected = _collecting()
    run = adjusted_run(spec, params, caller)
    result, headline = run.result, view.adjusted_summary(run.result)
    return Result(
        table=result.rows,
        metadata=dict(result.metadata),
        parameters=run.parameters,
        core=result,
        title=view.ADJUSTED_TITLE,
        headline=headline,
        warnings=_warn([*collected, *run.warnings]),
        render=functools.partial(_render_adjusted, result, headline),
    )


def _render_adjusted(result: AdjustedResult, headline: str | None, console: Any) -> None:
    """What ``compare adjusted`` prints at a terminal: its table, the headline, then the models."""
    from .report.tables import adjusted_table
    from .report.terminal import adjusted as view
    from .report.terminal import render_table

    numeric = adjusted_table(result.params).numeric()
    caption = view.adjusted_caption(result)
    render_table(
        view.display_rows(result), title=view.ADJUSTED_TITLE, caption=caption, console=console, numeric=numeric
    )
    if headline:
        console.print(headline, highlight=False, markup=False)
    view.print_models(result, console)


@_public
def write_bulletin(
    config: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
    *,
    extract_date: Any = None,
    as_at: Any = None,
    previous: str | os.PathLike[str] | None = None,
    acknowledge: str | Iterable[str] = (),
) -> Result[Any]:
    """``reoffend bulletin``: write the quarterly bulletin folder of a TOML ``config`` (docs/bulletin.md) to
    ``output`` (default: the config's ``output``, else ``bulletin``), atomically, as the command does; its inputs
    are the files the config names (a bulletin records them in its manifest). ``table`` is the folder's
    ``tables/trend.csv``; ``core.tables`` holds every table of the folder, by file name; ``metadata`` the facts
    the text states. Not named ``bulletin``: ``reoffend.bulletin`` is the package of the bulletin's modules.
    ``acknowledge``: warning codes (docs/cli.md, "Warnings"), as ``--acknowledge`` takes them: one string is one
    value (``"small-comparisons"``, or ``"a,b"``); an unknown code is a :class:`UsageError`."""
    from .bulletin.build import build_bulletin
    from .bulletin.folder import folder_lock
    from .run_warnings import acknowledged_codes
    from .runs.bulletin import prepared_bulletin
    from .runs.common import keyword

    settings, target = prepared_bulletin(
        os.fspath(config),
        None if output is None else os.fspath(output),
        as_at=a_date(as_at, "as_at"),
        previous=None if previous is None else os.fspath(previous),
        acknowledged=acknowledged_codes(acknowledge, "acknowledge"),
        flag=keyword,
    )
    with folder_lock(target):
        built = build_bulletin(settings, target, extract_date=a_date(extract_date, "extract_date"))
    facts = dict(built.facts)
    headline = f"bulletin for {facts['latest_cohort']} written to {target}/ (index.html, bulletin.md)"
    return Result(
        table=built.tables["trend.csv"],
        metadata=facts,
        parameters={"config": os.fspath(config), "output": target},
        core=built,
        title="Proven reoffending: trend",
        headline=headline,
        warnings=_warn(built.warnings),
    )
