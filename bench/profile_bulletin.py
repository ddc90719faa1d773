"""Where `reoffend bulletin` spends its CPU time, stage by stage, in one process (issue 30).

Usage: python bench/profile_bulletin.py [--size 1000000] [--data DIR] [--runs 1]

The bulletin of bench/bulletin.py (same config) built once in process, with the charts drawn inline (the
bulletin draws them in a thread of its own, bulletin.build.ChartWorker, overlapping the polars work; here
they run where they are submitted, so each stage's time is its own). Each named function is wrapped with
``time.process_time()`` (CPU of all threads): nested stages are shown indented and included in their
parent's figure. Shares, not bounds: timing in process, on whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bulletin import CONFIG, DATA

# (module, attribute) of every function timed; a class's method as "Class.method"
STAGES = [
    ("reoffend.bulletin.build", "_read_inputs"),
    ("reoffend.bulletin.build", "_measure_cohorts"),
    ("reoffend.bulletin.stats", "completeness_tables"),
    ("reoffend.bulletin.labels", "known_values"),
    ("reoffend.measure", "measured_releases"),
    ("reoffend.measure", "proven_pairs"),
    ("reoffend.cohort", "partial_periods"),
    ("reoffend.bulletin.stats", "CohortMeasures.first_needed"),
    ("reoffend.bulletin.stats", "CohortMeasures.court_lag"),
    ("reoffend.bulletin.stats", "CohortMeasures.court_lag_reoffenders"),
    ("reoffend.bulletin.stats", "tested_against_all"),
    ("reoffend.bulletin.build", "_cohort_parts"),
    ("reoffend.inputs", "load_inputs"),
    ("reoffend.bulletin.stats", "CohortMeasures.__init__"),
    ("reoffend.bulletin.stats", "CohortMeasures.rows"),
    ("reoffend.bulletin.stats", "cohort_changes"),
    ("reoffend.bulletin.build", "_latest_by_establishment"),
    ("reoffend.bulletin.build", "breakdown_tables"),
    ("reoffend.bulletin.build", "run_comparisons"),
    ("reoffend.bulletin.build", "_disclosure_control"),
    ("reoffend.bulletin.build", "_publish"),
    ("reoffend.bulletin.build", "_published_court_lag"),
    ("reoffend.bulletin.build", "_folder_tables"),
    ("reoffend.bulletin.build", "_audit"),
    ("reoffend.bulletin.build", "_findings_and_charts"),
    ("reoffend.bulletin.build", "_input_facts"),
    ("reoffend.bulletin.build", "_text_context"),
    ("reoffend.bulletin.build", "_run_warnings"),
    ("reoffend.bulletin.text", "compose"),
    ("reoffend.bulletin.build", "_labelled_figures"),
    ("reoffend.bulletin.build", "bulletin_files"),
    ("reoffend.bulletin.build", "to_markdown"),
    ("reoffend.bulletin.build", "to_html"),
    ("reoffend.bulletin.build", "_csv"),
    ("reoffend.bulletin.build", "spreadsheet"),
    ("reoffend.bulletin.build", "write_folder"),
    ("reoffend.bulletin.build", "_import_for_charts"),
]

totals: dict[str, float] = defaultdict(float)
calls: dict[str, int] = defaultdict(int)
depth_of: dict[str, int] = {}
order: list[str] = []
_depth = [0]


def timed(name: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if name not in depth_of:
            depth_of[name] = _depth[0]
            order.append(name)
        _depth[0] += 1
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[name] += time.process_time() - start
            calls[name] += 1
            _depth[0] -= 1

    return wrapper


def patch() -> None:
    for module_name, attribute in STAGES:
        module = importlib.import_module(module_name)
        if "." in attribute:
            owner_name, method = attribute.split(".")
            owner = getattr(module, owner_name)
            setattr(owner, method, timed(attribute, getattr(owner, method)))
        else:  # wherever the function is bound by name (``from .stats import x`` binds it again)
            original = getattr(module, attribute)
            wrapped = timed(attribute, original)
            for loaded in list(sys.modules.values()):
                if (
                    getattr(loaded, "__name__", "").startswith("reoffend")
                    and getattr(loaded, attribute, None) is original
                ):
                    setattr(loaded, attribute, wrapped)


class InlineWorker:
    """ChartWorker's interface, drawing each chart where it is submitted (timed as "chart: NAME")."""

    def __init__(self) -> None:
        from reoffend.bulletin import build

        build._import_for_charts()
        self.drawn: dict[str, tuple[bytes, bytes]] = {}

    def draw(self, name, drawing):
        self.drawn[name] = timed(f"chart: {name}", drawing)()

    def results(self):
        return dict(self.drawn)

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args(argv)
    folder = args.data / f"r{args.size}" / "parquet"
    releases, convictions = folder / "releases.parquet", folder / "convictions.parquet"
    excluded = args.data / "excluded_offences.txt"
    before = os.getloadavg()[0]
    start = time.process_time()
    import reoffend.bulletin.build as build
    from reoffend.bulletin.config import parse_config

    imports = time.process_time() - start
    patch()
    build.ChartWorker = InlineWorker  # type: ignore[misc]
    with tempfile.TemporaryDirectory(prefix="reoffend-bulletin-profile-") as tmp:
        config_path = Path(tmp) / "job.toml"
        config_path.write_text(CONFIG.format(releases=releases, convictions=convictions, excluded=excluded))
        start = time.process_time()
        config = parse_config(str(config_path))
        build.build_bulletin(config, f"{tmp}/out")
        whole = time.process_time() - start
    print(
        f"### bulletin in process, {args.size:,} releases (load {before:.2f} before, {os.getloadavg()[0]:.2f} after)\n"
    )
    print("| stage | calls | CPU s |\n|---|---:|---:|")
    print(f"| imports (reoffend.bulletin.build) | 1 | {imports:.3f} |")
    for name in order:
        print(f"| {'&nbsp;' * 4 * depth_of[name]}{name} | {calls[name]} | {totals[name]:.3f} |")
    print(f"| **build_bulletin, whole** | 1 | {whole:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
