// One message log per open stream: messages ordered by seq (never twice), pending ones
// ("envoi…") at the bottom until their ack, scroll-back, mentions and safe links.
import { h, genderBadge } from '../dom.js';
import { t, formatTime } from '../i18n.js';
import { mediaBlock } from './media.js';

const TOKEN = /(https?:\/\/[^\s<>"']+)|(@[\p{L}\p{N}_-]{3,20})/gu;
const TRAILING = /[.,;:!?)\]}'"»]+$/u;

/** Plain text -> text nodes, <a> for http(s) links, <mark> for mentions of me. */
export function renderText(text, myPseudo) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    let token = m[0];
    let start = m.index;
    if (m[1]) {
      const trail = token.match(TRAILING);
      if (trail) token = token.slice(0, -trail[0].length);
    }
    if (start > last) frag.append(document.createTextNode(text.slice(last, start)));
    if (m[1]) {
      let url = null;
      try { url = new URL(token); } catch { /* not a URL */ }
      if (url && (url.protocol === 'http:' || url.protocol === 'https:')) {
        frag.append(h('a', { href: url.href, target: '_blank', rel: 'noopener noreferrer nofollow ugc' }, token));
      } else frag.append(document.createTextNode(token));
    } else if (myPseudo && token.slice(1).toLowerCase() === myPseudo.toLowerCase()) {
      frag.append(h('mark', { class: 'mention-me' }, token));
    } else {
      frag.append(h('span', { class: 'mention' }, token));
    }
    last = start + token.length;
  }
  if (last < text.length) frag.append(document.createTextNode(text.slice(last)));
  return frag;
}

export function mentionsMe(msg, me) {
  if (!me || msg.sender?.id === me.id) return false;
  if (Array.isArray(msg.mentions) && msg.mentions.includes(me.id)) return true;
  return new RegExp(`(^|[^\\p{L}\\p{N}_-])@${me.pseudo.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\p{L}\\p{N}_-])`, 'iu').test(msg.text);
}

/** Phones: a long press on a message opens its report dialog. */
function longPress(el, run) {
  let timer = null;
  const stop = () => { clearTimeout(timer); timer = null; };
  el.addEventListener('pointerdown', (e) => {
    if (e.pointerType !== 'touch' || e.target.closest('a, button')) return;
    stop();
    timer = setTimeout(() => { timer = null; run(); }, 600);
  });
  for (const ev of ['pointerup', 'pointercancel', 'pointerleave', 'pointermove']) el.addEventListener(ev, stop);
}

export class StreamView {
  constructor(stream, { me, title, onProfile, onReport, onLoadOlder, isTrusted }) {
    this.stream = stream;
    this.me = me;
    this.isTrusted = isTrusted || (() => false);
    this.onProfile = onProfile;
    this.onReport = onReport;
    this.onLoadOlder = onLoadOlder;
    this.bySeq = new Map();
    this.byCid = new Map();
    this.epoch = null;
    this.hasMore = false;
    this.loadingOlder = false;
    this.loaded = false;
    this.maxSeq = 0;
    this.olderBtn = h('button', { type: 'button', class: 'btn btn-ghost btn-small older-btn', 'data-testid': 'load-older', hidden: true,
      onclick: () => this.requestOlder() }, h('span', { 'data-i18n': 'chat.load_older' }, t('chat.load_older')));
    this.startNote = h('p', { class: 'start-note', hidden: true, 'data-i18n': 'chat.start' }, t('chat.start'));
    this.list = h('ol', { class: 'messages' });
    this.el = h('div', {
      class: 'log', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', tabindex: '0',
      'aria-label': t('chat.log_label', { name: title }), 'data-testid': 'message-log', 'data-stream': stream, hidden: true,
    }, this.olderBtn, this.startNote, this.list);
    this.el.addEventListener('scroll', () => {
      if (this.el.scrollTop < 60) this.requestOlder();
    }, { passive: true });
  }

  setTitle(title) { this.el.setAttribute('aria-label', t('chat.log_label', { name: title })); }

  nearBottom() { return this.el.scrollHeight - this.el.scrollTop - this.el.clientHeight < 80; }
  scrollToBottom() { this.el.scrollTop = this.el.scrollHeight; }

  minSeq() {
    let min = Infinity;
    for (const s of this.bySeq.keys()) if (s < min) min = s;
    return min === Infinity ? null : min;
  }

  requestOlder() {
    if (!this.hasMore || this.loadingOlder || !this.onLoadOlder) return;
    const before = this.minSeq();
    if (before == null || before <= 1) { this.setHasMore(false); return; }
    this.loadingOlder = true;
    Promise.resolve(this.onLoadOlder(this.stream, before)).finally(() => { this.loadingOlder = false; });
  }

  setHasMore(more) {
    this.hasMore = more;
    this.olderBtn.hidden = !more;
    this.startNote.hidden = more || !this.loaded;
  }

  clear() {
    this.bySeq.clear();
    for (const el of [...this.list.children]) if (!el.classList.contains('pending')) el.remove();
    this.maxSeq = 0;
    this.loaded = false;
  }

  /** Inserts messages (any order); a seq already shown is only refreshed. Returns the new ones. */
  add(msgs, { older = false } = {}) {
    const fresh = [];
    const stick = this.nearBottom();
    const before = this.el.scrollHeight;
    const top = this.el.scrollTop;
    let mine = false;
    for (const m of msgs) {
      if (typeof m.seq !== 'number') continue;
      const existing = this.bySeq.get(m.seq);
      if (existing) { this.fill(existing, m); continue; }
      let el = m.cid ? this.byCid.get(m.cid) : null;
      if (el) {
        this.byCid.delete(m.cid);
        el.remove();
        this.fill(el, m);
      } else {
        el = this.build(m);
      }
      this.bySeq.set(m.seq, el);
      this.insert(el, m.seq);
      if (m.seq > this.maxSeq) this.maxSeq = m.seq;
      if (m.sender?.id === this.me?.id) mine = true;
      fresh.push(m);
    }
    this.loaded = true;
    if (older) this.el.scrollTop = top + (this.el.scrollHeight - before);
    else if (stick || mine) this.scrollToBottom();
    return fresh;
  }

  /** A local message shown as "envoi…" until its ack. */
  addPending(cid, text, media = null) {
    if (this.byCid.has(cid)) return;
    const el = this.build({ cid, text, media, sender: this.me, ts: Date.now() / 1000 }, true);
    this.byCid.set(cid, el);
    this.insert(el, Infinity);
    this.scrollToBottom();
  }

  /** The ack of one of our messages: it is committed with this seq. */
  ack(cid, seq) {
    const el = this.byCid.get(cid);
    if (!el) return;
    this.byCid.delete(cid);
    if (this.bySeq.has(seq)) { el.remove(); return; }
    el.classList.remove('pending');
    el.dataset.seq = String(seq);
    el.querySelector('.msg-status')?.remove();
    this.bySeq.set(seq, el);
    el.remove();
    this.insert(el, seq);
    if (seq > this.maxSeq) this.maxSeq = seq;
    this.scrollToBottom();
  }

  fail(cid, reason) {
    const el = this.byCid.get(cid);
    if (!el) return;
    el.classList.remove('pending');
    el.classList.add('failed');
    const status = el.querySelector('.msg-status');
    if (status) { status.removeAttribute('data-i18n'); status.textContent = reason; }
    this.byCid.delete(cid);
    el.removeAttribute('data-cid');
  }

  /** "Tu es sûr·e ?" is open for this pending message. */
  asking(cid) {
    const status = this.byCid.get(cid)?.querySelector('.msg-status');
    if (status) { status.dataset.i18n = 'safety.waiting_confirm'; status.textContent = t('safety.waiting_confirm'); }
  }

  /** The person cancelled a pending message: it goes away. */
  dropPending(cid) {
    this.byCid.get(cid)?.remove();
    this.byCid.delete(cid);
  }

  /** The server withheld the message: it stays, clearly marked "non envoyé", with the reasons. */
  screened(cid, ev) {
    const el = this.byCid.get(cid);
    if (!el) return;
    this.byCid.delete(cid);
    el.removeAttribute('data-cid');
    el.classList.remove('pending');
    el.classList.add('failed', 'not-sent');
    el.dataset.state = 'not-sent';
    const status = el.querySelector('.msg-status');
    if (status) { status.dataset.i18n = 'safety.not_sent'; status.textContent = t('safety.not_sent'); }
    const reasons = (ev.reasons || []).filter(Boolean);
    el.append(h('div', { class: 'not-sent-note', 'data-testid': 'not-sent-note' },
      h('p', {}, ev.message || t('safety.not_sent_default')),
      reasons.length ? h('ul', { class: 'reasons', 'data-testid': 'not-sent-reasons' }, reasons.map((r) => h('li', {}, r))) : null));
  }

  delayed(cid) {
    const status = this.byCid.get(cid)?.querySelector('.msg-status');
    if (status) { status.dataset.i18n = 'chat.sending_slow'; status.textContent = t('chat.sending_slow'); }
  }

  /** A line that is not a message (someone joined, left...). */
  system(text) {
    const stick = this.nearBottom();
    const el = h('li', { class: 'system-line', 'data-testid': 'system-line' }, text);
    this.insert(el, this.maxSeq + 0.5);
    if (stick) this.scrollToBottom();
  }

  insert(el, key) {
    el._key = key;
    let node = this.list.lastElementChild;
    while (node && node._key > key) node = node.previousElementSibling;
    if (node) node.after(el); else this.list.prepend(el);
  }

  build(m, pending = false) {
    const sender = m.sender || {};
    const isMe = sender.id === this.me?.id;
    const el = h('li', {
      class: `msg${isMe ? ' mine' : ''}${pending ? ' pending' : ''}${mentionsMe(m, this.me) ? ' mentions-me' : ''}`,
      'data-testid': 'message', 'data-sender': sender.id,
    });
    if (m.cid) el.dataset.cid = m.cid;
    if (!pending) el.dataset.seq = String(m.seq);
    const author = h('button', { type: 'button', class: `msg-author g-${sender.gender || 'autre'}`, 'data-testid': 'msg-author',
      onclick: () => this.onProfile?.(sender.id) }, sender.pseudo || '?', genderBadge(sender.gender));
    const meta = h('div', { class: 'msg-meta' }, author,
      h('time', { class: 'msg-time', datetime: new Date((m.ts || 0) * 1000).toISOString() }, formatTime(m.ts || Date.now() / 1000)));
    if (pending) meta.append(h('span', { class: 'msg-status', 'data-testid': 'msg-status', 'data-i18n': 'chat.sending' }, t('chat.sending')));
    if (!isMe && !pending && this.onReport) {
      const report = () => this.onReport(this.stream, Number(el.dataset.seq), sender);
      meta.append(h('button', {
        type: 'button', class: 'msg-report', 'data-testid': 'msg-report', onclick: report,
        'aria-label': t('report.message_label', { name: sender.pseudo || '?' }),
      }, h('span', { 'aria-hidden': 'true' }, '⚑ '), h('span', { 'aria-hidden': 'true' }, t('report.action'))));
      longPress(el, report);
    }
    el.append(meta);
    if (m.flag && !isMe && !pending) el.append(...this.mask(m, el, sender));
    else el.append(...this.body(m, isMe));
    if (m.flag && isMe) el.append(h('p', { class: 'flag-note', 'data-testid': 'flag-note' }, t('safety.flag_own')));
    return el;
  }

  /** Text and media of a message. */
  body(m, isMe) {
    const who = m.sender?.pseudo || '?';
    return [
      m.media ? mediaBlock(m.media, { blur: !isMe && !this.isTrusted(m.sender?.id), who }) : null,
      h('p', { class: 'msg-text', 'data-testid': 'msg-text' }, renderText(m.text || '', this.me?.pseudo)),
    ].filter(Boolean);
  }

  /**
   * A flagged message (insults, sexual content): hidden behind "Afficher" / "Signaler". The text
   * stays in the page but `hidden` (not shown, not read out); media are only built on "Afficher".
   */
  mask(m, el, sender) {
    const text = h('p', { class: 'msg-text', 'data-testid': 'msg-text', hidden: true }, renderText(m.text || '', this.me?.pseudo));
    const box = h('div', { class: 'msg-masked', 'data-testid': 'msg-masked', 'data-flag': m.flag },
      h('p', { class: 'masked-text' }, h('span', { 'aria-hidden': 'true' }, '⚠ '), t(m.flag === 'sexual' ? 'safety.masked_sexual' : 'safety.masked_harassment')));
    const show = () => {
      box.replaceWith(...(m.media ? [mediaBlock(m.media, { blur: !this.isTrusted(sender.id), who: sender.pseudo || '?' })] : []));
      text.hidden = false;
      text.tabIndex = -1;
      text.focus();
    };
    box.append(h('div', { class: 'masked-actions' },
      h('button', { type: 'button', class: 'btn btn-small btn-ghost', 'data-testid': 'msg-unmask', onclick: show }, t('safety.show')),
      this.onReport ? h('button', { type: 'button', class: 'btn btn-small btn-soft', 'data-testid': 'masked-report',
        onclick: () => this.onReport(this.stream, Number(el.dataset.seq), sender) }, t('report.action')) : null));
    return [box, text];
  }

  /** My friend's media, blurred before we were friends, show directly from now on. */
  revealTrusted() {
    for (const box of this.list.querySelectorAll('.msg-media[data-blurred="true"]')) {
      if (this.isTrusted(Number(box.closest('.msg')?.dataset.sender))) box.reveal?.();
    }
  }

  fill(el, m) {
    el.classList.remove('pending');
    el.dataset.seq = String(m.seq);
    el.querySelector('.msg-status')?.remove();
    if (m.ts) {
      const time = el.querySelector('time');
      if (time) { time.textContent = formatTime(m.ts); time.setAttribute('datetime', new Date(m.ts * 1000).toISOString()); }
    }
    if (mentionsMe(m, this.me)) el.classList.add('mentions-me');
    if (m.flag && m.sender?.id === this.me?.id && !el.querySelector('.flag-note')) {
      el.append(h('p', { class: 'flag-note', 'data-testid': 'flag-note' }, t('safety.flag_own')));
    }
  }

  /** Moderation removed an entry's text: keep its place, say so. */
  redact(seq) {
    const el = this.bySeq.get(seq);
    if (!el) return;
    for (const x of el.querySelectorAll('.msg-media, .msg-masked, .flag-note')) x.remove();
    let text = el.querySelector('.msg-text');
    if (!text) { text = h('p', { class: 'msg-text', 'data-testid': 'msg-text' }); el.append(text); }
    text.hidden = false;
    text.replaceChildren(h('em', { class: 'redacted', 'data-i18n': 'chat.deleted' }, t('chat.deleted')));
  }

  /** Hide (or show again) every message of a blocked user. */
  filterBlocked(blocked) {
    for (const el of this.list.children) {
      if (el.dataset.sender) el.hidden = blocked.has(Number(el.dataset.sender));
    }
  }

  retime() {
    for (const time of this.list.querySelectorAll('time')) {
      const d = new Date(time.getAttribute('datetime'));
      if (!Number.isNaN(d.getTime())) time.textContent = formatTime(d.getTime() / 1000);
    }
  }
}
