// Translation catalogs (i18n/fr.json, i18n/en.json): t(), plural tn(), and data-i18n attributes.
const SUPPORTED = ['fr', 'en'];
const KEY = 'cocon.lang';
let catalog = {};
let lang = 'fr';
const listeners = new Set();

export const currentLang = () => lang;

export function initialLang() {
  try {
    const saved = localStorage.getItem(KEY);
    if (SUPPORTED.includes(saved)) return saved;
  } catch { /* storage disabled */ }
  return 'fr';
}

export async function setLang(next) {
  if (!SUPPORTED.includes(next)) next = 'fr';
  const res = await fetch(`/static/i18n/${next}.json`);
  if (!res.ok) throw new Error(`i18n ${next}: ${res.status}`);
  catalog = await res.json();
  lang = next;
  try { localStorage.setItem(KEY, next); } catch { /* ignore */ }
  document.documentElement.lang = next;
  document.title = t('app.title');
  applyI18n(document);
  for (const f of listeners) f(next);
}

export const has = (key) => Object.prototype.hasOwnProperty.call(catalog, key);

export function t(key, params) {
  let s = has(key) ? catalog[key] : key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  return s;
}

/** Plural: looks up key_one / key_other (Intl.PluralRules), {n} is the count. */
export function tn(key, n, params = {}) {
  const rule = new Intl.PluralRules(lang).select(n);
  const k = has(`${key}_${rule}`) ? `${key}_${rule}` : `${key}_other`;
  return t(k, { n, ...params });
}

/** Fills every [data-i18n] (text) and [data-i18n-attr="attr:key;attr:key"] under root. */
export function applyI18n(root) {
  const all = (sel) => [...(root.matches?.(sel) ? [root] : []), ...root.querySelectorAll(sel)];
  for (const el of all('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of all('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':').map((s) => s.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
}

export const onLangChange = (f) => listeners.add(f);

export function formatTime(ts) {
  return new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit' }).format(new Date(ts * 1000));
}
