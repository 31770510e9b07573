"""The pieces every part of the conversation is built from: nodes, moves and wording."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.content import LANGS
from bot.engine.types import Context, Effect, Inbound, Option, Reply, State


@dataclass(frozen=True)
class Move:
    """Where a handler sends the conversation, what to say on the way, and its effects.

    Every move ends with the destination's prompt, so a person always has a way on.
    With `brief`, the destination's choices are attached to the last thing said
    instead of repeating its question: one message instead of two, which matters by SMS.
    With `retry`, the handler could not read the answer and asks again in its own words
    ("I don't know that place"): words that are left out after a danger reply.
    """

    state: State
    node: str
    say: tuple[Reply, ...] = ()
    effects: tuple[Effect, ...] = ()
    brief: bool = False
    retry: bool = False


Prompt = Callable[[State, Context], tuple[Reply, ...]]
Handler = Callable[[State, Inbound, Context], Move | None]


@dataclass(frozen=True)
class Node:
    """One point in the conversation: what it asks, how it reads the answer, where BACK goes."""

    prompt: Prompt
    handle: Handler
    parent: str | None = None


ADULT_ROLES = ("parent", "foster")


def say(ctx: Context, state: State, key: str, **values: object) -> str:
    """A message in the person's language, or in Welsh then English if not yet known.

    Parents and carers get a message's `.adult` form where there is one: Welsh speaks
    to adults as "chi", and they have no request of their own to check.
    """
    if state.role in ADULT_ROLES and f"{key}.adult" in ctx.content.messages["en"]:
        key = f"{key}.adult"
    if state.lang is None:
        return ctx.content.both(key, **values)
    return ctx.content.text(state.lang, key, **values)


def options(ctx: Context, state: State, *keys: str) -> tuple[Option, ...]:
    """Choices labelled in the person's language, or "Cymraeg / English" style if unknown."""
    out = []
    for key in keys:
        if state.lang is None:
            label = " / ".join(
                dict.fromkeys(ctx.content.text(lang, f"opt.{key}") for lang in LANGS)
            )
        else:
            label = ctx.content.text(state.lang, f"opt.{key}")
        out.append(Option(key=key, label=label))
    return tuple(out)


def ask(ctx: Context, state: State, key: str, *option_keys: str, **values: object) -> Reply:
    """A question with its choices."""
    return Reply(say(ctx, state, key, **values), options(ctx, state, *option_keys))


def home(state: State) -> str:
    """The menu this person returns to: theirs, or the question still to be answered."""
    if state.lang is None:
        return "language"
    if state.role is None:
        return "role"
    return "yp_menu" if state.role == "young_person" else "carer_menu"


def clear_answers(state: State) -> State:
    """A copy of the state with the request answers forgotten."""
    return replace(state, answers=())
