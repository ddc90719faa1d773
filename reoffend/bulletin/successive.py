"""Successive releases: this release's disclosure control with the previous release's published figures
(docs/bulletin.md, "Disclosure control", rule 4; the hole of issue 26's review: a data correction between two
releases changed an earlier cohort's suppression pattern, and the two releases differenced to a withheld
count).

tau-ARGUS's and sdcTable's treatment of a table published again: what a reader already has stays in the
reader's hands. So, for every group (cohort x column values) the previous release published in its measure
tables (``trend.csv``, ``establishments.csv``, each ``breakdown_*.csv``):

* withheld then: withheld now, whatever its count now (:func:`carry_over`, forced like a primary);
* published then: it cannot be un-published, so secondary suppression never chooses it (``hideable`` false).
  A correction can still make it fail the rule now (a primary): it is withheld, and the audit below decides
  whether that protects it;
* the previous figures are in the model too (:func:`add_previous`), as cells of their own (``fixed``: known as
  they were published), with the previous tables' relations, and each one *tied* to the same group now
  (:meth:`reoffend.linked.LinkedTables.tie`) where a reader would take it to be the same: published then and
  its figures the same now (the revisions table says ``unchanged``), or withheld then with the same number of
  people now (nothing published says it changed). Secondary suppression and the audit then bound every
  withheld count against both releases together; a count no further suppression can protect fails the
  build (reoffend.errors.DisclosureFailure, naming the group and the previous release): nothing is written.

A tie of a withheld group is a reader's assumption, not a fact: if its counts did change (a late conviction of
someone in it), the tied figures of the two releases cannot all hold. The reader then knows that some withheld
group of that cohort changed, not which or by how much. The build then drops those assumptions
(:meth:`Carried.without_assumptions`) rather than audit an impossible publication: the guarantee is then that of
the model with only the ties that are facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..linked import COUNTS, Key, LinkedTables
from .publication import Layout, model_of
from .revisions import Previous, revisable

AS_PUBLISHED = "as the previous release published it"


def previous_key(cell_key: Key) -> Key:
    """The key of a group as the previous release published it (a cell of its own beside the group now)."""
    cohorts, pairs, variant = cell_key
    return (cohorts, pairs, f"{variant} {AS_PUBLISHED}".strip())


def previous_model(previous: Previous) -> LinkedTables:
    """The previous release's measure tables as linked tables, as a reader of its folder builds them."""
    layout = Layout([s for s in previous.layout.tables if revisable(s) and s.table in previous.tables])
    return model_of(previous.tables, layout)


@dataclass(frozen=True)
class Carried:
    """What this release carries over from the previous one: the previous model and the ties to make."""

    folder: str
    model: LinkedTables
    ties: tuple[Key, ...]  # groups of this release tied to their previous figures (module docstring)
    assumed: tuple[Key, ...]  # of those, the withheld-then groups (a reader's assumption that they did not change)

    def without_assumptions(self) -> Carried:
        return Carried(self.folder, self.model, tuple(k for k in self.ties if k not in self.assumed), ())

    def add_to(self, model: LinkedTables) -> None:
        """Add the previous figures and the ties to ``model`` (this release's tables, protected or as written)."""
        add_previous(model, self.model, self.folder, [k for k in self.ties if k in model.cells])


def carry_over(model: LinkedTables, previous: Previous) -> Carried:
    """Force and forbid in ``model`` (this release as measured, true values) what the previous release fixed,
    and the ties a reader would make (module docstring). ``model`` is changed in place."""
    before = previous_model(previous)
    ties: list[Key] = []
    assumed: list[Key] = []
    for cell_key, then in before.cells.items():
        now = model.cells.get(cell_key)
        if then.implied or now is None or now.implied or len(cell_key[0]) != 1:
            continue
        if then.withheld:
            now.withhold()  # withheld in every later release that shows it
            if now.size == then.size:
                ties.append(cell_key)
                assumed.append(cell_key)
        else:
            now.hideable = False  # published: cannot be un-published, so no secondary relies on withholding it
            if now.size == then.size and all(now.values[c] == then.values[c] for c in COUNTS):
                ties.append(cell_key)
    return Carried(previous.folder, before, tuple(ties), tuple(assumed))


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
