// Reporting (messages, people, rooms), statements of reasons and appeals, outcome notices,
// and the screen of a banned person. Mixed into the App class (see app.js).
import { t, currentLang } from './i18n.js';
import { $, h, toast } from './dom.js';
import { api } from './api.js';

// The categories the server accepts, most urgent first (cocon/moderation/policy.py).
export const CATEGORIES = ['minor_in_danger', 'illegal_image', 'terrorism', 'threat_violence', 'sexual_harassment',
  'hate', 'harassment', 'personal_data', 'fraud', 'self_harm', 'spam', 'other'];
const URGENT = new Set(['minor_in_danger', 'illegal_image', 'terrorism', 'threat_violence', 'self_harm']);
const MOD_KINDS = new Set(['sanction', 'report_outcome', 'appeal_outcome', 'held_released']);
const KEEP = 30;
const noticesKey = (id) => `cocon.modnotices.${id}`;

function when(ts) {
  return new Intl.DateTimeFormat(currentLang(), { dateStyle: 'long', timeStyle: 'short' }).format(new Date(ts * 1000));
}

/** A label for a sanction kind or a case outcome (falls back to the server's French label). */
function kindLabel(kind, fallback) {
  const key = `sanction.${kind}`;
  const s = t(key);
  return s === key ? (fallback || kind) : s;
}

/** [term, description, testid] rows of a statement of reasons (notice data or a ban refusal). */
function statementRows(d, roomName, appealRow = true) {
  const rows = [[t('statement.decision'), kindLabel(d.what, d.label), 'st-decision']];
  if (d.room) rows.push([t('statement.room'), roomName || `#${d.room}`, 'st-room']);
  rows.push([t('statement.rule'), d.rule || '—', 'st-rule']);
  if (d.facts) rows.push([t('statement.facts'), d.facts, 'st-facts']);
  if (d.reason) rows.push([t('statement.reason'), d.reason, 'st-reason']);
  if (d.starts_at) rows.push([t('statement.since'), when(d.starts_at), 'st-since']);
  let duration = null;
  if (d.ends_at) duration = t('statement.until', { date: when(d.ends_at) });
  else if (d.permanent || d.what === 'ban') duration = t('statement.permanent');
  else if (d.what === 'mute' || d.what === 'kick') duration = t('statement.no_end');
  if (duration) rows.push([t('statement.duration'), duration, 'st-duration']);
  rows.push([t('statement.by'), t(d.automated ? 'statement.automated' : 'statement.human'), 'st-by']);
  rows.push([t('statement.number'), `n° ${d.sanction}`, 'st-number']);
  if (appealRow) rows.push([t('statement.how_appeal'), t('statement.appeal_text'), 'st-appeal']);
  return rows;
}

function fillStatement(dl, rows) {
  dl.replaceChildren(...rows.flatMap(([k, v, id]) => [h('dt', {}, k), h('dd', { 'data-testid': id }, v)]));
}

export const moderation = {

  // ---------- reporting ----------

  /** target: {target: 'message', stream, seq, who} | {target: 'user', user, who} | {target: 'room', room, who} */
  async openReport(target) {
    const d = $('#report-dialog');
    const form = $('#report-form');
    const select = $('#report-category');
    const comment = $('#report-comment');
    const err = form.querySelector('.form-error');
    const catErr = $('#report-category-error');
    $('#report-title').textContent = t(`report.title_${target.target}`);
    $('#report-subject').textContent = target.who || '';
    $('#report-evidence-hint').textContent = t(target.target === 'message' ? 'report.evidence_hint' : 'report.comment_hint');
    select.replaceChildren(h('option', { value: '' }, t('report.choose')),
      ...CATEGORIES.map((c) => h('option', { value: c }, t(`category.${c}`))));
    select.value = target.category || '';
    select.removeAttribute('aria-invalid');
    comment.value = '';
    err.hidden = true; catErr.hidden = true;
    $('#report-urgent').hidden = !URGENT.has(select.value);
    select.onchange = () => { $('#report-urgent').hidden = !URGENT.has(select.value); catErr.hidden = true; select.removeAttribute('aria-invalid'); };
    const cancel = d.querySelector('[data-cancel]');
    cancel.onclick = () => d.close();
    form.onsubmit = async (e) => {
      e.preventDefault();
      if (!select.value) {
        catErr.textContent = t('report.choose_error'); catErr.hidden = false;
        select.setAttribute('aria-invalid', 'true'); select.focus();
        return;
      }
      const cmd = { type: 'report', target: target.target, category: select.value };
      if (comment.value.trim()) cmd.comment = comment.value.trim();
      for (const k of ['stream', 'seq', 'user', 'room', 'media']) if (target[k] != null) cmd[k] = target[k];
      const btn = form.querySelector('[type=submit]');
      btn.disabled = true;
      try {
        await this.conn.request(cmd);
        d.close();
        const done = $('#report-done-dialog');
        done.querySelector('[data-cancel]').onclick = () => done.close();
        done.showModal();
        done.querySelector('button').focus();
      } catch (e2) {
        err.textContent = this.errorText(e2); err.hidden = false;
      } finally { btn.disabled = false; }
    };
    d.showModal();
    select.focus();
  },

  reportMessage(stream, seq, sender) {
    this.openReport({ target: 'message', stream, seq, who: t('report.subject_message', { name: sender?.pseudo ?? '?' }) });
  },

  // ---------- inbox notices from moderation ----------

  /** The inbox position survives reloads: notices that came while away (or banned) are replayed. */
  restoreInbox(user) {
    try {
      const p = JSON.parse(localStorage.getItem(`cocon.inbox.${user.id}`) || 'null');
      const s = `user:${user.id}`;
      if (p && Number.isInteger(p.epoch) && Number.isInteger(p.last) && !this.streams.has(s)) this.streams.set(s, p.epoch, p.last);
    } catch { /* ignore */ }
  },

  saveInbox() {
    const me = this.state.me;
    const p = me && this.streams.get(`user:${me.id}`);
    if (p) { try { localStorage.setItem(`cocon.inbox.${me.id}`, JSON.stringify({ epoch: p.epoch, last: p.last })); } catch { /* ignore */ } }
  },

  loadModNotices() {
    try { this.modNotices = JSON.parse(localStorage.getItem(noticesKey(this.state.me.id)) || '[]'); } catch { this.modNotices = []; }
    if (!Array.isArray(this.modNotices)) this.modNotices = [];
    this.renderModNotices();
  },

  saveModNotices() {
    try { localStorage.setItem(noticesKey(this.state.me.id), JSON.stringify(this.modNotices.slice(-KEEP))); } catch { /* ignore */ }
  },

  /** Returns true if the notice was one of ours. */
  onModNotice(ev) {
    if (!MOD_KINDS.has(ev.kind)) return false;
    if (!this.modNotices) this.loadModNotices();
    const d = ev.data || {};
    const key = `${ev.kind}:${d.sanction ?? ''}:${d.case ?? ''}:${d.appeal ?? ''}:${d.outcome ?? ''}:${d.held ?? ''}`;
    if (this.modNotices.some((n) => n.key === key)) return true;
    const n = { key, kind: ev.kind, data: d, ts: ev.ts || Date.now() / 1000, unread: true };
    this.modNotices.push(n);
    this.saveModNotices();
    this.renderModNotices();
    // A protective restriction (a minor): the caring card first; the statement is one click away.
    if (ev.kind === 'sanction' && d.what === 'restrict') this.showMinorHelp(d.reason);
    else if (ev.kind === 'sanction') this.showNotice(n);
    else toast(this.noticeTitle(n), { kind: 'info', timeout: 12000, action: t('notices.open'), onAction: () => this.showNotice(n) });
    return true;
  },

  noticeTitle(n) {
    const d = n.data;
    if (n.kind === 'sanction') return t('notices.sanction', { what: kindLabel(d.what, d.label) });
    if (n.kind === 'report_outcome') return t('notices.report_outcome', { case: d.case, outcome: kindLabel(d.outcome) });
    if (n.kind === 'held_released') return t('notices.held_released', { seq: d.seq });
    return t(d.outcome === 'overturned' ? 'notices.appeal_overturned' : 'notices.appeal_upheld', { n: d.sanction });
  },

  renderModNotices() {
    const list = this.modNotices || [];
    $('#mod-notices-section').hidden = list.length === 0;
    $('#mod-notices').replaceChildren(...[...list].reverse().map((n) => h('li', {},
      h('button', { type: 'button', class: `item notice-item${n.unread ? ' unread' : ''}`, 'data-testid': 'mod-notice', 'data-kind': n.kind, onclick: () => this.showNotice(n) },
        h('span', { class: 'notice-title' }, this.noticeTitle(n)),
        h('span', { class: 'user-meta' }, when(n.ts))))));
  },

  showNotice(n) {
    n.unread = false;
    this.saveModNotices();
    this.renderModNotices();
    const d = $('#statement-dialog');
    const form = $('#statement-form');
    const body = $('#statement-body');
    const appealBox = $('#statement-appeal');
    const appealBtn = $('#statement-appeal-btn');
    const done = $('#statement-done');
    const err = form.querySelector('.form-error');
    const text = $('#statement-appeal-text');
    err.hidden = true; done.hidden = true; appealBox.hidden = true; text.value = '';
    const data = n.data;
    if (n.kind === 'sanction') {
      $('#statement-title').textContent = t('statement.title');
      fillStatement(body, statementRows(data, this.state.rooms.get(data.room)?.name));
    } else if (n.kind === 'report_outcome') {
      $('#statement-title').textContent = t('notices.report_title');
      fillStatement(body, [[t('notices.case'), `n° ${data.case}`, 'st-case'], [t('notices.outcome'), kindLabel(data.outcome), 'st-outcome'],
        [t('notices.next'), t(['no_action', 'duplicate', 'forwarded'].includes(data.outcome) ? 'notices.no_action_text' : 'notices.action_text'), 'st-next']]);
    } else if (n.kind === 'held_released') {
      $('#statement-title').textContent = t('notices.held_title');
      fillStatement(body, [[t('notices.next'), t('notices.held_text'), 'st-next'], [t('statement.reason'), data.reason || '—', 'st-reason']]);
    } else {
      $('#statement-title').textContent = t('notices.appeal_title');
      fillStatement(body, [[t('statement.number'), `n° ${data.sanction}`, 'st-number'],
        [t('notices.outcome'), t(data.outcome === 'overturned' ? 'appeal.overturned' : 'appeal.upheld'), 'st-outcome'],
        [t('statement.reason'), data.reason || '—', 'st-reason']]);
    }
    const canAppeal = n.kind === 'sanction' && !n.appealed;
    appealBtn.hidden = !canAppeal;
    appealBtn.textContent = t('appeal.button');
    if (n.appealed) { done.textContent = t('appeal.done', { n: n.appealed }); done.hidden = false; }
    d.querySelector('[data-cancel]').onclick = () => d.close();
    form.onsubmit = async (e) => {
      e.preventDefault();
      if (appealBox.hidden) { // first click on "Contester": ask for the text
        appealBox.hidden = false;
        appealBtn.textContent = t('appeal.submit');
        text.focus();
        return;
      }
      const value = text.value.trim();
      if (!value) { err.textContent = t('appeal.empty'); err.hidden = false; text.focus(); return; }
      appealBtn.disabled = true;
      const result = await this.sendAppeal(data.sanction, value);
      appealBtn.disabled = false;
      if (result.error) { err.textContent = result.error; err.hidden = false; return; }
      n.appealed = result.appeal;
      this.saveModNotices();
      err.hidden = true; appealBox.hidden = true; appealBtn.hidden = true;
      done.textContent = t('appeal.done', { n: result.appeal }); done.hidden = false;
      d.querySelector('[data-cancel]').focus();
    };
    if (!d.open) d.showModal();
    (canAppeal ? appealBtn : d.querySelector('[data-cancel]')).focus();
  },

  /** The `appeal` command when connected; POST /api/appeal otherwise. -> {appeal} | {error} */
  async sendAppeal(sanction, text) {
    if (this.conn?.ready) {
      try { const ev = await this.conn.request({ type: 'appeal', sanction, text }); return { appeal: ev.appeal }; } catch (e) {
        if (e.code !== 'offline' && e.code !== 'disconnected') return { error: this.errorText(e) };
      }
    }
    const res = await api.appeal({ sanction, text });
    if (res.ok) return { appeal: res.data.appeal };
    return { error: this.errorText(res.data?.error) };
  },

  // ---------- banned ----------

  /** refusal: {message, sanction?: {id, rule, reason, ends_at}} from /api/enter or hello. */
  showBanned(refusal) {
    this.conn?.stop();
    for (const dlg of document.querySelectorAll('dialog[open]')) dlg.close();
    if (this.state.me && !this.modNotices) this.loadModNotices();
    const s = refusal.sanction || {};
    let id = s.id;
    if (!id) { const m = /n°\s*(\d+)/.exec(refusal.message || ''); if (m) id = Number(m[1]); }
    const known = (this.modNotices || []).filter((n) => n.kind === 'sanction' && n.data.what === 'ban').find((n) => !id || n.data.sanction === id);
    const data = known ? known.data : { sanction: id, what: 'ban', rule: s.rule, reason: s.reason, ends_at: s.ends_at, permanent: s.ends_at == null && !!s.id };
    const dl = $('#banned-statement');
    if (data.rule || data.reason) fillStatement(dl, statementRows(data, null, false));
    else dl.replaceChildren();
    const msg = $('#banned-server-message');
    msg.textContent = refusal.message || '';
    msg.hidden = !refusal.message || !!(data.rule || data.reason);
    const form = $('#banned-appeal-form');
    const err = form.querySelector('.form-error');
    const doneNote = $('#banned-appeal-done');
    form.hidden = !id || !!known?.appealed;
    if (known?.appealed) { doneNote.textContent = t('appeal.done', { n: known.appealed }); doneNote.hidden = false; }
    form.onsubmit = async (e) => {
      e.preventDefault();
      const text = $('#banned-appeal-text').value.trim();
      if (!text) { err.textContent = t('appeal.empty'); err.hidden = false; $('#banned-appeal-text').focus(); return; }
      const btn = form.querySelector('[type=submit]');
      btn.disabled = true;
      const res = await api.appeal({ sanction: id, text });
      btn.disabled = false;
      if (!res.ok) { err.textContent = this.errorText(res.data?.error); err.hidden = false; return; }
      if (known) { known.appealed = res.data.appeal; this.saveModNotices(); }
      form.hidden = true;
      doneNote.textContent = t('appeal.done', { n: res.data.appeal });
      doneNote.hidden = false;
      doneNote.focus();
    };
    $('#banned-retry').onclick = () => location.reload();
    this.showScreen('banned');
  },
};
