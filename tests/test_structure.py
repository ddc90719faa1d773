"""The package's layering: the core and the bulletin never import the command-line layer (nor the Python API)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "reoffend"


def imported_modules(path: Path) -> list[str]:
    """Absolute names of the modules a file imports (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
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
    return names


# the front ends: the command line, and the Python API (reoffend/api.py, issue 32), which shares the command's
# run and rendering (measure_run, the terminal views) so the two cannot drift; the core imports neither
FRONT_ENDS = ("cli", "api.py")


def test_nothing_outside_cli_imports_cli():
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] in FRONT_ENDS:
            continue
        bad = [m for m in imported_modules(path) if m == "reoffend.cli" or m.startswith("reoffend.cli.")]
        if bad:
            offenders[str(path.relative_to(PACKAGE))] = bad
    assert offenders == {}


def test_the_scan_sees_a_relative_import_of_cli():
    # the check above would be empty if relative imports were not resolved: one that is, is seen
    sample = PACKAGE / "cli" / "compare.py"
    assert any(m.startswith("reoffend.cli.") for m in imported_modules(sample))


def test_nothing_in_the_core_imports_the_api():
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] in FRONT_ENDS or (path.name == "__init__.py" and path.parent == PACKAGE):
            continue
        bad = [m for m in imported_modules(path) if m == "reoffend.api" or m.startswith("reoffend.api.")]
        if bad:
            offenders[str(path.relative_to(PACKAGE))] = bad
    assert offenders == {}
