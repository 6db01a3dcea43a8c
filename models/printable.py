"""Text from files (checkpoint metadata, file names, PNG state) made safe to show to a person.

A data set name or a path read from a checkpoint is untrusted: an ANSI escape can rewrite a terminal's lines,
U+202E (right-to-left override) can make 'gpj.exe' read as 'exe.jpg', a NUL or a newline can cut or forge a
line. `printable` shows every such character as a visible escape instead, repr-style, and leaves the rest
(accents, non-Latin scripts, '…', '×') as they are. Its output contains no character it would escape, so
applying it twice changes nothing.
"""

from __future__ import annotations

import unicodedata

# Control characters, format characters (bidi overrides and isolates, zero-width joiners, the BOM, soft hyphen),
# surrogates, private-use and unassigned code points, and the line and paragraph separators.
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
LIMIT = 2000  # characters shown at most: a 1 MB "data set name" must not fill a label or a terminal


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: object, limit: int | None = LIMIT) -> str:
    """`text` (any object: metadata may hold a number or a list where a name belongs) as one line of visible
    characters, non-printing ones escaped (ESC -> '\\x1b', U+202E -> '\\u202e'), cut to `limit` characters."""
    text = text if isinstance(text, str) else str(text)
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    if text.isprintable():  # the common case, and fast: str.isprintable is false for every character we escape
        return text          # but a few (spaces other than ' ', e.g. U+00A0) that are harmless
    return "".join(_escape(ch) if unicodedata.category(ch) in _HIDDEN else ch for ch in text)


def shows_as_is(text: str) -> bool:
    """Whether `printable` would leave `text` as it is (no character it escapes; any length). Unlike
    str.isprintable, true for the spaces other than ' ' (U+00A0, and U+202F in macOS screenshots' names)."""
    return text.isprintable() or not any(unicodedata.category(ch) in _HIDDEN for ch in text)


def shown_value(value: object, limit: int = 40) -> str:
    """`value` for a message, as Python writes it (text quoted: 'abc'), non-printing characters escaped, at most
    `limit` characters ('...' ends one that was cut). Long text is cut before it is written out, so a megabyte of
    it costs nothing."""
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit]  # its repr is longer than `limit` still, and is cut below
    try:
        text = repr(value)
    except ValueError:  # an int of more digits than Python writes out (4,300)
        text = f"a whole number of {value.bit_length():,} bits" if isinstance(value, int) else "a value"
    text = printable(text[:limit + 1], None)
    return text if len(text) <= limit else text[:limit - 3] + "..."
