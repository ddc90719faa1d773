"""Successive releases: this release's disclosure control with the previous release's published figures
(docs/bulletin.md, "Disclosure control", rule 4; the hole of issue 26's review: a data correction between two
releases changed an earlier cohort's suppression pattern, and the two releases differenced to a withheld
count).

tau-ARGUS's and sdcTable's treatment of a table published again: what a reader already has stays in the
reader's hands. So, for every group (cohort x column values) the previous release published in its measure
tables (``trend.csv``, ``establishments.csv``, each ``breakdown_*.csv``):

* withheld then: withheld now, whatever its count now (:func:`carry_over`, forced like a primary);
* published then: it cannot be un-published, so secondary suppression never chooses it (``hideable`` false).
  A correction can still make it fail the rule now; then the build is refused (:func:`check_still_publishable`):
  withheld, it would tell a reader that it fails the rule (nothing else withholds a group published before), and
  its count differs from the published one only by the people who changed, so the reader has it to within the
  rule (issue 26's second review: 3 of 12 published, 2 of 11 or 2 of 12 after a correction, withheld, read back
  as 2). Published, it would fail the rule;
* the previous figures are in the model too (:func:`add_previous`), as cells of their own (``fixed``: known as
  they were published), with the previous tables' relations, and each one *tied* to the same group now
  (:meth:`reoffend.linked.LinkedTables.tie`) where a reader would take it to be the same: published then and
  its figures the same now (the revisions table says ``unchanged``), or withheld then with the same number of
  people now (nothing published says it changed). Secondary suppression and the audit then bound every
  withheld count against both releases together; a count no further suppression can protect fails the
  build (reoffend.errors.DisclosureFailure, naming the group and the previous release): nothing is written.

A tie of a withheld group is a reader's assumption, not a fact: if its counts did change (a late conviction of
someone in it), the tied figures of the two releases cannot all hold. The reader then knows that some withheld
group of that cohort changed, not which or by how much. The build then protects against the readers of
:meth:`Carried.hypotheses`: each takes one of those groups to be the one that changed and the rest unchanged (the
true state is among them when one group changed), and a count's range is the unbroken run of values some reader
allows that holds the true count (reoffend.linked.ranges_over: the readers' ranges may have gaps); when no single
change explains the figures, the readers tie none of those groups. The readers share one model's cells
(:meth:`Carried.readers`), each with its own ties.

The court lag (:func:`court_lag_difference_fails`): its rows less the previous release's rows must be no small
group, else the build leaves it out.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace

import polars as pl

from ..disclosure import DisclosureRule
from ..linked import (
    COUNTS,
    Key,
    LinkedTables,
    Protection,
    UnprotectableCell,
    components,
    describe,
    infeasible,
    protect,
)
from .publication import Layout, model_of
from .revisions import Previous

AS_PUBLISHED = "as the previous release published it"


def previous_key(cell_key: Key) -> Key:
    """The key of a group as the previous release published it (a cell of its own beside the group now)."""
    cohorts, pairs, variant = cell_key
    return (cohorts, pairs, f"{variant} {AS_PUBLISHED}".strip())


def previous_model(previous: Previous) -> LinkedTables:
    """The previous release's tables as linked tables, as a reader of its folder builds them: its measure tables
    and its comparisons' (a treated group published by a matched comparison is a group like any other)."""
    layout = Layout([s for s in previous.layout.tables if s.table in previous.tables])
    return model_of(previous.tables, layout)


@dataclass(frozen=True)
class Carried:
    """What this release carries over from the previous one: the previous release's model, the groups it
    withheld and published, and the ties a reader would make (module docstring)."""

    folder: str
    model: LinkedTables
    withheld: tuple[Key, ...]  # groups the previous release withheld: withheld now
    published: tuple[Key, ...]  # groups it published: never chosen as a secondary now
    ties: tuple[Key, ...]  # groups of this release tied to their previous figures
    assumed: tuple[Key, ...]  # of those, the withheld-then groups (a reader's assumption that they did not change)

    def without(self, dropped: Collection[Key]) -> Carried:
        """The same, with the ties of ``dropped`` not made (groups that changed)."""
        return replace(
            self,
            ties=tuple(k for k in self.ties if k not in dropped),
            assumed=tuple(k for k in self.assumed if k not in dropped),
        )

    def force(self, model: LinkedTables) -> None:
        """Withhold in ``model`` what the previous release withheld; forbid withholding what it published."""
        for cell_key in self.withheld:
            model.cells[cell_key].withhold()
        for cell_key in self.published:
            model.cells[cell_key].hideable = False

    def add_to(self, model: LinkedTables) -> None:
        """Add the previous figures and the ties to ``model`` (this release's tables, protected or as written)."""
        add_previous(model, self.model, self.folder, [k for k in self.ties if k in model.cells])

    def readers(self, model: LinkedTables, readers: Sequence[Carried]) -> list[LinkedTables]:
        """The models of ``readers`` (from :meth:`hypotheses`) over ``model``: the previous figures and the ties
        every reader makes added to ``model`` (in place), then one model per reader sharing its cells
        (:meth:`reoffend.linked.LinkedTables.sharing`) with that reader's own ties."""
        common = set(readers[0].ties).intersection(*(r.ties for r in readers[1:]))
        add_previous(model, self.model, self.folder, [k for k in self.ties if k in common and k in model.cells])
        out = [model, *(model.sharing() for _reader in readers[1:])]  # all made before any reader's own ties
        for seen, reader in zip(out, readers, strict=True):
            for cell_key in reader.ties:
                if cell_key not in common and cell_key in model.cells:
                    seen.tie(cell_key, previous_key(cell_key))
        return out

    def hypotheses(self, fresh: Callable[[], LinkedTables]) -> list[Carried]:
        """The readers to protect against (module docstring): this one alone when the two releases' figures
        admit every tie. Else, in each component of linked counts whose ties cannot all hold, each withheld
        group whose tie left out makes the rest hold is a guess of the group that changed (the true one is
        among them when one group of the component changed); where no one group does (several changed), none
        of the component's assumed ties is made. Components are worked out apart, so reader ``i`` takes the
        ``i``-th guess of every component (repeating a component's last when it has fewer), and every guess of
        every component is some reader's. ``fresh`` makes this release's model as measured."""
        model = fresh()
        self.add_to(model)
        broken = infeasible(model, [k for k in self.assumed if k in model.cells])
        if not broken:
            return [self]
        guesses: list[tuple[list[Key], list[Key]]] = []
        for group in components(model, broken):
            found = []
            for cell_key in group:
                model.untie(cell_key, previous_key(cell_key))
                if not infeasible(model, set(group) - {cell_key}):
                    found.append(cell_key)
                model.tie(cell_key, previous_key(cell_key))
            guesses.append((group, found))
        readers = []
        for turn in range(max(1, *(len(found) for _group, found in guesses))):
            left_out = set()
            for group, found in guesses:
                left_out |= {found[min(turn, len(found) - 1)]} if found else set(group)
            readers.append(self.without(left_out))
        return readers

    def differ(self, readers: Sequence[Carried]) -> set[Key]:
        """The groups whose ties differ between ``readers`` (reoffend.linked.ranges_over's ``differ``)."""
        tied = [set(reader.ties) for reader in readers]
        return set().union(*tied) - tied[0].intersection(*tied[1:]) if tied else set()


def carry_over(model: LinkedTables, previous: Previous) -> Carried:
    """What this release carries over from ``previous`` (module docstring), forced on ``model`` (this release as
    measured, true values; changed in place)."""
    before = previous_model(previous)
    withheld: list[Key] = []
    published: list[Key] = []
    ties: list[Key] = []
    assumed: list[Key] = []
    for cell_key, then in before.cells.items():
        now = model.cells.get(cell_key)
        if then.implied or now is None or now.implied or len(cell_key[0]) != 1:
            continue
        if then.withheld:
            withheld.append(cell_key)
            if now.size == then.size:
                ties.append(cell_key)
                assumed.append(cell_key)
        else:
            published.append(cell_key)
            if now.size == then.size and all(now.values[c] == then.values[c] for c in COUNTS):
                ties.append(cell_key)
    carried = Carried(previous.folder, before, tuple(withheld), tuple(published), tuple(ties), tuple(assumed))
    carried.force(model)
    return carried


class PublishedNowFails(UnprotectableCell):
    """A group the previous release published fails the rule now: neither publishing nor withholding it is safe
    (module docstring)."""


def check_still_publishable(model: LinkedTables, carried: Carried, rule: DisclosureRule) -> None:
    """Refuse (:class:`PublishedNowFails`, naming the first such group in key order) when a group the previous
    release published fails ``rule`` now (``model``: this release as measured)."""
    for cell_key in sorted(carried.published, key=repr):
        cell = model.cells[cell_key]
        reoffenders = cell.values["reoffenders"]
        if reoffenders is not None and rule.fails(cell.size, reoffenders):
            raise PublishedNowFails(
                f"{describe(cell_key)}: the previous release {carried.folder} published it, and a data correction "
                "makes it fail the disclosure rule now. Published, it would fail the rule; withheld, it would tell a "
                "reader that it fails the rule, and with the figure published before that gives its count away. "
                "Nothing was written: a head of profession must decide how to publish the correction; building "
                "without --previous would publish the same disclosure (docs/bulletin.md, 'Successive releases')",
                cell_key,
                "reoffenders",
            )


def protect_series(
    raw: Mapping[str, pl.DataFrame], layout: Layout, protection: Protection, previous: Previous
) -> tuple[LinkedTables, list[Carried]]:
    """This release's linked tables (``raw`` as measured, as ``layout`` declares them) after primary and
    secondary suppression against the previous release (module docstring): the model of the first reader (its
    cells are every reader's) and the readers. Raises reoffend.linked.UnprotectableCell naming a count that no
    further suppression can protect."""
    measured = model_of(raw, layout)
    carried = carry_over(measured, previous)  # marks cells withheld or not hideable; their values stay as measured
    check_still_publishable(measured, carried, protection.rule)

    def fresh() -> LinkedTables:
        measured = model_of(raw, layout)
        carried.force(measured)
        return measured

    readers = carried.hypotheses(fresh)
    models = carried.readers(fresh(), readers)
    protect(models[0], protection, models[1:], carried.differ(readers))
    return models[0], readers


def add_previous(model: LinkedTables, before: LinkedTables, folder: str, ties: Sequence[Key]) -> None:
    """The previous release's cells (``fixed``, under :func:`previous_key`) and relations in ``model``, and each
    group of ``ties`` tied to its previous figures."""
    table = f"previous release {folder}"
    for cell_key, cell in before.cells.items():
        new_key = previous_key(cell_key)
        if cell.implied:
            model.implied(new_key, cell.size)
        else:
            shown = {c: cell.values[c] for c in cell.shown}
            model.add(new_key, cell.size, shown, table=table, withheld=cell.withheld, hideable=False)
        model.cells[new_key].fixed = True
    for relation in before.relations:
        model.partition(previous_key(relation.total), [previous_key(p) for p in relation.parts])
    for cell_key in ties:
        model.tie(cell_key, previous_key(cell_key))


# ------------------------------------------------------------------------------------------- the court lag
def court_lag_difference_fails(
    lag: pl.DataFrame, previous: pl.DataFrame, waiting_period: int, rule: DisclosureRule
) -> list[int]:
    """The waiting periods (other than ``waiting_period``, the configured one) at which this release's court-lag
    row less the previous release's (``previous``, as read from its folder) is a group that fails the rule.

    The difference of the two rows at one waiting period is the cohorts that joined the court lag (each of
    which passes the rule on its own at every waiting period, reoffend/bulletin/stats.py) plus the change of
    the cohorts both sum (late convictions, corrections): with no cohort joined it is the correction alone, a
    handful of people. It fails when it is a change of some reoffenders but fewer than ``min_count`` of them,
    or fewer than ``min_count`` people who did not reoffend, or of fewer than ``min_cohort`` people. At the
    configured waiting period the row is the sum of the trend's cohorts, whose revisions are published anyway.
    A row either release withheld is not compared."""
    if not rule.active:
        return []
    before = {}
    for row in previous.iter_rows(named=True):
        period, size, reoffenders = (
            _whole(row.get(c)) for c in ("waiting_period_months", "cohort_size", "reoffenders")
        )
        if period is not None and size is not None and reoffenders is not None:
            before[period] = (size, reoffenders)
    failing = []
    for row in lag.iter_rows(named=True):
        period = row["waiting_period_months"]
        if period == waiting_period or period not in before or row["reoffenders"] is None:
            continue
        size, reoffenders = row["cohort_size"] - before[period][0], row["reoffenders"] - before[period][1]
        if (size, reoffenders) != (0, 0) and (size <= 0 or reoffenders < 0 or rule.fails(size, reoffenders)):
            failing.append(period)
    return failing


def _whole(value: object) -> int | None:
    """A cell of a previous table as a whole number, None when empty or not one (a table is data)."""
    try:
        number = float(str(value))
    except ValueError:
        return None
    return int(number) if number.is_integer() else None
