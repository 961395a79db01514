"""`manage.py prompt_promote`: promote a prompt version to production on its model, through the same gate
as the confirmation page (test-split metrics, guardrails, no worse than production, or a written reason)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from judging import promotion, versions
from judging.models import PromptVersion


class Command(BaseCommand):
    help = "Promote a prompt version to production for its project and target model."

    def add_arguments(self, parser) -> None:
        parser.add_argument("version", type=int, help="prompt version id")
        parser.add_argument(
            "--reason", default="", help="why, when the version is worse or not surely better on test"
        )
        parser.add_argument("--user", help="username recorded in the promotion log")

    def handle(self, *args, **options) -> None:
        version = PromptVersion.objects.select_related("project", "target_model").filter(
            pk=options["version"]
        )
        version = version.first()
        if version is None:
            raise CommandError(f"No prompt version v{options['version']}.")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']!r}.")
        production = versions.production_version(project=version.project, target_model=version.target_model)
        comparison = promotion.promotion_comparison(version, production)
        summary = comparison.summary() if comparison is not None else None
        if summary:
            self.stdout.write(summary)
        elif production is None:
            self.stdout.write(
                f"No production version on {version.target_model.name} yet: nothing to compare."
            )
        try:
            log = promotion.version_promote(version=version, user=user, reason=options["reason"])
        except promotion.PromotionRefused as refused:
            # The comparison is printed above already: the error says only what is left to do.
            reasons = [reason for reason in refused.reasons if reason != summary]
            if refused.needs_reason:
                reasons = [
                    "To promote it anyway, give the reason with --reason: it is kept in the promotion log."
                    if reason.startswith("To promote it anyway")
                    else reason
                    for reason in reasons
                ]
            raise CommandError(" ".join(reasons)) from None
        replaced = f", replacing v{log.previous_id}" if log.previous_id else ""
        self.stdout.write(
            f"v{version.pk} is now in production on {version.target_model.name}{replaced}."
            + (f' Reason: "{log.reason}".' if log.reason else "")
        )
