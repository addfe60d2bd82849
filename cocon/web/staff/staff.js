// Cocon staff console: login (password + TOTP), queue, cases and evidence (audited), actions,
// pending confirmations, appeals, evasions, transparency, audit check. French UI, no build step.

// ---------- helpers ----------

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(method, path, body) {
  let res;
  try {
    res = await fetch(`/staff/api${path}`, {
      method, credentials: 'same-origin',
      headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch {
    return { ok: false, status: 0, data: { error: { code: 'network', message: 'Serveur injoignable. Vérifiez la connexion.' } } };
  }
  let data = null;
  try { data = await res.json(); } catch { /* empty */ }
  if (res.status === 401 && path !== '/login' && path !== '/me') showLogin('Votre session a expiré : reconnectez-vous.');
  return { ok: res.ok, status: res.status, data };
}

const errText = (res) => res.data?.error?.message || 'Une erreur est survenue.';
const fmt = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'short', timeStyle: 'short' });
const date = (ts) => (ts ? fmt.format(new Date(ts * 1000)) : '—');

function ago(ts) {
  const s = Math.max(0, Date.now() / 1000 - ts);
  if (s < 60) return 'à l’instant';
  if (s < 3600) return `il y a ${Math.floor(s / 60)} min`;
  if (s < 86400) return `il y a ${Math.floor(s / 3600)} h`;
  return `il y a ${Math.floor(s / 86400)} j`;
}

function duration(s) {
  if (s == null) return '—';
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} j`;
}

function say(text) { $('#live').textContent = ''; setTimeout(() => { $('#live').textContent = text; }, 30); }

// ---------- vocabulary ----------

const CATEGORIES = ['minor_in_danger', 'illegal_image', 'terrorism', 'threat_violence', 'sexual_harassment',
  'hate', 'harassment', 'personal_data', 'fraud', 'self_harm', 'spam', 'other'];
const CATEGORY = {
  minor_in_danger: 'Mineur en danger', illegal_image: 'Image illégale', terrorism: 'Terrorisme',
  threat_violence: 'Menace ou violence', sexual_harassment: 'Harcèlement sexuel', hate: 'Haine',
  harassment: 'Harcèlement', personal_data: 'Données personnelles', fraud: 'Arnaque',
  self_harm: 'Personne en détresse', spam: 'Spam', other: 'Autre',
};
const KINDS = {
  warn: 'Avertir', delete: 'Supprimer le message', mute: 'Interdire d’écrire', kick: 'Exclure', ban: 'Bannir',
};
const ACT = {
  warn: 'Avertir la personne', delete: 'Supprimer le message de la personne', mute: 'Interdire d’écrire à la personne',
  kick: 'Exclure la personne', ban: 'Bannir la personne',
};
const KIND_DONE = {
  warn: 'avertissement', delete: 'suppression', mute: 'interdiction d’écrire', kick: 'exclusion', ban: 'bannissement', voice_mute: 'micro coupé (vocal)',
  withhold: 'message maintenu retenu', restrict: 'protection d’un·e mineur·e',
  no_action: 'sans suite', duplicate: 'doublon', forwarded: 'transmis aux autorités',
};
const DURATIONS = {
  mute: [['900', '15 minutes'], ['3600', '1 heure'], ['86400', '24 heures'], ['604800', '7 jours']],
  ban: [['86400', '24 heures'], ['604800', '7 jours'], ['2592000', '30 jours'], ['', 'Définitif']],
};
const RULES = [
  'Charte §1 — Respect des personnes',
  'Charte §2 — Haine et discrimination',
  'Charte §3 — Harcèlement',
  'Charte §4 — Contenus sexuels non sollicités',
  'Charte §5 — Protection des mineurs',
  'Charte §6 — Données personnelles',
  'Charte §7 — Spam et arnaques',
  'Loi — Contenu manifestement illicite',
];
const REASONS = [
  ['Insultes répétées', 'Insultes répétées envers une autre personne malgré son refus.'],
  ['Harcèlement en privé', 'Messages privés insistants et insultants envoyés à une personne qui ne les souhaitait pas.'],
  ['Propos haineux', 'Propos visant une personne ou un groupe en raison de son origine, sa religion, son genre ou son orientation.'],
  ['Contenu sexuel non sollicité', 'Envoi de propos ou de contenus sexuels à une personne qui ne l’a pas demandé.'],
  ['Publicité / spam', 'Messages publicitaires ou répétitifs sans rapport avec la discussion.'],
  ['Mise en danger d’un mineur', 'Comportement mettant en danger un mineur ; signalement transmis aux autorités.'],
];
const HELD_STATUS = { held: 'retenu, en attente de décision', released: 'remis', withheld: 'maintenu retenu' };
const SAFETY_RULES = { grooming: 'approche d’un·e mineur·e', scam: 'arnaque', public_illegal: 'contenu illicite', minor_revealed: 'mineur·e' };
const OUTCOMES = [['no_action', 'Pas d’infraction constatée'], ['duplicate', 'Doublon d’un autre dossier'], ['forwarded', 'Transmis aux autorités']];
const PENDING_KEY = 'cocon.staff.pending';

function badge(category) {
  const urgent = CATEGORIES.indexOf(category) <= 3;
  return h('span', { class: `cat${urgent ? ' cat-urgent' : ''}`, 'data-testid': 'cat-badge' }, CATEGORY[category] || category);
}

function target(c) {
  const [kind, id] = String(c.target || '').split(':');
  return { user: `Personne n° ${id}`, room: `Salon n° ${id}`, staff: `Modérateur·rice n° ${id}` }[kind] || c.target;
}

// ---------- state and routing ----------

const state = { me: null, queue: [], selected: 0, lastCase: null };
const VIEWS = [
  ['queue', 'File d’attente'], ['appeals', 'Contestations'], ['pending', 'Actions à confirmer'],
  ['evasions', 'Tentatives de contournement'], ['voice', 'Salons vocaux'], ['transparency', 'Transparence'],
  ['audit', 'Journal d’audit', 'admin'],
];

function showLogin(message) {
  state.me = null;
  $('#console').hidden = true;
  $('#who').hidden = true;
  $('#logout').hidden = true;
  $('#login').hidden = false;
  const err = $('#login-error');
  err.textContent = message || '';
  err.hidden = !message;
  $('#login-pseudo').focus();
}

function showConsole(me) {
  state.me = me;
  $('#login').hidden = true;
  $('#console').hidden = false;
  $('#who').hidden = false;
  $('#who').textContent = `${me.pseudo} · ${me.role === 'admin' ? 'administrateur·rice' : 'modérateur·rice'}`;
  $('#logout').hidden = false;
  $('#nav').replaceChildren(...VIEWS.filter((v) => !v[2] || me.role === 'admin').map(([id, label]) => h('li', {},
    h('a', { href: `#${id}`, class: 'nav-link', 'data-view': id, 'data-testid': `nav-${id}` }, label))));
  route();
}

function route() {
  if (!state.me) return;
  const [name, arg] = (location.hash.slice(1) || 'queue').split('/');
  for (const a of $$('.nav-link')) {
    if (a.dataset.view === name || (name === 'case' && a.dataset.view === 'queue')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const views = { queue: viewQueue, case: () => viewCase(Number(arg)), appeals: viewAppeals, pending: viewPending, evasions: viewEvasions, voice: () => viewVoice(arg), transparency: viewTransparency, audit: viewAudit };
  (views[name] || viewQueue)();
}

function page(title, ...content) {
  const heading = h('h1', { tabindex: '-1', id: 'view-title' }, title);
  $('#view').replaceChildren(heading, ...content);
  return heading;
}

// ---------- queue ----------

async function viewQueue() {
  const res = await api('GET', '/queue');
  if (!res.ok) { page('File d’attente', h('p', { class: 'form-error', role: 'alert' }, errText(res))); return; }
  state.queue = res.data.cases;
  const list = h('ol', { class: 'queue', 'data-testid': 'queue', 'aria-labelledby': 'view-title' });
  list.append(...state.queue.map((c, i) => {
    const category = CATEGORIES[c.priority] || 'other';
    return h('li', {}, h('button', {
      type: 'button', class: 'queue-row', 'data-testid': 'queue-row', 'data-case': c.id, 'data-index': i,
      onclick: () => { location.hash = `#case/${c.id}`; },
      onfocus: () => { state.selected = i; },
    }, badge(category),
    h('span', { class: 'q-main' }, h('strong', {}, `Dossier n° ${c.id}`), ' · ', target(c)),
    h('span', { class: 'q-count' }, `${c.reports} signalement${c.reports > 1 ? 's' : ''}`),
    h('span', { class: 'q-age' }, h('time', { datetime: new Date(c.opened_at * 1000).toISOString(), title: date(c.opened_at) }, ago(c.opened_at)))));
  }));
  const heading = page('File d’attente',
    h('p', { class: 'muted' }, 'Dossiers ouverts, les plus urgents d’abord, puis les plus anciens.'),
    state.queue.length ? list : h('p', { class: 'empty', 'data-testid': 'queue-empty' }, 'Aucun dossier ouvert. Merci !'));
  const back = state.lastCase != null ? state.queue.findIndex((c) => c.id === state.lastCase) : -1;
  if (back >= 0) { state.selected = back; focusRow(back); } else { state.selected = 0; heading.focus(); }
  state.lastCase = null;
}

function focusRow(i) {
  const rows = $$('.queue-row');
  if (!rows.length) return;
  state.selected = Math.max(0, Math.min(rows.length - 1, i));
  rows[state.selected].focus();
}

// ---------- case ----------

async function viewCase(id) {
  state.lastCase = id;
  const res = await api('GET', `/cases/${id}`);
  if (!res.ok) { page(`Dossier n° ${id}`, backLink(), h('p', { class: 'form-error', role: 'alert' }, errText(res))); return; }
  const { case: c, reports, sanctions, held = [] } = res.data;
  const category = CATEGORIES[c.priority] || 'other';
  const info = h('dl', { class: 'facts' },
    h('dt', {}, 'Cible'), h('dd', {}, target(c)),
    c.accused_id ? [h('dt', {}, 'Personne mise en cause'), h('dd', { 'data-testid': 'case-accused' }, `n° ${c.accused_id}`)] : null,
    c.room_id ? [h('dt', {}, 'Salon'), h('dd', {}, `n° ${c.room_id}`)] : null,
    h('dt', {}, 'Ouvert'), h('dd', {}, `${date(c.opened_at)} (${ago(c.opened_at)})`),
    h('dt', {}, 'État'), h('dd', {}, c.status === 'open' ? 'ouvert' : `clos : ${KIND_DONE[c.outcome] || c.outcome}`));
  const reportList = h('ol', { class: 'reports' }, ...reports.map((r) => reportCard(r, c)));
  const heading = page(`Dossier n° ${c.id}`,
    backLink(),
    h('p', { class: 'case-badges' }, badge(category), ` ${reports.length} signalement${reports.length > 1 ? 's' : ''}`),
    info,
    h('section', { 'aria-labelledby': 'reports-title' }, h('h2', { id: 'reports-title' }, 'Signalements'), reportList),
    held.length ? heldSection(held) : null,
    historySection(sanctions),
    c.status === 'open' && c.accused_id ? actionForm(c, reports) : null,
    c.status === 'open' ? closeForm(c) : null);
  heading.focus();
}

function backLink() {
  return h('p', {}, h('a', { href: '#queue', class: 'back', 'data-testid': 'back-to-queue' }, '← Retour à la file (Échap)'));
}

function reportCard(r, c) {
  const evidenceBox = h('div', { class: 'evidence-box', 'data-testid': 'evidence' });
  const noteId = `audit-note-${r.id}`;
  const what = r.target_kind === 'message' ? `un message (${r.stream}, n° ${r.seq})` : { user: 'une personne', room: 'un salon', staff: 'une décision de modération' }[r.target_kind] || r.target_kind;
  const card = h('li', { class: 'card report', 'data-testid': 'report', 'data-report': r.id },
    h('h3', {}, badge(r.category), ` Signalement n° ${r.id}`),
    h('p', { class: 'muted' }, `Par la personne n° ${r.reporter_id}, ${date(r.created_at)} — vise ${what}.`),
    r.comment ? h('blockquote', { class: 'comment' }, r.comment) : h('p', { class: 'muted' }, 'Sans commentaire.'));
  if (r.has_evidence) {
    const btn = h('button', {
      type: 'button', class: 'btn btn-soft btn-small', 'data-testid': 'view-evidence', 'aria-describedby': noteId,
      onclick: async () => {
        btn.disabled = true;
        const res = await api('GET', `/reports/${r.id}/evidence`);
        if (!res.ok) { btn.disabled = false; evidenceBox.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, errText(res))); return; }
        const items = res.data.report.evidence;
        btn.textContent = 'Preuves affichées (consultation enregistrée)';
        evidenceBox.replaceChildren(h('ol', { class: 'evidence', 'aria-label': `Preuves du signalement n° ${r.id}` }, ...items.map((e) => {
          const reported = e.seq === r.seq && e.stream === r.stream;
          const accused = e.sender === c.accused_id;
          return h('li', { class: `ev${reported ? ' ev-reported' : ''}`, 'data-testid': 'evidence-item' },
            h('span', { class: 'ev-meta' }, h('time', {}, date(e.ts)), ' ', h('span', { class: accused ? 'ev-accused' : '' }, `personne n° ${e.sender}${accused ? ' (mise en cause)' : ''}`),
              reported ? h('strong', { class: 'ev-flag' }, ' — message signalé') : null,
              e.held ? h('strong', { class: 'ev-flag' }, ` — message retenu n° ${e.held.id} : ${HELD_STATUS[e.held.status] || e.held.status}`) : null),
            h('span', { class: 'ev-text' }, e.text));
        })));
        say('Preuves affichées. Cette consultation est enregistrée dans le journal d’audit.');
      },
    }, 'Voir les preuves');
    card.append(h('div', { class: 'evidence-actions' }, btn,
      h('p', { class: 'audit-note', id: noteId }, 'Chaque consultation des preuves est enregistrée à votre nom dans le journal d’audit.')), evidenceBox);
  }
  return card;
}

// ---------- held messages (withheld by the safety policy, released or not by a moderator) ----------

function heldSection(held) {
  return h('section', { 'aria-labelledby': 'held-title' }, h('h2', { id: 'held-title' }, 'Messages retenus'),
    h('p', { class: 'muted' }, 'La détection automatique a retenu ces messages : personne ne les a reçus. Remettez-les (ils arrivent maintenant dans la conversation, l’auteur est prévenu) ou maintenez-les retenus (l’auteur reçoit l’exposé des motifs et peut contester).'),
    h('ol', { class: 'reports', 'data-testid': 'held-list' }, ...held.map(heldCard)));
}

function heldCard(m) {
  const textBox = h('div', { class: 'evidence-box' });
  const status = h('p', { class: 'result', role: 'status', 'data-testid': 'held-result' });
  const noteId = `held-note-${m.id}`;
  const rules = m.rules.map((r) => SAFETY_RULES[r] || r).join(', ');
  const card = h('li', { class: 'card report', 'data-testid': 'held', 'data-held': m.id },
    h('h3', {}, `Message retenu n° ${m.id}`),
    h('p', { class: 'muted' }, `De la personne n° ${m.sender_id}, ${date(m.created_at)}, dans ${m.stream}${rules ? ` — motif : ${rules}` : ''}.`),
    h('p', { 'data-testid': 'held-status' }, h('strong', {}, 'État : '), HELD_STATUS[m.status] || m.status,
      m.status === 'released' && m.seq != null ? ` (message n° ${m.seq})` : ''));
  const show = h('button', {
    type: 'button', class: 'btn btn-soft btn-small', 'data-testid': 'held-view', 'aria-describedby': noteId,
    onclick: async () => {
      show.disabled = true;
      const res = await api('GET', `/reports/${m.report_id}/evidence`);
      if (!res.ok) { show.disabled = false; textBox.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, errText(res))); return; }
      const item = res.data.report.evidence.find((e) => e.held?.id === m.id) || res.data.report.evidence.find((e) => e.withheld);
      textBox.replaceChildren(h('blockquote', { class: 'comment', 'data-testid': 'held-text' }, item ? item.text : '—'));
      show.textContent = 'Message affiché (consultation enregistrée)';
      say('Message retenu affiché. Cette consultation est enregistrée dans le journal d’audit.');
    },
  }, 'Voir le message retenu');
  card.append(h('div', { class: 'evidence-actions' }, show,
    h('p', { class: 'audit-note', id: noteId }, 'Consultation enregistrée à votre nom dans le journal d’audit.')), textBox);
  if (m.status !== 'held') return card;
  const rule = h('select', {}, ...RULES.map((r) => h('option', {}, r)));
  rule.value = 'Charte §7 — Spam et arnaques';
  const reason = h('textarea', { rows: '2', maxlength: '2000', 'data-testid': 'held-reason' });
  const decide = async (decision) => {
    if (!reason.value.trim()) { status.className = 'result form-error'; status.textContent = 'Le motif est obligatoire : l’auteur le recevra.'; reason.setAttribute('aria-invalid', 'true'); reason.focus(); return; }
    reason.removeAttribute('aria-invalid');
    const buttons = card.querySelectorAll('button, textarea, select');
    buttons.forEach((x) => { x.disabled = true; });
    const res = await api('POST', `/held/${m.id}/decide`, { decision, rule: rule.value, reason: reason.value.trim() });
    if (!res.ok) { buttons.forEach((x) => { x.disabled = false; }); status.className = 'result form-error'; status.textContent = errText(res); return; }
    if (res.data.pending) {
      rememberPending(res.data.pending, `${decision === 'release' ? 'Remettre' : 'Maintenir retenu'} le message retenu n° ${m.id}`);
      status.className = 'result warn';
      status.textContent = `Action n° ${res.data.pending} en attente : vous êtes en conflit avec cette personne, un·e autre modérateur·rice doit la confirmer.`;
    } else {
      status.className = 'result ok';
      status.textContent = decision === 'release'
        ? `Message n° ${m.id} remis dans la conversation (message n° ${res.data.seq}). L’auteur est prévenu.`
        : `Message n° ${m.id} maintenu retenu (sanction n° ${res.data.sanction}). L’auteur a reçu l’exposé des motifs.`;
      $('[data-testid=held-status]', card).replaceChildren(h('strong', {}, 'État : '), HELD_STATUS[decision === 'release' ? 'released' : 'withheld']);
    }
    say(status.textContent);
  };
  card.append(
    field(`held-rule-${m.id}`, 'Règle (si maintenu retenu)', rule),
    field(`held-reason-${m.id}`, 'Motif (envoyé à l’auteur)', reason),
    h('div', { class: 'form-actions' },
      h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'held-release', onclick: () => decide('release') }, 'Remettre le message'),
      h('button', { type: 'button', class: 'btn btn-ghost', 'data-testid': 'held-withhold', onclick: () => decide('withhold') }, 'Maintenir retenu')),
    status);
  return card;
}

function historySection(sanctions) {
  return h('section', { 'aria-labelledby': 'history-title' }, h('h2', { id: 'history-title' }, 'Historique de la personne'),
    sanctions.length ? h('table', { class: 'table', 'data-testid': 'history' },
      h('thead', {}, h('tr', {}, ...['N°', 'Mesure', 'Règle', 'Début', 'Fin', 'État'].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, ...sanctions.map((s) => h('tr', {},
        h('td', {}, s.id), h('td', {}, KIND_DONE[s.kind] || s.kind), h('td', {}, s.rule), h('td', {}, date(s.starts_at)),
        h('td', {}, s.ends_at ? date(s.ends_at) : (s.kind === 'ban' ? 'définitif' : '—')), h('td', {}, s.revoked ? 'annulée' : 'en vigueur')))))
      : h('p', { class: 'muted' }, 'Aucune sanction antérieure.'));
}

function field(id, label, control, hint) {
  control.id = id;
  if (hint) control.setAttribute('aria-describedby', `${id}-hint`);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null);
}

function actionForm(c, reports) {
  const messages = reports.filter((r) => r.target_kind === 'message' && r.stream && r.seq != null);
  const status = h('p', { class: 'result', role: 'status', 'data-testid': 'action-result' });
  const kinds = h('div', { class: 'kinds', role: 'radiogroup', 'aria-labelledby': 'kind-label' }, ...Object.entries(KINDS).map(([k, label], i) => h('label', { class: `kind kind-${k}` },
    h('input', { type: 'radio', name: 'kind', value: k, checked: i === 0, disabled: k === 'delete' && !messages.length, 'data-testid': `kind-${k}` }), h('span', {}, label))));
  const durationSel = h('select', { 'data-testid': 'action-duration' });
  const durationField = field('action-duration', 'Durée', durationSel, 'Un bannissement est doublé à chaque récidive, puis définitif.');
  const messageSel = h('select', { 'data-testid': 'action-message' }, ...messages.map((r) => h('option', { value: `${r.stream}|${r.seq}` }, `${r.stream}, message n° ${r.seq} (signalement n° ${r.id})`)));
  const messageField = field('action-message', 'Message à supprimer', messageSel);
  const roomBox = c.room_id ? h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'action-room', 'data-testid': 'action-room' }), ` Seulement dans le salon n° ${c.room_id}`) : null;
  const rule = h('select', { 'data-testid': 'action-rule' }, ...RULES.map((r) => h('option', {}, r)));
  const template = h('select', { 'data-testid': 'action-template' }, h('option', { value: '' }, 'Choisir un modèle…'), ...REASONS.map(([label, text]) => h('option', { value: text }, label)));
  const reason = h('textarea', { rows: '3', maxlength: '2000', required: true, 'data-testid': 'action-reason' });
  const facts = h('textarea', { rows: '3', maxlength: '2000', 'data-testid': 'action-facts' });
  const where = (r) => (r.target_kind !== 'message' ? { user: 'Profil', room: 'Salon', staff: 'Décision' }[r.target_kind] || 'Signalement'
    : r.stream.startsWith('dm:') ? 'Message privé' : 'Message dans un salon');
  facts.value = reports.map((r) => `${where(r)} signalé le ${date(r.created_at)} (motif : ${(CATEGORY[r.category] || r.category).toLowerCase()}).`).join('\n');
  template.addEventListener('change', () => { if (template.value) reason.value = template.value; });
  const submit = h('button', { type: 'submit', class: 'btn btn-danger-solid', 'data-testid': 'action-submit' });
  const form = h('form', { class: 'card action-form', novalidate: true, 'data-testid': 'action-form', 'aria-labelledby': 'action-title' },
    h('h2', { id: 'action-title' }, `Agir contre la personne n° ${c.accused_id}`),
    h('p', { id: 'kind-label', class: 'label' }, 'Mesure'), kinds,
    durationField, messageField, roomBox,
    field('action-rule', 'Règle enfreinte', rule),
    field('action-template', 'Modèle de motif', template),
    field('action-reason', 'Motif (envoyé à la personne)', reason, 'Écrivez pour la personne concernée : elle recevra ce motif avec la décision.'),
    field('action-facts', 'Faits', facts),
    h('div', { class: 'form-actions' }, submit), status);
  const kind = () => form.querySelector('input[name=kind]:checked').value;
  const sync = () => {
    const k = kind();
    durationField.hidden = !DURATIONS[k];
    if (DURATIONS[k]) durationSel.replaceChildren(...DURATIONS[k].map(([v, l]) => h('option', { value: v }, l)));
    if (k === 'ban') durationSel.value = '604800';
    messageField.hidden = k !== 'delete';
    if (roomBox) roomBox.hidden = k !== 'mute' && k !== 'kick';
    label();
  };
  const label = () => {
    const k = kind();
    const d = DURATIONS[k] ? ` — ${durationSel.selectedOptions[0]?.textContent.toLowerCase()}` : '';
    submit.textContent = `${ACT[k]} n° ${c.accused_id}${d}`;
  };
  kinds.addEventListener('change', sync);
  durationSel.addEventListener('change', label);
  sync();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!reason.value.trim()) { status.className = 'result form-error'; status.textContent = 'Le motif est obligatoire.'; reason.setAttribute('aria-invalid', 'true'); reason.focus(); return; }
    reason.removeAttribute('aria-invalid');
    const k = kind();
    const body = { kind: k, user: c.accused_id, rule: rule.value, reason: reason.value.trim(), facts: facts.value.trim(), case: c.id };
    if (DURATIONS[k] && durationSel.value) body.duration_s = Number(durationSel.value);
    if (k === 'delete') { const [stream, seq] = messageSel.value.split('|'); body.stream = stream; body.seq = Number(seq); }
    if (roomBox && (k === 'mute' || k === 'kick') && $('#action-room').checked) body.room = c.room_id;
    submit.disabled = true;
    const res = await api('POST', '/sanctions', body);
    submit.disabled = false;
    if (!res.ok) { status.className = 'result form-error'; status.textContent = errText(res); return; }
    if (res.data.pending) {
      rememberPending(res.data.pending, `${ACT[k]} n° ${c.accused_id} (dossier n° ${c.id})`);
      status.className = 'result warn';
      status.textContent = `Action n° ${res.data.pending} en attente : vous êtes en conflit avec cette personne, un·e autre modérateur·rice doit la confirmer.`;
      return;
    }
    status.className = 'result ok';
    status.textContent = `Mesure appliquée (sanction n° ${res.data.sanction}${res.data.ends_at ? `, jusqu’au ${date(res.data.ends_at)}` : k === 'ban' ? ', définitive' : ''}). La personne a reçu l’exposé des motifs ; les auteurs des signalements sont informés.`;
    form.querySelectorAll('input, select, textarea, button').forEach((x) => { x.disabled = true; });
    say(status.textContent);
  });
  return form;
}

function closeForm(c) {
  const outcome = h('select', { 'data-testid': 'close-outcome' }, ...OUTCOMES.map(([v, l]) => h('option', { value: v }, l)));
  const reason = h('textarea', { rows: '2', maxlength: '2000', 'data-testid': 'close-reason' });
  const status = h('p', { class: 'result', role: 'status' });
  const form = h('form', { class: 'card close-form', novalidate: true, 'aria-labelledby': 'close-title' },
    h('h2', { id: 'close-title' }, 'Classer sans mesure'),
    field('close-outcome', 'Issue', outcome), field('close-reason', 'Motif (pour le journal d’audit)', reason),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-ghost', 'data-testid': 'close-submit' }, 'Classer le dossier')), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!reason.value.trim()) { status.className = 'result form-error'; status.textContent = 'Le motif est obligatoire.'; reason.focus(); return; }
    const res = await api('POST', `/cases/${c.id}/close`, { outcome: outcome.value, reason: reason.value.trim() });
    if (!res.ok) { status.className = 'result form-error'; status.textContent = errText(res); return; }
    say(`Dossier n° ${c.id} classé.`);
    location.hash = '#queue';
  });
  return form;
}

// ---------- pending confirmations ----------

function loadPending() { try { return JSON.parse(localStorage.getItem(PENDING_KEY) || '[]'); } catch { return []; } }
function rememberPending(id, label) {
  const list = loadPending().filter((p) => p.id !== id);
  list.push({ id, label, by: state.me.pseudo });
  try { localStorage.setItem(PENDING_KEY, JSON.stringify(list.slice(-50))); } catch { /* ignore */ }
}

function viewPending() {
  const mine = loadPending().filter((p) => p.by === state.me.pseudo);
  const input = h('input', { type: 'text', inputmode: 'numeric', required: true, 'data-testid': 'pending-id' });
  const status = h('p', { class: 'result', role: 'status', 'data-testid': 'pending-result' });
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'confirm-title' },
    h('h2', { id: 'confirm-title' }, 'Confirmer l’action d’un·e collègue'),
    h('p', { class: 'muted' }, 'Une personne en conflit d’intérêts (elle a été contestée ou signalée par l’utilisateur visé) ne peut pas agir seule : un·e second·e modérateur·rice confirme. Le numéro de l’action vous est communiqué par la personne qui l’a demandée.'),
    field('pending-id', 'Numéro de l’action', input),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'pending-confirm' }, 'Confirmer et appliquer')), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const id = Number(input.value);
    if (!id) { status.className = 'result form-error'; status.textContent = 'Indiquez un numéro.'; input.focus(); return; }
    const res = await api('POST', `/pending/${id}/confirm`);
    status.className = `result ${res.ok ? 'ok' : 'form-error'}`;
    const applied = res.ok && res.data.released ? `message retenu n° ${res.data.released} remis` : `sanction n° ${res.data?.sanction}`;
    status.textContent = res.ok ? `Action n° ${id} confirmée et appliquée (${applied}).` : errText(res);
  });
  page('Actions à confirmer',
    h('section', { 'aria-labelledby': 'mine-title' }, h('h2', { id: 'mine-title' }, 'Mes demandes en attente'),
      mine.length ? h('ul', { class: 'plain' }, ...mine.map((p) => h('li', {}, h('strong', {}, `Action n° ${p.id}`), ` — ${p.label}`)))
        : h('p', { class: 'muted' }, 'Aucune demande de votre part depuis ce navigateur.')),
    form).focus();
}

// ---------- appeals ----------

async function viewAppeals() {
  const res = await api('GET', '/appeals');
  if (!res.ok) { page('Contestations', h('p', { class: 'form-error', role: 'alert' }, errText(res))); return; }
  const appeals = res.data.appeals;
  page('Contestations qui me sont confiées',
    h('p', { class: 'muted' }, 'Vous n’examinez jamais la contestation d’une décision que vous avez prise. Maintenir ou annuler : la personne reçoit votre réponse et son motif.'),
    appeals.length ? h('ol', { class: 'reports', 'data-testid': 'appeals' }, ...appeals.map(appealCard)) : h('p', { class: 'empty', 'data-testid': 'appeals-empty' }, 'Aucune contestation en attente.')).focus();
}

function appealCard(a) {
  const reason = h('textarea', { rows: '3', maxlength: '2000', 'data-testid': 'appeal-reason' });
  const status = h('p', { class: 'result', role: 'status', 'data-testid': 'appeal-result' });
  const decide = async (uphold) => {
    if (!reason.value.trim()) { status.className = 'result form-error'; status.textContent = 'Expliquez votre décision : la personne la recevra.'; reason.setAttribute('aria-invalid', 'true'); reason.focus(); return; }
    reason.removeAttribute('aria-invalid');
    const res = await api('POST', `/appeals/${a.id}/decide`, { uphold, reason: reason.value.trim() });
    if (!res.ok) { status.className = 'result form-error'; status.textContent = errText(res); return; }
    status.className = 'result ok';
    status.textContent = uphold ? `Sanction n° ${a.sanction_id} maintenue. La personne est informée.` : `Sanction n° ${a.sanction_id} annulée. La personne est informée et retrouve son accès.`;
    card.querySelectorAll('button, textarea').forEach((x) => { x.disabled = true; });
    say(status.textContent);
  };
  const card = h('li', { class: 'card report', 'data-testid': 'appeal', 'data-appeal': a.id },
    h('h2', {}, `Contestation n° ${a.id} — sanction n° ${a.sanction_id}`),
    h('p', { class: 'muted' }, `Par la personne n° ${a.user_id}, ${date(a.created_at)}.`),
    h('blockquote', { class: 'comment', 'data-testid': 'appeal-text' }, a.text),
    field(`appeal-reason-${a.id}`, 'Votre réponse (envoyée à la personne)', reason),
    h('div', { class: 'form-actions' },
      h('button', { type: 'button', class: 'btn btn-ghost', 'data-testid': 'appeal-uphold', onclick: () => decide(true) }, 'Maintenir la sanction'),
      h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'appeal-overturn', onclick: () => decide(false) }, 'Annuler la sanction')),
    status);
  return card;
}

// ---------- evasions, transparency, audit ----------

async function viewEvasions() {
  const res = await api('GET', '/evasions');
  if (!res.ok) { page('Tentatives de contournement', h('p', { class: 'form-error', role: 'alert' }, errText(res))); return; }
  const rows = res.data.evasions;
  const via = { enter: 'nouveau pseudo', login: 'connexion', hello: 'reconnexion' };
  const matched = { device: 'même appareil', net: 'même réseau', user: 'même compte' };
  page('Tentatives de contournement',
    h('p', { class: 'muted' }, 'Accès refusés parce qu’un bannissement s’applique à l’appareil ou au réseau (les 100 derniers).'),
    rows.length ? h('table', { class: 'table', 'data-testid': 'evasions' },
      h('thead', {}, h('tr', {}, ...['Quand', 'Sanction', 'Personne', 'Par', 'Reconnu par'].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, ...rows.map((e) => h('tr', {}, h('td', {}, date(e.ts)), h('td', {}, `n° ${e.sanction_id}`),
        h('td', {}, e.user_id ? `n° ${e.user_id}` : 'nouveau pseudo refusé'), h('td', {}, via[e.via] || e.via), h('td', {}, matched[e.matched] || e.matched)))))
      : h('p', { class: 'empty' }, 'Aucune tentative enregistrée.')).focus();
}

// ---------- voice rooms: who is in one, and a moderator's mute (a sanction, audited) ----------

function viewVoice(arg) {
  const input = h('input', { type: 'number', min: '1', inputmode: 'numeric', value: arg || '', 'data-testid': 'voice-room' });
  const out = h('div', { 'data-testid': 'voice-result' });
  const form = h('form', { class: 'card inline-form', novalidate: true, 'aria-label': 'Salon vocal' },
    field('voice-room-input', 'Numéro du salon', input),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'voice-show' }, 'Voir qui est là')));
  const load = async () => {
    const room = Number(input.value);
    if (!Number.isInteger(room) || room < 1) { out.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, 'Indiquez le numéro du salon.')); return; }
    const res = await api('GET', `/voice/${room}`);
    if (!res.ok) { out.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, errText(res))); return; }
    const people = res.data.participants;
    out.replaceChildren(people.length
      ? h('ul', { class: 'reports', 'data-testid': 'voice-participants' }, ...people.map((p) => voiceCard(room, p, load)))
      : h('p', { class: 'empty' }, 'Personne dans ce salon vocal.'));
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); history.replaceState(null, '', `#voice/${input.value}`); load(); });
  page('Salons vocaux', h('p', { class: 'muted' }, 'Qui parle dans le salon vocal d’un salon, et couper ou rendre le micro. Chaque décision est une sanction motivée, notifiée à la personne et contestable.'), form, out).focus();
  if (arg) load();
}

function voiceCard(room, p, reload) {
  const muting = !p.moderated;
  const key = `voice-${room}-${p.user}`;
  const rule = h('input', { type: 'text', maxlength: '200', 'data-testid': 'voice-rule' });
  const reason = h('input', { type: 'text', maxlength: '1000', required: true, 'data-testid': 'voice-reason' });
  const result = h('p', { class: 'result', role: 'status', 'data-testid': 'voice-outcome' });
  const form = h('form', { class: 'inline-form', novalidate: true, 'aria-label': muting ? 'Couper le micro' : 'Rendre le micro' },
    field(`${key}-rule`, 'Règle', rule), field(`${key}-reason`, 'Motif (communiqué à la personne)', reason),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'voice-toggle' },
      muting ? 'Couper le micro' : 'Rendre le micro')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!reason.value.trim()) { result.textContent = 'Indiquez le motif.'; reason.focus(); return; }
    const res = await api('POST', '/voice/mute', { room, user: p.user, muted: muting, rule: rule.value.trim(), reason: reason.value.trim() });
    if (!res.ok) { result.textContent = errText(res); return; }
    say(muting ? 'Micro coupé.' : 'Micro rendu.');
    reload();
  });
  const state = p.moderated ? 'micro coupé par la modération' : p.muted ? 'micro coupé' : 'micro ouvert';
  return h('li', { class: 'card report', 'data-testid': 'voice-participant', 'data-user': p.user, 'data-moderated': String(p.moderated) },
    h('p', {}, h('strong', {}, p.display || `n° ${p.user}`), ` · n° ${p.user} · ${state}`), form, result);
}

function dayInput(id, label, value) {
  const input = h('input', { type: 'date', value });
  return [field(id, label, input), input];
}

function viewTransparency() {
  const today = new Date();
  const from = new Date(today.getTime() - 30 * 86400000);
  const iso = (d) => d.toISOString().slice(0, 10);
  const [fromField, fromInput] = dayInput('tr-from', 'Du', iso(from));
  const [toField, toInput] = dayInput('tr-to', 'Au (inclus)', iso(today));
  const out = h('div', { 'data-testid': 'transparency' });
  const form = h('form', { class: 'card inline-form', novalidate: true, 'aria-label': 'Période' }, fromField, toField,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Afficher')));
  const load = async () => {
    const start = Date.parse(`${fromInput.value}T00:00:00`) / 1000;
    const end = Date.parse(`${toInput.value}T00:00:00`) / 1000 + 86400;
    const res = await api('GET', `/transparency?from=${start}&to=${end}`);
    if (!res.ok) { out.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, errText(res))); return; }
    const d = res.data;
    const counts = (title, obj, names) => h('section', { class: 'card stat' }, h('h2', {}, title),
      Object.keys(obj).length ? h('dl', { class: 'facts' }, ...Object.entries(obj).flatMap(([k, v]) => [h('dt', {}, names[k] || k), h('dd', {}, v)])) : h('p', { class: 'muted' }, 'Aucun.'));
    out.replaceChildren(h('div', { class: 'stats' },
      h('section', { class: 'card stat' }, h('h2', {}, 'En bref'), h('dl', { class: 'facts' },
        h('dt', {}, 'Dossiers clos'), h('dd', {}, d.cases_closed),
        h('dt', {}, 'Délai médian avant action'), h('dd', {}, duration(d.median_time_to_action_s)),
        h('dt', {}, 'Actions humaines'), h('dd', {}, d.human_actions),
        h('dt', {}, 'Actions automatiques'), h('dd', {}, d.automated_actions),
        h('dt', {}, 'Contestations'), h('dd', {}, d.appeals))),
      counts('Signalements par catégorie', d.reports_by_category, CATEGORY),
      counts('Mesures par type', d.actions_by_type, KIND_DONE),
      counts('Issue des contestations', d.appeal_outcomes, { open: 'en attente', upheld: 'maintenues', overturned: 'annulées' })));
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  page('Transparence', h('p', { class: 'muted' }, 'Les chiffres publiés dans le rapport de transparence, pour la période choisie.'), form, out).focus();
  load();
}

function viewAudit() {
  const out = h('div', { role: 'status', 'data-testid': 'audit-result' });
  const btn = h('button', {
    type: 'button', class: 'btn btn-primary', 'data-testid': 'audit-verify',
    onclick: async () => {
      btn.disabled = true;
      const res = await api('GET', '/audit/verify');
      btn.disabled = false;
      if (!res.ok) { out.replaceChildren(h('p', { class: 'form-error' }, errText(res))); return; }
      const d = res.data;
      out.replaceChildren(h('div', { class: `card ${d.problems.length ? 'bad' : 'good'}` },
        h('p', {}, h('strong', {}, d.problems.length ? `${d.problems.length} problème(s) détecté(s)` : 'Chaîne intègre : aucun problème.')),
        h('p', { class: 'muted' }, `${d.entries} entrées vérifiées, ${d.heads} têtes de chaîne exportées comparées.`),
        d.problems.length ? h('ul', {}, ...d.problems.map((p) => h('li', {}, typeof p === 'string' ? p : JSON.stringify(p)))) : null));
    },
  }, 'Vérifier la chaîne d’audit');
  page('Journal d’audit', h('p', { class: 'muted' }, 'Recalcule chaque empreinte du journal et la compare aux têtes exportées hors de la base. Cette vérification est elle-même journalisée.'), btn, out).focus();
}

// ---------- login, keyboard, start ----------

$('#login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.currentTarget;
  const err = $('#login-error');
  const body = { pseudo: f.pseudo.value.trim(), password: f.password.value, totp: f.totp.value.trim() };
  const missing = ['pseudo', 'password', 'totp'].find((k) => !body[k]);
  if (missing) { err.textContent = 'Remplissez les trois champs.'; err.hidden = false; f[missing].focus(); return; }
  const btn = f.querySelector('[type=submit]');
  btn.disabled = true;
  const res = await api('POST', '/login', body);
  btn.disabled = false;
  if (!res.ok) { err.textContent = errText(res); err.hidden = false; f.totp.value = ''; f.totp.focus(); return; }
  f.password.value = ''; f.totp.value = '';
  err.hidden = true;
  showConsole(res.data.staff);
});

$('#logout').addEventListener('click', async () => {
  await api('POST', '/logout');
  location.hash = '';
  showLogin();
});

document.addEventListener('keydown', (e) => {
  if (!state.me || e.altKey || e.ctrlKey || e.metaKey) return;
  const typing = e.target.closest?.('input, textarea, select');
  const name = location.hash.slice(1).split('/')[0] || 'queue';
  if (e.key === 'Escape' && name === 'case' && !typing) { e.preventDefault(); location.hash = '#queue'; return; }
  if (typing || name !== 'queue') return;
  if (e.key === 'j' || e.key === 'k') {
    e.preventDefault();
    const inQueue = document.activeElement?.classList.contains('queue-row');
    focusRow(inQueue ? state.selected + (e.key === 'j' ? 1 : -1) : state.selected);
  }
});

window.addEventListener('hashchange', route);

(async () => {
  const res = await api('GET', '/me');
  if (res.ok) showConsole(res.data); else showLogin();
})();
