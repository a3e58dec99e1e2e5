"""High 3: a small mistake in a staff file must never publish it. Front matter that does not
parse is refused; a staff document is never made public unless its new version says so; a
plain file gets an audience only when one is given for it; a link out of the folder is
refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.channels.api import create_app
from assistant.ingest.documents import PlainFileDefaults, load_documents
from assistant.roles import Audience, Role
from assistant.service import build_assistant, ingest_paths, open_index
from tests.conftest import KNOWLEDGE, make_settings, write
from tests.security.conftest import KEYS, bearer

STAFF_FILE = KNOWLEDGE / "policies" / "staff-cd-pricing-authority.md"


def staff_text() -> str:
    return STAFF_FILE.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "mistake",
    [
        lambda text: "\n" + text,  # a leading blank line
        lambda text: text.replace("\n---\n", "\n----\n", 1),  # a closing ----
        lambda text: text.replace("\n---\n", "\n...\n", 1),  # YAML's own end marker
        lambda text: text.replace("\n---\n", "\n", 1),  # never closed
        lambda text: text.replace("audience: staff", "audience staff"),  # not YAML
    ],
)
def test_a_staff_file_with_broken_front_matter_is_never_public(tmp_path: Path, mistake) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "docs" / "staff.md", mistake(staff_text()))
    loaded = load_documents([tmp_path / "docs"], PlainFileDefaults(audience=Audience.public))
    public = [d for d in loaded.documents if d.meta.audience is Audience.public]
    assert public == []
    assert loaded.documents or loaded.errors[0].reason


def test_a_staff_document_stays_staff_unless_its_new_version_says_otherwise(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path / "data")
    folder = tmp_path / "docs"
    write(folder / "staff-cd-pricing-authority.md", staff_text())
    index = open_index(settings)
    ingest_paths(index, [folder], PlainFileDefaults())
    # The same file saved without its front matter, ingested with a public default.
    body = staff_text().split("\n---\n", 1)[1]
    write(folder / "staff-cd-pricing-authority.md", body)
    loaded, report = ingest_paths(index, [folder], PlainFileDefaults(audience=Audience.public))
    assert [e.source for e in loaded.errors] == [str(folder / "staff-cd-pricing-authority.md")]
    assert "staff" in loaded.errors[0].reason
    assert index.snapshot().documents["staff-cd-pricing-authority"].meta["audience"] == "staff"
    found = build_assistant(settings).search("大额存单利率上浮基点", Role.customer, 5)
    assert all(p.chunk.audience == "public" for p in found)
    # Saying so explicitly publishes it.
    write(
        folder / "staff-cd-pricing-authority.md",
        staff_text().replace("audience: staff", "audience: public"),
    )
    loaded, report = ingest_paths(index, [folder], PlainFileDefaults())
    assert not loaded.errors and report.updated == ["staff-cd-pricing-authority"]


def test_a_plain_file_needs_an_audience_given_for_it(tmp_path: Path) -> None:
    write(tmp_path / "faq" / "opening-hours.md", "# 营业时间\n\n网点营业时间为9:00至17:00。")
    loaded = load_documents([tmp_path / "faq"], PlainFileDefaults())
    assert loaded.documents == [] and "audience" in loaded.errors[0].reason
    given = load_documents([tmp_path / "faq"], PlainFileDefaults(audience=Audience.staff))
    assert given.documents[0].meta.audience is Audience.staff


def test_a_link_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    secret = write(tmp_path / "elsewhere" / "notes.md", staff_text())
    folder = tmp_path / "docs"
    folder.mkdir()
    os.symlink(secret, folder / "notes.md")
    loaded = load_documents([folder], PlainFileDefaults(audience=Audience.public))
    assert loaded.documents == [] and "outside" in loaded.errors[0].reason


def test_the_admin_api_has_no_silent_public_default(tmp_path: Path) -> None:
    knowledge = tmp_path / "kb"
    write(knowledge / "faq" / "opening-hours.md", "# 营业时间\n\n网点营业时间为9:00至17:00。")
    settings = make_settings(tmp_path / "data", knowledge_dir=knowledge, api_keys=KEYS)
    with TestClient(create_app(settings)) as client:
        silent = client.post("/v1/admin/ingest", json={}, headers=bearer("admin-key-0004"))
        assert silent.status_code == 200
        assert [s["source"] for s in silent.json()["skipped"]] == [
            str(knowledge / "faq" / "opening-hours.md")
        ]
        assert "audience" in silent.json()["skipped"][0]["reason"]
        said = client.post(
            "/v1/admin/ingest", json={"audience": "staff"}, headers=bearer("admin-key-0004")
        )
        assert said.json()["skipped"] == [] and said.json()["added"] == ["opening-hours"]
