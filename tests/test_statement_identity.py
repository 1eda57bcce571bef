"""Statement identity across runs, on loopback with a real SMTP server: one email per act of speaking.

The fixture articles are written for these tests: an agency publishing Kim Yo
Jong's press statement in full, its reprint elsewhere, a secondary report of it
the next day, a different statement of hers the day after on the same story,
and articles that only mention her or put her name in a headline.
"""

from __future__ import annotations

from datetime import timedelta

from pipeline.cycle import run_cycle
from pipeline.demo.site import SampleArticle
from pipeline.enrich.analyze import analyze
from pipeline.store.sqlite import SQLiteStore
from tests.conftest import make_config
from tests.test_alert import alert_config, serve_articles, text_part

LEAD = (
    "Pyongyang, March 3 (KCNA) -- Kim Yo Jong, vice department director of the Central Committee of the "
    "Workers' Party of Korea, made public the following press statement in the evening:"
)
STATEMENT = (
    "This morning I learned that the south Korean military authorities again flew drones over the border "
    "area, calling it a routine exercise.",
    "Such a reckless act cannot be overlooked. We have warned more than once that our patience has limits.",
    "If the provocation is repeated, the south side will have to bear responsibility for the consequences.",
)
PRIMARY = SampleArticle(
    "/kcna/item/2026/kim-yo-jong-press-statement-drones.html",
    "KCNA",
    "Press Statement of Vice Department Director of WPK Central Committee Kim Yo Jong",
    "KCNA",
    (LEAD, *STATEMENT),
    timedelta(hours=30),
    "wire",
)
REPRINT = SampleArticle(
    "/uriminzokkiri/news/press-statement-drones.html",
    "Uriminzokkiri",
    "Press Statement of Kim Yo Jong",
    "Uriminzokkiri",
    (LEAD, *STATEMENT),
    timedelta(hours=29),
    "vice",
)
SECONDARY = SampleArticle(
    "/voa/east-asia/kim-sister-warns-seoul-over-drones.html",
    "VOA News",
    "Kim Jong Un's sister warns Seoul over drone flights",
    "VOA News",
    (
        "Kim Yo Jong, the powerful sister of North Korea's leader, said the South Korean military had again "
        "flown drones over the border area and warned that Seoul would bear responsibility for the consequences.",
        '"Such a reckless act cannot be overlooked," Kim Yo Jong said in a statement carried by state media.',
        "South Korea's defense ministry said the flights were part of a routine exercise and did not cross "
        "into the North's airspace.",
        "Relations between the two Koreas have been strained since talks collapsed, and the North has "
        "repeatedly warned against military drills near the border.",
    ),
    timedelta(hours=6),
    "voa",
)
SECOND_STATEMENT = SampleArticle(
    "/kcna/item/2026/kim-yo-jong-second-press-statement-drones.html",
    "KCNA",
    "Press Statement of Kim Yo Jong on South Korean Drone Excuse",
    "KCNA",
    (
        "Pyongyang, March 4 (KCNA) -- Kim Yo Jong, vice department director of the Central Committee of the "
        "Workers' Party of Korea, released the following press statement:",
        "Yesterday the defence ministry in Seoul claimed that the drones were flown only for training. It is a "
        "clumsy excuse that nobody believes.",
        "Our army has recorded every flight path and will answer the next intrusion in its own way, without "
        "further notice to anyone.",
        "Those who planned the flights should think carefully about what they have started.",
    ),
    timedelta(hours=5),
    "wire",
)
MENTION = SampleArticle(
    "/voa/east-asia/who-speaks-for-pyongyang.html",
    "VOA News",
    "Who speaks for Pyongyang?",
    "VOA News",
    (
        "Kim Yo Jong, the younger sister of Kim Jong Un, has become the most visible voice of North Korea's "
        "policy toward the South, analysts in Seoul say.",
        "Her press statements on drone flights and military drills have been carried in full by the state news "
        "agency, usually late in the evening and often on consecutive days.",
        "Analysts said the frequency of her statements reflected her growing role in the ruling party.",
    ),
    timedelta(hours=4),
    "voa",
)
HEADLINE_FRAGMENT = SampleArticle(
    "/herald/world/kim-yo-jong-reckless-act.html",
    "Pacific Herald",
    'Kim Yo Jong: "Reckless act"',
    "Pacific Herald",
    (
        "North Korea has again protested against drone flights near the inter-Korean border, calling them a "
        '"reckless act" and warning of consequences.',
        "Kim Yo Jong speaks during a meeting in Pyongyang. (AP Photo/Jon Chol Jin)",
        "The South's military said it would continue the exercises, which it described as defensive and routine.",
    ),
    timedelta(hours=3),
    "wire",
)


def test_each_statement_once_its_reprint_and_reports_never(tmp_path, site, store, smtp):
    mailbox, port = smtp
    config = alert_config(tmp_path, site, port)

    serve_articles(site, [PRIMARY])
    assert run_cycle(config, store).alerts_sent == 1  # the primary statement → one email
    (message,) = mailbox.messages
    assert message["Subject"] == (
        'Kim Yo Jong: "This morning I learned that the south Korean military authorities again flew drones over '
        'the border area, calling it a routine exercise."'
    )
    body = text_part(message)
    assert STATEMENT[1] in body and STATEMENT[2] in body and LEAD not in body  # her words, not the agency's framing
    assert f"{site.base_url}{PRIMARY.path}" in body  # its source
    (first,) = store.list_statements(speaker="Kim Yo Jong")
    assert (first.kind, first.text) == ("full_text", "\n".join(STATEMENT))
    # which strategy found it travels with the statement: the "made public the following" lead
    assert {quote.rule for quote in first.quotes if quote.kind == "full_text"} == {"full_text:following"}

    serve_articles(site, [PRIMARY, REPRINT])
    assert run_cycle(config, store, force=True).alerts_sent == 0  # its reprint under another feed and URL → none

    serve_articles(site, [PRIMARY, REPRINT, SECONDARY])
    assert run_cycle(config, store, force=True).alerts_sent == 0  # a report of it the next day → none, attached
    (linked,) = store.list_statements(speaker="Kim Yo Jong")
    assert linked.id == first.id
    direct = [quote.article_url.removeprefix(site.base_url) for quote in linked.quotes if quote.kind == "direct"]
    assert direct == [SECONDARY.path]
    assert {quote.article_url.removeprefix(site.base_url) for quote in linked.quotes} == {
        PRIMARY.path,
        REPRINT.path,
        SECONDARY.path,
    }

    serve_articles(site, [PRIMARY, REPRINT, SECONDARY, SECOND_STATEMENT])
    assert run_cycle(config, store, force=True).alerts_sent == 1  # a different statement the next day → a 2nd email
    assert "clumsy excuse" in text_part(mailbox.messages[1])

    serve_articles(site, [PRIMARY, REPRINT, SECONDARY, SECOND_STATEMENT, MENTION, HEADLINE_FRAGMENT])
    assert run_cycle(config, store, force=True).alerts_sent == 0  # a mention and a headline fragment → none
    assert len(mailbox.messages) == 2
    second, again = store.list_statements(speaker="Kim Yo Jong")
    assert again.id == first.id and second.id != first.id
    assert {quote.article_url.removeprefix(site.base_url) for quote in second.quotes} == {SECOND_STATEMENT.path}
    assert run_cycle(config, store, force=True).alerts_sent == 0


def test_a_primary_text_arriving_after_its_report_joins_it_and_sends_nothing(tmp_path, site, store, smtp):
    """The primary text, published before its report, arrives a cycle later: the statement becomes the one both
    make when they arrive together (the primary's, with its id), and the alert claimed for the report's statement
    is carried to it, so the analyst gets no second email."""
    mailbox, port = smtp
    config = alert_config(tmp_path, site, port)
    serve_articles(site, [SECONDARY])
    assert run_cycle(config, store).alerts_sent == 1
    (reported,) = store.list_statements(speaker="Kim Yo Jong")
    assert reported.kind == "direct"

    serve_articles(site, [SECONDARY, PRIMARY])
    assert run_cycle(config, store, force=True).alerts_sent == 0 and len(mailbox.messages) == 1
    (joined,) = store.list_statements(speaker="Kim Yo Jong")
    (tmp_path / "together").mkdir()
    with SQLiteStore(tmp_path / "together" / "wirewatch.db") as together:  # both articles in one cycle
        run_cycle(alert_config(tmp_path / "together", site, port), together)
        (both,) = together.list_statements(speaker="Kim Yo Jong")
    assert joined.id == both.id != reported.id  # the id the two articles give together, whatever order they came in
    carried = {alert.statement_id: alert.message_id for alert in store.list_alerts()}
    assert carried == {reported.id: carried[reported.id], joined.id: carried[reported.id]}  # one message, two claims
    assert (joined.kind, joined.primary_url) == ("full_text", f"{site.base_url}{PRIMARY.path}")
    assert joined.published is not None and joined.published < reported.published  # its first source's time
    assert joined.first_seen == reported.first_seen  # when wirewatch first saw it


def test_a_report_in_reported_speech_alone_is_linked_by_its_words(tmp_path, site, smtp):
    """A report carrying her statement only as reported speech (kind "indirect") joins it: no second email."""
    config = make_config(tmp_path)
    paraphrase = SECONDARY.paragraphs[0]
    kinds = [quote.kind for quote in analyze(paraphrase, config).quotes if quote.speaker == "Kim Yo Jong"]
    assert kinds == ["indirect", "indirect"]  # "said the military had flown drones …" and "warned that Seoul would …"
    mailbox, port = smtp
    config = alert_config(tmp_path, site, port)
    reported_only = SampleArticle(
        "/voa/east-asia/kim-sister-drones-brief.html",
        "VOA News",
        "North Korea warns over drones",
        "VOA News",
        (paraphrase, *SECONDARY.paragraphs[2:]),
        timedelta(hours=6),
        "voa",
    )
    with SQLiteStore(tmp_path / "indirect.db") as store:
        serve_articles(site, [PRIMARY])
        assert run_cycle(config, store).alerts_sent == 1
        serve_articles(site, [PRIMARY, reported_only])
        assert run_cycle(config, store, force=True).alerts_sent == 0 and len(mailbox.messages) == 1
        (statement,) = store.list_statements(speaker="Kim Yo Jong")
        assert {quote.kind for quote in statement.quotes} == {"full_text", "indirect"}


STANCES = SampleArticle(
    "/herald/world/kim-yo-jong-silent-on-talks.html",
    "Pacific Herald",
    "Seoul waits for word from Pyongyang on the talks",
    "Pacific Herald",
    (
        "Kim Yo Jong declined to comment on the talks with Seoul on Tuesday.",
        "Kim Yo Jong endorsed the new agricultural plan at a party meeting earlier in the week.",
        "The South's unification ministry said it would wait for a formal reply before planning another round.",
    ),
    timedelta(hours=2),
    "wire",
)


def test_a_stance_of_a_tracked_speaker_is_no_statement_and_sends_no_email(tmp_path, site, store, smtp):
    """ "Kim Yo Jong declined to comment", "Kim Yo Jong endorsed the plan": kept as stance attributions, searchable,
    never a statement, so no email (the issue: no alert without a statement)."""
    analysed = analyze("\n\n".join(STANCES.paragraphs), make_config(tmp_path)).quotes
    assert [(quote.kind, quote.cue) for quote in analysed if quote.speaker == "Kim Yo Jong"] == [
        ("stance", "declined"),
        ("stance", "endorsed"),
    ]
    mailbox, port = smtp
    config = alert_config(tmp_path, site, port)
    serve_articles(site, [STANCES])
    report = run_cycle(config, store)
    assert report.articles_indexed == 1
    assert report.statements_new == 1 and report.alerts_sent == 0  # the ministry's statement, not hers
    assert store.list_statements(speaker="Kim Yo Jong") == []
    assert run_cycle(config, store, force=True).alerts_sent == 0
    assert mailbox.messages == []
