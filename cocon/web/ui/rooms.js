// The left column (rooms, requests, conversations, friends) and the tab bar.
import { $, h, badge, genderBadge } from '../dom.js';
import { t, tn } from '../i18n.js';

function roomItem(app, room) {
  const stream = `room:${room.id}`;
  const active = app.state.active === stream;
  const joined = app.state.joined.has(room.id);
  const unread = app.state.unread.get(stream) || 0;
  const invited = app.state.invites.has(room.id);
  return h('li', {},
    h('button', {
      type: 'button', class: `item room-item${active ? ' active' : ''}${joined ? ' joined' : ''}`,
      'data-testid': 'room-item', 'data-room-id': room.id, 'data-room-name': room.name,
      'aria-current': active ? 'true' : null, onclick: () => app.openRoom(room.id),
    },
    h('span', { class: 'room-name' }, room.has_password ? h('img', { class: 'lock', src: '/static/icons/lock.svg', alt: '', width: 14, height: 14 }) : null, room.name,
      room.has_password ? h('span', { class: 'sr-only' }, ` (${t('rooms.locked')})`) : null),
    invited && !joined ? h('span', { class: 'tag' }, t('rooms.invited')) : null,
    badge(unread, tn('chat.unread', unread)),
    h('span', { class: 'count', 'data-testid': 'room-count', title: tn('rooms.members', room.count ?? 0) },
      h('span', { 'aria-hidden': 'true' }, String(room.count ?? 0)),
      h('span', { class: 'sr-only' }, tn('rooms.members', room.count ?? 0)))));
}

function peerLabel(peer) {
  return h('span', { class: 'user-line' }, h('span', { class: `pseudo g-${peer.gender}` }, peer.pseudo), genderBadge(peer.gender));
}

export function renderSidebar(app) {
  const { state } = app;
  const me = state.me;
  if (me) {
    $('#me-line').replaceChildren(h('span', {}, t('nav.me')), ' ', peerLabel(me),
      h('span', { class: 'user-meta' }, ` ${t('user.meta', { age: me.age, dep: me.dep })}`));
  }
  const rooms = [...state.rooms.values()];
  const pub = rooms.filter((r) => !r.private).sort((a, b) => a.id - b.id);
  const priv = rooms.filter((r) => r.private).sort((a, b) => a.name.localeCompare(b.name));
  $('#public-rooms').replaceChildren(...pub.map((r) => roomItem(app, r)));
  $('#private-rooms').replaceChildren(...priv.map((r) => roomItem(app, r)));
  $('#private-rooms-empty').hidden = priv.length > 0;

  const convs = [...state.conversations.values()];
  const requests = convs.filter((c) => c.state === 'pending' && c.requested_by !== me?.id && !state.blocked.has(c.peer.id));
  $('#requests-section').hidden = requests.length === 0;
  $('#requests').replaceChildren(...requests.map((c) => h('li', { class: 'request', 'data-testid': 'pm-request', 'data-peer': c.peer.pseudo },
    h('p', {}, peerLabel(c.peer), h('span', { class: 'user-meta' }, ` ${t('user.meta', { age: c.peer.age, dep: c.peer.dep })}`)),
    h('p', { class: 'request-text' }, t('pm.request_text')),
    state.previews.get(c.id) ? h('p', { class: 'preview' }, state.previews.get(c.id)) : null,
    h('div', { class: 'request-actions' },
      h('button', { type: 'button', class: 'btn btn-primary btn-small', 'data-testid': 'pm-accept', onclick: () => app.answerPm(c.id, true) }, t('pm.accept')),
      h('button', { type: 'button', class: 'btn btn-ghost btn-small', 'data-testid': 'pm-decline', onclick: () => app.answerPm(c.id, false) }, t('pm.decline'))))));

  const open = convs.filter((c) => c.state === 'accepted' || c.requested_by === me?.id)
    .filter((c) => !state.blocked.has(c.peer.id));
  $('#conversations').replaceChildren(...open.map((c) => {
    const unread = state.unread.get(c.stream) || 0;
    const active = state.active === c.stream;
    return h('li', {}, h('button', {
      type: 'button', class: `item conv-item${active ? ' active' : ''}`, 'data-testid': 'conversation-item', 'data-peer': c.peer.pseudo,
      'aria-current': active ? 'true' : null, onclick: () => app.openConversation(c.id),
    }, peerLabel(c.peer),
    c.state === 'pending' ? h('span', { class: 'tag' }, t('pm.pending')) : null,
    c.state === 'declined' ? h('span', { class: 'tag' }, t('pm.declined_tag')) : null,
    badge(unread, tn('chat.unread', unread))));
  }));
  $('#conversations-empty').hidden = open.length > 0;

  const friends = [...state.friends.values()].sort((a, b) => Number(b.online) - Number(a.online) || a.user.pseudo.localeCompare(b.user.pseudo));
  $('#friends').replaceChildren(...friends.map((f) => h('li', { class: 'friend', 'data-testid': 'friend-item', 'data-peer': f.user.pseudo },
    h('button', { type: 'button', class: 'item', onclick: () => app.openProfile(f.user.id) },
      h('span', { class: `online-dot${f.online ? ' on' : ''}`, 'aria-hidden': 'true' }),
      peerLabel(f.user),
      h('span', { class: 'sr-only' }, f.online ? t('profile.online') : t('profile.offline')),
      f.state !== 'friends' ? h('span', { class: 'tag' }, t(`friends.${f.state}`)) : null),
    f.state === 'incoming' ? h('div', { class: 'request-actions' },
      h('button', { type: 'button', class: 'btn btn-primary btn-small', 'data-testid': 'friend-accept', onclick: () => app.friendAnswer(f.user.id, true) }, t('friends.accept')),
      h('button', { type: 'button', class: 'btn btn-ghost btn-small', onclick: () => app.friendAnswer(f.user.id, false) }, t('friends.decline'))) : null)));
  $('#friends-empty').hidden = friends.length > 0;
}

function tabIcon(app, stream) {
  if (stream.startsWith('dm:')) return h('span', { class: 'tab-icon', 'aria-hidden': 'true' }, '✉ ');
  if (app.state.rooms.get(Number(stream.slice(5)))?.private) return h('img', { class: 'lock', src: '/static/icons/lock.svg', alt: '', width: 14, height: 14 });
  return h('span', { class: 'tab-icon', 'aria-hidden': 'true' }, '# ');
}

export function renderTabs(app) {
  const { state } = app;
  const tabs = $('#tabs');
  tabs.replaceChildren(...state.tabs.map((stream) => {
    const active = stream === state.active;
    const unread = state.unread.get(stream) || 0;
    const label = app.streamTitle(stream);
    const view = app.views.get(stream);
    return h('div', { class: `tab${active ? ' active' : ''}`, 'data-testid': 'tab', 'data-stream': stream },
      h('button', {
        type: 'button', class: 'tab-btn', id: `tab-${stream.replace(':', '-')}`, 'aria-current': active ? 'true' : null,
        'aria-controls': view?.el.id || null, onclick: () => app.activate(stream),
        onkeydown: (e) => {
          const i = state.tabs.indexOf(stream);
          const next = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : null;
          if (next == null || !state.tabs.length) return;
          e.preventDefault();
          app.activate(state.tabs[(next + state.tabs.length) % state.tabs.length]);
          $('#tabs .tab.active .tab-btn')?.focus();
        },
      }, tabIcon(app, stream),
      label, badge(unread, tn('chat.unread', unread))),
      h('button', { type: 'button', class: 'icon-btn tab-close', 'data-testid': 'tab-close', 'aria-label': t('tabs.close', { name: label }), onclick: () => app.closeTab(stream) },
        h('span', { 'aria-hidden': 'true' }, '✕')));
  }));
}
