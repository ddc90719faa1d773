"""The mutation tester itself (tools/mutate.py, `make mutate`): which mutants it makes, and how it runs them."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load():
    spec = importlib.util.spec_from_file_location("reoffend_mutate_tool", ROOT / "tools" / "mutate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


mutate = _load()

SOURCE = textwrap.dedent(
    '''\
    """A module docstring: never mutated."""
    from __future__ import annotations

    from typing import TYPE_CHECKING

    if TYPE_CHECKING:
        import numpy

    LIMIT = 10


    def check(x: int, y: int) -> bool:
        """A docstring."""
        total = x + y
        if x < LIMIT and not y:
            return True
        label = f"{x + 1}"
        keep = x == 3  # pragma: no mutate
        return (total
                * 2 > y)
    '''
)


def mutants_of(source: str = SOURCE):
    return mutate.find_mutants("m.py", source)


def test_each_operator_makes_its_mutant():
    found = {(m.operator, m.before, m.after) for m in mutants_of()}
    assert ("compare", "x < LIMIT", "x <= LIMIT") in found
    assert ("binary", "x + y", "x - y") in found
    assert ("binary", "total * 2", "total / 2") in found
    assert ("boolean", "x < LIMIT and not y", "x < LIMIT or not y") in found
    assert ("not-dropped", "not y", "y") in found
    assert ("not-added", "x < LIMIT and not y", "not (x < LIMIT and (not y))") in found
    assert ("constant", "10", "11") in found
    assert ("constant", "True", "False") in found
    assert ("return-none", "True", "None") in found
    assert ("drop", "total = x + y", "pass") in found


def test_docstrings_imports_annotations_type_checking_fstrings_and_pragmas_are_left_alone():
    mutants = mutants_of()
    lines = SOURCE.splitlines()
    for number, text in enumerate(lines, 1):
        if any(word in text for word in ('"""', "import", "TYPE_CHECKING", "pragma")):
            assert not [m for m in mutants if m.line == number], text
    # inside an f-string nothing changes (its positions are unreliable); the whole statement may still be dropped
    assert [m.operator for m in mutants if m.line == 17] == ["drop"]
    # the annotations (int, bool) are never changed
    assert not any("int" in m.before or "bool" in m.before for m in mutants)


def test_every_mutant_compiles_keeps_the_line_count_and_changes_only_its_span():
    lines = SOURCE.count("\n")
    for mutant in mutants_of():
        text = mutant.apply(SOURCE)
        compile(text, "m.py", "exec")
        assert text.count("\n") == lines, mutant.key
        assert text != SOURCE
    # a mutant of an expression over two lines: the comparison swapped, the rest kept
    (split,) = [m for m in mutants_of() if m.operator == "compare" and m.before == "total * 2 > y"]
    assert split.line == 19 and split.end_line == 20
    changed = split.apply(SOURCE).splitlines()
    assert changed[18].strip() == "return ((total * 2 >= y" and changed[19].strip() == "))"


def test_keys_do_not_move_with_the_lines_and_repeats_are_numbered():
    keys = [m.key for m in mutants_of()]
    assert len(keys) == len(set(keys))
    shifted = [m.key for m in mutants_of("# a new first line\n" + SOURCE)]
    assert keys == shifted
    twice = mutants_of("def f(a):\n    return a + 1 + 1\n")
    constants = [m.key for m in twice if m.operator == "constant"]
    assert constants == ["m.py::f::constant::1 => 2#0", "m.py::f::constant::1 => 2#1"]


def test_a_module_level_constant_runs_the_tests_of_the_lines_that_read_it():
    (limit,) = [m for m in mutants_of() if m.operator == "constant" and m.before == "10"]
    assert limit.uses == (15,)  # `if x < LIMIT` reads it


def test_the_equivalents_list_needs_a_reason(tmp_path):
    listed = tmp_path / "equivalents.txt"
    listed.write_text("# a comment\n\nm.py::f::constant::1 => 2#0 ## the bound is never reached\n", encoding="utf-8")
    assert mutate.load_equivalents(listed) == {"m.py::f::constant::1 => 2#0": "the bound is never reached"}
    listed.write_text("m.py::f::constant::1 => 2#0\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="needs ' ## ' and a reason"):
        mutate.load_equivalents(listed)


def test_the_score_sets_equivalents_aside():
    Outcome = mutate.Outcome
    outcomes = [
        Outcome("a", 1, "killed", 1, 0.1),
        Outcome("b", 2, "timeout", 1, 0.1),
        Outcome("c", 3, "survived", 1, 0.1),
        Outcome("d", 4, "uncovered", 0, 0.0),
        Outcome("e", 5, "equivalent", 1, 0.1),
    ]
    summary = mutate.summarise("m.py", outcomes)
    # (1 killed + 1 timeout) / (5 mutants - 1 equivalent) = 50%; uncovered mutants count as survivors
    assert summary == {
        "module": "m.py",
        "mutants": 5,
        "killed": 1,
        "timeouts": 1,
        "survived": 2,
        "uncovered": 1,
        "equivalent": 1,
        "score": 50.0,
    }
    # the survivors column says how many no selected test reaches; seconds and run are unknown without a run
    assert "| `m.py` | 5 | 1 | 1 | 2 (1) | 1 | 50.0% | ? | ? |" in mutate.table([summary])


def test_a_row_says_when_its_run_was_made_and_at_what_load():
    # load_average is (1, 5, 15 minutes) at the start, then at the end: the row shows the two one-minute figures
    timing = {"seconds": 1007, "date": "2026-12-07", "load_average": [7.7, 7.5, 7.5, 4.2, 6.6, 7.3]}
    assert mutate.run_label(timing) == "2026-12-07 (7.7 to 4.2)"
    assert mutate.run_label({"seconds": 1772, "load_average": [9.7, 4.8, 2.8, 10.0, 8.4, 7.3]}) == "?"  # no date
    row = {
        "module": "m.py",
        "mutants": 2,
        "killed": 2,
        "timeouts": 0,
        "survived": 0,
        "uncovered": 0,
        "equivalent": 0,
        "score": 100.0,
        "seconds": 1007,
        "run": mutate.run_label(timing),
    }
    text = f"{mutate.TABLE_START}\n{mutate.table([row])}\n{mutate.TABLE_END}"
    # the README's table reads back as written, the run column included
    assert mutate.tabled_rows(text)["m.py"]["run"] == "2026-12-07 (7.7 to 4.2)"
    assert mutate.tabled_rows(text)["m.py"]["seconds"] == "1007"


def test_a_looping_test_is_killed_at_the_deadline(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "test_it.py").write_text(
        "def test_pass():\n    assert True\n\n"
        "def test_fail():\n    assert False\n\n"
        "def test_loop():\n    while True:\n        pass\n",
        encoding="utf-8",
    )
    log = tmp_path / "log.txt"
    assert mutate._run_child(tree, ["test_it.py::test_pass"], 60, log) == "passed"
    assert mutate._run_child(tree, ["test_it.py::test_fail"], 60, log) == "failed"
    assert mutate._run_child(tree, ["test_it.py::test_loop"], 3, log) == "timeout"


def test_an_equivalent_that_is_killed_or_gone_is_reported_stale():
    Outcome = mutate.Outcome
    outcomes = [Outcome("m.py::f::a#0", 1, "killed", 1, 0.1), Outcome("m.py::f::b#0", 2, "equivalent", 1, 0.1)]
    listed = {"m.py::f::a#0": "r", "m.py::f::b#0": "r", "m.py::f::c#0": "r", "other.py::f::a#0": "r"}
    # a was killed (its line is wrong), c no longer exists (after a full run), other.py is another module's
    assert mutate.stale_equivalents("m.py", outcomes, listed, partial=False) == {"m.py::f::a#0", "m.py::f::c#0"}
    # after a partial run (--limit) a mutant not run is not known to be gone
    assert mutate.stale_equivalents("m.py", outcomes, listed, partial=True) == {"m.py::f::a#0"}


def test_rescore_sets_survivors_aside_by_the_current_list_without_running():
    saved = [
        {"key": "k1", "line": 1, "status": "survived", "tests": 2, "seconds": 1.0},
        {"key": "k2", "line": 2, "status": "equivalent", "tests": 2, "seconds": 1.0},
        {"key": "k3", "line": 3, "status": "killed", "tests": 1, "seconds": 0.5},
        {"key": "k4", "line": 4, "status": "uncovered", "tests": 0, "seconds": 0.0},
    ]
    # k1 is now listed, k2 no longer is, k3 was killed (listing it changes nothing), k4 is listed
    outcomes = mutate.rescore(saved, {"k1": "r", "k3": "r", "k4": "r"})
    assert [o.status for o in outcomes] == ["equivalent", "survived", "killed", "equivalent"]


def test_the_baseline_is_split_into_groups_of_about_equal_time():
    tests = ["a.py", "b.py", "c.py::t", "d.py"]
    seconds = {"a.py": 50.0, "b.py": 30.0, "c.py::t": 15.0, "d.py": 10.0}
    # heaviest first, each to the lighter group: a (50) | b (30), then c (30 + 15 = 45, still under 50), then
    # d (45 + 10 = 55): 50 against 55 s
    assert mutate.split_tests(tests, 2, seconds) == [["a.py"], ["b.py", "c.py::t", "d.py"]]
    # one job, or more jobs than entries: never an empty group; each group keeps the order given
    assert mutate.split_tests(tests, 1, seconds) == [tests]
    assert mutate.split_tests(["a.py", "b.py"], 4, {}) == [["a.py"], ["b.py"]]


def test_an_entry_weighs_the_seconds_of_its_own_tests():
    last = {"t/x.py::a": 1.5, "t/x.py::b[1-2]": 2.0, "t/xy.py::a": 7.0, "t/y.py::c[p]": 4.0, "t/y.py::cd": 9.0}
    # t/x.py is 1.5 + 2.0 (not t/xy.py's test); the node id t/y.py::c is its parametrised case only (not ::cd)
    assert mutate.entry_seconds(["t/x.py", "t/y.py::c", "t/z.py"], last) == {"t/x.py": 3.5, "t/y.py::c": 4.0}


def test_the_mutation_profile_repeats_its_examples_and_does_not_shrink():
    from hypothesis import Phase, settings

    profile = settings.get_profile(mutate.HYPOTHESIS_PROFILE)  # registered by tests/conftest.py
    assert profile.derandomize and profile.database is None and profile.deadline is None
    assert Phase.shrink not in profile.phases and Phase.generate in profile.phases


def test_two_children_run_at_once_each_with_its_own_tree_and_log(tmp_path):
    import time

    logs = {}
    pids = {}
    for name, body in (("one", "assert True"), ("two", "assert 1 == 2")):
        tree = tmp_path / name
        tree.mkdir()
        (tree / "test_it.py").write_text(f"def test_it():\n    {body}\n", encoding="utf-8")
        logs[name] = tmp_path / f"{name}.log"
        pids[name] = mutate._start_child(tree, ["test_it.py"], logs[name])
    results: dict[str, str] = {}
    deadline = time.monotonic() + 60
    while len(results) < 2 and time.monotonic() < deadline:
        for name, pid in pids.items():
            if name not in results and (result := mutate._finished(pid)) is not None:
                results[name] = result
        time.sleep(0.02)
    assert results == {"one": "passed", "two": "failed"}
    # the failure is named in its own log (the short summary), the pass's log has none
    assert mutate._first_failure(logs["two"]) == "test_it.py::test_it"
    assert mutate._first_failure(logs["one"]) == ""
