// The Slack stand-in's page: clicks, modals and /sla as a person in Slack would, the
// "Click as" choice and open threads kept across reloads, times in the viewer's zone, and a
// reload when the workspace changes (unless someone is typing).
"use strict";

const CLICKER_KEY = "slaflow-standin-click-as";
const THREADS_KEY = "slaflow-standin-open-threads";
const clickerInput = document.getElementById("as-user");
const outcome = document.getElementById("outcome");

const remembered = localStorage.getItem(CLICKER_KEY);
if (remembered) clickerInput.value = remembered;
const clicker = () => clickerInput.value.trim();
// Ephemeral messages and answers to clicks show only to the person they were for, as in Slack.
const showOnlyTheirs = () => document.querySelectorAll("[data-for]").forEach((message) => {
  message.hidden = message.dataset.for !== clicker();
});
showOnlyTheirs();
clickerInput.addEventListener("input", () => {
  localStorage.setItem(CLICKER_KEY, clicker());
  showOnlyTheirs();
});

async function send(path, body) {
  outcome.textContent = "sending…";
  let answer;
  try {
    answer = await (await fetch(path, {
      method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(body),
    })).json();
  } catch (error) {
    outcome.textContent = `the stand-in did not answer: ${error}`;
    return;
  }
  outcome.textContent = answer.ok ? `the app answered HTTP ${answer.status}` : answer.error;
  setTimeout(() => location.reload(), 1000);  // the app answers the clicker a moment later
}

document.querySelectorAll(".actions button[data-action]").forEach((button) =>
  button.addEventListener("click", () => {
    button.disabled = true;
    send("/_standin/click", {
      channel: button.dataset.channel, ts: button.dataset.ts,
      action_id: button.dataset.action, user: clicker(),
    });
  }));

document.querySelectorAll("form.modal").forEach((form) => {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = {};
    for (const [name, value] of new FormData(form)) {
      const [block, action] = name.split("/");
      (values[block] ??= {})[action] = value;
    }
    send("/_standin/submit", {view_id: form.dataset.view, values, user: clicker()});
  });
  form.querySelector(".cancel").addEventListener("click", () =>
    send("/_standin/close", {view_id: form.dataset.view}));
});

const run = document.getElementById("sla-run");
if (run) run.addEventListener("click", () => send("/_standin/command", {
  command: "/sla", text: document.getElementById("sla-text").value, user: clicker(),
  channel: document.body.dataset.channel || "#general",  // the answer shows where you typed
}));

// Threads stay open across reloads.
const openThreads = new Set(JSON.parse(localStorage.getItem(THREADS_KEY) || "[]"));
document.querySelectorAll("details.thread").forEach((thread) => {
  if (openThreads.has(thread.dataset.thread)) thread.open = true;
  thread.addEventListener("toggle", () => {
    if (thread.open) openThreads.add(thread.dataset.thread);
    else openThreads.delete(thread.dataset.thread);
    localStorage.setItem(THREADS_KEY, JSON.stringify([...openThreads].slice(-200)));
  });
});

// Times in the viewer's own zone (the server writes UTC).
const clock = new Intl.DateTimeFormat(undefined, {hour: "2-digit", minute: "2-digit"});
const full = new Intl.DateTimeFormat(undefined, {dateStyle: "full", timeStyle: "short"});
document.querySelectorAll("time[datetime]").forEach((time) => {
  const at = new Date(time.getAttribute("datetime"));
  if (!Number.isNaN(at.getTime())) {
    time.textContent = clock.format(at);
    time.title = full.format(at);
  }
});
document.querySelectorAll("time[data-epoch]").forEach((time) => {
  const epoch = Number(time.dataset.epoch);
  if (epoch) time.title = full.format(new Date(epoch * 1000));
});

// Newest at the bottom, as in Slack.
const pane = document.getElementById("messages");
pane.scrollTop = pane.scrollHeight;

// Live: reload when the workspace changed, unless a modal is open, someone types, or the
// reader has scrolled up to older messages (then say so instead of moving the page).
const revision = document.body.dataset.revision;
const atBottom = () => pane.scrollHeight - pane.scrollTop - pane.clientHeight < 80;
setInterval(async () => {
  if (document.querySelector(".modal") || document.activeElement?.matches("input, textarea")) {
    return;
  }
  try {
    const now = await (await fetch("/_standin/revision")).json();
    if (String(now.revision) === revision) return;
    if (atBottom()) location.reload();
    else outcome.textContent = "New activity: reload the page (or scroll down) to see it.";
  } catch (error) {
    // the stand-in is restarting; try again next time
  }
}, 2000);
pane.addEventListener("scroll", () => {
  if (atBottom() && outcome.textContent.startsWith("New activity")) location.reload();
});
