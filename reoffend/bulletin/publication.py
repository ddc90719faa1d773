"""The bulletin's tables as one model of linked tables (reoffend.linked; docs/bulletin.md "Disclosure control").

Each published table declares, as a :class:`TableCells`, which groups of people its rows are: the column
holding the cohort, the columns splitting it, the group every row belongs to (a comparison's site or treated
people), the size column and the columns giving each count. From those declarations alone :func:`model_of`
builds the cells and their relations: a table split by columns partitions its cohort's whole group, a
comparison's group is a subset of its cohort, a pooled row is the sum of its cohorts, the court lag's row
at the configured waiting period is the sum of its cohorts. The same declarations are written into the
manifest (``disclosure.layout``), so ``reoffend disclosure-check`` rebuilds the same model from a published
folder, exactly as a reader could.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from ..disclosure import SHORTHAND, SUPPRESSED, DisclosureRule
from ..io import check_csv_chunk
from ..linked import COUNTS, AuditReport, InconsistentTables, Key, LinkedTables, Protection, audit, key

WHOLE = "all"  # the cohort value of a pooled row


@dataclass(frozen=True)
class Count:
    """How a row gives one count: ``column`` times ``scale`` (times the size when ``per_person``)."""

    count: str
    column: str
    scale: float = 1.0
    per_person: bool = False


@dataclass(frozen=True)
class TableCells:
    """The groups one table's rows are (module docstring)."""

    table: str
    size: str
    counts: tuple[Count, ...]
    cohort: str | None = "cohort"  # the column of cohort labels (None: every row is about ``cohorts``)
    cohorts: tuple[str, ...] = ()
    by: tuple[str, ...] = ()
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()  # the group every row is within
    variant: str = ""  # a subgroup of that group, e.g. "matched" treated people
    whole_size: str | None = None  # the column of the size of the group the variant is a subset of
    only: tuple[str, str] | None = None  # (column, value): the one row that is a cell (the court lag's)
    keep: tuple[str, ...] = ()  # further columns shown for a withheld row (sizes, model predictions)
    # a weighted group (the matched comparison group): its counts are its weighted rates times its number,
    # exact only where every member weighs the same (these two columns equal); only then is it linked, as a
    # subset of the group of ``filters`` in its cohort; each row is checked against the primary rule anyway
    equal_weights: tuple[str, str] | None = None
    cohort_rows_only: bool = False  # no cell for a pooled row
    bands: tuple[float, ...] = ()  # the edges its ``by`` column is banded at (reoffend.banding), if banded

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> TableCells:
        values = dict(data)
        values["counts"] = tuple(Count(**c) for c in values.get("counts", ()))
        values["filters"] = tuple((c, tuple(v)) for c, v in values.get("filters", ()))
        for name in ("cohorts", "by", "keep", "bands"):
            values[name] = tuple(values.get(name, ()))
        for name in ("only", "equal_weights"):
            if values.get(name) is not None:
                values[name] = tuple(values[name])
        return cls(**values)

    @property
    def shown_always(self) -> tuple[str, ...]:
        """Columns a withheld row still shows: its keys and sizes."""
        names = [c for c in (self.cohort, *self.by, self.size, self.whole_size) if c]
        return (*names, *self.keep)


MEASURE_COUNTS = (
    Count("reoffenders", "reoffenders"),
    Count("reconviction_events", "reconviction_events"),
    Count("reoffences", "reoffences"),
)


@dataclass
class Layout:
    """Every published table's declaration (:class:`TableCells`): all :func:`model_of` needs."""

    tables: list[TableCells] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"tables": [t.as_dict() for t in self.tables]}

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Layout:
        return cls([TableCells.of(t) for t in data.get("tables", ())])

    @property
    def names(self) -> set[str]:
        return {t.table for t in self.tables}

    def specs(self, table: str) -> list[TableCells]:
        return [t for t in self.tables if t.table == table]


# ------------------------------------------------------------------------------------------ reading rows
def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class UnreadableCell(InconsistentTables):
    """A published cell that is no number (``garbage``, ``NaN`` or ``inf`` where a count or a size must be):
    not as the bulletin wrote it, so the audit cannot read the tables (exit 65 from disclosure-check)."""


def _number(value: Any, column: str | None = None) -> float | None:
    """A cell as a number: None when empty (or NaN, a count a reader cannot see). Text that is no number, and an
    infinite value, are :class:`UnreadableCell`: a tampered table is refused rather than read as withheld."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UnreadableCell(f"column {column}: {str(value)[:60]!r} is not a number") from None
    if math.isinf(number):
        raise UnreadableCell(f"column {column}: {value!r} is not a finite number")
    return None if math.isnan(number) else number


def _size(value: Any, column: str) -> float | None:
    """A group's size: as :func:`_number`, but a NaN is refused too (the bulletin writes every size it shows)."""
    if isinstance(value, str) and value.strip().lower() in ("nan", "+nan", "-nan"):
        raise UnreadableCell(f"column {column}: {value!r} is not a size")
    return _number(value, column)


def _count(row: Mapping[str, Any], spec: Count, size: int) -> int | None:
    value = _number(row.get(spec.column), spec.column)
    if value is None:
        return None
    value *= spec.scale
    if spec.per_person:
        value *= size
    return round(value)


@dataclass(frozen=True)
class RowCell:
    """One row's group: its key, size, counts (None where withheld) and whether the row is withheld."""

    key: Key
    size: int
    values: dict[str, int | None]
    withheld: bool
    whole: Key | None  # the group it is a subset of, when a variant
    whole_size: int | None
    within: Key | None = None  # a group it is a subset of, where the publication shows that group


def row_cells(frame: pl.DataFrame, spec: TableCells) -> list[RowCell | None]:
    """Per row of ``frame``: the cell it shows (None for a row that is no cell, e.g. the court lag's other
    waiting periods). A pooled row (cohort ``all``) is about every cohort of the table's other rows."""
    try:
        return _row_cells(frame, spec)
    except UnreadableCell as error:
        raise UnreadableCell(f"tables/{spec.table}, {error}") from None


def _row_cells(frame: pl.DataFrame, spec: TableCells) -> list[RowCell | None]:
    out: list[RowCell | None] = []
    cohorts: list[str] = []
    if spec.cohort is not None and spec.cohort in frame.columns:
        cohorts = sorted({str(c) for c in frame[spec.cohort].to_list() if c is not None and str(c) != WHOLE})
    filters = tuple((column, tuple(values)) for column, values in spec.filters)
    for row in frame.iter_rows(named=True):
        if spec.only is not None and _text(row.get(spec.only[0])) != spec.only[1]:
            out.append(None)
            continue
        size_value = _size(row.get(spec.size), spec.size)
        if size_value is None:
            out.append(None)
            continue
        size = round(size_value)
        if spec.cohort is None:
            cohort: tuple[str, ...] = spec.cohorts
        else:
            label = _text(row.get(spec.cohort))
            cohort = tuple(cohorts) if label == WHOLE else (label or "",)
        by = tuple((column, _text(row.get(column))) for column in spec.by)
        whole_size = round(_size(row.get(spec.whole_size), spec.whole_size) or 0) if spec.whole_size else None
        # a subgroup (the matched people) where it is smaller than its group; a group of its own kind otherwise
        # (a provisional cohort's people seen so far)
        if spec.whole_size is None:
            variant = spec.variant
        else:
            variant = spec.variant if spec.variant and whole_size is not None and size < whole_size else ""
        if spec.cohort_rows_only and len(cohort) != 1:
            out.append(None)
            continue
        cell_key = key(cohort, (*filters, *by), variant)
        whole = key(cohort, (*filters, *by)) if variant and spec.whole_size else None
        within = None
        if spec.equal_weights is not None:
            first, second = (_number(row.get(c)) for c in spec.equal_weights)
            if first is not None and second is not None and abs(first - second) < 1e-6 * max(1.0, second):
                within = key(cohort, (*filters, *by))
        values = {c.count: _count(row, c, size) for c in spec.counts}
        # a row marked [c], or one of people whose counts are missing unmarked (read as withheld, not as
        # nothing to check)
        withheld = row.get(SUPPRESSED) not in (None, "") or (size > 0 and None in values.values())
        out.append(RowCell(cell_key, size, values, withheld, whole, whole_size, within))
    return out


# ------------------------------------------------------------------------------------------------ model
def model_of(tables: Mapping[str, pl.DataFrame], layout: Layout) -> LinkedTables:
    """The linked tables of ``tables`` as ``layout`` declares them (module docstring)."""
    model = LinkedTables()
    found_by_table: list[tuple[TableCells, list[RowCell]]] = []
    variants: list[RowCell] = []
    for spec in layout.tables:
        frame = tables.get(spec.table)
        if frame is None:
            continue
        found = [c for c in row_cells(frame, spec) if c is not None]
        found_by_table.append((spec, found))
        for cell in found:
            values = {c: None for c in COUNTS} if cell.withheld else cell.values
            model.add(cell.key, cell.size, values, table=spec.table, withheld=cell.withheld)
            if cell.whole is not None and cell.whole_size is not None:
                variants.append(cell)
                if cell.whole not in model.cells:
                    model.implied(cell.whole, cell.whole_size)
    partitioned: set[tuple[Key, Key]] = set()

    def partition(total: Key, parts: Sequence[Key]) -> None:
        parts = [p for p in dict.fromkeys(parts) if (total, p) not in partitioned]
        if parts:
            model.partition(total, parts)
            partitioned.update((total, p) for p in parts)

    for spec, found in found_by_table:
        # a table split by columns partitions each cohort's group, one column at a time
        level = {c.key: c.size for c in found if len(c.key[0]) == 1}
        for column in reversed(spec.by):
            groups: dict[Key, list[Key]] = {}
            for cell_key in level:
                cohort_key, pairs, variant = cell_key
                parent = key(cohort_key, [(c, v) for c, v in pairs if c != column], variant)
                groups.setdefault(parent, []).append(cell_key)
            for parent, parts in groups.items():
                if parent not in model.cells:
                    model.implied(parent, sum(model.cells[p].size for p in parts))
                partition(parent, parts)
            level = {parent: model.cells[parent].size for parent in groups}
        # a pooled row is the sum of the table's cohort rows (each cohort's row is its matched people, whether
        # or not some of that cohort's treated people went unmatched: variants aside, the same filters). It is
        # fragile: withheld with any of them (docs/bulletin.md, "Successive releases")
        for total in (c for c in found if len(c.key[0]) > 1 and spec.cohort is not None):
            partition(total.key, [c.key for c in found if len(c.key[0]) == 1 and c.key[1] == total.key[1]])
            model.cells[total.key].fragile = True
    for spec, found in found_by_table:  # a band is the sum of the single values another table shows
        if spec.bands and len(spec.by) == 1:
            _bands_partition(model, spec.by[0], spec.bands, [c.key for c in found], partition)
    for cell in variants:  # the matched treated people are a subset of the treated people
        model.subset(cell.whole, cell.key)  # type: ignore[arg-type]
    for _spec, found in found_by_table:  # an equally weighted comparison group: a subset of its pool
        for cell in found:
            if cell.within is not None and cell.within in model.cells and not model.cells[cell.key].withheld:
                model.subset(cell.within, cell.key)
    for cell_key in list(model.cells):
        cohort_key, pairs, variant = cell_key
        if variant:
            continue
        if pairs:  # a group within its cohorts (a comparison's site) is a subset of everyone released in them
            if _multi_valued(pairs):
                _values_partition(model, cell_key, partition)
            whole = key(cohort_key, ())
            if whole in model.cells and not any(cell_key in r.parts for r in model.relations_of(whole)):
                model.subset(whole, cell_key)
            # and of each published group with one filter fewer (EST028 and sex F or M is within EST028: of the
            # same size, it is the same people)
            if len(pairs) > 1:
                for dropped in range(len(pairs)):
                    coarser = key(cohort_key, [p for i, p in enumerate(pairs) if i != dropped])
                    if coarser in model.cells and not any(cell_key in r.parts for r in model.relations_of(coarser)):
                        model.subset(coarser, cell_key)
        elif len(cohort_key) > 1:  # everyone in several cohorts (the court lag's row): the sum of the cohorts
            parts = [key(c, ()) for c in cohort_key]
            if all(p in model.cells for p in parts):
                partition(cell_key, parts)
    return model


def _bands_partition(model: LinkedTables, column: str, edges: Sequence[float], bands: Sequence[Key], partition) -> None:
    """Each band cell of ``column`` (``40 to 49``) as the sum of the cells of single values in it that the
    publication shows (an adjusted comparison by ``age``), and the rest: each value banded by
    reoffend.banding's own expression, as the breakdown was."""
    from ..banding import band_expr, band_labels

    labels = {label for (_cohorts, pairs, _v) in bands for _c, label in pairs}
    whole = next((w for w in (True, False) if labels <= set(band_labels(column, edges, w)) | {None}), None)
    if whole is None:
        return
    numbers: dict[Key, float] = {}
    for cell_key in model.cells:
        _cohorts, pairs, variant = cell_key
        if variant or len(pairs) != 1 or pairs[0][0] != column or not isinstance(pairs[0][1], str):
            continue
        try:
            numbers[cell_key] = float(pairs[0][1])
        except ValueError:
            continue  # a band's own label
    if not numbers:
        return
    banded = pl.DataFrame({column: list(numbers.values())}).select(band_expr(column, edges, whole).cast(pl.String))
    singles: dict[Key, list[Key]] = {}
    for cell_key, label in zip(numbers, banded.to_series().to_list(), strict=True):
        band = key(cell_key[0], {column: label})
        if band in model.cells:
            singles.setdefault(band, []).append(cell_key)
    for band, parts in singles.items():
        partition(band, sorted(parts))


def _multi_valued(pairs: Sequence[tuple[str, Any]]) -> bool:
    return len(pairs) == 1 and isinstance(pairs[0][1], tuple)


def _values_partition(model: LinkedTables, cell_key: Key, partition) -> None:
    """A group of several values of one column (treated = several establishments) is the sum of the groups
    of each value that the publication shows, and the rest."""
    cohort_key, ((column, values),), _variant = cell_key
    parts = [key(cohort_key, {column: v}) for v in values or ()]
    parts = [p for p in parts if p in model.cells]
    if parts:
        partition(cell_key, parts)


# --------------------------------------------------------------------------------------- applying
def withheld_rows(name: str, frame: pl.DataFrame, layout: Layout, model: LinkedTables) -> list[bool]:
    """Per row of ``frame`` (the table ``name`` of ``layout``): whether any group it shows is withheld."""
    out = [False] * frame.height
    for spec in layout.tables:
        if spec.table != name:
            continue
        for i, cell in enumerate(row_cells(frame, spec)):
            out[i] = out[i] or (cell is not None and model.cells[cell.key].withheld)
    return out


def withhold_rows(frame: pl.DataFrame, spec: TableCells | Sequence[TableCells], hidden: Sequence[bool]) -> pl.DataFrame:
    """``frame`` with every figure of the ``hidden`` rows but their keys and sizes nulled, and ``[c]`` in their
    ``suppressed`` column (one mark, whatever the reason)."""
    specs = [spec] if isinstance(spec, TableCells) else list(spec)
    mask = pl.Series(list(hidden), dtype=pl.Boolean)
    earlier = frame[SUPPRESSED] if SUPPRESSED in frame.columns else pl.Series([None] * frame.height, dtype=pl.String)
    marks = pl.Series(
        SUPPRESSED, [SHORTHAND if h or e is not None else None for h, e in zip(mask, earlier, strict=True)]
    )
    kept = {c for s in specs for c in s.shown_always}
    return frame.with_columns(
        *(
            pl.when(mask).then(None).otherwise(pl.col(c)).alias(c)
            for c in frame.columns
            if c not in kept | {SUPPRESSED}
        ),
        marks.cast(pl.String),
    )


# --------------------------------------------------------------------------------- the bulletin's tables
def measure_cells(table: str, by: Sequence[str] = ()) -> TableCells:
    """A table of the measure by cohort (and ``by``): trend, establishments, a breakdown."""
    return TableCells(table, "cohort_size", MEASURE_COUNTS, by=tuple(by))


def baseline_cells(site_column: str | None, site: str | None) -> tuple[TableCells, ...]:
    """The baseline comparison's two groups per row: the site's current cohort and its baseline cohort."""
    filters = ((site_column, (site,)),) if site_column and site else ()
    arms = (("current", "baseline"), ("baseline", "current"))
    return tuple(
        TableCells(
            "comparison_baseline.csv",
            f"{arm}_size",
            (Count("reoffenders", f"{arm}_reoffenders"),),
            cohort=arm,
            filters=filters,
            keep=(other, f"{other}_size"),
        )
        for arm, other in arms
    )


def _matched_counts(arm: str) -> tuple[Count, ...]:
    """The counts of one arm of the matched comparison (``treated`` or ``comparison``): rates times number."""
    return (
        Count("reoffenders", f"binary_rate_{arm}", per_person=True),
        Count("reconviction_events", f"events_per_100_{arm}", scale=0.01, per_person=True),
        Count("reoffences", f"reoffences_per_offender_{arm}", per_person=True),
    )


def matched_cells(treated: Sequence[tuple[str, Sequence[str]]] | None, variant: str = "matched") -> TableCells:
    """The matched comparison's treated people who were matched, per cohort and pooled (their counts are
    their rates times their number). The comparison group's figures are weighted means of other people's
    outcomes, not counts of a group any other table shows; a withheld row withholds them too."""
    return TableCells(
        "comparison_matched.csv",
        "matched",
        _matched_counts("treated"),
        filters=tuple((column, tuple(values)) for column, values in (treated or ())),
        variant=variant,
        whole_size="treated",
        keep=("scope", "unmatched", "unmatched_share", "comparators", "effective_comparison_size"),
    )


def comparison_group_cells(pool: Sequence[tuple[str, Sequence[str]]] | None) -> TableCells:
    """The matched comparison group of each cohort: people of the pool (``pool`` filters, else everyone not
    treated) weighted by how many treated people they were matched to. Checked against the primary rule by its
    number of comparators and its weighted reoffenders; where every comparator weighs the same, its counts are
    exact and it is linked to the pool's group (a pool of one small prison would otherwise publish that prison's
    figures under another name)."""
    return TableCells(
        "comparison_matched.csv",
        "comparators",
        _matched_counts("comparison"),
        filters=tuple((column, tuple(values)) for column, values in (pool or ())),
        variant="matched comparison group",
        equal_weights=("effective_comparison_size", "comparators"),
        cohort_rows_only=True,
        keep=("scope", "cohort", "treated", "matched", "unmatched", "unmatched_share", "effective_comparison_size"),
    )


def adjusted_cells(group_columns: Sequence[str]) -> TableCells:
    """The risk-adjusted comparison's units in each current cohort."""
    return TableCells(
        "comparison_adjusted.csv",
        "cohort_size",
        (Count("reoffenders", "reoffenders"), Count("reoffences", "reoffences")),
        by=tuple(c for c in group_columns if c != "cohort"),
        keep=("binary_expected", "reoffences_per_offender_expected"),
    )


def court_lag_cells(cohorts: Sequence[str], waiting_period: int) -> TableCells:
    """The court-lag row at the configured waiting period: everyone in the court lag's cohorts."""
    return TableCells(
        "court_lag.csv",
        "cohort_size",
        (Count("reoffenders", "reoffenders"), Count("reoffences", "reoffences")),
        cohort=None,
        cohorts=tuple(cohorts),
        only=("waiting_period_months", str(waiting_period)),
        keep=("waiting_period_months",),
    )


def provisional_cells() -> TableCells:
    """The provisional figures' cohorts, each with its reoffenders seen so far: cohorts no other table shows,
    linked to nothing, and checked against the primary rule (a cohort that fails it is withheld)."""
    return TableCells(
        "provisional.csv",
        "cohort_size",
        (Count("reoffenders", "observed_reoffenders"),),
        variant="observed so far",
    )


def bulletin_layout(parts: Sequence[Any]) -> Layout:
    """The declarations of every part of the bulletin that publishes tables of groups of people (each part's
    ``declares``: the trend, the establishment table, each breakdown, each comparison)."""
    return Layout([spec for part in parts for spec in part.declares])


def audit_publication(
    tables: Mapping[str, pl.DataFrame],
    layout: Layout,
    protection: Protection,
    readers: Callable[[LinkedTables], list[LinkedTables]] | None = None,
    differ: set[Key] | None = None,
) -> AuditReport:
    """The audit of the published ``tables`` (withheld rows null and marked), as a reader could make it; with
    ``readers`` (the models of the readers of both releases over the tables' model: what each holds besides,
    the previous release's figures and the groups taken to be unchanged, reoffend/bulletin/successive.py),
    each count's range over them all (``differ``: the groups whose ties differ between them,
    reoffend.linked.ranges_over). Raises
    :class:`reoffend.errors.DisclosureFailure` naming the first count that fails."""
    from ..errors import DisclosureFailure

    try:
        model = model_of(tables, layout)
        models = readers(model) if readers is not None else [model]
        report = audit(models[0], protection, models[1:], differ)
    except InconsistentTables as error:
        raise DisclosureFailure(f"the disclosure audit found published figures that disagree: {error}") from None
    if not report.passed:
        failures = report.failures
        more = f" (and {len(failures) - 1:,} more)" if len(failures) > 1 else ""
        raise DisclosureFailure(f"the disclosure audit failed, so nothing was written: {failures[0].describe()}{more}")
    return report


DAYS_COLUMNS = ("mean_days_to_first", "median_days_to_first")


def withhold_days(frame: pl.DataFrame, rule: DisclosureRule) -> pl.DataFrame:
    """``frame`` with the days to first reoffence withheld where fewer than ``min_cohort`` people reoffended:
    a median over three reoffenders is one person's value (docs/bulletin.md, "Derived figures")."""
    present = [c for c in DAYS_COLUMNS if c in frame.columns]
    if not rule.active or not present or "reoffenders" not in frame.columns:
        return frame
    few = pl.col("reoffenders").is_null() | (pl.col("reoffenders") < max(rule.min_cohort, rule.min_count))
    return frame.with_columns(pl.when(few).then(None).otherwise(pl.col(c)).alias(c) for c in present)


def protect_mean_days(trend: pl.DataFrame, frame: pl.DataFrame, rule: DisclosureRule) -> pl.DataFrame:
    """``frame`` (a table splitting the trend's cohorts) with further days withheld until no mean can be
    derived over fewer than ``min_cohort`` reoffenders: where a cohort's mean days is published, the parts
    whose days are withheld together have a mean a reader can work out (the cohort's total days less the
    published parts'); while they hold fewer than ``min_cohort`` reoffenders (but some), the published part
    with the fewest reoffenders has its days withheld too."""
    if not rule.active or "mean_days_to_first" not in frame.columns:
        return frame
    threshold = max(rule.min_cohort, rule.min_count)
    totals = {
        row["cohort"]: row["reoffenders"]
        for row in trend.iter_rows(named=True)
        if row["mean_days_to_first"] is not None and row["reoffenders"] is not None
    }
    withhold: set[int] = set()
    rows = list(frame.iter_rows(named=True))
    for cohort, total in totals.items():
        shown = [i for i, r in enumerate(rows) if r["cohort"] == cohort and r["mean_days_to_first"] is not None]
        while shown:
            rest = total - sum(rows[i]["reoffenders"] for i in shown)
            if not 0 < rest < threshold:
                break
            smallest = min(shown, key=lambda i: (rows[i]["reoffenders"], i))
            shown.remove(smallest)
            withhold.add(smallest)
    if not withhold:
        return frame
    mask = pl.Series([i in withhold for i in range(frame.height)], dtype=pl.Boolean)
    return frame.with_columns(
        pl.when(mask).then(None).otherwise(pl.col(c)).alias(c) for c in DAYS_COLUMNS if c in frame.columns
    )


# ------------------------------------------------------------------------------------- checking a folder
def audit_folder(folder: str) -> tuple[AuditReport, dict[str, Any]]:
    """The audit of a bulletin folder from its published files alone: ``manifest.json`` (the layout and the
    rule) and ``tables/*.csv``, read as a reader would read them. Returns the report and the rule's facts.

    Raises :class:`reoffend.errors.InputFileError` for a folder that is not a bulletin's (exit 66) and
    :class:`reoffend.errors.UsageError` for a bulletin made before the layout was recorded (exit 2).
    """
    import json
    from pathlib import Path

    from ..errors import InputFileError, UsageError
    from ..io import small_file_bytes

    root = Path(folder)
    manifest_path = root / "manifest.json"
    try:
        manifest = json.loads(small_file_bytes(manifest_path).decode("utf-8"))  # never a FIFO, /dev/zero or 3 GB
    except FileNotFoundError:
        raise InputFileError(f"{folder}: no manifest.json: not a folder `reoffend bulletin` wrote") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise InputFileError(f"{manifest_path}: cannot be read as a bulletin manifest ({error})") from None
    except RecursionError:  # 100,000 nested [
        raise InputFileError(f"{manifest_path}: cannot be read as a bulletin manifest (nested too deeply)") from None
    from ..errors import DisclosureFailure

    def tampered(what: str) -> DisclosureFailure:
        # a manifest `reoffend bulletin` did not write as it is: nothing to audit against, so no audit passes
        return DisclosureFailure(f"{manifest_path}: {what}: not as `reoffend bulletin` writes it; cannot be checked")

    if not isinstance(manifest, dict):
        raise tampered("not a JSON object")
    facts = manifest.get("facts")
    if facts is not None and not isinstance(facts, dict):
        raise tampered(f"facts is {type(facts).__name__}")
    disclosure = (facts or {}).get("disclosure")
    if disclosure is not None and not isinstance(disclosure, dict):
        raise tampered(f"facts.disclosure is {type(disclosure).__name__}")
    if not disclosure or "layout" not in disclosure:
        raise UsageError(
            f"{manifest_path}: records no disclosure layout (a bulletin made before reoffend recorded one, or not "
            "a bulletin): rebuild it with this version to check it"
        )
    if not isinstance(disclosure["layout"], dict):
        raise tampered(f"facts.disclosure.layout is {type(disclosure['layout']).__name__}")
    try:
        layout = Layout.of(disclosure["layout"])
        # whole numbers as written (DisclosureRule refuses NaN, 1e308, text, true); no int() rounding 2.7 to 2
        rule = DisclosureRule(
            min_cohort=disclosure.get("min_cohort", 0),
            min_count=disclosure.get("min_count", 0),
            protection=disclosure.get("protection"),
        )
    except (TypeError, ValueError, AttributeError, KeyError, UsageError) as error:
        raise tampered(f"facts.disclosure ({error})") from None
    tables: dict[str, pl.DataFrame] = {}
    for name in sorted(layout.names):
        # a name from the manifest, a file of this folder: never a path elsewhere (../../x.csv)
        if Path(name).name != name or name.startswith(".") or not name.endswith(".csv"):
            raise tampered(f"a table named {name[:60]!r}")
        path = root / "tables" / name
        if not path.is_file():
            continue
        check_csv_chunk()
        try:
            tables[name] = pl.read_csv(path, infer_schema=False)
        except (OSError, pl.exceptions.PolarsError) as error:
            raise InputFileError(f"{path}: cannot be read as a CSV table ({error})") from None
    try:
        report = audit(model_of(tables, layout), Protection.of(rule))
    except InconsistentTables as error:
        if isinstance(error, UnreadableCell):
            raise DisclosureFailure(
                f"{folder}: {error}: not as `reoffend bulletin` writes it; cannot be checked"
            ) from None
        raise DisclosureFailure(f"{folder}: the published tables disagree with each other: {error}") from None
    return report, disclosure
