"""The package's layering and the size of its steps (issue 31; CONTRIBUTING.md, "Layout").

From the top: the front ends (``cli/``, ``api.py``) parse options and print; the rendering layer (``bulletin/`` and
report's wording modules: ``format``, ``views``, ``tables``, ``markdown``, ``datalab``, ``sensitivity``,
``evaluation_report``, ``terminal``) words and formats results; below it the core computes and decides (``compare/``,
``measure``, ``window``, ``nowcast``, ...), with the decision modules ``report.verdict``, ``report.multiple``,
``report.schema`` and the number words of messages (``messages``) at its foot. Imports point down only. Read
from the AST of every module, so an import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "reoffend"


def imports_in(source: str, package: str) -> list[str]:
    """Absolute names of the modules ``source`` imports, relative imports resolved against ``package`` (the
    dotted package the module is in): ``from ..report.format import pct`` gives ``reoffend.report.format`` and
    ``reoffend.report.format.pct``."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.append(module)
            names += [f"{module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Call) and (named := imported_by_name(node)):
            names.append(named)
    return names


IMPORTING_CALLS = ("lazy_module", "import_module", "importlib.import_module", "__import__")


def imported_by_name(call: ast.Call) -> str | None:
    """The module a call imports by its name, when the name is a string of the package's
    (``lazy_module("reoffend.compare.power")``, ``importlib.import_module("reoffend.cli.measure")``): such an
    import points the same way as an import statement, so it is checked as one."""
    if ast.unparse(call.func) not in IMPORTING_CALLS or not call.args:
        return None
    first = call.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str) and within(first.value, ("reoffend",)):
        return first.value
    return None


def imported_modules(path: Path) -> list[str]:
    """Absolute names of the modules a file of the package imports."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    return imports_in(path.read_text(encoding="utf-8"), package)


def modules() -> Iterator[tuple[str, Path]]:
    """Every module of the package, by its path relative to the package (``compare/matched.py``)."""
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), path


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    """Whether the module ``name`` is one of ``prefixes`` or inside one of them (a package)."""
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


# ------------------------------------------------------------------------------------------------ layers
# the front ends: the command line, and the Python API (reoffend/api.py, issue 32), which shares the command's
# run and rendering (measure_run, the terminal views) so the two cannot drift; the core imports neither
FRONT_ENDS = ("cli", "api.py")
TOP = "__init__.py"  # the package's names: the API's functions, imported when first asked for (PEP 562)

# the rendering layer: the modules that word and format a result, and the bulletin built from them
WORDING = tuple(
    f"reoffend.report.{name}"
    for name in ("format", "views", "tables", "markdown", "datalab", "sensitivity", "evaluation_report", "terminal")
)
RENDERING = (*WORDING, "reoffend.bulletin")

# the core the issue names: each must be below the rendering layer (so the rule below cannot miss one)
NAMED_CORE = (
    "compare/",
    "measure.py",
    "window.py",
    "intervals.py",
    "nowcast.py",
    "disclosure.py",
    "linked.py",
    "validate.py",
    "io.py",
    "messages.py",
    "report/verdict.py",
    "report/multiple.py",
    "report/schema.py",
)


def dotted(relative: str) -> str:
    """``compare/matched.py`` -> ``reoffend.compare.matched`` (a package's ``__init__`` is the package)."""
    parts = ["reoffend", *Path(relative).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_front_end(relative: str) -> bool:
    return relative.split("/")[0] in FRONT_ENDS or relative == TOP


# between the front ends and the rendering layer: one run of each command, shared by both (issue 32)
RUNS = "runs"


def is_run(relative: str) -> bool:
    return relative.split("/")[0] == RUNS


def below_rendering(relative: str) -> bool:
    """The core: every module that is neither a front end, a run nor part of the rendering layer."""
    return not is_front_end(relative) and not is_run(relative) and not within(dotted(relative), RENDERING)


def test_nothing_outside_cli_imports_cli():
    offenders = {}
    for relative, path in modules():
        if is_front_end(relative):
            continue
        bad = [m for m in imported_modules(path) if within(m, ("reoffend.cli",))]
        if bad:
            offenders[relative] = bad
    assert offenders == {}


def test_the_scan_sees_a_relative_import_of_cli():
    # the check above would be empty if relative imports were not resolved: one that is, is seen
    sample = PACKAGE / "cli" / "compare.py"
    assert any(m.startswith("reoffend.cli.") for m in imported_modules(sample))


def test_only_the_front_ends_import_the_runs():
    """reoffend/runs/ sits under the front ends: the rendering layer and the core never import it."""
    offenders = {}
    for relative, path in modules():
        if is_front_end(relative) or is_run(relative):
            continue
        bad = [m for m in imported_modules(path) if within(m, ("reoffend.runs",))]
        if bad:
            offenders[relative] = bad
    assert offenders == {}


def test_the_api_imports_nothing_from_the_command_line():
    """The Python API and the command line are two front ends over the same runs (reoffend/runs/) and the same
    terminal views (reoffend/report/terminal/): neither is built on the other."""
    assert [m for m in imported_modules(PACKAGE / "api.py") if within(m, ("reoffend.cli",))] == []


def test_nothing_in_the_core_imports_the_api():
    offenders = {}
    for relative, path in modules():
        if is_front_end(relative):
            continue
        bad = [m for m in imported_modules(path) if within(m, ("reoffend.api",))]
        if bad:
            offenders[relative] = bad
    assert offenders == {}


def wording_imports(path: Path) -> list[str]:
    """The rendering-layer modules (report's wording, the bulletin) a module imports."""
    return sorted({m for m in imported_modules(path) if within(m, RENDERING)})


def test_the_core_imports_no_wording_and_no_bulletin():
    """compare/ and the other core modules compute and decide; the rendering layer above them words the result
    (statsmodels: results compute, summary() renders). A core module that wants a sentence returns the numbers,
    and the caller words them through report.views (or report.datalab, report.evaluation_report)."""
    offenders = {
        relative: wording_imports(path)
        for relative, path in modules()
        if below_rendering(relative) and wording_imports(path)
    }
    assert offenders == {}


# the foot of the package: the decisions and the vocabulary every layer above may use (CONTRIBUTING.md, "Layout")
BOTTOM = (
    "report/verdict.py",
    "report/multiple.py",
    "report/schema.py",
    "messages.py",
    "errors.py",
    "run_warnings.py",
    "lazy_import.py",
    "run_state.py",
)


def test_the_bottom_layer_imports_nothing_of_the_package_above_it():
    """The verdict rule, the multiple-testing adjustment, the schemas, the message words, the errors, the warning
    codes, the lazy importer and the run's state import only from each other: every layer may use them, so they
    can use none (a cycle otherwise)."""
    bottom = tuple(dotted(relative) for relative in BOTTOM)
    offenders = {}
    for relative in BOTTOM:
        above = [m for m in imported_modules(PACKAGE / relative) if within(m, ("reoffend",)) and not within(m, bottom)]
        if above:
            offenders[relative] = above
    assert offenders == {}


def test_the_scan_sees_an_import_by_name():
    source = (
        "import importlib\nfrom ..lazy_import import lazy_module\n"
        "power = lazy_module('reoffend.compare.power')\npl = lazy_module('polars')\n"
        "views = importlib.import_module('reoffend.report.views')\n"
    )
    imported = imports_in(source, "reoffend.report")
    assert [m for m in imported if m.startswith("reoffend.") and "lazy_import" not in m] == [
        "reoffend.compare.power",
        "reoffend.report.views",
    ]


CONTRIBUTING = PACKAGE.parent / "CONTRIBUTING.md"


def test_every_module_and_folder_of_the_package_is_on_the_map():
    """CONTRIBUTING.md's map places every top-level module and folder of reoffend/ (by its name, ``intervals.py``
    or ``report/``), so a newcomer finds where each lives and which way its imports go."""
    text = CONTRIBUTING.read_text(encoding="utf-8")
    entries = [
        path.name + ("/" if path.is_dir() else "")
        for path in sorted(PACKAGE.iterdir())
        if not path.name.startswith(("_", ".")) and (path.is_dir() or path.suffix == ".py")
    ]
    assert len(entries) > 20
    assert [entry for entry in entries if entry not in text] == []


def test_the_named_core_modules_are_below_the_rendering_layer():
    core = [relative for relative, _ in modules() if relative.startswith(NAMED_CORE)]
    assert len(core) > len(NAMED_CORE)  # compare/ is many modules
    assert [relative for relative in core if not below_rendering(relative)] == []


def test_the_scan_sees_a_wording_import_from_compare():
    source = "from ..report.views import matched_headlines\nfrom ..report.verdict import Verdict\n"
    imported = imports_in(source, "reoffend.compare")
    assert [m for m in imported if within(m, RENDERING)] == [
        "reoffend.report.views",
        "reoffend.report.views.matched_headlines",
    ]  # and the decision module below compare/ is not wording


# -------------------------------------------------------------------------------------- the terminal
TERMINAL_MODULES = ("click", "rich")
# io.write_stdout writes a result's bytes to standard output for the front ends (``-o -``): the one writer of it
STDOUT_WRITER = "io.py"
# the terminal views draw rich tables on a console the front end gives them (standard output, or the API's buffer)
CONSOLE_DRAWERS = "report/terminal/"


def terminal_uses(source: str) -> list[str]:
    """What in ``source`` reaches the terminal or ends the process: print(), sys.exit()/exit()/quit()/
    os._exit(), raise SystemExit, a write to sys.stdout or sys.stderr, an import of click or rich."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in ("print", "exit", "quit"):
                found.append(f"line {node.lineno}: {func.id}()")
            elif isinstance(func, ast.Attribute):
                target = ast.unparse(func)
                if target in ("sys.exit", "os._exit") or target.startswith(("sys.stdout.", "sys.stderr.")):
                    found.append(f"line {node.lineno}: {target}()")
        elif isinstance(node, ast.Raise) and node.exc is not None:
            raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(raised, ast.Name) and raised.id == "SystemExit":
                found.append(f"line {node.lineno}: raise SystemExit")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"line {node.lineno}: import {n}" for n in names if within(n, TERMINAL_MODULES)]
    return found


def test_outside_the_front_ends_nothing_prints_exits_or_uses_click():
    """The core and the rendering layer return values and raise ReoffendError; only cli/ (and the API's render,
    which prints to a console it is given) reaches the terminal or sets the exit status. The terminal views draw
    rich tables on the console a front end gives them, and open none of their own."""
    offenders = {}
    for relative, path in modules():
        if is_front_end(relative):
            continue
        found = terminal_uses(path.read_text(encoding="utf-8"))
        if relative == STDOUT_WRITER:
            found = [use for use in found if "sys.stdout." not in use]
        if relative.startswith(CONSOLE_DRAWERS):  # rich, never click
            found = [use for use in found if not within(use.split("import ")[-1], ("rich",))]
        if found:
            offenders[relative] = found
    assert offenders == {}


def test_the_terminal_scan_sees_each_kind():
    source = (
        "import sys\nimport click\nfrom rich.console import Console\n"
        "def f():\n    print('x')\n    sys.exit(2)\n    sys.stderr.write('x')\n    raise SystemExit(1)\n"
    )
    assert sorted(use.split(": ")[1] for use in terminal_uses(source)) == [
        "import click",
        "import rich.console",
        "print()",
        "raise SystemExit",
        "sys.exit()",
        "sys.stderr.write()",
    ]


# ------------------------------------------------------------------------------------------ step size
MAX_FUNCTION_LINES = 100

# Functions over the limit that other branches are splitting now (issue 31); the lead empties this at merge.
BEING_SPLIT: dict[str, str] = {}


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> dict[str, int]:
    """Every function (or method, by ``Class.name``; a nested function by ``outer.inner``) in ``source`` longer
    than ``limit`` lines, from its ``def`` line to its last, with its length."""
    found: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    length = (child.end_lineno or child.lineno) - child.lineno + 1
                    if length > limit:
                        found[name] = length
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return found


TOOLS = PACKAGE.parent / "tools"


def stepped_modules() -> Iterator[tuple[str, Path]]:
    """The package's modules and the tools' (``tools/mutate.py``): the code a reader follows step by step."""
    yield from modules()
    for path in sorted(TOOLS.rglob("*.py")):
        yield path.relative_to(PACKAGE.parent).as_posix(), path


def test_no_function_is_over_100_lines():
    """A reader follows a function in named steps (issue 31): over 100 lines, split it into the steps it takes.
    The tools too (tools/mutate.py's main and campaign were split so)."""
    offenders = {}
    for relative, path in stepped_modules():
        for name, length in long_functions(path.read_text(encoding="utf-8")).items():
            if f"{relative}:{name}" not in BEING_SPLIT:
                offenders[f"{relative}:{name}"] = length
    assert offenders == {}
    assert "tools/mutate.py" in dict(stepped_modules())


def test_the_length_scan_sees_a_long_function_and_a_long_method():
    body = "".join(f"    x{i} = {i}\n" for i in range(99))
    source = (
        f"def short():\n{body}\nclass C:\n    def long(self):\n    {body.replace(chr(10), chr(10) + '    ')}    pass\n"
    )
    assert long_functions(source) == {"C.long": 101}
