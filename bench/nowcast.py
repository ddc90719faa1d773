"""Benchmark of ``reoffend nowcast`` against ``reoffend measure`` on the same data. Prints a Markdown section.

Usage: python bench/nowcast.py [--releases 1000000] [--runs 3]

The data is ``reoffend synth --releases N --seed 1 --extract-date 2024-06-30`` (generated once under
``bench/data/nowcast_r<N>/``): eight quarterly cohorts of 2022-2023 extracted mid-2024, so half of the releases
are still in follow-up, as when provisional figures are wanted. Both commands run as users run them, in a
fresh process each time, interleaved: ``measure --incomplete exclude`` (the final figures it can give) and
``nowcast`` (final and provisional figures, after its quick backtest: issue 25) and ``nowcast --no-check``,
each with ``--exclude-offences``; and bench/bare_nowcast.py, the nowcast's core with its check's origins and none of
its rules (the bound: the cheapest plan of that core found so far, not a proof). Target (issue 30): nowcast's
median wall time at most 2 x measure's (issue 15 asked under 3). ``--compare BIN`` adds another installation's
nowcast (e.g. main's) in the same rounds. Always exits 0 (``make bench`` collects its output).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/timing.py, also when loaded by path
from timing import compile_package, run_timed

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).with_name("reoffend")
EXTRACT = "2024-06-30"
TARGET = 2.0  # nowcast at most 2 x measure (issue 30; issue 15 asked under 3)
BARE = "bare nowcast (bench/bare_nowcast.py: the core at 5 origins, no rules)"


def ensure_data(releases: int) -> Path:
    folder = ROOT / "bench" / "data" / f"nowcast_r{releases}"
    if not (folder / "convictions.parquet").exists():
        cmd = [str(BIN), "synth", "--releases", str(releases), "--seed", "1", "--extract-date", EXTRACT]
        subprocess.run([*cmd, "--out", str(folder), "-q"], check=True)
    excluded = folder / "excluded_offences.txt"
    excluded.write_text("BREACH\n", encoding="utf-8")
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare", help="another reoffend executable (e.g. main's): its nowcast in the same rounds")
    args = parser.parse_args()
    folder = ensure_data(args.releases)
    compile_package()  # start-up timed as installed, not compiling the package each run (as bench/run.py)
    files = [str(folder / "releases.parquet"), str(folder / "convictions.parquet")]
    common = ["--exclude-offences", str(folder / "excluded_offences.txt"), "--format", "csv", "-q"]
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "measure --incomplete exclude": [str(BIN), "measure", *files, *common, "--incomplete", "exclude"],
            "nowcast": [str(BIN), "nowcast", *files, *common],
            # issue 25: the default runs a quick backtest first (the honesty check); without it
            "nowcast --no-check": [str(BIN), "nowcast", *files, *common, "--no-check"],
        }
        if args.compare:
            commands["other: nowcast"] = [args.compare, "nowcast", *files, *common]
            commands["other: nowcast --no-check"] = [args.compare, "nowcast", *files, *common, "--no-check"]
        excluded = str(folder / "excluded_offences.txt")
        commands[BARE] = [sys.executable, str(ROOT / "bench" / "bare_nowcast.py"), *files, excluded, EXTRACT]
        runs: dict[str, list] = {name: [] for name in commands}
        for i in range(args.runs):
            for name in list(commands)[i % len(commands) :] + list(commands)[: i % len(commands)]:
                output = [] if name == BARE else ["-o", f"{tmp}/out.csv"]
                run = run_timed([*commands[name], *output])
                runs[name].append(run)
    print(f"#### `reoffend nowcast` at {args.releases:,} releases (Parquet, extract {EXTRACT})\n")
    print("| command | wall s (median) | runs (wall s) | peak RSS MiB | CPU s | exit |")
    print("|---|---:|---|---:|---:|---|")
    medians = {}
    for name, done in runs.items():
        medians[name] = statistics.median(r.wall for r in done)
        print(
            f"| {name} | {medians[name]:.2f} | {', '.join(f'{r.wall:.2f}' for r in done)} "
            f"| {statistics.median(r.peak_mib for r in done):,.0f} | {statistics.median(r.cpu for r in done):.2f} "
            f"| {', '.join(str(r.code) for r in done)} |"
        )
    measured = "measure --incomplete exclude"
    cpu = {name: statistics.median(r.cpu for r in done) for name, done in runs.items()}
    for name in [n for n in runs if n not in (measured, BARE)]:
        ratio = medians[name] / medians[measured]
        verdict = "met" if ratio <= TARGET else "NOT met"
        print(
            f"\n{name} / measure wall time: **{ratio:.2f}**, CPU time {cpu[name] / cpu[measured]:.2f} "
            f"(target, issue 30: at most {TARGET:g}; {verdict})."
        )
    print(
        f"\nThe bound: bench/bare_nowcast.py, the nowcast's core at the extract and the check's four origins with "
        f"none of its rules (not a correct nowcast), is {medians[BARE] / medians[measured]:.2f} x measure by wall "
        f"time, {cpu[BARE] / cpu[measured]:.2f} by CPU."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
