"""Whatever arrives, wherever the conversation is, the engine answers and offers a way on."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.content import LANGS, SHEETS, Content
from bot.engine import Context, Inbound, Option, OptOut, RequestView, State, Step, step
from bot.engine.core import NODES

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
# A few dozen examples per node keeps the whole module to seconds on two cores.
PER_NODE = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
FEW = settings(max_examples=25, deadline=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture])
WALKS = settings(max_examples=60, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])

YOUNG_NODES = {"yp_menu", "status", "withdraw_confirm", *(n for n in NODES if n.startswith("rhi_"))}
ROLES_AT: dict[str, tuple[str | None, ...]] = {
    "new": (None,),
    "language": (None,),
    "role": (None,),
    "delete_confirm": (None, "young_person", "parent", "foster"),
    "sheet": ("young_person", "parent", "foster"),
    "carer_menu": ("parent", "foster"),
    **{node: ("young_person",) for node in YOUNG_NODES},
}
SHEET_FOR = {"young_person": "young-person", "parent": "parents-carers",
             "foster": "foster-residential-carers", None: None}
FULL_ANSWERS = (("consent", "rhi-1:0123456789ab"), ("returned", "yesterday"), ("area", "cardiff"),
                ("living", "care"), ("method", "phone"), ("phone", "+447911123456"),
                ("time", "evening"), ("welsh", "yes"), ("note", "Dwi eisiau siarad 👍"))
ANSWERS_AT: dict[str, tuple[tuple[tuple[str, str], ...], ...]] = {
    "rhi_confirm": (FULL_ANSWERS, ()),
    "rhi_area": ((), (("area_choices", "cardiff,newport"),)),
}
REQUESTS = (
    None,
    RequestView("ABC-234", "queued", NOW + timedelta(hours=30), NOW - timedelta(hours=3)),
    RequestView("ABC-234", "withdrawn", NOW - timedelta(hours=1), NOW - timedelta(days=5)),
)


@st.composite
def states_at(draw: st.DrawFn, node: str) -> State:
    """A state the engine could be in at this node."""
    role = draw(st.sampled_from(ROLES_AT[node]))
    lang = None if node in ("new", "language") else draw(st.sampled_from((*LANGS, None)))
    sheet = SHEET_FOR[role] if node == "sheet" else None
    return State(node=node, lang=lang, role=role, sheet=sheet,
                 page=draw(st.sampled_from((0, 3, 6))) if sheet else 0,
                 answers=draw(st.sampled_from(ANSWERS_AT.get(node, ((),)))),
                 opted_out=draw(st.booleans()) if node != "new" else False,
                 urgent=draw(st.booleans()))


def test_every_node_has_plausible_states_to_test() -> None:
    assert set(ROLES_AT) == set(NODES)
    assert set(SHEET_FOR.values()) - {None} == set(SHEETS)


# Characters that break naive text handling: direction marks, joiners, combining marks, NUL.
ODD = ["\u200f", "\u200e", "\u202e", "\u200d", "\u200b", "\u0301", "\u0308", "\x00", "\ufeff",
       "\u00a0", "👍", "🏴󠁧󠁢󠁷󠁬󠁳󠁿", "👩‍👧", "٣", "፩", "²", "ŵ", "ŷ", "Ⅻ"]
WORDS = ["stop", "START", "dileu", "delete", "help", "CYMORTH", "menu", "dewislen", "cymraeg",
         "english", "back", "nôl", "statws", "status", "withdraw", "tynnu nôl", "yes", "ie", "na",
         "no", "next", "nesaf", "skip", "hepgor", "send", "anfon", "not sure", "1", "2", "3", "4",
         "5", "0", "99", "-1", "07911 123456", "Caerdydd", "Cardiff or Newport", "kill myself",
         "dwi isio marw", "{reference}", "{{meic}}", "%s", "?"]
MESSAGES = st.one_of(
    st.text(),
    st.lists(st.sampled_from(ODD), max_size=20).map("".join),
    st.lists(st.one_of(st.sampled_from(WORDS), st.sampled_from(ODD), st.text(max_size=8)),
             max_size=8).map(" ".join),
    st.sampled_from(["", " ", "\n\t \r", "\u200b", "\u00a0\u00a0", "  stop  "]),
)
PAYLOADS = st.one_of(
    st.none(),
    st.sampled_from(["yes", "no", "next", "menu", "rhi", "sheet", "read_sheet", "services",
                     "status", "withdraw", "lang_cy", "lang_en", "young_person", "parent",
                     "foster", "not_sure", "skip", "send", "change", "cancel", "area:cardiff",
                     "area:nowhere", "area:", "today", "longer", "phone", "text"]),
    st.text(max_size=20),
)


def take(state: State, text: str, payload: str | None, request: RequestView | None,
         content: Content, channel: str = "web") -> Step:
    """One step, and the promises every step keeps."""
    ctx = Context(NOW, content, 72, request=request, new_reference="TEST-CODE")
    result = step(state, Inbound(text, channel, payload=payload), ctx)
    stopped = OptOut() in result.effects
    if not state.opted_out:
        assert result.replies, f"no reply at {state.node} to {text[:80]!r}"
    if result.replies and not result.state.opted_out and not stopped:
        assert result.replies[-1].options, f"no way on at {result.state.node}"
    assert all(reply.text for reply in result.replies)
    return result


@pytest.mark.parametrize("node", sorted(NODES))
@PER_NODE
@given(data=st.data(), text=MESSAGES, payload=PAYLOADS,
       request=st.sampled_from(REQUESTS), channel=st.sampled_from(["web", "sms", "telegram"]))
def test_any_message_or_button_in_any_node_gets_a_reply_with_a_way_on(
    content: Content, node: str, data: st.DataObject, text: str, payload: str | None,
    request: RequestView | None, channel: str
) -> None:
    take(data.draw(states_at(node)), text, payload, request, content, channel)


LONG = st.builds(lambda chunk, times: (chunk * times)[:100_000],
                 st.text(min_size=1, max_size=40), st.integers(1, 100_000))


@FEW
@given(data=st.data(), node=st.sampled_from(sorted(NODES)), text=LONG)
def test_a_very_long_message_is_answered_like_any_other(
    content: Content, data: st.DataObject, node: str, text: str
) -> None:
    take(data.draw(states_at(node)), text, None, None, content)


COMMANDS = ["STOP", "START", "DILEU", "delete", "HELP", "menu", "CYMRAEG", "english", "BACK",
            "nôl", "status", "withdraw", "no", "yes"]


@WALKS
@given(rnd=st.randoms(use_true_random=False), request=st.sampled_from(REQUESTS))
def test_a_whole_conversation_of_random_choices_never_fails(
    content: Content, rnd: random.Random, request: RequestView | None
) -> None:
    state, options = State(), tuple[Option, ...]()
    for _ in range(40):
        roll = rnd.random()
        if roll < 0.85 and options:  # mostly, a choice offered: by its number or its button
            pick = rnd.randrange(len(options))
            says, payload = (str(pick + 1), None) if roll < 0.5 else ("", options[pick].key)
        elif roll < 0.95:
            says, payload = rnd.choice(COMMANDS), None
        else:
            says, payload = rnd.choice(WORDS), None
        result = take(state, says, payload, request, content)
        state = result.state
        options = result.replies[-1].options if result.replies else ()
