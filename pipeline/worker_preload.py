"""What the workers' forkserver does before it forks any worker; imported there, and only there.

Every worker is forked from the forkserver, so what this module loads and builds once, each worker of every
pool of the process has from its first job, without building it again: the parsers, the extractor and the
analyser (imports), and the tables trafilatura, justext and htmldate otherwise build in each worker on its
first pages (`extract.warm_up`), and the part of the rule pipeline no config changes
(`entities.prepare_rule_base`: 0.5 s a worker). Importing it anywhere else would only spend that time in that
process.

The cyclic garbage collector is paused while all that loads, and what it leaves is frozen (`gc.freeze`): the
imports create some 250,000 objects that live as long as the process, and every full collection on the way
walked all of those made so far again (about 2 s of the forkserver's 3.8 s, in every cycle's start-up, before
any worker can take a page). Frozen, they are not walked again by a worker's own collections either. One
collection at the end takes back the import-time cycles that really are garbage, so nothing is frozen that
could have been freed.
"""

from __future__ import annotations

import gc
import logging
import sys
import types
from typing import Any

LOGGER = logging.getLogger(__name__)

# spaCy's command line, which its package imports for the one name `spacy.info`.
_SPACY_CLI = "spacy.cli"
_SPACY_CLI_INFO = "spacy.cli.info"


def _spacy_info(*args: Any, **kwargs: Any) -> Any:
    """`spacy.info` as spaCy has it, its command line imported on the first call."""
    from spacy.cli.info import info

    return info(*args, **kwargs)


def _import_spacy_without_its_cli() -> None:
    """spaCy imported without its command line: `spacy/__init__.py` imports `spacy.cli` (typer, rich, jinja2,
    weasel, httpx: about 390 modules, 0.4 s of CPU of the forkserver's preload, while the workers wait for it) to
    name `spacy.info`, and the workers never run a spaCy command.

    While spaCy is imported, `spacy.cli` and `spacy.cli.info` are stand-ins in `sys.modules`, the second holding
    `_spacy_info`; once it is in, they leave, so a later `import spacy.cli` imports the real one, and
    `spacy.info()` answers as spaCy's own does. This leans on how spaCy's package imports its command line
    (spaCy 3.7-3.8): a spaCy that takes more from it fails to import past the stand-ins, and is then imported
    whole, as without this, with one warning."""
    if "spacy" in sys.modules:
        return
    package = types.ModuleType(_SPACY_CLI)
    package.__path__ = []
    info = types.ModuleType(_SPACY_CLI_INFO)
    info.info = _spacy_info  # type: ignore[attr-defined]  # the one name spaCy's package takes from it
    sys.modules[_SPACY_CLI], sys.modules[_SPACY_CLI_INFO] = package, info
    try:
        import spacy  # noqa: F401  # the import this function exists for
    except ImportError:
        LOGGER.warning("spaCy takes more than `info` from its command line; the workers import it whole", exc_info=True)
    finally:
        for name, stand_in in ((_SPACY_CLI, package), (_SPACY_CLI_INFO, info)):
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
        spacy_package = sys.modules.get("spacy")
        if getattr(spacy_package, "cli", None) is package:
            delattr(spacy_package, "cli")


def _freeze_what_is_loaded() -> None:
    """Collect once, freeze what is left (the workers inherit the frozen set), and let the collector run again."""
    gc.collect()
    gc.freeze()
    gc.enable()


gc.disable()
try:
    _import_spacy_without_its_cli()
    from pipeline import extract, page_work
    from pipeline.enrich import analyze, entities, full_text, quotes

    # What the workers run, loaded here so that the forkserver has it: named for the import's sake. `analyze` and
    # `fetch.extract_body` import the analyser and the extractor only when they first run (so that the main
    # process does not load them), hence the modules behind them here by name. Not the feed parser: a poll's
    # feeds go to a pool of their own (`workers.FEEDS`); nor the web client, which only the main process uses.
    PRELOADED = (analyze, entities, extract, full_text, page_work, quotes)

    try:
        extract.warm_up()
    except Exception:  # a warm-up that fails leaves the workers to build the tables themselves
        LOGGER.warning("warming up the extractor failed; each worker will build its tables itself", exc_info=True)

    try:
        entities.prepare_rule_base()
    except Exception:  # a base that fails to build leaves each worker to build its pipeline whole
        LOGGER.warning("building the rule pipeline's base failed; each worker will build it itself", exc_info=True)
finally:  # an import that fails leaves the forkserver with its collector running all the same
    _freeze_what_is_loaded()
