// Sluice dashboard: a page per hash route, each drawn from /api/v1 with the
// key kept in this tab's sessionStorage, and redrawn every few seconds.
"use strict";

const REFRESH_MS = 5000;
const state = { key: sessionStorage.getItem("sluice.key") || "", operator: false, tenant: "",
                timer: null, page: "", range: "24h", charts: [] };

// ---- small helpers ----
const $ = (sel, root = document) => root.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

const fmtInt = (n) => (n ?? 0).toLocaleString("en-US");
const pct = (a, b) => (b > 0 ? (100 * a / b).toFixed(2) + "%" : "–");
const when = (t) => (t ? new Date(t).toLocaleString() : "–");

function table(headers, rows, opts = {}) {
  const head = el("tr", {}, headers.map((h, i) =>
    el("th", { scope: "col", class: opts.num && opts.num.includes(i) ? "num" : null, text: h })));
  const body = rows.length
    ? rows.map((r) => el("tr", {}, r.map((c, i) =>
        el("td", { class: opts.num && opts.num.includes(i) ? "num" : (opts.wrap ? "wrap" : null) },
           c))))
    : [el("tr", {}, el("td", { colspan: headers.length, class: "muted", text: opts.empty || "None." }))];
  return el("table", {}, opts.caption ? el("caption", { class: "muted", text: opts.caption }) : null,
            el("thead", {}, head), el("tbody", {}, body));
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, opts = {}) {
  const r = await fetch(path, {
    signal: AbortSignal.timeout(15000),
    method: opts.method || "GET",
    headers: Object.assign({ Authorization: "Bearer " + state.key },
                           opts.body ? { "Content-Type": "application/json" } : {}),
    body: opts.body ? JSON.stringify(opts.body) : undefined,
    cache: "no-store",
  });
  let body = null;
  try { body = await r.json(); } catch (_) { /* empty */ }
  if (r.status === 401) { logout("The key is no longer valid."); throw new ApiError(401, "unauthorized"); }
  if (!r.ok) throw new ApiError(r.status, body && body.error ? body.error.message : r.statusText);
  return body;
}

// What a redraw reads: given up (StaleError) once a newer redraw started,
// so a slow answer never draws over a newer page.
class StaleError extends Error {}
let drawing = 0;

async function load(path) {
  const mine = drawing;
  const body = await api(path);
  if (mine !== drawing) throw new StaleError("superseded");
  return body;
}

function stamp(ok, text) {
  const u = $("#updated");
  u.textContent = text;
  u.className = ok ? "muted" : "error";
}

// ---- log in / out ----
async function login(key) {
  state.key = key;
  const me = await api("/api/v1/me");
  state.operator = me.operator;
  state.tenant = me.tenant || "";
  sessionStorage.setItem("sluice.key", key);
}

function logout(why) {
  sessionStorage.removeItem("sluice.key");
  state.key = "";
  clearInterval(state.timer);
  showLogin(why || "");
}

function showLogin(message) {
  $("#nav").hidden = true;
  $("#logout").hidden = true;
  $("#who").textContent = "";
  $("#page").replaceChildren();
  $("#login").hidden = false;
  $("#login-error").textContent = message;
  $("#key").focus();
}

// ---- time ranges and charts ----
const RANGES = { "1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };

function rangeQuery(extra = {}) {
  const secs = RANGES[state.range];
  const to = new Date(Date.now() + 60e3);
  const from = new Date(to.getTime() - secs * 1000);
  const iso = (d) => d.toISOString().slice(0, 19) + "Z";
  const q = new URLSearchParams(Object.assign({ from: iso(from), to: iso(to) }, extra));
  if (state.filterCampaign) q.set("campaign", state.filterCampaign);
  if (state.operator && state.filterTenant) q.set("tenant", state.filterTenant);
  return "/api/v1/stats?" + q.toString();
}

function rangeControls(onChange) {
  const select = el("select", { id: "range", onchange: (e) => { state.range = e.target.value; onChange(); } },
    Object.keys(RANGES).map((r) => el("option", { value: r, selected: r === state.range, text: "last " + r })));
  const campaign = el("input", { id: "filter-campaign", placeholder: "all", value: state.filterCampaign || "",
                                 onchange: (e) => { state.filterCampaign = e.target.value.trim(); onChange(); } });
  const parts = [el("label", {}, "Range", select), el("label", {}, "Campaign", campaign)];
  if (state.operator) {
    parts.push(el("label", {}, "Tenant", el("input", {
      id: "filter-tenant", placeholder: "all", value: state.filterTenant || "",
      onchange: (e) => { state.filterTenant = e.target.value.trim(); onChange(); } })));
  }
  return el("div", { class: "controls" }, parts);
}

const COLORS = ["#1a7f37", "#9a6700", "#b42318", "#0b5cad", "#8250df", "#57606a"];

function chart(container, answer, metrics, title) {
  const series = answer.series[0];
  const xs = answer.buckets.map((b) => Date.parse(b) / 1000);
  const data = [xs, ...metrics.map((m) => (series ? series.values[m] : xs.map(() => 0)))];
  const width = Math.max(280, container.clientWidth - 8);
  const opts = {
    title, width, height: 240,
    series: [{}, ...metrics.map((m, i) => ({ label: m, stroke: COLORS[i % COLORS.length], width: 2 }))],
    axes: [{}, { size: 60 }],
  };
  container.replaceChildren();
  state.charts.push(new uPlot(opts, data, container));
}

function totals(answer, series = 0) {
  return answer.series[series] ? answer.series[series].totals : {};
}

function statCard(label, value, sub, name) {
  return el("div", { class: "stat", "data-metric": name },
            el("div", { class: "label", text: label }),
            el("div", { class: "value", text: value }),
            sub ? el("div", { class: "sub", text: sub }) : null);
}

// ---- pages ----
const pages = {};

// A page's title and controls, made once (what the user types or picks stays
// as the page redraws), and the element its data is drawn into.
function frame(root, keep, title, ...controls) {
  let body = root.querySelector(":scope > .body");
  if (!keep || !body) {
    body = el("div", { class: "body" });
    root.replaceChildren(el("h2", { text: title }), ...controls, body);
  }
  return body;
}

pages.overview = async (root, keep) => {
  const all = await load(rangeQuery());
  const t = totals(all);
  const delivered = t.delivered || 0;
  const cards = el("div", { class: "grid", id: "totals" },
    statCard("Received", fmtInt(t.received), "recipients taken", "received"),
    statCard("Delivered", fmtInt(delivered), null, "delivered"),
    statCard("Deferred", fmtInt(t.deferred), "attempts", "deferred"),
    statCard("Bounced", fmtInt(t.bounced), pct(t.bounced, delivered + t.bounced) + " of ends", "bounced"),
    statCard("Complaints", fmtInt(t.complaints), pct(t.complaints, delivered) + " of delivered", "complaints"),
    statCard("Unsubscribes", fmtInt(t.unsubscribes), null, "unsubscribes"),
    statCard("Unique opens", fmtInt(t.unique_opens),
             "people: " + fmtInt(t.unique_human_opens) + " (" + pct(t.unique_human_opens, delivered) + ")",
             "unique_opens"),
    statCard("Unique clicks", fmtInt(t.unique_clicks),
             "people: " + fmtInt(t.unique_human_clicks) + " (" + pct(t.unique_human_clicks, delivered) + ")",
             "unique_clicks"));
  const plot = el("div", { class: "chart", role: "img",
                           "aria-label": "Delivered, deferred and bounced over time" });
  const providers = await load(rangeQuery({ group_by: "provider",
    metrics: "delivered,deferred,bounced,complaints,unique_opens,unique_human_opens,unique_clicks" }));
  const rows = providers.series.filter((s) => s.totals.delivered + s.totals.deferred + s.totals.bounced > 0)
    .map((s) => {
    const p = s.totals;
    return [s.group.provider || "(none)", fmtInt(p.delivered), pct(p.deferred, p.delivered + p.deferred),
            pct(p.bounced, p.delivered + p.bounced), pct(p.complaints, p.delivered),
            pct(p.unique_opens, p.delivered), pct(p.unique_human_opens, p.delivered),
            pct(p.unique_clicks, p.delivered)];
  });
  frame(root, keep, "Overview", rangeControls(() => refresh())).replaceChildren(
    cards,
    el("section", { class: "card" }, el("h3", { text: "Over time" }), plot),
    el("section", { class: "card" }, el("h3", { text: "By provider" }),
       table(["Provider", "Delivered", "Deferral rate", "Bounce rate", "Complaint rate",
              "Open rate", "Open rate (people)", "Click rate"], rows,
             { num: [1, 2, 3, 4, 5, 6, 7], empty: "No deliveries in this range." })));
  chart(plot, all, ["delivered", "deferred", "bounced"], "Delivery");
};

function confirmAndRun(question, path, body) {
  if (!window.confirm(question)) return Promise.resolve(null);
  return api(path, { method: "POST", body }).then((r) => { refresh(); return r; })
    .catch((e) => { stamp(false, e.message); });
}

function queueActions(target, suspended) {
  const run = (action, question, extra = {}) => () =>
    confirmAndRun(question, "/api/v1/queues/" + action, Object.assign({ target }, extra));
  return el("div", { class: "actions" },
    suspended
      ? el("button", { type: "button", "data-action": "resume", "data-target": target,
                       onclick: run("resume", "Resume " + target + "?") }, "Resume")
      : el("button", { type: "button", class: "secondary", "data-action": "suspend",
                       "data-target": target,
                       onclick: run("suspend", "Suspend " + target + " for 1 hour?", { duration: "1h" }) },
           "Suspend 1h"),
    el("button", { type: "button", class: "secondary", "data-action": "flush", "data-target": target,
                   onclick: run("flush", "Try every message of " + target + " now?") }, "Flush"),
    el("button", { type: "button", class: "danger", "data-action": "bounce", "data-target": target,
                   onclick: run("bounce", "Bounce every message of " + target +
                                " back to its sender? This cannot be undone.") }, "Bounce"));
}

pages.queues = async (root, keep) => {
  const q = await load("/api/v1/queues");
  const held = new Set(q.operator_suspensions.map((h) => h.target));
  const target = el("input", { id: "target", placeholder: "example.com, acme@*, spring:acme@*" });
  const form = el("section", { class: "card" }, el("h3", { text: "Suspend or resume by filter" }),
    el("form", { class: "controls", onsubmit: (e) => e.preventDefault() },
      el("label", { for: "target" }, "Queue or filter", target),
      el("button", { type: "button", onclick: () => target.value.trim() &&
        confirmAndRun("Suspend " + target.value.trim() + " for 1 hour?", "/api/v1/queues/suspend",
                      { target: target.value.trim(), duration: "1h" }) }, "Suspend 1h"),
      el("button", { type: "button", class: "secondary", onclick: () => target.value.trim() &&
        confirmAndRun("Resume " + target.value.trim() + "?", "/api/v1/queues/resume",
                      { target: target.value.trim() }) }, "Resume")));
  frame(root, keep, "Queues", form).replaceChildren(
    el("section", { class: "card" }, el("h3", { text: "Scheduled queues" }),
       table(["Queue", "Messages", "Oldest", "Next due", "State", "Actions"],
             q.queues.map((x) => [x.queue, fmtInt(x.messages), when(x.oldest), when(x.next_due),
                                  x.suspended ? el("span", { class: "badge warn", text: "suspended" })
                                              : el("span", { class: "badge good", text: "active" }),
                                  queueActions(x.queue, x.suspended || held.has(x.queue))]),
             { num: [1], empty: "No mail waits." })),
    el("section", { class: "card" }, el("h3", { text: "Held by an operator" }),
       table(["Target", "Until", ""],
             q.operator_suspensions.map((h) => [h.target, h.until ? when(h.until) : "until resumed",
                                                queueActions(h.target, true)]),
             { empty: "Nothing is held." })),
    el("section", { class: "card" }, el("h3", { text: "Sites (ready to send)" }),
       table(["Site", "Ready", "Connections", "Suspended until"],
             q.sites.map((s) => [s.site, fmtInt(s.ready), fmtInt(s.connections),
                                 s.suspended_until ? when(s.suspended_until) : "–"]),
             { num: [1, 2] })),
    el("section", { class: "card" }, el("h3", { text: "Held by shaping rules" }),
       table(["Scope", "Tenant", "Campaign", "Site", "Until"],
             q.suspensions.map((s) => [s.scope, s.tenant, s.campaign || "–", s.site, when(s.until)]))));
};

pages.egress = async (root, keep) => {
  const w = await load("/api/v1/warmup");
  const by = await load(rangeQuery({ group_by: "source", metrics: "delivered,deferred,bounced" }));
  frame(root, keep, "Egress sources and warm-up", rangeControls(() => refresh())).replaceChildren(
    el("section", { class: "card" }, el("h3", { text: "Warm-up today" }),
       table(["Source", "Day", "Daily cap", "Sent today by provider"],
             w.sources.map((s) => [s.source, s.day === undefined ? "–" : String(s.day),
                                   s.cap === null ? "none" : fmtInt(s.cap),
                                   Object.entries(s.today).map(([p, n]) => p + ": " + fmtInt(n)).join(", ") || "–"]),
             { num: [1, 2], empty: "No egress sources are configured." })),
    el("section", { class: "card" }, el("h3", { text: "Outcomes by source" }),
       table(["Source", "Delivered", "Deferred", "Bounced", "Bounce rate"],
             by.series.map((s) => [s.group.source || "(none)", fmtInt(s.totals.delivered),
                                   fmtInt(s.totals.deferred), fmtInt(s.totals.bounced),
                                   pct(s.totals.bounced, s.totals.delivered + s.totals.bounced)]),
             { num: [1, 2, 3, 4] })));
};

function recentTable(events, columns) {
  return table(columns.map((c) => c[0]), events.map((e) => columns.map((c) => c[1](e))),
               { wrap: true, empty: "None since the daemon started." });
}

pages.bounces = async (root, keep) => {
  const all = await load(rangeQuery());
  const t = totals(all);
  const classes = Object.keys(t).filter((k) => k.startsWith("bounced.") && t[k] > 0)
    .sort((a, b) => t[b] - t[a]);
  const recent = await load("/api/v1/events/recent?kind=bounce&limit=50");
  frame(root, keep, "Bounces", rangeControls(() => refresh())).replaceChildren(
    el("div", { class: "grid" },
       statCard("Bounced", fmtInt(t.bounced), null, "bounced"),
       statCard("Hard", fmtInt(t.bounced_hard), "the address is bad", "bounced_hard"),
       statCard("Asynchronous", fmtInt(t.async_bounced), "DSNs after delivery", "async_bounced"),
       statCard("Expired", fmtInt(t.expired), null, "expired")),
    el("section", { class: "card" }, el("h3", { text: "By class" }),
       table(["Class", "Bounces", "Share"],
             classes.map((k) => [k.slice(8), fmtInt(t[k]), pct(t[k], t.bounced)]),
             { num: [1, 2], empty: "No bounces in this range." })),
    el("section", { class: "card" }, el("h3", { text: "Top replies (since start)" }),
       table(["Reply", "Class", "Tenant", "Count"],
             recent.top_replies.map((r) => [r.reply, r.class, r.tenant || "–", fmtInt(r.count)]),
             { num: [3], wrap: true })),
    el("section", { class: "card" }, el("h3", { text: "Recent" }),
       recentTable(recent.events, [
         ["When", (e) => when(e.timestamp)], ["Recipient", (e) => e.recipient],
         ["Class", (e) => (e.bounce ? e.bounce.class + (e.bounce.hard ? " (hard)" : "") : "–")],
         ["Reply", (e) => (e.response ? reply(e.response) : (e.status || "") + " " + (e.diagnostic || ""))],
         ["Message", (e) => messageLink(e.id)]])));
};

function messageLink(id) {
  return id ? el("a", { href: "#/message/" + id, text: id.slice(0, 12) + "…" }) : "–";
}

pages.feedback = async (root, keep) => {
  const all = await load(rangeQuery({ metrics: "delivered,complaints,unsubscribes" }));
  const t = totals(all);
  const complaints = await load("/api/v1/events/recent?kind=complaint&limit=50");
  const unsubs = await load("/api/v1/events/recent?kind=unsubscribe&limit=50");
  const plot = el("div", { class: "chart", role: "img", "aria-label": "Complaints and unsubscribes over time" });
  frame(root, keep, "Complaints and unsubscribes", rangeControls(() => refresh())).replaceChildren(
    el("div", { class: "grid" },
       statCard("Complaints", fmtInt(t.complaints), pct(t.complaints, t.delivered) + " of delivered", "complaints"),
       statCard("Unsubscribes", fmtInt(t.unsubscribes), pct(t.unsubscribes, t.delivered) + " of delivered",
                "unsubscribes")),
    el("section", { class: "card" }, plot),
    el("section", { class: "card" }, el("h3", { text: "Recent complaints" }),
       recentTable(complaints.events, [
         ["When", (e) => when(e.timestamp)], ["Recipient", (e) => e.recipient || "–"],
         ["Type", (e) => e.feedback_type || "–"], ["From", (e) => e.user_agent || "–"],
         ["Message", (e) => messageLink(e.id)]])),
    el("section", { class: "card" }, el("h3", { text: "Recent unsubscribes" }),
       recentTable(unsubs.events, [
         ["When", (e) => when(e.timestamp)], ["Recipient", (e) => e.recipient || "–"],
         ["Via", (e) => e.via || "–"], ["Campaign", (e) => e.campaign || "–"],
         ["Message", (e) => messageLink(e.id)]])));
  chart(plot, all, ["complaints", "unsubscribes"], "Feedback");
};

pages.suppressions = async (root, keep) => {
  if (keep && root.firstChild) return;  // a form the user is filling: not redrawn
  const out = el("div", { id: "suppression-result", "aria-live": "polite" });
  const address = el("input", { id: "s-address", required: true, placeholder: "user@example.com or @example.com" });
  const tenant = el("input", { id: "s-tenant", placeholder: state.operator ? "global" : state.tenant,
                               value: state.operator ? "" : state.tenant, disabled: !state.operator });
  const campaign = el("input", { id: "s-campaign", placeholder: "none" });
  const reason = el("select", { id: "s-reason" },
    ["manual", "hard-bounce", "complaint", "unsubscribe"].map((r) => el("option", { value: r, text: r })));
  const scope = () => {
    const q = new URLSearchParams();
    if (tenant.value.trim()) q.set("tenant", tenant.value.trim());
    if (campaign.value.trim()) q.set("campaign", campaign.value.trim());
    return q.toString() ? "?" + q.toString() : "";
  };
  const show = async () => {
    const a = address.value.trim();
    if (!a) return;
    try {
      const r = await api("/api/v1/suppressions/" + encodeURIComponent(a) + scope());
      const where = r.tenant ? "tenant " + r.tenant + (r.campaign ? ", campaign " + r.campaign : "") : "global";
      out.replaceChildren(table(["Address", "List", "Reason", "Since", "Expires", ""],
        [[r.address, where, r.reason, when(r.created), r.expires ? when(r.expires) : "never",
          el("button", { type: "button", class: "danger", onclick: async () => {
            if (!window.confirm("Remove " + r.address + " from the " + where + " list?")) return;
            await api("/api/v1/suppressions/" + encodeURIComponent(a) + scope(), { method: "DELETE" });
            out.replaceChildren(el("p", { class: "ok", text: r.address + " removed." }));
          } }, "Remove")]]));
    } catch (e) {
      out.replaceChildren(el("p", { class: e.status === 404 ? "muted" : "error",
                                    text: e.status === 404 ? a + " is not suppressed in this scope." : e.message }));
    }
  };
  const add = async () => {
    const a = address.value.trim();
    if (!a) return;
    try {
      await api("/api/v1/suppressions" + scope(), { method: "POST",
        body: { entries: [{ address: a, reason: reason.value }] } });
      out.replaceChildren(el("p", { class: "ok", text: a + " added." }));
    } catch (e) { out.replaceChildren(el("p", { class: "error", text: e.message })); }
  };
  root.replaceChildren(
    el("h2", { text: "Suppressions" }),
    el("section", { class: "card" },
       el("form", { class: "controls", onsubmit: (e) => { e.preventDefault(); show(); } },
          el("label", {}, "Address", address), el("label", {}, "Tenant", tenant),
          el("label", {}, "Campaign", campaign), el("label", {}, "Reason (to add)", reason),
          el("button", { type: "submit" }, "Look up"),
          el("button", { type: "button", class: "secondary", onclick: add }, "Add")),
       out));
};

pages.message = async (root, keep, arg) => {
  const form = el("form", { class: "controls", onsubmit: (e) => {
    e.preventDefault();
    const v = $("#m-id").value.trim();
    if (v) location.hash = "#/message/" + encodeURIComponent(v);
  } }, el("label", {}, "Message id", el("input", { id: "m-id", value: arg || "", spellcheck: "false",
                                                   placeholder: "message id" })),
     el("button", { type: "submit" }, "Show"));
  const body = frame(root, keep, "A message's timeline", el("section", { class: "card" }, form));
  if (!arg) return;
  try {
    const m = await load("/api/v1/messages/" + encodeURIComponent(arg));
    body.replaceChildren(el("section", { class: "card", id: "timeline" },
      el("p", {}, "State: ", el("strong", { text: m.state || "–" })),
      table(["Recipient", "State", "Attempts", "Last reply"],
            (m.recipients || []).map((r) => [r.email, r.state, String(r.attempts),
                                             reply(r.last_response)]), { wrap: true }),
      el("h3", { text: "Events" }),
      el("ol", { class: "timeline" }, (m.events || []).map((e) =>
        el("li", { class: e.type },
           el("strong", { text: e.type }), " ", el("span", { class: "muted", text: when(e.timestamp) }),
           el("div", { text: describe(e) }))))));
  } catch (e) {
    if (e.status === 401) throw e;
    body.replaceChildren(el("p", { class: "error", text: e.status === 404 ? "No such message." : e.message }));
  }
};

function reply(r) {
  return r ? [r.code, r.enhanced, r.text].filter(Boolean).join(" ") : "–";
}

function describe(e) {
  const parts = [];
  if (e.recipient) parts.push(e.recipient);
  if (e.recipients) parts.push(e.recipients.join(", "));
  if (e.response) parts.push(reply(e.response));
  if (e.mx_host) parts.push("via " + e.mx_host);
  if (e.url) parts.push(e.url);
  if (e.machine) parts.push("(machine: " + e.machine_reason + ")");
  return parts.join(" · ");
}

pages.domains = async (root, keep) => {
  if (keep && root.firstChild && !state.doctorDirty) return;
  state.doctorDirty = false;
  const list = await load("/api/v1/doctor");
  const out = el("div", { id: "doctor" });
  const domain = el("input", { id: "d-domain", placeholder: "example.com" });
  const run = async (d) => {
    out.replaceChildren(el("p", { class: "muted", text: "Checking " + d + "…" }));
    try {
      const r = await api("/api/v1/doctor?domain=" + encodeURIComponent(d));
      out.replaceChildren(el("h3", { text: r.domain }), table(["Check", "Result", "Found", "Fix"],
        r.checks.map((c) => [c.name, el("span", { class: "badge " + ({ pass: "good", fail: "bad", warn: "warn" }[c.status] || ""),
                                                   text: c.status }), c.detail, c.fix || ""]),
        { wrap: true }));
    } catch (e) { out.replaceChildren(el("p", { class: "error", text: e.message })); }
  };
  root.replaceChildren(el("h2", { text: "Sending domains: DNS check" }),
    el("section", { class: "card" },
       el("p", { class: "muted", text: "SPF, DKIM, DMARC, MX, MTA-STS, TLS-RPT and the egress addresses' PTR, through this node's resolver." }),
       el("div", { class: "actions" }, list.domains.map((d) =>
         el("button", { type: "button", class: "secondary", onclick: () => run(d) }, d))),
       el("form", { class: "controls", onsubmit: (e) => { e.preventDefault(); if (domain.value.trim()) run(domain.value.trim()); } },
          el("label", {}, "Another domain", domain), el("button", { type: "submit" }, "Check")),
       out));
};

// ---- routing and refresh ----
function route() {
  const [page, ...rest] = (location.hash.replace(/^#\/?/, "") || "overview").split("/");
  const operatorOnly = { queues: 1, egress: 1, domains: 1 };
  if (!pages[page] || (operatorOnly[page] && !state.operator)) return { page: "overview", arg: "" };
  let arg = "";
  try { arg = decodeURIComponent(rest.join("/")); } catch (_) { /* a malformed hash: no argument */ }
  return { page, arg };
}

// Each redraw supersedes the one before (see load); the timer skips a tick
// while one runs.
let inFlight = 0;

async function refresh(first = false, tick = false) {
  if (!state.key || (tick && inFlight > 0)) return;
  inFlight++;
  try {
    await redraw(first);
  } finally {
    inFlight--;
  }
}

async function redraw(first) {
  drawing++;
  const { page, arg } = route();
  const root = $("#page");
  if (page !== state.page) {
    root.replaceChildren();
    state.page = page;
    first = true;
  }
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.page === page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  try {
    state.charts.forEach((c) => c.destroy());
    state.charts = [];
    await pages[page](root, !first, arg);
    stamp(true, "Updated " + new Date().toLocaleTimeString());
  } catch (e) {
    if (e instanceof StaleError) return;
    if (e.status !== 401) stamp(false, "Could not update: " + e.message);
  }
}

function start() {
  $("#login").hidden = true;
  $("#nav").hidden = false;
  $("#logout").hidden = false;
  for (const a of document.querySelectorAll("nav [data-operator]")) {
    a.parentElement.hidden = !state.operator;
  }
  $("#who").textContent = state.operator ? "operator" : "tenant " + state.tenant;
  state.page = "";
  refresh(true);
  clearInterval(state.timer);
  state.timer = setInterval(() => { if (!document.hidden) refresh(false, true); }, REFRESH_MS);
}

window.addEventListener("hashchange", () => {
  if (state.key) { refresh(true); $("#main").focus({ preventScroll: true }); }
});

document.addEventListener("DOMContentLoaded", async () => {
  $("#login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const key = $("#key").value.trim();
    try {
      await login(key);
      $("#key").value = "";
      start();
    } catch (err) {
      state.key = "";
      $("#login-error").textContent = err.status === 401 ? "That key is not valid." : "Could not log in: " + err.message;
    }
  });
  $("#logout").addEventListener("click", () => logout(""));
  if (state.key) {
    try { await login(state.key); start(); } catch (_) { showLogin(""); }
  } else {
    showLogin("");
  }
});
