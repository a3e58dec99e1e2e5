"""High 5: a session belongs to who opened it in the role they opened it as; the same person
signed in as a customer does not read back what they asked as an employee."""

from __future__ import annotations

import httpx

from tests.security.conftest import STAFF_QUESTION, bearer, chat, intranet_token


def test_the_same_subject_in_a_customer_role_cannot_read_an_employee_session(
    keyed: str,
) -> None:
    employee, customer = (
        intranet_token("employee", sub="u-42"),
        intranet_token("customer", sub="u-42"),
    )
    opened = chat(keyed, employee, message=STAFF_QUESTION).json()
    session_id = opened["session_id"]
    read = httpx.get(f"{keyed}/v1/sessions/{session_id}", headers=bearer(customer), timeout=30)
    assert read.status_code == 404
    continued = chat(keyed, customer, message="那两年的呢？", session_id=session_id)
    assert continued.status_code == 404
    feedback = httpx.post(
        f"{keyed}/v1/feedback",
        json={"turn_id": opened["turn_id"], "rating": "down"},
        headers=bearer(customer),
        timeout=30,
    )
    assert feedback.status_code == 404
    mine = httpx.get(f"{keyed}/v1/sessions/{session_id}", headers=bearer(employee), timeout=30)
    assert mine.status_code == 200
