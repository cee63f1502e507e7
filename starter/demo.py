"""`slaflow demo`: a scripted scenario against the running local stack, narrated.

It talks to the stack `slaflow run` started on the same data dir (its record says where the
API is; the development admin token authenticates), through the public HTTP API only, so
everything it does could be typed with curl. It opens tickets of every priority (the two P1
tickets for the demo customers `acme` and `globex`, whose own agreements apply when the stack
runs the demo agreements, and the default agreement otherwise), acknowledges
one, responds to one, pauses one, leaves the P1 tickets alone to warn and escalate, proposes an
amendment and has every signatory sign it, then watches the tickets for a while and says what
changed and where to look (ticket pages, the Slack stand-in, the mailbox, the dashboard).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from slaflow.durations import format_duration
from slaflow.settings import Settings
from starter.dev_token import read_dev_admin_token
from starter.stack_record import read_record

REQUEST_TIMEOUT = 30.0
WATCH_EVERY = 5.0
DEFAULT_CUSTOMER = ("Demo Customer Ltd", None)
ALICE, ARNE = "alice.agent@example.com", "arne.agent@example.com"
"""The demo agreement's agents; the admin token (an integration) acts on their behalf."""
SCENARIO = (
    ("P1", "phone", "Checkout is down for every customer", None, ("acme", None)),
    ("P1", "phone", "Hosting cluster unreachable", None, ("globex", "Hosting")),
    ("P2", "email", "Invoices show the wrong VAT rate", "acknowledge", DEFAULT_CUSTOMER),
    ("P3", "portal", "Password reset mail arrives late", "respond", DEFAULT_CUSTOMER),
    ("P4", "email", "Please add a dark mode to the portal", "pause", DEFAULT_CUSTOMER),
)
"""(priority, channel, subject, what the demo does to it, (customer, service)); None: left
alone to escalate. The P1 tickets belong to the demo customers, so their agreements' different
targets and contacts show side by side (agreements/demo/)."""


class DemoError(RuntimeError):
    """The demo cannot run (no stack, no token) or the stack refused a step."""


@dataclass(frozen=True)
class LocalStack:
    api_url: str
    token: str
    slack_page: str
    mail_dir: str


def locate(settings: Settings) -> LocalStack:
    """The running stack on the settings' data dir, or a DemoError saying how to start one."""
    data_dir = settings.data_dir.resolve()
    record = read_record(data_dir)
    if record is None:
        raise DemoError(
            f"no slaflow is running on {data_dir}; start one in another terminal with "
            "`make run AGREEMENT=demo` (or `slaflow run --agreement demo`), then run this again"
        )
    token = read_dev_admin_token(data_dir)
    if token is None:
        raise DemoError(f"no development admin token in {data_dir}; is this `slaflow run`'s?")
    slack = urlsplit(record.env.get("SLAFLOW_SLACK_BASE_URL", ""))
    page = f"{slack.scheme}://{slack.netloc}/" if slack.netloc else "(Slack is not the stand-in)"
    return LocalStack(record.api_url, token, page, str(data_dir / "mail"))


@dataclass
class Demo:
    stack: LocalStack
    http: httpx.Client
    say: Callable[[str], None] = print
    run_id: str = field(default_factory=lambda: datetime.now(UTC).strftime("%H%M%S"))
    opened: list[str] = field(default_factory=list)

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        answer = self.http.request(method, path, json=body, headers=headers)
        if answer.status_code >= 400:
            try:
                detail = answer.json().get("detail")
            except ValueError:
                detail = answer.text[:200]
            raise DemoError(f"{method} {path} answered {answer.status_code}: {detail}")
        return answer.json()

    def page(self, ticket_id: str) -> str:
        return f"{self.stack.api_url}/tickets/{ticket_id}"

    def open_tickets(self) -> dict[str, str]:
        """Every ticket of the scenario; returns what the demo will do to each."""
        self.say("1. Opening tickets, one or two per priority (POST /tickets):")
        plan = {}
        for number, (priority, channel, subject, action, (customer, service)) in enumerate(
            SCENARIO, start=1
        ):
            ticket_id = f"DEMO-{self.run_id}-{number}"
            body = {
                "ticket_id": ticket_id,
                "customer": customer,
                "subject": subject,
                "priority": priority,
                "channel": channel,
                "requester_email": "ops@customer.example",
            }
            if service is not None:
                body["service"] = service
            view = self.call("POST", "/tickets", body)
            first = next(t for t in view["targets"] if t["kind"] == "first_response")
            agreement = view.get("agreement_id", "default")
            self.say(
                f"   {ticket_id}  {priority} via {channel}: {subject}; first response due in "
                f"{format_duration(timedelta(seconds=round(first['within_seconds'])))} "
                f"({customer}, agreement {agreement})"
            )
            self.opened.append(ticket_id)
            plan[ticket_id] = action or "leave"
        self.say(f"   The agents were paged by mail and in Slack: {self.stack.slack_page}")
        return plan

    def act(self, plan: dict[str, str]) -> None:
        self.say("2. People at work (POST /tickets/{id}/{command}, as the ticket page's buttons):")
        for ticket_id, action in plan.items():
            if action == "acknowledge":
                self.call("POST", f"/tickets/{ticket_id}/acknowledge", {"on_behalf_of": ALICE})
                self.say(
                    f"   {ticket_id}: Alice Agent acknowledged. The paging stops, but the "
                    "first-response clock still runs: acknowledging is not responding."
                )
            elif action == "respond":
                self.call("POST", f"/tickets/{ticket_id}/acknowledge", {"on_behalf_of": ARNE})
                self.call(
                    "POST",
                    f"/tickets/{ticket_id}/respond",
                    {"on_behalf_of": ARNE, "note": "Looking into it"},
                )
                self.say(f"   {ticket_id}: Arne Agent acknowledged and responded: target met.")
            elif action == "pause":
                self.call(
                    "POST",
                    f"/tickets/{ticket_id}/pause",
                    {"on_behalf_of": ALICE, "note": "asked the customer which browser"},
                )
                self.say(f"   {ticket_id}: waiting on the customer; its clocks stand still.")
            else:
                self.say(f"   {ticket_id}: nobody acknowledges; watch it warn and escalate.")
        self.say(f"   Each ticket's page shows its clocks and history: {self.page(self.opened[0])}")

    def amend(self) -> None:
        """Propose a change of the P4 targets and have both parties sign it."""
        self.say("3. Changing the agreement (POST /amendments, then each signatory approves):")
        versions = self.call("GET", "/agreement/versions")
        latest = max(v["number"] for v in versions)
        amendment_id = f"DEMO-{self.run_id}-AMEND"
        signatories = [
            {"name": "Cora Customer", "role": "customer", "email": "cora@customer.example"},
            {"name": "Max Manager", "role": "provider", "email": "max.manager@example.com"},
        ]
        proposal = {
            "amendment_id": amendment_id,
            "proposer": "max.manager@example.com",
            "changes": {"objectives": {"P4": {"first_response": {"within": "8m"}}}},
            "rationale": "Answer low-priority tickets within 8 minutes instead of 10",
            "signatories": signatories,
            "deadline": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "amends_version": latest,
        }
        tokens = {s["email"]: self._token_of(s["email"]) for s in signatories}
        self.call("POST", "/amendments", proposal, token=tokens["max.manager@example.com"])
        self.say(f"   {amendment_id} proposed against version {latest}; the signatories are asked")
        for signatory in signatories:  # each signs as themself, with a token of their own
            view = self._approve(amendment_id, tokens[signatory["email"]])
            self.say(f"   {signatory['name']} signed ({view['status']})")
        committed = self._committed(amendment_id)
        where = f"version {committed} is in force" if committed else "committing it"
        self.say(f"   Signed by everyone: {where} (GET /agreement/versions)")

    def _token_of(self, email: str) -> str:
        """A token of this person's own (POST /tokens, as the admin): who signs is who holds it."""
        name = f"demo-{self.run_id}-{email.split('@')[0]}"
        body = {"name": name, "role": "manager", "person": email}
        return str(self.call("POST", "/tokens", body)["token"])

    def _approve(self, amendment_id: str, token: str) -> Any:
        """Approve once the impact is computed (until then the workflow may refuse)."""
        deadline = time.monotonic() + REQUEST_TIMEOUT
        while True:
            try:
                return self.call("POST", f"/amendments/{amendment_id}/approve", {}, token=token)
            except DemoError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def _committed(self, amendment_id: str) -> int | None:
        deadline = time.monotonic() + REQUEST_TIMEOUT
        while time.monotonic() < deadline:
            view = self.call("GET", f"/amendments/{amendment_id}")
            if view.get("committed_version"):
                return int(view["committed_version"])
            time.sleep(0.5)
        return None

    def watch(self, seconds: float) -> None:
        """Poll the tickets and narrate each change of tier, status or breach."""
        if seconds <= 0:
            return
        self.say(f"4. Watching the tickets for {seconds:g} s (Ctrl-C stops watching):")
        seen: dict[str, tuple[str, str, bool]] = {}
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for ticket_id in self.opened:
                view = self.call("GET", f"/tickets/{ticket_id}")
                now = (view["tier"], view["status"], view["breached"])
                before = seen.get(ticket_id)
                if before is not None and now != before:
                    self.say(f"   {ticket_id}: {_change(before, now)}")
                seen[ticket_id] = now
            time.sleep(min(WATCH_EVERY, max(0.0, end - time.monotonic())))

    def where_to_look(self) -> None:
        api = self.stack.api_url
        self.say("Where to look:")
        self.say(f"  Ticket pages     {self.page(self.opened[0])} (log in with the admin token)")
        self.say(f"  Slack stand-in   {self.stack.slack_page}")
        self.say(f"  Mailbox          `slaflow mail list` ({self.stack.mail_dir})")
        self.say(f"  Dashboard        {api}/dashboard")


def _change(before: tuple[str, str, bool], now: tuple[str, str, bool]) -> str:
    parts = []
    if now[0] != before[0]:
        parts.append(f"escalated to the {now[0].replace('_', ' ')} tier")
    if now[1] != before[1]:
        parts.append(f"now {now[1].replace('_', ' ')}")
    if now[2] and not before[2]:
        parts.append("breached an SLA target")
    return "; ".join(parts)


def run_demo(settings: Settings, *, watch_seconds: float, say: Callable[[str], None]) -> None:
    """The whole scenario; DemoError says what stopped it."""
    stack = locate(settings)
    headers = {"Authorization": f"Bearer {stack.token}"}
    with httpx.Client(base_url=stack.api_url, headers=headers, timeout=REQUEST_TIMEOUT) as http:
        demo = Demo(stack, http, say)
        say(f"slaflow demo against {stack.api_url}")
        try:
            plan = demo.open_tickets()
            demo.act(plan)
            demo.amend()
            demo.watch(watch_seconds)
        except httpx.HTTPError as exc:
            raise DemoError(f"the API at {stack.api_url} did not answer: {exc}") from exc
        demo.where_to_look()
