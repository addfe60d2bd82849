// Safety in the chat: "Tu es sûr·e ?" before sending contact details, messages withheld by the
// server (marked "non envoyé", with the reasons), the caring card for a minor, safety cards
// pinned at the top of a conversation, and sharing photos/videos/sounds. Mixed into the App.
import { t, has } from './i18n.js';
import { $, h, toast } from './dom.js';
import { upload } from './ui/media.js';

const TIPS = {
  safe_meeting: ['safety.tip_public', 'safety.tip_tell', 'safety.tip_own_way', 'safety.tip_leave'],
  scam_warning: ['safety.tip_no_pay', 'safety.tip_no_code', 'safety.tip_block'],
};
const HELP_CARDS = new Set(['safety', 'minor_help']);
const REPORT_AS = { safety: 'minor_in_danger', scam_warning: 'fraud' };
const MAX_LEN = 500;

function helpList() {
  return h('ul', { class: 'help-list' },
    h('li', {}, h('a', { href: 'tel:3018', class: 'help-number' }, '3018'), ' ', t('safety.help_3018'), ' ',
      h('a', { href: 'https://www.3018.fr', rel: 'noopener noreferrer', target: '_blank' }, '3018.fr')),
    h('li', {}, h('a', { href: 'tel:119', class: 'help-number' }, '119'), ' ', t('safety.help_119')));
}

export const safety = {

  // ---------- "Tu es sûr·e ?" ----------

  onConfirmNeeded(ev) {
    this.views.get(ev.stream)?.asking(ev.cid);
    (this.confirmQueue ||= []).push(ev);
    this.nextConfirm();
  },

  nextConfirm() {
    const d = $('#confirm-dialog');
    if (!this.confirmBound) {
      this.confirmBound = true;
      d.querySelector('form').addEventListener('submit', (e) => { e.preventDefault(); this.answerConfirm(true); });
      d.querySelector('[data-cancel]').addEventListener('click', () => this.answerConfirm(false));
      // Escape closes the dialog: that is "Annuler". A closed dialog makes room for the next one.
      d.addEventListener('close', () => { if (this.confirmCurrent) this.answerConfirm(false); else this.nextConfirm(); });
    }
    if (this.confirmCurrent || d.open) return;
    const ev = this.confirmQueue?.[0];
    if (!ev) return;
    this.confirmCurrent = ev;
    // The title already asks "Tu es sûr·e ?": not again at the start of each sentence.
    const text = (ev.error?.message || '').replace(/(^|[.!?]\s+)(Tu es sûr·e|Are you sure)\s*\?\s*/gu, '$1').trim();
    $('#confirm-message').textContent = text || t('safety.confirm_default');
    $('#confirm-quote').textContent = ev.text || '';
    $('#confirm-quote').hidden = !ev.text;
    d.showModal();
    d.querySelector('[data-cancel]').focus();
  },

  answerConfirm(ok) {
    const ev = this.confirmCurrent;
    if (!ev) return;
    this.confirmCurrent = null;
    this.confirmQueue.shift();
    if (ok) {
      this.conn.confirmSend(ev.cid);
      const status = this.views.get(ev.stream)?.byCid.get(ev.cid)?.querySelector('.msg-status');
      if (status) { status.dataset.i18n = 'chat.sending'; status.textContent = t('chat.sending'); }
    } else {
      this.conn.forgetOutbox(ev.cid);
      this.views.get(ev.stream)?.dropPending(ev.cid);
    }
    const d = $('#confirm-dialog');
    if (d.open) d.close(); else this.nextConfirm();
    if (!d.open && !$('#composer-input').disabled) $('#composer-input').focus();
  },

  // ---------- withheld messages ----------

  onScreened(ev) {
    const view = this.views.get(ev.stream);
    if (view?.byCid.has(ev.cid)) view.screened(ev.cid, ev);
    else toast(ev.message || t('safety.not_sent_default'), { kind: 'error', timeout: 15000 });
    if (ev.action === 'restrict_minor' || ev.card === 'minor_help') this.showMinorHelp(ev.message);
  },

  /** The caring card for someone who said they are under 18 (help numbers, what changes). */
  showMinorHelp(message) {
    const d = $('#minor-dialog');
    if (message) $('#minor-message').textContent = message;
    $('#minor-message').hidden = !$('#minor-message').textContent;
    const btn = $('#minor-statement');
    btn.hidden = !this.restrictNotice();
    btn.onclick = () => { const n = this.restrictNotice(); if (!n) return; d.close(); this.showNotice(n); };
    if (!d.open) {
      d.showModal();
      d.querySelector('.help-number').focus();
    }
  },

  restrictNotice() {
    return [...(this.modNotices || [])].reverse().find((n) => n.kind === 'sanction' && n.data.what === 'restrict') || null;
  },

  // ---------- cards beside a conversation ----------

  onSafetyCard(ev) {
    if (ev.card === 'minor_help') { this.showMinorHelp(ev.message); return; }
    this.cards ||= new Map();
    let map = this.cards.get(ev.stream);
    if (!map) { map = new Map(); this.cards.set(ev.stream, map); }
    map.set(ev.card, ev);
    this.cardsVersion = (this.cardsVersion || 0) + 1;
    const st = this.state;
    if (!st.tabs.includes(ev.stream) && ev.stream.startsWith('dm:') && this.convByStream(ev.stream)) this.openTab(ev.stream);
    if (st.active !== ev.stream) {
      toast(t('safety.card_toast', { name: this.streamTitle(ev.stream) }), {
        action: t('safety.card_open'), onAction: () => this.activate(ev.stream, { focus: true }), timeout: 12000,
      });
    }
    this.renderSoon();
  },

  renderCards() {
    const box = $('#safety-cards');
    const stream = this.state.active;
    const key = `${stream}|${this.cardsVersion || 0}`;
    if (this.cardsKey === key) return; // re-render only on change: keeps focus in a card
    this.cardsKey = key;
    const list = stream ? [...(this.cards?.get(stream)?.values() ?? [])] : [];
    box.replaceChildren(...list.map((ev) => this.cardEl(ev)));
    box.hidden = list.length === 0;
  },

  cardEl(ev) {
    const id = `card-${ev.card}`;
    const title = has(`safety.card_${ev.card}`) ? t(`safety.card_${ev.card}`) : t('safety.card_safety');
    const tips = TIPS[ev.card] || [];
    const section = h('section', { class: `safety-card card-${ev.card}`, 'data-testid': 'safety-card', 'data-card': ev.card, 'aria-labelledby': id },
      h('img', { class: 'card-icon', src: '/static/icons/shield.svg', alt: '', width: 26, height: 26 }),
      h('div', { class: 'card-body' },
        h('h3', { id, class: 'card-title' }, title),
        h('p', { 'data-testid': 'card-message' }, ev.message),
        tips.length ? h('ul', { class: 'card-tips' }, tips.map((k) => h('li', {}, t(k)))) : null,
        HELP_CARDS.has(ev.card) ? helpList() : null,
        ev.suggest_report ? h('div', { class: 'card-actions' },
          h('button', { type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'card-report', onclick: () => this.reportFromCard(ev) }, t('report.action'))) : null),
      h('button', { type: 'button', class: 'icon-btn card-close', 'data-testid': 'card-dismiss', 'aria-label': t('safety.card_dismiss', { title }),
        onclick: () => this.dismissCard(ev) }, h('span', { 'aria-hidden': 'true' }, '✕')));
    return section;
  },

  dismissCard(ev) {
    this.cards?.get(ev.stream)?.delete(ev.card);
    this.cardsVersion += 1;
    this.renderCards();
    if (!$('#composer-input').disabled) $('#composer-input').focus();
  },

  reportFromCard(ev) {
    const c = this.convByStream(ev.stream);
    const category = REPORT_AS[ev.card];
    if (c) this.openReport({ target: 'user', user: c.peer.id, who: c.peer.pseudo, category });
    else if (ev.stream.startsWith('room:')) this.openReport({ target: 'room', room: Number(ev.stream.slice(5)), who: this.streamTitle(ev.stream), category });
  },

  // ---------- photos, videos, sounds ----------

  bindAttach() {
    const input = $('#attach-input');
    $('#attach-btn').addEventListener('click', () => input.click());
    input.addEventListener('change', () => {
      const file = input.files?.[0];
      input.value = '';
      if (file) this.uploadFile(file);
    });
    $('#upload-cancel').addEventListener('click', () => this.closeUpload());
  },

  closeUpload() {
    const job = this.uploading;
    this.uploading = null;
    job?.abort();
    const box = $('#upload');
    box.hidden = true;
    box.dataset.state = 'idle';
    $('#attach-btn').focus();
  },

  async uploadFile(file) {
    const stream = this.state.active;
    if (!stream || $('#composer-input').disabled) return;
    this.uploading?.abort();
    const box = $('#upload');
    const bar = $('#upload-progress');
    const err = $('#upload-error');
    box.hidden = false;
    box.dataset.state = 'uploading';
    box.dataset.shown = 'true';
    $('#upload-name').textContent = t('media.uploading', { name: file.name });
    bar.hidden = false;
    bar.value = 0;
    err.hidden = true;
    const job = upload(file, (p) => { bar.value = Math.round(p * 100); box.dataset.progress = String(bar.value); });
    this.uploading = job;
    const res = await job.promise;
    if (this.uploading !== job) return; // cancelled, or replaced by another file
    this.uploading = null;
    if (res.error) {
      // A body declared too big may be refused before it is read: the browser then only sees a
      // broken connection.
      if (res.error.code === 'network' && file.size > 10 * 1024 * 1024) res.error = { code: 'media_too_big', message: '' };
      box.dataset.state = 'error';
      bar.hidden = true;
      $('#upload-name').textContent = file.name;
      err.textContent = this.uploadError(res.error);
      err.hidden = false;
      return;
    }
    box.dataset.state = 'done';
    box.hidden = true;
    const input = $('#composer-input');
    const same = this.state.active === stream;
    const caption = same ? input.value.trim() : '';
    const text = [...caption].length <= MAX_LEN ? caption : '';
    const cid = this.conn.sendMessage(stream, text, res.media);
    this.ensureView(stream).addPending(cid, text, res.media);
    if (same && text) { input.value = ''; this.updateCounter(); }
  },

  /** The server's own message first (too big, refused type, quota, restricted...). */
  uploadError(e) {
    if (e.code === 'rate_limited' && e.retry_after) return t('errors.rate_limited_in', { s: Math.ceil(e.retry_after) });
    if (e.message) return e.message;
    if (has(`media.${e.code}`)) return t(`media.${e.code}`);
    if (has(`errors.${e.code}`)) return t(`errors.${e.code}`);
    return t('media.media_failed');
  },
};
