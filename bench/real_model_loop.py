"""The whole loop with a real open-weight model as the judge: the local llama.cpp server of
`make local-llm` (Qwen2.5-Coder-1.5B-Instruct on 127.0.0.1:8191), on TREC DL 2019 passage pairs.

On a project imported from a stratified, seeded sample of --data, it judges the base prompt (the
first prompt drafted by `prompt_create`) on the test split, then runs three searches with the local
model as the target: GEPA (the local model is its own reflection model), MIPROv2 (the same as its
proposer) and composition from a small vetted library of relevance-judging lines, which this script
checks with the guardrails as a reviewer would before approving them. Each run judges its base and its
best on the test split. For base and each best it prints NMSE, malformed rate, quadratic kappa and
Krippendorff's alpha against gold, each with a 95% bootstrap interval, the paired NMSE difference
with its interval, the proposals the guardrails rejected, calls, tokens and wall time. It then measures
the wrapper's cost: Flywheel's per-item judge latency next to a bare dspy.Predict with the same prompt
and settings. A run that does not improve says so. Nothing here is a sim figure.

Skips (exit 0) when nothing answers on 127.0.0.1:8191, so `make bench` runs it only when the server
is up. The model answers one request at a time: the benchmark must own the machine (it prints what
else was running).

    python bench/real_model_loop.py --data ../shared/data/trec_dl2019_passage/trec_dl2019_passage.jsonl
    python bench/real_model_loop.py --smoke      # 6 items a split, 30 calls a search: the plumbing only

`--server URL --model openai/sim/judge-small` points it at `manage.py serve_sim_llm` instead, to check
the plumbing without the model; the script then says loudly that its figures are a sim's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, throwaway_django  # noqa: E402

SERVER = "http://127.0.0.1:8191"
MODEL = "openai/qwen2.5-coder-1.5b-instruct"
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "trec_dl2019_passage" / "trec_dl2019_passage.jsonl"

SECONDS_PER_JUDGMENT = 5.0  # measured on this machine: 4.6 s an item, p95 6.3 s (issue 18)
SECONDS_PER_REFLECTION = 20.0  # ~400 tokens written at 27-30 tokens/s, plus the long prompt
TARGET_SECONDS = 45 * 60
# A few hundred items per split would be better statistics; the machine judges ~12 items a minute.
TRAIN, DEV = 20, 20  # dev: the smallest sample a search may validate on (optimizer.objective)
SEARCH_CALLS = {"gepa": 80, "mipro": 70, "library": 80}
REFLECTIONS = {"gepa": 8, "mipro": 9, "library": 0}  # at most, for the time plan
WRAPPER_ITEMS = 12
SMOKE = {"train": 6, "dev": 6, "test": 6, "calls": 30, "wrapper": 3}

# Lines a reviewer would approve for any graded relevance task: about the task, not about the data.
VETTED_LINES = [
    "Judge only whether the passage answers the query; a passage on the same topic that does not "
    "answer it is at most 1.",
    "A passage that answers the query directly and completely gets the highest score; one that "
    "answers it only in part gets 2.",
    "Do not reward a passage for repeating the query's words: look for the answer itself.",
    "Write the reasoning first, briefly, then give the score as a single integer on its own line.",
]


def server_answers(server: str) -> bool:
    try:
        with urllib.request.urlopen(f"{server}/v1/models", timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


def machine_state(label: str) -> None:
    """What the machine was doing: load, cores, and the busiest processes."""
    load = os.getloadavg()
    print(f"[{label}] load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    top = subprocess.run(
        ["ps", "-eo", "pcpu,rss,comm", "--sort=-pcpu"], capture_output=True, text=True, check=False
    ).stdout.splitlines()[:6]
    for line in top:
        print(f"    {line}")


def plan_sizes(smoke: bool) -> dict:
    """Split sizes and budgets that finish in about TARGET_SECONDS at SECONDS_PER_JUDGMENT."""
    if smoke:
        calls = SMOKE["calls"]
        return {
            "train": SMOKE["train"],
            "dev": SMOKE["dev"],
            "test": SMOKE["test"],
            "calls": dict.fromkeys(SEARCH_CALLS, calls),
            "wrapper": SMOKE["wrapper"],
        }
    fixed = sum(SEARCH_CALLS.values()) + 2 * WRAPPER_ITEMS + 4  # searches, wrapper pairs, warm-up
    fixed_s = fixed * SECONDS_PER_JUDGMENT + sum(REFLECTIONS.values()) * SECONDS_PER_REFLECTION
    # The test split is judged once for the base, then base and best again by each of three runs.
    per_test_item = (1 + 2 * len(SEARCH_CALLS)) * SECONDS_PER_JUDGMENT
    test = max(12, int((TARGET_SECONDS - fixed_s) / per_test_item))
    return {"train": TRAIN, "dev": DEV, "test": test, "calls": dict(SEARCH_CALLS), "wrapper": WRAPPER_ITEMS}


def sample_file(data: Path, sizes: dict, seed: int) -> Path:
    """A stratified (by grade), seeded sample of the data with each split's size, as a JSONL file in a
    temporary folder (the data is never copied into the repository)."""
    from labeling.models import split_for

    by_split: dict[str, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for line in data.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            split = split_for(f"{row['query_id']}:{row['doc_id']}")  # as the import joins them
            by_split[split][int(row["grade"])].append(row)
    rng = random.Random(seed)
    chosen = []
    for split in ("train", "dev", "test"):
        strata = by_split[split]
        grades = sorted(strata)
        for n in range(sizes[split]):  # round-robin over the grades: each as equally as the data allows
            for offset in range(len(grades)):
                pool = strata[grades[(n + offset) % len(grades)]]
                if pool:
                    chosen.append(pool.pop(rng.randrange(len(pool))))
                    break
    out = Path(tempfile.mkdtemp(prefix="flywheel-real-loop-")) / "sample.jsonl"
    out.write_text("".join(json.dumps(row) + "\n" for row in chosen), encoding="utf-8")
    return out


class Meter:
    """LM calls and tokens per phase and model, from every MeteredLM in this process."""

    def __init__(self):
        self.phase = "setup"
        self.lock = threading.Lock()
        self.calls: Counter = Counter()
        self.tokens_in: Counter = Counter()
        self.tokens_out: Counter = Counter()

    def install(self) -> None:
        from judging.program import MeteredLM, usage_tokens

        original = MeteredLM.update_history
        meter = self

        def update_history(lm, entry):
            tokens_in, tokens_out = usage_tokens(entry)
            with meter.lock:
                meter.calls[meter.phase] += 1
                meter.tokens_in[meter.phase] += tokens_in
                meter.tokens_out[meter.phase] += tokens_out
            return original(lm, entry)

        MeteredLM.update_history = update_history

    def line(self, phase: str) -> str:
        calls, tokens_in, tokens_out = self.calls[phase], self.tokens_in[phase], self.tokens_out[phase]
        return f"{calls} LM calls, {tokens_in} tokens in, {tokens_out} out"


def figures(run, project) -> dict:
    from judging.intervals import alpha_interval, metric_intervals, run_split_scores, scores_of

    scores = scores_of(run_split_scores(run, "test"))
    found = metric_intervals(scores, scale_min=project.scale_min, scale_max=project.scale_max)
    found["alpha"] = alpha_interval(scores, scale_min=project.scale_min, scale_max=project.scale_max)
    return found


def print_figures(label: str, run, project) -> None:
    from judging.intervals import readable

    found = figures(run, project)
    shown = {name: readable(found[name], name) for name in ("nmse", "malformed_rate", "kappa", "alpha")}
    print(
        f"  {label:<28} n={run.judgments.filter(item__split='test').count():<4} "
        f"NMSE {shown['nmse']}  malformed {shown['malformed_rate']}  "
        f"kappa {shown['kappa']}  alpha {shown['alpha']}"
    )


def paired_nmse(before, after, project) -> str:
    from judging.intervals import paired_differences, paired_scores, run_split_scores, shown_difference

    old, new = paired_scores(run_split_scores(before, "test"), run_split_scores(after, "test"))
    difference = paired_differences(old, new, scale_min=project.scale_min, scale_max=project.scale_max)
    interval = difference["nmse"]
    if interval.estimate is None:
        return "paired NMSE difference: —"
    if interval.high is not None and interval.high < 0:
        reading = "better (the interval is below 0)"
    elif interval.low is not None and interval.low > 0:
        reading = "WORSE (the interval is above 0)"
    else:
        reading = "no clear difference (the interval crosses 0)"
    return f"paired NMSE difference best − base: {shown_difference('nmse', interval)}: {reading}"


def judge_split(version, endpoint, item_set="test"):
    from judging.runs import judge_run_execute, judge_run_start

    run = judge_run_start(
        prompt_version=version, endpoint=endpoint, item_set=item_set, force_fresh=True, enqueue=False
    )
    return judge_run_execute(run=run)


def vetted_library(project) -> list[str]:
    """The reviewer's step: each line is checked by the leakage guardrail; only clean lines are approved."""
    from optimizer.library import instruction_leakage_flags
    from optimizer.models import LibraryInstruction

    approved = []
    for position, text in enumerate(VETTED_LINES):
        flags = instruction_leakage_flags(project=project, text=text)
        LibraryInstruction.objects.create(
            project=project, text=text, position=position, active=not flags, guardrail_flags=flags
        )
        print(f"  {'approved' if not flags else 'REFUSED '}: {text}" + (f"  ({flags})" if flags else ""))
        if not flags:
            approved.append(text)
    return approved


def wrapper_cost(project, version, endpoint, items: int) -> None:
    """Flywheel's judge_item next to a bare dspy.Predict, same prompt, model settings and items. llama.cpp
    keeps the previous prompt's KV cache, so the order alternates item by item (each way goes first
    half the time), and both get the same two warm-up calls."""
    import dspy

    from judging.program import endpoint_api_key, endpoint_lm, judge_adapter, judge_item, judge_program
    from labeling.models import Item

    program = judge_program(project=project, prompt_version=version)
    lm = endpoint_lm(endpoint)
    bare_lm = dspy.LM(
        endpoint.model,
        engine="litellm",
        api_base=endpoint.api_base,
        api_key=endpoint_api_key(endpoint),  # what Flywheel sends: llama.cpp's keyless placeholder
        temperature=endpoint.temperature,
        max_tokens=endpoint.max_tokens,
        cache=False,
        num_retries=0,
    )
    bare = dspy.Predict(program.judge.signature)

    def flywheel(query, document):
        started = time.perf_counter()
        judge_item(program=program, lm=lm, endpoint=endpoint, query=query, document=document)
        return time.perf_counter() - started

    def plain(query, document):
        started = time.perf_counter()
        with dspy.context(lm=bare_lm, adapter=judge_adapter()):
            try:
                bare(query=query, document=document[: program.document_max_chars])
            except Exception:  # noqa: BLE001 - a malformed reply costs the same time
                pass
        return time.perf_counter() - started

    dev = Item.objects.filter(project=project, split="dev").order_by("id")
    rows = list(dev.values_list("query", "document")[: items + 2])
    for query, document in rows[:2]:  # the same warm-up for both
        flywheel(query, document)
        plain(query, document)
    times = {"flywheel": [], "bare": []}
    for n, (query, document) in enumerate(rows[2:]):
        order = [("flywheel", flywheel), ("bare", plain)]
        for name, call in order if n % 2 == 0 else order[::-1]:
            times[name].append(call(query, document))
    fw, bare_s = statistics.mean(times["flywheel"]), statistics.mean(times["bare"])
    print(
        f"  Flywheel judge_item: mean {fw:.2f} s, median {statistics.median(times['flywheel']):.2f} s "
        f"over {len(times['flywheel'])} items"
    )
    print(
        f"  bare dspy.Predict:   mean {bare_s:.2f} s, median {statistics.median(times['bare']):.2f} s "
        f"over {len(times['bare'])} items"
    )
    print(f"  ratio Flywheel / bare: {fw / bare_s:.3f} (aim: at most 1.05)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="TREC DL 2019 passage JSONL")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="6 items a split, 30 calls a search")
    parser.add_argument("--server", default=SERVER, help=f"OpenAI-compatible server (default {SERVER})")
    parser.add_argument("--model", default=MODEL, help=f"LiteLLM model string (default {MODEL})")
    args = parser.parse_args()
    server, model = args.server.rstrip("/"), args.model
    is_sim = "sim/" in model

    if not server_answers(server):
        print(f"skipped: no local model server answers on {server} (start it with `make local-llm`)")
        return 0
    if not args.data.is_file():
        print(f"skipped: no data at {args.data} (give --data PATH)")
        return 0
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    where = throwaway_django("real-loop")

    from django.core.management import call_command

    from config.celery import app
    from judging.models import ModelEndpoint, PromptVersion
    from labeling.models import Project
    from optimizer import runs as optimizer_runs
    from optimizer.signals import search_progress

    app.conf.task_always_eager = True  # every search runs here, in this process, one after the other
    meter = Meter()
    meter.install()
    started_all = time.monotonic()
    print(f"Real-model loop: {model} at {server}; {where}")
    if is_sim:
        print("!! A SIM MODEL (test double): a plumbing check; no figure below says anything about quality.")
    machine_state("start")

    sizes = plan_sizes(args.smoke)
    planned = (
        sizes["test"] * (1 + 2 * len(SEARCH_CALLS)) + sum(sizes["calls"].values()) + 2 * sizes["wrapper"] + 4
    )
    print(
        f"Sizes (seed {args.seed}): train {sizes['train']}, dev {sizes['dev']}, test {sizes['test']}; "
        f"search budgets {sizes['calls']} metric calls; wrapper check on {sizes['wrapper']} items. "
        f"About {planned} judgments at ~{SECONDS_PER_JUDGMENT:.0f} s each plus reflections: "
        f"~{(planned * SECONDS_PER_JUDGMENT + sum(REFLECTIONS.values()) * SECONDS_PER_REFLECTION) / 60:.0f}"
        " min" + (" (smoke: the plumbing only, no figure means anything)" if args.smoke else "")
    )

    sample = sample_file(args.data, sizes, args.seed)
    call_command(
        "import_items", "trec", str(sample), "--create-project", "--name", "TREC DL 2019 (real-model loop)",
        "--scale", "0-3", "--map", "external_id=query_id+doc_id", "--map", "score=grade",
        "--labels-as", "nist", "--scale-labels",
        "0=irrelevant;1=related but does not answer;2=highly relevant, answers in part;3=perfectly relevant",
    )  # fmt: skip
    project = Project.objects.get(slug="trec")
    endpoint = ModelEndpoint.objects.create(
        name=f"local {model.split('/')[-1]}",
        model=model,
        api_base=f"{server}/v1",
        concurrency=1,  # llama.cpp answers one request at a time
        temperature=0.0,
        max_tokens=300,
    )
    call_command("prompt_create", "trec", "--model", endpoint.name)
    base = PromptVersion.objects.filter(project=project).earliest("id")

    meter.phase = "base on test"
    started = time.monotonic()
    base_run = judge_split(base, endpoint)
    took = time.monotonic() - started
    print(f"\nBase prompt v{base.pk} on the test split ({took:.0f} s, {meter.line('base on test')}):")
    print_figures("base", base_run, project)

    def progress(sender=None, run_id=None, event="", metric_calls=0, **details):
        if event in ("base", "candidate", "rejected"):
            what = {
                "base": lambda: f"base dev {details['score']:.3f}",
                "candidate": lambda: f"candidate {details['index']} dev {details['score']:.3f}",
                "rejected": lambda: f"proposal rejected ({details['rules']})",
            }[event]()
            at = time.monotonic() - started_all
            print(f"    [{at:6.0f} s] run #{run_id}: {what} at {metric_calls} calls")
            sys.stdout.flush()

    search_progress.connect(progress, weak=False)
    approved = []
    results = []
    for algorithm in ("gepa", "mipro", "library"):
        meter.phase = algorithm
        print(f"\n{algorithm}: {sizes['calls'][algorithm]} metric calls, one model as target and reflector")
        if algorithm == "library":
            print("  The vetted library, checked by the guardrails as a reviewer would:")
            approved = vetted_library(project)
            if not approved:
                print("  no line approved: library composition skipped")
                continue
        started = time.monotonic()
        run = optimizer_runs.optimization_run_start(
            project=project,
            base_version=base,
            target_endpoint=endpoint,
            reflection_endpoint=endpoint,
            regime="library" if algorithm == "library" else "disagreement",
            algorithm=algorithm,
            max_metric_calls=sizes["calls"][algorithm],
            seed=args.seed,
        )
        run.refresh_from_db()
        results.append((algorithm, run, time.monotonic() - started))
        print(
            f"  {run.status} ({run.get_stop_reason_display()}{': ' + run.error if run.error else ''}) in "
            f"{time.monotonic() - started:.0f} s; {run.metric_calls_used} metric calls; "
            f"{meter.line(algorithm)}; "
            f"base dev {run.base_dev_score if run.base_dev_score is not None else '—'}, "
            f"best dev {run.best_dev_score if run.best_dev_score is not None else '—'}; "
            f"{run.candidates.count()} candidates; {run.rejected_proposals.count()} proposals rejected"
        )
        for proposal in run.rejected_proposals.all():
            print(f"    rejected [{proposal.rule}] {proposal.detail}: {proposal.text_start}")

    print("\nOn the test split (95% bootstrap intervals; each run's base and best judged afresh by it):")
    print_figures("base (first pass)", base_run, project)
    for algorithm, run, _seconds in results:
        if run.base_test_run is None:
            print(f"  {algorithm}: not measured on test ({run.status})")
            continue
        print_figures(f"{algorithm}: its base", run.base_test_run, project)
        if run.best_test_run is None:
            print(f"  {algorithm}: no candidate beat the base on dev: nothing improved, the base stays")
            continue
        print_figures(f"{algorithm}: best v{run.best_version_id}", run.best_test_run, project)
        print(f"    {paired_nmse(run.base_test_run, run.best_test_run, project)}")

    meter.phase = "wrapper"
    print("\nThe wrapper's cost (same prompt, settings, items; order alternating):")
    wrapper_cost(project, base, endpoint, sizes["wrapper"])

    print(f"\nTotal: {time.monotonic() - started_all:.0f} s wall time; LM calls and tokens per phase:")
    for phase in meter.calls:
        print(f"  {phase:<14} {meter.line(phase)}")
    machine_state("end")
    if is_sim:
        print("!! These figures came from a sim model over HTTP: they check the plumbing, nothing more.")
    else:
        print(f"The sims were not used: every figure above is {model}'s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
