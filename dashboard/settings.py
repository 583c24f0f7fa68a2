"""Podium settings. Everything that differs between machines comes from the environment;
`.env.example` lists every variable. The defaults are the embedded ones: SQLite, a local Redis,
and the democluster the run command starts."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from dashboard.env import envbool, envint, envlist, envstr, envurl, load_env_file, private_file
from workloads.oidc.config import parse_role_map
from workloads.roles import ROLES

BASE_DIR = Path(__file__).resolve().parent.parent
# The environment wins; then a .env beside manage.py; then var/dev.env, which only the run and
# test commands write (development mode, this checkout's key and Redis), so that manage.py in a
# new shell sees what `make run` uses. A production image has neither file (see its dockerignore).
# The test command turns the files off: tests set what they need.
if envbool("PODIUM_ENV_FILES", "true"):
    load_env_file(BASE_DIR / ".env")
VAR_DIR = Path(envstr("PODIUM_VAR_DIR", str(BASE_DIR / "var")))
if envbool("PODIUM_ENV_FILES", "true"):
    load_env_file(VAR_DIR / "dev.env")

DEBUG = envbool("DEBUG", "false")
# The embedded, single-machine mode of the run and test commands: static files served from the
# source tree without collectstatic, and (for the test suite only, which writes no dev.env) a
# built-in development key.
DEV = envbool("PODIUM_DEV", "false")
SECRET_KEY = envstr("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and not DEV:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off. For development, `make run` (or `make test`) writes "
            "var/dev.env with a key of this checkout's own; in production, set SECRET_KEY."
        )
    # Django's deploy check (security.W009) flags a key with this prefix, so `check --deploy` says it is in use.
    SECRET_KEY = "django-insecure-podium-dev-only-key-do-not-use-in-production-0123456789abcdef"
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "channels",
    "django_htmx",
    "template_partials",
    "workloads",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "workloads.identity.ActingPersonMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Refreshes a session signed in with OpenID Connect when its ID token expires, or ends it.
    "workloads.oidc.middleware.OIDCSessionMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
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
                "workloads.context_processors.navigation",
                "workloads.oidc.context_processors.oidc",
            ],
        },
    },
]
WSGI_APPLICATION = None
ASGI_APPLICATION = "dashboard.asgi.application"

DATABASE_URL = envurl(
    "DATABASE_URL", f"sqlite:///{VAR_DIR / 'podium.sqlite3'}", schemes=("sqlite", "postgres", "postgresql")
)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", "0", minimum=0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    if not str(DATABASES["default"]["NAME"]).startswith((":memory:", "file:")):
        private_file(DATABASES["default"]["NAME"])
    # WAL lets the Celery worker write while the web process reads; IMMEDIATE transactions and a
    # busy timeout make concurrent writers wait for each other instead of failing with "locked".
    # Memory-mapped reads: each watcher's connection drops its page cache whenever another one wrote, and
    # would otherwise copy the pages in again with a read() each. A checkpoint once the WAL holds 10,000 pages
    # (40 MB), not SQLite's 1,000: a busy cluster rewrites the same rows' pages, which a checkpoint copies (and
    # syncs) once however often they were written; at 1,000 checkpoints were a third of the watchers' CPU.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA mmap_size=1073741824;"
        " PRAGMA wal_autocheckpoint=10000;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file (not memory) so that the worker and ASGI processes of full-stack tests share it; one
    # per test run so that two runs on one machine never delete each other's.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-podium-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = envurl("REDIS_URL", "redis://127.0.0.1:6379/0", schemes=("redis", "rediss", "unix"))

CHANNEL_LAYERS = {
    "default": {
        # The pub/sub layer: group sends are one PUBLISH, no per-channel lists to poll.
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL]},
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", "300", minimum=1)
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", "330", minimum=1)
CELERY_TASK_ROUTES = {"workloads.tasks.watch_kind": {"queue": "sync"}}
CELERY_BEAT_SCHEDULE = {
    "ensure-watchers": {
        "task": "workloads.tasks.ensure_watchers",
        "schedule": envint("PODIUM_ENSURE_WATCHERS_SECONDS", "5", minimum=1),
    },
    "prune-deleted": {
        "task": "workloads.tasks.prune_deleted",
        "schedule": envint("PODIUM_PRUNE_SECONDS", "3600", minimum=1),
    },
}
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes): after PODIUM_LOGIN_FAILURE_LIMIT wrong passwords for one username from one
# address, that username is refused from that address, even with the right password, for
# PODIUM_LOGIN_COOLOFF_MINUTES. Per username and address together, so that nobody can lock another person out
# from everywhere, and other people signing in from the same address are not affected.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = envint("PODIUM_LOGIN_FAILURE_LIMIT", "5", minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("PODIUM_LOGIN_COOLOFF_MINUTES", "15", minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "workloads:overview"
LOGOUT_REDIRECT_URL = "login"

# Sign-in with OpenID Connect (mozilla-django-oidc, workloads/oidc/), beside the password form; off unless
# PODIUM_OIDC_ISSUER is set. The endpoints come from the issuer's discovery document. The backend and middleware are
# always installed and do nothing while it is off.
PODIUM_OIDC_ISSUER = (
    envurl("PODIUM_OIDC_ISSUER", "", schemes=("https", "http")) if envstr("PODIUM_OIDC_ISSUER", "") else ""
)
PODIUM_OIDC_CLIENT_ID = envstr("PODIUM_OIDC_CLIENT_ID", "")
PODIUM_OIDC_CLIENT_SECRET = envstr("PODIUM_OIDC_CLIENT_SECRET", "")
if PODIUM_OIDC_ISSUER and not (PODIUM_OIDC_CLIENT_ID and PODIUM_OIDC_CLIENT_SECRET):
    raise ImproperlyConfigured(
        "PODIUM_OIDC_ISSUER is set: PODIUM_OIDC_CLIENT_ID and PODIUM_OIDC_CLIENT_SECRET must be too."
    )
PODIUM_OIDC_SCOPES = envstr("PODIUM_OIDC_SCOPES", "openid email profile")
if PODIUM_OIDC_ISSUER and "openid" not in PODIUM_OIDC_SCOPES.split():
    raise ImproperlyConfigured(f"PODIUM_OIDC_SCOPES must include openid, not {PODIUM_OIDC_SCOPES!r}")
PODIUM_OIDC_PROVIDER_NAME = envstr("PODIUM_OIDC_PROVIDER_NAME", "OpenID Connect")
PODIUM_OIDC_USERNAME_CLAIM = envstr("PODIUM_OIDC_USERNAME_CLAIM", "preferred_username")
PODIUM_OIDC_GROUPS_CLAIM = envstr("PODIUM_OIDC_GROUPS_CLAIM", "groups")
# The claim's groups become Django groups named with this prefix, so that a provider group called "admin" is never
# Podium's admin role; only PODIUM_OIDC_ROLE_MAP gives roles.
PODIUM_OIDC_GROUP_PREFIX = envstr("PODIUM_OIDC_GROUP_PREFIX", "oidc:")
try:
    PODIUM_OIDC_ROLE_MAP = parse_role_map(envstr("PODIUM_OIDC_ROLE_MAP", ""), list(ROLES))
except ValueError as exc:
    raise ImproperlyConfigured(str(exc)) from None
PODIUM_OIDC_SIGN_ALGO = envstr("PODIUM_OIDC_SIGN_ALGO", "RS256")
PODIUM_OIDC_TIMEOUT = envint("PODIUM_OIDC_TIMEOUT", "10", minimum=1)
AUTHENTICATION_BACKENDS.append("workloads.oidc.backend.OIDCBackend")
# mozilla-django-oidc's own settings that Podium's subclasses do not replace.
OIDC_USE_NONCE = True
OIDC_USE_PKCE = True
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"

LANGUAGE_CODE = "en"
# English and Simplified Chinese; the browser's Accept-Language picks one, the header's switcher (Django's
# set_language view, a cookie) remembers a choice. The catalog is locale/zh_Hans/LC_MESSAGES/django.po;
# scripts/messages.sh compiles it (the run and test commands do) and updates it from the source (`make messages`).
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = envstr("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not (DEBUG or DEV)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or DEV
WHITENOISE_AUTOREFRESH = DEBUG or DEV

# Security. Behind TLS in production; the embedded run serves plain HTTP on localhost.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "false")
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", "false")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "0", minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "true" if SECURE_HSTS_SECONDS else "false")
# Preloading is a promise, for the whole domain, that is hard to take back: only when asked for. Django's deploy
# check warns when it is off (security.W021); that is the choice made here, so that one warning is silenced.
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "false")
SILENCED_SYSTEM_CHECKS = ["security.W021"] if SECURE_HSTS_SECONDS and not SECURE_HSTS_PRELOAD else []
if SECURE_HSTS_PRELOAD and (SECURE_HSTS_SECONDS < 31536000 or not SECURE_HSTS_INCLUDE_SUBDOMAINS):
    raise ImproperlyConfigured(
        "SECURE_HSTS_PRELOAD needs SECURE_HSTS_SECONDS of at least 31536000 (a year) and "
        "SECURE_HSTS_INCLUDE_SUBDOMAINS=true, as the preload list requires."
    )
# Content-Security-Policy (django-csp): scripts and styles only from Podium's own static files, no inline script
# or style (pages have none: htmx is told not to inject its indicator styles, see base.html), no eval, the live
# socket to this origin only, and no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if envbool("BEHIND_TLS_PROXY", "false") else None
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# A refused POST (no CSRF token) is recorded in the audit trail like any other refused change.
CSRF_FAILURE_VIEW = "workloads.edits.views.csrf_failure"

LOG_LEVEL = envstr("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {LOG_LEVEL!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "dashboard.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json" if envbool("LOG_JSON", "false") else "plain"}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}

# How long objects deleted in a cluster stay in the mirror for history; Celery beat prunes them
# every PODIUM_PRUNE_SECONDS (workloads/sync/prune.py).
PODIUM_DELETED_RETENTION_HOURS = envint("PODIUM_DELETED_RETENTION_HOURS", "24", minimum=1)
# How long one watch task runs before it hands over to a fresh one, in seconds.
PODIUM_WATCH_RUN_SECONDS = envint("PODIUM_WATCH_RUN_SECONDS", "600", minimum=1)
# Pages say "the mirror is N s behind" once a watcher writes events this many seconds after they arrived.
PODIUM_LAG_SHOWN_SECONDS = envint("PODIUM_LAG_SHOWN_SECONDS", "5", minimum=1)
# Live frames carry only the rows and elements of a partial that changed (workloads/live/diff.py); false sends each
# changed partial whole, as before (slower on large pages; for comparison, and should a page ever look stale).
PODIUM_LIVE_ELEMENT_SWAPS = envbool("PODIUM_LIVE_ELEMENT_SWAPS", "true")
# The democluster the run command starts writes its kubeconfig here.
PODIUM_DEMOCLUSTER_KUBECONFIG = envstr("PODIUM_DEMOCLUSTER_KUBECONFIG", str(VAR_DIR / "democluster.kubeconfig"))
# Seconds each request a person waits for (an edit, a dry run, scale, restart...) may take before Podium says the
# cluster did not answer; the watchers wait as long for a watch to be answered before they call a cluster unreachable.
PODIUM_KUBE_REQUEST_TIMEOUT = envint("PODIUM_KUBE_REQUEST_TIMEOUT", "10", minimum=1)
# Impersonation (a Cluster's "act as the signed-in person"): the groups sent are the person's groups with this
# prefix (Kubernetes' own OIDC flags call it --oidc-groups-prefix), and what the cluster says each person may
# list and do is remembered this many seconds, so a changed Role takes effect within that time.
PODIUM_IMPERSONATE_GROUP_PREFIX = envstr("PODIUM_IMPERSONATE_GROUP_PREFIX", "")
PODIUM_ACCESS_CACHE_SECONDS = envint("PODIUM_ACCESS_CACHE_SECONDS", "30", minimum=1)
# An open live socket looks again this often at what nothing else would tell it: a sign-in that has ended (an OpenID
# Connect token expired) and namespaces the cluster no longer lets the person see (its pages then drop them).
PODIUM_LIVE_RECHECK_SECONDS = envint("PODIUM_LIVE_RECHECK_SECONDS", "10", minimum=1)
# A watch that has sent nothing for this many seconds is checked: the API server must answer GET /version within
# PODIUM_KUBE_REQUEST_TIMEOUT, or the cluster is unreachable (a hung server keeps a silent watch open for minutes).
PODIUM_WATCH_PROBE_SECONDS = envint("PODIUM_WATCH_PROBE_SECONDS", "15", minimum=1)
