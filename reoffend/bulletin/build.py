"""Build the quarterly bulletin: compute, compose, and write the folder (docs/bulletin.md).

:func:`compute_bulletin` is the pure part (config and inputs in, a :class:`Bulletin` of tables, figures and
text out); :func:`bulletin_files` turns it into the bytes of every file, :func:`build_bulletin` does both and
writes the folder atomically. Nothing here prints; progress goes through an optional callback.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from .. import __version__
from ..banding import band_inputs, band_labels, merge_sparse_ends
from ..cohort import partial_periods
from ..disclosure import SHORTHAND as SHORTHAND_C
from ..disclosure import SUPPRESSED, DisclosureRule, suppressed_mask, withhold
from ..errors import DisclosureFailure, UsageError, name_list, single_problem
from ..inputs import InputSpec, ValidatedInputs, load_inputs
from ..io import read_code_list
from ..linked import AuditReport, InconsistentTables, LinkedTables, Protection, UnprotectableCell, describe, protect
from ..measure import MeasureParams, measure
from ..run_warnings import RunWarning
from ..validate import no_reoffence_reason
from . import chartrules, text
from .comparisons import ComparisonSection, measured_columns, run_comparisons
from .config import BulletinConfig
from .document import Block, Document, to_html, to_markdown
from .folder import MANIFEST_KEY, MANIFEST_VERSION, file_stem, write_folder
from .labels import check_labels, known_values
from .provisional import (
    ProvisionalSection,
    compute_provisional,
    provisional_blocks,
    provisional_chart,
    provisional_finding,
)
from .publication import (
    Layout,
    TableCells,
    audit_publication,
    bulletin_layout,
    court_lag_cells,
    measure_cells,
    model_of,
    protect_mean_days,
    provisional_cells,
    withheld_rows,
    withhold_days,
    withhold_rows,
)
from .revisions import TABLE as REVISIONS_TABLE
from .revisions import Previous, read_previous, revisable, revision_cells, revisions
from .stats import (
    LAG_MONTHS,
    CohortMeasures,
    by_establishment,
    cohort_changes,
    complete_cohorts,
    completeness_tables,
    court_lag_table,
    lag_cohorts,
    restrict_cohorts,
    tested_against_all,
    year_earlier,
)
from .successive import Carried, PublishedNowFails, court_lag_difference_fails, protect_series

Progress = Callable[[str], None]
STEPS = (
    "reading and validating the inputs",
    "measuring cohorts",
    "latest cohort by establishment",
    "court-lag curve",
    "breakdowns",
    "comparisons",
    "charts",
    "writing the folder",
)
P_VALUE_FLOOR = 0.001  # p-values below this are written "p < 0.001"
# the establishment tables of earlier releases (not written; in the disclosure model only)
SERIES_TABLE = "establishments of earlier releases"


@dataclass
class Bulletin:
    """Everything the folder holds, before it is written."""

    config: BulletinConfig
    params: MeasureParams
    tables: dict[str, pl.DataFrame]
    figures: dict[str, tuple[bytes, bytes]]
    document: Document
    facts: dict[str, Any]
    inputs: dict[str, dict[str, Any]]
    comparisons: list[ComparisonSection] = field(default_factory=list)
    warnings: list[RunWarning] = field(default_factory=list)
    previous: dict[str, Any] | None = None  # the bulletin this one was compared with (revisions.Previous.as_dict)


def measure_params(config: BulletinConfig) -> MeasureParams:
    m = config.measure
    return MeasureParams(
        window=m.window,
        by=("cohort",),
        period=m.period,
        index=m.index,
        incomplete="exclude",
        excluded_offences=read_code_list(config.inputs.exclude_offences)
        if config.inputs.exclude_offences
        else frozenset(),
        confidence=m.confidence,
        where=dict(m.where),
    )


def input_spec(config: BulletinConfig, extract_date: dt.date | None = None) -> InputSpec:
    """The inputs of the config; ``--extract-date`` beats its ``[inputs]`` key (``--as-at`` is set in the config)."""
    i = config.inputs
    return InputSpec(
        releases=i.releases,
        convictions=i.convictions,
        column_map=dict(i.column_map),
        input_format=i.input_format,
        delimiter=i.delimiter,
        encoding=i.encoding,
        date_format=i.date_format,
        extract_date=extract_date or i.extract_date,
        dedupe=i.dedupe,
        as_at=i.as_at,
    )


Drawing = Callable[[], tuple[bytes, bytes]]


def _charts():
    from . import figures  # matplotlib, imported by the chart thread (ChartWorker)

    return figures


def _chart(name: str, *args: Any) -> tuple[bytes, bytes]:
    """The chart ``name`` of :mod:`reoffend.bulletin.figures` drawn from ``args``, without its SVG title."""
    return getattr(_charts(), name)(*args)


def _import_for_charts() -> None:
    """What the chart thread imports first: matplotlib and numpy for the charts (and the tests' p-values:
    reoffend/ndtr.py, which needs no scipy)."""
    _charts()


class ChartWorker:
    """Imports matplotlib and draws the charts in one thread of its own while the calling thread computes.

    Importing matplotlib and numpy and drawing the charts are single-threaded Python (about 1.5 CPU s
    at 1,000,000 releases, bench/NOTES.md); polars releases the GIL while it reads, joins and groups, so the
    two overlap. Each chart is submitted as soon as its table is final and drawn in the order submitted, by
    the one thread, exactly as it would be drawn inline (the same bytes: render sets matplotlib's settings in
    an rc_context, and nothing else in the bulletin uses matplotlib). :meth:`results` waits for them and
    re-raises a chart's error in the caller.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reoffend-charts")
        self._pool.submit(_import_for_charts)  # an error shows again when a chart imports matplotlib
        self._drawings: dict[str, Future[tuple[bytes, bytes]]] = {}

    def draw(self, name: str, drawing: Drawing) -> None:
        self._drawings[name] = self._pool.submit(drawing)

    def results(self) -> dict[str, tuple[bytes, bytes]]:
        """PNG and SVG bytes of each chart, in the order submitted."""
        return {name: future.result() for name, future in self._drawings.items()}

    def __enter__(self) -> ChartWorker:
        return self

    def __exit__(self, *_exc) -> None:
        # a failed bulletin does not wait for charts it will not write (an import under way finishes alone)
        self._pool.shutdown(wait=False, cancel_futures=True)


def compute_bulletin(
    config: BulletinConfig, *, extract_date: dt.date | None = None, progress: Progress | None = None
) -> Bulletin:
    """Every number, chart and sentence of the bulletin (raises DataError/InputFileError/UsageError).

    The charts are drawn by a :class:`ChartWorker` while the numbers are computed.
    """
    with ChartWorker() as worker:
        return _compute_bulletin(config, extract_date, progress, worker)


def _compute_bulletin(
    config: BulletinConfig, extract_date: dt.date | None, progress: Progress | None, worker: ChartWorker
) -> Bulletin:
    """The bulletin, section by section: each section is measured, then disclosure control runs over all of them
    at once, then each is published (withheld cells as [c], its chart or the sentence in its place), and the
    folder's tables, facts and text are made from what is published."""
    step = progress or (lambda _name: None)
    step(STEPS[0])
    params = measure_params(config)
    previous, inputs = _read_inputs(config, params, extract_date)
    step(STEPS[1])
    cohorts = _measure_cohorts(config, inputs, params)
    step(STEPS[2])
    establishments = _latest_by_establishment(cohorts, params)
    step(STEPS[4])
    breakdowns = breakdown_tables(config, inputs, params, cohorts.complete)
    step(STEPS[5])
    comparison_sections = run_comparisons(config, inputs, params, cohorts.latest, cohorts.complete, cohorts.measured)
    # disclosure control over the whole publication (reoffend/linked.py, bulletin/publication.py): one model
    # of every table, primary and secondary suppression over it, then the audit of what is published
    step("disclosure control")
    parts = [*_cohort_parts(cohorts, establishments), *breakdowns, *comparison_sections]
    control = _disclosure_control(parts, config.disclosure, previous)
    published = _publish(
        config, params, cohorts, establishments, breakdowns, comparison_sections, control, previous, _Charts(worker)
    )
    step(STEPS[3])
    published.lag = _published_court_lag(
        cohorts, published.hidden_cohorts, params, config.disclosure, previous, control.layout, published.charts
    )
    if config.provisional.enabled:
        step("provisional figures")
        published.provisional = compute_provisional(config.provisional, inputs, params, config.disclosure)
        if published.provisional is not None:
            control.layout.tables.append(provisional_cells())
    # every table of the folder, made once: what is written is what the audit reads (as disclosure-check does)
    tables = _folder_tables(config, params, inputs, previous, cohorts, published)
    # the declarations of the tables written (the earlier releases' establishment tables are not)
    layout = Layout([spec for spec in control.layout.tables if spec.table in tables])
    audit_report = _audit(tables, layout, control)
    step(STEPS[6])
    findings, drawn = _findings_and_charts(config, params, published, worker)
    facts = {
        **_cohort_facts(cohorts, inputs, published.lag),
        **_section_facts(cohorts, published),
        "disclosure": _disclosure_facts(config.disclosure, tables, layout, audit_report),
    }
    input_facts = _input_facts(config, inputs)
    context = _text_context(config, params, cohorts, published, facts, input_facts, findings, drawn, previous)
    return Bulletin(
        config=config,
        params=params,
        tables=tables,
        figures=_labelled_figures(drawn, findings, context),
        document=text.compose(context),
        facts=facts,
        inputs=input_facts,
        comparisons=published.comparisons,
        warnings=_run_warnings(inputs, params, published.comparisons),
        previous=previous.as_dict() if previous is not None else None,
    )


def _read_inputs(
    config: BulletinConfig, params: MeasureParams, extract_date: dt.date | None
) -> tuple[Previous | None, ValidatedInputs]:
    """The previous bulletin, if any, and the inputs, read and validated; refuses an extract with no conviction
    rows (unless ``allow_no_convictions``) and a previous bulletin that is not one, or not earlier."""
    # the previous bulletin (its figures are revised), refused before any work if it is not one (exit 2)
    previous = read_previous(config.publication.previous, params.as_dict()) if config.publication.previous else None
    spec = input_spec(config, extract_date)
    extra: dict[str, tuple[str, ...]] | None = {"convictions": ("offence_code",)} if params.excluded_offences else None
    inputs = load_inputs(spec, extra)
    if previous is not None:
        previous.check_earlier_than(inputs.extract_date)
    if extract_date is None and config.inputs.extract_date is not None and inputs.as_at is None:  # the config's
        inputs.extract_date_source = f"[inputs] extract_date in {Path(config.path).name}"
    if not inputs.row_counts["convictions"] and not config.inputs.allow_no_convictions:
        raise single_problem(
            inputs.names["convictions"],
            None,
            "no-convictions",
            "the file has a header but no conviction rows: every rate would be 0% and every figure published. "
            "Check the extract; if no conviction is right, set allow_no_convictions = true in [inputs]",
        )
    return previous, inputs


@dataclass(frozen=True)
class _Cohorts:
    """The complete cohorts measured: what every section starts from (before disclosure control)."""

    completeness: pl.DataFrame  # cohorts.csv: each cohort and whether its follow-up is complete
    measured: CohortMeasures  # one join for the trend, the establishments, the court lag and the baseline
    trend: pl.DataFrame  # every complete cohort with releases, as measured
    changes: pl.DataFrame  # the latest cohort against the previous one and the same cohort a year earlier
    column: str  # the establishment column ("" for none)
    lag_cohorts: list[str]  # the cohorts complete at the court lag's longest waiting period

    @property
    def complete(self) -> list[str]:
        return self.trend["cohort"].to_list()

    @property
    def latest(self) -> str:
        return self.complete[-1]

    @property
    def latest_row(self) -> dict[str, Any]:
        return self.trend.row(-1, named=True)


def _measure_cohorts(config: BulletinConfig, inputs: ValidatedInputs, params: MeasureParams) -> _Cohorts:
    """The complete cohorts measured once, and the changes of the latest; refuses a bulletin with no releases,
    no complete cohort or (unless ``allow_no_convictions``) no reoffence, and labels of what is not there."""
    longest = max(LAG_MONTHS, params.window.waiting_period_months)
    lag_window = type(params.window)(params.window.follow_up_months, longest)
    completeness, lag_completeness = completeness_tables(inputs, params, (params.window, lag_window))
    _check_complete_cohorts(inputs, params, completeness)
    column = _establishment_column(config, inputs)
    # every label names a column and a value the releases have (the nearest named otherwise)
    labelled = known_values(inputs.releases, config.labels, config.breakdowns.bands)
    check_labels(config.labels, config.path, inputs.names["releases"], labelled)
    shared = (column, *measured_columns(config, _release_columns(inputs)))
    measured = CohortMeasures(inputs, complete_cohorts(params, completeness), shared, longest)
    trend = measured.rows(params.by).filter(pl.col("cohort_size") > 0)
    if not trend["reoffenders"].sum() and not config.inputs.allow_no_convictions:
        # conviction rows, but none counted (issue 24): an all-[c] bulletin would be published with exit 0
        raise single_problem(
            inputs.names["convictions"],
            None,
            "no-reoffences",
            "no conviction counts as a reoffence in any complete cohort, because "
            + no_reoffence_reason(inputs, params.excluded_offences)[1]
            + ": every rate would be 0% and every figure published. Check the extract; if no reoffence is right, "
            "set allow_no_convictions = true in [inputs]",
        )
    changes = cohort_changes(trend, _change_pairs(trend["cohort"].to_list(), params.period), params.confidence)
    return _Cohorts(completeness, measured, trend, changes, column, lag_cohorts(lag_completeness))


def _check_complete_cohorts(inputs: ValidatedInputs, params: MeasureParams, completeness: pl.DataFrame) -> None:
    """Refuses a bulletin with no releases, or no cohort whose follow-up is complete: nothing to publish."""
    if not completeness.height:
        raise single_problem(
            inputs.names["releases"],
            None,
            "no-releases",
            "no releases to publish" + (" after the [measure] where filters" if params.where else ""),
        )
    if not completeness["complete"].any():
        raise single_problem(
            inputs.names["releases"],
            "release_date",
            "incomplete-follow-up",
            f"no cohort has complete follow-up at the extract date {inputs.extract_date}: every cohort has "
            f"releases whose conviction deadline ({params.window.describe()}) is later; there is nothing to publish",
        )


def _establishment_column(config: BulletinConfig, inputs: ValidatedInputs) -> str:
    """``[measure] establishment``, or "establishment" when the releases have it and none is given ("": none)."""
    column = config.measure.establishment
    if column is None:
        return "establishment" if "establishment" in _release_columns(inputs) else ""
    if column and column not in _release_columns(inputs):
        raise UsageError(
            f"{config.path}: [measure] establishment: {inputs.names['releases']} has no column {column!r} "
            f'(columns: {", ".join(_release_columns(inputs))}); give another, or "" for none'
        )
    return column


def _change_pairs(complete: list[str], period: str) -> list[tuple[str, str, str]]:
    """(label, latest, earlier) of the changes the bulletin gives: since the previous cohort, and since the same
    cohort a year earlier when that is a different one."""
    latest = complete[-1]
    pairs = []
    if len(complete) > 1:
        pairs.append(("previous cohort", latest, complete[-2]))
    a_year_earlier = year_earlier(latest, period)
    if a_year_earlier in complete and all(earlier != a_year_earlier for _label, _c, earlier in pairs):
        pairs.append(("same cohort a year earlier", latest, a_year_earlier))
    return pairs


def _latest_by_establishment(cohorts: _Cohorts, params: MeasureParams) -> pl.DataFrame | None:
    """The latest cohort by establishment, as measured (None when the bulletin has no establishment column)."""
    if not cohorts.column:
        return None
    return by_establishment(
        cohorts.measured, cohorts.latest, cohorts.column, cohorts.latest_row["binary_rate"], params.confidence
    )


def _cohort_parts(cohorts: _Cohorts, establishments: pl.DataFrame | None) -> list[Part]:
    """The parts of the trend and the establishments in the disclosure model (the breakdowns and the
    comparison sections are parts of their own)."""
    parts = [Part({"trend.csv": cohorts.trend}, [measure_cells("trend.csv")])]
    if establishments is not None:
        column = cohorts.column
        parts.append(Part({"establishments.csv": establishments}, [measure_cells("establishments.csv", (column,))]))
        # the establishment tables of the earlier cohorts, published by earlier releases of the series: each
        # cohort's groups are protected the same way in every release (docs/bulletin.md, "Successive releases")
        series = cohorts.measured.rows(("cohort", column)).filter(pl.col("cohort") != cohorts.latest)
        if series.height:
            parts.append(Part({SERIES_TABLE: series}, [measure_cells(SERIES_TABLE, (column,))]))
    return parts


@dataclass
class _Control:
    """Disclosure control's outcome: the declarations of every table (the court lag's and the provisional
    figures' are added as they are published), which rows of each table are withheld, the revisions of the
    previous bulletin's figures, and what the audit needs."""

    layout: Layout
    withheld: dict[str, list[bool]]
    revised: pl.DataFrame | None
    protection: Protection
    readers: list[Carried]


def _disclosure_control(parts: Sequence[Any], rule: DisclosureRule, previous: Previous | None) -> _Control:
    """Primary and secondary suppression over one model of every part's tables (with a previous release, over
    both: reoffend/bulletin/successive.py); then each figure the previous bulletin published, now."""
    layout = bulletin_layout(parts)
    raw: dict[str, pl.DataFrame] = {name: frame for part in parts for name, frame in part.tables.items()}
    protection = Protection.of(rule)
    model, readers = _protected_model(raw, layout, protection, previous)
    withheld = {name: withheld_rows(name, frame, layout, model) for name, frame in raw.items() if name in layout.names}
    revised = None
    if previous is not None:  # each figure the previous bulletin published, now (bulletin/revisions.py)
        revised_specs = {spec.table: spec for spec in layout.tables if revisable(spec) and spec.table != SERIES_TABLE}
        revised = revisions(previous, revised_specs, model)
        layout.tables += revision_cells([revised_specs[n] for n in previous.tables if n in revised_specs])
    return _Control(layout, withheld, revised, protection, readers)


@dataclass
class _Published:
    """Every section as published, after disclosure control: withheld cells as [c], each chart submitted or the
    sentence in its place (``charts``); the court lag and the provisional figures are added after."""

    trend: pl.DataFrame
    changes: pl.DataFrame
    hidden_cohorts: set[str]  # the cohorts whose trend row is withheld
    establishments: pl.DataFrame | None
    summary: pl.DataFrame | None  # establishment_summary.csv
    breakdowns: list[Breakdown]
    comparisons: list[ComparisonSection]
    control: _Control
    charts: _Charts
    lag: _CourtLag = field(default_factory=lambda: _CourtLag(None, [], [], None))
    provisional: ProvisionalSection | None = None


def _publish(
    config: BulletinConfig,
    params: MeasureParams,
    cohorts: _Cohorts,
    establishments: pl.DataFrame | None,
    breakdowns: list[Breakdown],
    comparison_sections: list[ComparisonSection],
    control: _Control,
    previous: Previous | None,
    charts: _Charts,
) -> _Published:
    """The trend, the establishments, the breakdowns and the comparisons as published, their charts submitted
    (or left out) in the order the text shows them."""
    rule = config.disclosure
    trend, changes, hidden_cohorts = _published_trend(cohorts, control, rule)
    _trend_charts(charts, trend, params)
    summary = None
    if establishments is not None:
        establishments, summary = _published_establishments(config, params, cohorts, establishments, trend, control)
        _establishment_chart(charts, config, params, cohorts, establishments, trend)
    breakdowns = _published_breakdowns(breakdowns, trend, control, rule)
    _breakdown_charts(charts, config, params, cohorts.latest, breakdowns, trend)
    comparison_sections = [
        s.published({name: control.withheld[name] for name in s.tables if name in control.withheld})
        for s in comparison_sections
    ]
    return _Published(
        trend, changes, hidden_cohorts, establishments, summary, breakdowns, comparison_sections, control, charts
    )


def _published_trend(
    cohorts: _Cohorts, control: _Control, rule: DisclosureRule
) -> tuple[pl.DataFrame, pl.DataFrame, set[str]]:
    """The trend and the changes as published, and the cohorts withheld: a change involving a withheld cohort
    would disclose it, so it is withheld too."""
    trend = withhold_rows(cohorts.trend, control.layout.specs("trend.csv"), control.withheld["trend.csv"])
    hidden_cohorts = {c for c, h in zip(trend["cohort"], control.withheld["trend.csv"], strict=True) if h}
    changes = cohorts.changes
    changes = withhold(
        changes,
        [
            c in hidden_cohorts or e in hidden_cohorts
            for c, e in zip(changes["cohort"], changes["earlier_cohort"], strict=True)
        ],
        [
            c
            for c in changes.columns
            if c not in ("comparison", "cohort", "earlier_cohort", "cohort_size", "earlier_cohort_size")
        ],
        SHORTHAND_C,
    )
    return withhold_days(trend, rule), changes, hidden_cohorts


class _Charts:
    """The charts of the bulletin: each drawn by the :class:`ChartWorker`, or, with too few published points,
    left out with the sentence the text says in its place (reoffend/bulletin/chartrules.py)."""

    def __init__(self, worker: ChartWorker) -> None:
        self.worker = worker
        self.left_out: dict[str, str] = {}

    def draw_or_say(self, name: str, points: int, drawing: Drawing) -> None:
        if chartrules.drawn(points):
            self.worker.draw(name, drawing)
        else:  # a breakdown's points are its groups
            self.left_out[name] = chartrules.left_out_sentence(chartrules.POINTS.get(name, "groups"), points)


def _trend_charts(charts: _Charts, trend: pl.DataFrame, params: MeasureParams) -> None:
    """The rate by cohort, and reconviction events per 100 by cohort (their published cohorts are the points)."""
    cohorts_shown = int(trend["binary_rate"].is_not_null().sum())
    charts.draw_or_say("trend", cohorts_shown, partial(_chart, "trend_chart", trend, params.confidence))
    events_shown = int(trend["events_per_100"].is_not_null().sum())
    charts.draw_or_say("events_per_100", events_shown, partial(_chart, "events_chart", trend))


def _published_establishments(
    config: BulletinConfig,
    params: MeasureParams,
    cohorts: _Cohorts,
    establishments: pl.DataFrame,
    trend: pl.DataFrame,
    control: _Control,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The latest cohort's establishments as published, each tested against the rate for all releases, highest
    rate first and withheld ones last; and their summary (establishment_summary.csv)."""
    rule = config.disclosure
    hidden = control.withheld["establishments.csv"]
    # the tests and their adjustment for multiple testing are over the published establishments only
    establishments = tested_against_all(
        establishments, cohorts.latest_row["binary_rate"], params.confidence, withheld=hidden
    )
    establishments = withhold_days(
        withhold_rows(establishments, control.layout.specs("establishments.csv"), hidden), rule
    )
    establishments = protect_mean_days(trend, establishments, rule)
    establishments = establishments.sort(
        [pl.col("suppressed").is_not_null(), "binary_rate", cohorts.column],
        descending=[False, True, False],
        nulls_last=True,
    )
    published_rate = trend.row(-1, named=True)["binary_rate"]  # None when the latest cohort is withheld
    return establishments, _establishment_summary(establishments, cohorts.latest, published_rate)


def _establishment_chart(
    charts: _Charts,
    config: BulletinConfig,
    params: MeasureParams,
    cohorts: _Cohorts,
    establishments: pl.DataFrame,
    trend: pl.DataFrame,
) -> None:
    """The published establishments against the rate for all releases: the highest and lowest and every
    significant one (chartrules.establishment_chart_rows), by label, the cohort in words."""
    shown = chartrules.establishment_chart_rows(
        establishments["binary_rate"].to_list(), establishments["compared_with_all"].to_list()
    )
    # the chart shows each establishment's label and the cohort in words (reoffend/bulletin/labels.py)
    labelled_rows = config.labels.frame(establishments, cohorts.column)
    published_rate = trend.row(-1, named=True)["binary_rate"]
    chart = partial(
        _chart,
        "establishment_chart",
        labelled_rows,
        cohorts.column,
        published_rate,
        text.words(cohorts.latest, params),
        "",
        "",
        shown,
    )
    published_establishments = int(establishments["binary_rate"].is_not_null().sum())
    charts.draw_or_say("establishments", published_establishments, chart)


def _published_breakdowns(
    breakdowns: list[Breakdown], trend: pl.DataFrame, control: _Control, rule: DisclosureRule
) -> list[Breakdown]:
    """Each breakdown with its withheld rows as [c] and its days protected as the trend's are."""
    return [
        replace(
            b,
            rows=protect_mean_days(
                trend,
                withhold_days(withhold_rows(b.rows, control.layout.specs(b.file), control.withheld[b.file]), rule),
                rule,
            ),
        )
        for b in breakdowns
    ]


def _breakdown_charts(
    charts: _Charts,
    config: BulletinConfig,
    params: MeasureParams,
    latest: str,
    breakdowns: list[Breakdown],
    trend: pl.DataFrame,
) -> None:
    """The latest cohort by each breakdown's groups (its published groups are the points)."""
    for breakdown in breakdowns:
        overall = trend.row(-1, named=True)["binary_rate"]
        labelled_rows, name = config.labels.chart_rows(breakdown.latest(latest), breakdown.column)
        chart = partial(_chart, "breakdown_chart", labelled_rows, name, text.words(latest, params), overall)
        groups_shown = int(breakdown.latest(latest)["binary_rate"].is_not_null().sum())
        charts.draw_or_say(breakdown.name, groups_shown, partial(chart, params.confidence))


@dataclass(frozen=True)
class _CourtLag:
    """The court-lag curve as published (None when it is not), the cohorts it sums, and why one there was to
    publish is left out ("withheld", "successive"), for the text."""

    table: pl.DataFrame | None
    cohorts: list[str]  # the published cohorts complete at the longest waiting period
    complete_cohorts: list[str]  # every cohort complete at the longest waiting period
    left_out: str | None


def _published_court_lag(
    cohorts: _Cohorts,
    hidden_cohorts: set[str],
    params: MeasureParams,
    rule: DisclosureRule,
    previous: Previous | None,
    layout: Layout,
    charts: _Charts,
) -> _CourtLag:
    """The court lag over the published cohorts (else it would give a withheld cohort away); left out when it
    has no reoffence, every row is withheld, or less the previous release's rows a row would be a small group
    (docs/bulletin.md, rule 4: a row withheld among published ones would lie between its neighbours)."""
    lag_set = [c for c in cohorts.lag_cohorts if c not in hidden_cohorts]
    lag = court_lag_table(cohorts.measured, lag_set, rule) if lag_set else None
    left_out = None  # why a court lag there was to publish is left out, for the text (issue 26 review, 12)
    if lag is not None and not lag.row(-1, named=True)["reoffences"]:
        lag = None
    if lag is not None and all(suppressed_mask(lag)):
        lag, left_out = None, "withheld"
    if (
        lag is not None
        and previous is not None
        and previous.court_lag is not None
        and court_lag_difference_fails(lag, previous.court_lag, params.window.waiting_period_months, rule)
    ):
        lag, left_out = None, "successive"
    if lag is not None:
        window = params.window
        charts.draw_or_say(
            "court_lag",
            int(lag["share_of_reoffences"].is_not_null().sum()),
            partial(_chart, "court_lag_chart", lag, window.waiting_period_months, window.follow_up_months),
        )
        layout.tables.append(court_lag_cells(lag_set, params.window.waiting_period_months))
    return _CourtLag(lag, lag_set, cohorts.lag_cohorts, left_out)


def _folder_tables(
    config: BulletinConfig,
    params: MeasureParams,
    inputs: ValidatedInputs,
    previous: Previous | None,
    cohorts: _Cohorts,
    published: _Published,
) -> dict[str, pl.DataFrame]:
    """Every table of the folder by file name, in the folder's order: the trend's, then each section's."""
    tables = {
        "trend.csv": published.trend,
        "changes.csv": published.changes,
        "cohorts.csv": cohorts.completeness,
        "parameters.csv": _parameters_table(config, params, inputs, published.comparisons, previous),
    }
    if published.establishments is not None and published.summary is not None:
        tables["establishments.csv"] = published.establishments
        tables["establishment_summary.csv"] = published.summary
    if published.lag.table is not None:
        tables["court_lag.csv"] = published.lag.table
    for breakdown in published.breakdowns:
        tables[breakdown.file] = breakdown.rows
    for section in published.comparisons:
        tables.update(section.tables)
    if published.control.revised is not None:
        tables[REVISIONS_TABLE] = published.control.revised
    provisional = published.provisional
    if provisional is not None:
        tables["provisional.csv"] = provisional.rows
        if provisional.backtest is not None:
            tables["provisional_backtest.csv"] = provisional.backtest
    return tables


def _audit(tables: dict[str, pl.DataFrame], layout: Layout, control: _Control) -> AuditReport:
    """The audit of what is published (reoffend/bulletin/publication.py); with a previous release, over every
    reader of both releases (reoffend/bulletin/successive.py)."""
    readers = control.readers
    return audit_publication(
        tables,
        layout,
        control.protection,
        partial(readers[0].readers, readers=readers) if readers else None,
        readers[0].differ(readers) if readers else None,
    )


def _cohort_facts(cohorts: _Cohorts, inputs: ValidatedInputs, lag: _CourtLag) -> dict[str, Any]:
    """The manifest's facts on the cohorts, the court lag's cohorts and the extract."""
    return {
        "latest_cohort": cohorts.latest,
        "complete_cohorts": cohorts.complete,
        "incomplete_cohorts": cohorts.completeness.filter(~pl.col("complete"))["cohort"].to_list(),
        "court_lag_cohorts": lag.cohorts,
        "court_lag_complete_cohorts": lag.complete_cohorts,
        "court_lag_left_out": lag.left_out,
        "extract_date": inputs.extract_date.isoformat() if inputs.extract_date else None,
        "extract_date_source": inputs.extract_date_source,
        "as_at": inputs.as_at,  # [inputs] as_at / --as-at: the date and the rows after it (None: the whole extract)
    }


def _disclosure_facts(
    rule: DisclosureRule, tables: dict[str, pl.DataFrame], layout: Layout, audit_report: AuditReport
) -> dict[str, Any]:
    """The manifest's facts on disclosure control: the rule, the rows withheld in each table, the audit's
    summary and the declarations of the tables written."""
    return {
        **rule.as_dict(),
        "suppressed_rows": {name: sum(suppressed_mask(f)) for name, f in tables.items() if SUPPRESSED in f.columns},
        "audit": audit_report.summary(),
        "layout": layout.as_dict(),
    }


def _section_facts(cohorts: _Cohorts, published: _Published) -> dict[str, Any]:
    """The manifest's facts on the sections: the establishment column, the breakdowns and their bands, the
    charts left out, and the provisional figures."""
    return {
        "establishment_column": cohorts.column if published.establishments is not None else None,
        "breakdowns": [b.column for b in published.breakdowns],
        "breakdown_bands": {b.column: b.as_facts() for b in published.breakdowns if b.bands},
        "charts_left_out": sorted(published.charts.left_out),
        **_provisional_facts(published.provisional),
    }


def _findings_and_charts(
    config: BulletinConfig, params: MeasureParams, published: _Published, worker: ChartWorker
) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[bytes, bytes]]]:
    """(title, finding) of each chart, and the charts drawn (the provisional one submitted last, as it needs
    its finding's numbers only), PNG and SVG."""
    provisional, trend = published.provisional, published.trend
    findings = text.chart_findings(
        params, trend, published.summary, published.lag.table, published.breakdowns, config.labels
    )
    if provisional is not None:
        findings["provisional"] = provisional_finding(provisional, trend)
    if provisional is not None and provisional.published():  # no chart of no estimate (chartrules.py)
        worker.draw("provisional", partial(provisional_chart, trend, provisional))  # labelled below
    return findings, worker.results()


def _text_context(
    config: BulletinConfig,
    params: MeasureParams,
    cohorts: _Cohorts,
    published: _Published,
    facts: dict[str, Any],
    input_facts: dict[str, dict[str, Any]],
    findings: dict[str, tuple[str, str]],
    drawn: dict[str, tuple[bytes, bytes]],
    previous: Previous | None,
) -> text.Context:
    """What the text is composed from (reoffend/bulletin/text.py): the published tables, facts and charts."""
    return text.Context(
        config=config,
        params=params,
        facts=facts,
        trend=published.trend,
        changes=published.changes,
        completeness=cohorts.completeness,
        establishments=published.establishments,
        establishment_summary=published.summary,
        lag=published.lag.table,
        breakdowns=published.breakdowns,
        comparisons=published.comparisons,
        figures={name: png for name, (png, _svg) in drawn.items()},
        charts=findings,
        left_out=published.charts.left_out,
        inputs=input_facts,
        p_value_floor=P_VALUE_FLOOR,
        revisions=published.control.revised,
        previous_provisional=previous is not None and previous.provisional,
        provisional=_provisional_blocks(published.provisional, drawn, findings, params),
    )


def _provisional_facts(provisional: ProvisionalSection | None) -> dict[str, Any]:
    """The manifest's facts on the provisional figures (empty ones when the bulletin has none)."""
    return {
        "provisional_cohorts": provisional.rows["cohort"].to_list() if provisional is not None else [],
        "provisional_backtest_origins": provisional.origins if provisional is not None else 0,
        "provisional_check": provisional.check.as_dict() if provisional is not None and provisional.check else None,
        "provisional_withheld": bool(provisional.withheld) if provisional is not None else False,
    }


def _provisional_blocks(
    provisional: ProvisionalSection | None,
    drawn: dict[str, tuple[bytes, bytes]],
    findings: dict[str, tuple[str, str]],
    params: MeasureParams,
) -> Sequence[Block]:
    """The provisional section's blocks (none without ``[provisional]``), with its chart's PNG when drawn."""
    if provisional is None:
        return ()
    return provisional_blocks(
        provisional,
        drawn["provisional"][0] if "provisional" in drawn else None,
        findings["provisional"][1],
        params.window.waiting_period_months,
        params.window.follow_up_months,
    )


def _labelled_figures(
    drawn: dict[str, tuple[bytes, bytes]], findings: dict[str, tuple[str, str]], context: text.Context
) -> dict[str, tuple[bytes, bytes]]:
    """Each chart's PNG and its SVG named by the finding the text states (its <title> and <desc>) in the words
    of its alt text (cohorts in words, one minus sign: text.written)."""
    label_svg = _charts().label_svg
    return {
        name: (png, label_svg(svg, *(text.written(part, context) for part in findings.get(name, ("", "")))))
        for name, (png, svg) in drawn.items()
    }


def _run_warnings(
    inputs: ValidatedInputs, params: MeasureParams, comparison_sections: list[ComparisonSection]
) -> list[RunWarning]:
    """The run's warnings: each partial period among the cohorts, then the comparisons' own."""
    warnings = [
        RunWarning(
            "partial-period",
            f"cohort {entry['cohort']} is a partial period: the data covers only {entry['first_release_month']} to "
            f"{entry['last_release_month']} of it (cohorts.csv, partial_period)",
            subjects=[str(entry["cohort"])],
        )
        for entry in partial_periods(inputs.releases, params.period)
    ]
    return warnings + [w for section in comparison_sections for w in section.warnings]


def _protected_model(
    raw: dict[str, pl.DataFrame], layout: Layout, protection: Protection, previous: Previous | None
) -> tuple[LinkedTables, list[Carried]]:
    """The linked tables of ``raw`` after primary and secondary suppression; with a previous release, against
    it (reoffend/bulletin/successive.py: the model and the readers of both releases). Raises DisclosureFailure
    naming a count that no further suppression can protect."""
    try:
        if previous is not None:
            return protect_series(raw, layout, protection, previous)
        model = model_of(raw, layout)
        protect(model, protection)
        return model, []
    except UnprotectableCell as error:
        if previous is None or error.cell is None or isinstance(error, PublishedNowFails):
            raise DisclosureFailure(str(error)) from None
        raise DisclosureFailure(
            f"{describe(error.cell)}: its {error.count.replace('_', ' ')} cannot be protected against the "
            f"previous release {previous.folder}: every figure linked to it is withheld, or was published by "
            "that release (a release cannot un-publish it), so together they would give it away; nothing was "
            "written (docs/bulletin.md, 'Successive releases')"
        ) from None
    except InconsistentTables as error:
        if previous is None:
            raise
        # the previous folder is data: its figures, now in this release's model, contradict each other
        raise UsageError(
            f"--previous {previous.folder}: its published tables disagree with each other or with this release's "
            f"({error}): not as `reoffend bulletin` wrote them from an earlier extract of these data"
        ) from None


@dataclass(frozen=True)
class Part:
    """A part of the bulletin that publishes tables about groups of people: its tables as measured, and the
    groups their rows are (``declares``: reoffend.bulletin.publication.TableCells), from which disclosure
    control builds one model of the whole publication. The breakdowns and the comparison sections are parts
    too (the same two attributes)."""

    tables: dict[str, pl.DataFrame]
    declares: list[TableCells]


@dataclass(frozen=True)
class Breakdown:
    """One ``[breakdowns]`` column: the measures of every complete cohort by the column, disclosure-controlled."""

    column: str
    bands: tuple[float, ...] | None  # the edges published: the configured ones less any merged away
    rows: pl.DataFrame  # cohort, column, the group measures, suppressed
    configured_bands: tuple[float, ...] | None = None  # the [breakdowns] edges, when some were merged away

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    @property
    def tables(self) -> dict[str, pl.DataFrame]:
        return {self.file: self.rows}

    @property
    def declares(self) -> list[TableCells]:
        """Each category of each cohort: a split of the cohort (reoffend.bulletin.publication); a band is also
        the sum of the single values in it."""
        return [replace(measure_cells(self.file, (self.column,)), bands=tuple(self.bands or ()))]

    def latest(self, cohort: str) -> pl.DataFrame:
        return self.rows.filter(pl.col("cohort") == cohort)

    @property
    def name(self) -> str:
        """The stem of its files (``tables/NAME.csv``, ``figures/NAME.png``): a safe one, whatever the column's
        name (config.py refuses columns that make none, or the same one)."""
        return f"breakdown_{file_stem(self.column)}"

    @property
    def categories(self) -> list[str | None]:
        return self.rows[self.column].unique(maintain_order=True).to_list()

    @property
    def merged_bands(self) -> list[tuple[str, str]]:
        """("top"/"bottom", label) of each end band that absorbs configured bands too small to publish on their
        own (reoffend.banding.merge_sparse_ends)."""
        if not self.bands or not self.configured_bands or self.bands == self.configured_bands:
            return []
        labels = band_labels(self.column, self.bands, self.whole_bands)
        merged = []
        if self.bands[-1] != self.configured_bands[-1]:
            merged.append(("top", labels[-1]))
        if self.bands[0] != self.configured_bands[0]:
            merged.append(("bottom", labels[0]))
        return merged

    @property
    def whole_bands(self) -> bool:
        """Whether the bands are labelled as whole numbers ("24 to 47"), as banding labels an integer column."""
        assert self.bands, "a banded breakdown"
        return _whole_bands(self.rows, self.column, self.bands)

    @property
    def merge_note(self) -> str:
        """The sentence saying which end bands are merged, and why ("" when none is)."""
        merged = self.merged_bands
        if not merged:
            return ""
        named = " and the ".join(f'{end} band, "{label}",' for end, label in merged)
        return (
            f" The {named} {'join' if len(merged) > 1 else 'joins'} configured bands that had too few "
            "people to publish on their own in some cohort, rather than withhold them."
        )

    def as_facts(self) -> dict[str, Any]:
        """The configured and the published edges, for the manifest."""
        return {"configured_bands": list(self.configured_bands or ()), "published_bands": list(self.bands or ())}


def breakdown_tables(config: BulletinConfig, inputs, params: MeasureParams, complete: list[str]) -> list[Breakdown]:
    """The measures of every complete cohort by each ``[breakdowns]`` column (numeric columns banded).

    The same numbers as ``reoffend measure --by cohort,COLUMN --band COLUMN=EDGES --suppress N``: the cohort's
    total is published in the trend, so secondary suppression runs across the column's categories.
    """
    spec = config.breakdowns
    if not spec.columns:
        return []
    available = _release_columns(inputs)
    missing = [c for c in spec.columns if c not in available]
    if missing:
        raise UsageError(
            f"{config.path}: [breakdowns] columns: {inputs.names['releases']} has no column "
            f"{', '.join(map(repr, missing))} (columns: {name_list(available)})"
        )
    banded = band_inputs(inputs, spec.bands)
    out = []
    for column in spec.columns:
        rows = _measure_breakdown(banded, params, complete, column)
        configured = spec.bands.get(column)
        edges = tuple(configured) if configured else None
        if edges and config.disclosure.active and spec.merge_sparse_bands:
            # suppression with judgement: a sparse end band is merged before anything is withheld (opted into:
            # across releases a merge that differs can give a withheld count away, docs/bulletin.md rule 8)
            edges = merge_sparse_ends(edges, _bands_by_cohort(rows, column, edges), config.disclosure.fails)
            if edges != tuple(configured or ()):
                merged = band_inputs(inputs, {**spec.bands, column: edges})
                rows = _measure_breakdown(merged, params, complete, column)
        if config.disclosure.active:
            rows = _publishable_cohorts(rows, column, config.disclosure)
        out.append(Breakdown(column, edges, rows, tuple(configured) if configured else None))
    return out


def _publishable_cohorts(rows: pl.DataFrame, column: str, rule: DisclosureRule) -> pl.DataFrame:
    """The cohorts of a breakdown in which at least two groups pass the primary rule; the others are left out of
    it ("too little to publish"). A cohort whose every group (or all but one) is withheld tells nothing, yet its
    withheld cells are linked to the cohort's total in the trend: protecting them withheld the headline figures
    of whole cohorts (a review of issue 26: six monthly cohorts of 32 to 39 people, [c] in Table 1)."""
    if rows.is_empty():
        return rows
    passes = [  # the primary rule as suppression applies it (reoffend.disclosure), one group at a time
        not rule.fails(int(size), int(reoffenders or 0))
        for size, reoffenders in zip(rows["cohort_size"], rows["reoffenders"], strict=True)
    ]
    published = rows.with_columns(pl.Series("_passes", passes)).group_by("cohort").agg(pl.col("_passes").sum())
    kept = published.filter(pl.col("_passes") >= 2)["cohort"]
    return rows.filter(pl.col("cohort").is_in(kept.implode()))


def _measure_breakdown(banded, params: MeasureParams, complete: list[str], column: str) -> pl.DataFrame:
    rows = measure(banded, restrict_cohorts(params, complete, by=("cohort", column))).rows
    rows = rows.filter(pl.col("cohort_size") > 0)
    return rows.with_columns(pl.col(column).cast(pl.String))


def _whole_bands(rows: pl.DataFrame, column: str, edges: tuple[float, ...]) -> bool:
    """Whether ``rows``' bands of ``column`` are labelled as whole numbers ("24 to 47"), as banding labels an
    integer column."""
    return set(rows[column].drop_nulls().to_list()) <= set(band_labels(column, edges, True))


def _bands_by_cohort(rows: pl.DataFrame, column: str, edges: tuple[float, ...]) -> list[list[tuple[int, int]]]:
    """(size, reoffenders) of every band of ``column`` (lowest first) in each cohort of ``rows``; (0, 0) for a band
    nobody in the cohort is in. Missing values ("Not recorded") are no band."""
    order = {label: i for i, label in enumerate(band_labels(column, edges, _whole_bands(rows, column, edges)))}
    out: dict[str, list[tuple[int, int]]] = {}
    for row in rows.iter_rows(named=True):
        bands = out.setdefault(row["cohort"], [(0, 0)] * len(order))
        if row[column] is not None:
            bands[order[row[column]]] = (int(row["cohort_size"]), int(row["reoffenders"] or 0))
    return list(out.values())


def _establishment_summary(establishments: pl.DataFrame, latest: str, published_rate: float | None) -> pl.DataFrame:
    """How many published establishments were above, below or similar to the rate for all releases (after
    the adjustment for multiple testing, and before it); the withheld ones are only counted."""
    counts = establishments["compared_with_all"].value_counts()
    count = dict(zip(counts["compared_with_all"].to_list(), counts["count"].to_list(), strict=True))
    raw = establishments["compared_unadjusted"].value_counts()
    raw_count = dict(zip(raw["compared_unadjusted"].to_list(), raw["count"].to_list(), strict=True))
    return pl.DataFrame(
        {
            "cohort": [latest],
            "establishments": [establishments.height],
            "higher": [count.get("higher", 0)],
            "lower": [count.get("lower", 0)],
            "similar": [count.get("similar", 0)],
            "suppressed_establishments": [int(establishments["suppressed"].is_not_null().sum())],
            "higher_unadjusted": [raw_count.get("higher", 0)],
            "lower_unadjusted": [raw_count.get("lower", 0)],
            "all_releases_binary_rate": [published_rate],
        },
        schema_overrides={
            "establishments": pl.Int64,
            "higher": pl.Int64,
            "lower": pl.Int64,
            "similar": pl.Int64,
            "suppressed_establishments": pl.Int64,
            "higher_unadjusted": pl.Int64,
            "lower_unadjusted": pl.Int64,
        },
    )


def _release_columns(inputs) -> list[str]:
    return inputs.releases.collect_schema().names()


def _parameters_table(
    config: BulletinConfig,
    params: MeasureParams,
    inputs,
    comparisons: list[ComparisonSection],
    previous: Previous | None = None,
) -> pl.DataFrame:
    """The parameters the text quotes, as a table (so every number in the text is in tables/)."""
    values = [
        ("follow_up_months", str(params.window.follow_up_months)),
        ("waiting_period_months", str(params.window.waiting_period_months)),
        ("court_lag_longest_waiting_period_months", str(max(LAG_MONTHS, params.window.waiting_period_months))),
        ("confidence", f"{params.confidence:g}"),
        ("significance_level", f"{1 - params.confidence:.6g}"),
        ("p_value_floor", f"{P_VALUE_FLOOR:g}"),
        ("period", params.period),
        ("index_rule", params.index),
        ("excluded_offences", " ".join(sorted(params.excluded_offences))),
        ("where", "; ".join(f"{k}={','.join(v)}" for k, v in sorted(params.where.items()))),
        ("extract_date", inputs.extract_date.isoformat() if inputs.extract_date else ""),
        ("extract_date_source", inputs.extract_date_source),
        *([("as_at", str(inputs.as_at["date"]))] if inputs.as_at else []),
        ("releases_file", Path(inputs.names["releases"]).name),
        ("releases_rows", str(inputs.row_counts["releases"])),
        ("convictions_file", Path(inputs.names["convictions"]).name),
        ("convictions_rows", str(inputs.row_counts["convictions"])),
        ("reoffend_version", __version__),
        ("disclosure_min_cohort", str(config.disclosure.min_cohort)),
        ("disclosure_min_count", str(config.disclosure.min_count)),
        ("chart_min_points", str(chartrules.MIN_CHART_POINTS)),
        ("establishment_chart_at_each_end", str(chartrules.ESTABLISHMENTS_AT_EACH_END)),
    ]
    if previous is not None:
        values += [
            ("previous_bulletin", Path(previous.folder).resolve().name),
            ("previous_bulletin_manifest_sha256", previous.manifest_sha256),
            ("revision_threshold_pp", f"{config.publication.revision_threshold:g}"),
        ]
    publication = config.publication.as_dict()
    values += [
        (f"publication_{key}", str(publication[key])) for key in ("published", "next_release") if publication[key]
    ]
    values += [
        (f"{section.name}_{key}", f"{value:g}" if isinstance(value, float) else str(value))
        for section in comparisons
        for key, value in section.quoted.items()
        if value is not None
    ]
    return pl.DataFrame(values, schema={"parameter": pl.String, "value": pl.String}, orient="row")


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _input_facts(config: BulletinConfig, inputs) -> dict[str, dict[str, Any]]:
    facts = {
        # how each was read (format, delimiter, encoding, date form), as measure's JSON metadata says it
        role: {"path": getattr(config.inputs, role), "rows": inputs.row_counts[role], **inputs.read_as.get(role, {})}
        for role in ("releases", "convictions")
    }
    if config.inputs.exclude_offences:
        facts["exclude_offences"] = {
            "path": config.inputs.exclude_offences,
            "codes": len(read_code_list(config.inputs.exclude_offences)),
        }
    facts["config"] = {"path": config.path}
    for entry in facts.values():
        entry["sha256"] = sha256_file(entry["path"])
    return facts


# ---------------------------------------------------------------------------------------------- files
def _csv(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_csv(buffer, float_precision=None)
    return buffer.getvalue()


def bulletin_files(bulletin: Bulletin, *, started: dt.datetime, duration: float) -> dict[str, bytes]:
    """The bytes of every file of the folder; only ``manifest.json`` depends on ``started``/``duration``."""
    files: dict[str, bytes] = {}
    files["bulletin.md"] = to_markdown(bulletin.document).encode()
    files["index.html"] = to_html(bulletin.document, kicker=bulletin.config.publisher).encode()
    for name, (png, svg) in sorted(bulletin.figures.items()):
        files[f"figures/{name}.png"] = png
        files[f"figures/{name}.svg"] = svg
    for name, frame in sorted(bulletin.tables.items()):
        files[f"tables/{name}"] = _csv(frame)
    files["tables.ods"] = spreadsheet(bulletin)
    manifest = {
        MANIFEST_KEY: MANIFEST_VERSION,  # marks the folder as a bulletin that a later run may replace (folder.py)
        "reoffend_version": __version__,
        "command": "reoffend bulletin",
        "started": started.isoformat(timespec="seconds"),
        "duration_seconds": round(duration, 3),
        "inputs": bulletin.inputs,
        "parameters": {"config": bulletin.config.as_dict(), "measure": bulletin.params.as_dict()},
        "window": bulletin.params.window.as_dict(),
        "facts": bulletin.facts,
        "comparisons": {s.name: s.metadata for s in bulletin.comparisons},
        # every warning of the run, whole, marked acknowledged when the config expects its code
        "warnings": [
            {**warning.as_dict(), "acknowledged": warning.code in bulletin.config.acknowledge}
            for warning in bulletin.warnings
        ],
        # which bulletin this one was compared with (its folder's name and its manifest's SHA-256): revisions.csv
        **({"previous": bulletin.previous} if bulletin.previous is not None else {}),
        "files": {
            path: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            for path, data in sorted(files.items())
        },
    }
    files["manifest.json"] = (json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n").encode()
    return files


# Titles of the tables the text does not show as a table (the others take their caption from the text).
SHEET_TITLES = {
    "changes.csv": "Change in proven reoffending since earlier cohorts",
    "cohorts.csv": "Cohorts and the completeness of their follow-up",
    "establishment_summary.csv": "Establishments significantly above or below the rate for all releases",
    "parameters.csv": "Parameters of this bulletin",
    "revisions.csv": "Revisions to the figures of the previous bulletin",
    "comparison_adjusted_summary.csv": "Risk-adjusted comparison: summary by cohort",
    "comparison_adjusted_models.csv": "Risk-adjusted comparison: the baseline models",
    "comparison_matched_balance.csv": "Matched comparison: covariate balance",
}


def spreadsheet(bulletin: Bulletin) -> bytes:
    """``tables.ods``: every CSV of ``tables/`` as one sheet, with cover, contents and notes sheets
    (reoffend/bulletin/spreadsheet.py)."""
    from .spreadsheet import workbook

    return workbook(bulletin, SHEET_TITLES)


def build_bulletin(
    config: BulletinConfig,
    target: str,
    *,
    extract_date: dt.date | None = None,
    progress: Progress | None = None,
) -> Bulletin:
    """Compute the bulletin and write its folder to ``target`` atomically."""
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    clock = time.perf_counter()
    bulletin = compute_bulletin(config, extract_date=extract_date, progress=progress)
    if progress:
        progress(STEPS[7])
    files = bulletin_files(bulletin, started=started, duration=time.perf_counter() - clock)
    write_folder(target, files)
    return bulletin
