"""The local stand-ins themselves: the SMTP Mailbox and the Slack Web API stand-in."""

from __future__ import annotations

import json
import re
import ssl
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import Clock, SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from standins.mailbox import Mailbox, read_mailbox
from standins.slack_api import SlackStandin, create_slack_standin, slack_signature

BOT_TOKEN = "xoxb-test-token"  # as in conftest's `slack` fixture


def _message(subject: str, to: str = "someone@example.com") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "slaflow@example.com"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(f"body of {subject}")
    return message


# ----- Mailbox -----------------------------------------------------------------------------------


async def test_mailbox_stores_messages_in_arrival_order(tmp_path: Path) -> None:
    directory = tmp_path / "mail"
    with Mailbox(directory, port=0) as mailbox:
        assert mailbox.port != 0
        for n in range(3):
            await aiosmtplib.send(_message(f"m{n}"), hostname="127.0.0.1", port=mailbox.port)
        await aiosmtplib.send(
            _message("bcc"), hostname="127.0.0.1", port=mailbox.port, recipients=["hidden@x.org"]
        )
        subjects = [m["Subject"] for m in mailbox.messages()]

    assert subjects == ["m0", "m1", "m2", "bcc"]
    assert [m["Subject"] for m in read_mailbox(directory)] == subjects
    assert read_mailbox(directory)[3]["X-RcptTo"] == "hidden@x.org"
    files = [p.name for p in directory.iterdir()]
    assert len(files) == 4 and all(name.endswith(".eml") for name in files)


async def test_mailbox_refuses_chosen_recipients_with_550(tmp_path: Path) -> None:
    with Mailbox(tmp_path, port=0, refuse={"Gone@Example.com"}) as mailbox:
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as caught:
            await aiosmtplib.send(
                _message("x", "gone@example.com"), hostname="127.0.0.1", port=mailbox.port
            )
        assert caught.value.recipients[0].code == 550
        assert mailbox.messages() == []


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
async def test_mailbox_starttls_and_auth(
    mechanism: str, tmp_path: Path, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    with Mailbox(tmp_path, port=0, auth=("user", "pw"), tls_context=server_tls) as mailbox:
        client = aiosmtplib.SMTP(
            hostname="127.0.0.1",
            port=mailbox.port,
            start_tls=True,
            tls_context=client_tls,
            timeout=5,
        )
        async with client:
            await client.ehlo()  # STARTTLS forgets the first EHLO; AUTH is offered only now
            assert client.supports_extension("auth")
            assert client.get_transport_info("cipher") is not None  # really encrypted
            login = client.auth_login if mechanism == "LOGIN" else client.auth_plain
            with pytest.raises(aiosmtplib.SMTPAuthenticationError) as caught:
                await login("user", "wrong")  # answered 535, not a hang
            assert caught.value.code == 535
            await login("user", "pw")
            await client.send_message(_message("authenticated"))
        assert [m["Subject"] for m in mailbox.messages()] == ["authenticated"]


async def test_mailbox_requires_starttls_when_given_a_context(
    tmp_path: Path, server_tls: ssl.SSLContext
) -> None:
    with Mailbox(tmp_path, port=0, tls_context=server_tls) as mailbox:
        with pytest.raises(aiosmtplib.SMTPResponseException) as caught:
            await aiosmtplib.send(
                _message("plain"), hostname="127.0.0.1", port=mailbox.port, start_tls=False
            )
        assert caught.value.code == 530
        assert mailbox.messages() == []


# ----- Slack stand-in ----------------------------------------------------------------------------


def _api(slack: SlackStandin, method: str, **kwargs: object) -> httpx.Response:
    return httpx.post(slack.base_url + method, **kwargs)  # type: ignore[arg-type]


def test_slack_accepts_form_and_json_bodies_and_both_token_styles(slack: SlackStandin) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    form = _api(
        slack,
        "chat.postMessage",
        data={"token": BOT_TOKEN, "channel": "#ops", "text": "form", "blocks": json.dumps(blocks)},
    ).json()
    as_json = _api(
        slack,
        "chat.postMessage",
        json={"channel": "#ops", "text": "json", "blocks": blocks},
        headers={"Authorization": f"Bearer {BOT_TOKEN}"},
    ).json()

    assert form["ok"] is True and as_json["ok"] is True
    assert form["channel"] == as_json["channel"] and form["channel"].startswith("C")
    assert re.fullmatch(r"\d{10}\.\d{6}", form["ts"])
    assert float(as_json["ts"]) > float(form["ts"])
    assert form["message"]["blocks"] == blocks == as_json["message"]["blocks"]


def test_slack_auth_errors(slack: SlackStandin) -> None:
    missing = _api(slack, "auth.test")
    wrong = _api(slack, "auth.test", headers={"Authorization": "Bearer xoxb-nope"})
    right = _api(slack, "auth.test", headers={"Authorization": f"Bearer {BOT_TOKEN}"})
    assert (missing.status_code, missing.json()) == (200, {"ok": False, "error": "not_authed"})
    assert (wrong.status_code, wrong.json()) == (200, {"ok": False, "error": "invalid_auth"})
    assert right.json()["ok"] is True and right.json()["user_id"]


def _post(slack: SlackStandin, payload: dict[str, str]) -> httpx.Response:
    return _api(
        slack, "chat.postMessage", json=payload, headers={"Authorization": f"Bearer {BOT_TOKEN}"}
    )


def test_slack_channels_unknown_and_auto_created() -> None:
    app = create_slack_standin("s", BOT_TOKEN, channels=["#known"], auto_create_channels=False)
    with SlackStandin(app=app) as slack:
        known = _post(slack, {"channel": "#known", "text": "a"})
        unknown = _post(slack, {"channel": "#new", "text": "b"})
        assert known.json()["ok"] is True
        assert unknown.json() == {"ok": False, "error": "channel_not_found"}


async def test_slack_sdk_client_round_trip(slack: SlackStandin) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url, retry_handlers=[])
    root = await client.chat_postMessage(channel="#ops", text="root")
    channel = root["channel"]
    reply = await client.chat_postMessage(channel=channel, text="reply", thread_ts=root["ts"])
    updated = await client.chat_update(channel="#ops", ts=root["ts"], text="root, edited")
    ephemeral = await client.chat_postEphemeral(channel="#ops", user="U0LEAD", text="psst")
    user = await client.users_info(user="U0LEAD")

    assert reply["ts"] != root["ts"] and updated["text"] == "root, edited"
    assert ephemeral["message_ts"] and user["user"]["id"] == "U0LEAD"
    with pytest.raises(SlackApiError) as caught:
        await client.chat_update(channel="#ops", ts="1.000001", text="x")
    assert caught.value.response["error"] == "message_not_found"

    async with httpx.AsyncClient(base_url=slack.url) as http:
        messages = (await http.get("/_standin/messages", params={"channel": "#ops"})).json()
        page = (await http.get("/")).text
    assert [(m["text"], m["thread_ts"], m["ephemeral_to"]) for m in messages] == [
        ("root, edited", None, None),
        ("reply", root["ts"], None),
        ("psst", None, "U0LEAD"),
    ]
    assert "#ops" in page and "root, edited" in page and "reply" in page


def test_slack_users_can_be_registered(slack: SlackStandin) -> None:
    httpx.post(
        f"{slack.url}/_standin/users",
        json={"id": "U0ANNA", "name": "anna", "email": "anna@example.com"},
    ).raise_for_status()
    auth = {"Authorization": f"Bearer {BOT_TOKEN}"}
    info = httpx.get(slack.base_url + "users.info", params={"user": "U0ANNA"}, headers=auth)
    assert info.json()["user"]["profile"]["email"] == "anna@example.com"
    missing = httpx.get(slack.base_url + "users.info", params={"user": "nobody"}, headers=auth)
    assert missing.json() == {"ok": False, "error": "user_not_found"}


def test_slack_failure_injection_and_reset(slack: SlackStandin) -> None:
    auth = {"Authorization": f"Bearer {BOT_TOKEN}"}
    post = {"channel": "#ops", "text": "x"}
    fail = f"{slack.url}/_standin/fail"
    httpx.post(fail, json={"method": "chat.postMessage", "error": "ratelimited", "times": 2})
    httpx.post(fail, json={"method": "chat.postMessage", "status": 500, "times": 1})

    limited = [_api(slack, "chat.postMessage", json=post, headers=auth) for _ in range(2)]
    broken = _api(slack, "chat.postMessage", json=post, headers=auth)
    fine = _api(slack, "chat.postMessage", json=post, headers=auth)

    assert [r.status_code for r in limited] == [429, 429]
    assert limited[0].headers["Retry-After"] == "1"
    assert limited[0].json() == {"ok": False, "error": "ratelimited"}
    assert broken.status_code == 500 and broken.json()["ok"] is False
    assert fine.status_code == 200 and fine.json()["ok"] is True

    httpx.post(fail, json={"method": "*", "error": "fatal_error", "times": None})
    assert _api(slack, "auth.test", headers=auth).json()["error"] == "fatal_error"
    assert _api(slack, "auth.test", headers=auth).json()["error"] == "fatal_error"
    httpx.post(f"{slack.url}/_standin/reset").raise_for_status()
    assert _api(slack, "auth.test", headers=auth).json()["ok"] is True
    assert httpx.get(f"{slack.url}/_standin/messages").json() == []


def test_slack_signature_matches_slack_sdk_verifier() -> None:
    body, timestamp = b"payload=%7B%7D", 1_700_000_000
    verifier = SignatureVerifier("secret", clock=_FixedClock(timestamp))
    assert verifier.is_valid(body, str(timestamp), slack_signature("secret", timestamp, body))


class _FixedClock(Clock):
    def __init__(self, now: int) -> None:
        self._now = now

    def now(self) -> float:
        return float(self._now)
