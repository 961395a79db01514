"""What real models do that the sims do not, in the judge path: a reply cut off at max_tokens, a
document longer than the context budget. Each ends as a recorded judgment, never a crash or a failed
run. (A busy server, 429 and 5xx retried with backoff: tests/integration/test_judge_faults.py.)"""

from __future__ import annotations

import pytest
from django.urls import reverse
from dspy.lm15 import Message, Response, TextPart, Usage

from judging.models import ModelEndpoint, PromptVersion
from judging.program import MeteredLM, judge_item, judge_program_for
from judging.runs import judge_run_start
from labeling.models import Item, Label

pytestmark = pytest.mark.django_db


class CutOffEngine:
    """A model whose reasoning runs past max_tokens: the reply stops before the score field."""

    def complete(self, request):
        text = "[[ ## reasoning ## ]]\nThe passage discusses the query at length, first noting that"
        return Response(
            id=None,
            model=request.model,
            message=Message.assistant([TextPart(text)]),
            finish_reason="length",
            usage=Usage(input_tokens=120, output_tokens=64),
        )


def test_a_reply_cut_off_at_max_tokens_is_a_malformed_judgment_with_a_note_not_a_crash(demo_project):
    endpoint = ModelEndpoint.objects.get(name="sim/judge-small")
    lm = MeteredLM("test/cut-off", engine=CutOffEngine(), cache=False, max_tokens=64)
    program = judge_program_for(scale_min=0, scale_max=3, instructions="Rate relevance on the 0-3 scale.")

    outcome = judge_item(program=program, lm=lm, endpoint=endpoint, query="q", document="d")

    assert outcome.malformed and outcome.score is None and outcome.error_kind == ""
    assert "cut off at max_tokens" in outcome.note
    assert "first noting that" in outcome.raw_output
    assert outcome.output_tokens == 64


def test_a_document_too_long_for_the_context_is_judged_truncated_and_the_judgment_page_says_so(
    demo_project, eager_celery, django_capture_on_commit_callbacks, client_for, reviewer
):
    item = Item.objects.filter(project=demo_project, split="dev", labels__isnull=False).first()
    Item.objects.filter(pk=item.pk).update(document=item.document + " filler" * 2000)
    version = PromptVersion.objects.get(project=demo_project, origin="hand-written")

    with django_capture_on_commit_callbacks(execute=True):
        run = judge_run_start(
            prompt_version=version, endpoint=ModelEndpoint.objects.get(name="sim/judge-small"), item_set="dev"
        )
    run.refresh_from_db()

    assert run.status == "done"
    judgment = run.judgments.get(item=item)
    assert judgment.error_kind == "" and "document truncated to its first 6000 of" in judgment.note
    assert all(j.note == "" for j in run.judgments.exclude(item=item) if len(j.item.document) <= 6000)
    page = client_for(reviewer).get(reverse("judging:run_item", args=[run.pk, item.pk])).content.decode()
    assert "data-judgment-note" in page and "document truncated" in page
    assert Label.objects.filter(item=item).exists()
