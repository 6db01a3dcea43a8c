"""Untrusted text (checkpoint metadata, file and folder names, PNG state, messages that quote them) in widgets that
read markup.

Qt guesses whether a label's, a tooltip's or a message box's text is markup (Qt::mightBeRichText: a known tag such
as '<b>' or '<img>', or '&lt;', before the first line break), so a data set named '<b>x</b><img src=y>' would be
drawn bold, with an image. Text that holds such parts is made markup on purpose instead: each untrusted part goes
through `shown_html` (non-printing characters escaped as models.printable does, '<' and '&' as themselves), and
a tooltip's or a message box's whole text through `rich_text`, so that nothing is left to the guess ('&lt;' in a
text Qt took for plain would show as those four characters). A label whose text always holds such parts is set to
Qt.TextFormat.RichText once, and takes shown_html's parts.
"""

from __future__ import annotations

import html

from models.printable import LIMIT, printable


def shown_html(text: object, limit: int | None = LIMIT) -> str:
    """Untrusted text for rich text: non-printing characters escaped, '<', '>' and '&' shown as themselves rather
    than read as markup, cut to `limit` characters."""
    return html.escape(printable(text, limit), quote=False)


def rich_text(*lines: str) -> str:
    """Lines of markup (their untrusted parts already through shown_html) as one text that Qt always takes for
    markup: for tooltips and QMessageBox's static functions, which cannot be told the format."""
    return "<qt>" + "<br>".join(lines) + "</qt>"
