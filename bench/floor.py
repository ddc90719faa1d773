"""The read-only floor: read both input files into memory with polars, and nothing else.

Usage: python bench/floor.py RELEASES CONVICTIONS

Any tool that answers from these files has to read them, so this is the time no contestant can beat.
"""

from __future__ import annotations

import sys

import polars as pl


def read(path: str) -> pl.DataFrame:
    return pl.read_parquet(path) if path.endswith(".parquet") else pl.read_csv(path)


def main(argv: list[str]) -> int:
    releases, convictions = read(argv[1]), read(argv[2])
    print(releases.height, convictions.height)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
