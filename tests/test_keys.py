"""Moving to a new data key while the service runs (bot/keys.py, `adref keys ...`)."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, col, func, select

from bot import keys, signin
from bot.cli import main
from bot.config import ConfigError, Settings, decode_data_key
from bot.content import Content
from bot.crypto import Vault, VaultError, key_id
from bot.db import session_scope
from bot.inbox import Inbox
from bot.keys import SEALED, rotate, stale
from bot.models import Contact, RhiRequest, SignInAttempt, Team
from bot.runtime import PUSH_CHANNELS, Runtime
from tests.conftest import TEST_DATA_KEY, FrozenClock
from tests.dialog import said, send
from tests.factories import People, ask_for_interview
from tests.process import ok
from tests.test_crypto import legacy_seal, twin_of

OLD = TEST_DATA_KEY  # what the `vault` fixture, and so the personas, seal with
NEW = bytes(range(100, 132))
STRANGER = bytes(range(200, 232))  # a key the service was never given
assert len({key_id(OLD), key_id(NEW), key_id(STRANGER)}) == 3

SMS_NUMBER = "+447911123456"
NOTE = "I want to talk about school"
OUTCOME_NOTE = "Met at school; the worry is the walk home"
TELEGRAM_CHAT = "4242"
DUTY_PHONE = "+447700900999"


def b64(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def service(engine: Engine, content: Content, vault: Vault, clock: FrozenClock) -> Inbox:
    """The inbox as the service runs it: Telegram and SMS replies go to the outbox."""
    return Inbox(engine, vault, content, target_hours=72, clock=clock, push=PUSH_CHANNELS)


@pytest.fixture
def stored(db_engine: Engine, content: Content, clock: FrozenClock, people: People) -> Engine:
    """A database as the old key left it: a young person's request by SMS with a note, a
    Telegram chat under way, replies in the outbox, an outcome note, practitioners."""
    old = service(db_engine, content, Vault(OLD), clock)
    reference = ask_for_interview(old, note=NOTE)
    for typed in ("/start", "English"):
        send(old, typed, address=TELEGRAM_CHAT, channel="telegram")
    with session_scope(db_engine) as session:
        request = session.exec(select(RhiRequest).where(RhiRequest.reference == reference)).one()
        request.outcome_note_enc = Vault(OLD).seal(OUTCOME_NOTE)
        session.add(request)
        team = session.get(Team, people.cardiff_team)
        assert team is not None
        team.duty_phone_enc = Vault(OLD).seal(DUTY_PHONE)
        session.add(team)
    return db_engine


def sealed_values(engine: Engine) -> list[bytes]:
    """Every sealed value in the database."""
    found = []
    with Session(engine) as session:
        for spec in SEALED:
            for name in spec.columns:
                column = col(getattr(spec.model, name))
                found += [v for v in session.exec(select(column)).all() if v is not None]
    return found


def contacts(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Contact)).one()


def test_every_sealed_column_and_hash_column_is_accounted_for() -> None:
    sealed = {f"{spec.table}.{name}" for spec in SEALED for name in spec.columns}
    tables = SQLModel.metadata.tables.values()
    assert sealed == {f"{t.name}.{c.name}" for t in tables for c in t.columns
                      if c.name.endswith("_enc")}
    assert set(keys.HASHES) == {f"{t.name}.{c.name}" for t in tables for c in t.columns
                                if c.name.endswith("_hash")}


def test_rotation_reseals_everything_and_the_old_key_alone_opens_nothing(
    stored: Engine,
) -> None:
    ring = Vault(NEW, [OLD])
    before = {ring.open(v) for v in sealed_values(stored)}
    assert stale(stored, ring)["rhi_request"] == 2  # the note and the outcome note

    done = rotate(stored, ring, datetime.now().astimezone())

    assert not any(stale(stored, ring).values())
    assert {t.table: t.unreadable + t.changed_meanwhile + t.duplicates
            for t in done.tallies} == dict.fromkeys((s.table for s in SEALED), 0)
    after = sealed_values(stored)
    assert {Vault(NEW).open(v) for v in after} == before  # the new key alone opens all
    assert {NOTE, OUTCOME_NOTE, DUTY_PHONE} <= before
    for value in after:
        with pytest.raises(VaultError):
            Vault(OLD).open(value)
    with Session(stored) as session:
        for contact in session.exec(select(Contact)):
            address = Vault(NEW).open(contact.address_enc)
            assert contact.address_hash == Vault(NEW).lookup_hash(contact.channel, address)


def test_the_service_keeps_answering_between_batches_and_finds_its_contacts(
    stored: Engine, content: Content, clock: FrozenClock
) -> None:
    ring = Vault(NEW, [OLD])
    inbox = service(stored, content, ring, clock)
    known = contacts(stored)
    with Session(stored) as session:
        reference = session.exec(select(RhiRequest.reference)).one()
    replies: list[str] = []

    def service_runs(tally: keys.Tally) -> None:
        # Between two batches: the young person asks about their request, the Telegram
        # chat carries on; each must be recognised, rotated yet or not.
        replies.append(said(send(inbox, "STATUS", address=SMS_NUMBER, channel="sms")))
        replies.append(said(send(inbox, "help", address=TELEGRAM_CHAT, channel="telegram")))

    rotate(stored, ring, clock(), batch=1, progress=service_runs)

    assert len(replies) > 10 and contacts(stored) == known
    assert all(reference in r for r in replies[::2])  # their own request, found
    assert all("Shwmae" not in r for r in replies[1::2])  # not greeted as someone new
    assert not any(stale(stored, ring).values())
    for value in sealed_values(stored):
        Vault(NEW).open(value)


def test_an_interrupted_rotation_loses_nothing_and_a_second_run_finishes_it(
    stored: Engine, content: Content, clock: FrozenClock
) -> None:
    ring = Vault(NEW, [OLD])
    inbox = service(stored, content, ring, clock)
    known = contacts(stored)

    class Interrupted(Exception):
        pass

    def ctrl_c(tally: keys.Tally) -> None:
        raise Interrupted()  # after the first contact's batch has committed

    with pytest.raises(Interrupted):
        rotate(stored, ring, clock(), batch=1, progress=ctrl_c)
    left = stale(stored, ring)
    assert 0 < left["contact"] < known  # mid-rotation: one contact moved, one not
    for address, channel in ((SMS_NUMBER, "sms"), (TELEGRAM_CHAT, "telegram")):
        send(inbox, "help", address=address, channel=channel)
    assert contacts(stored) == known  # both recognised, neither added again

    rotate(stored, ring, clock())
    assert not any(stale(stored, ring).values())


def test_rotating_again_changes_nothing(stored: Engine, clock: FrozenClock) -> None:
    ring = Vault(NEW, [OLD])
    rotate(stored, ring, clock())
    values = sorted(sealed_values(stored))
    again = rotate(stored, ring, clock())
    assert sum(t.resealed for t in again.tallies) == 0
    assert sorted(sealed_values(stored)) == values


def test_a_value_no_key_opens_is_left_as_it_is_and_reported(
    stored: Engine, clock: FrozenClock
) -> None:
    foreign = Vault(STRANGER).seal("sealed somewhere else")
    with session_scope(stored) as session:
        request = session.exec(select(RhiRequest)).one()
        request.contact_phone_enc = foreign
        session.add(request)
    ring = Vault(NEW, [OLD])
    done = rotate(stored, ring, clock())
    [requests] = [t for t in done.tallies if t.table == "rhi_request"]
    assert requests.unreadable == 1
    assert stale(stored, ring) == {**dict.fromkeys((s.table for s in SEALED), 0),
                                   "rhi_request": 1}
    with Session(stored) as session:
        assert session.exec(select(RhiRequest)).one().contact_phone_enc == foreign


def test_values_sealed_before_keys_had_ids_open_and_are_restamped(
    db_engine: Engine, clock: FrozenClock
) -> None:
    vault = Vault(OLD)
    legacy = legacy_seal(OLD, "+447700900123")
    with session_scope(db_engine) as session:
        session.add(Contact(channel="sms", address_enc=legacy,
                            address_hash=vault.lookup_hash("sms", "+447700900123")))
    assert vault.open(legacy) == "+447700900123"
    assert stale(db_engine, vault)["contact"] == 1
    rotate(db_engine, vault, clock())  # no new key: only the id byte changes
    assert not any(stale(db_engine, vault).values())


def test_the_sign_in_throttle_counts_attempts_made_under_the_old_key(
    db_engine: Engine, clock: FrozenClock
) -> None:
    with session_scope(db_engine) as session:
        for _ in range(signin.ADDRESS_FAILURES):
            signin._attempt(session, Vault(OLD), "203.0.113.9", ok=False, now=clock())
    with Session(db_engine) as session:
        assert signin.address_throttled(session, Vault(NEW, [OLD]), "203.0.113.9", clock())
        assert not signin.address_throttled(session, Vault(NEW), "203.0.113.9", clock())


def test_rotation_removes_the_sign_in_attempts_the_throttle_no_longer_reads(
    db_engine: Engine, clock: FrozenClock
) -> None:
    with session_scope(db_engine) as session:
        for minutes in (1, 14, 16, 600):
            session.add(SignInAttempt(key_hash="x" * 64, ok=False,
                                      at=clock() - timedelta(minutes=minutes)))
    done = rotate(db_engine, Vault(NEW, [OLD]), clock())
    assert done.attempts_removed == 2
    with Session(db_engine) as session:
        assert session.exec(select(func.count()).select_from(SignInAttempt)).one() == 2


# The command.


@pytest.fixture
def keyed(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The runner with the new key current and the old one previous, as in step 1."""
    monkeypatch.setenv("ADREF_DATA_KEY", b64(NEW))
    monkeypatch.setenv("ADREF_DATA_KEY_PREVIOUS", b64(OLD))
    return runner


def test_keys_rotate_prints_counts_and_its_check_and_nothing_personal(
    stored: Engine, keyed: CliRunner
) -> None:
    first = keyed.invoke(main, ["keys", "check"])
    assert first.exit_code == 1 and "rhi_request" in first.output
    output = ok(keyed.invoke(main, ["keys", "rotate", "--batch", "2"]))
    assert f"Current key id {key_id(NEW)}; previous key ids: {key_id(OLD)}." in output
    assert "contact: 2 re-sealed so far" in output
    assert "Every sealed value is under the current key" in output
    for personal in (NOTE, OUTCOME_NOTE, "7911", "900999", TELEGRAM_CHAT, "school"):
        assert personal not in output
    assert "Every sealed value" in ok(keyed.invoke(main, ["keys", "check"]))


def test_keys_rotate_fails_while_a_value_needs_a_key_it_was_not_given(
    stored: Engine, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADREF_DATA_KEY", b64(NEW))  # the old key forgotten in step 1
    monkeypatch.delenv("ADREF_DATA_KEY_PREVIOUS", raising=False)
    result = runner.invoke(main, ["keys", "rotate"])
    assert result.exit_code == 1
    assert "unreadable" in result.output and "ADREF_DATA_KEY_PREVIOUS" in result.output
    with Session(stored) as session:  # nothing was lost
        request = session.exec(select(RhiRequest)).one()
        assert Vault(OLD).open(request.note_enc or b"") == NOTE


def test_keys_new_prints_a_usable_key_whose_id_is_not_in_use(keyed: CliRunner) -> None:
    result = keyed.invoke(main, ["keys", "new"])
    key = result.stdout.strip()
    assert result.exit_code == 0 and len(decode_data_key(key)) == 32
    assert key_id(decode_data_key(key)) not in (key_id(NEW), key_id(OLD))
    assert key not in (b64(NEW), b64(OLD))


@pytest.mark.parametrize("path", [["keys"], ["keys", "new"], ["keys", "rotate"],
                                  ["keys", "check"]], ids=" ".join)
def test_help_explains_each_keys_command(runner: CliRunner, path: list[str]) -> None:
    output = ok(runner.invoke(main, [*path, "--help"], prog_name="adref"))
    assert output.startswith(f"Usage: adref {' '.join(path)} ")
    assert "data key" in output or "ADREF_DATA_KEY" in output


# The settings.


def test_previous_keys_are_read_as_a_comma_separated_list_or_from_a_file(
    tmp_path: Path,
) -> None:
    both = Settings.from_env({"ADREF_DATA_KEY": b64(NEW),
                              "ADREF_DATA_KEY_PREVIOUS": f"{b64(OLD)}, {b64(STRANGER)}"},
                             tmp_path)
    assert both.previous_data_keys == (OLD, STRANGER)
    (tmp_path / "previous").write_text(b64(OLD) + "\n")
    from_file = Settings.from_env({"ADREF_DATA_KEY": b64(NEW),
                                   "ADREF_DATA_KEY_PREVIOUS_FILE": "previous"}, tmp_path)
    assert from_file.previous_data_keys == (OLD,)
    assert Settings.from_env({"ADREF_DATA_KEY": b64(NEW)}, tmp_path).previous_data_keys == ()
    assert b64(OLD) not in repr(both) and str(OLD) not in repr(both)


def test_a_malformed_previous_key_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ADREF_DATA_KEY_PREVIOUS must encode 32 bytes"):
        Settings.from_env({"ADREF_DATA_KEY": b64(NEW), "ADREF_DATA_KEY_PREVIOUS": "c2hvcnQ"},
                          tmp_path)


def test_a_new_key_with_a_previous_keys_id_is_refused(tmp_path: Path) -> None:
    twin = twin_of(OLD)
    with pytest.raises(ConfigError, match="adref keys new"):
        Settings.from_env({"ADREF_DATA_KEY": b64(twin), "ADREF_DATA_KEY_PREVIOUS": b64(OLD)},
                          tmp_path)


def test_the_running_service_opens_what_the_previous_key_sealed(
    stored: Engine, settings: Settings,
) -> None:
    # Step 1 of a rotation: the new key is current, the old one previous, and the
    # restarted service still reads every conversation and recognises every contact.
    runtime = Runtime.start(replace(settings, data_key=NEW, previous_data_keys=(OLD,)))
    try:
        with Session(stored) as session:
            request = session.exec(select(RhiRequest)).one()
        assert request.note_enc is not None
        assert runtime.vault.open(request.note_enc) == NOTE
        reply = said(send(runtime.inbox, "STATUS", address=SMS_NUMBER, channel="sms"))
        assert request.reference in reply and "Shwmae" not in reply
    finally:
        runtime.engine.dispose()
