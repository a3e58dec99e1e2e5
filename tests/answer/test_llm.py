"""The language-model generator against a real model: the small Qwen2.5 0.5B GGUF served by
llama.cpp's own OpenAI-compatible server on loopback, reached through LangChain's ChatOpenAI
exactly as a bank's vLLM or Ollama would be. `make test` installs the model first. The model
is slow on two cores, so the turns here are few."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from assistant.answer.llm import LanguageModelGenerator
from assistant.answer.local_model import LocalServer
from assistant.channels.api import create_app
from assistant.evaluation import untraceable_figures
from assistant.pipeline import Assistant
from assistant.roles import Role
from assistant.service import build_assistant
from assistant.settings import Settings
from assistant.turn import TurnRequest, TurnResult
from tests.conftest import ROOT, SMALL_MODEL_FILE, llm_settings

MODELS = ROOT / "data" / "models"

pytestmark = pytest.mark.skipif(
    not SMALL_MODEL_FILE.is_file(),
    reason=f"the small model is not installed: run `make test` ({SMALL_MODEL_FILE})",
)


@pytest.fixture(scope="module")
def llm_assistant(assistant: Assistant, settings: Settings) -> Iterator[Assistant]:
    """The assistant with ASSISTANT_GENERATOR=llm on the local backend: it starts its own
    model server, as `assistant serve` would."""
    models = settings.models_dir()
    if not models.exists():
        models.symlink_to(MODELS, target_is_directory=True)
    built = build_assistant(llm_settings(settings))
    generator = built.generator
    assert isinstance(generator, LanguageModelGenerator) and generator.server is not None
    yield built
    generator.server.stop()


def ask(assistant: Assistant, question: str) -> TurnResult:
    return assistant.answer(TurnRequest(question, Role.customer))


def assert_every_sentence_cites(result: TurnResult) -> None:
    given = {c.n for c in result.citations}
    for line in result.answer.splitlines():
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", line)}
        assert cited and cited <= given, line
    assert untraceable_figures(result) == []


def test_a_chinese_answer_is_written_by_the_model_and_cites_the_sheet(llm_assistant):
    result = ask(llm_assistant, "大额存单起存金额是多少？")
    assert result.generator == "llm" and result.grounded
    assert "20万元" in result.answer
    assert "dep-large-cd-2026-01" in {c.doc_id for c in result.citations}
    assert_every_sentence_cites(result)


def test_an_english_question_gets_an_english_answer_from_the_english_sheet(llm_assistant):
    result = ask(llm_assistant, "How many kinds of call deposit are there?")
    assert result.generator == "llm" and result.grounded
    assert result.language == "en" and not re.search(r"[\u4e00-\u9fff]", result.answer)
    assert {c.doc_id for c in result.citations} == {"dep-call-deposit-en"}
    assert_every_sentence_cites(result)


def test_a_question_no_passage_touches_is_declined_without_asking_the_model(llm_assistant):
    result = ask(llm_assistant, "量子计算机的散热原理是什么？")
    assert not result.grounded and result.citations == []
    assert any(v.rule == "generator" and "no passage" in v.reason for v in result.verdicts)
    assert "95388" in result.answer  # the decline's next step


def test_an_answer_about_something_no_document_names_is_not_released(llm_assistant):
    result = ask(llm_assistant, "火星基地的开户流程是什么？")
    assert "火星基地" not in result.answer
    # Stopped before the model was asked, or by the ground stage: either says so.
    stages = {v.rule for v in result.verdicts}
    if "generator" not in stages:  # the ground stage removed it; a teller is told why
        staff = llm_assistant.answer(TurnRequest("火星基地的开户流程是什么？", Role.teller))
        removed = [v.reason for v in staff.verdicts if v.rule == "grounding"]
        assert any("火星" in reason for reason in removed)
        assert all(v.reason == "sentence removed" for v in result.verdicts if v.rule == "grounding")


def test_the_stream_releases_only_checked_sentences_and_they_make_the_answer(llm_assistant):
    request = TurnRequest("通知存款有几种？", Role.customer)
    *segments, result = llm_assistant.stream(request)
    assert isinstance(result, TurnResult) and result.generator == "llm"
    assert "".join(segments) == result.answer
    assert all(isinstance(s, str) and s.strip() for s in segments)
    assert_every_sentence_cites(result)


def test_a_stopped_model_server_means_the_extractive_composer_answers(settings, assistant):
    server = LocalServer(SMALL_MODEL_FILE, threads=1, context_tokens=2048).start()
    server.stop()
    stopped = build_assistant(
        llm_settings(settings, llm_backend="openai", llm_base_url=server.base_url, llm_timeout_s=5)
    )
    result = ask(stopped, "大额存单起存金额是多少？")
    assert result.generator == "extractive" and result.grounded
    assert "20万元" in result.answer
    assert any(v.rule == "generator" and "failed" in v.reason for v in result.verdicts)
    ready = TestClient(create_app(stopped.settings, stopped)).get("/readyz").json()
    assert ready["generator"] == "llm" and "not answering" in ready["degraded"][0]


def test_the_openai_backend_needs_the_servers_address(settings, assistant):
    from assistant.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="ASSISTANT_LLM_BASE_URL"):
        build_assistant(llm_settings(settings, llm_backend="openai"))


def test_a_follow_up_is_restated_by_the_model_as_a_question_of_its_own(llm_assistant):
    earlier, follow_up = "大额存单可以转让给别人吗", "那要收手续费吗"
    rule = llm_assistant.follow_ups.contextualize([earlier], follow_up, "zh-CN")
    assert rule != follow_up  # the rule reads it as a follow-up
    result = llm_assistant.answer(TurnRequest(follow_up, Role.customer, history=(earlier,)))
    assert result.standalone not in (rule, follow_up)  # the model's reading, not the rule's
    assert "大额存单" in result.standalone
