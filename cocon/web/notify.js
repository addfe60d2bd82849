// Browser notifications (private messages and mentions while the tab is hidden) and an
// optional chime generated with WebAudio (off by default).
const SOUND_KEY = 'cocon.sound';
let audio = null;

export const notificationsSupported = () => 'Notification' in window;
export const notificationsGranted = () => notificationsSupported() && Notification.permission === 'granted';

/** Must be called from a user gesture (the "Activer les notifications" button). */
export async function askPermission() {
  if (!notificationsSupported()) return 'denied';
  try { return await Notification.requestPermission(); } catch { return 'denied'; }
}

export function notify(title, body, { tag, onClick } = {}) {
  if (!document.hidden || !notificationsGranted()) return;
  const opts = { body: body.slice(0, 200), tag, icon: '/static/icons/icon-192.png', lang: document.documentElement.lang };
  try {
    const n = new Notification(title, opts);
    n.onclick = () => { window.focus(); onClick?.(); n.close(); };
  } catch {
    navigator.serviceWorker?.ready.then((r) => r.showNotification(title, opts)).catch(() => {});
  }
}

export function soundOn() {
  try { return localStorage.getItem(SOUND_KEY) === 'on'; } catch { return false; }
}

export function setSound(on) {
  try { localStorage.setItem(SOUND_KEY, on ? 'on' : 'off'); } catch { /* ignore */ }
  if (on) chime();
}

/** A soft two-note chime; nothing if sounds are off. */
export function chime() {
  if (!soundOn()) return;
  try {
    audio ??= new (window.AudioContext || window.webkitAudioContext)();
    if (audio.state === 'suspended') audio.resume();
    const now = audio.currentTime;
    [[659.25, 0], [880, 0.12]].forEach(([freq, at]) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = 'sine';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, now + at);
      gain.gain.exponentialRampToValueAtTime(0.12, now + at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.35);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + at);
      osc.stop(now + at + 0.4);
    });
  } catch { /* no audio */ }
}
