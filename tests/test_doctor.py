"""The config doctor names each deployment problem with its fix and fails closed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bot.doctor import classify_token_result, run_doctor

ROOT = Path(__file__).resolve().parent.parent
APP = "00000000-0000-0000-0000-00000000abcd"
TENANT = "11111111-2222-3333-4444-555555555555"


def production(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "MicrosoftAppId": APP,
        "MicrosoftAppPassword": "secret",
        "MicrosoftAppTenantId": TENANT,
        "SQLITE_PATH": str(tmp_path / "bot.db"),
        **extra,
    }


def package(tmp_path: Path, bot_id: str) -> Path:
    path = tmp_path / "app.zip"
    manifest = {"bots": [{"botId": bot_id}], "composeExtensions": [{"botId": bot_id}]}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
    return path


async def test_a_complete_configuration_is_ready(tmp_path: Path) -> None:
    findings, code = await run_doctor(production(tmp_path), package(tmp_path, APP), offline=True)
    assert code == 0
    assert [f.check for f in findings if f.level == "ok"] == [
        "settings",
        "content",
        "store",
        "manifest",
    ]
    # Only the helpdesk is left to do, and that is done by chatting with the running bot.
    assert [(f.check, f.level) for f in findings if f.level != "ok"] == [("helpdesk", "warning")]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"MicrosoftAppId": ""}, "local mode"),
        ({"MicrosoftAppId": "bot-123"}, "GUID"),
        ({"MicrosoftAppTenantId": ""}, "MicrosoftAppTenantId"),
        ({"MicrosoftAppPassword": ""}, "MicrosoftAppPassword is empty"),
        ({"STORE": "azure-table"}, "AZURE_TABLES_CONNECTION_STRING"),
    ],
)
async def test_settings_problems_fail(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    findings, code = await run_doctor({**production(tmp_path), **env}, offline=True)
    assert code == 1
    assert any(f.level == "error" and expected in f.message for f in findings), findings


async def test_a_package_for_another_bot_is_caught(tmp_path: Path) -> None:
    other = "99999999-0000-0000-0000-000000000000"
    findings, code = await run_doctor(production(tmp_path), package(tmp_path, other), offline=True)
    assert code == 1
    (problem,) = [f for f in findings if f.level == "error"]
    assert problem.check == "manifest"
    assert other in problem.message
    assert "make package" in problem.fix


async def test_an_unusable_store_is_caught(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    env = production(tmp_path, SQLITE_PATH=str(blocker / "bot.db"))
    findings, code = await run_doctor(env, package(tmp_path, APP), offline=True)
    assert code == 1
    assert [f.check for f in findings if f.level == "error"] == ["store"]


async def test_invalid_content_is_caught_with_file_and_line(tmp_path: Path) -> None:
    content = tmp_path / "content"
    (content / "topics").mkdir(parents=True)
    (content / "topics" / "x.yaml").write_text("id: x\norder: 1\n", encoding="utf-8")
    env = production(tmp_path, CONTENT_DIR=str(content))
    findings, code = await run_doctor(env, package(tmp_path, APP), offline=True)
    assert code == 1
    assert any(f.check == "content" and "x.yaml:1:" in f.message for f in findings)


@pytest.mark.parametrize(
    ("result", "level", "text"),
    [
        ({"access_token": "t"}, "ok", "issued"),
        (
            {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret",
            },
            "error",
            "client secret is wrong",
        ),
        (
            {
                "error": "unauthorized_client",
                "error_description": "AADSTS700016: Application not found",
            },
            "error",
            "does not exist in the tenant",
        ),
        (
            {"error": "invalid_request", "error_description": "AADSTS90002: Tenant not found"},
            "error",
            "tenant does not exist",
        ),
        ({"error": "weird"}, "error", "weird"),
    ],
)
def test_entra_answers_are_explained(result: dict[str, str], level: str, text: str) -> None:
    finding = classify_token_result(result)
    assert finding.level == level
    assert text in finding.message + finding.fix


def test_doctor_command_exits_non_zero_and_prints_fixes(tmp_path: Path) -> None:
    env = {**os.environ, "SQLITE_PATH": str(tmp_path / "bot.db"), "MicrosoftAppId": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "doctor", "--offline"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert "[FAIL] settings" in proc.stdout
    assert "fix: set MicrosoftAppId" in proc.stdout
    assert proc.stdout.rstrip().endswith("refusing to start")
