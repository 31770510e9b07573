"""Shared test data: channel credentials, requests signed as the providers sign them, and
the practitioner personas with a helper that signs them in to the dashboard."""

from __future__ import annotations

import base64
import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy import inspect as sa_inspect
from twilio.request_validator import RequestValidator

from bot import accounts
from bot.content import Content
from bot.crypto import Vault
from bot.db import session_scope
from bot.models import ConsentRecord, Practitioner, RhiRequest, Team
from bot.rhi import new_reference

TG_TOKEN = "123456:TEST-token"
TG_SECRET = "webhook-secret-for-tests-0123456789"
TW_SID = "AC" + "0" * 32
TW_TOKEN = "twilio-auth-token-for-tests"
BASE = "https://adref.example.test"


def signed_sms(client: FlaskClient, body: str, sid: str, sender: str = "+447911123456",
               path: str = "/webhooks/twilio/sms", token: str = TW_TOKEN) -> Any:
    """POST an inbound SMS signed as Twilio signs it, for the public URL."""
    form = {"MessageSid": sid, "AccountSid": TW_SID, "From": sender, "To": "+447700900000",
            "Body": body, "NumMedia": "0"}
    signature = RequestValidator(token).compute_signature(BASE + path, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def telegram_update(update_id: int, text: str, chat_id: int = 4242) -> dict[str, Any]:
    """A private-chat text message update."""
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1763737200, "text": text,
        "chat": {"id": chat_id, "type": "private", "first_name": "Sam"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Sam", "language_code": "cy"}}}


def post_update(client: FlaskClient, update: dict[str, Any], secret: str | None = TG_SECRET
                ) -> Any:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return client.post("/webhooks/telegram", json=update, headers=headers)


# Practitioners, the way healthchecks' hc/test.py has Alice, Bob and Charlie:
# - Alice is a practitioner in the Cardiff team (Cardiff and the Vale of Glamorgan).
# - Bob is a manager in Alice's team: he sees what she sees.
# - Charlie is a practitioner in the Gwynedd team (Gwynedd and Anglesey): nothing of
#   Alice's is his to see, and he speaks Welsh.
# - Dee is an admin, in no team.
@dataclass(frozen=True)
class Persona:
    """A practitioner account a test can sign in as."""

    id: int
    name: str
    email: str
    password: str
    totp_secret: str
    role: str
    team: str | None

    def code(self, at: datetime) -> str:
        """The authenticator app's code at that moment."""
        return pyotp.TOTP(self.totp_secret).at(at)


@dataclass(frozen=True)
class People:
    """The personas and their teams' ids."""

    alice: Persona
    bob: Persona
    charlie: Persona
    dee: Persona
    cardiff_team: int
    gwynedd_team: int


CARDIFF_TEAM = ("Cardiff and the Vale", ("cardiff", "vale_of_glamorgan"))
GWYNEDD_TEAM = ("Gwynedd a Môn", ("gwynedd", "anglesey"))
_PERSONAS = (  # name, role, team, speaks Welsh, dashboard language
    ("Alice", "practitioner", CARDIFF_TEAM[0], False, "en"),
    ("Bob", "manager", CARDIFF_TEAM[0], False, "en"),
    ("Charlie", "practitioner", GWYNEDD_TEAM[0], True, "cy"),
    ("Dee", "admin", None, True, "cy"),
)


@functools.cache
def _password_hash(password: str) -> str:
    # Argon2 is slow on purpose; each persona's hash is made once per test run.
    return accounts.hash_password(password)


def make_people(engine: Engine, content: Content, vault: Vault, *, enrolled: bool = True
                ) -> People:
    """Add the two teams and the four personas; enrolled ones have a TOTP secret set up."""
    made: dict[str, Persona] = {}
    with session_scope(engine) as session:
        teams: dict[str, Team] = {
            name: accounts.create_team(session, content, name, areas)
            for name, areas in (CARDIFF_TEAM, GWYNEDD_TEAM)}
        for name, role, team, welsh, lang in _PERSONAS:
            password = f"{name.lower()}-long-enough-password"
            secret = base64.b32encode(f"{name}-totp-secret-0000"[:20].encode()).decode()
            row = Practitioner(
                name=name, email=f"{name.lower()}@council.example", role=role,
                password_hash=_password_hash(password), team_id=teams[team].id if team else None,
                speaks_welsh=welsh, language=lang,
                totp_secret_enc=vault.seal(secret) if enrolled else None,
                totp_enrolled_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC) if enrolled else None)
            session.add(row)
            session.flush()
            assert row.id is not None
            made[name] = Persona(row.id, name, row.email, password, secret, role, team)
    return People(made["Alice"], made["Bob"], made["Charlie"], made["Dee"],
                  _id(teams[CARDIFF_TEAM[0]]), _id(teams[GWYNEDD_TEAM[0]]))


def _id(team: Team) -> int:
    assert team.id is not None
    return team.id


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token in the first form of the page at path."""
    found = CSRF.search(client.get(path).get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


class Dashboard:
    """Signing in and out of the dashboard through its forms, as a browser would."""

    def __init__(self, client: FlaskClient, now: Any) -> None:
        self.client = client
        self.now = now  # a callable giving the time the app's clock shows

    def password(self, email: str, password: str) -> Any:
        """The first step: email and password."""
        return self.client.post("/dashboard/sign-in", data={
            "csrf_token": csrf_token(self.client, "/dashboard/sign-in"),
            "email": email, "password": password})

    def code(self, code: str, path: str = "/dashboard/code") -> Any:
        """The second step: the code (or, at the first sign-in, the enrolment code)."""
        return self.client.post(path, data={"csrf_token": csrf_token(self.client, path),
                                            "code": code})

    def sign_in(self, persona: Persona) -> Any:
        """Both steps, with the code the persona's app shows now."""
        response = self.password(persona.email, persona.password)
        assert response.status_code == 303, response.get_data(as_text=True)
        return self.code(persona.code(self.now()))

    def sign_out(self) -> Any:
        """Press "Sign out"."""
        return self.client.post("/dashboard/sign-out",
                                data={"csrf_token": csrf_token(self.client, "/dashboard")})


def add_request(session: Any, area: str | None, created_at: datetime, **fields: Any
                ) -> RhiRequest:
    """A request as the young person left it, with any later steps given as fields."""
    values: dict[str, Any] = {
        "reference": new_reference(), "language": "en", "channel": "sms", "area": area,
        "returned_band": "today", "due_at": created_at + timedelta(hours=72),
        "in_care": "home", "contact_method": "text", "contact_time": "any",
        "welsh_worker": False, "created_at": created_at}
    request = RhiRequest(**{**values, **fields})
    session.add(request)
    session.flush()
    return request


def _consent(session: Any, granted: bool, at: datetime, request: RhiRequest | None = None,
             wording: str = "rhi-1:abc123") -> None:
    session.add(ConsentRecord(request_id=request.id if request else None,
                              purpose="rhi_request", granted=granted, wording_version=wording,
                              language="en", channel="sms", recorded_at=at))


def seed_november(engine: Engine) -> None:
    """November 2026 with known answers (tests/test_reports.py lists them).

    Cardiff: 4 requests; claimed after 2, 4 and 6 hours (median 4); first contact after
    24, 96 and 24 hours (median 24), 2 of 4 within 72 hours of the return; completed,
    declined, unable to contact, and one withdrawn; Welsh worker wanted 2, given 1;
    4 consents given. Vale of Glamorgan: 1 request, claimed after 1 hour, contacted after
    8, transferred. Gwynedd: 2 requests, claimed after 3 and 5 hours, one completed.
    Area not given: 1 queued request, 2 refusals. Outside the month: one of each.
    """
    def at(day: int, hour: int, month: int = 11) -> datetime:
        return datetime(2026, month, day, hour, tzinfo=UTC)

    with session_scope(engine) as s:
        cardiff = [
            add_request(s, "cardiff", at(2, 10), returned_at=at(2, 8), claimed_at=at(2, 12),
                        first_contact_at=at(3, 10), status="closed", outcome="completed",
                        closed_at=at(4, 10), welsh_worker=True, welsh_worker_given=True),
            add_request(s, "cardiff", at(5, 9), claimed_at=at(5, 13),
                        first_contact_at=at(9, 9), status="closed", outcome="declined",
                        closed_at=at(9, 10), welsh_worker=True, welsh_worker_given=False),
            add_request(s, "cardiff", at(10, 9), returned_at=at(8, 9), claimed_at=at(10, 15),
                        first_contact_at=at(11, 9), status="closed",
                        outcome="unable_to_contact", closed_at=at(14, 9)),
            add_request(s, "cardiff", at(12, 9), status="withdrawn", withdrawn_at=at(12, 10)),
        ]
        for request in cardiff:
            _consent(s, True, request.created_at, request)
        _consent(s, False, at(12, 10), cardiff[3], wording="withdrawal")
        add_request(s, "cardiff", at(31, 23, month=10), claimed_at=at(1, 1),
                    status="closed", outcome="completed")
        add_request(s, "vale_of_glamorgan", at(15, 9), claimed_at=at(15, 10),
                    first_contact_at=at(15, 17), status="closed", outcome="transferred",
                    transferred_to="bridgend")
        add_request(s, "gwynedd", at(16, 9), claimed_at=at(16, 12), status="closed",
                    outcome="completed", first_contact_at=at(16, 13))
        add_request(s, "gwynedd", at(17, 9), claimed_at=at(17, 14), status="claimed")
        add_request(s, None, at(18, 9))
        _consent(s, False, at(18, 8))
        _consent(s, False, at(19, 8))
        _consent(s, False, at(20, 8, month=10))


def ask_for_interview(inbox: Any, *, channel: str = "sms", address: str = "+447911123456",
                      area: str = "Caerdydd", note: str | None = None) -> str:
    """A young person asks for an interview through the bot; the request's reference.

    By SMS in Welsh (tests/conversations.py's dialog), or by Telegram in English; the area
    they name and an optional note for the worker replace the dialog's own.
    """
    from sqlmodel import Session, col, select

    from tests.conversations import ENGLISH_BY_TELEGRAM, WELSH_BY_SMS
    from tests.dialog import verify_dialog

    welsh = channel != "telegram"
    dialog = list(WELSH_BY_SMS if welsh else ENGLISH_BY_TELEGRAM)
    area_step, note_step = 6, 11
    dialog[area_step] = (area, dialog[area_step][1])
    if note is not None:
        dialog[note_step] = (note, dialog[note_step][1])
    verify_dialog(inbox, dialog, address=address, channel=channel)
    with Session(inbox.engine) as session:
        request = session.exec(select(RhiRequest).order_by(col(RhiRequest.id).desc())).first()
    assert request is not None
    return request.reference


def stored_bytes(engine: Engine) -> bytes:
    """Everything the database holds, as bytes, for a scan for personal data in clear.

    SQLite: the database file and its write-ahead log, raw, so free pages and not yet
    checkpointed writes are read too. PostgreSQL, whose files are the server's: every
    value of every row of every table, text encoded and binary as it is (a plaintext in a
    bytea column is caught as well as one in a text column).
    """
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database or "")
        return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal"))
                        if p.exists())
    chunks: list[bytes] = []
    with engine.connect() as connection:
        for table in sa_inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        chunks.append(bytes(value))
                    elif value is not None:
                        chunks.append(str(value).encode())
    return b"\n".join(chunks)
