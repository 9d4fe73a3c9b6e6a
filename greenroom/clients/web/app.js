// The greenroom web client: attaches to the daemon over nng's WebSocket transport
// (no bridge), with the token from the URL fragment. Everything shown comes from
// the control socket's replies and the timeline; nothing is rendered as HTML.

import { Req } from "./nng.js";
import { Timeline } from "./timeline.js";
import { Chats } from "./chats.js";
import { el, clear, short, time, renderEvent, renderTaskTree, renderDiff } from "./render.js";

const TERMINAL = new Set(["finished", "failed", "cancelled"]);
const TIMELINE_KEEP = 5000;
const gr = (window.greenroom = { ready: false, events: [], arrivals: [], role: "", healed: 0, errors: [] });

function takeToken() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token");
  if (token) {
    sessionStorage.setItem("greenroom-token", token);
    history.replaceState(null, "", location.pathname); // the token leaves the address bar
  }
  return sessionStorage.getItem("greenroom-token") || "";
}

const $ = (id) => document.getElementById(id);


class App {
  constructor() {
    this.req = null;
    this.tasks = new Map();
    this.selected = null;
    this.taskEvents = [];
    this.taskSeqs = new Set();
    this.timeline = null;
    this.refreshTimer = null;
    this.chats = new Chats(this);
  }

  async connect() {
    const token = takeToken();
    if (!token) return this.state("no token: open this page with `greenroom web`", "bad");
    const config = await (await fetch("/config.json")).json();
    this.req = new Req(`${config.ws}/control`);
    this.req.onclose = () => {
      gr.ready = false;
      this.state("disconnected: reload to attach again", "bad");
    };
    const hello = await this.request({ op: "hello", protocol: 1, client: "greenroom-web", token });
    gr.role = hello.role;
    $("role").textContent = hello.role;
    document.body.dataset.role = hello.role;
    this.state(`attached · ${hello.server}`, "good");
    this.timeline = new Timeline(
      { request: (b) => this.req.request(b), timelineUrl: () => this.timelineUrl(token) },
      (env) => this.onEvent(env),
      (s) => ($("timeline-state").textContent = s),
    );
    const from = Math.max(1, hello.head - 499);
    $("from-seq").value = from;
    await this.timeline.start(from);
    await Promise.all([this.refreshTasks(), this.refreshStatus()]);
    gr.ready = true;
    document.body.dataset.ready = "true";
    setInterval(() => this.refreshStatus(), 5000);
  }

  async timelineUrl(token) {
    // Tickets are single-use: every (re)subscription asks for a fresh one.
    const hello = await this.request({ op: "hello", protocol: 1, client: "greenroom-web", token });
    return hello.timeline_json;
  }

  async request(body) {
    const reply = await this.req.request(body);
    if (reply.type === "error") {
      const err = new Error(`${reply.code}: ${reply.message}`);
      gr.errors.push(err.message);
      this.toast(err.message);
      throw err;
    }
    return reply;
  }

  state(text, kind) {
    const s = $("conn");
    s.textContent = text;
    s.className = `badge ${kind || ""}`;
  }

  toast(text) {
    const t = $("toast");
    t.textContent = text;
    t.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => (t.hidden = true), 6000);
  }

  // -- timeline -------------------------------------------------------------------------

  onEvent(env) {
    gr.events.push(env);
    gr.arrivals.push([env.seq, performance.timeOrigin + performance.now()]); // bench/web_timeline.py reads these
    if (gr.arrivals.length > TIMELINE_KEEP) gr.arrivals.splice(0, gr.arrivals.length - TIMELINE_KEEP);
    if (gr.events.length > TIMELINE_KEEP) gr.events.splice(0, gr.events.length - TIMELINE_KEEP);
    gr.healed = this.timeline.healed;
    const list = $("timeline");
    const row = renderEvent(env, () => env.task_id && this.select(env.task_id));
    list.append(row);
    if (!this.layoutPending) {
      // Trim and scroll at most every 100 ms: forcing a layout per event stalls a burst.
      this.layoutPending = true;
      setTimeout(() => {
        this.layoutPending = false;
        while (list.childElementCount > 1000) list.firstElementChild.remove();
        if ($("follow").checked) list.scrollTop = list.scrollHeight;
        $("head").textContent = `#${this.timeline.nextSeq - 1}`;
      }, 100);
    }
    const type = env.event.type;
    if (env.task_id && env.task_id === this.selected) this.addTaskEvents([env]);
    if (env.task_id && /^(task\.|step\.|confirmation\.)/.test(type)) this.scheduleTasks();
    if (type.startsWith("model.")) this.refreshModels();
    if (type === "memory.forgotten" && (env.event.rewritten || []).length) this.showRewritten(env.event.rewritten);
    if (type === "memory.forgotten" || type === "memory.stored") this.refreshHits();
    this.chats.onEvent(env);
  }

  // A forget rewrote events this page already holds (their text quoted the forgotten note):
  // fetch each one's scrubbed version and put it in the old one's place, in memory and on screen.
  async showRewritten(seqs) {
    for (const seq of seqs.slice(-1000)) {
      const i = gr.events.findIndex((e) => e.seq === seq);
      const row = $("timeline").querySelector(`[data-seq="${seq}"]`);
      if (i < 0 && !row) continue;
      const page = await this.request({ op: "replay", from_seq: seq, to_seq: seq, limit: 1 });
      const fresh = (page.events || []).find((e) => e.seq === seq);
      if (i >= 0) fresh ? (gr.events[i] = fresh) : gr.events.splice(i, 1);
      if (row) fresh ? row.replaceWith(renderEvent(fresh, () => fresh.task_id && this.select(fresh.task_id))) : row.remove();
    }
    gr.rewritten = (gr.rewritten || 0) + seqs.length;
    this.scheduleTasks();
    if (this.selected) this.select(this.selected);
  }

  replayFrom() {
    const from = parseInt($("from-seq").value, 10) || 1;
    clear($("timeline"));
    gr.events = [];
    this.timeline.start(from);
  }

  // -- tasks ----------------------------------------------------------------------------

  scheduleTasks() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.refreshTasks(), 150);
  }

  async refreshTasks() {
    const reply = await this.request({ op: "tasks", limit: 200 });
    this.tasks = new Map(reply.tasks.map((t) => [t.task_id, t]));
    const list = $("tasks");
    clear(list);
    for (const t of [...reply.tasks].reverse()) {
      const item = el("li", { class: `task ${t.status}`, "data-task": t.task_id, onclick: () => this.select(t.task_id) },
        el("span", { class: `status ${t.status}` }, t.status),
        el("span", { class: "goal" }, short(t.goal, 90)),
        el("span", { class: "muted" }, `${t.task_id} · ${t.steps_done}/${t.steps_total} steps`));
      if (t.task_id === this.selected) item.classList.add("selected");
      list.append(item);
    }
    this.renderConfirmations();
    if (this.selected) this.renderTask();
  }

  async select(taskId) {
    this.selected = taskId;
    this.taskEvents = [];
    this.taskSeqs = new Set();
    let from = 1;
    for (;;) {
      const page = await this.request({ op: "replay", from_seq: from, task_id: taskId, limit: 2000 });
      if (this.selected !== taskId) return;
      this.addTaskEvents(page.events, false);
      if (page.next_seq <= from || page.next_seq > page.head) break;
      from = page.next_seq;
    }
    for (const li of document.querySelectorAll("#tasks li")) li.classList.toggle("selected", li.dataset.task === taskId);
    this.renderTask();
  }

  // The task's history (replayed) and its live events meet here; each seq counts once.
  addTaskEvents(events, render = true) {
    for (const env of events) {
      if (this.taskSeqs.has(env.seq)) continue;
      this.taskSeqs.add(env.seq);
      this.taskEvents.push(env);
    }
    this.taskEvents.sort((a, b) => a.seq - b.seq);
    if (render) this.renderTask();
  }

  renderTask() {
    const view = this.tasks.get(this.selected);
    const box = $("task");
    clear(box);
    if (!this.selected) return box.append(el("p", { class: "muted" }, "Select a task, or submit one."));
    const status = view ? view.status : "?";
    const cancel = el("button", { class: "cancel", onclick: () => this.cancel(this.selected) }, "Cancel");
    if (TERMINAL.has(status)) cancel.disabled = true;
    box.append(
      el("div", { class: "task-head" },
        el("h2", {}, view ? view.goal : this.selected),
        el("span", { class: `status ${status}`, id: "task-status" }, status), cancel),
      renderTaskTree(this.taskEvents),
    );
    if (view && view.answer) box.append(el("div", { class: "answer" }, el("b", {}, "Answer: "), view.answer));
    if (view && view.error) box.append(el("div", { class: "error" }, el("b", {}, "Error: "), view.error));
  }

  async submit(ev) {
    ev.preventDefault();
    const goal = $("goal").value.trim();
    if (!goal) return;
    const reply = await this.request({ op: "submit", goal });
    $("goal").value = "";
    await this.refreshTasks();
    await this.select(reply.task_id);
  }

  async cancel(taskId) {
    await this.request({ op: "cancel", task_id: taskId });
  }

  // -- confirmations ----------------------------------------------------------------------

  renderConfirmations() {
    const box = $("confirmations");
    const pending = [];
    for (const t of this.tasks.values()) for (const c of t.confirmations) pending.push([t, c]);
    const known = new Set(pending.map(([, c]) => c.confirmation_id));
    for (const card of [...box.children]) if (!known.has(card.dataset.cid)) card.remove();
    for (const [t, c] of pending) {
      if (box.querySelector(`[data-cid="${CSS.escape(c.confirmation_id)}"]`)) continue;
      box.append(this.confirmationCard(t, c));
    }
    $("confirm-count").textContent = pending.length ? `(${pending.length})` : "";
  }

  confirmationCard(task, c) {
    const remember = el("input", { type: "checkbox", class: "remember" });
    const scope = el("select", { class: "scope" }, ...["tool", "path", "domain", "command"].map((s) => el("option", { value: s }, s)));
    const diff = el("div", { class: "diff" });
    const answer = (approved) => this.answer(c.confirmation_id, approved, remember.checked, scope.value);
    const card = el("div", { class: "confirmation", "data-cid": c.confirmation_id },
      el("div", { class: "question" }, c.question),
      el("div", { class: "muted" }, `${task.task_id} · ${short(task.goal, 60)} · ${c.confirmation_id}`),
      diff,
      el("div", { class: "answers" },
        el("button", { class: "yes", onclick: () => answer(true) }, "Yes"),
        el("button", { class: "no", onclick: () => answer(false) }, "No"),
        el("label", {}, remember, " remember for this "), scope));
    if (c.kind === "tool" && gr.role !== "viewer") {
      this.req.request({ op: "preview", confirmation_id: c.confirmation_id }).then((r) => {
        if (r.type === "preview" && r.dry_run) diff.append(renderDiff(r.text));
      });
    }
    return card;
  }

  async answer(cid, approved, remember, scope) {
    await this.request({ op: "confirm", confirmation_id: cid, approved, remember, scope });
    await this.refreshTasks();
  }

  // -- memory, models, status -------------------------------------------------------------

  async search(ev) {
    ev.preventDefault();
    const query = $("query").value.trim();
    if (!query) return;
    this.lastQuery = query;
    await this.showHits(query);
  }

  // The hits on screen came from memory as it was: after a forget (or a new note) the last
  // search runs again, so a forgotten note does not stay on screen.
  refreshHits() {
    if (!this.lastQuery || this.hitsPending) return;
    this.hitsPending = true;
    setTimeout(() => { this.hitsPending = false; this.showHits(this.lastQuery); }, 200);
  }

  async showHits(query) {
    const reply = await this.request({ op: "memory_search", query, k: 10 });
    const list = $("hits");
    clear(list);
    const r = reply.result;
    $("search-note").textContent = `${r.hits.length} hits${r.reranked ? ", reranked" : ""}${r.rerank_note ? ` (${r.rerank_note})` : ""}`;
    for (const hit of r.hits) {
      const s = hit.scores;
      const why = Object.entries(s).filter(([, v]) => v !== null).map(([k, v]) => `${k} ${typeof v === "number" && !Number.isInteger(v) ? v.toFixed(3) : v}`).join(" · ");
      list.append(el("li", { class: "hit" },
        el("div", { class: "hit-title" }, hit.title || hit.uri || hit.item_id, el("span", { class: "muted" }, ` ${hit.source} · final ${s.final.toFixed(3)}`)),
        el("div", { class: "hit-text" }, short(hit.text, 400)),
        el("div", { class: "why" }, "why: ", why)));
    }
  }

  async refreshModels() {
    if (!this.req) return;
    const reply = await this.request({ op: "models" });
    const sys = reply.system;
    $("system").textContent = `${sys.total_memory_gb} GB memory (${sys.model_budget_gb} GB for a model) · ${sys.accelerator} · ${sys.cpu_cores} cores · active: ${reply.active}${reply.loaded ? " (loaded)" : ""}`;
    const body = $("models");
    clear(body);
    for (const m of reply.models) {
      const load = el("button", { onclick: () => this.modelOp("model_load", m.id) }, "Load");
      const unload = el("button", { onclick: () => this.modelOp("model_unload", m.id) }, "Unload");
      body.append(el("tr", { class: m.active ? "active" : "" },
        el("td", {}, m.id, m.active ? " ●" : ""),
        el("td", {}, el("span", { class: `fit ${m.badge.replace(/ /g, "-")}`, title: m.reason }, m.badge)),
        el("td", {}, `${m.parameters_b}B ${m.quantization}`),
        el("td", {}, `${m.memory_gb} GB`),
        el("td", {}, m.local ? "on disk" : ""),
        el("td", { class: "muted" }, m.reason),
        el("td", { class: "admin-only" }, load, unload)));
    }
  }

  async modelOp(op, model) {
    this.toast(`${op === "model_load" ? "loading" : "unloading"} ${model}…`);
    const reply = await this.request({ op, model });
    this.toast(`${model}: ${reply.detail}`);
    await this.refreshModels();
  }

  async refreshStatus() {
    const s = await this.request({ op: "status" });
    $("status-line").textContent = `greenroom ${s.version} · pid ${s.pid} · up ${time(s.uptime_s)} · model ${s.model}${s.model_loaded ? " (loaded)" : ""} · ${(s.rss_bytes / 1e6).toFixed(0)} MB · ${s.clients} clients`;
    const box = $("status");
    clear(box);
    const row = (k, v) => el("tr", {}, el("th", {}, k), el("td", {}, v));
    box.append(
      row("version", s.version), row("pid", String(s.pid)), row("uptime", time(s.uptime_s)), row("head", `#${s.head}`),
      row("tasks", Object.entries(s.tasks).map(([k, v]) => `${k} ${v}`).join(" · ") || "none"),
      row("actors", Object.entries(s.actors).map(([k, v]) => `${k} ${v}`).join(" · ")),
      row("model", `${s.model}${s.model_loaded ? " (loaded)" : " (not loaded)"}`),
      row("memory", `${(s.rss_bytes / 1e6).toFixed(0)} MB`), row("clients", String(s.clients)),
      row("timeline", `healed ${this.timeline ? this.timeline.healed : 0} dropped frames from the journal`));
  }

  showTab(name) {
    for (const b of document.querySelectorAll("nav button")) b.classList.toggle("on", b.dataset.tab === name);
    for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== `tab-${name}`;
    if (name === "models") this.refreshModels();
    if (name === "status") this.refreshStatus();
    if (name === "chats") this.chats.refresh();
  }
}

const app = (window.greenroomApp = new App());
$("submit-form").addEventListener("submit", (ev) => app.submit(ev).catch(() => {}));
$("search-form").addEventListener("submit", (ev) => app.search(ev).catch(() => {}));
$("replay").addEventListener("click", () => app.replayFrom());
$("chat-new").addEventListener("submit", (ev) => app.chats.create(ev).catch(() => {}));
$("chat-form").addEventListener("submit", (ev) => app.chats.send(ev).catch(() => {}));
$("chunks").addEventListener("change", () => document.body.classList.toggle("show-chunks", $("chunks").checked));
for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => app.showTab(b.dataset.tab));
app.renderTask();
app.connect().catch((err) => app.state(`cannot attach: ${err.message}`, "bad"));
