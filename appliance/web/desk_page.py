"""The front desk's page, in the clinic's language (en, fr, es): a sign-in form, and one self-contained page
that polls ``/api/desk`` every 3 s. Keyboard-usable (real buttons and labelled fields, a visible focus
ring), touch-sized targets for a tablet, and colours with at least 4.5:1 contrast."""

from __future__ import annotations

import html
import json

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Front desk",
        "signin": "Sign in",
        "signin_help": "Enter the front desk's access token and your name: your name goes with what you mark.",
        "token": "Access token",
        "your_name": "Your name",
        "wrong_token": "Wrong token.",
        "need_name": "Please give your name.",
        "signout": "Sign out",
        "signed_in_as": "Signed in as",
        "day": "Day",
        "search": "Search (name, number, words)",
        "export": "Export the day (CSV)",
        "to_handle": "To handle",
        "handled": "Handled",
        "bookings": "Bookings",
        "none": "Nothing here.",
        "message": "Message",
        "callback": "Call back",
        "for": "for",
        "at": "at",
        "asked_for": "asked for",
        "received": "received",
        "done": "Done",
        "called_back": "Called back",
        "reopen": "Reopen",
        "by": "by",
        "said": "What they said",
        "said_audited": "Opening what a caller said is written to the audit log.",
        "caller": "Caller",
        "receptionist": "Receptionist",
        "no_transcript": "No transcript kept for this call.",
        "cancelled": "cancelled",
        "moved_from": "moved from",
        "sent": "sent",
        "waiting": "waiting to send",
        "sending": "sending",
        "failed": "not sent (IT has been told)",
        "open_count": "{n} to handle",
        "offline": "The appliance does not answer; retrying.",
        "no_provider": "Any provider",
    },
    "fr": {
        "title": "Accueil",
        "signin": "Se connecter",
        "signin_help": "Saisissez le jeton d'accès de l'accueil et votre nom : votre nom accompagne ce que vous cochez.",
        "token": "Jeton d'accès",
        "your_name": "Votre nom",
        "wrong_token": "Jeton incorrect.",
        "need_name": "Indiquez votre nom.",
        "signout": "Se déconnecter",
        "signed_in_as": "Connecté·e :",
        "day": "Jour",
        "search": "Rechercher (nom, numéro, mots)",
        "export": "Exporter la journée (CSV)",
        "to_handle": "À traiter",
        "handled": "Traités",
        "bookings": "Rendez-vous",
        "none": "Rien pour l'instant.",
        "message": "Message",
        "callback": "À rappeler",
        "for": "pour",
        "at": "à",
        "asked_for": "souhaité",
        "received": "reçu",
        "done": "Traité",
        "called_back": "Rappelé",
        "reopen": "Rouvrir",
        "by": "par",
        "said": "Ce qui a été dit",
        "said_audited": "L'ouverture de ce qu'a dit un appelant est inscrite au journal d'audit.",
        "caller": "Appelant",
        "receptionist": "Accueil vocal",
        "no_transcript": "Aucune transcription conservée pour cet appel.",
        "cancelled": "annulé",
        "moved_from": "déplacé depuis",
        "sent": "envoyé",
        "waiting": "en attente d'envoi",
        "sending": "envoi en cours",
        "failed": "non envoyé (l'informatique est prévenue)",
        "open_count": "{n} à traiter",
        "offline": "L'appareil ne répond pas ; nouvelle tentative.",
        "no_provider": "Tout praticien",
    },
    "es": {
        "title": "Recepción",
        "signin": "Entrar",
        "signin_help": "Escriba el token de acceso de recepción y su nombre: su nombre acompaña lo que marque.",
        "token": "Token de acceso",
        "your_name": "Su nombre",
        "wrong_token": "Token incorrecto.",
        "need_name": "Indique su nombre.",
        "signout": "Salir",
        "signed_in_as": "Sesión de",
        "day": "Día",
        "search": "Buscar (nombre, número, palabras)",
        "export": "Exportar el día (CSV)",
        "to_handle": "Pendientes",
        "handled": "Atendidos",
        "bookings": "Citas",
        "none": "Nada por ahora.",
        "message": "Mensaje",
        "callback": "Devolver llamada",
        "for": "para",
        "at": "a las",
        "asked_for": "pedido para",
        "received": "recibido",
        "done": "Hecho",
        "called_back": "Llamado",
        "reopen": "Reabrir",
        "by": "por",
        "said": "Lo que dijo",
        "said_audited": "Abrir lo que dijo un paciente queda registrado en el registro de auditoría.",
        "caller": "Paciente",
        "receptionist": "Recepción automática",
        "no_transcript": "No se guarda transcripción de esta llamada.",
        "cancelled": "cancelada",
        "moved_from": "movida desde",
        "sent": "enviado",
        "waiting": "pendiente de envío",
        "sending": "enviando",
        "failed": "no enviado (informática está avisada)",
        "open_count": "{n} pendientes",
        "offline": "El equipo no responde; reintentando.",
        "no_provider": "Cualquier profesional",
    },
}

STYLE = """
*{box-sizing:border-box}body{font-family:system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1d2733;font-size:16px}
header{background:#1d3557;color:#fff;padding:10px 16px;display:flex;flex-wrap:wrap;gap:12px;align-items:center}
header h1{font-size:20px;margin:0;flex:1}header a{color:#fff}
.bar{display:flex;flex-wrap:wrap;gap:12px;align-items:end;padding:12px 16px}
.bar label{display:flex;flex-direction:column;font-size:14px;gap:4px}
input,button,.button{font-size:16px;min-height:44px;padding:8px 12px;border-radius:6px;border:1px solid #5a6572}
input[type=search]{min-width:260px}
button,.button{background:#1d3557;color:#fff;border-color:#1d3557;cursor:pointer;text-decoration:none;
 display:inline-flex;align-items:center}
button.secondary{background:#fff;color:#1d3557}
:focus-visible{outline:3px solid #c2410c;outline-offset:2px}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px;padding:0 16px 16px}
section{background:#fff;border-radius:8px;padding:12px 16px;box-shadow:0 1px 3px #0002}
h2{font-size:18px;margin:4px 0 10px}h3{font-size:16px;margin:12px 0 6px}
ul{list-style:none;margin:0;padding:0}li.task,li.booking{border-top:1px solid #dde3ea;padding:10px 0}
.kind{font-weight:700;font-size:13px;text-transform:uppercase;letter-spacing:.03em;color:#1d3557}
.muted{color:#4b5563;font-size:14px}.msg{margin:6px 0;white-space:pre-wrap}
.actions{display:flex;flex-wrap:wrap;gap:8px;margin-top:6px}
.cancelled .what{text-decoration:line-through}.tag{font-size:13px;font-weight:600;color:#8a1c12}
.said{background:#f4f6f8;border-radius:6px;padding:8px;margin-top:6px;font-size:14px}
.delivery-dead{color:#8a1c12}.count{background:#fff;color:#1d3557;border-radius:12px;padding:2px 10px;font-weight:700}
form.login{max-width:380px;margin:60px auto;background:#fff;padding:24px;border-radius:8px;box-shadow:0 1px 3px #0003}
form.login label{display:block;margin-top:12px}form.login input{width:100%;margin-top:4px}
form.login button{margin-top:16px}.error{color:#8a1c12;font-weight:600}
"""


def _strings(language: str) -> dict[str, str]:
    return STRINGS.get(language, STRINGS["en"])


def desk_login(language: str, error: str) -> str:
    """The sign-in form; ``error`` is "" or a key of the strings ("token", "name")."""
    t = {k: html.escape(v) for k, v in _strings(language).items()}
    message = {"token": t["wrong_token"], "name": t["need_name"]}.get(error, "")
    shown = f'<p class="error" role="alert">{message}</p>' if message else ""
    return f"""<!doctype html><html lang="{html.escape(language)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{t["title"]} - {t["signin"]}</title>
<style>{STYLE}</style></head><body><main style="display:block">
<form class="login" method="post" action="/desk/login"><h1 style="font-size:20px">{t["title"]}</h1>
<p class="muted">{t["signin_help"]}</p>
<label for="token">{t["token"]}</label><input type="password" name="token" id="token" autocomplete="current-password" required autofocus>
<label for="name">{t["your_name"]}</label><input type="text" name="name" id="name" autocomplete="name" maxlength="60" required>
<button type="submit" id="signin">{t["signin"]}</button>{shown}</form></main></body></html>"""


def desk_page(language: str, business: str, user: str) -> str:
    """The desk's page for ``user`` (already signed in)."""
    t = {k: html.escape(v) for k, v in _strings(language).items()}
    strings = json.dumps(_strings(language), ensure_ascii=False).replace("</", "<\\/")
    title = f"{html.escape(business)} - {t['title']}" if business else t["title"]
    return f"""<!doctype html><html lang="{html.escape(language)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>{STYLE}</style></head><body>
<header><h1>{title}</h1><span class="count" id="count" aria-live="polite"></span>
<span>{t["signed_in_as"]} <strong id="user">{html.escape(user)}</strong></span>
<a href="/desk/logout">{t["signout"]}</a></header>
<div class="bar" role="search">
<label for="day">{t["day"]}<input type="date" id="day"></label>
<label for="q">{t["search"]}<input type="search" id="q" autocomplete="off"></label>
<a class="button" id="export" href="/api/desk/export.csv">{t["export"]}</a>
<p class="muted" id="offline" role="status"></p></div>
<main>
<section aria-labelledby="h-open"><h2 id="h-open">{t["to_handle"]}</h2><ul id="open"></ul></section>
<section aria-labelledby="h-bookings"><h2 id="h-bookings">{t["bookings"]}</h2><div id="bookings"></div></section>
<section aria-labelledby="h-handled"><h2 id="h-handled">{t["handled"]}</h2><ul id="handled"></ul>
<p class="muted">{t["said_audited"]}</p></section>
</main>
<script>
const T = {strings};
const LANG = document.documentElement.lang;
const esc = s => String(s ?? "").replace(/[&<>"']/g, c => "&#" + c.charCodeAt(0) + ";");
const dayText = iso => new Date(iso.slice(0, 10) + "T12:00").toLocaleDateString(LANG, {{weekday: "long", day: "numeric", month: "long"}});
const timeText = iso => new Date(iso).toLocaleTimeString(LANG, {{hour: "2-digit", minute: "2-digit"}});
const when = iso => (iso.slice(0, 10) === state.today ? "" : dayText(iso) + " ") + timeText(iso);
const state = {{today: "", opened: new Set()}};
const dayInput = document.getElementById("day"), qInput = document.getElementById("q");
const query = () => "day=" + encodeURIComponent(dayInput.value) + "&q=" + encodeURIComponent(qInput.value);
function deliveries(task) {{
  return task.deliveries.map(d => {{
    const word = {{delivered: T.sent, pending: T.waiting, in_flight: T.sending, dead: T.failed}}[d.state] || d.state;
    return `<span class="muted delivery-${{esc(d.state)}}">${{esc(d.connector)}}: ${{esc(word)}}</span>`;
  }}).join(" · ");
}}
function taskItem(task) {{
  const kind = task.kind === "message" ? T.message : T.callback;
  const head = `<span class="kind">${{esc(kind)}}</span> <strong>${{esc(task.name)}}</strong> ` +
    `<a href="tel:${{esc(task.dial)}}">${{esc(task.phone)}}</a>` +
    (task.recipient ? ` <span class="muted">${{esc(T.for)}} ${{esc(task.recipient)}}</span>` : "");
  const body = (task.message ? `<p class="msg">${{esc(task.message)}}</p>` : "") +
    (task.when ? `<p class="msg">${{esc(T.asked_for)}} ${{esc(when(task.when))}}</p>` : "");
  const meta = [`<span class="muted">${{esc(T.received)}} ${{esc(when(task.at))}}</span>`, deliveries(task)]
    .filter(Boolean).join(" · ");
  const by = task.handled ? `<p class="muted">${{esc(task.handled === "done" ? T.done : T.called_back)}} ` +
    `${{esc(T.by)}} ${{esc(task.handled_by)}}, ${{esc(when(task.handled_at))}}</p>` : "";
  const buttons = task.handled
    ? `<button class="secondary reopen" data-id="${{esc(task.id)}}" data-how="">${{esc(T.reopen)}}</button>`
    : `<button class="done" data-id="${{esc(task.id)}}" data-how="done">${{esc(T.done)}}</button>` +
      `<button class="called-back" data-id="${{esc(task.id)}}" data-how="called_back">${{esc(T.called_back)}}</button>`;
  const said = task.call ? `<button class="secondary said-button" data-call="${{esc(task.call)}}" ` +
    `aria-expanded="${{state.opened.has(task.call)}}">${{esc(T.said)}}</button>` : "";
  const box = state.opened.has(task.call) ? `<div class="said" id="said-${{esc(task.call)}}"></div>` : "";
  return `<li class="task ${{task.handled ? "handled" : "open"}}" data-id="${{esc(task.id)}}">${{head}}${{body}}` +
    `<div>${{meta}}</div>${{by}}<div class="actions">${{buttons}}${{said}}</div>${{box}}</li>`;
}}
function bookingList(bookings) {{
  if (!bookings.length) return `<p class="muted">${{esc(T.none)}}</p>`;
  const days = {{}};
  for (const b of bookings) ((days[b.start.slice(0, 10)] ??= {{}})[b.provider || T.no_provider] ??= []).push(b);
  return Object.entries(days).map(([day, providers]) => `<h3>${{esc(dayText(day))}}</h3>` +
    Object.entries(providers).map(([provider, list]) => `<p class="kind">${{esc(provider)}}</p><ul>` +
      list.map(b => `<li class="booking ${{esc(b.status)}}"><span class="what"><strong>${{esc(timeText(b.start))}}</strong> ` +
        `${{esc(b.name)}}${{b.service ? " · " + esc(b.service) : ""}}</span> <span class="muted">${{esc(b.phone)}}</span>` +
        (b.status === "cancelled" ? ` <span class="tag">${{esc(T.cancelled)}}</span>` : "") +
        (b.moved_from ? ` <span class="tag">${{esc(T.moved_from)}} ${{esc(when(b.moved_from))}}</span>` : "") +
        `</li>`).join("") + `</ul>`).join("")).join("");
}}
const list = (el, items) => {{ document.getElementById(el).innerHTML =
  items.length ? items.map(taskItem).join("") : `<li class="muted">${{esc(T.none)}}</li>`; }};
async function refresh() {{
  let r;
  try {{ r = await fetch("/api/desk?" + query()); }} catch (e) {{ document.getElementById("offline").textContent = T.offline; return; }}
  if (r.status === 401) {{ location.href = "/desk"; return; }}
  if (!r.ok) {{ document.getElementById("offline").textContent = T.offline; return; }}
  document.getElementById("offline").textContent = "";
  const text = await r.text(), s = JSON.parse(text);
  const drawn = text + [...state.opened].join();
  if (drawn === state.drawn) return;  // unchanged: keep the page (and the focus) as it is
  state.drawn = drawn;
  state.today = s.today;
  if (!dayInput.value) dayInput.value = s.day;
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.id : null;
  const open = s.tasks.filter(t => !t.handled), handled = s.tasks.filter(t => t.handled);
  list("open", open); list("handled", handled);
  document.getElementById("count").textContent = T.open_count.replace("{{n}}", open.length);
  document.getElementById("bookings").innerHTML = bookingList(s.bookings);
  document.getElementById("export").href = "/api/desk/export.csv?" + query();
  for (const call of state.opened) await showSaid(call);
  if (focused) {{ const again = document.querySelector(`li[data-id="${{CSS.escape(focused)}}"] button`); if (again) again.focus(); }}
}}
async function showSaid(call) {{
  const box = document.getElementById("said-" + call);
  if (!box) return;
  if (!state.said) state.said = {{}};
  if (!(call in state.said)) {{
    const r = await fetch("/api/desk/calls/" + encodeURIComponent(call));
    state.said[call] = r.ok ? await r.json() : [];
  }}
  const turns = state.said[call];
  box.innerHTML = turns.length ? turns.map(t => `<p><strong>${{esc(T.caller)}}:</strong> ${{esc(t.caller)}}<br>` +
    `<span class="muted">${{esc(T.receptionist)}}: ${{esc(t.reply)}}</span></p>`).join("") : esc(T.no_transcript);
}}
document.addEventListener("click", async ev => {{
  const button = ev.target.closest("button");
  if (!button) return;
  if (button.dataset.call) {{
    const call = button.dataset.call;
    state.opened.has(call) ? state.opened.delete(call) : state.opened.add(call);
    return refresh();
  }}
  if (button.dataset.id === undefined) return;
  button.disabled = true;
  await fetch("/api/desk/tasks/" + encodeURIComponent(button.dataset.id), {{method: "POST",
    headers: {{"Content-Type": "application/json"}}, body: JSON.stringify({{handled: button.dataset.how}})}});
  refresh();
}});
dayInput.addEventListener("change", refresh);
let typing; qInput.addEventListener("input", () => {{ clearTimeout(typing); typing = setTimeout(refresh, 300); }});
refresh(); setInterval(refresh, 3000);
</script></body></html>"""
