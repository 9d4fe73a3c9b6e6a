// DOM helpers and renderers. Text always goes in as text nodes (never innerHTML):
// event contents come from models and files and must not become markup.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
}

export function short(value, limit = 100) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const flat = (text || "").replace(/\s+/g, " ").trim();
  return flat.length > limit ? `${flat.slice(0, limit - 1)}…` : flat;
}

export function time(seconds) {
  if (seconds < 90) return `${seconds.toFixed(0)}s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(0)}m`;
  return `${(seconds / 3600).toFixed(1)}h`;
}

export function detail(event) {
  const e = event;
  switch (e.type) {
    case "task.submitted": return short(e.goal);
    case "task.planned": return `${e.steps.length} step${e.steps.length === 1 ? "" : "s"}: ${short(e.steps.map((s) => s.intent).join("; "), 80)}`;
    case "step.started": return `${e.step}: ${short(e.intent, 80)}`;
    case "step.finished": return `${e.step}: ${short(e.result, 80)}`;
    case "tool.requested": return `${e.tool} ${short(e.args, 80)}`;
    case "tool.decided": return `${e.tool} ${e.decision} (${e.rule})`;
    case "tool.invoked": return e.tool;
    case "tool.result": return `${e.tool} ${e.ok ? "ok" : "failed"} ${short(e.ok ? e.output : e.error, 70)}`;
    case "confirmation.asked": return `${e.confirmation_id} ${short(e.question, 80)}`;
    case "confirmation.answered": return `${e.confirmation_id} ${e.approved ? "yes" : "no"}${e.remember ? " (remembered)" : ""} by ${e.client || "?"}`;
    case "critic.verdict": return `step ${e.step} ${e.verdict}: ${short(e.reason, 60)}`;
    case "task.finished": return short(e.answer);
    case "task.failed": return `${e.code}: ${short(e.error)}`;
    case "task.cancelled": case "task.parked": case "daemon.stopping": return short(e.reason);
    case "llm.finished": return `${e.purpose}: ${e.generated_tokens} tokens, ${e.tokens_per_s.toFixed(1)} tok/s (${e.model})`;
    case "llm.chunk": return short(e.text, 60);
    case "model.loaded": return `${e.model} in ${e.seconds.toFixed(1)}s`;
    case "model.loading": return `${e.model}: loading ${e.purpose ? `the ${e.purpose} ` : ""}${e.reason ? `(${e.reason})` : ""}…`;
    case "model.unloaded": return `${e.model} (${e.reason})`;
    case "memory.stored": return short(e.text, 80);
    case "access.refused": return `${e.transport} ${e.address}: ${e.reason}`;
    case "daemon.started": return `greenroom ${e.version} pid ${e.pid}`;
    case "error": return e.message;
    default: return "";
  }
}

export function renderEvent(env, onclick) {
  const type = env.event.type;
  return el("li", { class: `ev ${type.split(".")[0]} ${type.replace(/\./g, "-")}`, "data-seq": env.seq, onclick },
    el("span", { class: "seq" }, `#${env.seq}`),
    el("span", { class: "type" }, type),
    el("span", { class: "tid" }, env.task_id || "-"),
    el("span", { class: "detail" }, detail(env.event)));
}

export function renderDiff(text) {
  const pre = el("pre", { class: "diff-text" });
  for (const line of text.split("\n")) {
    const kind = line.startsWith("+++") || line.startsWith("---") ? "file"
      : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : "";
    pre.append(el("span", { class: kind }, `${line}\n`));
  }
  return pre;
}

// The task as a tree: plan (latest revision) → steps → tool calls → decision, result.
export function renderTaskTree(events) {
  const plan = { revision: -1, steps: [], reason: "" };
  const steps = new Map();
  const calls = new Map();
  const step = (n) => {
    if (!steps.has(n)) steps.set(n, { n, intent: "", state: "planned", result: "", calls: [], verdicts: [] });
    return steps.get(n);
  };
  for (const env of events) {
    const e = env.event;
    switch (e.type) {
      case "task.planned":
        Object.assign(plan, { revision: e.revision, steps: e.steps, reason: e.reason });
        break;
      case "step.started": Object.assign(step(e.step), { intent: e.intent, state: "running" }); break;
      case "step.finished": Object.assign(step(e.step), { state: e.ok ? "done" : "failed", result: e.result }); break;
      case "critic.verdict": step(e.step).verdicts.push(e); break;
      case "tool.requested": {
        const call = { id: e.call_id, tool: e.tool, args: e.args, round: e.round, decision: null, result: null, asked: null, answered: null };
        calls.set(e.call_id, call);
        step(e.step).calls.push(call);
        break;
      }
      case "tool.decided": if (calls.has(e.call_id)) calls.get(e.call_id).decision = e; break;
      case "tool.result": if (calls.has(e.call_id)) calls.get(e.call_id).result = e; break;
      case "confirmation.asked": if (calls.has(e.call_id)) calls.get(e.call_id).asked = e; break;
      default: break;
    }
  }
  const root = el("ul", { class: "tree" });
  const planNode = el("li", { class: "plan" }, el("span", { class: "label" }, plan.revision < 0 ? "no plan yet" : `plan (revision ${plan.revision})`),
    plan.reason ? el("span", { class: "muted" }, ` ${short(plan.reason, 80)}`) : null);
  const stepList = el("ul", {});
  plan.steps.forEach((s, i) => { if (!steps.has(i + 1)) step(i + 1).intent = s.intent; });
  for (const s of [...steps.values()].sort((a, b) => a.n - b.n)) {
    const node = el("li", { class: `step ${s.state}` },
      el("span", { class: "label" }, `step ${s.n}`), el("span", { class: `pill ${s.state}` }, s.state), ` ${s.intent}`);
    const children = el("ul", {});
    for (const c of s.calls) {
      const d = c.decision;
      const r = c.result;
      const callNode = el("li", { class: "call" },
        el("code", {}, c.tool), " ", el("span", { class: "args" }, short(c.args, 160)),
        d ? el("span", { class: `pill ${d.decision}` }, `${d.decision} · ${d.rule}`) : null,
        c.asked && !r ? el("span", { class: "pill ask" }, "waiting for an answer") : null);
      if (r) {
        const out = el("details", { class: r.ok ? "result ok" : "result failed" },
          el("summary", {}, `${r.ok ? "ok" : "failed"} · ${r.duration_ms.toFixed(0)} ms`),
          el("pre", {}, r.ok ? r.output : r.error));
        callNode.append(out);
      }
      children.append(callNode);
    }
    for (const v of s.verdicts) children.append(el("li", { class: "verdict" }, `critic: ${v.verdict} — ${short(v.reason, 120)}`));
    if (s.result) children.append(el("li", { class: "step-result" }, `result: ${short(s.result, 300)}`));
    node.append(children);
    stepList.append(node);
  }
  planNode.append(stepList);
  root.append(planNode);
  return root;
}
