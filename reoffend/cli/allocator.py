"""The memory allocator of polars, configured for the command line before polars is first imported.

polars allocates through jemalloc, which by default gives a process four arenas per core and assigns its
threads to them in turn. Memory a thread frees stays in that thread's arena, and jemalloc keeps freed
pages for reuse rather than handing them back at once. A `reoffend` run reads its inputs on some threads
and joins and groups them on others, so a peak can hold pages that other arenas freed but cannot reuse.
With one arena per core that can run at once, peak memory is lower for the same CPU time (bench/NOTES.md,
fourth round: `reoffend measure` at 1,000,000 releases, CSV 610 -> 534 MB and Parquet 396 -> 353 MB;
5,000,000 CSV 1,892 -> 1,824 MB).

The CSV reader's chunk (``POLARS_CSV_CHUNK_SIZE``, read at each scan) is set to 4 MiB, polars' default being 32
MiB: jemalloc keeps freed pages for half a second to a second, so in a quick run the bytes of every chunk in
flight while a file is typed are still resident when the measure's join and group-bys run on top of the typed
frames. Smaller chunks leave fewer of them, for the same CPU time (bench/NOTES.md, tenth round: a 1M CSV
measure with freed pages kept, as on a quiet machine, peaks at about 520 MiB rather than 640).

jemalloc reads its settings once, when polars' library starts: ``import polars`` sets its own decay times
and appends ``_RJEM_MALLOC_CONF`` to them, so this module is imported by ``reoffend.cli`` before anything
that imports polars. A setting the user made wins, and a process that imported polars before
``reoffend.cli`` (a library user, the tests) keeps jemalloc's defaults (the CSV chunk, read at each scan, is
set for it too once ``reoffend.cli`` is imported).
"""

from __future__ import annotations

import os

MALLOC_CONF = "_RJEM_MALLOC_CONF"
CSV_CHUNK = "POLARS_CSV_CHUNK_SIZE"
CSV_CHUNK_BYTES = 4 << 20


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no sched_getaffinity (macOS)
        return max(1, os.cpu_count() or 1)


# what ``import polars`` writes into ``_RJEM_MALLOC_CONF`` (polars 2.2): a process started by one that imported
# polars (bench/run.py, a notebook) inherits it, which is no setting of the user's
POLARS_OWN_CONF = "dirty_decay_ms:500,muzzy_decay_ms:1000"


def configure() -> None:
    """Set polars' jemalloc to one arena per usable core, and its CSV reader's chunk to
    :data:`CSV_CHUNK_BYTES`, each unless the environment already sets it (polars' own decay times, inherited
    from a parent process that imported polars, are not a setting: polars writes them again at its import)."""
    if os.environ.get(MALLOC_CONF, POLARS_OWN_CONF) == POLARS_OWN_CONF:
        os.environ[MALLOC_CONF] = f"narenas:{usable_cores()}"
    os.environ.setdefault(CSV_CHUNK, str(CSV_CHUNK_BYTES))


configure()
