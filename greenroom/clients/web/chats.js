// The Chats tab: chats, their messages, a message box; the answer streams from the timeline
// (the answer call's llm.chunk, or the answer in the first call's JSON). Text only, never HTML.

import { el, clear } from "./render.js";

const $ = (id) => document.getElementById(id);
const ENDED = new Set(["task.finished", "task.failed", "task.cancelled", "task.parked"]);

// The value of `key` in a JSON object being written, as far as it is written (null before it starts).
export function partialJsonString(text, key) {
  const start = new RegExp(`"${key}"\\s*:\\s*"`).exec(text);
  if (!start) return null;
  const raw = text.slice(start.index + start[0].length);
  let end = raw.length;
  for (let i = 0; i < raw.length; ) {
    if (raw[i] === "\\") {
      if (i + 1 >= raw.length || (raw[i + 1] === "u" && i + 6 > raw.length)) { end = i; break; }
      i += raw[i + 1] === "u" ? 6 : 2;
    } else if (raw[i] === '"') { end = i; break; } else i += 1;
  }
  try {
    const value = JSON.parse(`"${raw.slice(0, end).replace(/[\u0000-\u001f]/g, " ")}"`);
    const last = value.charCodeAt(value.length - 1);
    return last >= 0xd800 && last <= 0xdbff ? value.slice(0, -1) : value;
  } catch {
    return null;
  }
}

export class Chats {
  constructor(app) {
    this.app = app;
    this.selected = null;
    this.task = null;
    this.streamed = "";
    this.route = "";
    this.live = null;
    this.timer = null;
  }

  async refresh() {
    const reply = await this.app.request({ op: "chats", limit: 200 });
    const list = $("chats");
    clear(list);
    for (const c of reply.chats) {
      const item = el("li", { class: "task chat", "data-chat": c.chat_id, onclick: () => this.select(c.chat_id) },
        el("span", { class: "goal" }, c.title || c.preview || "(untitled)"),
        el("span", { class: "muted" }, `${c.chat_id} · ${c.messages} messages${c.last_status && c.last_status !== "finished" ? ` · ${c.last_status}` : ""}`));
      if (c.chat_id === this.selected) item.classList.add("selected");
      list.append(item);
    }
  }

  async select(chatId) {
    this.selected = chatId;
    const reply = await this.app.request({ op: "chat", chat_id: chatId });
    if (this.selected !== chatId) return;
    for (const li of document.querySelectorAll("#chats li")) li.classList.toggle("selected", li.dataset.chat === chatId);
    this.render(reply.chat);
  }

  render(chat) {
    $("chat-title").textContent = chat.title || "(untitled)";
    const box = $("chat-messages");
    clear(box);
    for (const m of chat.messages) {
      const extras = [...m.images.map((p) => `image ${p}`), ...m.files.map((p) => `file ${p}`)];
      box.append(el("div", { class: `msg ${m.role}` },
        el("b", {}, m.role === "user" ? "You" : "greenroom"), el("div", { class: "text" }, m.text),
        extras.length ? el("div", { class: "muted" }, extras.join(" · ")) : null));
    }
    for (const s of chat.summaries.slice(-1)) {
      box.prepend(el("div", { class: "msg summary muted" }, `Earlier turns, summarised (${s.through} messages): ${s.text}`));
    }
    this.live = el("div", { class: "msg assistant live", id: "chat-live" }, el("b", {}, "greenroom"), el("div", { class: "text" }, this.streamed));
    this.live.hidden = !this.task;
    box.append(this.live);
    box.scrollTop = box.scrollHeight;
  }

  async create(ev) {
    ev.preventDefault();
    const reply = await this.app.request({ op: "chat_create", title: $("chat-new-title").value.trim() });
    $("chat-new-title").value = "";
    await this.refresh();
    await this.select(reply.chat.chat_id);
  }

  async send(ev) {
    ev.preventDefault();
    const text = $("chat-text").value.trim();
    if (!text || !this.selected) return;
    const reply = await this.app.request({ op: "chat_send", chat_id: this.selected, text });
    $("chat-text").value = "";
    this.task = reply.task_id;
    this.streamed = this.route = "";
    await this.select(this.selected);
  }

  stream(text) {
    this.streamed += text;
    if (!this.live) return;
    this.live.hidden = false;
    this.live.querySelector(".text").textContent = this.streamed;
  }

  onEvent(env) {
    const type = env.event.type;
    if (type.startsWith("chat.") || type === "memory.forgotten") this.schedule(); // a forget may scrub a message
    if (!this.task || env.task_id !== this.task) return;
    if (type === "llm.chunk") {
      const rid = env.event.request_id;
      if (rid.endsWith(":answer")) this.stream(env.event.text);
      else if (rid.endsWith(":plan")) {
        this.route += env.event.text;
        const shown = partialJsonString(this.route, "answer");
        if (shown && shown.length > this.streamed.length && shown.startsWith(this.streamed)) {
          this.stream(shown.slice(this.streamed.length));
        }
      }
    } else if (type === "task.planned" && env.event.steps.length) {
      this.streamed = this.route = ""; // steps follow: what streamed was not the answer
    } else if (ENDED.has(type)) {
      this.task = null;
      this.streamed = this.route = "";
      this.schedule();
    }
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.refresh().catch(() => {});
      if (this.selected) this.select(this.selected).catch(() => {});
    }, 150);
  }
}
