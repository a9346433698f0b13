"""The bundled language model loads through llama.cpp and generates; a wrong file fails clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.errors import ModelError
from appliance.models.llm import LocalLLM
from appliance.models.registry import ModelRegistry, ResolvedModel


def test_smollm2_answers(tmp_path: Path) -> None:
    llm = LocalLLM(ModelRegistry(tmp_path).resolve("llm", "smollm2-135m"), threads=1)
    completion = llm.chat("You are a receptionist. Answer in one short sentence.", "Hello!", max_tokens=24)
    assert completion.text
    assert 0 < completion.first_token_s <= completion.total_s
    assert 0 < completion.tokens <= 24


def test_a_corrupt_gguf_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken.gguf"
    path.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(ModelError, match="cannot be loaded"):
        LocalLLM(ResolvedModel("llm", "broken", path), threads=1)
