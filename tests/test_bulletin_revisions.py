"""The bulletin's revisions table (issue 27; docs/bulletin.md, "Revisions"): two extracts of one population.

The previous extract is the sample as it stood on 2024-09-30 (``as_at``), missing one conviction in 15 (recorded
late) and holding one release that was later corrected away (a record of 2022Q3). The current extract is the
sample. The expected revisions are worked out here from the two bulletins' own CSV files (and, for the
establishments of the previous bulletin's latest cohort, which this release does not print, from
``reoffend measure`` on the current files), never from revisions.csv.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from reoffend.bulletin.build import Bulletin, build_bulletin, compute_bulletin
from reoffend.bulletin.config import parse_config
from reoffend.bulletin.document import Table
from reoffend.cli import cli as click_cli
from tests.helpers import sample_job, section_blocks, words_of

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
AS_AT = "2024-09-30"
COUNTS = ("cohort_size", "reoffenders", "reconviction_events", "reoffences")
REVISED = ("late convictions", "data corrections")
EXTRA_RELEASE = "PX0000001"


def job(folder: Path, *, previous: Path | None = None, as_at: str | None = None, threshold: float = 0.5) -> Path:
    lines = [
        'title = "Revisions"',
        "[inputs]",
        f'releases = "{folder / "releases.csv"}"',
        f'convictions = "{folder / "convictions.csv"}"',
        f'exclude_offences = "{SAMPLE / "excluded_offences.txt"}"',
        *([f"as_at = {as_at}"] if as_at else []),
        "[breakdowns]",
        'columns = ["sex", "age"]',
        "bands = { age = [21, 25, 30, 40] }",
        "[publication]",
        f"revision_threshold = {threshold}",
        *([f'previous = "{previous}"'] if previous else []),
    ]
    path = folder / ("current.toml" if previous else "previous.toml")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def bulletins(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(previous bulletin, current bulletin, current data folder)."""
    root = tmp_path_factory.mktemp("revisions")
    old, new = root / "old_extract", root / "new_extract"
    old.mkdir()
    new.mkdir()
    shutil.copy(SAMPLE / "releases.csv", new / "releases.csv")
    shutil.copy(SAMPLE / "convictions.csv", new / "convictions.csv")
    releases = pl.read_csv(SAMPLE / "releases.csv", infer_schema=False)
    extra = releases.head(1).with_columns(
        pl.lit(EXTRA_RELEASE).alias("offender_id"), pl.lit("2022-08-15").alias("release_date")
    )
    pl.concat([releases, extra]).write_csv(old / "releases.csv")
    convictions = pl.read_csv(SAMPLE / "convictions.csv", infer_schema=False).with_row_index("_i")
    convictions.filter(pl.col("_i") % 15 != 7).drop("_i").write_csv(old / "convictions.csv")
    previous = root / "previous"
    build_bulletin(parse_config(str(job(old, as_at=AS_AT))), str(previous))
    current = root / "current"
    build_bulletin(parse_config(str(job(new, previous=previous))), str(current))
    return previous, current, new


def tables(folder: Path) -> dict[str, pl.DataFrame]:
    return {p.name: pl.read_csv(p, infer_schema=False) for p in sorted((folder / "tables").glob("*.csv"))}


def split(name: str) -> tuple[str, ...]:
    if name == "establishments.csv":
        return ("establishment",)
    if name.startswith("breakdown_"):
        return (name[len("breakdown_") : -len(".csv")],)
    return ()


def published(frame: pl.DataFrame, columns: tuple[str, ...]) -> dict[tuple, tuple | None]:
    """Each row's key (cohort and split) -> its counts, or None when withheld."""
    out: dict[tuple, tuple | None] = {}
    for row in frame.iter_rows(named=True):
        key = (row["cohort"], *(row[c] for c in columns))
        out[key] = None if row.get("suppressed") else tuple(int(float(row[c])) for c in COUNTS)
    return out


def revised_rows(revisions: pl.DataFrame, name: str) -> dict[tuple, dict]:
    columns = split(name)
    return {
        (row["cohort"], *(row[c] for c in columns)): row
        for row in revisions.filter(pl.col("table") == name).iter_rows(named=True)
    }


def test_the_revisions_table_lists_exactly_the_cells_that_changed(bulletins):
    previous, current, _data = bulletins
    before, after = tables(previous), tables(current)
    revisions = after["revisions.csv"]
    names = ["trend.csv", *(n for n in before if n.startswith("breakdown_"))]
    checked = 0
    for name in names:
        columns = split(name)
        old, new = published(before[name], columns), published(after[name], columns)
        rows = revised_rows(revisions, name)
        assert set(old) <= set(rows), f"{name}: a figure published before has no row"
        expected = {k for k in old if old[k] is not None and new.get(k) is not None and old[k] != new[k]}
        listed = {k for k, row in rows.items() if row["reason"] in REVISED}
        assert listed == expected, name
        for key in old:
            row = rows[key]
            if old[key] is None or new.get(key) is None:  # withheld in either: [c], numbers of people only
                assert row["suppressed"] == "[c]" and row["reoffenders"] is None and row["change_pp"] is None
                continue
            checked += 1
            assert tuple(int(row[c]) for c in COUNTS) == new[key]
            assert tuple(int(row[f"previous_{c}"]) for c in COUNTS) == old[key]
            (size0, r0, e0, o0), (size1, r1, e1, o1) = old[key], new[key]
            assert float(row["change_pp"]) == pytest.approx(100 * (r1 / size1 - r0 / size0))
            if key in expected:  # the documented rule
                late = r1 > r0 or (r1 == r0 and (e1 > e0 or o1 > o0))
                reason = "data corrections" if size0 != size1 else "late convictions" if late else "data corrections"
                assert row["reason"] == reason, (name, key)
            else:
                assert row["reason"] == "unchanged"
        if name == "trend.csv":
            completed = {k for k, row in rows.items() if row["reason"] == "cohort completed"}
            assert completed == {k for k in new if k not in old} and completed
            assert ("2022Q3",) in expected  # the release corrected away
            assert rows[("2022Q3",)]["reason"] == "data corrections"
            assert any(rows[k]["reason"] == "late convictions" for k in expected)
    assert checked > 20


def test_the_previous_latest_cohort_by_establishment_is_revised_to_what_measure_gives(bulletins):
    """This release does not print the previous latest cohort's establishments: its values now come from the
    same model the audit reads; here from ``reoffend measure`` on the current files."""
    previous, current, data = bulletins
    before = tables(previous)["establishments.csv"]
    rows = revised_rows(tables(current)["revisions.csv"], "establishments.csv")
    result = CliRunner().invoke(
        click_cli,
        [
            "measure",
            str(data / "releases.csv"),
            str(data / "convictions.csv"),
            "--exclude-offences",
            str(SAMPLE / "excluded_offences.txt"),
            "--by",
            "cohort,establishment",
            "--incomplete",
            "exclude",
            "--json",
            "-q",
        ],
        catch_exceptions=False,
    )
    measured = {
        (r["cohort"], r["establishment"]): tuple(r[c] for c in COUNTS) for r in json.loads(result.stdout)["rows"]
    }
    old = published(before, ("establishment",))
    assert set(old) == set(rows)
    shown = 0
    for key, row in rows.items():
        if row["suppressed"]:
            assert row["reoffenders"] is None
            continue
        shown += 1
        assert tuple(int(row[c]) for c in COUNTS) == measured[key]
        assert (row["reason"] in REVISED) == (old[key] != measured[key])
    assert shown > 10


def test_the_manifest_records_the_bulletin_compared_with(bulletins):
    previous, current, _data = bulletins
    manifest = json.loads((current / "manifest.json").read_text())
    assert manifest["previous"] == {
        "folder": previous.name,
        "manifest_sha256": hashlib.sha256((previous / "manifest.json").read_bytes()).hexdigest(),
        "latest_cohort": json.loads((previous / "manifest.json").read_text())["facts"]["latest_cohort"],
    }
    assert "revisions.csv" in {t["table"] for t in manifest["facts"]["disclosure"]["layout"]["tables"]}
    parameters = dict(tables(current)["parameters.csv"].iter_rows())
    assert parameters["previous_bulletin"] == previous.name and parameters["revision_threshold_pp"] == "0.5"


def test_a_revision_over_the_threshold_is_told_in_the_main_points(bulletins):
    _previous, current, _data = bulletins
    revisions = tables(current)["revisions.csv"].filter(pl.col("reason").is_in(REVISED))
    changes = revisions.with_columns(pl.col("change_pp").cast(pl.Float64).abs().alias("size"))
    changes = changes.filter(pl.col("size") >= 0.5)
    assert changes.height, "the fixture should revise some rate by half a point"
    national = changes.filter(pl.col("table") == "trend.csv")
    # the national series' largest revision first (docs/bulletin.md, "Revisions"), else any group's
    largest = (national if national.height else changes).sort("size", descending=True).row(0, named=True)
    text = (current / "bulletin.md").read_text()
    assert "The largest revision to the previous bulletin" in text
    assert f"{float(largest['previous_binary_rate']) * 100:.1f}%" in text
    assert "## Revisions" in text


def test_no_sentence_below_the_threshold(bulletins, tmp_path):
    previous, _current, data = bulletins
    config = parse_config(str(job(data, previous=previous, threshold=100)))
    from reoffend.bulletin.build import compute_bulletin

    bulletin = compute_bulletin(config)
    from reoffend.bulletin.document import to_markdown

    assert "The largest revision" not in to_markdown(bulletin.document)


# ------------------------------------------------------------------------------------------- refusals
@pytest.fixture
def copy_of(bulletins, tmp_path):
    previous, _current, data = bulletins
    target = tmp_path / "copy"
    shutil.copytree(previous, target)
    return target, data


def _refused(cli, data: Path, folder: Path) -> str:
    config = job(data, previous=folder)
    status, _out, err = cli("bulletin", "--config", config, "-o", data.parent / "never", "-q")
    assert status == 2, err
    assert not (data.parent / "never").exists()
    return err


def test_a_folder_that_is_not_a_bulletin_is_refused_naming_why(copy_of, cli, tmp_path):
    folder, data = copy_of
    assert "not a folder" in _refused(cli, data, tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    assert "no manifest.json" in _refused(cli, data, tmp_path / "empty")
    (folder / "manifest.json").write_text("{not json")
    assert "not JSON" in _refused(cli, data, folder)
    (folder / "manifest.json").write_text('{"files": {}}')
    assert "not a reoffend bulletin" in _refused(cli, data, folder)


def test_a_table_edited_since_publication_is_refused(copy_of, cli):
    folder, data = copy_of
    trend = folder / "tables" / "trend.csv"
    trend.write_text(trend.read_text().replace(",", ",1", 1))
    assert "trend.csv is not the file its manifest.json lists" in _refused(cli, data, folder)


def test_a_bulletin_measured_another_way_is_refused(copy_of, cli):
    folder, data = copy_of
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["parameters"]["measure"]["period"] = "year"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert "measured with other period" in _refused(cli, data, folder)


def test_hostile_names_in_a_manifest_stay_data(copy_of, cli):
    folder, data = copy_of
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["facts"]["disclosure"]["layout"]["tables"][0]["table"] = "../../etc/passwd.csv"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    err = _refused(cli, data, folder)
    assert "names a table" in err and "Traceback" not in err


def test_a_previous_folder_whose_tables_disagree_is_refused(copy_of, cli):
    """Edited with its manifest's hash to match (the check of the folder against itself cannot see that), a
    previous bulletin whose trend no longer adds up to its establishments and breakdowns is refused (exit 2),
    never a traceback: its figures are in this release's disclosure model (docs/bulletin.md, rule 4)."""
    import hashlib

    folder, data = copy_of
    trend = folder / "tables" / "trend.csv"
    frame = pl.read_csv(trend, infer_schema=False)
    frame = frame.with_columns(pl.col("reoffenders").cast(pl.Int64) + 5)
    frame.write_csv(trend)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["tables/trend.csv"]["sha256"] = hashlib.sha256(trend.read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    err = _refused(cli, data, folder)
    assert "disagree" in err and "Traceback" not in err


@pytest.fixture(scope="module")
def successive(tmp_path_factory, monkeypatch_module) -> Bulletin:
    """The sample after a previous bulletin of its extract as at 31 March 2025 (2023Q4 then in follow-up, given
    as a provisional estimate), with the court lag's difference from the previous one taken to fail the rule
    (as build.py leaves it out when a row's change would disclose)."""
    from reoffend.bulletin import build

    folder = tmp_path_factory.mktemp("successive")
    for name in ("releases.csv", "convictions.csv"):
        (folder / name).write_bytes((SAMPLE / name).read_bytes())
    earlier = folder / "earlier"
    earlier.mkdir()
    job = sample_job(folder, comparisons=False)
    (earlier / "job.toml").write_text(
        job.replace("[inputs]\n", "[inputs]\nas_at = 2025-03-31\n")
        .replace('"releases.csv"', f'"{folder / "releases.csv"}"')
        .replace('"convictions.csv"', f'"{folder / "convictions.csv"}"')
        + "\n[provisional]\ncohorts = 1\nbacktest = false\n"
    )
    build.build_bulletin(parse_config(str(earlier / "job.toml")), str(folder / "previous"))
    (folder / "job.toml").write_text(job.replace("[publication]", f'[publication]\nprevious = "{folder / "previous"}"'))
    monkeypatch_module.setattr(build, "court_lag_difference_fails", lambda *args: {1})
    return compute_bulletin(parse_config(str(folder / "job.toml")))


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_the_revisions_sentence_claims_only_what_the_table_holds(successive):
    text = words_of(section_blocks(successive, "revisions"))
    assert "Every figure the previous bulletin published" not in text
    assert "Every final figure the previous bulletin published" in text
    assert "provisional estimates are not in that table" in text
    # the national table: a completed cohort had no figure before, [z] (not applicable), never an empty cell
    (table,) = [b for b in section_blocks(successive, "revisions") if isinstance(b, Table)]
    completed = [row for row in table.rows if row[-1] == "cohort completed"]
    assert completed and all(row[1] == "[z]" and row[3] == "[z]" for row in completed)
    assert "" not in {cell for row in table.rows for cell in row}
    revisions = successive.tables["revisions.csv"]
    assert set(revisions["table"]) <= {"trend.csv", "establishments.csv"} | {
        n for n in successive.tables if n.startswith("breakdown_")
    }


def test_a_court_lag_left_out_for_disclosure_is_said_with_no_number(successive):
    assert "court_lag.csv" not in successive.tables
    text = words_of(section_blocks(successive, "court-lag"))
    assert "left out of this bulletin" in text and "previous bulletin" in text
    numbers = set(re.findall(r"\d+", text))
    assert numbers <= {"6"}, numbers  # the waiting period (a setting), no figure
