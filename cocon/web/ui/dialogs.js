// Modal dialogs (<dialog>: focus trapped, Escape closes): create a room, room password,
// profile card, room settings, choose a person.
import { $, h, genderBadge } from '../dom.js';
import { t } from '../i18n.js';

/** Opens a dialog whose form resolves with collect() on submit, null on cancel/Escape. */
function run(dialog, { collect, submit, focus }) {
  return new Promise((resolve) => {
    const form = dialog.querySelector('form');
    const formError = form.querySelector('.form-error');
    if (formError) formError.hidden = true;
    const done = (value) => {
      form.removeEventListener('submit', onSubmit);
      dialog.removeEventListener('close', onClose);
      cancel.removeEventListener('click', onCancel);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const onSubmit = async (e) => {
      e.preventDefault();
      const value = collect();
      if (value === undefined) return; // invalid: stay open
      if (submit) {
        const err = await submit(value);
        if (err) { if (formError && err.trim()) { formError.textContent = err; formError.hidden = false; } return; }
      }
      done(value);
    };
    const onClose = () => done(null);
    const onCancel = () => done(null);
    const cancel = dialog.querySelector('[data-cancel]');
    form.addEventListener('submit', onSubmit);
    dialog.addEventListener('close', onClose);
    cancel.addEventListener('click', onCancel);
    dialog.showModal();
    (focus || dialog.querySelector('input, select, button'))?.focus();
  });
}

function fieldError(input, box, text) {
  box.textContent = text || '';
  box.hidden = !text;
  if (text) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
}

/** submit(values) -> error text, {field: 'name'|'topic', text} (shown under that field), or null. */
export function createRoomDialog(submit) {
  const d = $('#create-room-dialog');
  const name = $('#cr-name'); const topic = $('#cr-topic'); const pw = $('#cr-password');
  name.value = ''; topic.value = ''; pw.value = '';
  fieldError(name, $('#cr-name-error'), '');
  fieldError(topic, $('#cr-topic-error'), '');
  return run(d, {
    focus: name,
    collect: () => {
      const n = name.value.trim();
      if (n.length < 2 || n.length > 40) { fieldError(name, $('#cr-name-error'), t('rooms.name_invalid')); name.focus(); return undefined; }
      fieldError(name, $('#cr-name-error'), '');
      return { name: n, topic: topic.value.trim(), password: pw.value || null };
    },
    submit: async (v) => {
      fieldError(topic, $('#cr-topic-error'), '');
      const e = await submit(v);
      const input = e?.field === 'topic' ? topic : e?.field === 'name' ? name : null;
      if (!input) return e?.text ?? e;
      fieldError(input, $(`#cr-${e.field}-error`), e.text);
      input.focus();
      return ' ';
    },
  });
}

/** submit(password) -> error text (shown under the field) or null. */
export function passwordDialog(roomName, submit) {
  const d = $('#password-dialog');
  const input = $('#pw-input'); const err = $('#pw-error');
  $('#pw-title').textContent = t('rooms.password_title', { name: roomName });
  input.value = '';
  fieldError(input, err, '');
  return run(d, {
    focus: input,
    collect: () => (input.value ? input.value : (fieldError(input, err, t('errors.wrong_password')), undefined)),
    submit: async (v) => { const e = await submit(v); if (e) { fieldError(input, err, e); input.select(); } return e ? ' ' : null; },
  });
}

/** settings: {title, topic?, showTopic, showPassword}; submit({topic, password}) -> error or null. */
export function settingsDialog({ title, topic, showTopic, showPassword }, submit) {
  const d = $('#settings-dialog');
  $('#settings-title').textContent = title;
  $('#settings-topic-field').hidden = !showTopic;
  $('#settings-password-field').hidden = !showPassword;
  $('#settings-topic').value = topic ?? '';
  $('#settings-password').value = '';
  return run(d, {
    focus: showTopic ? $('#settings-topic') : $('#settings-password'),
    collect: () => ({
      topic: showTopic ? $('#settings-topic').value.trim() : null,
      password: showPassword ? $('#settings-password').value : null,
    }),
    submit,
  });
}

/** users: [UserBrief]; resolves with the chosen user id or null. */
export function pickUserDialog({ title, action, users }, submit) {
  const d = $('#pick-dialog');
  $('#pick-title').textContent = title;
  $('#pick-submit').textContent = action;
  const select = $('#pick-select');
  select.replaceChildren(...users.map((u) => h('option', { value: u.id }, `${u.pseudo} (${t('user.meta', { age: u.age, dep: u.dep })})`)));
  $('#pick-empty').hidden = users.length > 0;
  select.disabled = users.length === 0;
  $('#pick-submit').disabled = users.length === 0;
  return run(d, {
    focus: select,
    collect: () => (select.value ? Number(select.value) : undefined),
    submit,
  });
}

/**
 * The profile card. actions: [{label, testid, kind, run: async () => errorText|null, close}].
 */
export function profileDialog(card, actions) {
  const d = $('#profile-dialog');
  const u = card.user;
  $('#profile-avatar').textContent = (u.pseudo[0] || '?').toUpperCase();
  $('#profile-avatar').className = `profile-avatar g-${u.gender}`;
  $('#profile-name').replaceChildren(document.createTextNode(u.pseudo), ' ', genderBadge(u.gender));
  $('#profile-details').textContent = t('profile.details', { gender: t(`gender.${u.gender}`), age: u.age, dep: u.dep });
  const status = [card.online ? t('profile.online') : t('profile.offline')];
  if (card.friend === 'friends') status.push(t('profile.is_friend'));
  if (card.friend === 'requested') status.push(t('profile.friend_requested'));
  if (card.blocked) status.push(t('profile.is_blocked'));
  $('#profile-status').textContent = status.join(' · ');
  const box = $('#profile-actions');
  const note = h('p', { class: 'form-error', role: 'alert', hidden: true });
  box.replaceChildren(...actions.map((a) => h('button', {
    type: 'button', class: `btn ${a.kind === 'primary' ? 'btn-primary' : a.kind === 'danger' ? 'btn-danger' : 'btn-soft'}`,
    'data-testid': a.testid,
    onclick: async (e) => {
      e.currentTarget.disabled = true;
      const err = await a.run();
      if (err) { note.textContent = err; note.hidden = false; e.currentTarget.disabled = false; return; }
      if (a.close !== false && d.open) d.close();
    },
  }, a.label)), note);
  const close = d.querySelector('[data-cancel]');
  const onClose = () => { d.close(); };
  close.onclick = onClose;
  if (!d.open) d.showModal();
  box.querySelector('button')?.focus();
}
