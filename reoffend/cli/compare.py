"""``reoffend compare``: the group of baseline comparisons (docs/comparisons.md)."""

from __future__ import annotations

import click

from .lazy import LazyGroup

# each comparison is imported only when it runs (they bring statsmodels and scipy)
COMPARISONS = {
    "baseline": "reoffend.cli.compare_baseline:compare_baseline",
    "matched": "reoffend.cli.compare_matched:compare_matched_command",
    "adjusted": "reoffend.cli.compare_adjusted:compare_adjusted",
    "published": "reoffend.cli.compare_published:compare_published",
}


@click.group(cls=LazyGroup, lazy_subcommands=COMPARISONS)
def compare():
    """Compare a cohort's reoffending with a baseline: baseline year, matched group, adjusted baseline; or check
    published figures."""
