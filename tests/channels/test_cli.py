"""The `assistant` command as a user runs it: stable JSON for search and ask, honest exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.pipeline import Assistant
from assistant.settings import Settings
from tests.channels.test_api import server_env
from tests.conftest import ROOT, write


def run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return python(settings, "-m", "assistant", *args)


def python(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=server_env(settings),
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_ask_json_cites_the_knowledge_base(assistant: Assistant, settings: Settings) -> None:
    result = run(settings, "ask", "大额存单起存金额是多少？", "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert set(body) >= {"answer", "citations", "session_id", "grounded"}
    citation = body["citations"][0]
    assert set(citation) >= {"n", "doc_id", "title", "passage"}
    assert citation["doc_id"] == "dep-large-cd-2026-01"
    assert (ROOT / "knowledge" / "products" / f"{citation['doc_id']}.md").exists()


def test_ask_as_customer_about_a_staff_policy_cites_nothing_from_it(
    assistant: Assistant, settings: Settings
) -> None:
    question = "分行对大额存单利率上浮的审批权限是多少个基点？"
    result = run(settings, "ask", question, "--role", "customer", "--json")
    cited = {c["doc_id"] for c in json.loads(result.stdout)["citations"]}
    assert "staff-cd-pricing-authority" not in cited
    teller = run(settings, "ask", question, "--role", "teller", "--json")
    assert "staff-cd-pricing-authority" in {
        c["doc_id"] for c in json.loads(teller.stdout)["citations"]
    }


def test_search_json_lists_results_best_first(assistant: Assistant, settings: Settings) -> None:
    result = run(settings, "search", "个人养老金缴存上限", "--k", "3", "--json")
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)["results"]
    assert len(results) == 3
    assert set(results[0]) >= {"doc_id", "title", "score", "text", "audience"}
    assert results[0]["doc_id"] == "pension-account"
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert {r["audience"] for r in results} == {"public"}


def test_ingest_reports_bad_files_and_exits_nonzero(tmp_path: Path, settings: Settings) -> None:
    folder = tmp_path / "faq"
    write(folder / "hours.txt", "网点营业时间为工作日9:00至17:00。")
    write(folder / "broken.md", "---\nid: [\n---\n坏文件。")
    isolated = settings.model_copy(update={"data_dir": tmp_path / "data"})
    result = run(isolated, "ingest", str(folder), "--audience", "staff", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["added"] == ["hours"]
    assert [Path(s["source"]).name for s in report["skipped"]] == ["broken.md"]
    search = run(isolated, "search", "营业时间", "--role", "customer", "--json")
    assert json.loads(search.stdout)["results"] == []  # staff-only FAQ: invisible to customers
    search = run(isolated, "search", "营业时间", "--role", "teller", "--json")
    assert json.loads(search.stdout)["results"][0]["doc_id"] == "hours"


@pytest.mark.parametrize("command", [("ask", "你好"), ("eval", "answers"), ("eval", "retrieval")])
def test_an_empty_index_says_what_to_do(
    tmp_path: Path, settings: Settings, command: tuple[str, ...]
) -> None:
    isolated = settings.model_copy(update={"data_dir": tmp_path / "empty"})
    result = run(isolated, *command)
    assert result.returncode == 1
    assert "assistant ingest" in result.stderr and "Traceback" not in result.stderr


def test_a_broken_glossary_is_named_without_a_traceback(tmp_path: Path, settings: Settings) -> None:
    knowledge = tmp_path / "knowledge"
    write(knowledge / "glossary.yaml", "synonyms: [[定期存款]]")
    isolated = settings.model_copy(update={"knowledge_dir": knowledge})
    result = run(isolated, "ask", "你好")
    assert result.returncode == 1
    assert "glossary.yaml" in result.stderr and "Traceback" not in result.stderr


def test_a_question_loads_no_library_its_answer_does_not_use(
    assistant: Assistant, settings: Settings
) -> None:
    # Every scripted call pays for what it imports: the extractive answer over the exact
    # vector store needs neither Chroma nor the language-model client.
    script = (
        "import sys; from assistant.channels.cli import main\n"
        "main(['ask', '大额存单起存金额是多少？', '--json'], standalone_mode=False)\n"
        "print(sorted(m for m in ('chromadb', 'langchain_openai', 'sklearn') if m in sys.modules))"
    )
    result = python(settings, "-c", script)
    assert result.returncode == 0, result.stderr
    *answer, loaded = result.stdout.strip().splitlines()
    assert json.loads("\n".join(answer))["citations"] and loaded == "[]"
