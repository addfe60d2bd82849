// The call panel: remote video (blurred for a stranger until "Voir"), my own small preview,
// state, and the buttons (accept/decline while it rings, then mute, camera, report, hang up).
// Built once and reused; every label goes through t() and text nodes.
import { h } from '../dom.js';
import { t } from '../i18n.js';

let panel = null;

function button(testid, key, onclick, cls = 'btn btn-small') {
  return h('button', { type: 'button', class: cls, 'data-testid': testid, onclick }, t(key));
}

/**
 * Shows the panel for a call.
 * @param {object} call {peer, role, video, direct, friend, state}
 * @param {object} on {accept, decline, hangup, mute, camera, report, reveal}
 */
export function showCallPanel(call, on) {
  hideCallPanel();
  const remote = h('video', { class: 'call-remote', autoplay: true, playsinline: true, 'data-testid': 'call-remote', 'aria-label': t('calls.remote_label', { name: call.peer.pseudo }) });
  const local = h('video', { class: 'call-local', autoplay: true, playsinline: true, muted: true, 'data-testid': 'call-local', 'aria-label': t('calls.local_label') });
  local.muted = true;
  const blurred = !call.friend;
  const stage = h('div', { class: `call-stage${blurred ? ' is-blurred' : ''}`, 'data-testid': 'call-stage' }, remote, local);
  if (blurred) {
    stage.append(h('div', { class: 'call-veil' },
      h('p', {}, t('calls.stranger_blurred')),
      button('call-reveal', 'calls.reveal', () => { stage.classList.remove('is-blurred'); stage.querySelector('.call-veil')?.remove(); on.reveal?.(); })));
  }
  const status = h('p', { class: 'call-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'call-status' });
  const warn = call.direct ? h('p', { class: 'call-warning', 'data-testid': 'call-direct-warning' }, t('calls.direct_warning')) : null;
  const ringing = h('div', { class: 'call-actions', 'data-testid': 'call-ringing-actions' },
    button('call-accept', 'calls.accept', on.accept, 'btn btn-primary'),
    button('call-decline', 'calls.decline', on.decline));
  const mute = button('call-mute', 'calls.mute', () => { const off = on.mute(); mute.setAttribute('aria-pressed', String(off)); mute.textContent = t(off ? 'calls.unmute' : 'calls.mute'); });
  mute.setAttribute('aria-pressed', 'false');
  const cam = button('call-camera', 'calls.camera_off', () => { const off = on.camera(); cam.setAttribute('aria-pressed', String(off)); cam.textContent = t(off ? 'calls.camera_on' : 'calls.camera_off'); });
  cam.setAttribute('aria-pressed', 'false');
  cam.hidden = !call.video;
  const live = h('div', { class: 'call-actions', 'data-testid': 'call-live-actions' },
    mute, cam,
    button('call-report', 'calls.report', on.report),
    button('call-hangup', 'calls.hangup', on.hangup, 'btn btn-danger'));
  panel = h('section', { class: 'call-panel', id: 'call-panel', 'data-testid': 'call-panel', 'aria-labelledby': 'call-title', 'data-state': call.state, 'data-role': call.role },
    h('h2', { id: 'call-title', class: 'call-title' }, t(call.role === 'caller' ? 'calls.calling' : 'calls.incoming', { name: call.peer.pseudo })),
    warn, status, stage, ringing, live);
  document.body.append(panel);
  setCallState(call);
  return { remote, local, panel };
}

export function setCallState(call, text) {
  if (!panel) return;
  panel.dataset.state = call.state;
  if (call.connected) panel.dataset.connected = 'true';
  const incoming = call.role === 'callee' && call.state === 'ringing' && !call.answering;
  panel.querySelector('[data-testid=call-ringing-actions]').hidden = !incoming;
  panel.querySelector('[data-testid=call-live-actions]').hidden = incoming;
  panel.querySelector('[data-testid=call-stage]').hidden = call.state !== 'active';
  const key = call.state === 'ringing' ? (call.role === 'caller' ? 'calls.ringing' : 'calls.incoming_hint')
    : call.connected ? 'calls.connected' : 'calls.connecting';
  panel.querySelector('[data-testid=call-status]').textContent = text || t(key, { name: call.peer.pseudo });
  if (incoming) panel.querySelector('[data-testid=call-accept]')?.focus();
}

export function hideCallPanel() {
  panel?.remove();
  panel = null;
}

/** A still frame of a video element, as a JPEG Blob (captured locally, for a report). */
export function captureFrame(video) {
  return new Promise((resolve) => {
    const w = video.videoWidth; const hh = video.videoHeight;
    if (!w || !hh) { resolve(null); return; }
    const canvas = document.createElement('canvas');
    canvas.width = w; canvas.height = hh;
    canvas.getContext('2d').drawImage(video, 0, 0, w, hh);
    canvas.toBlob((b) => resolve(b), 'image/jpeg', 0.85);
  });
}
