"""Start-up of the commands that need no data frame (issue 30: under 0.15 s), beside the interpreter's own.

Usage: python bench/startup.py [--runs 15] [--compare OTHER_REOFFEND]

Each contestant is a whole process timed from outside (bench/timing.py: wall, CPU, peak memory), run
interleaved in rotating order; the table shows medians and the load average beside them, as the machine may be
shared. ``--compare`` adds the same commands run by another installation's ``reoffend`` (e.g. main's), in the
same rounds. Prints Markdown. Not a timed test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/timing.py
from timing import run_timed

PYTHON = sys.executable
REOFFEND = str(Path(sys.executable).with_name("reoffend"))
POWER = ["power", "--baseline-rate", "0.45", "--current-size", "500", "--baseline-size", "500", "-q", "--format", "csv"]
TARGET = 0.15


def contestants(compare: str | None) -> dict[str, list[str]]:
    found = {
        "python -c pass": [PYTHON, "-c", "pass"],
        "python -c 'import polars'": [PYTHON, "-c", "import polars"],
        "reoffend --version": [REOFFEND, "--version"],
        "reoffend power (numbers, no data)": [REOFFEND, *POWER],
    }
    if compare:
        found["other: reoffend --version"] = [compare, "--version"]
        found["other: reoffend power (numbers, no data)"] = [compare, *POWER]
    return found


def load() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--compare", help="another reoffend executable, timed in the same rounds")
    args = parser.parse_args()
    commands = contestants(args.compare)
    runs: dict[str, list] = {name: [] for name in commands}
    before = load()
    names = list(commands)
    for i in range(args.runs):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            run = run_timed(commands[name])
            if run.code != 0:
                raise SystemExit(f"{name} failed (exit {run.code}): {run.stderr}")
            runs[name].append(run)
    after = load()
    print(f"Median of {args.runs} interleaved runs; load average (1/5/15 min) before {before}, after {after}.\n")
    print("| command | wall s (median) | wall s (min) | CPU s (median) | peak RSS MiB | under 0.15 s (median wall) |")
    print("|---|---:|---:|---:|---:|---|")
    for name, done in runs.items():
        wall = statistics.median(r.wall for r in done)
        met = "–" if name.startswith("python") else ("yes" if wall < TARGET else "no")
        cpu, peak = statistics.median(r.cpu for r in done), statistics.median(r.peak_mib for r in done)
        print(f"| {name} | {wall:.3f} | {min(r.wall for r in done):.3f} | {cpu:.3f} | {peak:.0f} | {met} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
