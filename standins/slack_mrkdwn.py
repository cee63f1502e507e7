"""Slack's mrkdwn as safe HTML, the way the Slack client shows it.

*bold*, _italic_, ~strike~, `code`, ```preformatted```, "> " quotes, line breaks, :emoji:,
and the angle-bracket tokens: <@U..> and <#C..> mentions (named from the workspace), <!here>,
<!date^..|fallback>, <url> and <url|label> links (http, https and mailto only). Everything
else is escaped: the text comes from the app under test and must never become markup.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from standins.slack_emoji import emojize

__all__ = ["Names", "mrkdwn", "plain"]


@dataclass(frozen=True)
class Names:
    """Who and what ids stand for: user id -> display name, channel id -> name."""

    users: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)


_CODE = re.compile(r"```(.+?)```|`([^`\n]+)`", re.S)
_ANGLE = re.compile(r"<([^<>\n]{1,2000})>")
_PLACEHOLDER = re.compile("\x00(\\d+)\x00")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_STYLES = (
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])"), "strong"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])"), "em"),
    (re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])"), "del"),
)


def _unescape(text: str) -> str:
    """Slack escapes only &, < and > in message text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _token(inner: str, names: Names) -> Markup:
    """One <...> token as HTML."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        user = target[1:]
        shown = label or names.users.get(user) or user
        return Markup('<span class="mention" data-user="{}">@{}</span>').format(user, shown)
    if target.startswith("#"):
        channel = target[1:]
        shown = label or names.channels.get(channel) or channel
        return Markup('<span class="mention channel">#{}</span>').format(shown)
    if target.startswith("!date^"):
        parts = target.split("^")
        stamp = parts[1] if len(parts) > 1 and parts[1].isdigit() else ""
        return Markup('<time data-epoch="{}">{}</time>').format(stamp, _unescape(label))
    if target.startswith("!"):
        special = target[1:].split("^")[0]
        shown = label or f"@{special}"
        return Markup('<span class="mention">@{}</span>').format(shown.lstrip("@"))
    url = _unescape(target)
    if url.lower().startswith(_SAFE_SCHEMES):
        return Markup('<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>').format(
            url, _unescape(label) or url
        )
    return Markup("{}").format(_unescape(label) or url)


def _inline(text: str, names: Names) -> Markup:
    """Text without code: tokens, escaping, emoji, bold/italic/strike, quotes, line breaks."""
    tokens: list[Markup] = []

    def keep(match: re.Match[str]) -> str:
        tokens.append(_token(match[1], names))
        return f"\x00{len(tokens) - 1}\x00"

    marked = _ANGLE.sub(keep, text)
    escaped = str(escape(emojize(_unescape(marked))))
    for pattern, tag in _STYLES:
        escaped = pattern.sub(rf"<{tag}>\1</{tag}>", escaped)
    lines = []
    for line in escaped.split("\n"):
        if line.startswith("&gt; ") or line == "&gt;":
            line = f"<blockquote>{line[5:]}</blockquote>"
        lines.append(line)
    joined = "<br>".join(lines).replace("</blockquote><br>", "</blockquote>")
    return Markup(_PLACEHOLDER.sub(lambda m: str(tokens[int(m[1])]), joined))


def mrkdwn(text: str, names: Names | None = None) -> Markup:
    """`text` (Slack mrkdwn) as HTML safe to put in a page."""
    names = names or Names()
    out: list[str] = []
    position = 0
    for match in _CODE.finditer(text):
        out.append(_inline(text[position : match.start()], names))
        if match[1] is not None:
            out.append(Markup("<pre>{}</pre>").format(_unescape(match[1].strip("\n"))))
        else:
            out.append(Markup("<code>{}</code>").format(_unescape(match[2])))
        position = match.end()
    out.append(_inline(text[position:], names))
    return Markup("").join(out)


def plain(text: str, emoji: bool = True) -> Markup:
    """A plain_text object's text: escaped, with emoji unless the object says not to."""
    return escape(emojize(text) if emoji else text)
