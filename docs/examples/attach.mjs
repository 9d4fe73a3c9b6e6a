// Attach to greenroom from Node (>= 22, or 20 with --experimental-websocket): no library needed.
// Subscribes to the timeline, submits a task, prints its events and exits when it ends.
//   GREENROOM_URL=ws://127.0.0.1:7311 GREENROOM_TOKEN=grt_... node attach.mjs "what to do"
const base = process.env.GREENROOM_URL ?? "ws://127.0.0.1:7311";
const token = process.env.GREENROOM_TOKEN;
const goal = process.argv[2] ?? "say hello";

function open(url, protocol) {
  const ws = new WebSocket(url, [protocol]);
  ws.binaryType = "arraybuffer";
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
  });
}

// REQ over WebSocket: a 4-byte request id with the high bit set, then the JSON body; the reply echoes it.
let nextId = 0;
function request(ws, body) {
  const id = (0x80000000 | ++nextId) >>> 0;
  const json = new TextEncoder().encode(JSON.stringify(body));
  const frame = new Uint8Array(4 + json.length);
  new DataView(frame.buffer).setUint32(0, id);
  frame.set(json, 4);
  return new Promise((resolve) => {
    ws.addEventListener("message", function onReply(msg) {
      if (new DataView(msg.data).getUint32(0) !== id) return;
      ws.removeEventListener("message", onReply);
      resolve(JSON.parse(new TextDecoder().decode(new Uint8Array(msg.data, 4))));
    });
    ws.send(frame);
  });
}

const control = await open(`${base}/control`, "rep.sp.nanomsg.org");
const hello = await request(control, { op: "hello", protocol: 1, client: "node-example", token });
if (hello.type === "error") throw new Error(`${hello.code}: ${hello.message}`);
// The timeline URL carries a single-use ticket; each frame is "<topic> <json envelope>".
const timeline = await open(hello.timeline_json, "pub.sp.nanomsg.org");
let taskId = null;
const early = []; // frames that arrive before the submit reply tells us the task id
function show(env) {
  if (env.task_id !== taskId || env.event.type === "llm.chunk") return;
  console.log(`#${env.seq} ${env.event.type} ${env.event.answer ?? env.event.intent ?? env.event.tool ?? ""}`);
  if (["task.finished", "task.failed", "task.cancelled"].includes(env.event.type)) process.exit(0);
}
timeline.onmessage = (msg) => {
  const text = new TextDecoder().decode(msg.data);
  const env = JSON.parse(text.slice(text.indexOf(" ") + 1));
  if (taskId === null) early.push(env);
  else show(env);
};
const submitted = await request(control, { op: "submit", goal });
taskId = submitted.task_id;
console.log(`submitted ${taskId}`);
early.forEach(show);
