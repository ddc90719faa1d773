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
