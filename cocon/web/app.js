// Cocon browser client: boot, screens, and the chat controller (state + server events).
import { setLang, initialLang, t, tn, has, onLangChange, currentLang } from './i18n.js';
import { $, $$, h, toast } from './dom.js';
import { api } from './api.js';
import { Streams } from './streams.js';
import { Connection } from './connection.js';
import { StreamView, mentionsMe } from './ui/messages.js';
import { setupEntry, resetEntryErrors } from './ui/entry.js';
import { renderSidebar, renderTabs } from './ui/rooms.js';
import { renderMembers } from './ui/members.js';
import * as dialogs from './ui/dialogs.js';
import * as notifier from './notify.js';

const TABS_KEY = 'cocon.tabs';
const MAX_LEN = 500;
const COUNTER_FROM = 400;
const TYPING_SHOW = 5000;
const TYPING_EVERY = 3000;
const PRESENCE_GRACE = 8000;

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
    setupEntry({ onEntered: (user) => this.enterChat(user), onUnderage: () => this.showScreen('underage') });
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
    $('#chat-screen').hidden = name !== 'chat';
    document.body.dataset.screen = name;
    if (name === 'entry') $('#entry-pseudo').focus();
    if (name === 'underage') $('#underage-title').focus();
  }

  enterChat(user) {
    this.state.me = user;
    this.showScreen('chat');
    this.renderAll();
    this.conn = new Connection({
      streams: this.streams,
      onEvent: (ev) => this.onEvent(ev),
      onState: (s) => this.setConnState(s),
      onUnauthorized: () => this.sessionLost(),
    });
    this.conn.meId = user.id;
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
    for (const b of $$('.lang-btn')) b.setAttribute('aria-pressed', String(b.dataset.lang === currentLang()));
    this.setConnState(this.connState);
    for (const v of this.views.values()) { v.retime(); v.setTitle(this.streamTitle(v.stream)); }
    if (this.state.me) this.renderAll();
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
    $('#empty-state').hidden = !!active;
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
    let title;
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
      onLoadOlder: (s, before) => this.loadOlder(s, before),
    });
    view.el.id = `log-${stream.replace(':', '-')}`;
    this.views.set(stream, view);
    $('#logs').append(view.el);
    for (const item of this.conn.pendingFor(stream)) view.addPending(item.cid, item.text);
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

  // ---------- server events ----------

  onEvent(ev) {
    switch (ev.type) {
      case 'welcome': return this.onWelcome(ev);
      case 'msg': case 'notice': return this.onDurable(ev);
      case 'resumed': return this.onResumed(ev);
      case 'ack': return this.views.get(ev.stream)?.ack(ev.cid, ev.seq);
      case 'joined': return this.onJoined(ev);
      case 'left': return this.onLeft(ev);
      case 'presence': return this.onPresence(ev);
      case 'counts': return this.onCounts(ev);
      case 'rooms': return this.onRooms(ev);
      case 'room': return this.onRoom(ev);
      case 'typing': return this.onTyping(ev);
      case 'conversation': return this.onConversation(ev);
      case 'friends': this.state.friends = new Map(ev.friends.map((f) => [f.user.id, f])); return this.renderSoon();
      case 'friend': return this.onFriend(ev);
      case 'blocked': return this.onBlocked(ev);
      case 'send_failed': return this.onSendFailed(ev);
      case 'send_delayed': return this.views.get(ev.stream)?.delayed(ev.cid);
      case 'error': if (ev.ref !== 'ping') toast(this.errorText(ev), { kind: 'error' }); return undefined;
      default: return undefined;
    }
  }

  errorText(err) {
    if (!err) return t('errors.generic');
    if (err.code === 'rate_limited' && err.retry_after) return t('errors.rate_limited_in', { s: Math.ceil(err.retry_after) });
    if (has(`errors.${err.code}`)) return t(`errors.${err.code}`);
    return err.message || t('errors.generic');
  }

  onWelcome(ev) {
    const st = this.state;
    const away = this.conn.offlineSince ? Date.now() - this.conn.offlineSince : 0;
    this.conn.offlineSince = null;
    st.me = ev.me;
    this.conn.meId = ev.me.id;
    for (const v of this.views.values()) v.me = ev.me;
    st.inbox = ev.inbox;
    if (!this.streams.has(ev.inbox)) this.streams.set(ev.inbox, ev.inbox_epoch, ev.inbox_seq);
    const rooms = new Map(ev.rooms.map((r) => [r.id, r]));
    for (const [id, j] of st.joined) if (!rooms.has(id)) rooms.set(id, j.room);
    st.rooms = rooms;
    for (const c of ev.conversations) this.upsertConversation(c);
    st.blocked = new Set(ev.blocked || []);
    this.conn.send({ type: 'friends' });
    if (this.firstWelcome) {
      this.firstWelcome = false;
      this.restoreTabs();
    } else {
      for (const stream of st.tabs) {
        if (!stream.startsWith('room:')) continue;
        // A room whose resume failed is re-joined from onResumed; one we were away from for
        // longer than the presence grace period is joined again to refresh its member list.
        if (!this.streams.has(stream) || away > PRESENCE_GRACE) this.conn.send({ type: 'join', room: roomIdOf(stream) });
      }
    }
    for (const f of this.afterWelcome.splice(0)) f();
    for (const v of this.views.values()) v.filterBlocked(st.blocked);
    this.renderAll();
  }

  onDurable(ev) {
    const r = this.streams.check(ev.stream, ev.seq);
    if (r === 'unknown') { this.streams.hold(ev); return; }
    if (r === 'drop') return;
    if (r === 'gap') { this.requestResume(ev.stream); return; }
    this.streams.advance(ev.stream, ev.seq);
    if (ev.type === 'notice') this.onNotice(ev); else this.onMessage(ev);
  }

  requestResume(stream) {
    if (this.streams.resuming.has(stream)) return;
    this.streams.resuming.add(stream);
    this.conn.send({ type: 'resume', streams: this.streams.positions([stream]) });
    setTimeout(() => this.streams.resuming.delete(stream), 10000);
  }

  releaseHeld(stream) {
    for (const e of this.streams.release(stream)) this.onDurable(e);
  }

  onMessage(ev) {
    const st = this.state;
    if (!ev.sender || st.blocked.has(ev.sender.id)) return;
    this.typingStop(ev.stream, ev.sender.id);
    const isDm = ev.stream.startsWith('dm:');
    const fromMe = ev.sender.id === st.me.id;
    let view = this.views.get(ev.stream);
    if (!view && isDm && !fromMe) {
      view = this.ensureView(ev.stream);
      const c = this.convByStream(ev.stream);
      view.epoch = c?.epoch ?? null;
      if (!st.tabs.includes(ev.stream)) st.tabs.push(ev.stream);
      this.saveTabs();
    }
    if (!view) return;
    const fresh = view.add([ev]);
    if (view.bySeq.size === 1 && ev.seq > 1) view.setHasMore(true);
    if (!fresh.length || fromMe) { this.renderSoon(); return; }
    const unseen = document.hidden || st.active !== ev.stream;
    if (unseen) st.unread.set(ev.stream, (st.unread.get(ev.stream) || 0) + 1);
    if (!st.active) this.activate(ev.stream);
    const mention = mentionsMe(ev, st.me);
    if ((isDm || mention) && !ev.replay) {
      if (unseen) notifier.chime();
      notifier.notify(isDm ? t('notify.pm_title', { name: ev.sender.pseudo }) : t('notify.mention_title', { name: ev.sender.pseudo, room: this.streamTitle(ev.stream) }),
        ev.text, { tag: ev.stream, onClick: () => this.activate(ev.stream) });
    }
    this.renderSoon();
  }

  onNotice(ev) {
    const st = this.state;
    const d = ev.data || {};
    if (ev.kind === 'pm_request' && d.conversation) {
      const c = d.conversation;
      if (d.preview) st.previews.set(c.id, d.preview);
      this.upsertConversation(c);
      if (!ev.replay && !st.blocked.has(c.peer.id)) {
        toast(t('pm.request_toast', { name: c.peer.pseudo }));
        notifier.chime();
        notifier.notify(t('notify.request_title', { name: c.peer.pseudo }), d.preview || '', { tag: `req-${c.id}` });
      }
    } else if (ev.kind === 'invite' && d.room) {
      st.rooms.set(d.room.id, { ...st.rooms.get(d.room.id), ...d.room });
      st.invites.set(d.room.id, d.by);
      if (!ev.replay) {
        toast(t('rooms.invite_toast', { name: d.by?.pseudo ?? '?', room: d.room.name }), {
          action: t('rooms.join'), onAction: () => this.openRoom(d.room.id), timeout: 15000,
        });
      }
    } else if (ev.kind === 'friend_request' && d.from && !ev.replay) {
      toast(t('friends.request_toast', { name: d.from.pseudo }));
    }
    this.renderSoon();
  }

  onResumed(ev) {
    const s = ev.stream;
    this.streams.resuming.delete(s);
    if (ev.recovered) {
      const p = this.streams.get(s);
      if (!p || p.epoch !== ev.epoch) this.streams.set(s, ev.epoch, ev.last_seq);
      else if (ev.last_seq > p.last) p.last = ev.last_seq;
      this.releaseHeld(s);
      return;
    }
    // Not recovered: forget this stream's state and reload it.
    if (s.startsWith('room:')) {
      this.streams.forget(s); // re-joined after welcome (see onWelcome), the view keeps its epoch
    } else if (s.startsWith('dm:')) {
      this.streams.set(s, ev.epoch, ev.last_seq);
      const view = this.views.get(s);
      if (view) {
        if (view.epoch !== ev.epoch) view.clear();
        const gapFrom = view.epoch === ev.epoch ? view.maxSeq : 0;
        view.epoch = ev.epoch;
        this.afterWelcome.push(() => this.loadLatest(s, gapFrom));
      }
      this.releaseHeld(s);
    } else {
      this.streams.set(s, ev.epoch, ev.last_seq); // inbox: welcome brings conversations and rooms
      this.releaseHeld(s);
    }
  }

  onJoined(ev) {
    const st = this.state;
    const room = ev.room;
    st.rooms.set(room.id, room);
    st.joined.set(room.id, { room, members: new Map(ev.members.map((u) => [u.id, u])) });
    st.invites.delete(room.id);
    const stream = ev.stream || `room:${room.id}`;
    const view = this.ensureView(stream);
    if (view.epoch != null && view.epoch !== ev.epoch) view.clear();
    const gapFrom = view.epoch === ev.epoch ? view.maxSeq : 0;
    view.epoch = ev.epoch;
    this.streams.set(stream, ev.epoch, ev.last_seq);
    const history = (ev.history || []).filter((m) => !st.blocked.has(m.sender?.id));
    view.add(history);
    const first = ev.history?.[0]?.seq;
    view.setHasMore(first ? first > 1 : false);
    if (gapFrom && first && first > gapFrom + 1) this.fillGap(stream, gapFrom, first);
    else if (gapFrom && !first && ev.last_seq > gapFrom) this.fillGap(stream, gapFrom, ev.last_seq + 1);
    this.releaseHeld(stream);
    if (!st.tabs.includes(stream)) st.tabs.push(stream);
    if (!st.active) this.activate(stream);
    view.filterBlocked(st.blocked);
    this.saveTabs();
    this.renderSoon();
  }

  onLeft(ev) {
    const room = this.state.rooms.get(ev.room);
    if (ev.reason === 'kicked') toast(t('rooms.kicked', { room: room?.name ?? '' }), { kind: 'error' });
    this.forgetRoom(ev.room);
    this.saveTabs();
    this.renderSoon();
  }

  onPresence(ev) {
    const j = this.state.joined.get(ev.room);
    if (!j) return;
    const had = j.members.has(ev.user.id);
    if (ev.joined) j.members.set(ev.user.id, ev.user); else j.members.delete(ev.user.id);
    const view = this.views.get(`room:${ev.room}`);
    if (view && had !== ev.joined && ev.user.id !== this.state.me.id && !this.state.blocked.has(ev.user.id)) {
      view.system(t(ev.joined ? 'chat.user_joined' : 'chat.user_left', { name: ev.user.pseudo }));
    }
    if (!ev.joined) this.typingStop(`room:${ev.room}`, ev.user.id);
    this.renderSoon();
  }

  onCounts(ev) {
    for (const [id, n] of Object.entries(ev.counts || {})) {
      const r = this.state.rooms.get(Number(id));
      if (r) r.count = n;
    }
    this.renderSoon();
  }

  onRooms(ev) {
    const rooms = new Map([...this.state.rooms].filter(([, r]) => r.private));
    for (const r of ev.rooms) rooms.set(r.id, r);
    this.state.rooms = rooms;
    this.renderSoon();
  }

  onRoom(ev) {
    const r = ev.room;
    this.state.rooms.set(r.id, { ...this.state.rooms.get(r.id), ...r });
    const j = this.state.joined.get(r.id);
    if (j) j.room = r;
    this.renderSoon();
  }

  onTyping(ev) {
    if (!ev.user || ev.user.id === this.state.me.id || this.state.blocked.has(ev.user.id)) return;
    let map = this.typing.get(ev.stream);
    if (!map) { map = new Map(); this.typing.set(ev.stream, map); }
    clearTimeout(map.get(ev.user.id)?.timer);
    map.set(ev.user.id, { user: ev.user, timer: setTimeout(() => this.typingStop(ev.stream, ev.user.id), TYPING_SHOW) });
    this.renderTyping();
  }

  typingStop(stream, userId) {
    const map = this.typing.get(stream);
    if (!map?.has(userId)) return;
    clearTimeout(map.get(userId).timer);
    map.delete(userId);
    this.renderTyping();
  }

  upsertConversation(c) {
    const st = this.state;
    const prev = st.conversations.get(c.id);
    st.conversations.set(c.id, c);
    const flows = c.state === 'accepted' || (c.state === 'pending' && c.requested_by === st.me.id);
    if (flows) {
      const p = this.streams.get(c.stream);
      const view = this.views.get(c.stream);
      if (!p || p.epoch !== c.epoch) {
        this.streams.set(c.stream, c.epoch, c.last_seq);
        if (view && view.epoch != null && view.epoch !== c.epoch) { view.clear(); this.loadLatest(c.stream); }
        if (view) view.epoch = c.epoch;
      }
      if (prev?.state === 'pending' && c.state === 'accepted' && view) this.loadLatest(c.stream);
      this.releaseHeld(c.stream);
    }
    return prev;
  }

  onConversation(ev) {
    const c = ev.conversation;
    const prev = this.upsertConversation(c);
    const me = this.state.me;
    if (prev && prev.state !== c.state && c.requested_by === me.id) {
      if (c.state === 'accepted') toast(t('pm.accepted_toast', { name: c.peer.pseudo }));
      if (c.state === 'declined') toast(t('pm.declined_toast', { name: c.peer.pseudo }));
    }
    this.renderSoon();
  }

  onFriend(ev) {
    if (ev.friend) this.state.friends.set(ev.user, ev.friend);
    else this.state.friends.delete(ev.user);
    this.renderSoon();
  }

  onBlocked(ev) {
    this.state.blocked = new Set(ev.users);
    for (const v of this.views.values()) v.filterBlocked(this.state.blocked);
    for (const [stream, map] of this.typing) for (const id of [...map.keys()]) if (this.state.blocked.has(id)) this.typingStop(stream, id);
    this.renderSoon();
  }

  onSendFailed(ev) {
    const text = this.errorText(ev.error);
    this.views.get(ev.stream)?.fail(ev.cid, text);
    toast(text, { kind: 'error' });
  }

  // ---------- actions ----------

  async joinRoom(id, { password, activate = true, quiet = false } = {}) {
    const cmd = { type: 'join', room: id };
    if (password) cmd.password = password;
    try {
      const ev = await this.conn.request(cmd);
      if (activate) this.activate(ev.stream || `room:${id}`, { focus: !quiet });
      return null;
    } catch (err) {
      if (!quiet) return err;
      return null;
    }
  }

  async openRoom(id) {
    const stream = `room:${id}`;
    if (this.state.joined.has(id)) { this.activate(stream, { focus: true }); return; }
    const room = this.state.rooms.get(id);
    const askPassword = () => dialogs.passwordDialog(room?.name ?? '', async (pw) => {
      const err = await this.joinRoom(id, { password: pw });
      return err ? this.errorText(err) : null;
    });
    if (room?.has_password && !this.state.invites.has(id)) { await askPassword(); return; }
    const err = await this.joinRoom(id);
    if (err?.code === 'wrong_password') await askPassword();
    else if (err) toast(this.errorText(err), { kind: 'error' });
  }

  async createRoom() {
    await dialogs.createRoomDialog(async (v) => {
      const cmd = { type: 'create_room', name: v.name, topic: v.topic };
      if (v.password) cmd.password = v.password;
      try {
        const ev = await this.conn.request(cmd);
        this.activate(ev.stream || `room:${ev.room.id}`, { focus: true });
        return null;
      } catch (err) { return this.errorText(err); }
    });
  }

  async openConversation(id) {
    const c = this.state.conversations.get(id);
    if (!c) return;
    const view = this.ensureView(c.stream);
    if (view.epoch == null) view.epoch = c.epoch;
    this.openTab(c.stream, { activate: true, focus: true });
  }

  async loadLatest(stream, gapFrom = 0) {
    const view = this.views.get(stream);
    if (!view) return;
    try {
      const ev = await this.conn.request({ type: 'history', stream, limit: 50 });
      view.add(ev.messages.filter((m) => !this.state.blocked.has(m.sender?.id)));
      view.loaded = true;
      view.setHasMore(!!ev.has_more);
      const first = ev.messages[0]?.seq;
      if (gapFrom && first && first > gapFrom + 1) this.fillGap(stream, gapFrom, first);
    } catch (err) {
      if (err.code === 'disconnected' || err.code === 'offline') this.afterWelcome.push(() => this.loadLatest(stream, gapFrom));
    }
  }

  async loadOlder(stream, before) {
    const view = this.views.get(stream);
    try {
      const ev = await this.conn.request({ type: 'history', stream, before, limit: 50 });
      view.add(ev.messages.filter((m) => !this.state.blocked.has(m.sender?.id)), { older: true });
      view.setHasMore(!!ev.has_more && ev.messages.length > 0);
    } catch { /* try again on the next scroll */ }
  }

  /** Fetches the messages between `from` (exclusive, already shown) and `to` (exclusive). */
  async fillGap(stream, from, to) {
    let before = to;
    for (let i = 0; i < 20 && before > from + 1; i++) {
      const view = this.views.get(stream);
      if (!view) return;
      let ev;
      try {
        ev = await this.conn.request({ type: 'history', stream, before, limit: Math.min(100, before - from - 1) });
      } catch { return; }
      view.add(ev.messages.filter((m) => !this.state.blocked.has(m.sender?.id)), { older: true });
      if (!ev.messages.length) return;
      before = ev.messages[0].seq;
    }
  }

  sendCurrent() {
    const input = $('#composer-input');
    const stream = this.state.active;
    const text = input.value.trim();
    if (!stream || !text || input.disabled) return;
    if ([...text].length > MAX_LEN) { toast(t('errors.too_long'), { kind: 'error' }); return; }
    const view = this.ensureView(stream);
    const cid = this.conn.sendMessage(stream, text);
    view.addPending(cid, text);
    input.value = '';
    this.lastTyping = 0;
    this.updateCounter();
  }

  maybeTyping() {
    const stream = this.state.active;
    if (!stream || !$('#composer-input').value.trim()) return;
    const now = Date.now();
    if (now - this.lastTyping < TYPING_EVERY) return;
    this.lastTyping = now;
    this.conn.sendVolatile({ type: 'typing', stream });
  }

  async answerPm(id, accept) {
    try {
      const ev = await this.conn.request({ type: 'answer_pm', conversation: id, accept });
      this.state.previews.delete(id);
      if (accept) this.openConversation(ev.conversation?.id ?? id);
      this.renderSoon();
    } catch (err) { toast(this.errorText(err), { kind: 'error' }); }
  }

  async openPm(userId) {
    try {
      const ev = await this.conn.request({ type: 'open_pm', user: userId });
      const c = ev.conversation;
      if (c.state === 'pending' && c.requested_by !== this.state.me.id) {
        toast(t('pm.already_requested', { name: c.peer.pseudo }));
        this.renderSoon();
        return null;
      }
      this.openConversation(c.id);
      return null;
    } catch (err) { return this.errorText(err); }
  }

  async simple(cmd) {
    try { await this.conn.request(cmd); return null; } catch (err) { return this.errorText(err); }
  }

  friendAnswer(userId, accept) {
    this.simple({ type: 'friend_answer', user: userId, accept }).then((e) => e && toast(e, { kind: 'error' }));
  }

  async openProfile(userId) {
    let card;
    try { card = await this.conn.request({ type: 'profile', user: userId }); } catch (err) { toast(this.errorText(err), { kind: 'error' }); return; }
    const me = this.state.me;
    const u = card.user;
    const actions = [];
    if (u.id !== me.id) {
      actions.push({ label: t('profile.pm'), testid: 'profile-pm', kind: 'primary', run: () => this.openPm(u.id) });
      if (!card.friend) actions.push({ label: t('profile.add_friend'), testid: 'profile-friend', run: async () => { const e = await this.simple({ type: 'friend_request', user: u.id }); if (!e) toast(t('friends.requested_toast', { name: u.pseudo })); return e; } });
      else if (card.friend === 'incoming') actions.push({ label: t('friends.accept'), testid: 'profile-friend', run: () => this.simple({ type: 'friend_answer', user: u.id, accept: true }) });
      else actions.push({ label: t(card.friend === 'friends' ? 'profile.remove_friend' : 'profile.cancel_friend'), testid: 'profile-unfriend', run: () => this.simple({ type: 'friend_remove', user: u.id }) });
      if (card.blocked) actions.push({ label: t('profile.unblock'), testid: 'profile-unblock', run: () => this.simple({ type: 'unblock', user: u.id }) });
      else actions.push({ label: t('profile.block'), testid: 'profile-block', kind: 'danger', run: async () => { const e = await this.simple({ type: 'block', user: u.id }); if (!e) toast(t('profile.blocked_toast', { name: u.pseudo })); return e; } });
      const active = this.state.active;
      if (active?.startsWith('room:')) {
        const j = this.state.joined.get(roomIdOf(active));
        if (j && j.room.private && j.room.owner === me.id) {
          if (j.members.has(u.id)) {
            actions.push({ label: t('room.kick'), testid: 'profile-kick', kind: 'danger', run: () => this.simple({ type: 'kick', room: j.room.id, user: u.id }) });
            actions.push({ label: t('room.transfer'), testid: 'profile-transfer', run: () => this.simple({ type: 'transfer', room: j.room.id, user: u.id }) });
          } else {
            actions.push({ label: t('room.invite_to', { room: j.room.name }), testid: 'profile-invite', run: () => this.simple({ type: 'invite', room: j.room.id, user: u.id }) });
          }
        }
      }
    }
    dialogs.profileDialog(card, actions);
  }

  // ---------- room header menu ----------

  menuItems() {
    const { active, me } = this.state;
    if (!active) return [];
    if (active.startsWith('dm:')) {
      const c = this.convByStream(active);
      return [
        c && { label: t('room.view_profile'), run: () => this.openProfile(c.peer.id) },
        { label: t('room.close_pm'), run: () => this.closeTab(active) },
      ].filter(Boolean);
    }
    const id = roomIdOf(active);
    const j = this.state.joined.get(id);
    const items = [];
    if (j?.room.private && j.room.owner === me.id) {
      const members = [...j.members.values()].filter((u) => u.id !== me.id);
      items.push(
        { label: t('room.set_topic'), testid: 'menu-topic', run: () => this.roomSettings(j.room, true) },
        { label: t('room.set_password'), testid: 'menu-password', run: () => this.roomSettings(j.room, false) },
        { label: t('room.invite'), testid: 'menu-invite', run: () => this.pickAndRun(t('room.invite_title', { room: j.room.name }), t('room.invite_action'), this.inviteCandidates(j), (u) => ({ type: 'invite', room: id, user: u }), 'room.invited_toast') },
        { label: t('room.kick'), testid: 'menu-kick', run: () => this.pickAndRun(t('room.kick_title', { room: j.room.name }), t('room.kick_action'), members, (u) => ({ type: 'kick', room: id, user: u })) },
        { label: t('room.transfer'), testid: 'menu-transfer', run: () => this.pickAndRun(t('room.transfer_title', { room: j.room.name }), t('room.transfer_action'), members, (u) => ({ type: 'transfer', room: id, user: u })) },
      );
    }
    items.push({ label: t('room.leave'), testid: 'menu-leave', run: () => this.closeTab(active) });
    return items;
  }

  inviteCandidates(j) {
    const seen = new Map();
    const add = (u) => { if (u && u.id !== this.state.me.id && !j.members.has(u.id) && !this.state.blocked.has(u.id)) seen.set(u.id, u); };
    for (const f of this.state.friends.values()) add(f.user);
    for (const c of this.state.conversations.values()) add(c.peer);
    for (const other of this.state.joined.values()) for (const u of other.members.values()) add(u);
    return [...seen.values()].sort((a, b) => a.pseudo.localeCompare(b.pseudo));
  }

  async pickAndRun(title, action, users, build, okKey) {
    await dialogs.pickUserDialog({ title, action, users }, async (userId) => {
      const err = await this.simple(build(userId));
      if (!err && okKey) toast(t(okKey, { name: users.find((u) => u.id === userId)?.pseudo ?? '' }));
      return err;
    });
  }

  async roomSettings(room, topicMode) {
    await dialogs.settingsDialog({
      title: topicMode ? t('room.set_topic') : t('room.set_password'),
      topic: room.topic, showTopic: topicMode, showPassword: !topicMode,
    }, (v) => {
      const cmd = { type: 'set_room', room: room.id };
      if (topicMode) cmd.topic = v.topic; else cmd.password = v.password ?? '';
      return this.simple(cmd);
    });
  }

  openMenu() {
    const menu = $('#room-menu');
    const items = this.menuItems();
    menu.replaceChildren(...items.map((it) => h('li', {}, h('button', {
      type: 'button', class: 'menu-item', 'data-testid': it.testid || null,
      onclick: () => { this.closeMenu(false); it.run(); },
      onkeydown: (e) => {
        const all = $$('#room-menu button');
        const i = all.indexOf(e.currentTarget);
        if (e.key === 'ArrowDown') { e.preventDefault(); all[(i + 1) % all.length].focus(); }
        if (e.key === 'ArrowUp') { e.preventDefault(); all[(i - 1 + all.length) % all.length].focus(); }
      },
    }, it.label))));
    menu.hidden = false;
    $('#room-menu-btn').setAttribute('aria-expanded', 'true');
    menu.querySelector('button')?.focus();
  }

  closeMenu(restoreFocus) {
    const menu = $('#room-menu');
    if (menu.hidden) return;
    menu.hidden = true;
    $('#room-menu-btn').setAttribute('aria-expanded', 'false');
    if (restoreFocus) $('#room-menu-btn').focus();
  }
}

const app = new App();
window.cocon = app; // for debugging and tests
app.boot().catch((e) => { console.error(e); });
export { resetEntryErrors };
