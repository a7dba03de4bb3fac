"""The Teams app package: deploy/teams/build_package.py builds an upload-ready zip whose manifest
and Norwegian localization validate against Microsoft's schemas (npm @microsoft/app-manifest,
installed offline in tools/manifest), with icons of the right size and a command menu whose
every title gets its own topic from the bot."""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import os
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from jsonschema import Draft4Validator, Draft7Validator, FormatChecker, validators

from intents.load import load_knowledge
from intents.replies import HELP_WORDS, Menu, respond_to_text

ROOT = Path(__file__).resolve().parent.parent
TEAMS_DIR = ROOT / "deploy" / "teams"
SCRIPT = TEAMS_DIR / "build_package.py"
SCHEMAS = ROOT / "tools/manifest/node_modules/@microsoft/app-manifest/build/json-schemas/teams"
PUBLIC_SCHEMAS = "https://developer.microsoft.com/json-schemas/teams"
APP_ID = "6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b"
DOMAIN = "bot.example.com"
FILES = {"manifest.json", "nb-NO.json", "color.png", "outline.png"}
SETTINGS = ("MicrosoftAppId", "BOT_DOMAIN", "APP_NAME_SHORT", "DEVELOPER_NAME")


# --- the official schemas, validated the way the npm package's own validator (Ajv) does ---------


def newest_stable_version() -> str:
    """The highest ``vX.Y`` folder the npm package ships (devPreview is not stable)."""
    if not SCHEMAS.is_dir():
        pytest.fail(f"{SCHEMAS} is missing: run `make setup` (npm ci --prefix tools/manifest)")
    found = [m for d in SCHEMAS.iterdir() if (m := re.fullmatch(r"v(\d+)\.(\d+)", d.name))]
    major, minor = max((int(m[1]), int(m[2])) for m in found)
    return f"{major}.{minor}"


def load_schema(version: str, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / f"v{version}" / name).read_text("utf-8"))
    return schema


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _uri_checker() -> FormatChecker:
    checker = FormatChecker()

    @checker.checks("uri")
    def is_uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parts.scheme)) and " " not in value

    return checker


# ECMAScript's Unicode letter class, which Python's re lacks, inside a bracket expression.
JS_LETTER_CLASS = re.compile(r"\[((?:[^\]\\]|\\.)*?)\\p\{L\}((?:[^\]\\]|\\.)*)\]")


def python_pattern(pattern: str) -> str:
    r"""An ECMAScript ``pattern`` in Python's re syntax: ``[\p{L}0-9]`` (the Teams schema has it
    for add-in function names) becomes ``(?:[^\W\d_]|[0-9])``, a letter or the rest."""

    def letter_or_rest(m: re.Match[str]) -> str:
        rest = m[1] + m[2]
        return rf"(?:[^\W\d_]|[{rest}])" if rest else r"[^\W\d_]"

    return JS_LETTER_CLASS.sub(letter_or_rest, pattern)


def _python_patterns(node: Any) -> Any:
    if isinstance(node, list):
        return [_python_patterns(value) for value in node]
    if not isinstance(node, dict):
        return node
    translated = {key: _python_patterns(value) for key, value in node.items()}
    if isinstance(node.get("pattern"), str):
        translated["pattern"] = python_pattern(node["pattern"])
    if isinstance(node.get("patternProperties"), dict):
        translated["patternProperties"] = {
            python_pattern(key): _python_patterns(value)
            for key, value in node["patternProperties"].items()
        }
    return translated


def ajv_like(schema: Mapping[str, Any]) -> jsonschema.protocols.Validator:
    """A validator for the schema's own draft (draft-04 here) that, like Ajv, also applies
    ``const`` and ``if``/``then`` (the Teams schemas use them although they declare draft-04) and
    the keywords beside a ``$ref`` (the localization schema puts ``maxLength`` there, which
    jsonschema's Draft4Validator would ignore). Only local ``#/...`` references are allowed,
    so nothing is ever downloaded. ECMAScript-only regex syntax is translated for Python."""
    schema = _python_patterns(schema)
    remote = [ref for ref in _refs(schema) if not ref.startswith("#")]
    assert not remote, f"the schema has remote $refs: {remote}"
    base = validators.validator_for(schema)
    assert base is Draft4Validator, f"the schema declares {schema.get('$schema')}"
    base.check_schema(schema)
    keywords = {**base.VALIDATORS}
    keywords.setdefault("const", Draft7Validator.VALIDATORS["const"])
    keywords.setdefault("if", Draft7Validator.VALIDATORS["if"])
    cls = validators.create(
        meta_schema=base.META_SCHEMA,
        validators=keywords,
        type_checker=base.TYPE_CHECKER,
        format_checker=base.FORMAT_CHECKER,
        id_of=base.ID_OF,
    )
    return cls(schema, format_checker=_uri_checker())


@dataclass(frozen=True)
class Schemas:
    version: str
    manifest: dict[str, Any]
    localization: dict[str, Any]

    def manifest_problems(self, document: Any) -> list[str]:
        """Schema errors, plus the semver rule the schema states for ``version`` in words only
        (its ``version`` property has no pattern, so the schema alone accepts "one")."""
        problems = _errors(ajv_like(self.manifest), document)
        semver = self.manifest["definitions"]["semver"]["pattern"]
        if not re.match(semver, str(document.get("version", ""))):
            problems.append(f"version {document.get('version')!r} is not semver")
        return problems

    def localization_problems(self, document: Any) -> list[str]:
        return _errors(ajv_like(self.localization), document)


def _errors(validator: jsonschema.protocols.Validator, document: Any) -> list[str]:
    return sorted(
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(document)
    )


@pytest.fixture(scope="module")
def schemas() -> Schemas:
    version = newest_stable_version()
    return Schemas(
        version,
        load_schema(version, "MicrosoftTeams.schema.json"),
        load_schema(version, "MicrosoftTeams.Localization.schema.json"),
    )


# --- building the package ---------------------------------------------------------------------


def run_script(tmp: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update(settings)
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("package")
    result = run_script(out, MicrosoftAppId=APP_ID, BOT_DOMAIN=DOMAIN)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out / "mim-sync-bot.zip") as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist()}


@pytest.fixture(scope="module")
def manifest(package: dict[str, bytes]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(package["manifest.json"].decode("utf-8"))
    return document


@pytest.fixture(scope="module")
def localization(package: dict[str, bytes]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(package["nb-NO.json"].decode("utf-8"))
    return document


@pytest.fixture(scope="module")
def builder() -> Iterator[ModuleType]:
    """deploy/teams/build_package.py imported as a module (it imports icons.py beside it)."""
    spec = importlib.util.spec_from_file_location("build_package", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(TEAMS_DIR))
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(TEAMS_DIR))
        sys.modules.pop(spec.name, None)
        sys.modules.pop("icons", None)


def test_the_zip_holds_exactly_the_four_files_at_its_root(package: dict[str, bytes]) -> None:
    assert set(package) == FILES


def test_no_placeholder_is_left_anywhere(package: dict[str, bytes]) -> None:
    for name in ("manifest.json", "nb-NO.json"):
        assert "${" not in package[name].decode("utf-8"), name


def test_manifest_uses_the_newest_stable_schema_the_npm_package_ships(
    manifest: dict[str, Any], localization: dict[str, Any], schemas: Schemas
) -> None:
    assert manifest["manifestVersion"] == schemas.version
    assert manifest["$schema"] == f"{PUBLIC_SCHEMAS}/v{schemas.version}/MicrosoftTeams.schema.json"
    assert localization["$schema"] == (
        f"{PUBLIC_SCHEMAS}/v{schemas.version}/MicrosoftTeams.Localization.schema.json"
    )


def test_manifest_is_valid_against_the_official_schema(
    manifest: dict[str, Any], schemas: Schemas
) -> None:
    assert schemas.manifest_problems(manifest) == []


def test_localization_file_is_valid_and_declared(
    manifest: dict[str, Any], localization: dict[str, Any], schemas: Schemas
) -> None:
    assert schemas.localization_problems(localization) == []
    info = manifest["localizationInfo"]
    assert info["defaultLanguageTag"] == "en"
    assert info["additionalLanguages"] == [{"languageTag": "nb", "file": "nb-NO.json"}]
    commands = manifest["bots"][0]["commandLists"][0]["commands"]
    key = re.compile(r"bots\[0\]\.commandLists\[0\]\.commands\[(\d+)\]\.(title|description)")
    indexed = [int(m[1]) for k in localization if (m := key.fullmatch(k))]
    assert sorted(indexed) == sorted([*range(len(commands))] * 2), "a title and a description"


def test_ids_urls_and_domains_come_from_the_settings(manifest: dict[str, Any]) -> None:
    assert manifest["id"] == APP_ID
    assert manifest["bots"][0]["botId"] == APP_ID
    assert manifest["version"] == "1.0.0"
    assert manifest["validDomains"] == [DOMAIN]
    assert manifest["developer"]["websiteUrl"] == f"https://{DOMAIN}/"
    assert manifest["developer"]["privacyUrl"] == f"https://{DOMAIN}/privacy"
    assert manifest["developer"]["termsOfUseUrl"] == f"https://{DOMAIN}/terms"
    assert manifest["name"]["short"] == "MIM Sync Help"


def test_bot_scopes_are_personal_team_and_group_chat(manifest: dict[str, Any]) -> None:
    bot = manifest["bots"][0]
    assert sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    assert [sorted(c["scopes"]) for c in bot["commandLists"]] == [["groupChat", "personal", "team"]]


def test_the_message_extension_is_the_bots_find_topic_search(
    manifest: dict[str, Any], localization: dict[str, Any]
) -> None:
    [extension] = manifest["composeExtensions"]
    assert extension["botId"] == APP_ID
    assert extension["canUpdateConfiguration"] is False
    [command] = extension["commands"]
    assert (command["id"], command["type"], command["title"]) == (
        "findTopic",
        "query",
        "Find a MIM Sync fix",
    )
    assert [p["name"] for p in command["parameters"]] == ["query"]
    assert localization["composeExtensions[0].commands[0].title"] != command["title"]


# --- the command menu -------------------------------------------------------------------------


def command_map() -> dict[str, str]:
    """Every command title (both languages) -> ``help`` or the topic id it stands for."""
    entries = yaml.safe_load((TEAMS_DIR / "commands.yaml").read_text("utf-8"))["commands"]
    return {title: entry["id"] for entry in entries for title in entry["title"].values()}


def menu_titles(manifest: dict[str, Any], localization: dict[str, Any]) -> dict[str, list[str]]:
    en = [c["title"] for c in manifest["bots"][0]["commandLists"][0]["commands"]]
    nb = [v for k, v in localization.items() if k.startswith("bots[0]") and k.endswith(".title")]
    return {"en-US": en, "nb-NO": nb}


def test_every_command_title_names_help_or_a_real_topic(
    manifest: dict[str, Any], localization: dict[str, Any]
) -> None:
    topics = {t.id for t in load_knowledge().catalog.topics}
    mapping = command_map()
    for titles in menu_titles(manifest, localization).values():
        assert all(len(title) <= 32 for title in titles)
        ids = [mapping.get(title) for title in titles]
        assert set(ids) <= topics | {"help"}, titles
        assert sorted(ids, key=str) == sorted(topics | {"help"}), "help and the seven topics"
    descriptions = [c["description"] for c in manifest["bots"][0]["commandLists"][0]["commands"]]
    assert all(0 < len(d) <= 128 for d in descriptions)


def test_typing_a_command_title_gets_its_topic_from_the_matcher(
    manifest: dict[str, Any], localization: dict[str, Any]
) -> None:
    """The contract of `python -m intents match --json`: each topic title is an answer."""
    mapping = command_map()
    for locale, titles in menu_titles(manifest, localization).items():
        topic_titles = [t for t in titles if mapping[t] != "help"]
        result = subprocess.run(
            [sys.executable, "-m", "intents", "match", "--json", "--locale", locale],
            input="\n".join(topic_titles) + "\n",
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        records = [json.loads(line) for line in result.stdout.splitlines()]
        assert [(r["text"], r["outcome"], r["intent"]) for r in records] == [
            (title, "answer", mapping[title]) for title in topic_titles
        ]


def test_the_help_command_shows_the_menu(
    manifest: dict[str, Any], localization: dict[str, Any]
) -> None:
    kb = load_knowledge()
    mapping = command_map()
    for locale, titles in menu_titles(manifest, localization).items():
        [help_title] = [t for t in titles if mapping[t] == "help"]
        assert help_title in HELP_WORDS
        assert isinstance(respond_to_text(kb, help_title, locale), Menu)


# --- icons ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    color_type: int
    pixels: list[tuple[int, ...]]  # RGB or RGBA per pixel, row by row


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _unfilter(kind: int, line: bytearray, prior: bytes, bpp: int) -> None:
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = prior[i]
        corner = prior[i - bpp] if i >= bpp else 0
        predictor = (0, left, up, (left + up) // 2, _paeth(left, up, corner))[kind]
        line[i] = (line[i] + predictor) & 0xFF


def read_png(data: bytes) -> Image:
    """Decode an 8-bit, non-interlaced truecolor PNG (what Teams icons are)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks: dict[bytes, bytes] = {}
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, f"bad CRC in {kind!r}"
        chunks[kind] = chunks.get(kind, b"") + body
        offset += 12 + length
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, interlace, color_type in (2, 6)) == (8, 0, True)
    bpp = 4 if color_type == 6 else 3
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = width * bpp
    assert len(raw) == height * (stride + 1)
    pixels: list[tuple[int, ...]] = []
    prior = bytes(stride)
    for row in range(height):
        start = row * (stride + 1)
        line = bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(raw[start], line, prior, bpp)
        pixels.extend(tuple(line[i : i + bpp]) for i in range(0, stride, bpp))
        prior = bytes(line)
    return Image(width, height, color_type, pixels)


def test_color_icon_is_192_square_and_opaque(package: dict[str, bytes]) -> None:
    image = read_png(package["color.png"])
    assert (image.width, image.height) == (192, 192)
    assert image.color_type == 2 or all(p[3] == 255 for p in image.pixels)
    assert len(set(image.pixels)) > 2, "a symbol on a solid background"


def test_outline_icon_is_32_square_white_on_transparent(package: dict[str, bytes]) -> None:
    image = read_png(package["outline.png"])
    assert (image.width, image.height, image.color_type) == (32, 32, 6), "RGBA"
    assert all(p[:3] == (255, 255, 255) or p[3] == 0 for p in image.pixels)
    alphas = {p[3] for p in image.pixels}
    assert 0 in alphas, "a transparent background"
    assert 255 in alphas, "a visible symbol"


# --- refusals ---------------------------------------------------------------------------------


def test_ecmascript_letter_classes_are_translated() -> None:
    pattern = re.compile(python_pattern(r"^[\p{L}][\p{L}0-9._]*$"))
    assert pattern.match("Ærlig_2.x")
    assert not pattern.match("2abc")
    assert not pattern.match("_abc")


def test_a_missing_app_id_stops_the_build_with_a_message(tmp_path: Path) -> None:
    result = run_script(tmp_path, BOT_DOMAIN=DOMAIN)
    assert result.returncode != 0
    assert "MicrosoftAppId is not set" in result.stderr
    assert not (tmp_path / "mim-sync-bot.zip").exists()


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"MicrosoftAppId": "not-a-guid", "BOT_DOMAIN": DOMAIN}, "MicrosoftAppId"),
        ({"MicrosoftAppId": APP_ID}, "BOT_DOMAIN is not set"),
        ({"MicrosoftAppId": APP_ID, "BOT_DOMAIN": f"https://{DOMAIN}/"}, "BOT_DOMAIN"),
        ({"MicrosoftAppId": APP_ID, "BOT_DOMAIN": f"{DOMAIN}:443"}, "BOT_DOMAIN"),
        (
            {"MicrosoftAppId": APP_ID, "BOT_DOMAIN": DOMAIN, "APP_NAME_SHORT": "x" * 31},
            "at most 30",
        ),
    ],
)
def test_invalid_settings_are_refused(
    builder: ModuleType, settings: dict[str, str], named: str
) -> None:
    with pytest.raises(builder.PackageError) as refused:
        builder.read_settings(settings)
    assert any(named in problem for problem in refused.value.problems)


def test_a_manifest_with_a_placeholder_left_is_refused(builder: ModuleType) -> None:
    filled = builder.fill({"id": "${APP_ID}", "url": "https://${UNKNOWN}/"}, {"APP_ID": APP_ID})
    assert filled == {"id": APP_ID, "url": "https://${UNKNOWN}/"}
    with pytest.raises(builder.PackageError, match="UNKNOWN"):
        builder.render(filled, "manifest.json")


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split("/")]
        node: Any = document
        for part in parents:
            node = node[part]
        node[last] = value

    return change


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda document: document.pop(key)


@pytest.mark.parametrize(
    ("breakage", "blamed"),
    [
        (_set("version", "one"), "version 'one' is not semver"),
        (_set("id", "not-a-guid"), "id: 'not-a-guid' does not match"),
        # const: applied although the schema declares draft-04, which has no const
        (_set("manifestVersion", "1.29"), "manifestVersion: "),
        (_set("bots/0/scopes", ["everyone"]), "bots/0/scopes/0: 'everyone' is not one of"),
        (_set("composeExtensions/0/commands/0/title", "x" * 33), "commands/0/title: 'xxx"),
        (_set("accentColor", "blue"), "accentColor: 'blue' does not match"),
        (_set("colour", "#FFFFFF"), "'colour' was unexpected"),
        (_drop("developer"), "'developer' is a required property"),
    ],
)
def test_a_broken_manifest_fails_validation(
    manifest: dict[str, Any],
    schemas: Schemas,
    breakage: Callable[[dict[str, Any]], None],
    blamed: str,
) -> None:
    broken = copy.deepcopy(manifest)
    breakage(broken)
    problems = schemas.manifest_problems(broken)
    assert any(blamed in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("breakage", "blamed"),
    [
        # maxLength beside a $ref: applied, as Ajv does (Draft4Validator would ignore it)
        (_set("name.short", "x" * 31), "name.short: 'xxx"),
        (_set("name.nickname", "MIM"), "'name.nickname' does not match any of the regexes"),
        (_set("bots[0].commandLists[0].commands[12].title", "13th"), "commands[12].title' does"),
        (_drop("description.full"), "'description.full' is a required property"),
    ],
)
def test_a_broken_localization_fails_validation(
    localization: dict[str, Any],
    schemas: Schemas,
    breakage: Callable[[dict[str, Any]], None],
    blamed: str,
) -> None:
    broken = copy.deepcopy(localization)
    breakage(broken)
    problems = schemas.localization_problems(broken)
    assert any(blamed in problem for problem in problems), problems


def test_the_zip_is_reproducible(tmp_path: Path, package: dict[str, bytes]) -> None:
    result = run_script(tmp_path, MicrosoftAppId=APP_ID, BOT_DOMAIN=DOMAIN)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(io.BytesIO((tmp_path / "mim-sync-bot.zip").read_bytes())) as archive:
        assert {i.filename: archive.read(i) for i in archive.infolist()} == package
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
