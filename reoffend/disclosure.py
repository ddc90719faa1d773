"""Statistical disclosure control of published group measures (docs/bulletin.md, "Disclosure control").

A table of proven reoffending by group tells a reader something about each person in a small group: "0 of 5
reoffended" or "5 of 5" discloses every one of the five outcomes. Before a group's measures are published:

1. **Primary suppression.** A group with fewer than ``min_cohort`` index releases (``cohort_size``) has every
   outcome cell suppressed (counts, rates, intervals, frequencies, days); so does a group in which fewer than
   ``min_count`` people reoffended, or fewer than ``min_count`` did not.
2. **Secondary suppression.** When the total of a set of sibling groups is published (the cohort's figure for
   all releases beside its establishments), one suppressed sibling could be recovered by subtracting the
   others from the total. Within each such set, while the suppressed siblings are not themselves safe
   together (at least two of them, and their combined group passes the rule of step 1), the unsuppressed
   sibling with the fewest releases (ties: fewest reoffenders, then table order) is suppressed as well.
   Which sets have a published total is given by ``margins``: for each margin column, the rows sharing the
   values of every other grouping column form one set. The steps repeat until nothing changes, so a cell
   suppressed for one margin is protected in the others too.

The number released (``cohort_size``) is always published: it says nothing about anyone's reoffending, and
with it published a count of reoffenders is derivable exactly when the count of non-reoffenders is, so the
rule above protects both. Suppressed cells are null in the frame, with the reason in the ``suppressed``
column (``min_cohort``, ``min_count`` or ``secondary``; null, an empty CSV cell, when published); text, HTML
and spreadsheets show them as ``[c]`` (the UK Government Statistical Service shorthand for "confidential").

A threshold of 0 turns its rule off; the defaults (10 and 3) are conservative, and a bulletin publishes
unsuppressed figures only when its configuration sets both to 0 explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from .errors import UsageError
from .measure import GROUP_MEASURES

SUPPRESSED = "suppressed"
SHORTHAND = "[c]"
# The group measures of reoffend.measure that describe outcomes (all but the size); each is suppressed with its group.
OUTCOME_COLUMNS = tuple(column for column in GROUP_MEASURES if column != "cohort_size")
DEFAULT_MIN_COHORT = 10
DEFAULT_MIN_COUNT = 3


@dataclass(frozen=True)
class DisclosureRule:
    """The thresholds of the rule (module docstring). 0 turns a threshold off."""

    min_cohort: int = DEFAULT_MIN_COHORT
    min_count: int = DEFAULT_MIN_COUNT
    # the sliding protection width of a withheld count (reoffend.linked); None: min_count, at least 1
    protection: int | None = None

    def __post_init__(self) -> None:
        for name in ("min_cohort", "min_count", "protection"):
            value = getattr(self, name)
            if value is None and name == "protection":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UsageError(f"disclosure {name} must be a whole number of 0 or more, not {value!r}")

    @property
    def protection_width(self) -> int:
        """How wide a reader's range of a withheld count must be at least (reoffend.linked, "The protection
        rule"): ``protection`` when given, else ``min_count`` (and at least 1: no count worked out exactly)."""
        return self.protection if self.protection is not None else max(1, self.min_count)

    @property
    def active(self) -> bool:
        return self.min_cohort > 0 or self.min_count > 0

    def fails(self, cohort_size: int, reoffenders: int) -> str:
        """The primary reason a group of this size and count is suppressed, or "" when it may be published."""
        if cohort_size < self.min_cohort:
            return "min_cohort"
        if reoffenders < self.min_count or cohort_size - reoffenders < self.min_count:
            return "min_count"
        return ""

    def describe(self) -> str:
        """The rule in words, for "About these statistics"."""
        if not self.active:
            return "No disclosure control was applied: every figure is published, however small the group."
        parts = []
        if self.min_cohort:
            parts.append(f"a group of fewer than {self.min_cohort} people released")
        if self.min_count:
            parts.append(
                f"a group in which fewer than {self.min_count} people reoffended, or fewer than "
                f"{self.min_count} did not"
            )
        return (
            f"To protect the people in small groups, the reoffending figures of {' and of '.join(parts)} are "
            f"suppressed and shown as {SHORTHAND}; the number released is still shown. Where a suppressed figure "
            "could be worked out, or narrowed down, from the published totals, tables and comparisons together, "
            "further groups are suppressed too (secondary suppression); before anything is published an audit "
            "checks that no suppressed count can be narrowed, from everything published, to a range of less than "
            f"{self.protection_width}."
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "min_cohort": self.min_cohort,
            "min_count": self.min_count,
            "protection": self.protection_width,
            "shorthand": SHORTHAND,
            "secondary_suppression": True,
        }


def suppress(
    rows: pl.DataFrame,
    rule: DisclosureRule,
    *,
    margins: Sequence[str] = (),
    by: Sequence[str] = (),
    columns: Sequence[str] = (),
) -> pl.DataFrame:
    """``rows`` (one per group, with ``cohort_size`` and ``reoffenders``) with the rule applied.

    ``by`` are the grouping columns; ``margins`` the ones whose totals are published (secondary suppression
    within each set of rows sharing the other grouping columns). ``columns`` are further columns to null
    in a suppressed row, beside :data:`OUTCOME_COLUMNS`. Adds (or replaces) the ``suppressed`` column; the
    row order is kept.
    """
    unknown = [c for c in margins if c not in by]
    if unknown:
        raise ValueError(f"margins {unknown} are not grouping columns {list(by)}")
    sizes = rows["cohort_size"].to_list()
    counts = rows["reoffenders"].to_list()
    reasons = [
        rule.fails(n, x) if rule.active and n is not None and x is not None else ""
        for n, x in zip(sizes, counts, strict=True)
    ]
    if rule.active and margins:
        keys = {c: rows[c].to_list() for c in by}
        changed = True
        while changed:
            changed = False
            for margin in margins:
                others = [c for c in by if c != margin]
                sets: dict[tuple, list[int]] = {}
                for index in range(rows.height):
                    sets.setdefault(tuple(keys[c][index] for c in others), []).append(index)
                for members in sets.values():
                    changed |= _protect(members, sizes, counts, reasons, rule)
    nulled = [c for c in dict.fromkeys((*OUTCOME_COLUMNS, *columns)) if c in rows.columns]
    hidden = pl.Series(SUPPRESSED, [reason or None for reason in reasons], dtype=pl.String)
    out = rows.with_columns(hidden)
    return out.with_columns(
        pl.when(pl.col(SUPPRESSED).is_null()).then(pl.col(c)).otherwise(None).alias(c) for c in nulled
    )


def _protect(members: list[int], sizes: list, counts: list, reasons: list[str], rule: DisclosureRule) -> bool:
    """Secondary suppression within one set of siblings; True when it suppressed anything."""
    changed = False
    while True:
        hidden = [i for i in members if reasons[i]]
        shown = [i for i in members if not reasons[i]]
        if not hidden or not shown:
            return changed
        size = sum(sizes[i] for i in hidden)
        reoffenders = sum(counts[i] for i in hidden)
        if len(hidden) >= 2 and not rule.fails(size, reoffenders):
            return changed
        smallest = min(shown, key=lambda i: (sizes[i], counts[i], i))
        reasons[smallest] = "secondary"
        changed = True


def suppressed_mask(rows: pl.DataFrame) -> list[bool]:
    """Per row: True when its outcome cells are suppressed (no ``suppressed`` column: none are)."""
    if SUPPRESSED not in rows.columns:
        return [False] * rows.height
    return [reason is not None for reason in rows[SUPPRESSED].to_list()]


def withhold(rows: pl.DataFrame, hidden: Sequence[bool], columns: Sequence[str], reason: str) -> pl.DataFrame:
    """``rows`` with ``columns`` nulled where ``hidden``, and ``reason`` in their ``suppressed`` column.

    For tables derived from suppressed groups (a change between two cohorts, one of them suppressed): the
    derived figures would disclose what the suppression withholds.
    """
    mask = pl.Series(list(hidden), dtype=pl.Boolean)
    existing = rows[SUPPRESSED] if SUPPRESSED in rows.columns else pl.Series([None] * rows.height, dtype=pl.String)
    reasons = pl.Series(SUPPRESSED, [reason if h and r is None else r for h, r in zip(mask, existing, strict=True)])
    return rows.with_columns(
        *(pl.when(mask).then(None).otherwise(pl.col(c)).alias(c) for c in columns if c in rows.columns),
        reasons.cast(pl.String),
    )
