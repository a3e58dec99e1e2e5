"""Hybrid retrieval over the real knowledge base: ranking, audience and effective dates."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from assistant.pipeline import Assistant
from assistant.roles import Role
from assistant.search.keyword import BM25
from assistant.search.retrieval import reciprocal_rank_fusion, search
from tests.conftest import STAFF_DOCS


def doc_ids(assistant: Assistant, query: str, role: Role = Role.customer, k: int = 5) -> list[str]:
    return [p.chunk.doc_id for p in assistant.search(query, role, k)]


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "a", "d"]], k=60)
    assert fused["a"] == fused["b"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["a"] > fused["c"] > 0 and fused["c"] == fused["d"]


def test_bm25_ranks_by_term_rarity_and_honours_the_mask() -> None:
    corpus = [["大额", "存单", "起存"], ["定期", "存款", "起存"], ["信用卡", "年费"]]
    bm25 = BM25(corpus)
    assert bm25.top(["大额", "起存"], 3) == [0, 1]
    assert bm25.top(["大额", "起存"], 3, mask=np.array([False, True, True])) == [1]
    assert bm25.top(["房贷"], 3) == []
    assert bm25.idf("房贷") > bm25.idf("大额") > bm25.idf("起存")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("大额存单起存金额是多少？", "dep-large-cd-2026-01"),
        ("大額存單起存金額是多少？", "dep-large-cd-2026-01"),
        ("大额存丹最少要存多少钱", "dep-large-cd-2026-01"),
        ("What is the minimum amount for a large-denomination CD?", "dep-large-cd-2026-01-en"),
        ("个人养老金一年最多能存多少？", "pension-account"),
        ("银行卡丢了怎么办？", "proc-lost-card"),
        ("取10万现金要提前预约吗？", "proc-large-cash-withdrawal"),
    ],
)
def test_hybrid_search_ranks_the_answering_document_near_the_top(
    assistant: Assistant, question: str, expected: str
) -> None:
    assert expected in doc_ids(assistant, question, k=3)


def test_results_report_both_rankers(assistant: Assistant) -> None:
    (best,) = assistant.search("大额存单3年期利率", Role.customer, 1)
    assert best.keyword_rank is not None and best.dense_rank is not None
    assert best.as_dict()["audience"] == "public"


@pytest.mark.parametrize(
    "question",
    [
        "分行最多可以给大额存单利率上浮多少个基点？",
        "大额存单内部定价授权 总行资产负债管理部 审批",
        "员工营销行为规范 飞单 处罚",
        "内部资料 严禁外传",
    ],
)
def test_a_customer_never_retrieves_a_staff_passage(assistant: Assistant, question: str) -> None:
    # Ask for everything the index could return: the filter must hold at any depth.
    customer = set(doc_ids(assistant, question, Role.customer, k=50))
    assert customer and not customer & STAFF_DOCS
    assert set(doc_ids(assistant, question, Role.teller, k=5)) & STAFF_DOCS


def test_superseded_sheets_are_not_retrieved(assistant: Assistant) -> None:
    question = "2025年第一期大额存单 3年期年利率2.15%"
    assert "dep-large-cd-2025-01" not in doc_ids(assistant, question, Role.teller, k=50)


def test_a_sheet_is_retrievable_inside_its_effective_dates(assistant: Assistant) -> None:
    snapshot = assistant.index.snapshot()
    in_2025 = search(
        snapshot, assistant.embedder, "大额存单3年期利率", Role.customer, 5, on=date(2025, 6, 1)
    )
    ids = {p.chunk.doc_id for p in in_2025}
    assert "dep-large-cd-2025-01" in ids
    assert not ids & {"dep-large-cd-2026-01", "dep-large-cd-2026-01-en"}
    # wm-wenying-90 starts on 2026-01-05; a day before, it does not exist.
    before_launch = search(
        snapshot, assistant.embedder, "稳盈90天业绩比较基准", Role.customer, 50, on=date(2026, 1, 4)
    )
    assert "wm-wenying-90" not in {p.chunk.doc_id for p in before_launch}
