"""Settings shared by every environment; every value comes from the environment."""

import logging
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _
from environ.fileaware_mapping import FileAwareMapping

from alliance import logs

BASE_DIR = Path(__file__).resolve().parent.parent.parent


class _SecretFiles(FileAwareMapping):
    """`VAR_FILE=/run/secrets/var` supplies VAR from that file (docker secrets), without its final newline."""

    def __getitem__(self, key: str) -> str:
        value = super().__getitem__(key)
        return value.rstrip("\r\n") if self.env.get(key + "_FILE") else value


env = environ.FileAwareEnv()
env.ENVIRON = _SecretFiles()
# A local, git-ignored env file holds the secrets `make run` generates once.
LOCAL_ENV_FILE = Path(env.str("ALLIANCE_ENV_FILE", default=str(BASE_DIR / ".env.local")))
if LOCAL_ENV_FILE.exists():
    environ.Env.read_env(LOCAL_ENV_FILE, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY")
ALLIANCE_KEK = env.str("ALLIANCE_KEK")
# Ed25519 results a process remembers, keyed by the exact key, signing input and signature (ports/signing.py).
SIGNATURE_MEMO_SIZE = env.int("SIGNATURE_MEMO_SIZE", default=200_000)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
WEBHOOK_ALLOWED_HOSTS = env.list("WEBHOOK_ALLOWED_HOSTS", default=[])
# Webhooks: a CA bundle for receivers behind a private CA (default: the public CAs), the first
# retry delay (doubling up to the cap), how long failures are retried before a dead letter, the timeout.
WEBHOOK_CA_BUNDLE = env.str("WEBHOOK_CA_BUNDLE", default="")
WEBHOOK_BACKOFF_SECONDS = env.float("WEBHOOK_BACKOFF_SECONDS", default=30)
WEBHOOK_BACKOFF_MAX_SECONDS = env.float("WEBHOOK_BACKOFF_MAX_SECONDS", default=3600)
WEBHOOK_RETRY_HOURS = env.float("WEBHOOK_RETRY_HOURS", default=24)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10)
VAR_DIR = Path(env.str("ALLIANCE_VAR_DIR", default=str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    # Lowest first: ports (reference data, members, keys, audit), then what people write and what
    # scanners push, then what is built on both (correlation, trends), then delivery to the outside.
    "ports",
    "notifications",
    "sharing",
    "scans",
    "correlation",
    "trends",
    "webhooks",
    "interop",
    "federation",
    "retention",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "alliance.middleware.RejectNulQueryMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the `django_language` cookie set by the switcher (`set_language`), else the
    # browser's Accept-Language. A member's stored preference, once the account page keeps one, is
    # activated by a middleware placed after AuthenticationMiddleware (it calls translation.activate).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # The member's language from the account page, else the browser's (after authentication: it reads the profile).
    "ports.middleware.ReaderLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "ports.middleware.ReaderTimezoneMiddleware",
    # After the session timeouts and django-otp: nothing but the verify form until the second factor is given.
    "ports.middleware.SecondFactorGateMiddleware",
    # axes must be last: it turns lockouts into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "alliance.urls"
WSGI_APPLICATION = "alliance.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "access.context_processors.reader",
                "notifications.context_processors.unread",
                "ports.context_processors.invitations",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'alliance.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and IMMEDIATE transactions: web, worker, beat and the simulator write
    # concurrently; a deferred transaction that upgrades to a write lock fails
    # with "database is locked" instead of waiting.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    # PostgreSQL's JIT compiles a plan whose cost estimate passes jit_above_cost: the TAXII pages' per-entry
    # probes paid 45-70 ms of compilation for a 5 ms query (docs/benchmarks.md). Every query here is short.
    if not env.bool("PG_JIT", default=False):
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = (options.get("options", "") + " -c jit=off").strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "alliance",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)  # absolute lifetime
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Lockout per (username, address) pair, so one attacker cannot lock a whole
# agency out from elsewhere and one address cannot spray many usernames forever.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_TEMPLATE = "ports/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)

OTP_TOTP_ISSUER = "Alliance Exchange"

# The portal speaks English, Dutch, French and German (SPEC section 8); dates and numbers follow
# the language (Django's per-language formats). Catalogues live in locale/ and are compiled by
# `make run` and `make test` (the .mo files are not committed).
LANGUAGE_CODE = "en-gb"
LANGUAGES = [("en-gb", _("English")), ("nl", _("Dutch")), ("fr", _("French")), ("de", _("German"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["alliance.formats"]  # only where Django's own formats do not suit (24-hour clock in English)
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Strict CSP: no inline script or style anywhere, everything served from self.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ports.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["ports.permissions.IsMember"],
    "DEFAULT_PAGINATION_CLASS": "alliance.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "alliance.schema.AutoSchema",  # documents the error answers of every operation
    "EXCEPTION_HANDLER": "alliance.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Names the field of a NaN or a too-deep nesting instead of a 500 or an anonymous parse error.
    "DEFAULT_PARSER_CLASSES": [
        "alliance.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "alliance.throttling.FailOpenUserThrottle",
        "alliance.throttling.FailOpenAnonThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("THROTTLE_USER", default="6000/min"),
        "anon": env.str("THROTTLE_ANON", default="600/min"),
        "node": env.str("THROTTLE_NODE", default="3000/min"),
    },
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%SZ",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Alliance Exchange API",
    "DESCRIPTION": "Signed alerts, best practices and scan results shared between the ports of the European Ports Alliance.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several resources have a `status`; name each vocabulary explicitly.
    "ENUM_NAME_OVERRIDES": {
        "DocumentStatusEnum": "sharing.models.alerts.DocumentStatus",
        "KeyStatusEnum": "ports.models.KeyStatus",
        "VerdictEnum": "scans.models.scans.Verdict",  # scans' verdict and subscriptions' min_verdict
    },
}

# Email (SPEC section 8): SMTP in production; `make run` writes files under var/mail, read by /mail/.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Alliance Exchange <no-reply@alliance.invalid>")
# The portal's address as members reach it: the links in email start with it.
PORTAL_URL = env.str("PORTAL_URL", default="http://localhost:8000").rstrip("/")

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = 3600
# Tasks record their effects in the database; nobody waits on a result. Without this, every
# enqueue subscribes to the Redis result store, and with Redis down a push would stall for
# twenty reconnect attempts (and leave the web process's result consumer broken).
CELERY_TASK_IGNORE_RESULT = True
# With the broker down, give up quickly: the outbox sweep relays whatever was not enqueued.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 1}
CELERY_TIMEZONE = "UTC"
# Every periodic task of the project; `celery -A alliance beat` with no options runs them all.
# An outbox row older than this is taken by the sweep (its own relay task was lost).
RELAY_PENDING_AFTER_SECONDS = env.int("RELAY_PENDING_AFTER_SECONDS", default=120)
# Retention in days per object kind (0 = keep forever); the daily beat task `sharing.purge_expired`
# deletes what is older and audits each run. Alerts count from their last version (and not before they expire).
RETENTION_DAYS_ALERTS = env.int("RETENTION_DAYS_ALERTS", default=5 * 365)
RETENTION_DAYS_FEEDBACK = env.int("RETENTION_DAYS_FEEDBACK", default=5 * 365)
RETENTION_DAYS_SCANS = env.int("RETENTION_DAYS_SCANS", default=3 * 365)
RETENTION_DAYS_DELIVERIES = env.int("RETENTION_DAYS_DELIVERIES", default=365)
RETENTION_DAYS_NOTIFICATIONS = env.int("RETENTION_DAYS_NOTIFICATIONS", default=365)
CELERY_BEAT_SCHEDULE: dict = {
    # Displacement detection over the whole history (SPEC section 7); flags are upserted, so reruns are safe.
    "detect-displacement": {
        "task": "trends.detect_displacement",
        "schedule": env.float("DETECT_DISPLACEMENT_SECONDS", default=86400),
    },
    "audit-checkpoint": {
        "task": "ports.audit_checkpoint",
        "schedule": env.float("AUDIT_CHECKPOINT_SECONDS", default=600),
    },
    # Relays whatever has been pending for more than two minutes (a lost enqueue, a dead worker).
    "relay-sweep": {"task": "sharing.relay_sweep", "schedule": env.float("RELAY_SWEEP_SECONDS", default=60)},
    # Webhook attempts that are due (a retry whose countdown the broker lost, a delivery without an attempt).
    "webhook-sweep": {"task": "webhooks.sweep", "schedule": env.float("WEBHOOK_SWEEP_SECONDS", default=60)},
    # The periodic verifier: counts exclude invalid objects after its next run.
    "verify-signatures": {
        "task": "sharing.verify_signatures",
        "schedule": env.float("VERIFY_EVERY_SECONDS", default=600),
    },
    # Retention: deletes what is older than the RETENTION_DAYS_* settings, in batches; audited per kind.
    "purge-expired": {"task": "sharing.purge_expired", "schedule": env.float("PURGE_EXPIRED_SECONDS", default=86400)},
    # ---- interop: numbers feed entries a crash left unnumbered (each write numbers its own after commit).
    # Email: each member's daily digest of their last complete local day (their own time zone); hourly, safe twice.
    "email-digests": {
        "task": "notifications.send_digests",
        "schedule": env.float("EMAIL_DIGEST_SECONDS", default=3600),
    },
    "feed-sequence": {"task": "interop.sequence_feed", "schedule": env.float("FEED_SEQUENCE_SECONDS", default=10)},
    # ---- federation (SPEC 10.2): pull every peer's federation collection from its cursor.
    "federation-sync": {"task": "federation.sync_peers", "schedule": env.float("FEDERATION_SYNC_SECONDS", default=10)},
}

# ---- operations (issue 17): JSON logs, metrics, probes, heartbeats, trusted proxy
# Logs: JSON lines on stdout (time, level, logger, message, request_id or task_id); LOG_FORMAT=console for a
# human at a terminal. django-structlog binds the ids; alliance.logs holds the one formatter.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = logs.logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT)
logs.configure_structlog()
DJANGO_STRUCTLOG_CELERY_ENABLED = True
DJANGO_STRUCTLOG_STATUS_2XX_LOG_LEVEL = logging.DEBUG  # gunicorn's access line already says it
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = logging.DEBUG
INSTALLED_APPS += ["django_structlog"]
# Metrics after SecurityMiddleware's redirect (so a redirect is counted), the request id bound right after
# the user is known (django-structlog logs the user id), its header set inside that.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "alliance.metrics.RequestMetricsMiddleware"
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "alliance.middleware.RequestLogMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("alliance.middleware.RequestLogMiddleware") + 1, "alliance.middleware.RequestIdHeaderMiddleware"
)
# X-Forwarded-For/-Proto/-Host are believed only from these addresses (the TLS proxy); from anyone else they
# are removed before any middleware reads them (alliance.middleware.TrustedProxyMiddleware).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
MIDDLEWARE.insert(0, "alliance.middleware.TrustedProxyMiddleware")
# GET /metrics answers only these addresses or networks (the Prometheus server); everyone else gets 403.
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
# The worker serves its task figures on this port (0: not at all); Prometheus scrapes it beside /metrics.
METRICS_WORKER_PORT = env.int("METRICS_WORKER_PORT", default=0)
METRICS_WORKER_ADDR = env.str("METRICS_WORKER_ADDR", default="127.0.0.1")
# Heartbeats (alliance.heartbeat): how often worker and beat beat, and when /healthz counts a worker gone.
HEARTBEAT_SECONDS = env.float("HEARTBEAT_SECONDS", default=10)
WORKER_HEARTBEAT_MAX_AGE = env.float("WORKER_HEARTBEAT_MAX_AGE", default=60)
CELERY_BEAT_SCHEDULER = "alliance.celery.HeartbeatScheduler"

# ---- federation (SPEC 10.1): who this instance is, and which agencies it is home to.
INSTANCE_ID = env.str("INSTANCE_ID", default="local")
INSTANCE_URL = env.str("INSTANCE_URL", default="http://localhost:8000")
# Agency slugs and `port:LOCODE` entries (every agency at that port), comma-separated; `*` = every agency.
HOME_AGENCIES = env.list("HOME_AGENCIES", default=["*"])
FEDERATION_PAGE_SIZE = env.int("FEDERATION_PAGE_SIZE", default=1000)  # at most interop's MAX_LIMIT
# Shifts federation's clock (federation.services.now) by this many seconds: fault injection for the tests of
# SPEC 10.2 ("clocks may differ by minutes"); 0 in any real deployment.
CLOCK_SKEW_SECONDS = env.float("CLOCK_SKEW_SECONDS", default=0)
FEDERATION_TIMEOUT_SECONDS = env.float("FEDERATION_TIMEOUT_SECONDS", default=20)
