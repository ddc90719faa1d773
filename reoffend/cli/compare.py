"""``reoffend compare``: the group of baseline comparisons (docs/comparisons.md)."""

from __future__ import annotations

import click


@click.group()
def compare():
    """Compare a cohort's reoffending with a baseline: baseline year, matched group, or adjusted baseline."""
