"""What a trained spaCy pipeline would cost next to the rule-based default.

    python bench/bench_model_cost.py [--runs 3]

No trained English model can be installed here, but a model's running cost
does not depend on its weights: this builds spaCy's own English "efficiency"
recipe (tok2vec, tagger, parser, ner — the shape of en_core_web_sm), gives it
labels from one hand-made sentence so every component runs, and times it on the
PolNeAR dev texts beside wirewatch's whole analysis (entities, topics, quotes),
timed as bench_analysis.py times it (each round a fresh pipeline, warmed on
PolNeAR train articles). Both by CPU time.
Its predictions are meaningless; only the time is read.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spacy.cli.init_config import init_config
from spacy.language import Language
from spacy.training import Example
from spacy.util import load_model_from_config

from bench.bench_analysis import report, spread, timed_round, timing_texts
from pipeline.config import Config

WORDS = ["Kim", "Yo", "Jong", "said", "it", "would", "not", "be", "useful", "."]
ANNOTATION = {
    "words": WORDS,
    "tags": ["NNP", "NNP", "NNP", "VBD", "PRP", "MD", "RB", "VB", "JJ", "."],
    "heads": [2, 2, 3, 3, 5, 3, 7, 5, 7, 3],
    "deps": ["compound", "compound", "nsubj", "ROOT", "nsubj", "ccomp", "neg", "xcomp", "acomp", "punct"],
    "entities": ["B-PERSON", "I-PERSON", "L-PERSON", "O", "O", "O", "O", "O", "O", "O"],
}


def model_shaped_pipeline() -> Language:
    config = init_config(lang="en", pipeline=["tagger", "parser", "ner"], optimize="efficiency")
    nlp = load_model_from_config(config, auto_fill=True)
    example = Example.from_dict(nlp.make_doc(" ".join(WORDS)), ANNOTATION)
    nlp.initialize(lambda: [example])
    return nlp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warm", type=int, default=100, help="PolNeAR train articles analysed before each round")
    args = parser.parse_args(argv)
    loaded = timing_texts(args.warm)
    if loaded is None:
        return 0
    texts, warm = loaded
    nlp = model_shaped_pipeline()
    config = Config()
    model_rates, rounds = [], []
    for _ in range(args.runs):
        started = time.process_time()
        for _doc in nlp.pipe(texts):
            pass
        model_rates.append(len(texts) / (time.process_time() - started))
        rounds.append(timed_round(texts, warm, config))  # the throughput figure as bench_analysis.py takes it
    model = statistics.median(model_rates)
    rules = statistics.median([r.articles / r.cpu for r in rounds])
    print("\n".join(report(rounds)))
    shape = ", ".join(nlp.pipe_names)
    print(f"en_core_web_sm-shaped pipeline alone ({shape}), by CPU time: {spread(model_rates)} articles/s")
    print(f"a trained model would cost about {rules / model:.1f}x the whole rule-based analysis, before its own rules")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
