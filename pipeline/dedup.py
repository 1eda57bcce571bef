"""Fold the copies of one wire story into one cluster.

Outlets re-run an agency story under their own headline, with a dateline, a
byline, photo credits, page chrome and often a trimmed ending. Text is first
normalised so those differences vanish, then compared twice: an exact hash of
the normalised body, and MinHash over word shingles with LSH banding. LSH only
proposes candidates; every fold is verified on the exact shingle sets (Jaccard,
or containment so a trimmed copy still matches the full story).

The band keys live in the store, not in this process, so a copy fetched by
another worker or after a restart still finds its original. Clusters are named
after their earliest copy (by published time, else fetched time, then id), so
the outcome does not depend on which worker saw which copy first.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import chain

import numpy as np

from pipeline.records import Article, article_time
from pipeline.store.base import DedupRecord, Store


@dataclass(frozen=True)
class Params:
    """Knobs chosen from the Reuters-21578 measurements in bench/bench_dedup.py.

    Whole-text bands find copies by Jaccard; a few more bands over the opening
    words (the lede) find trimmed copies, whose Jaccard with the full story can be
    as low as 0.3 while the lede is the same.
    """

    shingle: int = 3
    bands: int = 30
    rows: int = 4
    lede_words: int = 40
    lede_bands: int = 6
    jaccard: float = 0.8
    containment: float = 0.85
    min_words: int = 25
    seed: int = 20200710

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows


DEFAULT = Params()


@dataclass(frozen=True)
class Fingerprint:
    body_hash: str
    shingles: np.ndarray  # sorted unique uint64 shingle hashes
    band_keys: tuple[str, ...]


@dataclass
class DedupReport:
    seen: int = 0
    skipped: int = 0  # already in the dedup table: a re-run leaves them alone
    too_short: int = 0
    exact: int = 0
    near: int = 0
    duplicates: int = 0  # folded into an earlier copy (exact + near)
    merged: int = 0  # clusters relabelled into another cluster
    # What this call left in the store for the batch's articles, by article id: each folded article's cluster
    # (merges included) and, for those it placed, the copy each folds into (None: none). The cycle hands both to
    # the statements step with the articles it already loaded, instead of loading them from the store again.
    cluster_of: dict[str, str] = field(default_factory=dict)
    duplicate_of: dict[str, str | None] = field(default_factory=dict)

    def label(self, articles: Iterable[Article]) -> None:
        """Give these articles (loaded before `dedupe` ran) the cluster and original it stored for them."""
        for article in articles:
            article.cluster_id = self.cluster_of.get(article.id, article.cluster_id)
            article.duplicate_of = self.duplicate_of.get(article.id, article.duplicate_of)


# -- normalisation ---------------------------------------------------------

_AGENCIES = r"AP|Reuters|AFP|UPI|Bloomberg|dpa|Xinhua|Kyodo|Yonhap|CNN|The Associated Press|Associated Press"
# "SEOUL, South Korea (AP) — ", "WASHINGTON (Reuters) - ": an upper-case place, an optional
# region, an optional agency in brackets, then a dash. Mixed-case openings never match.
_DATELINE = re.compile(
    rf"^[A-Z][A-Z.'\- ]{{1,40}}(?:,\s*[A-Z][\w.' ]{{1,40}}?)?\s*(?:\((?:{_AGENCIES})\)\s*)?[—–-]{{1,2}}\s+"
)
_PHOTO = re.compile(rf"\(?\b(?:{_AGENCIES}|Getty Images|EPA|Pool)\s*Photo\b[^)\n]*\)?|\(Photo:[^)\n]*\)", re.IGNORECASE)
_CONTRIBUTED = re.compile(
    rf"\b(?:{_AGENCIES})\s+(?:writers?|reporters?|correspondents?|journalists?)\b.*\bcontributed\b", re.IGNORECASE
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_BYLINE = re.compile(r"^By\s+[A-Z][^\n]{0,80}$")
_CHROME = re.compile(
    r"^(?:related|read more|see also|share|sign up|subscribe|advertisement|follow us|click here|"
    r"copyright|©|all rights reserved|photo|image|watch|listen)\b",
    re.IGNORECASE,
)
# Apostrophes are dropped, not split on, so "Korea's" stays one word in every copy.
_APOSTROPHES = ("'", "’")
_WORD = re.compile(r"\w+")
# Lines this short are page chrome ("Breaking News", "Accessibility links"), not prose.
_MIN_LINE_WORDS = 4


# A stripped line with at least `_MIN_LINE_WORDS` words: the same test as `len(line.split())`, without the list.
_LONG_ENOUGH = re.compile(rf"\S++(?:\s++\S++){{{_MIN_LINE_WORDS - 1}}}")


def _is_chrome(line: str) -> bool:
    return not _LONG_ENOUGH.match(line) or bool(_CHROME.match(line) or _BYLINE.match(line))


def _strip_furniture(line: str, has_credits: bool) -> str:
    """Datelines, photo credits and "AP writer X contributed" sentences; the
    substring tests keep the regexes off the great majority of lines, and `has_credits`
    (the whole text mentions a photo or a contribution) off most texts."""
    line = _DATELINE.sub("", line)
    if has_credits:
        lowered = line.lower()
        if "photo" in lowered:
            line = _PHOTO.sub(" ", line)
        if "contributed" in lowered:
            line = " ".join(part for part in _SENTENCE.split(line) if not _CONTRIBUTED.search(part))
    return line


def _nfkc(text: str) -> str:
    """`unicodedata.normalize("NFKC", text)`, each line normalised alone: a text one no-break space keeps from
    being NFKC already (an eighth of a bench cycle's articles) was normalised whole, in about 2.8 M instructions,
    where its other lines pass the quick check and are handed back as they are.

    The same text as normalising it whole: a line feed is a starter that composes with nothing and that no
    character decomposes to, so NFKC neither moves a mark across it nor joins characters on its two sides."""
    if text.isascii():  # every ASCII character is NFKC
        return text
    return "\n".join([unicodedata.normalize("NFKC", line) for line in text.split("\n")])


def normalise(text: str) -> str:
    """Reduce a text to the words every copy of the story shares, joined by single spaces."""
    return " ".join(normalised_words(text))


def normalised_words(text: str) -> list[str]:
    """The words every copy of the story shares (`normalise`'s, before they are joined: a caller that wants them
    one by one need not split them again; no word holds whitespace).

    Works line by line because extractors give one paragraph per line and the
    wire furniture (bylines, credits, chrome) sits on lines of its own.
    """
    text = _nfkc(text)
    lowered = text.lower()
    has_credits = "photo" in lowered or "contributed" in lowered
    kept: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not _is_chrome(line):
            kept.append(_strip_furniture(line, has_credits))
    # One pass over the kept lines together: the newlines between them keep words apart as before. The
    # apostrophes go with `str.replace`, not `str.translate`: a translation table costs a dictionary lookup per
    # character, 0.41 ms an article against 0.007 (60 AEB texts), the same output.
    joined = "\n".join(kept)
    for apostrophe in _APOSTROPHES:
        joined = joined.replace(apostrophe, "")
    return _WORD.findall(joined.casefold())


def body_hash(normalised: str) -> str:
    return hashlib.blake2b(normalised.encode("utf-8"), digest_size=16).hexdigest()


# -- shingles and MinHash --------------------------------------------------

_U64 = np.uint64
_MIX1 = _U64(0xBF58476D1CE4E5B9)
_MIX2 = _U64(0x94D049BB133111EB)
_ROLL = _U64(0x9E3779B97F4A7C15)


def _finalise(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads every input bit over all output bits."""
    values = (values ^ (values >> _U64(30))) * _MIX1
    values = (values ^ (values >> _U64(27))) * _MIX2
    mixed: np.ndarray = values ^ (values >> _U64(31))
    return mixed


# Word hashes kept between calls: a news vocabulary repeats, and hashing a word costs more than finding it.
# Bounded at 2^16 words, at most 7.5 MiB of the main process for its life (2^18 held 29 MiB once real feeds filled it);
# Reuters-21578 has 45,342 distinct words and a 2,000-page bench cycle about 19,500, so neither starts afresh, and
# a start afresh costs about 2 µs a word hashed again.
_WORD_IDS: dict[str, int] = {}
_WORD_CACHE = 1 << 16


def _word_hash(word: str) -> int:
    # blake2b, not hash(): Python salts str hashes per process, and band keys must
    # agree between workers and across restarts.
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def _word_ids(words: list[str]) -> np.ndarray:
    """Each word's 64-bit hash, new words hashed once and kept (up to `_WORD_CACHE` words, then started afresh)."""
    missing = set(words).difference(_WORD_IDS)
    if len(_WORD_IDS) + len(missing) > _WORD_CACHE:
        _WORD_IDS.clear()
        missing = set(words)
    for word in missing:
        _WORD_IDS[word] = _word_hash(word)
    return np.fromiter(map(_WORD_IDS.__getitem__, words), dtype=np.uint64, count=len(words))


def _spans(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Indexes start[i] .. start[i] + count[i] - 1 for every i, concatenated."""
    total = int(counts.sum())
    ends = np.cumsum(counts)
    spans: np.ndarray = np.arange(total, dtype=np.int64) + np.repeat(starts - (ends - counts), counts)
    return spans


@dataclass(frozen=True)
class _Shingled:
    """The shingles of several texts at once: `ordered[ordered_starts[i]:…]` is text i's in text order (repeats
    kept), `unique[unique_starts[i]:…]` its sorted unique ones; each `*_starts` has one more item than texts."""

    ordered: np.ndarray
    ordered_starts: np.ndarray
    unique: np.ndarray
    unique_starts: np.ndarray


def _shingle_texts(word_lists: list[list[str]], size: int) -> _Shingled:
    """64-bit hashes of the word `size`-grams of every text, computed over all texts in a few vector
    operations (numpy's cost per call, not per element, dominates texts of a few hundred words)."""
    lengths = np.array([len(words) for words in word_lists], dtype=np.int64)
    return _shingle_ids(_word_ids(list(chain.from_iterable(word_lists))), lengths, size)


def _shingle_ids(ids: np.ndarray, lengths: np.ndarray, size: int) -> _Shingled:
    """`_shingle_texts` over the texts' word ids, concatenated (`lengths` words each)."""
    counts = np.maximum(lengths - size + 1, 0)
    width = max(len(ids) - size + 1, 0)
    combined = ids[:width].copy()
    for offset in range(1, size):
        combined = combined * _ROLL + ids[offset : offset + width]
    word_starts = np.cumsum(lengths) - lengths
    ordered = _finalise(combined)[_spans(word_starts, counts)]
    ordered_starts = np.concatenate(([0], np.cumsum(counts)))
    owner = np.repeat(np.arange(len(lengths)), counts)
    order = np.lexsort((ordered, owner))
    values, owners = ordered[order], owner[order]
    first = np.ones(len(values), dtype=bool)
    first[1:] = (values[1:] != values[:-1]) | (owners[1:] != owners[:-1])
    unique_starts = np.searchsorted(owners[first], np.arange(len(lengths) + 1))
    return _Shingled(ordered, ordered_starts, values[first], unique_starts)


def shingle_hashes(words: list[str], size: int) -> np.ndarray:
    """64-bit hashes of the word `size`-grams, in text order (repeats kept)."""
    return _shingle_texts([words], size).ordered


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    multipliers = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64) * _U64(2) + _U64(1)
    offsets = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    return multipliers, offsets


# Rows of shingles x hash functions worked on at once: 2048 x 120 x 8 bytes is 2 MB.
_CHUNK = 2048
# The block `signatures` works in, made once and kept for the process's life (`_kept_block`): 2 MB.
_KEPT_ITEMS = DEFAULT.num_perm * _CHUNK
_KEPT: list[np.ndarray] = []
_KEPT_LOCK = threading.Lock()


def _kept_block(rows: int, width: int, kept: bool) -> np.ndarray:
    """An uninitialised `(rows, width)` block: a contiguous view of one 2 MB buffer kept for the process's life
    where `kept` (the caller holds `_KEPT_LOCK`) and it fits, a fresh array otherwise.

    A cycle's main process holds glibc's mmap threshold at 128 KiB (`cycle.map_large_blocks`), so that large
    temporaries are mapped and given back whole instead of fragmenting the heap; a fresh 2 MB block for each of
    a batch's some 70 chunks would then be fresh zero-filled pages each time (issue 15h: +39 % system time). The
    view is of the buffer's first `rows * width` items, so it is contiguous whatever the width (a strided
    `[:, :width]` view cost 6.7 % more instructions, issue 15b)."""
    if not kept or rows * width > _KEPT_ITEMS:
        return np.empty((rows, width), dtype=np.uint64)
    if not _KEPT:
        _KEPT.append(np.empty(_KEPT_ITEMS, dtype=np.uint64))
    return _KEPT[0][: rows * width].reshape(rows, width)


def signature(shingles: np.ndarray, params: Params = DEFAULT, num_perm: int | None = None) -> np.ndarray:
    """MinHash signature: for each hash function, the least value over all shingles.

    The hash functions are multiply-add-shift, `(a*x + b) mod 2^64` keeping the top
    32 bits, on shingle hashes already mixed by splitmix64: one fused vector op per
    shingle×permutation and no 128-bit arithmetic, unlike `(a*x+b) mod p`. Taking
    the top bits after the min is the same as before, because the shift is monotone.
    """
    one: np.ndarray = signatures(shingles, np.array([0, len(shingles)]), params, num_perm)[0]
    return one


def signatures(
    values: np.ndarray, starts: np.ndarray, params: Params = DEFAULT, num_perm: int | None = None
) -> np.ndarray:
    """`signature` of each segment `values[starts[i]:starts[i + 1]]`, as one row each. Texts are taken together,
    up to `_CHUNK` shingles at a time, hash functions by shingles so that each text's minimum is a reduction
    along contiguous memory."""
    multipliers, offsets = _permutations(params.num_perm, params.seed)
    multipliers, offsets = multipliers[:num_perm, None], offsets[:num_perm, None]
    least = np.full((len(multipliers), len(starts) - 1), np.iinfo(np.uint64).max, dtype=np.uint64)
    kept = _KEPT_LOCK.acquire(blocking=False)  # another thread's call works in a block of its own
    try:
        _fill_least(least, values, starts, multipliers, offsets, kept)
    finally:
        if kept:
            _KEPT_LOCK.release()
    return (least.T >> _U64(32)).astype(np.uint32)


def _fill_least(
    least: np.ndarray, values: np.ndarray, starts: np.ndarray, multipliers: np.ndarray, offsets: np.ndarray, kept: bool
) -> None:
    """`signatures`' work: each text's least value of each hash function, into `least`."""
    text = 0
    while text < len(starts) - 1:
        last = max(int(np.searchsorted(starts, starts[text] + _CHUNK, side="right")) - 1, text + 1)
        segment = starts[text : last + 1]
        filled = np.flatnonzero(segment[1:] > segment[:-1])  # reduceat cannot take an empty segment
        for begin in range(int(segment[0]), int(segment[-1]), _CHUNK):  # one piece, unless one text is long
            end = min(begin + _CHUNK, int(segment[-1]))
            block = np.multiply(
                multipliers, values[None, begin:end], out=_kept_block(len(multipliers), end - begin, kept)
            )
            block += offsets
            if last == text + 1:  # one text, perhaps in several pieces
                np.minimum(least[:, text], block.min(axis=1), out=least[:, text])
            else:
                least[:, text + filled] = np.minimum.reduceat(block, segment[filled] - begin, axis=1)
        text = last


@lru_cache(maxsize=8)
def _row_weights(rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    return rng.integers(0, 2**63, size=rows, dtype=np.uint64) * _U64(2) + _U64(1)


def band_keys(sig: np.ndarray, params: Params = DEFAULT, first_band: int = 0) -> tuple[str, ...]:
    """One 64-bit hex key per band: a random odd-weighted sum of the band's rows, mixed.

    The band number is added in, so equal rows in different bands (or in the lede
    bands, numbered after the whole-text ones) never share a key.
    """
    return band_keys_of(sig[None, :], params, first_band)[0]


def band_keys_of(sigs: np.ndarray, params: Params = DEFAULT, first_band: int = 0) -> list[tuple[str, ...]]:
    """`band_keys` of each row of `sigs`, in one pass."""
    rows = sigs.reshape(len(sigs), -1, params.rows).astype(np.uint64)
    bands = rows.shape[1]
    salts = np.arange(first_band, first_band + bands, dtype=np.uint64) * _ROLL
    mixed = _finalise((rows * _row_weights(params.rows, params.seed)).sum(axis=2, dtype=np.uint64) + salts)
    # bytes.hex puts a space after every 8 bytes, so one C-level split gives every key as 16 hex digits.
    keys = mixed.astype(">u8").tobytes().hex(" ", 8).split()
    return [tuple(keys[begin : begin + bands]) for begin in range(0, len(keys), bands)]


def sketches(word_lists: list[list[str]], params: Params = DEFAULT) -> list[tuple[np.ndarray, tuple[str, ...]]]:
    """Sorted unique shingles and band keys (whole-text bands, then lede bands) of each text's normalised
    words, computed for all the texts together."""
    if not word_lists:
        return []
    return _sketched(_shingle_texts(word_lists, params.shingle), params)


def _sketched(shingled: _Shingled, params: Params) -> list[tuple[np.ndarray, tuple[str, ...]]]:
    keys = band_keys_of(signatures(shingled.unique, shingled.unique_starts, params), params)
    if params.lede_bands:
        starts = shingled.ordered_starts[:-1]
        counts = np.minimum(np.diff(shingled.ordered_starts), max(params.lede_words - params.shingle + 1, 0))
        lede = shingled.ordered[_spans(starts, counts)]
        lede_sigs = signatures(lede, np.concatenate(([0], np.cumsum(counts))), params, params.lede_bands * params.rows)
        ledes = band_keys_of(lede_sigs, params, params.bands)
        keys = [whole + opening for whole, opening in zip(keys, ledes, strict=True)]
    unique, bounds = shingled.unique, shingled.unique_starts
    return [(unique[bounds[i] : bounds[i + 1]], keys[i]) for i in range(len(keys))]


def sketch(words: list[str], params: Params = DEFAULT) -> tuple[np.ndarray, tuple[str, ...]]:
    """Sorted unique shingles and band keys (whole-text bands, then lede bands) of normalised words."""
    return sketches([words], params)[0]


def shingle_set(text: str, params: Params = DEFAULT) -> np.ndarray:
    """Sorted unique shingles alone: what verifying against a stored copy needs (no signature)."""
    return _shingle_texts([normalised_words(text)], params.shingle).unique


# Texts sketched in one pass of vector operations. Each text's shingles, signature and band keys are its own, so
# the groups change nothing but the size of the pass's arrays: about ten of 8 bytes a word at once, which over a
# cycle's batch of 200 articles (about 130,000 words) were the main process's largest temporary, 8.3 MiB
# (tracemalloc). Fifty texts still spread numpy's cost per call over thousands of words.
SKETCHED_AT_ONCE = 50


def fingerprints(texts: list[str], params: Params = DEFAULT) -> list[Fingerprint | None]:
    """None for texts too short to fold safely: a one-line stub or a paywall notice
    matches too many unrelated pages to be evidence of a copy. The texts are sketched together.

    Each text's words become their 64-bit ids as soon as it is split: a cycle's batch of 200 articles held all its
    words as Python strings at once (about 160,000), the main process's peak; their ids take 8 bytes a word."""
    found: list[Fingerprint | None] = [None] * len(texts)
    long_enough: list[int] = []
    hashes: list[str] = []
    ids: list[np.ndarray] = []
    for i, text in enumerate(texts):
        words = normalised_words(text)
        if len(words) >= params.min_words:
            long_enough.append(i)
            hashes.append(body_hash(" ".join(words)))
            ids.append(_word_ids(words))
    sketched: list[tuple[np.ndarray, tuple[str, ...]]] = []
    for begin in range(0, len(ids), SKETCHED_AT_ONCE):
        group = ids[begin : begin + SKETCHED_AT_ONCE]
        lengths = np.array([len(text_ids) for text_ids in group], dtype=np.int64)
        sketched += _sketched(_shingle_ids(np.concatenate(group), lengths, params.shingle), params)
    for i, body, (shingles, keys) in zip(long_enough, hashes, sketched, strict=True):
        found[i] = Fingerprint(body, shingles, keys)
    return found


def fingerprint(text: str, params: Params = DEFAULT) -> Fingerprint | None:
    return fingerprints([text], params)[0]


def similarity(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(Jaccard, containment of the smaller in the larger) of two sorted unique arrays."""
    if not len(a) or not len(b):
        return 0.0, 0.0
    common = len(np.intersect1d(a, b, assume_unique=True))
    return common / (len(a) + len(b) - common), common / min(len(a), len(b))


def is_copy(a: np.ndarray, b: np.ndarray, params: Params = DEFAULT) -> bool:
    jaccard, containment = similarity(a, b)
    return jaccard >= params.jaccard or containment >= params.containment


def candidate_probability(s: float, params: Params = DEFAULT) -> float:
    """The LSH S-curve of the whole-text bands: chance that a pair with Jaccard `s`
    shares at least one of them (the lede bands only add to it)."""
    return float(1 - (1 - s**params.rows) ** params.bands)


# -- the stage -------------------------------------------------------------

# Members verified per candidate cluster besides its root: a story with fifty copies costs what one with five does.
MAX_VERIFIED = 3
# The key naming an article itself, stored with its band keys: a copy that adds no band key of its own is still
# found again by a re-run, which then leaves it alone.
_SELF = "@"


def self_key(article_id: str) -> str:
    return _SELF + article_id


@dataclass(slots=True)
class _Member:
    """An article dedup knows about during one call: from the store or from this batch."""

    id: str
    time: datetime
    body_hash: str
    shingles: np.ndarray | None  # stored articles: loaded from their text only when compared


@dataclass
class _Placement:
    """Where one new article goes: the copy it folds into (None: it starts a cluster) and the clusters it joins."""

    cluster: str
    original: str | None
    merged: list[str]


class _Clusters:
    """The clusters one `dedupe` call can touch: the stored articles sharing a band key with the batch, and the
    batch itself as it is placed.

    A root holds all its band keys and a copy only those no member of its cluster holds yet, so a key leads to
    about one article per cluster (more only where clusters merged): the work per new article does not grow
    with the number of copies a story already has.
    """

    def __init__(self, store: Store, window: timedelta, params: Params) -> None:
        self.store, self.window, self.params = store, window, params
        self.members: dict[str, _Member] = {}
        self.cluster_of: dict[str, str] = {}
        # Tuples, not lists: the garbage collector stops tracking a tuple of strings, and a batch makes some
        # 18,000 of them that would otherwise make every full collection longer.
        self.holders: dict[str, tuple[str, ...]] = {}
        self.root_times: dict[str, datetime] = {}
        self.merges: list[tuple[str, list[str]]] = []
        self.saved: list[DedupRecord] = []
        self.duplicate_of: dict[str, str | None] = {}

    def load(self, keys: Iterable[str], since: datetime) -> None:
        for record in self.store.dedup_candidates(keys, since):
            self.members[record.article_id] = _Member(record.article_id, record.published, record.body_hash, None)
            self.cluster_of[record.article_id] = record.cluster_id
            self._hold(record.band_keys, record.article_id)

    def _hold(self, keys: Iterable[str], article_id: str) -> None:
        holders = self.holders
        for key in keys:
            held = holders.get(key)
            holders[key] = (article_id,) if held is None else (*held, article_id)

    def shingles_of(self, member: _Member) -> np.ndarray:
        if member.shingles is None:
            texts = self.store.get_articles([member.id])
            member.shingles = shingle_set(texts[0].text, self.params) if texts else np.empty(0, dtype=np.uint64)
        return member.shingles

    def root_order(self, cluster: str) -> tuple[datetime, str]:
        if cluster in self.members:
            return self.members[cluster].time, cluster
        if cluster not in self.root_times:
            roots = self.store.get_articles([cluster])
            self.root_times[cluster] = article_time(roots[0]) if roots else datetime.max.replace(tzinfo=UTC)
        return self.root_times[cluster], cluster

    def candidates(self, me: _Member, keys: Iterable[str]) -> dict[str, list[str]]:
        """Per cluster, the members to verify `me` against: most shared band keys first, the root among them
        when it shares one, at most MAX_VERIFIED others."""
        holders, members = self.holders, self.members
        # Counted first, then each holder's time checked once (not once per key it shares).
        shared = Counter(other for key in keys if key in holders for other in holders[key])
        near = [other for other in shared if abs(members[other].time - me.time) <= self.window]
        by_cluster: dict[str, list[str]] = defaultdict(list)
        for other in sorted(near, key=lambda item: (-shared[item], members[item].time, item)):
            cluster = self.cluster_of[other]
            if other == cluster or len(by_cluster[cluster]) < MAX_VERIFIED:
                by_cluster[cluster].append(other)
        return by_cluster

    def matches(self, me: _Member, keys: Iterable[str]) -> tuple[str | None, set[str]]:
        """The copy `me` folds into (None if none) and every cluster it verifiably matches."""
        original: str | None = None
        clusters: set[str] = set()
        for cluster, candidates in self.candidates(me, keys).items():
            if abs(me.time - self.root_order(cluster)[0]) > self.window:
                # A copy joins a cluster only within one window of its root, so a daily template story that
                # matches yesterday's copy does not chain into one cluster for weeks.
                continue
            for other in candidates:
                candidate = self.members[other]
                exact = candidate.body_hash == me.body_hash
                if exact or is_copy(self.shingles_of(me), self.shingles_of(candidate), self.params):
                    clusters.add(cluster)
                    if original is None or (exact and self.members[original].body_hash != me.body_hash):
                        original = other
                    break
        return original, clusters

    def place(self, me: _Member, keys: tuple[str, ...]) -> _Placement:
        original, clusters = self.matches(me, keys)
        if original is None:
            return _Placement(me.id, None, [])
        ordered = sorted(clusters, key=self.root_order)
        cluster = ordered[0]
        # `me` is not a member yet: its own order is at hand, where `root_order` would load it from the store.
        if (me.time, me.id) < self.root_order(cluster):
            cluster, original = me.id, None  # an earlier copy arriving late becomes the root
        return _Placement(cluster, original, [other for other in ordered if other != cluster])

    def merge(self, into: str, others: list[str]) -> None:
        self.merges.append((into, others))
        for member, current in self.cluster_of.items():
            if current in others:
                self.cluster_of[member] = into

    def add(self, me: _Member, keys: tuple[str, ...], placement: _Placement) -> None:
        """Record `me` in its cluster, holding only the band keys no member of the cluster holds yet."""
        cluster = placement.cluster
        new_keys = keys
        if placement.original is not None:
            new_keys = tuple(
                key for key in keys if all(self.cluster_of[holder] != cluster for holder in self.holders.get(key, ()))
            )
        self.members[me.id] = me
        self.cluster_of[me.id] = cluster
        self._hold(new_keys, me.id)
        self.duplicate_of[me.id] = placement.original
        self.saved.append(DedupRecord(me.id, cluster, me.time, me.body_hash, (*new_keys, self_key(me.id))))

    def write(self) -> None:
        # Merges first: if the run dies between the two writes, the batch is not yet in
        # the dedup table, so a re-run recomputes it against the already-merged clusters.
        for into, others in self.merges:
            self.store.merge_clusters(into, others)
        self.store.save_dedup(
            [replace(record, cluster_id=self.cluster_of[record.article_id]) for record in self.saved],
            self.duplicate_of,
        )


def _fingerprinted(
    articles: list[Article], params: Params, report: DedupReport
) -> dict[str, tuple[Article, Fingerprint]]:
    """The batch in time order, with the fingerprint of each article long enough to fold."""
    ordered: list[Article] = []
    ids: set[str] = set()
    for article in sorted(articles, key=_time_order):
        if article.id not in ids:
            ids.add(article.id)
            ordered.append(article)
    report.seen += len(ordered)
    batch: dict[str, tuple[Article, Fingerprint]] = {}
    for article, found in zip(ordered, fingerprints([article.text for article in ordered], params), strict=True):
        if found is None:
            report.too_short += 1
        else:
            batch[article.id] = (article, found)
    return batch


def _time_order(article: Article) -> tuple[datetime, str]:
    return article_time(article), article.id


def dedupe(articles: list[Article], store: Store, window: timedelta, params: Params = DEFAULT) -> DedupReport:
    """Assign `cluster_id` and `duplicate_of` to articles already saved in the store.

    The batch is processed in time order, so copies inside one batch fold with
    each other as they would across batches. Each article is verified against
    a cluster's root and at most MAX_VERIFIED of its members (those sharing
    most band keys), and each band key is held by one member per cluster, so
    the work per article does not grow with the number of copies of a story.
    """
    report = DedupReport()
    batch = _fingerprinted(articles, params, report)
    if not batch:
        return report
    clusters = _Clusters(store, window, params)
    earliest = min(article_time(article) for article, _ in batch.values())
    keys = {key for _, found in batch.values() for key in found.band_keys}
    clusters.load(keys | {self_key(article_id) for article_id in batch}, earliest - window)
    for article_id, (article, found) in batch.items():
        if article_id in clusters.members:
            report.skipped += 1
            continue
        me = _Member(article_id, article_time(article), found.body_hash, found.shingles)
        placement = clusters.place(me, found.band_keys)
        if placement.original is not None:
            exact = clusters.members[placement.original].body_hash == me.body_hash
            report.exact += exact
            report.near += not exact
            report.duplicates += 1
        if placement.merged:
            clusters.merge(placement.cluster, placement.merged)
            report.merged += len(placement.merged)
        clusters.add(me, found.band_keys, placement)
    clusters.write()
    report.cluster_of = {article_id: clusters.cluster_of[article_id] for article_id in batch}
    report.duplicate_of = clusters.duplicate_of
    return report
