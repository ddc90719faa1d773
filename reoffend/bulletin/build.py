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
from collections.abc import Callable
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
from ..inputs import InputSpec, load_inputs
from ..io import read_code_list
from ..linked import InconsistentTables, LinkedTables, Protection, UnprotectableCell, describe, protect
from ..measure import MeasureParams, measure
from ..run_warnings import RunWarning
from ..validate import no_reoffence_reason
from . import chartrules, text
from .comparisons import ComparisonSection, measured_columns, run_comparisons
from .config import BulletinConfig
from .document import Document, to_html, to_markdown
from .folder import MANIFEST_KEY, MANIFEST_VERSION, file_stem, write_folder
from .labels import check_labels, known_values
from .provisional import compute_provisional, provisional_blocks, provisional_chart, provisional_finding
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
    """What the chart thread imports first: matplotlib and numpy for the charts, scipy for the tests of changes."""
    _charts()
    import scipy.special  # noqa: F401


class ChartWorker:
    """Imports matplotlib and draws the charts in one thread of its own while the calling thread computes.

    Importing matplotlib, numpy and scipy and drawing the charts are single-threaded Python (about 1.5 CPU s
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
    step = progress or (lambda _name: None)
    step(STEPS[0])
    params = measure_params(config)
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

    step(STEPS[1])
    longest = max(LAG_MONTHS, params.window.waiting_period_months)
    lag_window = type(params.window)(params.window.follow_up_months, longest)
    completeness, lag_completeness = completeness_tables(inputs, params, (params.window, lag_window))
    complete = completeness.filter(pl.col("complete"))["cohort"].to_list()
    incomplete = completeness.filter(~pl.col("complete"))
    if not completeness.height:
        raise single_problem(
            inputs.names["releases"],
            None,
            "no-releases",
            "no releases to publish" + (" after the [measure] where filters" if params.where else ""),
        )
    if not complete:
        raise single_problem(
            inputs.names["releases"],
            "release_date",
            "incomplete-follow-up",
            f"no cohort has complete follow-up at the extract date {inputs.extract_date}: every cohort has "
            f"releases whose conviction deadline ({params.window.describe()}) is later; there is nothing to publish",
        )
    column = config.measure.establishment
    if column is None:
        column = "establishment" if "establishment" in _release_columns(inputs) else ""
    elif column and column not in _release_columns(inputs):
        raise UsageError(
            f"{config.path}: [measure] establishment: {inputs.names['releases']} has no column {column!r} "
            f'(columns: {", ".join(_release_columns(inputs))}); give another, or "" for none'
        )
    # every label names a column and a value the releases have (the nearest named otherwise)
    labelled = known_values(inputs.releases, config.labels, config.breakdowns.bands)
    check_labels(config.labels, config.path, inputs.names["releases"], labelled)
    lag_set = lag_cohorts(lag_completeness)
    # one join for the trend, the establishments, the court lag and the baseline comparison
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
    complete = trend["cohort"].to_list()
    latest = complete[-1]
    latest_row = trend.row(-1, named=True)
    pairs = []
    if len(complete) > 1:
        pairs.append(("previous cohort", latest, complete[-2]))
    a_year_earlier = year_earlier(latest, params.period)
    if a_year_earlier in complete and all(earlier != a_year_earlier for _label, _c, earlier in pairs):
        pairs.append(("same cohort a year earlier", latest, a_year_earlier))
    changes = cohort_changes(trend, pairs, params.confidence)
    rule = config.disclosure

    step(STEPS[2])
    establishments = None
    if column:
        establishments = by_establishment(measured, latest, column, latest_row["binary_rate"], params.confidence)

    step(STEPS[4])
    breakdowns = breakdown_tables(config, inputs, params, complete)

    step(STEPS[5])
    comparison_sections = run_comparisons(config, inputs, params, latest, complete, measured)

    # disclosure control over the whole publication (reoffend/linked.py, bulletin/publication.py): one model
    # of every table, primary and secondary suppression over it, then the audit of what is published
    step("disclosure control")
    parts: list[Any] = [Part({"trend.csv": trend}, [measure_cells("trend.csv")])]
    if establishments is not None:
        parts.append(Part({"establishments.csv": establishments}, [measure_cells("establishments.csv", (column,))]))
        # the establishment tables of the earlier cohorts, published by earlier releases of the series: each
        # cohort's groups are protected the same way in every release (docs/bulletin.md, "Successive releases")
        series = measured.rows(("cohort", column)).filter(pl.col("cohort") != latest)
        if series.height:
            parts.append(Part({SERIES_TABLE: series}, [measure_cells(SERIES_TABLE, (column,))]))
    parts += [*breakdowns, *comparison_sections]
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
    trend = withhold_rows(trend, layout.specs("trend.csv"), withheld["trend.csv"])
    hidden_cohorts = {c for c, h in zip(trend["cohort"], withheld["trend.csv"], strict=True) if h}
    published_rate = trend.row(-1, named=True)["binary_rate"]  # None when the latest cohort is withheld
    # a change involving a withheld cohort would disclose it, so it is withheld too
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
    trend = withhold_days(trend, rule)
    # a chart of too few published points is left out, and the text says so (reoffend/bulletin/chartrules.py)
    left_out: dict[str, str] = {}

    def chart_or_sentence(name: str, points: int, drawing: Drawing) -> None:
        if chartrules.drawn(points):
            worker.draw(name, drawing)
        else:  # a breakdown's points are its groups
            left_out[name] = chartrules.left_out_sentence(chartrules.POINTS.get(name, "groups"), points)

    cohorts_shown = int(trend["binary_rate"].is_not_null().sum())
    chart_or_sentence("trend", cohorts_shown, partial(_chart, "trend_chart", trend, params.confidence))
    events_shown = int(trend["events_per_100"].is_not_null().sum())
    chart_or_sentence("events_per_100", events_shown, partial(_chart, "events_chart", trend))

    establishment_summary = None
    if establishments is not None:
        hidden = withheld["establishments.csv"]
        # the tests and their adjustment for multiple testing are over the published establishments only
        establishments = tested_against_all(
            establishments, latest_row["binary_rate"], params.confidence, withheld=hidden
        )
        establishments = withhold_days(withhold_rows(establishments, layout.specs("establishments.csv"), hidden), rule)
        establishments = protect_mean_days(trend, establishments, rule)
        establishments = establishments.sort(
            [pl.col("suppressed").is_not_null(), "binary_rate", column],
            descending=[False, True, False],
            nulls_last=True,
        )
        establishment_summary = _establishment_summary(establishments, latest, published_rate)
        shown = chartrules.establishment_chart_rows(
            establishments["binary_rate"].to_list(), establishments["compared_with_all"].to_list()
        )
        # the chart shows each establishment's label and the cohort in words (reoffend/bulletin/labels.py)
        labelled_rows = config.labels.frame(establishments, column)
        chart = partial(
            _chart,
            "establishment_chart",
            labelled_rows,
            column,
            published_rate,
            text.words(latest, params),
            "",
            "",
            shown,
        )
        published_establishments = int(establishments["binary_rate"].is_not_null().sum())
        chart_or_sentence("establishments", published_establishments, chart)

    breakdowns = [
        replace(
            b,
            rows=protect_mean_days(
                trend, withhold_days(withhold_rows(b.rows, layout.specs(b.file), withheld[b.file]), rule), rule
            ),
        )
        for b in breakdowns
    ]
    for breakdown in breakdowns:
        overall = trend.row(-1, named=True)["binary_rate"]
        labelled_rows, name = config.labels.chart_rows(breakdown.latest(latest), breakdown.column)
        chart = partial(_chart, "breakdown_chart", labelled_rows, name, text.words(latest, params), overall)
        groups_shown = int(breakdown.latest(latest)["binary_rate"].is_not_null().sum())
        chart_or_sentence(breakdown.name, groups_shown, partial(chart, params.confidence))
    comparison_sections = [
        s.published({name: withheld[name] for name in s.tables if name in withheld}) for s in comparison_sections
    ]

    step(STEPS[3])
    # the court lag sums its cohorts: only published ones (else it would give a withheld cohort away)
    lag_complete = lag_set
    lag_set = [c for c in lag_set if c not in hidden_cohorts]
    lag = court_lag_table(measured, lag_set, rule) if lag_set else None
    lag_left_out = None  # why a court lag there was to publish is left out, for the text (issue 26 review, 12)
    if lag is not None and not lag.row(-1, named=True)["reoffences"]:
        lag = None
    if lag is not None and all(suppressed_mask(lag)):
        lag, lag_left_out = None, "withheld"
    # less the previous release's rows, no row may be a small group (docs/bulletin.md, rule 4): else the curve is
    # left out (a row withheld among published ones would lie between its neighbours)
    if (
        lag is not None
        and previous is not None
        and previous.court_lag is not None
        and court_lag_difference_fails(lag, previous.court_lag, params.window.waiting_period_months, rule)
    ):
        lag, lag_left_out = None, "successive"
    if lag is not None:
        window = params.window
        chart_or_sentence(
            "court_lag",
            int(lag["share_of_reoffences"].is_not_null().sum()),
            partial(_chart, "court_lag_chart", lag, window.waiting_period_months, window.follow_up_months),
        )
        layout.tables.append(court_lag_cells(lag_set, params.window.waiting_period_months))

    provisional = None
    if config.provisional.enabled:
        step("provisional figures")
        provisional = compute_provisional(config.provisional, inputs, params, rule)

    if provisional is not None:
        layout.tables.append(provisional_cells())
    # every table of the folder, made once: what is written is what the audit reads (as disclosure-check does)
    tables = {
        "trend.csv": trend,
        "changes.csv": changes,
        "cohorts.csv": completeness,
        "parameters.csv": _parameters_table(config, params, inputs, comparison_sections, previous),
    }
    if establishments is not None and establishment_summary is not None:
        tables["establishments.csv"] = establishments
        tables["establishment_summary.csv"] = establishment_summary
    if lag is not None:
        tables["court_lag.csv"] = lag
    for breakdown in breakdowns:
        tables[breakdown.file] = breakdown.rows
    for section in comparison_sections:
        tables.update(section.tables)
    if revised is not None:
        tables[REVISIONS_TABLE] = revised
    if provisional is not None:
        tables["provisional.csv"] = provisional.rows
        if provisional.backtest is not None:
            tables["provisional_backtest.csv"] = provisional.backtest
    # the declarations of the tables written (the earlier releases' establishment tables are not)
    layout = Layout([spec for spec in layout.tables if spec.table in tables])
    # with a previous release: over every reader of both releases (reoffend/bulletin/successive.py)
    audit_report = audit_publication(
        tables,
        layout,
        protection,
        partial(readers[0].readers, readers=readers) if readers else None,
        readers[0].differ(readers) if readers else None,
    )

    step(STEPS[6])
    findings = text.chart_findings(params, trend, establishment_summary, lag, breakdowns, config.labels)
    if provisional is not None:
        findings["provisional"] = provisional_finding(provisional, trend)

    if provisional is not None and provisional.published():  # no chart of no estimate (chartrules.py)
        worker.draw("provisional", partial(provisional_chart, trend, provisional))  # labelled below
    drawn = worker.results()

    facts = {
        "latest_cohort": latest,
        "complete_cohorts": complete,
        "incomplete_cohorts": incomplete["cohort"].to_list(),
        "court_lag_cohorts": lag_set,
        "court_lag_complete_cohorts": lag_complete,
        "court_lag_left_out": lag_left_out,
        "extract_date": inputs.extract_date.isoformat() if inputs.extract_date else None,
        "extract_date_source": inputs.extract_date_source,
        "as_at": inputs.as_at,  # [inputs] as_at / --as-at: the date and the rows after it (None: the whole extract)
        "establishment_column": column if establishments is not None else None,
        "breakdowns": [b.column for b in breakdowns],
        "breakdown_bands": {b.column: b.as_facts() for b in breakdowns if b.bands},
        "charts_left_out": sorted(left_out),
        "provisional_cohorts": provisional.rows["cohort"].to_list() if provisional is not None else [],
        "provisional_backtest_origins": provisional.origins if provisional is not None else 0,
        "provisional_check": provisional.check.as_dict() if provisional is not None and provisional.check else None,
        "provisional_withheld": bool(provisional.withheld) if provisional is not None else False,
        "disclosure": {
            **rule.as_dict(),
            "suppressed_rows": {name: sum(suppressed_mask(f)) for name, f in tables.items() if SUPPRESSED in f.columns},
            "audit": audit_report.summary(),
            "layout": layout.as_dict(),
        },
    }
    input_facts = _input_facts(config, inputs)
    context = text.Context(
        config=config,
        params=params,
        facts=facts,
        trend=trend,
        changes=changes,
        completeness=completeness,
        establishments=establishments,
        establishment_summary=establishment_summary,
        lag=lag,
        breakdowns=breakdowns,
        comparisons=comparison_sections,
        figures={name: png for name, (png, _svg) in drawn.items()},
        charts=findings,
        left_out=left_out,
        inputs=input_facts,
        p_value_floor=P_VALUE_FLOOR,
        revisions=revised,
        previous_provisional=previous is not None and previous.provisional,
        provisional=provisional_blocks(
            provisional,
            drawn["provisional"][0] if "provisional" in drawn else None,
            findings["provisional"][1],
            params.window.waiting_period_months,
            params.window.follow_up_months,
        )
        if provisional is not None
        else (),
    )
    document = text.compose(context)
    # each SVG is named by the finding the text states (its <title> and <desc>) in the words of its alt text
    # (cohorts in words, one minus sign: text.written)
    label_svg = _charts().label_svg
    figures = {
        name: (png, label_svg(svg, *(text.written(part, context) for part in findings.get(name, ("", "")))))
        for name, (png, svg) in drawn.items()
    }
    warnings = [
        RunWarning(
            "partial-period",
            f"cohort {entry['cohort']} is a partial period: the data covers only {entry['first_release_month']} to "
            f"{entry['last_release_month']} of it (cohorts.csv, partial_period)",
            subjects=[str(entry["cohort"])],
        )
        for entry in partial_periods(inputs.releases, params.period)
    ]
    warnings += [w for section in comparison_sections for w in section.warnings]
    return Bulletin(
        config=config,
        params=params,
        tables=tables,
        figures=figures,
        document=document,
        facts=facts,
        inputs=input_facts,
        comparisons=comparison_sections,
        warnings=warnings,
        previous=previous.as_dict() if previous is not None else None,
    )


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
