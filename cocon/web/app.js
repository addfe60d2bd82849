// Cocon browser client: boot, screens, state, tabs and rendering. Server events are handled in
// events.js and user actions in actions.js (both mixed into App).
import { setLang, initialLang, t, tn, onLangChange, currentLang } from './i18n.js';
import { $, $$, h, toast } from './dom.js';
import { api } from './api.js';
import { Streams } from './streams.js';
import { Connection } from './connection.js';
import { StreamView } from './ui/messages.js';
import { setupEntry } from './ui/entry.js';
import { renderSidebar, renderTabs } from './ui/rooms.js';
import { renderMembers } from './ui/members.js';
import { events } from './events.js';
import { actions } from './actions.js';
import * as notifier from './notify.js';
import { moderation } from './moderation.js';
import { safety } from './safety.js';
import { features } from './features.js';
import { voice } from './voice.js';

const TABS_KEY = 'cocon.tabs';
const MAX_LEN = 500;
const COUNTER_FROM = 400;

const roomIdOf = (stream) => Number(stream.slice(5));

class App {
  constructor() {
    this.state = {
      me: null, inbox: null,
      rooms: new Map(), // id -> RoomInfo (public + my private/invited)
      invites: new Map(), // roomId -> inviter
      joined: new Map(), // roomId -> {room, members: Map}
      conversations: new Map(), // id -> ConversationInfo
      previews: new Map(), // conversation id -> first message preview
      friends: new Map(), // user id -> FriendInfo
      blocked: new Set(),
      tabs: [], active: null,
      unread: new Map(), // stream -> count
    };
    this.views = new Map(); // stream -> StreamView
    this.typing = new Map(); // stream -> Map(userId -> {user, timer})
    this.streams = new Streams();
    this.conn = null;
    this.firstWelcome = true;
    this.afterWelcome = [];
    this.lastTyping = 0;
    this.renderPending = false;
    this.connState = 'connecting';
  }

  // ---------- boot and screens ----------

  async boot() {
    await setLang(initialLang());
    this.bindChrome();
    setupEntry({ onEntered: (user) => this.enterChat(user), onUnderage: () => this.showScreen('underage'), onBanned: (err) => this.showBanned(err) });
    onLangChange(() => this.langChanged());
    this.langChanged();
    if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch(() => {});
    const res = await api.me();
    if (res.ok && res.data?.user) this.enterChat(res.data.user);
    else if (res.status === 403 && res.data?.error?.code === 'underage') this.showScreen('underage');
    else this.showScreen('entry');
  }

  showScreen(name) {
    $('#boot').hidden = true;
    $('#entry-screen').hidden = name !== 'entry';
    $('#underage-screen').hidden = name !== 'underage';
    $('#banned-screen').hidden = name !== 'banned';
    $('#chat-screen').hidden = name !== 'chat';
    document.body.dataset.screen = name;
    if (name === 'entry') $('#entry-pseudo').focus();
    if (name === 'underage') $('#underage-title').focus();
    if (name === 'banned') $('#banned-title').focus();
  }

  enterChat(user) {
    this.state.me = user;
    this.loadModNotices();
    this.showScreen('chat');
    this.renderAll();
    this.conn = new Connection({
      streams: this.streams,
      onEvent: (ev) => this.onEvent(ev),
      onState: (s) => this.setConnState(s),
      onUnauthorized: () => this.sessionLost(),
      onBanned: (ev) => this.showBanned(ev),
    });
    this.conn.meId = user.id;
    this.restoreInbox(user);
    this.conn.start();
    $('#composer-input').focus();
  }

  sessionLost() {
    try { sessionStorage.removeItem(TABS_KEY); } catch { /* ignore */ }
    this.conn?.clearOutbox();
    location.reload();
  }

  async logout() {
    this.conn?.stop();
    this.conn?.clearOutbox();
    await api.logout();
    try { sessionStorage.removeItem(TABS_KEY); } catch { /* ignore */ }
    location.reload();
  }

  bindChrome() {
    for (const b of $$('.lang-btn')) b.addEventListener('click', () => setLang(b.dataset.lang));
    for (const b of $$('.js-logout')) b.addEventListener('click', () => this.logout());
    const notifBtns = $$('.js-notif');
    const showNotif = (show) => { for (const b of notifBtns) b.hidden = !show; };
    showNotif(notifier.notificationsSupported() && Notification.permission === 'default');
    for (const b of notifBtns) {
      b.addEventListener('click', async () => {
        const p = await notifier.askPermission();
        showNotif(p === 'default');
        toast(t(p === 'granted' ? 'notify.granted' : 'notify.denied'));
      });
    }
    const soundBtns = $$('.js-sound');
    const showSound = () => { for (const b of soundBtns) b.setAttribute('aria-pressed', String(notifier.soundOn())); };
    showSound();
    for (const b of soundBtns) b.addEventListener('click', () => { notifier.setSound(!notifier.soundOn()); showSound(); });
    // Drawers (phones).
    const drawer = (btnId, panelId) => {
      const btn = $(btnId); const panel = $(panelId);
      btn.addEventListener('click', () => this.toggleDrawer(panel, btn, !panel.classList.contains('is-open')));
    };
    drawer('#open-sidebar', '#sidebar');
    drawer('#open-members', '#members-panel');
    for (const b of $$('[data-close-drawer]')) b.addEventListener('click', () => this.closeDrawers(true));
    $('#backdrop').addEventListener('click', () => this.closeDrawers(true));
    document.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return;
      if (!$('#room-menu').hidden) { this.closeMenu(true); return; }
      if ($('.drawer.is-open')) this.closeDrawers(true);
    });
    document.addEventListener('click', (e) => {
      if (!$('#room-menu').hidden && !e.target.closest('.menu-wrap')) this.closeMenu(false);
    });
    $('#room-menu-btn').addEventListener('click', () => ($('#room-menu').hidden ? this.openMenu() : this.closeMenu(false)));
    $('#create-room-btn').addEventListener('click', () => this.createRoom());
    // Composer.
    const input = $('#composer-input');
    $('#composer').addEventListener('submit', (e) => { e.preventDefault(); this.sendCurrent(); });
    input.addEventListener('input', () => { this.updateCounter(); this.maybeTyping(); });
    this.bindAttach();
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && this.state.active) { this.state.unread.delete(this.state.active); this.renderSoon(); }
    });
  }

  toggleDrawer(panel, btn, open) {
    this.closeDrawers(false);
    if (!open) return;
    panel.classList.add('is-open');
    btn.setAttribute('aria-expanded', 'true');
    $('#backdrop').hidden = false;
    panel.querySelector('button, [tabindex]')?.focus();
    this.lastDrawerBtn = btn;
  }

  closeDrawers(restoreFocus) {
    const wasOpen = !!$('.drawer.is-open');
    for (const p of $$('.drawer')) p.classList.remove('is-open');
    for (const b of $$('.drawer-btn')) b.setAttribute('aria-expanded', 'false');
    $('#backdrop').hidden = true;
    if (wasOpen && restoreFocus) this.lastDrawerBtn?.focus();
  }

  setConnState(s) {
    this.connState = s;
    const el = $('#conn-status');
    el.dataset.state = s;
    $('#conn-status-text').textContent = t(`conn.${s}`);
  }

  langChanged() {
    this.cardsKey = null;
    for (const b of $$('.lang-btn')) b.setAttribute('aria-pressed', String(b.dataset.lang === currentLang()));
    this.setConnState(this.connState);
    for (const v of this.views.values()) { v.retime(); v.setTitle(this.streamTitle(v.stream)); }
    if (this.state.me) this.renderAll();
    if (this.modNotices) this.renderModNotices();
  }

  // ---------- rendering ----------

  renderSoon() {
    if (this.renderPending) return;
    this.renderPending = true;
    Promise.resolve().then(() => { this.renderPending = false; this.renderAll(); });
  }

  renderAll() {
    const keep = this.focusKey();
    renderSidebar(this);
    renderTabs(this);
    this.renderHeader();
    this.renderMembersPanel();
    this.renderTyping();
    this.renderComposer();
    this.renderCards();
    this.renderCallButtons();
    this.renderCamsButton();
    this.renderVoice();
    const total = [...this.state.unread.values()].reduce((a, b) => a + b, 0);
    document.title = total ? `(${total}) ${t('app.title')}` : t('app.title');
    if (keep) document.querySelector(keep)?.focus();
  }

  /** A selector for the focused list item, to give focus back after a re-render. */
  focusKey() {
    const a = document.activeElement;
    if (!a || !a.closest('#sidebar, #members, #tabs')) return null;
    for (const attr of ['data-room-id', 'data-user-id']) {
      if (a.hasAttribute(attr)) return `[${attr}="${CSS.escape(a.getAttribute(attr))}"]`;
    }
    if (a.id) return `#${CSS.escape(a.id)}`;
    return null;
  }

  streamTitle(stream) {
    if (!stream) return '';
    if (stream.startsWith('room:')) return this.state.rooms.get(roomIdOf(stream))?.name ?? this.state.joined.get(roomIdOf(stream))?.room.name ?? '…';
    const c = this.convByStream(stream);
    return c ? c.peer.pseudo : '…';
  }

  convByStream(stream) {
    for (const c of this.state.conversations.values()) if (c.stream === stream) return c;
    return null;
  }

  renderHeader() {
    const { active, me } = this.state;
    $('#room-header').hidden = !active;
    $('#empty-state').hidden = !!active || this.firstWelcome;
    const banner = $('#stream-banner');
    banner.hidden = true;
    if (!active) return;
    $('#room-title').textContent = this.streamTitle(active);
    const topic = $('#room-topic');
    if (active.startsWith('room:')) {
      const room = this.state.rooms.get(roomIdOf(active));
      topic.textContent = room?.topic || '';
      topic.hidden = !room?.topic;
      $('#room-title').prepend(room?.private ? h('img', { class: 'lock', src: '/static/icons/lock.svg', alt: '', width: 16, height: 16 }) : h('span', { class: 'title-hash', 'aria-hidden': 'true' }, '# '));
    } else {
      const c = this.convByStream(active);
      topic.textContent = c ? t('user.meta', { age: c.peer.age, dep: c.peer.dep }) : '';
      topic.hidden = false;
      if (c && c.state === 'pending' && c.requested_by === me.id) banner.textContent = t('pm.pending_banner', { name: c.peer.pseudo });
      else if (c && c.state === 'pending') banner.textContent = t('pm.incoming_banner', { name: c.peer.pseudo });
      else if (c && c.state === 'declined') banner.textContent = t('pm.declined_banner', { name: c.peer.pseudo });
      else if (c && this.state.blocked.has(c.peer.id)) banner.textContent = t('pm.blocked_banner', { name: c.peer.pseudo });
      banner.hidden = !banner.textContent || !(c && (c.state !== 'accepted' || this.state.blocked.has(c.peer.id)));
    }
  }

  renderMembersPanel() {
    const { active, me, blocked } = this.state;
    let users = [];
    let title = active ? undefined : t('members.title');
    if (active?.startsWith('room:')) users = [...(this.state.joined.get(roomIdOf(active))?.members.values() ?? [])];
    else if (active?.startsWith('dm:')) {
      const c = this.convByStream(active);
      users = c ? [me, c.peer] : [];
      title = t('members.conversation');
    }
    renderMembers({ users, meId: me?.id, blocked, title, onProfile: (id) => this.openProfile(id) });
  }

  renderComposer() {
    const { active, me } = this.state;
    let enabled = !!active;
    if (active?.startsWith('dm:')) {
      const c = this.convByStream(active);
      enabled = !!c && (c.state === 'accepted' || (c.state === 'pending' && c.requested_by === me.id)) && !this.state.blocked.has(c.peer.id);
    }
    $('#composer-input').disabled = !enabled;
    $('#composer-send').disabled = !enabled;
    $('#attach-btn').disabled = !enabled;
    this.updateCounter();
  }

  updateCounter() {
    const len = [...$('#composer-input').value].length;
    const c = $('#composer-counter');
    c.textContent = len >= COUNTER_FROM ? tn('composer.remaining', MAX_LEN - len) : '';
    c.classList.toggle('over', len > MAX_LEN - 20);
  }

  renderTyping() {
    const map = this.typing.get(this.state.active);
    const names = map ? [...map.values()].map((x) => x.user.pseudo) : [];
    let text = '';
    if (names.length === 1) text = t('typing.one', { name: names[0] });
    else if (names.length === 2) text = t('typing.two', { a: names[0], b: names[1] });
    else if (names.length > 2) text = t('typing.many');
    $('#typing').textContent = text;
  }

  ensureView(stream) {
    let view = this.views.get(stream);
    if (view) return view;
    view = new StreamView(stream, {
      me: this.state.me, title: this.streamTitle(stream),
      onProfile: (id) => this.openProfile(id),
      onReport: (s, seq, sender) => this.reportMessage(s, seq, sender),
      isTrusted: (id) => this.state.friends.get(id)?.state === 'friends',
      onLoadOlder: (s, before) => this.loadOlder(s, before),
    });
    view.el.id = `log-${stream.replace(':', '-')}`;
    this.views.set(stream, view);
    $('#logs').append(view.el);
    for (const item of this.conn.pendingFor(stream)) view.addPending(item.cid, item.text, item.media);
    return view;
  }

  openTab(stream, { activate = false, focus = false } = {}) {
    if (!this.state.tabs.includes(stream)) this.state.tabs.push(stream);
    this.ensureView(stream);
    if (activate || !this.state.active) this.activate(stream, { focus });
    this.saveTabs();
    this.renderSoon();
  }

  activate(stream, { focus = false } = {}) {
    if (!this.state.tabs.includes(stream)) return;
    this.state.active = stream;
    this.state.unread.delete(stream);
    for (const [s, v] of this.views) {
      v.el.hidden = s !== stream;
      v.setTitle(this.streamTitle(s));
    }
    const view = this.views.get(stream);
    if (view) {
      view.scrollToBottom();
      if (stream.startsWith('dm:') && !view.loaded) this.loadLatest(stream);
    }
    this.closeDrawers(false);
    this.closeMenu(false);
    this.saveTabs();
    this.renderAll();
    if (focus) $('#composer-input').focus();
  }

  closeTab(stream) {
    const i = this.state.tabs.indexOf(stream);
    if (i < 0) return;
    this.state.tabs.splice(i, 1);
    if (stream.startsWith('room:')) {
      this.conn.send({ type: 'leave', room: roomIdOf(stream) });
      this.forgetRoom(roomIdOf(stream));
    } else {
      this.views.get(stream)?.el.remove();
      this.views.delete(stream);
    }
    this.state.unread.delete(stream);
    if (this.state.active === stream) {
      this.state.active = null;
      const next = this.state.tabs[Math.min(i, this.state.tabs.length - 1)];
      if (next) this.activate(next);
    }
    this.saveTabs();
    this.renderAll();
    ($('#tabs .tab.active .tab-btn') || $('#public-rooms button'))?.focus();
  }

  forgetRoom(id) {
    const stream = `room:${id}`;
    this.state.joined.delete(id);
    this.streams.forget(stream);
    this.conn.dropStream(stream);
    this.views.get(stream)?.el.remove();
    this.views.delete(stream);
    this.typing.delete(stream);
    const i = this.state.tabs.indexOf(stream);
    if (i >= 0) this.state.tabs.splice(i, 1);
    if (this.state.active === stream) {
      this.state.active = null;
      if (this.state.tabs.length) this.activate(this.state.tabs[Math.max(0, i - 1)]);
    }
  }

  saveTabs() {
    try { sessionStorage.setItem(TABS_KEY, JSON.stringify({ tabs: this.state.tabs, active: this.state.active })); } catch { /* ignore */ }
  }

  restoreTabs() {
    let saved = null;
    try { saved = JSON.parse(sessionStorage.getItem(TABS_KEY) || 'null'); } catch { /* ignore */ }
    const tabs = Array.isArray(saved?.tabs) ? saved.tabs : [];
    let any = false;
    for (const stream of tabs) {
      if (typeof stream !== 'string') continue;
      if (stream.startsWith('room:')) {
        any = true;
        this.joinRoom(roomIdOf(stream), { activate: stream === saved.active, quiet: true });
      } else if (stream.startsWith('dm:')) {
        const c = this.convByStream(stream);
        if (c) { any = true; this.openTab(stream, { activate: stream === saved.active }); }
      }
    }
    if (!any) {
      const first = [...this.state.rooms.values()].filter((r) => !r.private).sort((a, b) => a.id - b.id)[0];
      if (first) this.joinRoom(first.id, { activate: true, quiet: true });
    }
  }
}

Object.assign(App.prototype, events, actions, moderation, safety, features, voice);

const app = new App();
app.boot().catch((e) => { console.error(e); });
