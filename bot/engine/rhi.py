"""Asking for a return home interview: consent, a few short questions, confirmation.

Consent comes first and "no" weighs exactly as much as "yes": same size, no default,
no second ask. Every question after it can be answered "not sure", skipped or changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot import text as textmod
from bot.engine.nodes import Move, Node, ask, home, options, say
from bot.engine.types import (
    Context,
    CreateRequest,
    Inbound,
    Option,
    RecordConsent,
    Reply,
    State,
)
from bot.engine.understand import areas, choose, matches, phone_number, vocabulary
from bot.i18n import WALES, format_date, format_datetime

ACTIVE = ("queued", "claimed")
CONSENT_WORDING = "rhi-1"
NOTE_LIMIT = 2000
# A simple question: (message key, answer key, option keys, next node).
QUESTIONS: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "rhi_returned": ("rhi.returned", "returned",
                     ("today", "yesterday", "days_2_3", "longer"), "rhi_area"),
    "rhi_living": ("rhi.living", "living", ("home", "care", "unsaid"), "rhi_method"),
    "rhi_method": ("rhi.method", "method", ("chat", "phone", "text", "in_person"), "rhi_phone"),
    "rhi_time": ("rhi.time", "time", ("morning", "afternoon", "evening", "any"), "rhi_welsh"),
    "rhi_welsh": ("rhi.welsh", "welsh", ("yes", "no"), "rhi_note"),
}


def with_leaflet_area(state: State, code: str) -> State:
    """The area named by the leaflet the person came by: the area question is then skipped."""
    return state.with_answer("area", code).with_answer("area_from", "leaflet")


def fresh_answers(state: State) -> State:
    """No answers yet, but for an area known from a leaflet: it still holds for a new request."""
    kept = ("area", "area_from") if state.answer("area_from") == "leaflet" else ()
    return replace(state, answers=tuple((k, v) for k, v in state.answers if k in kept))


def consent_version(ctx: Context, lang: str) -> str:
    """The consent wording's version: its name and a fingerprint of the exact words shown."""
    words = ctx.content.text(lang, "rhi.explain") + ctx.content.text(lang, "rhi.consent")
    return f"{CONSENT_WORDING}:{hashlib.sha256(words.encode()).hexdigest()[:12]}"


def consent_prompt(state: State, ctx: Context) -> tuple[Reply, ...]:
    """What the interview is, what is shared, the one limit, then the question."""
    return (Reply(say(ctx, state, "rhi.explain")), ask(ctx, state, "rhi.consent", "yes", "no"))


def consent_handle(state: State, inbound: Inbound, ctx: Context) -> Move | None:
    """Record the answer either way; "no" closes kindly and leaves the door open."""
    choice = choose(ctx.content, inbound, options(ctx, state, "yes", "no"))
    if choice is None:
        return None
    lang = state.lang or "cy"
    version = consent_version(ctx, lang)
    record = RecordConsent("rhi_request", granted=choice == "yes", wording_version=version,
                           language=lang)
    if choice == "no":
        declined = Reply(say(ctx, state, "rhi.declined"))
        return Move(state, home(state), say=(declined,), effects=(record,), brief=True)
    return Move(state.with_answer("consent", version), "rhi_returned", effects=(record,))


def question_prompt(node: str) -> Node:
    """A node for one of the simple questions in QUESTIONS."""
    key, answer, keys, following = QUESTIONS[node]

    def prompt(state: State, ctx: Context) -> tuple[Reply, ...]:
        return (ask(ctx, state, key, *keys),)

    def handle(state: State, inbound: Inbound, ctx: Context) -> Move | None:
        choice = choose(ctx.content, inbound, options(ctx, state, *keys))
        if choice is None:
            return None
        state = state.with_answer(answer, choice)
        nxt = following
        if nxt == "rhi_area" and state.answer("area_from") == "leaflet":
            nxt = "rhi_living"  # shown again in the confirmation, where it can be changed
        if node == "rhi_method" and (choice not in ("phone", "text") or inbound.channel == "sms"):
            nxt = "rhi_time"
        return Move(state, nxt)

    return Node(prompt, handle, parent=_PARENT[node])


def area_prompt(state: State, ctx: Context) -> tuple[Reply, ...]:
    """Which area? A town or a council, in either language, or "not sure"."""
    picks = [a for a in (state.answer("area_choices") or "").split(",") if a]
    if picks:
        lang = state.lang or "cy"
        found = [ctx.content.area(code) for code in picks]
        opts = tuple(Option(f"area:{a.code}", a.name(lang)) for a in found if a)
        return (Reply(say(ctx, state, "rhi.area_pick"), (*opts, *options(ctx, state, "not_sure"))),)
    return (ask(ctx, state, "rhi.area", "not_sure"),)


def area_handle(state: State, inbound: Inbound, ctx: Context) -> Move | None:
    """Match a place name; ask again with the candidates if it could be more than one."""
    picks = [a for a in (state.answer("area_choices") or "").split(",") if a]
    offered = (*[Option(f"area:{c}", c) for c in picks], Option("not_sure", ""))
    choice = choose(ctx.content, inbound, offered) if picks else None
    if choice is None and choose(ctx.content, inbound, options(ctx, state, "not_sure")):
        choice = "not_sure"
    if choice is None:
        found = areas(ctx.content, inbound.text)
        if len(found) == 1:
            choice = f"area:{found[0].code}"
        elif len(found) > 1:
            shortlist = ",".join(a.code for a in found[:5])
            return Move(state.with_answer("area_choices", shortlist), "rhi_area")
        else:
            unknown = Reply(say(ctx, state, "rhi.area_unknown"))
            return Move(state.with_answer("area_choices", ""), "rhi_area", say=(unknown,),
                        brief=True, retry=True)
    area = choice.removeprefix("area:") if choice.startswith("area:") else ""
    state = state.with_answer("area", area).with_answer("area_choices", "")
    return Move(state, "rhi_living")


def phone_prompt(state: State, ctx: Context) -> tuple[Reply, ...]:
    """Which number should the worker use? Optional."""
    return (ask(ctx, state, "rhi.phone", "skip"),)


def phone_handle(state: State, inbound: Inbound, ctx: Context) -> Move | None:
    """Keep a valid UK number; SKIP means contact them here instead."""
    if choose(ctx.content, inbound, options(ctx, state, "skip")):
        state = state.with_answer("method", "chat").with_answer("phone", "")
        return Move(state, "rhi_time")
    number = phone_number(inbound.text)
    if number is None:
        return Move(state, "rhi_phone", say=(Reply(say(ctx, state, "rhi.phone_invalid")),),
                    brief=True, retry=True)
    state = state.with_answer("phone", number)
    return Move(state, "rhi_time")


def note_prompt(state: State, ctx: Context) -> tuple[Reply, ...]:
    """Anything the worker should know? Optional."""
    return (ask(ctx, state, "rhi.note", "skip"),)


def note_handle(state: State, inbound: Inbound, ctx: Context) -> Move | None:
    """Anything typed is the note, word for word; SKIP leaves it empty."""
    if not inbound.text.strip() and inbound.payload is None:
        return None
    # Only a whole message skips: "no one listens to me" is a note, not a "no".
    skipped = (inbound.payload == "skip" or textmod.words(inbound.text) == ["1"]
               or matches(inbound.text, vocabulary(ctx.content, "skip")))
    note = "" if skipped else inbound.text.strip()[:NOTE_LIMIT]
    return Move(state.with_answer("note", note), "rhi_confirm")


def _label(ctx: Context, state: State, key: str | None) -> str:
    return options(ctx, state, key)[0].label if key else "-"


def confirm_prompt(state: State, ctx: Context) -> tuple[Reply, ...]:
    """The answers back in the person's words, and send / change / cancel."""
    lang = state.lang or "cy"
    area = ctx.content.area(state.answer("area"))
    method = _label(ctx, state, state.answer("method"))
    if state.answer("phone"):
        method += f" ({state.answer('phone')})"
    text = say(
        ctx, state, "rhi.confirm",
        returned=_label(ctx, state, state.answer("returned")),
        area=area.name(lang) if area else _label(ctx, state, "not_sure"),
        living=_label(ctx, state, state.answer("living")),
        method=method,
        time=_label(ctx, state, state.answer("time")),
        welsh=_label(ctx, state, state.answer("welsh")),
        note=state.answer("note") or say(ctx, state, "rhi.no_note"),
    )
    return (Reply(text, options(ctx, state, "send", "change", "cancel")),)


def confirm_handle(state: State, inbound: Inbound, ctx: Context) -> Move | None:
    """Send the request, go through the questions again, or cancel it."""
    choice = choose(ctx.content, inbound, options(ctx, state, "send", "change", "cancel"))
    if choice == "change":
        # Every question again, the leaflet's area too: it may not be where they live now.
        return Move(state.with_answer("area_from", ""), "rhi_returned")
    if choice == "cancel":
        cancelled = Reply(say(ctx, state, "rhi.cancelled"))
        return Move(fresh_answers(state), home(state), say=(cancelled,), brief=True)
    if choice != "send":
        return None
    request = build_request(state, ctx)
    done = Reply(say(ctx, state, "rhi.done", reference=request.reference)
                 + "\n\n" + describe_due(state, ctx, request.due_at))
    return Move(replace(state, answers=()), home(state), say=(done,), effects=(request,),
                brief=True)


def returned_at(band: str, now: datetime) -> datetime | None:
    """The earliest time they may have come back, so the target is never overstated."""
    midnight = now.astimezone(WALES).replace(hour=0, minute=0, second=0, microsecond=0)
    days = {"today": 0, "yesterday": 1, "days_2_3": 3}.get(band)
    return None if days is None else midnight - timedelta(days=days)


def build_request(state: State, ctx: Context) -> CreateRequest:
    """The request effect from the answers given."""
    band = state.answer("returned") or "longer"
    back = returned_at(band, ctx.now)
    # Back "longer" ago, or when the target has passed: the worker should act now.
    # The hours are counted in UTC: on the night the clocks change, adding hours to a
    # Europe/London time would add wall-clock hours and give 71 or 73 real ones.
    due = ctx.now
    if back is not None:
        due = max(back.astimezone(UTC) + timedelta(hours=ctx.target_hours), ctx.now)
    return CreateRequest(
        reference=ctx.new_reference,
        language=state.lang or "cy",
        area=state.answer("area") or None,
        returned_band=band,
        returned_at=back,
        due_at=due,
        in_care=state.answer("living") or "unsaid",
        contact_method=state.answer("method") or "chat",
        contact_time=state.answer("time") or "any",
        contact_phone=state.answer("phone") or None,
        welsh_worker=state.answer("welsh") == "yes",
        note=state.answer("note") or None,
        urgent=state.urgent,
        consent_version=state.answer("consent") or "",
    )


def describe_due(state: State, ctx: Context, due: datetime) -> str:
    """When a worker aims to be in touch: a date, or "as soon as they can"."""
    lang = state.lang or "cy"
    if due <= ctx.now + timedelta(hours=1):
        return say(ctx, state, "rhi.due_soon")
    local = due.astimezone(WALES)
    if (local.hour, local.minute) == (0, 0):
        # "By Monday, 00:00" reads as the start of Monday: say "by the end of Sunday".
        day = format_date(local - timedelta(minutes=1), lang)
        return say(ctx, state, "rhi.due_by_day", day=day)
    return say(ctx, state, "rhi.due_by", when=format_datetime(due, lang))


_PARENT = {
    "rhi_returned": "rhi_consent",
    "rhi_living": "rhi_area",
    "rhi_method": "rhi_living",
    "rhi_time": "rhi_method",
    "rhi_welsh": "rhi_time",
}

NODES = {
    "rhi_consent": Node(consent_prompt, consent_handle, parent="yp_menu"),
    **{name: question_prompt(name) for name in QUESTIONS},
    "rhi_area": Node(area_prompt, area_handle, parent="rhi_returned"),
    "rhi_phone": Node(phone_prompt, phone_handle, parent="rhi_method"),
    "rhi_note": Node(note_prompt, note_handle, parent="rhi_welsh"),
    "rhi_confirm": Node(confirm_prompt, confirm_handle, parent="rhi_note"),
}
