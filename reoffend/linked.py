"""Disclosure control over a whole publication: linked tables, secondary suppression and the audit.

The design rule is shared/design/publication.md, rule 1 ("No recoverable cell"); docs/bulletin.md,
"Disclosure control", states it for a head of profession. This module is the model and its arithmetic, with
no knowledge of the bulletin's tables (reoffend/bulletin/publication.py maps them onto it).

**The model.** Every figure a publication states about a group of people is a *cell*: the group (cohorts,
column values, and a variant such as "the treated people who were matched"), its size, and its counts
(:data:`COUNTS`: reoffenders, reconviction events, reoffences). A cell is *shown* (its counts are in a
table), *withheld* (a table shows it as ``[c]``) or *implied* (no table has it, but published figures
determine it: the complement of a subset, the remainder of a total). Cells are linked by *relations*, each a
total equal to the sum of its parts (a cohort and its establishments, a pooled row and its cohorts, a group
and a subset of it with the subset's complement). The same group published by two tables is one cell.

**The attacker** (tau-ARGUS's and sdcTable's model of linked tables): knows every shown count, every size
(sizes are published), every relation, and that counts are whole numbers with ``0 <= reoffenders <= size``
and ``reoffenders <= reconviction events <= reoffences`` in each cell. For each withheld or implied count
the audit finds the least and greatest value consistent with all of that (:func:`audit`: linear
programming with HiGHS through scipy, checked for whole-number optima, mixed-integer where the linear
optimum is fractional).

**The protection rule** (:class:`Protection`; a *sliding protection range* as in tau-ARGUS and sdcTable's
SPL): the range of every withheld count must be at least ``width`` wide (for reoffenders, at most the size:
a group of 2 needs the whole range 0..2). With ``width`` equal to the rule's ``min_count`` (the default), an
attacker's range always holds a value that would pass the count rule, so a reader can never conclude that a
withheld group had fewer than ``min_count`` reoffenders, or non-reoffenders. An implied count narrower than
that must lie wholly in values that pass the primary rule (a complement of 50 people with exactly 25
reoffenders is a safe derived figure; one of 2 people is not). The rule needs no withheld value, so anyone
can check a publication from its published files alone (``reoffend disclosure-check``).

**Protection** (:func:`protect`): primary suppression of every shown cell that fails the rule
(reoffend.disclosure.DisclosureRule), the classic secondary step within each relation (at least two
withheld parts whose union passes the rule), then the audit, suppressing one more cell for each count that
still fails (the smallest shown sibling, else the smallest part, else the total) until every range passes.
Withholding a cell only removes a constraint from the attacker's problem, so a range that passed keeps
passing: the loop ends, and only the counts that failed are solved again.

**Successive releases** (reoffend/bulletin/successive.py): an earlier release's figures are cells too,
``fixed`` (neither withheld nor published by this release), tied (:meth:`LinkedTables.tie`) to the same group
now where a reader takes it to be unchanged; a reader's guesses are further models sharing the cells
(:meth:`LinkedTables.sharing`), and a count's range is then the union over them (:func:`ranges_over`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .disclosure import DisclosureRule

COUNTS = ("reoffenders", "reconviction_events", "reoffences")
# (cohorts, ((column, value or values), ...) sorted, variant): who a cell is about, whichever table shows it
Value = str | tuple[str, ...] | None
Key = tuple[tuple[str, ...], tuple[tuple[str, Value], ...], str]
INFINITY = math.inf
CAP = 1e9  # the solver's stand-in for "no upper limit" (reoffences and events have none)
SPREAD_SOLVES = 8  # pseudo-random objectives solved per component before any count's own bounds ...
SPREAD_FROM = 12  # ... of more unknown counts than this
SOLVER = "HiGHS (scipy.optimize.linprog, and milp where a linear optimum is fractional)"


class InconsistentTables(ValueError):
    """The published figures contradict each other (a total that is not the sum of its parts)."""


class UnprotectableCell(ValueError):
    """No further suppression can protect a cell (every figure linked to it is already withheld)."""

    def __init__(self, message: str, cell: Key | None = None, count: str = "") -> None:
        super().__init__(message)
        self.cell = cell
        self.count = count


def key(
    cohorts: str | Sequence[str], filters: Mapping[str, Any] | Iterable[tuple[str, Any]] = (), variant: str = ""
) -> Key:
    """The canonical key of the group of people in ``cohorts`` whose columns have the ``filters`` values. A
    filter's value may be several values (a tuple: any of them); one value in a tuple is that value."""
    items = filters.items() if isinstance(filters, Mapping) else filters
    pairs = tuple(sorted(((str(c), _value(v)) for c, v in items), key=lambda pair: pair[0]))
    return ((cohorts,) if isinstance(cohorts, str) else tuple(cohorts), pairs, variant)


def _value(value: Any) -> Value:
    if value is None:
        return None
    if isinstance(value, tuple | list):
        values = tuple(dict.fromkeys(str(v) for v in value))
        return values[0] if len(values) == 1 else values
    return str(value)


def describe(cell_key: Key) -> str:
    """A cell's key in words, for messages: ``2023Q4, establishment EST046``."""
    cohorts, filters, variant = cell_key
    words = [", ".join(cohorts) if len(cohorts) <= 3 else f"{cohorts[0]} to {cohorts[-1]} ({len(cohorts)} cohorts)"]
    words += [
        f"{column} {'(missing)' if value is None else ' or '.join(value) if isinstance(value, tuple) else value}"
        for column, value in filters
    ]
    if variant:
        words.append(variant)
    return ", ".join(words)


@dataclass
class Cell:
    """One group of people the publication states (or implies) something about."""

    key: Key
    size: int
    values: dict[str, int | None]  # each count's value where known to the builder (true, or published)
    shown: set[str] = field(default_factory=set)  # the counts some table publishes
    withheld: bool = False  # some table shows it as [c]; none of its counts is then published
    tables: set[str] = field(default_factory=set)  # the tables whose rows it is ("" for none: implied)
    hideable: bool = True
    # a total over releases of a series (a pooled row): withheld with any of its parts, never protected by
    # withholding a part, so that each part's fate does not depend on which release shows the total
    fragile: bool = False
    # published (or withheld) by an earlier release of the series and known to a reader as it was then: this
    # release can neither withhold nor publish it (docs/bulletin.md, "Successive releases")
    fixed: bool = False

    @property
    def implied(self) -> bool:
        return not self.tables

    def known(self, count: str) -> int | None:
        """The count as the attacker knows it: published (in any table), else None."""
        return self.values.get(count) if count in self.shown else None

    def withhold(self) -> None:
        """Withhold the cell in every table that shows it."""
        self.withheld = True
        self.shown.clear()

    @property
    def label(self) -> str:
        return describe(self.key)


@dataclass(frozen=True)
class Relation:
    """``total`` = the sum of ``parts``, for every count (the parts are disjoint groups making up the total)."""

    total: Key
    parts: tuple[Key, ...]


@dataclass(frozen=True)
class Protection:
    """The disclosure rule with its sliding protection width (module docstring)."""

    rule: DisclosureRule
    width: int

    @classmethod
    def of(cls, rule: DisclosureRule) -> Protection:
        return cls(rule, rule.protection_width)

    def required(self, cell: Cell, count: str) -> int:
        return min(self.width, cell.size) if count == "reoffenders" else self.width

    def as_dict(self) -> dict[str, Any]:
        return {
            "standard": "sliding protection range (tau-ARGUS; sdcTable SPL) over linked tables",
            "protection_width": self.width,
            "min_cohort": self.rule.min_cohort,
            "min_count": self.rule.min_count,
        }


@dataclass(frozen=True)
class Range:
    """What an attacker can derive of one withheld or implied count."""

    cell: Key
    count: str
    low: float
    high: float
    required: int
    passes: bool
    kind: str  # "withheld", "implied" or "published" (a shown group that fails the primary rule)

    @property
    def withheld(self) -> bool:
        return self.kind == "withheld"

    @property
    def width(self) -> float:
        return self.high - self.low

    @property
    def label(self) -> str:
        return describe(self.cell)

    def describe(self) -> str:
        if self.kind == "published":
            return (
                f"{describe(self.cell)}: {self.count.replace('_', ' ')} is published ({self.low:,.0f}) although the "
                "group fails the disclosure rule"
            )
        high = "no upper limit" if self.high == INFINITY else f"{self.high:,.0f}"
        kind = "withheld" if self.withheld else "implied by the published figures"
        return (
            f"{describe(self.cell)}: {self.count.replace('_', ' ')} ({kind}) can be worked out to lie in "
            f"{self.low:,.0f} to {high}, a range narrower than the {self.required} the rule requires"
        )


@dataclass
class LinkedTables:
    """The publication as linked tables: cells and the relations between them."""

    cells: dict[Key, Cell] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)
    _by_cell: dict[Key, list[Relation]] = field(default_factory=dict, repr=False)  # relations_of's index

    # ------------------------------------------------------------------------------------------ building
    def add(
        self,
        cell_key: Key,
        size: int,
        values: Mapping[str, int | None],
        *,
        table: str | None,
        withheld: bool = False,
        hideable: bool = True,
    ) -> Key:
        """Register a cell (or one more table showing it). ``values`` maps the counts the table publishes
        (None where the table withholds it); a count absent from ``values`` is not in that table."""
        cell = self.cells.get(cell_key)
        if cell is None:
            cell = self.cells[cell_key] = Cell(cell_key, int(size), {c: None for c in COUNTS}, hideable=hideable)
        elif cell.size != int(size):
            raise InconsistentTables(
                f"{describe(cell_key)}: {sorted(cell.tables)} give {cell.size:,} people and {table} gives {size:,}"
            )
        cell.hideable = cell.hideable and hideable
        if table is not None:
            cell.tables.add(table)
            cell.withheld = cell.withheld or withheld
            for count, value in values.items():
                if value is None:
                    continue
                value = int(value)
                if cell.values[count] is not None and cell.values[count] != value:
                    raise InconsistentTables(
                        f"{describe(cell_key)}: {count} is {cell.values[count]:,} in one table and {value:,} in {table}"
                    )
                cell.values[count] = value
                if not withheld:
                    cell.shown.add(count)
        return cell_key

    def implied(self, cell_key: Key, size: int) -> Key:
        """A cell no table shows (its counts unknown to a reader), e.g. the people a subset leaves out."""
        if cell_key not in self.cells:
            self.cells[cell_key] = Cell(cell_key, int(size), {c: None for c in COUNTS}, hideable=False)
        return cell_key

    def partition(self, total: Key, parts: Sequence[Key]) -> None:
        """``total`` is made of ``parts`` (disjoint). Where the parts' sizes fall short of the total's, the rest
        is an implied remainder cell (its true counts known where the total's and the parts' are)."""
        parts = tuple(dict.fromkeys(parts))
        if not parts:
            return
        short = self.cells[total].size - sum(self.cells[p].size for p in parts)
        if short < 0:
            raise InconsistentTables(
                f"{describe(total)}: its parts hold {sum(self.cells[p].size for p in parts):,} people, more than its "
                f"{self.cells[total].size:,}"
            )
        if short:
            cohorts, filters, variant = total
            rest = self.implied((cohorts, filters, f"{variant} rest of {describe(parts[0])}".strip()), short)
            self._true_values(rest, total, parts)
            parts = (*parts, rest)
        self._relate(Relation(total, parts))

    def subset(self, whole: Key, part: Key) -> None:
        """``part`` is a subgroup of ``whole``: the people of ``whole`` not in ``part`` are an implied cell."""
        if whole == part:
            return
        cohorts, filters, variant = whole
        rest = self.implied(
            (cohorts, filters, f"{variant} not {describe(part)}".strip()),
            self.cells[whole].size - self.cells[part].size,
        )
        if self.cells[rest].size < 0:
            raise InconsistentTables(f"{describe(part)} is larger than {describe(whole)}, which holds it")
        self._true_values(rest, whole, (part,))
        self._relate(Relation(whole, (part, rest)))

    def tie(self, cell_key: Key, other: Key) -> None:
        """``cell_key`` and ``other`` are the same people with the same counts (a group this release shows and
        the same group as an earlier release published it, unchanged since)."""
        if self.cells[cell_key].size != self.cells[other].size:
            raise InconsistentTables(f"{describe(cell_key)} and {describe(other)} differ in size: not one group")
        self._relate(Relation(cell_key, (other,)))

    def untie(self, cell_key: Key, other: Key) -> None:
        """Undo :meth:`tie` (a reader who takes the group to have changed)."""
        relation = Relation(cell_key, (other,))
        self.relations.remove(relation)
        for k in (cell_key, other):
            self._by_cell[k].remove(relation)

    def sharing(self) -> LinkedTables:
        """Another model of the same cells (shared: a cell withheld in one is withheld in both) with a copy of
        the relations, to which a reader's own relations (ties) can be added."""
        return LinkedTables(self.cells, list(self.relations), {k: list(v) for k, v in self._by_cell.items()})

    def _relate(self, relation: Relation) -> None:
        self.relations.append(relation)
        for k in dict.fromkeys((relation.total, *relation.parts)):
            self._by_cell.setdefault(k, []).append(relation)

    def _true_values(self, rest: Key, total: Key, parts: Sequence[Key]) -> None:
        """The remainder's counts where the builder knows the total's and every part's (for primary checks)."""
        for count in COUNTS:
            values = [self.cells[k].values[count] for k in (total, *parts)]
            known = [v for v in values if v is not None]
            if len(known) == len(values):
                self.cells[rest].values[count] = known[0] - sum(known[1:])

    # ------------------------------------------------------------------------------------------ queries
    def relations_of(self, cell_key: Key) -> list[Relation]:
        """The relations ``cell_key`` is the total or a part of, in the order they were made."""
        return self._by_cell.get(cell_key, [])

    def targets(self) -> list[tuple[Key, str]]:
        """Every count the audit must bound: each count of a withheld cell, and of an implied one."""
        out = []
        for cell in self.cells.values():
            if cell.withheld or cell.implied:
                out += [(cell.key, count) for count in COUNTS]
        return out


# ------------------------------------------------------------------------------------------------ audit
def _component(model: LinkedTables, start: Key) -> tuple[list[Key], list[Relation]]:
    """The cells and relations linked to ``start`` through unknown counts: a cell whose every count is
    published is a constant in each relation it is in, and links nothing (a cohort's published total does
    not tie its establishments to its breakdown)."""
    seen = {start}
    queue = [start]
    relations: dict[int, Relation] = {}
    while queue:
        current = queue.pop()
        for relation in model.relations_of(current):
            if id(relation) in relations:
                continue
            relations[id(relation)] = relation
            for k in (relation.total, *relation.parts):
                if k not in seen:
                    seen.add(k)
                    if any(model.cells[k].known(c) is None for c in COUNTS):
                        queue.append(k)
    return sorted(seen), list(relations.values())


class _Problem:
    """The attacker's linear problem for one component: variables are the unknown counts."""

    def __init__(self, model: LinkedTables, cells: Sequence[Key], relations: Sequence[Relation]) -> None:
        import numpy as np

        self.index: dict[tuple[Key, str], int] = {}
        lower: list[float] = []
        upper: list[float] = []
        for k in cells:
            cell = model.cells[k]
            for count in COUNTS:
                if cell.known(count) is None:
                    self.index[(k, count)] = len(lower)
                    lower.append(0.0)
                    upper.append(float(cell.size) if count == "reoffenders" else INFINITY)
        n = len(lower)
        equalities: list[tuple[dict[int, float], float]] = []
        for relation in relations:
            for count in COUNTS:
                row: dict[int, float] = {}
                constant = 0.0
                for k, sign in ((relation.total, -1.0), *((p, 1.0) for p in relation.parts)):
                    value = model.cells[k].known(count)
                    if value is None:
                        row[self.index[(k, count)]] = row.get(self.index[(k, count)], 0.0) + sign
                    else:
                        constant += sign * value
                if row:  # a relation with every count published is check_consistent's
                    equalities.append((row, -constant))
        inequalities: list[tuple[dict[int, float], float]] = []  # row . x <= b
        for k in cells:
            cell = model.cells[k]
            for smaller, larger in (("reoffenders", "reconviction_events"), ("reconviction_events", "reoffences")):
                row = {}
                bound = 0.0
                for count, sign in ((smaller, 1.0), (larger, -1.0)):
                    value = cell.known(count)
                    if value is None:
                        row[self.index[(k, count)]] = sign
                    else:
                        bound -= sign * value
                if row:
                    inequalities.append((row, bound))
        self.n = n
        self.lower = np.array(lower)
        self.upper = np.array(upper)
        # counts without a natural upper limit get a far one, so that every solve returns a solution: a value
        # that reaches it stands for "no upper limit" (a reader cannot bound it either)
        self.capped = np.minimum(self.upper, CAP)
        # the least and greatest value each variable took in the solutions found so far
        self.seen_low = np.full(n, np.inf)
        self.seen_high = np.full(n, -np.inf)
        self.a_eq, self.b_eq = self._matrix(equalities, n)
        self.a_ub, self.b_ub = self._matrix(inequalities, n)

    @staticmethod
    def _matrix(rows: Sequence[tuple[dict[int, float], float]], n: int):
        import numpy as np

        if not rows:
            return None, None
        from scipy.sparse import csr_array

        data, row_index, column_index = [], [], []
        for i, (row, _b) in enumerate(rows):
            for j, value in row.items():
                data.append(value)
                row_index.append(i)
                column_index.append(j)
        matrix = csr_array((data, (row_index, column_index)), shape=(len(rows), n))
        return matrix, np.array([b for _row, b in rows])

    def spread(self, solves: int = SPREAD_SOLVES) -> None:
        """Solve with a few fixed pseudo-random objectives, to find solutions that take many counts to both
        ends of their ranges at once (each solution found bounds every count's range from inside)."""
        import numpy as np

        if self.n <= SPREAD_FROM:  # a few counts: solving for each one's bounds costs less
            return
        rng = np.random.default_rng(20261207)  # fixed: the same publication is audited the same way
        for _ in range(solves):
            self._solve(rng.uniform(-1.0, 1.0, self.n))

    def _solve(self, objective):
        """A solution minimising ``objective`` (its witnesses recorded), or None when fractional."""
        import numpy as np
        from scipy.optimize import linprog

        result = linprog(
            objective,
            A_ub=self.a_ub,
            b_ub=self.b_ub,
            A_eq=self.a_eq,
            b_eq=self.b_eq,
            bounds=np.column_stack([self.lower, self.capped]),
            method="highs",
        )
        if result.status == 2:
            raise InconsistentTables("the published figures admit no whole-number solution")
        if result.status != 0:
            raise RuntimeError(f"the disclosure audit's solver failed: {result.message}")
        if np.all(np.abs(result.x - np.round(result.x)) < 1e-7):
            self._seen(np.round(result.x))
            return result
        return None

    def span(self, variable: int) -> float:
        """How far apart the values ``variable`` took in the solutions found so far are (minus infinity before any:
        no solution yet shows any width, not even the 0 a count of a group of no one needs)."""
        if self.seen_high[variable] < self.seen_low[variable]:
            return -INFINITY
        return float(self.seen_high[variable] - self.seen_low[variable])

    def _seen(self, solution) -> None:
        import numpy as np

        self.seen_low = np.minimum(self.seen_low, solution)
        self.seen_high = np.maximum(self.seen_high, solution)

    def bound(self, variable: int, sense: int) -> float:
        """The least (``sense`` 1) or greatest (``sense`` -1) value of ``variable`` over whole-number solutions."""
        import numpy as np

        objective = np.zeros(self.n)
        objective[variable] = sense
        result = self._solve(objective)
        value = float(round(result.fun * sense)) if result is not None else self._integer_bound(objective, sense)
        return _finite(value)

    def _integer_bound(self, objective, sense: int) -> float:
        import numpy as np
        from scipy.optimize import Bounds, LinearConstraint, milp

        constraints = []
        if self.a_eq is not None:
            constraints.append(LinearConstraint(self.a_eq, self.b_eq, self.b_eq))
        if self.a_ub is not None:
            constraints.append(LinearConstraint(self.a_ub, -np.inf, self.b_ub))
        result = milp(
            objective,
            constraints=constraints,
            integrality=np.ones(self.n),
            bounds=Bounds(self.lower, self.capped),
        )
        if result.status == 0:
            self._seen(np.round(result.x))
            return float(round(result.fun * sense))
        if result.status == 2:  # the linear relaxation has solutions, none of them in whole numbers
            raise InconsistentTables("the published figures admit no whole-number solution")
        raise RuntimeError(f"the disclosure audit's solver failed: {result.message}")

    def check_whole_numbers(self) -> None:
        """Raise :class:`InconsistentTables` unless the figures admit a solution in whole numbers: a linear
        solution alone may be fractional only (an odd cycle of ties, a + b = b + c = a + c = 1)."""
        import numpy as np

        if self._solve(np.zeros(self.n)) is None:
            self._integer_bound(np.zeros(self.n), 1)


def ranges(
    model: LinkedTables,
    targets: Sequence[tuple[Key, str]],
    protection: Protection,
    *,
    exact: bool = False,
    spread: bool = True,
    two_parts: bool = True,
) -> list[Range]:
    """The attacker's range of each target count, judged against ``protection``.

    Every solution the solver finds is a whole-number publication consistent with everything shown, so the
    least and greatest value each count takes over the solutions found so far lie inside its range. A
    count whose values found so far already span the required width passes without solving for its own
    bounds (its reported range is then the span found, narrower than or equal to the true one); the others
    are solved for exactly. Most counts are settled by the solutions found for others. ``exact`` solves for
    every count's own bounds. ``two_parts``: a total of two parts is bounded directly (:func:`_two_parts`, its
    whole range where the solver may report the span found); :func:`ranges_over` asks it only of an audit with
    no other readers, where a passing range's ends reach nothing (only whether it passes, and a failing range,
    which both work out exactly), while the readers' union (:func:`_union`) reads every range's ends.
    """
    out: list[Range] = []
    problems: dict[Key, _Problem | dict[tuple[Key, str], tuple[float, float]]] = {}
    components: dict[Key, Key] = {}
    for cell_key, count in targets:
        cell = model.cells[cell_key]
        if cell.known(count) is not None:  # withheld by one table's row but shown by another: not secret
            continue
        if cell_key not in components:
            cells, relations = _component(model, cell_key)
            components[cell_key] = cell_key
            for k in cells:
                if any(model.cells[k].known(c) is None for c in COUNTS):
                    components[k] = cell_key
            closed = None if exact else _one_partition(model, relations)
            if closed is None and two_parts and not exact:
                closed = _two_parts(model, relations)
            if closed is not None:
                problems[cell_key] = closed
            else:
                problems[cell_key] = solver = _Problem(model, cells, relations)
                if spread and not exact:
                    solver.spread()
        required = protection.required(cell, count)
        problem = problems[components[cell_key]]
        if isinstance(problem, dict):
            low, high = problem[(cell_key, count)]
        else:
            low, high = _bounds(problem, problem.index[(cell_key, count)], required, exact)
        passes = high - low >= required
        if not passes and not cell.withheld:
            passes = _implied_is_safe(cell, count, low, high, protection.rule)
        out.append(Range(cell_key, count, low, high, required, passes, "withheld" if cell.withheld else "implied"))
    return out


def components(model: LinkedTables, cell_keys: Iterable[Key]) -> list[list[Key]]:
    """``cell_keys`` grouped by the component of linked unknown counts each is in (:func:`_component`): groups
    whose ranges are worked out apart."""
    wanted = set(cell_keys)
    out: list[list[Key]] = []
    done: set[Key] = set()
    for cell_key in sorted(wanted):
        if cell_key in done:
            continue
        cells, _relations = _component(model, cell_key)
        members = sorted(wanted.intersection(cells) | {cell_key})
        done.update(cells)
        done.update(members)
        out.append(members)
    return out


def linked_cells(model: LinkedTables, cell_keys: Iterable[Key]) -> set[Key]:
    """Every cell in the components of ``cell_keys`` (:func:`_component`)."""
    out: set[Key] = set()
    for cell_key in cell_keys:
        if cell_key not in out:
            out.update(_component(model, cell_key)[0])
    return out


def infeasible(model: LinkedTables, cell_keys: Iterable[Key]) -> set[Key]:
    """Those of ``cell_keys`` whose component's published figures admit no solution in whole numbers (a reader's
    assumption, a tie of two releases' figures, that does not hold)."""
    wanted = set(cell_keys)
    out: set[Key] = set()
    done: set[Key] = set()
    for cell_key in sorted(wanted):
        if cell_key in done:
            continue
        cells, relations = _component(model, cell_key)
        members = wanted.intersection(cells) | {cell_key}
        done.update(cells)
        problem = _Problem(model, cells, relations)
        if not problem.n:
            continue
        try:
            problem.check_whole_numbers()
        except InconsistentTables:
            out.update(members)
    return out


def _bounds(problem: _Problem, variable: int, required: int, exact: bool) -> tuple[float, float]:
    """A count's range from the linear program: the span of the solutions found so far when it is wide enough
    (and ``exact`` is not asked), else its greatest value solved for, and its least unless the least value
    seen already leaves the required width (and was not only seen at the stand-in for "no upper limit")."""
    if not exact and problem.span(variable) >= required:
        return _finite(problem.seen_low[variable]), _finite(problem.seen_high[variable])
    high = problem.bound(variable, -1)
    seen_low = _finite(problem.seen_low[variable])
    settled = seen_low != INFINITY and high - seen_low >= required
    return (seen_low if settled and not exact else problem.bound(variable, 1)), high


def _one_partition(
    model: LinkedTables, relations: Sequence[Relation]
) -> dict[tuple[Key, str], tuple[float, float]] | None:
    """The ranges of a component that is one total, every count published, split into parts whose counts are
    each wholly published or wholly withheld (a cohort and its establishments): worked out directly, with the
    same answer as the linear program (tests/test_linked.py checks them against each other). None for any
    other component.

    With S the total less the published parts (per count), N the withheld parts and n their sizes, for a
    withheld part i of two or more: reoffenders lie in [max(0, S_R - sum of the others' n), min(n_i, S_R)];
    events and reoffences reach down to that least number of reoffenders, and up to S less the least the
    others can hold, max(0, S_R - n_i) (each of the others has at least its reoffenders, and no more is
    forced). One withheld part alone is its S exactly.
    """
    if len(relations) != 1:
        return None
    (relation,) = relations
    total = model.cells[relation.total]
    if any(total.known(c) is None for c in COUNTS):
        return None
    rest = {c: float(total.known(c)) for c in COUNTS}  # type: ignore[arg-type]
    unknown: list[Cell] = []
    for k in relation.parts:
        part = model.cells[k]
        known = [part.known(c) for c in COUNTS]
        if all(v is not None for v in known):
            for c, v in zip(COUNTS, known, strict=True):
                rest[c] -= v  # type: ignore[operator]
        elif all(v is None for v in known):
            unknown.append(part)
        else:
            return None  # some counts of a part published, others not: the linear program
    if not unknown:
        return None
    sizes = sum(p.size for p in unknown)
    s_r, s_e, s_o = rest["reoffenders"], rest["reconviction_events"], rest["reoffences"]
    if not (0 <= s_r <= sizes and s_r <= s_e <= s_o):
        return None  # inconsistent: let the linear program say so
    out: dict[tuple[Key, str], tuple[float, float]] = {}
    for part in unknown:
        if len(unknown) == 1:
            out.update({(part.key, c): (rest[c], rest[c]) for c in COUNTS})
            continue
        least = max(0.0, s_r - (sizes - part.size))
        others_least = max(0.0, s_r - part.size)
        out[(part.key, "reoffenders")] = (least, min(float(part.size), s_r))
        out[(part.key, "reconviction_events")] = (least, s_e - others_least)
        out[(part.key, "reoffences")] = (least, s_o - others_least)
    return out


# a part's count as a reader sees it, given the total: a published constant, or sign * t + constant where t is
# the unknown part-a count of the same name (None for a constant)
_Term = tuple[int, str | None, float]


def _two_parts(model: LinkedTables, relations: Sequence[Relation]) -> dict[tuple[Key, str], tuple[float, float]] | None:
    """The ranges of a component that is one total, every count published, made of two parts with any of their
    counts published (a comparison's group and the rest of it: the subset a baseline comparison shows with its
    reoffenders alone), worked out directly with the linear program's answer (tests/test_linked.py checks
    them against each other). None for any other component, or published figures that admit no solution.

    A count neither part publishes is ``t`` in part a and ``total - t`` in part b; one part's published count
    fixes the other's. Each part's constraints (``0 <= reoffenders <= size``, ``reoffenders <= events <=
    reoffences``, every count at least 0) then bound one ``t`` or the difference of two, with the same sign,
    so they are difference constraints: a count's least and greatest values are shortest paths in their graph
    (Floyd and Warshall over at most three unknowns), whole numbers, and a negative cycle is no solution.
    """
    if len(relations) != 1:
        return None
    (relation,) = relations
    if len(set(relation.parts)) != 2 or relation.total in relation.parts:
        return None
    total = model.cells[relation.total]
    if any(total.known(c) is None for c in COUNTS):
        return None
    first, second = (model.cells[k] for k in relation.parts)
    terms: dict[Key, dict[str, _Term]] = {first.key: {}, second.key: {}}
    for count in COUNTS:
        whole, a, b = float(total.known(count)), first.known(count), second.known(count)  # type: ignore[arg-type]
        if a is not None and b is not None and a + b != whole:
            return None  # inconsistent: let the linear program say so
        terms[first.key][count] = (
            (0, None, float(a)) if a is not None else ((0, None, whole - b) if b is not None else (1, count, 0.0))
        )
        terms[second.key][count] = (
            (0, None, float(b)) if b is not None else ((0, None, whole - a) if a is not None else (-1, count, whole))
        )
    nodes = ["", *(c for c in COUNTS if terms[first.key][c][1] is not None)]  # "" is the zero node
    distance = {(u, v): 0.0 if u == v else INFINITY for u in nodes for v in nodes}

    def at_most(smaller: _Term, larger: _Term) -> bool:
        """Record ``smaller <= larger`` as an edge (x_v - x_u <= w: u to v, weight w); False if it cannot hold."""
        (s1, x, c1), (s2, y, c2) = smaller, larger
        weight = c2 - c1
        if x is None and y is None:
            return weight >= 0
        if x is not None and y is not None and s1 != s2:
            raise AssertionError("a part's counts share one sign")
        if x is None:  # c1 <= s2 * y + c2: -y <= w (y to zero) or y >= -w
            edge = (y, "") if s2 == 1 else ("", y)
        elif y is None:  # s1 * x + c1 <= c2
            edge = ("", x) if s1 == 1 else (x, "")
        else:  # s * (x - y) <= w
            edge = (y, x) if s1 == 1 else (x, y)
        if edge[0] == edge[1]:
            return weight >= 0
        distance[edge] = min(distance[edge], weight)  # type: ignore[index]
        return True

    for part in (first, second):
        r, e, o = (terms[part.key][c] for c in COUNTS)
        zero: _Term = (0, None, 0.0)
        checks = [(zero, r), (zero, e), (zero, o), (r, (0, None, float(part.size))), (r, e), (e, o)]
        if not all(at_most(smaller, larger) for smaller, larger in checks):
            return None
    for k in nodes:
        for u in nodes:
            for v in nodes:
                distance[(u, v)] = min(distance[(u, v)], distance[(u, k)] + distance[(k, v)])
    if any(distance[(u, u)] < 0 for u in nodes):
        return None  # no solution: let the linear program say so
    out: dict[tuple[Key, str], tuple[float, float]] = {}
    for part in (first, second):
        for count in COUNTS:
            if part.known(count) is not None:
                continue
            sign, variable, constant = terms[part.key][count]
            if variable is None:
                out[(part.key, count)] = (constant, constant)
                continue
            least, most = -distance[(variable, "")], distance[("", variable)]
            low, high = (least, most) if sign == 1 else (-most, -least)
            out[(part.key, count)] = (_finite(low + constant), _finite(high + constant))
    return out


def _finite(value: float) -> float:
    """A value of a solution as a plain float, the solver's stand-in for no upper limit as infinity."""
    return INFINITY if value >= CAP - 0.5 else float(value)


def _implied_is_safe(cell: Cell, count: str, low: float, high: float, rule: DisclosureRule) -> bool:
    """A narrow implied range is safe when every value in it passes the primary rule (a derived figure of a
    group that could itself be published)."""
    if cell.size < rule.min_cohort:
        return False
    if count != "reoffenders":
        return True  # the group is large enough; its reoffenders are judged on their own range
    return low >= rule.min_count and high <= cell.size - rule.min_count


@dataclass(frozen=True)
class AuditReport:
    """The audit of a publication: every range it derived, and whether each meets the rule."""

    protection: Protection
    ranges: tuple[Range, ...]
    withheld_cells: int
    implied_cells: int

    @property
    def failures(self) -> list[Range]:
        return [r for r in self.ranges if not r.passes]

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> dict[str, Any]:
        """For the manifest: what was checked, and how (no withheld value, nor which rule withheld a cell)."""
        return {
            **self.protection.as_dict(),
            "solver": SOLVER,
            "withheld_cells": self.withheld_cells,
            "implied_cells": self.implied_cells,
            "ranges_checked": len(self.ranges),
            "failures": len(self.failures),
            "passed": self.passed,
        }


def check_consistent(model: LinkedTables) -> None:
    """Raise :class:`InconsistentTables` for a relation whose published figures do not add up."""
    for relation in model.relations:
        for count in COUNTS:
            values = [model.cells[k].known(count) for k in (relation.total, *relation.parts)]
            if None not in values and values[0] != sum(values[1:]):  # type: ignore[arg-type]
                raise InconsistentTables(
                    f"{describe(relation.total)}: the published {count.replace('_', ' ')} of its parts add up to "
                    f"{sum(values[1:]):,}, not {values[0]:,}"  # type: ignore[arg-type]
                )


def exposed(model: LinkedTables, rule: DisclosureRule) -> list[Range]:
    """Each shown group whose published reoffenders fail the primary rule (it should have been withheld)."""
    out = []
    for cell in model.cells.values():
        value = cell.known("reoffenders")
        if rule.active and cell.tables and not cell.fixed and value is not None and rule.fails(cell.size, value):
            out.append(Range(cell.key, "reoffenders", value, value, 0, False, "published"))
    return out


def audit(
    model: LinkedTables,
    protection: Protection,
    readers: Sequence[LinkedTables] = (),
    differ: Collection[Key] | None = None,
) -> AuditReport:
    """Every withheld and implied count's range against the rule, and every shown group against the primary
    rule (module docstring); with ``readers`` (other models of the same cells), each range over them all
    (:func:`ranges_over`, ``differ`` as there)."""
    _check_shared(model, readers)
    models = [model, *readers]
    for each in models:
        check_consistent(each)
    found = exposed(model, protection.rule) + ranges_over(models, model.targets(), protection, differ)
    return AuditReport(
        protection,
        tuple(found),
        sum(1 for c in model.cells.values() if c.withheld),
        sum(1 for c in model.cells.values() if c.implied),
    )


# ------------------------------------------------------------------------------------------- protection
def protect(
    model: LinkedTables,
    protection: Protection,
    readers: Sequence[LinkedTables] = (),
    differ: Collection[Key] | None = None,
) -> None:
    """Withhold cells of ``model`` (in place: ``Cell.withheld``) until the audit would pass.

    The builder's values must be the true counts of every shown cell. Raises :class:`UnprotectableCell` when a count
    cannot be protected because nothing linked to it is left to withhold. ``readers``: further models of the same
    cells with other relations (readers who hold other assumptions, reoffend/bulletin/successive.py): sharing its
    cells (:meth:`LinkedTables.sharing`), and a count passes when its range over all of them (:func:`_union`: the
    unbroken piece holding the true value) is wide enough; ``differ``: the cells whose relations differ between them
    (None: any).
    """
    rule = protection.rule
    if not rule.active:
        return
    _check_shared(model, readers)
    models = [model, *readers]
    for each in models:
        check_consistent(each)
    for cell in model.cells.values():  # primary (an earlier release's figures are as they were published)
        values = cell.values["reoffenders"]
        if cell.tables and not cell.fixed and values is not None and rule.fails(cell.size, values):
            cell.withhold()
    _classic_secondary(model, rule)
    _fragile_totals(model)
    found = ranges_over(models, model.targets(), protection, differ)
    failing = [(r.cell, r.count) for r in found if not r.passes]
    for _ in range(len(model.cells) + 1):
        if not failing:
            break
        # one more withheld group for each group with a failing count (several at once: each round re-solves
        # only what failed, and a group chosen for two failing neighbours is withheld once)
        extras: list[Key] = []
        for cell_key in dict.fromkeys(k for k, _count in failing):
            # looked for in each reader's relations in turn, the model's first: a figure only another reader
            # links to the count (its guess ties them) can protect it too (the review of 0481157)
            extra = next((k for m in models if (k := _next_to_withhold(m, cell_key, avoid=extras)) is not None), None)
            if extra is None:
                count = next(c for k, c in failing if k == cell_key)
                raise _unprotectable(cell_key, count, "every figure linked to it is already withheld")
            if extra not in extras:
                extras.append(extra)
                model.cells[extra].withhold()
        before = {k for k, c in model.cells.items() if c.withheld}
        _fragile_totals(model)
        # the groups withheld this round, a fragile total withheld with its part among them (the review of
        # 527ada1: a total withheld here and never solved could be the difference of two published figures)
        extras += [k for k, c in model.cells.items() if c.withheld and k not in before]
        retry = list(dict.fromkeys([*failing, *((extra, c) for extra in extras for c in COUNTS)]))
        found = ranges_over(models, retry, protection, differ, spread=False)
        failing = [(r.cell, r.count) for r in found if not r.passes]
    if failing:  # never return with a count the audit would fail
        raise _unprotectable(*failing[0], "withholding more groups does not protect it")


def _unprotectable(cell_key: Key, count: str, why: str) -> UnprotectableCell:
    return UnprotectableCell(
        f"{describe(cell_key)}: its {count.replace('_', ' ')} cannot be protected: {why}", cell_key, count
    )


def _check_shared(model: LinkedTables, readers: Sequence[LinkedTables]) -> None:
    """Readers are models of the same cells (:meth:`LinkedTables.sharing`), so a cell withheld in one is withheld
    in all: a reader with cells of its own would be audited against a publication that is not this one."""
    if any(reader.cells is not model.cells for reader in readers):
        raise ValueError("each reader must share the model's cells (LinkedTables.sharing)")


def union_ranges(found: Sequence[Sequence[Range]], model: LinkedTables) -> list[Range]:
    """Each count's range over several readers' models of ``model``'s cells, from :func:`ranges` of each (the
    first for every target, the others for some), as :func:`_union` has it."""
    by_count: dict[tuple[Key, str], list[Range]] = {(r.cell, r.count): [r] for r in found[0]}
    for more in found[1:]:
        for r in more:
            by_count[(r.cell, r.count)].append(r)
    return [_union(same, _truth(model, same[0])) for same in by_count.values()]


def _truth(model: LinkedTables, found: Range) -> int | None:
    return model.cells[found.cell].values.get(found.count)


def _union(same: Sequence[Range], truth: int | None) -> Range:
    """One count's range over the readers: the values some reader cannot rule out are the union of their
    ranges, which may have gaps (one reader's arithmetic pins the count to 3, another's to 10: a reader of both
    knows it is 3 or 10, not that it lies anywhere from 3 to 10). The range that counts is the piece of that
    union holding the true value (a whole number, so ranges a step apart join), a value the true state's reader
    always allows even before that reader is solved (alone, ``[truth, truth]``); without a true value, the
    narrowest piece. It passes when that piece is wide enough, or when every reader's range passes on its own
    (an implied count safe in each reader's model; see :func:`ranges_over` for when that may be read)."""
    first = same[0]
    pieces: list[list[float]] = []
    for r in sorted(same, key=lambda r: r.low):
        if pieces and r.low <= pieces[-1][1] + 1:
            pieces[-1][1] = max(pieces[-1][1], r.high)
        else:
            pieces.append([r.low, r.high])
    if truth is None:
        low, high = min(pieces, key=lambda p: p[1] - p[0])
    else:
        low, high = next((p for p in pieces if p[0] <= truth <= p[1]), [float(truth), float(truth)])
    passes = high - low >= first.required or all(r.passes for r in same)
    return replace(first, low=low, high=high, passes=passes)


def ranges_over(
    models: Sequence[LinkedTables],
    targets: Sequence[tuple[Key, str]],
    protection: Protection,
    differ: Collection[Key] | None = None,
    *,
    spread: bool = True,
) -> list[Range]:
    """Each target's range over several readers' models, as :func:`union_ranges`. ``differ``: the cells whose
    relations differ between the models (None: any). The first model is solved for every target; each other
    only for the targets linked to ``differ`` in some model (:func:`linked_cells`; the rest are the same in
    all) whose piece holding the true value, over the models solved so far, is still narrower than the rule
    requires (a later reader can only widen that piece or add another apart from it), and every count with no
    true value. Since a reader whose range is settled from the solutions seen reports a span narrower than its
    own range (:func:`ranges`), a count that still fails is solved exactly in each reader whose reported range
    passes alone but leaves the true value out (or, with none, in each whose range passes alone)."""
    found = ranges(models[0], targets, protection, spread=spread, two_parts=len(models) == 1)
    if len(models) == 1:
        return found
    varying = None if differ is None else set().union(*(linked_cells(m, differ) for m in models))
    by_count: dict[tuple[Key, str], list[tuple[LinkedTables, Range]]] = {
        (r.cell, r.count): [(models[0], r)] for r in found
    }
    shared: set[tuple[Key, str]] = set()  # the same range in every reader: solved once
    for target in by_count:
        if varying is not None and target[0] not in varying:
            shared.add(target)
    for model in models[1:]:
        still = [target for target, seen in by_count.items() if target not in shared and _narrow(models[0], seen)]
        if not still:
            break
        for r in ranges(model, still, protection, spread=spread, two_parts=False):
            by_count[(r.cell, r.count)].append((model, r))
    out = []
    for target, seen in by_count.items():
        truth = _truth(models[0], seen[0][1])
        joined = _union([r for _m, r in seen], truth)
        if not joined.passes and target not in shared:
            seen = [
                (
                    m,
                    ranges(m, [target], protection, exact=True)[0]
                    if r.width >= r.required and (truth is None or not r.low <= truth <= r.high)
                    else r,
                )
                for m, r in seen
            ]
            joined = _union([r for _m, r in seen], truth)
        out.append(joined)
    return out


def _narrow(model: LinkedTables, seen: Sequence[tuple[LinkedTables, Range]]) -> bool:
    """Whether the next reader must be solved for a count: its piece holding the true value, over the readers
    solved so far, is narrower than the rule requires; or it has no true value (a previous release's withheld
    figure), whose narrowest piece any later reader may narrow (the review of 0481157)."""
    ranges_seen = [r for _m, r in seen]
    truth = _truth(model, ranges_seen[0])
    return truth is None or _union(ranges_seen, truth).width < ranges_seen[0].required


def _fragile_totals(model: LinkedTables) -> None:
    """Withhold each fragile total (:attr:`Cell.fragile`) one of whose parts is withheld."""
    for relation in model.relations:
        total = model.cells[relation.total]
        if total.fragile and not total.withheld and any(model.cells[p].withheld for p in relation.parts):
            total.withhold()


def _classic_secondary(model: LinkedTables, rule: DisclosureRule) -> None:
    """Within each relation: while its withheld parts are fewer than two, or together fail the rule,
    withhold the smallest shown part as well (reoffend.disclosure's rule, over every relation at once).
    A fragile total is withheld instead (:func:`_fragile_totals`)."""
    changed = True
    while changed:
        changed = False
        _fragile_totals(model)
        for relation in model.relations:
            if model.cells[relation.total].withheld or model.cells[relation.total].fragile:
                continue
            while True:
                parts = [model.cells[k] for k in relation.parts]
                hidden = [c for c in parts if c.withheld or (c.implied and _fails(c, rule))]
                shown = [c for c in parts if not c.withheld and c.tables and c.hideable]
                if not hidden or not shown:
                    break
                size = sum(c.size for c in hidden)
                reoffenders = [c.values["reoffenders"] for c in hidden]
                if len(hidden) >= 2 and None not in reoffenders and not rule.fails(size, sum(reoffenders)):  # type: ignore[arg-type]
                    break
                _smallest(shown).withhold()
                changed = True


def _fails(cell: Cell, rule: DisclosureRule) -> bool:
    reoffenders = cell.values["reoffenders"]
    return reoffenders is not None and bool(rule.fails(cell.size, reoffenders))


def _smallest(cells: Iterable[Cell]) -> Cell:
    return min(cells, key=lambda c: (c.size, c.values["reoffenders"] or 0, c.key))


def _next_to_withhold(model: LinkedTables, cell_key: Key, avoid: Sequence[Key] = ()) -> Key | None:
    """The cell to withhold next to protect ``cell_key``.

    A fragile total over it first (a pooled row, withheld with any part). Else the smallest shown part of a
    relation it is in, looking outward through the withheld and implied cells linked to it (a matched row
    that is the same people as a withheld establishment is protected by that establishment's siblings), the
    nearest first. A total (a cohort's figure for everyone) only when no part can be found.
    """
    relations = model.relations_of(cell_key)
    linked = {k for r in relations for k in (r.total, *r.parts)}
    withheld_now = [k for k in avoid if k in linked]
    if withheld_now:  # a group chosen this round for a neighbour already widens this one: look again next round
        return withheld_now[0]
    fragile = [model.cells[r.total] for r in relations if cell_key in r.parts and model.cells[r.total].fragile]
    fragile = [c for c in fragile if _withholdable(c)]
    if fragile:
        return _smallest(fragile).key
    seen = {cell_key}
    frontier = [cell_key]
    totals: list[Cell] = []
    while frontier:
        found: list[Cell] = []
        further: list[Key] = []
        for node in frontier:
            for relation in model.relations_of(node):
                if model.cells[relation.total].fragile and relation.total != node:
                    continue
                for k in (relation.total, *relation.parts):
                    cell = model.cells[k]
                    if k in seen:
                        continue
                    if k == relation.total and node in relation.parts:
                        if _withholdable(cell):
                            totals.append(cell)
                        elif cell.withheld or cell.implied:
                            seen.add(k)
                            further.append(k)
                    elif _withholdable(cell):
                        found.append(cell)
                    elif cell.withheld or cell.implied:
                        seen.add(k)
                        further.append(k)
        if found:
            return _smallest(found).key
        frontier = further
    return _smallest(totals).key if totals else None


def _withholdable(cell: Cell) -> bool:
    return bool(cell.tables) and not cell.withheld and cell.hideable
