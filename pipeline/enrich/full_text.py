"""Statements published in full: an article whose body is one speaker's own statement.

Primary sources publish statements whole and without quotation marks: a lead
("Kim Yo Jong … released the following press statement on Sunday:", "A
spokesman for the DPRK Foreign Ministry gave the following answer to a question
raised by KCNA …"), a headline or first line naming the author ("Press Statement
of …", "Statement from President … on …", "Remarks by …"), or a signature at
the end. Such an article is one attribution of kind `full_text`: its speaker
(titles stripped; an unnamed office stays a speaker of its own, with its
organisation) and the statement's own text, from where the lead ends to where
the signature begins — not the agency's framing.

The rules are data (`full_text_rules.yaml`); the detectors below are small named
strategies tried in order, and the result records which one fired.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from pipeline.config import Config, SpeakerConfig
from pipeline.records import Entity, Quote

RULES_PATH = Path(__file__).with_name("full_text_rules.yaml")
# A lead is read only near the top: further down, "gave the following answer" is a
# story quoting someone, not the article being their statement.
LEAD_CHARS = 700
# A statement shorter than this is a headline or a caption, not a statement.
MIN_TEXT_CHARS = 120
_DATELINE = re.compile(
    r"^\s*[A-Z][\w .'-]{1,40},\s+(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}(?:,\s*\d{4})?\s*)?"
    r"\([A-Za-z ]{2,20}\)\s*(?:--|—|–|-)\s*"
)
_PARENTHESES = re.compile(r"\s*\([^()]{1,60}\)")


@dataclass(frozen=True)
class Rules:
    genres: tuple[str, ...]
    issuing_verbs: tuple[str, ...]
    saying_verbs: tuple[str, ...]
    offices: tuple[str, ...]
    headline_forms: tuple[str, ...]
    report_words: tuple[str, ...]
    time_words: frozenset[str]
    title_words: frozenset[str]
    organisation_forms: tuple[tuple[str, str], ...]


def longest_first(items: list[str]) -> tuple[str, ...]:
    """Alternatives longest first, so a regex tries "press statement" before "statement"."""
    return tuple(sorted(items, key=len, reverse=True))


@cache
def rules() -> Rules:
    data: dict[str, Any] = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    return Rules(
        genres=longest_first(data["genres"]),
        issuing_verbs=longest_first(data["issuing_verbs"]),
        saying_verbs=tuple(data["saying_verbs"]),
        offices=longest_first(data["offices"]),
        headline_forms=longest_first(data["headline_forms"]),
        report_words=tuple(data["report_words"]),
        time_words=frozenset(data["time_words"]),
        title_words=frozenset(data["title_words"]),
        organisation_forms=tuple(data["organisation_forms"].items()),
    )


def _alternatives(items: Sequence[str]) -> str:
    return "|".join(re.escape(item).replace(r"\ ", r"\s+") for item in items)


@cache
def _patterns() -> dict[str, re.Pattern[str]]:
    r = rules()
    # a lead's subject: no sentence end inside, but abbreviations may be ("Mt. Kumgang", "U.S.")
    months = r"(?<=Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\."
    subject = rf"(?P<speaker>[A-Z\"“](?:[^.:;\n]|(?<=[A-Z])\.|(?<=Mt|St|Dr)\.|{months}){{2,300}}?)"
    return {
        "following": re.compile(
            subject + rf",?\s+(?P<cue>(?:{_alternatives(r.issuing_verbs)})\b[^.:;,\n]{{0,30}}?\bthe\s+following\s+"
            rf"(?P<genre>{_alternatives(r.genres)})\b)",
        ),
        "said_in_statement": re.compile(
            subject + rf",?\s+(?P<cue>(?:{'|'.join(r.saying_verbs)})\s+in\s+(?:a|an|its|the|his|her|their)\s+"
            rf"(?:[\w-]+\s+){{0,2}}?(?P<genre>{_alternatives(r.genres)}))\b[^:.\n]{{0,200}}:"
        ),
        "answered_question": re.compile(
            subject + r",?\s+(?P<cue>answered\s+(?:a|the)\s+questions?)\s+(?:raised|put|asked|posed)\s+by\b",
        ),
        "author_line": re.compile(
            rf"^\s*(?P<cue>{_alternatives(r.headline_forms)})\s+(?P<speaker>[^\n]{{2,200}}?)\s*$",
            re.IGNORECASE,
        ),
        "signature": re.compile(
            r"^\s*(?:[-–—]+\s*)?(?P<speaker>[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){1,4})(?:,?\s+(?P<office>[^\n]{3,120}))?\s*$"
        ),
        "place_date": re.compile(
            r"^\s*(?:[A-Z][a-z]+,\s+)?(?:[A-Z][a-z]+\.?\s+\d{1,2},?\s+)?(?:Juche\s+\d+\s*)?\(?\d{4}\)?\s*$"
        ),
    }


@dataclass(frozen=True)
class FullText:
    """A detected statement: who, where its own text lies in the body, and which rule said so."""

    speaker: str
    speaker_start: int
    speaker_end: int
    start: int
    end: int
    rule: str
    cue: str
    organisation: str | None = None

    def quote(self, body: str) -> Quote:
        return Quote(
            body[self.start : self.end],
            self.start,
            self.end,
            self.speaker,
            self.speaker_start,
            self.speaker_end,
            self.cue,
            rule=f"full_text:{self.rule}",
            kind="full_text",
        )


@dataclass(frozen=True)
class Page:
    """What the strategies look at: the headline, the body, where the body proper starts, its entities."""

    title: str
    body: str
    opening: int  # past a dateline such as "Pyongyang, July 14 (KCNA) -- "
    entities: Sequence[Entity]
    speakers: Sequence[SpeakerConfig]


# -- speakers --------------------------------------------------------------------


def organisation_form(name: str) -> str:
    """ "Foreign Ministry of the DPRK" and "DPRK Foreign Ministry" are one organisation, written the short way."""
    name = _PARENTHESES.sub("", " ".join(name.split())).strip(" ,")
    for long, short in rules().organisation_forms:
        name = re.sub(re.escape(long), short, name, flags=re.IGNORECASE)
    name = re.sub(r"^(?:the|a|an)\s+", "", name, flags=re.IGNORECASE)
    owner = re.match(r"^(?P<body>.+?)\s+of\s+(?:the\s+)?(?P<owner>[A-Z]{2,6})$", name)
    # "Foreign Ministry of the DPRK" → "DPRK Foreign Ministry"; "Bureau of the CC of the WPK" → "Bureau of the WPK CC"
    if owner:
        head, of, last = owner["body"].rpartition(" of the ")
        name = f"{head}{of}{owner['owner']} {last}" if of else f"{owner['owner']} {owner['body']}"
    connectors = {"of", "the", "for", "and", "on", "in", "to"}
    return " ".join(word if word in connectors or not word.islower() else word.capitalize() for word in name.split())


def _strip_time(phrase: str) -> str:
    """Drop a trailing time phrase: "… Kim Yo Jong on Sunday afternoon" → "… Kim Yo Jong"."""
    tokens = phrase.split()
    while tokens and (tokens[-1].lower().strip(".,") in rules().time_words or tokens[-1].strip(".,").isdigit()):
        tokens.pop()
    return " ".join(tokens).rstrip(" ,")


def _office_speaker(phrase: str) -> tuple[str, str] | None:
    """ "a spokesman for the DPRK Foreign Ministry" → ("DPRK Foreign Ministry spokesman", "DPRK Foreign Ministry")."""
    offices = _alternatives(rules().offices)
    before = re.match(rf"^(?:the|a|an)?\s*(?P<office>{offices})\s+(?:for|of)\s+(?P<org>.+)$", phrase, re.IGNORECASE)
    after = re.match(rf"^(?:the|a|an)?\s*(?P<org>.+?)\s+(?P<office>{offices})$", phrase, re.IGNORECASE)
    found = before or after
    if found is None:
        return None
    organisation = organisation_form(found["org"])
    return f"{organisation} {found['office'].lower()}", organisation


def _configured(phrase: str, speakers: Sequence[SpeakerConfig]) -> str | None:
    lowered = f" {' '.join(phrase.lower().replace('-', ' ').split())} "
    for speaker in speakers:
        for form in (speaker.name, *speaker.aliases):
            if f" {' '.join(form.lower().replace('-', ' ').split())} " in lowered:
                return speaker.name
    return None


def _trailing_name(phrase: str) -> str | None:
    """The name after the titles: the last two to four capitalised words, when only title words precede them."""
    words = phrase.replace(",", " ").split()
    run: list[str] = []
    for word in reversed(words):
        if not word[:1].isupper() or word.lower() in rules().title_words:
            break
        run.insert(0, word)
    titles = words[: len(words) - len(run)]
    if 2 <= len(run) <= 4 and all(word.lower() in rules().title_words for word in titles):
        return " ".join(run)
    return None


def _leading_name(phrase: str) -> str | None:
    """ "Kim Yo Jong, vice department director of …" → Kim Yo Jong."""
    head = phrase.split(",", 1)[0].strip()
    words = head.split()
    if 2 <= len(words) <= 4 and all(w[:1].isupper() and w.lower() not in rules().title_words for w in words):
        return head
    return None


def resolve_speaker(phrase: str, start: int, page: Page) -> tuple[str, str | None]:
    """The canonical speaker of a lead's subject, and its organisation when it is an unnamed office."""
    phrase = _strip_time(_PARENTHESES.sub("", " ".join(phrase.split())).strip(' ,"“”'))
    configured = _configured(phrase, page.speakers)
    if configured:
        return configured, None
    office = _office_speaker(phrase)
    if office:
        return office
    name = _leading_name(phrase) or _trailing_name(phrase)
    if name is None:
        return organisation_form(phrase), None
    for entity in page.entities:  # the entity's canonical form, when the name found is one
        if entity.label == "PERSON" and entity.text == name and start <= entity.start <= start + len(phrase) + 40:
            return entity.canonical, None
    return name, None


# -- where the statement's text lies -------------------------------------------------


def _text_start(body: str, position: int) -> int:
    """Past the lead's colon or full stop and the paragraph joins (", ", newlines) after it."""
    while position < len(body) and body[position] in " ,\n\t\r":
        position += 1
    return position


def _paragraph_spans(body: str, start: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for match in re.finditer(r"[^\n]+", body[start:]):
        if match.group().strip():
            spans.append((start + match.start(), start + match.end()))
    return spans


def signature(body: str, start: int) -> tuple[int, str, str | None] | None:
    """A signature closing the statement: (where it begins, the signer, their office), else None.

    The last short lines: a name, optionally with ", its office" or the office on
    the next line; or, above a place-and-date line, an organisation's name.
    """
    patterns = _patterns()
    spans = _paragraph_spans(body, start)[-4:]
    dated = False
    while spans and patterns["place_date"].match(body[spans[-1][0] : spans[-1][1]]):
        spans.pop()
        dated = True
    tail = [(s, e) for s, e in spans if e - s <= 120 and not body[s:e].rstrip().endswith((".", "!", "?", '"', "”"))]
    if not tail or tail[-1] != spans[-1] or len(tail) == len(spans):
        return None
    for begin, end in tail[-2:]:
        found = patterns["signature"].match(body[begin:end])
        if found and _trailing_name(found["speaker"]) == found["speaker"]:
            return begin, found["speaker"], found["office"]
    begin, end = tail[-1]
    line = body[begin:end].strip()
    if dated and line[:1].isupper():
        return begin, line, line
    return None


def _text_end(body: str, start: int) -> int:
    found = signature(body, start)
    return len(body[: found[0]].rstrip()) if found else len(body.rstrip())


_ABBREVIATION = re.compile(r"(?:\b[A-Z]|\b[A-Z][a-z]{1,3}|\bNo|\bSt|\bJr|\bSr)\.$")


def _lead_end(body: str, position: int) -> int | None:
    """Where a lead ends: its colon, else the first full stop that ends a sentence, in the same paragraph."""
    limit = body.find("\n", position)
    limit = min(len(body) if limit == -1 else limit, position + 400)
    colon = body.find(":", position, limit)
    if colon != -1:
        return colon + 1
    for stop in re.finditer(r"\.(?=\s|,|$)", body[position:limit]):
        if not _ABBREVIATION.search(body[position : position + stop.end()]):
            return position + stop.end()
    return None


_CIRCUMSTANCE = re.compile(
    r"^(?:in|at|on|during|after|before|when|while|according|as|since|with|for|from)\b", re.IGNORECASE
)
_OPENER = re.compile(r"^(?:in\s+this\s+(?:regard|connection)|meanwhile|also|earlier),?\s+", re.IGNORECASE)


# -- the strategies ----------------------------------------------------------------


def _lead_in(page: Page, rule: str, paragraphs: int) -> tuple[int, re.Match[str]] | None:
    """The first of the opening paragraphs that a lead opens: (where the paragraph starts, the match)."""
    for begin, end in _paragraph_spans(page.body, page.opening)[:paragraphs]:
        found = _patterns()[rule].match(page.body[begin : min(end, begin + LEAD_CHARS)])
        if found is not None:
            return begin, found
    return None


def _from_lead(page: Page, rule: str, paragraphs: int = 1) -> FullText | None:
    """A lead opening one of the first paragraphs; the statement starts where the lead ends."""
    located = _lead_in(page, rule, paragraphs)
    if located is None:
        return None
    begin, found = located
    opener = _OPENER.match(found["speaker"])
    subject = found["speaker"][opener.end() :] if opener else found["speaker"]
    if len(subject) > 200 or _CIRCUMSTANCE.match(subject):
        return None  # "In an interview in 2000, the leader gave the following answer": a story, not a lead
    closed = found.group().endswith(":")
    lead_end = begin + found.end() if closed else _lead_end(page.body, begin + found.end())
    if lead_end is None:
        return None
    offset = begin + found.end("speaker") - len(subject)
    speaker, organisation = resolve_speaker(subject, offset, page)
    start = _text_start(page.body, lead_end)
    return FullText(
        speaker,
        offset,
        begin + found.end("speaker"),
        start,
        _text_end(page.body, start),
        rule,
        " ".join(found["cue"].split()),
        organisation,
    )


def following_lead(page: Page) -> FullText | None:
    """ "X issued / released / made public / gave the following (press) statement | answer …:".

    It may open any of the first four paragraphs: agencies sometimes set out the
    occasion first ("Lee appeared on the island … / A spokesman … gave the
    following answer …:").
    """
    return _from_lead(page, "following", paragraphs=4)


def said_in_statement_lead(page: Page) -> FullText | None:
    """ "X said in a statement:" closing the lead."""
    return _from_lead(page, "said_in_statement")


def answered_question_lead(page: Page) -> FullText | None:
    """ "X answered a question raised by KCNA …"."""
    return _from_lead(page, "answered_question")


def _author(line: str) -> tuple[str, str] | None:
    """A headline or first line naming the author: (cue, author) of "Press Statement of X on Y", else None."""
    found = _patterns()["author_line"].match(line)
    if found is None or len(line) > 250:
        return None
    author = re.split(r"\s+on\s+(?:the\s+)?(?=[A-Z\d])|:", found["speaker"], maxsplit=1)[0].strip(" .")
    lowered = f" {author.lower()} "
    if any(f" {word} " in lowered for word in rules().report_words):
        return None
    return found["cue"], author


def author_first_line(page: Page) -> FullText | None:
    """The body opens with a line such as "Statement of X" or "Remarks by X"; the statement follows it."""
    first = re.match(r"[^\n]*", page.body[page.opening :])
    line = first.group() if first else ""
    named = _author(line)
    if named is None:
        return None
    cue, author = named
    offset = page.opening + line.find(author)
    speaker, organisation = resolve_speaker(author, offset, page)
    start = _text_start(page.body, page.opening + len(line))
    return FullText(
        speaker, offset, offset + len(author), start, _text_end(page.body, start), "author_line", cue, organisation
    )


_REPORTED = re.compile(
    r"\b(?:in|issued|released|made\s+public|of|to|for|with)\s+(?:a|an|the|its|his|her|their)\s+(?:[\w-]+\s+)?statement\b"
    r"|\bthe\s+statement\b|\bstatements?\s+(?:said|says|noted|read)\b",
    re.IGNORECASE,
)


def _header_lines(body: str, start: int) -> int:
    """Past a State Department style header: "Press Statement", the signer, their office, the date."""
    spans = _paragraph_spans(body, start)[:5]
    end = start
    for begin, finish in spans:
        line = body[begin:finish].strip()
        if len(line) > 80 or (line.endswith((".", "!", "?")) and not _patterns()["place_date"].match(line)):
            break
        end = finish
    return end


def headline_names_author(page: Page) -> FullText | None:
    """The headline names the author ("Statement from President X on Y") and the body is the statement itself."""
    named = _author(page.title.strip())
    if named is None:
        return None
    cue, author = named
    first = re.match(r"[^\n]*", page.body[page.opening :])
    if first is None or _REPORTED.search(first.group()):
        return None  # the body reports on a statement rather than being one
    speaker, organisation = resolve_speaker(author, -1, page)
    start = _text_start(page.body, _header_lines(page.body, page.opening))
    return FullText(speaker, -1, -1, start, _text_end(page.body, start), "headline", cue, organisation)


def press_statement_header(page: Page) -> FullText | None:
    """ "Press Statement" as the first line, then the signer (and office, date); the statement follows."""
    lines = _paragraph_spans(page.body, page.opening)[:4]
    if len(lines) < 3 or page.body[lines[0][0] : lines[0][1]].strip().lower() not in ("press statement", "statement"):
        return None
    begin, end = lines[1]
    found = _patterns()["signature"].match(page.body[begin:end])
    if found is None:
        return None
    speaker, organisation = resolve_speaker(found["speaker"], begin + found.start("speaker"), page)
    start = _text_start(page.body, _header_lines(page.body, page.opening))
    span = (begin + found.start("speaker"), begin + found.end("speaker"))
    return FullText(
        speaker, *span, start, _text_end(page.body, start), "press_statement_header", "Press Statement", organisation
    )


_FIRST_PERSON = re.compile(r"\b(?:I|we|We|our|Our|my|My)\b")
_ANNOUNCES = re.compile(r"\b(?:statement|remarks|message|press\s+release|answer)\b", re.IGNORECASE)


def signed_at_end(page: Page) -> FullText | None:
    """A statement signed at the end, announced as one by its headline and written in the first person."""
    found = signature(page.body, page.opening)
    if found is None or not _ANNOUNCES.search(page.title):
        return None
    begin, name, organisation = found
    first = re.match(r"[^\n]*", page.body[page.opening :])
    opening = first.group() if first else ""
    if _REPORTED.search(opening) or not _FIRST_PERSON.search(page.body[page.opening : begin]):
        return None
    speaker, _ = resolve_speaker(name, begin, page)
    start = _text_start(page.body, page.opening)
    end = len(page.body[:begin].rstrip())
    return FullText(speaker, begin, begin + len(name), start, end, "signed", "signed", organisation)


STRATEGIES: tuple[Callable[[Page], FullText | None], ...] = (
    following_lead,
    said_in_statement_lead,
    answered_question_lead,
    author_first_line,
    press_statement_header,
    headline_names_author,
    signed_at_end,
)


def detect(title: str, body: str, entities: Sequence[Entity] = (), config: Config | None = None) -> FullText | None:
    """The statement this article publishes in full, or None; the first strategy that fires wins."""
    dateline = _DATELINE.match(body)
    page = Page(title or "", body, dateline.end() if dateline else 0, entities, config.speakers if config else ())
    for strategy in STRATEGIES:
        found = strategy(page)
        if found is not None and found.end - found.start >= MIN_TEXT_CHARS and found.speaker:
            return found
    return None
