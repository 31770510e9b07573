"""The conversation engine: a pure function of state, message, clock and content."""

from bot.engine.core import prompt, step
from bot.engine.types import (
    Context,
    CreateRequest,
    Effect,
    Erase,
    FlagUrgent,
    Inbound,
    OptIn,
    Option,
    OptOut,
    RecordConsent,
    Reply,
    RequestView,
    State,
    Step,
    WithdrawRequest,
)

__all__ = [
    "Context",
    "CreateRequest",
    "Effect",
    "Erase",
    "FlagUrgent",
    "Inbound",
    "OptIn",
    "OptOut",
    "Option",
    "RecordConsent",
    "Reply",
    "RequestView",
    "State",
    "Step",
    "WithdrawRequest",
    "prompt",
    "step",
]
