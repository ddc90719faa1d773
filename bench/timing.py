"""Time a child process from outside: wall time, peak resident memory and CPU time, from os.wait4.

Shared by bench/run.py (the measure contestants) and bench/matched.py, bench/adjusted.py.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass


@dataclass
class Run:
    wall: float
    peak_mib: float
    cpu: float
    code: int = 0
    stderr: str = ""


def run_timed(cmd: list[str], stdout=subprocess.DEVNULL) -> Run:
    """Run ``cmd`` to completion. Standard error is read before waiting, so a chatty child cannot block."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return Run(
        wall=wall,
        peak_mib=usage.ru_maxrss / 1024,
        cpu=usage.ru_utime + usage.ru_stime,
        code=os.waitstatus_to_exitcode(status),
        stderr=stderr.decode(errors="replace"),
    )


def compile_package() -> None:
    """Write the bytecode of the reoffend package being timed, as installing a wheel does. An editable install
    run with PYTHONDONTWRITEBYTECODE set (as on the shared machine) never writes it, so every process timed
    would compile the package's modules again: about 0.06 to 0.1 CPU s of start-up a run (bench/NOTES.md,
    eighth round)."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("reoffend")
    if spec is not None and spec.origin is not None:
        compileall.compile_dir(os.path.dirname(spec.origin), quiet=1)
