// Feature modules loaded on demand: 1:1 calls (calls.js) and room cams (cams.js) are not part
// of what the chat screen ships (tests/browser/test_pwa.py). What must be there from the start
// lives here: the header buttons, the room's list of live cams, and stand-ins that load the
// module and hand over to it (its methods then replace the stand-ins). Mixed into App.
import { t } from './i18n.js';
import { $, h, toast } from './dom.js';

const LOADERS = { calls: () => import('./calls.js'), cams: () => import('./cams.js') };
const loading = new Map();
const roomOf = (stream) => (stream?.startsWith('room:') ? Number(stream.slice(5)) : null);

export const features = {
  /** Loads a feature module once and mixes it into App (a failed load can be retried). */
  feature(name) {
    if (!loading.has(name)) {
      const proto = Object.getPrototypeOf(this);
      loading.set(name, LOADERS[name]().then((m) => { Object.assign(proto, m[name]); }, (err) => {
        loading.delete(name);
        toast(t('errors.generic'), { kind: 'error' });
        throw err;
      }));
    }
    return loading.get(name);
  },

  // ---------- 1:1 calls ----------

  /** The "Appeler" buttons beside an accepted private conversation's title. */
  renderCallButtons() {
    const header = $('#room-header');
    if (!header) return;
    let box = $('#call-buttons');
    if (!box) {
      box = h('div', { class: 'call-buttons', id: 'call-buttons' },
        h('button', { type: 'button', class: 'btn btn-ghost btn-small', 'data-testid': 'call-video-btn', onclick: () => this.startCall(true) }),
        h('button', { type: 'button', class: 'btn btn-ghost btn-small', 'data-testid': 'call-audio-btn', onclick: () => this.startCall(false) }));
      header.insertBefore(box, header.querySelector('.menu-wrap'));
    }
    const [video, audio] = box.children;
    video.textContent = t('calls.video_call');
    audio.textContent = t('calls.audio_call');
    const c = this.state.active?.startsWith('dm:') ? this.convByStream(this.state.active) : null;
    box.hidden = !(c && c.state === 'accepted' && !this.state.blocked.has(c.peer.id));
    for (const b of box.children) b.disabled = !!this.call;
  },

  startCall(video) { this.feature('calls').then(() => this.startCall(video), () => {}); },
  onCall(ev) { return this.feature('calls').then(() => this.onCall(ev), () => {}); },
  onCallSignal(ev) { return this.feature('calls').then(() => this.onCallSignal(ev), () => {}); },

  // ---------- room cams ----------

  /** The "Cams" button of a room that allows them, with the number of live cams. */
  renderCamsButton() {
    const header = $('#room-header');
    if (!header) return;
    let btn = $('#cams-btn');
    if (!btn) {
      btn = h('button', { type: 'button', class: 'btn btn-ghost btn-small', id: 'cams-btn', 'data-testid': 'cams-open', 'aria-haspopup': 'dialog', onclick: () => this.openCamsPanel() });
      header.insertBefore(btn, header.querySelector('.menu-wrap'));
    }
    const mine = this.camsData?.mine;
    if (mine && !this.state.joined.get(mine.room)?.room.cams) this.dropMyCam(); // left, or cams off
    const j = this.state.joined.get(roomOf(this.state.active));
    btn.hidden = !j?.room.cams;
    const n = j?.cams?.size || 0;
    btn.textContent = n ? t('cams.button_count', { n }) : t('cams.button');
    if (this.camsUi) this.renderCams();
  },

  openCamsPanel() {
    const room = roomOf(this.state.active);
    if (room) this.feature('cams').then(() => this.openCams(room), () => {});
  },

  /** `cam` (one cam went live, changed or stopped) and `cams` (a room's list). */
  onCam(ev) {
    const j = this.state.joined.get(ev.room);
    if (!j) return;
    if (ev.type === 'cams') j.cams = new Map(ev.cams.map((c) => [c.user.id, c]));
    else if (ev.cam) j.cams.set(ev.user, ev.cam);
    else j.cams.delete(ev.user);
    if (ev.type === 'cam' && !ev.cam && ev.user === this.state.me.id) this.camStopped(ev.room);
    this.renderSoon();
  },

  /** After a reconnect: the server ended this tab's cams and views; lists may be stale. */
  camsRenewed() {
    this.camsReset();
    for (const [room, j] of this.state.joined) {
      if (j.room.cams) this.conn.request({ type: 'cams', room }).catch(() => {});
    }
  },

  // Stand-ins until cams.js is loaded: a tab that never opened the cams has none.
  onCamView() {},
  onCamSignal() {},
  camStopped() {},
  camsReset() {},
};
