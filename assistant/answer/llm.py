"""The language-model generator: the passages the retrieval evidence vouches for, numbered,
with a prompt that forbids guessing (prompts/llm.yaml), sent through LangChain's ChatOpenAI to
any OpenAI-compatible server: llama.cpp's on this machine (backend `local`) or the bank's
own (backend `openai`).

The model is asked only when some passage touches the question; its reply is released as
sentences, each of which the pipeline traces to the passages it cites before the output
rails see it. A server that is slow, unreachable or answers in another language never fails
the turn: the extractive composer answers instead, and the turn's verdicts say so."""

from __future__ import annotations

import atexit
import logging
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    BaseMessageChunk,
    HumanMessage,
    SystemMessage,
)
from langchain_openai import ChatOpenAI

from assistant.answer.composer import ExtractiveComposer, extractive_composer, localise
from assistant.answer.generator import (
    Citation,
    Draft,
    DraftStream,
    GenerationInput,
    GeneratorContext,
    citation_of,
)
from assistant.answer.local_model import LocalServer, model_spec
from assistant.answer.wording import read_texts_file, text_in, texts_in
from assistant.errors import ConfigurationError
from assistant.settings import Settings
from assistant.text import LANGUAGES, Language, detect_language, fold, segments, sentences_in

log = logging.getLogger(__name__)

MARKER = re.compile(r"\[\d+\]")


@dataclass(frozen=True)
class LlmPrompt:
    """prompts/llm.yaml, checked at load."""

    system: dict[str, str]
    # A worked exchange per language: passages, question, answer.
    example: dict[str, tuple[str, str, str]]
    no_answer: dict[str, str]
    passage: str
    question: dict[str, str]
    rewrite_system: str
    rewrite_user: str

    @classmethod
    def load(cls, prompts_dir: Path) -> LlmPrompt:
        path = prompts_dir / "llm.yaml"
        data = read_texts_file(path)
        return cls(
            system=texts_in(path, data, "system", frozenset({"no_answer"})),
            example={
                language: tuple(  # type: ignore[misc]
                    text_in(path, data, f"example.{language}.{part}", frozenset())
                    for part in ("passages", "question", "answer")
                )
                for language in LANGUAGES
            },
            no_answer=texts_in(path, data, "no_answer", frozenset()),
            passage=text_in(path, data, "passage", frozenset({"n", "title", "section", "text"})),
            question=texts_in(path, data, "question", frozenset({"passages", "question"})),
            rewrite_system=text_in(path, data, "rewrite.system", frozenset()),
            rewrite_user=text_in(path, data, "rewrite.user", frozenset({"history", "question"})),
        )

    def messages(
        self, question: str, language: Language, citations: Sequence[Citation]
    ) -> list[BaseMessage]:
        shown = "\n\n".join(
            self.passage.format(n=c.n, title=c.title, section=c.section, text=c.passage)
            for c in citations
        )
        system = self.system[language].format(no_answer=self.no_answer[language])
        example_passages, example_question, example_answer = self.example[language]
        template = self.question[language]
        return [
            SystemMessage(system),
            HumanMessage(template.format(passages=example_passages, question=example_question)),
            AIMessage(example_answer),
            HumanMessage(template.format(passages=shown, question=question)),
        ]

    def says_no_answer(self, sentence: str, language: Language) -> bool:
        """The model's own way of declining, in any of the languages."""
        said = _bare(sentence)
        return any(_bare(text) in said for text in self.no_answer.values())


def _bare(text: str) -> str:
    return "".join(ch for ch in fold(text) if ch.isalnum())


class LanguageModelGenerator:
    """Answers in the model's words from the passages the evidence vouches for."""

    name = "llm"

    def __init__(
        self,
        chat: BaseChatModel,
        prompt: LlmPrompt,
        composer: ExtractiveComposer,
        settings: Settings,
        base_url: str,
        server: LocalServer | None = None,
    ) -> None:
        self.chat = chat
        self.prompt = prompt
        self.composer = composer
        self.min_support = settings.llm_min_support
        self.passages = settings.llm_passages
        self.retry_after_s = settings.llm_retry_after_s
        self.api_key = settings.llm_api_key
        self.base_url = base_url
        self.server = server
        # After a failure the model is left to rest: turns meanwhile fall back at once
        # instead of each waiting out the timeout.
        self._resting_until = 0.0

    def generate(self, request: GenerationInput) -> Draft:
        stream = self.stream(request)
        text = "".join(stream.pieces)
        return Draft(
            text,
            stream.citations,
            stream.grounded,
            quoted=stream.quoted,
            author=stream.author,
            notes=stream.notes,
            decline_reason=stream.decline_reason,
        )

    def stream(self, request: GenerationInput) -> DraftStream:
        """The model's answer as sentences. Waits for its opening words (the model is asked
        only now), so that a server that fails, or an answer in the wrong language, is
        replaced before anything is released."""
        ranks = self.composer.evidence(request, self.min_support, self.passages)
        if not ranks:
            return self._declined(request, "no passage touches the question")
        if time.monotonic() < self._resting_until:
            return self._fallback(request, "the model server failed a moment ago")
        chunks = [request.passages[rank].chunk for rank in ranks]
        citations = [citation_of(n, chunk) for n, chunk in enumerate(chunks, 1)]
        messages = self.prompt.messages(request.question, request.language, citations)
        try:
            sentences = sentences_of(self.chat.stream(messages), request.language)
            opening = _opening(sentences)
        except Exception as error:  # any failure of the server or its client: answer without it
            return self._failed(request, error)
        said = "".join(opening)
        if not said.strip() or self.prompt.says_no_answer(said, request.language):
            # A small model misses answers its passages hold; the quoting composer, whose
            # checks are strict, answers when it finds one, and declines otherwise.
            return self._fallback(request, "the model found no answer in the passages")
        if not same_language(said, request.language):
            return self._fallback(request, "the model answered in another language")
        stream = DraftStream(citations, True, iter(()), quoted=False, author=self.name)
        stream.pieces = self._rest(opening, sentences, stream)
        return stream

    def _rest(
        self, opening: list[str], sentences: Iterator[str], stream: DraftStream
    ) -> Iterator[str]:
        yield from opening
        try:
            yield from sentences
        except Exception as error:  # what passed so far stands, checked like any sentence
            log.warning("the model's answer broke off: %r", error)
            self._resting_until = time.monotonic() + self.retry_after_s
            stream.notes.append(f"the model's answer broke off ({type(error).__name__})")

    def _declined(self, request: GenerationInput, why: str) -> DraftStream:
        log.debug("llm declines: %s", why)
        text = self.composer.wording.decline[request.language]
        return DraftStream(
            [],
            False,
            iter(segments(text)),
            quoted=True,
            author=self.name,
            notes=[why],
            decline_reason="no_evidence",
        )

    def _failed(self, request: GenerationInput, error: Exception) -> DraftStream:
        log.warning("the model server failed: %r", error)
        self._resting_until = time.monotonic() + self.retry_after_s
        return self._fallback(request, f"the model server failed ({type(error).__name__})")

    def _fallback(self, request: GenerationInput, why: str) -> DraftStream:
        log.warning("llm falls back to the extractive composer: %s", why)
        stream = self.composer.stream(request)
        stream.author = self.composer.name
        stream.notes.append(why)
        return stream

    def rewrite(self, history: Sequence[str], question: str) -> str | None:
        """A follow-up as a question that stands on its own; None when the model cannot say."""
        if time.monotonic() < self._resting_until:
            return None
        user = self.prompt.rewrite_user.format(history="\n".join(history), question=question)
        try:
            reply = self.chat.invoke(
                [SystemMessage(self.prompt.rewrite_system), HumanMessage(user)]
            )
        except Exception as error:  # the rule's reading stands
            log.warning("follow-up not rewritten: %r", error)
            self._resting_until = time.monotonic() + self.retry_after_s
            return None
        lines = reply.text.strip().splitlines()
        return lines[0].strip() or None if lines else None

    def problem(self) -> str | None:
        """What keeps the model from answering now (for /readyz), or None."""
        headers = (
            {"Authorization": f"Bearer {self.api_key.get_secret_value()}"} if (self.api_key) else {}
        )
        try:
            httpx.get(f"{self.base_url}/models", headers=headers, timeout=2).raise_for_status()
        except Exception as error:  # unreachable, refused, an address that is no URL
            return (
                f"the model server at {self.base_url} is not answering ({type(error).__name__}); "
                "the extractive composer answers meanwhile"
            )
        return None


def _opening(sentences: Iterator[str]) -> list[str]:
    """The reply's first sentences, up to the first with words in it ("1. " alone cannot
    tell English from Chinese)."""
    opening: list[str] = []
    for sentence in sentences:
        opening.append(sentence)
        if len(re.findall(r"[^\W\d_]", MARKER.sub("", sentence))) >= 2:
            break
    return opening


def sentences_of(chunks: Iterable[BaseMessageChunk], language: Language) -> Iterator[str]:
    """A token stream as whole sentences (with their citation markers), in the reply's
    script: a Traditional Chinese question gets Traditional characters whatever the model
    wrote."""
    for sentence in sentences_in(chunk.text for chunk in chunks):
        yield localise(sentence, language)


def same_language(sentence: str, language: Language) -> bool:
    """English and Chinese apart (the script of Chinese is fixed afterwards)."""
    return (detect_language(sentence) == "en") == (language == "en")


def chat_model(settings: Settings, base_url: str) -> ChatOpenAI:
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
    return ChatOpenAI(
        base_url=base_url,
        model=settings.llm_model,
        api_key=key,
        timeout=settings.llm_timeout_s,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
        max_retries=0,  # the fall-back answers at once; a retry would double the wait
    )


def language_model(context: GeneratorContext) -> LanguageModelGenerator:
    settings = context.settings
    server = None
    if settings.llm_backend == "local":
        spec = model_spec(settings.models_file, settings.llm_model)
        server = LocalServer(
            settings.models_dir() / spec.file, settings.llm_threads, settings.llm_context_tokens
        ).start()
        atexit.register(server.stop)
    base_url = server.base_url if server else settings.llm_base_url
    if base_url is None:
        raise ConfigurationError(
            "ASSISTANT_LLM_BACKEND=openai needs ASSISTANT_LLM_BASE_URL, the server's /v1 URL"
        )
    return LanguageModelGenerator(
        chat_model(settings, base_url),
        LlmPrompt.load(context.prompts_dir),
        extractive_composer(context),
        settings,
        base_url,
        server,
    )
