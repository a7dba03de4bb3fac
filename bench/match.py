"""Matcher latency and accuracy against a naive baseline, in one run (a benchmark, not a test).

Run: .venv/bin/python bench/match.py [--rounds 7]

Method: the labelled development set (tests/data/dev.yaml) is matched query by query, timing
each call with perf_counter_ns; this repeats for --rounds rounds after one warm-up round and
each query keeps its median over the rounds, so a noisy neighbour on a small machine moves
single samples, not the figures. The baseline is what one would write first: rapidfuzz
process.extractOne over every topic's title and example phrasings (WRatio), taking the owner
of the best string. Index build time is the median of --rounds builds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rapidfuzz import fuzz, process

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, summary

from intents.evaluate import evaluate, load_labelled
from intents.load import load_knowledge
from intents.matcher import build_index, match
from intents.model import Catalog

BASELINE_CUTOFF = 80.0  # WRatio score under which the baseline says "don't know"


def baseline(catalog: Catalog) -> Callable[[str], str | None]:
    choices: list[str] = []
    owners: list[str] = []
    for topic in catalog.topics:
        for lang in ("en", "nb"):
            for text in (topic.title.get(lang), *topic.match.phrases[lang]):
                choices.append(text)
                owners.append(topic.id)

    def classify(text: str) -> str | None:
        best = process.extractOne(text, choices, scorer=fuzz.WRatio, score_cutoff=BASELINE_CUTOFF)
        return owners[best[2]] if best else None

    return classify


def per_query_ms(fn: Callable[[str], object], texts: list[str], rounds: int) -> list[float]:
    samples: list[list[float]] = [[] for _ in texts]
    for round_no in range(rounds + 1):
        for i, text in enumerate(texts):
            start = time.perf_counter_ns()
            fn(text)
            if round_no:  # round 0 warms caches up
                samples[i].append((time.perf_counter_ns() - start) / 1e6)
    return [statistics.median(s) for s in samples]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--data", type=Path, default=Path("tests/data/dev.yaml"))
    args = parser.parse_args()
    kb = load_knowledge()
    pairs = load_labelled([args.data])
    texts = [t for t, _ in pairs]

    builds = []
    for _ in range(args.rounds):
        start = time.perf_counter_ns()
        build_index(kb.catalog)
        builds.append((time.perf_counter_ns() - start) / 1e6)

    ours = per_query_ms(lambda t: match(kb.index, t), texts, args.rounds)
    classify = baseline(kb.catalog)
    naive = per_query_ms(classify, texts, args.rounds)

    report = evaluate(kb.index, pairs)
    in_scope = [(t, k) for t, k in pairs if k != "none"]
    off = [t for t, k in pairs if k == "none"]
    naive_top1 = sum(classify(t) == k for t, k in in_scope) / len(in_scope)
    naive_reject = sum(classify(t) is None for t in off) / len(off)

    print(f"machine: {machine()}")
    print(f"data: {args.data} ({len(texts)} queries, {len(in_scope)} in scope)")
    print(f"method: per-query median of {args.rounds} rounds after 1 warm-up, perf_counter_ns")
    print(
        f"content: {len(kb.catalog.topics)} topics, {len(kb.catalog.codes)} codes, "
        f"{len(kb.index.terms)} terms"
    )
    print(f"index build ms:         median {statistics.median(builds):8.2f}")
    print(f"matcher ms/query:       {summary(ours)}")
    print(f"baseline ms/query:      {summary(naive)}   (extractOne over titles+phrasings)")
    print(
        f"matcher accuracy:  top-1 {report.strict_top1:.1%}  score {report.score:.1%}  "
        f"off-topic rejection {report.rejection:.1%}"
    )
    print(
        f"baseline accuracy: top-1 {naive_top1:.1%}  off-topic rejection {naive_reject:.1%}"
        f"  (cutoff {BASELINE_CUTOFF:.0f})"
    )


if __name__ == "__main__":
    main()
