"""Noticing danger: words that suggest a young person is in danger now, in either language.

The phrases live in content/cy/danger.txt and content/en/danger.txt. Both lists are
checked on every message, whatever language the person chose: someone may switch
language when frightened. Matching forgives capitals, accents, apostrophes, Welsh
mutations ("ladd" for "lladd") and one slip in longer words, because a child in crisis
will not spell well. tests/danger/ holds the messages it must catch and the ordinary ones
it should not; `python -m bench.danger` prints how it does on both.

This module also holds the reply for when handling a message fails (`fallback`): it is
the other half of the same promise, that someone in danger always hears where to go.
"""

from __future__ import annotations

import logging
import traceback
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePath

from bot import text as textmod
from bot.content import LANGS, Content

# Longer messages are still read in full, up to a bound that keeps matching cheap.
_MAX_WORDS = 400
# A slip is forgiven only in words this long. Every message is checked against every
# phrase, so a slip allowed in four-letter words costs false alarms: "rate" and "grape"
# are one letter from "rape", "mawr" (big) and "mara" from "marw" (die). Shorter words
# are listed as people type them instead ("kil myself", "isho marw").
_SLIP_FROM = 5
_FALLBACK_KEY = "fallback"
# The innermost frames of a failure are enough to find it.
_FRAMES_LOGGED = 8

log = logging.getLogger(__name__)


def in_danger(content: Content, message: str) -> bool:
    """True when the message contains any danger phrase from either language."""
    said = [_key(word) for word in textmod.words(message)[:_MAX_WORDS]]
    index = _index(tuple(content.danger[lang] for lang in LANGS))
    heard = [_listed(index, word) for word in said]
    for start, first in enumerate(heard):
        for word in first:
            for phrase in index.starting.get(word, ()):
                rest = phrase[1:]
                if len(rest) <= len(heard) - start - 1 and all(
                        known in heard[start + 1 + n] for n, known in enumerate(rest)):
                    return True
    return False


def fallback(content: Content) -> str:
    """The fixed reply when a message could not be handled: Welsh then English, with 999,
    Childline and Meic from the service directory.

    Content is loaded once at start-up, so this needs no database: it can still be given
    when the database, or the engine, has failed on the person's message.
    """
    return content.both(_FALLBACK_KEY)


def log_failure(channel: str, error: BaseException) -> None:
    """Log that a message could not be handled, with nothing personal in the log.

    The exception's message is left out: a database error quotes its SQL parameters and
    any error may quote what the person wrote. Its type and where it was raised (file,
    line and function of the innermost frames) are enough to find it.
    """
    frames = traceback.extract_tb(error.__traceback__)[-_FRAMES_LOGGED:]
    where = " < ".join(f"{PurePath(f.filename).name}:{f.lineno} {f.name}"
                       for f in reversed(frames))
    log.error("message not handled; the fixed safe reply was given instead",
              extra={"channel": channel, "error": type(error).__name__, "where": where})


def _key(word: str) -> str:
    # "dont" and "don't", "dwin" and "dwi'n" are the same word to someone typing fast.
    return word.replace("'", "")


@dataclass(frozen=True, eq=False)  # hashed by identity: one per set of lists, cached
class _Index:
    """The danger lists, arranged so a message's words are looked up, not compared."""

    # Every form of a listed word (itself and, mutation undone, its radicals) -> the word.
    forms: Mapping[str, frozenset[str]]
    # For listed words long enough to forgive a slip: each form, and each form less one
    # letter -> (the form, the listed word). Two words one slip apart share such a key.
    near: Mapping[str, frozenset[tuple[str, str]]]
    # The phrases, by their first word.
    starting: Mapping[str, tuple[tuple[str, ...], ...]]


@lru_cache(maxsize=8)
def _index(lists: tuple[tuple[str, ...], ...]) -> _Index:
    """The index of one content's lists (tuples of phrases, so they can key the cache)."""
    forms: defaultdict[str, set[str]] = defaultdict(set)
    near: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
    starting: defaultdict[str, list[tuple[str, ...]]] = defaultdict(list)
    for line in (line for phrases in lists for line in phrases):
        phrase = tuple(_key(word) for word in line.split())
        if not phrase:
            continue
        starting[phrase[0]].append(phrase)
        for word in phrase:
            radicals = tuple(textmod.radicals(word))
            for form in radicals:
                forms[form].add(word)
                if _may_slip(radicals):
                    for variant in _less_one(form):
                        near[variant].add((form, word))
    return _Index(
        forms={k: frozenset(v) for k, v in forms.items()},
        near={k: frozenset(v) for k, v in near.items()},
        starting={k: tuple(v) for k, v in starting.items()},
    )


# People repeat their words: remembering each word's answer keeps a long message cheap.
@lru_cache(maxsize=65536)
def _listed(index: _Index, typed: str) -> frozenset[str]:
    """The listed words the typed word is: the same word mutated or not, or, in longer
    words, one slip from it with the first letter right."""
    radicals = tuple(textmod.radicals(typed))
    found = {word for form in radicals for word in index.forms.get(form, ())}
    if _may_slip(radicals):
        for form in radicals:
            for variant in _less_one(form):
                for known_form, word in index.near.get(variant, ()):
                    # The first letter of a slip must be right: mutations, which change
                    # it, are handled above, and a free first letter makes "picks me"
                    # read as "kicks me".
                    if form[0] == known_form[0] and textmod.close(form, known_form):
                        found.add(word)
    # A mutation changes a word's length by at most two letters, a slip by one more.
    return frozenset(word for word in found if abs(len(word) - len(typed)) <= 3)


def _may_slip(radicals: tuple[str, ...]) -> bool:
    """Whether a word is long enough to forgive a slip in, judged on its shortest form.

    "nhagu" (choke) has five letters, but under the mutation it is "tagu", one slip from
    "talu" (pay); and undoing a mutation must not lengthen "rate" into "rhate", one slip
    from "rhape".
    """
    return min(len(form) for form in radicals) >= _SLIP_FROM


def _less_one(form: str) -> set[str]:
    """The form and every form of it with one letter left out."""
    return {form, *(form[:i] + form[i + 1:] for i in range(len(form)))}
