"""Metrics at scale: 100,000 items, two human labels each and a finished judge run with one judgment per
item (generated rows, bulk-created), then the time to compute the run's metrics
(judging.selectors.run_metrics) and to render the run page as a lead (GET /runs/<pk>/ through Django's
test client: the view, its queries and the template, without the network).

Judged by: judgments per second through run_metrics and through the run page (median of --repeats).

    .venv/bin/python bench/metrics_at_scale.py            # SQLite (throwaway)
    DATABASE_URL=postgres://… .venv/bin/python bench/metrics_at_scale.py

Options: --items N (100000), --labels-per-item (2), --repeats (5)."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import make_project, throwaway_django  # noqa: E402 - the path above first

ANNOTATORS = 4


def fill(project, endpoint, version, *, labels_per_item: int, seed: int = 0):
    """Labels around a hidden true score, and a judge run that is off by one on about a third of the
    items and malformed on 2% of them, as a small model would be."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from judging.models import JudgeRun, Judgment
    from labeling.models import Label
    from labeling.roles import ANNOTATOR, LEAD, membership_set

    rng = random.Random(seed)
    User = get_user_model()
    annotators = [User.objects.create_user(f"annotator{i}") for i in range(ANNOTATORS)]
    for user in annotators:
        membership_set(project=project, user=user, role=ANNOTATOR)
    lead = User.objects.create_user("lead")
    membership_set(project=project, user=lead, role=LEAD)
    item_ids = list(project.items.order_by("id").values_list("id", flat=True))
    truth = {item_id: rng.randint(project.scale_min, project.scale_max) for item_id in item_ids}

    def near(score: int) -> int:
        return min(project.scale_max, max(project.scale_min, score + rng.choice((-1, 0, 0, 0, 1))))

    Label.objects.bulk_create(
        (
            Label(
                item_id=item_id,
                annotator=annotators[(n + k) % ANNOTATORS],
                score=near(truth[item_id]),
                rationale="Generated for the benchmark: the document covers most of what was asked.",
            )
            for n, item_id in enumerate(item_ids)
            for k in range(labels_per_item)
        ),
        batch_size=5000,
    )
    now = timezone.now()
    run = JudgeRun.objects.create(
        project=project,
        prompt_version=version,
        endpoint=endpoint,
        item_set=JudgeRun.ItemSet.LABELED,
        status=JudgeRun.Status.DONE,
        total_items=len(item_ids),
        created_by=lead,
        started_at=now,
        finished_at=now,
    )
    judgments = []
    for item_id in item_ids:
        malformed = rng.random() < 0.02
        score = None if malformed else near(near(truth[item_id]))
        judgments.append(
            Judgment(
                run=run,
                item_id=item_id,
                score=score,
                malformed=malformed,
                reasoning="Generated: the document mentions the query's main terms.",
                raw_output="[[ ## score ## ]]\nfive-ish" if malformed else f"[[ ## score ## ]]\n{score}",
                input_tokens=420,
                output_tokens=60,
                latency_ms=rng.randint(80, 400),
                cache_key=f"{rng.getrandbits(128):032x}",
            )
        )
    Judgment.objects.bulk_create(judgments, batch_size=5000)
    return run, lead


def median_seconds(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--labels-per-item", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    where = throwaway_django("metrics")
    from django.test import Client
    from django.urls import reverse

    from judging.selectors import run_metrics
    from labeling.models import Label

    started = time.perf_counter()
    project, endpoint, version = make_project(
        args.items, {"name": "sim/judge-small", "model": "sim/judge-small"}
    )
    run, lead = fill(project, endpoint, version, labels_per_item=args.labels_per_item)
    judgments, labels = run.judgments.count(), Label.objects.filter(item__project=project).count()
    print(f"metrics at scale: {args.items} items, {labels} labels, {judgments} judgments in one run")
    print(f"  on {where}; rows generated in {time.perf_counter() - started:.0f} s")

    metrics = run_metrics(run)  # warm-up: imports, and the database's caches
    seconds = median_seconds(lambda: run_metrics(run), args.repeats)
    overall = metrics["all"]
    print(
        f"  run_metrics: {1000 * seconds:.0f} ms (median of {args.repeats}) = {judgments / seconds:,.0f} "
        f"judgments/s; NMSE {overall.nmse:.2f} over {overall.valid} of {overall.items} items"
    )

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(lead)
    url = reverse("judging:run", kwargs={"pk": run.pk})
    response = client.get(url)
    if response.status_code != 200 or b"NMSE" not in response.content:
        raise SystemExit(f"the run page did not render its metrics: HTTP {response.status_code}")
    seconds = median_seconds(lambda: client.get(url), args.repeats)
    print(
        f"  run page (GET {url} as a lead): {1000 * seconds:.0f} ms (median of {args.repeats}) = "
        f"{judgments / seconds:,.0f} judgments/s; {len(response.content) / 1024:.0f} KiB of HTML"
    )


if __name__ == "__main__":
    main()
