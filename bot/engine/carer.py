"""The parent's and carer's journey: their sheet, what to do if it happens again, support."""

from __future__ import annotations

from dataclasses import replace

from bot.engine import directory
from bot.engine.nodes import Move, Node, ask, home, options, say
from bot.engine.types import Context, Inbound, Reply, State
from bot.engine.understand import choose

# "read_sheet", not the young person's "sheet": a carer's sheet is not about the interview.
MENU = ("read_sheet", "missing_again", "support")


def sheet_for(state: State) -> str:
    """Foster and residential carers get their own sheet; parents and family carers theirs."""
    return "foster-residential-carers" if state.role == "foster" else "parents-carers"


def menu_prompt(state: State, ctx: Context) -> tuple[Reply, ...]:
    """What would you like to read?"""
    return (ask(ctx, state, "carer.menu", *MENU),)


def menu_handle(state: State, inbound: Inbound, ctx: Context) -> Move | None:
    """The sheet, what to do if the child goes missing again, or where to find support."""
    choice = choose(ctx.content, inbound, options(ctx, state, *MENU))
    if choice == "read_sheet":
        return Move(replace(state, sheet=sheet_for(state), page=0), "sheet")
    if choice == "missing_again":
        key = "carer.missing_again_foster" if state.role == "foster" else "carer.missing_again"
        return Move(state, home(state), say=(Reply(say(ctx, state, key)),), brief=True)
    if choice == "support":
        lang = state.lang or "cy"
        cards = directory.cards(ctx.content, lang, directory.CARER, ctx.now)
        text = "\n\n".join([say(ctx, state, "carer.support"), *cards])
        return Move(state, home(state), say=(Reply(text),), brief=True)
    return None


NODES = {"carer_menu": Node(menu_prompt, menu_handle, parent="role")}
