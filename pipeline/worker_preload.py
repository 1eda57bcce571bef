"""What the workers' forkserver does before it forks any worker; imported there, and only there.

Every worker is forked from the forkserver, so what this module loads and builds once, each worker of every
pool of the process has from its first job, without building it again: the parsers, the extractor and the
analyser (imports), and the tables trafilatura, justext and htmldate otherwise build in each worker on its
first pages (`extract.warm_up`), and the part of the rule pipeline no config changes
(`entities.prepare_rule_base`: 0.5 s a worker). Importing it anywhere else would only spend that time in that
process.
"""

from __future__ import annotations

import logging

from pipeline import extract, page_work, poll
from pipeline.enrich import analyze, entities, full_text, quotes

LOGGER = logging.getLogger(__name__)

# What the workers run, loaded here so that the forkserver has it: named for the import's sake. `analyze` and
# `fetch.extract_body` import the analyser and the extractor only when they first run (so that the main process
# does not load them), hence the modules behind them here by name.
PRELOADED = (analyze, entities, extract, full_text, page_work, poll, quotes)

try:
    extract.warm_up()
except Exception:  # a warm-up that fails leaves the workers to build the tables themselves
    LOGGER.warning("warming up the extractor failed; each worker will build its tables itself", exc_info=True)

try:
    entities.prepare_rule_base()
except Exception:  # a base that fails to build leaves each worker to build its pipeline whole
    LOGGER.warning("building the rule pipeline's base failed; each worker will build it itself", exc_info=True)
