// Per-stream delivery positions (epoch, last_seq), exactly as docs/protocol.md says:
// seq <= last: drop; seq == last + 1: apply; seq > last + 1: gap, ask `resume`.
export class Streams {
  constructor() {
    this.pos = new Map(); // stream -> {epoch, last}
    this.resuming = new Set(); // streams with a `resume` in flight
    this.waiting = new Map(); // stream -> entries received before the stream's position is known
  }

  has(stream) { return this.pos.has(stream); }
  get(stream) { return this.pos.get(stream); }

  set(stream, epoch, last) {
    this.pos.set(stream, { epoch, last });
    this.resuming.delete(stream);
  }

  forget(stream) {
    this.pos.delete(stream);
    this.resuming.delete(stream);
    this.waiting.delete(stream);
  }

  /** 'apply' | 'drop' | 'gap' | 'unknown' for an incoming durable entry. */
  check(stream, seq) {
    const p = this.pos.get(stream);
    if (!p) return 'unknown';
    if (seq <= p.last) return 'drop';
    if (seq === p.last + 1) return 'apply';
    return 'gap';
  }

  advance(stream, seq) {
    const p = this.pos.get(stream);
    if (p && seq > p.last) p.last = seq;
  }

  /** Keeps an entry that arrived before we knew the stream's position. */
  hold(entry) {
    const list = this.waiting.get(entry.stream) ?? [];
    if (list.length < 500) list.push(entry);
    this.waiting.set(entry.stream, list);
  }

  /** Entries held for a stream, oldest first, removed from the holding area. */
  release(stream) {
    const list = this.waiting.get(stream) ?? [];
    this.waiting.delete(stream);
    return list.sort((a, b) => a.seq - b.seq);
  }

  /** {stream: [epoch, last_seq]} for `hello` / `resume`. */
  positions(only) {
    const out = {};
    for (const [s, p] of this.pos) if (!only || only.includes(s)) out[s] = [p.epoch, p.last];
    return out;
  }
}
