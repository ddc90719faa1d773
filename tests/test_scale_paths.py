"""The quicker paths taken for large inputs give the same results as the plain ones (bench/NOTES.md).

* Parquet is scanned at each pass, CSV read whole: the same records give the same table either way, and a
  damaged Parquet file is still a data error naming the file (exit 65), not an internal error;
* the index release is chosen by sorting only the releases whose (person, cohort) may be shared: the same
  rows, in the same order, as sorting them all (the old implementation, kept here as the reference);
* text dates are parsed without stripping first when every value parses: the same dates as stripping;
* incomplete follow-up is decided from the latest release when it is complete, else counted exactly.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from reoffend.cohort import index_releases
from reoffend.inputs import InputSpec, load_inputs
from reoffend.measure import MeasureParams, measure
from reoffend.synth import SynthParams, generate


def _sort_everything(releases: pl.LazyFrame) -> pl.LazyFrame:
    """The original rule, literally: sort by person, cohort, date, establishment, input order; keep firsts."""
    order = ["offender_id", "cohort", "release_date"]
    if "establishment" in releases.collect_schema().names():
        order.append("establishment")
    return (
        releases.with_row_index("_i")
        .sort([*order, "_i"], nulls_last=True)
        .unique(subset=["offender_id", "cohort"], keep="first", maintain_order=True)
        .sort("_i")
        .drop("_i")
    )


ids = st.sampled_from(["a", "b", "c", None])
days = st.sampled_from([dt.date(2022, 1, 1), dt.date(2022, 1, 5), dt.date(2022, 2, 1), None])
sites = st.sampled_from(["E1", "E2", "E0", None])
cohorts = st.sampled_from(["Q1", "Q2", None])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(ids, days, sites, cohorts), max_size=30), st.booleans())
def test_index_releases_match_sorting_everything(rows, with_establishment):
    frame = pl.DataFrame(
        rows,
        schema={"offender_id": pl.String, "release_date": pl.Date, "establishment": pl.String, "cohort": pl.String},
        orient="row",
    ).with_row_index("row_in_file")
    if not with_establishment:
        frame = frame.drop("establishment")
    expected = _sort_everything(frame.lazy()).collect()
    assert index_releases(frame.lazy(), "first").collect().equals(expected)
    assert index_releases(frame.lazy(), "first").collect(engine="in-memory").equals(expected)


def test_ties_go_to_the_lowest_establishment_then_input_order():
    # hand-worked: A has two releases on 2022-01-05 in Q1 (E2 first in the file, then E1): E1 wins;
    # B has two identical (date, establishment) rows: the first in the file wins
    frame = pl.DataFrame(
        {
            "offender_id": ["A", "A", "B", "B", "C"],
            "release_date": [dt.date(2022, 1, 5)] * 5,
            "establishment": ["E2", "E1", "E3", "E3", "E9"],
            "cohort": ["Q1"] * 5,
            "row_in_file": [0, 1, 2, 3, 4],
        }
    )
    chosen = index_releases(frame.lazy(), "first").collect()
    assert chosen["row_in_file"].to_list() == [1, 2, 4]


def _write(tmp_path, releases, convictions, fmt):
    paths = []
    for name, frame in (("releases", releases), ("convictions", convictions)):
        path = tmp_path / f"{name}.{fmt}"
        frame.write_parquet(path) if fmt == "parquet" else frame.write_csv(path)
        paths.append(str(path))
    return paths


def test_scanned_parquet_and_csv_read_whole_give_the_same_table(tmp_path):
    releases, convictions, _ = generate(SynthParams(releases=2000, seed=3, establishments=12))
    params = MeasureParams(by=("establishment", "cohort"), excluded_offences=frozenset({"BREACH"}))
    tables = []
    for fmt in ("parquet", "csv"):
        folder = tmp_path / fmt
        folder.mkdir()
        tables.append(measure(load_inputs(InputSpec(*_write(folder, releases, convictions, fmt))), params).rows)
    assert tables[0].equals(tables[1])
    assert tables[0]["cohort_size"].sum() > 1900  # index releases: a few people twice in a cohort


def test_a_damaged_parquet_file_is_a_data_error_naming_it(tmp_path, cli, sample_dir):
    releases = pl.read_csv(sample_dir / "releases.csv", try_parse_dates=True)
    path = tmp_path / "releases.parquet"
    releases.write_parquet(path, compression="uncompressed", statistics=False)
    data = bytearray(path.read_bytes())
    start = len(data) // 3  # inside the column data, clear of the footer (which is checked on opening)
    data[start : start + 2000] = b"\xff" * 2000
    path.write_bytes(bytes(data))
    convictions = tmp_path / "convictions.parquet"
    pl.read_csv(sample_dir / "convictions.csv", try_parse_dates=True).write_parquet(convictions)
    status, _, err = cli("measure", path, convictions, "--format", "csv")
    assert status == 65
    assert f"{path}: cannot read" in err
    assert "unreadable file" in err


def test_text_dates_with_surrounding_whitespace_parse_as_stripped(tmp_path, cli):
    plain = "offender_id,release_date,establishment\nP1,2022-01-05,E1\nP2,2022-02-01,E1\n"
    spaced = "offender_id,release_date,establishment\nP1,2022-01-05  ,E1\nP2,\t2022-02-01,E1\n"
    convictions = "offender_id,offence_date,conviction_date\nP1,2022-03-01,2022-04-01\nP2,2023-09-01,2023-09-02\n"
    (tmp_path / "c.csv").write_text(convictions)
    outputs = []
    for name, text in (("plain", plain), ("spaced", spaced)):
        (tmp_path / f"{name}.csv").write_text(text)
        status, out, err = cli("measure", tmp_path / f"{name}.csv", tmp_path / "c.csv", "--by", "", "--format", "csv")
        assert status == 0, err
        outputs.append(out)
    assert outputs[0] == outputs[1]
    assert outputs[0].splitlines()[1].startswith("2,1,0.5,")  # 2 releases, P1 reoffended


def test_incomplete_follow_up_is_still_found_when_only_the_latest_release_lacks_it(tmp_path, cli):
    # extract date = latest conviction 2023-07-01; a release on 2022-01-05 ends its deadline on 2023-07-05
    # (12 + 6 months), later than 2023-07-02: incomplete; 2021-12-20 ends on 2023-06-20: complete
    releases = "offender_id,release_date\nP1,2021-12-20\nP2,2022-01-05\n"
    # P1 reoffends (convicted 2023-06-01, before its deadline); P9's old case only sets the extract date
    convictions = "offender_id,offence_date,conviction_date\nP1,2022-03-01,2023-06-01\nP9,2020-01-01,2023-07-01\n"
    (tmp_path / "r.csv").write_text(releases)
    (tmp_path / "c.csv").write_text(convictions)
    status, _, err = cli("measure", tmp_path / "r.csv", tmp_path / "c.csv", "--format", "csv")
    assert status == 65
    assert "1 release has follow-up not yet complete" in err
    status, out, _ = cli(
        "measure", tmp_path / "r.csv", tmp_path / "c.csv", "--incomplete", "exclude", "--format", "csv"
    )
    assert status == 0
    assert out.splitlines()[1].split(",")[:3] == ["2021Q4", "1", "1"]
