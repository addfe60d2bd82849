// The entry form: pseudo, genre, âge, code postal; inline validation and server errors.
import { $, $$ } from '../dom.js';
import { t, has } from '../i18n.js';
import { api } from '../api.js';

const PSEUDO = /^[\p{L}\p{N}_-]+$/u;
const FIELDS = {
  pseudo: '#entry-pseudo',
  gender: 'input[name=gender]',
  age: '#entry-age',
  postal_code: '#entry-postal',
};
const ERR = {
  pseudo: '#entry-pseudo-error', gender: '#entry-gender-error', age: '#entry-age-error', postal_code: '#entry-postal-error',
};

function values(form) {
  return {
    pseudo: form.pseudo.value.trim(),
    gender: form.querySelector('input[name=gender]:checked')?.value ?? '',
    age: form.age.value.trim(),
    postal_code: form.postal_code.value.trim(),
  };
}

/** Local checks: {field: errorKey}. An age under 18 is left to the server (it records it). */
export function validate(v) {
  const errs = {};
  const len = [...v.pseudo].length;
  if (len < 3 || len > 20) errs.pseudo = 'errors.pseudo_length';
  else if (!PSEUDO.test(v.pseudo)) errs.pseudo = 'errors.pseudo_chars';
  if (!['femme', 'homme', 'autre'].includes(v.gender)) errs.gender = 'errors.gender';
  if (!/^\d{1,2}$/.test(v.age) || Number(v.age) < 1) errs.age = 'errors.age';
  if (!/^\d{5}$/.test(v.postal_code)) errs.postal_code = 'errors.postal_code';
  return errs;
}

/** key: a catalog key (re-translated on a language switch) or null with a plain text. */
function showError(field, key, text = key ? t(key) : '') {
  const box = $(ERR[field]);
  const inputs = $$(FIELDS[field]);
  if (key) box.dataset.i18n = key; else delete box.dataset.i18n;
  box.textContent = text || '';
  box.hidden = !text;
  for (const i of inputs) {
    if (text) i.setAttribute('aria-invalid', 'true'); else i.removeAttribute('aria-invalid');
  }
}

/** The catalog key for a server error, or null when only the server's (French) text exists. */
function errorKey(err) {
  if (!err) return 'errors.network';
  if (has(`errors.${err.code}`)) return `errors.${err.code}`;
  return err.message ? null : 'errors.generic';
}

/**
 * @param {object} o
 * @param {(user: object) => void} o.onEntered
 * @param {() => void} o.onUnderage
 * @param {(err: object) => void} o.onBanned a ban applies to this device or network
 */
export function setupEntry({ onEntered, onUnderage, onBanned }) {
  const form = $('#entry-form');
  const formError = $('#entry-form-error');
  const submit = $('#entry-submit');
  const touched = new Set();

  const serverErrors = {}; // field -> {value, key, text}: kept while the field is unchanged
  const check = (only) => {
    const v = values(form);
    const errs = validate(v);
    for (const f of Object.keys(FIELDS)) {
      if (only && !only.has(f)) continue;
      const server = serverErrors[f];
      if (errs[f]) showError(f, errs[f]);
      else if (server && server.value === v[f]) showError(f, server.key, server.key ? t(server.key) : server.text);
      else { delete serverErrors[f]; showError(f, null); }
    }
    return errs;
  };

  for (const [field, sel] of Object.entries(FIELDS)) {
    for (const input of $$(sel, form)) {
      input.addEventListener(field === 'gender' ? 'change' : 'blur', () => { touched.add(field); check(touched); });
      input.addEventListener('input', () => { if (touched.has(field)) check(touched); });
    }
  }
  // Digits only in numeric fields.
  for (const sel of ['#entry-age', '#entry-postal']) {
    $(sel).addEventListener('input', (e) => { const v = e.target.value.replace(/\D+/g, ''); if (v !== e.target.value) e.target.value = v; });
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    formError.hidden = true;
    for (const f of Object.keys(FIELDS)) touched.add(f);
    const errs = check();
    const first = Object.keys(FIELDS).find((f) => errs[f]);
    if (first) { $(FIELDS[first], form).focus(); return; }
    const v = values(form);
    if (Number(v.age) > 99) { showError('age', 'errors.age'); $('#entry-age').focus(); return; }
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    const res = await api.enter({ pseudo: v.pseudo, gender: v.gender, age: Number(v.age), postal_code: v.postal_code });
    submit.disabled = false;
    submit.removeAttribute('aria-busy');
    if (res.ok && res.data?.user) { onEntered(res.data.user); return; }
    const err = res.data?.error;
    if (err?.code === 'underage' || (!err && Number(v.age) < 18)) { onUnderage(); return; }
    if (err?.code === 'banned') { onBanned(err); return; }
    const key = errorKey(err);
    if (err?.field && FIELDS[err.field]) {
      serverErrors[err.field] = { value: v[err.field], key, text: err.message };
      showError(err.field, key, key ? t(key) : err.message);
      $(FIELDS[err.field], form).focus();
    } else {
      if (key) formError.dataset.i18n = key; else delete formError.dataset.i18n;
      formError.textContent = key ? t(key) : err.message;
      formError.hidden = false;
    }
  });
}
