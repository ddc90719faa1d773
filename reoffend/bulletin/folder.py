"""Writing the bulletin folder atomically (docs/bulletin.md, "The folder").

Every file is written into a temporary sibling folder first; only when all of them are written is it renamed
onto the target. An earlier bulletin stays in place until that moment: it is renamed aside, the new folder is
renamed in, and only then is the old one deleted. A failure (or SIGINT, SIGTERM, SIGHUP) at any point removes
the temporary folder and leaves the earlier bulletin as it was.

An existing folder is replaced only when it is a bulletin this program wrote: its ``manifest.json`` carries
:data:`MANIFEST_KEY` with a known :data:`MANIFEST_VERSION`, and every file in it is one the manifest lists.
Anything else (a data-drop folder that merely holds a ``manifest.json``, a bulletin someone added notes to) is
refused with exit 2 and left untouched. Two runs into the same folder are serialised by a lock: the second
exits 75 ("busy, try later") rather than racing the first's renames.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path, PurePosixPath

from ..errors import Busy, OutputNotCreatable, OutputWriteError, UsageError, os_reason
from ..io import held_signals, record_written

MARKER = "manifest.json"
MANIFEST_KEY = "reoffend_bulletin"  # written by `bulletin` into its manifest: the folder format's version
MANIFEST_VERSION = 1


BULLETIN = "bulletin"
REPORT = "report"
# what a refused folder is not, per kind of folder output (the report shares the bulletin's manifest format)
KIND_TEXT = {
    BULLETIN: "is not a bulletin",
    REPORT: "was not written by reoffend's report (compare matched --report)",
}


STEM_LIMIT = 60  # characters of a file name made from a data value (a column name), before its extension
UNSAFE = re.compile(r"[^0-9A-Za-z]+")
SAFE_PART = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]*")


def file_stem(name: str) -> str:
    """A file name made from a data value (a ``[breakdowns]`` column): ASCII letters and digits, every other
    run of characters one ``_``, none at either end, at most :data:`STEM_LIMIT` characters. So it holds no
    ``/``, no ``..`` and nothing a shell or a web server reads specially, whatever the value. Empty when the
    value has no letter or digit (the caller refuses it)."""
    return UNSAFE.sub("_", name).strip("_")[:STEM_LIMIT].rstrip("_")


def check_stems(names: Iterable[str], what: str) -> dict[str, str]:
    """``name -> file_stem(name)`` for data values that each become a file, refused (a usage error, before any
    work) when a value makes no file name or two make the same one (compared without case: a folder copied to
    a system that ignores case must keep them apart). ``what`` names the values in the message."""
    stems: dict[str, str] = {}
    seen: dict[str, str] = {}
    for name in names:
        stem = file_stem(name)
        if not stem:
            raise UsageError(f"{what}: {name!r} makes no file name (it has no letter or digit); rename the column")
        other = seen.get(stem.lower())
        if other is not None and other != name:
            raise UsageError(
                f"{what}: {other!r} and {name!r} make the same file name ({stem!r}); rename one of the columns"
            )
        seen[stem.lower()] = name
        stems[name] = stem
    return stems


def check_relative(name: str) -> None:
    """A file of a folder output names a place inside the folder: relative, each part plain (no ``..``, no
    hidden file, nothing but letters, digits, ``.``, ``_`` and ``-``). Anything else is a bug (exit 70), found
    before anything is written."""
    parts = PurePosixPath(name).parts
    plain = parts and str(PurePosixPath(*parts)) == name and all(SAFE_PART.fullmatch(part) for part in parts)
    if not plain:
        raise ValueError(f"refusing to write {name!r}: not a plain file name inside the output folder")


def resolve_target(target: str | os.PathLike) -> Path:
    """The folder ``target`` names: a symbolic link is followed, so ``-o current`` (``current -> 2024Q1``)
    writes into the link's target and the link survives, pointing at the new folder (docs/cli.md, "Input and
    output"). ``..`` and ``.`` are resolved as the system resolves them, after the links before them, so
    ``-o b1/tables/..`` is the folder ``b1``: judged, locked and replaced as ``b1`` (issue 24: it was judged as
    a folder named ``..`` inside ``b1/tables``, with its lock file put inside the bulletin)."""
    return Path(os.path.realpath(target))


def check_target(target: str | os.PathLike, kind: str = BULLETIN) -> Path:
    """Fail before any work if the bulletin (or ``kind`` of folder) cannot be written to ``target``.

    A missing or read-only parent folder is exit 73; a file, or a folder that is not one this program wrote,
    exit 2. A symbolic link is judged by what it points to (:func:`resolve_target`), which is returned.
    """
    path = resolve_target(target)
    shown = str(target) if Path(target).absolute() == path else f"{target} (-> {path})"
    if path.is_symlink():  # still a link once followed: it leads back to itself (current -> current)
        raise UsageError(f"{target}: a symbolic link that leads back to itself; point it at a folder, or remove it")
    parent = path.parent
    if not parent.is_dir():
        raise OutputNotCreatable(f"{shown}: cannot create it: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputNotCreatable(f"{shown}: cannot create files in {parent} (permission denied)")
    if path.exists() and not path.is_dir():
        raise UsageError(f"{shown}: is a file, not a {kind} folder")
    if path.is_dir() and any(path.iterdir()):
        reason = not_a_bulletin(path, kind)
        if reason:
            raise UsageError(
                f"{shown}: the folder exists and {KIND_TEXT[kind]} ({reason}); refusing to replace it. "
                "Give a new or empty folder"
            )
    return path


REPORT_KIND = "evaluation report"  # the report's manifest says "kind": this; a bulletin's has no "kind"


def not_a_bulletin(folder: Path, kind: str = BULLETIN) -> str | None:
    """Why ``folder`` is not a bulletin (or ``kind`` of folder) written by this program (None when it is one,
    to be replaced). A report never replaces a bulletin, nor a bulletin a report: each replaces its own."""
    manifest_path = folder / MARKER
    if not manifest_path.is_file():
        return f"no {MARKER}"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: 100,000 nested [
        return f"its {MARKER} is not a bulletin manifest"
    if not isinstance(manifest, dict) or manifest.get(MANIFEST_KEY) != MANIFEST_VERSION:
        return f"its {MARKER} has no {MANIFEST_KEY!r} = {MANIFEST_VERSION}"
    if (manifest.get("kind") == REPORT_KIND) != (kind == REPORT):
        return f"its {MARKER} is {'an evaluation report' if manifest.get('kind') == REPORT_KIND else 'a bulletin'}'s"
    listed = manifest.get("files")
    listed = set(listed) if isinstance(listed, dict) else set()
    unlisted = sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        # a link is never the bulletin's (it writes none), even to a folder: replacing would delete it
        if (path.is_symlink() or not path.is_dir()) and path.relative_to(folder).as_posix() not in listed | {MARKER}
    )
    if unlisted:
        more = f" and {len(unlisted) - 3} more" if len(unlisted) > 3 else ""
        return f"it holds files its {MARKER} does not list: {', '.join(unlisted[:3])}{more}"
    return None


@contextlib.contextmanager
def folder_lock(target: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock for writing the bulletin ``target``; a second holder gets :class:`Busy` (75).

    The lock is ``flock`` on a hidden file beside the target (``.NAME.lock``). A run removes the file on
    release only when it created it, so a file of that name that was there before (a user's, or one left by a
    killed run) is locked but never written or removed. A holder that finds the file replaced after locking (a
    run that just finished removed it) tries again.
    """
    path = resolve_target(target)  # through a link or not, one folder has one lock
    lock_path = path.parent / f".{path.name}.lock"
    for _attempt in range(5):
        created = True
        try:
            descriptor = os.open(lock_path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            created = False
            try:
                descriptor = os.open(lock_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except FileNotFoundError:
                continue  # removed between the two opens by a run that finished: try again
            except OSError as error:
                reason = os_reason(error)
                raise OutputNotCreatable(f"{target}: cannot open its lock file {lock_path}: {reason}") from None
        except OSError as error:
            raise OutputNotCreatable(f"{target}: cannot create its lock file {lock_path}: {os_reason(error)}") from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(descriptor)
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise Busy(f"{target}: another reoffend bulletin is writing this folder; try again later") from None
            raise
        try:
            same = os.path.samestat(os.fstat(descriptor), os.stat(lock_path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(descriptor)  # the lock file we opened was removed by a run that has finished: try again
    else:
        raise Busy(f"{target}: could not take the folder's lock; try again later")
    try:
        yield
    finally:
        if created:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock_path)
        os.close(descriptor)


def write_folder(target: str | os.PathLike, files: Mapping[str, bytes], kind: str = BULLETIN) -> None:
    """Write ``files`` (relative path -> bytes) as the folder ``target``, atomically.

    A write that fails (no space left) is exit 74, a folder that cannot be made 73; either way the earlier
    bulletin stays and no temporary folder is left. A symbolic link is written through, never replaced.
    """
    path = check_target(target, kind)
    for relative in files:
        check_relative(relative)
    parent = path.parent
    try:
        staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp"))
    except OSError as error:
        raise OutputNotCreatable(f"{target}: cannot create a folder in {parent}: {os_reason(error)}") from None
    old: Path | None = None
    swapped = False
    try:
        try:
            for relative in sorted(files):
                destination = staging / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                with open(destination, "wb") as handle:
                    handle.write(files[relative])
                    handle.flush()
                    os.fsync(handle.fileno())
            _set_modes(staging)
        except OSError as error:
            raise OutputWriteError(f"writing the bulletin {target}: {os_reason(error)}") from None
        with held_signals():  # the swap is never left half done by a signal
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
            record_written(target)
    except OSError as error:
        raise OutputWriteError(f"{target}: cannot write the bulletin: {os_reason(error)}") from None
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
