/* The managers' dashboard: fetches the JSON routes with the page's own credentials (the
   session cookie, or whatever header the browser sends), draws them with Chart.js, and
   refreshes every `data-refresh-seconds`. Plain script, no framework, no build step.
   window.slaflowDashboard exposes the charts and a refresh counter for tests. */
(() => {
  "use strict";

  const root = document.getElementById("dashboard");
  const form = document.getElementById("filters");
  const refreshEvery = Number(root.dataset.refreshSeconds || 30) * 1000;
  const TIERS = ["agent", "team_lead", "specialist", "management"];
  const TIER_LABEL = { agent: "Agent", team_lead: "Team lead", specialist: "Specialist", management: "Management" };
  const PRIORITIES = ["P1", "P2", "P3", "P4"];
  const COLORS = {
    accent: "#2f5bd3", accentSoft: "rgba(47, 91, 211, 0.15)", teal: "#0f9f95", tealSoft: "rgba(15, 159, 149, 0.15)",
    ok: "#1f8a5b", warn: "#b7791f", bad: "#c53030", muted: "#8a94a3", ink: "#1c2430",
    series: ["#2f5bd3", "#0f9f95", "#dd6b20", "#9f7aea", "#c53030", "#718096", "#d69e2e", "#38a169"],
  };
  const MAX_LISTED = 30;
  const FEW_GROUPS = new Set(["priority", "channel", "tier"]);

  const state = {
    charts: {},
    data: {},
    errors: {},
    refreshes: 0,
    seq: 0,
    paused: false,
    lastRefresh: null,
    nextAt: null,
    cell: null,
    refresh: () => refresh(),
  };
  window.slaflowDashboard = state;

  // ----- helpers ---------------------------------------------------------------------------

  const $ = (sel, el = document) => el.querySelector(sel);

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("data-")) node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function percent(value, digits = 1) {
    return value === null || value === undefined ? "–" : `${(100 * value).toFixed(digits)} %`;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const sign = seconds < 0 ? "−" : "";
    const s = Math.abs(seconds);
    if (s < 90) return `${sign}${Math.round(s)} s`;
    if (s < 90 * 60) return `${sign}${Math.round(s / 60)} min`;
    if (s < 48 * 3600) return `${sign}${(s / 3600).toFixed(1)} h`;
    return `${sign}${(s / 86400).toFixed(1)} d`;
  }

  function countdown(seconds) {
    const sign = seconds < 0 ? "−" : "";
    let s = Math.floor(Math.abs(seconds));
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    const pad = (n) => String(n).padStart(2, "0");
    if (d > 0) return `${sign}${d}d ${pad(h)}h`;
    if (h > 0) return `${sign}${h}h ${pad(m)}m`;
    return `${sign}${m}m ${pad(s)}s`;
  }

  function localTime(iso) {
    if (!iso) return "–";
    const when = new Date(iso);
    const sameDay = when.toDateString() === new Date().toDateString();
    const time = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return sameDay ? time : `${when.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
  }

  function label(value) {
    return TIER_LABEL[value] || String(value).replaceAll("_", " ");
  }

  // A time unit that suits the largest value of a series, so axes read "3.5 h", not "12600".
  function unitFor(maxSeconds) {
    if (maxSeconds >= 2 * 86400) return { name: "days", div: 86400 };
    if (maxSeconds >= 2 * 3600) return { name: "hours", div: 3600 };
    if (maxSeconds >= 120) return { name: "minutes", div: 60 };
    return { name: "seconds", div: 1 };
  }

  /** The filter as the report routes want it: [from, to) in UTC, `to` the day after. */
  function filters() {
    const data = new FormData(form);
    const first = data.get("from");
    const last = data.get("to");
    const next = new Date(`${last}T00:00:00Z`);
    next.setUTCDate(next.getUTCDate() + 1);
    return {
      from: `${first}T00:00:00Z`,
      to: next.toISOString().replace(".000Z", "Z"),
      group_by: data.get("group_by"),
      customer: (data.get("customer") || "").trim(),
      agreement: data.get("agreement") || "",
      firstDay: first,
      lastDay: last,
    };
  }

  class LoadError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  /* Open tickets with a breached target count, so a breach shows while the ticket is open. */
  const COUNTING = "completed_or_breached";

  async function getJSON(path, query = {}) {
    const url = new URL(path, window.location.origin);
    for (const [key, value] of Object.entries(query)) {
      if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, value);
    }
    const answer = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!answer.ok) {
      let detail = `${answer.status} ${answer.statusText}`;
      try {
        const body = await answer.json();
        if (body && body.detail) detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
      } catch (_) {
        /* not JSON: keep the status line */
      }
      throw new LoadError(answer.status, detail);
    }
    return answer.json();
  }

  function showBanner() {
    const banner = $("#banner");
    const failures = Object.entries(state.errors).filter(([, e]) => e);
    const unauthorised = failures.find(([, e]) => e.status === 401);
    banner.replaceChildren();
    if (unauthorised) {
      const next = encodeURIComponent(window.location.pathname + window.location.search);
      banner.append("Your session has ended. ", el("a", { href: `/login?next=${next}`, text: "Log in again" }), ".");
    } else if (failures.length) {
      banner.textContent = failures.map(([what, e]) => `${what}: ${e.message}`).join(" · ");
    }
    banner.hidden = !unauthorised && !failures.length;
  }

  // ----- Chart.js --------------------------------------------------------------------------

  function chartDefaults() {
    Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
    Chart.defaults.color = "#5b6675";
    Chart.defaults.borderColor = "#e9edf2";
    Chart.defaults.animation = false;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.plugins.legend.labels.boxWidth = 12;
    Chart.defaults.plugins.legend.labels.usePointStyle = true;
  }

  /** Create the chart the first time, then only swap its data and options. */
  function draw(id, config) {
    const existing = state.charts[id];
    if (existing) {
      existing.data = config.data;
      existing.options = config.options;
      existing.update("none");
      return existing;
    }
    const chart = new Chart(document.getElementById(id), config);
    state.charts[id] = chart;
    return chart;
  }

  // ----- the live board --------------------------------------------------------------------

  /** Seconds left now on a ticket's most urgent clock, from the board's answer. A clock ticks
   *  in the browser only when its business time left equals the wall-clock time to its
   *  deadline (a 24x7 clock); a business-hours clock shows what it had at the refresh. */
  function ticketLeft(ticket, now) {
    let least = null;
    for (const clock of ticket.clocks || []) {
      if (!["running", "paused", "breached"].includes(clock.status)) continue;
      if (clock.remaining_seconds === null || clock.remaining_seconds === undefined) continue;
      let left = clock.remaining_seconds;
      if (clock.status !== "paused" && clock.deadline) {
        const wall = (Date.parse(clock.deadline) - Date.parse(state.data.board.as_of)) / 1000;
        if (Math.abs(wall - left) < 2) left = (Date.parse(clock.deadline) - now) / 1000;
      }
      least = least === null ? left : Math.min(least, left);
    }
    return least === null ? ticket.time_left_seconds : least;
  }

  /** Each clock not met, as of the last refresh: "response −5 min · resolution 45 min". */
  function clockSummary(ticket) {
    const names = { first_response: "response", resolution: "resolution" };
    return (ticket.clocks || [])
      .filter((c) => ["running", "paused", "breached"].includes(c.status) && c.remaining_seconds !== null)
      .map((c) => `${names[c.kind] || c.kind} ${duration(c.remaining_seconds)}${c.status === "paused" ? " (paused)" : ""}`)
      .join(" · ");
  }

  function leftClass(ticket, left) {
    if (left === null || left === undefined) return "";
    const clocks = ticket.clocks || [];
    if (clocks.length && clocks.every((c) => c.status === "paused" || c.status === "met" || c.status === "met_late")) return "paused";
    if (left < 0 || ticket.breached) return "late";
    if (left < 15 * 60) return "soon";
    return "calm";
  }

  function renderBoard(board) {
    $("#kpi-open .kpi-value").textContent = board.open_tickets + (board.truncated ? "+" : "");
    const breached = $("#kpi-breached");
    breached.querySelector(".kpi-value").textContent = board.breached_tickets;
    breached.classList.toggle("bad", board.breached_tickets > 0);
    breached.classList.toggle("good", board.breached_tickets === 0);
    breached.querySelector(".kpi-note").textContent = board.unanswered
      ? `${board.unanswered} not answering yet` : `as of ${localTime(board.as_of)}`;
    document.title = `${board.breached_tickets ? `(${board.breached_tickets} breached) ` : ""}Service levels · slaflow`;

    const max = Math.max(1, ...board.tiers.flatMap((t) => t.priorities.map((c) => c.count)));
    const body = $("#board-grid tbody");
    body.replaceChildren(
      ...board.tiers.map((tier) =>
        el("tr", {},
          el("th", { scope: "row", text: label(tier.tier) }),
          ...tier.priorities.map((cell) => {
            const selected = state.cell && state.cell.tier === tier.tier && state.cell.priority === cell.priority;
            const td = el("td", {
              class: [cell.count ? "" : "zero", cell.breached ? "has-breach" : "", selected ? "selected" : ""].join(" ").trim(),
              "data-tier": tier.tier,
              "data-priority": cell.priority,
              title: `${label(tier.tier)} · ${cell.priority}: ${cell.count} open, ${cell.breached} breached`,
            },
            el("span", { class: "count", text: cell.count }),
            cell.breached ? el("span", { class: "late", text: `${cell.breached} late` }) : null);
            if (cell.count) {
              td.style.background = `rgba(47, 91, 211, ${0.08 + 0.32 * (cell.count / max)})`;
              td.addEventListener("click", () => {
                state.cell = selected ? null : { tier: tier.tier, priority: cell.priority };
                renderBoard(state.data.board);
              });
            }
            return td;
          })),
      ),
    );
    renderBoardList(board);
  }

  function renderBoardList(board) {
    const cell = state.cell;
    const tickets = cell ? board.tickets.filter((t) => (t.tier || "agent") === cell.tier && (t.priority || "P4") === cell.priority) : board.tickets;
    const filter = $("#board-filter");
    filter.hidden = !cell;
    if (cell) filter.querySelector("span").textContent = `Showing ${label(cell.tier)} · ${cell.priority}`;
    const now = Date.now();
    const rows = tickets.slice(0, MAX_LISTED).map((t) => {
      const left = ticketLeft(t, now);
      return el("tr", { class: t.breached ? "breached" : "", "data-ticket": t.ticket_id },
        el("td", { class: "id", text: t.ticket_id }),
        el("td", {}, t.customer || "–", el("span", { class: "subject", text: t.subject || (t.live ? "" : "not answering yet") })),
        el("td", {}, t.priority ? el("span", { class: `badge ${t.priority}`, text: t.priority }) : "–"),
        el("td", { text: t.tier ? label(t.tier) : "–" }),
        el("td", { text: t.status ? label(t.status) : "–" }),
        el("td", { class: "num" },
          el("span", { class: `left ${leftClass(t, left)}`, text: left === null || left === undefined ? "–" : countdown(left) }),
          el("span", { class: "clocks", text: clockSummary(t) })),
        el("td", { text: localTime(t.next_deadline) }),
      );
    });
    if (!rows.length) rows.push(el("tr", {}, el("td", { colSpan: 7, class: "empty", text: cell ? "No open tickets here." : "No open tickets. All clear." })));
    $("#board-tickets tbody").replaceChildren(...rows);
    const more = $("#board-more");
    more.hidden = tickets.length <= MAX_LISTED;
    more.textContent = `${tickets.length - MAX_LISTED} more not listed (most urgent shown).`;
  }

  function tick() {
    const board = state.data.board;
    if (!board) return;
    const now = Date.now();
    const byId = new Map(board.tickets.map((t) => [t.ticket_id, t]));
    for (const row of document.querySelectorAll("#board-tickets tbody tr[data-ticket]")) {
      const ticket = byId.get(row.dataset.ticket);
      const cell = row.querySelector(".left");
      if (!ticket || !cell) continue;
      const left = ticketLeft(ticket, now);
      if (left === null || left === undefined) continue;
      cell.textContent = countdown(left);
      cell.className = `left ${leftClass(ticket, left)}`;
    }
    if (state.nextAt && !state.paused) {
      const secs = Math.max(0, Math.round((state.nextAt - now) / 1000));
      $("#refresh-status").textContent = `Updated ${state.lastRefresh.toLocaleTimeString()} · next in ${secs} s`;
    }
  }

  // ----- the period's figures --------------------------------------------------------------

  /* `meets` is the server's exact verdict; the 5-point "warn" band is only a shade. */
  function kpi(id, value, objective, meets, note) {
    const box = document.getElementById(id);
    box.querySelector(".kpi-value").textContent = percent(value);
    box.classList.remove("good", "warn", "bad");
    if (value !== null && value !== undefined && objective !== null && objective !== undefined) {
      box.classList.add(meets ? "good" : value >= objective - 0.05 ? "warn" : "bad");
    }
    box.querySelector(".kpi-note").textContent = note;
  }

  function renderSla(report, f) {
    const totals = report.totals;
    $("#counting").textContent = report.counting;
    kpi("kpi-first-response", totals.first_response_compliance, totals.first_response_objective,
      totals.first_response_meets_objective,
      `${totals.first_response_met} of ${totals.first_response_measured}` +
      (totals.first_response_objective !== null ? ` · objective ${percent(totals.first_response_objective, 0)}` : ""));
    kpi("kpi-resolution", totals.resolution_compliance, totals.resolution_objective,
      totals.resolution_meets_objective,
      `${totals.resolution_met} of ${totals.resolution_measured}` +
      (totals.resolution_objective !== null ? ` · objective ${percent(totals.resolution_objective, 0)}` : ""));
    $("#kpi-mtta .kpi-value").textContent = duration(totals.mtta_median_seconds);
    $("#kpi-mtta .kpi-note").textContent = `mean ${duration(totals.mtta_mean_seconds)} · p90 ${duration(totals.mtta_p90_seconds)} · business median ${duration(totals.mtta_business_median_seconds)}`;
    $("#kpi-mttr .kpi-value").textContent = duration(totals.mttr_median_seconds);
    $("#kpi-mttr .kpi-note").textContent = `mean ${duration(totals.mttr_mean_seconds)} · p90 ${duration(totals.mttr_p90_seconds)} · business median ${duration(totals.mttr_business_median_seconds)}`;

    for (const span of document.querySelectorAll(".group-name")) span.textContent = label(f.group_by);
    const groups = report.groups;
    const card = $("#chart-compliance").closest(".card");
    $(".empty-chart", card).hidden = groups.length > 0;
    const pct = (v) => (v === null || v === undefined ? null : Math.round(1000 * v) / 10);
    const objectiveMark = (key, color) => ({
      type: "line",
      label: `${key === "first_response_objective" ? "First response" : "Resolution"} objective`,
      data: groups.map((g) => pct(g[key])),
      showLine: false,
      pointStyle: "line",
      pointRadius: 16,
      pointHoverRadius: 16,
      pointBorderWidth: 3,
      borderColor: color,
      backgroundColor: color,
    });
    draw("chart-compliance", {
      type: "bar",
      data: {
        labels: groups.map((g) => label(g.group_name || g.group)),
        datasets: [
          { label: "First response met", data: groups.map((g) => pct(g.first_response_compliance)), backgroundColor: COLORS.accent, borderRadius: 4, maxBarThickness: 38 },
          { label: "Resolution met", data: groups.map((g) => pct(g.resolution_compliance)), backgroundColor: COLORS.teal, borderRadius: 4, maxBarThickness: 38 },
          objectiveMark("first_response_objective", "#17307a"),
          objectiveMark("resolution_objective", "#0a5c56"),
        ],
      },
      options: {
        scales: { y: { min: 0, max: 100, ticks: { callback: (v) => `${v} %` } }, x: { grid: { display: false } } },
        plugins: {
          tooltip: {
            callbacks: {
              label: (ctx) => `${ctx.dataset.label}: ${ctx.raw === null ? "–" : `${ctx.raw} %`}`,
              afterLabel: (ctx) => {
                const g = groups[ctx.dataIndex];
                if (ctx.datasetIndex === 0) return `${g.first_response_met} of ${g.first_response_measured} tickets`;
                if (ctx.datasetIndex === 1) return `${g.resolution_met} of ${g.resolution_measured} tickets`;
                return "";
              },
            },
          },
        },
      },
    });
  }

  /** One chart of a time figure per week: mean, median and p90 overall, or the mean per
   *  group when the grouping has few groups. */
  function renderTrend(id, report, figure) {
    const grouped = report.series.length > 1 || (report.series[0] && report.series[0].group !== "all");
    const values = [];
    let datasets;
    if (grouped) {
      datasets = report.series.map((s, i) => {
        const data = s.points.map((p) => p.figures[`${figure}_mean_seconds`]);
        values.push(...data);
        const color = COLORS.series[i % COLORS.series.length];
        return { label: label(s.group_name || s.group), data, borderColor: color, backgroundColor: color, tension: 0.25, spanGaps: true, pointRadius: 3 };
      });
    } else {
      const points = report.series[0] ? report.series[0].points : [];
      const line = (stat, name, color, extra = {}) => {
        const data = points.map((p) => p.figures[`${figure}_${stat}_seconds`]);
        values.push(...data);
        return { label: name, data, borderColor: color, backgroundColor: color, tension: 0.25, spanGaps: true, pointRadius: 3, ...extra };
      };
      datasets = [
        line("mean", "Mean", COLORS.accent, { fill: { target: "origin" }, backgroundColor: COLORS.accentSoft }),
        line("median", "Median", COLORS.teal),
        line("p90", "90th percentile", COLORS.muted, { borderDash: [5, 4] }),
      ];
    }
    const unit = unitFor(Math.max(0, ...values.filter((v) => v !== null && v !== undefined)));
    for (const ds of datasets) ds.data = ds.data.map((v) => (v === null || v === undefined ? null : v / unit.div));
    draw(id, {
      type: "line",
      data: { labels: report.weeks, datasets },
      options: {
        interaction: { mode: "index", intersect: false },
        scales: {
          y: { beginAtZero: true, title: { display: true, text: unit.name } },
          x: { grid: { display: false } },
        },
        plugins: {
          tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${ctx.raw === null ? "–" : duration(ctx.raw * unit.div)}` } },
        },
      },
    });
  }

  function renderEscalations(report) {
    const tiers = report.tiers;
    draw("chart-funnel", {
      type: "bar",
      data: {
        labels: tiers.map((t) => label(t.tier)),
        datasets: [
          { label: "Reached", data: tiers.map((t) => t.reached), backgroundColor: ["#9db4f0", "#6d8fe6", "#4169d8", "#17307a"], borderRadius: 4, barPercentage: 0.9, categoryPercentage: 0.8 },
          { label: "Resolved there", data: tiers.map((t) => t.resolved), backgroundColor: COLORS.teal, borderRadius: 4, barPercentage: 0.9, categoryPercentage: 0.8 },
        ],
      },
      options: {
        indexAxis: "y",
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { grid: { display: false } } },
        plugins: { legend: { display: true } },
      },
    });
    $("#funnel-table tbody").replaceChildren(
      ...tiers.map((t) => el("tr", {},
        el("td", { text: label(t.tier) }),
        el("td", { class: "num", text: t.reached }),
        el("td", { class: "num", text: t.resolved }),
        el("td", { class: "num", text: duration(t.ack_median_seconds) }),
      )),
    );
  }

  function renderDeviations(report) {
    const list = $("#deviations");
    if (!report.deviations.length) {
      list.replaceChildren(el("li", { class: "empty", text: "No deviations in this period." }));
      return;
    }
    list.replaceChildren(
      ...report.deviations.map((d) => {
        const why = d.reasons.map((r) => (r === "below_objective" ? "below objective" : "dropped")).join(", ");
        const target = d.target === "first_response" ? "first response" : "resolution";
        const parts = [`${percent(d.compliance)} met (${d.met} of ${d.measured})`];
        if (d.objective !== null) parts.push(`objective ${percent(d.objective, 0)}`);
        if (d.change !== null) parts.push(`${d.change >= 0 ? "+" : "−"}${Math.abs(100 * d.change).toFixed(1)} pp vs previous period`);
        return el("li", { class: d.reasons.join(" ") },
          el("div", { class: "what", text: `${label(d.group_name || d.group)} · ${target}: ${why}` }),
          el("div", { class: "figures", text: parts.join(" · ") }),
          d.ticket_ids.length ? el("div", { class: "ids", text: `Breached: ${d.ticket_ids.join(", ")}` }) : null,
        );
      }),
    );
  }

  function objectiveName(s) {
    const target = s.target === "first_response" ? "first responses" : "resolutions";
    return `${s.agreement ? `${s.agreement}: ` : ""}${s.priority || "All"} ${target} ≥ ${s.percent} %`;
  }

  /** The agreements in view: the one filtered on, else every agreement with objectives. */
  function agreementsInView(data, f) {
    const parts = [data, ...(data.agreements || [])].filter((p) => p.agreement_version);
    return f.agreement ? parts.filter((p) => p.agreement_id === f.agreement) : parts;
  }

  function renderServiceLevels(data, f) {
    const parts = agreementsInView(data, f);
    const named = parts.length > 1;
    const items = parts.flatMap((p) => p.statuses.map((s) => ({ ...s, agreement: named ? p.agreement_id : "" })));
    const list = $("#slo-list");
    const hint = list.closest(".card").querySelector(".hint");
    const open = parts.reduce((n, p) => n + (p.open_breaches || 0), 0);
    const which = parts.map((p) => `${p.agreement_id} v${p.agreement_version}`).join(", ");
    hint.textContent = `Each objective of ${which || "no agreement"} over its current window; the bar is the budget spent.` +
      (open ? ` Counts ${open} open ticket${open === 1 ? "" : "s"} already breached.` : "");
    if (!items.length) {
      list.replaceChildren(el("li", { class: "empty", text: "The agreement in view states no service-level objectives." }));
      return;
    }
    list.replaceChildren(
      ...items.map((s) => {
        const spent = Math.min(100, Math.max(0, s.spent_percent || 0));
        const window = s.window || {};
        const windowLabel = window.kind === "month" ? new Date(window.start).toLocaleDateString([], { month: "long", year: "numeric", timeZone: "UTC" })
          : window.start ? `week of ${window.start.slice(0, 10)}` : "";
        const stateBadge = el("span", { class: `badge ${s.state}`, text: s.state === "exhausted" ? "budget gone" : s.state });
        return el("li", { "data-objective": s.objective, "data-agreement": s.agreement },
          el("div", { class: "slo-head" }, el("span", { class: "slo-name", text: objectiveName(s) }), stateBadge),
          el("div", { class: `budget ${s.state}`, title: `${s.spent_percent} % of the error budget spent` }, Object.assign(el("span"), { style: `width: ${spent}%` })),
          el("div", { class: "slo-meta", text:
            `${windowLabel} · ${s.compliance_percent === null ? "nothing measured yet" : `${s.compliance_percent} % met`} · ` +
            `${s.misses} missed of ${s.measured}, ${s.allowed_misses} allowed · ` +
            (s.spent_percent > 100 ? "budget overspent" : `${s.spent_percent} % of budget spent`) +
            (s.low_volume ? " · few tickets yet" : "") +
            (s.notified && s.notified.length ? ` · management warned (${s.notified.join(", ")})` : "") }),
        );
      }),
    );
  }

  // ----- refresh ---------------------------------------------------------------------------

  async function load(name, seq, promise, render) {
    try {
      const data = await promise;
      if (seq !== state.seq) return; // a later refresh (new filters) has started: its data wins
      state.data[name] = data;
      state.errors[name] = null;
      render(data);
    } catch (error) {
      if (seq !== state.seq) return;
      state.errors[name] = error instanceof LoadError ? error : new LoadError(0, String(error));
      console.error(name, error);
    }
  }

  async function refresh() {
    const seq = ++state.seq;
    const f = filters();
    const trendGroup = FEW_GROUPS.has(f.group_by) ? f.group_by : null;
    const scope = { customer: f.customer, agreement: f.agreement };
    const period = { from: f.from, to: f.to, ...scope };
    const print = $("#print-link");
    print.href = `/reports/print?${new URLSearchParams({ from: f.from, to: f.to, group_by: f.group_by, ...scope })}`;
    await Promise.all([
      load("board", seq, getJSON("/board", scope), renderBoard),
      load("sla", seq, getJSON("/reports/sla", { ...period, group_by: f.group_by, counting: COUNTING }), (r) => renderSla(r, f)),
      load("trends", seq, getJSON("/reports/trends", { ...period, group_by: trendGroup, counting: COUNTING }), (r) => {
        renderTrend("chart-mtta", r, "mtta");
        renderTrend("chart-mttr", r, "mttr");
      }),
      load("escalations", seq, getJSON("/reports/escalations", period), renderEscalations),
      load("deviations", seq, getJSON("/reports/deviations", { ...period, group_by: f.group_by, counting: COUNTING }), renderDeviations),
      load("service levels", seq, getJSON("/reports/service-levels"), (r) => renderServiceLevels(r, f)),
    ]);
    if (seq !== state.seq) return;
    showBanner();
    state.refreshes += 1;
    state.lastRefresh = new Date();
    schedule();
    document.dispatchEvent(new CustomEvent("slaflow:refreshed", { detail: { count: state.refreshes } }));
  }

  function schedule() {
    clearTimeout(state.timer);
    if (state.paused) {
      state.nextAt = null;
      $("#refresh-status").textContent = `Updated ${state.lastRefresh ? state.lastRefresh.toLocaleTimeString() : "–"} · paused`;
      return;
    }
    state.nextAt = Date.now() + refreshEvery;
    state.timer = setTimeout(refresh, refreshEvery);
    tick();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const f = filters();
    if (f.lastDay < f.firstDay) {
      state.errors.filters = new LoadError(422, "to: the last day is before the first day");
      showBanner();
      return;
    }
    state.errors.filters = null;
    const query = new URLSearchParams({ from: f.firstDay, to: f.lastDay, group_by: f.group_by, refresh: refreshEvery / 1000 });
    if (f.customer) query.set("customer", f.customer);
    if (f.agreement) query.set("agreement", f.agreement);
    history.replaceState(null, "", `${window.location.pathname}?${query}`);
    refresh();
  });
  $("select[name=group_by]", form).addEventListener("change", () => form.requestSubmit());
  $("select[name=agreement]", form).addEventListener("change", () => form.requestSubmit());
  $("#board-filter-clear").addEventListener("click", () => {
    state.cell = null;
    renderBoard(state.data.board);
  });
  $("#refresh-toggle").addEventListener("click", (event) => {
    state.paused = !state.paused;
    event.currentTarget.textContent = state.paused ? "Resume" : "Pause";
    if (state.paused) schedule();
    else refresh();
  });

  chartDefaults();
  setInterval(tick, 1000);
  refresh();
})();
