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
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

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
_APOSTROPHES = str.maketrans("", "", "'’")
_WORD = re.compile(r"\w+")
# Lines this short are page chrome ("Breaking News", "Accessibility links"), not prose.
_MIN_LINE_WORDS = 4


def _is_chrome(line: str) -> bool:
    return bool(_CHROME.match(line) or _BYLINE.match(line)) or len(line.split()) < _MIN_LINE_WORDS


def _strip_furniture(line: str) -> str:
    """Datelines, photo credits and "AP writer X contributed" sentences; the
    substring tests keep the regexes off the great majority of lines."""
    line = _DATELINE.sub("", line)
    lowered = line.lower()
    if "photo" in lowered:
        line = _PHOTO.sub(" ", line)
    if "contributed" in lowered:
        line = " ".join(part for part in _SENTENCE.split(line) if not _CONTRIBUTED.search(part))
    return line


def normalise(text: str) -> str:
    """Reduce a text to the words every copy of the story shares.

    Works line by line because extractors give one paragraph per line and the
    wire furniture (bylines, credits, chrome) sits on lines of its own.
    """
    words: list[str] = []
    for raw in unicodedata.normalize("NFKC", text).splitlines():
        line = raw.strip()
        if line and not _is_chrome(line):
            words += _WORD.findall(_strip_furniture(line).translate(_APOSTROPHES).casefold())
    return " ".join(words)


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


@lru_cache(maxsize=1 << 18)
def _word_hash(word: str) -> int:
    # blake2b, not hash(): Python salts str hashes per process, and band keys must
    # agree between workers and across restarts.
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def shingle_hashes(words: list[str], size: int) -> np.ndarray:
    """64-bit hashes of the word `size`-grams, in text order (repeats kept).

    Each word is hashed once (cached) and the n-grams are combined in numpy, so
    the cost per shingle is a few vector operations, not a hash call.
    """
    if len(words) < size:
        return np.empty(0, dtype=np.uint64)
    ids = np.fromiter((_word_hash(word) for word in words), dtype=np.uint64, count=len(words))
    count = len(words) - size + 1
    combined = ids[:count].copy()
    for offset in range(1, size):
        combined = combined * _ROLL + ids[offset : offset + count]
    return _finalise(combined)


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    multipliers = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64) * _U64(2) + _U64(1)
    offsets = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    return multipliers, offsets


_CHUNK = 2048


def signature(shingles: np.ndarray, params: Params = DEFAULT, num_perm: int | None = None) -> np.ndarray:
    """MinHash signature: for each hash function, the least value over all shingles.

    The hash functions are multiply-add-shift, `(a*x + b) mod 2^64` keeping the top
    32 bits, on shingle hashes already mixed by splitmix64: one fused vector op per
    shingle×permutation and no 128-bit arithmetic, unlike `(a*x+b) mod p`. Taking
    the top bits after the min is the same as before, because the shift is monotone.
    """
    multipliers, offsets = _permutations(params.num_perm, params.seed)
    multipliers, offsets = multipliers[:num_perm], offsets[:num_perm]
    least = np.full(len(multipliers), np.iinfo(np.uint64).max, dtype=np.uint64)
    for start in range(0, len(shingles), _CHUNK):
        block = shingles[start : start + _CHUNK, None] * multipliers + offsets
        np.minimum(least, block.min(axis=0), out=least)
    return (least >> _U64(32)).astype(np.uint32)


@lru_cache(maxsize=8)
def _row_weights(rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    return rng.integers(0, 2**63, size=rows, dtype=np.uint64) * _U64(2) + _U64(1)


def band_keys(sig: np.ndarray, params: Params = DEFAULT, first_band: int = 0) -> tuple[str, ...]:
    """One 64-bit hex key per band: a random odd-weighted sum of the band's rows, mixed.

    The band number is added in, so equal rows in different bands (or in the lede
    bands, numbered after the whole-text ones) never share a key.
    """
    rows = sig.reshape(-1, params.rows).astype(np.uint64)
    salts = np.arange(first_band, first_band + len(rows), dtype=np.uint64) * _ROLL
    mixed = _finalise((rows * _row_weights(params.rows, params.seed)).sum(axis=1, dtype=np.uint64) + salts)
    digits = mixed.astype(">u8").tobytes().hex()
    return tuple(digits[start : start + 16] for start in range(0, len(digits), 16))


def sketch(words: list[str], params: Params = DEFAULT) -> tuple[np.ndarray, tuple[str, ...]]:
    """Sorted unique shingles and band keys (whole-text bands, then lede bands) of normalised words."""
    ordered = shingle_hashes(words, params.shingle)
    shingles = np.unique(ordered)
    keys = band_keys(signature(shingles, params), params)
    if params.lede_bands:
        lede = ordered[: max(params.lede_words - params.shingle + 1, 0)]
        keys += band_keys(signature(lede, params, params.lede_bands * params.rows), params, params.bands)
    return shingles, keys


def shingle_set(text: str, params: Params = DEFAULT) -> np.ndarray:
    """Sorted unique shingles alone: what verifying against a stored copy needs (no signature)."""
    return np.unique(shingle_hashes(normalise(text).split(), params.shingle))


def fingerprint(text: str, params: Params = DEFAULT) -> Fingerprint | None:
    """None for texts too short to fold safely: a one-line stub or a paywall notice
    matches too many unrelated pages to be evidence of a copy."""
    normalised = normalise(text)
    words = normalised.split()
    if len(words) < params.min_words:
        return None
    shingles, keys = sketch(words, params)
    return Fingerprint(body_hash(normalised), shingles, keys)


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


@dataclass
class _Member:
    """An article dedup knows about during one call: from the store or from this batch."""

    id: str
    time: datetime
    body_hash: str
    shingles: np.ndarray | None  # stored articles: loaded from their text only when compared


def dedupe(articles: list[Article], store: Store, window: timedelta, params: Params = DEFAULT) -> DedupReport:  # noqa: C901 -- issue 15 splits dedupe; lead reconciles
    """Assign `cluster_id` and `duplicate_of` to articles already saved in the store.

    The batch is processed in time order, so copies inside one batch fold with
    each other as they would across batches. Each article is verified against
    one member per candidate cluster (the one sharing most band keys), which
    bounds the work for a story with fifty copies to a handful of comparisons.
    """
    report = DedupReport()
    batch: dict[str, tuple[Article, Fingerprint]] = {}
    for article in sorted(articles, key=lambda item: (article_time(item), item.id)):
        if article.id in batch:
            continue
        report.seen += 1
        found = fingerprint(article.text, params)
        if found is None:
            report.too_short += 1
        else:
            batch[article.id] = (article, found)
    if not batch:
        return report

    earliest = min(article_time(article) for article, _ in batch.values())
    all_keys = {key for _, found in batch.values() for key in found.band_keys}
    stored = store.dedup_candidates(all_keys, earliest - window)

    members: dict[str, _Member] = {}
    cluster_of: dict[str, str] = {}
    index: dict[str, list[str]] = defaultdict(list)
    for record in stored:
        members[record.article_id] = _Member(record.article_id, record.published, record.body_hash, None)
        cluster_of[record.article_id] = record.cluster_id
        for key in record.band_keys:
            index[key].append(record.article_id)

    def shingles_of(member: _Member) -> np.ndarray:
        if member.shingles is None:
            texts = store.get_articles([member.id])
            member.shingles = shingle_set(texts[0].text, params) if texts else np.empty(0, dtype=np.uint64)
        return member.shingles

    root_times: dict[str, datetime] = {}

    def root_order(cluster: str) -> tuple[datetime, str]:
        if cluster in members:
            return members[cluster].time, cluster
        if cluster not in root_times:
            roots = store.get_articles([cluster])
            root_times[cluster] = article_time(roots[0]) if roots else datetime.max.replace(tzinfo=UTC)
        return root_times[cluster], cluster

    merges: list[tuple[str, list[str]]] = []
    saved: list[DedupRecord] = []
    duplicate_of: dict[str, str | None] = {}
    for article_id, (article, found) in batch.items():
        if article_id in members:
            report.skipped += 1
            continue
        me = _Member(article_id, article_time(article), found.body_hash, found.shingles)
        original, clusters = _matches(
            me, found.band_keys, index, members, cluster_of, window, shingles_of, params, root_order
        )
        cluster = article_id
        if original is not None:
            ordered = sorted(clusters, key=root_order)
            cluster = ordered[0]
            if root_order(article_id) < root_order(cluster):
                cluster, original = article_id, None  # an earlier copy arriving late becomes the root
            else:
                report.exact += members[original].body_hash == me.body_hash
                report.near += members[original].body_hash != me.body_hash
                report.duplicates += 1
            others = [other for other in ordered if other != cluster]
            if others:
                merges.append((cluster, others))
                report.merged += len(others)
                for member, current in cluster_of.items():
                    if current in others:
                        cluster_of[member] = cluster
        members[article_id] = me
        cluster_of[article_id] = cluster
        for key in found.band_keys:
            index[key].append(article_id)
        duplicate_of[article_id] = original
        saved.append(DedupRecord(article_id, cluster, me.time, found.body_hash, found.band_keys))

    # Merges first: if the run dies between the two writes, the batch is not yet in
    # the dedup table, so a re-run recomputes it against the already-merged clusters.
    for into, others in merges:
        store.merge_clusters(into, others)
    store.save_dedup(
        [DedupRecord(r.article_id, cluster_of[r.article_id], r.published, r.body_hash, r.band_keys) for r in saved],
        duplicate_of,
    )
    return report


def _matches(
    me: _Member,
    keys: Iterable[str],
    index: dict[str, list[str]],
    members: dict[str, _Member],
    cluster_of: dict[str, str],
    window: timedelta,
    shingles_of: Callable[[_Member], np.ndarray],
    params: Params,
    root_order: Callable[[str], tuple[datetime, str]],
) -> tuple[str | None, set[str]]:
    """The copy `me` folds into (None if none) and every cluster it verifiably matches."""
    shared: dict[str, int] = defaultdict(int)
    for key in keys:
        for other in index.get(key, ()):
            if other != me.id and abs(members[other].time - me.time) <= window:
                shared[other] += 1
    by_cluster: dict[str, list[str]] = defaultdict(list)
    for other in sorted(shared, key=lambda item: (-shared[item], members[item].time, item)):
        by_cluster[cluster_of[other]].append(other)
    original: str | None = None
    clusters: set[str] = set()
    for cluster, candidates in by_cluster.items():
        if abs(me.time - root_order(cluster)[0]) > window:
            # A copy joins a cluster only within one window of its root, so a daily template story that
            # matches yesterday's copy does not chain into one cluster for weeks.
            continue
        for other in candidates:
            candidate = members[other]
            exact = candidate.body_hash == me.body_hash
            if exact or is_copy(shingles_of(me), shingles_of(candidate), params):
                clusters.add(cluster)
                if original is None or (exact and members[original].body_hash != me.body_hash):
                    original = other
                break
    return original, clusters
