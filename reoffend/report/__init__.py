"""The report layer, in two halves (CONTRIBUTING.md, "Layout").

Below the comparisons, which import them, the decisions: one verdict rule (:mod:`.verdict`), one multiple-testing
adjustment (:mod:`.multiple`), the declared row schemas (:mod:`.schema`). Above the comparisons, the wording every
front end (the terminal tables, the JSON ``headline``, the bulletin) uses, so the same result reads the same
everywhere (docs/comparisons.md, "one verdict"): the sentences (:mod:`.views`, :mod:`.datalab`,
:mod:`.sensitivity`), the evaluation report (:mod:`.evaluation_report`), the table specs (:mod:`.tables`), the
number formatters (:mod:`.format`) and each command's terminal view (:mod:`.terminal`), which the command line and
the Python API draw alike.
"""
