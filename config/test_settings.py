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
