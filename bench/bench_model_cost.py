"""What a trained spaCy pipeline would cost next to the rule-based default.

    python bench/bench_model_cost.py [--runs 3]

No trained English model can be installed here, but a model's running cost
does not depend on its weights: this builds spaCy's own English "efficiency"
recipe (tok2vec, tagger, parser, ner — the shape of en_core_web_sm), gives it
labels from one hand-made sentence so every component runs, and times it on the
PolNeAR dev texts beside wirewatch's whole analysis (entities, topics, quotes).
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

from bench.bench_quotes import POLNEAR, load_split
from pipeline.config import Config
from pipeline.enrich.analyze import analyze

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
    args = parser.parse_args(argv)
    if not (POLNEAR / "dev" / "text").is_dir():
        print(f"skipped: PolNeAR not found at {POLNEAR / 'dev'} (the shared data folder is absent)")
        return 0
    texts = [article.text for article in load_split("dev")]
    nlp = model_shaped_pipeline()
    config = Config()
    analyze("Warm-up: the pipeline is built once per config.", config)
    model_rates, rule_rates = [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        for _doc in nlp.pipe(texts):
            pass
        model_rates.append(len(texts) / (time.perf_counter() - started))
        started = time.perf_counter()
        for text in texts:
            analyze(text, config)
        rule_rates.append(len(texts) / (time.perf_counter() - started))
    model, rules = statistics.median(model_rates), statistics.median(rule_rates)
    print(f"PolNeAR dev, {len(texts)} articles, median of {args.runs} runs, one process")
    print(f"wirewatch analysis (rules: entities+topics+quotes): {rules:.1f} articles/s")
    print(f"en_core_web_sm-shaped pipeline alone ({', '.join(nlp.pipe_names)}): {model:.1f} articles/s")
    print(f"a trained model would cost about {rules / model:.1f}x the whole rule-based analysis, before its own rules")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
