"""Tests for bot.config."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from bot.config import (
    DATA_KEY_FILE,
    SECRET_KEY_FILE,
    ConfigError,
    Settings,
    default_content_dir,
    new_data_key,
)

GOOD_SECRET = "k" * 20 + "0123456789abcdefghij"
GOOD_DATA_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()


def production(**extra: str) -> dict[str, str]:
    """A complete production environment, plus extra."""
    return {
        "ADREF_ENV": "production",
        "SECRET_KEY": GOOD_SECRET,
        "ADREF_DATA_KEY": GOOD_DATA_KEY,
        **extra,
    }


def test_it_defaults_to_sqlite_in_the_working_directory(tmp_path: Path) -> None:
    settings = Settings.from_env({}, tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path.resolve()}/adref.db"
    assert settings.rhi_target_hours == 72
    assert settings.production is False
    assert settings.public_base_url is None
    assert settings.telegram_bot_token is None
    assert settings.twilio_account_sid is None


def test_it_generates_keys_once_outside_production_and_reuses_them(tmp_path: Path) -> None:
    first = Settings.from_env({}, tmp_path)
    second = Settings.from_env({}, tmp_path)
    assert len(first.data_key) == 32
    assert len(first.secret_key) >= 32
    assert (first.secret_key, first.data_key) == (second.secret_key, second.data_key)
    for name in (SECRET_KEY_FILE, DATA_KEY_FILE):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o600, name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([SECRET_KEY_FILE, DATA_KEY_FILE])


def test_it_prefers_given_keys_to_generated_ones(tmp_path: Path) -> None:
    settings = Settings.from_env({"SECRET_KEY": "mine", "ADREF_DATA_KEY": GOOD_DATA_KEY}, tmp_path)
    assert settings.secret_key == "mine"
    assert settings.data_key == bytes(range(32))
    assert not (tmp_path / SECRET_KEY_FILE).exists()


def test_it_reads_a_value_from_a_file_and_strips_it(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("  123:abc\n")
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN_FILE": str(tmp_path / "token")}, tmp_path)
    assert settings.telegram_bot_token == "123:abc"


def test_it_reads_a_relative_file_from_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "db-url").write_text("postgresql://adref@db/adref\n")
    settings = Settings.from_env({"DATABASE_URL_FILE": "db-url"}, tmp_path)
    assert settings.database_url == "postgresql://adref@db/adref"


def test_it_refuses_both_a_value_and_a_file(tmp_path: Path) -> None:
    (tmp_path / "sid").write_text("AC1")
    with pytest.raises(ConfigError, match="TWILIO_ACCOUNT_SID or TWILIO_ACCOUNT_SID_FILE"):
        Settings.from_env({"TWILIO_ACCOUNT_SID": "AC2", "TWILIO_ACCOUNT_SID_FILE": "sid"}, tmp_path)


def test_it_names_a_missing_secret_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY_FILE"):
        Settings.from_env({"SECRET_KEY_FILE": "nowhere"}, tmp_path)


def test_it_reads_every_channel_setting(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "PUBLIC_BASE_URL": "https://adref.example/",
            "RHI_TARGET_HOURS": "48",
            "TELEGRAM_BOT_TOKEN": "123:abc",
            "TELEGRAM_WEBHOOK_SECRET": "hook",
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9001",
            "TWILIO_ACCOUNT_SID": "AC123",
            "TWILIO_AUTH_TOKEN": "tok",
            "TWILIO_FROM": "+447700900000",
            "TWILIO_API_BASE_URL": "http://127.0.0.1:9002",
        },
        tmp_path,
    )
    assert settings.public_base_url == "https://adref.example"
    assert settings.rhi_target_hours == 48
    assert settings.telegram_webhook_secret == "hook"
    assert settings.telegram_api_base_url == "http://127.0.0.1:9001"
    assert settings.twilio_auth_token == "tok"
    assert settings.twilio_from == "+447700900000"
    assert settings.twilio_api_base_url == "http://127.0.0.1:9002"


def test_the_content_dir_defaults_to_the_repository_and_can_be_moved(tmp_path: Path) -> None:
    assert Settings.from_env({}, tmp_path).content_dir == default_content_dir()
    assert default_content_dir() == Path(__file__).resolve().parent.parent / "content"
    moved = Settings.from_env({"ADREF_CONTENT_DIR": "words"}, tmp_path)
    assert moved.content_dir == tmp_path.resolve() / "words"


@pytest.mark.parametrize("value", ["soon", "0", "-1"])
def test_it_rejects_a_bad_rhi_target(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="RHI_TARGET_HOURS"):
        Settings.from_env({"RHI_TARGET_HOURS": value}, tmp_path)


@pytest.mark.parametrize("value", ["not base64!", base64.urlsafe_b64encode(b"short").decode()])
def test_it_rejects_a_malformed_data_key(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="ADREF_DATA_KEY"):
        Settings.from_env({"ADREF_DATA_KEY": value}, tmp_path)


def test_a_new_data_key_decodes_to_32_bytes(tmp_path: Path) -> None:
    settings = Settings.from_env({"ADREF_DATA_KEY": new_data_key()}, tmp_path)
    assert len(settings.data_key) == 32


def test_it_rejects_an_unknown_environment_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ADREF_ENV"):
        Settings.from_env({"ADREF_ENV": "prod"}, tmp_path)


def test_production_accepts_real_secrets_and_writes_no_files(tmp_path: Path) -> None:
    settings = Settings.from_env(production(), tmp_path)
    assert settings.production is True
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["SECRET_KEY", "ADREF_DATA_KEY"])
def test_production_refuses_a_missing_secret(tmp_path: Path, name: str) -> None:
    environ = production()
    del environ[name]
    with pytest.raises(ConfigError, match=f"{name} is required"):
        Settings.from_env(environ, tmp_path)


@pytest.mark.parametrize("value", ["change-me", "CHANGE_ME", "changethis", "secret", "x" * 40])
def test_production_refuses_a_placeholder_secret_key(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY is a placeholder"):
        Settings.from_env(production(SECRET_KEY=value), tmp_path)


def test_production_refuses_a_short_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY must be at least 32"):
        Settings.from_env(production(SECRET_KEY="short-but-not-a-placeholder"), tmp_path)


@pytest.mark.parametrize("value", ["changeme", base64.urlsafe_b64encode(bytes(32)).decode()])
def test_production_refuses_a_placeholder_data_key(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="ADREF_DATA_KEY"):
        Settings.from_env(production(ADREF_DATA_KEY=value), tmp_path)


def test_production_refuses_a_placeholder_channel_secret(tmp_path: Path) -> None:
    environ = production(
        PUBLIC_BASE_URL="https://adref.example",
        TELEGRAM_BOT_TOKEN="123:abc",
        TELEGRAM_WEBHOOK_SECRET="change-me",
    )
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET is a placeholder"):
        Settings.from_env(environ, tmp_path)


def test_production_refuses_a_telegram_bot_without_a_webhook_secret(tmp_path: Path) -> None:
    environ = production(PUBLIC_BASE_URL="https://adref.example", TELEGRAM_BOT_TOKEN="123:abc")
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET is required"):
        Settings.from_env(environ, tmp_path)


def test_production_refuses_a_channel_without_a_public_url(tmp_path: Path) -> None:
    environ = production(TWILIO_ACCOUNT_SID="AC123", TWILIO_AUTH_TOKEN="a-real-token")
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL is required"):
        Settings.from_env(environ, tmp_path)


def test_production_runs_without_any_channel(tmp_path: Path) -> None:
    settings = Settings.from_env(production(), tmp_path)
    assert settings.telegram_bot_token is None


def test_its_repr_shows_no_secret(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"SECRET_KEY": GOOD_SECRET, "TWILIO_AUTH_TOKEN": "tok-visible?"}, tmp_path
    )
    text = repr(settings)
    assert GOOD_SECRET not in text
    assert "tok-visible?" not in text
    assert "adref.db" not in text


def test_it_refuses_a_data_key_of_the_wrong_length() -> None:
    with pytest.raises(ConfigError, match="32 bytes"):
        Settings(database_url="sqlite://", secret_key="s", data_key=b"short")
