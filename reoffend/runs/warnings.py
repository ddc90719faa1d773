"""Warnings a run raises that every front end shows alike (the command line on standard error, the Python API as
:class:`reoffend.ReoffendWarning`): their codes, text and subjects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..report.format import counted
from ..run_warnings import RunWarning


def partial_period_warnings(metadata: Mapping[str, Any]) -> list[RunWarning]:
    """The ``partial-period`` warnings of a run's metadata: one per cohort the data covers only in part."""
    return [
        RunWarning(
            "partial-period",
            f"cohort {entry['cohort']} is a partial period: the data covers only {entry['first_release_month']} "
            f"to {entry['last_release_month']} of it, so it is not comparable with a full one",
            subjects=[str(entry["cohort"])],
        )
        for entry in metadata.get("partial_periods", ())
    ]


def incomplete_excluded(excluded: int) -> RunWarning:
    """The warning of ``--incomplete exclude`` that dropped ``excluded`` releases."""
    return RunWarning(
        "incomplete-excluded",
        f"{counted(excluded, 'release')} with incomplete follow-up excluded (--incomplete exclude)",
        counts={"releases": excluded},
    )
