"""Settings fail closed: production needs complete credentials, local mode is loopback only."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError, is_loopback_host

APP = "00000000-0000-0000-0000-00000000abcd"
TENANT = "11111111-2222-3333-4444-555555555555"


def test_no_app_id_is_local_mode_on_loopback() -> None:
    settings = Settings.from_env({})
    assert settings.local_mode
    assert (settings.host, settings.port, settings.app_type) == ("127.0.0.1", 3978, "SingleTenant")


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.5", "::", "example.org"])
def test_local_mode_refuses_to_bind_beyond_loopback(host: str) -> None:
    with pytest.raises(SettingsError, match="loopback only"):
        Settings.from_env({}, host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


def test_production_settings_from_the_environment() -> None:
    env = {
        "MicrosoftAppId": APP,
        "MicrosoftAppPassword": "secret",
        "MicrosoftAppTenantId": TENANT,
        "PORT": "8080",
    }
    settings = Settings.from_env(env, host="0.0.0.0")
    assert not settings.local_mode
    assert (settings.port, settings.app_type, settings.host) == (8080, "SingleTenant", "0.0.0.0")


def test_every_problem_is_reported_at_once() -> None:
    env = {"MicrosoftAppId": "not-a-guid", "MicrosoftAppType": "Weird", "PORT": "http"}
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    text = str(caught.value)
    for fragment in [
        "PORT must be",
        "GUID",
        "MicrosoftAppType must be one of",
        "Password is empty",
    ]:
        assert fragment in text
    assert len(caught.value.problems) == 4


def test_single_tenant_needs_a_tenant_id() -> None:
    with pytest.raises(SettingsError, match="MicrosoftAppTenantId"):
        Settings.from_env({"MicrosoftAppId": APP, "MicrosoftAppPassword": "x"})


def test_managed_identity_needs_no_password() -> None:
    env = {
        "MicrosoftAppId": APP,
        "MicrosoftAppType": "UserAssignedMSI",
        "MicrosoftAppTenantId": TENANT,
    }
    assert Settings.from_env(env).app_type == "UserAssignedMSI"


def test_multi_tenant_needs_no_tenant() -> None:
    env = {"MicrosoftAppId": APP, "MicrosoftAppPassword": "x", "MicrosoftAppType": "MultiTenant"}
    assert Settings.from_env(env).tenant_id == ""


def test_sdk_config_keeps_auth_off_only_without_an_app_id() -> None:
    local = Settings().sdk_config()
    assert (local.APP_ID, local.APP_TYPE) == ("", "MultiTenant")
    prod = Settings(app_id=APP, app_password="x", tenant_id=TENANT).sdk_config()
    assert (prod.APP_TYPE, prod.APP_TENANTID) == ("SingleTenant", TENANT)


def test_body_limit_is_configurable_and_validated() -> None:
    assert Settings.from_env({"MAX_BODY_BYTES": "4096"}).max_body_bytes == 4096
    with pytest.raises(SettingsError, match="MAX_BODY_BYTES"):
        Settings.from_env({"MAX_BODY_BYTES": "12"})


def test_text_limit_is_configurable_and_bounded() -> None:
    assert Settings.from_env({}).max_text_chars == 2000
    assert Settings.from_env({"MAX_TEXT_CHARS": "500"}).max_text_chars == 500
    for bad in ("50", "5000", "lots"):
        with pytest.raises(SettingsError, match="MAX_TEXT_CHARS"):
            Settings.from_env({"MAX_TEXT_CHARS": bad})


def test_secrets_stay_out_of_the_settings_repr() -> None:
    settings = Settings(
        app_password="pw-1234", azure_tables_connection="AccountKey=k3y", metrics_token="t0ken"
    )
    shown = repr(settings)
    assert "pw-1234" not in shown
    assert "k3y" not in shown
    assert "t0ken" not in shown
    assert "max_body_bytes" in shown  # the rest still shows
