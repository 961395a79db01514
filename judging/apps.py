from django.apps import AppConfig


class JudgingConfig(AppConfig):
    name = "judging"
    verbose_name = "Judging"

    def ready(self) -> None:
        from judging.queue import item_disagreement_priority
        from labeling.models import Project
        from labeling.selectors import queue_priority_register

        queue_priority_register(Project.QueueOrder.DISAGREEMENT, item_disagreement_priority)
