"""A language model (llama.cpp, GGUF, in process; or any OpenAI-compatible server) for the dialogue's
helpers; never trusted to choose tools."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlparse

import httpx

from ..errors import ConfigError, ModelError
from .registry import ResolvedModel

_LOGGER = logging.getLogger(__name__)


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

    def close(self) -> None:
        self._llm.close()

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


class ChatModel(Protocol):
    """What the dialogue's helpers ask of a language model, in process or on a server."""

    name: str

    def json(self, system: str, user: str, schema: dict[str, Any], max_tokens: int = 32) -> Completion: ...

    def close(self) -> None: ...


class LLMUnavailable(ModelError):
    """The LLM server did not answer in time, or answered with an error: the rules go on alone."""


RETRY_S = 10.0  # after a failure the server is not asked for this long: callers never wait on a dead server


class RemoteLLM:
    """A chat model behind an OpenAI-compatible API (llama.cpp's server, ``appliance llm-server``, vLLM).

    ``base_url`` ends in ``/v1``. JSON answers are asked for with the standard ``json_schema`` response
    format; a server that refuses it by name (llama-cpp-python's takes ``json_object`` with a ``schema``) is
    asked that way from then on. A timeout, a refused connection or a 5xx raises :class:`LLMUnavailable` and
    keeps the server unasked for :data:`RETRY_S` seconds.
    """

    def __init__(self, base_url: str, timeout_s: float, model: str = "") -> None:
        parsed = urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(
                f"[models] llm_server = {base_url!r}: write it as an OpenAI-compatible base URL, "
                "e.g. http://127.0.0.1:8080/v1"
            )
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.base_url = base_url
        self.name = f"openai {base_url}"
        self.model = model
        self.timeout_s = timeout_s
        self.down_reason = ""
        self._down_until = 0.0
        self._llama_format = False  # the server wants {"type": "json_object", "schema": ...}
        self._client = httpx.Client(timeout=timeout_s)

    def json(self, system: str, user: str, schema: dict[str, Any], max_tokens: int = 32) -> Completion:
        """As :meth:`LocalLLM.json`, over HTTP. Blocking. Raises LLMUnavailable."""
        if time.monotonic() < self._down_until:
            raise LLMUnavailable(f"LLM server {self.base_url} is down ({self.down_reason})")
        started = time.perf_counter()
        body: dict[str, Any] = {
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "stream": False,
        }
        if self.model:
            body["model"] = self.model
        try:
            response = self._post(body, schema)
            # llama-cpp-python's server refuses "json_schema" (as a 500 that names the field): ask its way
            if response.status_code >= 400 and "response_format" in response.text and not self._llama_format:
                self._llama_format = True
                response = self._post(body, schema)
            if response.status_code >= 400:
                raise httpx.HTTPStatusError(
                    f"HTTP {response.status_code}: {response.text[:200]}", request=response.request, response=response
                )
            answer = response.json()
            text = answer["choices"][0]["message"]["content"] or ""
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as err:
            reason = f"{type(err).__name__}: {err}".strip().rstrip(":")
            if not self.down_reason:
                _LOGGER.error(
                    "LLM server %s does not answer (%s): the rules answer alone until it does", self.url, reason
                )
            self.down_reason = reason
            self._down_until = time.monotonic() + RETRY_S
            raise LLMUnavailable(f"LLM server {self.base_url}: {reason}") from None
        if self.down_reason:
            _LOGGER.warning("LLM server %s answers again", self.base_url)
            self.down_reason = ""
        elapsed = time.perf_counter() - started
        tokens = int((answer.get("usage") or {}).get("completion_tokens", 0))
        return Completion(text.strip(), elapsed, elapsed, tokens)

    def close(self) -> None:
        self._client.close()

    def _post(self, body: dict[str, Any], schema: dict[str, Any]) -> httpx.Response:
        if self._llama_format:
            body = {**body, "response_format": {"type": "json_object", "schema": schema}}
        else:
            body = {
                **body,
                "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}},
            }
        return self._client.post(self.url, json=body)
