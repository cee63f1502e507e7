"""The Slack stand-in's workspace: kept across restarts in its SQLite file, direct messages
to a user id (chat.postMessage, conversations.open), and a page bounded to one conversation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from standins.slack_api import SlackStandin
from standins.slack_state import StandinState, StoredMessage
from standins.slack_store import StateStore

SECRET, TOKEN = "workspace-secret", "xoxb-workspace"
BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": ":rotating_light: *T-1* down"}},
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": "acknowledge",
                "text": {"type": "plain_text", "text": "Acknowledge"},
                "value": "T-1",
            }
        ],
    },
]


def _standin(path: Path | None) -> SlackStandin:
    return SlackStandin(SECRET, TOKEN, state_path=path)


def _client(standin: SlackStandin) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=standin.base_url)


def _call(standin: SlackStandin, method: str, **args: Any) -> dict[str, Any]:
    answer = httpx.post(
        standin.base_url + method, json=args, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


# ----- the store -----------------------------------------------------------------------------


def test_state_reopened_from_its_file_has_everything_the_workspace_had(tmp_path: Path) -> None:
    path = tmp_path / "slack.sqlite3"
    state = StandinState(store=StateStore(path), initial_channels=("#general",))
    channel = state.add_channel("#sla-p1")
    dm = state.open_im("UAGE1")
    state.add_user("UAGE1", "Alice Agent", "alice@example.com")
    root = state.say(channel, "root")
    reply = state.append(
        StoredMessage(channel, "sla-p1", state.next_ts(), "reply", BLOCKS, "U0SLAFLOW", root.ts)
    )
    reply.text, reply.edited_ts = "reply, edited", state.next_ts()
    state.saved(reply)
    state.record_response({"id": "r1", "seq": 0, "epoch": 1.0, "channel": channel, "body": {}})
    state.record_response({"id": "r1", "seq": 1, "epoch": 2.0, "channel": channel, "body": {}})
    state.store.close()

    again = StandinState(store=StateStore(path), initial_channels=("#general",))
    assert again.channels == state.channels and again.ims == {dm: "UAGE1"}
    assert again.users["UAGE1"]["profile"]["email"] == "alice@example.com"
    assert again.messages == state.messages  # replies, blocks, edits included
    assert [r["seq"] for r in again.responses] == [0, 1]
    assert float(again.next_ts()) > float(reply.edited_ts)  # ts keep rising after a restart
    assert again.resolve_channel("UAGE1") == dm  # the same DM, not a second one


def test_reset_empties_the_file_too(tmp_path: Path) -> None:
    path = tmp_path / "slack.sqlite3"
    state = StandinState(store=StateStore(path), initial_channels=("#general",))
    state.say("#ops", "hello")
    state.reset()
    state.store.close()
    again = StandinState(store=StateStore(path), initial_channels=("#general",))
    assert again.messages == [] and list(again.channels.values()) == ["general"]


def test_without_a_file_nothing_is_kept() -> None:
    StandinState().say("#ops", "gone")
    assert StandinState().messages == []


async def test_restarted_standin_answers_history_and_clicks_on_old_messages(
    tmp_path: Path,
) -> None:
    path = tmp_path / "slack.sqlite3"
    with _standin(path) as first:
        posted = await _client(first).chat_postMessage(channel="#sla-p1", text="T-1", blocks=BLOCKS)
        await _client(first).chat_postMessage(
            channel="#sla-p1", text="escalated", thread_ts=posted["ts"]
        )
    with _standin(path) as second:
        history = await _client(second).conversations_history(channel=posted["channel"])
        thread = await _client(second).conversations_replies(
            channel=posted["channel"], ts=posted["ts"]
        )
        async with httpx.AsyncClient(base_url=second.url) as http:
            click = await http.post(
                "/_standin/click",
                json={"channel": posted["channel"], "ts": posted["ts"], "action_id": "acknowledge"},
            )
    assert [m["ts"] for m in history["messages"]] == [posted["ts"]]
    assert [m["text"] for m in thread["messages"]] == ["T-1", "escalated"]
    # The button still resolves after the restart; no app is wired, so Slack's side says so.
    assert click.status_code == 502 and "no interaction_url" in click.json()["error"]


# ----- direct messages -----------------------------------------------------------------------


async def test_a_user_id_as_channel_posts_to_the_dm() -> None:
    with _standin(None) as standin:
        client = _client(standin)
        posted = await client.chat_postMessage(channel="UAMEND9", text="please sign", blocks=BLOCKS)
        opened = await client.conversations_open(users="UAMEND9")
        full = await client.conversations_open(users="UAMEND9", return_im=True)
        again = await client.chat_postMessage(channel=opened["channel"]["id"], text="reminder")
        history = await client.conversations_history(channel=posted["channel"])
        ims = await client.conversations_list(types="im")
    assert posted["channel"].startswith("D") and opened["channel"] == {"id": posted["channel"]}
    assert full["channel"]["is_im"] is True and full["channel"]["user"] == "UAMEND9"
    assert again["channel"] == posted["channel"]
    assert [m["text"] for m in history["messages"]] == ["reminder", "please sign"]
    assert [c["id"] for c in ims["channels"]] == [posted["channel"]]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({}, "users_list_not_supplied"),
        ({"users": " , "}, "users_list_not_supplied"),
        ({"users": "not-a-user"}, "user_not_found"),
        ({"users": "U1,U2"}, "method_not_supported_for_channel_type"),
        ({"channel": "C0NOTADM"}, "channel_not_found"),
        ({"users": ["U1"]}, "user_not_found"),
        ({"users": "U" + "A" * 5000}, None),
    ],
)
def test_conversations_open_refuses_bad_arguments(args: dict[str, Any], error: str | None) -> None:
    with _standin(None) as standin:
        answer = _call(standin, "conversations.open", **args)
    assert answer["ok"] is (error is None) and answer.get("error") == error


async def test_posting_to_a_dm_that_was_never_opened_is_channel_not_found() -> None:
    with _standin(None) as standin, pytest.raises(SlackApiError) as caught:
        await _client(standin).chat_postMessage(channel="D0NEVEROPENED", text="x")
    assert caught.value.response["error"] == "channel_not_found"


@pytest.mark.parametrize(
    "args",
    [
        {"channel": "#ops", "limit": "many"},
        {"channel": "#ops", "limit": "-5"},
        {"channel": "#ops", "oldest": "yesterday"},
        {"channel": "#ops", "cursor": "%%%"},
        {"channel": "#ops", "limit": "99999999999999999999"},
    ],
)
def test_history_with_hostile_arguments_answers_slack_errors_not_500(args: dict[str, Any]) -> None:
    with _standin(None) as standin:
        answer = httpx.post(
            standin.base_url + "conversations.history",
            data=args,
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert answer.status_code == 200
    assert answer.json()["ok"] is True or answer.json()["error"] in (
        "invalid_arguments",
        "invalid_cursor",
    )


# ----- the page ------------------------------------------------------------------------------


def test_page_shows_one_conversation_and_only_its_latest_messages() -> None:
    with _standin(None) as standin:
        for n in range(60):
            _call(standin, "chat.postMessage", channel="#busy", text=f"message number {n}")
        _call(standin, "chat.postMessage", channel="#quiet", text="the quiet one")
        _call(standin, "chat.postMessage", channel="UAGE1", text="a direct message")
        standin.add_user("UAGE1", "Alice Agent")
        busy = standin.state.resolve_channel("#busy")
        page = httpx.get(standin.url + "/", params={"channel": "#busy"}).text
        more = httpx.get(standin.url + "/", params={"channel": busy, "limit": "100"}).text
        latest = httpx.get(standin.url + "/").text
    assert "message number 59" in page and "message number 10<" in page
    assert "message number 9<" not in page and "Show older messages (10)" in page
    assert "message number 0<" in more and "Show older" not in more
    assert "the quiet one" not in page and ">#</span>quiet" in page  # in the sidebar only
    assert "Alice Agent" in latest and "a direct message" in latest  # newest: the DM


@pytest.mark.parametrize(
    "params",
    [
        {"channel": "<script>alert(1)</script>"},
        {"channel": "C" * 10_000},
        {"channel": "U0NOBODY"},
        {"limit": "-1"},
        {"limit": "lots"},
        {"limit": "1e99"},
        {"channel": "", "limit": ""},
    ],
)
def test_page_with_hostile_query_is_a_page(params: dict[str, str]) -> None:
    with _standin(None) as standin:
        _call(standin, "chat.postMessage", channel="#ops", text="hello")
        answer = httpx.get(standin.url + "/", params=params)
        channels = dict(standin.state.channels)
    assert answer.status_code == 200 and "<script>alert" not in answer.text
    assert list(channels.values()) == ["ops"]  # looking creates nothing


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_standin/close", {"view_id": "V0NONE"}),
        ("/_standin/close", "not json"),
        ("/_standin/click", "{"),
        ("/_standin/submit", "[1, 2"),
        ("/_standin/users", {"name": "no id"}),
        ("/_standin/users", {"id": ["U1"]}),
    ],
)
def test_control_routes_refuse_bad_bodies_with_4xx(path: str, body: Any) -> None:
    with _standin(None) as standin:
        if isinstance(body, str):
            answer = httpx.post(
                standin.url + path, content=body, headers={"content-type": "application/json"}
            )
        else:
            answer = httpx.post(standin.url + path, json=body)
        users = dict(standin.state.users)
    assert 400 <= answer.status_code < 500, answer.text
    assert users == {}
