// The timeline in seq order without holes (docs/protocol.md, "Following without loss"):
// subscribe first, replay from the wanted seq until caught up, then take live frames;
// a frame past the next expected seq means nng dropped some: replay the gap first.
// When the timeline is quiet, replay once from the next seq (a drop at a burst's end).

import { Sub } from "./nng.js";

const QUIET_MS = 3000;

export class Timeline {
  // conn: { request(body), timelineUrl() } ; onEvent(envelope) gets each event once, in order.
  constructor(conn, onEvent, onState) {
    this.conn = conn;
    this.onEvent = onEvent;
    this.onState = onState || (() => {});
    this.nextSeq = 1;
    this.healed = 0;
    this.queue = [];
    this.busy = false;
    this.sub = null;
    this.quietTimer = null;
    this.generation = 0;
  }

  async start(fromSeq) {
    this.stop();
    const generation = ++this.generation;
    this.nextSeq = Math.max(1, fromSeq);
    this.queue = [];
    const url = await this.conn.timelineUrl();
    if (generation !== this.generation) return;
    this.sub = new Sub(
      url,
      (_topic, env) => this._live(generation, env),
      () => this.onState("timeline closed"),
    );
    await this.sub.opened;
    this.onState("live");
    await this._run(generation, () => this._replay(generation, null));
    this._arm(generation);
  }

  stop() {
    this.generation++;
    if (this.sub) this.sub.close();
    this.sub = null;
    clearTimeout(this.quietTimer);
  }

  _live(generation, env) {
    if (generation !== this.generation) return;
    this.queue.push(env);
    this._arm(generation);
    this._run(generation, async () => {});
  }

  _arm(generation) {
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => {
      if (generation !== this.generation) return;
      this._run(generation, () => this._replay(generation, null)).then(() => this._arm(generation));
    }, QUIET_MS);
  }

  // One thing at a time: replays and live frames never interleave.
  async _run(generation, job) {
    if (this.busy) {
      this.pendingJob = job;
      return;
    }
    this.busy = true;
    try {
      await job();
      while (generation === this.generation && (this.queue.length || this.pendingJob)) {
        if (this.pendingJob) {
          const next = this.pendingJob;
          this.pendingJob = null;
          await next();
        }
        while (generation === this.generation && this.queue.length) {
          const env = this.queue.shift();
          if (env.seq < this.nextSeq) continue;
          if (env.seq > this.nextSeq) {
            this.healed += env.seq - this.nextSeq;
            await this._replay(generation, env.seq - 1);
          }
          if (env.seq === this.nextSeq) this._take(env);
        }
      }
    } catch (err) {
      this.onState(`timeline error: ${err.message}`);
    } finally {
      this.busy = false;
    }
  }

  _take(env) {
    this.nextSeq = env.seq + 1;
    this.onEvent(env);
  }

  async _replay(generation, upto) {
    for (;;) {
      const page = await this.conn.request({ op: "replay", from_seq: this.nextSeq, to_seq: upto, limit: 1000 });
      if (generation !== this.generation) return;
      if (page.type !== "events") throw new Error(page.message || "replay failed");
      for (const env of page.events) if (env.seq >= this.nextSeq) this._take(env);
      const advanced = page.next_seq > this.nextSeq;
      this.nextSeq = Math.max(this.nextSeq, page.next_seq);
      if (!advanced || this.nextSeq > (upto === null ? page.head : upto)) return;
    }
  }
}
