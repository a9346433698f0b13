"""A local language model (llama.cpp, GGUF) for phrasing and extraction; never trusted to choose tools."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import ModelError
from .registry import ResolvedModel


@dataclass(frozen=True)
class Completion:
    """Generated text and its timings."""

    text: str
    first_token_s: float
    total_s: float
    tokens: int


class LocalLLM:
    """A loaded GGUF chat model with a fixed thread budget (1 thread by default: see ARCHITECTURE.md)."""

    def __init__(self, model: ResolvedModel, threads: int, context: int = 2048) -> None:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise ModelError("llama-cpp-python is not installed; run scripts/setup") from None
        try:
            self._llm = Llama(model_path=str(model.path), n_ctx=context, n_threads=threads, verbose=False, seed=0)
        except (ValueError, RuntimeError) as err:
            raise ModelError(f"LLM {model.path} cannot be loaded ({err}); check [models] llm") from None
        self.name = model.name

    def chat(self, system: str, user: str, max_tokens: int = 64) -> Completion:
        """Answer ``user`` greedily. Blocking: run it in an executor."""
        started = time.perf_counter()
        first = 0.0
        pieces: list[str] = []
        stream: Iterator[Any] = self._llm.create_chat_completion(  # type: ignore[assignment]
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
            max_tokens=max_tokens,
            temperature=0.0,
            stream=True,
        )
        for chunk in stream:
            content = chunk["choices"][0]["delta"].get("content")
            if content:
                first = first or time.perf_counter() - started
                pieces.append(content)
        return Completion("".join(pieces).strip(), first, time.perf_counter() - started, len(pieces))

    def json(self, system: str, user: str, schema: dict[str, Any], max_tokens: int = 32) -> Completion:
        """An answer constrained by a grammar to JSON matching ``schema``. Blocking."""
        started = time.perf_counter()
        result: Any = self._llm.create_chat_completion(
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
            max_tokens=max_tokens,
            temperature=0.0,
            response_format={"type": "json_object", "schema": schema},
        )
        elapsed = time.perf_counter() - started
        usage = result.get("usage") or {}
        text = result["choices"][0]["message"]["content"] or ""
        return Completion(text.strip(), elapsed, elapsed, int(usage.get("completion_tokens", 0)))
