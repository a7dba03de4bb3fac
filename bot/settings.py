"""Settings as one frozen dataclass read from the environment, validated and failing closed."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from intents.load import DEFAULT_CONTENT
from intents.text import MAX_QUERY_CHARS

APP_TYPES = ("SingleTenant", "MultiTenant", "UserAssignedMSI")
STORES = ("sqlite", "azure-table")
LOG_FORMATS = ("json", "text")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
DEFAULT_PORT = 3978
DEFAULT_MAX_BODY = 256 * 1024


def _bounded_int(
    env: Mapping[str, str], name: str, default: int, low: int, high: int, problems: list[str]
) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if raw.isdigit() and low <= int(raw) <= high:
        return int(raw)
    problems.append(f"{name} must be an integer from {low} to {high}, got '{raw}'")
    return default


class SettingsError(Exception):
    """Every configuration problem at once, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(problems))


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    app_id: str = ""
    app_password: str = field(default="", repr=False)  # secrets stay out of logs and reprs
    app_type: str = "SingleTenant"
    tenant_id: str = ""
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    content_dir: Path = DEFAULT_CONTENT
    max_body_bytes: int = DEFAULT_MAX_BODY
    max_text_chars: int = MAX_QUERY_CHARS  # a longer message is read (and matched) on its start
    log_level: str = "INFO"
    log_format: str = ""  # "json" or "text"; empty: json in production, text in local mode
    store: str = "sqlite"
    sqlite_path: Path = Path("var/bot.db")
    azure_tables_connection: str = field(default="", repr=False)
    table_prefix: str = "mimbot"
    helpdesk_channel_id: str = ""
    helpdesk_service_url: str = ""
    retry_budget_s: float = 20.0  # how long a reply may keep retrying a throttled connector
    # Where the Bot Framework publishes its token signing keys; empty = the SDK's public cloud
    # default. Only tests (a local JWKS) and sovereign/private clouds need to set it.
    openid_metadata_url: str = ""
    # When set, GET /metrics wants "Authorization: Bearer <token>" (Prometheus: authorization).
    metrics_token: str = field(default="", repr=False)

    @property
    def local_mode(self) -> bool:
        """No app id: no authentication, loopback only (Bot Framework Emulator, chat)."""
        return not self.app_id

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], host: str | None = None, port: int | None = None
    ) -> Settings:
        """Build and validate; raises SettingsError listing every problem."""
        problems: list[str] = []
        raw_port = env.get("PORT", "")
        if port is None and raw_port:
            if raw_port.isdigit() and 0 < int(raw_port) < 65536:
                port = int(raw_port)
            else:
                problems.append(f"PORT must be a port number, got '{raw_port}'")
        max_body = env.get("MAX_BODY_BYTES", str(DEFAULT_MAX_BODY))
        if not max_body.isdigit() or int(max_body) < 1024:
            problems.append(f"MAX_BODY_BYTES must be an integer >= 1024, got '{max_body}'")
            max_body = str(DEFAULT_MAX_BODY)
        log_format = env.get("LOG_FORMAT", "").strip().lower()
        if log_format and log_format not in LOG_FORMATS:
            problems.append(f"LOG_FORMAT must be json or text, got '{log_format}'")
            log_format = ""
        settings = cls(
            app_id=env.get("MicrosoftAppId", "").strip(),
            app_password=env.get("MicrosoftAppPassword", ""),
            app_type=env.get("MicrosoftAppType", "").strip() or "SingleTenant",
            tenant_id=env.get("MicrosoftAppTenantId", "").strip(),
            host=host or env.get("HOST", "").strip() or "127.0.0.1",
            port=port or DEFAULT_PORT,
            content_dir=Path(env["CONTENT_DIR"]) if env.get("CONTENT_DIR") else DEFAULT_CONTENT,
            max_body_bytes=int(max_body),
            max_text_chars=_bounded_int(
                env, "MAX_TEXT_CHARS", MAX_QUERY_CHARS, 100, MAX_QUERY_CHARS, problems
            ),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            log_format=log_format,
            store=env.get("STORE", "sqlite").strip().lower() or "sqlite",
            sqlite_path=Path(env.get("SQLITE_PATH", "") or "var/bot.db"),
            azure_tables_connection=env.get("AZURE_TABLES_CONNECTION_STRING", ""),
            table_prefix=env.get("TABLE_PREFIX", "").strip() or "mimbot",
            helpdesk_channel_id=env.get("HELPDESK_CHANNEL_ID", "").strip(),
            helpdesk_service_url=env.get("HELPDESK_SERVICE_URL", "").strip(),
            openid_metadata_url=env.get("OPENID_METADATA_URL", "").strip(),
            metrics_token=env.get("METRICS_TOKEN", "").strip(),
        )
        problems.extend(settings.problems())
        if problems:
            raise SettingsError(problems)
        return settings

    def problems(self) -> list[str]:
        """What is wrong with these settings, each with the fix."""
        found = self._store_problems() + self._openid_problems()
        if self.local_mode:
            if not is_loopback_host(self.host):
                found.append(
                    f"local mode (no MicrosoftAppId) binds to loopback only, not '{self.host}': "
                    "set MicrosoftAppId/MicrosoftAppPassword to run in production"
                )
            return found
        if not _GUID.match(self.app_id):
            found.append("MicrosoftAppId must be the app registration's GUID")
        if self.app_type not in APP_TYPES:
            found.append(f"MicrosoftAppType must be one of {', '.join(APP_TYPES)}")
        if self.app_type in ("SingleTenant", "UserAssignedMSI") and not _GUID.match(self.tenant_id):
            found.append(f"MicrosoftAppTenantId (a GUID) is required for {self.app_type}")
        if self.app_type != "UserAssignedMSI" and not self.app_password:
            found.append("MicrosoftAppPassword is empty: set the app registration's client secret")
        if self.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            found.append("LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
        return found

    def _store_problems(self) -> list[str]:
        found = []
        if self.store not in STORES:
            found.append(f"STORE must be one of {', '.join(STORES)}, got '{self.store}'")
        if self.store == "azure-table" and not self.azure_tables_connection:
            found.append("STORE=azure-table needs AZURE_TABLES_CONNECTION_STRING")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,40}", self.table_prefix):
            found.append("TABLE_PREFIX must be letters and digits, starting with a letter")
        if bool(self.helpdesk_channel_id) != bool(self.helpdesk_service_url):
            found.append("HELPDESK_CHANNEL_ID and HELPDESK_SERVICE_URL go together: set both")
        return found

    def _openid_problems(self) -> list[str]:
        if not self.openid_metadata_url:
            return []
        try:
            url = urlsplit(self.openid_metadata_url)
            scheme, host = url.scheme, url.hostname or ""
        except ValueError:  # e.g. an invalid port or IPv6 literal
            scheme, host = "", ""
        if host and (scheme == "https" or (scheme == "http" and is_loopback_host(host))):
            return []
        return [
            "OPENID_METADATA_URL must be an https URL (http only on a loopback host), "
            f"got '{self.openid_metadata_url}': leave it empty for the Bot Framework default"
        ]

    def sdk_config(self) -> object:
        """The attribute bag botbuilder's configuration classes read."""

        class Config:
            APP_ID = self.app_id
            APP_PASSWORD = self.app_password
            # Without an app id the SDK disables auth; its SingleTenant factory would refuse.
            APP_TYPE = self.app_type if self.app_id else "MultiTenant"
            APP_TENANTID = self.tenant_id

        config = Config()
        if self.app_id and self.openid_metadata_url:
            # Local mode ignores it: the SDK's parameterized auth answers a request without a
            # bearer with AttributeError (it tests `auth_header is None`, we pass "").
            # Any TO_BOT_*/TO_CHANNEL_* value switches the SDK to its "parameterized" auth, where
            # every value left out is None (token issuer None: a token without "iss" would pass;
            # login URL None: no outbound token). So give it all the public cloud values.
            from botbuilder.schema import CallerIdConstants
            from botframework.connector.auth import AuthenticationConstants as Auth

            for name, value in {
                "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": self.openid_metadata_url,
                "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": Auth.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER,
                "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL": (
                    Auth.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL
                ),
                "TO_CHANNEL_FROM_BOT_LOGIN_URL": Auth.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX,
                "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE": Auth.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE,
                "OAUTH_URL": Auth.OAUTH_URL,
                "CALLER_ID": CallerIdConstants.public_azure_channel,
            }.items():
                setattr(config, name, value)
        return config
