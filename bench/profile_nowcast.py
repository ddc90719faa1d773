"""Where `reoffend nowcast` spends its CPU time, stage by stage, in one process (issue 30).

Usage: python bench/profile_nowcast.py [--releases 1000000] [--no-check] [--repeat 1]

The nowcast of bench/nowcast.py (its data, ``bench/data/nowcast_r<N>``, and options) run in process through the
command line's entry point, each named function of reoffend.nowcast (and a few it calls) wrapped with
``time.process_time()`` (CPU of all threads): nested stages are included in their parent's figure. Shares, not
bounds: timing in process, on whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = [
    ("reoffend.inputs", "load_inputs"),
    ("reoffend.nowcast", "development"),
    ("reoffend.nowcast", "lag_events"),
    ("reoffend.nowcast", "origin_states"),
    ("reoffend.nowcast", "seen_by_origin"),
    ("reoffend.nowcast", "observed_from"),
    ("reoffend.nowcast", "observed_at"),
    ("reoffend.nowcast", "development_sums"),
    ("reoffend.nowcast", "nowcast_at"),
    ("reoffend.nowcast", "group_counts"),
    ("reoffend.nowcast", "court_lag_check"),
    ("reoffend.nowcast", "_development_tables"),
    ("reoffend.nowcast", "censored_shares"),
    ("reoffend.nowcast", "_expectations"),
    ("reoffend.nowcast", "level_credibility"),
    ("reoffend.nowcast", "_provisional_groups"),
    ("reoffend.nowcast", "_with_lag_model_error"),
    ("reoffend.nowcast", "_reference_warnings"),
    ("reoffend.nowcast", "months_observed"),
    ("reoffend.nowcast", "_assemble"),
    ("reoffend.nowcast", "group_measures"),
    ("reoffend.nowcast", "backtest"),
    ("reoffend.nowcast", "backtest_origins"),
    ("reoffend.nowcast", "check_nowcast"),
    ("reoffend.drift", "fit_lag"),
]

totals: dict[str, float] = defaultdict(float)
calls: dict[str, int] = defaultdict(int)
order: list[str] = []


def timed(name: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if name not in order:
            order.append(name)
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[name] += time.process_time() - start
            calls[name] += 1

    return wrapper


def timed_generator(name: str, fn):
    """A generator's time is spent in its ``next`` calls: each is timed."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        inner = fn(*args, **kwargs)
        while True:
            if name not in order:
                order.append(name)
            start = time.process_time()
            try:
                item = next(inner)
            except StopIteration:
                return
            finally:
                totals[name] += time.process_time() - start
                calls[name] += 1
            yield item

    return wrapper


def patch() -> None:
    import inspect

    for module_name, attribute in STAGES:
        module = importlib.import_module(module_name)
        original = getattr(module, attribute)
        make = timed_generator if inspect.isgeneratorfunction(original) else timed
        wrapped = make(attribute, original)
        for loaded in list(sys.modules.values()):
            if getattr(loaded, "__name__", "").startswith("reoffend") and getattr(loaded, attribute, None) is original:
                setattr(loaded, attribute, wrapped)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=1_000_000)
    parser.add_argument("--no-check", action="store_true")
    args = parser.parse_args()
    import reoffend.cli
    import reoffend.runs.nowcast  # bound before patching

    patch()
    folder = ROOT / "bench" / "data" / f"nowcast_r{args.releases}"
    files = [str(folder / "releases.parquet"), str(folder / "convictions.parquet")]
    with tempfile.TemporaryDirectory() as tmp:
        argv = ["nowcast", *files, "--exclude-offences", str(folder / "excluded_offences.txt"), "--format", "csv"]
        argv += ["-q", "-o", f"{tmp}/out.csv", *(["--no-check"] if args.no_check else [])]
        start = time.process_time()
        with contextlib.suppress(SystemExit):  # the command line's exit status
            reoffend.cli.main(argv)
        whole = time.process_time() - start
    print(f"whole run in process: {whole:.3f} CPU s")
    for name in order:
        print(f"{name:28s} {totals[name]:7.3f}  ({calls[name]} calls)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
