"""An optional helper: a local language model proposes which task an utterance is about.

Only asked when the rules understood nothing. The model answers in JSON constrained by a grammar to
a fixed list of task names, the answer is validated again, and a proposal can only *start* a flow:
the flow still asks for everything it needs and reads it back before any action. So a weak model
costs at most a wrong question, never a wrong write. Off by default: SmolLM2-135M picked the right
task for 4 of 12 paraphrases here (``benchmarks/dialog.py`` measures it), below what the rules do.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import jsonschema

from ..config import ModelsConfig
from ..errors import ModelError
from ..models.llm import ChatModel, LocalLLM, RemoteLLM
from ..models.registry import ModelRegistry

_LOGGER = logging.getLogger(__name__)

TASKS = {
    "book": "make a new appointment",
    "cancel": "cancel an existing appointment",
    "reschedule": "move an existing appointment to another time",
    "message": "leave a message for the staff",
    "callback": "ask to be called back",
    "human": "talk to a person",
    "order_status": "ask where an order is",
    "payment": "pay for an order",
    "lead": "ask about buying the company's services",
    "none": "none of these",
}


class IntentProposer:
    """Asks a local LLM to name the caller's task among the ones this business offers."""

    def __init__(self, llm: ChatModel) -> None:
        self.llm = llm

    @classmethod
    def configured(cls, models: ModelsConfig, cache: Path) -> IntentProposer | None:
        """The proposer if ``[models] llm_intents`` is on (loading the LLM, or pointing at its server),
        else None. Blocking."""
        if not models.llm_intents:
            return None
        if models.llm_server:
            return cls(RemoteLLM(models.llm_server, models.server_timeout_s, models.llm_server_model))
        return cls(LocalLLM(ModelRegistry(cache).resolve("llm", models.llm), models.llm_threads))

    def propose(self, utterance: str, allowed: list[str]) -> str | None:
        """One of ``allowed``, or None when the model says none (or answers outside the schema)."""
        options = [t for t in TASKS if t in allowed] + ["none"]
        schema = {
            "type": "object",
            "properties": {"task": {"type": "string", "enum": options}},
            "required": ["task"],
            "additionalProperties": False,
        }
        system = (
            "You sort phone requests for a receptionist. Tasks:\n"
            + "\n".join(f"- {t}: {TASKS[t]}" for t in options)
            + '\nAnswer with JSON like {"task": "book"}.'
        )
        try:
            completion = self.llm.json(system, utterance, schema, max_tokens=16)
        except ModelError as err:  # a server down or in error: the rules' own answer stands
            _LOGGER.debug("no task proposal: %s", err)
            return None
        try:
            answer = json.loads(completion.text)
            jsonschema.validate(answer, schema)
        except (json.JSONDecodeError, jsonschema.ValidationError):
            _LOGGER.warning("the LLM answered outside the task schema; ignored")
            return None
        task = str(answer["task"])
        _LOGGER.debug("LLM proposed task %s in %.0f ms", task, completion.total_s * 1000)
        return None if task == "none" else task
