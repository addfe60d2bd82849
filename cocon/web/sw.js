// Cocon service worker: caches the app shell for offline start; network-first everywhere,
// /api is never served from the cache while online, and /ws is never touched.
const CACHE = 'cocon-shell-v1';
const SHELL = [
  '/',
  '/manifest.webmanifest',
  '/static/styles.css',
  '/static/app.js',
  '/static/actions.js',
  '/static/events.js',
  '/static/api.js',
  '/static/connection.js',
  '/static/dom.js',
  '/static/i18n.js',
  '/static/moderation.js',
  '/static/notify.js',
  '/static/streams.js',
  '/static/safety.js',
  '/static/features.js',
  '/static/calls.js',
  '/static/calls.css',
  '/static/cams.js',
  '/static/cams.css',
  '/static/voice.js',
  '/static/ui/calls.js',
  '/static/ui/dialogs.js',
  '/static/ui/entry.js',
  '/static/ui/members.js',
  '/static/ui/messages.js',
  '/static/ui/media.js',
  '/static/ui/rooms.js',
  '/static/i18n/fr.json',
  '/static/i18n/en.json',
  '/static/icons/icon.svg',
  '/static/icons/icon-192.png',
  '/static/icons/icon-512.png',
  '/static/icons/menu.svg',
  '/static/icons/people.svg',
  '/static/icons/lock.svg',
  '/static/icons/clip.svg',
  '/static/icons/shield.svg',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()).catch(() => {}));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname === '/ws' || url.pathname.startsWith('/ws/')) return; // never cached
  if (url.pathname.startsWith('/staff') || url.pathname.startsWith('/static/staff/')) return; // the staff console is not part of the app
  if (url.pathname.startsWith('/api/')) {
    // Network-first; the last answer is kept only to start offline.
    event.respondWith(fetch(req).catch(() => caches.match(req).then((r) => r || Response.error())));
    return;
  }
  const shellKey = req.mode === 'navigate' ? '/' : req;
  event.respondWith(
    fetch(req)
      .then((res) => {
        if (res.ok && (req.mode === 'navigate' || url.pathname.startsWith('/static/') || url.pathname === '/manifest.webmanifest')) {
          const copy = res.clone();
          caches.open(CACHE).then((c) => c.put(shellKey, copy)).catch(() => {});
        }
        return res;
      })
      .catch(() => caches.match(shellKey).then((r) => r || Response.error())),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(self.clients.matchAll({ type: 'window' }).then((list) => (list[0] ? list[0].focus() : self.clients.openWindow('/'))));
});
