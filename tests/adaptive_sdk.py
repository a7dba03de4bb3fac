"""Validate Adaptive Cards with the official JS SDK (tools/cardcheck/validate.js), offline."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CARDCHECK_DIR = REPO_ROOT / "tools" / "cardcheck"
VALIDATE_JS = CARDCHECK_DIR / "validate.js"


def validate_cards(cards: list[dict[str, object]]) -> list[list[str]]:
    """Return one list of problems per card ("error: ..." / "warning: ..."); [] means valid."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH; run `make setup`")
    if not (CARDCHECK_DIR / "node_modules" / "adaptivecards").is_dir():
        raise RuntimeError(f"{CARDCHECK_DIR / 'node_modules'} is missing; run `make setup`")
    proc = subprocess.run(
        [node, str(VALIDATE_JS)],
        input=json.dumps(cards),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"validate.js failed (exit {proc.returncode}): {proc.stderr.strip()}")
    results = json.loads(proc.stdout)
    if not isinstance(results, list) or len(results) != len(cards):
        raise RuntimeError(f"validate.js returned unexpected output: {proc.stdout[:200]!r}")
    return [[str(problem) for problem in problems] for problems in results]
