"""`reoffend bulletin` against one `reoffend measure` on the same data (issue 16: at most 3x one measure).

Usage: python bench/bulletin.py [--size 1000000] [--runs 3] [--data DIR] [--compare BIN]

The bulletin has the trend, the establishment table, the court-lag curve and one baseline comparison (a
TOML config written next to the data); the measure is `reoffend measure --by establishment,cohort
--exclude-offences`, as bench/run.py times it. Both are whole processes timed from outside
(bench/timing.py), interleaved in rotating order; the table shows medians. ``--compare BIN`` adds another
installation's bulletin (e.g. main's ``reoffend``) in the same rounds. Prints Markdown.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import Run, compile_package, run_timed

BIN = Path(sys.executable).parent
REOFFEND = str(BIN / "reoffend")
DATA = Path(__file__).resolve().parent / "data"

CONFIG = """\
title = "Benchmark bulletin"

[inputs]
releases = "{releases}"
convictions = "{convictions}"
exclude_offences = "{excluded}"

[measure]
establishment = "establishment"

[comparisons.baseline]
site = "EST042"
baseline = "2022Q4"
"""


def timed(cmd: list[str]) -> Run:
    run = run_timed(cmd)
    if run.code != 0:
        raise SystemExit(f"failed (exit {run.code}): {' '.join(cmd)}\n{run.stderr}")
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--compare", help="another reoffend executable (e.g. main's): its bulletin in the same rounds")
    args = parser.parse_args(argv)
    folder = args.data / f"r{args.size}" / "parquet"
    releases, convictions = folder / "releases.parquet", folder / "convictions.parquet"
    if not releases.exists():
        raise SystemExit(f"{releases} missing: run bench/run.py --sizes {args.size} --formats parquet first")
    excluded = args.data / "excluded_offences.txt"
    if not excluded.exists():
        excluded.write_text("BREACH\n", encoding="utf-8")
    compile_package()  # start-up timed as installed (bench/NOTES.md, eighth round: bytecode)
    with tempfile.TemporaryDirectory(prefix="reoffend-bulletin-bench-") as tmp:
        config = Path(tmp) / "job.toml"
        config.write_text(CONFIG.format(releases=releases, convictions=convictions, excluded=excluded))
        commands = {
            "reoffend bulletin": [REOFFEND, "bulletin", "--config", str(config), "-o", f"{tmp}/out", "-q"],
            "reoffend measure": [
                *(REOFFEND, "measure", str(releases), str(convictions), "--by", "establishment,cohort"),
                *("--exclude-offences", str(excluded), "--format", "csv", "-o", f"{tmp}/m.csv"),
            ],
        }
        if args.compare:
            commands["other: reoffend bulletin"] = [
                args.compare,
                *commands["reoffend bulletin"][1:-2],
                f"{tmp}/other",
                "-q",
            ]
        results: dict[str, list[Run]] = {name: [] for name in commands}
        names = list(commands)
        before = os.getloadavg()
        for i in range(args.runs):
            for name in names[i % len(names) :] + names[: i % len(names)]:
                results[name].append(timed(commands[name]))
        after = os.getloadavg()
        lag = (Path(tmp) / "out" / "tables" / "court_lag.csv").exists()
    fields = ("wall", "cpu", "peak_mib")
    med = {n: {f: statistics.median(getattr(r, f) for r in rs) for f in fields} for n, rs in results.items()}
    m = med["reoffend measure"]
    print(f"### bulletin against one measure: {args.size:,} releases, Parquet\n")
    print(
        f"Trend, establishment table, court-lag curve ({'present' if lag else 'ABSENT'}) and one baseline "
        f"comparison. Median of {args.runs} interleaved runs; load average before "
        f"{before[0]:.2f}, after {after[0]:.2f}.\n"
    )
    print("| contestant | wall s (median) | runs (wall s) | CPU s | peak RSS MiB | wall / measure | CPU / measure |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for name, v in med.items():
        each = ", ".join(f"{r.wall:.2f}" for r in results[name])
        print(
            f"| {name} | {v['wall']:.2f} | {each} | {v['cpu']:.2f} | {v['peak_mib']:,.0f} | "
            f"{v['wall'] / m['wall']:.2f} | {v['cpu'] / m['cpu']:.2f} |"
        )
    print("\nTarget (issue 16): the bulletin within 3x one measure.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
