"""``reoffend sample DIR``: the README's sample data, wherever reoffend is installed (issue 28).

The files are the project's ``data/sample/`` (10,000 synthetic releases and their convictions, made by
``reoffend synth --releases 10000 --seed 20240401 --format csv``), with the exclusion list, the bulletin's job
file and the programme's id list that the README's examples use. The package reaches them as
``reoffend/sample_data`` (a link to ``data/sample/`` in a checkout, copied into the wheel by MANIFEST.in), so
the examples run from an installed copy exactly as from a checkout, with the same numbers.

Nothing is ever replaced: DIR must be new, empty, or hold only files identical to the sample's (a second run
is then a no-op). A file of the same name that differs (a real extract called ``releases.csv``) is refused
with exit 2 before anything is written.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click

from ..errors import InputFileError, OutputNotCreatable, UsageError, printable
from ..io import atomic_write_many
from .console import stderr_console

SAMPLE_FILES = (
    "releases.csv",
    "convictions.csv",
    "excluded_offences.txt",
    "programme_ids.txt",
    "job.toml",
    "meta.json",
)


def sample_files() -> dict[str, bytes]:
    """The shipped sample: file name -> bytes."""
    folder = resources.files("reoffend") / "sample_data"
    try:
        return {name: (folder / name).read_bytes() for name in SAMPLE_FILES}
    except OSError as error:  # an installation without its sample (a wheel built without MANIFEST.in)
        raise InputFileError(f"the sample shipped with reoffend cannot be read ({error}); reinstall reoffend") from None


def files_to_write(target: Path, files: dict[str, bytes]) -> dict[str, bytes]:
    """The files ``target`` lacks; a usage error for one it holds that differs, or for a target that is a file."""
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target}: is a file; give a new or empty folder for the sample")
    if not target.exists():
        if not target.parent.is_dir():
            raise OutputNotCreatable(f"{target}: cannot create it: the folder {target.parent} does not exist")
        return dict(files)
    try:
        others = sorted(entry.name for entry in target.iterdir() if entry.name not in files)
    except OSError as error:
        raise OutputNotCreatable(f"{target}: cannot read the folder: {error.strerror or error}") from None
    if others:  # a folder of someone else's files (or /etc through a link) is never written into
        shown = ", ".join(printable(name) for name in others[:3]) + (" ..." if len(others) > 3 else "")
        raise UsageError(
            f"{target}: the folder holds files that are not the sample's ({shown}); give a new or empty folder"
        )
    missing = {}
    for name, data in files.items():
        path = target / name
        if not (path.exists() or path.is_symlink()):
            missing[name] = data
        elif not path.is_file() or path.stat().st_size != len(data) or path.read_bytes() != data:  # size first
            raise UsageError(
                f"{path}: exists and is not the sample's {name}; refusing to replace it. Give a new folder"
            )
    return missing


@click.command("sample")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("-q", "--quiet", is_flag=True, help="Say nothing on success.")
def sample(folder: str, quiet: bool) -> None:
    """Write the README's sample data into FOLDER (new, or holding only the sample's own files).

    releases.csv and convictions.csv (10,000 synthetic releases from 110 prisons over eight quarters; made by
    reoffend synth, see reoffend docs synth), excluded_offences.txt, programme_ids.txt, the bulletin's job.toml
    and meta.json (the planted effect). The README's commands then run with data/sample replaced by FOLDER.
    """
    target = Path(folder)
    wanted = files_to_write(target, sample_files())
    if wanted:
        try:
            target.mkdir(exist_ok=True)
        except OSError as error:
            raise OutputNotCreatable(f"{folder}: cannot create it: {error.strerror or error}") from None
        atomic_write_many([(str(target / name), _writer(data)) for name, data in wanted.items()])
    if not quiet:
        done = "wrote" if wanted else "already holds"
        stderr_console().print(
            f"reoffend: {done} the sample in {printable(folder)}: {', '.join(SAMPLE_FILES)}",
            highlight=False,
            markup=False,
        )


def _writer(data: bytes):
    return lambda handle: handle.write(data)
