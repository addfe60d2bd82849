// Server events -> state and views: delivery positions (streams.js), messages, presence,
// rooms, conversations, friends, blocking. Mixed into the App class (see app.js).
import { t, has } from './i18n.js';
import { toast } from './dom.js';
import { mentionsMe } from './ui/messages.js';
import * as notifier from './notify.js';

const PRESENCE_GRACE = 8000;
const TYPING_SHOW = 5000;
const roomIdOf = (stream) => Number(stream.slice(5));

export const events = {

  onEvent(ev) {
    switch (ev.type) {
      case 'welcome': return this.onWelcome(ev);
      case 'msg': case 'notice': case 'hidden': return this.onDurable(ev);
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
      case 'friends': this.state.friends = new Map(ev.friends.map((f) => [f.user.id, f])); this.revealFriends(); return this.renderSoon();
      case 'friend': return this.onFriend(ev);
      case 'blocked': return this.onBlocked(ev);
      case 'send_failed': return this.onSendFailed(ev);
      case 'deleted': return this.views.get(ev.stream)?.redact(ev.seq);
      case 'send_delayed': return this.views.get(ev.stream)?.delayed(ev.cid);
      case 'confirm_needed': return this.onConfirmNeeded(ev);
      case 'screened': return this.onScreened(ev);
      case 'safety': return this.onSafetyCard(ev);
      case 'call': return this.onCall(ev);
      case 'call_signal': return this.onCallSignal(ev);
      case 'voice_muted': case 'voice_ended': return this.onVoice(ev);
      case 'cam': case 'cams': return this.onCam(ev);
      case 'cam_view': return this.onCamView(ev);
      case 'cam_signal': return this.onCamSignal(ev);
      case 'error': if (ev.ref !== 'ping') toast(this.errorText(ev), { kind: 'error' }); return undefined;
      default: return undefined;
    }
  },

  errorText(err) {
    if (!err) return t('errors.generic');
    if (err.code === 'rate_limited' && err.retry_after) return t('errors.rate_limited_in', { s: Math.ceil(err.retry_after) });
    if (has(`errors.${err.code}`)) return t(`errors.${err.code}`);
    return err.message || t('errors.generic');
  },

  onWelcome(ev) {
    const st = this.state;
    const away = this.conn.offlineSince ? Date.now() - this.conn.offlineSince : 0;
    this.conn.offlineSince = null;
    st.me = ev.me;
    this.conn.meId = ev.me.id;
    for (const v of this.views.values()) v.me = ev.me;
    st.inbox = ev.inbox;
    if (!this.streams.has(ev.inbox)) this.streams.set(ev.inbox, ev.inbox_epoch, ev.inbox_seq);
    this.saveInbox();
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
      this.camsRenewed();
      for (const stream of st.tabs) {
        if (!stream.startsWith('room:')) continue;
        // A room whose resume failed is joined again (reload); one we were away from for
        // longer than the presence grace period too, to refresh its member list.
        if (!this.streams.has(stream) || away > PRESENCE_GRACE) this.rejoin(roomIdOf(stream));
      }
    }
    for (const f of this.afterWelcome.splice(0)) f();
    for (const v of this.views.values()) v.filterBlocked(st.blocked);
    this.renderAll();
  },

  onDurable(ev) {
    const r = this.streams.check(ev.stream, ev.seq);
    if (r === 'unknown') { this.streams.hold(ev); return; }
    if (r === 'drop') return;
    if (r === 'gap') { this.requestResume(ev.stream); return; }
    this.streams.advance(ev.stream, ev.seq);
    if (ev.stream.startsWith('user:')) this.saveInbox();
    if (ev.type === 'notice') this.onNotice(ev);
    else if (ev.type === 'msg') this.onMessage(ev);
    // 'hidden': an entry from someone I blocked; only the position advances.
  },

  requestResume(stream) {
    if (this.streams.resuming.has(stream)) return;
    this.streams.resuming.add(stream);
    this.conn.send({ type: 'resume', streams: this.streams.positions([stream]) });
    setTimeout(() => this.streams.resuming.delete(stream), 10000);
  },

  releaseHeld(stream) {
    for (const e of this.streams.release(stream)) this.onDurable(e);
  },

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
  },

  onNotice(ev) {
    if (this.onModNotice(ev)) return;
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
    } else if (ev.kind === 'safety' && d.card) {
      this.onSafetyCard({ type: 'safety', ...d });
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
  },

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
    // Not recovered: forget this stream's state and reload it, unless it is gone for us
    // (kicked, conversation closed...: the reason is then an error code).
    if (ev.reason && ev.reason !== 'epoch' && ev.reason !== 'too_far' && !s.startsWith('user:')) {
      this.streamGone(s, ev.reason);
    } else if (s.startsWith('room:')) {
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
  },

  /** `join` again an open room (after an outage); if that fails, the room is gone for us. */
  async rejoin(roomId) {
    try {
      await this.conn.request({ type: 'join', room: roomId });
    } catch (err) {
      if (err.code !== 'disconnected' && err.code !== 'offline' && err.code !== 'timeout') this.streamGone(`room:${roomId}`, err.code);
    }
  },

  streamGone(stream, code) {
    const title = this.streamTitle(stream);
    this.streams.forget(stream);
    if (stream.startsWith('room:')) this.forgetRoom(roomIdOf(stream));
    else if (this.state.tabs.includes(stream)) this.closeTab(stream);
    toast(t('chat.stream_gone', { name: title, reason: this.errorText({ code }) }), { kind: 'error' });
    this.saveTabs();
    this.renderSoon();
  },

  onJoined(ev) {
    const st = this.state;
    const room = ev.room;
    st.rooms.set(room.id, room);
    st.joined.set(room.id, { room, members: new Map(ev.members.map((u) => [u.id, u])), cams: new Map((ev.cams || []).map((c) => [c.user.id, c])) });
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
  },

  onLeft(ev) {
    const room = this.state.rooms.get(ev.room);
    if (ev.reason === 'kicked') toast(t('rooms.kicked', { room: room?.name ?? '' }), { kind: 'error' });
    this.forgetRoom(ev.room);
    this.saveTabs();
    this.renderSoon();
  },

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
  },

  onCounts(ev) {
    for (const [id, n] of Object.entries(ev.counts || {})) {
      const r = this.state.rooms.get(Number(id));
      if (r) r.count = n;
    }
    this.renderSoon();
  },

  onRooms(ev) {
    const rooms = new Map([...this.state.rooms].filter(([, r]) => r.private));
    for (const r of ev.rooms) rooms.set(r.id, r);
    this.state.rooms = rooms;
    this.renderSoon();
  },

  onRoom(ev) {
    const r = ev.room;
    this.state.rooms.set(r.id, { ...this.state.rooms.get(r.id), ...r });
    const j = this.state.joined.get(r.id);
    if (j) j.room = r;
    this.renderSoon();
  },

  onTyping(ev) {
    if (!ev.user || ev.user.id === this.state.me.id || this.state.blocked.has(ev.user.id)) return;
    let map = this.typing.get(ev.stream);
    if (!map) { map = new Map(); this.typing.set(ev.stream, map); }
    clearTimeout(map.get(ev.user.id)?.timer);
    map.set(ev.user.id, { user: ev.user, timer: setTimeout(() => this.typingStop(ev.stream, ev.user.id), TYPING_SHOW) });
    this.renderTyping();
  },

  typingStop(stream, userId) {
    const map = this.typing.get(stream);
    if (!map?.has(userId)) return;
    clearTimeout(map.get(userId).timer);
    map.delete(userId);
    this.renderTyping();
  },

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
  },

  onConversation(ev) {
    const c = ev.conversation;
    const prev = this.upsertConversation(c);
    const me = this.state.me;
    if (prev && prev.state !== c.state && c.requested_by === me.id) {
      if (c.state === 'accepted') toast(t('pm.accepted_toast', { name: c.peer.pseudo }));
      if (c.state === 'declined') toast(t('pm.declined_toast', { name: c.peer.pseudo }));
    }
    this.renderSoon();
  },

  onFriend(ev) {
    if (ev.friend) this.state.friends.set(ev.user, ev.friend);
    else this.state.friends.delete(ev.user);
    this.revealFriends();
    this.renderSoon();
  },

  /** Media of people who became my friends no longer need "Voir". */
  revealFriends() {
    for (const v of this.views.values()) v.revealTrusted();
  },

  onBlocked(ev) {
    this.state.blocked = new Set(ev.users);
    for (const v of this.views.values()) v.filterBlocked(this.state.blocked);
    for (const [stream, map] of this.typing) for (const id of [...map.keys()]) if (this.state.blocked.has(id)) this.typingStop(stream, id);
    this.renderSoon();
  },

  onSendFailed(ev) {
    const text = this.errorText(ev.error);
    this.views.get(ev.stream)?.fail(ev.cid, text);
    toast(text, { kind: 'error' });
  },
};
