"""Settings for every environment, driven by environment variables (see README)."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list
from config.security import cache_from_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DJANGO_DEBUG", True)

# The development secret is public (it is in this file); it must never sign
# sessions on a server, so production refuses to start with it.
DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-never-use-in-production"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or DEVELOPMENT_SECRET_KEY
if not DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_DEBUG is false but DJANGO_SECRET_KEY is not set: refusing to run "
        "production on the built-in development secret."
    )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "drf_standardized_errors",
    "django_q",
    "orders",
    "intake",
]

MIDDLEWARE = [
    "config.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.errors.DatabaseUnavailableMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        # A connection kept across requests is checked before reuse, so a
        # restarted database costs one failed request at most, not a restart.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 5),
            # A runaway statement must not hold a worker (or locks) forever.
            "options": f"-c statement_timeout={env_int('DATABASE_STATEMENT_TIMEOUT_MS', 30000)}",
            # Parameters travel apart from the SQL (a push's 30 KB body is not escaped into
            # its INSERT's text), and psycopg prepares a statement on its fifth run, so the
            # push's statements are not parsed and planned every time (README, Performance).
            # Behind a pooler that cannot keep prepared statements (PgBouncer in transaction
            # mode before 1.21), set DATABASE_PREPARED_STATEMENTS=false.
            "server_side_binding": True,
            "prepare_threshold": 5 if env_bool("DATABASE_PREPARED_STATEMENTS", True) else None,
        }
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # Writers wait for each other instead of failing with "database is
            # locked"; IMMEDIATE takes the write lock at BEGIN, which avoids the
            # deadlock of two readers upgrading at once.
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ---------------------------------------------------------------------
# The lockout check (django-axes) runs before the password check.
AUTHENTICATION_BACKENDS = [
    "config.lockout.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation ----------------------------------------------------
# Fallback when the browser asks for neither; reviewers' zh-CN browsers get Chinese.
LANGUAGE_CODE = "en"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"  # for display; the database holds UTC
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Files browsers ask for at the site root (/favicon.ico), served by WhiteNoise in every mode.
WHITENOISE_ROOT = BASE_DIR / "config" / "public"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- REST API -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_standardized_errors.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "config.errors.ExceptionHandler",
    # Unhandled errors become JSON even with DEBUG on: an integrator must never
    # receive an HTML page, in development either.
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    # Documented on every operation in the schema; 409, 413 and 503 belong to the
    # push alone and are declared on its view.
    "ALLOWED_ERROR_STATUS_CODES": ["400", "401", "403", "404", "405", "415", "429"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Lending-risk intake API",
    "DESCRIPTION": (
        "Institutions push loan orders with the applicant's supplementary data "
        "(推送用户补充信息); staff read and export them."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from our own static files, so the CSP can stay 'self'.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        # The signed channel door: plain Django views, which the generator does not see.
        "intake.openapi.channel_paths",
    ],
}

# --- Intake -------------------------------------------------------------------
# Largest push body accepted, in bytes (contract: 5 MiB by default).
PUSH_MAX_BODY_BYTES = env_int("PUSH_MAX_BODY_BYTES", 5 * 1024 * 1024)
# Longest address book accepted, in entries.
PUSH_MAX_ADDRESS_BOOK_ENTRIES = env_int("PUSH_MAX_ADDRESS_BOOK_ENTRIES", 20_000)
# Deepest JSON nesting accepted; the payload itself is four levels deep.
PUSH_MAX_JSON_DEPTH = env_int("PUSH_MAX_JSON_DEPTH", 32)
# Most keys the protocol does not define accepted in one object (section) of a push.
PUSH_MAX_UNKNOWN_KEYS = env_int("PUSH_MAX_UNKNOWN_KEYS", 200)
# Django refuses bodies over this before our own check can answer 413 in JSON,
# so it sits above the push limit (the envelope of the channel door included).
DATA_UPLOAD_MAX_MEMORY_SIZE = PUSH_MAX_BODY_BYTES * 2 + 65536

# Key that encrypts institutions' channel keys at rest. Falls back to one derived
# from SECRET_KEY so development works without setup; production should set it.
CHANNEL_KEY_ENCRYPTION_KEY = os.environ.get("CHANNEL_KEY_ENCRYPTION_KEY", "")
# Hours a rotated API token or channel key stays valid beside its replacement, unless the
# administrator chooses otherwise for one rotation (admin action, rotate_institution_credentials).
CREDENTIAL_ROTATION_OVERLAP_HOURS = env_int("CREDENTIAL_ROTATION_OVERLAP_HOURS", 24)
# Sandbox institutions' orders older than this are deleted by the daily maintenance job.
SANDBOX_ORDERS_KEPT_HOURS = env_int("SANDBOX_ORDERS_KEPT_HOURS", 24)

# Key of the device-identifier pseudonyms that staff without the personal-data right
# see (orders/pii.py). Derived from SECRET_KEY when unset; after changing it, run
# `python manage.py recompute_pseudonyms` so stored pseudonyms follow.
PII_PSEUDONYM_KEY = os.environ.get("PII_PSEUDONYM_KEY", "")

# --- Risk signals (orders/risk/) ----------------------------------------------
# Only what differs from the defaults of orders.risk.config.DEFAULTS (severities, thresholds,
# ignored identifiers), which fill in every key left out; after a change, run recompute_risk_signals.
# Environment variables override single keys (a list of codes; the address book's minimum entries;
# the most orders one signal links to, and so the most reverse links one push writes).
RISK_SIGNALS = {
    key: value
    for key, value in (
        ("DISABLED", env_list("RISK_SIGNALS_DISABLED", None)),
        ("THIN_ADDRESS_BOOK_MIN_ENTRIES", env_int("RISK_THIN_ADDRESS_BOOK_MIN_ENTRIES", None)),
        ("LINKED_ORDERS_LIMIT", env_int("RISK_LINKED_ORDERS_LIMIT", None)),
    )
    if value is not None
}
# How far (seconds, either way) a signed-channel envelope's timeStamp may be from server time.
CHANNEL_TIMESTAMP_WINDOW_SECONDS = env_int("CHANNEL_TIMESTAMP_WINDOW_SECONDS", 600)

# --- Exports ------------------------------------------------------------------
# Rows read from the database's cursor, and written to the client, per chunk by the CSV exports.
EXPORT_CHUNK_SIZE = env_int("EXPORT_CHUNK_SIZE", 2000)

# --- Admin pages ----------------------------------------------------------------
# A push body larger than this is not drawn inline (order page, push log page): its size and a
# download link are shown instead. Only this prefix of each body is ever read for a page.
ADMIN_PUSH_BODY_PREVIEW_BYTES = env_int("ADMIN_PUSH_BODY_PREVIEW_BYTES", 64 * 1024)
# Newest pushes of an orderNo shown on the order page; the push log lists them all.
ADMIN_PUSH_HISTORY_LIMIT = env_int("ADMIN_PUSH_HISTORY_LIMIT", 5)

# --- Logging ------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # JSON lines (config/logging.py); personal data never goes into a log line.
    "formatters": {"json": {"()": "config.logging.JsonFormatter"}},
    # Expected refusals (403, 404 raised in a view) are logged without their traceback.
    "filters": {"expected_client_errors": {"()": "config.logging.ExpectedClientErrorFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["expected_client_errors"]}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # Replace Django's own plain-text handlers, so every line is JSON.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # SQL at DEBUG carries parameter values (phone numbers): never logged.
        "django.db.backends": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # Its "BEGIN version" banner would open every manage.py command; lockouts are warnings and still show.
        "axes.apps": {"level": "WARNING"},
        # The job engine logs every enqueue and every job at INFO (a line per push on the web servers);
        # failures are warnings and errors. JOB_LOG_LEVEL=INFO to watch the workers.
        "django-q": {"level": os.environ.get("JOB_LOG_LEVEL", "WARNING")},
    },
}

# --- Security, abuse, privacy (README "Security and privacy") --------------------
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto: DJANGO_SECURE_PROXY_SSL_HEADER=true.
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_COOKIE_AGE", 8 * 3600)  # one working day
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # Swagger UI and the admin set inline styles; scripts stay strictly 'self'.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Admin login lockout (django-axes): a username from one address is locked after
# AXES_FAILURE_LIMIT failures, for AXES_COOLOFF_TIME hours.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 30) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    AXES_IPWARE_PROXY_COUNT = env_int("AXES_IPWARE_PROXY_COUNT", 1)
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

# The cache shared by every process (database cache by default).
CACHES = {"default": cache_from_url(os.environ.get("CACHE_URL"))}
# Where rate-limit counters live: with CACHE_URL set (Redis), in that cache, whose
# INCR is atomic; otherwise in the database's own counter table (intake.PushRateWindow),
# one atomic upsert per push instead of the database cache's six statements.
PUSH_RATE_LIMIT_CACHE = "default" if os.environ.get("CACHE_URL") else None
# Pushes per minute per institution on both doors, unless the institution sets its own.
PUSH_RATE_LIMIT_PER_MINUTE = env_int("PUSH_RATE_LIMIT_PER_MINUTE", 600)
# Refusals before authentication (bad token or signature, unknown ua, unreadable
# envelope) answered per client address and minute before further ones get 429.
# They are push-logged once per address and minute, with their count.
PUSH_REFUSALS_PER_MINUTE = env_int("PUSH_REFUSALS_PER_MINUTE", 30)
# Retry-After (seconds) of every 503 (database unavailable): a client waits this long, not hammers.
OUTAGE_RETRY_AFTER_SECONDS = env_int("OUTAGE_RETRY_AFTER_SECONDS", 30)

# Days after which an order's address book, raw push body and device identifiers are
# purged by `manage.py purge_personal_data` (PIPL: shortest retention necessary).
PERSONAL_DATA_RETENTION_DAYS = env_int("PERSONAL_DATA_RETENTION_DAYS", 180)

# Background jobs (django-q2 on its ORM broker: jobs are rows of this database; see config/jobs.py).
# A queue is one of the engine's clusters; a worker serves the queue named by its
# Q_CLUSTER_NAME (the Procfile's worker lines). Timeouts and leases per queue: a job
# running past `timeout` is stopped; one whose worker died is handed to another worker
# after `retry` seconds (its lease), at most `max_attempts` times.
JOB_WORKERS = env_int("JOB_WORKERS", 2)
JOB_LEASE_SECONDS = env_int("JOB_LEASE_SECONDS", 60)
JOB_QUEUES = {
    # Risk signals: seconds after each push.
    "signals": {"timeout": 30, "retry": JOB_LEASE_SECONDS, "workers": JOB_WORKERS},
    # Decision deliveries: a slow receiver may hold a worker for its timeout.
    "deliveries": {"timeout": 30, "retry": JOB_LEASE_SECONDS, "workers": JOB_WORKERS},
    # The daily purge and the clean-ups: long, rare, never in the way of the others.
    "maintenance": {"timeout": 3600, "retry": 3700, "workers": 1},
}
Q_CLUSTER = {
    "name": "signals",
    "orm": "default",
    **JOB_QUEUES["signals"],
    "max_attempts": 5,
    # A job that raised is recorded as failed (the admin can resubmit it), not handed out again:
    # each job retries itself with its own backoff (config.jobs.retry_later).
    "ack_failures": True,
    # The newest finished jobs kept for the admin; older ones are deleted by the engine.
    "save_limit": env_int("JOB_FINISHED_KEPT", 5000),
    # Seconds an idle worker waits before asking the database again (tests shorten it).
    "poll": float(os.environ.get("JOB_POLL", "0.1")),
    "catch_up": False,
    "label": "Jobs",
    "ALT_CLUSTERS": {name: options for name, options in JOB_QUEUES.items() if name != "signals"},
}
# Tests run jobs at once in the caller's process (tests/conftest.py); never set in production.
JOBS_INLINE = False
# Periodic jobs, kept in the engine's schedule table after every migrate (config.jobs.schedules_ensure).
JOB_SCHEDULES = {
    "platform: sweep pending risk signals": ("orders.risk.tasks.risk_signals_sweep", 1, "signals"),
    "platform: purge personal data": ("orders.tasks.personal_data_purge_job", 24 * 60, "maintenance"),
    "platform: clean up finished jobs": ("config.jobs.jobs_cleanup", 60, "maintenance"),
    "platform: sweep decision deliveries": ("orders.feedback.tasks.deliveries_sweep", 1, "deliveries"),
    "platform: purge sandbox orders": ("orders.tasks.sandbox_orders_purge_job", 24 * 60, "maintenance"),
}
# Failed jobs and leftover one-off schedules are kept this many days for the admin, then deleted.
JOB_FAILED_KEPT_DAYS = env_int("JOB_FAILED_KEPT_DAYS", 30)

# Decisions delivered to institutions (orders/feedback/, docs/integration.md). Feedback URLs are https;
# these hosts, addresses or CIDR networks are the only destinations allowed over http or in private
# and loopback ranges (tests: 127.0.0.1). A host name listed is trusted whatever it resolves to.
FEEDBACK_ALLOWED_HOSTS = env_list("FEEDBACK_ALLOWED_HOSTS", [])
# The retry schedule: FIRST seconds, doubling, at most CAP between attempts (±10%), for WINDOW
# seconds after the decision, then failed. Shorten them only for a test with real workers.
FEEDBACK_RETRY_FIRST_SECONDS = env_int("FEEDBACK_RETRY_FIRST_SECONDS", 30)
FEEDBACK_RETRY_CAP_SECONDS = env_int("FEEDBACK_RETRY_CAP_SECONDS", 3600)
FEEDBACK_RETRY_WINDOW_SECONDS = env_int("FEEDBACK_RETRY_WINDOW_SECONDS", 72 * 3600)
