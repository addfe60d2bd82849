// Photos, videos and sounds: the upload (XMLHttpRequest, for real progress events) and how a
// message's media is shown. Media from people who are not my friends arrive blurred: only the
// server's blurred preview is loaded, and the real file only after a click on "Voir".
import { h } from '../dom.js';
import { t } from '../i18n.js';

const BOX_W = 320;
const BOX_H = 280;

/**
 * POST /api/media with the file as the body (the session cookie goes with it).
 * Returns {promise, abort}; the promise resolves with {media} or {error: {code, message, retry_after?}}.
 */
export function upload(file, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve) => {
    xhr.open('POST', '/api/media');
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    xhr.upload.addEventListener('load', () => onProgress(1));
    xhr.addEventListener('load', () => {
      const data = xhr.response && typeof xhr.response === 'object' ? xhr.response : null;
      if (xhr.status === 200 && data?.media) resolve({ media: data.media });
      else resolve({ error: data?.error || { code: xhr.status === 413 ? 'media_too_big' : 'media_failed', message: '' } });
    });
    xhr.addEventListener('error', () => resolve({ error: { code: 'network', message: '' } }));
    xhr.addEventListener('abort', () => resolve({ error: { code: 'aborted', message: '' } }));
    xhr.send(file);
  });
  return { promise, abort: () => xhr.abort() };
}

/** Display size within the message box, keeping the aspect ratio. */
function fit(m) {
  const w = m.width || BOX_W;
  const hh = m.height || Math.round(BOX_W * 0.75);
  const k = Math.min(1, BOX_W / w, BOX_H / hh);
  return { width: Math.max(1, Math.round(w * k)), height: Math.max(1, Math.round(hh * k)) };
}

function full(m, who) {
  if (m.kind === 'image') {
    return h('img', { class: 'media-img', src: m.url, alt: t('media.image_alt', { name: who }), ...fit(m), 'data-testid': 'media-image', decoding: 'async' });
  }
  if (m.kind === 'video') {
    return h('video', { class: 'media-video', src: m.url, controls: true, preload: 'metadata', ...fit(m), 'data-testid': 'media-video', 'aria-label': t('media.video_alt', { name: who }) });
  }
  return h('audio', { class: 'media-audio', src: m.url, controls: true, preload: 'metadata', 'data-testid': 'media-audio', 'aria-label': t('media.audio_alt', { name: who }) });
}

/**
 * The media of a message. blur: shown behind "Voir" (only the blurred preview is requested).
 * The returned element has reveal() (used when the sender becomes a friend).
 */
export function mediaBlock(m, { blur, who }) {
  const box = h('figure', { class: `msg-media media-${m.kind}`, 'data-testid': 'msg-media', 'data-kind': m.kind });
  const show = (focus) => {
    const el = full(m, who);
    box.replaceChildren(el);
    box.dataset.blurred = 'false';
    if (focus) { el.tabIndex = -1; el.focus(); }
  };
  box.reveal = () => { if (box.dataset.blurred === 'true') show(false); };
  if (!blur || m.kind === 'audio') { show(false); return box; }
  box.dataset.blurred = 'true';
  const size = fit(m);
  const cover = m.preview_url
    ? h('img', { class: 'media-preview', src: m.preview_url, alt: '', ...size, 'data-testid': 'media-preview' })
    : h('span', { class: 'media-placeholder', 'aria-hidden': 'true' }, m.kind === 'video' ? '▶' : '◆');
  const label = t(m.kind === 'video' ? 'media.blurred_video' : 'media.blurred_image');
  box.append(h('div', { class: 'media-blur' }, cover,
    h('div', { class: 'media-veil' },
      h('p', { class: 'media-veil-text' }, label),
      h('button', { type: 'button', class: 'btn btn-small btn-soft', 'data-testid': 'media-reveal',
        'aria-label': t(m.kind === 'video' ? 'media.reveal_video' : 'media.reveal_image', { name: who }), onclick: () => show(true) }, t('media.reveal')))));
  return box;
}
