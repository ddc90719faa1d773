"""The Python API refuses what the command line refuses, in the same words, and only what it should (issue 32's
hostile review): bad values and wrong types of options are :class:`reoffend.UsageError` naming the keyword, an
option that would do nothing is refused by the shared run, one string is one item, standard input is each
call's own, warnings point at the caller's line, and results display safely and pickle."""

from __future__ import annotations

import io
import os
import pickle
import threading
import warnings
from pathlib import Path

import polars as pl
import pytest

import reoffend
from reoffend import ReoffendWarning, UsageError

# the warnings of these tiny frames (a cohort of a few days is a partial period) are not what is tested here,
# except where a test records them itself
pytestmark = pytest.mark.filterwarnings("ignore::reoffend.api.ReoffendWarning")

# two releases, A reconvicted: 1 of 2 = 50%; the extract date leaves both follow-ups complete
RELEASES = pl.DataFrame(
    {"offender_id": ["A", "B"], "release_date": ["2023-01-05", "2023-01-09"], "establishment": ["E1", "E2"]}
)
CONVICTIONS = pl.DataFrame(
    {"offender_id": ["A"], "offence_date": ["2023-03-01"], "conviction_date": ["2023-04-01"], "offence_code": ["X"]}
)
EXTRACT = "2025-01-01"
COUNTS = {"current_counts": "480/1000", "baseline_counts": "530/1000"}
RECORDS_ONE_COHORT = {"baseline": "2023Q1", "extract_date": EXTRACT}


def measure(**options):
    return reoffend.measure(RELEASES, CONVICTIONS, extract_date=EXTRACT, **options)


# ------------------------------------------------------------------------------- 1. bad values of shared options
COMMANDS = {
    "measure": lambda **o: reoffend.measure(RELEASES, CONVICTIONS, **o),
    "validate": lambda **o: reoffend.validate(RELEASES, CONVICTIONS, **o),
    "nowcast": lambda **o: reoffend.nowcast(RELEASES, CONVICTIONS, **o),
    "compare_matched": lambda **o: reoffend.compare_matched(
        RELEASES, CONVICTIONS, treated={"establishment": "E1"}, covariates="age", bootstrap=0, **o
    ),
    "power": lambda **o: reoffend.power(RELEASES, CONVICTIONS, baseline="2023Q1", current_size=100, **o),
}
BAD_VALUES = [
    ({"follow_up": 0}, "follow_up takes a whole number of months from 1 to 1200, not 0"),
    ({"waiting_period": -1}, "waiting_period takes a whole number of months from 0 to 1200, not -1"),
    ({"follow_up": 12.5}, "follow_up takes a whole number (int)"),
    ({"period": "week"}, "period takes one of 'month', 'quarter', 'year', 'financial-year'"),
    ({"index": "x"}, "index takes one of 'first', 'all'"),
]


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(("option", "message"), BAD_VALUES)
def test_a_bad_value_of_a_shared_option_is_a_usage_error_naming_it(command, option, message):
    if command == "validate" and "index" in option:  # validate takes no index: an unknown option, named
        message = "unknown option index"
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        COMMANDS[command](extract_date=EXTRACT, **option)


def test_the_window_and_the_choices_are_checked_in_the_shared_run_naming_the_option_as_each_front_end_does():
    from reoffend.runs.common import command_line_flag, follow_up_window, keyword
    from reoffend.runs.measure import validate_run

    with pytest.raises(UsageError, match=r"^--follow-up takes a whole number of months from 1 to 1200, not 0$"):
        follow_up_window(0, 6, command_line_flag)
    with pytest.raises(UsageError, match=r"^waiting_period takes a whole number of months from 0 to 1200, not 1201$"):
        follow_up_window(12, 1201, keyword)
    assert follow_up_window(12, 0).follow_up_months == 12  # 0 months of waiting is allowed, as --waiting-period 0
    from reoffend.runs.common import Caller

    with pytest.raises(UsageError, match=r"^--period must be one of month, quarter, year, financial-year, not 'week'$"):
        validate_run(None, follow_up_window(12, 6), "error", "week", Caller(flag=command_line_flag))  # type: ignore


# ------------------------------------------------------------------------------- 2. streamed frames, when at fault
def test_a_fault_that_is_not_the_streamed_frames_is_not_blamed_on_them(monkeypatch):
    from reoffend.runs import measure as measure_runs

    def broken(*_, **__):
        raise RuntimeError("a fault of the package, not of the frame")

    monkeypatch.setattr(measure_runs, "measure_run", broken)
    with pytest.raises(RuntimeError, match="a fault of the package"):
        reoffend.measure(RELEASES.lazy(), CONVICTIONS, streaming=True, extract_date=EXTRACT)


def test_a_bad_option_with_a_streamed_frame_is_said_as_the_option_not_as_the_frame():
    with pytest.raises(UsageError, match=r"^follow_up takes") as raised:
        measure(streaming=True, follow_up=0)
    assert "LazyFrame" not in str(raised.value)


def test_the_users_function_failing_while_the_frame_streams_is_still_said_as_the_frame():
    def fails(_):
        raise ValueError("the user's function fails")

    lazy = RELEASES.lazy().with_columns(pl.col("establishment").map_elements(fails, return_dtype=pl.String))
    with pytest.raises(UsageError, match=r"releases \(LazyFrame\): the frame cannot be computed as it is streamed"):
        reoffend.measure(lazy, CONVICTIONS, streaming=True, extract_date=EXTRACT)


# ------------------------------------------------------------------------------- 3. what would do nothing is refused
@pytest.mark.parametrize(
    ("keywords", "named"),
    [
        ({"exclude_offences": ["X"]}, "exclude_offences"),
        ({"follow_up": 12}, "follow_up"),  # its default, typed: refused as the command line refuses --follow-up 12
        ({"extract_date": EXTRACT}, "extract_date"),
        ({"period": "year"}, "period"),
        ({"where": {"sex": "F"}}, "where"),
        ({"latest_cohort": True}, "latest_cohort"),
    ],
)
def test_compare_baseline_from_counts_refuses_the_options_of_records(keywords, named):
    with pytest.raises(UsageError, match=f"^{named}: measures records; published counts are compared as they are"):
        reoffend.compare_baseline(**COUNTS, **keywords)


def test_compare_baseline_from_counts_refuses_a_site_and_counts_alone_still_compare():
    with pytest.raises(UsageError, match="give either the tables"):
        reoffend.compare_baseline(**COUNTS, site="EST042")
    # 480/1000 against 530/1000: 5 points fewer
    assert reoffend.compare_baseline(**COUNTS).table["reduction_pp"].round(6).to_list() == [5.0]


def test_options_that_would_do_nothing_are_refused_alike_by_the_api_and_the_command(cli, sample_dir):
    files = [sample_dir / "releases.csv", sample_dir / "convictions.csv"]
    cases = [
        (
            [
                "compare",
                "baseline",
                "--current-counts",
                "480/1000",
                "--baseline-counts",
                "530/1000",
                *["--follow-up", "24"],
            ],
            "--follow-up: measures records; published counts are compared as they are, so leave it out",
            lambda: reoffend.compare_baseline(**COUNTS, follow_up=24),
            "follow_up: measures records; published counts are compared as they are, so leave it out",
        ),
        (
            ["compare", "baseline", *files, "--current", "2023Q3", "--baseline", "2022Q1", "--site-column", "sex"],
            "--site-column: goes with --site (it names the column of --site)",
            lambda: reoffend.compare_baseline(
                RELEASES, CONVICTIONS, current="2023Q1", baseline="2022Q4", site_column="sex"
            ),
            "site_column: goes with site (it names the column of site)",
        ),
        (
            ["nowcast", *files, "--no-check", "--min-coverage", "0.5"],
            "--min-coverage: goes with --check",
            lambda: reoffend.nowcast(RELEASES, CONVICTIONS, check=False, min_coverage=0.5),
            "min_coverage: goes with check",
        ),
        (
            ["compare", "matched", *files, "--treated", "establishment=EST042", "--ids-releases", "all"],
            "--ids-releases: goes with --treated-ids (it says which of their releases)",
            lambda: reoffend.compare_matched(
                RELEASES, CONVICTIONS, treated={"establishment": "E1"}, covariates="age", ids_releases="all"
            ),
            "ids_releases: goes with treated_ids (it says which of their releases)",
        ),
    ]
    for args, cli_message, call, api_message in cases:
        status, _, err = cli(*args)
        assert status == 2 and cli_message in err, (args, err)
        with pytest.raises(UsageError) as raised:
            call()
        assert str(raised.value) == api_message


# ------------------------------------------------------------------------------- 4. standard input, each call's own
def test_standard_input_claimed_by_an_earlier_call_or_another_thread_is_free_for_the_next_call(monkeypatch):
    from reoffend.run_state import claim_stdin, release_stdin

    class Stdin:
        buffer = io.BytesIO(b"X\n")

    monkeypatch.setattr("sys.stdin", Stdin)
    claim_stdin("releases")  # what an earlier call (or the command line's run) left claimed in this thread
    try:
        # A's one conviction is for X, excluded from stdin: 0 of 2 reoffend
        assert measure(exclude_offences="-", by="").table["reoffenders"].to_list() == [0]
    finally:
        release_stdin()
    other: list[BaseException] = []

    def claims_in_another_thread() -> None:
        try:
            claim_stdin("the id list")  # a thread's claim is its own: free there, whatever this thread holds
        except BaseException as error:
            other.append(error)

    claim_stdin("releases")
    thread = threading.Thread(target=claims_in_another_thread)
    thread.start()
    thread.join()
    release_stdin()
    assert other == []


# ------------------------------------------------------------------------------- 5. one string is one item
def test_one_column_value_string_is_one_item_never_its_characters():
    from reoffend.measure import MeasureParams
    from reoffend.runs.adjusted import adjusted_params
    from reoffend.runs.matched import matched_params

    assert measure(where="establishment=E1", by="").table["cohort_size"].to_list() == [1]  # only A is at E1
    aged = RELEASES.with_columns(pl.Series("age", [19, 30]))
    banded = reoffend.measure(aged, CONVICTIONS, by="age", band="age=21", extract_date=EXTRACT)
    assert banded.table.height == 2  # under 21 (A, 19) and 21 or over (B, 30)
    matched = matched_params(
        MeasureParams(), covariates="age", treated="establishment=E1", pool="sex=M", covariate_form="age=log1p"
    )
    assert matched.treated == {"establishment": ("E1",)} and matched.pool == {"sex": ("M",)}
    assert list(matched.covariate_forms) == ["age"]
    adjusted = adjusted_params(
        MeasureParams(), covariates="age", baseline="2022Q1", baseline_filter="sex=F", covariate_form="age=log1p"
    )
    assert adjusted.baseline_filter == {"sex": ("F",)} and list(adjusted.covariate_forms) == ["age"]


# ------------------------------------------------------------------------------- 6. write_bulletin's acknowledge
def test_write_bulletin_checks_the_acknowledged_codes_and_takes_one_string_as_one_code(
    sample_dir, tmp_path, monkeypatch
):
    with pytest.raises(UsageError, match=r"^acknowledge: unknown warning code 'nope-code'"):
        reoffend.write_bulletin(sample_dir / "job.toml", tmp_path / "out", acknowledge=["nope-code"])
    from reoffend.bulletin import build

    class Built(Exception):
        pass

    seen = []

    def instead(settings, *_, **__):
        seen.append(settings.acknowledge)
        raise Built

    monkeypatch.setattr(build, "build_bulletin", instead)
    with pytest.raises(Built):
        reoffend.write_bulletin(sample_dir / "job.toml", tmp_path / "out", acknowledge="partial-period")
    assert "partial-period" in seen[0] and "p" not in seen[0]


# ------------------------------------------------------------------------------- 7. wrong types, named
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: measure(by=5), "by takes a str or a list of str, not 5"),
        (lambda: measure(where=5), "where takes a mapping of str to anything, a list of str or None, not 5"),
        (lambda: measure(exclude_offences=5), "exclude_offences takes a str, a path, a collection of str or None"),
        (lambda: reoffend.compare_baseline(current_counts=480, baseline_counts="530/1000"), "current_counts takes"),
        (lambda: reoffend.power(baseline_rate=0.4, current_size=100, reduction=None), "reduction takes"),
        (lambda: reoffend.nowcast(RELEASES, CONVICTIONS, final_cohorts="4"), "final_cohorts takes a whole number"),
        (
            lambda: reoffend.compare_matched(RELEASES, CONVICTIONS, covariates="age", ratio="3"),
            "ratio takes a whole number (int), not '3'",
        ),
        (lambda: measure(column_map="a=b"), "column_map takes a mapping of str to str, not 'a=b'"),
        (lambda: reoffend.write_bulletin(5, "x"), "config takes a str or a path, not 5"),
        (
            lambda: reoffend.write_bulletin("job.toml", "x", foo=1),  # type: ignore[call-arg]
            "unknown option foo: the options of write_bulletin are acknowledge, as_at, config",
        ),
    ],
)
def test_a_wrong_type_is_a_usage_error_naming_the_keyword_and_what_it_takes(call, message):
    with pytest.raises(UsageError) as raised:
        call()
    assert message in str(raised.value)


def test_a_path_that_is_bytes_is_a_usage_error():
    class BytesPath(os.PathLike):
        def __fspath__(self):
            return b"releases.csv"

    with pytest.raises(UsageError, match="releases: give a path as text"):
        reoffend.measure(BytesPath(), CONVICTIONS)
    with pytest.raises(UsageError, match="exclude_offences takes"):
        measure(exclude_offences=BytesPath())


# ------------------------------------------------------------------------------- 8. silent acceptance, refused
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: measure(where={"sex": []}), "where takes COLUMN=VALUE[,VALUE], not 'sex' with no value"),
        (lambda: measure(dedupe="no"), "dedupe takes a bool (True or False), not 'no'"),
        (lambda: measure(column_map={"offender_id": ""}), "column_map takes {NAME: COLUMN}, both named"),
        (lambda: reoffend.write_bulletin("job.toml", ""), "output '': an empty value; give a value, or leave output"),
    ],
)
def test_what_was_accepted_silently_is_refused(call, message):
    with pytest.raises(UsageError) as raised:
        call()
    assert message in str(raised.value)


# ------------------------------------------------------------------------------- 9-11. warnings, display, pickle
def test_a_warning_points_at_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        measure(by="")  # a cohort of four days: the partial-period warning
    found = [w for w in caught if issubclass(w.category, ReoffendWarning)]
    assert found and {Path(w.filename) for w in found} == {Path(__file__)}


def test_the_html_view_shows_control_characters_as_escapes():
    hostile = RELEASES.with_columns(pl.Series("establishment", ["\x1b[31mRED", "a\rb\u202eevil"]))
    page = reoffend.measure(hostile, CONVICTIONS, by="establishment", extract_date=EXTRACT)._repr_html_()
    assert "\x1b" not in page and "\r" not in page and "\u202e" not in page
    assert "\\x1b[31mRED" in page and "a\\rb\\u202eevil" in page


def test_results_survive_a_pickle_round_trip():
    measured = measure(by="establishment")
    powered = reoffend.power(baseline_rate="46%", current_size=[100, 500])
    for result in (measured, powered):
        back = pickle.loads(pickle.dumps(result))
        assert back.table.equals(result.table) and back.summary() == result.summary()
        assert back.headline == result.headline and back.parameters == result.parameters


# ------------------------------------------------------------------ the core's words, in the API's keywords
@pytest.mark.parametrize(
    ("call", "message"),
    [
        # MatchedParams checks its values with the command line's words: the API says its keywords instead
        (lambda: COMMANDS["compare_matched"](ratio=0), "ratio must be at least 1, not 0"),
        (lambda: COMMANDS["compare_matched"](caliper=0.0), "caliper must be positive"),
        (lambda: COMMANDS["compare_matched"](min_treated=0), "min_treated must be at least 1, not 0"),
    ],
)
def test_an_options_error_from_the_core_names_the_keyword_not_the_command_line_option(call, message):
    with pytest.raises(UsageError) as raised:
        call()
    assert str(raised.value).startswith(message) and "--" not in str(raised.value)


def test_only_options_the_function_takes_are_renamed_and_map_is_column_map():
    from reoffend.api import in_python_terms

    said = "--ratio must be at least 1; add --map a=b; --treated-ids FILE; x--y; --suppress 5; ---z; '--ratio'"
    assert in_python_terms(said, ["ratio", "column_map", "treated_ids"]) == (
        "ratio must be at least 1; add column_map a=b; treated_ids FILE; x--y; --suppress 5; ---z; '--ratio'"
    )
