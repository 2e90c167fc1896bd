"""JSON parsing with limits checked before the parser runs, for any JSON a person or Embrace sends us.

Python's parser recurses once per nesting level and converts every integer exactly, so ten thousand
``[`` raise ``RecursionError`` and a 5,000-digit number raises ``ValueError`` (the interpreter's guard
against slow big-number conversion). A cheap scan of the text outside strings refuses both first, in
words a person can act on, with the line and column of the problem.

:func:`loads` raises :class:`json.JSONDecodeError` for broken JSON (callers explain it their own way)
and :class:`Refused`, carrying a plain ``message``, for JSON over a limit. Both are ``ValueError``.
This module imports nothing from the project, so every layer can use it.
"""

from __future__ import annotations

import json
import re

MAX_DEPTH = 64  # nested brackets; the deepest real filter is about a dozen
MAX_DIGITS = 100  # digits in one number; nothing in a metric needs more than twenty
MAX_CHARS = 1_000_000

# Strings (so brackets and digits inside them are skipped), then brackets, then runs of digits.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]|[0-9]+')
# Byte tables for the fast first look: brackets only, all of one kind; every digit as "0".
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_ONE_KIND = bytes.maketrans(b"{}", b"[]")
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")


class Refused(ValueError):
    """The text is over one of the limits; ``message`` says which, in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _where(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line}, column {column}"


def check(text: str, *, max_depth: int = MAX_DEPTH, max_digits: int = MAX_DIGITS) -> None:
    """Raise :class:`Refused` if ``text`` nests deeper than ``max_depth`` or has a longer number."""
    # A first look in C-speed byte operations that also counts brackets and digits inside strings;
    # only a text it flags (rare) is walked token by token, which skips strings and says where.
    if not suspect(text.encode("utf-8", "surrogatepass"), max_depth=max_depth, max_digits=max_digits):
        return
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                raise Refused(
                    f"This JSON is nested more than {max_depth} levels deep (at "
                    f"{_where(text, match.start())}), which is far more than any filter or metric needs. "
                    "Check that it was copied whole and from the right place."
                )
        elif token in "]}":
            depth = max(0, depth - 1)
        elif token[0] != '"' and len(token) > max_digits:
            raise Refused(
                f"A number in this JSON has more than {max_digits} digits (at "
                f"{_where(text, match.start())}). No value in a metric is that long: check that "
                "nothing was pasted twice or run together."
            )


def suspect(data: bytes, *, max_depth: int = MAX_DEPTH, max_digits: int = MAX_DIGITS) -> bool:
    """The first look alone, on UTF-8 bytes: False means surely within both limits; True, maybe not.

    For callers that parse the bytes with another parser and only need to know the limits hold.
    """
    return b"0" * (max_digits + 1) in data.translate(_DIGITS_AS_ZERO) or _may_nest_deeper(data, max_depth)


def _may_nest_deeper(data: bytes, max_depth: int) -> bool:
    """Each pass deletes the innermost ``[]`` pairs, so matched pairs last as many passes as they nest.

    Brackets inside strings are counted too, so this may say yes wrongly (the token walk then decides);
    if it ever said no wrongly, the parser's own recursion guard is still caught in :func:`loads`.
    """
    brackets = data.translate(_ONE_KIND, _NOT_BRACKETS)
    if len(brackets) <= max_depth:
        return False
    for _ in range(max_depth):
        shorter = brackets.replace(b"[]", b"")
        if shorter == brackets:
            return False  # nothing left, or only unmatched brackets, which the parser reports
        brackets = shorter
    return b"[]" in brackets


def loads(
    data: str | bytes,
    *,
    max_depth: int = MAX_DEPTH,
    max_digits: int = MAX_DIGITS,
    max_chars: int = MAX_CHARS,
    parse_constant=None,
) -> object:
    """``json.loads`` behind the limits; see the module docstring for what it raises."""
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Refused("This isn't JSON: it contains characters that aren't text.") from None
    if len(data) > max_chars:
        raise Refused(f"This JSON is too long: more than {max_chars:,} characters.")
    check(data, max_depth=max_depth, max_digits=max_digits)
    try:
        return json.loads(data, parse_constant=parse_constant)
    except json.JSONDecodeError:
        raise
    except RecursionError:  # the scan should have stopped this; kept so no input can escape as a crash
        raise Refused(f"This JSON is nested more than {max_depth} levels deep.") from None
    except ValueError as error:  # e.g. a constant refused by parse_constant
        raise Refused(f"This isn't valid JSON: {error}.") from None
