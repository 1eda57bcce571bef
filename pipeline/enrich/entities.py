"""Named entities without a trained model, and their canonical names.

No trained English pipeline can be installed here, so the default path is
`spacy.blank("en")` plus rules: an entity ruler for the configured speakers
(names, aliases, descriptors) and for places, then a component that labels the
remaining runs of capitalised words by their titles and suffixes. A configured
trained model replaces the generic rules but keeps the speaker ruler, because
the analyst's speakers must always be found under their canonical names.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import spacy
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc, Span, Token
from spacy.util import compile_infix_regex, compile_prefix_regex

from pipeline.config import Config, SpeakerConfig
from pipeline.records import Entity

PERSON, ORG, GPE, NORP, LOC = "PERSON", "ORG", "GPE", "NORP", "LOC"

# Titles that introduce a person's name; multi-word ones are matched longest first.
TITLES: frozenset[str] = frozenset(
    [
        "president",
        "vice-president",
        "secretary",
        "senator",
        "sen.",
        "representative",
        "rep.",
        "congressman",
        "congresswoman",
        "governor",
        "gov.",
        "mayor",
        "leader",
        "chairman",
        "chairwoman",
        "chair",
        "minister",
        "premier",
        "chancellor",
        "king",
        "queen",
        "prince",
        "princess",
        "pope",
        "judge",
        "justice",
        "general",
        "gen.",
        "colonel",
        "col.",
        "lt.",
        "lieutenant",
        "adm.",
        "admiral",
        "sgt.",
        "sergeant",
        "speaker",
        "ambassador",
        "envoy",
        "director",
        "mr.",
        "mrs.",
        "ms.",
        "miss",
        "dr.",
        "prof.",
        "professor",
        "rev.",
        "reverend",
        "spokesman",
        "spokeswoman",
        "spokesperson",
        "candidate",
        "nominee",
        "commissioner",
        "sheriff",
        "pastor",
        "attorney",
        "ceo",
        "chief",
        "dictator",
        "president-elect",
        "lawmaker",
        "sir",
        "lord",
        "dame",
    ]
)
MULTI_TITLES: tuple[tuple[str, ...], ...] = tuple(
    tuple(t.split())
    for t in sorted(
        [
            "secretary of state",
            "secretary of defense",
            "secretary of the treasury",
            "secretary of homeland security",
            "vice president",
            "prime minister",
            "foreign minister",
            "defense minister",
            "supreme leader",
            "attorney general",
            "secretary general",
            "secretary-general",
            "first lady",
            "house speaker",
            "majority leader",
            "minority leader",
            "press secretary",
            "chief of staff",
            "national security adviser",
            "former president",
            "campaign manager",
            "white house press secretary",
        ],
        key=lambda t: -len(t.split()),
    )
)
FEMALE_TITLES = frozenset(
    {"mrs.", "ms.", "miss", "queen", "princess", "chairwoman", "congresswoman", "dame", "first lady", "spokeswoman"}
)
MALE_TITLES = frozenset({"mr.", "king", "prince", "chairman", "congressman", "sir", "lord", "spokesman"})

ORG_SUFFIXES = frozenset(
    [
        "agency",
        "party",
        "ministry",
        "inc",
        "inc.",
        "corp",
        "corp.",
        "corporation",
        "co.",
        "company",
        "companies",
        "ltd",
        "ltd.",
        "llc",
        "group",
        "committee",
        "council",
        "university",
        "college",
        "school",
        "department",
        "bank",
        "news",
        "times",
        "post",
        "journal",
        "network",
        "association",
        "institute",
        "foundation",
        "commission",
        "court",
        "congress",
        "senate",
        "house",
        "administration",
        "office",
        "service",
        "services",
        "union",
        "organization",
        "organisation",
        "fund",
        "board",
        "bureau",
        "center",
        "centre",
        "campaign",
        "tv",
        "press",
        "media",
        "magazine",
        "review",
        "channel",
        "club",
        "league",
        "army",
        "navy",
        "force",
        "forces",
        "guard",
        "police",
        "assembly",
        "parliament",
        "cabinet",
        "federation",
        "coalition",
        "alliance",
        "reserve",
        "exchange",
        "authority",
        "airlines",
        "motors",
        "systems",
        "technologies",
        "labs",
        "trust",
        "society",
        "church",
        "museum",
        "hospital",
        "times-picayune",
        "photo",
        "photos",
        "images",
    ]
)
# Runs ending in these are events or dates, not people; they are left unlabelled.
NOT_NAMES = frozenset(
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "jan.",
        "feb.",
        "aug.",
        "sept.",
        "sep.",
        "oct.",
        "nov.",
        "dec.",
        "day",
        "week",
        "election",
        "summit",
        "war",
        "act",
        "games",
        "cup",
        "olympics",
        "convention",
        "debate",
        "caucus",
        "caucuses",
        "primary",
    ]
)
# Words that open a sentence before a name ("Later Donald J. Trump tweeted") without being part of it.
SENTENCE_OPENERS = frozenset(
    {"later", "earlier", "yesterday", "today", "tonight", "tomorrow", "overnight", "afterward", "afterwards"}
    | {"separately", "instead", "now", "then", "still", "also", "again", "first", "next", "last", "finally"}
)
LOC_SUFFIXES = frozenset(
    [
        "city",
        "station",
        "street",
        "avenue",
        "river",
        "peninsula",
        "island",
        "islands",
        "county",
        "province",
        "zone",
        "mountain",
        "mountains",
        "square",
        "valley",
        "sea",
        "ocean",
        "bay",
        "gulf",
        "lake",
        "border",
        "region",
        "district",
        "park",
        "airport",
        "bridge",
        "village",
    ]
)
# Capitalised words that start a run but are never part of a name.
NAME_PARTICLES = frozenset({"of", "de", "van", "von", "bin", "al", "la", "du", "da", "der", "del", "di", "le"})

COUNTRIES: dict[str, str] = {
    name: name
    for name in [
        "Afghanistan",
        "Albania",
        "Algeria",
        "Angola",
        "Argentina",
        "Armenia",
        "Australia",
        "Austria",
        "Azerbaijan",
        "Bahrain",
        "Bangladesh",
        "Belarus",
        "Belgium",
        "Bolivia",
        "Bosnia",
        "Brazil",
        "Bulgaria",
        "Cambodia",
        "Cameroon",
        "Canada",
        "Chile",
        "China",
        "Colombia",
        "Congo",
        "Croatia",
        "Cuba",
        "Cyprus",
        "Denmark",
        "Ecuador",
        "Egypt",
        "Eritrea",
        "Estonia",
        "Ethiopia",
        "Finland",
        "France",
        "Georgia",
        "Germany",
        "Ghana",
        "Greece",
        "Guatemala",
        "Haiti",
        "Honduras",
        "Hungary",
        "Iceland",
        "India",
        "Indonesia",
        "Iran",
        "Iraq",
        "Ireland",
        "Israel",
        "Italy",
        "Jamaica",
        "Japan",
        "Jordan",
        "Kazakhstan",
        "Kenya",
        "Kosovo",
        "Kuwait",
        "Laos",
        "Latvia",
        "Lebanon",
        "Libya",
        "Lithuania",
        "Luxembourg",
        "Malaysia",
        "Mali",
        "Mexico",
        "Moldova",
        "Mongolia",
        "Montenegro",
        "Morocco",
        "Mozambique",
        "Myanmar",
        "Nepal",
        "Netherlands",
        "Nicaragua",
        "Niger",
        "Nigeria",
        "Norway",
        "Oman",
        "Pakistan",
        "Palestine",
        "Panama",
        "Paraguay",
        "Peru",
        "Philippines",
        "Poland",
        "Portugal",
        "Qatar",
        "Romania",
        "Russia",
        "Rwanda",
        "Serbia",
        "Singapore",
        "Slovakia",
        "Slovenia",
        "Somalia",
        "Spain",
        "Sudan",
        "Sweden",
        "Switzerland",
        "Syria",
        "Taiwan",
        "Tanzania",
        "Thailand",
        "Tunisia",
        "Turkey",
        "Uganda",
        "Ukraine",
        "Uruguay",
        "Uzbekistan",
        "Venezuela",
        "Vietnam",
        "Yemen",
        "Zambia",
        "Zimbabwe",
        "Europe",
        "Asia",
        "Africa",
        "Antarctica",
        "Britain",
        "England",
        "Scotland",
        "Wales",
        "Korea",
        "Hanoi",
        "Seoul",
        "Pyongyang",
        "Beijing",
        "Moscow",
        "Tokyo",
        "Washington",
        "London",
        "Paris",
        "Berlin",
        "Brussels",
        "Stockholm",
        "Singapore",
        "Panmunjom",
        "Kabul",
        "Baghdad",
        "Tehran",
        "Jerusalem",
        "Damascus",
        "Kyiv",
        "Kiev",
        "Geneva",
        "Rome",
        "Madrid",
        "Ottawa",
        "Delhi",
        "Alabama",
        "Alaska",
        "Arizona",
        "Arkansas",
        "California",
        "Colorado",
        "Connecticut",
        "Delaware",
        "Florida",
        "Hawaii",
        "Idaho",
        "Illinois",
        "Indiana",
        "Iowa",
        "Kansas",
        "Kentucky",
        "Louisiana",
        "Maine",
        "Maryland",
        "Massachusetts",
        "Michigan",
        "Minnesota",
        "Mississippi",
        "Missouri",
        "Montana",
        "Nebraska",
        "Nevada",
        "Ohio",
        "Oklahoma",
        "Oregon",
        "Pennsylvania",
        "Tennessee",
        "Texas",
        "Utah",
        "Vermont",
        "Virginia",
        "Wisconsin",
        "Wyoming",
        "Chicago",
        "Philadelphia",
        "Boston",
        "Atlanta",
        "Miami",
        "Cleveland",
        "Detroit",
        "Baltimore",
        "Charlotte",
        "Denver",
        "Houston",
        "Dallas",
    ]
}
COUNTRIES.update(
    {
        "United States": "United States",
        "United States of America": "United States",
        "U.S.": "United States",
        "U.S.A.": "United States",
        "US": "United States",
        "USA": "United States",
        "America": "United States",
        "United Kingdom": "United Kingdom",
        "U.K.": "United Kingdom",
        "UK": "United Kingdom",
        "Great Britain": "United Kingdom",
        "North Korea": "North Korea",
        "DPRK": "North Korea",
        "South Korea": "South Korea",
        "Saudi Arabia": "Saudi Arabia",
        "South Africa": "South Africa",
        "New Zealand": "New Zealand",
        "Sri Lanka": "Sri Lanka",
        "Czech Republic": "Czech Republic",
        "United Arab Emirates": "United Arab Emirates",
        "Hong Kong": "Hong Kong",
        "European Union": "European Union",
        "Middle East": "Middle East",
        "Latin America": "Latin America",
        "New York": "New York",
        "New Jersey": "New Jersey",
        "New Hampshire": "New Hampshire",
        "New Mexico": "New Mexico",
        "North Carolina": "North Carolina",
        "South Carolina": "South Carolina",
        "North Dakota": "North Dakota",
        "South Dakota": "South Dakota",
        "West Virginia": "West Virginia",
        "Rhode Island": "Rhode Island",
        "Los Angeles": "Los Angeles",
        "San Francisco": "San Francisco",
        "Las Vegas": "Las Vegas",
        "Washington, D.C.": "Washington",
        "D.C.": "Washington",
    }
)
NATIONALITIES = frozenset(
    [
        "American",
        "Americans",
        "British",
        "Chinese",
        "Japanese",
        "Korean",
        "Koreans",
        "Russian",
        "Russians",
        "French",
        "German",
        "Germans",
        "Italian",
        "Spanish",
        "Mexican",
        "Mexicans",
        "Canadian",
        "Indian",
        "Pakistani",
        "Afghan",
        "Iranian",
        "Iraqi",
        "Israeli",
        "Israelis",
        "Palestinian",
        "Palestinians",
        "Syrian",
        "Turkish",
        "Ukrainian",
        "Egyptian",
        "Saudi",
        "Vietnamese",
        "Cuban",
        "Brazilian",
        "Australian",
        "European",
        "Europeans",
        "Asian",
        "African",
        "Arab",
        "Arabs",
        "Muslim",
        "Muslims",
        "Christian",
        "Christians",
        "Jewish",
        "Jews",
        "Democrat",
        "Democrats",
        "Democratic",
        "Republican",
        "Republicans",
        "Catholic",
        "Hispanic",
        "Latino",
        "Latinos",
        "Swedish",
        "Dutch",
        "Polish",
        "Greek",
        "Irish",
        "Scottish",
        "Nigerian",
        "Kenyan",
        "Filipino",
        "Taiwanese",
        "Venezuelan",
        "Libyan",
        "Lebanese",
        "Yemeni",
        "Qatari",
    ]
) | {"North Korean", "South Korean", "North Koreans", "South Koreans"}

# A short list of given names so pronouns can be matched to people the config
# does not describe; a wrong guess only costs a fallback to recency.
FEMALE_NAMES = frozenset(
    [
        "hillary",
        "chelsea",
        "melania",
        "ivanka",
        "kellyanne",
        "sarah",
        "nancy",
        "elizabeth",
        "michelle",
        "kamala",
        "condoleezza",
        "madeleine",
        "angela",
        "theresa",
        "marine",
        "nikki",
        "susan",
        "hope",
        "huma",
        "donna",
        "debbie",
        "jill",
        "carly",
        "kirsten",
        "amy",
        "mary",
        "patricia",
        "jennifer",
        "linda",
        "barbara",
        "margaret",
        "karen",
        "lisa",
        "anne",
        "jane",
        "emily",
        "emma",
        "olivia",
        "sophia",
        "maria",
        "laura",
        "julia",
        "jessica",
        "rachel",
        "rebecca",
        "katie",
        "kate",
        "ann",
        "yo",
        "betsy",
        "cecile",
        "diane",
        "dianne",
        "elise",
        "gloria",
        "jillian",
        "joanne",
        "lolita",
        "lori",
        "megyn",
        "maggie",
        "nargis",
        "shannon",
        "claire",
        "loretta",
        "ruth",
        "janet",
        "carolyn",
        "cheryl",
        "christine",
        "christina",
        "catherine",
        "katherine",
        "kathleen",
        "kathy",
        "deborah",
        "dorothy",
        "helen",
        "heather",
        "joan",
        "joyce",
        "judith",
        "judy",
        "julie",
        "kimberly",
        "lauren",
        "marie",
        "martha",
        "melissa",
        "nicole",
        "pamela",
        "pam",
        "sandra",
        "sharon",
        "shirley",
        "stephanie",
        "tammy",
        "teresa",
        "tina",
        "victoria",
        "virginia",
        "wendy",
        "alice",
        "allison",
        "andrea",
        "amanda",
        "ashley",
        "beth",
        "brenda",
        "carol",
        "caroline",
        "cynthia",
        "danielle",
        "denise",
        "diana",
        "evelyn",
        "grace",
        "hannah",
        "irene",
        "jacqueline",
        "janice",
        "jenna",
        "joanna",
        "kristen",
        "kristin",
        "lena",
        "lynn",
        "marilyn",
        "megan",
        "meghan",
        "monica",
        "natalie",
        "nina",
        "paula",
        "rita",
        "rosa",
        "sara",
        "sheila",
        "stacy",
        "sylvia",
        "tamara",
        "valerie",
        "vanessa",
        "veronica",
        "yvonne",
        "zoe",
        "abigail",
        "alexandra",
        "alexis",
        "amber",
        "anna",
        "brittany",
        "carmen",
        "chloe",
        "courtney",
        "erin",
        "gabrielle",
        "holly",
        "jasmine",
        "jocelyn",
        "kara",
        "kayla",
        "leslie",
        "lindsay",
        "mackenzie",
        "melanie",
        "mia",
        "molly",
        "naomi",
        "olga",
        "paige",
        "rachael",
        "samantha",
        "savannah",
        "serena",
        "tara",
        "tiffany",
        "whitney",
        "nora",
        "connie",
        "peggy",
        "sally",
        "sue",
        "ellen",
        "eleanor",
        "ivana",
        "bette",
        "marla",
        "roberta",
        "wanda",
        "ayanna",
        "hilda",
        "brianne",
        "ilhan",
        "tulsi",
        "gabby",
        "marsha",
    ]
)
MALE_NAMES = frozenset(
    [
        "donald",
        "mike",
        "michael",
        "bernie",
        "barack",
        "joe",
        "ted",
        "marco",
        "jeb",
        "ben",
        "chris",
        "john",
        "paul",
        "rand",
        "james",
        "robert",
        "william",
        "david",
        "richard",
        "thomas",
        "charles",
        "george",
        "mark",
        "steve",
        "steven",
        "kevin",
        "brian",
        "jason",
        "tim",
        "tom",
        "bill",
        "rudy",
        "newt",
        "reince",
        "corey",
        "paul",
        "mitch",
        "harry",
        "chuck",
        "rex",
        "vladimir",
        "xi",
        "jong",
        "moon",
        "shinzo",
        "boris",
        "emmanuel",
        "justin",
        "benjamin",
        "recep",
        "jim",
        "bob",
        "jeff",
        "eric",
        "peter",
        "andrew",
        "gary",
        "jared",
        "hugh",
        "lindsey",
        "alan",
        "ari",
        "brad",
        "craig",
        "dante",
        "dean",
        "derek",
        "frank",
        "greg",
        "jake",
        "jonathan",
        "josh",
        "luis",
        "mitt",
        "rick",
        "rich",
        "roger",
        "ron",
        "ronald",
        "sean",
        "scott",
        "stephen",
        "walter",
        "wilbur",
        "anthony",
        "arthur",
        "carl",
        "carlos",
        "christopher",
        "daniel",
        "dennis",
        "donnie",
        "douglas",
        "edward",
        "ed",
        "frederick",
        "fred",
        "gregory",
        "henry",
        "howard",
        "jack",
        "jacob",
        "jerry",
        "jesse",
        "jonah",
        "jose",
        "joseph",
        "juan",
        "kenneth",
        "ken",
        "larry",
        "louis",
        "martin",
        "matthew",
        "matt",
        "nathan",
        "nicholas",
        "patrick",
        "philip",
        "phil",
        "ralph",
        "raymond",
        "roy",
        "russell",
        "ryan",
        "samuel",
        "sam",
        "stanley",
        "terry",
        "timothy",
        "todd",
        "travis",
        "tyler",
        "victor",
        "vincent",
        "wayne",
        "adam",
        "aaron",
        "alexander",
        "bernard",
        "bruce",
        "bryan",
        "chad",
        "clarence",
        "curtis",
        "dale",
        "darren",
        "dustin",
        "earl",
        "eugene",
        "gerald",
        "glenn",
        "gordon",
        "harold",
        "herman",
        "ian",
        "isaac",
        "jay",
        "jeffrey",
        "joel",
        "johnny",
        "jon",
        "julian",
        "keith",
        "kyle",
        "lance",
        "leon",
        "leonard",
        "lawrence",
        "marcus",
        "mario",
        "max",
        "miguel",
        "mitchell",
        "neil",
        "norman",
        "oscar",
        "pedro",
        "randy",
        "reggie",
        "ricardo",
        "roberto",
        "rodney",
        "rudolph",
        "shawn",
        "sidney",
        "simon",
        "stuart",
        "theodore",
        "tony",
        "trevor",
        "troy",
        "wade",
        "warren",
        "wesley",
        "willie",
        "zachary",
        "elijah",
        "barry",
        "dick",
        "orrin",
        "sherrod",
        "rahm",
        "sheldon",
        "bobby",
        "billy",
        "jimmy",
        "andy",
        "danny",
        "ricky",
        "freddie",
        "al",
        "abe",
        "elliot",
        "elliott",
        "ross",
        "hank",
        "marty",
        "rocco",
        "karl",
    ]
)


@dataclass
class Mention:
    """An entity with the extra facts attribution needs (token span, title, gender)."""

    start: int
    end: int
    tok_start: int
    tok_end: int
    label: str
    text: str
    canonical: str
    title: str | None = None
    speaker: bool = False
    full: bool = False


@dataclass(frozen=True)
class SpeakerIndex:
    """The configured speakers, looked up by lower-cased name, title or descriptor head."""

    speakers: tuple[SpeakerConfig, ...]

    def by_name(self, name: str) -> SpeakerConfig | None:
        key = _name_key(name)
        for speaker in self.speakers:
            if key in {_name_key(n) for n in (speaker.name, *speaker.aliases)}:
                return speaker
        return None

    def pronoun(self, canonical: str) -> str | None:
        speaker = self.by_name(canonical)
        return speaker.pronoun if speaker else None


def _name_key(name: str) -> str:
    return re.sub(r"[\s\-‐–]+", " ", name.replace("’", "'")).strip().lower()


def name_variants(name: str) -> set[str]:
    """Spellings of one name that wire copy uses interchangeably (Yo-jong, Yo Jong)."""
    spaced = re.sub(r"[\-‐]", " ", name).strip()
    parts = spaced.split()
    variants = {name, spaced}
    if len(parts) >= 3:
        variants.add(" ".join(parts[:-2]) + " " + parts[-2] + "-" + parts[-1].lower())
        variants.add(" ".join(parts[:-2]) + " " + parts[-2] + "-" + parts[-1])
    return {v for v in variants if v}


def descriptor_variants(descriptor: str) -> set[str]:
    """ "Kim Jong Un's sister" also reads "Kim's sister" and "the sister of Kim Jong Un"."""
    text = descriptor.replace("’", "'").strip()
    variants = {text}
    match = re.match(r"^(?:the\s+)?(.+?)'s\s+(.+)$", text, re.IGNORECASE)
    if match:
        owner, noun = match.group(1), match.group(2)
        owner_parts = owner.split()
        variants.add(f"the {noun} of {owner}")
        for part in {owner_parts[0], owner_parts[-1]}:
            variants.add(f"{part}'s {noun}")
    variants |= {v.replace("'", "’") for v in variants}
    return variants


def speaker_patterns(speakers: Sequence[SpeakerConfig]) -> list[dict[str, object]]:
    patterns: list[dict[str, object]] = []
    for speaker in speakers:
        phrases: set[str] = set()
        for name in (speaker.name, *speaker.aliases):
            phrases |= name_variants(name)
            for title in speaker.titles:
                phrases |= {f"{title} {v}" for v in name_variants(name)}
        for descriptor in speaker.descriptors:
            phrases |= descriptor_variants(descriptor)
        patterns += [{"label": PERSON, "pattern": p, "id": speaker.name} for p in sorted(phrases)]
    return patterns


def place_patterns() -> list[dict[str, object]]:
    patterns: list[dict[str, object]] = [
        {"label": GPE, "pattern": name, "id": canonical} for name, canonical in COUNTRIES.items()
    ]
    patterns += [{"label": NORP, "pattern": name, "id": name} for name in sorted(NATIONALITIES)]
    return patterns


_CACHE: dict[str, Language] = {}


def get_nlp(config: Config) -> Language:
    """One pipeline per (model, speakers): building it costs far more than running it."""
    key = json.dumps([config.nlp.model, [s.model_dump() for s in config.speakers]], sort_keys=True, default=str)
    nlp = _CACHE.get(key)
    if nlp is None:
        nlp = build_nlp(config)
        _CACHE[key] = nlp
    return nlp


def _trained(model: str | None) -> Language | None:
    if not model:
        return None
    try:
        nlp = spacy.load(model, exclude=["lemmatizer", "textcat"])
    except (OSError, ImportError, ValueError):
        return None
    return nlp if "ner" in nlp.pipe_names else None


def _split_glued_marks(nlp: Language) -> None:
    """Scraped copy glues quote marks to words ("said,“Look", "paranoia,”Clinton"), and a signature's dash
    to the name ("-President Obama").

    Attribution reads a quote mark as the edge of a quotation, so the mark, and
    a comma before it, must be tokens of their own rather than hide the
    reporting verb or the speaker inside one token with the quote; a name must
    not hide inside its dash.
    """
    infixes = [*(nlp.Defaults.infixes or ()), r"[,;:](?=[“”\"„«»])", r"[“”\"„«»]"]
    prefixes = [*(nlp.Defaults.prefixes or ()), r"[-―—–](?=[A-Z])"]
    tokenizer: Tokenizer = nlp.tokenizer
    tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    tokenizer.prefix_search = compile_prefix_regex(prefixes).search


def build_nlp(config: Config) -> Language:
    nlp = _trained(config.nlp.model)
    speakers = speaker_patterns(config.speakers)
    if nlp is not None:
        _split_glued_marks(nlp)
        ruler = nlp.add_pipe(
            "entity_ruler",
            name="wirewatch_speakers",
            before="ner",
            config={"phrase_matcher_attr": "LOWER", "overwrite_ents": True},
        )
        ruler.add_patterns(speakers)  # type: ignore[attr-defined]
        return nlp
    nlp = spacy.blank("en")
    _split_glued_marks(nlp)
    places = nlp.add_pipe("entity_ruler", name="wirewatch_places")
    places.add_patterns(place_patterns())  # type: ignore[attr-defined]
    if speakers:
        ruler = nlp.add_pipe(
            "entity_ruler",
            name="wirewatch_speakers",
            config={"phrase_matcher_attr": "LOWER", "overwrite_ents": True},
        )
        ruler.add_patterns(speakers)  # type: ignore[attr-defined]
    nlp.add_pipe("wirewatch_names")
    return nlp


def _is_cap(token: Token) -> bool:
    text = token.text
    if not text or not text[0].isupper():
        return False
    return token.is_alpha or bool(re.fullmatch(r"(?:[A-Z][a-z]{0,3}\.)+|[A-Z](?:\.[A-Z])+\.?|[A-Z][\w'’.]*\w", text))


def _title_at(tokens: Sequence[Token], i: int) -> int:
    """Length of the title starting at tokens[i] (0 when there is none)."""
    lowers = [t.lower_ for t in tokens[i : i + 5]]
    for title in MULTI_TITLES:
        if tuple(lowers[: len(title)]) == title:
            return len(title)
    return 1 if lowers and lowers[0] in TITLES else 0


def _lower_words(doc: Doc) -> set[str]:
    return {t.text for t in doc if t.is_lower and t.is_alpha}


def _sentence_initial(doc: Doc, i: int) -> bool:
    j = i - 1
    while j >= 0 and doc[j].is_punct and doc[j].text in "\"“‘'(":
        j -= 1
    return j < 0 or doc[j].is_space or "\n" in doc[j].whitespace_ or doc[j].text in {".", "?", "!", ":", "—"}


@Language.component("wirewatch_names")
def label_names(doc: Doc) -> Doc:
    """Label runs of capitalised words the rulers left alone, by title, suffix and shape."""
    kept = list(doc.ents)
    taken = {i for ent in kept for i in range(ent.start, ent.end)}
    speaker_tokens = {i for ent in kept if ent.ent_id_ and ent.label_ == PERSON for i in range(ent.start, ent.end)}
    lower_words = _lower_words(doc)
    headlines = _headlines(doc.text)
    new: list[Span] = []
    i = 0
    n = len(doc)
    while i < n:
        if not _is_cap(doc[i]) or i in speaker_tokens:
            i += 1
            continue
        j = i + 1
        while j < n:
            tok = doc[j]
            if j in speaker_tokens:
                break
            if (_is_cap(tok) and not (tok.is_stop and tok.lower_ not in TITLES)) or (
                _is_cap(tok)
                and len(tok.text) <= 3
                and _is_cap(doc[j - 1])
                and not doc[j - 1].is_stop
                and (j + 1 == n or not _is_cap(doc[j + 1]))
            ):
                j += 1
            elif (
                tok.text in {"-", "‐"}
                and j + 1 < n
                and doc[j + 1].is_lower
                and doc[j + 1].is_alpha
                and not doc[j - 1].whitespace_
            ):
                j += 2
            elif tok.lower_ in NAME_PARTICLES and j + 1 < n and _is_cap(doc[j + 1]):
                j += 1
            else:
                break
        new += _classify_run(doc, i, j, lower_words, headlines)
        i = j
    # A run ending in an organisation suffix swallows the places inside it
    # ("Korean Central News Agency"); otherwise the rulers' entities stand.
    final: list[Span] = []
    claimed: set[int] = set()
    for span in new:
        if span.label_ == ORG and any(k in taken for k in range(span.start, span.end)):
            if any(k in speaker_tokens for k in range(span.start, span.end)):
                continue
            claimed |= set(range(span.start, span.end))
            final.append(span)
        elif not any(k in taken for k in range(span.start, span.end)):
            final.append(span)
        elif span.label_ == PERSON:
            # "Sen. Sherrod Brown of Ohio": the person ends where the place begins
            end = span.start
            while end < span.end and end not in taken:
                end += 1
            while end > span.start and doc[end - 1].lower_ in NAME_PARTICLES:
                end -= 1
            if end - span.start >= 2:
                final.append(Span(doc, span.start, end, label=PERSON))
    final += [ent for ent in kept if not any(k in claimed for k in range(ent.start, ent.end))]
    doc.ents = sorted(_drop_overlaps(final), key=lambda s: s.start)
    return doc


def _drop_overlaps(spans: Iterable[Span]) -> list[Span]:
    result: list[Span] = []
    used: set[int] = set()
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), s.start)):
        if not any(k in used for k in range(span.start, span.end)):
            result.append(span)
            used |= set(range(span.start, span.end))
    return result


def _classify_run(
    doc: Doc, start: int, end: int, lower_words: set[str], headlines: list[tuple[int, int]]
) -> list[Span]:
    tokens = [doc[k] for k in range(start, end)]
    # Find a title anywhere in the run: what follows it is a person's name,
    # what precedes it (a nationality, a country) is labelled on its own.
    for k in range(len(tokens)):
        length = _title_at(tokens, k)
        if length and start + k + length < end:
            spans = _classify_run(doc, start, start + k, lower_words, headlines) if k else []
            return [*spans, Span(doc, start + k, end, label=PERSON)]
    if start > 0 and _title_at([doc[start - 1]], 0) and doc[start - 1].is_lower:
        return [Span(doc, start, end, label=PERSON)]
    while start < end and doc[end - 1].lower_ in NOT_NAMES:
        end -= 1
    while start < end and (
        doc[start].is_stop
        or doc[start].lower_ in NOT_NAMES
        or (
            _sentence_initial(doc, start)
            and (
                doc[start].lower_ in lower_words
                or doc[start].lower_ in SENTENCE_OPENERS
                or doc[start].text.endswith("ly")
            )
        )
    ):
        start += 1
    if start >= end:
        return []
    if doc[end - 1].lower_ in NAME_PARTICLES:
        end -= 1
    last = doc[end - 1].lower_
    if last in ORG_SUFFIXES:
        return [Span(doc, start, end, label=ORG)]
    if last in LOC_SUFFIXES:
        return [Span(doc, start, end, label=LOC)]
    words = [doc[k] for k in range(start, end)]
    if len(words) == 1:
        word = words[0]
        if word.is_upper and len(word.text) >= 2 and word.is_alpha:
            return [Span(doc, start, end, label=ORG)]
        return [Span(doc, start, end, label="NAME")]
    if any(a <= doc[start].idx < b for a, b in headlines):
        return [Span(doc, start, end, label="NAME")]
    if (
        len(words) <= 4
        and not any(w.lower_ == "of" for w in words)
        and all(w.is_alpha or w.text in {"-", "‐"} or w.lower_ in NAME_PARTICLES or w.text.endswith(".") for w in words)
    ):
        return [Span(doc, start, end, label=PERSON)]
    return [Span(doc, start, end, label=ORG)]


def _headlines(text: str) -> list[tuple[int, int]]:
    """Title Case lines, where capitals say nothing about names."""
    lines = []
    for match in re.finditer(r"[^\n]+", text):
        words = re.findall(r"[A-Za-z][\w'’-]*", match.group())
        if len(words) >= 4 and sum(w[0].isupper() for w in words) >= 0.7 * len(words):
            lines.append((match.start(), match.end()))
    return lines


def _strip_title(tokens: Sequence[Token]) -> tuple[int, str | None]:
    """Index of the first name token after any leading titles, and the title text."""
    k = 0
    title: list[str] = []
    while k < len(tokens) - 1:
        length = _title_at(tokens, k)
        if not length:
            break
        title += [t.lower_ for t in tokens[k : k + length]]
        k += length
    return k, " ".join(title) or None


def _preceding_title(doc: Doc, start: int) -> str | None:
    for length in (4, 3, 2, 1):
        if start - length < 0:
            continue
        tokens = [doc[k] for k in range(start - length, start)]
        if _title_at(tokens, 0) == length:
            return " ".join(t.lower_ for t in tokens)
    return None


def gender_of(canonical: str, title: str | None, speakers: SpeakerIndex) -> str | None:
    configured = speakers.pronoun(canonical)
    if configured:
        return configured
    if title:
        words = set(title.split()) | {title}
        if words & FEMALE_TITLES:
            return "she"
        if words & MALE_TITLES:
            return "he"
    first = canonical.split()[0].lower() if canonical else ""
    if len(canonical.split()) > 1:
        if first in FEMALE_NAMES:
            return "she"
        if first in MALE_NAMES:
            return "he"
    return None


def mentions(doc: Doc, config: Config) -> list[Mention]:
    """Entities with canonical names: titles stripped, surnames joined to full names.

    A bare surname ("Kim") takes the full name introduced first in the article
    (usually the headline's subject); attribution later overrides this for a
    surname in a speaker's position, where the most recent full name is meant.
    """
    index = SpeakerIndex(tuple(config.speakers))
    result: list[Mention] = []
    for ent in doc.ents:
        label = ent.label_
        if label not in {PERSON, ORG, GPE, NORP, LOC, "NAME", "FAC"}:
            continue
        if label == "FAC":
            label = LOC
        tokens = list(ent)
        if ent.ent_id_ and label == PERSON and index.by_name(ent.ent_id_):
            result.append(
                Mention(
                    ent.start_char,
                    ent.end_char,
                    ent.start,
                    ent.end,
                    PERSON,
                    ent.text,
                    ent.ent_id_,
                    speaker=True,
                    full=True,
                )
            )
            continue
        if label in {GPE, NORP} and ent.ent_id_:
            result.append(Mention(ent.start_char, ent.end_char, ent.start, ent.end, label, ent.text, ent.ent_id_))
            continue
        if label in {PERSON, "NAME"}:
            k, title = _strip_title(tokens)
            title = title or _preceding_title(doc, ent.start)
            name_tokens = tokens[k:]
            while name_tokens and name_tokens[-1].text in {"’s", "'s", "'", "’"}:
                name_tokens.pop()
            if not name_tokens:
                continue
            name = "".join(t.text_with_ws for t in name_tokens).strip()
            speaker = index.by_name(name)
            canonical = speaker.name if speaker else name
            parts = [t for t in name_tokens if t.is_alpha]
            result.append(
                Mention(
                    ent.start_char,
                    ent.end_char,
                    ent.start,
                    ent.end,
                    label,
                    ent.text,
                    canonical,
                    title,
                    bool(speaker),
                    len(parts) > 1 or bool(speaker),
                )
            )
            continue
        result.append(Mention(ent.start_char, ent.end_char, ent.start, ent.end, label, ent.text, ent.text))
    return _resolve_names(result)


def name_parts(canonical: str) -> list[str]:
    return [p.lower() for p in re.split(r"[\s\-‐]+", canonical) if p]


def _merge_key(canonical: str) -> str:
    return " ".join(name_parts(canonical))


def _without_initials(canonical: str) -> str:
    parts = name_parts(canonical)
    return " ".join([parts[0], *(p for p in parts[1:-1] if len(p.rstrip(".")) > 1), parts[-1]])


def _fold_initials(first_form: dict[str, str]) -> None:
    """ "Donald J. Trump" and "Donald Trump" in one article are one person, named without the initial.

    Only when a single initialled form meets the plain one: "George H. W. Bush" and
    "George W. Bush" are two people, and so "George Bush" beside both stays apart.
    """
    forms: dict[str, list[str]] = {}
    for key, name in first_form.items():
        if len(name_parts(name)) > 1:
            forms.setdefault(_without_initials(name), []).append(key)
    for bare, keys in forms.items():
        if len(keys) == 2 and bare in keys:
            initialled = next(key for key in keys if key != bare)
            first_form[initialled] = first_form[bare]


def _resolve_names(found: list[Mention]) -> list[Mention]:
    """Give bare names their full form and decide what a lone capitalised word was."""
    first_form: dict[str, str] = {}
    for m in found:
        if m.label == PERSON and m.full:
            first_form.setdefault(_merge_key(m.canonical), m.canonical)
    _fold_initials(first_form)
    for m in found:
        if m.label == "NAME" and _merge_key(m.canonical) in first_form:
            m.label, m.full = PERSON, True
    full_names = list(first_form.values())
    surnames = {name_parts(name)[-1] for name in full_names}
    for m in found:
        # "Cuban" after "Mark Cuban" is the man, not a nationality
        if m.label == NORP and m.text.lower() in surnames:
            m.label, m.canonical = "NAME", m.text
    resolved: list[Mention] = []
    for m in found:
        if m.label == PERSON and m.full:
            m.canonical = first_form[_merge_key(m.canonical)]
            resolved.append(m)
            continue
        if m.label not in {PERSON, "NAME"}:
            resolved.append(m)
            continue
        word = m.canonical.lower()
        holders = [name for name in full_names if word in (name_parts(name)[0], name_parts(name)[-1])]
        if holders:
            m.canonical = holders[0]
            m.label = PERSON
            resolved.append(m)
        elif m.label == PERSON or m.title:
            m.label = PERSON
            resolved.append(m)
        else:
            m.label = "NAME"
            resolved.append(m)
    return resolved


class NameIndex:
    """Fully named people by each word of their name, for resolving a bare surname in O(log n)."""

    def __init__(self, found: Sequence[Mention]) -> None:
        self.by_word: dict[str, tuple[list[int], list[str]]] = {}
        for m in found:
            if m.label == PERSON and m.full:
                parts = name_parts(m.canonical)
                for word in {parts[0], parts[-1], *name_parts(m.text)}:
                    starts, names = self.by_word.setdefault(word, ([], []))
                    starts.append(m.start)
                    names.append(m.canonical)

    def holder(self, word: str, before: int) -> str | None:
        """The most recent fully named person (before `before`) that `word` can be short for."""
        entry = self.by_word.get(word.lower())
        if entry is None:
            return None
        k = bisect.bisect_left(entry[0], before)
        return entry[1][k - 1] if k else None


def to_entities(found: Iterable[Mention]) -> list[Entity]:
    """Public records; lone capitalised words never resolved to a person are dropped."""
    return [Entity(m.text, m.label, m.start, m.end, m.canonical) for m in found if m.label != "NAME"]
