"""Test overrides: a separate folder, queue and SQLite file, so tests never touch a running demo."""

from config.settings import *  # noqa: F403
from config.settings import CELERY_BROKER_URL, DATABASES, VAR_DIR, celery_queues, filesystem_broker_options

TEST_VAR_DIR = VAR_DIR / "test"
TEST_VAR_DIR.mkdir(parents=True, exist_ok=True)
UPLOAD_DIR = TEST_VAR_DIR / "uploads"
OPTIMIZER_DIR = TEST_VAR_DIR / "optimizer"

if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(TEST_VAR_DIR / "broker")
CELERY_TASK_DEFAULT_QUEUE = "flywheel-test"
FLYWHEEL_QUEUES, CELERY_TASK_QUEUES, CELERY_TASK_ROUTES = celery_queues(CELERY_TASK_DEFAULT_QUEUE)
CELERY_BEAT_SCHEDULE_FILENAME = str(TEST_VAR_DIR / "celerybeat-schedule")

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": str(TEST_VAR_DIR / "test.sqlite3")}

# Hashing passwords slowly protects users, not test fixtures.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The sim server's stand-in key, named by the tests' HTTP endpoints (in the test process and the workers
# the integration tests start, which read this module too).
SIM_KEY_ENV = "SIMLLM_API_KEY"
FLYWHEEL_KEY_ENVS = [*FLYWHEEL_KEY_ENVS, SIM_KEY_ENV]  # noqa: F405

# The tests' clients and browsers speak plain http to the test server.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
