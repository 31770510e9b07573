"""Noticing danger: words that suggest a young person is in danger now, in either language.

The phrases live in content/cy/danger.txt and content/en/danger.txt. Both lists are
checked on every message, whatever language the person chose: someone may switch
language when frightened. Matching forgives capitals, accents, one slip in longer words
and Welsh mutations ("ladd" for "lladd"), because a child in crisis will not spell well.
"""

from __future__ import annotations

from bot import text as textmod
from bot.content import LANGS, Content

# Longer messages are still read in full, up to a bound that keeps matching cheap.
_MAX_WORDS = 400


def in_danger(content: Content, message: str) -> bool:
    """True when the message contains any danger phrase from either language."""
    said = textmod.words(message)[:_MAX_WORDS]
    if not said:
        return False
    return any(
        textmod.contains_phrase(said, phrase.split())
        for lang in LANGS
        for phrase in content.danger[lang]
    )
