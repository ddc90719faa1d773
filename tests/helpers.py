"""Helpers shared by the tests of hostile inputs and faults: small record files, file snapshots, a child
process running ``reoffend``, a device that is always full, and the jobs several test files build.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from reoffend.bulletin.build import Bulletin
from reoffend.bulletin.document import Figure, Heading, Paragraph
from tests.conftest import write_csv

PYTHON = sys.executable

ROOT = Path(__file__).resolve().parents[1]

SAMPLE = ROOT / "data" / "sample"

RELEASES = """offender_id,release_date,establishment,age,sex
A,2022-01-10,EST1,30,M
B,2022-02-10,EST2,40,F
C,2022-03-10,EST1,25,M
"""

CONVICTIONS = """offender_id,offence_date,conviction_date,offence_code
A,2022-02-01,2022-03-01,THEFT
C,2022-05-01,2022-06-01,THEFT
Z,2023-09-01,2023-12-01,THEFT
"""

EXTRACT = ("--extract-date", "2030-01-01")


@pytest.fixture(name="folder")
def folder_with_bad_csv(folder):
    """conftest's ``folder`` (r.csv and c.csv), plus bad.csv with a date that is not one. A test file that
    imports this fixture has it as its ``folder``."""
    write_csv(folder / "bad.csv", "offender_id,release_date\nA,2022-13-01\nB,2022-02-10\n")
    return folder


def snapshot(root: Path) -> dict[str, bytes]:
    """Every regular file under ``root`` and its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink() and stat.S_ISREG(p.stat().st_mode)
    }


def unchanged(before: dict[str, bytes], root: Path) -> bool:
    after = snapshot(root)
    return all(after.get(name) == data for name, data in before.items())


def temporaries(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob(".*") if ".tmp" in p.name or ".old" in p.name)


def child(args, *, cwd, env=None, stdout=subprocess.PIPE, preamble: str = "", stdin=None):
    """Run ``reoffend ARGS`` in a child process (after ``preamble``, Python run first in the child)."""
    code = preamble + "\nfrom reoffend.cli import main\nmain(sys.argv[1:])\n"
    return subprocess.Popen(
        [PYTHON, "-c", "import sys\n" + code, *map(str, args)],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=stdout,
        stderr=subprocess.PIPE,
        stdin=stdin,
        preexec_fn=_interruptible,
    )


def _interruptible() -> None:
    """The child as a terminal's foreground job: SIGINT at its default action, so Python raises
    KeyboardInterrupt. A test run started in the background by a shell (``make test &``) inherits SIGINT
    ignored, and a process that starts with it ignored rightly keeps ignoring it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def full_device(tmp_path: Path) -> Path:
    """A device that is always full: a private /dev/full (mknod, as root) or the system's when we cannot."""
    private = tmp_path / "full"
    try:
        os.mknod(private, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        return private
    except (PermissionError, OSError):
        system = Path("/dev/full")
        if not system.exists() or not stat.S_ISCHR(system.stat().st_mode):
            pytest.skip("no /dev/full device here and mknod is not allowed")
        return system


def write_bulletin_job(folder: Path) -> Path:
    job = folder / "job.toml"
    job.write_text('[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\nextract_date = 2030-01-01\n')
    return job


SLOW_WRITE = """
import pathlib, time
import reoffend.cli.output as output
real = output.frame_writer
def slow(frame, fmt):
    write = real(frame, fmt)
    def stalled(handle):
        handle.write(b"half a file")
        handle.flush()
        pathlib.Path({ready!r}).write_text("writing")
        time.sleep(60)
        write(handle)
    return stalled
output.frame_writer = slow
"""


def breakdown_job(folder: Path, *columns: str) -> Path:
    """r.csv with one extra release column per name in ``columns``, c.csv, and a bulletin job breaking down by
    them (disclosure off, so every figure is drawn)."""
    header = ",".join(f'"{c}"' for c in columns)
    rows = ["offender_id,release_date,establishment," + header]
    # two groups in every column (x, y, x down the rows), so each breakdown has a chart: one of a single group
    # is left out (too little to chart) and its file names would go untested
    rows += [
        f"{i},{d},EST1," + ",".join("xy"[(row + n) % 2] for n in range(len(columns)))
        for row, (i, d) in enumerate((("A", "2022-01-10"), ("B", "2022-02-10"), ("C", "2022-03-10")))
    ]
    write_csv(folder / "r.csv", "\n".join(rows) + "\n")
    write_csv(folder / "c.csv", CONVICTIONS)
    listed = ", ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in columns)
    job = folder / "job.toml"
    job.write_text(
        '[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\nextract_date = 2030-01-01\n'
        f"[breakdowns]\ncolumns = [{listed}]\n[disclosure]\nmin_cohort = 0\nmin_count = 0\n"
    )
    return job


LINK_LABEL = "[x](https://evil.example)"

TAG = "<img src=x onerror=alert(1)>"


def markup_job(folder: Path) -> Path:
    """Releases of two cohorts, one labelled like a Markdown link, at establishments named like HTML tags; a
    breakdown by a sex column whose values are tags."""
    rows = ["offender_id,release_date,establishment,cohort,sex"]
    rows += [f'P{i},2022-0{1 + i % 3}-1{i % 9},"{TAG}","{LINK_LABEL}","{TAG if i % 2 else "M"}"' for i in range(40)]
    rows += [f"P{i},2022-0{4 + i % 3}-1{i % 9},EST2,2022Q2 **bold** `code`,<b>F</b>" for i in range(40, 80)]
    write_csv(folder / "r.csv", "\n".join(rows) + "\n")
    convicted = "".join(f"P{i},2022-08-01,2022-09-01\n" for i in range(0, 80, 3))
    write_csv(folder / "c.csv", "offender_id,offence_date,conviction_date\n" + convicted)
    job = folder / "job.toml"
    job.write_text(
        '[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\nextract_date = 2030-01-01\n'
        '[disclosure]\nmin_cohort = 0\nmin_count = 0\n[breakdowns]\ncolumns = ["sex"]\n'
        '[publication]\nmethodology_url = "https://example.gov.uk/method(1)"\n'
    )
    return job


def matched_inputs(folder: Path, level: str = "F") -> None:
    """r.csv and c.csv a matched comparison can be made of: 30 releases at EST1 (treated), 90 at EST2, ages 20
    to 49 in both, sex M or ``level``; every fourth person reoffends."""
    rows = ["offender_id,release_date,establishment,age,sex"]
    rows += [f"P{i},2022-0{1 + i % 6}-1{i % 9},{'EST1' if i < 30 else 'EST2'},{20 + i % 30},{level if i % 2 else 'M'}"
             for i in range(120)]  # fmt: skip
    write_csv(folder / "r.csv", "\n".join(rows) + "\n")
    convicted = "".join(f"P{i},2022-09-01,2022-10-01\n" for i in range(0, 120, 4))
    write_csv(folder / "c.csv", "offender_id,offence_date,conviction_date\n" + convicted)


MEASURE = ("measure", "r.csv", "c.csv", *EXTRACT)

SAMPLE_INPUTS = (SAMPLE / "releases.csv", SAMPLE / "convictions.csv")

# RELEASES: A 2022-01-10, B 2022-02-10, C 2022-03-10, one cohort 2022Q1; the extract date 2030-01-01 completes it.
NOTHING_COUNTED = {
    # nobody released is convicted: X and Y are not in the releases
    "ids": ("offender_id,offence_date,conviction_date,offence_code\nX,2022-02-01,2022-03-01,THEFT\n", "matches"),
    # A and C offended in 2021, before their releases in 2022
    "window": (
        "offender_id,offence_date,conviction_date,offence_code\n"
        "A,2021-02-01,2021-03-01,THEFT\nC,2021-05-01,2021-06-01,THEFT\n",
        "follow-up window",
    ),
    # A and C offended within follow-up, but BREACH is excluded
    "excluded": (
        "offender_id,offence_date,conviction_date,offence_code\n"
        "A,2022-02-01,2022-03-01,BREACH\nC,2022-05-01,2022-06-01,BREACH\n",
        "excluded offence code",
    ),
}


def nothing_counted_job(folder: Path, kind: str, extra: str = "") -> Path:
    write_csv(folder / "r.csv", RELEASES)
    write_csv(folder / "c.csv", NOTHING_COUNTED[kind][0])
    (folder / "ex.txt").write_text("BREACH\n")
    job = folder / "job.toml"
    job.write_text(
        'title = "T"\n[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\nextract_date = 2030-01-01\n'
        'exclude_offences = "ex.txt"\n' + extra + "[disclosure]\nmin_cohort = 0\nmin_count = 0\n"
    )
    return job


HEADER_ONLY = "offender_id,offence_date,conviction_date,offence_code\n"

EVERYONE = HEADER_ONLY + "A,2022-02-01,2022-03-01,THEFT\nB,2022-03-01,2022-04-01,THEFT\nC,2022-04-01,2022-05-01,THEFT\n"


def sample_job(folder: Path, *, where: str = "", comparisons: bool = True, provisional: bool = False) -> str:
    """The sample's job with absolute input paths and a quick bootstrap; ``where`` one establishment."""
    job = (SAMPLE / "job.toml").read_text()
    job = job.replace('"excluded_offences.txt"', f'"{SAMPLE / "excluded_offences.txt"}"')
    job = job.replace("bootstrap = 1000", "bootstrap = 200")
    if not comparisons:  # the comparison sections, header to the next header
        kept, skip = [], False
        for line in job.splitlines():
            if line.startswith("["):
                skip = line.startswith("[comparisons.")
            if not skip:
                kept.append(line)
        job = "\n".join(kept) + "\n"
    if where:
        job = job.replace("[measure]\n", f'[measure]\nwhere = {{ establishment = ["{where}"] }}\n')
    if provisional:
        job += "\n[provisional]\ncohorts = 3\norigins = 4\n"
    return job


def section_blocks(bulletin: Bulletin, anchor: str) -> list:
    """The blocks under the second-level heading ``anchor``, up to the next one."""
    out, inside = [], False
    for block in bulletin.document.blocks:
        if isinstance(block, Heading) and block.level == 2:
            inside = block.anchor == anchor
        elif inside:
            out.append(block)
    return out


def words_of(blocks: list) -> str:
    return "\n".join(
        b.text if isinstance(b, Paragraph) else f"{b.caption}\n{b.alt}" if isinstance(b, Figure) else "" for b in blocks
    )
