"""The young person's journey: the information sheet, people to talk to, status, withdraw."""

from __future__ import annotations

from dataclasses import replace

from bot.engine import directory
from bot.engine.nodes import Move, Node, ask, home, options, say
from bot.engine.rhi import ACTIVE, describe_due, fresh_answers
from bot.engine.types import (
    Context,
    Inbound,
    RecordConsent,
    Reply,
    State,
    WithdrawRequest,
)
from bot.engine.understand import choose
from bot.i18n import format_date

SHEET_FOR_ROLE = {
    "young_person": "young-person",
    "parent": "parents-carers",
    "foster": "foster-residential-carers",
}


def _menu_keys(ctx: Context) -> tuple[str, ...]:
    keys: tuple[str, ...] = ("sheet", "services", "rhi")
    if ctx.request is not None:
        keys += ("status",)
    return keys


def menu_prompt(state: State, ctx: Context) -> tuple[Reply, ...]:
    """What would you like to do?"""
    return (ask(ctx, state, "yp.menu", *_menu_keys(ctx)),)


def menu_handle(state: State, inbound: Inbound, ctx: Context) -> Move | None:
    """Open the sheet, list services, start a request or show its status."""
    choice = choose(ctx.content, inbound, options(ctx, state, *_menu_keys(ctx)))
    if choice == "sheet":
        return Move(replace(state, sheet="young-person", page=0), "sheet")
    if choice == "services":
        return Move(state, "yp_menu", say=(services_reply(state, ctx),), brief=True)
    if choice == "rhi":
        return start_request(state, ctx)
    if choice == "status":
        return Move(state, "status")
    return None


def services_reply(state: State, ctx: Context) -> Reply:
    """999 and 101 first, then the services a young person can talk to, open ones first."""
    lang = state.lang or "cy"
    cards = directory.cards(ctx.content, lang, directory.YOUNG_PERSON, ctx.now)
    return Reply("\n\n".join([say(ctx, state, "yp.services"), *cards]))


def start_request(state: State, ctx: Context) -> Move:
    """Explain the interview and ask for consent, unless a request is already open."""
    if ctx.request is not None and ctx.request.status in ACTIVE:
        text = say(ctx, state, "rhi.already", reference=ctx.request.reference)
        return Move(state, "status", say=(Reply(text),))
    return Move(fresh_answers(state), "rhi_consent")


# The information sheets, page by page, for young people and carers alike.


def _sheet_keys(state: State, ctx: Context) -> tuple[str, ...]:
    lang = state.lang or "cy"
    sheet = ctx.content.sheets[lang][state.sheet or "young-person"]
    keys: tuple[str, ...] = ("next",) if state.page + 1 < len(sheet.pages) else ()
    if state.role == "young_person":
        keys += ("rhi",)
    return (*keys, "menu")


def sheet_prompt(state: State, ctx: Context) -> tuple[Reply, ...]:
    """The current page of the sheet."""
    lang = state.lang or "cy"
    sheet = ctx.content.sheets[lang][state.sheet or "young-person"]
    page_no = min(state.page, len(sheet.pages) - 1)
    page = sheet.pages[page_no]
    text = say(
        ctx, state, "sheet.page", title=sheet.title, number=page_no + 1,
        total=len(sheet.pages), heading=page.heading, body=page.body,
    )
    return (Reply(text, options(ctx, state, *_sheet_keys(state, ctx))),)


def sheet_handle(state: State, inbound: Inbound, ctx: Context) -> Move | None:
    """Turn the page, or leave the sheet."""
    choice = choose(ctx.content, inbound, options(ctx, state, *_sheet_keys(state, ctx)))
    if choice == "next":
        return Move(replace(state, page=state.page + 1), "sheet")
    if choice == "rhi":
        return start_request(state, ctx)
    if choice == "menu":
        return Move(state, home(state))
    return None


def sheet_back(state: State) -> State:
    """BACK on a sheet turns back a page; from the first page it leaves the sheet."""
    return replace(state, page=state.page - 1) if state.page > 0 else state


# Status and withdrawal.


def _status_keys(ctx: Context) -> tuple[str, ...]:
    active = ctx.request is not None and ctx.request.status in ACTIVE
    return ("withdraw", "menu") if active else ("menu",)


def status_prompt(state: State, ctx: Context) -> tuple[Reply, ...]:
    """The request's reference, what is happening with it, and by when."""
    request = ctx.request
    if request is None:
        return (ask(ctx, state, "status.none", "rhi", "menu"),)
    lang = state.lang or "cy"
    text = say(
        ctx, state, "status.show",
        reference=request.reference,
        status=say(ctx, state, f"status.{request.status}"),
        asked=format_date(request.created_at, lang),
    )
    if request.status in ACTIVE:
        text += "\n\n" + describe_due(state, ctx, request.due_at)
    return (Reply(text, options(ctx, state, *_status_keys(ctx))),)


def status_handle(state: State, inbound: Inbound, ctx: Context) -> Move | None:
    """Withdraw, ask for an interview, or go back to the menu."""
    keys = _status_keys(ctx) if ctx.request is not None else ("rhi", "menu")
    choice = choose(ctx.content, inbound, options(ctx, state, *keys))
    if choice == "withdraw":
        return Move(state, "withdraw_confirm")
    if choice == "rhi":
        return start_request(state, ctx)
    if choice == "menu":
        return Move(state, home(state))
    return None


def withdraw_prompt(state: State, ctx: Context) -> tuple[Reply, ...]:
    """Are you sure? Yes and no, equally."""
    return (ask(ctx, state, "withdraw.confirm", "yes", "no"),)


def withdraw_handle(state: State, inbound: Inbound, ctx: Context) -> Move | None:
    """Withdraw the request on yes; keep it on no."""
    choice = choose(ctx.content, inbound, options(ctx, state, "yes", "no"))
    if choice == "no":
        return Move(state, home(state), say=(Reply(say(ctx, state, "withdraw.kept")),),
                    brief=True)
    if choice != "yes":
        return None
    if ctx.request is None or ctx.request.status not in ACTIVE:
        return Move(state, "status")
    lang = state.lang or "cy"
    effects = (
        WithdrawRequest(ctx.request.reference),
        RecordConsent("rhi_request", granted=False, wording_version="withdrawal",
                      language=lang),
    )
    done = Reply(say(ctx, state, "withdraw.done", reference=ctx.request.reference))
    return Move(state, home(state), say=(done,), effects=effects, brief=True)


NODES = {
    "yp_menu": Node(menu_prompt, menu_handle, parent="role"),
    "sheet": Node(sheet_prompt, sheet_handle),
    "status": Node(status_prompt, status_handle, parent="yp_menu"),
    "withdraw_confirm": Node(withdraw_prompt, withdraw_handle, parent="status"),
}
