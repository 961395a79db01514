"""The simulated LLMs: in-process DSPy engines, the OpenAI-compatible HTTP server, the reflector, and
tiny GEPA / MIPROv2 runs, all offline. No database."""

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import dspy
import pytest

from judging.sim import SIM_MODELS, canonical_model, complete_chat, is_sim_model, sim_lm
from judging.sim.judge import corrections_in
from judging.sim.reflector import THEME_LINES, rewrite_instruction
from judging.sim.samples import sample_items
from judging.sim.server import FaultConfig, SimServer, fault_for
from judging.sim.text import stable_rng

REPO = Path(__file__).resolve().parents[2]
BASE_INSTRUCTION = "Rate how relevant the document is to the query on a 1-5 scale."
STUFFING_LINE = THEME_LINES["keyword_stuffing"]
FORMAT_LINE = THEME_LINES["output_format"]


def judge_signature(instructions: str = BASE_INSTRUCTION, scale=(1, 2, 3, 4, 5)):
    score_type = Literal[scale]  # type: ignore[valid-type]

    class Judge(dspy.Signature):
        query: str = dspy.InputField()
        document: str = dspy.InputField()
        reasoning: str = dspy.OutputField()
        score: score_type = dspy.OutputField()  # type: ignore[valid-type]

    return Judge.with_instructions(instructions)


def chat_adapter():
    return dspy.ChatAdapter(use_json_adapter_fallback=False)


def run_judge(lm, items, instructions: str = BASE_INSTRUCTION, scale=(1, 2, 3, 4, 5)):
    """Score per item, or None when the output did not parse."""
    program = dspy.Predict(judge_signature(instructions, scale))
    scores = []
    with dspy.context(lm=lm, adapter=chat_adapter()):
        for item in items:
            try:
                scores.append(program(query=item.query, document=item.document).score)
            except dspy.utils.exceptions.AdapterParseError:
                scores.append(None)
    return scores


def malformed_rate(scores) -> float:
    return sum(s is None for s in scores) / len(scores)


def mean(values) -> float:
    values = [v for v in values if v is not None]
    return sum(values) / len(values)


# --------------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------------


def test_sim_models_are_named_and_labelled_as_simulators():
    assert set(SIM_MODELS) == {"sim/judge-small", "sim/judge-large", "sim/reflector"}
    assert all("Simulator" in description for description in SIM_MODELS.values())
    assert canonical_model("judge-small") == canonical_model("openai/sim/judge-small") == "sim/judge-small"
    assert is_sim_model("sim/reflector") and not is_sim_model("openai/gpt-4.1-mini")
    with pytest.raises(ValueError):
        sim_lm("sim/unknown")


# --------------------------------------------------------------------------------------------------
# The judge, in process
# --------------------------------------------------------------------------------------------------


def test_judge_in_process_is_deterministic_and_reports_usage():
    items = sample_items(20, seed=11)
    lm = sim_lm("sim/judge-small")
    first = run_judge(lm, items)
    assert first == run_judge(sim_lm("sim/judge-small"), items)
    assert any(s is not None for s in first)
    assert all(s in (1, 2, 3, 4, 5) for s in first if s is not None)
    usage = lm.history[-1]["usage"]
    assert usage["prompt_tokens"] > 50 and usage["completion_tokens"] > 5
    # Another prompt may change individual answers (every draw hashes the prompt), but not the scale.
    other = run_judge(lm, items, BASE_INSTRUCTION + " Think carefully.")
    assert all(s in (1, 2, 3, 4, 5) for s in other if s is not None)


def test_small_judge_is_malformed_more_often_than_large_and_format_instructions_help():
    items = sample_items(100, seed=5)
    small = malformed_rate(run_judge(sim_lm("sim/judge-small"), items))
    large = malformed_rate(run_judge(sim_lm("sim/judge-large"), items))
    small_fixed = malformed_rate(
        run_judge(sim_lm("sim/judge-small"), items, BASE_INSTRUCTION + "\n" + FORMAT_LINE)
    )
    assert 0.15 <= small <= 0.35, small
    assert large <= 0.06, large
    assert small_fixed < small / 2, (small_fixed, small)


def test_keyword_stuffing_instruction_lowers_scores_on_stuffed_documents():
    stuffed = [item for item in sample_items(60, seed=2) if item.kind == "stuffed"]
    lm = sim_lm("sim/judge-small")
    before = mean(run_judge(lm, stuffed))
    after = mean(run_judge(lm, stuffed, BASE_INSTRUCTION + "\n" + STUFFING_LINE))
    assert before >= 4.0 and after <= 2.0, (before, after)
    assert corrections_in(STUFFING_LINE) == {"keyword_stuffing"}


def test_partial_relevance_instruction_raises_scores_on_partial_answers():
    partial = [item for item in sample_items(60, seed=4) if item.kind == "partial"]
    lm = sim_lm("sim/judge-small")
    before = mean(run_judge(lm, partial))
    after = mean(run_judge(lm, partial, BASE_INSTRUCTION + "\n" + THEME_LINES["partial_relevance"]))
    gold = mean(item.gold for item in partial)
    assert before < gold - 0.4 and abs(after - gold) < 0.4, (before, after, gold)


def test_scale_is_read_from_the_literal_in_the_prompt():
    items = sample_items(20, seed=9, scale=(0, 3))
    instructions = "Rate the document's relevance to the query from 0 (irrelevant) to 3 (perfect)."
    scores = run_judge(sim_lm("sim/judge-large"), items, instructions, scale=(0, 1, 2, 3))
    valid = [s for s in scores if s is not None]
    assert valid and all(0 <= s <= 3 for s in valid) and 3 in valid and 0 in valid


def test_json_adapter_is_answered_in_json():
    item = sample_items(1, seed=1)[0]
    with dspy.context(lm=sim_lm("sim/judge-large"), adapter=dspy.JSONAdapter()):
        prediction = dspy.Predict(judge_signature())(query=item.query, document=item.document)
    assert prediction.score in (1, 2, 3, 4, 5) and prediction.reasoning


def test_one_engine_is_safe_to_share_between_threads():
    items = sample_items(40, seed=8)
    lm = sim_lm("sim/judge-small")
    expected = run_judge(lm, items)
    program = dspy.Predict(judge_signature())
    examples = [
        dspy.Example(query=i.query, document=i.document).with_inputs("query", "document") for i in items
    ]
    with dspy.context(lm=lm, adapter=chat_adapter()):
        results = dspy.Parallel(num_threads=8, max_errors=len(items), provide_traceback=False)(
            [(program, example) for example in examples]
        )
    got = [getattr(r, "score", None) if r is not None else None for r in results]
    assert got == expected


# --------------------------------------------------------------------------------------------------
# The HTTP server
# --------------------------------------------------------------------------------------------------


def post_json(url: str, payload: dict, timeout: float = 5.0):
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read()


@pytest.mark.parametrize("engine", ["litellm", "auto"])
def test_http_gives_the_same_scores_as_in_process(engine):
    # engine="litellm" goes through LiteLLM; "auto" picks DSPy's native lm15 OpenAI client for an
    # "openai/…" model with an api_base. Both send the same system + user messages, and the server
    # answers with the same function as the in-process engine, so the parsed outputs are equal.
    items = sample_items(8, seed=3)
    with SimServer() as server:
        remote = dspy.LM(
            "openai/sim/judge-small",
            api_base=server.url + "/v1",
            api_key="x",
            cache=False,
            num_retries=0,
            engine=engine,
        )
        over_http = run_judge(remote, items)
        assert server.stats()["ok"] == len(items)
    assert over_http == run_judge(sim_lm("sim/judge-small"), items)
    usage = remote.history[-1]["usage"]
    assert usage["prompt_tokens"] > 50 and usage["completion_tokens"] > 5


def test_http_rate_limit_reaches_the_client_as_a_rate_limit_error():
    import litellm

    messages = [{"role": "user", "content": "hello"}]
    with SimServer(rate_429=1.0) as server:
        with pytest.raises(litellm.RateLimitError):
            litellm.completion(
                model="openai/sim/judge-small",
                api_base=server.url + "/v1",
                api_key="x",
                messages=messages,
                max_retries=0,
            )
        lm = dspy.LM(
            "openai/sim/judge-small",
            api_base=server.url + "/v1",
            api_key="x",
            cache=False,
            num_retries=0,
            engine="litellm",
        )
        # Through dspy.LM the public error is DSPy's own, raised from lm15's, raised from LiteLLM's.
        with pytest.raises(dspy.utils.exceptions.LMRateLimitError) as caught:
            lm("hello")
        chain, error = [], caught.value
        while error is not None:
            chain.append(error)
            error = error.__cause__
        assert any(isinstance(error, litellm.RateLimitError) for error in chain)
        assert server.stats()["429"] == 2


def test_http_server_errors_malformed_bodies_and_timeouts():
    import litellm

    def call(server, timeout=5.0):
        return litellm.completion(
            model="openai/sim/judge-small",
            api_base=server.url + "/v1",
            api_key="x",
            messages=[{"role": "user", "content": "hello"}],
            max_retries=0,
            timeout=timeout,
        )

    server_errors = (litellm.InternalServerError, litellm.BadGatewayError, litellm.ServiceUnavailableError)
    for seed in (1, 2, 3):  # the seed picks 500, 502 or 503
        with SimServer(rate_5xx=1.0, seed=seed) as server:
            with pytest.raises(server_errors) as caught:
                call(server)
            assert caught.value.status_code in (500, 502, 503)
    with SimServer(rate_malformed_body=1.0) as server:
        with pytest.raises(litellm.InternalServerError):  # LiteLLM reports an unreadable body as a 500
            call(server)
        assert server.stats()["malformed_body"] == 1
    with SimServer(rate_timeout=1.0, timeout_s=3) as server:
        started = time.monotonic()
        with pytest.raises(litellm.Timeout):
            call(server, timeout=0.3)
        assert time.monotonic() - started < 2.5
    # stop() released the hanging handler without waiting out timeout_s.
    assert time.monotonic() - started < 2.5


def test_http_serves_concurrent_requests_in_parallel():
    with SimServer(latency_ms=100) as server:
        payload = {"model": "judge-small", "messages": [{"role": "user", "content": "hello"}]}
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(
                pool.map(lambda _: post_json(server.url + "/v1/chat/completions", payload), range(16))
            )
        elapsed = time.monotonic() - started
        stats = server.stats()
    assert all(status == 200 for status, _ in results)
    assert elapsed < 0.8, elapsed  # 16 × 100 ms one after another would take 1.6 s
    assert stats["max_in_flight"] >= 8 and stats["ok"] == 16
    body = json.loads(results[0][1])
    assert body["model"] == "sim/judge-small" and body["usage"]["total_tokens"] > 0


def test_http_models_stream_and_errors():
    with SimServer() as server:
        with urllib.request.urlopen(server.url + "/v1/models", timeout=5) as response:
            ids = [m["id"] for m in json.loads(response.read())["data"]]
        assert ids == list(SIM_MODELS)
        payload = {"model": "sim/reflector", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        status, raw = post_json(server.url + "/v1/chat/completions", payload)
        assert status == 200 and raw.decode().rstrip().endswith("data: [DONE]")
        with pytest.raises(urllib.error.HTTPError) as caught:
            post_json(server.url + "/v1/chat/completions", {**payload, "model": "gpt-4"})
        assert caught.value.code == 404


def test_fault_schedule_is_deterministic_and_follows_the_rates():
    config = FaultConfig(rate_429=0.1, rate_5xx=0.1, rate_timeout=0.05, rate_malformed_body=0.05, seed=3)
    kinds = [fault_for(config, i).kind for i in range(2000)]
    assert kinds == [fault_for(config, i).kind for i in range(2000)]
    share = {k: kinds.count(k) / len(kinds) for k in ("429", "5xx", "timeout", "malformed_body", None)}
    assert abs(share["429"] - 0.1) < 0.03 and abs(share["5xx"] - 0.1) < 0.03
    assert abs(share["timeout"] - 0.05) < 0.02 and abs(share[None] - 0.7) < 0.04
    with pytest.raises(ValueError):
        FaultConfig(rate_429=0.8, rate_5xx=0.5)


def test_serve_sim_llm_command_prints_its_port_and_serves():
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve_sim_llm", "--port", "0", "--latency-ms", "1"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = None
        deadline = time.monotonic() + 15
        while port is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            if match := re.match(r"port=(\d+)", line.strip()):
                port = int(match[1])
        assert port, process.stderr.read() if process.poll() is not None else "no port line"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=5) as response:
            assert response.status == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


# --------------------------------------------------------------------------------------------------
# The reflector
# --------------------------------------------------------------------------------------------------


def reflective_examples(items, scores):
    examples = []
    for item, score in zip(items, scores, strict=True):
        delta = score - item.gold
        direction = "too lenient" if delta > 0 else "too strict"
        examples.append(
            {
                "Inputs": {"query": item.query, "document": item.document},
                "Generated Outputs": {"reasoning": "The query terms appear many times.", "score": score},
                "Feedback": f"judge {score}, humans {item.gold}: {'over' if delta > 0 else 'under'} by "
                f"{abs(delta)}; {direction}. Human rationale: {item.rationale}",
            }
        )
    return examples


def test_reflector_answers_gepa_builtin_proposer():
    from dspy.teleprompt.gepa.instruction_proposal import InstructionProposer

    stuffed = [item for item in sample_items(15, seed=6) if item.kind == "stuffed"][:3]
    dataset = reflective_examples(stuffed, [5, 5, 5])
    with dspy.context(lm=sim_lm("sim/reflector")):
        proposal = InstructionProposer()({"self": BASE_INSTRUCTION}, {"self": dataset}, ["self"])
    new = proposal["self"]
    assert new.startswith(BASE_INSTRUCTION) and new != BASE_INSTRUCTION
    assert "keyword_stuffing" in corrections_in(new)


def test_reflector_answers_gepas_raw_reflection_prompt():
    from gepa.strategies.instruction_proposal import InstructionProposalSignature

    partial = [item for item in sample_items(15, seed=6) if item.kind == "partial"][:3]
    dataset = reflective_examples(partial, [1, 1, 1])
    prompt = InstructionProposalSignature.prompt_renderer(
        {"current_instruction_doc": BASE_INSTRUCTION, "dataset_with_feedback": dataset}
    )
    [reply] = sim_lm("sim/reflector")(prompt)
    new = InstructionProposalSignature.output_extractor(reply)["new_instruction"]
    assert new.startswith(BASE_INSTRUCTION) and "partial_relevance" in corrections_in(new)


def test_reflector_fills_any_signature():
    class Anything(dspy.Signature):
        """Describe the data."""

        examples: str = dspy.InputField()
        observations: str = dspy.OutputField()
        count: int = dspy.OutputField()
        flag: bool = dspy.OutputField()
        kind: Literal["a", "b"] = dspy.OutputField()
        tags: list[str] = dspy.OutputField()
        ratio: float = dspy.OutputField()

    for adapter in (chat_adapter(), dspy.JSONAdapter()):
        with dspy.context(lm=sim_lm("sim/reflector"), adapter=adapter):
            out = dspy.Predict(Anything)(examples="q1 d1 q2 d2")
        assert out.observations and isinstance(out.count, int) and out.kind in ("a", "b")
        assert isinstance(out.flag, bool) and isinstance(out.tags, list) and isinstance(out.ratio, float)


def eight_gram_leak(instruction: str, documents) -> bool:
    def grams(text):
        tokens = re.findall(r"[a-z0-9]+", text.lower())
        return {" ".join(tokens[i : i + 8]) for i in range(len(tokens) - 7)}

    candidate = grams(instruction)
    return any(candidate & grams(document) for document in documents)


def test_reflector_sometimes_copies_a_document_phrase():
    items = sample_items(40, seed=12)
    leaks = 0
    for i in range(40):
        batch = items[i : i + 3] or items[:3]
        feedback = json.dumps(
            reflective_examples(batch, [item.gold + 1 if item.gold < 5 else 4 for item in batch])
        )
        new = rewrite_instruction(f"{BASE_INSTRUCTION} (v{i})", feedback, stable_rng("leak-test", str(i)))
        leaks += eight_gram_leak(new, [item.document for item in batch])
    assert 4 <= leaks <= 18, leaks


def test_same_messages_same_reply_whatever_the_path():
    messages = [{"role": "system", "content": "x"}, {"role": "user", "content": "y"}]
    assert complete_chat("sim/reflector", messages) == complete_chat("openai/sim/reflector", messages)


# --------------------------------------------------------------------------------------------------
# Optimizers, offline
# --------------------------------------------------------------------------------------------------


def to_examples(items):
    return [
        dspy.Example(query=i.query, document=i.document, gold=i.gold, rationale=i.rationale).with_inputs(
            "query", "document"
        )
        for i in items
    ]


def gepa_metric(gold, pred, trace=None, pred_name=None, pred_trace=None):
    score = getattr(pred, "score", None)
    if score is None:
        return dspy.Prediction(score=0.0, feedback="The output failed to parse: no score on the 1..5 scale.")
    delta = score - gold.gold
    word = "over" if delta > 0 else "under"
    direction = "too lenient" if delta > 0 else "too strict" if delta < 0 else "agrees"
    feedback = (
        f"judge {score}, humans {gold.gold}: {word} by {abs(delta)}; {direction}. Human rationale: "
        f"{gold.rationale} Judge reasoning: {pred.reasoning} Keep the 1..5 scale and the output format."
    )
    return dspy.Prediction(score=1 - delta * delta / 16, feedback=feedback)


def test_gepa_with_sim_judge_and_sim_reflector_finishes_offline(tmp_path):
    items = sample_items(15, seed=3)
    trainset, valset = to_examples(items[:10]), to_examples(items[10:])
    started = time.monotonic()
    with dspy.context(lm=sim_lm("sim/judge-small"), adapter=chat_adapter()):
        optimizer = dspy.GEPA(
            metric=gepa_metric,
            reflection_lm=sim_lm("sim/reflector"),
            max_metric_calls=30,
            reflection_minibatch_size=3,
            add_format_failure_as_feedback=True,
            num_threads=2,
            seed=0,
            track_stats=True,
            log_dir=str(tmp_path / "gepa"),
        )
        optimized = optimizer.compile(dspy.Predict(judge_signature()), trainset=trainset, valset=valset)
    elapsed = time.monotonic() - started
    instructions = optimized.predictors()[0].signature.instructions
    scores = optimized.detailed_results.val_aggregate_scores
    assert instructions != BASE_INSTRUCTION and instructions.startswith(BASE_INSTRUCTION)
    assert max(scores) > scores[0]
    assert elapsed < 15, elapsed


def test_mipro_with_sim_models_does_not_crash():
    items = sample_items(15, seed=3)
    trainset, valset = to_examples(items[:10]), to_examples(items[10:])

    def metric(gold, pred, trace=None):
        score = getattr(pred, "score", None)
        return 0.0 if score is None else 1 - (score - gold.gold) ** 2 / 16

    with dspy.context(lm=sim_lm("sim/judge-small"), adapter=chat_adapter()):
        optimizer = dspy.MIPROv2(
            metric=metric,
            prompt_model=sim_lm("sim/reflector"),
            task_model=sim_lm("sim/judge-small"),
            auto=None,
            num_candidates=3,
            num_threads=2,
            seed=0,
            verbose=False,
        )
        optimized = optimizer.compile(
            dspy.Predict(judge_signature()),
            trainset=trainset,
            valset=valset,
            num_trials=4,
            minibatch=False,
            max_bootstrapped_demos=1,
            max_labeled_demos=1,
        )
    assert optimized.predictors()[0].signature.instructions.startswith(BASE_INSTRUCTION)
