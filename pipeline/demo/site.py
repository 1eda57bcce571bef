"""The bundled sample: the two seed articles as real-looking news pages, plus wire reprints.

The seed texts (`sample/*.txt`) are what a naive scraper got from VOA and VICE
on 10 July 2020. Here they become pages with the chrome real sites carry
(navigation, cookie banner, related links, footer), so extraction has work to
do, and feeds in three formats list them: VOA as RSS 2.0, VICE as Atom 1.0,
and a wire desk's JSON Feed carrying two reprints of the AP copy with their own
headlines, datelines and trimmed endings. Times are set relative to `now` so
the sample is always fresh news.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from importlib import resources

from pipeline.demo.server import StaticRoute


@dataclass(frozen=True)
class SampleArticle:
    path: str
    outlet: str
    title: str
    author: str
    paragraphs: tuple[str, ...]
    age: timedelta
    feed: str


def _seed_paragraphs(name: str) -> list[str]:
    text = resources.files("pipeline.demo").joinpath("sample", name).read_text(encoding="utf-8")
    return [" ".join(block.split()) for block in text.split("\n\n") if block.strip()]


def sample_articles() -> list[SampleArticle]:
    voa = _seed_paragraphs("voa-2020-07-10-kim-yo-jong-summit.txt")
    vice = _seed_paragraphs("vice-2020-07-10-kim-yo-jong-summit.txt")
    voa_title, voa_body = voa[2], voa[4:]
    # VICE: title, then the dek (followed by its photo credits), a newsletter plug, the story, a cover caption.
    vice_title, vice_body = vice[0], [vice[1].split(" AP Photo/")[0], *vice[3:-1]]
    dateline = "SEOUL, South Korea (AP) — "
    return [
        SampleArticle(
            "/voa/east-asia/north-korea-not-interested-summit.html",
            "VOA News",
            voa_title,
            "VOA News",
            tuple(voa_body),
            timedelta(minutes=50),
            "voa",
        ),
        SampleArticle(
            "/vice/article/kim-jong-un-hard-pass-third-summit-trump.html",
            "VICE News",
            vice_title,
            "Hyonhee Shin",
            tuple(vice_body),
            timedelta(minutes=30),
            "vice",
        ),
        SampleArticle(
            "/herald/world/2020/07/10/north-korea-rules-out-summit.html",
            "Pacific Herald",
            "North Korea rules out another Trump summit this year",
            "Associated Press",
            (dateline + voa_body[0], *voa_body[1:-3], "Associated Press writer Hyung-jin Kim contributed."),
            timedelta(minutes=20),
            "wire",
        ),
        SampleArticle(
            "/courier/news/kim-sister-no-summit.html",
            "Daily Courier",
            "Kim's sister says no summit with Trump before US election",
            "The Associated Press",
            (dateline + voa_body[0], *voa_body[1:-2]),
            timedelta(minutes=10),
            "wire",
        ),
    ]


def article_page(article: SampleArticle, published: datetime) -> bytes:
    escape = html.escape
    paragraphs = "\n".join(f"      <p>{escape(text)}</p>" for text in article.paragraphs)
    related = "\n".join(
        f'        <li><a href="/related/{n}.html">{escape(title)}</a></li>'
        for n, title in enumerate(
            [
                "South Korea reports new virus cases",
                "Markets close higher in Asia",
                "Typhoon season forecast released",
                "Subscribe to our newsletter",
            ]
        )
    )
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{escape(article.title)} | {escape(article.outlet)}</title>
  <meta property="og:title" content="{escape(article.title)}">
  <meta property="og:site_name" content="{escape(article.outlet)}">
  <meta name="author" content="{escape(article.author)}">
  <meta property="article:published_time" content="{published.isoformat()}">
</head>
<body>
  <div class="cookie-banner">We use cookies to improve your experience. <a href="/privacy">Accept all</a></div>
  <header>
    <a class="logo" href="/">{escape(article.outlet)}</a>
    <nav><a href="/world">World</a> <a href="/politics">Politics</a> <a href="/business">Business</a>
      <a href="/tech">Technology</a> <a href="/video">Video</a> <a href="/subscribe">Subscribe</a></nav>
  </header>
  <main>
    <article>
      <h1>{escape(article.title)}</h1>
      <p class="byline">By {escape(article.author)} ·
        <time datetime="{published.isoformat()}">{published:%B %d, %Y}</time></p>
{paragraphs}
    </article>
    <aside class="related">
      <h2>Related stories</h2>
      <ul>
{related}
      </ul>
    </aside>
  </main>
  <footer>
    <p>© 2020 {escape(article.outlet)}. All rights reserved.</p>
    <p><a href="/terms">Terms of use</a> · <a href="/privacy">Privacy policy</a> · <a href="/contact">Contact us</a></p>
  </footer>
</body>
</html>
"""
    return page.encode("utf-8")


def rss_feed(title: str, base_url: str, items: list[tuple[SampleArticle, datetime]]) -> bytes:
    entries = "\n".join(
        f"""    <item>
      <title>{html.escape(article.title)}</title>
      <link>{base_url}{article.path}?utm_source=rss&amp;utm_medium=feed</link>
      <guid isPermaLink="false">{article.feed}-{article.path}</guid>
      <pubDate>{format_datetime(published)}</pubDate>
      <description>{html.escape(article.paragraphs[0])}</description>
    </item>"""
        for article, published in items
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>{html.escape(title)}</title>
    <link>{base_url}/</link>
    <description>{html.escape(title)}</description>
{entries}
  </channel>
</rss>
""".encode()


def atom_feed(title: str, base_url: str, items: list[tuple[SampleArticle, datetime]]) -> bytes:
    updated = max((published for _, published in items), default=None)
    entries = "\n".join(
        f"""  <entry>
    <title>{html.escape(article.title)}</title>
    <link rel="alternate" href="{base_url}{article.path}"/>
    <id>tag:sample,2020:{article.path}</id>
    <updated>{published.isoformat()}</updated>
    <author><name>{html.escape(article.author)}</name></author>
    <summary>{html.escape(article.paragraphs[0])}</summary>
  </entry>"""
        for article, published in items
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>{html.escape(title)}</title>
  <id>tag:sample,2020:{html.escape(title)}</id>
  <updated>{(updated.isoformat() if updated else "2020-07-10T00:00:00+00:00")}</updated>
{entries}
</feed>
""".encode()


def json_feed(title: str, base_url: str, items: list[tuple[SampleArticle, datetime]]) -> bytes:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "items": [
            {
                "id": f"{article.feed}-{article.path}",
                "url": f"{base_url}{article.path}",
                "title": article.title,
                "summary": article.paragraphs[0],
                "date_published": published.isoformat(),
            }
            for article, published in items
        ],
    }
    return json.dumps(document, indent=2).encode()


FEEDS = {
    "voa": ("/feeds/voa-east-asia.rss", "VOA East Asia", rss_feed, "application/rss+xml"),
    "vice": ("/feeds/vice-news.atom", "VICE News", atom_feed, "application/atom+xml"),
    "wire": ("/feeds/wire-desk.json", "Wire desk", json_feed, "application/feed+json"),
}


def sample_routes(base_url: str, now: datetime, articles: list[SampleArticle] | None = None) -> dict[str, StaticRoute]:
    """Pages and feeds for `articles` (all of the sample by default), as routes for `SiteServer`."""
    chosen = sample_articles() if articles is None else articles
    routes: dict[str, StaticRoute] = {}
    for feed, (path, title, render, content_type) in FEEDS.items():
        items = [(article, now - article.age) for article in chosen if article.feed == feed]
        routes[path] = StaticRoute(render(title, base_url, items), content_type=content_type)
    for article in chosen:
        routes[article.path] = StaticRoute(article_page(article, now - article.age))
    return routes


def feed_urls(base_url: str) -> list[tuple[str, str]]:
    return [(base_url + path, title) for path, title, _, _ in FEEDS.values()]
