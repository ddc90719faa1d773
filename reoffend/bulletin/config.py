"""The bulletin's TOML configuration (docs/bulletin.md, "Configuration"; shared design cli.md).

One file names the inputs, the column mapping, the follow-up window, the grouping and the comparisons to run.
Every key is checked: an unknown key or a value of the wrong type is a :class:`UsageError` (exit 2) naming the
key and its line. Relative paths are relative to the folder of the config file, so a cron job can run from
anywhere.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..banding import check_edges
from ..cohort import PERIODS, IndexRule, Period
from ..disclosure import DisclosureRule
from ..errors import UsageError
from ..intervals import LARGEST_CONFIDENCE, SMALLEST_TAIL
from ..io import check_delimiter, check_encoding, key_line, read_toml
from ..validate import DATE_FORMAT, check_date_format
from ..window import FollowUpWindow
from .document import safe_url
from .folder import check_stems
from .labels import Labels

EXAMPLE_CONFIG = """\
# reoffend bulletin configuration: `reoffend bulletin --config job.toml -o bulletin/`
# Relative paths are relative to the folder of this file. Every key but [inputs] releases/convictions is
# optional; the values shown are the defaults unless marked "example".

title = "Proven reoffending statistics: quarterly bulletin"
# publisher = "Example Statistics Unit"     # example: printed under the title
# output = "bulletin"                       # example: the folder written when -o is not given
# acknowledge = ["small-comparisons"]       # example: warning codes expected here, logged but not printed

[inputs]
releases = "releases.csv"                   # one row per release (CSV, Parquet or NDJSON)
convictions = "convictions.csv"             # one row per proven offence
exclude_offences = "excluded_offences.txt"  # example: offence codes that are not new offences (e.g. BREACH)
# extract_date = 2024-06-30                 # example: default is the latest conviction_date in the data
# as_at = 2024-03-31                        # example: publish as an extract taken on this date would have
# input_format = "csv"                      # example: for a pipe or a name that does not tell (default: the extension)
# delimiter = ";"                           # example: CSV delimiter (default: tab for .tsv, else sniffed: , ; tab |)
# encoding = "utf-8"                        # text encoding, e.g. "cp1252" (a UTF-16 byte-order mark needs none)
# date_format = "%Y-%m-%d"                  # strftime form of every text date, e.g. "%d/%m/%Y"
# dedupe = false                            # drop exact duplicate release rows instead of failing
# allow_no_convictions = false              # publish even when no conviction counts as a reoffence (all 0%)

# [columns]                                 # example: read the extract's column as the canonical name
# release_date = "date_out"

[measure]
follow_up = 12                              # months after release in which offences count
waiting_period = 6                          # further months in which their convictions still count
period = "quarter"                          # cohort period: month, quarter, year or financial-year
index = "first"                             # each person's first release per cohort ("all": every release)
confidence = 0.95                           # level of every interval and test
establishment = "establishment"             # column for the latest cohort by establishment ("" for none;
                                            # default: "establishment" when the releases have it)
# where = { sex = ["M"] }                   # example: keep index releases whose column is one of the values

# [comparisons.baseline]                    # a site against its own baseline cohort (Doncaster style)
# site = "EST042"                           # example: the value of site_column compared (default: everyone)
# site_column = "establishment"
# baseline = "2022Q4"                       # example (required): the baseline cohort
# current = ["2023Q4"]                      # default: the latest complete cohort
# alpha = 0.05                              # significance level of the test
# sided = "one"                             # significance from the one-sided p for a reduction, or "two"
# multiple_testing = "holm"                 # several current cohorts: "holm", "bh" or "none"
# target = 5.0                              # example: contract target reduction, percentage points
# schedule = "schedule.toml"                # example: payment steps ([[step]] reduction_pp, payment)
# fail_unless_significant = false           # exit status 1 (bulletin still written) unless significant

# [comparisons.matched]                     # treated against a matched comparison group (Peterborough style)
# treated = { establishment = ["EST042"] }  # example: the treated releases (or treated_ids = "ids.txt")
# covariates = ["age", "sex", "sentence_months", "prior_convictions", "index_offence"]   # example (required)
# cohorts = ["2023Q3", "2023Q4"]            # default: every complete cohort
# pool = { sex = ["M"] }                    # example: narrow the comparison pool
# exact = ["cohort"]                        # exact matching columns
# ratio = 10                                # comparators per treated person
# caliper = 0.2                             # in standard deviations of the logit of the propensity score
# drop_missing = false
# bootstrap = 2000
# seed = 1
# alpha = 0.05
# style = "peterborough"                    # example: targets 10% per cohort and 7.5% over all cohorts
# target = 10.0                             # example: per cohort, per cent reduction in events per 100
# pooled_target = 7.5                       # example: all cohorts together
# fail_unless_significant = false           # exit status 1 unless the pooled reduction is significant
# multiple_testing = "holm"                 # the cohorts tested at once: "holm", "bh" or "none"
# min_treated = 10                          # fewest matched treated releases a row needs to be tested
# ids_releases = "first"                    # with treated_ids: each person's earliest index release, or "all"
# covariate_form = { age = "spline:4" }     # example: a numeric covariate's form (default linear here)

# [comparisons.adjusted]                    # actual against risk-adjusted expected (payment mechanism)
# baseline = ["2022Q1", "2022Q2", "2022Q3", "2022Q4"]   # example (required): cohorts the models are fitted on
# covariates = ["age", "sex", "sentence_months", "prior_convictions", "index_offence"]   # example (required)
# current = ["2023Q4"]                      # default: the latest complete cohort
# by = ["establishment"]                    # the providers compared
# count_model = "negbin"                    # or "poisson"
# alpha = 0.05
# sided = "one"                             # significance from the one-sided p for a reduction, or "two"
# unseen = "error"                          # a covariate level not in the baseline: error, or "pool"
# parameter_uncertainty = false             # add the baseline models' parameter uncertainty to the test
# multiple_testing = "holm"                 # several units tested at once: "holm", "bh" or "none"
# fail_unless_significant = false           # exit status 1 unless every unit beats the baseline on both measures
# covariate_form = { age = "log1p" }       # example: a numeric covariate's form (default spline:4 here)

[disclosure]                                # statistical disclosure control (docs/bulletin.md)
min_cohort = 10                             # reoffending figures of a group with fewer releases are shown [c]
min_count = 3                               # ... and of a group with fewer reoffenders, or non-reoffenders
                                            # (0 turns a rule off; both 0 publishes every figure)
# protection = 3                            # a reader's range of a withheld count spans at least this many
                                            # (default: min_count); the audit checks it over every table

# [breakdowns]                              # tables and a chart per release column: latest cohort and trend
# columns = ["sex", "age", "prior_convictions"]              # example
# bands = { age = [18, 21, 25, 30, 35, 40, 50], prior_convictions = [1, 3, 7, 11] }   # example: numeric
#                                           # columns cut at these edges ("18 to 20", "50 and over")
# merge_sparse_bands = false                # merge a sparse end band before withholding: one-off releases only

# [publication]                             # publication furniture (docs/bulletin.md, "Publication furniture")
# published = 2026-04-30                    # example: written "30 April 2026"
# next_release = 2026-07-30                 # example: a date, or text such as "To be announced"
# status = "Official statistics in development"   # example: or "Accredited official statistics", "Official
#                                           # statistics", "Management information"; each is explained in the text
# contact = "statistics@example.gov.uk"     # example
# revisions = "Figures for earlier cohorts are revised when later convictions arrive."   # example
# methodology_url = "https://example.gov.uk/methodology"   # example
# previous = "../2024Q4"                    # example: the previous bulletin's folder: a revisions table
# revision_threshold = 1.0                  # a revision of this many percentage points or more is told
# The next five are required when status is one of the official statistics (else each section is left out):
# statistician = "Alex Example"             # example: the responsible statistician, named
# press_office = "Press office: 020 7946 0000"   # example: for media enquiries
# pre_release = "Pre-release access ... was given to ..."   # example: the pre-release access statement
# feedback_email = "statistics@example.gov.uk"   # example: readers are invited to send feedback here
# data_source = "Prison release records and court convictions ..."   # example: where the data come from

# [labels.columns]                          # column titles shown to readers (default: the code in words)
# sentence_months = "Sentence length (months)"   # example
# [labels.sex]                              # value labels of one column (default: the code in words)
# F = "Female"                              # example
# M = "Male"                                # example

# [provisional]                             # estimates for cohorts still in follow-up (reoffend docs nowcast)
# cohorts = 4                               # the latest incomplete cohorts shown (0: all)
# backtest = true                           # replay the estimate at earlier extract dates; quote its coverage
# origins = 12                              # backtest: earlier extract dates (month ends) ...
# origin_step = 2                           # ... this many months apart
# min_coverage = 0.85                       # below this backtest coverage the estimates are not published ...
# allow_low_coverage = false                # ... unless this is true (then they are, with the coverage said)
"""


@dataclass(frozen=True)
class BreakdownsConfig:
    columns: tuple[str, ...] = ()
    bands: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    # merge a sparse end band into its neighbour before withholding (banding.merge_sparse_ends): for a single
    # release only; in a series the merge can differ between releases and reveal a withheld count by differencing
    merge_sparse_bands: bool = False


@dataclass(frozen=True)
class ProvisionalConfig:
    """``[provisional]``: present turns the section on. ``cohorts``: how many of the latest incomplete cohorts;
    ``backtest`` with ``origins`` and ``origin_step`` months: the backtest whose coverage is quoted (without it,
    the nowcast's quick check runs all the same). ``min_coverage``: the coverage, at the months observed shown,
    below which the estimates are withheld, unless ``allow_low_coverage`` (docs/nowcast.md, "Honesty by
    default")."""

    enabled: bool = False
    cohorts: int = 4
    backtest: bool = True
    origins: int = 12
    origin_step: int = 2
    min_coverage: float = 0.85
    allow_low_coverage: bool = False

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


# the statuses of the Code of Practice for Statistics (OSR, 2023 names) and what each means, in one sentence
STATUSES = {
    "Accredited official statistics": "Accredited official statistics are official statistics that the Office "
    "for Statistics Regulation has independently reviewed and found to meet the standards of trustworthiness, "
    "quality and value in the Code of Practice for Statistics.",
    "Official statistics": "Official statistics are produced by crown bodies and other producers to the standards "
    "of trustworthiness, quality and value in the Code of Practice for Statistics.",
    "Official statistics in development": "Official statistics in development are official statistics that are "
    "still being developed: they are published to involve users in their development and to build in quality "
    "at an early stage, and their methods may change.",
    "Management information": "Management information is data used to run a service, published for transparency: "
    "it is not official statistics and has not been produced to the standards of the Code of Practice for "
    "Statistics.",
}
OFFICIAL = tuple(status for status in STATUSES if status != "Management information")
# what a bulletin of official statistics must say (Code of Practice: T2.4 named statistician, T3.4 pre-release
# access, V1.3 feedback; Q1 the data source)
REQUIRED_FOR_OFFICIAL = ("statistician", "press_office", "pre_release", "feedback_email", "data_source")


@dataclass(frozen=True)
class PublicationConfig:
    published: dt.date | None = None
    next_release: dt.date | str | None = None
    status: str = ""
    contact: str = ""
    revisions: str = ""
    methodology_url: str = ""
    statistician: str = ""  # the responsible statistician, named
    press_office: str = ""  # the press office's contact details
    pre_release: str = ""  # the pre-release access statement
    feedback_email: str = ""  # an e-mail address (the text links it with mailto:)
    data_source: str = ""  # where the data come from, in words
    previous: str | None = None  # the previous bulletin's folder: its figures are revised (bulletin/revisions.py)
    revision_threshold: float = 1.0  # a revision of at least this many percentage points is told in the text

    @property
    def official(self) -> bool:
        return self.status in OFFICIAL

    def as_dict(self) -> dict[str, Any]:
        return {
            "published": self.published.isoformat() if self.published else None,
            "next_release": self.next_release.isoformat()
            if isinstance(self.next_release, dt.date)
            else self.next_release,
            "status": self.status,
            "contact": self.contact,
            "revisions": self.revisions,
            "methodology_url": self.methodology_url,
            "statistician": self.statistician,
            "press_office": self.press_office,
            "pre_release": self.pre_release,
            "feedback_email": self.feedback_email,
            "data_source": self.data_source,
            "previous": self.previous,
            "revision_threshold": self.revision_threshold,
        }


@dataclass(frozen=True)
class InputsConfig:
    releases: str
    convictions: str
    exclude_offences: str | None = None
    extract_date: dt.date | None = None
    as_at: dt.date | None = None  # publish as an extract taken on this date would have (reoffend.inputs.cut_as_at)
    input_format: str | None = None
    delimiter: str | None = None  # a CSV file's (None: tab for .tsv, else sniffed from its header)
    encoding: str | None = None  # a codec name (None: UTF-8, or what a byte-order mark names)
    date_format: str | None = None  # strftime form of text dates (None: %Y-%m-%d)
    dedupe: bool = False
    allow_no_convictions: bool = False  # publish a bulletin in which no conviction counts (every rate 0%)
    column_map: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MeasureConfig:
    follow_up: int = 12
    waiting_period: int = 6
    period: Period = "quarter"
    index: IndexRule = "first"
    confidence: float = 0.95
    establishment: str | None = None  # None: the establishment column if the releases have one; "": none
    where: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def window(self) -> FollowUpWindow:
        return FollowUpWindow(self.follow_up, self.waiting_period)


@dataclass(frozen=True)
class BulletinConfig:
    path: str
    inputs: InputsConfig
    measure: MeasureConfig = field(default_factory=MeasureConfig)
    title: str = "Proven reoffending statistics: quarterly bulletin"
    publisher: str = ""
    output: str | None = None
    comparisons: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    disclosure: DisclosureRule = field(default_factory=DisclosureRule)
    breakdowns: BreakdownsConfig = field(default_factory=BreakdownsConfig)
    publication: PublicationConfig = field(default_factory=PublicationConfig)
    provisional: ProvisionalConfig = field(default_factory=ProvisionalConfig)
    labels: Labels = field(default_factory=Labels)
    acknowledge: tuple[str, ...] = ()  # warning codes expected: logged and in the manifest, not printed

    def as_dict(self) -> dict[str, Any]:
        """Every parameter, for the manifest (paths as given, resolved against the config's folder)."""
        return {
            "config": self.path,
            "title": self.title,
            "publisher": self.publisher,
            "acknowledge": list(self.acknowledge),
            "inputs": {
                "releases": self.inputs.releases,
                "convictions": self.inputs.convictions,
                "exclude_offences": self.inputs.exclude_offences,
                "extract_date": self.inputs.extract_date.isoformat() if self.inputs.extract_date else None,
                "as_at": self.inputs.as_at.isoformat() if self.inputs.as_at else None,
                "input_format": self.inputs.input_format,
                "delimiter": self.inputs.delimiter,
                "encoding": self.inputs.encoding,
                "date_format": self.inputs.date_format,
                "dedupe": self.inputs.dedupe,
                "allow_no_convictions": self.inputs.allow_no_convictions,
                "column_map": dict(sorted(self.inputs.column_map.items())),
            },
            "measure": {
                "follow_up": self.measure.follow_up,
                "waiting_period": self.measure.waiting_period,
                "period": self.measure.period,
                "index": self.measure.index,
                "confidence": self.measure.confidence,
                "establishment": self.measure.establishment,
                "where": {k: list(v) for k, v in sorted(self.measure.where.items())},
            },
            "comparisons": {name: dict(values) for name, values in sorted(self.comparisons.items())},
            "disclosure": self.disclosure.as_dict(),
            "breakdowns": {
                "columns": list(self.breakdowns.columns),
                "bands": {k: list(v) for k, v in self.breakdowns.bands.items()},
            },
            "publication": self.publication.as_dict(),
            "provisional": self.provisional.as_dict(),
            "labels": self.labels.as_dict(),
        }


# ------------------------------------------------------------------------------------------- checking
class _Checker:
    def __init__(self, path: str, text: str) -> None:
        self.path, self.text = path, text

    def fail(self, key: str, section: str | None, message: str) -> UsageError:
        from ..io import key_line

        line = key_line(self.text, key, section)
        where = f"{self.path}, line {line}" if line else self.path
        label = f"[{section}] {key}" if section else key
        return UsageError(f"{where}: {label}: {message}")

    def table(self, data: Mapping[str, Any], section: str | None, schema: Mapping[str, Callable]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in schema:
                known = ", ".join(sorted(schema))
                raise self.fail(key, section, f"unknown key (known keys: {known})")
            try:
                values[key] = schema[key](value)
            except (TypeError, ValueError) as error:
                raise self.fail(key, section, str(error)) from None
        return values


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text (in quotes), got {_shown(value)}")
    return value


# columns the bulletin computes for each establishment (reoffend.bulletin.stats.tested_against_all): a release
# column of one of these names, as the establishment column, was replaced by the computed one (issue 24: exit 70,
# "reconviction_events is 18 in one table and 27 in establishments.csv")
ESTABLISHMENT_TESTS = ("p_value", "p_adjusted", "compared_unadjusted", "compared_with_all")


def _establishment_column(value: Any) -> str:
    value = _text(value)
    if value in ESTABLISHMENT_TESTS:
        raise ValueError(
            f"{value!r} is a column the bulletin computes for each establishment ({', '.join(ESTABLISHMENT_TESTS)}); "
            f"rename the release column, e.g. [columns] establishment_{value} = {value!r}, and name that"
        )
    return value


def _some_text(value: Any) -> str:
    """Text that says something: an empty value is never read as "not given" (docs/cli.md); leave the key out."""
    value = _text(value)
    if not value.strip():
        raise ValueError("an empty value: give one, or leave the key out")
    return value


def _some_url(value: Any) -> str:
    return _url(_some_text(value))


def _some_filter(value: Any) -> dict[str, tuple[str, ...]]:
    result = _filter(value)
    if not result:
        raise ValueError('an empty table: give a filter such as { sex = ["M"] }, or leave the key out')
    return result


def _path(value: Any) -> str:
    value = _text(value)
    if not value.strip():
        raise ValueError("expected a file name, got an empty string")
    return value


def _url(value: Any) -> str:
    value = _text(value)
    if value and not safe_url(value):
        raise ValueError(f"expected an http:// or https:// address (or mailto:), got {value!r}")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {_shown(value)}")
    return value


def _integer(minimum: int, maximum: int | None = None) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected a whole number, got {_shown(value)}")
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and at most {maximum}" if maximum is not None else ""
            raise ValueError(f"expected a whole number at least {minimum}{upper}, got {value}")
        return value

    return check


def _percentage_points(value: Any) -> float:
    """A revision threshold: a finite number of percentage points, 0 to 100."""
    number = _number(0.0)(value)
    if not number <= 100:
        raise ValueError(f"expected percentage points from 0 to 100, got {value!r}")
    return number


def _number(low: float | None = None, high: float | None = None, open_interval: bool = False) -> Callable:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"expected a number, got {_shown(value)}")
        value = float(value)
        if open_interval and low is not None and high is not None and not low < value < high:
            raise ValueError(f"expected a number strictly between {low:g} and {high:g}, got {value:g}")
        if not open_interval and low is not None and value < low:
            raise ValueError(f"expected a number at least {low:g}, got {value:g}")
        return value

    return check


def _tail_number(low: float, high: float, name: str) -> Callable:
    """A number in [low, high), as --alpha and --confidence take it (cli/options.py ALPHA, CONFIDENCE): the tail
    it leaves is at least SMALLEST_TAIL (reoffend/intervals.py), else the normal quantile overflows."""

    def check(value: Any) -> float:
        value = _number()(value)
        if not (low <= value < high if name == "alpha" else low < value <= high):
            shown = f"at least {low:g} and below {high:g}" if name == "alpha" else f"above {low:g} and at most {high!r}"
            raise ValueError(f"expected a number {shown}, got {value!r}")
        return value

    return check


ALPHA_NUMBER = _tail_number(SMALLEST_TAIL, 0.5, "alpha")  # as --alpha (cli/options.py ALPHA)
CONFIDENCE_NUMBER = _tail_number(0.0, LARGEST_CONFIDENCE, "confidence")  # as --confidence


def _choice(*choices: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        value = _text(value)
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    return check


def _checked_by(check: Callable[[str, str], Any], key: str) -> Callable[[Any], Any]:
    """A config value checked as its command-line option is (``check(value, key)``), a usage error becoming the
    config's ValueError: ``delimiter`` (reoffend.io.check_delimiter: one character, not a quote or a line end),
    ``encoding`` (check_encoding: a codec name, None for UTF-8), ``date_format`` (check_date_format; None for
    ISO, the default)."""

    def checked(value: Any) -> Any:
        try:
            result = check(_text(value), key)
        except UsageError as error:
            raise ValueError(str(error).removeprefix(f"{key} ")) from None
        return None if key == "date_format" and result == DATE_FORMAT else result

    return checked


_delimiter = _checked_by(check_delimiter, "delimiter")
_encoding = _checked_by(check_encoding, "encoding")
_date_format = _checked_by(check_date_format, "date_format")


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise TypeError(f"expected a date (2024-06-30), got a date and time {value}")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}") from None
    raise TypeError(f"expected a date (2024-06-30), got {_shown(value)}")


def _warning_codes(value: Any) -> tuple[str, ...]:
    """``acknowledge``: warning codes (reoffend.run_warnings.WARNING_CODES) not printed, still logged and in the
    manifest; an unknown code names the nearest one (ValueError)."""
    from ..run_warnings import check_acknowledged

    codes = _text_list(value)
    check_acknowledged(codes, "")
    return codes


def _text_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
        raise TypeError(f"expected a list of text values, got {_shown(value)}")
    return tuple(str(v) for v in value)


def _covariate_forms(value: Any) -> dict[str, str]:
    """``covariate_form``: a table ``{ age = "spline:3" }`` or a list ``["age=spline:3"]``, as
    ``--covariate-form`` takes it; each form is checked where the comparison knows its covariates."""
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        pairs = [tuple(part.strip() for part in item.partition("=")[::2]) for item in value]
    else:
        raise TypeError(f'expected a table such as {{ age = "spline:3" }}, got {_shown(value)}')
    forms: dict[str, str] = {}
    for column, form in pairs:
        if not isinstance(form, str) or not str(column).strip() or not form.strip():
            raise ValueError(f'expected COLUMN = "FORM" pairs such as {{ age = "spline:3" }}, got {_shown(value)}')
        if column in forms:
            raise ValueError(f"{column!r} is given two forms")
        forms[str(column)] = form.strip()
    return forms


def _filter(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise TypeError(f'expected a table such as {{ sex = ["M"] }}, got {_shown(value)}')
    result = {}
    for column, values in value.items():
        if isinstance(values, str | int) and not isinstance(values, bool):
            values = [values]
        result[str(column)] = _text_list(values)
    return result


def _date_or_text(value: Any) -> dt.date | str:
    return _text(value) if isinstance(value, str) and not value[:1].isdigit() else _date(value)


def _bands(value: Any) -> dict[str, tuple[float, ...]]:
    if not isinstance(value, dict):
        raise TypeError(f"expected a table such as {{ age = [18, 21, 25] }}, got {_shown(value)}")
    result = {}
    for column, edges in value.items():
        if not isinstance(edges, list):
            raise TypeError(f"{column}: expected a list of edges such as [18, 21, 25], got {_shown(edges)}")
        try:
            result[str(column)] = check_edges(str(column), edges)
        except UsageError as error:
            raise ValueError(str(error)) from None
    return result


def _shown(value: Any) -> str:
    kinds = {bool: "true/false", int: "a whole number", float: "a number", str: "text", list: "a list", dict: "a table"}
    kind = next((name for t, name in kinds.items() if isinstance(value, t)), type(value).__name__)
    return f"{kind} ({value!r})"


TOP_SCHEMA = {"title": _some_text, "publisher": _some_text, "output": _path, "acknowledge": _warning_codes}
INPUTS_SCHEMA = {
    "releases": _path,
    "convictions": _path,
    "exclude_offences": _path,
    "extract_date": _date,
    "as_at": _date,
    "input_format": _choice("csv", "parquet", "ndjson"),
    "delimiter": _delimiter,
    "encoding": _encoding,
    "date_format": _date_format,
    "dedupe": _boolean,
    "allow_no_convictions": _boolean,
}
MEASURE_SCHEMA = {
    "follow_up": _integer(1, 120),
    "waiting_period": _integer(0, 60),
    "period": _choice(*PERIODS),
    "index": _choice("first", "all"),
    "confidence": CONFIDENCE_NUMBER,
    "establishment": _establishment_column,
    "where": _some_filter,
}
COMPARISON_SCHEMAS: dict[str, dict[str, Callable]] = {
    "baseline": {
        "site": _text,
        "site_column": _text,
        "current": _text_list,
        "baseline": _text,
        "alpha": ALPHA_NUMBER,
        "sided": _choice("one", "two"),
        "multiple_testing": _choice("holm", "bh", "none"),
        "target": _number(),
        "schedule": _path,
        "fail_unless_significant": _boolean,
    },
    "matched": {
        "treated": _filter,
        "treated_ids": _path,
        "pool": _filter,
        "covariates": _text_list,
        "exact": _text_list,
        "cohorts": _text_list,
        "ratio": _integer(1, 100),
        "caliper": _number(0.0),
        "drop_missing": _boolean,
        "bootstrap": _integer(0, 100_000),
        "seed": _integer(0),
        "alpha": ALPHA_NUMBER,
        "target": _number(),
        "pooled_target": _number(),
        "style": _choice("peterborough"),
        "multiple_testing": _choice("holm", "bh", "none"),
        "fail_unless_significant": _boolean,
        "covariate_form": _covariate_forms,
        "min_treated": _integer(1),
        "ids_releases": _choice("first", "all"),
    },
    "adjusted": {
        "baseline": _text_list,
        "covariates": _text_list,
        "current": _text_list,
        "by": _text_list,
        "count_model": _choice("negbin", "poisson"),
        "alpha": ALPHA_NUMBER,
        "sided": _choice("one", "two"),
        "multiple_testing": _choice("holm", "bh", "none"),
        "unseen": _choice("error", "pool"),
        "parameter_uncertainty": _boolean,
        "fail_unless_significant": _boolean,
        "covariate_form": _covariate_forms,
    },
}
DISCLOSURE_SCHEMA = {"min_cohort": _integer(0), "min_count": _integer(0), "protection": _integer(0)}
BREAKDOWNS_SCHEMA = {"columns": _text_list, "bands": _bands, "merge_sparse_bands": _boolean}


def _status(value: Any) -> str:
    """One of the statuses of :data:`STATUSES`, in any case; another is an error naming the nearest."""
    value = _some_text(value)
    by_case = {status.lower(): status for status in STATUSES}
    if value.strip().lower() in by_case:
        return by_case[value.strip().lower()]
    listed = ", ".join(f'"{s}"' for s in STATUSES)
    near = difflib.get_close_matches(value.strip().lower(), list(by_case), n=1, cutoff=0.5)
    hint = f"; did you mean {by_case[near[0]]!r}?" if near else ""
    raise ValueError(f"expected one of {listed}, got {value!r}{hint}")


def _email(value: Any) -> str:
    """An e-mail address (``name@host``, or ``mailto:name@host``): kept without the ``mailto:``."""
    value = _some_text(value).strip()
    address = value[len("mailto:") :] if value.lower().startswith("mailto:") else value
    local, at, host = address.partition("@")
    if not (local and at and "." in host) or not safe_url("mailto:" + address) or any(c in address for c in "<>,;"):
        raise ValueError(f"expected an e-mail address such as statistics@example.gov.uk, got {value!r}")
    return address


PUBLICATION_SCHEMA = {
    "published": _date,
    "next_release": _date_or_text,
    "status": _status,
    "contact": _some_text,
    "revisions": _some_text,
    "methodology_url": _some_url,
    "statistician": _some_text,
    "press_office": _some_text,
    "pre_release": _some_text,
    "feedback_email": _email,
    "data_source": _some_text,
    "previous": _path,
    "revision_threshold": _percentage_points,
}
PROVISIONAL_SCHEMA = {
    "cohorts": _integer(0, 100),
    "backtest": _boolean,
    "origins": _integer(1, 100),
    "origin_step": _integer(1, 24),
    "min_coverage": _number(0, 1),
    "allow_low_coverage": _boolean,
}
PATH_KEYS = {"baseline": ("schedule",), "matched": ("treated_ids",)}
SECTIONS = (
    "inputs",
    "columns",
    "measure",
    "comparisons",
    "disclosure",
    "breakdowns",
    "publication",
    "provisional",
    "labels",
)


def parse_config(path: str) -> BulletinConfig:
    """Read and check a bulletin config; raises UsageError (exit 2) or InputFileError (exit 66)."""
    data, text = read_toml(path)
    check = _Checker(path, text)
    top = {k: v for k, v in data.items() if not isinstance(v, dict)}
    for key, value in data.items():
        if isinstance(value, dict) and key not in SECTIONS:
            raise check.fail(key, None, f"unknown section (known sections: {', '.join(SECTIONS)})")
        if not isinstance(value, dict) and key in SECTIONS:
            raise check.fail(key, None, "expected a section [" + key + "]")
    top_values = check.table(top, None, TOP_SCHEMA)

    base = Path(path).parent
    inputs_data = data.get("inputs", {})
    inputs_values = check.table(inputs_data, "inputs", INPUTS_SCHEMA)
    for required in ("releases", "convictions"):
        if required not in inputs_values:
            raise UsageError(f"{path}: [inputs] {required} is required (the {required} file)")
    for key in ("releases", "convictions", "exclude_offences"):
        if key in inputs_values:
            try:
                inputs_values[key] = _resolve(base, inputs_values[key])
            except ValueError as error:
                raise check.fail(key, "inputs", str(error)) from None

    columns = data.get("columns", {})
    for canonical, extract in columns.items():
        if not isinstance(extract, str) or not extract.strip():
            raise check.fail(canonical, "columns", f"a column name must be text, got {_shown(extract)}")

    measure_values = check.table(data.get("measure", {}), "measure", MEASURE_SCHEMA)

    comparisons: dict[str, dict[str, Any]] = {}
    for name, table in data.get("comparisons", {}).items():
        section = f"comparisons.{name}"
        if name not in COMPARISON_SCHEMAS:
            known = ", ".join(COMPARISON_SCHEMAS)
            raise check.fail(name, "comparisons", f"unknown comparison (known: {known})")
        if not isinstance(table, dict):
            raise check.fail(name, "comparisons", "expected a table [comparisons." + name + "]")
        comparisons[name] = check.table(table, section, COMPARISON_SCHEMAS[name])
        for key in PATH_KEYS.get(name, ()):
            if key in comparisons[name]:
                try:
                    comparisons[name][key] = _resolve(base, comparisons[name][key])
                except ValueError as error:
                    raise check.fail(key, section, str(error)) from None

    disclosure = DisclosureRule(**check.table(data.get("disclosure", {}), "disclosure", DISCLOSURE_SCHEMA))
    breakdowns_values = check.table(data.get("breakdowns", {}), "breakdowns", BREAKDOWNS_SCHEMA)
    breakdowns = BreakdownsConfig(**breakdowns_values)
    if breakdowns.columns:  # each column's tables and figures are files named after it: refused here if it can't be
        line = key_line(text, "columns", "breakdowns")
        check_stems(
            breakdowns.columns,
            f"{path}, line {line}: [breakdowns] columns" if line else f"{path}: [breakdowns] columns",
        )
    for column in breakdowns.bands:
        if column not in breakdowns.columns:
            raise check.fail(
                "bands", "breakdowns", f"{column!r} is banded but not in columns {list(breakdowns.columns)}"
            )
    publication_values = check.table(data.get("publication", {}), "publication", PUBLICATION_SCHEMA)
    if "previous" in publication_values:
        try:
            publication_values["previous"] = _resolve(base, publication_values["previous"])
        except ValueError as error:
            raise check.fail("previous", "publication", str(error)) from None
    publication = PublicationConfig(**publication_values)
    if publication.official:
        missing = [key for key in REQUIRED_FOR_OFFICIAL if not getattr(publication, key)]
        if missing:
            raise check.fail(
                "status",
                "publication",
                f"{publication.status!r} needs {', '.join(missing)} in [publication] (a bulletin of official "
                "statistics names its responsible statistician and press office, states pre-release access, "
                'invites feedback and says where its data come from); or use status = "Management information"',
            )
    labels = _labels(check, data.get("labels", {}))
    provisional = ProvisionalConfig(
        enabled="provisional" in data, **check.table(data.get("provisional", {}), "provisional", PROVISIONAL_SCHEMA)
    )

    if "output" in top_values:
        top_values["output"] = _resolve(base, top_values["output"])
    return BulletinConfig(
        path=path,
        inputs=InputsConfig(**inputs_values, column_map=dict(columns)),
        measure=MeasureConfig(**measure_values),
        comparisons=comparisons,
        disclosure=disclosure,
        breakdowns=breakdowns,
        publication=publication,
        provisional=provisional,
        labels=labels,
        **top_values,
    )


def _labels(check: _Checker, data: Mapping[str, Any]) -> Labels:
    """``[labels]``: ``[labels.columns]`` column = title, and ``[labels.COLUMN]`` value = label, each label
    some text. Whether the columns and values exist is checked against the data (labels.check_labels)."""
    columns: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}
    lines: dict[tuple[str, str], int] = {}
    for column, table in data.items():
        if not isinstance(table, dict):
            raise check.fail(
                column, "labels", f'expected a table [labels.{column}] of value = "label", got {_shown(table)}'
            )
        section = f"labels.{column}"
        header = f"[labels.{column}]"
        line = key_line(check.text, column, "labels") or next(
            (n for n, text in enumerate(check.text.splitlines(), start=1) if text.strip().startswith(header)), None
        )
        if line:
            lines[("labels", column)] = line
        target = columns if column == "columns" else values.setdefault(column, {})
        for key, label in table.items():
            if isinstance(label, dict):
                raise check.fail(key, section, f"expected text (in quotes), got {_shown(label)}")
            try:
                target[str(key)] = _some_text(label).strip()
            except (TypeError, ValueError) as error:
                raise check.fail(str(key), section, str(error)) from None
            line = key_line(check.text, str(key), section)
            if line:
                lines[(section, str(key))] = line
    return Labels(columns=columns, values=values, lines=lines)


def _resolve(base: Path, value: str) -> str:
    if value == "-":
        raise ValueError("a bulletin reads files, not standard input ('-')")
    candidate = Path(value).expanduser()
    return str(candidate if candidate.is_absolute() else base / candidate)
