"""Configuration. Every setting can be overridden from the environment (see README)."""

import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _fake_hash(method: str) -> str:
    """A hash of a random secret with the configured method: checking a password against it for
    an unknown or locked account costs what a real check costs (same response time)."""
    from werkzeug.security import generate_password_hash

    return generate_password_hash(os.urandom(16).hex(), method=method)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once into instance/ (never committed)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    INSTANCE.mkdir(exist_ok=True)
    path = INSTANCE / "secret_key"
    try:  # O_EXCL: of several workers starting together, exactly one writes the key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(os.urandom(32).hex())
    for _attempt in range(50):  # a worker that lost the race waits for the winner's write
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty: set SECRET_KEY")


class Config:
    APP_NAME = "马兰花创业培训技术服务管理平台"
    SECRET_KEY = _secret_key()
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE / 'malan.db'}")
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # The owner of the schema (PostgreSQL): `flask db upgrade`, `flask malan db-roles` and
    # `flask malan purge-audit` connect with it; the web app connects with DATABASE_URL, a role
    # that owns nothing and may only INSERT and SELECT the audit log. Unset: DATABASE_URL.
    MIGRATION_DATABASE_URL = os.environ.get("MIGRATION_DATABASE_URL") or None

    # PITFALLS: tables come from migrations and permissions from `flask malan sync-roles`.
    FAB_CREATE_DB = False
    FAB_UPDATE_PERMS = False
    FAB_ADD_SECURITY_API = False
    FAB_SECURITY_MANAGER_CLASS = "security.manager.MalanSecurityManager"
    FAB_INDEX_VIEW = "views.home.HomeView"
    FAB_BASE_TEMPLATE = "malan_base.html"
    FAB_API_SWAGGER_UI = False
    AUTH_TYPE = 1  # AUTH_DB
    AUTH_ROLE_PUBLIC = "Public"
    AUTH_USER_REGISTRATION = False

    # Chinese first; English from the language menu.
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "translations")
    LANGUAGES = {
        "zh": {"flag": "cn", "name": "中文"},
        "en": {"flag": "gb", "name": "English"},
    }

    # Login hardening (等保三级 / ASVS L2), all overridable.
    PASSWORD_MIN_LENGTH = _env_int("PASSWORD_MIN_LENGTH", 8)
    PASSWORD_MAX_AGE_DAYS = _env_int("PASSWORD_MAX_AGE_DAYS", 90)
    PASSWORD_HISTORY = _env_int("PASSWORD_HISTORY", 5)
    # A new password must score at least this on zxcvbn's 0-4 scale (3: ~10^8 guesses), judged
    # with the platform's and the user's own words (security.passwords.CONTEXT_WORDS).
    PASSWORD_MIN_SCORE = _env_int("PASSWORD_MIN_SCORE", 3)
    # A password changed by its owner stays at least this long, so the history cannot be cycled
    # (an administrator's reset and the forced first change are not held by it).
    PASSWORD_MIN_AGE_DAYS = _env_int("PASSWORD_MIN_AGE_DAYS", 1)
    LOCKOUT_THRESHOLD = _env_int("LOCKOUT_THRESHOLD", 5)
    LOCKOUT_MINUTES = _env_int("LOCKOUT_MINUTES", 30)
    SESSION_IDLE_MINUTES = _env_int("SESSION_IDLE_MINUTES", 30)
    SESSION_ABSOLUTE_HOURS = _env_int("SESSION_ABSOLUTE_HOURS", 12)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=SESSION_ABSOLUTE_HOURS)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    # Strict-Transport-Security on every response once SESSION_COOKIE_SECURE=1 (or over HTTPS).
    HSTS_MAX_AGE = _env_int("HSTS_MAX_AGE", 31536000)
    # TOTP second factor (等保三级 身份鉴别): required for these roles, optional for the others.
    TWO_FACTOR_REQUIRED_ROLES = tuple(
        r.strip()
        for r in os.environ.get(
            "TWO_FACTOR_REQUIRED_ROLES", "center,province,sysadmin,secadmin,auditor"
        ).split(",")
        if r.strip()
    )
    TOTP_ISSUER = os.environ.get("TOTP_ISSUER", "马兰花创业培训平台")
    # Accepted clock drift, in 30-second steps either side.
    TOTP_VALID_WINDOW = _env_int("TOTP_VALID_WINDOW", 1)
    # Between the right password and the second factor: this long to enter the code.
    TWO_FACTOR_PENDING_MINUTES = _env_int("TWO_FACTOR_PENDING_MINUTES", 5)
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)
    FAB_PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "scrypt")
    AUTH_DB_FAKE_PASSWORD_HASH_CHECK = _fake_hash(FAB_PASSWORD_HASH_METHOD)
    # JWT for the REST API: short access tokens; a refresh token cannot outlive the absolute limit.
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=15)
    JWT_REFRESH_TOKEN_EXPIRES = timedelta(hours=SESSION_ABSOLUTE_HOURS)

    # Sign-in throttling (security/throttle.py): per account and per (IP, account), with the
    # lockout behind them; per IP only a ceiling far above a classroom behind one NAT address.
    # Point RATELIMIT_STORAGE_URI at Redis for several workers.
    AUTH_RATE_LIMITED = True
    AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "600 per hour")  # per IP
    SIGN_IN_LIMIT_PER_ACCOUNT = os.environ.get("SIGN_IN_LIMIT_PER_ACCOUNT", "60 per hour")
    SIGN_IN_LIMIT_PER_IP_ACCOUNT = os.environ.get("SIGN_IN_LIMIT_PER_IP_ACCOUNT", "10 per minute")
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = False

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # the session lifetime bounds the token

    AUDIT_MIN_RETENTION_DAYS = 180

    # Largest page of any list, FAB's (?psize_<View>=) and the REST API's (page_size) alike.
    MAX_PAGE_SIZE = _env_int("MAX_PAGE_SIZE", 100)
    FAB_API_MAX_PAGE_SIZE = MAX_PAGE_SIZE
    # Key of the audit log's hash chain (app/audit_chain.py); unset: derived from SECRET_KEY.
    # Set it once and keep it: entries sealed with another key no longer verify.
    AUDIT_CHAIN_KEY = os.environ.get("AUDIT_CHAIN_KEY") or None

    # Number of reverse proxies (nginx) in front of the app whose X-Forwarded-* headers to trust.
    TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)

    # Annex 1 "N日内": "calendar" days, or "working" days on the official holiday calendar.
    DEADLINE_MODE = os.environ.get("DEADLINE_MODE", "calendar")

    # Trainee accounts (SPEC §9): open from two days before the class until N days after its end.
    TRAINEE_ACCOUNT_DAYS_AFTER = _env_int("TRAINEE_ACCOUNT_DAYS_AFTER", 30)
    # Evaluation forms (Annex 1 row 17): a day's form is accepted until this time of that day.
    EVALUATION_CLOSES_AT = os.environ.get("EVALUATION_CLOSES_AT", "23:59")

    # Public login-application form (views/login_applications.py): POSTs per IP.
    LOGIN_APPLICATION_RATE_LIMIT = os.environ.get("LOGIN_APPLICATION_RATE_LIMIT", "5 per hour")

    # Issued documents (app.services.documents): the CJK TrueType font embedded in the PDFs (unset:
    # fonts-wqy-microhei's, then other known paths), the address printed in the QR code and the
    # public verify page's limit per client IP.
    PDF_CJK_FONT = os.environ.get("PDF_CJK_FONT") or None
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://localhost:5000")
    VERIFY_RATE_LIMIT = os.environ.get("VERIFY_RATE_LIMIT", "30 per minute")

    # Attachments (app.services.files): kept outside the static folder, served only through a view.
    FILES_DIR = os.environ.get("FILES_DIR", str(INSTANCE / "files"))
    # 用户手册的截图 (app.services.manual): published by the acceptance test (`make manual`),
    # git-ignored, served to signed-in users only.
    MANUAL_DIR = os.environ.get("MANUAL_DIR", str(INSTANCE / "manual"))
    # Largest accepted file per kind of content, in MB (a video is allowed to be larger).
    ATTACHMENT_LIMITS = {
        "image": _env_int("ATTACHMENT_MAX_IMAGE_MB", 10),
        "document": _env_int("ATTACHMENT_MAX_DOCUMENT_MB", 50),
        "text": _env_int("ATTACHMENT_MAX_TEXT_MB", 10),
        "video": _env_int("ATTACHMENT_MAX_VIDEO_MB", 1024),
    }
    # Request bodies: 16 MB for every page (the public ones included), refused with 413 early;
    # views marked @accepts_uploads take up to the largest attachment (+1 MB of form).
    MAX_CONTENT_LENGTH = _env_int("MAX_FORM_MB", 16) * 1024 * 1024
    MAX_UPLOAD_LENGTH = (max(ATTACHMENT_LIMITS.values()) + 1) * 1024 * 1024


class TestConfig(Config):
    TESTING = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "sqlite://")
    # Scrypt costs ~0.1 s per hash; tests use a cheap method (PITFALLS, Time).
    FAB_PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    AUTH_DB_FAKE_PASSWORD_HASH_CHECK = _fake_hash(FAB_PASSWORD_HASH_METHOD)
    RATELIMIT_STORAGE_URI = "memory://"
    AUTH_RATE_LIMIT = "1000 per minute"
    SIGN_IN_LIMIT_PER_ACCOUNT = "1000 per minute"  # the suite signs the same users in all day
    SIGN_IN_LIMIT_PER_IP_ACCOUNT = "1000 per minute"
    # The fixture users sign in with a password only and change passwords freely: the tests of
    # the second factor and of the minimum age (test_two_factor.py, test_password_strength.py)
    # switch these on themselves.
    TWO_FACTOR_REQUIRED_ROLES = ()
    PASSWORD_MIN_AGE_DAYS = 0
    # Tests never write into instance/: one throw-away folder per test run (a test may override).
    FILES_DIR = os.environ.get("FILES_DIR") or os.path.join(
        tempfile.gettempdir(), f"malan-files-{os.getpid()}"
    )
    # The acceptance test publishes the manual's screenshots here; `make manual` points it at
    # instance/manual (MANUAL_DIR), a plain `make test` leaves instance/ alone.
    MANUAL_DIR = os.environ.get("MANUAL_DIR") or os.path.join(
        tempfile.gettempdir(), f"malan-manual-{os.getpid()}"
    )
