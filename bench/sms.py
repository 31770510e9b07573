"""What each journey costs by SMS, in each language: texts and segments, first to last.

    .venv/bin/python -m bench.sms

The request for an interview is `adref sms budget`'s own count (bot/cli_channels.py
`rhi_by_sms`). The other journeys go through the same steps: the pure engine answers
each message, and every reply is split, rendered and fitted as the outbox and
TwilioSender would (`sms.split`, `sms.render`, `sms.fit`), then counted with
`sms.segments`. Welsh letters such as ŵ and ŷ are not in GSM-7, so a Welsh text often
costs two or three times its English twin.

A journey's `setup` is what the person said before it (not counted): checking a request
needs a request first. The engine is pure, so the request the service layer would store
is kept here, from the CreateRequest and WithdrawRequest effects.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.channels import sms
from bot.cli_channels import (
    BUDGET_NOW,
    RHI_BY_SMS,
    SAMPLE_REFERENCE,
    Pick,
    Says,
    option_number,
    rhi_by_sms,
)
from bot.config import default_content_dir
from bot.content import LANGS, Content, load
from bot.engine import (
    Context,
    CreateRequest,
    Inbound,
    Option,
    RequestView,
    State,
    WithdrawRequest,
    step,
)

# Press "next" for as long as the sheet has another page.
EVERY_PAGE = "<every page>"

FIRST = {"cy": ("Helo", Pick("lang_cy")), "en": ("Hi", Pick("lang_en"))}
WORDS = {  # the commands people type, in each language (content/intents.yaml)
    "cy": {"status": "STATWS", "help": "CYMORTH", "start": "DECHRAU", "delete": "DILEU"},
    "en": {"status": "STATUS", "help": "HELP", "start": "START", "delete": "DELETE"},
}


@dataclass(frozen=True)
class Journey:
    """Something someone comes to do, as what they send, after what came before."""

    key: str
    name: str
    steps: tuple[Says, ...]
    setup: tuple[Says, ...] = ()


def journeys(lang: str) -> list[Journey]:
    """Every journey through the bot, in one language."""
    young = (*FIRST[lang], Pick("young_person"))
    words = WORDS[lang]
    carer = (Pick("read_sheet"), EVERY_PAGE, Pick("menu"), Pick("missing_again"),
             Pick("support"))
    return [
        Journey("rhi", "young person asks for a return home interview", RHI_BY_SMS[lang]),
        Journey("sheet", "young person reads the information sheet",
                (*young, Pick("sheet"), EVERY_PAGE, Pick("menu"))),
        Journey("services", "young person asks who else to talk to",
                (*young, Pick("services"))),
        Journey("status", "young person checks, then withdraws, their request",
                (words["status"], Pick("withdraw"), Pick("yes")), setup=RHI_BY_SMS[lang]),
        Journey("keywords", "help, STOP, start again, and delete",
                (words["help"], "STOP", words["start"], words["delete"], Pick("yes")),
                setup=young),
        Journey("parent", "parent reads their sheet, what to do, where to get support",
                (*FIRST[lang], Pick("parent"), *carer)),
        Journey("foster", "foster carer reads their sheet, what to do, where to get support",
                (*FIRST[lang], Pick("foster"), *carer)),
    ]


def cost(content: Content, lang: str, journey: Journey) -> dict[str, Any]:
    """Texts, segments and texts cut short for one journey in one language."""
    if journey.key == "rhi":
        # `adref sms budget`'s own figures, so that the two can never disagree.
        sent = [(t.text, t.cut) for t in rhi_by_sms(content, lang)]
    else:
        sent = walk(content, journey.setup, journey.steps)
    return {"journey": journey.key, "name": journey.name, "lang": lang, "texts": len(sent),
            "segments": sum(sms.segments(text).count for text, _ in sent),
            "cut": sum(cut for _, cut in sent)}


def walk(content: Content, setup: Sequence[Says], steps: Sequence[Says]
         ) -> list[tuple[str, bool]]:
    """Every SMS the engine sends for `steps`, after `setup`, as sent: (text, cut)."""
    state = State()
    offered: tuple[Option, ...] = ()
    request: RequestView | None = None
    sent: list[tuple[str, bool]] = []
    script = [(s, False) for s in setup] + [(s, True) for s in steps]
    while script:
        says, counted = script.pop(0)
        if says == EVERY_PAGE:
            if any(option.key == "next" for option in offered):
                script[:0] = [(Pick("next"), counted), (EVERY_PAGE, counted)]
            continue
        text = option_number(offered, says.key) if isinstance(says, Pick) else says
        ctx = Context(BUDGET_NOW, content, 72, request=request,
                      new_reference=SAMPLE_REFERENCE)
        result = step(state, Inbound(text, sms.CHANNEL), ctx)
        language = result.state.lang or state.lang
        for reply in result.replies:
            for part in sms.split(reply, language):
                whole = sms.render(part, language)
                fitted = sms.fit(whole)
                if counted:
                    sent.append((fitted, fitted != whole))
        for effect in result.effects:
            if isinstance(effect, CreateRequest):
                request = RequestView(effect.reference, "queued", effect.due_at, BUDGET_NOW)
            elif isinstance(effect, WithdrawRequest) and request is not None:
                request = RequestView(request.reference, "withdrawn", request.due_at,
                                      request.created_at)
        offered = next((r.options for r in reversed(result.replies) if r.options), ())
        state = result.state
    return sent


def every_journey(content: Content) -> list[dict[str, Any]]:
    """Each journey's cost in each language."""
    by_lang = {lang: journeys(lang) for lang in LANGS}
    return [cost(content, lang, by_lang[lang][n])
            for n in range(len(by_lang[LANGS[0]])) for lang in LANGS]


def main() -> int:
    """Print each journey's cost; exit 1 if any text had to be cut short."""
    found = every_journey(load(default_content_dir()))
    if "--json" in sys.argv[1:]:
        print(json.dumps(found, indent=2))
    else:
        for row in found:
            print(f"{row['journey']:<9} {row['lang']}  {row['texts']:>3} texts "
                  f"{row['segments']:>4} segments  {row['cut']} cut  {row['name']}")
    return 0 if not any(row["cut"] for row in found) else 1


if __name__ == "__main__":
    sys.exit(main())
