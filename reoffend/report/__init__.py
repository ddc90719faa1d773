"""The report layer: one set of number formatters, one verdict rule, one multiple-testing adjustment.

Every front end (the terminal tables, the JSON ``headline``, the bulletin) words and formats a comparison
through this package, so the same result reads the same everywhere (docs/comparisons.md, "one verdict").
"""
