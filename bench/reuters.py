"""Load Reuters-21578 (SGML, 1987) as plain stories for the dedup benchmark.

The files have no XML root, are latin-1, and reut2-017.sgm holds a stray
control byte, so they are read with regular expressions rather than a parser.
Bodies are hard-wrapped at ~70 columns with an indent opening each paragraph;
they are re-flowed to one paragraph per line, which is what the extractor
hands to dedup for a web page. Stories without a BODY (TYPE="BRIEF" headlines,
TYPE="UNPROC" tables) are skipped: a one-line brief is below any sensible
minimum length for folding, and the few unprocessed ones are not prose.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REUTERS = DATA / "reuters21578"

_STORY = re.compile(r'<REUTERS\b[^>]*\bNEWID="(\d+)"[^>]*>(.*?)</REUTERS>', re.DOTALL)
_DATE = re.compile(r"<DATE>\s*(\d+-[A-Z]{3}-\d{4}) (\d+):(\d+):(\d+)")
_TITLE = re.compile(r"<TITLE>(.*?)</TITLE>", re.DOTALL)
_BODY = re.compile(r"<BODY>(.*?)</BODY>", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PARAGRAPH = re.compile(r"\n(?=[ \t]+\S)")


@dataclass(frozen=True)
class Story:
    newid: int
    date: datetime
    title: str
    body: str


def _reflow(body: str) -> str:
    body = re.sub(r"\s*\bReuter\s*$", "", body.strip())  # the sign-off every story ends with
    return "\n".join(" ".join(part.split()) for part in _PARAGRAPH.split(body) if part.strip())


def _when(match: re.Match[str]) -> datetime:
    """A few stamps are garbled ("605:12:19"), so the clock is clamped, not parsed."""
    day = datetime.strptime(match.group(1), "%d-%b-%Y").replace(tzinfo=UTC)
    hour, minute, second = (int(match.group(n)) for n in (2, 3, 4))
    return day.replace(hour=min(hour, 23), minute=min(minute, 59), second=min(second, 59))


def _clean(raw: str) -> str:
    return html.unescape(_CONTROL.sub("", raw))


def load_stories(folder: Path = REUTERS, files: int | None = None) -> list[Story]:
    """Stories with a body, in NEWID order; `files` limits how many .sgm files are read."""
    stories: list[Story] = []
    paths = sorted(folder.glob("reut2-*.sgm"))[:files]
    for path in paths:
        text = path.read_text(encoding="latin-1")
        for match in _STORY.finditer(text):
            body = _BODY.search(match.group(2))
            date = _DATE.search(match.group(2))
            if not body or not date:
                continue
            title = _TITLE.search(match.group(2))
            stories.append(
                Story(
                    newid=int(match.group(1)),
                    date=_when(date),
                    title=" ".join(_clean(title.group(1)).split()) if title else "",
                    body=_reflow(_clean(body.group(1))),
                )
            )
    return sorted(stories, key=lambda story: story.newid)
