"""Settings read once from the environment at start-up and passed down."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.crypto import key_id

DATA_KEY_BYTES = 32
# More proxies than this in front of one service is a misreading of the setting.
MAX_PROXY_HOPS = 5
MIN_SECRET_KEY_CHARS = 32
SECRET_KEY_FILE = ".adref-secret-key"
DATA_KEY_FILE = ".adref-data-key"
ENVIRONMENTS = ("development", "production")
LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Long enough that guessing it through the 401s is hopeless (e.g. `openssl rand -hex 32`).
MIN_METRICS_TOKEN_CHARS = 16

# Values people paste from examples. Compared after lower-casing and dropping
# everything but letters and digits, so "change-me" and "CHANGE_ME" both match.
PLACEHOLDERS = frozenset(
    {"changeme", "changethis", "secret", "password", "placeholder", "example", "todo",
     "xxx", "test", "dev", "default", "none", "null", "insecure", "notsecret"}
)  # fmt: skip


class ConfigError(Exception):
    """The environment does not describe a usable configuration."""


def default_content_dir() -> Path:
    """Return the content/ folder at the root of the repository."""
    return Path(__file__).resolve().parent.parent / "content"


@dataclass(frozen=True)
class Settings:
    """Everything Adref reads from its environment, typed and validated."""

    database_url: str = field(repr=False)  # may hold a database password
    secret_key: str = field(repr=False)
    data_key: bytes = field(repr=False)
    public_base_url: str | None = None
    rhi_target_hours: int = 72
    production: bool = False
    content_dir: Path = field(default_factory=default_content_dir)
    telegram_bot_token: str | None = field(default=None, repr=False)
    telegram_webhook_secret: str | None = field(default=None, repr=False)
    telegram_api_base_url: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = field(default=None, repr=False)
    twilio_from: str | None = None
    twilio_api_base_url: str | None = None
    log_format: str = "text"  # "json" in production: one object per line for a collector
    log_level: str = "INFO"
    # GET /metrics answers only with this bearer token; without one it is off (404).
    metrics_token: str | None = field(default=None, repr=False)
    # prometheus_client's multiprocess directory (gunicorn makes one when unset), so that
    # /metrics sums the counts of every worker process rather than the one that answers.
    metrics_multiproc_dir: Path | None = None
    # How many proxies (a load balancer, a TLS terminator) stand in front and set
    # X-Forwarded-For/-Proto. Zero trusts no such header, since a client could forge it.
    proxy_hops: int = 0
    # Older data keys that still open what they sealed, and whose lookup hashes still
    # find contacts, while `adref keys rotate` re-seals everything under data_key.
    previous_data_keys: tuple[bytes, ...] = field(default=(), repr=False)
    # Days after a request ends, or a conversation goes quiet, before `adref purge`
    # clears what the young person wrote (bot/purge.py says what goes when).
    retention_days: int = 30

    def __post_init__(self) -> None:
        if len(self.data_key) != DATA_KEY_BYTES:
            raise ConfigError(f"the data key must be {DATA_KEY_BYTES} bytes")
        for previous in self.previous_data_keys:
            if len(previous) != DATA_KEY_BYTES:
                raise ConfigError(f"a previous data key must be {DATA_KEY_BYTES} bytes")
            if previous != self.data_key and key_id(previous) == key_id(self.data_key):
                # Values would carry one id for two keys, and the rotation could not tell
                # which are done: one in 254 new keys does this, so make another.
                raise ConfigError("ADREF_DATA_KEY has the same key id as a key in"
                                  " ADREF_DATA_KEY_PREVIOUS; make another with `adref keys new`")
        if self.retention_days <= 0:
            raise ConfigError("RETENTION_DAYS must be a positive number of days")
        if self.rhi_target_hours <= 0:
            raise ConfigError("RHI_TARGET_HOURS must be a positive number of hours")
        if not 0 <= self.proxy_hops <= MAX_PROXY_HOPS:
            raise ConfigError(f"PROXY_HOPS must be between 0 and {MAX_PROXY_HOPS}")
        if self.log_format not in LOG_FORMATS:
            raise ConfigError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str], cwd: Path) -> Settings:
        """Build settings from NAME or NAME_FILE variables; cwd anchors the defaults."""
        cwd = cwd.resolve()
        env = _Reader(environ, cwd)
        mode = env.get("ADREF_ENV") or "development"
        if mode not in ENVIRONMENTS:
            # A typo must not quietly turn production into development mode.
            raise ConfigError(f"ADREF_ENV must be one of {', '.join(ENVIRONMENTS)}, not {mode!r}")
        production = mode == "production"

        secret_key = env.get("SECRET_KEY")
        data_key_text = env.get("ADREF_DATA_KEY")
        if production:
            secret_key = _require_secret("SECRET_KEY", secret_key, MIN_SECRET_KEY_CHARS)
            data_key_text = _require_secret("ADREF_DATA_KEY", data_key_text, 1)
        else:
            # Generated once and kept beside the database, so the embedded default just
            # works and a restart can still decrypt what it stored.
            secret_key = secret_key or _local_secret(cwd / SECRET_KEY_FILE, _new_secret_key)
            data_key_text = data_key_text or _local_secret(cwd / DATA_KEY_FILE, new_data_key)
        data_key = decode_data_key(data_key_text)
        if production and len(set(data_key)) == 1:
            raise ConfigError("ADREF_DATA_KEY is a placeholder (one byte repeated)")
        previous_keys = tuple(
            decode_data_key(text.strip(), "ADREF_DATA_KEY_PREVIOUS")
            for text in (env.get("ADREF_DATA_KEY_PREVIOUS") or "").split(",") if text.strip())

        content = env.get("ADREF_CONTENT_DIR")
        multiproc_dir = env.get("PROMETHEUS_MULTIPROC_DIR")
        settings = cls(
            database_url=env.get("DATABASE_URL") or f"sqlite:///{cwd / 'adref.db'}",
            secret_key=secret_key,
            data_key=data_key,
            public_base_url=_base_url("PUBLIC_BASE_URL", env.get("PUBLIC_BASE_URL")),
            rhi_target_hours=_int("RHI_TARGET_HOURS", env.get("RHI_TARGET_HOURS"), 72),
            production=production,
            content_dir=cwd / content if content else default_content_dir(),
            telegram_bot_token=env.get("TELEGRAM_BOT_TOKEN"),
            telegram_webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET"),
            telegram_api_base_url=_base_url(
                "TELEGRAM_API_BASE_URL", env.get("TELEGRAM_API_BASE_URL")
            ),
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID"),
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN"),
            twilio_from=env.get("TWILIO_FROM"),
            twilio_api_base_url=_base_url("TWILIO_API_BASE_URL", env.get("TWILIO_API_BASE_URL")),
            log_format=(env.get("LOG_FORMAT") or ("json" if production else "text")).lower(),
            log_level=(env.get("LOG_LEVEL") or "INFO").upper(),
            metrics_token=env.get("METRICS_TOKEN"),
            metrics_multiproc_dir=_directory("PROMETHEUS_MULTIPROC_DIR", cwd, multiproc_dir),
            proxy_hops=_int("PROXY_HOPS", env.get("PROXY_HOPS"), 0),
            previous_data_keys=previous_keys,
            retention_days=_int("RETENTION_DAYS", env.get("RETENTION_DAYS"), 30),
        )
        if production:
            _check_channels(settings)
            if settings.metrics_token is not None:
                # Metrics are optional, so an unset token is fine; a weak one is not.
                _require_secret("METRICS_TOKEN", settings.metrics_token,
                                MIN_METRICS_TOKEN_CHARS)
        return settings


class _Reader:
    """Reads NAME, or the stripped contents of the file named by NAME_FILE."""

    def __init__(self, environ: Mapping[str, str], cwd: Path) -> None:
        self._environ = environ
        self._cwd = cwd

    def get(self, name: str) -> str | None:
        """Return the variable's value, or None when it is unset or blank."""
        value = self._environ.get(name, "").strip()
        file_name = self._environ.get(f"{name}_FILE", "").strip()
        if value and file_name:
            raise ConfigError(f"set {name} or {name}_FILE, not both")
        if file_name:
            try:
                value = (self._cwd / file_name).read_text(encoding="utf-8").strip()
            except OSError as error:
                raise ConfigError(f"{name}_FILE: cannot read {file_name}: {error}") from error
        return value or None


def new_data_key() -> str:
    """Return a fresh data key, encoded as ADREF_DATA_KEY expects."""
    return base64.urlsafe_b64encode(secrets.token_bytes(DATA_KEY_BYTES)).decode("ascii")


def decode_data_key(text: str, name: str = "ADREF_DATA_KEY") -> bytes:
    """Decode a data key (urlsafe base64 of 32 bytes); name is the variable it came from."""
    try:
        key = base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))
    except (binascii.Error, UnicodeEncodeError) as error:
        raise ConfigError(f"{name} is not urlsafe base64") from error
    if len(key) != DATA_KEY_BYTES:
        raise ConfigError(
            f"{name} must encode {DATA_KEY_BYTES} bytes, not {len(key)};"
            " make one with: adref keys new"
        )
    return key


def _new_secret_key() -> str:
    return secrets.token_urlsafe(48)


def _is_placeholder(value: str) -> bool:
    normalised = "".join(c for c in value.lower() if c.isalnum())
    return normalised in PLACEHOLDERS or len(set(value)) <= 1


def _require_secret(name: str, value: str | None, min_chars: int) -> str:
    if value is None:
        raise ConfigError(f"{name} is required in production (set {name} or {name}_FILE)")
    if _is_placeholder(value):
        raise ConfigError(f"{name} is a placeholder; set a real secret in production")
    if len(value) < min_chars:
        raise ConfigError(f"{name} must be at least {min_chars} characters in production")
    return value


def _local_secret(path: Path, make: Callable[[], str]) -> str:
    """Return the secret kept in path, creating it (mode 0600) on first use."""
    try:
        existing = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        existing = ""
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error}") from error
    if existing:
        return existing
    value = make()
    temporary = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(value + "\n")
        # link() fails if another process created the file first; then use theirs, so
        # two processes starting together never end up with different keys.
        os.link(temporary, path)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    except OSError as error:
        raise ConfigError(f"cannot create {path}: {error}") from error
    finally:
        temporary.unlink(missing_ok=True)
    return value


def _int(name: str, value: str | None, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as error:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from error


def _base_url(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not value.startswith(("https://", "http://")):
        raise ConfigError(f"{name} must start with https:// or http://")
    return value.rstrip("/")


def _directory(name: str, cwd: Path, value: str | None) -> Path | None:
    if value is None:
        return None
    path = cwd / value
    if not path.is_dir():
        # Found now, not on the first message: every count would fail to be written.
        raise ConfigError(f"{name} must be an existing directory, not {value!r}")
    return path


def _check_channels(settings: Settings) -> None:
    """Refuse channel settings that would leave a webhook unverified or a secret guessable."""
    optional_secrets = {
        "TELEGRAM_BOT_TOKEN": settings.telegram_bot_token,
        "TELEGRAM_WEBHOOK_SECRET": settings.telegram_webhook_secret,
        "TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
    }
    for name, value in optional_secrets.items():
        if value is not None and _is_placeholder(value):
            raise ConfigError(f"{name} is a placeholder; set the real value in production")
    if settings.telegram_bot_token and not settings.telegram_webhook_secret:
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET is required when TELEGRAM_BOT_TOKEN is set")
    if settings.twilio_account_sid and not settings.twilio_auth_token:
        raise ConfigError("TWILIO_AUTH_TOKEN is required when TWILIO_ACCOUNT_SID is set")
    has_channel = settings.telegram_bot_token or settings.twilio_account_sid
    if has_channel and not settings.public_base_url:
        raise ConfigError("PUBLIC_BASE_URL is required when a Telegram or Twilio channel is set")
