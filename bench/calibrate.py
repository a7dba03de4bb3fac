"""Calibrate the matcher's thresholds on the labelled development set (not the held-out one).

Run: .venv/bin/python bench/calibrate.py [tests/data/dev.yaml]
Prints the best settings by score (answer 1, clarify 0.5) among those that keep off-topic
rejection at or above --min-rejection, then the held-out figures for that choice, so a
setting that only fits the development set shows up in the same run.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
from pathlib import Path

from intents.evaluate import evaluate, load_labelled
from intents.load import load_knowledge

GRID = {
    "answer": [45.0, 50.0, 55.0],
    "clarify": [30.0, 35.0, 40.0],
    "margin": [8.0, 12.0, 16.0],
    "evidence_scale": [1.2, 1.5, 2.2],
    "coverage_power": [0.5, 0.75],
    "unknown_weight": [0.6, 1.0],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dev", nargs="?", type=Path, default=Path("tests/data/dev.yaml"))
    parser.add_argument("--heldout", type=Path, default=Path("tests/data/heldout.yaml"))
    parser.add_argument("--min-rejection", type=float, default=0.97)
    args = parser.parse_args()
    kb = load_knowledge()
    dev = load_labelled([args.dev])
    base = kb.index.thresholds
    results = []
    keys = list(GRID)
    for values in itertools.product(*(GRID[k] for k in keys)):
        th = dataclasses.replace(base, **dict(zip(keys, values, strict=True)))
        if th.clarify >= th.answer:
            continue
        report = evaluate(dataclasses.replace(kb.index, thresholds=th), dev)
        if report.rejection >= args.min_rejection:
            results.append((report.score, report.strict_top1, report.rejection, th))
    results.sort(key=lambda r: (-r[0], -r[1]))
    print(f"current: {base}")
    for score, top1, rejection, th in results[:8]:
        chosen = {k: getattr(th, k) for k in keys}
        print(f"score {score:.1%} top1 {top1:.1%} rejection {rejection:.1%}  {chosen}")
    if results and args.heldout.exists():
        best = results[0][3]
        held = evaluate(
            dataclasses.replace(kb.index, thresholds=best), load_labelled([args.heldout])
        )
        print(
            f"held-out with the best: score {held.score:.1%} top1 {held.strict_top1:.1%}"
            f" rejection {held.rejection:.1%}"
        )


if __name__ == "__main__":
    main()
