"""Understanding what a person typed: choices, commands, areas and phone numbers.

Every choice accepts its number, its button, its label in either language and the
common words for it in content/intents.yaml, with capitals, accents, punctuation and one
slip forgiven. Anything else is "not understood" and the engine asks again kindly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import phonenumbers

from bot import text as textmod
from bot.content import LANGS, Area, Content
from bot.engine.types import Inbound, Option

# A longer message is not a one-word answer: only its start is read for a choice.
_SHORT_ANSWER_WORDS = 6
# A place is named near the start of an answer; reading no further keeps a long one cheap.
_PLACE_WORDS = 20
# Words a young person may put around a place name ("I live in Barry", "dwi'n byw yn y Barri").
_PLACE_FILLER = frozenset(
    [
        "i", "im", "i'm", "live", "living", "stay", "staying", "in", "at", "near", "from",
        "the", "a", "an", "my", "home", "yn", "yng", "ym", "y", "yr", "dwi", "dw", "i'n",
        "dwin", "byw", "aros", "ger", "o", "mae", "fi", "ty",
    ]
)


def matches(typed: str, words: Iterable[str]) -> bool:
    """True when the typed message is one of the words or phrases, allowing slips."""
    said = textmod.words(typed)
    if not said:
        return False
    for candidate in words:
        want = candidate.split()
        if not want:
            continue
        if len(said) == len(want) and all(
            textmod.close(s, w) for s, w in zip(said, want, strict=True)
        ):
            return True
    return False


def vocabulary(content: Content, key: str) -> list[str]:
    """Every word for a choice or command: its intents in both languages and its labels."""
    out: list[str] = []
    for lang in LANGS:
        out.extend(content.intents.get(key, {}).get(lang, ()))
        label = content.messages.get(lang, {}).get(f"opt.{key}")
        if label:
            out.append(textmod.phrase(label))
    return [w for w in dict.fromkeys(out) if w]


def intent(content: Content, typed: str, candidates: Sequence[str]) -> str | None:
    """Which one of the candidate commands the whole message is, if exactly one."""
    found = [c for c in candidates if matches(typed, vocabulary(content, c))]
    return found[0] if len(found) == 1 else None


def choose(content: Content, inbound: Inbound, options: Sequence[Option]) -> str | None:
    """The option the person picked, by button, number, label or word; None if unclear."""
    keys = [o.key for o in options]
    if inbound.payload in keys:
        return inbound.payload
    said = textmod.words(inbound.text)
    if not said:
        return None
    # isdecimal, not isdigit: "፩" and "𐩀" are digits that int() cannot read.
    if len(said) == 1 and said[0].isdecimal():
        n = int(said[0]) if len(said[0]) <= 3 else 0
        return keys[n - 1] if 1 <= n <= len(keys) else None
    exact = [k for k in keys if matches(inbound.text, vocabulary(content, k))]
    if len(exact) == 1:
        return exact[0]
    if exact:
        return None
    # "yes please I would" or "phone call in the evening": read the start of a short answer.
    if len(said) <= _SHORT_ANSWER_WORDS:
        starts = [
            k
            for k in keys
            if any(
                textmod.contains_phrase(said[: len(w.split())], w.split())
                for w in vocabulary(content, k)
            )
        ]
        if len(starts) == 1:
            return starts[0]
    # A word from inside one label: "gofal" for "Mewn gofal", "phone" for "Phone call".
    if any(len(w) >= 4 for w in said):
        inside = [
            k
            for k in keys
            if any(textmod.contains_phrase(w.split(), said, exact=True)
                   for w in vocabulary(content, k))
        ]
        if len(inside) == 1:
            return inside[0]
    return None


def areas(content: Content, typed: str) -> list[Area]:
    """The areas a place name could mean, best matches only (empty if none).

    1. Read the first few words: a place is named near the start of an answer.
    2. Score each area by its longest name found, with and without the filler words
       around it: "Pen-y-bont ar Ogwr" and "Y Fenni" have filler words inside them.
    3. A name spelt right (perhaps mutated: "Nghaerdydd") beats a name found with a slip,
       so "Aberfan" is Merthyr Tydfil and not a slip for Aberafan.
    """
    typed_words = textmod.words(typed)[:_PLACE_WORDS]
    plain = [w for w in typed_words if w not in _PLACE_FILLER]
    readings = [typed_words, plain] if plain else [typed_words]
    best: list[Area] = []
    best_score = 0
    for area in content.areas:
        score = 0
        for name in area.names:
            want = name.split()
            for said in readings:
                if textmod.contains_phrase(said, want, slips=False):
                    score = max(score, 2 * len(want) + 1)
                elif textmod.contains_phrase(said, want):
                    score = max(score, 2 * len(want))
        if score > best_score:
            best, best_score = [area], score
        elif score and score == best_score:
            best.append(area)
    return best


def phone_number(typed: str) -> str | None:
    """A UK phone number in E.164 form, or None if the text isn't one."""
    try:
        number = phonenumbers.parse(typed, "GB")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number) or number.country_code != 44:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
