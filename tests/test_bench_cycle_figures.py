"""The cycle bench's dedupe and statements figure: per article over the first batch and over the cycle's tail.

Each case's expected value is worked out by hand beside it.
"""

from __future__ import annotations

import pytest

from bench.bench_cycle import TAIL_ARTICLES, per_article_us, tail_per_article_us


@pytest.mark.parametrize(
    ("batches", "expected"),
    [
        # from the end: 20 articles (0.3 s), then 80 more (0.2 s): 100 articles in 0.5 s; 0.5 s / 100 = 5,000 us
        ([(200, 1.0), (80, 0.2), (20, 0.3)], 5000.0),
        # a last batch of 100 alone is enough: 0.2 s / 100 = 2,000 us
        ([(200, 1.0), (100, 0.2)], 2000.0),
        # fewer than 100 articles in the whole cycle: all of them, 0.4 s / 50 = 8,000 us
        ([(30, 0.3), (20, 0.1)], 8000.0),
        ([], 0.0),
    ],
)
def test_the_tail_figure_takes_the_last_batches_until_they_hold_100_articles(
    batches: list[tuple[int, float]], expected: float
) -> None:
    assert TAIL_ARTICLES == 100
    assert tail_per_article_us(batches) == pytest.approx(expected)


def test_the_first_batch_figure_is_per_article_of_each_batch() -> None:
    # 1.0 s / 200 = 5,000 us; 0.2 s / 80 = 2,500 us; an empty batch gives no figure
    assert per_article_us([(200, 1.0), (80, 0.2), (0, 0.1)]) == pytest.approx([5000.0, 2500.0])


def test_the_yardstick_gets_trafilatura_as_it_ships() -> None:
    """Our extractor puts a screen before trafilatura's pattern of invalid XML characters and a C lookup on its
    parser; the yardstick's workers (forked from the same forkserver) get trafilatura's own back."""
    from lxml.html import HtmlElement, InputElement
    from trafilatura import utils

    from bench.bench_cycle import trafilatura_as_shipped
    from pipeline.trafilatura_patches import ScreenedPattern, screen_invalid_xml_chars, use_c_element_lookup

    field = "<html><body><form><input name='q'></form></body></html>"
    assert isinstance(utils.INVALID_XML_CHARS, ScreenedPattern)
    assert type(utils.load_html(field).find(".//input")) is HtmlElement  # our C lookup: no form-field classes
    try:
        trafilatura_as_shipped()
        assert not isinstance(utils.INVALID_XML_CHARS, ScreenedPattern)
        assert (
            utils.INVALID_XML_CHARS.pattern == "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\ufffe\\uffff]"
        )  # trafilatura 2.3.1's
        assert type(utils.load_html(field).find(".//input")) is InputElement  # lxml.html's own lookup
        trafilatura_as_shipped()  # a second call changes nothing
        assert not isinstance(utils.INVALID_XML_CHARS, ScreenedPattern)
    finally:  # this test's process goes on extracting as the workers do
        screen_invalid_xml_chars()
        use_c_element_lookup()
    assert isinstance(utils.INVALID_XML_CHARS, ScreenedPattern)


def _page_feed(base_url: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Pages</title>'
        f"<item><title>Page 3</title><link>{base_url}/pages/3.html</link><guid>p3</guid></item>"
        "<item><title>Elsewhere</title><link>http://example.com/pages/3.html</link><guid>e3</guid></item>"
        "</channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("port", "product_id"),
    [
        (5555, "09b660a8778cf90428084059"),  # sha256 of "http://127.0.0.1:5555/pages/3.html", first 24 digits
        (41234, "ecdd6a917aa2fec5e4665fa0"),  # of "http://127.0.0.1:41234/pages/3.html"
    ],
)
def test_the_bench_keys_its_pages_by_path_whatever_the_servers_port(port: int, product_id: str) -> None:
    """The copies of a page tie on their times and the tie goes by id: keyed by path, a run's originals and batches
    do not depend on the port the loopback server got. Other URLs keep the product's key."""
    from bench.bench_cycle import page_id, port_free_ids
    from pipeline.feeds import entries_from_body

    base_url = f"http://127.0.0.1:{port}"
    feed_url = f"{base_url}/feeds/pages.xml"
    with port_free_ids(base_url):
        entries, _ = entries_from_body(feed_url, None, feed_url, _page_feed(base_url), {})
    # sha256 of "http://pages.bench.invalid/pages/3.html" and of "http://example.com/pages/3.html", first 24 digits
    assert [entry.id for entry in entries] == ["257b4f30b1973cf61964fd17", "b3799c5fa6696db0dbd3e430"]
    assert page_id(3) == "257b4f30b1973cf61964fd17"
    assert entries[0].url == f"{base_url}/pages/3.html"  # still fetched from the server
    entries, _ = entries_from_body(feed_url, None, feed_url, _page_feed(base_url), {})
    assert entries[0].id == product_id  # outside the bench, the whole URL is keyed, as before


def test_the_replayed_parts_are_the_first_batch_and_the_last_batches_holding_100_articles() -> None:
    from bench.bench_flatness import parts

    batches = [["a"] * 200, ["b"] * 200, ["c"] * 100, ["d"] * 50, ["e"] * 25, ["f"] * 25]
    chosen = parts(batches)
    assert chosen.first.batches == [["a"] * 200]
    # from the end: 25 + 25 + 50 = 100 articles, so the last three batches; the store before them has the first three
    assert chosen.last.batches == [["d"] * 50, ["e"] * 25, ["f"] * 25]
    assert chosen.last_alone.batches == chosen.last.batches
    assert (chosen.last.state, chosen.last_alone.state) == ("before last", "cleared")
    assert chosen.before_last == [["a"] * 200, ["b"] * 200, ["c"] * 100]
