"""What disclosure control over the whole bulletin costs (issue 23: it must not double the bulletin's time).

Usage: python bench/disclosure.py [--sizes 40000,1000000] [--runs 3] [--data DIR]

For each size, a `reoffend synth` population (seed 1; 400 prisons at 40,000 releases, so most groups are small,
110 at 1,000,000) and a bulletin with the establishment table, five breakdowns and the baseline and adjusted
comparisons. In one process per run, the bulletin is computed with the time spent in disclosure control
measured around its two steps (protection: primary, secondary and the audit-driven suppression;
the audit of the published tables), by wrapping the functions the build calls. The table gives medians of
--runs runs: the bulletin's wall time, the two steps, their share, and how many groups were withheld and
counts bounded. Prints Markdown.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
DATA = BENCH / "data"
REOFFEND = str(Path(sys.executable).parent / "reoffend")

CONFIG = """\
title = "Disclosure benchmark"
[inputs]
releases = "{folder}/releases.parquet"
convictions = "{folder}/convictions.parquet"
[measure]
establishment = "establishment"
[comparisons.baseline]
site = "EST042"
baseline = "2022Q4"
[comparisons.adjusted]
baseline = ["2022Q1", "2022Q2", "2022Q3", "2022Q4"]
covariates = ["age", "sex", "sentence_months", "prior_convictions", "index_offence"]
[breakdowns]
columns = ["sex", "age", "prior_convictions", "sentence_months", "index_offence"]
bands = {{ age = [18, 21, 25, 30, 35, 40, 50], prior_convictions = [1, 3, 7, 11], sentence_months = [6, 12, 24, 48] }}
"""


def population(size: int, data: Path) -> Path:
    establishments = 400 if size <= 100_000 else 110
    folder = data / f"disclosure-r{size}-e{establishments}"
    if not (folder / "releases.parquet").exists():
        subprocess.run(
            [REOFFEND, "synth", "--releases", str(size), "--establishments", str(establishments), "--seed", "1",
             "--format", "parquet", "--out", str(folder), "-q"],
            check=True,
        )  # fmt: skip
    (folder / "job.toml").write_text(CONFIG.format(folder=folder), encoding="utf-8")
    return folder


def one_run(job: Path) -> dict[str, float]:
    """The bulletin computed once, with its two disclosure steps timed (wrapped where the build calls them)."""
    import reoffend.bulletin.build as build
    from reoffend.bulletin.config import parse_config

    spent = {"protect": 0.0, "audit": 0.0}
    protect, audit = build.protect, build.audit_publication

    def timed(name, function):
        def run(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start

        return run

    build.protect, build.audit_publication = timed("protect", protect), timed("audit", audit)
    try:
        start = time.perf_counter()
        bulletin = build.compute_bulletin(parse_config(str(job)))
        total = time.perf_counter() - start
    finally:
        build.protect, build.audit_publication = protect, audit
    summary = bulletin.facts["disclosure"]["audit"]
    return {
        "total": total,
        **spent,
        "withheld": summary["withheld_cells"],
        "counts": summary["ranges_checked"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="40000,1000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args(argv)
    args.data.mkdir(parents=True, exist_ok=True)
    print("### Disclosure control's share of the bulletin\n")
    print(
        "Establishment table, five breakdowns, baseline and adjusted comparisons; medians of "
        f"{args.runs} runs in one process each (the first run also imports).\n"
    )
    print("| releases | prisons | bulletin s | protection s | audit s | share | groups withheld | counts bounded |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        folder = population(size, args.data)
        runs = [one_run(folder / "job.toml") for _ in range(args.runs)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        share = (med["protect"] + med["audit"]) / med["total"]
        prisons = 400 if size <= 100_000 else 110
        print(
            f"| {size:,} | {prisons} | {med['total']:.2f} | {med['protect']:.2f} | {med['audit']:.2f} | "
            f"{100 * share:.0f}% | {med['withheld']:.0f} | {med['counts']:.0f} |"
        )
    print("\nTarget (issue 23): disclosure control must not double the bulletin's time at 1,000,000 releases.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
