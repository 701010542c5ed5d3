"""The one family of refusals: something a user asked for cannot be done now, and the message says why.

Services raise a ``Refused`` (or one of its kinds: ``AccountError``, ``StudyError``, ``TableError``, …);
views show it with ``web.refused`` or as a form error, and commands print it as one line (exit 2).
The message is a clause in lower case without a full stop, so that the page or command can frame it.
"""

import re
import unicodedata


class Refused(ValueError):
    """A request that cannot be carried out; ``str(error)`` says why, in words for the person who asked."""


# Line breaks, tabs and other control characters (C0, DEL, C1, Unicode line and paragraph separators): a name
# with one breaks the one-line places it goes to, an e-mail's Subject header first of all.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
ONE_LINE = "must be one line of text, without line breaks, tabs or other control characters"


def has_control_characters(text: str | None) -> bool:
    """Whether ``text`` holds a line break, a tab or another control character."""
    return bool(text) and _CONTROL.search(text) is not None


# Invisible format characters (Unicode category Cf) other than the joiners and marks that scripts need (ZWNJ,
# ZWJ, LRM, RLM, ALM): a zero-width space or a right-to-left override makes two different words look alike.
_NEEDED_FORMAT = {"\u200c", "\u200d", "\u200e", "\u200f", "\u061c"}
INVISIBLE = "must not hold invisible formatting characters (zero-width spaces, direction overrides)"


def has_invisible_characters(text: str | None) -> bool:
    """Whether ``text`` holds a format character a reader cannot see and no script needs."""
    return bool(text) and any(unicodedata.category(c) == "Cf" and c not in _NEEDED_FORMAT for c in text)


def look_alike(text: str) -> str:
    """``text`` as a reader tells it apart: compatibility-normalised (NFKC), case-folded, without format marks."""
    return "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c) != "Cf").casefold()
