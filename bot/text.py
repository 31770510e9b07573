"""Reading what people type: normalising, Welsh mutations and forgiving comparison.

Used for matching only. Text that is stored or shown is never changed by anything here:
"tân" (fire) and "tan" (until) are different words, so accents are folded only to
compare a typed word with a known one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_NON_WORD = re.compile(r"[^\w']+")
_LEADING_TRAILING_APOSTROPHES = re.compile(r"(^'+|'+$)")

# Initial consonant mutations, as (mutated prefix, radical prefix). Longest first so
# "ngh" is tried before "ng". A typed "Nghaerdydd", "Gaerdydd" or "Chaerdydd" all lead
# back to "Caerdydd".
_MUTATIONS: tuple[tuple[str, str], ...] = (
    ("ngh", "c"),
    ("mh", "p"),
    ("nh", "t"),
    ("ch", "c"),
    ("ph", "p"),
    ("th", "t"),
    ("ng", "g"),
    ("dd", "d"),
    ("g", "c"),
    ("b", "p"),
    ("d", "t"),
    ("f", "b"),
    ("f", "m"),
    ("l", "ll"),
    ("r", "rh"),
    ("m", "b"),
    ("n", "d"),
)


def fold(text: str) -> str:
    """Lower-case, NFKC, straight apostrophes and no accents: a key for comparing words."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """The folded words of a message; punctuation, emoji and symbols are dropped."""
    out: list[str] = []
    for raw in _NON_WORD.split(fold(text)):
        word = _LEADING_TRAILING_APOSTROPHES.sub("", raw.replace("_", " ").strip())
        out.extend(w for w in word.split() if w)
    return out


def phrase(text: str) -> str:
    """The folded words of a message joined by single spaces."""
    return " ".join(words(text))


def radicals(word: str) -> Iterator[str]:
    """The word itself, then every form it could have before a Welsh mutation."""
    yield word
    for mutated, radical in _MUTATIONS:
        if word.startswith(mutated) and len(word) > len(mutated) + 1:
            yield radical + word[len(mutated) :]
    # Soft mutation drops an initial g: "ofalwr" comes from "gofalwr".
    if word[:1] in "aeiouwy":
        yield "g" + word


def close(typed: str, known: str) -> bool:
    """True when a typed word is the known word or one slip away from it.

    Short words must match exactly ("na" and "ie" are too close to other words to
    guess at); longer ones may have one letter wrong, missing, extra or swapped.
    """
    if typed == known:
        return True
    if min(len(typed), len(known)) < 4:
        return False
    return _within_one_edit(typed, known)


def _within_one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


# Every message is checked against every danger phrase: remembering the answer for a word
# pair keeps a long message cheap, since people repeat their words.
@lru_cache(maxsize=65536)
def close_to_any_radical(typed: str, known: str) -> bool:
    """True when the typed word, or a form of it before mutation, is close to the known word."""
    # A mutation changes a word's length by at most two letters, a slip by one more.
    if abs(len(typed) - len(known)) > 3:
        return False
    return any(close(form, known) for form in radicals(typed))


def contains_phrase(message_words: list[str], target: list[str], *, exact: bool = False,
                    slips: bool = True) -> bool:
    """True when the target's words appear in order, side by side, in the message.

    With `exact`, words must match exactly (after folding), with no slips or mutations.
    With `slips=False`, mutations are undone but no slip is forgiven.
    """
    n = len(target)
    if n == 0 or n > len(message_words):
        return False
    for start in range(len(message_words) - n + 1):
        window = message_words[start : start + n]
        pairs = zip(window, target, strict=True)
        if exact:
            found = window == target
        elif slips:
            found = all(close_to_any_radical(w, t) for w, t in pairs)
        else:
            found = all(t in radicals(w) for w, t in pairs)
        if found:
            return True
    return False
