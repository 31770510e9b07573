"""The engine's inputs and outputs: small frozen values, no channel types, no I/O."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.content import LANGS, SHEETS, Content

ROLES = ("young_person", "parent", "foster")


@dataclass(frozen=True)
class Inbound:
    """One message from a person, the same shape whichever channel it came by."""

    text: str
    channel: str
    # The option key of a pressed button; channels without buttons leave it empty.
    payload: str | None = None
    # A client's language setting (Telegram's language_code): a hint for the very
    # first greeting only, never a choice made for the person.
    lang_hint: str | None = None
    # A photo, sticker, voice note, location or contact: nothing to read, nothing kept.
    media: bool = False


@dataclass(frozen=True)
class Option:
    """A choice offered with a reply: a button, or a numbered line in an SMS."""

    key: str
    label: str


@dataclass(frozen=True)
class Reply:
    """One message to send back, with the choices it offers."""

    text: str
    options: tuple[Option, ...] = ()
    # A danger reply: sent first and never dropped or merged.
    urgent: bool = False


@dataclass(frozen=True)
class RequestView:
    """What the engine may know of the person's latest return home interview request."""

    reference: str
    status: str
    due_at: datetime
    created_at: datetime


@dataclass(frozen=True)
class Context:
    """Everything besides the state and message that a step may read."""

    now: datetime
    content: Content
    target_hours: int
    request: RequestView | None = None
    # A fresh, unguessable reference code, in case this step creates a request: the
    # engine draws no random numbers of its own.
    new_reference: str = ""


@dataclass(frozen=True)
class State:
    """Where a conversation is, and the answers given so far."""

    node: str = "new"
    lang: str | None = None
    role: str | None = None
    sheet: str | None = None
    page: int = 0
    answers: tuple[tuple[str, str], ...] = ()
    opted_out: bool = False
    urgent: bool = False

    def answer(self, key: str) -> str | None:
        """The answer given to one question, if any."""
        return dict(self.answers).get(key)

    def with_answer(self, key: str, value: str) -> State:
        """A copy with one answer set or replaced."""
        kept = tuple((k, v) for k, v in self.answers if k != key)
        return replace(self, answers=(*kept, (key, value)))

    def to_json(self) -> str:
        """The state as JSON for the conversation table."""
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | None) -> State:
        """A state read back from JSON; unknown or broken input starts afresh."""
        if not raw:
            return cls()
        try:
            data: dict[str, Any] = json.loads(raw)
            data["answers"] = tuple(tuple(pair) for pair in data.get("answers", ()))
            known = {f for f in cls.__dataclass_fields__}
            state = cls(**{k: v for k, v in data.items() if k in known})
        except (ValueError, TypeError, AttributeError, RecursionError):
            return cls()
        # A state the engine could never have written would fail later, mid-conversation.
        return state if state._well_formed() else cls()

    def _well_formed(self) -> bool:
        return (
            isinstance(self.node, str)
            and self.lang in (None, *LANGS)
            and self.role in (None, *ROLES)
            and self.sheet in (None, *SHEETS)
            and type(self.page) is int and self.page >= 0
            and all(len(pair) == 2 and all(isinstance(x, str) for x in pair)
                    for pair in self.answers)
            and type(self.opted_out) is bool
            and type(self.urgent) is bool
        )


# Effects: what the service layer must do after a step. The engine only describes them.


@dataclass(frozen=True)
class RecordConsent:
    """Append a consent record: what was agreed or refused, in which wording."""

    purpose: str
    granted: bool
    wording_version: str
    language: str


@dataclass(frozen=True)
class CreateRequest:
    """Queue a return home interview request for a practitioner."""

    reference: str
    language: str
    area: str | None
    returned_band: str
    returned_at: datetime | None
    due_at: datetime
    in_care: str
    contact_method: str
    contact_time: str
    contact_phone: str | None
    welsh_worker: bool
    note: str | None
    urgent: bool
    consent_version: str


@dataclass(frozen=True)
class WithdrawRequest:
    """Withdraw the person's open request."""

    reference: str


@dataclass(frozen=True)
class FlagUrgent:
    """Mark the contact, and any open request, urgent for practitioners."""

    reason: str


@dataclass(frozen=True)
class OptOut:
    """The person sent STOP: send nothing more until START."""


@dataclass(frozen=True)
class OptIn:
    """The person sent START after STOP."""


@dataclass(frozen=True)
class Erase:
    """Erase the person's data; withdraw and strip any queued request."""


Effect = RecordConsent | CreateRequest | WithdrawRequest | FlagUrgent | OptOut | OptIn | Erase


@dataclass(frozen=True)
class Step:
    """The result of one step: the new state, the replies, and the effects to apply."""

    state: State
    replies: tuple[Reply, ...] = ()
    effects: tuple[Effect, ...] = field(default_factory=tuple)
