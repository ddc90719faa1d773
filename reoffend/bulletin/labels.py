"""Words, not codes: the titles of columns and the labels of their values in everything a reader sees
(docs/bulletin.md, "Labels"; issue 26 item 3).

One pure mapping that the HTML and Markdown tables, the text and the charts all call, so "F" is "Female" and
``sentence_months`` is "Sentence length" everywhere. The CSV files keep the codes (they are the data).

The rule, from ``[labels]`` in the config:

- a value with a label in ``[labels.COLUMN]`` is shown as that label;
- any other value is shown as itself, underscores made spaces and the first letter a capital
  (``criminal_damage`` -> "Criminal damage", ``EST042`` -> "EST042", ``18 to 20`` stays), and a missing value is
  "Not recorded";
- a column's title is ``[labels.columns] COLUMN``, else a built-in title for the canonical columns
  (:data:`DEFAULT_TITLES`), else the same rule as a value (``index_offence`` -> "Index offence").

A label for a column the releases do not have, or for a value no release has, is an error naming the nearest
one (:func:`check_labels`), as every request that matches nothing is.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ..cohort import value_not_found
from ..errors import UsageError, name_list

NOT_RECORDED = "Not recorded"

# titles of the canonical release columns (docs/data.md) where the plain rule would read as a code
DEFAULT_TITLES = {
    "sentence_months": "Sentence length (months)",
    "prior_convictions": "Previous convictions",
    "index_offence": "Offence at index release",
}


def plain_words(code: str) -> str:
    """A code as words by the default rule: underscores to spaces, the first letter a capital, the rest as is."""
    words = " ".join(code.replace("_", " ").split())
    return words[:1].upper() + words[1:]


@dataclass(frozen=True)
class Labels:
    """The ``[labels]`` section: column titles and per-column value labels, and the config lines they are on."""

    columns: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    lines: Mapping[tuple[str, str], int] = field(default_factory=dict, compare=False)  # (section, key): line

    def title(self, column: str) -> str:
        """The column's title for a table header or a heading: "Sentence length (months)"."""
        return self.columns.get(column) or DEFAULT_TITLES.get(column) or plain_words(column)

    def name(self, column: str) -> str:
        """The column's title inside a sentence: "sentence length (months)" (an initialism keeps its capitals)."""
        title = self.title(column)
        return title if title[1:2].isupper() else title[:1].lower() + title[1:]

    def value(self, column: str, code: Any) -> str:
        """The label of one value of ``column``: the configured one, else the code in plain words."""
        if code is None:
            return NOT_RECORDED
        text = str(code)
        return self.values.get(column, {}).get(text) or plain_words(text)

    def frame(self, rows: pl.DataFrame, column: str) -> pl.DataFrame:
        """``rows`` with ``column``'s values as their labels (for a chart); the order of rows is kept."""
        return rows.with_columns(
            pl.Series(column, [self.value(column, v) for v in rows[column].to_list()], dtype=pl.String)
        )

    def chart_rows(self, rows: pl.DataFrame, column: str) -> tuple[pl.DataFrame, str]:
        """``rows`` labelled, with ``column`` renamed to its in-sentence name (which a chart prints in its title),
        and that name; the column keeps its name when another column already has the title's."""
        name = self.name(column)
        labelled = self.frame(rows, column)
        if name == column or name in rows.columns:
            return labelled, column
        return labelled.rename({column: name}), name

    def as_dict(self) -> dict[str, Any]:
        return {"columns": dict(sorted(self.columns.items())), **{c: dict(v) for c, v in sorted(self.values.items())}}


def nearest(wanted: str, known: Iterable[str]) -> str:
    """ "; did you mean X?" for the closest of ``known`` (difflib, as the rest of the project), else ""."""
    near = difflib.get_close_matches(wanted, sorted(set(known)), n=1, cutoff=0.5)
    return f"; did you mean {near[0]!r}?" if near else ""


def check_labels(
    labels: Labels, config_path: str, releases_file: str, known_values: Mapping[str, Iterable[str]]
) -> None:
    """Every label names a column of the releases and a value that column has.

    ``known_values``: each release column with the values a reader can see in it (as text; a banded column's
    band labels). A column that does not exist is a usage error (exit 2), as an unknown ``[breakdowns]``
    column is; a value no release has is invalid data (exit 65, ``value-not-found``), as a ``--where`` value
    is: each names the nearest one.
    """
    columns = list(known_values)

    def where(section: str, key: str) -> str:
        line = labels.lines.get((section, key))
        return f"{config_path}, line {line}" if line else config_path

    for column in labels.columns:
        if column not in known_values:
            raise UsageError(
                f"{where('labels.columns', column)}: [labels.columns] {column}: {releases_file} has no column "
                f"{column!r}{nearest(column, columns)} (columns: {name_list(columns)})"
            )
    for column, values in labels.values.items():
        if column not in known_values:
            raise UsageError(
                f"{where('labels', column)}: [labels.{column}]: {releases_file} has no column {column!r}"
                f"{nearest(column, columns)} (columns: {name_list(columns)})"
            )
        known = {str(v) for v in known_values[column]}
        for code in values:
            if code not in known:
                listing = f": {name_list(sorted(known))}"
                raise value_not_found(releases_file, column, f"[labels.{column}] {code}", code, known, listing)


def known_values(releases: pl.LazyFrame, labels: Labels, bands: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every release column, with the values (as text) of the columns ``labels`` gives value labels for: a
    banded column's band labels (docs/bulletin.md, "Breakdowns"), else the values present."""
    from ..banding import band_frame

    schema = releases.collect_schema()
    wanted = [c for c in labels.values if c in schema]
    banded = band_frame(releases, {c: e for c, e in bands.items() if c in wanted and c in schema})
    found: dict[str, list[str]] = {column: [] for column in schema.names()}
    if wanted:
        frames = pl.collect_all([banded.select(pl.col(c).cast(pl.String).drop_nulls().unique()) for c in wanted])
        for column, frame in zip(wanted, frames, strict=True):
            found[column] = frame.to_series().to_list()
            dtype = banded.collect_schema()[column]
            if isinstance(dtype, pl.Enum):  # every band, present this quarter or not
                found[column] = sorted(set(found[column]) | set(dtype.categories.to_list()))
    return found
