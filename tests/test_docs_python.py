"""docs/python.md is run: every ``>>>`` example of the Python API's page must give the output it shows."""

from __future__ import annotations

import doctest
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "python.md"


def test_every_example_of_docs_python_runs_as_shown(monkeypatch):
    monkeypatch.chdir(ROOT)  # the page reads data/sample/ from the repository's top folder, as it says
    with warnings.catch_warnings():  # the page sets its own warning filters: they end with the test
        failed, attempted = doctest.testfile(
            str(PAGE), module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False, report=True
        )
    assert attempted > 20  # the page's examples were found (a changed fence would silently run none)
    assert failed == 0, f"{failed} of {attempted} examples of docs/python.md failed (the output above says which)"
