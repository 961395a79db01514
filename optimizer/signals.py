"""What a running search announces in its own process, as it happens: `manage.py optimize --inline`
prints a line for each (the worker's progress reaches the page through the run row instead)."""

from django.dispatch import Signal

# kwargs: run_id, event ("candidate", "rejected", "metric_calls"), metric_calls, and per event
# index/score/instructions (candidate), rules/instructions (rejected).
search_progress = Signal()
