"""``compare matched --style data-lab`` and ``--report DIR``: the Justice Data Lab convention."""

from __future__ import annotations

import json
import math
import re

import pytest

from reoffend.compare.datalab import MIN_MATCHED, DataLabSummary, wald_difference
from reoffend.report.datalab import data_lab_paragraphs

COVARIATES = "age,sex,sentence_months,prior_convictions,index_offence"


def test_wald_difference_by_hand():
    # 30/100 against 40% in 400: se = sqrt(.3 x .7 / 100 + .4 x .6 / 400) = sqrt(.0021 + .0006) = .05196
    difference, low, high, p = wald_difference(100, 0.3, 0.4, 400, 0.95)
    se = math.sqrt(0.0021 + 0.0006)
    assert difference == pytest.approx(-0.1)
    assert low == pytest.approx(-0.1 - 1.959964 * se, abs=1e-6) and high == pytest.approx(
        -0.1 + 1.959964 * se, abs=1e-6
    )
    assert p == pytest.approx(2 * 0.5 * math.erfc(0.1 / se / math.sqrt(2)), rel=1e-9)


@pytest.mark.parametrize("comparison_size", [None, 10_000])
def test_published_example_805_participants_18_against_23_percent(comparison_size):
    # Justice Data Lab example: 805 participants, 18% reoffended against 23% of the matched comparison group;
    # "a reduction of between 2 and 8 percentage points". se = sqrt(.18 x .82 / 805) = 1.354 points (+ the
    # comparison group's share): 5 +- 1.96 x 1.354 = 2.35 to 7.65 points
    lab = DataLabSummary.from_counts(
        participants=805,
        matched=805,
        rate_participants=0.18,
        rate_comparison=0.23,
        effective_comparison_size=comparison_size,
    )
    assert lab.difference_pp == pytest.approx(-5.0)
    assert round(-lab.difference_high_pp) == 2 and round(-lab.difference_low_pp) == 8
    assert lab.significant and lab.verdict == "significant reduction"
    text = " ".join(data_lab_paragraphs(lab))
    assert "looked at 805 people" in text and "18% of the participants" in text and "against 23%" in text
    assert "reduced the one-year proven reoffending rate by between 2 and 8 percentage points" in text
    assert "unlikely to be down to chance" in text


def test_a_non_significant_difference_may_be_down_to_chance():
    lab = DataLabSummary.from_counts(
        participants=70, matched=65, rate_participants=0.40, rate_comparison=0.45, effective_comparison_size=600
    )
    assert not lab.significant and lab.difference_low_pp < 0 < lab.difference_high_pp
    assert lab.verdict == "no significant change" and lab.as_dict()["verdict"] == lab.verdict
    text = " ".join(data_lab_paragraphs(lab))
    assert "not statistically significant" in text and "may be down to chance" in text
    assert "70 people who took part" in text and "65 of them were matched" in text


@pytest.mark.parametrize(
    ("rate_participants", "wording"), [(0.10, "two-sided p < 0.001"), (0.20, "two-sided p = 0.033")]
)
def test_a_p_value_below_the_floor_reads_p_less_than_never_p_equals_less_than(rate_participants, wording):
    # 10% against 23% of 805: z = 0.13 / sqrt(.1 x .9 / 805) = 12.3, p far below 0.001 -> "p < 0.001";
    # 20% against 23%: z = 0.03 / sqrt(.2 x .8 / 805) = 0.03 / 0.014098 = 2.128,
    # p = 2 x (1 - Phi(2.128)) = 0.033 -> "p = 0.033"
    lab = DataLabSummary.from_counts(
        participants=805,
        matched=805,
        rate_participants=rate_participants,
        rate_comparison=0.23,
        effective_comparison_size=None,  # the comparison rate taken as known: se from the participants alone
    )
    text = " ".join(data_lab_paragraphs(lab))
    assert wording in text
    assert "= <" not in text


def ids_file(tmp_path, sample_dir, count: int) -> str:
    lines = (sample_dir / "programme_ids.txt").read_text().splitlines()
    ids = [line for line in lines if line and not line.startswith("#") and line != "offender_id"][:count]
    path = tmp_path / f"ids{count}.txt"
    path.write_text("\n".join(ids) + "\n")
    return str(path)


def run(cli, sample_dir, *extra):
    return cli(
        "compare", "matched", sample_dir / "releases.csv", sample_dir / "convictions.csv",
        "--covariates", COVARIATES, "--style", "data-lab", "--bootstrap", "200", *extra,
    )  # fmt: skip


def test_sixty_matched_participants_at_least(cli, sample_dir, tmp_path):
    code, _, stderr = run(cli, sample_dir, "--treated-ids", ids_file(tmp_path, sample_dir, MIN_MATCHED - 1))
    assert code == 65
    assert "only 59 participants were matched" in stderr and "at least 60" in stderr
    out = tmp_path / "m.json"
    code, _, stderr = run(cli, sample_dir, "--treated-ids", ids_file(tmp_path, sample_dir, MIN_MATCHED), "-o", out)
    assert code == 0, stderr
    assert json.loads(out.read_text())["data_lab"]["matched"] == MIN_MATCHED


def test_every_number_of_the_summary_is_in_the_json(cli, sample_dir, tmp_path):
    out = tmp_path / "m.json"
    code, _, stderr = run(cli, sample_dir, "--treated-ids", sample_dir / "programme_ids.txt", "-o", out)
    assert code == 0, stderr
    document = json.loads(out.read_text())
    lab, pooled = document["data_lab"], document["rows"][-1]
    assert lab["summary"][0].startswith("This evaluation looked at 91 people")
    values = [abs(v) for k, v in lab.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    values += [100 * lab["confidence"]]
    for paragraph in lab["summary"]:
        for text in re.findall(r"\d[\d,]*(?:\.\d+)?", paragraph):
            number = float(text.replace(",", ""))
            decimals = len(text.split(".")[1]) if "." in text else 0
            assert any(round(v, decimals) == number for v in values), (text, paragraph)
    # the headline numbers, and the measures beside it
    assert lab["rate_participants_pct"] == pytest.approx(100 * pooled["binary_rate_treated"])
    assert lab["rate_comparison_pct"] == pytest.approx(100 * pooled["binary_rate_comparison"])
    assert round(lab["rate_participants_pct"] * 91 / 100) == 39  # 39 of the 91 participants reoffended
    assert lab["frequency_participants"] is not None and lab["days_to_first_participants"] is not None
    assert lab["significant"] == (lab["p_two_sided"] < 0.05) == (lab["difference_high_pp"] < 0)


def test_report_folder_is_written_whole_and_replaced_whole(cli, sample_dir, tmp_path):
    report = tmp_path / "evaluation"
    code, _, stderr = run(cli, sample_dir, "--treated-ids", sample_dir / "programme_ids.txt", "--report", report)
    assert code == 0, stderr
    assert sorted(p.name for p in report.iterdir()) == [
        "balance.png", "manifest.json", "report.html", "report.md", "result.json"
    ]  # fmt: skip
    page = (report / "report.html").read_text()
    markdown = (report / "report.md").read_text()
    lab = json.loads((report / "result.json").read_text())["data_lab"]
    for paragraph in lab["summary"]:
        assert paragraph in markdown and paragraph.replace("'", "&#x27;") in page
    assert 'src="data:image/png;base64,' in page and "(balance.png)" in markdown
    assert "| age |" in markdown and "Rosenbaum" in markdown and "Justice Data Lab convention" in markdown
    assert (report / "balance.png").read_bytes().startswith(b"\x89PNG")
    # run again: the folder is replaced (it has the report's manifest)
    code, _, stderr = run(cli, sample_dir, "--treated-ids", sample_dir / "programme_ids.txt", "--report", report)
    assert code == 0, stderr
    # a folder of something else is refused before any work, and left alone
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    code, _, stderr = run(cli, sample_dir, "--treated-ids", sample_dir / "programme_ids.txt", "--report", other)
    assert code == 2 and "refusing to replace it" in stderr
    assert [p.name for p in other.iterdir()] == ["keep.txt"]
