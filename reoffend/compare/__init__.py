"""Baseline comparisons (docs/comparisons.md): Doncaster style, Peterborough style, risk-adjusted, power."""
