"""Mutation testing of reoffend's core modules (issue 33): `make mutate`, tests/README.md.

Each mutant is one small change to one module (the operators of :data:`OPERATORS`), run against the tests that
reach the mutated line. A mutant is *killed* when a test fails, *killed by timeout* when the tests run past
their budget (a mutant that loops), and *survives* when every test passes; a survivor listed in
``tools/mutation_equivalents.txt`` (one line each, with the reason it cannot change behaviour) is *equivalent*
and set aside in the score.

How it runs, and why not mutmut: mutmut 3 forks its workers after running the tests in the parent, and polars'
thread pool does not survive a fork (it stalled here). This tool never runs polars in the parent: the parent
only imports third-party modules (never reoffend), and forks one child per run. The child imports the
package afresh from a private copy of the tree, in which exactly one file is mutated, runs pytest there and
exits; the parent kills its process group at the deadline. With ``--jobs N`` it keeps N such children running,
each in a copy of the tree of its own. The working tree is never written, so Ctrl-C leaves nothing behind but the
temporary copies, which are removed on the way out.

What a mutant cost, and what was cut (tests/README.md "Time"): pytest's closing garbage collections walked every
object the parent had imported (``gc.freeze`` after the prewarm), the failing test's long traceback (``--tb=line``),
and pytest's plugins imported afresh in each child (prewarmed).

To keep it fast, a first run of each module's tests (the unmutated baseline, which must pass) records under
coverage which tests execute each line; a mutant then runs only those tests, fastest first, stopping at the
first failure. A mutant on a line no test executes survives without running ("uncovered").

The modules and the test files that reach each are in ``tools/mutation.toml``.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import dataclasses
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tools" / "mutation.toml"
EQUIVALENTS = ROOT / "tools" / "mutation_equivalents.txt"
RESULTS = ROOT / "build" / "mutation"
README = ROOT / "tests" / "README.md"
TABLE_START = "<!-- mutation-table:start -->"
TABLE_END = "<!-- mutation-table:end -->"
NO_MUTATE = "pragma: no mutate"
# tests/conftest.py loads the hypothesis profile this variable names (the tool sets it in every child)
HYPOTHESIS_PROFILE_VARIABLE = "REOFFEND_HYPOTHESIS_PROFILE"
HYPOTHESIS_PROFILE = "mutate"
POLL_SECONDS = 0.02  # how often the parent looks at its children
# imported once in the parent, so that each forked child starts with them loaded (never reoffend itself)
PREWARM = (
    "numpy",
    "polars",
    "polars.testing",
    "scipy.optimize",
    "scipy.stats",
    "statsmodels.api",
    "statsmodels.stats.proportion",
    "click",
    "click.testing",
    "rich.console",
    "sqlglot",
    "pytest",
    "hypothesis",
    "jsonschema",
)

# ------------------------------------------------------------------------------------------------ the mutants

COMPARE_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
BINARY_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
}
BOOL_SWAPS: dict[type[ast.boolop], type[ast.boolop]] = {ast.And: ast.Or, ast.Or: ast.And}
DROPPABLE = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Raise, ast.Continue, ast.Break)
OPERATORS = ("compare", "binary", "boolean", "not-dropped", "not-added", "constant", "return-none", "drop")


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One change to one module: the text span ``(line, col)..(end_line, end_col)`` replaced by ``text``.

    ``text`` has as many newlines as the span, so every other line keeps its number.
    """

    path: str  # relative to the root, e.g. reoffend/window.py
    operator: str
    scope: str  # the qualified name of the enclosing function or class ("<module>" at the top level)
    before: str
    after: str
    line: int
    col: int
    end_line: int
    end_col: int
    text: str
    occurrence: int = 0  # among mutants with the same path, scope, operator, before and after
    # for a module-level assignment: the lines that read the names it binds (their tests are the ones to run)
    uses: tuple[int, ...] = ()

    @property
    def key(self) -> str:
        """A name that survives edits elsewhere in the file (no line number): the equivalents list uses it."""
        return f"{self.path}::{self.scope}::{self.operator}::{self.before} => {self.after}#{self.occurrence}"

    def apply(self, source: str) -> str:
        lines = source.splitlines(keepends=True)
        start = _offset(lines, self.line, self.col)
        end = _offset(lines, self.end_line, self.end_col)
        return source[:start] + self.text + source[end:]


def _offset(lines: list[str], line: int, col: int) -> int:
    """The character offset of ``(line, col)``: ``col`` counts UTF-8 bytes, as ast's offsets do."""
    prefix = lines[line - 1].encode("utf-8")[:col].decode("utf-8")
    return sum(len(text) for text in lines[: line - 1]) + len(prefix)


def _short(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Finder(ast.NodeVisitor):
    """Walks a module and lists its mutants (see :data:`OPERATORS`)."""

    def __init__(self, path: str, source: str) -> None:
        self.path = path
        self.source = source
        self.lines = source.splitlines()
        self.scopes: list[str] = []
        self.found: list[Mutant] = []

    # -- where not to mutate
    def _skipped(self, node: ast.AST) -> bool:
        line = getattr(node, "lineno", None)
        return line is not None and NO_MUTATE in self.lines[line - 1]

    def visit_Import(self, node: ast.Import) -> None:
        return None

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        return None

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        return None  # positions inside f-strings are unreliable before Python 3.12

    def visit_If(self, node: ast.If) -> None:
        if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return None
        self._add_not(node.test)
        self.generic_visit(node)

    def visit_While(self, node: ast.While) -> None:
        self._add_not(node.test)
        self.generic_visit(node)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self._add_not(node.test)
        self.generic_visit(node)

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.scopes.append(node.name)
        body = node.body
        if body and _is_docstring(body[0]):
            body = body[1:]
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                self.visit(base)
        else:
            for default in (*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)):
                self.visit(default)
        for statement in body:
            self.visit(statement)
        self.scopes.pop()

    visit_FunctionDef = _scoped
    visit_AsyncFunctionDef = _scoped
    visit_ClassDef = _scoped

    def visit_Module(self, node: ast.Module) -> None:
        body = node.body[1:] if node.body and _is_docstring(node.body[0]) else node.body
        for statement in body:
            self.visit(statement)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:  # the annotation itself is never mutated
            self._drop(node)
            self.visit(node.value)

    def visit_arg(self, node: ast.arg) -> None:
        return None

    # -- the operators
    def generic_visit(self, node: ast.AST) -> None:
        if isinstance(node, DROPPABLE) and not _is_docstring(node):
            self._drop(node)
        super().generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        for index, op in enumerate(node.ops):
            swap = COMPARE_SWAPS.get(type(op))
            if swap is not None:
                changed = copy.deepcopy(node)
                changed.ops[index] = swap()
                self._replace(node, "compare", changed)
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        swap = BINARY_SWAPS.get(type(node.op))
        if swap is not None:
            changed = copy.deepcopy(node)
            changed.op = swap()
            self._replace(node, "binary", changed)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        swap = BINARY_SWAPS.get(type(node.op))
        if swap is not None:
            changed = copy.deepcopy(node)
            changed.op = swap()
            self._replace(node, "binary", changed, statement=True)
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        changed = copy.deepcopy(node)
        changed.op = BOOL_SWAPS[type(node.op)]()
        self._replace(node, "boolean", changed)
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.Not | ast.Invert):
            self._replace(node, "not-dropped", node.operand)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool):
            self._replace(node, "constant", ast.Constant(not value))
        elif isinstance(value, int | float):  # one step, up (down would double the count and rarely differ)
            self._replace(node, "constant", ast.Constant(value + 1))

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is not None and not (isinstance(node.value, ast.Constant) and node.value.value is None):
            self._replace(node.value, "return-none", ast.Constant(None))
        self.generic_visit(node)

    def _add_not(self, test: ast.expr) -> None:
        self._replace(test, "not-added", ast.UnaryOp(ast.Not(), test))

    def _drop(self, node: ast.stmt) -> None:
        self._replace(node, "drop", ast.Pass(), statement=True)

    # -- the one place a mutant is made
    def _replace(self, node: ast.AST, operator: str, new: ast.AST, *, statement: bool = False) -> None:
        if self._skipped(node):
            return
        line, col = node.lineno, node.col_offset  # type: ignore[attr-defined]
        end_line, end_col = node.end_lineno, node.end_col_offset  # type: ignore[attr-defined]
        assert end_line is not None and end_col is not None
        padding = "\n" * (end_line - line)
        before = ast.get_source_segment(self.source, node) or ast.unparse(node)
        after = ast.unparse(new)
        # an expression is parenthesised (so newlines may pad it); a statement is followed by blank lines
        text = f"{after}{padding}" if statement else f"({after}{padding})"
        self.found.append(
            Mutant(
                path=self.path,
                operator=operator,
                scope=".".join(self.scopes) or "<module>",
                before=_short(before),
                after=_short(after),
                line=line,
                col=col,
                end_line=end_line,
                end_col=end_col,
                text=text,
            )
        )


def _is_docstring(node: ast.AST) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _readers(tree: ast.Module) -> dict[int, tuple[int, ...]]:
    """For each top-level assignment (by its first line): the lines that read a name it binds."""
    loads: dict[str, list[int]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            loads.setdefault(node.id, []).append(node.lineno)
    readers = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign | ast.AnnAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            lines = sorted({line for name in names for line in loads.get(name, ())})
            for line in range(statement.lineno, (statement.end_lineno or statement.lineno) + 1):
                readers[line] = tuple(lines)
    return readers


def find_mutants(path: str, source: str) -> list[Mutant]:
    """Every mutant of ``source`` (the module at ``path``), in source order, each checked to compile."""
    finder = _Finder(path, source)
    tree = ast.parse(source)
    finder.visit(tree)
    readers = _readers(tree)
    seen: Counter[tuple[str, str, str, str]] = Counter()
    mutants = []
    for mutant in sorted(finder.found, key=lambda m: (m.line, m.col, m.end_line, m.end_col)):
        identity = (mutant.scope, mutant.operator, mutant.before, mutant.after)
        mutant = dataclasses.replace(mutant, occurrence=seen[identity], uses=readers.get(mutant.line, ()))
        seen[identity] += 1
        try:
            compile(mutant.apply(source), path, "exec")
        except SyntaxError:  # e.g. a dropped statement that was the target of a decorator: not a mutant
            continue
        mutants.append(mutant)
    return mutants


# ------------------------------------------------------------------------------------------------ running them


@dataclasses.dataclass
class Settings:
    modules: dict[str, list[str]]  # module path -> test files (or node ids)
    scopes: dict[str, list[str]]  # module path -> the functions or classes mutated (none listed: all)

    @classmethod
    def load(cls, path: Path = CONFIG) -> Settings:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)["modules"]
        return cls(
            modules={module: list(entry["tests"]) for module, entry in raw.items()},
            scopes={module: list(entry.get("scopes", ())) for module, entry in raw.items()},
        )

    def mutants(self, module: str) -> list[Mutant]:
        """The mutants of ``module`` within its scopes."""
        found = find_mutants(module, (ROOT / module).read_text(encoding="utf-8"))
        scopes = self.scopes.get(module)
        if not scopes:
            return found
        return [m for m in found if any(m.scope == s or m.scope.startswith(s + ".") for s in scopes)]


def load_equivalents(path: Path = EQUIVALENTS) -> dict[str, str]:
    """``key -> reason`` from the equivalents list: ``KEY ## reason`` per line; ``#`` starts a comment line."""
    equivalents: dict[str, str] = {}
    if not path.exists():
        return equivalents
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, separator, reason = line.partition(" ## ")
        if not separator or not reason.strip():
            raise SystemExit(f"{path}:{number}: each equivalent needs ' ## ' and a reason: {line!r}")
        equivalents[key.strip()] = reason.strip()
    return equivalents


def _copy_tree(destination: Path) -> None:
    """The files a test run needs, without caches or the virtual environment."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache", "*.egg-info")
    for name in ("reoffend", "tests", "data", "docs"):
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, destination / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "CHANGELOG.md", "Makefile"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, destination / name)


def _start_child(tree: Path, args: list[str], log: Path, coverage_of: Path | None = None) -> int:
    """Fork a child that runs pytest with ``args`` rooted at ``tree`` (its output in ``log``), in a process group
    of its own; returns its pid. Its exit status is 0 when every test passed."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 70
        try:
            os.setpgid(0, 0)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(out, 1)
            os.dup2(out, 2)
            # the log through fresh streams: the parent's sys.stdout may be another file (pytest's capture when
            # the tool's own tests fork a child), and pytest's report goes where sys.stdout points
            sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
            os.chdir(tree)
            sys.path.insert(0, str(tree))
            # the baseline run caches the compiled (and pytest's rewritten) modules of the copy; a mutant's run
            # reads them but writes none, and the mutated module has no cached copy (see campaign)
            sys.dont_write_bytecode = coverage_of is None
            # tests/conftest.py's hypothesis profile for mutation runs: the same examples every run, no shrinking
            os.environ[HYPOTHESIS_PROFILE_VARIABLE] = HYPOTHESIS_PROFILE
            code = _child_pytest(tree, args, coverage_of)
        except BaseException as error:  # anything: the parent reads the exit status only
            print(f"mutate child: {error!r}", file=sys.stderr)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return pid


def _finished(pid: int) -> str | None:
    """ "passed" or "failed" once the child ``pid`` has exited (reaped), None while it runs."""
    done, status = os.waitpid(pid, os.WNOHANG)
    if not done:
        return None
    return "passed" if os.waitstatus_to_exitcode(status) == 0 else "failed"


def _run_child(tree: Path, args: list[str], timeout: float, log: Path, coverage_of: Path | None = None) -> str:
    """Run pytest with ``args`` in a forked child rooted at ``tree``: "passed", "failed" or "timeout"."""
    pid = _start_child(tree, args, log, coverage_of)
    deadline = time.monotonic() + timeout
    try:
        while True:
            result = _finished(pid)
            if result is not None:
                return result
            if time.monotonic() > deadline:
                _kill_group(pid)
                return "timeout"
            time.sleep(POLL_SECONDS)
    except BaseException:
        _kill_group(pid)
        raise


def _kill_group(pid: int) -> None:
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        with contextlib.suppress(ProcessLookupError):
            target()
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _child_pytest(tree: Path, args: list[str], coverage_of: Path | None) -> int:
    import pytest

    # --tb=line: a kill needs the failing test's name (the short summary of -ra), not its traceback, whose source
    # lookup (inspect.getmodule over every loaded module) cost about 0.3 s a kill
    argv = ["-x", "-q", "-p", "no:cacheprovider", "--tb=line", "--rootdir", str(tree), *args]
    if coverage_of is None:
        return int(pytest.main(argv))
    import coverage

    cov = coverage.Coverage(data_file=None, include=[str(coverage_of)], branch=False)
    durations: dict[str, float] = {}

    class Contexts:
        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
            cov.switch_context(item.nodeid)
            started = time.perf_counter()
            yield
            durations[item.nodeid] = time.perf_counter() - started
            cov.switch_context("")

    cov.start()
    try:
        code = int(pytest.main([a for a in argv if a != "-x"], plugins=[Contexts()]))
    finally:
        cov.stop()
    data = cov.get_data()
    measured = [name for name in data.measured_files() if Path(name).resolve() == coverage_of.resolve()]
    by_line: dict[int, list[str]] = {}
    if measured:
        for line, contexts in data.contexts_by_lineno(measured[0]).items():
            by_line[line] = sorted(contexts)
    report = {"durations": durations, "lines": {str(k): v for k, v in by_line.items()}}
    (tree / f"coverage-{os.getpid()}.json").write_text(json.dumps(report), encoding="utf-8")
    return code


@dataclasses.dataclass
class Outcome:
    key: str
    line: int
    status: str  # killed, timeout, survived, uncovered, equivalent
    tests: int
    seconds: float
    killer: str = ""  # the test that failed first (killed) or was running at the deadline (timeout)


def split_tests(tests: Sequence[str], jobs: int, weight: dict[str, float]) -> list[list[str]]:
    """``tests`` (files or node ids) in at most ``jobs`` groups of about equal ``weight`` (heaviest first, each to
    the lightest group so far), each group in the order given; no empty group."""
    groups: list[list[str]] = [[] for _ in range(max(1, min(jobs, len(tests))))]
    loads = [0.0] * len(groups)
    for test in sorted(tests, key=lambda t: -weight.get(t, 1.0)):
        lightest = loads.index(min(loads))
        groups[lightest].append(test)
        loads[lightest] += weight.get(test, 1.0)
    return [[t for t in tests if t in group] for group in groups if group]


def _baseline(tree: Path, target: Path, tests: Sequence[str], jobs: int, weight: dict[str, float], log: Path) -> dict:
    """The unmutated tests under coverage, split over ``jobs`` children: each test's time and, for each line of
    ``target``, the tests that execute it (the context "" for lines run at import). Raises SystemExit when a test
    fails."""
    children = {}
    try:
        for index, group in enumerate(split_tests(tests, jobs, weight)):
            group_log = log.with_suffix(f".baseline{index}.log")
            children[_start_child(tree, group, group_log, coverage_of=target)] = group_log
        failed = []
        waiting = dict(children)
        deadline = time.monotonic() + 3600
        while waiting:
            for pid, group_log in list(waiting.items()):
                result = _finished(pid)
                if result is not None:
                    del waiting[pid]
                    if result != "passed":
                        failed.append(group_log)
            if waiting and time.monotonic() > deadline:
                failed.extend(waiting.values())
                break
            time.sleep(POLL_SECONDS)
    finally:
        for pid in children:
            _kill_group(pid)
    if failed:
        print(failed[0].read_text(encoding="utf-8", errors="replace")[-4000:])
        raise SystemExit(f"mutate: the unmutated tests of {target.relative_to(tree)} fail; fix them first")
    merged: dict = {"durations": {}, "lines": {}}
    for pid in children:
        report = json.loads((tree / f"coverage-{pid}.json").read_text(encoding="utf-8"))
        merged["durations"].update(report["durations"])
        for line, contexts in report["lines"].items():
            merged["lines"][line] = sorted({*merged["lines"].get(line, ()), *contexts})
    return merged


@dataclasses.dataclass
class _Running:
    """A mutant's tests running in a worker's tree."""

    pid: int
    number: int
    mutant: Mutant
    selected: list[str]
    began: float
    deadline: float


@dataclasses.dataclass
class _Baseline:
    """What the unmutated run measured: each test's seconds, the tests that reach each line, the lines run at
    import (keys as the coverage report writes them) and every test, fastest first."""

    durations: dict[str, float]
    by_line: dict[int, list[str]]
    at_import: set[str]
    everything: list[str]


def _prepare(
    scratch: Path, module: str, tests: Sequence[str], jobs: int, weight: dict[str, float]
) -> tuple[list[Path], _Baseline, float]:
    """A copy of the tree, the baseline run in it (under coverage), then one copy per further worker, each with
    its compiled modules; returns the trees, the baseline and when the baseline began."""
    tree = scratch / "tree0"
    _copy_tree(tree)
    target = tree / module
    started = time.monotonic()
    report = _baseline(tree, target, tests, jobs, weight, scratch / "pytest.log")
    # the mutated module is compiled afresh every run: a cached copy could pass for a mutant of the same size
    # written within the same second (the cache is checked by size and whole-second modification time)
    for cached in target.parent.joinpath("__pycache__").glob(f"{target.stem}.*.pyc"):
        cached.unlink()
    # one tree per worker, copied after the baseline so that each has its compiled modules
    trees = [tree] + [scratch / f"tree{slot}" for slot in range(1, jobs)]
    for other in trees[1:]:
        shutil.copytree(tree, other)
    durations: dict[str, float] = report["durations"]
    baseline = _Baseline(
        durations=durations,
        by_line={int(k): [c for c in v if c] for k, v in report["lines"].items()},
        at_import={line for line, contexts in report["lines"].items() if "" in contexts},
        everything=sorted(durations, key=durations.__getitem__),
    )
    return trees, baseline, started


def _selected_tests(mutant: Mutant, baseline: _Baseline, kills: Counter[str]) -> list[str]:
    """The tests that reach the mutant's lines or the lines that use what it changes (every test when nothing
    reaches it but its line runs at import), the most kills first, then the fastest."""
    chosen: set[str] = set()
    for line in (*range(mutant.line, mutant.end_line + 1), *mutant.uses):
        chosen.update(baseline.by_line.get(line, ()))
    if not chosen and any(str(n) in baseline.at_import for n in range(mutant.line, mutant.end_line + 1)):
        chosen = set(baseline.everything)
    return sorted(chosen, key=lambda n: (-kills[n], baseline.durations.get(n, 0.0)))


@dataclasses.dataclass
class _Tally:
    """The outcomes so far, printed as they come: every survivor, and a count every 50 mutants."""

    total: int
    started: float
    equivalents: dict[str, str]
    outcomes: list[Outcome] = dataclasses.field(default_factory=list)

    def record(self, number: int, mutant: Mutant, status: str, selected: int, seconds: float, killer: str) -> None:
        if status in ("survived", "uncovered") and mutant.key in self.equivalents:
            status = "equivalent"
        self.outcomes.append(Outcome(mutant.key, mutant.line, status, selected, seconds, killer))
        if status in ("survived", "uncovered"):
            print(f"  [{number}/{self.total}] {status} line {mutant.line}: {mutant.key}", flush=True)
        elif len(self.outcomes) % 50 == 0:
            print(f"  [{len(self.outcomes)}/{self.total}] {time.monotonic() - self.started:.0f} s", flush=True)


@dataclasses.dataclass
class _Workers:
    """The worker slots: each its own tree (the one mutated file) and pytest log, and the mutant it runs."""

    module: str
    source: str
    trees: list[Path]
    logs: list[Path]
    running: dict[int, _Running] = dataclasses.field(default_factory=dict)  # by worker slot

    def start(self, slot: int, number: int, mutant: Mutant, selected: list[str], durations: dict[str, float]) -> None:
        """The mutant written into the slot's tree and its tests started, with a budget of 20 s plus three times
        their unmutated time."""
        (self.trees[slot] / self.module).write_text(mutant.apply(self.source), encoding="utf-8")
        budget = 20 + 3 * sum(durations.get(n, 1.0) for n in selected)
        began = time.monotonic()
        pid = _start_child(self.trees[slot], selected, self.logs[slot])
        self.running[slot] = _Running(pid, number, mutant, selected, began, began + budget)

    def finished(self) -> Iterator[tuple[_Running, str, str]]:
        """Each run that has ended (or passed its deadline, then killed): the run, its status and the first test
        that failed; the slot's tree is restored to the unmutated source."""
        for slot, run in list(self.running.items()):
            result = _finished(run.pid)
            if result is None and time.monotonic() > run.deadline:
                _kill_group(run.pid)
                result = "timeout"
            if result is None:
                continue
            del self.running[slot]
            (self.trees[slot] / self.module).write_text(self.source, encoding="utf-8")
            status = {"passed": "survived", "failed": "killed", "timeout": "timeout"}[result]
            yield run, status, _first_failure(self.logs[slot]) if status == "killed" else ""

    def stop(self) -> None:
        for run in self.running.values():
            _kill_group(run.pid)


def campaign(
    module: str,
    mutants: list[Mutant],
    tests: Sequence[str],
    equivalents: dict[str, str],
    limit: int | None,
    kills: Counter[str] | None = None,
    jobs: int = 1,
    weight: dict[str, float] | None = None,
) -> tuple[list[Outcome], dict[str, float]]:
    """Every mutant of ``module`` against ``tests``; prints progress, returns the outcomes and each test's time
    in the baseline run (under coverage).

    Each mutant's tests run in order of kills (``kills``: how many mutants each test killed, seeded from the last
    run and counted on as this one goes), then fastest first: most mutants then die on the first test run.
    ``jobs`` mutants run at once, each in a copy of the tree of its own (its one mutated file), each child with
    its own deadline; the baseline's tests are split over as many children (``weight``: seconds per test entry,
    from the last run, to balance them).
    """
    kills = Counter() if kills is None else kills
    source = (ROOT / module).read_text(encoding="utf-8")
    if limit is not None:
        mutants = mutants[:limit]
    with tempfile.TemporaryDirectory(prefix="reoffend-mutate-") as scratch:
        trees, baseline, started = _prepare(Path(scratch), module, tests, jobs, weight or {})
        print(
            f"{module}: {len(mutants)} mutants, baseline {time.monotonic() - started:.0f} s, "
            f"{len(baseline.durations)} tests, {jobs} worker{'s' if jobs > 1 else ''}"
        )
        tally = _Tally(len(mutants), started, equivalents)
        workers = _Workers(module, source, trees, [Path(scratch) / f"pytest{slot}.log" for slot in range(jobs)])
        pending = list(enumerate(mutants, 1))
        pending.reverse()  # popped from the end: source order
        try:
            while pending or workers.running:
                for slot in range(jobs):
                    while slot not in workers.running and pending:
                        number, mutant = pending.pop()
                        selected = _selected_tests(mutant, baseline, kills)
                        if selected:
                            workers.start(slot, number, mutant, selected, baseline.durations)
                        else:
                            tally.record(number, mutant, "uncovered", 0, 0.0, "")
                time.sleep(POLL_SECONDS)
                for run, status, killer in workers.finished():
                    if killer:
                        kills[killer] += 1
                    seconds = time.monotonic() - run.began
                    tally.record(run.number, run.mutant, status, len(run.selected), seconds, killer)
        except KeyboardInterrupt:
            print(f"mutate: interrupted after {len(tally.outcomes)} mutants of {module}; nothing was changed")
            raise
        finally:
            workers.stop()
    return tally.outcomes, baseline.durations


def entry_seconds(tests: Sequence[str], test_seconds: dict[str, float]) -> dict[str, float]:
    """For each entry of a module's tests (a file or a node id): the seconds its tests took (``test_seconds``, by
    node id, from the last run), where known."""
    weight = {}
    for entry in tests:
        own = (entry + "::", entry + "[")
        seconds = [v for node, v in test_seconds.items() if node == entry or node.startswith(own)]
        if seconds:
            weight[entry] = sum(seconds)
    return weight


def _first_failure(log: Path) -> str:
    """The node id of the first failed test in a pytest log (its short summary: ``FAILED node - reason``)."""
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split(" ", 1)[1].split(" - ", 1)[0].strip()
    return ""


def _survivors(module: str, mutants: list[Mutant], result_file: Path) -> tuple[list[Mutant], list[Outcome]]:
    """The mutants the last run of ``module`` left alive (survived, uncovered or equivalent), and the outcomes of
    the others, kept. Refused when the mutants are not the last run's (the module changed since)."""
    if not result_file.exists():
        raise SystemExit(f"mutate: --survivors: no last run of {module} ({result_file.relative_to(ROOT)})")
    saved = [Outcome(**record) for record in json.loads(result_file.read_text(encoding="utf-8"))["outcomes"]]
    if sorted(o.key for o in saved) != sorted(m.key for m in mutants):
        raise SystemExit(f"mutate: --survivors: {module} changed since its last run; run it whole")
    alive = {o.key for o in saved if o.status in ("survived", "uncovered", "equivalent")}
    return [m for m in mutants if m.key in alive], [o for o in saved if o.key not in alive]


def rescore(saved: Sequence[dict[str, object]], equivalents: dict[str, str]) -> list[Outcome]:
    """A saved run's outcomes with its survivors set aside again by ``equivalents`` (nothing is run)."""
    outcomes = [Outcome(**record) for record in saved]  # type: ignore[arg-type]
    for outcome in outcomes:
        if outcome.status in ("survived", "uncovered", "equivalent"):
            listed = outcome.key in equivalents
            if outcome.status == "equivalent" and not listed:
                outcome.status = "survived"
            elif listed:
                outcome.status = "equivalent"
    return outcomes


def stale_equivalents(module: str, outcomes: Sequence[Outcome], equivalents: dict[str, str], partial: bool) -> set[str]:
    """Keys of ``module`` in the equivalents list whose mutant was killed (or, after a full run, no longer exists)."""
    status = {o.key: o.status for o in outcomes}
    listed = {key for key in equivalents if key.startswith(module + "::")}
    killed = {key for key in listed if status.get(key) in ("killed", "timeout")}
    gone = set() if partial else {key for key in listed if key not in status}
    return killed | gone


def run_label(timing: dict[str, object]) -> str:
    """When a module's last whole run was made and at what load: its date and the one-minute load average at its
    start and end (a shared machine's load sets the seconds), "?" for a run that did not record them."""
    load = timing.get("load_average")
    if "date" not in timing or not isinstance(load, list) or len(load) != 6:
        return "?"
    return f"{timing['date']} ({load[0]} to {load[3]})"


def summarise(module: str, outcomes: Sequence[Outcome]) -> dict[str, object]:
    counts = Counter(o.status for o in outcomes)
    killed, timeouts, equivalent = counts["killed"], counts["timeout"], counts["equivalent"]
    survived = counts["survived"] + counts["uncovered"]
    uncovered = counts["uncovered"]
    scored = len(outcomes) - equivalent
    score = 100.0 * (killed + timeouts) / scored if scored else 100.0
    return {
        "module": module,
        "mutants": len(outcomes),
        "killed": killed,
        "timeouts": timeouts,
        "survived": survived,
        "uncovered": uncovered,
        "equivalent": equivalent,
        "score": round(score, 1),
    }


def table(rows: Sequence[dict[str, object]]) -> str:
    lines = [
        "| module | mutants | killed | timeouts | survived (not covered) | equivalent | score | seconds | run (load) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| `{row['module']}` | {row['mutants']} | {row['killed']} | {row['timeouts']} | {row['survived']} "
            f"({row.get('uncovered', '?')}) | {row['equivalent']} | {row['score']:.1f}% | {row.get('seconds', '?')} "
            f"| {row.get('run', '?')} |"
        )
    return "\n".join(lines)


def tabled_rows(text: str) -> dict[str, dict[str, object]]:
    """The rows of the score table in ``text`` (tests/README.md), by module: a module measured elsewhere (whose
    results are not in this tree's build/mutation) keeps its row. Columns a row lacks are "?"."""
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    rows: dict[str, dict[str, object]] = {}
    for line in text[start:end].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not cells[0].startswith("`"):
            continue
        module = cells[0].strip("`")
        survived, _, uncovered = cells[4].partition(" (")
        rows[module] = {
            "module": module,
            "mutants": int(cells[1]),
            "killed": int(cells[2]),
            "timeouts": int(cells[3]),
            "survived": int(survived),
            "uncovered": uncovered.rstrip(")") or "?",
            "equivalent": int(cells[5]),
            "score": float(cells[6].rstrip("%")),
            "seconds": cells[7] if len(cells) > 7 else "?",
            "run": cells[8] if len(cells) > 8 else "?",
        }
    return rows


def update_readme(rows: Sequence[dict[str, object]], modules: Sequence[str], path: Path = README) -> None:
    """Replace the table between the markers in tests/README.md with the rows of every module measured so far,
    in the order of ``modules``; a module without results here keeps the row the table had."""
    text = path.read_text(encoding="utf-8")
    merged = {**tabled_rows(text), **{str(row["module"]): row for row in rows}}
    ordered = [merged[m] for m in modules if m in merged]
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    path.write_text(text[:start] + "\n" + table(ordered) + "\n" + text[end:], encoding="utf-8")


def _prewarm() -> None:
    """Import the third-party modules (and pytest's plugins) once, here, so that each child starts with them, and
    freeze them out of the garbage collector's sight: pytest collects twice as it ends (its unraisable-exception
    check), and each collection walked every object of these modules, about 0.45 s a mutant (tests/README.md)."""
    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.dont_write_bytecode = True  # a mutated file must never be read back from a stale .pyc
    import gc
    import importlib
    import importlib.metadata

    for name in PREWARM:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    with contextlib.suppress(ImportError):
        from _pytest.config import default_plugins

        for name in default_plugins:
            with contextlib.suppress(ImportError):
                importlib.import_module(f"_pytest.{name}")
    for entry in importlib.metadata.entry_points(group="pytest11"):  # pytest-timeout, hypothesis' plugin
        with contextlib.suppress(ImportError):
            importlib.import_module(entry.value.partition(":")[0])
    gc.collect()
    gc.freeze()


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="module paths (default: every module of tools/mutation.toml)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--limit", type=int, help="only the first N mutants of each module (a quick check)")
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="run again only the last run's survivors (after adding tests; the module itself unchanged), keeping "
        "its other outcomes",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="mutants run at once, each in a forked worker with a copy of the tree of its own (default 1)",
    )
    parser.add_argument("--update-readme", action="store_true", help="rewrite the score table in tests/README.md")
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="run nothing: set the last run's survivors aside again by the current equivalents list",
    )
    return parser


def _check_run_options(parser: argparse.ArgumentParser, options: argparse.Namespace) -> None:
    """The options of a run that contradict each other (or --jobs below 1) are a usage error."""
    if options.jobs < 1:
        parser.error("--jobs must be at least 1")
    if options.rescore and options.limit is not None:
        parser.error("--rescore runs nothing: --limit does not apply")
    if options.survivors and (options.rescore or options.limit is not None):
        parser.error("--survivors runs the last run's survivors: --rescore and --limit do not apply")


def _result_file(module: str) -> Path:
    return RESULTS / (module.replace("/", "_") + ".json")


def _run_module(
    module: str, settings: Settings, options: argparse.Namespace, equivalents: dict[str, str]
) -> tuple[list[Outcome], dict[str, object]]:
    """One module's campaign (every mutant, or the last run's survivors with its other outcomes kept), seeded by
    the last run's killers and test times; its outcomes and its timing (seconds, date, load, jobs, test times)."""
    result_file = _result_file(module)
    began, load_before = time.monotonic(), os.getloadavg()
    kills = Counter[str]()
    weight: dict[str, float] = {}
    if result_file.exists():  # the last run's killers go first; its tests' times balance the baseline
        last_run = json.loads(result_file.read_text(encoding="utf-8"))
        kills.update(o.get("killer", "") for o in last_run["outcomes"])
        del kills[""]
        weight = entry_seconds(settings.modules[module], last_run.get("timing", {}).get("test_seconds", {}))
    mutants = settings.mutants(module)
    kept: list[Outcome] = []
    if options.survivors:
        mutants, kept = _survivors(module, mutants, result_file)
    outcomes, durations = campaign(
        module, mutants, settings.modules[module], equivalents, options.limit, kills, options.jobs, weight
    )
    outcomes = sorted([*kept, *outcomes], key=lambda o: o.line)
    timing: dict[str, object] = {
        "seconds": round(time.monotonic() - began),
        "date": time.strftime("%Y-%m-%d"),
        "load_average": [round(x, 1) for x in (*load_before, *os.getloadavg())],
        "jobs": options.jobs,
        "test_seconds": {name: round(value, 3) for name, value in sorted(durations.items())},
    }
    print(f"{module}: {timing['seconds']} s, load average {timing['load_average']} (before, after)")
    if options.survivors:  # the table keeps the whole run's time; the re-run's is recorded beside it
        last = json.loads(result_file.read_text(encoding="utf-8")).get("timing", {})
        timing = {**last, "survivors_rerun": timing}
    return outcomes, timing


def _report_module(
    module: str, outcomes: list[Outcome], timing: dict[str, object], equivalents: dict[str, str], partial: bool
) -> None:
    """A module's score row printed, the equivalents that no longer hold named, and its result file written
    (never for a partial run, ``--limit``: a quick check, never a result)."""
    summary = {**summarise(module, outcomes), "seconds": timing.get("seconds", "?"), "run": run_label(timing)}
    for key in sorted(stale_equivalents(module, outcomes, equivalents, partial)):
        print(f"  listed as equivalent but killed or gone (remove it): {key}")
    print(table([summary]), flush=True)
    if not partial:
        _result_file(module).write_text(
            json.dumps(
                {"summary": summary, "timing": timing, "outcomes": [dataclasses.asdict(o) for o in outcomes]},
                indent=1,
            ),
            encoding="utf-8",
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    options = parser.parse_args(argv)
    settings = Settings.load()
    modules = options.modules or list(settings.modules)
    unknown = [m for m in modules if m not in settings.modules]
    if unknown:
        parser.error(f"not in {CONFIG.relative_to(ROOT)}: {', '.join(unknown)}")
    if options.list:
        for module in modules:
            for mutant in settings.mutants(module):
                print(f"{mutant.line}: {mutant.key}")
        return 0
    _check_run_options(parser, options)
    equivalents = load_equivalents()
    # Ctrl-C and a plain kill both unwind (the child is killed, the copy removed): a job started in the background
    # by a non-interactive shell inherits SIGINT ignored, and SIGTERM would otherwise end the parent on the spot
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminated)
    _prewarm()
    RESULTS.mkdir(parents=True, exist_ok=True)
    for module in modules:
        result_file = _result_file(module)
        if options.rescore:
            if not result_file.exists():
                continue
            saved = json.loads(result_file.read_text(encoding="utf-8"))
            outcomes, timing = rescore(saved["outcomes"], equivalents), saved.get("timing", {})
        else:
            outcomes, timing = _run_module(module, settings, options, equivalents)
        _report_module(module, outcomes, timing, equivalents, options.limit is not None)
    rows = [
        json.loads(_result_file(module).read_text(encoding="utf-8"))["summary"]
        for module in settings.modules
        if _result_file(module).exists()
    ]
    print("\n" + table(rows))
    if options.update_readme and not options.limit:
        update_readme(rows, list(settings.modules))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the child is killed and the copy removed on the way here
        print("mutate: stopped; the working tree was never changed", file=sys.stderr)
        sys.exit(130)
