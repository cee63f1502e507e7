"""Block Kit as HTML, the way the Slack client lays it out, for the stand-in's page.

Headers, sections (text, fields two to a row, an accessory button), context lines, dividers,
actions (buttons a person can click), images as their alt text (the page loads nothing from
elsewhere); an unknown block shows its type. `buttons` lists what a click may name.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from standins.slack_mrkdwn import Names, mrkdwn, plain

__all__ = ["blocks_html", "buttons", "modal_inputs", "text_html"]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def text_html(obj: Any, names: Names) -> Markup:
    """A text object (mrkdwn or plain_text) as HTML."""
    obj = _dict(obj)
    text = str(obj.get("text") or "")
    if obj.get("type") == "mrkdwn":
        return mrkdwn(text, names)
    return plain(text, emoji=obj.get("emoji", True) is not False)


def _button(element: dict[str, Any], block_id: str, where: tuple[str, str]) -> Markup:
    channel, ts = where
    style = str(element.get("style") or "")
    return Markup(
        '<button type="button" class="sk-button {}" data-channel="{}" data-ts="{}"'
        ' data-action="{}" data-block="{}">{}</button>'
    ).format(
        style,
        channel,
        ts,
        str(element.get("action_id") or ""),
        block_id,
        plain(str(_dict(element.get("text")).get("text") or "")),
    )


def _element(element: Any, block_id: str, names: Names, where: tuple[str, str]) -> Markup:
    element = _dict(element)
    kind = element.get("type")
    if kind == "button":
        return _button(element, block_id, where)
    if kind == "image":
        return Markup('<span class="sk-image" title="image">{}</span>').format(
            str(element.get("alt_text") or "image")
        )
    if kind in ("mrkdwn", "plain_text"):
        return text_html(element, names)
    placeholder = text_html(element.get("placeholder"), names) or kind
    return Markup('<span class="sk-control" title="{}">{}</span>').format(kind, placeholder)


def _section(block: dict[str, Any], names: Names, where: tuple[str, str]) -> Markup:
    parts = [Markup('<div class="sk-section"><div class="sk-section-body">')]
    if block.get("text"):
        text = text_html(block["text"], names)
        parts.append(Markup('<div class="sk-text">{}</div>').format(text))
    fields = _list(block.get("fields"))
    if fields:
        cells = Markup("").join(
            Markup('<div class="sk-field">{}</div>').format(text_html(f, names)) for f in fields
        )
        parts.append(Markup('<div class="sk-fields">{}</div>').format(cells))
    parts.append(Markup("</div>"))
    if block.get("accessory"):
        accessory = _element(block["accessory"], str(block.get("block_id") or ""), names, where)
        parts.append(Markup('<div class="sk-accessory actions">{}</div>').format(accessory))
    parts.append(Markup("</div>"))
    return Markup("").join(parts)


def _rich_text(block: dict[str, Any]) -> str:
    """The words of a rich_text block, flattened (styles dropped)."""
    words: list[str] = []

    def walk(node: Any) -> None:
        for item in _list(node):
            item = _dict(item)
            if item.get("type") in ("text", "link"):
                words.append(str(item.get("text") or item.get("url") or ""))
            walk(item.get("elements"))

    walk(block.get("elements"))
    return "".join(words)


def _block(block: Any, names: Names, where: tuple[str, str]) -> Markup:
    block = _dict(block)
    kind = block.get("type")
    block_id = str(block.get("block_id") or "")
    if kind == "header":
        return Markup('<div class="sk-header">{}</div>').format(text_html(block.get("text"), names))
    if kind == "section":
        return _section(block, names, where)
    if kind == "context":
        items = Markup("").join(
            Markup("<span>{}</span>").format(_element(e, block_id, names, where))
            for e in _list(block.get("elements"))
        )
        return Markup('<div class="sk-context">{}</div>').format(items)
    if kind == "divider":
        return Markup('<hr class="sk-divider">')
    if kind == "actions":
        items = Markup("").join(
            _element(e, block_id, names, where) for e in _list(block.get("elements"))
        )
        return Markup('<div class="actions sk-actions">{}</div>').format(items)
    if kind == "image":
        return Markup('<div class="sk-image-block">{}</div>').format(
            _element({**block, "type": "image"}, block_id, names, where)
        )
    if kind == "rich_text":
        return Markup('<div class="sk-text">{}</div>').format(mrkdwn(_rich_text(block), names))
    if kind == "input":
        return Markup("")  # modals render their inputs as form fields
    return Markup('<div class="sk-unknown">[{} block]</div>').format(kind)


def blocks_html(blocks: Any, names: Names, channel: str = "", ts: str = "") -> Markup:
    """A message's (or a modal's) blocks as HTML; buttons carry `channel` and `ts`."""
    return Markup("").join(_block(b, names, (channel, ts)) for b in _list(blocks))


def buttons(blocks: Any) -> list[dict[str, Any]]:
    """The buttons of a message (actions blocks and section accessories), for clicks."""
    found: list[dict[str, Any]] = []
    for block in _list(blocks):
        block = _dict(block)
        elements = _list(block.get("elements")) if block.get("type") == "actions" else []
        if block.get("type") == "section" and block.get("accessory"):
            elements = [block["accessory"]]
        for element in elements:
            if _dict(element).get("type") == "button":
                found.append(
                    {
                        "action_id": element.get("action_id", ""),
                        "label": _dict(element.get("text")).get("text", ""),
                        "style": element.get("style", ""),
                        "value": element.get("value", ""),
                        "block_id": block.get("block_id", ""),
                        "element": element,
                    }
                )
    return found


def modal_inputs(view: dict[str, Any]) -> list[dict[str, Any]]:
    """The plain-text inputs of a modal: the page's form fields, what a submission fills."""
    found: list[dict[str, Any]] = []
    for block in _list(view.get("blocks")):
        block = _dict(block)
        element = _dict(block.get("element"))
        if block.get("type") == "input" and element.get("type") == "plain_text_input":
            found.append(
                {
                    "block_id": block.get("block_id", ""),
                    "action_id": element.get("action_id", ""),
                    "label": _dict(block.get("label")).get("text", ""),
                    "optional": bool(block.get("optional")),
                    "multiline": bool(element.get("multiline")),
                }
            )
    return found
