"""``python -m bot doctor``: check the configuration a deployment will run with, before it runs.

The classic failure of a Teams bot is "deployed, but it does not respond": a wrong app id,
secret or tenant, or a package whose bot id is another app's. Each check names the problem and
the fix; any error makes the exit code non-zero, so a container stops instead of running
half-configured.
"""

from __future__ import annotations

import contextlib
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.settings import Settings, SettingsError
from bot.store.factory import create_store
from intents.content import ContentError
from intents.load import load_knowledge

Level = Literal["ok", "warning", "error"]
DEFAULT_PACKAGE = Path("build/mim-sync-bot.zip")
BOT_SCOPE = "https://api.botframework.com/.default"
# Entra ID error codes that mean the configuration is wrong (not that the network is down).
AADSTS_FIXES = {
    "AADSTS7000215": "the client secret is wrong: create a new one and set MicrosoftAppPassword",
    "AADSTS7000222": "the client secret has expired: create a new one and set MicrosoftAppPassword",
    "AADSTS700016": "this app id does not exist in the tenant: check MicrosoftAppId and "
    "MicrosoftAppTenantId (SingleTenant bots must use their own tenant)",
    "AADSTS90002": "the tenant does not exist: check MicrosoftAppTenantId",
    "AADSTS900023": "the tenant id is malformed: check MicrosoftAppTenantId",
}


@dataclass(frozen=True)
class Finding:
    level: Level
    check: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        mark = {"ok": "ok  ", "warning": "WARN", "error": "FAIL"}[self.level]
        fix = f"\n      fix: {self.fix}" if self.fix else ""
        return f"[{mark}] {self.check}: {self.message}{fix}"


def check_settings(env: Mapping[str, str]) -> tuple[Settings | None, list[Finding]]:
    try:
        settings = Settings.from_env(env)
    except SettingsError as exc:
        return None, [Finding("error", "settings", p) for p in exc.problems]
    if settings.local_mode:
        return settings, [
            Finding(
                "error",
                "settings",
                "MicrosoftAppId is not set, so the bot would run in local mode (no authentication,"
                " loopback only) and Teams could never reach it",
                "set MicrosoftAppId, MicrosoftAppPassword and MicrosoftAppTenantId from the app"
                " registration of the Azure Bot",
            )
        ]
    return settings, [Finding("ok", "settings", f"app {settings.app_id} ({settings.app_type})")]


def check_content(settings: Settings) -> list[Finding]:
    try:
        kb = load_knowledge(settings.content_dir)
    except ContentError as exc:
        return [
            Finding("error", "content", str(p), "fix the file, then run: python -m intents check")
            for p in exc.problems
        ]
    return [
        Finding("ok", "content", f"{len(kb.catalog.topics)} topics, {len(kb.catalog.codes)} codes")
    ]


async def check_store(settings: Settings) -> list[Finding]:
    where = settings.sqlite_path if settings.store == "sqlite" else "Azure Table Storage"
    store = create_store(settings)
    try:
        await store.open()
        if not await store.ping():
            raise OSError("no answer")
        registration = await store.get_setting("helpdesk")
    except Exception as exc:  # any failure here means the store is not usable
        return [
            Finding(
                "error",
                "store",
                f"{settings.store} store ({where}) is unreachable: {type(exc).__name__}: {exc}",
                "check STORE and AZURE_TABLES_CONNECTION_STRING (or SQLITE_PATH and its folder's"
                " permissions), and that the storage account allows this host",
            )
        ]
    finally:
        with contextlib.suppress(Exception):  # closing a store that never opened
            await store.close()
    findings = [Finding("ok", "store", f"{settings.store} store ({where}) answers")]
    if settings.helpdesk_channel_id:
        findings.append(Finding("ok", "helpdesk", f"configured: {settings.helpdesk_channel_id}"))
    elif registration:
        findings.append(Finding("ok", "helpdesk", f"registered: {registration.get('name')}"))
    else:
        # Not an error: the helpdesk is registered by chatting with the running bot.
        findings.append(
            Finding(
                "warning",
                "helpdesk",
                "no helpdesk channel is registered, so escalations are stored but nobody is told",
                "in the helpdesk channel, @mention the bot with: set helpdesk"
                " (or set HELPDESK_CHANNEL_ID and HELPDESK_SERVICE_URL)",
            )
        )
    return findings


def manifest_bot_ids(package: Path) -> list[str]:
    with zipfile.ZipFile(package) as archive:
        manifest: dict[str, Any] = json.loads(archive.read("manifest.json"))
    ids = [str(b.get("botId")) for b in manifest.get("bots", [])]
    ids += [str(c.get("botId")) for c in manifest.get("composeExtensions", [])]
    return ids


def check_manifest(settings: Settings, package: Path | None) -> list[Finding]:
    path = package or DEFAULT_PACKAGE
    if not path.exists():
        if package is not None:
            return [Finding("error", "manifest", f"{path} does not exist", "run: make package")]
        return [
            Finding(
                "warning",
                "manifest",
                f"no Teams package at {path} to compare with",
                "build it with make package, or pass --package PATH",
            )
        ]
    try:
        ids = manifest_bot_ids(path)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        return [Finding("error", "manifest", f"{path} is not a Teams package: {exc}")]
    wrong = sorted({i for i in ids if i != settings.app_id})
    if not ids or wrong:
        return [
            Finding(
                "error",
                "manifest",
                f"the package's bot id {', '.join(wrong) or '(none)'} is not the configured app"
                f" {settings.app_id}: Teams would send messages to another bot",
                "rebuild the package with this MicrosoftAppId (make package) and upload it again",
            )
        ]
    return [Finding("ok", "manifest", f"{path} uses bot id {settings.app_id}")]


def classify_token_result(result: Mapping[str, Any]) -> Finding:
    """What an MSAL acquire_token_for_client result says about the credentials."""
    if "access_token" in result:
        return Finding("ok", "credentials", "Entra ID issued a Bot Framework token for this app")
    description = str(result.get("error_description", ""))
    for code, fix in AADSTS_FIXES.items():
        if code in description:
            return Finding("error", "credentials", f"Entra ID refused the app ({code})", fix)
    error = str(result.get("error", "unknown error"))
    return Finding("error", "credentials", f"Entra ID refused the app: {error}", description[:200])


def check_credentials(settings: Settings) -> list[Finding]:
    if settings.app_type == "UserAssignedMSI":
        return [Finding("ok", "credentials", "managed identity: no secret to check")]
    tenant = settings.tenant_id if settings.app_type == "SingleTenant" else "botframework.com"
    try:
        import msal  # a dependency of botbuilder

        app = msal.ConfidentialClientApplication(
            settings.app_id,
            client_credential=settings.app_password,
            authority=f"https://login.microsoftonline.com/{tenant}",
        )
        result = app.acquire_token_for_client(scopes=[BOT_SCOPE])
    except Exception as exc:  # network down, DNS, proxy: cannot judge the credentials
        return [
            Finding(
                "warning",
                "credentials",
                f"could not reach Entra ID to test the secret: {type(exc).__name__}",
                "allow outbound HTTPS to login.microsoftonline.com, or run with --offline",
            )
        ]
    return [classify_token_result(result)]


async def run_doctor(
    env: Mapping[str, str], package: Path | None = None, offline: bool = False
) -> tuple[list[Finding], int]:
    settings, findings = check_settings(env)
    if settings is None:
        return findings, 1
    findings += check_content(settings)
    findings += await check_store(settings)
    if not settings.local_mode:
        findings += check_manifest(settings, package)
        if not offline:
            findings += check_credentials(settings)
    failed = any(f.level == "error" for f in findings)
    return findings, 1 if failed else 0
