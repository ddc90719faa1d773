"""Revisions: the figures the previous bulletin published, their values now, and why they changed
(docs/bulletin.md, "Revisions"; issue 27).

The previous bulletin's folder is data, never code: its ``manifest.json`` and ``tables/*.csv`` are read as a
reader of that publication would read them, checked against each other (each table's SHA-256 as the manifest
lists it), and a folder that is not a reoffend bulletin, or one measured another way, is refused (exit 2,
naming why). Only the measure tables are revised: the tables whose rows the manifest's disclosure layout
declares as groups of a cohort (``trend.csv``, ``establishments.csv``, each ``breakdown_*.csv``).

Rules (each row is one group of people, one cell of the linked-tables model, reoffend/bulletin/publication.py):
every cell the previous bulletin published in those tables has a row, so that the table, not a reader's
guess from a row left out, says what each figure is now, and the audit sees every value it states.

* A cell published (not ``[c]``) in both releases: its figures then and now, the change of its rate in
  percentage points, and the reason. The reason is **unchanged** when no figure changed (the number of
  people, reoffenders, reconviction events, reoffences); else **data corrections** when the number of people
  changed (releases added, removed or re-dated); else **late convictions** when reoffenders rose, or stayed
  the same while events or reoffences rose; else **data corrections** (convictions removed or corrected).
* A cell withheld (``[c]``) in either release is withheld in the revisions table: only its numbers of people,
  published in both releases, are shown; its reason is **data corrections** when that number changed, else
  none (whether its withheld counts changed is not said).
* A cohort in this release's ``trend.csv`` that the previous one did not have (it was provisional, or not yet
  complete) has a row with the reason **cohort completed** and no previous figures.
* A cell the previous bulletin published that this release does not have: the reason **no longer in the
  data** and no current figures.

So the revised cells (the rows whose reason is neither **unchanged** nor none) are exactly the cells whose
published figures changed.

The rows are declared to the disclosure model (:func:`revision_cells`) as the same groups the tables declare,
so the audit of what is written covers them: a revisions row can never show a count another table withholds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl

from ..disclosure import SHORTHAND, SUPPRESSED
from ..errors import UsageError
from ..io import check_csv_chunk
from ..linked import LinkedTables
from .folder import MANIFEST_KEY, MANIFEST_VERSION
from .publication import MEASURE_COUNTS, Layout, RowCell, TableCells, UnreadableCell, row_cells

TABLE = "revisions.csv"
COURT_LAG = "court_lag.csv"  # read to compare this release's court lag with (reoffend/bulletin/successive.py)
LATE = "late convictions"
CORRECTIONS = "data corrections"
COMPLETED = "cohort completed"
GONE = "no longer in the data"
UNCHANGED = "unchanged"
REVISED = (LATE, CORRECTIONS)  # the reasons of a figure published in both releases that changed
DEFAULT_THRESHOLD_PP = 1.0  # [publication] revision_threshold: a revision of at least this many points is told
MANIFEST_BYTES = 64 << 20  # a manifest larger than this is no bulletin's (the sample's is about 60 kB)
COUNT_COLUMNS = ("reoffenders", "reconviction_events", "reoffences")
# the measure parameters two bulletins must share for one's figures to be revisions of the other's
SAME_MEASURE = ("window", "period", "index", "incomplete", "excluded_offences", "where")


@dataclass(frozen=True)
class Previous:
    """The previous bulletin as read from its folder (:func:`read_previous`)."""

    folder: str
    manifest_sha256: str
    layout: Layout
    tables: dict[str, pl.DataFrame]
    latest_cohort: str | None
    extract_date: dt.date | None = None  # its facts' extract date, when it is a date (never free text)
    # its court-lag table (hash-checked, as text) and the cohorts it summed, where it published one
    court_lag: pl.DataFrame | None = None
    provisional: bool = False  # it published provisional estimates (provisional.csv): replaced here, not revised

    def check_earlier_than(self, extract_date: dt.date | None) -> None:
        """A previous bulletin comes before this one: one from a later extract would call the cohorts it has and
        this one has not yet completed "no longer in the data" (a usage error, exit 2)."""
        if self.extract_date and extract_date and self.extract_date > extract_date:
            raise _refuse(
                self.folder,
                f"its extract date {self.extract_date} is later than this bulletin's ({extract_date}): give the "
                "bulletin published before this one",
            )

    def as_dict(self) -> dict[str, Any]:
        """What the manifest records: which bulletin this one was compared with."""
        return {
            "folder": Path(self.folder).resolve().name,
            "manifest_sha256": self.manifest_sha256,
            "latest_cohort": self.latest_cohort,
        }


def _refuse(folder: str, why: str) -> UsageError:
    return UsageError(f"--previous {folder}: {why}")


def revisable(spec: TableCells) -> bool:
    """A measure table of cohorts (and columns splitting them): the tables whose figures are revised."""
    return (
        spec.size == "cohort_size"
        and spec.counts == MEASURE_COUNTS
        and spec.cohort == "cohort"
        and not (spec.filters or spec.variant or spec.only or spec.whole_size or spec.equal_weights)
    )


def read_previous(folder: str, measure: Mapping[str, Any]) -> Previous:
    """The previous bulletin's folder, checked (module docstring); raises UsageError (exit 2) naming why.

    ``measure`` is this bulletin's ``MeasureParams.as_dict()``: the previous one must have been measured the
    same way (:data:`SAME_MEASURE`), else its figures are not revisions of these.
    """
    root = Path(folder)
    if not root.is_dir():
        raise _refuse(folder, "not a folder (give the folder of the previous bulletin)")
    manifest_path = root / "manifest.json"
    try:
        if manifest_path.stat().st_size > MANIFEST_BYTES:
            raise _refuse(folder, "manifest.json is larger than any bulletin's: not a reoffend bulletin")
        raw = manifest_path.read_bytes()
    except FileNotFoundError:
        raise _refuse(folder, "no manifest.json: not a folder `reoffend bulletin` wrote") from None
    except OSError as error:
        raise _refuse(folder, f"manifest.json cannot be read ({error.strerror or error})") from None
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _refuse(folder, "manifest.json is not JSON: not a reoffend bulletin") from None
    if not isinstance(manifest, dict) or manifest.get(MANIFEST_KEY) != MANIFEST_VERSION:
        raise _refuse(folder, f'manifest.json has no "{MANIFEST_KEY}": {MANIFEST_VERSION}: not a reoffend bulletin')
    files = manifest.get("files")
    facts = manifest.get("facts")
    parameters = manifest.get("parameters")
    if not isinstance(files, dict) or not isinstance(facts, dict) or not isinstance(parameters, dict):
        raise _refuse(
            folder, "manifest.json lacks its files, facts or parameters: not as `reoffend bulletin` writes it"
        )
    disclosure = facts.get("disclosure")
    if not isinstance(disclosure, dict) or not isinstance(disclosure.get("layout"), dict):
        raise _refuse(folder, "manifest.json records no disclosure layout (made by an older reoffend): rebuild it")
    try:
        layout = Layout.of(disclosure["layout"])
    except (TypeError, ValueError, AttributeError, KeyError) as error:
        raise _refuse(folder, f"its disclosure layout cannot be read ({error})") from None
    _check_same_measure(folder, parameters.get("measure"), measure)
    tables: dict[str, pl.DataFrame] = {}
    for spec in layout.tables:  # the revised tables, and the comparisons' groups, which a later release carries
        name = spec.table  # over too (bulletin/successive.py)
        if name in tables or not (revisable(spec) or f"tables/{name}" in files):
            continue
        if Path(name).name != name or name.startswith(".") or not name.endswith(".csv"):
            raise _refuse(folder, f"manifest.json names a table {name[:60]!r}: not as `reoffend bulletin` writes it")
        tables[name] = _table(folder, root, name, files)
    if "trend.csv" not in tables:
        raise _refuse(folder, "no trend.csv in its layout: not a reoffend bulletin")
    court_lag = _table(folder, root, COURT_LAG, files) if f"tables/{COURT_LAG}" in files else None
    latest = facts.get("latest_cohort")  # kept only when it is a cohort of its trend: never free text from the folder
    cohorts = set(tables["trend.csv"]["cohort"].to_list()) if "cohort" in tables["trend.csv"].columns else set()
    return Previous(
        folder=folder,
        manifest_sha256=hashlib.sha256(raw).hexdigest(),
        layout=layout,
        tables=tables,
        latest_cohort=latest if isinstance(latest, str) and latest in cohorts else None,
        extract_date=_date_or_none(facts.get("extract_date")),
        court_lag=court_lag,
        provisional="tables/provisional.csv" in files,
    )


def _date_or_none(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _check_same_measure(folder: str, previous: Any, current: Mapping[str, Any]) -> None:
    if not isinstance(previous, dict):
        raise _refuse(folder, "manifest.json has no parameters.measure: not as `reoffend bulletin` writes it")
    differ = [name for name in SAME_MEASURE if previous.get(name) != json.loads(json.dumps(current.get(name)))]
    if differ:
        raise _refuse(
            folder,
            f"it was measured with other {', '.join(differ)} than this bulletin's [measure] and exclusions, so its "
            "figures are not earlier values of these (see parameters.measure in its manifest.json)",
        )


def _table(folder: str, root: Path, name: str, files: Mapping[str, Any]) -> pl.DataFrame:
    """One table of the previous folder, as its manifest lists it (the same SHA-256), read as text."""
    entry = files.get(f"tables/{name}")
    if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
        raise _refuse(folder, f"manifest.json does not list tables/{name}: not as `reoffend bulletin` writes it")
    path = root / "tables" / name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _refuse(folder, f"tables/{name} is missing (the manifest lists it)") from None
    except OSError as error:
        raise _refuse(folder, f"tables/{name} cannot be read ({error.strerror or error})") from None
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise _refuse(folder, f"tables/{name} is not the file its manifest.json lists (SHA-256 differs): edited since")
    check_csv_chunk()
    try:
        return pl.read_csv(data, infer_schema=False)
    except pl.exceptions.PolarsError as error:
        raise _refuse(folder, f"tables/{name} cannot be read as CSV ({str(error).splitlines()[0][:120]})") from None


# ------------------------------------------------------------------------------------------- the table
def revision_cells(specs: Sequence[TableCells]) -> list[TableCells]:
    """The declarations of the revisions table: each revised table's rows are the groups that table's are."""
    return [replace(spec, table=TABLE, only=("table", spec.table), keep=()) for spec in specs]


def _rate(reoffenders: int | None, size: int | None) -> float | None:
    return None if reoffenders is None or not size else reoffenders / size


def _reason(before: RowCell, size: int, values: Mapping[str, int | None]) -> str:
    """The documented rule of the module docstring, for a cell published in both releases."""
    if before.size == size and all(before.values[c] == values[c] for c in COUNT_COLUMNS):
        return UNCHANGED
    if before.size != size:
        return CORRECTIONS
    old, new = before.values, values
    if (new["reoffenders"] or 0) > (old["reoffenders"] or 0):
        return LATE
    if new["reoffenders"] == old["reoffenders"] and any(
        (new[c] or 0) > (old[c] or 0) for c in ("reconviction_events", "reoffences")
    ):
        return LATE
    return CORRECTIONS


def revisions(previous: Previous, current: Mapping[str, TableCells], model: LinkedTables) -> pl.DataFrame:
    """The revisions table (module docstring's rules) of the tables both releases publish.

    ``current``: this release's declaration of each table it writes, by name; ``model``: this release's linked
    tables after protection (each cell's size, values and whether it is withheld).
    """
    by_columns: list[str] = []
    rows: list[dict[str, Any]] = []
    for name, frame in previous.tables.items():
        spec = current.get(name)
        if spec is None or not revisable(spec):
            continue  # a table this release does not publish (a breakdown dropped from the config)
        by_columns += [c for c in spec.by if c not in by_columns]
        try:
            before_cells = [c for c in row_cells(frame, spec) if c is not None and len(c.key[0]) == 1]
        except UnreadableCell as error:
            raise _refuse(previous.folder, f"{error}: not as `reoffend bulletin` writes it") from None
        seen = set()
        for before in before_cells:
            seen.add(before.key)
            row = _row(name, before, model)
            if row is not None:
                rows.append(row)
        if name == "trend.csv":  # cohorts completed since
            for cell in model.cells.values():
                cohorts, pairs, variant = cell.key
                national = len(cohorts) == 1 and not pairs and not variant and "trend.csv" in cell.tables
                if national and cell.key not in seen:
                    rows.append(_completed(cell.key, cell.size, cell.values, cell.withheld))
    schema: dict[str, Any] = {"table": pl.String, "cohort": pl.String, **{c: pl.String for c in by_columns}}
    schema |= {
        "previous_cohort_size": pl.Int64,
        "cohort_size": pl.Int64,
        "previous_reoffenders": pl.Int64,
        "reoffenders": pl.Int64,
        "previous_binary_rate": pl.Float64,
        "binary_rate": pl.Float64,
        "change_pp": pl.Float64,
        "previous_reconviction_events": pl.Int64,
        "reconviction_events": pl.Int64,
        "previous_reoffences": pl.Int64,
        "reoffences": pl.Int64,
        "reason": pl.String,
        SUPPRESSED: pl.String,
    }
    frame = pl.DataFrame([{c: row.get(c) for c in schema} for row in rows], schema=schema, orient="row")
    return frame.sort(["table", "cohort", *by_columns], nulls_last=True, maintain_order=True)


def _keys(name: str, cell_key: Any) -> dict[str, Any]:
    cohorts, pairs, _variant = cell_key
    return {"table": name, "cohort": cohorts[0], **{c: v for c, v in pairs}}


def _row(name: str, before: RowCell, model: LinkedTables) -> dict[str, Any]:
    """The revisions row of one cell the previous release published (module docstring)."""
    cell = model.cells.get(before.key)
    keys = _keys(name, before.key)
    if cell is None or cell.implied:
        values = {} if before.withheld else {f"previous_{c}": before.values[c] for c in COUNT_COLUMNS}
        rate = None if before.withheld else _rate(before.values["reoffenders"], before.size)
        return {**keys, "previous_cohort_size": before.size, **values, "previous_binary_rate": rate, "reason": GONE}
    if before.withheld or cell.withheld:  # [c] here: only the numbers of people, public in both releases
        return {
            **keys,
            "previous_cohort_size": before.size,
            "cohort_size": cell.size,
            "reason": CORRECTIONS if before.size != cell.size else None,
            SUPPRESSED: SHORTHAND,
        }
    now = {c: cell.values[c] for c in COUNT_COLUMNS}
    old_rate, new_rate = _rate(before.values["reoffenders"], before.size), _rate(now["reoffenders"], cell.size)
    return {
        **keys,
        "previous_cohort_size": before.size,
        "cohort_size": cell.size,
        **{f"previous_{c}": before.values[c] for c in COUNT_COLUMNS},
        **now,
        "previous_binary_rate": old_rate,
        "binary_rate": new_rate,
        "change_pp": None if old_rate is None or new_rate is None else 100 * (new_rate - old_rate),
        "reason": _reason(before, cell.size, now),
    }


def _completed(cell_key: Any, size: int, values: Mapping[str, int | None], withheld: bool) -> dict[str, Any]:
    row: dict[str, Any] = {**_keys("trend.csv", cell_key), "cohort_size": size, "reason": COMPLETED}
    if withheld:
        return {**row, SUPPRESSED: SHORTHAND}
    return {**row, **{c: values[c] for c in COUNT_COLUMNS}, "binary_rate": _rate(values["reoffenders"], size)}


def told(table: pl.DataFrame, threshold_pp: float) -> dict[str, Any] | None:
    """The revision the text tells (docs/bulletin.md, "Revisions"): of the rates published in both releases
    that changed by at least ``threshold_pp`` percentage points, the national series' largest change, else
    the largest of any group; None when none did."""
    changed = table.filter(
        pl.col("reason").is_in(REVISED)
        & pl.col("change_pp").is_not_null()
        & (pl.col("change_pp").abs() >= threshold_pp)
    )
    if not changed.height:
        return None
    order = [pl.col("table") != "trend.csv", pl.col("change_pp").abs()]
    return changed.sort(order, descending=[False, True], maintain_order=True).row(0, named=True)
