// What the user does: join/create rooms, history, sending, private conversations, friends,
// blocking, profile cards and the room owner's menu. Mixed into the App class (see app.js).
import { t } from './i18n.js';
import { $, $$, h, toast } from './dom.js';
import * as dialogs from './ui/dialogs.js';

const MAX_LEN = 500;
const TYPING_EVERY = 3000;
const roomIdOf = (stream) => Number(stream.slice(5));

export const actions = {

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
  },

  async openRoom(id) {
    const stream = `room:${id}`;
    if (this.state.joined.has(id)) { this.activate(stream, { focus: true }); return; }
    const room = this.state.rooms.get(id);
    const askPassword = () => dialogs.passwordDialog(room?.name ?? '', async (pw) => {
      const err = await this.joinRoom(id, { password: pw });
      return err ? this.errorText(err) : null;
    });
    // Members and invited people get in without the password: ask only if the server wants it.
    const err = await this.joinRoom(id);
    if (err?.code === 'wrong_password' || (err?.code === 'bad_request' && room?.has_password)) await askPassword();
    else if (err) toast(this.errorText(err), { kind: 'error' });
  },

  async createRoom() {
    await dialogs.createRoomDialog(async (v) => {
      const cmd = { type: 'create_room', name: v.name, topic: v.topic };
      if (v.password) cmd.password = v.password;
      try {
        const ev = await this.conn.request(cmd);
        this.activate(ev.stream || `room:${ev.room.id}`, { focus: true });
        return null;
      } catch (err) {
        return err.field === 'name' || err.field === 'topic' ? { field: err.field, text: this.errorText(err) } : this.errorText(err);
      }
    });
  },

  async openConversation(id) {
    const c = this.state.conversations.get(id);
    if (!c) return;
    const view = this.ensureView(c.stream);
    if (view.epoch == null) view.epoch = c.epoch;
    this.openTab(c.stream, { activate: true, focus: true });
  },

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
  },

  async loadOlder(stream, before) {
    const view = this.views.get(stream);
    try {
      const ev = await this.conn.request({ type: 'history', stream, before, limit: 50 });
      view.add(ev.messages.filter((m) => !this.state.blocked.has(m.sender?.id)), { older: true });
      view.setHasMore(!!ev.has_more && ev.messages.length > 0);
    } catch { /* try again on the next scroll */ }
  },

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
  },

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
  },

  maybeTyping() {
    const stream = this.state.active;
    if (!stream || !$('#composer-input').value.trim()) return;
    const now = Date.now();
    if (now - this.lastTyping < TYPING_EVERY) return;
    this.lastTyping = now;
    this.conn.sendVolatile({ type: 'typing', stream });
  },

  async answerPm(id, accept) {
    try {
      const ev = await this.conn.request({ type: 'answer_pm', conversation: id, accept });
      this.state.previews.delete(id);
      if (accept) this.openConversation(ev.conversation?.id ?? id);
      this.renderSoon();
    } catch (err) { toast(this.errorText(err), { kind: 'error' }); }
  },

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
  },

  async simple(cmd) {
    try { await this.conn.request(cmd); return null; } catch (err) { return this.errorText(err); }
  },

  friendAnswer(userId, accept) {
    this.simple({ type: 'friend_answer', user: userId, accept }).then((e) => e && toast(e, { kind: 'error' }));
  },

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
      actions.push({ label: t('report.action'), testid: 'profile-report', run: async () => { setTimeout(() => this.openReport({ target: 'user', user: u.id, who: u.pseudo })); return null; } });
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
  },

  // Room header menu.
  menuItems() {
    const { active, me } = this.state;
    if (!active) return [];
    if (active.startsWith('dm:')) {
      const c = this.convByStream(active);
      return [
        c && { label: t('room.view_profile'), run: () => this.openProfile(c.peer.id) },
        c && { label: t('report.person', { name: c.peer.pseudo }), testid: 'menu-report', run: () => this.openReport({ target: 'user', user: c.peer.id, who: c.peer.pseudo }) },
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
        { label: t(j.room.cams ? 'room.cams_forbid' : 'room.cams_allow'), testid: 'menu-cams', run: () => this.simple({ type: 'set_room', room: id, cams: !j.room.cams }).then((e) => e && toast(e, { kind: 'error' })) },
        { label: t('room.invite'), testid: 'menu-invite', run: () => this.pickAndRun(t('room.invite_title', { room: j.room.name }), t('room.invite_action'), this.inviteCandidates(j), (u) => ({ type: 'invite', room: id, user: u }), 'room.invited_toast') },
        { label: t('room.kick'), testid: 'menu-kick', run: () => this.pickAndRun(t('room.kick_title', { room: j.room.name }), t('room.kick_action'), members, (u) => ({ type: 'kick', room: id, user: u })) },
        { label: t('room.transfer'), testid: 'menu-transfer', run: () => this.pickAndRun(t('room.transfer_title', { room: j.room.name }), t('room.transfer_action'), members, (u) => ({ type: 'transfer', room: id, user: u })) },
      );
    }
    items.push({ label: t('report.room'), testid: 'menu-report', run: () => this.openReport({ target: 'room', room: id, who: j?.room.name ?? this.streamTitle(active) }) });
    items.push({ label: t('room.leave'), testid: 'menu-leave', run: () => this.closeTab(active) });
    return items;
  },

  inviteCandidates(j) {
    const seen = new Map();
    const add = (u) => { if (u && u.id !== this.state.me.id && !j.members.has(u.id) && !this.state.blocked.has(u.id)) seen.set(u.id, u); };
    for (const f of this.state.friends.values()) add(f.user);
    for (const c of this.state.conversations.values()) add(c.peer);
    for (const other of this.state.joined.values()) for (const u of other.members.values()) add(u);
    return [...seen.values()].sort((a, b) => a.pseudo.localeCompare(b.pseudo));
  },

  async pickAndRun(title, action, users, build, okKey) {
    await dialogs.pickUserDialog({ title, action, users }, async (userId) => {
      const err = await this.simple(build(userId));
      if (!err && okKey) toast(t(okKey, { name: users.find((u) => u.id === userId)?.pseudo ?? '' }));
      return err;
    });
  },

  async roomSettings(room, topicMode) {
    await dialogs.settingsDialog({
      title: topicMode ? t('room.set_topic') : t('room.set_password'),
      topic: room.topic, showTopic: topicMode, showPassword: !topicMode,
    }, (v) => {
      const cmd = { type: 'set_room', room: room.id };
      if (topicMode) cmd.topic = v.topic; else cmd.password = v.password ?? '';
      return this.simple(cmd);
    });
  },

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
  },

  closeMenu(restoreFocus) {
    const menu = $('#room-menu');
    if (menu.hidden) return;
    menu.hidden = true;
    $('#room-menu-btn').setAttribute('aria-expanded', 'false');
    if (restoreFocus) $('#room-menu-btn').focus();
  },
};
