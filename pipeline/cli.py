"""The `wirewatch` command. Every figure a user sees can also be had as JSON.

Each command imports what it uses when it runs, so `search`, `statements`, `feeds` and
`alerts` start without loading spaCy or trafilatura (`tests/test_imports.py`).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.config import CONFIG_ENV_VAR, DEFAULT_CONFIG_PATH, Config, ConfigError, load_config
from pipeline.failures import failure_kind
from pipeline.store import backend_errors

EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


def _since(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO date such as 2020-07-10") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# Elasticsearch answers at most this many hits to one search (`index.max_result_window`).
MAX_LIMIT = 10_000


def _limit(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number from 1 to {MAX_LIMIT:,}")
    return int(value)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


class TerminalProgress:
    """One self-overwriting line on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.active = sys.stderr.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.active:
            print(f"\r{stage}: {done}/{total}   ", end="", file=sys.stderr, flush=True)

    def finish(self) -> None:
        if self.active:
            print("\r" + " " * 40 + "\r", end="", file=sys.stderr, flush=True)


def failure_summary(errors: list[dict[str, Any]]) -> list[str]:
    """One line per (stage, kind of failure), most frequent first: twenty thousand 404s are one line."""
    counts = Counter((error["stage"], failure_kind(error["reason"])) for error in errors)
    return [f"  {stage}: {kind} × {number:,}" for (stage, kind), number in counts.most_common()]


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    from pipeline.cycle import run_cycle
    from pipeline.store import open_store

    progress = TerminalProgress() if not args.json else None
    try:
        with open_store(config.store) as store:
            report = run_cycle(config, store, force=args.force, progress=progress)
    finally:
        if progress:
            progress.finish()
    summary = report.as_json()
    if args.json:
        _print_json(summary)
        return 0
    print(
        f"polled {summary['feeds_polled']} feeds ({summary['feeds_failed']} failed), "
        f"{summary['entries_new']} new entries, {summary['articles_indexed']} articles indexed, "
        f"{summary['duplicates']} duplicates folded, {summary['statements_new']} new statements, "
        f"{summary['alerts_sent']} alerts sent ({summary['alerts_failed']} failed)"
    )
    if args.verbose:
        for error in summary["errors"]:
            print(f"  {error['stage']}: {error['url']}: {error['reason']}")
    elif summary["errors"]:
        print(f"{len(summary['errors']):,} failures, by reason (each one: --verbose or --json):")
        print("\n".join(failure_summary(summary["errors"])))
    return 0


def cmd_search(args: argparse.Namespace, config: Config) -> int:
    from pipeline.store import SearchQuery, open_store
    from pipeline.views import search_json, snippet_line

    query = SearchQuery(
        text=args.query,
        source=args.source,
        since=args.since,
        speaker=args.speaker,
        entity=args.entity,
        topic=args.topic,
        kind=args.kind,
        limit=args.limit,
        collapse=not args.all,
    )
    with open_store(config.store) as store:
        data = search_json(store, query)
    if args.json:
        _print_json(data)
        return 0
    print(f"{data['total']} results")
    for hit in data["hits"]:
        copies = f"  (+{hit['duplicates']} copies)" if hit["duplicates"] else ""
        print(f"- {hit['title']} — {hit['source']}, {hit['published'] or 'undated'}{copies}")
        print(f"  {hit['url']}")
        print(f"  {snippet_line(hit['snippet'])}")
    return 0


def cmd_feeds(args: argparse.Namespace, config: Config) -> int:
    from pipeline.store import open_store
    from pipeline.views import feeds_json

    with open_store(config.store) as store:
        data = feeds_json(store, config, show_all=args.all)
    if args.json:
        _print_json(data)
        return 0
    for feed in data:
        health = "ok" if not feed["failures"] else f"FAILING x{feed['failures']}: {feed['last_error']}"
        removed = "" if feed["in_config"] else " (no longer in the config)"
        print(f"{feed['name']}{removed}: {health}")
        print(
            f"  last success {feed['last_success'] or 'never'}, next poll {feed['next_poll']}, "
            f"{feed['entries_seen']} entries seen"
        )
        if feed["page_failures"]:
            kinds = ", ".join(f"{kind} × {number:,}" for kind, number in feed["page_failures"].items())
            print(f"  pages failed: {kinds}")
            for failure in feed["recent_page_failures"]:
                print(f"    {failure['url']}: {failure['reason']}")
    return 0


def cmd_statements(args: argparse.Namespace, config: Config) -> int:
    from pipeline.statement_view import carried_line, statement_json, tracked_statements
    from pipeline.store import open_store

    with open_store(config.store) as store:
        found = tracked_statements(store, config, args.speaker, args.since, args.limit, args.all)
        data = [statement_json(statement) for statement in found]
    if args.json:
        _print_json(data)
        return 0
    for statement in data:
        text = statement["text"] if len(statement["text"]) <= 300 else statement["text"][:300].rsplit(" ", 1)[0] + "…"
        print(f"{statement['speaker']} ({statement['kind']}): “{text}”")
        print(f"  published {statement['published'] or 'undated'}, first seen {statement['first_seen']}")
        print(f"  {carried_line(statement)}")
        for report in statement["reports"]:
            print(f"  - {report['source']}: {report['article_url']}")
    return 0


def read_text_file(path: Path) -> str:
    """A plain-text file's contents, or a UsageError saying in words why it is not one."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a text file") from None
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text (a binary file?)") from None
    if "\0" in text:
        raise UsageError(f"{path}: not plain text (it contains NUL bytes: a binary file?)")
    return text


def cmd_analyze(args: argparse.Namespace, config: Config | None) -> int:
    from pipeline.enrich.analyze import analysis_to_json, analyze

    if args.config or os.environ.get(CONFIG_ENV_VAR) or Path(DEFAULT_CONFIG_PATH).exists():
        try:
            config = load_config(args.config)
        except ConfigError as exc:
            print(f"wirewatch: config error: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    text = sys.stdin.read() if args.file in (None, "-") else read_text_file(Path(args.file))
    data = analysis_to_json(analyze(text, config or Config(), title=args.title or ""))
    if args.json:
        _print_json(data)
        return 0
    for quote in data["quotes"]:
        text = quote["text"] if len(quote["text"]) <= 200 else quote["text"][:200] + "…"
        print(f"{quote['speaker'] or '(unknown)'} [{quote['kind']}, {quote['cue'] or '-'}]: “{text}”")
    print("entities:", ", ".join(sorted({entity["canonical"] for entity in data["entities"]})))
    print("topics:", ", ".join(data["topics"]))
    return 0


def cmd_alerts(args: argparse.Namespace, config: Config) -> int:
    from pipeline.store import open_store
    from pipeline.views import alerts_json

    if args.retry is not None or args.dead:
        return retry_dead_alerts(args, config)
    with open_store(config.store) as store:
        data = alerts_json(store, args.limit)
    if args.json:
        _print_json(data)
        return 0
    for record in data:
        detail = f", {record['last_error']}" if record["last_error"] else ""
        if record["state"] == "failed":
            detail += f", next try {record['next_attempt']}, retried until {record['retry_until']}"
        print(
            f"{record['state']:7} {record['rule']} · {record['statement_id']} · claimed {record['claimed_at']}"
            f" · {record['attempts']} attempts{detail}"
        )
    return 0


def retry_dead_alerts(args: argparse.Namespace, config: Config) -> int:
    """`alerts --retry ID` or `alerts --retry --dead`: send again after a fix, still once."""
    from pipeline.alert import retry_alerts
    from pipeline.store import open_store

    statement_id = args.retry or None
    if statement_id is None and not args.dead:
        raise UsageError("alerts --retry needs a statement id, or --dead for every dead alert")
    with open_store(config.store) as store:
        revived, report = retry_alerts(config, store, statement_id)
    if args.json:
        _print_json(
            {
                "revived": revived,
                "sent": report.sent,
                "failed": report.failed,
                "errors": [error.reason for error in report.errors],
            }
        )
    else:
        print(f"{revived} alerts to send again: {report.sent} sent, {report.failed} failed")
        for error in report.errors:
            print(f"  {error.url}: {error.reason}")
    return 0


def cmd_setup(args: argparse.Namespace, config: Config) -> int:
    from pipeline.setup import PipelineUser, setup_backend

    user = PipelineUser(args.pipeline_user, args.pipeline_password_env) if args.pipeline_user else None
    report = setup_backend(config, only=args.only, wait=args.wait, pipeline_user=user)
    if args.json:
        _print_json(report)
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
    return 0


def cmd_demo(args: argparse.Namespace, config: Config | None) -> int:
    from pipeline.demo.run import run_demo

    return run_demo(args.dir, as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wirewatch", description="Watch news feeds for an analyst.")
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--config", help="config file (else $WIREWATCH_CONFIG, else ./wirewatch.yaml)")
        sub.add_argument("--json", action="store_true", help="print JSON")
        return sub

    run = command("run", "poll, fetch, extract and index once")
    run.add_argument("--force", action="store_true", help="poll every feed now, ignoring intervals and backoff")
    run.add_argument("--verbose", "-v", action="store_true", help="list every failure, not a count by reason")
    run.set_defaults(handler=cmd_run)

    search = command("search", "full-text search of the indexed articles")
    search.add_argument("query")
    search.add_argument("--source")
    search.add_argument("--since", type=_since)
    search.add_argument("--limit", type=_limit, default=10)
    search.add_argument("--speaker", help="only articles quoting this speaker")
    search.add_argument("--entity", help="only articles naming this person, place or organisation")
    search.add_argument("--topic", help="only articles tagged with this topic")
    search.add_argument(
        "--kind",
        choices=("direct", "indirect", "full_text", "stance"),
        help="only articles holding an attribution of this kind",
    )
    search.add_argument("--all", action="store_true", help="show every copy of a story, not one per cluster")
    search.set_defaults(handler=cmd_search)

    statements = command("statements", "what tracked speakers said, one entry per statement")
    statements.add_argument("--speaker")
    statements.add_argument("--all", action="store_true", help="every speaker's statements, not only tracked ones")
    statements.add_argument("--since", type=_since)
    statements.add_argument("--limit", type=_limit, default=50)
    statements.set_defaults(handler=cmd_statements)

    alerts = command("alerts", "the alert ledger: what was sent, what failed, what waits")
    alerts.add_argument("--limit", type=_limit, default=100)
    alerts.add_argument(
        "--retry", nargs="?", const="", metavar="STATEMENT_ID", help="send a dead or waiting alert again now"
    )
    alerts.add_argument("--dead", action="store_true", help="with --retry: every dead alert")
    alerts.set_defaults(handler=cmd_alerts)

    setup = command("setup", "create or migrate the store (templates, indices, aliases) and Kibana objects")
    setup.add_argument("--only", choices=["elasticsearch", "kibana"], help="one part only (default: both)")
    setup.add_argument("--wait", type=float, default=0.0, help="seconds to keep retrying a service still starting")
    setup.add_argument("--pipeline-user", help="create this Elasticsearch user with a role limited to the indices")
    setup.add_argument(
        "--pipeline-password-env", default="WIREWATCH_ES_PASSWORD", help="environment variable with its password"
    )
    setup.set_defaults(handler=cmd_setup)

    analyze = command("analyze", "entities, topics and attributed quotes of a plain text, without a store")
    analyze.add_argument("file", nargs="?", help="a text file, or - (the default) for standard input")
    analyze.add_argument("--title", help="the article's headline (it can name a statement's author)")
    analyze.set_defaults(handler=cmd_analyze, needs_config=False)

    feeds = command("feeds", "each feed's health and its pages' failures")
    feeds.add_argument("--all", action="store_true", help="also feeds no longer in the config")
    feeds.set_defaults(handler=cmd_feeds)

    demo = commands.add_parser("demo", help="run the bundled sample end to end on loopback")
    demo.add_argument("--dir", default="wirewatch-demo", help="where the demo's store and outbox go")
    demo.add_argument("--json", action="store_true")
    demo.set_defaults(handler=cmd_demo, needs_config=False)
    return parser


class UsageError(Exception):
    """A mistake in what the user asked (an argument, a path): one line, exit 2."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Python can unwind from it, so `finally` blocks close the store and the workers."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Every error a user can cause ends as one line on stderr: exit 2 for config, paths and arguments,
    1 when the run could not proceed (the store failed), 130/143 when interrupted; a closed pipe is silent."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        code = _dispatch(build_parser().parse_args(argv))
        sys.stdout.flush()  # inside the try: a reader that has gone is found here, not at exit
        return code
    except (ConfigError, UsageError) as exc:
        return _fail(f"config error: {exc}" if isinstance(exc, ConfigError) else str(exc), EXIT_CONFIG)
    except backend_errors() as exc:
        return _fail(f"store error: {_one_line(exc)}", EXIT_FAILED)
    except Terminated:
        return _fail("stopped by SIGTERM; the store is consistent, the next run goes on", EXIT_TERMINATED)
    except KeyboardInterrupt:
        return _fail("interrupted; the store is consistent, the next run goes on", EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader (`head`) has gone: say nothing, and keep Python from complaining as it flushes stdout.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _dispatch(args: argparse.Namespace) -> int:
    handler: Callable[[argparse.Namespace, Any], int] = args.handler
    if not getattr(args, "needs_config", True):
        return handler(args, None)
    return handler(args, load_config(args.config))


def _fail(message: str, code: int) -> int:
    print(f"wirewatch: {message}", file=sys.stderr)
    return code


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:500]


if __name__ == "__main__":
    sys.exit(main())
