// Tiny DOM helpers. User text only ever goes through text nodes (never innerHTML).
import { t } from './i18n.js';

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** h('button', {class: 'x', onclick: f, 'data-testid': 'y'}, 'text', child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'i18n') { el.dataset.i18n = v; el.textContent = t(v); }
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const GENDER = { femme: '♀', homme: '♂', autre: '⚥' };

/** "♀" symbol with its colour class and a screen-reader label. */
export function genderBadge(gender) {
  const g = GENDER[gender] ? gender : 'autre';
  return h('span', { class: `gender g-${g}` },
    h('span', { class: 'gender-symbol', 'aria-hidden': 'true' }, GENDER[g]),
    h('span', { class: 'sr-only' }, t(`gender.${g}`)));
}

/** Pseudo + gender + age + département, for member lists and cards. */
export function userLine(user, { meId } = {}) {
  return h('span', { class: 'user-line' },
    h('span', { class: `pseudo g-${GENDER[user.gender] ? user.gender : 'autre'}` }, user.pseudo),
    genderBadge(user.gender),
    h('span', { class: 'user-meta' }, t('user.meta', { age: user.age, dep: user.dep })),
    user.id === meId ? h('span', { class: 'you' }, t('user.you')) : null);
}

export function badge(n, label) {
  if (!n) return null;
  return h('span', { class: 'badge', 'data-testid': 'unread-badge' },
    h('span', { 'aria-hidden': 'true' }, n > 99 ? '99+' : String(n)),
    h('span', { class: 'sr-only' }, label));
}

export function toast(text, { action, onAction, kind = 'info', timeout = 6000 } = {}) {
  const box = $('#toasts');
  const el = h('div', { class: `toast toast-${kind}`, 'data-testid': 'toast' }, h('span', {}, text));
  if (action) {
    el.append(h('button', { type: 'button', class: 'btn btn-small btn-soft', onclick: () => { el.remove(); onAction(); } }, action));
  }
  el.append(h('button', { type: 'button', class: 'icon-btn toast-close', 'aria-label': t('common.close'), onclick: () => el.remove() },
    h('span', { 'aria-hidden': 'true' }, '✕')));
  box.append(el);
  if (timeout) setTimeout(() => el.remove(), timeout);
  while (box.children.length > 4) box.firstElementChild.remove();
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
