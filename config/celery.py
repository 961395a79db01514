"""The one Celery app; its settings come from Django's under the CELERY_ namespace."""

import logging
import os

from celery import Celery, signals

from config.env import flywheel_verbose

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("flywheel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# A line per task received and succeeded, and per beat tick, is a line every few seconds from the liveness
# check alone and a hundred per judge run: routine, so hidden unless FLYWHEEL_VERBOSE=1. A task that fails
# is logged at ERROR, and still is.
ROUTINE_LOGGERS = ("celery.app.trace", "celery.worker.strategy", "celery.beat")


@signals.after_setup_logger.connect
def _quiet_routine_lines(**kwargs) -> None:
    if not flywheel_verbose():
        for name in ROUTINE_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
