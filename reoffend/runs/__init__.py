"""One run of each command, shared by the command line and the Python API (issue 32): typed parameters and
inputs in, the typed result out, nothing printed or written. ``reoffend.cli`` parses options, calls the run and
renders it; ``reoffend.api`` takes keyword options, calls the same run and wraps it in a ``Result``. So the two
cannot drift: each parameter object is built in one place (the ``*_params`` functions here).

The modules import polars where they use it, not at the top: ``reoffend power`` from numbers loads no data
library (issue 30).
"""
