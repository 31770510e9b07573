"""A request's page and what practitioners do with it, through the Flask client.

The young person asks through the bot (tests/factories.ask_for_interview), so the page
shows real answers, consent, timeline and conversation.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.crypto import Vault
from bot.inbox import Inbox
from bot.models import AuditEvent, OutboxMessage, RequestEvent, RhiRequest
from tests.conftest import FrozenClock
from tests.dialog import send
from tests.factories import Dashboard, People, ask_for_interview, csrf_token
from tests.test_dashboard import text_of as page_text

NOTE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture
def reference(inbox: Inbox, people: People) -> str:
    """A Welsh request by SMS from Cardiff, with a note that tries to be markup."""
    return ask_for_interview(inbox, note=NOTE)


def text_of(response: object) -> str:
    """The page's words, with the brackets around a name closed up."""
    return re.sub(r" ([,:;)])", r"\1", page_text(response).replace("( ", "("))


def page(client: FlaskClient, reference: str) -> Any:
    return client.get(f"/dashboard/requests/{reference}")


def act(client: FlaskClient, reference: str, action: str, **fields: str) -> Any:
    """Press one of the page's buttons: POST its form with the page's CSRF token."""
    token = csrf_token(client, f"/dashboard/requests/{reference}")
    return client.post(f"/dashboard/requests/{reference}/{action}",
                       data={"csrf_token": token, **fields})


def stored(engine: Engine, reference: str) -> RhiRequest:
    with Session(engine) as session:
        return session.exec(select(RhiRequest).where(RhiRequest.reference == reference)).one()


def audit_actions(engine: Engine) -> list[tuple[str, int | None, dict[str, Any]]]:
    with Session(engine) as session:
        rows = session.exec(select(AuditEvent).where(
            col(AuditEvent.action).startswith("request.")).order_by(col(AuditEvent.id))).all()
    return [(r.action, r.practitioner_id, json.loads(r.detail)) for r in rows]


def timeline(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.exec(select(RequestEvent.kind).order_by(col(RequestEvent.id))))


def test_alice_sees_the_answers_consent_timeline_and_conversation(
    dashboard: Dashboard, people: People, reference: str, db_engine: Engine
) -> None:
    dashboard.sign_in(people.alice)
    response = page(dashboard.client, reference)
    assert response.status_code == 200
    words = text_of(response)
    assert f"Request {reference}" in words
    assert "Cymraeg" in words and "Cardiff" in words and "Text message, morning" not in words
    assert "Welsh-speaking worker wanted Yes" in words
    assert "Consent given: " in words and "Channel: Text message (SMS)" in words
    assert "Asked for an interview (the young person)" in words
    assert "Young person" in words and "Caerdydd" in words  # what they typed, in order
    assert audit_actions(db_engine) == [
        ("request.viewed", people.alice.id, {})]


def test_what_a_young_person_wrote_is_shown_as_text_never_as_markup(
    dashboard: Dashboard, people: People, reference: str
) -> None:
    dashboard.sign_in(people.alice)
    body = page(dashboard.client, reference).get_data(as_text=True)
    assert "<script>alert(1)" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in body


def test_charlie_gets_the_same_404_for_a_cardiff_request_as_for_none(
    dashboard: Dashboard, people: People, reference: str, db_engine: Engine
) -> None:
    dashboard.sign_in(people.charlie)
    hidden = page(dashboard.client, reference)
    missing = page(dashboard.client, "NONE-0000")
    assert hidden.status_code == missing.status_code == 404
    # The same page, but for the address in its language switch.
    assert text_of(hidden) == text_of(missing)
    token = csrf_token(dashboard.client, "/dashboard")
    claimed = dashboard.client.post(f"/dashboard/requests/{reference}/claim",
                                    data={"csrf_token": token})
    assert claimed.status_code == 404
    assert stored(db_engine, reference).status == "queued"
    assert audit_actions(db_engine) == []


def test_a_post_without_its_csrf_token_is_refused(
    dashboard: Dashboard, people: People, reference: str, db_engine: Engine
) -> None:
    dashboard.sign_in(people.alice)
    response = dashboard.client.post(f"/dashboard/requests/{reference}/claim")
    assert response.status_code == 400
    assert stored(db_engine, reference).claimed_by is None


def test_alice_claims_and_releases_and_each_step_is_audited(
    dashboard: Dashboard, people: People, reference: str, db_engine: Engine
) -> None:
    dashboard.sign_in(people.alice)
    claimed = act(dashboard.client, reference, "claim")
    assert claimed.status_code == 303 and claimed.location.endswith("done=claimed")
    assert stored(db_engine, reference).claimed_by == people.alice.id
    assert "You have claimed this request." in text_of(dashboard.client.get(claimed.location))
    assert act(dashboard.client, reference, "release").status_code == 303
    assert stored(db_engine, reference).status == "queued"
    assert timeline(db_engine) == ["created", "claimed", "released"]
    actions = [a for a, _, _ in audit_actions(db_engine) if a != "request.viewed"]
    assert actions == ["request.claimed", "request.released"]


def test_a_claim_that_lost_says_who_has_it(
    client: FlaskClient, dashboard: Dashboard, people: People, reference: str,
    db_engine: Engine, app: Any, clock: FrozenClock
) -> None:
    bobs = Dashboard(app.test_client(), clock)
    bobs.sign_in(people.bob)
    dashboard.sign_in(people.alice)
    token = csrf_token(dashboard.client, f"/dashboard/requests/{reference}")
    assert act(bobs.client, reference, "claim").status_code == 303
    lost = dashboard.client.post(f"/dashboard/requests/{reference}/claim",
                                 data={"csrf_token": token}, follow_redirects=True)
    assert "Someone was quicker: Bob has this request." in text_of(lost)
    assert stored(db_engine, reference).claimed_by == people.bob.id


def test_bob_reassigns_to_alice_and_routes_another_request(
    dashboard: Dashboard, people: People, reference: str, db_engine: Engine, inbox: Inbox
) -> None:
    dashboard.sign_in(people.bob)
    assert act(dashboard.client, reference, "reassign",
               practitioner=str(people.charlie.id)).location.endswith("done=refused")
    assert act(dashboard.client, reference, "reassign",
               practitioner=str(people.alice.id)).location.endswith("done=reassigned")
    assert stored(db_engine, reference).claimed_by == people.alice.id
    assert "Reassigned (Bob); to Alice" in text_of(page(dashboard.client, reference))
    assert act(dashboard.client, reference, "route", area="gwynedd").location.endswith(
        "done=routed")
    assert stored(db_engine, reference).area == "gwynedd"
    assert page(dashboard.client, reference).status_code == 404  # not Bob's area now


def test_alice_cannot_reassign_or_route(dashboard: Dashboard, people: People, reference: str,
                                        db_engine: Engine) -> None:
    dashboard.sign_in(people.alice)
    assert "Give it to" not in text_of(page(dashboard.client, reference))
    assert act(dashboard.client, reference, "route", area="gwynedd").location.endswith(
        "done=refused")
    assert stored(db_engine, reference).area == "cardiff"


def test_a_contact_attempt_that_got_through_is_the_first_contact(
    dashboard: Dashboard, people: People, reference: str, db_engine: Engine,
    clock: FrozenClock
) -> None:
    dashboard.sign_in(people.alice)
    act(dashboard.client, reference, "claim")
    act(dashboard.client, reference, "contact", how="phone", reached="no")
    assert stored(db_engine, reference).first_contact_at is None
    act(dashboard.client, reference, "contact", how="phone", reached="yes")
    assert stored(db_engine, reference).first_contact_at == clock.now
    words = text_of(page(dashboard.client, reference))
    assert "Contact attempt (Alice); Phone call, did not get through" in words
    assert "Contact attempt (Alice); Phone call, got through" in words
    logged = [d for a, _, d in audit_actions(db_engine) if a == "request.contact_logged"]
    assert logged == [{"how": "phone", "ok": True, "reached": False},
                      {"how": "phone", "ok": True, "reached": True}]


def test_only_the_holder_or_a_manager_works_on_a_request(
    dashboard: Dashboard, people: People, reference: str, db_engine: Engine
) -> None:
    dashboard.sign_in(people.alice)
    # Not claimed yet: Alice claims it before she logs contact or messages.
    assert act(dashboard.client, reference, "contact", how="phone",
               reached="yes").location.endswith("done=refused")
    assert act(dashboard.client, reference, "message", text="Hello",
               form_id="form-000001").location.endswith("done=message_not_yours")


def test_a_message_goes_to_the_young_persons_own_channel_in_their_language(
    dashboard: Dashboard, people: People, reference: str, db_engine: Engine, vault: Vault,
    clock: FrozenClock, inbox: Inbox
) -> None:
    dashboard.sign_in(people.alice)
    act(dashboard.client, reference, "claim")
    done = act(dashboard.client, reference, "message", text="Can I call you tomorrow?",
               form_id="form-000001")
    assert done.location.endswith("done=message")
    with Session(db_engine) as session:
        [row] = session.exec(select(OutboxMessage)).all()
    assert row.channel == "sms" and row.language == "cy" and row.status == "pending"
    assert vault.open(row.recipient_enc) == "+447911123456"
    assert vault.open(row.body_enc) == "Neges gan dy weithiwr: Can I call you tomorrow?"
    assert stored(db_engine, reference).first_contact_at == clock.now
    # Pressing send twice on the same form sends once.
    act(dashboard.client, reference, "message", text="Can I call you tomorrow?",
        form_id="form-000001")
    with Session(db_engine) as session:
        assert len(session.exec(select(OutboxMessage)).all()) == 1
    # Their reply arrives through the inbox and shows in the conversation; the page never
    # shows their number.
    send(inbox, "Iawn, diolch", address="+447911123456", channel="sms")
    body = page(dashboard.client, reference).get_data(as_text=True)
    assert "Neges gan dy weithiwr: Can I call you tomorrow?" in body
    assert "Iawn, diolch" in body and "7911123456" not in body
    sent = [d for a, _, d in audit_actions(db_engine) if a == "request.message_sent"]
    assert sent[0] == {"channel": "sms", "ok": True, "result": "sent"}
    assert timeline(db_engine)[-1] == "message_sent"


def test_an_english_telegram_request_gets_the_english_opening(
    dashboard: Dashboard, people: People, db_engine: Engine, vault: Vault, inbox: Inbox
) -> None:
    reference = ask_for_interview(inbox, channel="telegram", address="4242", area="Cardiff")
    dashboard.sign_in(people.bob)
    act(dashboard.client, reference, "message", text="Hi, I'm Bob.", form_id="form-000002")
    with Session(db_engine) as session:
        [row] = session.exec(select(OutboxMessage)).all()
    assert (row.channel, row.language, vault.open(row.recipient_enc)) == ("telegram", "en",
                                                                          "4242")
    assert vault.open(row.body_enc) == "A message from your worker: Hi, I'm Bob."


def test_no_message_to_someone_who_stopped_messages(
    dashboard: Dashboard, people: People, reference: str, db_engine: Engine, inbox: Inbox
) -> None:
    send(inbox, "STOP", address="+447911123456", channel="sms")
    dashboard.sign_in(people.alice)
    act(dashboard.client, reference, "claim")
    done = act(dashboard.client, reference, "message", text="Hello", form_id="form-000003")
    assert done.location.endswith("done=message_unreachable")
    with Session(db_engine) as session:
        assert session.exec(select(OutboxMessage)).all() == []


def test_the_outcome_closes_the_request_with_a_sealed_note_and_the_active_offer(
    dashboard: Dashboard, people: People, reference: str, db_engine: Engine, vault: Vault,
    clock: FrozenClock
) -> None:
    dashboard.sign_in(people.alice)
    act(dashboard.client, reference, "claim")
    act(dashboard.client, reference, "outcome", outcome="transferred", transferred_to="")
    assert stored(db_engine, reference).status == "claimed"  # a transfer needs a where
    done = act(dashboard.client, reference, "outcome", outcome="transferred",
               transferred_to="Powys County Council", note="Placed in Powys last week.")
    assert done.location.endswith("done=outcome")
    closed = stored(db_engine, reference)
    assert (closed.status, closed.outcome, closed.closed_at) == ("closed", "transferred",
                                                                 clock.now)
    assert closed.transferred_to == "Powys County Council"
    assert closed.outcome_note_enc and vault.open(closed.outcome_note_enc) == \
        "Placed in Powys last week."
    # The young person wanted a Welsh-speaking worker; Alice doesn't speak Welsh.
    assert closed.welsh_worker_given is False
    words = text_of(page(dashboard.client, reference))
    assert "Transferred: Powys County Council" in words and "Placed in Powys" in words
    assert "Claim this request" not in words and "Send message" not in words
    outcome = [d for a, _, d in audit_actions(db_engine) if a == "request.outcome"]
    assert outcome[-1] == {"ok": True, "outcome": "transferred"}
    assert "Powys" not in json.dumps(audit_actions(db_engine))


def test_charlie_records_the_active_offer_as_given(
    dashboard: Dashboard, people: People, inbox: Inbox, db_engine: Engine
) -> None:
    reference = ask_for_interview(inbox, area="Gwynedd", address="+447911000111")
    dashboard.sign_in(people.charlie)
    claimed = act(dashboard.client, reference, "claim")
    assert "Rydych chi wedi hawlio'r cais hwn." in text_of(dashboard.client.get(claimed.location))
    act(dashboard.client, reference, "outcome", outcome="completed")
    assert stored(db_engine, reference).welsh_worker_given is True


def test_every_word_on_the_request_page_comes_from_the_catalogs_in_welsh(
    dashboard: Dashboard, people: People, inbox: Inbox
) -> None:
    reference = ask_for_interview(inbox, area="Gwynedd", address="+447911000222")
    dashboard.sign_in(people.charlie)
    act(dashboard.client, reference, "claim")
    words = text_of(page(dashboard.client, reference))
    for english in ("Claim", "Release", "Outcome", "Timeline", "Consent", "Send message"):
        assert english not in words
    assert re.search(r"Wedi'i hawlio \(Charlie\)", words)
