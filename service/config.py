"""Settings, read once from the environment into a frozen, typed object.

Development and test get safe defaults; production refuses to start without a real secret key
(SecureDrop's `sdconfig.py`, Arlo's `read_env_var`). Secrets are never logged.
"""

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from lottery.cosignature import WitnessVerifier, parse_witness_vkey
from lottery.errors import SignatureError

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("development", "test", "production")


class ConfigError(RuntimeError):
    """The environment does not describe a deployment that can start safely."""


@dataclass(frozen=True)
class WitnessEndpoint:
    """A C2SP tlog-witness the office submits its checkpoints to: its submission prefix (we POST to
    `<url>/add-checkpoint`) and its cosigning key."""

    url: str
    verifier: WitnessVerifier

    @property
    def name(self) -> str:
        """The witness's name (the name its cosignature lines carry)."""
        return self.verifier.name


@dataclass(frozen=True)
class Settings:
    """Everything the application reads from its environment."""

    environment: str = "development"
    secret_key: str = field(default="", repr=False)
    database_url: str = ""
    instance_dir: Path = ROOT / "instance"
    keys_dir: Path = ROOT / "keys"
    #: Name of the transparency log and of the office key (protocol §9–§10): the log origin.
    log_origin: str = "sunshine-draw.localhost/log"
    redis_url: str | None = None
    max_upload_bytes: int = 50 * 1024 * 1024
    drand_relays: tuple[str, ...] = (
        "https://api.drand.sh",
        "https://api2.drand.sh",
        "https://api3.drand.sh",
        "https://drand.cloudflare.com",
    )
    drand_timeout_seconds: float = 5.0
    #: An HTTP(S) proxy for the drand relay requests (`SUNSHINE_DRAND_PROXY`, else `HTTPS_PROXY`),
    #: e.g. "http://proxy.example.gov.tw:3128"; None = direct.
    drand_proxy: str | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    #: Unlocks the office's private key; development falls back to a file in `instance/`.
    key_passphrase: str = field(default="", repr=False)
    #: Argon2id cost for newly written private keys (lower only in tests).
    key_kdf_memory_kib: int = 262_144
    secure_cookies: bool = False
    #: The least notice between announcing a draw and its start (protocol §4: 24 hours, never less
    #: in production; development and test may lower it).
    min_notice_hours: int = 24
    #: Development and test only: a file holding the time (`2023-09-15T10:45:00Z`) that the draw
    #: timing rules take as now, so tests move the clock of running servers without sleeping.
    clock_file: Path | None = None
    #: Where sign-in attempts and failures are counted (`service.throttle`): "" = Redis when
    #: `redis_url` is set, else the database; "memory" = this process only (one process, never production
    #: with several workers).
    login_counting: str = ""
    #: How long a new API token lasts (`SUNSHINE_API_TOKEN_DAYS`).
    api_token_days: int = 90
    #: The data key that seals personal data at rest (`service.sealing`): 32 bytes as 64 hex
    #: characters or base64, from `SUNSHINE_DATA_KEY`, else read from `SUNSHINE_DATA_KEY_FILE`;
    #: development and test fall back to `keys/dev-data.key` (never the instance folder).
    data_key: str = field(default="", repr=False)
    data_key_file: Path | None = None
    #: Days a checked but not imported upload keeps its bytes before `flask uploads purge`
    #: (and every new upload) deletes them.
    upload_retention_days: int = 7
    #: Days a drawn declarant has to provide their documents, counted from the draw's completion
    #: (the due date printed on each notice; `SUNSHINE_NOTICE_DUE_DAYS`).
    notice_due_days: int = 30
    #: The witnesses that cosign the log's checkpoints (`SUNSHINE_WITNESSES`: `URL VKEY` pairs, one
    #: a line or `;`-separated); none by default, and then nothing is submitted anywhere.
    witnesses: tuple[WitnessEndpoint, ...] = ()
    #: How long one add-checkpoint request may take (`SUNSHINE_WITNESS_TIMEOUT_SECONDS`).
    witness_timeout_seconds: float = 5.0

    @property
    def testing(self) -> bool:
        """True under the test suite."""
        return self.environment == "test"

    def flask_config(self) -> dict[str, Any]:
        """The Flask config keys these settings imply."""
        return {
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
            "MAX_CONTENT_LENGTH": self.max_upload_bytes,
            "TESTING": self.testing,
            "WTF_CSRF_TIME_LIMIT": None,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.secure_cookies,
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SECURE": self.secure_cookies,
            "BABEL_DEFAULT_LOCALE": "zh_Hant_TW",
            "BABEL_DEFAULT_TIMEZONE": "Asia/Taipei",
            "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "service" / "translations"),
            "RATELIMIT_STORAGE_URI": self.redis_url or "memory://",
            "RATELIMIT_ENABLED": True,
        }

    def with_overrides(self, **changes: Any) -> "Settings":
        """A copy with some fields replaced (tests build their settings this way)."""
        return replace(self, **changes)


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build `Settings` from environment variables; refuse an unsafe production setup."""
    env = dict(os.environ if environ is None else environ)
    environment = env.get("SUNSHINE_ENV", "development")
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"SUNSHINE_ENV must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}")
    instance_dir = Path(env.get("SUNSHINE_INSTANCE_DIR", ROOT / "instance"))
    secret_key = _secret_key(env, environment, instance_dir)
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'sunshine.db'}"
    relays = tuple(r.strip() for r in env.get("DRAND_RELAYS", "").split(",") if r.strip())
    settings = Settings(
        environment=environment,
        secret_key=secret_key,
        database_url=_normalise_database_url(database_url),
        instance_dir=instance_dir,
        keys_dir=Path(env.get("SUNSHINE_KEYS_DIR", ROOT / "keys")),
        log_origin=env.get("SUNSHINE_LOG_ORIGIN", Settings.log_origin),
        redis_url=env.get("REDIS_URL") or None,
        max_upload_bytes=int(env.get("SUNSHINE_MAX_UPLOAD_MB", "50")) * 1024 * 1024,
        public_base_url=env.get("SUNSHINE_PUBLIC_URL", Settings.public_base_url).rstrip("/"),
        key_passphrase=env.get("SUNSHINE_KEY_PASSPHRASE", ""),
        key_kdf_memory_kib=int(env.get("SUNSHINE_KEY_KDF_MEMORY_KIB", str(Settings.key_kdf_memory_kib))),
        # Cookies only over HTTPS in production; a loopback test deployment may turn this off.
        secure_cookies=env.get("SUNSHINE_SECURE_COOKIES", "1" if environment == "production" else "0") == "1",
        drand_proxy=(env.get("SUNSHINE_DRAND_PROXY") or env.get("HTTPS_PROXY") or env.get("https_proxy") or "").strip()
        or None,
    )
    min_notice = _whole_number(env, "SUNSHINE_MIN_NOTICE_HOURS", "24", 0, 24 * 365, "a whole number of hours")
    if environment == "production" and min_notice < 24:
        raise ConfigError("SUNSHINE_MIN_NOTICE_HOURS cannot be below 24 in production (protocol §4)")
    login_counting = _login_counting(env, settings.redis_url)
    token_days = _whole_number(env, "SUNSHINE_API_TOKEN_DAYS", "90", 1, 366, "a whole number of days from 1 to 366")
    settings = settings.with_overrides(login_counting=login_counting, api_token_days=token_days)
    clock_file = env.get("SUNSHINE_CLOCK_FILE") or None
    if clock_file and environment == "production":
        raise ConfigError("SUNSHINE_CLOCK_FILE moves the draw clock: it is for development and tests, never production")
    retention = _whole_number(
        env, "SUNSHINE_UPLOAD_RETENTION_DAYS", "7", 1, 366, "a whole number of days from 1 to 366"
    )
    due_days = _whole_number(
        env, "SUNSHINE_NOTICE_DUE_DAYS", str(Settings.notice_due_days), 1, 365, "a whole number of days from 1 to 365"
    )
    data_key_file = env.get("SUNSHINE_DATA_KEY_FILE") or None
    settings = settings.with_overrides(
        min_notice_hours=min_notice,
        clock_file=Path(clock_file) if clock_file else None,
        data_key=env.get("SUNSHINE_DATA_KEY", "").strip(),
        data_key_file=Path(data_key_file) if data_key_file else None,
        upload_retention_days=retention,
        notice_due_days=due_days,
    )
    if relays:
        settings = settings.with_overrides(drand_relays=relays)
    witness_timeout = _witness_timeout(env)
    return settings.with_overrides(
        witnesses=parse_witnesses(env.get("SUNSHINE_WITNESSES", "")), witness_timeout_seconds=witness_timeout
    )


def _secret_key(env: dict[str, str], environment: str, instance_dir: Path) -> str:
    """`SECRET_KEY`: required and long in production, else the instance's own development secret."""
    secret_key = env.get("SECRET_KEY", "")
    if not secret_key:
        if environment == "production":
            raise ConfigError(
                "SECRET_KEY is not set: production needs a long random secret "
                '(python -c "import secrets; print(secrets.token_hex(32))")'
            )
        return _development_secret(instance_dir)
    if environment == "production" and len(secret_key) < 32:
        raise ConfigError("SECRET_KEY is too short for production: use at least 32 random characters")
    return secret_key


def _whole_number(env: dict[str, str], name: str, default: str, low: int, high: int, must_be: str) -> int:
    """The variable `name` as a whole number from `low` to `high`; else `ConfigError` saying it `must_be`."""
    text = env.get(name, default)
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise ConfigError(f"{name} must be {must_be}")
    return int(text)


def _login_counting(env: dict[str, str], redis_url: str | None) -> str:
    """`SUNSHINE_LOGIN_COUNTING`: where failed sign-ins are counted ("" for the default)."""
    login_counting = env.get("SUNSHINE_LOGIN_COUNTING", "")
    if login_counting not in ("", "redis", "database", "memory"):
        raise ConfigError("SUNSHINE_LOGIN_COUNTING must be redis, database or memory")
    if login_counting == "redis" and not redis_url:
        raise ConfigError("SUNSHINE_LOGIN_COUNTING=redis needs REDIS_URL")
    return login_counting


def _witness_timeout(env: dict[str, str]) -> float:
    """`SUNSHINE_WITNESS_TIMEOUT_SECONDS`: how long to wait for one witness, 0.1 to 120 s."""
    timeout = env.get("SUNSHINE_WITNESS_TIMEOUT_SECONDS", str(Settings.witness_timeout_seconds))
    try:
        witness_timeout = float(timeout)
    except ValueError:
        witness_timeout = -1.0
    if not 0.1 <= witness_timeout <= 120:
        raise ConfigError("SUNSHINE_WITNESS_TIMEOUT_SECONDS must be a number of seconds from 0.1 to 120")
    return witness_timeout


def parse_witnesses(text: str) -> tuple[WitnessEndpoint, ...]:
    """`SUNSHINE_WITNESSES`: `URL VKEY` pairs, one a line or separated by `;` (blank entries and
    `#` comments skipped). Refuses (`ConfigError`, naming the entry) a URL that is not http(s), a
    vkey that is not a C2SP witness key, or two witnesses of one name."""
    witnesses: list[WitnessEndpoint] = []
    entries = [entry.strip() for line in text.splitlines() for entry in line.split(";")]
    for number, entry in enumerate((e for e in entries if e and not e.startswith("#")), start=1):
        fields = entry.split()
        if len(fields) != 2:
            raise ConfigError(f"SUNSHINE_WITNESSES entry {number} must be `URL VKEY`, not {entry!r}")
        url, vkey = fields
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ConfigError(f"SUNSHINE_WITNESSES entry {number}: {url!r} is not an http(s) URL prefix")
        try:
            verifier = parse_witness_vkey(vkey)
        except (SignatureError, ValueError) as exc:
            raise ConfigError(f"SUNSHINE_WITNESSES entry {number}: not a witness vkey ({exc})") from None
        if any(known.name == verifier.name for known in witnesses):
            raise ConfigError(f"SUNSHINE_WITNESSES entry {number}: a second witness named {verifier.name!r}")
        witnesses.append(WitnessEndpoint(url.rstrip("/"), verifier))
    return tuple(witnesses)


def _normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _development_secret(instance_dir: Path) -> str:
    """A per-checkout random secret for development, kept in `instance/` (git-ignored)."""
    path = instance_dir / "dev-secret-key"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        instance_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_hex(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(value)
        return value


def settings_of(app: Flask) -> Settings:
    """The `Settings` an app was built with (`service.create_app` keeps them in its extensions)."""
    settings: Settings = app.extensions["sunshine_settings"]
    return settings
