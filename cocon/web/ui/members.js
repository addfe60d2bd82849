// The member list of the current room (or the peer of a conversation).
import { $, h, userLine } from '../dom.js';
import { t, tn } from '../i18n.js';

export function renderMembers({ users, meId, blocked, title, onProfile }) {
  const list = $('#members');
  $('#members-title').textContent = title ?? tn('members.count', users.length);
  const sorted = [...users].sort((a, b) => (a.id === meId ? -1 : b.id === meId ? 1 : a.pseudo.localeCompare(b.pseudo, undefined, { sensitivity: 'base' })));
  list.replaceChildren(...sorted.map((u) => h('li', {},
    h('button', {
      type: 'button', class: `item member${blocked.has(u.id) ? ' is-blocked' : ''}`, 'data-testid': 'member', 'data-user-id': u.id,
      'data-pseudo': u.pseudo, 'aria-label': t('members.open_card', { name: u.pseudo }), onclick: () => onProfile(u.id),
    }, userLine(u, { meId }), blocked.has(u.id) ? h('span', { class: 'tag' }, t('profile.is_blocked')) : null))));
  if (!users.length) list.append(h('li', { class: 'empty-note' }, t('members.none')));
}
