// The WebSocket: hello + resume, reconnect with backoff and jitter, request/reply by `ref`,
// and the outbox of messages not yet acknowledged (re-sent with the same cid after a reconnect).
import { uuid } from './dom.js';

const OUTBOX_KEY = 'cocon.outbox';
const PING_EVERY = 20000;
const PONG_TIMEOUT = 10000;
const MAX_DELAY = 10000;

export class Connection {
  /**
   * @param {object} o
   * @param {import('./streams.js').Streams} o.streams
   * @param {(ev: object) => void} o.onEvent every event from the server
   * @param {(state: string) => void} o.onState 'connecting' | 'online' | 'reconnecting' | 'closed'
   * @param {() => void} o.onUnauthorized the session is gone
   * @param {(err: object) => void} o.onBanned hello refused: a ban applies (no retry)
   */
  constructor({ streams, onEvent, onState, onUnauthorized, onBanned }) {
    this.streams = streams;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onUnauthorized = onUnauthorized;
    this.onBanned = onBanned;
    this.ws = null;
    this.ready = false; // welcome received on the current socket
    this.stopped = true;
    this.attempt = 0;
    this.everOnline = false;
    this.queue = []; // commands waiting for the next welcome
    this.pending = new Map(); // ref -> {resolve, reject, timer}
    this.seq = 0;
    this.outbox = new Map(); // cid -> {cid, stream, text, retryTimer}
    this.timers = {};
    this.lastFrame = 0;
    this.offlineSince = null;
    this.loadOutbox();
    window.addEventListener('online', () => { if (!this.stopped && !this.ws) this.connectNow(); });
    window.addEventListener('offline', () => { if (this.ws) this.drop(); });
  }

  start() {
    this.stopped = false;
    this.connectNow();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timers.retry);
    if (this.ws) this.ws.close(1000);
    this.cleanup();
    this.onState('closed');
  }

  connectNow() {
    clearTimeout(this.timers.retry);
    if (this.ws) return;
    this.onState(this.everOnline ? 'reconnecting' : 'connecting');
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try {
      ws = new WebSocket(`${proto}//${location.host}/ws`);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastFrame = Date.now();
      ws.send(JSON.stringify({ type: 'hello', streams: this.streams.positions() }));
      this.armHeartbeat();
    };
    ws.onmessage = (e) => {
      this.lastFrame = Date.now();
      let ev;
      try { ev = JSON.parse(e.data); } catch { return; }
      this.dispatch(ev);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.cleanup();
      if (this.stopped) return;
      if (e.code === 1008 && this.unauthorized) { this.stopped = true; this.onUnauthorized(); return; }
      this.scheduleReconnect();
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  /** Forget the current socket now (network gone, or heartbeat lost) and try again. */
  drop() {
    const ws = this.ws;
    this.cleanup();
    if (ws) { ws.onclose = null; try { ws.close(); } catch { /* ignore */ } }
    if (!this.stopped) this.scheduleReconnect();
  }

  cleanup() {
    const wasReady = this.ready;
    this.ws = null;
    this.ready = false;
    clearInterval(this.timers.ping);
    if (wasReady) this.offlineSince = Date.now();
    for (const [ref, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject({ code: 'disconnected', ref });
    }
    this.pending.clear();
    for (const item of this.outbox.values()) clearTimeout(item.retryTimer);
  }

  scheduleReconnect() {
    if (this.stopped) return;
    this.onState(this.everOnline ? 'reconnecting' : 'connecting');
    // Known offline: wait for the 'online' event (with a slow retry in case it never comes).
    const base = navigator.onLine === false ? MAX_DELAY * 3 : Math.min(MAX_DELAY, 500 * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2); // "equal jitter"
    this.attempt += 1;
    clearTimeout(this.timers.retry);
    this.timers.retry = setTimeout(() => this.connectNow(), delay);
  }

  armHeartbeat() {
    clearInterval(this.timers.ping);
    this.timers.ping = setInterval(() => {
      if (!this.ws) return;
      if (Date.now() - this.lastFrame > PING_EVERY + PONG_TIMEOUT) { this.drop(); return; }
      if (this.ready) this.ws.send(JSON.stringify({ type: 'ping', ref: 'ping' }));
    }, PING_EVERY / 2);
  }

  dispatch(ev) {
    if (ev.type === 'error' && ev.code === 'unauthorized' && !this.ready) {
      this.unauthorized = true;
      return;
    }
    if (ev.type === 'error' && ev.code === 'banned' && !this.ready) {
      this.stopped = true;
      this.onBanned?.(ev);
      return;
    }
    if (ev.type === 'welcome') {
      this.ready = true;
      this.attempt = 0;
      this.everOnline = true;
      this.onState('online');
      const queued = this.queue.splice(0);
      for (const cmd of queued) this.raw(cmd);
    }
    if (ev.type === 'pong') return;
    if (ev.type === 'ack') this.acked(ev);
    if (ev.type === 'msg' && ev.cid && this.outbox.has(ev.cid) && ev.sender && ev.sender.id === this.meId) {
      this.forgetOutbox(ev.cid); // our message came back (e.g. in a replay): it is committed
    }
    if (ev.type === 'screened' && ev.cid) this.forgetOutbox(ev.cid); // withheld: never re-sent
    let handledByRequest = false;
    if (ev.ref && this.pending.has(ev.ref)) {
      const p = this.pending.get(ev.ref);
      this.pending.delete(ev.ref);
      clearTimeout(p.timer);
      if (ev.type === 'error') { p.reject(ev); handledByRequest = true; } else p.resolve(ev);
    }
    if (ev.type === 'error' && ev.ref && ev.ref.startsWith('s:')) {
      this.sendFailed(ev);
      handledByRequest = true;
    }
    if (!handledByRequest) this.onEvent(ev);
    if (ev.type === 'welcome') this.flushOutbox();
  }

  raw(cmd) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(cmd));
  }

  /** Fire and forget; held until the next welcome while offline. */
  send(cmd) {
    if (this.ready) this.raw(cmd);
    else if (this.queue.length < 100) this.queue.push(cmd);
  }

  /** Send only if online now (typing, ping: worthless later). */
  sendVolatile(cmd) { if (this.ready) this.raw(cmd); }

  /** A command whose reply (or error) we wait for. Rejects with {code} on error or disconnect. */
  request(cmd, timeout = 15000) {
    return new Promise((resolve, reject) => {
      const ref = `r${++this.seq}`;
      const timer = setTimeout(() => { this.pending.delete(ref); reject({ code: 'timeout', ref }); }, timeout);
      this.pending.set(ref, { resolve, reject, timer });
      if (this.ready) this.raw({ ...cmd, ref });
      else { clearTimeout(timer); this.pending.delete(ref); reject({ code: 'offline', ref }); }
    });
  }

  // ---- outbox: messages until their ack ----

  /** Queues a message (media: an uploaded MediaInfo); returns its cid. Sent now if online, or after the next welcome. */
  sendMessage(stream, text, media = null) {
    const cid = uuid();
    const item = { cid, stream, text, media };
    this.outbox.set(cid, item);
    this.saveOutbox();
    if (this.ready) this.transmit(item);
    return cid;
  }

  transmit(item) {
    if (item.asking) return; // waiting for the person's "Tu es sûr·e ?" answer
    const cmd = { type: 'send', stream: item.stream, cid: item.cid, text: item.text, ref: `s:${item.cid}` };
    if (item.media) cmd.media = item.media.id;
    if (item.confirm) cmd.confirm = true;
    this.raw(cmd);
  }

  flushOutbox() {
    for (const item of this.outbox.values()) this.transmit(item);
  }

  /** "Envoyer quand même": the same cid again, with confirm. */
  confirmSend(cid) {
    const item = this.outbox.get(cid);
    if (!item) return;
    item.asking = false;
    item.confirm = true;
    this.saveOutbox();
    if (this.ready) this.transmit(item);
  }

  acked(ev) {
    if (this.outbox.has(ev.cid)) this.forgetOutbox(ev.cid);
  }

  sendFailed(ev) {
    const cid = ev.ref.slice(2);
    const item = this.outbox.get(cid);
    if (!item) return;
    if (ev.code === 'confirm_needed' && !item.confirm) {
      item.asking = true; // kept, not re-sent, until confirmSend() or forgetOutbox() (after a reload: asked again)
      this.onEvent({ type: 'confirm_needed', cid, stream: item.stream, text: item.text, error: ev });
      return;
    }
    if (ev.code === 'rate_limited' || ev.code === 'internal') {
      const wait = ev.code === 'rate_limited' ? Math.max(0.3, ev.retry_after ?? 1) * 1000 : 2000;
      clearTimeout(item.retryTimer);
      item.retryTimer = setTimeout(() => { if (this.ready && this.outbox.has(cid)) this.transmit(item); }, wait);
      this.onEvent({ type: 'send_delayed', cid, stream: item.stream, error: ev });
      return;
    }
    this.forgetOutbox(cid);
    this.onEvent({ type: 'send_failed', cid, stream: item.stream, text: item.text, error: ev });
  }

  forgetOutbox(cid) {
    const item = this.outbox.get(cid);
    if (item) clearTimeout(item.retryTimer);
    this.outbox.delete(cid);
    this.saveOutbox();
  }

  /** Drops queued messages of a stream we left. */
  dropStream(stream) {
    for (const [cid, item] of this.outbox) if (item.stream === stream) this.forgetOutbox(cid);
  }

  pendingFor(stream) {
    return [...this.outbox.values()].filter((i) => i.stream === stream);
  }

  saveOutbox() {
    try {
      const list = [...this.outbox.values()].map(({ cid, stream, text, media, confirm }) => ({ cid, stream, text, media, confirm }));
      sessionStorage.setItem(OUTBOX_KEY, JSON.stringify(list));
    } catch { /* ignore */ }
  }

  loadOutbox() {
    try {
      const list = JSON.parse(sessionStorage.getItem(OUTBOX_KEY) || '[]');
      for (const i of list) {
        if (i && i.cid && i.stream && (i.text || i.media?.id)) {
          this.outbox.set(i.cid, { cid: i.cid, stream: i.stream, text: i.text || '', media: i.media || null, confirm: !!i.confirm });
        }
      }
    } catch { /* ignore */ }
  }

  clearOutbox() {
    this.outbox.clear();
    try { sessionStorage.removeItem(OUTBOX_KEY); } catch { /* ignore */ }
  }
}
