// Room cams, loaded when someone opens the cams of a room (features.js), then mixed into App.
// A publisher's webcam goes to each approved viewer over its own peer connection, through the
// TURN relay only (iceTransportPolicy 'relay'): nobody learns anyone's address. Watching is
// asked; the publisher approves each viewer (or lets friends only in) and can revoke at any
// time. Nothing is sent before approval; a stranger's cam arrives blurred until "Voir".
// Nothing is recorded: a report takes one still frame of the watched cam, here.
import { t } from './i18n.js';
import { h, toast, userLine } from './dom.js';
import { captureFrame } from './ui/calls.js';
import { upload } from './ui/media.js';

const STYLE = '/static/cams.css';
// Reasons a view ended that are worth telling, by side (the others are the user's own doing).
const TOLD = { viewer: ['declined', 'revoked', 'ended', 'full', 'blocked', 'cams_off', 'gone'], publisher: ['left', 'gone', 'stopped', 'full'] };

function btn(testid, key, onclick, params, cls = 'btn btn-small') {
  return h('button', { type: 'button', class: cls, 'data-testid': testid, onclick }, t(key, params));
}

export const cams = {
  camState() {
    this.camsData ||= { mine: null, views: new Map(), asking: new Set(), max: 8 };
    return this.camsData;
  },

  camErrorText(err) {
    if (err?.code === 'restricted') return t('cams.restricted');
    return this.errorText(err);
  },

  // ---------- the panel ----------

  openCams(room) {
    if (!document.querySelector(`link[href="${STYLE}"]`)) document.head.append(h('link', { rel: 'stylesheet', href: STYLE }));
    if (!this.camsUi) this.camsUi = this.buildCams();
    this.camsUi.room = room;
    this.camsUi.panel.hidden = false;
    this.renderCams();
    this.camsUi.title.focus();
    this.conn.request({ type: 'cams', room }).then((ev) => { this.camState().max = ev.viewers_max; this.renderCams(); }, () => {});
  },

  closeCams() {
    const ui = this.camsUi;
    if (!ui || ui.panel.hidden) return;
    ui.panel.hidden = true;
    document.getElementById('cams-btn')?.focus();
  },

  buildCams() {
    const title = h('h2', { class: 'call-title', id: 'cams-title', tabindex: '-1' });
    const close = h('button', { type: 'button', class: 'icon-btn cams-close', 'data-testid': 'cams-close', onclick: () => this.closeCams() }, h('span', { 'aria-hidden': 'true' }, '✕'));
    const friendsOnly = h('input', { type: 'checkbox', id: 'cam-friends-only', 'data-testid': 'cam-friends-only', onchange: () => this.setFriendsOnly(friendsOnly.checked) });
    const local = h('video', { class: 'cam-local', autoplay: true, playsinline: true, muted: true, 'data-testid': 'cam-local' });
    local.muted = true;
    const ui = {
      title, close, friendsOnly, local,
      friendsLabel: h('label', { for: 'cam-friends-only' }),
      friendsHint: h('p', { class: 'hint' }),
      toggle: h('div', { class: 'cams-row' }),
      where: h('p', { class: 'cams-note' }),
      mine: h('div', { class: 'cams-mine' }),
      live: h('ul', { class: 'cams-list', 'data-testid': 'cam-list' }),
      watching: h('div', { class: 'cams-watching', 'data-testid': 'cam-watching' }),
      warn: h('p', { class: 'call-warning', 'data-testid': 'cam-direct-warning' }),
      myTitle: h('h3', { id: 'cams-my-title' }),
      liveTitle: h('h3', { id: 'cams-live-title' }),
    };
    ui.panel = h('section', { class: 'call-panel cams-panel', id: 'cams-panel', 'data-testid': 'cams-panel', 'aria-labelledby': 'cams-title', hidden: true,
      onkeydown: (e) => { if (e.key === 'Escape') this.closeCams(); } },
    h('div', { class: 'cams-head' }, title, close),
    ui.warn,
    h('section', { class: 'cams-box', 'aria-labelledby': 'cams-my-title' },
      ui.myTitle,
      ui.toggle, ui.where,
      h('div', { class: 'cams-row' }, friendsOnly, ui.friendsLabel), ui.friendsHint, local, ui.mine),
    h('section', { class: 'cams-box', 'aria-labelledby': 'cams-live-title' },
      ui.liveTitle, ui.live),
    ui.watching);
    document.body.append(ui.panel);
    return ui;
  },

  renderCams() {
    const ui = this.camsUi;
    if (!ui || ui.panel.hidden) return;
    const j = this.state.joined.get(ui.room);
    if (!j?.room.cams) { this.closeCams(); return; }
    const d = this.camState();
    const focused = document.activeElement?.closest('#cams-panel [data-key]')?.dataset.key;
    const mine = d.mine?.room === ui.room ? d.mine : null;
    const elsewhere = d.mine && !mine ? this.state.joined.get(d.mine.room)?.room.name ?? '…' : null;
    ui.close.setAttribute('aria-label', t('cams.close'));
    ui.title.textContent = t('cams.title', { room: j.room.name });
    ui.myTitle.textContent = t('cams.my_cam');
    ui.liveTitle.textContent = t('cams.live');
    ui.toggle.replaceChildren(mine
      ? btn('cam-stop', 'cams.stop', () => this.stopCam(), null, 'btn btn-danger btn-small')
      : btn('cam-start', 'cams.start', () => this.startCam(ui.room, ui.friendsOnly.checked), null, 'btn btn-primary btn-small'));
    ui.toggle.firstChild.dataset.key = 'toggle';
    ui.where.textContent = elsewhere ? t('cams.elsewhere', { room: elsewhere }) : '';
    ui.where.hidden = !elsewhere;
    ui.friendsLabel.textContent = t('cams.friends_only');
    ui.friendsHint.textContent = t('cams.friends_only_hint');
    if (mine) ui.friendsOnly.checked = mine.friendsOnly;
    ui.local.hidden = !mine;
    ui.local.setAttribute('aria-label', t('cams.local_label'));
    if (mine && ui.local.srcObject !== mine.stream) ui.local.srcObject = mine.stream;
    if (!mine) ui.local.srcObject = null;
    const views = [...d.views.values()].filter((v) => v.room === ui.room);
    ui.mine.replaceChildren(...(mine ? this.renderMyViewers(views.filter((v) => v.role === 'publisher'), d.max) : []));
    ui.live.replaceChildren(...this.renderLive(j, views.filter((v) => v.role === 'viewer'), d));
    const boxes = views.filter((v) => v.role === 'viewer' && v.state === 'active').map((v) => this.watchBox(v));
    if (boxes.length !== ui.watching.children.length || boxes.some((b, i) => ui.watching.children[i] !== b)) ui.watching.replaceChildren(...boxes);
    ui.warn.textContent = t('cams.direct_warning');
    ui.warn.hidden = !views.some((v) => v.direct);
    if (focused) ui.panel.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
  },

  renderMyViewers(views, max) {
    const asks = views.filter((v) => v.state === 'pending');
    const watching = views.filter((v) => v.state === 'active');
    const item = (v, ...buttons) => h('li', { class: 'cams-item', 'data-testid': v.state === 'pending' ? 'cam-request' : 'cam-viewer', 'data-user': v.peer.pseudo }, userLine(v.peer), h('span', { class: 'cams-actions' }, ...buttons));
    const keyed = (b, key) => { b.dataset.key = key; return b; };
    return [
      h('h4', {}, t('cams.requests')),
      asks.length ? h('ul', { class: 'cams-list', 'data-testid': 'cam-requests' }, ...asks.map((v) => item(v,
        keyed(btn('cam-approve', 'cams.approve', () => this.answerCam(v, true), null, 'btn btn-primary btn-small'), `approve-${v.id}`),
        keyed(btn('cam-decline', 'cams.decline', () => this.answerCam(v, false)), `decline-${v.id}`))))
        : h('p', { class: 'empty-note' }, t('cams.no_requests')),
      h('h4', {}, t('cams.viewers', { n: watching.length, max })),
      watching.length ? h('ul', { class: 'cams-list', 'data-testid': 'cam-viewers' }, ...watching.map((v) => item(v,
        keyed(btn('cam-revoke', 'cams.revoke', () => this.closeView(v), { name: v.peer.pseudo }), `revoke-${v.id}`))))
        : h('p', { class: 'empty-note' }, t('cams.no_viewers')),
    ];
  },

  renderLive(j, views, d) {
    const me = this.state.me.id;
    const list = [...j.cams.values()].filter((c) => !this.state.blocked.has(c.user.id));
    if (!list.length) return [h('li', { class: 'empty-note' }, t('cams.none'))];
    return list.map((c) => {
      const v = views.find((x) => x.peer.id === c.user.id);
      let action;
      if (c.user.id === me) action = null;
      else if (v?.state === 'pending') action = [h('span', { class: 'cams-state', role: 'status' }, t('cams.asking')), btn('cam-cancel', 'cams.cancel', () => this.closeView(v))];
      else if (v?.state === 'active') action = [h('span', { class: 'cams-state' }, t('cams.watching')), btn('cam-unwatch', 'cams.unwatch', () => this.closeView(v))];
      else action = btn('cam-ask', 'cams.ask', () => this.askCam(j.room.id, c.user), null, 'btn btn-soft btn-small');
      for (const b of [action].flat()) if (b?.tagName === 'BUTTON') { b.dataset.key = `${b.dataset.testid}-${c.user.id}`; b.disabled = d.asking.has(c.user.id); }
      return h('li', { class: 'cams-item', 'data-testid': 'cam-item', 'data-user': c.user.pseudo },
        userLine(c.user, { meId: me }),
        c.friends_only ? h('span', { class: 'cams-badge' }, t('cams.friends_badge')) : null,
        h('span', { class: 'cams-actions' }, action));
    });
  },

  /** A watched cam: blurred for a stranger until "Voir"; report, stop. Built once per view. */
  watchBox(v) {
    if (v.box) return v.box;
    v.video = h('video', { class: 'call-remote', autoplay: true, playsinline: true, muted: true, 'data-testid': 'cam-remote', 'aria-label': t('cams.remote_label', { name: v.peer.pseudo }) });
    v.video.muted = true;
    if (v.stream) v.video.srcObject = v.stream;
    const stage = h('div', { class: `call-stage${v.friend ? '' : ' is-blurred'}`, 'data-testid': 'cam-stage' }, v.video);
    if (!v.friend) {
      stage.append(h('div', { class: 'call-veil' }, h('p', {}, t('calls.stranger_blurred')),
        btn('cam-reveal', 'calls.reveal', () => { stage.classList.remove('is-blurred'); stage.querySelector('.call-veil')?.remove(); })));
    }
    v.box = h('figure', { class: 'cams-watch', 'data-testid': 'cam-watch', 'data-user': v.peer.pseudo },
      stage,
      h('figcaption', { class: 'call-actions' }, h('span', { class: 'cams-state' }, t('cams.remote_label', { name: v.peer.pseudo })),
        btn('cam-report', 'cams.report', () => this.reportCam(v))));
    return v.box;
  },

  // ---------- publishing ----------

  async startCam(room, friendsOnly) {
    const d = this.camState();
    if (d.mine && d.mine.room !== room) this.stopCam();
    if (!d.mine) {
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
      } catch (err) {
        toast(t('cams.no_device'), { kind: 'error' });
        return;
      }
      d.mine = { room, stream, friendsOnly, live: false };
    }
    try {
      await this.conn.request({ type: 'cam_start', room, friends_only: friendsOnly });
      if (d.mine) { d.mine.live = true; d.mine.friendsOnly = friendsOnly; }
    } catch (err) {
      this.dropMyCam();
      toast(this.camErrorText(err), { kind: 'error', timeout: 10000 });
    }
    this.renderCams();
  },

  setFriendsOnly(on) {
    const mine = this.camState().mine;
    if (mine?.live) this.startCam(mine.room, on);
  },

  stopCam() {
    const mine = this.camState().mine;
    if (!mine) return;
    this.conn.send({ type: 'cam_stop', room: mine.room });
    this.dropMyCam();
    this.renderCams();
  },

  /** My cam stops here: the camera goes off, every viewer's connection closes. */
  dropMyCam() {
    const d = this.camState();
    const mine = d.mine;
    if (!mine) return;
    d.mine = null;
    for (const track of mine.stream.getTracks()) track.stop();
    for (const v of [...d.views.values()]) if (v.role === 'publisher') this.dropView(v);
  },

  /** The server says my cam in that room is off (another tab took it, cams turned off). */
  camStopped(room) {
    const mine = this.camState().mine;
    if (mine?.live && mine.room === room) { this.dropMyCam(); this.renderCams(); }
  },

  async answerCam(v, accept) {
    try {
      await this.conn.request({ type: 'cam_answer', view: v.id, accept });
      if (!accept) this.dropView(v);
    } catch (err) {
      toast(this.camErrorText(err), { kind: 'error' });
    }
    this.renderCams();
  },

  // ---------- watching ----------

  async askCam(room, user) {
    const d = this.camState();
    d.asking.add(user.id);
    this.renderCams();
    try {
      await this.conn.request({ type: 'cam_ask', room, user: user.id }); // the reply is a cam_view
    } catch (err) {
      toast(this.camErrorText(err), { kind: 'error', timeout: 8000 });
    } finally {
      d.asking.delete(user.id);
      this.renderCams();
    }
  },

  /** Revoke a viewer, drop an ask, or stop watching. */
  closeView(v) {
    this.conn.send({ type: 'cam_close', view: v.id });
    this.dropView(v);
    this.renderCams();
  },

  async reportCam(v) {
    let media = null;
    const frame = v.video ? await captureFrame(v.video) : null;
    if (frame) {
      const res = await upload(frame, () => {}).promise;
      if (res.media) media = res.media.id;
      else toast(t('calls.frame_failed'), { kind: 'error' });
    }
    const target = { target: 'user', user: v.peer.id, who: t(media ? 'cams.report_subject_frame' : 'cams.report_subject', { name: v.peer.pseudo }) };
    if (media) target.media = media;
    this.openReport(target);
  },

  // ---------- server events ----------

  onCamView(ev) {
    const d = this.camState();
    let v = d.views.get(ev.view);
    if (ev.state === 'ended') {
      if (v) {
        this.dropView(v);
        if (TOLD[v.role].includes(ev.reason) && (v.role === 'viewer' || v.state === 'active')) {
          toast(t(v.role === 'viewer' ? `cams.ended_${ev.reason}` : 'cams.viewer_left', { name: v.peer.pseudo }), { kind: v.role === 'viewer' && ev.reason !== 'ended' ? 'error' : 'info' });
        }
        this.renderCams();
      }
      return;
    }
    if (!v) {
      const mine = d.mine?.live && d.mine.room === ev.room;
      if (ev.role === 'publisher' ? !mine : !d.asking.has(ev.peer.id)) return; // another tab's
      v = { id: ev.view, role: ev.role, room: ev.room, peer: ev.peer, state: ev.state, pc: null, pending: [] };
      d.views.set(ev.view, v);
      if (ev.role === 'publisher' && ev.state === 'pending') toast(t('cams.asked_toast', { name: ev.peer.pseudo }));
    }
    v.friend = !!ev.friend;
    v.direct = !!ev.direct;
    if (ev.ice_servers?.length) v.ice = ev.ice_servers;
    v.state = ev.state;
    if (ev.state === 'active' && !v.pc) {
      if (v.role === 'publisher') this.offerCam(v).catch((e) => this.camFailed(v, e));
      else this.camPeer(v);
    }
    this.renderCams();
  },

  camPeer(v) {
    const pc = new RTCPeerConnection({ iceServers: v.ice || [], iceTransportPolicy: v.direct ? 'all' : 'relay' });
    v.pc = pc;
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) this.conn.send({ type: 'cam_signal', view: v.id, candidate: e.candidate.toJSON() });
    };
    pc.ontrack = (e) => {
      v.stream = e.streams[0] || new MediaStream([e.track]);
      if (v.video) v.video.srcObject = v.stream;
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' && v.pc === pc) this.camFailed(v, new Error('ice failed'));
    };
    return pc;
  },

  async offerCam(v) {
    const mine = this.camState().mine;
    const pc = this.camPeer(v);
    for (const track of mine.stream.getVideoTracks()) pc.addTrack(track, mine.stream);
    await pc.setLocalDescription(await pc.createOffer());
    this.conn.send({ type: 'cam_signal', view: v.id, sdp: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
  },

  async onCamSignal(ev) {
    const v = this.camState().views.get(ev.view);
    if (!v || v.state !== 'active') return;
    const pc = v.pc || (v.role === 'viewer' ? this.camPeer(v) : null);
    if (!pc) return;
    try {
      if (ev.sdp) {
        await pc.setRemoteDescription(ev.sdp);
        if (ev.sdp.type === 'offer') {
          await pc.setLocalDescription(await pc.createAnswer());
          this.conn.send({ type: 'cam_signal', view: v.id, sdp: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
        }
        for (const c of v.pending.splice(0)) await pc.addIceCandidate(c);
      } else if (ev.candidate) {
        if (pc.remoteDescription) await pc.addIceCandidate(ev.candidate);
        else v.pending.push(ev.candidate);
      }
    } catch (err) {
      this.camFailed(v, err);
    }
  },

  camFailed(v, err) {
    console.warn('cam failed', err);
    if (!this.camState().views.has(v.id)) return;
    toast(t('cams.failed', { name: v.peer.pseudo }), { kind: 'error' });
    this.closeView(v);
  },

  dropView(v) {
    const d = this.camState();
    d.views.delete(v.id);
    v.state = 'ended';
    try { v.pc?.close(); } catch { /* ignore */ }
    v.pc = null;
    if (v.video) v.video.srcObject = null;
    v.box?.remove();
  },

  /** After a reconnect the server has ended this tab's cams and views: forget them here. */
  camsReset() {
    const d = this.camState();
    this.dropMyCam();
    for (const v of [...d.views.values()]) this.dropView(v);
    d.asking.clear();
    this.renderCams();
  },
};
