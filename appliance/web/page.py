"""The status page: a login form, and one self-contained page that polls ``/api/status`` every 2 s."""

from __future__ import annotations

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1d2733}
header{background:#1d3557;color:#fff;padding:12px 20px;display:flex;gap:16px;align-items:center}
header h1{font-size:18px;margin:0;flex:1}
.badge{padding:3px 10px;border-radius:12px;font-weight:600;font-size:13px}
.ok{background:#2a9d8f;color:#fff}.degraded{background:#e9c46a;color:#1d2733}.down,.starting{background:#e63946;color:#fff}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:14px;padding:16px}
section{background:#fff;border-radius:8px;padding:12px 16px;box-shadow:0 1px 3px #0002}
h2{font-size:15px;margin:0 0 8px}table{border-collapse:collapse;width:100%;font-size:13px}
td,th{text-align:left;padding:3px 6px;border-bottom:1px solid #eee}.muted{color:#6b7785;font-size:12px}
button{font-size:12px;padding:2px 8px}.big{font-size:26px;font-weight:700}
form.login{max-width:340px;margin:80px auto;background:#fff;padding:24px;border-radius:8px;box-shadow:0 1px 3px #0003}
input[type=password]{width:100%;padding:6px;margin:8px 0;box-sizing:border-box}
"""

LOGIN = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>VocalIA Edge - sign in</title>
<style>{STYLE}</style></head><body>
<form class="login" method="post" action="/login">
<h2>VocalIA Edge status</h2><p class="muted" id="hint">Enter the access token set at install (VOCALIA_WEB_TOKEN).</p>
<label for="token">Access token</label>
<input type="password" name="token" id="token" autocomplete="current-password" aria-describedby="hint" autofocus>
<button type="submit" id="signin">Sign in</button>{{error}}</form></body></html>"""

PAGE = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>VocalIA Edge status</title>
<style>{STYLE}</style></head><body>
<header><h1>VocalIA Edge</h1><span id="state" class="badge">...</span>
<span id="version" class="muted" style="color:#cfd8e3"></span>
<label class="muted" style="color:#cfd8e3"><input type="checkbox" id="phi"> show what callers said (audited)</label>
<a href="/logout" style="color:#fff">sign out</a></header>
<main>
<section><h2>Line</h2><div id="reasons" class="muted"></div><table id="sip"></table></section>
<section id="workersbox" style="display:none"><h2>Workers (kamailio in front)</h2><table id="workers"></table></section>
<section><h2>Calls in progress</h2><table id="live"><tr><td class="muted">none</td></tr></table></section>
<section><h2>Today</h2><table id="today"></table></section>
<section><h2>Caller-ear latency (end of speech &rarr; first reply audio)</h2>
<div><span class="big" id="p50">-</span> <span class="muted">ms p50</span> &nbsp;
<span class="big" id="p95">-</span> <span class="muted">ms p95</span> &nbsp; <span class="muted" id="nturns"></span></div>
<svg id="chart" width="320" height="80" viewBox="0 0 320 80"></svg></section>
<section><h2>Outbox</h2><table id="outbox"></table><h2 style="margin-top:10px">Dead deliveries</h2>
<table id="dead"><tr><td class="muted">none</td></tr></table></section>
<section id="remindersbox" style="display:none"><h2>Reminder and callback calls today</h2><table id="reminders"></table></section>
<section><h2>Models</h2><table id="models"></table><div class="muted" id="memory"></div></section>
<section id="saidbox" style="display:none"><h2>What callers said today</h2><table id="said"></table></section>
</main>
<script>
const esc = s => String(s ?? "").replace(/[&<>"']/g, c => "&#" + c.charCodeAt(0) + ";");
const rows = (el, items, f) => {{ document.getElementById(el).innerHTML =
  items.length ? items.map(f).join("") : '<tr><td class="muted">none</td></tr>'; }};
async function retry(id) {{
  await fetch("/api/outbox/" + encodeURIComponent(id) + "/retry", {{method: "POST"}});
  refresh();
}}
async function refresh() {{
  const phi = document.getElementById("phi").checked;
  const r = await fetch("/api/status" + (phi ? "?phi=1" : ""));
  if (r.status === 401) {{ location.href = "/"; return; }}
  const s = await r.json();
  const state = document.getElementById("state");
  state.textContent = s.status; state.className = "badge " + s.status;
  document.getElementById("version").textContent = "v" + s.version + " - up " + Math.round(s.uptime_s) + " s";
  document.getElementById("reasons").textContent = s.reasons.join("; ");
  const sip = s.sip || {{}}; const reg = sip.registration;
  rows("sip", [["listening", (sip.listening || []).join(", ")], ["calls now", sip.active_calls],
    ["registration", reg ? (reg.registered ? "registered to " + reg.registrar : reg.reason) : "none (direct calls)"],
    ["refused (perimeter)", Object.entries(sip.refused || {{}}).map(([k, v]) => k + " " + v).join(", ")],
    ["busy (486)", sip.busy_rejections],
    ["released (never a conversation)", Object.entries(sip.released || {{}}).map(([k, v]) => k.replace("_", " ") + " " + v).join(", ")]],
    ([k, v]) => `<tr><th>${{esc(k)}}</th><td>${{esc(v)}}</td></tr>`);
  document.getElementById("workersbox").style.display = s.workers ? "" : "none";
  if (s.workers) rows("workers", s.workers, w =>
    `<tr class="worker"><th>worker ${{esc(w.index)}}</th><td>${{esc(w.sip)}}</td><td class="${{esc(w.status)}}">${{esc(w.status)}}</td>` +
    `<td>${{esc(w.active_calls ?? "-")}} / ${{esc(w.max_calls ?? "-")}} calls</td><td>${{esc(w.memory_mb ?? "-")}} MB</td>` +
    `<td class="muted">${{esc((w.reasons || []).join("; "))}}</td></tr>`);
  rows("live", s.calls.in_progress, c =>
    `<tr class="call"><td>${{esc(c.caller)}}</td><td>${{esc(c.duration_s)}} s</td><td>${{esc(c.turns)}} turns</td></tr>`);
  rows("today", [...Object.entries(s.calls.today), ...Object.entries(s.transfers || {{}}).map(([k, v]) => ["transfer " + k.replace("_", " "), v])],
    ([k, v]) => `<tr><th>${{esc(k)}}</th><td>${{esc(v)}}</td></tr>`);
  document.getElementById("p50").textContent = s.latency.p50_ms ?? "-";
  document.getElementById("p95").textContent = s.latency.p95_ms ?? "-";
  document.getElementById("nturns").textContent = s.latency.turns + " turns today";
  const pts = s.latency.recent_ms, max = Math.max(1500, ...pts);
  document.getElementById("chart").innerHTML = '<polyline fill="none" stroke="#1d3557" stroke-width="2" points="' +
    pts.map((v, i) => (i * 320 / Math.max(1, pts.length - 1)).toFixed(1) + "," + (78 - v * 76 / max).toFixed(1)).join(" ") + '"/>';
  const ob = (s.outbox || {{}}).connectors || {{}};
  rows("outbox", Object.entries(ob), ([k, e]) =>
    `<tr><th>${{esc(k)}}</th><td>${{e.pending}} waiting</td><td>${{e.in_flight}} sending</td><td>${{e.delivered}} delivered</td><td>${{e.dead}} dead</td></tr>`);
  rows("dead", ((s.outbox || {{}}).dead || []), d =>
    `<tr class="dead"><td>${{esc(d.connector)}}</td><td>${{esc(d.action)}}</td><td>${{esc(d.error)}}</td>` +
    `<td><button class="retry" data-id="${{esc(d.id)}}" onclick="retry(this.dataset.id)">retry</button></td></tr>`);
  const rem = s.reminders;
  document.getElementById("remindersbox").style.display = rem ? "" : "none";
  if (rem) rows("reminders", [["waiting", rem.waiting], ["calling now", rem.calling],
    ...Object.entries(rem.outcomes).map(([k, v]) => [k.replace("_", " "), v]),
    ...Object.entries(rem.replies).map(([k, v]) => ["reply: " + k.replace("_", " "), v])],
    ([k, v]) => `<tr><th>${{esc(k)}}</th><td>${{esc(v)}}</td></tr>`);
  rows("models", Object.entries(s.models), ([k, v]) => `<tr><th>${{esc(k)}}</th><td>${{esc(v)}}</td><td>loaded</td></tr>`);
  document.getElementById("memory").textContent = s.memory_mb ? s.memory_mb + " MB resident, models included" : "";
  document.getElementById("saidbox").style.display = phi ? "" : "none";
  if (phi) rows("said", s.said || [], t => `<tr><td>${{esc(t.call)}}</td><td>${{esc(t.text)}}</td></tr>`);
}}
document.getElementById("phi").addEventListener("change", refresh);
refresh(); setInterval(refresh, 2000);
</script></body></html>"""
