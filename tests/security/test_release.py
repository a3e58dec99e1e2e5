"""High 4: whatever a customer receives (the answer, each citation's passage, suggestion
texts, verdict excerpts) passes the same audience check; a staff document's text, title or
id reaches a customer in no field."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.ingest.documents import PlainFileDefaults
from assistant.roles import Role
from assistant.service import build_assistant, ingest_paths, open_index
from assistant.turn import TurnRequest
from tests.conftest import front_matter, make_settings, write

# A staff rule, and a public sheet that a careless editor pasted it into.
STAFF_RULE = "支行行长可在挂牌利率基础上为新增存款申请上浮不超过10个基点，须经资产负债管理部审批。"
PUBLIC_SHEET = (
    "# 起存金额\n\n江澜测试存单起存金额为人民币20万元，按1万元递增。" + STAFF_RULE + "存期为1年。"
)


def pasted(tmp_path: Path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "docs"
    write(
        folder / "staff.md",
        front_matter(
            "staff-test-pricing",
            f"# 定价授权\n\n{STAFF_RULE}",
            title="测试存单定价授权（内部）",
            audience="staff",
            kind="policy",
        ),
    )
    write(
        folder / "public.md",
        front_matter("dep-test-cd", PUBLIC_SHEET, title="江澜测试存单产品说明书", kind="product"),
    )
    settings = make_settings(tmp_path / "data")
    ingest_paths(open_index(settings), [folder], PlainFileDefaults())
    return build_assistant(settings)


def test_a_citation_never_carries_staff_text_to_a_customer(tmp_path: Path) -> None:
    assistant = pasted(tmp_path)
    result = assistant.answer(TurnRequest("江澜测试存单起存金额是多少？新增存款能上浮多少基点？"))
    sent = json.dumps(result.as_dict(), ensure_ascii=False)
    assert result.citations, result.answer
    assert "资产负债管理部" not in sent and "上浮不超过10个基点" not in sent
    assert "staff-test-pricing" not in sent and "定价授权" not in sent
    assert "20万元" in sent  # the public part is still quoted


def test_a_teller_still_reads_the_whole_passage(tmp_path: Path) -> None:
    assistant = pasted(tmp_path)
    result = assistant.answer(TurnRequest("江澜测试存单新增存款能上浮多少基点？", Role.teller))
    assert any(STAFF_RULE in c.passage for c in result.citations)
