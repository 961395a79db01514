"""Flywheel settings, read from the environment. With nothing set: the embedded default (SQLite and a
Celery broker on the local filesystem), so `make demo` needs no server."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.csp import POLICY
from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("FLYWHEEL_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)

# Nothing is fetched at run time but the LLM endpoints a user configures: LiteLLM would otherwise
# download its model price map, and DSPy keeps its disk cache beside the database, not in $HOME.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("DSPY_CACHEDIR", str(VAR_DIR / "dspy_cache"))


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if not env_bool("FLYWHEEL_EMBEDDED_SECRET", True):
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set.")
    # Embedded default: one random key per installation, kept beside the SQLite database.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",  # its widget templates, for FORM_RENDERER below
    "django_htmx",
    "template_partials",
    "labeling",
    "judging",
    "optimizer",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a login unless its view says otherwise (only the login page does).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
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
                "labeling.roles.roles_context",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

# Every form renders with templates/forms/ (label above, help below, errors beside the field).
FORM_RENDERER = "config.forms.FlywheelFormRenderer"

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'flywheel.sqlite3'}")
# Persistent connections, checked before reuse so that a database restart costs one failed check, not
# a failed request.
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A worker and the web process share the file: wait on a lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "labeling:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"  # collectstatic target for production
STATIC_ROOT.mkdir(exist_ok=True)
# Serve straight from static/ so the embedded default needs no collectstatic step.
WHITENOISE_USE_FINDERS = True

FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 10_485_760
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 200 * 1024 * 1024)
UPLOAD_DIR = VAR_DIR / "uploads"

# Model endpoints: the environment variables an endpoint may name for its key (never the app's own
# settings, see judging.endpoint_rules) and, when set, the only hosts an endpoint may call.
FLYWHEEL_KEY_ENVS = env_list(
    "FLYWHEEL_KEY_ENVS",
    [
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY",
        "MISTRAL_API_KEY",
        "GROQ_API_KEY",
        "TOGETHER_API_KEY",
        "OPENROUTER_API_KEY",
        "DEEPSEEK_API_KEY",
        "FIREWORKS_API_KEY",
        "COHERE_API_KEY",
    ],
)
FLYWHEEL_ALLOWED_API_HOSTS = [host.lower() for host in env_list("FLYWHEEL_ALLOWED_API_HOSTS", [])]

# Production transport security. Cookies are Secure unless DEBUG is on or SECURE_COOKIES=0, which the
# embedded default's `manage.py demo` sets for the app it serves on plain http://127.0.0.1.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Sent only on https responses (Django's SecurityMiddleware), so plain http is unaffected.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
if env_bool("FLYWHEEL_BEHIND_PROXY", False):
    # Only behind a proxy that sets this header itself: otherwise any client could claim https.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# config.csp; FLYWHEEL_CSP= (empty) turns the header off, e.g. behind a proxy that sets its own.
FLYWHEEL_CSP = env_str("FLYWHEEL_CSP", POLICY)

# Celery. The embedded default is kombu's filesystem transport: a queue in a folder, no server.
BROKER_DIR = VAR_DIR / "broker"
OPTIMIZER_DIR = VAR_DIR / "optimizer"  # GEPA checkpoints of unfinished optimization runs
# A hostname of its own (unused by the transport): without one, kombu warns on every connection.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://localhost/")


def filesystem_broker_options(folder: Path) -> dict:
    """kombu's filesystem transport, its queue and control files in one folder of our own."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(folder / "control"),  # kombu's default is ./control, in the checkout
        "store_processed": False,
    }


if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(BROKER_DIR)
# A separate queue name keeps a benchmark's (or a second deployment's) tasks away from other workers.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")


def celery_queues(default: str) -> tuple[dict[str, str], list, dict]:
    """One queue per kind of work, so a six-hour optimizer run never holds up judge chunks or imports:
    their names (judge, optimizer, imports, beside the default queue that liveness uses), the queues a
    worker started without -Q consumes (all of them), and the routes. A default queue other than
    "celery" (tests, benchmarks) prefixes the others, keeping them apart too."""
    from kombu import Exchange, Queue

    prefix = "" if default == "celery" else f"{default}-"
    names = {kind: f"{prefix}{kind}" for kind in ("judge", "optimizer", "imports")}
    routes = {
        "judging.tasks.*": {"queue": names["judge"]},
        "optimizer.tasks.*": {"queue": names["optimizer"]},
        "labeling.tasks.import_job_run_task": {"queue": names["imports"]},
    }
    # Each queue its own exchange and key: bound to the default ones, a message would reach every queue.
    queues = [Queue(name, Exchange(name), routing_key=name) for name in (default, *names.values())]
    return names, queues, routes


FLYWHEEL_QUEUES, CELERY_TASK_QUEUES, CELERY_TASK_ROUTES = celery_queues(CELERY_TASK_DEFAULT_QUEUE)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 6 * 3600)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Liveness of background runs: a worker beats every few seconds; a running run silent for
# BACKGROUND_STALE_AFTER_S is marked interrupted by a Celery beat task every BACKGROUND_LIVENESS_EVERY_S,
# so a dead worker's run is interrupted within their sum (under a minute), never by a page view.
BACKGROUND_STALE_AFTER_S = env_int("BACKGROUND_STALE_AFTER_S", 40)
BACKGROUND_LIVENESS_EVERY_S = env_int("BACKGROUND_LIVENESS_EVERY_S", 10)
# A judge chunk holds a lease on the items it judges, renewed every second; a dead worker's lease ends
# after this long, and another chunk may then judge what it left.
JUDGE_CHUNK_LEASE_S = env_int("JUDGE_CHUNK_LEASE_S", 30)
CELERY_BEAT_SCHEDULE = {
    "background-runs-liveness": {
        "task": "labeling.tasks.background_runs_liveness_task",
        "schedule": float(BACKGROUND_LIVENESS_EVERY_S),
        "options": {"expires": float(BACKGROUND_LIVENESS_EVERY_S)},  # late checks pile up otherwise
    }
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"refusal_without_traceback": {"()": "config.log_filters.RefusalWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # LiteLLM logs two INFO lines per call: noise at hundreds of calls a second.
        "LiteLLM": {"level": "WARNING"},
        # Every 403 wrote a whole traceback for an ordinary refusal; real errors keep theirs.
        "django.request": {"filters": ["refusal_without_traceback"]},
    },
}
