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

import html
import io
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import polars as pl

from .cli.console import Stages
from .cli.output import Output
from .errors import DataError, InputFileError, ReoffendError, UsageError
from .inputs import InputSpec, TableInput, load_inputs
from .io import read_code_list
from .measure import MeasureParams
from .run_warnings import RunWarning
from .validate import input_warnings, warning_queries
from .window import FollowUpWindow

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
Filters = Mapping[str, str | Sequence[str]] | Sequence[str]


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

        from .cli.tables import render_table

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
        head = "".join(f"<th>{html.escape(str(column))}</th>" for column in self.table.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
            for row in self.table.iter_rows()
        )
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        headline = f"<p>{html.escape(self.headline)}</p>" if self.headline else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{headline}"


class _Collected(Output):
    """An :class:`reoffend.cli.common.Output` for a command's shared steps run from Python: no progress shown,
    nothing written, no run log; the warnings said to it are kept (``collected``) for the result."""

    def __post_init__(self) -> None:
        self.collected: list[RunWarning] = []

    def warn(self, warning: RunWarning) -> None:
        self.collected.append(warning)

    def status(self, text: str) -> Stages:
        return Stages.on(None, text)


# ----------------------------------------------------------------------------------------------- inputs
def as_table_input(table: TableLike, argument: str) -> TableInput:
    """A path (str or ``os.PathLike``) or a polars frame as given; a pandas DataFrame or a pyarrow Table
    converted (``pl.from_pandas``, ``pl.from_arrow``: zero-copy where the types allow); else a usage error."""
    if isinstance(table, pl.DataFrame | pl.LazyFrame | str):
        return table
    if isinstance(table, os.PathLike):
        path: str = os.fspath(table)
        return path
    module = type(table).__module__.split(".")[0]
    if module == "pandas" and type(table).__name__ == "DataFrame":
        return pl.from_pandas(table)
    if module == "pyarrow" and type(table).__name__ in ("Table", "RecordBatch"):
        converted = pl.from_arrow(table)
        assert isinstance(converted, pl.DataFrame)
        return converted
    raise UsageError(f"{argument}: give a path, or a polars, pandas or pyarrow table, not a {type(table).__name__}")


def input_spec(
    releases: TableLike,
    convictions: TableLike,
    *,
    column_map: Mapping[str, str] | None,
    extract_date: Any,
    as_at: Any,
    dedupe: bool,
    streaming: bool,
    input_format: str | None,
    delimiter: str | None,
    encoding: str | None,
    date_format: str | None,
) -> InputSpec:
    """The :class:`InputSpec` of a call: the two tables and how to read them (``column_map`` is ``--map``)."""
    return InputSpec(
        releases=as_table_input(releases, "releases"),
        convictions=as_table_input(convictions, "convictions"),
        column_map=dict(column_map or {}),
        input_format=input_format,
        extract_date=_date(extract_date, "extract_date"),
        dedupe=dedupe,
        streaming=streaming,
        as_at=_date(as_at, "as_at"),
        delimiter=delimiter,
        encoding=encoding,
        date_format=date_format,
    )


def _date(value: Any, argument: str) -> Any:
    import datetime as dt

    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise UsageError(f"{argument}: give a date (datetime.date or 'YYYY-MM-DD'), not {value!r}")


def _filters(values: Filters | None, argument: str) -> dict[str, tuple[str, ...]]:
    """``where``: a mapping (column -> value or values) or the command line's ``COLUMN=VALUE[,VALUE]`` items."""
    from .cli.parsing import parse_where

    if not values:
        return {}
    if isinstance(values, Mapping):
        return {
            # one value (a text, number or date) or several (a list, tuple or set): never iterated by accident
            str(column): tuple(str(x) for x in v) if isinstance(v, list | tuple | set | frozenset) else (str(v),)
            for column, v in values.items()
        }
    return parse_where(list(values), argument)


def _columns(value: str | Sequence[str] | None, argument: str) -> tuple[str, ...]:
    from .cli.parsing import parse_columns

    return parse_columns(value, argument)


def _codes(value: str | os.PathLike[str] | Iterable[str] | None) -> frozenset[str]:
    """``exclude_offences``: a file of codes (as ``--exclude-offences``) or the codes themselves."""
    if value is None:
        return frozenset()
    if isinstance(value, str | os.PathLike):
        return read_code_list(os.fspath(value))
    return frozenset(str(code).strip() for code in value if str(code).strip())


def measure_params(
    *,
    by: str | Sequence[str],
    follow_up: int,
    waiting_period: int,
    period: str,
    index: str,
    incomplete: str,
    exclude_offences: str | os.PathLike[str] | Iterable[str] | None,
    where: Filters | None,
    latest_cohort: bool,
    confidence: float,
) -> MeasureParams:
    """The measurement options every command shares, as :class:`MeasureParams`."""
    return MeasureParams(
        window=FollowUpWindow(follow_up, waiting_period),
        by=_columns(by, "by"),
        period=period,  # type: ignore[arg-type]  # checked where the cohorts are made
        index=index,  # type: ignore[arg-type]
        incomplete=incomplete,  # type: ignore[arg-type]
        excluded_offences=_codes(exclude_offences),
        confidence=confidence,
        where=_filters(where, "where"),
        latest_cohort=latest_cohort,
    )


def _warn(found: Iterable[RunWarning]) -> list[RunWarning]:
    """Each warning of a run as a Python warning (:class:`ReoffendWarning`), and the list for ``.warnings``."""
    listed = list(found)
    for warning in listed:
        warnings.warn(ReoffendWarning(str(warning), warning.code), stacklevel=3)
    return listed


# ----------------------------------------------------------------------------------------------- commands
def measure(
    releases: TableLike,
    convictions: TableLike,
    *,
    by: str | Sequence[str] = "cohort",
    exclude_offences: str | os.PathLike[str] | Iterable[str] | None = None,
    where: Filters | None = None,
    period: Literal["month", "quarter", "year", "financial-year"] = "quarter",
    index: Literal["first", "all"] = "first",
    incomplete: Literal["error", "exclude"] = "error",
    latest_cohort: bool = False,
    confidence: float = 0.95,
    follow_up: int = 12,
    waiting_period: int = 6,
    band: Mapping[str, Sequence[float]] | Sequence[str] | None = None,
    suppress: int | None = None,
    min_count: int | None = None,
    per_release: bool = False,
    column_map: Mapping[str, str] | None = None,
    extract_date: Any = None,
    as_at: Any = None,
    dedupe: bool = False,
    streaming: bool = False,
    input_format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
) -> Result[Any]:
    """``reoffend measure``: proven reoffending per group of index releases (docs/measures.md).

    ``per_release=True`` keeps the audit table (``result.per_release``); ``band``: ``{"age": [18, 21]}`` or
    the command line's ``"age=18,21"`` items; ``suppress``/``min_count``: ``--suppress``/``--min-count``.
    """
    from .cli.measure import measure_run

    spec = input_spec(
        releases,
        convictions,
        column_map=column_map,
        extract_date=extract_date,
        as_at=as_at,
        dedupe=dedupe,
        streaming=streaming,
        input_format=input_format,
        delimiter=delimiter,
        encoding=encoding,
        date_format=date_format,
    )
    params = measure_params(
        by=by,
        follow_up=follow_up,
        waiting_period=waiting_period,
        period=period,
        index=index,
        incomplete=incomplete,
        exclude_offences=exclude_offences,
        where=where,
        latest_cohort=latest_cohort,
        confidence=confidence,
    )
    bands = (
        band
        if band is None or not isinstance(band, Mapping)
        else [f"{column}={','.join(str(edge) for edge in edges)}" for column, edges in band.items()]
    )
    run = measure_run(
        spec, params, bands=tuple(bands or ()), min_cohort=suppress, min_count=min_count, per_release=per_release
    )
    return Result(
        table=run.rows,
        metadata=dict(run.result.metadata),
        parameters=run.parameters,
        core=run.result,
        title="Proven reoffending",
        warnings=_warn(run.warnings),
        render=run.render,
    )


def _load(spec: InputSpec, excluded_offences: frozenset[str]) -> tuple[Any, list[RunWarning]]:
    """Read and validate the inputs as the commands do (``load_or_report`` with its warnings): the valid
    inputs, and the warnings about them (:func:`reoffend.validate.input_warnings`)."""
    extra_required: dict[str, tuple[str, ...]] | None = (
        {"convictions": ("offence_code",)} if excluded_offences else None
    )
    inputs = load_inputs(spec, extra_required, None, warning_queries(excluded_offences))
    return inputs, input_warnings(inputs, excluded_offences)


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
    min_coverage: float = 0.85,
    exclude_offences: str | os.PathLike[str] | Iterable[str] | None = None,
    where: Filters | None = None,
    period: Literal["month", "quarter", "year", "financial-year"] = "quarter",
    index: Literal["first", "all"] = "first",
    confidence: float = 0.95,
    follow_up: int = 12,
    waiting_period: int = 6,
    column_map: Mapping[str, str] | None = None,
    extract_date: Any = None,
    as_at: Any = None,
    dedupe: bool = False,
    streaming: bool = False,
    input_format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
) -> Result[Any]:
    """``reoffend nowcast``: final figures for complete cohorts, provisional ones with intervals for cohorts
    still in follow-up (docs/nowcast.md). ``table`` has a ``status`` column: ``final`` or ``provisional``."""
    from .cli.nowcast import display_nowcast
    from .nowcast import CheckParams, NowcastParams
    from .nowcast import nowcast as run_nowcast

    spec = input_spec(
        releases,
        convictions,
        column_map=column_map,
        extract_date=extract_date,
        as_at=as_at,
        dedupe=dedupe,
        streaming=streaming,
        input_format=input_format,
        delimiter=delimiter,
        encoding=encoding,
        date_format=date_format,
    )
    measurement = measure_params(
        by=by,
        follow_up=follow_up,
        waiting_period=waiting_period,
        period=period,
        index=index,
        incomplete="error",
        exclude_offences=exclude_offences,
        where=where,
        latest_cohort=False,
        confidence=confidence,
    )
    if learn_from not in ("all", "complete"):
        raise UsageError(f"learn_from must be 'all' or 'complete', not {learn_from!r}")
    params = NowcastParams(
        measurement,
        final_cohorts=final_cohorts,
        estimator=estimator,
        court_lag=court_lag,
        censored_reference=learn_from == "all",
    )
    check_params = CheckParams(enabled=check, min_coverage=min_coverage)
    inputs, found = _load(spec, measurement.excluded_offences)
    outcome = run_nowcast(inputs, params, check=check_params)
    parameters = {"inputs": spec.as_dict(), **params.as_dict(), "check": check, "min_coverage": min_coverage}
    by_columns, level = params.measurement.by, params.measurement.confidence
    caption = (
        f"{params.window.describe()}; extract date {outcome.metadata['extract_date']}; ≈ provisional "
        "(reoffend docs nowcast)"
    )
    title = "Proven reoffending: final and provisional"

    def render(console: Any) -> None:
        from .cli.tables import render_table

        render_table(display_nowcast(outcome.rows, by_columns, level), title=title, caption=caption, console=console)

    return Result(
        table=outcome.rows,
        metadata=dict(outcome.metadata),
        parameters=parameters,
        core=outcome,
        title=title,
        warnings=_warn([*found, *outcome.warnings]),
        render=render,
    )


def compare_matched(
    releases: TableLike,
    convictions: TableLike,
    *,
    covariates: str | Sequence[str],
    treated: Filters | None = None,
    treated_ids: str | os.PathLike[str] | Iterable[str] | None = None,
    ids_releases: Literal["first", "all"] = "first",
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
    exclude_offences: str | os.PathLike[str] | Iterable[str] | None = None,
    where: Filters | None = None,
    period: Literal["month", "quarter", "year", "financial-year"] = "quarter",
    index: Literal["first", "all"] = "first",
    incomplete: Literal["error", "exclude"] = "error",
    latest_cohort: bool = False,
    follow_up: int = 12,
    waiting_period: int = 6,
    column_map: Mapping[str, str] | None = None,
    extract_date: Any = None,
    as_at: Any = None,
    dedupe: bool = False,
    streaming: bool = False,
    input_format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
) -> Result[Any]:
    """``reoffend compare matched``: treated releases against a propensity-score-matched comparison group
    (docs/comparisons-matched.md). ``treated``: ``{"establishment": "EST042"}``; or ``treated_ids``, a file
    of ids or the ids themselves. ``result.balance``, ``result.matches``, ``result.model`` are the core's."""
    from .cli import compare_matched as view
    from .compare.design import parse_forms
    from .compare.matched import MIN_TREATED, MatchedParams, read_id_list
    from .compare.matched import compare_matched as run_matched
    from .report.datalab import data_lab_paragraphs
    from .report.views import matched_headlines

    spec = input_spec(
        releases,
        convictions,
        column_map=column_map,
        extract_date=extract_date,
        as_at=as_at,
        dedupe=dedupe,
        streaming=streaming,
        input_format=input_format,
        delimiter=delimiter,
        encoding=encoding,
        date_format=date_format,
    )
    measurement = measure_params(
        by=("cohort",),
        follow_up=follow_up,
        waiting_period=waiting_period,
        period=period,
        index=index,
        incomplete=incomplete,
        exclude_offences=exclude_offences,
        where=where,
        latest_cohort=latest_cohort,
        confidence=0.95,
    )
    if treated and treated_ids is not None:
        raise UsageError("give treated or treated_ids, not both")
    ids: tuple[str, ...] | None = None
    ids_source: str | None = None
    if isinstance(treated_ids, str | os.PathLike):
        ids_source = os.fspath(treated_ids)
        ids = read_id_list(ids_source)
    elif treated_ids is not None:
        ids = tuple(str(value) for value in treated_ids)
        ids_source = "treated_ids (list)"
    covariate_names = _columns(covariates, "covariates")
    forms = covariate_form if isinstance(covariate_form, Mapping) else list(covariate_form or ())
    params = MatchedParams(
        measure=measurement,
        treated=_filters(treated, "treated"),
        treated_ids=ids,
        treated_ids_source=ids_source,
        ids_releases=ids_releases,
        pool=_filters(pool, "pool"),
        covariates=covariate_names,
        covariate_forms=parse_forms(forms, covariate_names, "covariate_form"),
        exact=_columns(exact, "exact"),
        ratio=ratio,
        caliper=caliper,
        drop_missing=drop_missing,
        bootstrap=bootstrap,
        min_treated=MIN_TREATED if min_treated is None else min_treated,
        seed=seed,
        alpha=alpha,
        target=target,
        pooled_target=pooled_target,
        style=style,
        multiple_testing=multiple_testing,
    )
    inputs, found = _load(spec, measurement.excluded_offences)
    result = run_matched(inputs, params)
    headline = (
        "\n".join(data_lab_paragraphs(result.data_lab))
        if result.data_lab is not None
        else matched_headlines(result).splitlines()[-1]
    )
    title = "Matched comparison: change in reconviction events per 100 (primary measure)"

    def render(console: Any) -> None:
        from .cli.tables import render_table
        from .report.tables import MATCHED_BINARY, matched_table

        render_table(
            view.display_rows(result),
            title=title,
            caption=view.caption(result),
            console=console,
            numeric=view.primary_spec(result).numeric(),
        )
        if headline:
            console.print(headline, highlight=False, markup=False)
        render_table(view.count_rows(result), title="Matching: treated index releases and comparators", console=console)
        render_table(
            view.binary_rows(result),
            title="Binary reoffending rate (secondary)",
            numeric=matched_table(result.params).pick(MATCHED_BINARY).numeric(),
            console=console,
        )
        render_table(
            view.balance_rows(result),
            title="Balance: standardised mean differences",
            caption=view.balance_caption(),
            console=console,
        )
        render_table(
            view.model_rows(result), title="Propensity model", caption=view.model_caption(result), console=console
        )

    return Result(
        table=result.rows,
        metadata=dict(result.metadata),
        parameters={"inputs": spec.as_dict(), **params.as_dict()},
        core=result,
        title=title,
        headline=headline,
        warnings=_warn([*found, *result.warnings]),
        render=render,
    )


def validate(
    releases: TableLike,
    convictions: TableLike,
    *,
    incomplete: Literal["error", "exclude"] = "error",
    period: Literal["month", "quarter", "year", "financial-year"] = "quarter",
    follow_up: int = 12,
    waiting_period: int = 6,
    column_map: Mapping[str, str] | None = None,
    extract_date: Any = None,
    as_at: Any = None,
    dedupe: bool = False,
    streaming: bool = False,
    input_format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
) -> Result[Any]:
    """``reoffend validate``: check the inputs against every rule of docs/data.md (a :class:`DataError`
    listing the problems when one fails) and summarise them (``table``: columns ``table``, ``item``, ``value``)."""
    from .cli.measure import validate_run

    spec = input_spec(
        releases,
        convictions,
        column_map=column_map,
        extract_date=extract_date,
        as_at=as_at,
        dedupe=dedupe,
        streaming=streaming,
        input_format=input_format,
        delimiter=delimiter,
        encoding=encoding,
        date_format=date_format,
    )
    run = validate_run(spec, FollowUpWindow(follow_up, waiting_period), incomplete, period)
    return Result(
        table=run.rows,
        metadata=run.metadata,
        parameters=run.parameters,
        core=run,
        title="Input summary",
        headline=run.message,
    )


def compare_baseline(
    releases: TableLike = None,
    convictions: TableLike = None,
    *,
    site: str | None = None,
    site_column: str = "establishment",
    current: str | Sequence[str] = (),
    baseline: str | None = None,
    current_counts: str | Sequence[str] = (),
    baseline_counts: str | None = None,
    alpha: float = 0.05,
    sided: Literal["one", "two"] = "one",
    multiple_testing: Literal["holm", "bh", "none"] = "holm",
    target: float | None = None,
    schedule: str | os.PathLike[str] | None = None,
    exclude_offences: str | os.PathLike[str] | Iterable[str] | None = None,
    where: Filters | None = None,
    period: Literal["month", "quarter", "year", "financial-year"] = "quarter",
    index: Literal["first", "all"] = "first",
    incomplete: Literal["error", "exclude"] = "error",
    latest_cohort: bool = False,
    confidence: float = 0.95,
    follow_up: int = 12,
    waiting_period: int = 6,
    column_map: Mapping[str, str] | None = None,
    extract_date: Any = None,
    as_at: Any = None,
    dedupe: bool = False,
    streaming: bool = False,
    input_format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
) -> Result[Any]:
    """``reoffend compare baseline``: a site's current cohort(s) against its own baseline cohort, binary measure
    (docs/comparisons-baseline.md). From records (the two tables with ``site``, ``current`` and ``baseline``),
    or from published counts (``current_counts="480/1000"``, ``baseline_counts="530/1000"``, no tables)."""
    from .cli.compare_baseline import _counts, _from_records, display_rows
    from .compare.baseline import BaselineParams, compare_counts, read_schedule, rounding_check
    from .report.views import baseline_headlines, rounding_sentence

    params = BaselineParams(
        confidence=confidence,
        alpha=alpha,
        sided=sided,
        multiple_testing=multiple_testing,
        target_pp=target,
        schedule=read_schedule(os.fspath(schedule)) if schedule else (),
    )
    counts = [current_counts] if isinstance(current_counts, str) else list(current_counts)
    from_records = releases is not None or convictions is not None or bool(current) or bool(baseline)
    rounding: list[dict[str, Any]] = []
    collected = _Collected()
    if counts or baseline_counts:
        if from_records:
            raise UsageError("give either the tables with current/baseline, or current_counts/baseline_counts")
        if not counts or not baseline_counts:
            raise UsageError("current_counts and baseline_counts go together")
        items = [item for value in counts for item in value.split(",") if item.strip()]
        labels = ["current"] if len(items) == 1 else [f"current {i}" for i in range(1, len(items) + 1)]
        cohorts = [_counts("current_counts", item, label) for item, label in zip(items, labels, strict=True)]
        base = _counts("baseline_counts", baseline_counts, "baseline")
        result = compare_counts(cohorts, base, params, metadata={"source": "counts"})
        rounding = rounding_check(cohorts, base, params)
        parameters: dict[str, Any] = {"source": "counts", **params.as_dict()}
    else:
        if releases is None or convictions is None:
            raise UsageError("comparing records needs both tables: releases and convictions")
        spec = input_spec(
            releases,
            convictions,
            column_map=column_map,
            extract_date=extract_date,
            as_at=as_at,
            dedupe=dedupe,
            streaming=streaming,
            input_format=input_format,
            delimiter=delimiter,
            encoding=encoding,
            date_format=date_format,
        )
        measurement = measure_params(
            by=(),
            follow_up=follow_up,
            waiting_period=waiting_period,
            period=period,
            index=index,
            incomplete=incomplete,
            exclude_offences=exclude_offences,
            where=where,
            latest_cohort=latest_cohort,
            confidence=confidence,
        )
        labels = [current] if isinstance(current, str) else list(current)
        result, parameters = _from_records(
            spec, None, measurement, site, site_column, labels, baseline, params, collected
        )
    headline = "\n".join([baseline_headlines(result), *(rounding_sentence(check) for check in rounding)])
    title = "Against the baseline" + (f": {result.site}" if result.site else "")

    def render(console: Any) -> None:
        from .cli.tables import render_table

        view, numeric = display_rows(result)
        render_table(view, title=title, console=console, numeric=numeric)
        console.print(headline, highlight=False, markup=False)

    return Result(
        table=result.rows,
        metadata=dict(result.metadata),
        parameters=parameters,
        core=result,
        title=title,
        headline=headline,
        warnings=_warn([*collected.collected, *result.warnings]),
        render=render,
    )


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
    site_column: str = "establishment",
    baseline: str | None = None,
    exclude_offences: str | os.PathLike[str] | Iterable[str] | None = None,
    where: Filters | None = None,
    period: Literal["month", "quarter", "year", "financial-year"] = "quarter",
    index: Literal["first", "all"] = "first",
    incomplete: Literal["error", "exclude"] = "error",
    follow_up: int = 12,
    waiting_period: int = 6,
    column_map: Mapping[str, str] | None = None,
    extract_date: Any = None,
    as_at: Any = None,
    dedupe: bool = False,
    streaming: bool = False,
    input_format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
) -> Result[Any]:
    """``reoffend power`` (docs/power.md): the minimum detectable reduction for cohort sizes, the size needed for
    a ``reduction``, or with both the power to detect it. From numbers (``baseline_rate=0.46`` or ``"46%"``), or
    from the tables with ``baseline`` (and ``site``): the baseline cohort measured. ``power`` (default 0.8) is
    the chance of detection wanted; it is what is computed when sizes and reductions are both given."""
    from .cli.power import display_rows, power_run
    from .compare.power import PowerParams

    params = PowerParams(alpha=alpha, power=0.8 if power is None else power, sided=sided)
    wanted = ("binary", "frequency") if measure == "both" else (measure,)
    if measure not in ("binary", "frequency", "both"):
        raise UsageError(f"measure must be binary, frequency or both, not {measure!r}")
    spec = None
    measurement = MeasureParams()
    if releases is not None or convictions is not None:
        if releases is None or convictions is None:
            raise UsageError("from records, give both tables: releases and convictions")
        spec = input_spec(
            releases,
            convictions,
            column_map=column_map,
            extract_date=extract_date,
            as_at=as_at,
            dedupe=dedupe,
            streaming=streaming,
            input_format=input_format,
            delimiter=delimiter,
            encoding=encoding,
            date_format=date_format,
        )
        measurement = measure_params(
            by=(),
            follow_up=follow_up,
            waiting_period=waiting_period,
            period=period,
            index=index,
            incomplete=incomplete,
            exclude_offences=exclude_offences,
            where=where,
            latest_cohort=False,
            confidence=0.95,
        )

    def texts(values: Any) -> list[str]:
        return [str(values)] if isinstance(values, str | int | float) else [str(value) for value in values]

    run = power_run(
        spec,
        lambda: measurement,
        params,
        wanted=wanted,
        site=site,
        site_column=site_column,
        baseline_cohort=baseline,
        baseline_rate=None if baseline_rate is None else str(baseline_rate),
        baseline_events=baseline_events,
        dispersion=dispersion,
        current_size=texts(current_size),
        baseline_size=baseline_size,
        reduction=texts(reduction),
        ratio=ratio,
        power_given=power is not None,
    )
    caption = f"{params.sided}-sided test at alpha {params.alpha:g}" + (
        "" if run.rows.rows[0]["solved_for"] == "power" else f", power {100 * params.power:g}%"
    )

    def render(console: Any) -> None:
        from .cli.tables import render_table

        render_table(display_rows(run.rows.frame()), title="Power", caption=caption, console=console)
        console.print(run.headline, highlight=False, markup=False)

    return Result(
        table=run.rows.frame(),
        metadata=dict(run.metadata),
        parameters=dict(run.parameters),
        core=run,
        title="Power",
        headline=run.headline,
        warnings=_warn(run.warnings),
        render=render,
    )


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
    exclude_offences: str | os.PathLike[str] | Iterable[str] | None = None,
    where: Filters | None = None,
    period: Literal["month", "quarter", "year", "financial-year"] = "quarter",
    index: Literal["first", "all"] = "first",
    incomplete: Literal["error", "exclude"] = "error",
    latest_cohort: bool = False,
    confidence: float = 0.95,
    follow_up: int = 12,
    waiting_period: int = 6,
    column_map: Mapping[str, str] | None = None,
    extract_date: Any = None,
    as_at: Any = None,
    dedupe: bool = False,
    streaming: bool = False,
    input_format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
) -> Result[Any]:
    """``reoffend compare adjusted``: each unit's current cohort against what the baseline cohort's models
    expect of its releases (the national mechanism, docs/comparisons-adjusted.md). ``result.models`` holds the
    fitted models' summaries (the command's ``--model-summary``)."""
    from .cli import compare_adjusted as view
    from .compare.adjusted import AdjustedParams, run_adjusted
    from .compare.design import parse_forms
    from .report.tables import adjusted_table

    spec = input_spec(
        releases,
        convictions,
        column_map=column_map,
        extract_date=extract_date,
        as_at=as_at,
        dedupe=dedupe,
        streaming=streaming,
        input_format=input_format,
        delimiter=delimiter,
        encoding=encoding,
        date_format=date_format,
    )
    measurement = measure_params(
        by=(),
        follow_up=follow_up,
        waiting_period=waiting_period,
        period=period,
        index=index,
        incomplete=incomplete,
        exclude_offences=exclude_offences,
        where=where,
        latest_cohort=False,
        confidence=confidence,
    )
    current_cohorts = _columns(current, "current") if current else None
    if current_cohorts and latest_cohort:
        raise UsageError("give current or latest_cohort, not both")
    covariate_names = _columns(covariates, "covariates")
    forms = covariate_form if isinstance(covariate_form, Mapping) else list(covariate_form or ())
    params = AdjustedParams(
        covariates=covariate_names,
        covariate_forms=parse_forms(forms, covariate_names, "covariate_form"),
        baseline=_columns(baseline, "baseline"),
        measure=measurement,
        baseline_filter=_filters(baseline_filter, "baseline_filter"),
        current=current_cohorts,
        latest_current=latest_cohort,
        by=_columns(by, "by"),
        count_model=count_model,
        alpha=alpha,
        sided=sided,
        current_filter=_filters(current_filter, "current_filter"),
        unseen=unseen,
        parameter_uncertainty=parameter_uncertainty,
        multiple_testing=multiple_testing,
        relative_to=relative_to,
    )
    inputs, found = _load(spec, measurement.excluded_offences)
    result = run_adjusted(inputs, params)
    excluded = result.metadata.get("incomplete_releases_excluded")
    if isinstance(excluded, int) and excluded:
        from .cli.console import incomplete_excluded

        found.append(incomplete_excluded(excluded))
    headline = view._summary(result)
    title = "Risk-adjusted comparison with the baseline"

    def render(console: Any) -> None:
        from .cli.tables import render_table

        render_table(
            view.display_rows(result),
            title=title,
            caption=view._caption(result),
            console=console,
            numeric=adjusted_table(result.params).numeric(),
        )
        if headline:
            console.print(headline, highlight=False, markup=False)
        view.print_models(result, console)

    return Result(
        table=result.rows,
        metadata=dict(result.metadata),
        parameters={"inputs": spec.as_dict(), **params.as_dict()},
        core=result,
        title=title,
        headline=headline,
        warnings=_warn([*found, *result.all_warnings()]),
        render=render,
    )


def write_bulletin(
    config: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
    *,
    extract_date: Any = None,
    as_at: Any = None,
    previous: str | os.PathLike[str] | None = None,
    acknowledge: Iterable[str] = (),
) -> Result[Any]:
    """``reoffend bulletin``: write the quarterly bulletin folder of a TOML ``config`` (docs/bulletin.md) to
    ``output`` (default: the config's ``output``, else ``bulletin``), atomically, as the command does; its inputs
    are the files the config names (a bulletin records them in its manifest). ``table`` is the folder's
    ``tables/trend.csv``; ``core.tables`` holds every table of the folder, by file name; ``metadata`` the facts
    the text states. Not named ``bulletin``: ``reoffend.bulletin`` is the package of the bulletin's modules."""
    from .bulletin.build import build_bulletin
    from .bulletin.folder import folder_lock
    from .cli.bulletin import prepared_bulletin

    settings, target = prepared_bulletin(
        os.fspath(config),
        None if output is None else os.fspath(output),
        as_at=_date(as_at, "as_at"),
        previous=None if previous is None else os.fspath(previous),
        acknowledged=tuple(acknowledge),
    )
    with folder_lock(target):
        built = build_bulletin(settings, target, extract_date=_date(extract_date, "extract_date"))
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
