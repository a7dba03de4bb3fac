"""The SDK stays at the edge: ``intents`` never imports botbuilder, aiohttp or ``bot``."""

from __future__ import annotations

import ast
import fnmatch
import json
import subprocess
import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# The Bot Framework SDK, its HTTP stack and its serializer, and our own edge package.
EDGE_PREFIXES = ("botbuilder", "botframework", "aiohttp", "msrest", "jwt", "bot")

IMPORT_ALL = """
import importlib, json, pkgutil, runpy, sys
import intents
names = sorted(m.name for m in pkgutil.walk_packages(intents.__path__, "intents."))
for name in names:
    if name != "intents.__main__":  # running it is what the CLI check below does
        importlib.import_module(name)
sys.argv = ["intents", "check"]
try:
    runpy.run_module("intents", run_name="__main__")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"walked": names, "exit": code, "modules": sorted(sys.modules)}))
"""


def is_edge(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in EDGE_PREFIXES)


def test_importing_all_of_intents_loads_no_sdk() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    on_disk = {f"intents.{p.stem}" for p in (REPO_ROOT / "intents").glob("*.py")}
    assert set(result["walked"]) == on_disk - {"intents.__init__"}
    assert result["exit"] == 0  # `python -m intents check` ran to the end inside this process
    assert {"intents.cards", "intents.matcher", "yaml", "rapidfuzz"} <= set(result["modules"])
    assert [m for m in result["modules"] if is_edge(m)] == []


def imports_in(source: str, package: list[str]) -> set[str]:
    """Absolute names of every module ``source`` imports, statically or by import_module and
    __import__; ``package`` is the dotted package the file lives in, for relative imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            if node.module:
                found.add(".".join([*base, node.module]))
            else:
                found.update(".".join([*base, alias.name]) for alias in node.names)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in ("import_module", "__import__") and isinstance(first, ast.Constant):
                found.add(str(first.value))
    return found


def imports_of(path: Path, package: str) -> set[str]:
    parts = [package, *path.relative_to(REPO_ROOT / package).parent.parts]
    return imports_in(path.read_text(encoding="utf-8"), parts)


def package_imports() -> dict[str, set[str]]:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    # Top-level packages the distribution ships ("bot*" -> bot, bot.store, ...).
    packages = sorted(
        p.name
        for p in REPO_ROOT.iterdir()
        if (p / "__init__.py").exists() and any(fnmatch.fnmatch(p.name, pat) for pat in patterns)
    )
    return {
        package: set().union(
            *(imports_of(path, package) for path in (REPO_ROOT / package).rglob("*.py"))
        )
        for package in packages
    }


def test_intents_source_imports_nothing_from_the_edge() -> None:
    imports = package_imports()
    assert sorted(m for m in imports["intents"] if is_edge(m)) == []


def test_bot_is_the_only_package_that_imports_botbuilder() -> None:
    imports = package_imports()
    assert set(imports) == {"bot", "intents"}
    importers = {
        package
        for package, names in imports.items()
        if any(n.startswith("botbuilder") for n in names)
    }
    # Also proves the scanner sees imports at all: bot/ really does import botbuilder.
    assert importers == {"bot"}


def test_scanner_resolves_relative_and_dynamic_imports() -> None:
    source = (
        "from . import cards\nfrom .model import Text\nfrom .. import bot\nimport importlib\n"
        "importlib.import_module('botbuilder.core')\n__import__('aiohttp')\n"
    )
    assert imports_in(source, ["intents"]) == {
        "intents.cards",
        "intents.model",
        "bot",
        "importlib",
        "botbuilder.core",
        "aiohttp",
    }
