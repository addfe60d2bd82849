// Voice rooms (Janus AudioBridge), mixed into App. voice_join gives the Janus URL, our id and
// TURN credentials; we open a Janus session and handle, and the server makes that handle join
// (voice_attach): no token ever reaches the browser. Audio goes through TURN only. Open mic or
// push-to-talk (hold Space or the button); who speaks comes from AudioBridge's talking events.
import { t } from './i18n.js';
import { $, h, toast } from './dom.js';

const rid = () => Math.random().toString(36).slice(2, 12);
const userOf = (id) => Math.floor(id / 2 ** 20); // participant id -> user id (docs/protocol.md)

/** Janus WebSocket API: one session, one AudioBridge handle. */
class JanusLink {
  constructor(url, onEvent) {
    this.ws = new WebSocket(url, 'janus-protocol');
    this.tx = new Map();
    this.onEvent = onEvent;
    this.ws.onmessage = (e) => this.receive(JSON.parse(e.data));
    this.ws.onclose = () => { for (const p of this.tx.values()) p.reject(new Error('janus closed')); this.tx.clear(); this.onEvent({ janus: 'closed' }); };
  }

  opened() {
    return new Promise((resolve, reject) => { this.ws.onopen = resolve; this.ws.onerror = () => reject(new Error('janus unreachable')); });
  }

  receive(m) {
    const p = m.transaction && this.tx.get(m.transaction);
    if (p && ['success', 'ack', 'error'].includes(m.janus)) {
      this.tx.delete(m.transaction);
      if (m.janus === 'error') p.reject(new Error(m.error?.reason || 'janus error'));
      else p.resolve(m);
      if (m.janus !== 'success' || !m.plugindata) return;
    }
    if (m.janus !== 'ack' && m.janus !== 'success') this.onEvent(m);
  }

  req(body) {
    const transaction = rid();
    const msg = { ...body, transaction };
    if (this.sid) msg.session_id = this.sid;
    if (this.hid && body.janus !== 'keepalive' && body.janus !== 'destroy') msg.handle_id = this.hid;
    return new Promise((resolve, reject) => { this.tx.set(transaction, { resolve, reject }); this.ws.send(JSON.stringify(msg)); });
  }

  async attach() {
    this.sid = (await this.req({ janus: 'create' })).data.id;
    this.hid = (await this.req({ janus: 'attach', plugin: 'janus.plugin.audiobridge' })).data.id;
    this.alive = setInterval(() => this.req({ janus: 'keepalive' }).catch(() => {}), 25000);
  }

  message(body, jsep) { return this.req({ janus: 'message', body, jsep }); }

  close() {
    clearInterval(this.alive);
    this.ws.onclose = null;
    if (this.ws.readyState === WebSocket.OPEN) this.req({ janus: 'destroy' }).catch(() => {});
    setTimeout(() => this.ws.close(), 100);
  }
}

export const voice = {
  /** The "Salon vocal" button in a joined chat room's header. */
  renderVoice() {
    const header = $('#room-header');
    if (!header) return;
    let btn = $('#voice-btn');
    if (!btn) {
      btn = h('button', { type: 'button', class: 'btn btn-ghost btn-small', id: 'voice-btn', 'data-testid': 'voice-join', onclick: () => this.toggleVoice() });
      header.insertBefore(btn, header.querySelector('.menu-wrap'));
    }
    const room = this.state.active?.startsWith('room:') ? Number(this.state.active.slice(5)) : null;
    btn.hidden = !(room && this.state.joined.has(room));
    const here = this.voice && this.voice.room === room;
    btn.textContent = t(here ? 'voice.leave' : 'voice.join');
    btn.setAttribute('aria-pressed', String(!!here));
  },

  toggleVoice() {
    const room = Number(this.state.active.slice(5));
    if (this.voice) { const same = this.voice.room === room; this.leaveVoice(); if (same) return; }
    this.joinVoice(room).catch((err) => this.voiceFailed(err));
  },

  async joinVoice(room) {
    const ev = await this.conn.request({ type: 'voice_join', room });
    // forced: a moderator muted us here; we join muted and cannot unmute.
    const v = { room, ev, peers: new Map(), muted: !!ev.muted, forced: !!ev.muted, ptt: false, pending: [], pc: null, local: null };
    this.voice = v;
    this.showVoicePanel(v);
    v.janus = new JanusLink(ev.janus, (m) => this.onJanus(v, m).catch((e) => this.voiceFailed(e)));
    await v.janus.opened();
    await v.janus.attach();
    v.local = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    const pc = new RTCPeerConnection({ iceServers: ev.ice_servers, iceTransportPolicy: 'relay' });
    v.pc = pc;
    for (const track of v.local.getAudioTracks()) { track.enabled = !v.muted; pc.addTrack(track, v.local); }
    pc.ontrack = (e) => { v.audio.srcObject = e.streams[0] || new MediaStream([e.track]); };
    pc.onicecandidate = (e) => {
      const c = e.candidate && e.candidate.candidate ? e.candidate.toJSON() : { completed: true };
      if (this.voice === v) v.janus.req({ janus: 'trickle', candidate: c }).catch(() => {});
    };
    pc.onconnectionstatechange = () => {
      v.panel.dataset.connected = String(pc.connectionState === 'connected');
      if (pc.connectionState === 'failed' && this.voice === v) this.voiceFailed(new Error('ice failed'));
    };
    await this.conn.request({ type: 'voice_attach', room, session: v.janus.sid, handle: v.janus.hid });
    await pc.setLocalDescription(await pc.createOffer());
    await v.janus.message({ request: 'configure', muted: v.muted }, { type: 'offer', sdp: pc.localDescription.sdp });
    this.renderVoice();
  },

  async onJanus(v, m) {
    if (this.voice !== v) return;
    if (m.janus === 'closed' || m.janus === 'hangup') { this.voiceFailed(new Error(m.janus)); return; }
    if (m.janus === 'trickle') {
      const c = m.candidate;
      if (!c || c.completed) return;
      if (v.pc.remoteDescription) await v.pc.addIceCandidate(c); else v.pending.push(c);
      return;
    }
    if (m.jsep) {
      await v.pc.setRemoteDescription(m.jsep);
      for (const c of v.pending.splice(0)) await v.pc.addIceCandidate(c);
    }
    const d = m.plugindata?.data;
    if (!d) return;
    if (d.error) { toast(t('voice.failed'), { kind: 'error' }); return; }
    // Participants without a display are the servers' silent watchers.
    for (const p of d.participants || []) if (p.display) v.peers.set(p.id, { ...v.peers.get(p.id), ...p });
    v.peers.delete(d.leaving);
    v.peers.delete(d.kicked);
    if (d.audiobridge === 'talking' || d.audiobridge === 'stopped-talking') {
      const p = d.id === v.ev.id ? v.me : v.peers.get(d.id);
      if (p) p.talking = d.audiobridge === 'talking';
    }
    this.renderVoicePeers(v);
  },

  /** voice_muted / voice_ended from the server. */
  onVoice(ev) {
    const v = this.voice;
    if (!v || v.room !== ev.room) return;
    if (ev.type === 'voice_ended') { this.leaveVoice(); toast(t(`voice.ended_${ev.reason}`)); return; }
    v.forced = ev.muted && ev.by === 'moderation';
    this.setVoiceMuted(ev.muted);
    toast(t(!ev.muted ? 'voice.unmuted' : v.forced ? 'voice.muted_by_mod' : 'voice.muted_by_owner'));
  },

  showVoicePanel(v) {
    const btn = (id, key, onclick, cls = 'btn btn-small') => h('button', { type: 'button', class: cls, 'data-testid': id, onclick }, t(key));
    v.me = { id: v.ev.id, display: v.ev.display, talking: false };
    v.audio = h('audio', { autoplay: true, 'data-testid': 'voice-audio' });
    v.list = h('ul', { class: 'voice-peers', 'data-testid': 'voice-peers', 'aria-live': 'polite' });
    v.muteBtn = btn('voice-mute', 'voice.mute', () => this.setVoiceMuted(!v.muted));
    v.pttBtn = btn('voice-ptt', 'voice.ptt', () => this.setPtt(!v.ptt));
    v.talkBtn = btn('voice-talk', 'voice.talk', null, 'btn btn-primary btn-small');
    v.talkBtn.hidden = true;
    const hold = (on) => (e) => { e.preventDefault(); if (v.ptt) this.setVoiceMuted(!on); };
    for (const [n, on] of [['pointerdown', true], ['pointerup', false], ['pointerleave', false]]) v.talkBtn.addEventListener(n, hold(on));
    v.keys = (e) => {
      if (!v.ptt || e.code !== 'Space' || e.repeat || e.target.closest?.('input, textarea, [contenteditable]')) return;
      e.preventDefault();
      this.setVoiceMuted(e.type === 'keyup');
    };
    document.addEventListener('keydown', v.keys);
    document.addEventListener('keyup', v.keys);
    v.panel = h('section', { class: 'call-panel voice-panel', 'data-testid': 'voice-panel', 'data-room': String(v.room), 'data-muted': String(v.muted), 'aria-label': t('voice.title') },
      h('h2', { class: 'call-title' }, t('voice.title')), v.list, v.audio,
      h('div', { class: 'call-actions' }, v.muteBtn, v.pttBtn, v.talkBtn, btn('voice-leave', 'voice.leave', () => this.leaveVoice(), 'btn btn-danger btn-small')));
    document.body.append(v.panel);
    this.renderVoicePeers(v);
  },

  renderVoicePeers(v) {
    const items = [v.me, ...[...v.peers.values()].filter((p) => p.id !== v.me.id)];
    v.list.replaceChildren(...items.map((p) => {
      const muted = p === v.me ? v.muted : p.muted;
      const li = h('li', { class: `voice-peer${p.talking ? ' is-talking' : ''}`, 'data-testid': 'voice-peer', 'data-id': String(p.id), 'data-talking': String(!!p.talking), 'data-muted': String(!!muted) },
        h('span', { class: 'voice-dot', 'aria-hidden': 'true' }), p.display || '…', muted ? h('span', { class: 'voice-muted' }, ` (${t('voice.muted')})`) : null);
      if (v.ev.owner && p !== v.me) li.append(h('button', { type: 'button', class: 'btn btn-ghost btn-small', 'data-testid': 'voice-mute-other', onclick: () => this.conn.request({ type: 'voice_mute', room: v.room, user: userOf(p.id), muted: !muted }).catch((e) => toast(this.errorText(e), { kind: 'error' })) }, t(muted ? 'voice.unmute_other' : 'voice.mute_other')));
      return li;
    }));
  },

  setVoiceMuted(muted) {
    const v = this.voice;
    if (!v) return;
    if (!muted && v.forced) { toast(t('voice.muted_by_mod'), { kind: 'error' }); muted = true; }
    v.muted = muted;
    for (const track of v.local?.getAudioTracks() || []) track.enabled = !muted;
    if (v.pc?.localDescription) v.janus.message({ request: 'configure', muted }).catch(() => {});
    v.muteBtn.textContent = t(muted ? 'voice.unmute' : 'voice.mute');
    v.muteBtn.setAttribute('aria-pressed', String(muted));
    v.panel.dataset.muted = String(muted);
    this.renderVoicePeers(v);
  },

  setPtt(on) {
    const v = this.voice;
    if (!v) return;
    v.ptt = on;
    v.pttBtn.setAttribute('aria-pressed', String(on));
    v.talkBtn.hidden = !on;
    v.muteBtn.hidden = on;
    this.setVoiceMuted(on);
  },

  voiceFailed(err) {
    console.warn('voice failed', err);
    const code = err?.code;
    const key = { restricted: 'voice.restricted', voice_off: 'voice.off' }[code] || (err?.name === 'NotAllowedError' ? 'calls.no_device' : '');
    toast(key ? t(key) : code ? this.errorText(err) : t('voice.failed'), { kind: 'error' });
    this.leaveVoice();
  },

  leaveVoice() {
    const v = this.voice;
    if (!v) return;
    this.voice = null;
    v.janus?.close();
    try { v.pc?.close(); } catch { /* ignore */ }
    for (const track of v.local?.getTracks() || []) track.stop();
    document.removeEventListener('keydown', v.keys);
    document.removeEventListener('keyup', v.keys);
    v.panel?.remove();
    this.conn.send({ type: 'voice_leave', room: v.room });
    this.renderVoice();
  },
};
