"""Config files (``--config``, the bulletin's job; docs/config.md): as strict as the command line, paths relative
to the config's folder, and an empty, deeply nested or huge value, or a value the option would refuse, is a
usage error naming the key.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import write_csv
from tests.helpers import CONVICTIONS, MEASURE, RELEASES, breakdown_job, markup_job, snapshot


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("follow_up = 12.9\n", "line 1: wrong value for 'follow_up': expected a whole number, not 12.9"),
        ("[measure]\nfollow-up = 12\nfollow_up = 13\n", "line 3: 'follow_up' is given twice"),
        ('by = "cohort"\n\n[mesure]\nby = ""\n', "line 3: unknown section [mesure]"),
        ("[compare.baseline]\nsitee = 'EST1'\n", "line 2: unknown key 'sitee' for 'compare.baseline'"),
        ("[measure]\ndedupe = 'yes'\n", "line 2: wrong value for 'dedupe': expected true or false"),
    ],
)
def test_measure_config_is_as_strict_as_the_bulletins(cli, folder, text, message):
    config = folder / "job.toml"
    config.write_text(text)
    before = snapshot(folder)
    status, _out, err = cli("measure", folder / "r.csv", folder / "c.csv", "--config", config)
    assert status == 2 and message in err, err
    assert snapshot(folder) == before


def test_config_paths_are_relative_to_the_config_folder(cli, folder, monkeypatch):
    job_folder = folder / "jobs"
    job_folder.mkdir()
    (job_folder / "data").mkdir()
    write_csv(job_folder / "data" / "r.csv", RELEASES)
    write_csv(job_folder / "data" / "c.csv", CONVICTIONS)
    (job_folder / "job.toml").write_text(
        'releases = "data/r.csv"\nconvictions = "data/c.csv"\nextract-date = 2030-01-01\n'
        '[measure]\nper-release = "audit.csv"\nby = ""\n'
    )
    monkeypatch.chdir(folder)  # elsewhere: the config's paths still resolve against its own folder
    status, out, err = cli("measure", "--config", "jobs/job.toml", "--csv")
    assert status == 0, err
    assert out.splitlines()[1].startswith("3,2,")  # A and C of three released reoffended
    assert (job_folder / "audit.csv").is_file() and not (folder / "audit.csv").exists()


def test_a_bulletin_config_alpha_of_a_half_is_refused(tmp_path):
    from reoffend.bulletin.config import COMPARISON_SCHEMAS

    for kind in ("baseline", "matched", "adjusted"):
        with pytest.raises(ValueError, match=r"at least 1e-12 and below 0\.5"):
            COMPARISON_SCHEMAS[kind]["alpha"](0.5)
        assert COMPARISON_SCHEMAS[kind]["alpha"](0.05) == 0.05


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<b>x</b>", "//evil.example", "https://"])
def test_a_methodology_url_that_is_not_http_or_mailto_is_refused(cli, tmp_path, url):
    job = markup_job(tmp_path)
    job.write_text(job.read_text().replace("https://example.gov.uk/method(1)", url))
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 2, err
    assert "[publication] methodology_url: expected an http:// or https:// address" in err
    assert not (tmp_path / "out").exists()


def test_a_mailto_methodology_address_is_accepted(cli, tmp_path):
    job = markup_job(tmp_path)
    job.write_text(job.read_text().replace("https://example.gov.uk/method(1)", "mailto:stats@example.gov.uk"))
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 0, err
    assert '<a href="mailto:stats@example.gov.uk">' in (tmp_path / "out" / "index.html").read_text()


def test_an_empty_value_in_the_config_is_a_usage_error_too(cli, folder):
    (folder / "run.toml").write_text('[measure]\nexclude-offences = ""\n')
    status, _out, err = cli(
        *[folder / a if a.endswith(".csv") else a for a in MEASURE], "--config", folder / "run.toml"
    )
    assert status == 2 and "--exclude-offences '': an empty value" in err


def test_a_band_edge_beyond_any_count_in_the_bulletin_config_is_a_usage_error(cli, folder):
    job = breakdown_job(folder, "age")
    job.write_text(job.read_text().replace('columns = ["age"]', 'columns = ["age"]\nbands = { age = [18, 1e50] }'))
    status, _out, err = cli("bulletin", "--config", job, "-o", folder / "out", "-q")
    assert status == 2 and "an edge is at most 1e+15" in err and "[breakdowns] bands" in err


def job_file(folder: Path, extra: str = "", *, title: str = 'title = "T"\n') -> Path:
    """r.csv, c.csv and a bulletin job reading them, with ``extra`` TOML appended."""
    write_csv(folder / "r.csv", RELEASES)
    write_csv(folder / "c.csv", CONVICTIONS)
    job = folder / "job.toml"
    job.write_text(
        title + '[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\nextract_date = 2030-01-01\n'
        "[disclosure]\nmin_cohort = 0\nmin_count = 0\n" + extra
    )
    return job


def test_a_bulletin_confidence_leaving_too_small_a_tail_is_a_usage_error(cli, tmp_path):
    job = job_file(tmp_path, "[measure]\nconfidence = 0.9999999999999999\n")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 2, err
    assert "confidence" in err and "0.999999999999" in err


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('[publication]\nmethodology_url = ""\n', "[publication] methodology_url"),
        ('[publication]\ncontact = " "\n', "[publication] contact"),
        ("[measure]\nwhere = {}\n", "[measure] where"),
    ],
)
def test_an_empty_config_value_is_a_usage_error_naming_the_key(cli, tmp_path, extra, key):
    """docs/cli.md: an empty value in a config is exit 2; these were accepted (exit 0)."""
    job = job_file(tmp_path, extra)
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 2, err
    assert key in err and "empty" in err


def test_an_empty_title_is_a_usage_error(cli, tmp_path):
    job = job_file(tmp_path, title='title = ""\n')
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 2, err
    assert "title" in err and "empty" in err


@pytest.mark.parametrize("text", ["a = " + "[" * 1000 + "]" * 1000, "a = " + "{a=" * 1000 + "1" + "}" * 1000])
def test_a_config_nested_a_thousand_deep_is_a_usage_error(cli, tmp_path, sample_dir, text):
    config = tmp_path / "deep.toml"
    config.write_text(text + "\n")
    sample = [sample_dir / "releases.csv", sample_dir / "convictions.csv"]
    status, _, err = cli("measure", *sample, "--config", config)
    assert status == 2 and "nested too deeply" in err
    status, _, err = cli("compare", "baseline", "--current-counts", "4/10", "--baseline-counts", "5/10",
                         "--schedule", config)  # fmt: skip
    assert status == 2 and "nested too deeply" in err


def test_a_long_list_in_a_config_is_refused_at_once(cli, tmp_path, sample_dir):
    # 100,000 names: the duplicate check counted each name in the whole list (quadratic: minutes)
    config = tmp_path / "long.toml"
    config.write_text("by = [" + ", ".join(['"establishment"'] * 100_000) + "]\n")
    started = time.monotonic()
    status, _, err = cli("measure", sample_dir / "releases.csv", sample_dir / "convictions.csv", "--config", config)
    assert status == 2 and "more than once" in err
    assert time.monotonic() - started < 30  # a generous bound on a loaded machine; it took minutes
