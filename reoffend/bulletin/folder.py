"""Writing the bulletin folder atomically (docs/bulletin.md, "The folder").

Every file is written into a temporary sibling folder first; only when all of them are written is it renamed
onto the target. An earlier bulletin stays in place until that moment: it is renamed aside, the new folder is
renamed in, and only then is the old one deleted. A failure at any point removes the temporary folder and
leaves the earlier bulletin as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ..errors import UsageError

MARKER = "manifest.json"  # an existing folder is replaced only if it looks like a bulletin


def check_target(target: str | os.PathLike) -> Path:
    """Fail before any work if the bulletin cannot be written to ``target`` (a usage error, exit 2)."""
    path = Path(target)
    parent = path.absolute().parent
    if not parent.is_dir():
        raise UsageError(f"{target}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{target}: cannot create files in {parent} (permission denied)")
    if path.exists() and not path.is_dir():
        raise UsageError(f"{target}: is a file, not a bulletin folder")
    if path.is_dir() and any(path.iterdir()) and not (path / MARKER).is_file():
        raise UsageError(
            f"{target}: the folder exists and is not a bulletin (no {MARKER}); refusing to replace it. "
            "Give a new or empty folder"
        )
    return path


def write_folder(target: str | os.PathLike, files: Mapping[str, bytes]) -> None:
    """Write ``files`` (relative path -> bytes) as the folder ``target``, atomically."""
    path = check_target(target)
    parent = path.absolute().parent
    try:
        staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp"))
    except OSError as error:
        raise UsageError(f"{target}: cannot create a folder in {parent}: {error.strerror}") from None
    old: Path | None = None
    swapped = False
    try:
        for relative in sorted(files):
            destination = staging / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            with open(destination, "wb") as handle:
                handle.write(files[relative])
                handle.flush()
                os.fsync(handle.fileno())
        _set_modes(staging)
        if path.is_dir():
            old = Path(tempfile.mkdtemp(dir=parent, prefix=f".{path.name}.", suffix=".old"))
            os.rename(path, old / "bulletin")
            try:
                os.rename(staging, path)
                swapped = True
            except BaseException:
                os.rename(old / "bulletin", path)  # put the earlier bulletin back
                raise
        else:
            if path.exists():  # an empty folder: replace it
                path.rmdir()
            os.rename(staging, path)
    except OSError as error:
        raise UsageError(f"{target}: cannot write the bulletin: {error.strerror or error}") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        if old is not None and (swapped or not (old / "bulletin").exists()):
            shutil.rmtree(old, ignore_errors=True)  # never while it holds the only copy of the earlier bulletin


def _set_modes(folder: Path) -> None:
    """Ordinary permissions (mkdtemp makes the folder private): folders 0777 and files 0666 less the umask."""
    umask = os.umask(0)
    os.umask(umask)
    for directory, _subdirs, names in os.walk(folder):
        os.chmod(directory, 0o777 & ~umask)
        for name in names:
            os.chmod(os.path.join(directory, name), 0o666 & ~umask)
