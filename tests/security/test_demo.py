"""Critical 2: the widget's demo pages sign visitors in with the server's own key, so they
exist only in open local mode, and each visitor is someone of their own."""

from __future__ import annotations

import re

import httpx
import jwt
import pytest

from assistant.channels.api import create_app
from assistant.errors import ConfigurationError
from assistant.pipeline import Assistant
from assistant.settings import Settings
from tests.channels.test_api import running_server
from tests.security.conftest import INTRANET_SECRET, KEYS, chat


def test_a_keyed_server_has_no_demo_pages(keyed: str) -> None:
    for persona in ("employee", "customer"):
        assert httpx.get(f"{keyed}/widget/demo/{persona}", timeout=30).status_code == 404


def page_token(url: str, persona: str) -> str:
    page = httpx.get(f"{url}/widget/demo/{persona}", timeout=30).text
    match = re.search(r"[\w-]+\.[\w-]+\.[\w-]+", page.split("token", 1)[1])
    assert match, page[:300]
    return match.group()


def test_each_demo_visitor_is_someone_of_their_own(
    assistant: Assistant, settings: Settings
) -> None:
    with running_server(settings) as url:
        first, second = page_token(url, "customer"), page_token(url, "customer")
        subjects = {
            jwt.decode(t, options={"verify_signature": False})["sub"] for t in (first, second)
        }
        assert len(subjects) == 2
        opened = chat(url, first, message="大额存单起存金额是多少？").json()
        read = httpx.get(
            f"{url}/v1/sessions/{opened['session_id']}",
            headers={"Authorization": f"Bearer {second}"},
            timeout=30,
        )
        assert read.status_code == 404


@pytest.mark.parametrize(
    "production",
    [{"api_keys": KEYS}, {"intranet_secret": INTRANET_SECRET}],
)
def test_demo_pages_refuse_to_start_beside_production_secrets(
    assistant: Assistant, settings: Settings, production: dict[str, object]
) -> None:
    demo = settings.model_copy(update={"demo_pages": True, **production})
    with pytest.raises(ConfigurationError, match="demo pages"):
        create_app(demo, assistant)
