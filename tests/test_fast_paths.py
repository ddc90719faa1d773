"""Quick paths that must answer exactly as the slow ones they stand in front of (issue 16).

Each test makes the quick path miss (or hit) on purpose and checks the answer is the full check's.
"""

from __future__ import annotations

import datetime as dt
import importlib
import subprocess
from dataclasses import replace

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from reoffend.inputs import InputSpec, load_inputs
from reoffend.measure import MeasureParams, measure, person_key
from reoffend.validate import CONVICTIONS, RELEASES, Table, input_warnings, validate_inputs, warning_queries
from tests.conftest import write_parquet_dates

# the core's module (reoffend.validate at the package top is the Python API's function: reoffend/__init__.py)
validate = importlib.import_module("reoffend.validate")

WARNING = "no offender_id in"
START = dt.date(2022, 1, 1)


def inputs_of(releases: dict, convictions: dict, *, dedupe: bool = False):
    r = pl.DataFrame(releases, schema_overrides={"offender_id": pl.String, "release_date": pl.String})
    c = pl.DataFrame(convictions, schema_overrides={k: pl.String for k in convictions})
    return validate_inputs(
        Table("releases.csv", RELEASES, r.lazy()), Table("convictions.csv", CONVICTIONS, c.lazy()), dedupe=dedupe
    )


# ------------------------------------------------------------------------ the "no id matches" warning
CONVICTED = {
    "offender_id": ["X", "Y", "Z", "B"],
    "offence_date": ["2022-02-01"] * 4,
    "conviction_date": ["2022-03-01"] * 4,
}


@pytest.mark.parametrize("sample", [1, 2, 3, 10_000])
def test_a_match_after_the_sampled_conviction_rows_is_found(monkeypatch, sample):
    # only the 4th conviction row (B) is a released person: a sample of 1 to 3 rows misses it
    monkeypatch.setattr(validate, "ID_SAMPLE", sample)
    inputs = inputs_of({"offender_id": ["A", "B"], "release_date": ["2022-01-10", "2022-01-11"]}, CONVICTED)
    assert not any(WARNING in w for w in input_warnings(inputs))


@pytest.mark.parametrize("sample", [1, 10_000])
def test_no_match_anywhere_is_warned_about(monkeypatch, sample):
    monkeypatch.setattr(validate, "ID_SAMPLE", sample)
    inputs = inputs_of({"offender_id": ["A", "C"], "release_date": ["2022-01-10", "2022-01-11"]}, CONVICTED)
    assert [w for w in input_warnings(inputs) if WARNING in w]


def test_unused_exclusion_codes_are_named_and_used_ones_are_not():
    convictions = {**CONVICTED, "offence_code": ["TH", None, "BREACH", "TH"]}
    inputs = inputs_of({"offender_id": ["B"], "release_date": ["2022-01-10"]}, convictions)
    warnings = input_warnings(inputs, frozenset({"BREACH", "BREECH", "XX"}))
    assert any("no conviction has the offence code(s) BREECH, XX;" in w for w in warnings)
    assert not any("offence code" in w for w in input_warnings(inputs, frozenset({"BREACH", "TH"})))


# ------------------------------------------------------------------------- ids as fixed-width integers
def test_person_key_is_an_integer_only_for_ids_of_one_width_in_bytes():
    def key_type(ids):
        inputs = inputs_of(
            {"offender_id": ids, "release_date": [f"2022-01-{d:02d}" for d in range(1, len(ids) + 1)]},
            {"offender_id": ids[:1], "offence_date": ["2022-02-01"], "conviction_date": ["2022-03-01"]},
        )
        frame = inputs.releases.select(person_key(inputs)).collect()
        return inputs.id_bytes, frame.dtypes[0]

    assert key_type(["P0000001", "P0000002"]) == ((8, 8), pl.UInt64)
    assert key_type(["é000001", " P0000001 "]) == ((8, 8), pl.UInt64)  # é is 2 bytes; padding is stripped
    assert key_type(["ABCD"]) == ((4, 4), pl.UInt32)
    assert key_type(["A", "B"]) == ((1, 1), pl.UInt8)  # every width of KEY_TYPES: 1, 2, 4, 8 and 16 bytes
    assert key_type(["AB", "é"]) == ((2, 2), pl.UInt16)  # é is 2 bytes in UTF-8
    assert key_type(["A" * 16]) == ((16, 16), pl.UInt128)
    assert key_type(["P1", "P10"]) == ((2, 3), pl.String)  # two widths: text
    assert key_type(["P123456"]) == ((7, 7), pl.String)  # no integer of 7 bytes


def test_scanned_ids_are_stripped_in_later_passes_only_when_some_are_padded(tmp_path):
    def load(ids):
        days = [dt.date(2022, 1, d) for d in range(1, len(ids) + 1)]
        pl.DataFrame({"offender_id": ids, "release_date": days}).write_parquet(tmp_path / "r.parquet")
        pl.DataFrame(
            {"offender_id": ["B"], "offence_date": [dt.date(2022, 2, 1)], "conviction_date": [dt.date(2022, 3, 1)]}
        ).write_parquet(tmp_path / "c.parquet")
        return load_inputs(InputSpec(str(tmp_path / "r.parquet"), str(tmp_path / "c.parquet")))

    padded = load(["A", " B\t", "C "])
    assert padded.releases.select("offender_id").collect().to_series().to_list() == ["A", "B", "C"]
    assert padded.id_bytes == (1, 1)
    assert "strip_chars" in padded.releases.explain()
    clean = load(["A", "B", "C"])
    assert clean.releases.select("offender_id").collect().to_series().to_list() == ["A", "B", "C"]
    assert "strip_chars" not in clean.releases.explain()


IDS = ["P0000001", "P0000002", "é0000003", "P000000é", "Q0000001", "éééé", "ABCDEFGH"]  # 8 bytes each


@st.composite
def people(draw):
    """Releases and convictions of people whose ids are all 8 bytes long (some with 2-byte letters)."""
    ids = draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=5, unique=True))
    releases, seen = [], set()
    for _ in range(draw(st.integers(0, 10))):
        person, day = draw(st.sampled_from(ids)), draw(st.integers(0, 700))
        if (person, day) not in seen:
            seen.add((person, day))
            releases.append((person, START + dt.timedelta(days=day), draw(st.sampled_from(["E1", "E2"]))))
    convictions = []
    for _ in range(draw(st.integers(0, 15))):
        offence = START + dt.timedelta(days=draw(st.integers(-30, 1000)))
        late = offence + dt.timedelta(days=draw(st.integers(0, 400)))
        convictions.append((draw(st.sampled_from(IDS)), offence, late))
    r = pl.DataFrame(
        releases,
        schema={"offender_id": pl.String, "release_date": pl.Date, "establishment": pl.String},
        orient="row",
    )
    c = pl.DataFrame(
        convictions,
        schema={"offender_id": pl.String, "offence_date": pl.Date, "conviction_date": pl.Date},
        orient="row",
    )
    return validate_inputs(
        Table("r", RELEASES, r.lazy()), Table("c", CONVICTIONS, c.lazy()), extract_date=dt.date(2030, 1, 1)
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    people(),
    st.sampled_from([(), ("cohort",), ("establishment", "cohort"), ("cohort", "establishment")]),
    st.sampled_from(["month", "quarter", "year", "financial-year"]),
)
def test_the_measure_on_integer_keys_equals_the_measure_on_text(validated, by, period):
    """Integer person keys (ids of one width) and integer cohort keys (cohorts that are periods) give the
    table of the text route: ids compared as text, groups made and sorted on the cohort labels (the
    per-release route, which labels every release)."""
    params = MeasureParams(by=by, period=period)
    as_text = replace(validated, id_bytes=None)  # person_key falls back to offender_id
    keyed = measure(validated, params)
    for audit in (False, True):
        text = measure(as_text, params, audit_table=audit)
        assert_frame_equal(keyed.rows, text.rows, check_exact=True)
    audited = measure(validated, params, audit_table=True)
    assert_frame_equal(audited.per_release, text.per_release, check_exact=True)


def test_cohort_keys_sort_as_the_labels_do():
    from reoffend.cohort import period_key, period_label

    days = pl.DataFrame({"d": pl.date_range(dt.date(1900, 1, 1), dt.date(2100, 12, 31), "1d", eager=True)})
    for period in ("month", "quarter", "year", "financial-year"):
        table = days.select(
            period_key(pl.col("d"), period).alias("key"), period_label(pl.col("d"), period).alias("label")
        )
        pairs = table.unique().sort("key")
        assert pairs["key"].n_unique() == pairs["label"].n_unique() == pairs.height  # one label per key
        assert pairs["label"].to_list() == sorted(pairs["label"].to_list())


# ------------------------------------------------------------------ release columns a command does not use
def test_release_columns_the_command_does_not_use_are_dropped_after_validation():
    releases = {
        "offender_id": ["A", "B"],
        "release_date": ["2022-01-10", "2022-01-11"],
        "establishment": ["E1", "E2"],
        "age": ["30", "x"],
    }
    convictions = {"offender_id": ["A"], "offence_date": ["2022-02-01"], "conviction_date": ["2022-03-01"]}

    def columns(used):
        r = pl.DataFrame(releases).lazy()
        c = pl.DataFrame(convictions).lazy()
        validated = validate_inputs(Table("r", RELEASES, r), Table("c", CONVICTIONS, c), release_columns=used)
        return validated.releases.collect_schema().names()

    assert columns(()) == ["offender_id", "release_date", "establishment"]  # establishment: the tie-break
    assert columns(["cohort"]) == ["offender_id", "release_date", "establishment"]  # cohort: made if absent
    assert columns(["age"]) == ["offender_id", "release_date", "establishment", "age"]
    assert columns(["nosuch"]) == ["offender_id", "release_date", "establishment", "age"]  # reported in full
    assert columns(None) == ["offender_id", "release_date", "establishment", "age"]


# the columns of a release row: a few people and days so that keys repeat, odd date texts, blanks, and other
# columns that differ between rows of one key (conflicting releases) or do not (exact repeats)
NARROWED_ROW = st.tuples(
    st.sampled_from(["A", "B", " A", ""]),
    st.sampled_from(["2022-01-10", "2022-01-11", " 2022-01-10", "2022-1-10", "10/01/2022", "", "2022-02-30"]),
    st.sampled_from(["E1", "E2", ""]),
    st.sampled_from(["30", "31", ""]),
    st.sampled_from(["M", "F"]),
)


def _validated(releases: pl.DataFrame, convictions: pl.DataFrame, used, dedupe: bool):
    """(the valid releases, the rows deduplicated) or the DataError's problems and summary."""
    tables = Table("r.csv", RELEASES, releases.lazy()), Table("c.csv", CONVICTIONS, convictions.lazy())
    try:
        valid = validate_inputs(*tables, release_columns=used, dedupe=dedupe)
    except validate.DataError as error:
        return "error", error.problems, error.summary()
    return "valid", valid.releases.collect(), valid.deduplicated_rows


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(NARROWED_ROW, max_size=10), st.booleans())
@example([("A", "2022-01-10", "E1", "30", "M"), ("A", "2022-01-10", "E1", "31", "M")], False)  # conflicting
@example([("A", "2022-01-10", "E1", "30", "M"), ("A", "2022-01-10", "E1", "30", "M")], True)  # an exact repeat
def test_releases_read_without_the_columns_no_command_uses_validate_as_read_whole(rows, dedupe):
    """With ``release_columns`` the releases are typed without the columns the command drops after validation
    (``held``); when some rows share offender_id and release_date the duplicate rules compare whole rows, so
    the file is typed whole after all. Every outcome (problems and their report, the valid rows, the rows
    deduplicated) is that of the frame validated whole, the dropped columns then left out."""
    names = ["offender_id", "release_date", "establishment", "age", "sex"]
    releases = pl.DataFrame(rows, schema=dict.fromkeys(names, pl.String), orient="row").with_columns(
        pl.col("age").replace("", None)
    )
    convictions = pl.DataFrame(
        {"offender_id": ["A", "B"], "offence_date": ["2022-03-01"] * 2, "conviction_date": ["2023-12-01"] * 2}
    )
    narrowed = _validated(releases, convictions, ("establishment",), dedupe)
    whole = _validated(releases, convictions, None, dedupe)
    assert narrowed[0] == whole[0]
    if whole[0] == "error":
        assert_frame_equal(narrowed[1], whole[1])
        assert narrowed[2] == whole[2]
    else:
        assert_frame_equal(narrowed[1], whole[1].select("offender_id", "release_date", "establishment"))
        assert narrowed[2] == whole[2]


def test_a_column_no_command_uses_is_still_read_with_its_type(tmp_path):
    """A value of a dropped column that its type cannot hold (past the 10,000 rows the type is read from) is
    the same problem whether or not the command uses the column: it is decoded, only not held."""
    from .conftest import write_csv

    lines = ["offender_id,release_date,establishment,age"]
    lines += [f"P{i:05d},2022-01-10,E1,{'abc' if i == 10_500 else 30}" for i in range(11_000)]
    write_csv(tmp_path / "r.csv", "\n".join(lines) + "\n")
    write_csv(tmp_path / "c.csv", "offender_id,offence_date,conviction_date\nP00001,2022-02-01,2022-03-01\n")
    spec = InputSpec(str(tmp_path / "r.csv"), str(tmp_path / "c.csv"))
    reports = []
    for used in (None, ["establishment"]):
        with pytest.raises(validate.DataError) as raised:
            load_inputs(spec, release_columns=used)
        reports.append(raised.value.summary())
    assert reports[0] == reports[1]
    assert "row 10501, column age" in reports[1] and "'abc'" in reports[1]


def test_a_missing_group_column_still_lists_every_column_of_the_file(cli, tmp_path):
    from .conftest import write_csv

    write_csv(tmp_path / "r.csv", "offender_id,release_date,establishment,age\nA,2022-01-10,E1,30\n")
    write_csv(tmp_path / "c.csv", "offender_id,offence_date,conviction_date\nA,2022-02-01,2022-03-01\n")
    status, _out, err = cli("measure", tmp_path / "r.csv", tmp_path / "c.csv", "--by", "nosuch")
    assert status != 0 and "(columns: offender_id, release_date, establishment, age)" in err


# ------------------------------------------------------------------------- window columns looked up
def test_window_columns_looked_up_are_the_computed_ones():
    from reoffend.window import FollowUpWindow

    days = pl.date_range(dt.date(1999, 12, 1), dt.date(2025, 3, 31), "1d", eager=True).alias("release_date")
    releases = days.sample(fraction=3.0, with_replacement=True, seed=1).to_frame().lazy()  # repeats, any order
    for window in (FollowUpWindow(), FollowUpWindow(1, 0), FollowUpWindow(13, 7)):
        computed = window.with_window_columns(releases).collect()
        looked_up = window.with_window_columns_looked_up(releases, days).collect()
        assert_frame_equal(looked_up, computed, check_exact=True)
    with pytest.raises(pl.exceptions.PolarsError):  # a date missing from the table is an error
        FollowUpWindow().with_window_columns_looked_up(releases, days.head(10)).collect()


# ------------------------------------------------------------------------- multiple-testing adjustment
@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(st.sampled_from([0.0, 1.0, 0.05, 0.5]), st.floats(0, 1, allow_nan=False)),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from(["holm", "bh"]),
)
def test_step_adjusted_p_values_are_statsmodels_to_the_bit(p_values, method):
    import numpy as np
    from statsmodels.stats.multitest import multipletests

    from reoffend.report.multiple import STATSMODELS_METHOD, step_adjusted

    raw = np.array(p_values, dtype=float)
    expected = multipletests(raw, method=STATSMODELS_METHOD[method])[1]
    assert step_adjusted(raw, method).tobytes() == expected.tobytes()


# ------------------------------------------------------------------------- duplicate keys, found by sorting
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(1, 4)), max_size=12))
def test_repeated_release_rows_are_counted_exactly(rows):
    # each (id, day) row as given; exact repeats of an earlier row are what --dedupe drops
    releases = {"offender_id": [i for i, _ in rows], "release_date": [f"2022-01-0{d}" for _, d in rows]}
    repeats = len(rows) - len(set(rows))
    inputs = inputs_of(releases, CONVICTED, dedupe=True)
    assert inputs.deduplicated_rows == repeats
    if repeats:
        with pytest.raises(validate.DataError):
            inputs_of(releases, CONVICTED)


# ------------------------------------------------------------------------- the extract date, found in the pass
DATES = st.one_of(
    st.dates(dt.date(1850, 1, 1), dt.date(2060, 12, 31)).map(dt.date.isoformat),
    st.sampled_from(["", "2024/01/05", "1899-12-31", "1900-01-01"]),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(DATES, max_size=6),
    st.lists(st.tuples(DATES, DATES), max_size=6),
    st.booleans(),
)
def test_rule_counts_with_the_extract_date_found_in_the_pass_are_those_with_it_given(released, convicted, scanned):
    """Without --extract-date, validation finds it (the latest conviction_date from 1900) in its one pass
    and counts dates after it only when some are: the counts must be those of the plain masks given that
    extract date, for the in-memory and the scanned route."""
    releases = pl.DataFrame(
        {"offender_id": [f"P{i}" for i in range(len(released))], "release_date": released},
        schema={"offender_id": pl.String, "release_date": pl.String},
    )
    convictions = pl.DataFrame(
        {
            "offender_id": ["P0"] * len(convicted),
            "offence_date": [o for o, _ in convicted],
            "conviction_date": [c for _, c in convicted],
        },
        schema={"offender_id": pl.String, "offence_date": pl.String, "conviction_date": pl.String},
    )
    parsed = [dt.date.fromisoformat(c) for _, c in convicted if len(c) == 10 and c[4] == "-"]
    expected_extract = max((d for d in parsed if d >= dt.date(1900, 1, 1)), default=None)

    def counts(extract):
        tables = Table("r", RELEASES, releases.lazy()), Table("c", CONVICTIONS, convictions.lazy())
        for table in tables:
            table.in_memory = not scanned
            table.typed = validate._typed_in_memory(table).lazy() if not scanned else validate.typed_frame(table)
        return validate._count_problems(*tables, extract)

    found, extract, _ = counts(None)
    assert extract == expected_extract
    if expected_extract is not None:
        given_counts, _, _ = counts(expected_extract)
        assert found == given_counts


EDGE_IDS = st.one_of(
    st.sampled_from(["A", " A", "A ", "\tA", "A\n", "A\u00a0", "\u3000A", "A\u2003", "é", "Aé", "éA", "", "  ", "B"]),
    st.text(alphabet=" \tA\u00a0é\u0085~!\x7f", max_size=3),
    st.none(),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(EDGE_IDS, st.integers(0, 2)), max_size=8), st.lists(EDGE_IDS, max_size=6))
@example([("A", 0), (" A", 0)], ["A"])  # one id padded: a duplicate key once stripped
@example([("A", 0), ("Aé", 0)], ["é"])  # bytes beyond ASCII at an end, but nothing to strip
def test_scanned_ids_counted_unstripped_give_the_stripped_figures(released, convicted):
    """A scanned file's text ids are counted as read when no id starts or ends with a byte outside printable
    ASCII, else stripped (validate._rules_query): the rule counts, the duplicate checks, the ids' lengths and
    the padded ids must be those of the frame stripped in memory, and of the stripping itself."""
    releases = pl.DataFrame(
        {"offender_id": [i for i, _ in released], "release_date": [START + dt.timedelta(days=d) for _, d in released]},
        schema={"offender_id": pl.String, "release_date": pl.Date},
    )
    convictions = pl.DataFrame(
        {
            "offender_id": convicted,
            "offence_date": [START] * len(convicted),
            "conviction_date": [START] * len(convicted),
        },
        schema={"offender_id": pl.String, "offence_date": pl.Date, "conviction_date": pl.Date},
    )

    def counted(scanned):
        tables = Table("r", RELEASES, releases.lazy()), Table("c", CONVICTIONS, convictions.lazy())
        for table in tables:
            table.in_memory = not scanned
            table.typed = validate._typed_in_memory(table).lazy() if not scanned else validate.typed_frame(table)
        found, _, _ = validate._count_problems(*tables, dt.date(2030, 1, 1))
        return found, [(table.id_bytes, table.padded_ids) for table in tables]

    (scanned, scanned_ids), (held, held_ids) = counted(True), counted(False)
    assert scanned == held
    for frame, (id_bytes, padded), (held_bytes, _) in zip((releases, convictions), scanned_ids, held_ids, strict=True):
        ids = frame.get_column("offender_id")
        assert padded == (ids.str.strip_chars() != ids).sum()
        assert id_bytes == held_bytes


# ------------------------------------------------------------------------- index releases from shared hashes
@st.composite
def releases_with_repeats(draw):
    people = draw(st.lists(st.sampled_from(["A", "B", "é1", "P 1", ""]), min_size=0, max_size=12))
    rows = [
        (person, START + dt.timedelta(days=draw(st.integers(0, 400))), draw(st.sampled_from(["E1", "E2", None])))
        for person in people
    ]
    cohorts = draw(st.sampled_from([None, ["c1", "c2"], [1, 2]]))
    frame = pl.DataFrame(
        rows, schema={"offender_id": pl.String, "release_date": pl.Date, "establishment": pl.String}, orient="row"
    )
    if cohorts is not None:
        frame = frame.with_columns(pl.Series("cohort", [draw(st.sampled_from(cohorts)) for _ in rows]))
    return frame


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(releases_with_repeats(), st.sampled_from(["month", "quarter", "year", "financial-year"]))
def test_index_releases_from_the_shared_hashes_are_those_of_the_hash_table(frame, period):
    """The shared (offender_id, cohort) hashes found by sorting (cohort.shared_index_keys), looked up, choose
    the same index releases in the same order as is_duplicated over every hash; with a cohort column too."""
    from reoffend.cohort import index_releases, shared_index_keys, with_cohort

    cohort_period = None if "cohort" in frame.columns else period
    releases = with_cohort(frame.lazy(), period)
    keys = shared_index_keys(releases, cohort_period).collect().get_column("key")
    assert keys.n_unique() == keys.len()
    plain = index_releases(releases, "first", cohort_period).collect()
    looked_up = index_releases(releases, "first", cohort_period, keys).collect()
    assert_frame_equal(looked_up, plain, check_exact=True)


@st.composite
def releases_over_centuries(draw):
    """Releases of a few people (repeated, ids alike but for padding or accents) on days anywhere from 1900-01-01
    to 9999-12-30, the valid range: before and after 1970, on period boundaries, and close together."""
    people = ["A", "B", "é1", "P 1", "", "AA"]
    days = st.one_of(
        st.dates(dt.date(1900, 1, 1), dt.date(9999, 12, 30)),
        st.dates(dt.date(1969, 12, 1), dt.date(1970, 2, 1)),
        st.builds(
            lambda year, month: dt.date(year, month, 1) - dt.timedelta(days=1),
            st.integers(1901, 2030),
            st.integers(1, 12),
        ),
        st.dates(dt.date(2023, 3, 1), dt.date(2023, 4, 30)),
    )
    rows = draw(st.lists(st.tuples(st.sampled_from(people), days), max_size=40))
    return pl.DataFrame(rows, schema={"offender_id": pl.String, "release_date": pl.Date}, orient="row")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(releases_over_centuries(), st.sampled_from(["month", "quarter", "year", "financial-year"]))
@example(
    pl.DataFrame({"offender_id": ["A", "A", "B"], "release_date": [dt.date(2022, 1, 5), dt.date(2022, 2, 5), START]}),
    "quarter",
)
def test_shared_index_keys_from_validations_sort_are_those_of_their_own_sort(frame, period):
    """Validation's sort of (offender_id, release_date) (cohort.release_order_key) gives the same shared index
    keys as shared_index_keys' own sort of (offender_id, cohort), at any valid date and for every period; and
    equal (offender_id, release_date) pairs, and only those here, have equal order keys (the duplicate check)."""
    from reoffend.cohort import ORDER_KEY, release_order_key, shared_from_release_order, shared_index_keys

    ordered = frame.lazy().select(release_order_key().alias(ORDER_KEY)).sort(ORDER_KEY)
    fused = shared_from_release_order(ordered, period).collect().get_column("key")
    own = shared_index_keys(frame.lazy(), period).collect().get_column("key")
    assert fused.dtype == own.dtype == pl.UInt64
    assert sorted(fused.to_list()) == sorted(own.to_list())
    pairs = frame.select("offender_id", "release_date").n_unique() if frame.height else 0
    assert frame.select(release_order_key().n_unique()).item() == pairs


def test_validation_collects_the_shared_index_keys_from_its_own_sort(tmp_path):
    """With the measure's queries, validation answers the shared index keys from its duplicate check's sort (one
    sort, not two): the same keys as the query itself, and the same measure; a file with a cohort column, and
    invalid data, as before."""
    from reoffend.measure import _shared_name, release_queries
    from reoffend.validate import prefetched

    params = MeasureParams(by=("establishment", "cohort"))
    ids = ["A", "B", "A", "C", "A", "B"]
    days = [dt.date(2022, 1, 3), dt.date(2022, 2, 1), dt.date(2022, 3, 31), dt.date(1960, 1, 1), START, START]
    rows = {"offender_id": ids, "release_date": days, "establishment": ["E1", "E2", "E1", "E1", "E2", "E1"]}
    pl.DataFrame(rows).write_parquet(tmp_path / "r.parquet")
    pl.DataFrame(
        {"offender_id": ["A"], "offence_date": [dt.date(2022, 2, 1)], "conviction_date": [dt.date(2024, 12, 1)]}
    ).write_parquet(tmp_path / "c.parquet")
    spec = InputSpec(str(tmp_path / "r.parquet"), str(tmp_path / "c.parquet"))
    queries = release_queries(params)
    fetched = load_inputs(spec, prefetch=queries)
    name = _shared_name(params)
    assert name in fetched.prefetched
    own = prefetched(replace(fetched, prefetched={}), queries)[name]
    assert sorted(fetched.prefetched[name].get_column("key").to_list()) == sorted(own.get_column("key").to_list())
    assert fetched.prefetched[name].height == 2  # A (three releases) and B (two) in 2022Q1
    assert_frame_equal(measure(fetched, params).rows, measure(load_inputs(spec), params).rows, check_exact=True)
    repeated = {**rows, "release_date": [*days[:-1], days[1]], "establishment": [*rows["establishment"][:-1], "E2"]}
    pl.DataFrame(repeated).write_parquet(tmp_path / "r.parquet")  # row 6 repeats row 2
    with pytest.raises(validate.DataError) as duplicated:
        load_inputs(spec, prefetch=queries)
    assert set(duplicated.value.total_by_rule) == {"duplicate-release"}


# ------------------------------------------------------------------------- queries collected with validation
def test_prefetched_results_are_kept_only_when_they_are_of_the_rows_the_command_gets(tmp_path):
    from reoffend.measure import measured_releases, release_queries

    params = MeasureParams(by=("establishment", "cohort"))
    queries = release_queries(params)

    def load(ids, *, dedupe=False, repeat=False):
        days = [dt.date(2022, 1 + d % 12, 1 + d % 27) for d in range(len(ids))]
        rows = {"offender_id": ids, "release_date": days, "establishment": ["E1"] * len(ids)}
        rows["cohort"] = ["c0", "c0", "c1", "c2"]  # rows 1 and 2 in one cohort
        frame = pl.DataFrame(rows)
        pl.concat([frame, frame.head(1)] if repeat else [frame]).write_parquet(tmp_path / "r.parquet")
        pl.DataFrame(
            {"offender_id": ["B"], "offence_date": [dt.date(2022, 2, 1)], "conviction_date": [dt.date(2025, 3, 1)]}
        ).write_parquet(tmp_path / "c.parquet")
        spec = InputSpec(str(tmp_path / "r.parquet"), str(tmp_path / "c.parquet"), dedupe=dedupe)
        return load_inputs(spec, prefetch=queries), load_inputs(spec)

    for ids, kept, options in (
        (["A", "B", "A", "C"], True, {}),
        (["A", " A", "C", "B"], False, {}),  # a padded id: the queries read ids unstripped
        (["A", "B", "A", "C"], False, {"dedupe": True, "repeat": True}),  # rows dropped after the queries
        (["A", "B", "A", "C"], True, {"dedupe": True}),  # --dedupe, nothing to drop
    ):
        fetched, plain = load(ids, **options)
        assert bool(fetched.prefetched) == kept, (ids, options)
        assert not plain.prefetched
        for other_frames in (False, True):
            # other frames than those the results are of: one cohort, in which A's two releases share a key
            one = pl.lit("all").alias("cohort")
            a, b = (replace(i, releases=i.releases.with_columns(one)) if other_frames else i for i in (fetched, plain))
            assert_frame_equal(measure(a, params).rows, measure(b, params).rows, check_exact=True)
            for (ra, fa), (rb, fb) in [(measured_releases(a, params), measured_releases(b, params))]:
                assert_frame_equal(ra.collect(), rb.collect(), check_exact=True)
                assert fa == fb


def test_a_prefetch_query_that_fails_leaves_validation_as_it_is(tmp_path):
    def broken(releases, _convictions):
        return releases.select(pl.col("no such column"))

    pl.DataFrame({"offender_id": ["A"], "release_date": [dt.date(2022, 1, 1)]}).write_parquet(tmp_path / "r.parquet")
    pl.DataFrame(
        {"offender_id": ["A"], "offence_date": [dt.date(2022, 2, 1)], "conviction_date": [dt.date(1850, 3, 1)]}
    ).write_parquet(tmp_path / "c.parquet")
    spec = InputSpec(str(tmp_path / "r.parquet"), str(tmp_path / "c.parquet"))
    with pytest.raises(validate.DataError) as plain:
        load_inputs(spec)
    with pytest.raises(validate.DataError) as fetched:
        load_inputs(spec, prefetch={"broken": broken})
    assert fetched.value.total_by_rule == plain.value.total_by_rule
    assert set(plain.value.total_by_rule) == {"date-out-of-range", "conviction-before-offence"}
    assert_frame_equal(fetched.value.problems, plain.value.problems)
    pl.DataFrame(
        {"offender_id": ["A"], "offence_date": [dt.date(2022, 2, 1)], "conviction_date": [dt.date(2023, 3, 1)]}
    ).write_parquet(tmp_path / "c.parquet")
    valid = load_inputs(spec, prefetch={"broken": broken, **warning_queries()})
    assert not valid.prefetched  # valid data: the queries are made again where they are asked for
    assert input_warnings(valid) == input_warnings(load_inputs(spec))


# ------------------------------------------------------------------------------------- dates as read
EDGE_DATES = [  # what the rule accepts and rejects at its edges (docs/data.md: ISO YYYY-MM-DD, spaces around)
    "2022-01-05",
    " 2022-01-05",
    "2022-01-05 ",
    "\t2022-01-05\u00a0",
    "2022-1-5",
    "+2022-01-05",
    "2022/01/05",
    "20220105",
    "2022-01-05T00:00",
    "x2022-01-05",
    "2022-02-29",
    "2024-02-29",
    "",
    "  ",
    None,
]
NEAR_ISO = [
    "{y:04d}{s}{m:02d}{s}{d:02d}",
    "{y}{s}{m}{s}{d}",
    "+{y:04d}{s}{m:02d}{s}{d:02d}",
    "{d:02d}{s}{m:02d}{s}{y:04d}",
    "{y:04d}{s}{m:02d}{s}{d:02d}T00:00",
    "{y:04d}{s}{m:02d}{s}{d:02d}Z",
    "{y:04d}{s}{m:02d}",
]


def _date_texts() -> st.SearchStrategy[str | None]:
    """Dates written as users write them: ISO, padded, near misses (other separators, no leading zeros,
    signed or five-digit years, times, impossible days), non-ASCII digits and spaces, and random text."""
    pads = st.sampled_from(["", " ", "  ", "\t", "\u00a0", "\u2003", "\n"])
    iso = st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(lambda d: d.isoformat())
    near = st.builds(
        lambda y, m, d, sep, pattern: pattern.format(y=y, m=m, d=d, s=sep),
        st.integers(0, 99999),
        st.integers(0, 13),
        st.integers(0, 32),
        st.sampled_from(["-", "/", ".", "", " "]),
        st.sampled_from(NEAR_ISO),
    )
    noise = st.text("0123456789-/ +T:.\t\u00a0Z\uff12\u0660", max_size=14)
    text = st.one_of(iso, near, noise, st.just(""), st.just("2022-02-29"), st.just("２０２２-01-05"))
    return st.one_of(st.none(), st.builds(lambda a, t, b: a + t + b, pads, text, pads))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_date_texts(), min_size=1, max_size=30), st.integers(1, 4))
@example(EDGE_DATES, 1)
def test_dates_typed_as_read_are_the_plain_parse_of_the_stripped_text(texts, repeats):
    """The typed-as-read route (parsed unstripped first, the parser's memo off: validate.parse_date) gives
    each value the date of the plain rule, ``strip_chars().str.to_date(DATE_FORMAT)`` with polars' defaults
    (its memo on once a column has more than 50 values: hence the repeats), and a null exactly where
    that rule gives one; the raw-missing flag is set exactly for missing values."""
    column = texts * repeats * 20  # over 50 values, so the plain parse memoises
    raw = pl.DataFrame(
        {"offender_id": [f"P{i}" for i in range(len(column))], "release_date": column},
        schema={"offender_id": pl.String, "release_date": pl.String},
    )
    table = Table("releases.csv", RELEASES, raw.lazy())
    typed = validate._typed_in_memory(table)
    plain = raw.select(pl.col("release_date").str.strip_chars().str.to_date(validate.DATE_FORMAT, strict=False))
    days = [frame.get_column("release_date").to_physical().to_list() for frame in (typed, plain)]
    assert days[0] == days[1]  # days since 1970 (polars parses years Python's dates cannot hold, e.g. '0-1-1')
    assert typed.get_column(validate.NULL + "release_date").to_list() == [t is None for t in column]


# ------------------------------------------------------------- the bulletin's baseline comparison, shared join
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    people(),
    st.sampled_from(["quarter", "year"]),
    st.sampled_from(["first", "all"]),
    st.sampled_from([None, "E1", "E2"]),
    st.sampled_from([0, 6]),
    st.data(),
)
def test_the_bulletins_baseline_from_its_one_join_is_compare_records(validated, period, index, site, waiting, data):
    """The baseline section counted from the bulletin's one join (CohortMeasures) is the one the comparison's
    own measure gives (compare_records): the same rows and headline, for any site, cohorts and index rule,
    also where the site released nobody in a cohort (size 0) and a cohort is compared with itself."""
    from reoffend.bulletin.comparisons import run_baseline
    from reoffend.bulletin.stats import CohortMeasures, restrict_cohorts
    from reoffend.compare.baseline import cohort_labels
    from reoffend.window import FollowUpWindow

    params = MeasureParams(
        by=("cohort",), period=period, index=index, incomplete="exclude", window=FollowUpWindow(12, waiting)
    )
    labels = cohort_labels(validated, period)
    if not labels:
        return
    measured = CohortMeasures(validated, restrict_cohorts(params, labels), ("establishment",), 12)
    current = data.draw(st.lists(st.sampled_from(labels), min_size=1, max_size=3))
    options = {"baseline": data.draw(st.sampled_from(labels)), "current": current}
    if site is not None:
        present = validated.releases.select(pl.col("establishment").unique()).collect().to_series().to_list()
        if site not in present:
            return
        options["site"] = site
    plain = run_baseline(options, validated, params, labels[-1], labels)
    shared = run_baseline(options, validated, params, labels[-1], labels, measured=measured)
    assert_frame_equal(shared.rows, plain.rows, check_exact=True)
    assert shared.headline == plain.headline and shared.warnings == plain.warnings


def test_the_bulletin_joins_the_baseline_site_column_only_when_it_can_count_from_it(tmp_path):
    from reoffend.bulletin.comparisons import measured_columns
    from reoffend.bulletin.config import parse_config

    for name in ("r.csv", "c.csv"):
        (tmp_path / name).write_text("x\n")

    def columns(baseline: str) -> tuple[str, ...]:
        job = tmp_path / "job.toml"
        job.write_text(f'[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\n\n[comparisons.baseline]\n{baseline}\n')
        return measured_columns(parse_config(str(job)), ["establishment", "region"])

    assert columns('site = "E1"\nbaseline = "2022Q4"') == ("establishment",)
    assert columns('site = "N"\nsite_column = "region"\nbaseline = "2022Q4"') == ("region",)
    assert columns('site = "N"\nsite_column = "nowhere"\nbaseline = "2022Q4"') == ()  # measured afresh: its error
    assert columns('baseline = "2022Q4"') == ()  # all releases: nothing to narrow by


# ------------------------------------------------------------------- the bulletin's charts, drawn in a thread
TREND = pl.DataFrame(
    {
        "cohort": ["2022Q1", "2022Q2", "2022Q3"],
        "binary_rate": [0.31, None, 0.285],  # a suppressed cohort is not plotted
        "binary_rate_low": [0.29, None, 0.26],
        "binary_rate_high": [0.33, None, 0.31],
        "events_per_100": [55.0, None, 49.5],
    }
)


def test_charts_drawn_by_the_worker_are_the_charts_drawn_inline():
    from functools import partial

    from reoffend.bulletin import figures
    from reoffend.bulletin.build import ChartWorker, _chart

    title, desc = "Rates fell", "From 31.0% to 28.5% (événements)"
    with ChartWorker() as worker:
        worker.draw("trend", partial(_chart, "trend_chart", TREND, 0.95))
        worker.draw("events", partial(_chart, "events_chart", TREND))
        drawn = worker.results()
    assert list(drawn) == ["trend", "events"]
    png, svg = figures.trend_chart(TREND, 0.95, title, desc)
    assert drawn["trend"][0] == png
    assert figures.label_svg(drawn["trend"][1], title, desc) == svg
    assert drawn["events"] == figures.events_chart(TREND)


def test_a_chart_that_fails_in_the_worker_fails_the_bulletin(monkeypatch):
    from functools import partial

    from reoffend.bulletin import figures
    from reoffend.bulletin.build import ChartWorker, _chart

    def broken(*_args):
        raise RuntimeError("no room on the axis")

    monkeypatch.setattr(figures, "events_chart", broken)
    with ChartWorker() as worker:
        worker.draw("events", partial(_chart, "events_chart", TREND))
        with pytest.raises(RuntimeError, match="no room on the axis"):
            worker.results()


# ------------------------------------------------------------------------------------ polars' allocator
@pytest.mark.parametrize(
    ("given", "expected"),
    [(None, "narenas:"), ("narenas:7", "narenas:7"), ("dirty_decay_ms:500,muzzy_decay_ms:1000", "narenas:")],
)
def test_the_command_line_sets_jemalloc_arenas_before_polars_starts(given, expected):
    """reoffend.cli.allocator runs before polars is imported (polars reads _RJEM_MALLOC_CONF once, at its
    import, and appends it to its own settings), and a user's own setting is left as it is; polars' own
    decay times, which a parent process that imported polars passes on (bench/run.py did: its measure ran
    without the arenas setting), are no setting of the user's."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    if given is not None:
        env["_RJEM_MALLOC_CONF"] = given
    code = "import os, reoffend.cli, polars; print(os.environ['_RJEM_MALLOC_CONF'])"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    settings = done.stdout.strip().split(",")
    assert settings[:2] == ["dirty_decay_ms:500", "muzzy_decay_ms:1000"]  # polars' own, then what it was given
    assert settings[2].startswith(expected) and len(settings) == 3
    if expected == "narenas:":
        assert int(settings[2].removeprefix("narenas:")) >= 1


@pytest.mark.parametrize(("given", "expected"), [(None, str(4 << 20)), ("1048576", "1048576")])
def test_the_command_line_sets_the_csv_readers_chunk(given, expected):
    """reoffend.cli.allocator sets polars' CSV chunk (POLARS_CSV_CHUNK_SIZE, read at each scan) to 4 MiB, and
    a user's own setting is left as it is."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "POLARS_CSV_CHUNK_SIZE"}
    if given is not None:
        env["POLARS_CSV_CHUNK_SIZE"] = given
    code = "import os, reoffend.cli; print(os.environ['POLARS_CSV_CHUNK_SIZE'])"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == expected


def run_with_chunk(tmp_path, value: str, *args: str) -> subprocess.CompletedProcess:
    """``reoffend ARGS`` (as the installed command runs it) with POLARS_CSV_CHUNK_SIZE set to ``value``."""
    import os
    import sys

    env = {**os.environ, "POLARS_CSV_CHUNK_SIZE": value}
    entry = "from reoffend.cli import main; main()"
    return subprocess.run([sys.executable, "-c", entry, *args], env=env, capture_output=True, text=True, cwd=tmp_path)


def chunk_inputs(tmp_path) -> list[str]:
    (tmp_path / "r.csv").write_text("offender_id,release_date\nA,2023-01-05\n")
    (tmp_path / "c.csv").write_text("offender_id,offence_date,conviction_date\nA,2023-02-01,2023-03-01\n")
    return ["validate", "r.csv", "c.csv", "--extract-date", "2025-01-01"]


@pytest.mark.parametrize(
    "given", ["abc", "", "0", "-4", "1e6", " 4096", "４０９６", "+", "18446744073709551616", "99999999999999999999"]
)
def test_a_csv_chunk_that_polars_cannot_take_is_a_usage_error(tmp_path, given):
    """Found by review: POLARS_CSV_CHUNK_SIZE=abc (or 0, or a number past 2**64 - 1) made the first CSV scan panic
    (exit 70, an internal error); it is the user's setting, so it is named in a usage error (exit 2)."""
    done = run_with_chunk(tmp_path, given, *chunk_inputs(tmp_path))
    assert done.returncode == 2, done.stderr
    assert "POLARS_CSV_CHUNK_SIZE" in done.stderr and "Traceback" not in done.stderr and "panic" not in done.stderr


@pytest.mark.parametrize("given", ["+4096", "00004096", "1048576", "18446744073709551615"])
def test_a_csv_chunk_polars_takes_is_kept(tmp_path, given):
    done = run_with_chunk(tmp_path, given, *chunk_inputs(tmp_path))
    assert done.returncode == 0, done.stderr


def test_a_bad_csv_chunk_stops_only_a_run_that_reads_csv(tmp_path):
    """Found by review: the first check stopped every command, --version and Parquet runs included, which read
    no CSV and which polars' setting cannot touch."""
    assert run_with_chunk(tmp_path, "abc", "--version").returncode == 0
    chunk_inputs(tmp_path)
    for name in ("r", "c"):
        pl.read_csv(tmp_path / f"{name}.csv").write_parquet(tmp_path / f"{name}.parquet")
    parquet = ["validate", "r.parquet", "c.parquet", "--extract-date", "2025-01-01"]
    assert run_with_chunk(tmp_path, "abc", *parquet).returncode == 0


# ---------------------------------------------------------------- the spreadsheet's data rows, written directly
CELL_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["", "&<>\"'", "a\nb\rc\td", "\x00\x0b\x1f", "\ufffe", "EST042", "[c]", "é 😀", '"quoted"', "it's"]
)
CELL = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | CELL_TEXT
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(CELL_TEXT, CELL, CELL, st.none() | st.sampled_from(["min_cohort", "secondary"])), max_size=6))
def test_spreadsheet_rows_written_directly_are_odfpys(rows):
    """rows_xml (the data rows as one string) is byte for byte what odfpy writes for the same rows of cells,
    and cell_values reads every cell as cell_value does (shorthand for nulls, by the row's suppressed reason)."""
    import io

    from odf.table import TableRow

    from reoffend.bulletin.columns import COUNT, P_VALUE, PERCENT
    from reoffend.bulletin.spreadsheet import _cell, cell_value, cell_values, rows_xml

    frame = pl.DataFrame(
        [(a, None if b is None else str(b), c if isinstance(c, float) else None, d) for a, b, c, d in rows],
        schema={"name": pl.String, "text": pl.String, "rate": pl.Float64, "suppressed": pl.String},
        orient="row",
    )
    values = list(cell_values(frame))
    one_by_one = [[cell_value(frame, i, c) for c in frame.columns] for i in range(frame.height)]
    assert repr(values) == repr(one_by_one)  # repr: NaN equals itself, -0.0 differs from 0.0
    mixed = [[a, b, c, d] for a, b, c, d in rows] + values  # bools, ints, floats and text in any column
    for formats in ((), (None, P_VALUE, PERCENT, COUNT)):  # unformatted, and numbers rounded and styled
        expected = io.StringIO()
        for row in mixed:
            element = TableRow()
            for index, value in enumerate(row):
                number_format = formats[index] if formats else None
                element.addElement(_cell("" if value is None else value, None, number_format))
            element.toXml(1, expected)
        written = "".join(rows_xml((["" if v is None else v for v in row] for row in mixed), formats))
        assert written == expected.getvalue()


# ------------------------------------------------- the bulletin's one join over every cohort, and its court lag
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people(), st.sampled_from(["first", "all"]), st.sampled_from([0, 6]), st.data())
def test_the_one_join_unrestricted_when_every_cohort_is_complete(validated, index, waiting, data):
    """With every cohort complete the bulletin joins without the cohort restriction (complete_cohorts): the
    same per-release table, trend and court lag as restricted; and the court lag of some of the cohorts,
    counted from the join of all of them, is the one counted from a join of those cohorts only."""
    from reoffend.bulletin.stats import CohortMeasures, cohort_completeness, complete_cohorts, restrict_cohorts
    from reoffend.window import FollowUpWindow

    params = MeasureParams(by=("cohort",), index=index, incomplete="exclude", window=FollowUpWindow(12, waiting))
    completeness = cohort_completeness(validated, params)
    cohorts = completeness["cohort"].to_list()
    assert complete_cohorts(params, completeness) is params  # extract date 2030: all complete
    every = CohortMeasures(validated, params, ("establishment",), 12)
    restricted = CohortMeasures(validated, restrict_cohorts(params, cohorts), ("establishment",), 12)
    in_order = every.per_release.columns  # the join keeps no row order: compare the rows as sets
    assert_frame_equal(every.per_release.sort(in_order), restricted.per_release.sort(in_order), check_exact=True)
    assert_frame_equal(every.rows(("cohort",)), restricted.rows(("cohort",)), check_exact=True)
    if not cohorts:
        return
    some = data.draw(st.lists(st.sampled_from(cohorts), min_size=1, unique=True))
    alone = CohortMeasures(validated, restrict_cohorts(params, some), ("establishment",), 12)
    assert_frame_equal(every.court_lag(some), alone.court_lag(some), check_exact=True)
    assert_frame_equal(every.court_lag(cohorts), restricted.court_lag(cohorts), check_exact=True)


def test_cohorts_are_restricted_when_one_is_incomplete_unlabelled_or_filtered():
    from reoffend.bulletin.stats import complete_cohorts

    params = MeasureParams(by=("cohort",))
    table = pl.DataFrame({"cohort": ["2022Q1", "2022Q2"], "complete": [True, True]})
    assert complete_cohorts(params, table) is params
    assert complete_cohorts(params, table.with_columns(complete=pl.Series([True, False]))).where == {
        "cohort": ("2022Q1",)
    }
    unlabelled = pl.DataFrame({"cohort": ["A", None], "complete": [True, True]})
    assert complete_cohorts(params, unlabelled).where == {"cohort": ("A", None)}  # the null cohort is left out
    filtered = MeasureParams(by=("cohort",), where={"cohort": ("2022Q2",)})
    assert complete_cohorts(filtered, table).where == {"cohort": ("2022Q2",)}


def test_a_date_beyond_year_9999_is_out_of_range_not_an_internal_error(cli, tmp_path):
    """The latest date of each column found in validation's pass stays a day number: a Parquet Date in year
    10183 (no Python date) is reported as date-out-of-range (65), as when the extract date was given."""
    status, _out, err = cli("measure", *write_parquet_dates(tmp_path, [18000, 3_000_000]), "--format", "csv")
    assert status == 65, err
    assert "row 2, column release_date: release_date is outside 1900-01-01 .. 2020-02-01" in err


@pytest.mark.parametrize("releases_first", [1, 2, 100_000])
@pytest.mark.parametrize("sample", [1, 10_000])
def test_a_match_after_the_first_release_rows_is_found(monkeypatch, releases_first, sample):
    # B, the only released person convicted, is the 2nd release row and the 4th conviction row
    monkeypatch.setattr(validate, "RELEASE_SAMPLE", releases_first)
    monkeypatch.setattr(validate, "ID_SAMPLE", sample)
    released = {"offender_id": ["A", "B"], "release_date": ["2022-01-10", "2022-01-11"]}
    assert not any(WARNING in w for w in input_warnings(inputs_of(released, CONVICTED)))
    nobody = {"offender_id": ["A", "C"], "release_date": ["2022-01-10", "2022-01-11"]}
    assert [w for w in input_warnings(inputs_of(nobody, CONVICTED)) if WARNING in w]


@pytest.mark.parametrize("first", [1, 2, 100_000])
def test_an_excluded_code_after_the_first_conviction_rows_is_found(monkeypatch, first):
    monkeypatch.setattr(validate, "CODE_SAMPLE", first)
    convictions = {**CONVICTED, "offence_code": ["TH", None, "BREACH", "TH"]}  # BREACH in the 3rd row only
    inputs = inputs_of({"offender_id": ["B"], "release_date": ["2022-01-10"]}, convictions)
    warnings = input_warnings(inputs, frozenset({"BREACH", "XX"}))
    assert any("no conviction has the offence code(s) XX;" in w for w in warnings)


# ------------------------------------------------------------------ the court-lag monitor's event order
def _lag_events_by_three_columns(data) -> pl.DataFrame:
    """The events of nowcast.lag_events as first written: two joins, sorted by the three columns; the cohort as
    its place among the cohorts in order (its dense rank, from 0)."""
    from reoffend.drift import event_table
    from reoffend.nowcast import COHORT_CODE, KEY

    day = (pl.col("release_date") - dt.date(1970, 1, 1)).dt.total_days().cast(pl.Int32).alias("_released")
    code = (pl.col("cohort").rank("dense").cast(pl.UInt32) - 1).alias(COHORT_CODE)
    return (
        event_table(data.rows, data.releases, KEY)
        .join(data.releases.select(KEY, code, day), on=KEY, how="left")
        .sort(KEY, "_lag", "_offence", descending=[False, False, True])
    )


@pytest.mark.parametrize("bits", [16, 4, 1])
def test_the_monitors_one_sort_key_orders_events_as_the_three_columns(monkeypatch, bits):
    """lag_events sorts on one number (key, lag, offence day descending) where lag and offence day fit in 16
    bits each (the key column sorted alone and the events read back from it: nowcast._decoded); with fewer bits
    (4, 1) the bound fails on these data and the three columns are sorted instead. Either way the frame is that
    of the join and the three-column sort, row for row (an offence day read back one off fails the 16-bit case)."""
    nowcast_module = importlib.import_module("reoffend.nowcast")
    from reoffend.nowcast import NowcastParams, development, lag_events
    from reoffend.synth import SynthParams, generate

    releases, convictions, _ = generate(SynthParams(releases=3000, seed=11, treated_establishment=""))
    inputs = validate_inputs(
        Table("releases.parquet", RELEASES, releases.lazy()),
        Table("convictions.parquet", CONVICTIONS, convictions.lazy()),
    )
    data = development(inputs, NowcastParams(measurement=MeasureParams(by=("cohort",))))
    monkeypatch.setattr(nowcast_module, "MONITOR_BITS", bits)
    expected = _lag_events_by_three_columns(data)
    assert expected.height > 1000
    assert_frame_equal(lag_events(data), expected)


def _court_lag_by_group_by(data, observed, extract, fitted) -> pl.DataFrame:
    """nowcast.court_lag_check as first written: the events in follow-up split by polars' group-by on the cohort's
    label (a group keeps the rows' order), every cohort fitted on its own events."""
    from reoffend.drift import LAG_Z, fit_lag, reference_lags, with_room
    from reoffend.nowcast import COHORT_CODE, COMPLETE, cohort_labels

    day = (extract - dt.date(1970, 1, 1)).days
    labels = cohort_labels(data).gather(data.events.get_column(COHORT_CODE)).alias("cohort")
    events = with_room(data.events.with_columns(labels), day)
    reference = reference_lags(events.filter(pl.col("_last") <= day))
    recent = events.filter((pl.col("_last") > day) & (pl.col("_released") <= day))
    out = []
    for (cohort,), group in recent.group_by("cohort"):
        fit = fit_lag(
            reference, group["_lag"].to_numpy(), group["_room"].to_numpy(), fitted is None or cohort in fitted
        )
        out.append((cohort, fit.ratio, fit.z))
    for cohort in observed.filter(~pl.col(COMPLETE))["cohort"].unique().to_list():
        if cohort not in {row[0] for row in out}:
            out.append((cohort, None, None))
    schema = {"cohort": observed.schema["cohort"], "court_lag_ratio": pl.Float64, "court_lag_z": pl.Float64}
    frame = pl.DataFrame(out, schema=schema, orient="row")
    changed = pl.col("court_lag_z").abs() >= LAG_Z
    return frame.select(
        "cohort",
        pl.col("court_lag_ratio").round(2),
        "court_lag_z",
        changed.alias("court_lag_changed"),
        (changed & pl.col("court_lag_ratio").is_not_null()).fill_null(False).alias("_adjust"),
    )


@pytest.mark.parametrize("extract", [dt.date(2023, 11, 30), dt.date(2024, 2, 29), dt.date(2024, 5, 31)])
def test_the_monitors_events_split_in_numpy_are_the_group_bys(monkeypatch, extract):
    """court_lag_check splits the events in follow-up by the cohort's code in numpy (a mask per cohort, in the
    events' order): every cohort's ratio, z and verdict are those of polars' group-by on the label, to the bit,
    with courts 1.8 times slower from 2023 (some cohorts changed, some not) and a few cohorts not fitted (the
    check's ``fitted``). At most 150 events a cohort are used (every k-th, in the events' order), so the order
    counts: fails with the masks' order reversed, or a cohort's code one off."""
    from reoffend.nowcast import NowcastParams, court_lag_check, development, observed_at
    from reoffend.synth import SynthParams, generate

    params = SynthParams(
        releases=20000,
        seed=5,
        treated_establishment="",
        extract_date=dt.date(2024, 6, 30),
        lag_multiplier=1.8,
        lag_change_from=dt.date(2023, 1, 1),
    )
    releases, convictions, _ = generate(params)
    monkeypatch.setattr(importlib.import_module("reoffend.drift"), "MAX_LAG_EVENTS", 150)
    inputs = validate_inputs(
        Table("releases.parquet", RELEASES, releases.lazy()),
        Table("convictions.parquet", CONVICTIONS, convictions.lazy()),
    )
    nowcast_params = NowcastParams(measurement=MeasureParams(by=("cohort",)))
    data = development(inputs, nowcast_params)
    observed = observed_at(data, extract, nowcast_params.window)
    in_follow_up = observed.filter(~pl.col("_complete"))["cohort"].unique().sort()
    assert in_follow_up.len() >= 3
    for fitted in (None, in_follow_up.head(2)):
        found = court_lag_check(data, observed, extract, fitted).sort("cohort")
        expected = _court_lag_by_group_by(data, observed, extract, fitted).sort("cohort")
        assert found["court_lag_z"].is_not_null().sum() >= 2
        assert_frame_equal(found, expected)


def test_the_monitors_sort_key_by_hand():
    """Three events of release 0 and one of release 1 (days since 1970; release 0 released on day 100):
    (lag 5, offence 110), (lag 5, offence 120), (lag 2, offence 130) sort as lag 2; then lag 5 with the later
    offence (120, room larger at any extract) first: 130, 120, 110 by offence; release 1 last."""
    from reoffend.nowcast import KEY, monitor_order

    events = pl.DataFrame(
        {
            KEY: [1, 0, 0, 0],
            "_offence": [200, 110, 120, 130],
            "_lag": [1, 5, 5, 2],
            "_released": [190, 100, 100, 100],
        },
        schema={KEY: pl.UInt32, "_offence": pl.Int32, "_lag": pl.Int64, "_released": pl.Int32},
    )
    # the one key: release * 2**32 + lag * 2**16 + (2**16 - 1 - (offence - released))
    assert events.select(monitor_order(events)).to_series().to_list() == [
        1 * 2**32 + 1 * 2**16 + (2**16 - 1 - 10),
        0 + 5 * 2**16 + (2**16 - 1 - 10),
        0 + 5 * 2**16 + (2**16 - 1 - 20),
        0 + 2 * 2**16 + (2**16 - 1 - 30),
    ]
    assert events.sort(monitor_order(events))["_offence"].to_list() == [130, 120, 110, 200]


# ------------------------------------------------------------- the nowcast's expectations, selected lazily
def _share() -> st.SearchStrategy[float | None]:
    return st.one_of(st.none(), st.just(0.0), st.just(1.0), st.floats(0, 1, allow_nan=False))


@st.composite
def expectation_inputs(draw):
    """Rows as _expectations has them after its joins: seen or not, the development table's moments (null where
    the reference never reached a state), the group's level (1 exactly, or another)."""
    n = draw(st.integers(1, 30))
    count = st.integers(0, 50)
    moment = st.one_of(st.none(), st.just(0.0), st.floats(0, 20, allow_nan=False))
    data = {
        "reoffended": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        "u_mean_reoffended": draw(st.lists(_share(), min_size=n, max_size=n)),
        "_S": draw(st.lists(_share(), min_size=n, max_size=n)),
        "_P": draw(st.lists(_share(), min_size=n, max_size=n)),
        "level_ratio": draw(
            st.lists(st.one_of(st.just(1.0), st.floats(0, 4, allow_nan=False)), min_size=n, max_size=n)
        ),
        "u_n": draw(st.lists(st.one_of(st.none(), count), min_size=n, max_size=n)),
        "o_n": draw(st.lists(st.one_of(st.none(), count), min_size=n, max_size=n)),
    }
    for counted in ("reoffences", "reconviction_events"):
        for column in (f"o_mean_{counted}", f"o_var_{counted}", f"u_mean_{counted}", f"u_var_{counted}"):
            data[column] = draw(st.lists(moment, min_size=n, max_size=n))
    schema = {c: pl.Float64 for c in data} | {"reoffended": pl.Boolean, "u_n": pl.UInt32, "o_n": pl.UInt32}
    return pl.DataFrame(data, schema=schema)


@settings(max_examples=200, deadline=None)
@given(expectation_inputs())
def test_the_expectations_selected_lazily_are_the_eager_selects_to_the_bit(frame):
    """_expectations selects its columns from a lazy frame, so that q_lam and the scale are computed once
    (common subexpressions); the numbers are those of the same select made eagerly, bit for bit."""
    from reoffend.nowcast import expectation_columns

    eager = frame.select(expectation_columns())
    lazy = frame.lazy().select(expectation_columns()).collect()
    assert_frame_equal(lazy, eager, check_exact=True)


# ------------------------------------------------- the bulletin's completeness tables from releases counted per day
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people(), st.sampled_from(["month", "quarter", "year", "financial-year"]), st.sampled_from([0, 6]))
def test_releases_per_day_equal_the_probe_of_every_release(validated, period, waiting):
    """With no filter and cohorts that are periods, the bulletin counts the releases per day and labels each
    day (stats.releases_per_day): the counts the probe makes from every release labelled (the measure's
    measured_releases), and the same completeness tables, partial periods included."""
    from reoffend.bulletin import stats
    from reoffend.window import FollowUpWindow

    params = MeasureParams(by=("cohort",), period=period, window=FollowUpWindow(12, waiting))
    order = ["cohort", "release_date"]
    fast = stats.releases_per_day(validated, period).sort(order)
    probed = stats.probed_releases_per_day(validated, params, params.window).sort(order)
    assert_frame_equal(fast, probed.select(fast.columns), check_exact=True)
    assert fast["_n"].sum() == validated.row_counts["releases"]
    # the tables themselves, against the probe's route (a filter that keeps every release takes it)
    windows = [params.window, FollowUpWindow(12, 12)]
    for extract in (None, START + dt.timedelta(days=400)):
        inputs = replace(validated, extract_date=extract)
        present = validated.releases.select(pl.col("establishment").unique().sort()).collect()["establishment"]
        every = {"establishment": tuple(present.to_list())} if present.len() else {}
        if not every:  # no release: a filter's values must be present; the fast route alone
            stats.completeness_tables(inputs, params, windows)
            continue
        tables = stats.completeness_tables(inputs, params, windows)
        as_probed = stats.completeness_tables(inputs, replace(params, where=every), windows)
        for table, other in zip(tables, as_probed, strict=True):
            assert_frame_equal(table, other, check_exact=True)


# ------------------------------------------------------------ the development table's rows taken by position
@st.composite
def tables_and_releases(draw):
    """A development table as _development_tables makes it (segments, ages 0..oldest in each, one or more court-lag
    ratios), sometimes with a gap or a repeated state (then the join itself is used), and releases in follow-up
    whose state may be missing from it (another segment, ratio or age: a null row, as the join gives)."""
    ratios = draw(st.lists(st.sampled_from([1.0, 0.5, 1.37, 2.0]), min_size=1, max_size=3, unique=True))
    segments = draw(st.lists(st.integers(0, 5), min_size=1, max_size=3, unique=True))
    oldest = draw(st.integers(0, 6))
    keys = [(s, a, r) for r in ratios for s in segments for a in range(oldest + 1)]
    keys = draw(st.permutations(keys))
    if draw(st.booleans()) and len(keys) > 1:  # a gap, or a state twice
        keys = keys[1:] if draw(st.booleans()) else [*keys, keys[0]]
    table = pl.DataFrame(
        {
            "_segment": [k[0] for k in keys],
            "_age": [k[1] for k in keys],
            "u_n": draw(st.lists(st.integers(0, 9), min_size=len(keys), max_size=len(keys))),
            "_S": draw(st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=len(keys), max_size=len(keys))),
            "_court_lag_ratio": [k[2] for k in keys],
        },
        schema={
            "_segment": pl.UInt32,
            "_age": pl.Int32,
            "u_n": pl.UInt32,
            "_S": pl.Float64,
            "_court_lag_ratio": pl.Float64,
        },
    )
    n = draw(st.integers(0, 25))
    releases = pl.DataFrame(
        {
            "_release": list(range(n)),
            "_segment": draw(st.lists(st.integers(0, 7), min_size=n, max_size=n)),
            "_age": draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)),
            "_court_lag_ratio": draw(st.lists(st.sampled_from([1.0, 0.5, 1.37, 2.0, 3.0]), min_size=n, max_size=n)),
            "reoffended": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        },
        schema={
            "_release": pl.UInt32,
            "_segment": pl.UInt32,
            "_age": pl.Int32,
            "_court_lag_ratio": pl.Float64,
            "reoffended": pl.Boolean,
        },
    )
    return releases, table


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables_and_releases())
def test_the_table_taken_by_position_is_the_left_join(case):
    """nowcast.with_state gathers each release's row of the development table by its position in a dense array
    (segment, ratio, age) instead of joining on the three columns: the same frame as the left join in the releases'
    order, states missing from the table null, and the join itself where the table has a gap or a repeated state.
    Fails with the position's age one off, or with the ratio's place ignored."""
    from reoffend.nowcast import with_state

    releases, table = case
    expected = releases.join(table, on=["_segment", "_age", "_court_lag_ratio"], how="left", maintain_order="left")
    assert_frame_equal(with_state(releases, table), expected)


def test_the_table_taken_by_position_by_hand():
    """Segment 1, ages 0-2, ratios 1.0 and 2.0 (rows in no order): a release (segment 1, age 2, ratio 2.0) takes
    the row of position (1 * 2 + 1) * 3 + 2 = 11 of the dense array, the table's row (1, 2, 2.0); (1, 3, 1.0) is
    past the oldest age and (0, 0, 1.0) in no segment of the table: null."""
    from reoffend.nowcast import _dense_rows, with_state

    keys = [(1, 2, 2.0), (1, 0, 1.0), (1, 1, 2.0), (1, 2, 1.0), (1, 0, 2.0), (1, 1, 1.0)]
    table = pl.DataFrame(
        {
            "_segment": [k[0] for k in keys],
            "_age": [k[1] for k in keys],
            "u_n": [10, 11, 12, 13, 14, 15],
            "_court_lag_ratio": [k[2] for k in keys],
        },
        schema={"_segment": pl.UInt32, "_age": pl.Int32, "u_n": pl.Int64, "_court_lag_ratio": pl.Float64},
    )
    rows, ratios, ages = _dense_rows(table)
    assert ages == 3 and ratios.to_list() == [1.0, 2.0] and rows.len() == 2 * 2 * 3
    assert rows[11] == 0 and rows[(1 * 2 + 0) * 3 + 0] == 1 and rows[:6].null_count() == 6
    releases = pl.DataFrame(
        {"_segment": [1, 1, 0], "_age": [2, 3, 0], "_court_lag_ratio": [2.0, 1.0, 1.0]},
        schema={"_segment": pl.UInt32, "_age": pl.Int32, "_court_lag_ratio": pl.Float64},
    )
    assert with_state(releases, table).get_column("u_n").to_list() == [10, None, None]
