"""The stand-in's page at ``/``: the workspace as the Slack client shows it.

A sidebar of channels and direct messages; one conversation at a time (``?channel=``), its
latest messages only (``?limit=``, 50 by default, "Show older" adds more), each with its
thread folded underneath; Block Kit and mrkdwn rendered; the app's answers to a person's
clicks shown to them inline, as Slack's "Only visible to you" messages; open modals on top.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from standins.slack_blocks import blocks_html, modal_inputs, text_html
from standins.slack_mrkdwn import Names, mrkdwn
from standins.slack_state import BOT_USER_ID, DEFAULT_CLICKER, StandinState, StoredMessage

__all__ = ["DEFAULT_LIMIT", "router"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 5000
HEADERS = {
    "Cache-Control": "no-store",
    # The page's own script and stylesheet only: nothing the app posts can run or load.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'",
}
_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True
)


@dataclass
class Entry:
    """One message (or an answer to a click) as the page shows it."""

    ts: str
    epoch: float
    sender: str
    is_app: bool
    body: Markup
    channel: str
    edited: bool = False
    only_for: str | None = None
    only_for_id: str | None = None
    answer: bool = False
    replies: list[Entry] = field(default_factory=list)

    @property
    def iso(self) -> str:
        return datetime.fromtimestamp(self.epoch, UTC).isoformat()

    @property
    def clock(self) -> str:
        return datetime.fromtimestamp(self.epoch, UTC).strftime("%H:%M")

    @property
    def day(self) -> str:
        return datetime.fromtimestamp(self.epoch, UTC).strftime("%A, %-d %B %Y")


def _names(state: StandinState) -> Names:
    with state.lock:
        users = {uid: state.display_name(uid) for uid in state.known_user_ids()}
        channels = {cid: name for cid, name in state.channels.items() if cid not in state.ims}
    return Names(users=users, channels=channels)


def _entry(state: StandinState, message: StoredMessage, names: Names) -> Entry:
    if isinstance(message.blocks, list) and message.blocks:
        body = blocks_html(message.blocks, names, message.channel, message.ts)
    else:
        body = mrkdwn(message.text, names)
    only = state.display_name(message.ephemeral_to) if message.ephemeral_to else None
    return Entry(
        ts=message.ts,
        epoch=float(message.ts),
        sender=state.display_name(message.user),
        is_app=message.user == BOT_USER_ID,
        body=body,
        channel=message.channel,
        edited=message.edited_ts is not None,
        only_for=only,
        only_for_id=message.ephemeral_to,
    )


def _answer(state: StandinState, response: dict[str, Any], names: Names) -> Entry:
    given = response.get("body")
    body: dict[str, Any] = given if isinstance(given, dict) else {}
    blocks = body.get("blocks")
    shown = blocks_html(blocks, names) if isinstance(blocks, list) and blocks else Markup("")
    return Entry(
        ts=f"{float(response.get('epoch') or 0):.6f}",
        epoch=float(response.get("epoch") or 0),
        sender="slaflow",
        is_app=True,
        body=shown or mrkdwn(str(body.get("text") or ""), names),
        channel=str(response.get("channel") or ""),
        only_for=state.display_name(str(response.get("user") or "")),
        only_for_id=str(response.get("user") or ""),
        answer=True,
    )


def _timeline(state: StandinState, channel_id: str, names: Names) -> list[Entry]:
    """The conversation's top-level messages and answers, oldest first, threads attached."""
    with state.lock:
        messages = [m for m in state.messages if m.channel == channel_id]
        responses = [r for r in state.responses if r.get("channel") == channel_id]
    roots = {m.ts: _entry(state, m, names) for m in messages if m.thread_ts in (None, m.ts)}
    entries = list(roots.values())
    for message in messages:
        if message.thread_ts in (None, message.ts):
            continue
        parent = roots.get(message.thread_ts)
        reply = _entry(state, message, names)
        (parent.replies if parent is not None else entries).append(reply)
    entries += [_answer(state, r, names) for r in responses]
    return sorted(entries, key=lambda e: e.epoch)


def _conversations(state: StandinState, selected: str) -> dict[str, list[dict[str, Any]]]:
    with state.lock:
        counts: dict[str, int] = {}
        for message in state.messages:
            counts[message.channel] = counts.get(message.channel, 0) + 1
        channels = [
            {"id": cid, "name": name, "count": counts.get(cid, 0), "active": cid == selected}
            for cid, name in sorted(state.channels.items(), key=lambda item: item[1])
            if cid not in state.ims
        ]
        dms = [
            {
                "id": cid,
                "name": state.display_name(user),
                "count": counts.get(cid, 0),
                "active": cid == selected,
            }
            for cid, user in sorted(state.ims.items(), key=lambda item: state.display_name(item[1]))
        ]
    return {"channels": channels, "dms": dms}


def _selected(state: StandinState, wanted: str | None) -> str | None:
    """The conversation asked for, else the one with the latest message, else the first."""
    with state.lock:
        if wanted:
            found = state.resolve_channel(wanted, create=False)
            if found is not None:
                return found
        if state.messages:
            return max(state.messages, key=lambda m: float(m.ts)).channel
        return next(iter(sorted(state.channels, key=lambda c: state.channels[c])), None)


def _limit(raw: str | None) -> int:
    try:
        return min(max(int(raw or DEFAULT_LIMIT), 1), MAX_LIMIT)
    except ValueError:
        return DEFAULT_LIMIT


def _modals(state: StandinState, names: Names) -> list[dict[str, Any]]:
    with state.lock:
        views = [dict(v) for v in state.views.values() if v.get("open")]
    return [
        {
            "id": v["id"],
            "title": text_html(v.get("title"), names),
            "submit": text_html(v.get("submit"), names) or "Submit",
            "close": text_html(v.get("close"), names) or "Cancel",
            "user": state.display_name(str(v.get("user") or "")),
            "body": blocks_html(v.get("blocks"), names),
            "inputs": modal_inputs(v),
            "errors": v.get("errors") or {},
        }
        for v in views
    ]


router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def page(
    request: Request, channel: str | None = None, limit: str | None = None
) -> HTMLResponse:
    state: StandinState = request.app.state.standin
    names = _names(state)
    selected = _selected(state, channel)
    shown = _limit(limit)
    timeline = _timeline(state, selected, names) if selected else []
    older = max(len(timeline) - shown, 0)
    with state.lock:
        title = (
            state.display_name(state.ims[selected])
            if selected in state.ims
            else f"#{state.channels[selected]}"
            if selected
            else "no channels yet"
        )
        revision = state.revision
    users = [{"id": uid, "name": names.users.get(uid, uid)} for uid in names.users]
    html = _templates.get_template("slack_page.html").render(
        conversations=_conversations(state, selected or ""),
        selected=selected,
        title=title,
        is_dm=selected in state.ims if selected else False,
        timeline=timeline[older:],
        older=older,
        limit=shown,
        more=shown + DEFAULT_LIMIT,
        users=users,
        default_user=users[0]["id"] if users else DEFAULT_CLICKER,
        modals=_modals(state, names),
        interaction_url=request.app.state.interaction_url,
        command_url=request.app.state.command_url,
        revision=revision,
    )
    return HTMLResponse(html, headers=HEADERS)
