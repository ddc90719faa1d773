"""Benchmark of ``reoffend compare matched`` against a 1,000,000-release pool. Prints a Markdown section.

Usage: python bench/matched.py [--releases 1000000] [--bootstrap 2000]

Generates (once, then reuses) a seeded synthetic population under ``bench/data/matched_r<N>/`` with
``reoffend synth``, writes id lists of 1,000 and 10,000 treated people (drawn at random, seeded, among the
people with a single release in 20 establishments, so each has exactly one index release and the treated
differ from the pool in offender mix), and runs the command as users do, in a fresh process each time:
end-to-end wall time (reading, validation, the measure, the propensity model, matching, 2,000 bootstrap
replicates, writing JSON) and the peak resident memory of that process (``wait4``'s ``ru_maxrss``). A third
run is the Peterborough-style one: every index release of EST042 treated.

Always exits 0 (``make bench`` collects its output); a failed run is reported in the table with its error.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/timing.py, also when loaded by path
from timing import run_timed

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).with_name("reoffend")
COVARIATES = "age,sex,sentence_months,prior_convictions,index_offence"


def ensure_data(releases: int) -> Path:
    folder = ROOT / "bench" / "data" / f"matched_r{releases}"
    if not (folder / "releases.parquet").exists() or not (folder / "convictions.parquet").exists():
        subprocess.run(
            [str(BIN), "synth", "--releases", str(releases), "--seed", "1", "--out", str(folder), "-q"], check=True
        )
    return folder


def id_list(folder: Path, n: int) -> Path:
    path = folder / f"treated_ids_{n}.txt"
    if path.exists():
        return path
    releases = pl.read_parquet(folder / "releases.parquet", columns=["offender_id", "establishment"])
    single = (
        releases.group_by("offender_id")
        .agg(pl.len().alias("n"), pl.col("establishment").first())
        .filter((pl.col("n") == 1) & pl.col("establishment").is_in([f"EST{i:03d}" for i in range(1, 21)]))
        .sort("offender_id")
        .get_column("offender_id")
        .to_numpy()
    )
    chosen = np.sort(np.random.default_rng(20240401).choice(single, size=min(n, single.size), replace=False))
    path.write_text("\n".join(chosen.tolist()) + "\n")
    return path


def run(folder: Path, treated: list[str], bootstrap: int, out: Path) -> dict:
    args = [
        str(BIN),
        "compare",
        "matched",
        str(folder / "releases.parquet"),
        str(folder / "convictions.parquet"),
        *treated,
        "--covariates",
        COVARIATES,
        "--incomplete",
        "exclude",
        "--bootstrap",
        str(bootstrap),
        "--seed",
        "1",
        "--json",
        "-o",
        str(out),
        "-q",
    ]
    run = run_timed(args)
    code = run.code
    result = {"wall": run.wall, "peak_mb": run.peak_mib, "code": code, "error": run.stderr.strip()[:200]}
    if code == 0:
        doc = json.loads(out.read_text())
        result["diagnostics"] = doc["diagnostics"]
        result["pooled"] = doc["rows"][-1]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=1_000_000)
    parser.add_argument("--bootstrap", type=int, default=2000)
    options = parser.parse_args()

    started = time.perf_counter()
    folder = ensure_data(options.releases)
    cases = [
        ("1,000 people (id list)", ["--treated-ids", str(id_list(folder, 1_000))]),
        ("10,000 people (id list)", ["--treated-ids", str(id_list(folder, 10_000))]),
        ("establishment EST042", ["--treated", "establishment=EST042"]),
    ]
    prepared = time.perf_counter() - started

    print(f"## compare matched: {options.releases:,} releases, {options.bootstrap:,} bootstrap replicates\n")
    print(
        f"`reoffend compare matched` end to end in a fresh process (read Parquet, validate, measure, propensity "
        f"model, matching with --ratio 10 --caliper 0.2, {options.bootstrap:,} bootstrap replicates, JSON written), "
        f"on {os.cpu_count()} CPU(s), Python {platform.python_version()}. Data: `reoffend synth --releases "
        f"{options.releases} --seed 1` (generated once; preparation {prepared:.1f} s, not counted).\n"
    )
    print(
        "| treated | treated index releases | matched | pool | distinct comparators | effective size | wall (s) "
        "| peak memory (MB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, treated in cases:
        result = run(folder, treated, options.bootstrap, folder / "bench_out.json")
        if result["code"] != 0:
            print(f"| {label} | failed (exit {result['code']}): {result['error']} | | | | | {result['wall']:.1f} | |")
            continue
        d = result["diagnostics"]
        print(
            f"| {label} | {d['treated']:,} | {d['matched']:,} | {d['pool_units']:,} | {d['comparators_used']:,} | "
            f"{d['effective_comparison_size']:,.0f} | {result['wall']:.1f} | {result['peak_mb']:,.0f} |"
        )
    print(
        "\nTarget (issue 6): 10,000 treated against a 1,000,000-release pool in under 30 s on 2 cores, "
        "including 2,000 bootstrap replicates."
    )


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # make bench collects the output: report the failure in it, exit 0
        print(f"\n**compare matched benchmark failed**: {type(error).__name__}: {error}")
    sys.exit(0)
