"""What every run shares: how it reports back to its caller (:class:`Caller`), how option values, as the command
line or Python gives them, become typed parameters (:func:`measure_params`), and how the inputs are read."""

from __future__ import annotations

import datetime as dt
import numbers
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..run_warnings import RunWarning
from ..window import MAX_WINDOW_MONTHS, FollowUpWindow

if TYPE_CHECKING:
    from ..cohort import IndexRule, Period
    from ..inputs import InputSpec
    from ..measure import IncompletePolicy, MeasureParams
    from ..validate import Query, ValidatedInputs

# where, treated, pool, baseline_filter, current_filter: a mapping (column -> value or values) or the command
# line's COLUMN=VALUE[,VALUE] items
Filters = Mapping[str, Any] | Sequence[str]
Naming = Callable[[str], str]


def keyword(name: str) -> str:
    """An option as Python names it: the keyword argument (``treated_ids``)."""
    return name


def command_line_flag(name: str) -> str:
    """An option as the command line names it (``treated_ids`` -> ``--treated-ids``)."""
    return "--" + name.replace("_", "-")


def _ignore(*_: object) -> None:
    return None


@dataclass(frozen=True)
class Caller:
    """Who runs a command, and how a run reports back as it goes: ``stage`` (progress), ``warn`` (a warning
    found while reading, said at once), ``loaded`` (valid inputs read: the command line empties its ``--errors``
    file then), ``expect_columns`` (``--columns`` checked before any work) and ``flag``, how options are named
    in messages (``--treated-ids`` on the command line, ``treated_ids`` in Python)."""

    stage: Callable[[str], None] = _ignore
    warn: Callable[[RunWarning], None] = _ignore
    loaded: Callable[[], None] = _ignore
    expect_columns: Callable[[Sequence[str]], None] = _ignore
    flag: Naming = keyword


# ----------------------------------------------------------------------------------------------- option values
def columns(value: str | Sequence[str] | None, what: str | None = None) -> tuple[str, ...]:
    """``"a,b"`` or ``["a", "b"]``; with ``what`` (the option), a name given twice is a usage error."""
    from .parsing import parse_columns

    return parse_columns(value, what)


def items(values: str | Sequence[str] | None) -> list[str]:
    """The command line's repeatable items (``COLUMN=VALUE``, ``COLUMN=FORM``): one string is one item, never
    its characters."""
    if values is None:
        return []
    return [values] if isinstance(values, str) else list(values)


def filters(values: Filters | None, option: str) -> dict[str, tuple[str, ...]]:
    """A mapping (column -> one value, or a list, tuple or set of values: never iterated by accident) or the
    command line's ``COLUMN=VALUE[,VALUE]`` items (one string is one item); a malformed item, or a column given
    no value (``{"sex": []}``, which would keep nothing), is a usage error naming ``option``."""
    from .parsing import parse_where

    if not values:
        return {}
    if not isinstance(values, Mapping):
        return parse_where(items(values), option)
    kept = {
        str(column): tuple(str(x) for x in v) if isinstance(v, list | tuple | set | frozenset) else (str(v),)
        for column, v in values.items()
    }
    empty = [column for column, v in kept.items() if not v or not column.strip()]
    if empty:
        raise UsageError(f"{option} takes COLUMN=VALUE[,VALUE], not {empty[0]!r} with no value")
    return kept


def refuse(given: Mapping[str, str], names: Iterable[str], reason: str) -> None:
    """A usage error for the options of ``names`` the caller set (``given``: name -> as the caller names it)
    although they would do nothing in this run ("nothing silent"): the command line and Python alike."""
    named = [given[name] for name in names if name in given]
    if named:
        raise UsageError(f"{'/'.join(named)}: {reason}")


# the options of the measurement of records (the command line's RECORD_ONLY, reoffend.cli.options): with numbers
# or published counts alone they would do nothing
RECORD_ONLY = (
    "site_column",
    "column_map",
    "input_format",
    "delimiter",
    "encoding",
    "date_format",
    "extract_date",
    "dedupe",
    "errors_file",
    "streaming",
    "follow_up",
    "waiting_period",
    "period",
    "index",
    "incomplete",
    "exclude_offences",
    "where",
    "latest_cohort",
)

PERIODS = ("month", "quarter", "year", "financial-year")
INDEX_RULES = ("first", "all")


def choice(value: object, choices: Sequence[str], option: str) -> None:
    """A usage error unless ``value`` is one of ``choices`` (what the command line's ``click.Choice`` checks)."""
    if not isinstance(value, str) or value not in choices:
        raise UsageError(f"{option} must be one of {', '.join(choices)}, not {value!r}")


def follow_up_window(follow_up: object, waiting_period: object, flag: Naming = keyword) -> FollowUpWindow:
    """The follow-up window of ``follow_up`` and ``waiting_period`` months (docs/measures.md), each a whole
    number in the command line's range (1 to 1200, and 0 to 1200); else a usage error naming the option."""
    months = []
    for name, value, low in (("follow_up", follow_up, 1), ("waiting_period", waiting_period, 0)):
        whole = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        if not whole or not low <= int(value) <= MAX_WINDOW_MONTHS:  # type: ignore[call-overload]
            raise UsageError(
                f"{flag(name)} takes a whole number of months from {low} to {MAX_WINDOW_MONTHS}, not {value!r}"
            )
        months.append(int(value))  # type: ignore[call-overload]  # an Integral
    return FollowUpWindow(*months)


def code_list(value: str | os.PathLike[str] | Iterable[str] | None) -> frozenset[str]:
    """``exclude_offences``: a file of codes (``'-'``: stdin, as ``--exclude-offences``) or the codes."""
    from ..io import read_code_list

    if value is None or value == "":
        return frozenset()
    if isinstance(value, str | os.PathLike):
        return read_code_list(os.fspath(value))
    return frozenset(str(code).strip() for code in value if str(code).strip())


def a_date(value: object, argument: str) -> dt.date | None:
    """A date given as ``datetime.date``, a datetime (its day) or ``'YYYY-MM-DD'``; else a usage error."""
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise UsageError(f"{argument}: give a date (datetime.date or 'YYYY-MM-DD'), not {value!r}")


def measure_params(
    *,
    by: str | Sequence[str] | None,
    window: FollowUpWindow,
    period: Period,
    index: IndexRule,
    incomplete: IncompletePolicy,
    exclude_offences: str | os.PathLike[str] | Iterable[str] | None,
    where: Filters | None,
    latest_cohort: bool,
    confidence: float,
    flag: Naming = keyword,
) -> MeasureParams:
    """The measurement options every command shares, as :class:`MeasureParams` (docs/measures.md): the one
    place they are built, for the command line (``flag``: its option names) and Python alike."""
    from ..measure import MeasureParams

    choice(period, PERIODS, flag("period"))
    choice(index, INDEX_RULES, flag("index"))
    return MeasureParams(
        window=window,
        by=columns(by, flag("by")),
        period=period,
        index=index,
        incomplete=incomplete,
        excluded_offences=code_list(exclude_offences),
        confidence=confidence,
        where=filters(where, flag("where")),
        latest_cohort=latest_cohort,
    )


# ----------------------------------------------------------------------------------------------- inputs
def load(
    spec: InputSpec,
    caller: Caller,
    excluded_offences: frozenset[str] = frozenset(),
    *,
    with_warnings: bool = True,
    release_columns: Sequence[str] | None = None,
    prefetch: Mapping[str, Query] | None = None,
) -> tuple[ValidatedInputs, list[RunWarning]]:
    """Read and validate the inputs (docs/data.md: a DataError when a rule fails); ``offence_code`` is required
    with an exclusion list. With ``with_warnings``, the warnings about valid inputs that are probably not what
    was meant (:func:`reoffend.validate.input_warnings`), their queries collected with validation's pass."""
    from ..inputs import load_inputs
    from ..validate import input_warnings, warning_queries

    extra_required: dict[str, tuple[str, ...]] | None = (
        {"convictions": ("offence_code",)} if excluded_offences else None
    )
    queries = {**(warning_queries(excluded_offences) if with_warnings else {}), **(prefetch or {})}
    inputs = load_inputs(spec, extra_required, release_columns, queries)
    caller.loaded()
    return inputs, input_warnings(inputs, excluded_offences) if with_warnings else []


def load_and_warn(spec: InputSpec, caller: Caller, excluded_offences: frozenset[str]) -> ValidatedInputs:
    """:func:`load`, each warning about the inputs said to the caller at once (before the run's own work)."""
    inputs, found = load(spec, caller, excluded_offences)
    for warning in found:
        caller.warn(warning)
    return inputs
