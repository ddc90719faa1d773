"""What the text of an option means: ``NAME=VALUE`` pairs, ``--where`` filters, comma-separated names, and
``--site`` (docs/cli.md). A malformed value is a usage error (exit 2) naming the option as typed."""

from __future__ import annotations

import collections
from collections.abc import Sequence

from ..errors import UsageError


def split_site(site_column: str, site: str | None) -> tuple[str, str | None]:
    """``--site EST042`` (in --site-column) or ``--site establishment=EST042``, the COLUMN=VALUE form of
    --treated and --where."""
    if site and "=" in site:
        column, _, value = site.partition("=")
        if not column.strip() or not value.strip():
            raise UsageError(f"--site takes VALUE or COLUMN=VALUE, not {site!r}")
        site_column, site = column.strip(), value.strip()
    if site and site_column == "cohort":  # the compared cohorts replace a cohort filter: it would do nothing
        raise UsageError("--site cannot be a cohort: the cohorts compared are --current and --baseline")
    return site_column, site


def parse_pairs(values: Sequence[str], what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, sep, other = value.partition("=")
        if not sep or not name.strip() or not other.strip():
            raise UsageError(f"{what} takes NAME=VALUE, not {value!r}")
        pairs[name.strip()] = other.strip()
    return pairs


def parse_where(values: Sequence[str], option: str = "--where") -> dict[str, tuple[str, ...]]:
    """``COLUMN=VALUE[,VALUE]`` filters; a malformed one is a usage error naming ``option`` as typed."""
    return {column: tuple(v.strip() for v in value.split(",")) for column, value in parse_pairs(values, option).items()}


def parse_columns(value: str | Sequence[str] | None, what: str | None = None) -> tuple[str, ...]:
    """A comma-separated list of names; with ``what`` (the option), a name given twice is a usage error."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    names = tuple(item.strip() for item in items if item.strip())
    if what:
        twice = sorted(name for name, times in collections.Counter(names).items() if times > 1)  # linear: 2M names
        if twice:
            raise UsageError(f"{what} names {', '.join(twice)} more than once")
    return names
