"""Logging filters: what the request log keeps of an exception."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404

# Refusals a view raises on purpose: the log line ("Forbidden (Permission denied): /path") says all of it.
_REFUSALS = (PermissionDenied, Http404)


class RefusalWithoutTraceback(logging.Filter):
    """Drops the traceback from django.request's record of a 403 or 404 a view raised; an unexpected
    error (a 500) keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], _REFUSALS):
            record.exc_info = None
            record.exc_text = None
        return True
