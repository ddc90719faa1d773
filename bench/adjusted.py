"""Benchmark of ``reoffend compare adjusted``: fit on ~1M baseline releases, score ~1M current. Prints Markdown.

Usage: python bench/adjusted.py [--releases 2250000]

Generates (once, then reuses) a seeded synthetic population under ``bench/data/adjusted_r<N>/`` with
``reoffend synth`` (eight quarterly cohorts 2022Q1-2023Q4; 2,250,000 release rows give about a million index
releases in 2022 and a little more in 2023), then runs the command as users do, in a fresh process: baseline
2022Q1-2022Q4, current 2023Q1-2023Q4, per establishment and cohort, five covariates (three numeric, two
categorical: 12 model terms). Wall time is end to end (read Parquet, validate, the measure core's index
releases and outcomes, both baseline models, scoring, writing JSON); peak memory is the process's maximum
resident set (``wait4``'s ``ru_maxrss``). Run once with the default NB2 count model and once with Poisson.

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

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/timing.py, also when loaded by path
from timing import run_timed

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).with_name("reoffend")
COVARIATES = "age,sex,sentence_months,prior_convictions,index_offence"
BASELINE = "2022Q1,2022Q2,2022Q3,2022Q4"
CURRENT = "2023Q1,2023Q2,2023Q3,2023Q4"


def ensure_data(releases: int) -> Path:
    folder = ROOT / "bench" / "data" / f"adjusted_r{releases}"
    if not (folder / "releases.parquet").exists() or not (folder / "convictions.parquet").exists():
        subprocess.run(
            [str(BIN), "synth", "--releases", str(releases), "--seed", "7", "--out", str(folder)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return folder


def run(folder: Path, count_model: str, out: Path) -> dict:
    args = [
        str(BIN),
        "compare",
        "adjusted",
        str(folder / "releases.parquet"),
        str(folder / "convictions.parquet"),
        "--baseline",
        BASELINE,
        "--current",
        CURRENT,
        "--by",
        "establishment",
        "--covariates",
        COVARIATES,
        "--count-model",
        count_model,
        "--incomplete",
        "exclude",
        "--json",
        "-o",
        str(out),
        "-q",
    ]
    run = run_timed(args)
    code = run.code
    result = {"wall": run.wall, "peak_mb": run.peak_mib, "code": code, "error": run.stderr.strip()[:200]}
    if code == 0:
        document = json.loads(out.read_text())
        result["metadata"] = document["metadata"]
        result["models"] = document["baseline_models"]
        result["rows"] = len(document["rows"])
        result["treated"] = [r for r in document["rows"] if r["establishment"] == "EST042"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=2_250_000)
    options = parser.parse_args()

    started = time.perf_counter()
    folder = ensure_data(options.releases)
    prepared = time.perf_counter() - started

    print(f"## compare adjusted: {options.releases:,} release rows\n")
    print(
        "`reoffend compare adjusted` end to end in a fresh process (read Parquet, validate, index releases and "
        "outcomes from the measure core, logistic and count models fitted on the baseline, every current release "
        f"scored, JSON written), on {os.cpu_count()} CPU(s), Python {platform.python_version()}. Data: "
        f"`reoffend synth --releases {options.releases} --seed 7` (generated once; preparation {prepared:.1f} s, "
        f"not counted). Baseline {BASELINE}, current {CURRENT}, `--by establishment`, covariates {COVARIATES}.\n"
    )
    print(
        "| count model | baseline releases | current releases | comparisons | binary AUC | NB alpha | wall (s) "
        "| peak memory (MB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for count_model in ("negbin", "poisson"):
        result = run(folder, count_model, folder / "bench_out.json")
        if result["code"] != 0:
            print(
                f"| {count_model} | failed (exit {result['code']}): {result['error']} | | | | | "
                f"{result['wall']:.1f} | |"
            )
            continue
        meta, models = result["metadata"], result["models"]
        alpha = models["frequency"]["alpha"]
        print(
            f"| {count_model} | {meta['baseline_releases']:,} | {meta['current_releases']:,} | {result['rows']:,} | "
            f"{models['binary']['auc']:.3f} | {'–' if alpha is None else f'{alpha:.3f}'} | {result['wall']:.1f} | "
            f"{result['peak_mb']:,.0f} |"
        )
    print(
        "\nTarget (issue 7): fitting on a 1,000,000-release baseline and scoring 1,000,000 current releases in "
        "under 60 s on 2 cores."
    )


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # make bench collects the output: report the failure in it, exit 0
        print(f"\n**compare adjusted benchmark failed**: {type(error).__name__}: {error}")
    sys.exit(0)
