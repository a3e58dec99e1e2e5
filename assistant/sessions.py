"""The turn every channel runs: the session's earlier questions read in, the pipeline (and
suggestions where a profile is known), the turn stored, a hand-off recorded with a
reference the user can quote."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from assistant.advisor import advise
from assistant.generation import ComposerWording
from assistant.guard import segments
from assistant.pipeline import Assistant, TurnRequest, TurnResult
from assistant.recommend import Profile
from assistant.store import ConversationStore

log = logging.getLogger(__name__)


class ChatService:
    def __init__(self, assistant: Assistant, store: ConversationStore) -> None:
        self.assistant = assistant
        self.store = store
        self.wording = ComposerWording.load(assistant.settings.prompts_dir)

    def _with_history(self, request: TurnRequest, owner: str) -> TurnRequest:
        if not request.session_id or request.history:
            return request
        return replace(request, history=tuple(self.store.history(request.session_id, owner)))

    def turn(self, request: TurnRequest, owner: str, profile: Profile | None) -> dict[str, Any]:
        request = self._with_history(request, owner)
        result = advise(self.assistant, request, profile)
        return self._record(result, owner, request)

    def stream(
        self, request: TurnRequest, owner: str, profile: Profile | None
    ) -> Iterator[str | dict[str, Any]]:
        """Segments as the output rails release them, then the whole turn as a dict."""
        request = self._with_history(request, owner)
        if profile is not None:
            # Suggestions are checked product by product; release the checked reply in turns.
            result = advise(self.assistant, request, profile)
            yield from segments(result["answer"])
        else:
            for item in self.assistant.stream(request):
                if isinstance(item, TurnResult):
                    result = item.as_dict()
                else:
                    yield item
        recorded = self._record(result, owner, request)
        if "handoff" in recorded:
            yield "\n" + recorded["handoff"]["next_steps"]
        yield recorded

    def _record(self, result: dict[str, Any], owner: str, request: TurnRequest) -> dict[str, Any]:
        question = result.pop("question")
        if result["action"] == "handoff":
            asked = " ".join(v.get("excerpt") or "" for v in result["verdicts"])
            reference = self.store.open_handoff(
                result["turn_id"],
                result["session_id"],
                self.assistant.input_guard.handoff_kind(asked),
            )
            wording = self.wording.handoff_reference
            next_steps = wording.get(result["language"], wording["zh-CN"]).format(
                reference=reference
            )
            result["answer"] = f"{result['answer']}\n{next_steps}"
            result["handoff"] = {"reference": reference, "next_steps": next_steps}
            log.info("hand-off %s for turn %s", reference, result["turn_id"])
        self.store.record_turn(owner, result, question, str(request.role))
        return result

