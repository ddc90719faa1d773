"""Start-up loads only what a command needs (issue 30): `reoffend --version` needs no data frame, so it must
not import polars, numpy, statsmodels or rich. Checked by the modules a fresh interpreter has loaded,
never by a time."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("polars", "numpy", "scipy", "statsmodels", "rich", "matplotlib")

PROBE = """
import sys
from reoffend.cli import main
try:
    main({args!r})
except SystemExit:
    pass
heavy = sorted(name for name in {heavy!r} if name in sys.modules)
print("loaded:" + ",".join(heavy))
"""


def loaded_after(args: list[str]) -> list[str]:
    """The heavy modules a fresh interpreter holds after running ``reoffend ARGS`` in process."""
    probe = PROBE.format(args=args, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith("loaded:"))
    return [name for name in line.removeprefix("loaded:").split(",") if name]


@pytest.mark.parametrize("args", [["--version"], ["-V"]])
def test_version_and_help_load_no_data_library(args):
    assert loaded_after(args) == []


def test_importing_the_command_line_loads_no_data_library():
    probe = f"import sys, reoffend.cli; print(sorted(n for n in {HEAVY!r} if n in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_problem_schema_types_a_frame_as_before():
    """PROBLEM_SCHEMA holds Python's types (so that reoffend.errors loads no polars): polars reads them as the
    String and Int64 columns the problem frames always had."""
    import polars as pl

    from reoffend.errors import PROBLEM_SCHEMA, single_problem

    assert pl.DataFrame(schema=PROBLEM_SCHEMA).schema == pl.Schema(
        {
            "file": pl.String,
            "row": pl.Int64,
            "column": pl.String,
            "rule": pl.String,
            "value": pl.String,
            "message": pl.String,
        }
    )
    problems = single_problem("r.csv", "release_date", "bad-date", "not a date", row=3, value="x").problems
    assert problems.schema["row"] == pl.Int64 and problems.row(0) == (
        "r.csv",
        3,
        "release_date",
        "bad-date",
        "x",
        "not a date",
    )


POWER_FROM_NUMBERS = ["power", "--baseline-rate", "0.45", "--current-size", "500", "--baseline-size", "500", "-q"]


@pytest.mark.parametrize("output", [["--format", "csv"], ["--format", "tsv"], ["--json"]])
def test_power_from_numbers_loads_no_data_library(output):
    """`reoffend power` from numbers needs no data frame (issue 30): its arithmetic is plain Python
    (statistics.NormalDist, math.erf), its CSV, TSV and JSON are written from plain rows, and the option layer
    loads the measure only to measure records. Nothing heavy: no polars, numpy, scipy, statsmodels, rich."""
    assert loaded_after([*POWER_FROM_NUMBERS, *output]) == []


def test_power_to_a_terminal_table_or_parquet_still_works_through_polars():
    """The formats written from the frame load polars (only those): Parquet here."""
    assert "polars" in loaded_after([*POWER_FROM_NUMBERS, "--format", "parquet", "-o", "/dev/null"])


def test_the_bulletin_loads_no_comparison_it_does_not_run():
    """The bulletin's modules load no ``scipy.stats`` (and no ``statsmodels``): only a risk-adjusted comparison
    needs them, and it imports them when it runs (bench/NOTES.md: about half a CPU second at every start)."""
    probe = (
        "import sys, reoffend.bulletin.build; "
        "print(sorted(n for n in ('scipy.stats', 'statsmodels', 'reoffend.compare.adjusted') if n in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_bulletin_leaves_numpy_and_scipy_to_its_chart_thread():
    """Importing the bulletin's modules loads no numpy (the chart thread imports it while polars reads:
    bulletin.build.ChartWorker) and no scipy (the p-values are reoffend/ndtr.py), nor the nowcast modules,
    which only a bulletin with [provisional] needs (bench/NOTES.md, ninth round)."""
    probe = (
        "import sys, reoffend.bulletin.build; "
        "print(sorted(n for n in ('numpy', 'scipy', 'reoffend.nowcast', 'reoffend.drift') if n in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
