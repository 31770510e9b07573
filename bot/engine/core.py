"""The conversation as a pure function: step(state, inbound, context) -> Step.

1. Danger first: if the message suggests danger, the reply with 999 and Childline goes
   before anything else and the contact is flagged urgent; then the message is read as
   usual.
2. After STOP, stay silent except for START, DELETE / DILEU and danger.
3. Commands that work anywhere (HELP, MENU / DEWISLEN, CYMRAEG / ENGLISH, BACK / NÔL,
   STOP, DELETE / DILEU, STATUS) are tried next, but only when they are the whole message.
4. Otherwise the current node reads the answer. If it cannot, the person is asked again,
   kindly, with the same choices: there is no dead end.

See flows.md beside this file for the diagram.
"""

from __future__ import annotations

from dataclasses import replace

from bot import leaflets, safety
from bot.engine import carer, rhi, young
from bot.engine.nodes import Move, Node, ask, home, options, say
from bot.engine.types import (
    ROLES,
    Context,
    CreateRequest,
    Effect,
    Erase,
    FlagUrgent,
    Inbound,
    OptIn,
    OptOut,
    Reply,
    RequestView,
    State,
    Step,
    WithdrawRequest,
)
from bot.engine.understand import choose, intent

# Reading is bounded so a huge message costs no more than a long one; nothing is cut
# from what is stored, only from what is searched for commands and choices.
MAX_READ = 4000
COMMANDS = ("stop", "start", "delete", "help", "menu", "lang_cy", "lang_en", "back", "status",
            "withdraw")
LANGUAGE_KEYS = ("lang_cy", "lang_en")
ROLE_KEYS = ROLES


def step(state: State, inbound: Inbound, ctx: Context) -> Step:
    """Read one message and decide the replies, the new state and the effects."""
    inbound = replace(inbound, text=inbound.text[:MAX_READ] if inbound.text else "")
    state, inbound = _leaflet(state, inbound, ctx)
    first: list[Reply] = []
    effects: list[Effect] = []
    if safety.in_danger(ctx.content, inbound.text):
        first.append(Reply(say(ctx, state, "danger"), urgent=True))
        effects.append(FlagUrgent("danger_words"))
        state = replace(state, urgent=True)
    command = intent(ctx.content, inbound.text, COMMANDS) if inbound.payload is None else None

    if state.opted_out:
        if command == "start":
            move = Move(replace(state, opted_out=False), home(state),
                        say=(Reply(say(ctx, state, "start.back")),), effects=(OptIn(),))
        elif command == "delete":
            move = Move(state, "delete_confirm")
        elif state.node == "delete_confirm" and (answered := delete_handle(state, inbound, ctx)):
            # DELETE must work after STOP, so its yes or no must be heard too.
            move = answered
        else:
            return Step(state, tuple(first), tuple(effects))
    elif inbound.media:
        # Nothing to read: say so kindly, and ask the same question again.
        text_only = Reply(say(ctx, state, "media.text_only"))
        move = Move(state, state.node if state.node in NODES else "language", say=(text_only,))
    else:
        move = _command(state, command, ctx) or _answer(state, inbound, ctx, quiet=bool(first))

    ctx = _after(ctx, move.effects)
    if move.node == "stopped":
        replies: tuple[Reply, ...] = (Reply(say(ctx, state, "stop.done")),)
        # Off any question, so a "yes" sent after STOP answers nothing (not even DELETE's).
        new_state = replace(move.state, opted_out=True, node=home(move.state))
    else:
        replies = render(move, ctx)
        new_state = replace(move.state, node=move.node)
    if any(isinstance(e, Erase) for e in move.effects):
        new_state = State()
    return Step(new_state, (*first, *replies), (*effects, *move.effects))


def _leaflet(state: State, inbound: Inbound, ctx: Context) -> tuple[State, Inbound]:
    """A leaflet's deep link: remember the area it names, then read it as a plain /start.

    Telegram sends "/start area-cardiff" to a new chat and to one under way alike, so it
    is read before any node. A parameter that names no area is ignored.
    """
    given = leaflets.start_parameter(inbound.text) if inbound.payload is None else None
    if given is None:
        return state, inbound
    area = leaflets.area_code(ctx.content, given)
    if area is not None:
        state = rhi.with_leaflet_area(state, area)
    return state, replace(inbound, text="/start")


def _after(ctx: Context, effects: tuple[Effect, ...]) -> Context:
    """The context as it will be once the effects are applied, for the prompt that follows."""
    for effect in effects:
        if isinstance(effect, CreateRequest):
            view = RequestView(effect.reference, "queued", effect.due_at, ctx.now)
            ctx = replace(ctx, request=view)
        elif isinstance(effect, WithdrawRequest) and ctx.request is not None:
            ctx = replace(ctx, request=replace(ctx.request, status="withdrawn"))
    return ctx


def render(move: Move, ctx: Context) -> tuple[Reply, ...]:
    """What was said on the way, then the destination's prompt (or just its choices)."""
    state = replace(move.state, node=move.node)
    prompt = NODES[move.node].prompt(state, ctx)
    if move.brief and move.say:
        last = move.say[-1]
        return (*move.say[:-1], replace(last, options=prompt[-1].options))
    return (*move.say, *prompt)


def _command(state: State, command: str | None, ctx: Context) -> Move | None:
    """A command that works from anywhere, if the message was one."""
    if command is None or (state.node == "new" and command not in ("stop", *LANGUAGE_KEYS)):
        return None
    if command == "stop":
        return Move(state, "stopped", effects=(OptOut(),))
    if command in LANGUAGE_KEYS:
        chosen = replace(state, lang="cy" if command == "lang_cy" else "en")
        if state.lang is None:  # the first choice needs no "from now on"
            return Move(chosen, home(chosen))
        node = state.node if state.node not in ("new", "language") else home(chosen)
        return Move(chosen, node, say=(Reply(say(ctx, chosen, "lang.changed")),))
    if command == "help":
        return Move(state, state.node, say=(Reply(say(ctx, state, "help")),))
    if command in ("menu", "start"):
        return Move(state, home(state))
    if command == "back":
        return _back(state)
    if command == "delete":
        return Move(state, "delete_confirm")
    if state.role == "young_person" and command == "status":
        return Move(state, "status")
    if state.role == "young_person" and command == "withdraw":
        return Move(state, "withdraw_confirm" if ctx.request else "status")
    return None


def _back(state: State) -> Move:
    """BACK goes to the previous question, or a page back in a sheet."""
    if state.node == "sheet" and state.page > 0:
        return Move(young.sheet_back(state), "sheet")
    parent = NODES[state.node].parent if state.node in NODES else None
    return Move(state, parent or home(state))


def _answer(state: State, inbound: Inbound, ctx: Context, quiet: bool) -> Move:
    """Let the current node read the message; ask again kindly if it can't.

    After a danger reply (`quiet`), the question is simply asked again: "sorry, I didn't
    get that" would be the wrong thing to say to someone who just said they are in danger.
    """
    node = NODES.get(state.node, NODES["new"])
    move = node.handle(state, inbound, ctx)
    if move is not None and not (quiet and move.retry):
        return move
    if quiet:
        return Move(state, state.node if state.node in NODES else "language")
    sorry = Reply(say(ctx, state, "not_understood"))
    prompt = node.prompt(state, ctx)
    again = replace(prompt[0], text=f"{sorry.text}\n\n{prompt[0].text}")
    return Move(state, state.node if state.node in NODES else "language",
                say=(again, *prompt[1:]), brief=True)


def greeting_prompt(state: State, ctx: Context) -> tuple[Reply, ...]:
    """Welsh first, then English: hello, Welsh is welcome, which language?"""
    return (ask(ctx, replace(state, lang=None), "greeting", *LANGUAGE_KEYS),)


def new_handle(state: State, inbound: Inbound, ctx: Context) -> Move | None:
    """A first message: greet, unless it already chose a language."""
    move = language_handle(state, inbound, ctx)
    return move or Move(state, "language")


def language_handle(state: State, inbound: Inbound, ctx: Context) -> Move | None:
    """Cymraeg or English."""
    choice = choose(ctx.content, inbound, options(ctx, state, *LANGUAGE_KEYS))
    if choice is None:
        return None
    return Move(replace(state, lang="cy" if choice == "lang_cy" else "en"), "role")


def role_prompt(state: State, ctx: Context) -> tuple[Reply, ...]:
    """Who is writing?"""
    return (ask(ctx, state, "role", *ROLE_KEYS),)


def role_handle(state: State, inbound: Inbound, ctx: Context) -> Move | None:
    """A young person, a parent or family carer, or a foster carer or residential worker."""
    choice = choose(ctx.content, inbound, options(ctx, state, *ROLE_KEYS))
    if choice is None:
        return None
    state = replace(state, role=choice)
    return Move(state, home(state), say=(Reply(say(ctx, state, f"welcome.{choice}")),))


def delete_prompt(state: State, ctx: Context) -> tuple[Reply, ...]:
    """What deleting means, then yes or no."""
    return (ask(ctx, state, "delete.confirm", "yes", "no"),)


def delete_handle(state: State, inbound: Inbound, ctx: Context) -> Move | None:
    """Erase on yes; carry on as before on no."""
    choice = choose(ctx.content, inbound, options(ctx, state, "yes", "no"))
    if choice == "no":
        return Move(state, home(state), say=(Reply(say(ctx, state, "delete.kept")),), brief=True)
    if choice != "yes":
        return None
    return Move(State(), "new", say=(Reply(say(ctx, state, "delete.done")),), effects=(Erase(),),
                brief=True)


NODES: dict[str, Node] = {
    "new": Node(greeting_prompt, new_handle),
    "language": Node(greeting_prompt, language_handle),
    "role": Node(role_prompt, role_handle, parent="language"),
    "delete_confirm": Node(delete_prompt, delete_handle),
    **young.NODES,
    **rhi.NODES,
    **carer.NODES,
}


def prompt(state: State, ctx: Context) -> tuple[Reply, ...]:
    """The current question again, without reading a message: for a page reload."""
    if state.opted_out:
        return (Reply(say(ctx, state, "stop.done")),)
    return NODES.get(state.node, NODES["new"]).prompt(state, ctx)
