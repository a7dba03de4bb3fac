"""Build the Teams app package: build/mim-sync-bot.zip, ready to upload to Teams.

    MicrosoftAppId=<guid> BOT_DOMAIN=<host> python deploy/teams/build_package.py [--out DIR]

The zip holds, at its root, manifest.json (from manifest.template.json), nb-NO.json (the
Norwegian localization, from nb-NO.template.json), color.png and outline.png (drawn by icons.py).
``${NAME}`` placeholders in the templates are filled from the settings; the command menu comes
from commands.yaml and the topic titles in content/. The Teams app id is the bot's app id, so
each bot registration (test, production) is its own Teams app and keeps its id across versions.

Settings (environment): MicrosoftAppId (required, GUID), BOT_DOMAIN (required, host name only),
APP_NAME_SHORT (optional, default "MIM Sync Help"), DEVELOPER_NAME (optional, default
"Identity team"). Problems are listed all at once and the script exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from icons import color_icon, hex_to_rgb, outline_icon

from intents.content import ContentError
from intents.knowledge import Knowledge
from intents.load import load_knowledge
from intents.model import LANGS, Lang
from intents.replies import Answer, Menu, respond_to_text

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PACKAGE_NAME = "mim-sync-bot.zip"
MANIFEST_TEMPLATE = HERE / "manifest.template.json"
LOCALIZATION_TEMPLATE = HERE / "nb-NO.template.json"
LOCALIZATION_FILE = "nb-NO.json"
COMMANDS_FILE = HERE / "commands.yaml"
HELP = "help"
LOCALES: Mapping[Lang, str] = {"en": "en-US", "nb": "nb-NO"}

ACCENT_COLOR = "#0F6CBD"  # the color icon's background too
DEFAULT_NAME_SHORT = "MIM Sync Help"
DEFAULT_NAME_SHORT_NB = "MIM Sync-hjelp"  # used when APP_NAME_SHORT is not set
DEFAULT_DEVELOPER = "Identity team"

# Limits from the manifest schema (name.short, developer.name) and what Teams shows of a bot
# command (older schemas capped command titles at 32 and descriptions at 128 characters).
NAME_SHORT_MAX = 30
DEVELOPER_MAX = 32
COMMAND_TITLE_MAX = 32
COMMAND_DESCRIPTION_MAX = 128

GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOST = re.compile(rf"^(?=.{{1,253}}$)(?:{LABEL}\.)+{LABEL}$")
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class PackageError(Exception):
    """Every problem that stops the package from being built."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Settings:
    app_id: str
    domain: str
    name_short: str
    name_short_nb: str
    developer: str


@dataclass(frozen=True)
class Command:
    """One entry of the bot's command menu: ``help`` or a topic id, with its texts per language."""

    id: str
    title: Mapping[Lang, str]
    description: Mapping[Lang, str]


def _app_id_problems(value: str) -> list[str]:
    if not value:
        return ["MicrosoftAppId is not set: set it to the Azure Bot's app registration id (a GUID)"]
    if not GUID.match(value):
        return [f"MicrosoftAppId {value!r} is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"]
    return []


def _domain_problems(value: str) -> list[str]:
    if not value:
        return ["BOT_DOMAIN is not set: set it to the bot's host name (mimbot.azurewebsites.net)"]
    if not HOST.match(value):
        return [
            f"BOT_DOMAIN {value!r} is not a host name: give the host only, without https://, "
            "port or path, e.g. mimbot.azurewebsites.net"
        ]
    return []


def _text_problems(name: str, value: str, limit: int) -> list[str]:
    if not value:
        return [f"{name} is empty: leave it unset for the default or give a name"]
    if len(value) > limit:
        return [f"{name} {value!r} is {len(value)} characters; Teams allows at most {limit}"]
    if "${" in value:
        return [f"{name} {value!r} must not contain '${{'"]
    return []


def read_settings(env: Mapping[str, str]) -> Settings:
    """The settings from ``env``; raises PackageError listing every problem."""
    app_id = env.get("MicrosoftAppId", "").strip()
    domain = env.get("BOT_DOMAIN", "").strip().lower()
    name_short = env.get("APP_NAME_SHORT", DEFAULT_NAME_SHORT).strip()
    developer = env.get("DEVELOPER_NAME", DEFAULT_DEVELOPER).strip()
    problems = [
        *_app_id_problems(app_id),
        *_domain_problems(domain),
        *_text_problems("APP_NAME_SHORT", name_short, NAME_SHORT_MAX),
        *_text_problems("DEVELOPER_NAME", developer, DEVELOPER_MAX),
    ]
    if problems:
        raise PackageError(problems)
    name_short_nb = name_short if "APP_NAME_SHORT" in env else DEFAULT_NAME_SHORT_NB
    return Settings(app_id.lower(), domain, name_short, name_short_nb, developer)


def _per_lang(raw: Any, where: str, problems: list[str]) -> dict[Lang, str]:
    if not isinstance(raw, dict) or not all(isinstance(raw.get(lang), str) for lang in LANGS):
        problems.append(f"{where}: needs a text for each of {', '.join(LANGS)}")
        return {}
    return {lang: raw[lang].strip() for lang in LANGS}


def _command_problems(kb: Knowledge, command: Command) -> list[str]:
    problems: list[str] = []
    for lang in LANGS:
        title, description = command.title[lang], command.description[lang]
        if not 0 < len(title) <= COMMAND_TITLE_MAX:
            problems.append(
                f"{command.id}: {lang} title {title!r} must be 1-{COMMAND_TITLE_MAX} characters"
            )
        if not 0 < len(description) <= COMMAND_DESCRIPTION_MAX:
            problems.append(
                f"{command.id}: {lang} description must be 1-{COMMAND_DESCRIPTION_MAX} characters"
            )
        reply = respond_to_text(kb, title, LOCALES[lang])
        if command.id == HELP:
            understood = isinstance(reply, Menu)
        else:
            understood = isinstance(reply, Answer) and reply.topic.id == command.id
        if not understood:
            problems.append(
                f"{command.id}: typing the {lang} title {title!r} does not give "
                f"{'the help menu' if command.id == HELP else 'this topic'}; choose another title"
            )
    return problems


def load_commands(kb: Knowledge, path: Path = COMMANDS_FILE) -> list[Command]:
    """The command menu: ``help`` and every topic once, each title answered by its own topic."""
    entries = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("commands") or []
    topics = {topic.id: topic for topic in kb.catalog.topics}
    problems: list[str] = []
    commands: list[Command] = []
    for index, entry in enumerate(entries):
        command_id = str(entry.get("id", ""))
        where = f"{path.name}: commands[{index}] ({command_id})"
        topic = topics.get(command_id)
        if command_id != HELP and topic is None:
            problems.append(f"{where}: not 'help' nor a topic id in content/topics/")
            continue
        title = _per_lang(entry.get("title"), f"{where} title", problems)
        if topic is not None:
            description = {lang: topic.title.get(lang) for lang in LANGS}
        else:
            description = _per_lang(entry.get("description"), f"{where} description", problems)
        if title and description:
            commands.append(Command(command_id, title, description))
    listed = [command.id for command in commands]
    for missing in [HELP, *topics]:
        if listed.count(missing) != 1:
            problems.append(f"{path.name}: '{missing}' must be listed exactly once")
    for command in commands:
        problems.extend(_command_problems(kb, command))
    if problems:
        raise PackageError(problems)
    return commands


def fill(template: Any, values: Mapping[str, Any]) -> Any:
    """``template`` with each ``${NAME}`` replaced; a string that is only a placeholder takes
    the value as it is (a list, say), one inside other text takes it as text."""
    if isinstance(template, dict):
        return {fill(key, values): fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(item, values) for item in template]
    if not isinstance(template, str):
        return template
    whole = PLACEHOLDER.fullmatch(template)
    if whole and whole.group(1) in values:
        return values[whole.group(1)]
    return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), template)


def render(document: Any, name: str) -> bytes:
    """``document`` as UTF-8 JSON; refuses one that still holds a ``${`` placeholder."""
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    left = sorted(set(PLACEHOLDER.findall(text)))
    if "${" in text:
        raise PackageError([f"{name} still contains placeholders: {', '.join(left) or '${'}"])
    return text.encode("utf-8")


def _template(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def build_manifest(settings: Settings, commands: Sequence[Command]) -> Any:
    values = {
        "APP_ID": settings.app_id,
        "BOT_DOMAIN": settings.domain,
        "APP_NAME_SHORT": settings.name_short,
        "DEVELOPER_NAME": settings.developer,
        "ACCENT_COLOR": ACCENT_COLOR,
        "BOT_COMMANDS": [
            {"title": command.title["en"], "description": command.description["en"]}
            for command in commands
        ],
    }
    return fill(_template(MANIFEST_TEMPLATE), values)


def build_localization(settings: Settings, commands: Sequence[Command]) -> Any:
    document = fill(_template(LOCALIZATION_TEMPLATE), {"APP_NAME_SHORT_NB": settings.name_short_nb})
    for index, command in enumerate(commands):
        key = f"bots[0].commandLists[0].commands[{index}]"
        document[f"{key}.title"] = command.title["nb"]
        document[f"{key}.description"] = command.description["nb"]
    return document


def package_files(settings: Settings, kb: Knowledge) -> dict[str, bytes]:
    """Every file of the package by its name in the zip."""
    commands = load_commands(kb)
    return {
        "manifest.json": render(build_manifest(settings, commands), "manifest.json"),
        LOCALIZATION_FILE: render(build_localization(settings, commands), LOCALIZATION_FILE),
        "color.png": color_icon(hex_to_rgb(ACCENT_COLOR)),
        "outline.png": outline_icon(),
    }


def write_zip(path: Path, files: Mapping[str, bytes]) -> None:
    """A reproducible zip (fixed dates, files at the root as Teams requires), written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    partial.replace(path)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Teams app package.")
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="output folder")
    args = parser.parse_args(argv)
    try:
        settings = read_settings(os.environ if env is None else env)
        files = package_files(settings, load_knowledge())
    except (PackageError, ContentError) as error:
        print("Cannot build the Teams app package:", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    target = args.out / PACKAGE_NAME
    write_zip(target, files)
    print(f"wrote {target}")
    for name, data in files.items():
        print(f"  {name:14} {len(data):7} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
