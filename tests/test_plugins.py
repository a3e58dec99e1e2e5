"""A bank plugs in its own components by settings alone: ASSISTANT_PLUGINS names a module
that registers them, and ASSISTANT_GENERATOR (or _VECTOR_STORE, _EMBEDDING_MODEL) picks one."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.channels.api import create_app
from assistant.errors import ConfigurationError
from assistant.ingest.documents import PlainFileDefaults
from assistant.pipeline import Assistant
from assistant.roles import Role
from assistant.search.index import IndexMismatch
from assistant.service import build_assistant, ingest_paths, open_index
from assistant.settings import Settings
from assistant.turn import TurnRequest
from tests.conftest import KNOWLEDGE, make_settings

PLUGIN = "tests.plugins.first_passage"


def test_a_generator_named_in_the_settings_answers_through_the_chat_api(
    assistant: Assistant, settings: Settings
) -> None:
    plugged = settings.model_copy(update={"plugins": [PLUGIN], "generator": "first-passage"})
    with TestClient(create_app(plugged)) as client:
        body = client.post("/v1/chat", json={"message": "大额存单起存金额是多少？"}).json()
        streamed = client.post(
            "/v1/chat", json={"message": "大额存单起存金额是多少？", "stream": True}
        ).text
    # The plugin's own wording: the first sentence of the best passage it is given, cited [1].
    best = assistant.passages_for("大额存单起存金额是多少？", Role.customer)[0].chunk
    assert body["answer"].startswith(best.text.split("。")[0])
    assert body["answer"].endswith("[1]") and body["grounded"]
    assert [c["chunk_id"] for c in body["citations"]] == [best.chunk_id]
    assert body["answer"] != assistant.answer(TurnRequest("大额存单起存金额是多少？")).answer
    # Its stream passed the same output rails, sentence by sentence.
    assert "event: done" in streamed and best.text.split("。")[0] in streamed


def test_the_plugins_answers_still_pass_the_output_rails(settings: Settings) -> None:
    plugged = settings.model_copy(update={"plugins": [PLUGIN], "generator": "first-passage"})
    result = build_assistant(plugged).answer(TurnRequest("稳盈90天理财的业绩比较基准是多少"))
    assert "理财非存款、产品有风险、投资须谨慎" in result.answer
    assert "output.risk_disclosure" in [v.rule for v in result.verdicts]


def test_the_exact_vector_store_answers_like_chroma(tmp_path: Path) -> None:
    folder = KNOWLEDGE / "products"
    sheets = [folder / f"{name}.md" for name in ("dep-large-cd-2026-01", "dep-time-deposit")]
    found = {}
    for store in ("chroma", "exact"):
        chosen = make_settings(tmp_path / store, vector_store=store)
        loaded, _ = ingest_paths(open_index(chosen), sheets, PlainFileDefaults())
        assert not loaded.errors
        passages = build_assistant(chosen).search("大额存单起存金额是多少？", Role.customer, 3)
        found[store] = [p.chunk.chunk_id for p in passages]
    assert found["exact"] == found["chroma"]
    assert any(chunk.startswith("dep-large-cd-2026-01") for chunk in found["exact"])


def test_an_index_built_for_another_vector_store_says_to_rebuild(tmp_path: Path) -> None:
    sheet = KNOWLEDGE / "products" / "dep-time-deposit.md"
    ingest_paths(open_index(make_settings(tmp_path)), [sheet], PlainFileDefaults())
    chroma = make_settings(tmp_path, vector_store="chroma")
    with pytest.raises(IndexMismatch, match="assistant ingest --prune"):
        open_index(chroma).snapshot()


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("generator", "gpt-9", "unknown generator 'gpt-9'"),
        ("vector_store", "qdrant", "unknown vector store 'qdrant'"),
        ("plugins", ["bank_plugins.missing"], "cannot be imported"),
    ],
)
def test_a_component_nobody_registered_is_a_configuration_error(
    settings: Settings, setting: str, value: object, says: str
) -> None:
    with pytest.raises(ConfigurationError, match=says):
        build_assistant(settings.model_copy(update={setting: value}))


def test_a_draft_in_its_own_words_is_grounded_sentence_by_sentence(settings: Settings) -> None:
    plugged = settings.model_copy(
        update={"plugins": ["tests.plugins.own_words"], "generator": "own-words"}
    )
    own_words = build_assistant(plugged)
    result = own_words.answer(TurnRequest("大额存单起存金额是多少？", Role.teller))
    first, *rest = result.answer.splitlines()
    # The restated sentence is cited as the passage that states it; the doubled figure and
    # the product the passage never names are removed, each with its reason.
    assert first.endswith("[1]。") and rest == []
    removed = [v for v in result.verdicts if v.rule == "grounding"]
    assert len(removed) == 2
    assert "do not state" in removed[0].reason and "白金信用卡" in removed[1].reason
    assert result.grounded and [c.n for c in result.citations] == [1]
    # A customer is told that sentences were removed, not the words that were.
    customer = own_words.answer(TurnRequest("大额存单起存金额是多少？", Role.customer))
    reasons = {v.reason for v in customer.verdicts if v.rule == "grounding"}
    assert reasons == {"sentence removed"}
