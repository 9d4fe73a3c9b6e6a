// nng's Scalability Protocols over WebSocket, the two patterns the page needs.
// REQ: each request is one binary frame, a 4-byte request id with the high bit set
// (big-endian), then the body; the daemon's Rep0 echoes the id before its reply.
// SUB: each frame is "<topic> <body>"; the page takes every topic.
// Bodies are JSON (a frame starting with "{"), so no msgpack library is needed.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Req {
  constructor(url) {
    this.url = url;
    this.pending = new Map();
    this.nextId = (Math.random() * 0x7fffffff) >>> 0;
    this.onclose = null;
    this.ws = new WebSocket(url, ["rep.sp.nanomsg.org"]);
    this.ws.binaryType = "arraybuffer";
    this.opened = new Promise((resolve, reject) => {
      this.ws.onopen = () => resolve();
      this.ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
    this.ws.onmessage = (msg) => this._reply(msg.data);
    this.ws.onclose = () => {
      for (const { reject } of this.pending.values()) reject(new Error("connection closed"));
      this.pending.clear();
      if (this.onclose) this.onclose();
    };
  }

  _reply(data) {
    if (!(data instanceof ArrayBuffer) || data.byteLength < 4) return;
    const id = new DataView(data).getUint32(0, false);
    const waiter = this.pending.get(id);
    if (!waiter) return; // a reply to a request that timed out
    this.pending.delete(id);
    clearTimeout(waiter.timer);
    try {
      waiter.resolve(JSON.parse(decoder.decode(new Uint8Array(data, 4))));
    } catch (err) {
      waiter.reject(err);
    }
  }

  async request(body, timeoutMs = 60000) {
    await this.opened;
    this.nextId = (this.nextId + 1) & 0x7fffffff;
    const id = (this.nextId | 0x80000000) >>> 0;
    const payload = encoder.encode(JSON.stringify(body));
    const frame = new Uint8Array(4 + payload.length);
    new DataView(frame.buffer).setUint32(0, id, false);
    frame.set(payload, 4);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${body.op}: no reply within ${timeoutMs / 1000}s`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(frame);
    });
  }

  close() {
    this.ws.close();
  }
}

export class Sub {
  constructor(url, onEvent, onclose) {
    this.ws = new WebSocket(url, ["pub.sp.nanomsg.org"]);
    this.ws.binaryType = "arraybuffer";
    this.opened = new Promise((resolve, reject) => {
      this.ws.onopen = () => resolve();
      this.ws.onerror = () => reject(new Error("cannot open the timeline"));
    });
    this.ws.onmessage = (msg) => {
      const text = typeof msg.data === "string" ? msg.data : decoder.decode(msg.data);
      const space = text.indexOf(" ");
      if (space < 0) return;
      try {
        onEvent(text.slice(0, space), JSON.parse(text.slice(space + 1)));
      } catch (err) {
        console.warn("bad timeline frame", err);
      }
    };
    this.ws.onclose = () => onclose && onclose();
  }

  close() {
    this.ws.onclose = null;
    this.ws.close();
  }
}
