"""The word lists the enrich rules read, kept as data files beside this module.

Each list is a UTF-8 text file: one entry a line, `#` starts a comment line,
blank lines are skipped; `.tsv` files hold tab-separated columns (an empty
trailing column may be left off). README.md in this folder says what each list
is and where it comes from. Files are read once per process (the callers keep
what they load as module constants).
"""

from __future__ import annotations

from importlib.resources import files


def rows(name: str) -> list[list[str]]:
    """The entries of one list file, each split on tabs; comments and blank lines dropped."""
    text = files(__package__).joinpath(name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]


def words(name: str) -> frozenset[str]:
    """A one-column list as a set."""
    return frozenset(row[0].strip() for row in rows(name))


def column(row: list[str], index: int) -> str:
    """A row's column, or "" when a trailing empty column was left off."""
    return row[index].strip() if index < len(row) else ""
