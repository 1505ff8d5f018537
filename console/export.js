/* The new-export form: a resource's rows, filtered, with chosen fields,
 * as an export job (its page follows) or streamed now as a download. */
import { API, api, download, newKey } from './api.js';
import { clear, el, field, select } from './dom.js';
import { FIELDS, FILTERS, FORMATS, RESOURCES, TIME_FILTERS } from './model.js';
import { jobHref } from './router.js';

export function newExport(view) {
  const fRes = select('resource', RESOURCES, 'users');
  const fFmt = select('format', FORMATS, 'ndjson');
  const filters = el('div', { class: 'row', id: 'filters' });
  const fields = el('div', { class: 'fields', id: 'fields' });
  const mode = select('mode', [['job', 'an export job (download link)'], ['stream', 'download now (streamed)']], 'job');
  const msg = el('p', { class: 'error', role: 'alert' });
  const note = el('p', { class: 'muted', id: 'export-note', 'aria-live': 'polite' });

  /* the chosen resource's filters and fields */
  function build() {
    clear(filters);
    clear(fields);
    const r = fRes.value;
    for (const [name, values] of FILTERS[r]) {
      filters.appendChild(field(name, values ? select('flt-' + name, values, '', 'any')
        : el('input', { type: 'text', name: 'flt-' + name, id: 'f-flt-' + name, placeholder: 'id', size: 38 })));
    }
    for (const name of TIME_FILTERS) {
      filters.appendChild(field(name,
        el('input', { type: 'datetime-local', name: 'flt-' + name, id: 'f-flt-' + name, step: 1 })));
    }
    for (const f of FIELDS[r]) {
      fields.appendChild(el('label', null,
        el('input', { type: 'checkbox', name: 'field', value: f, checked: true }), ' ' + f));
    }
  }
  fRes.addEventListener('change', build);
  build();

  const form = el('form', { id: 'export-form' },
    el('h1', null, 'New export'),
    el('div', { class: 'row' }, field('Resource', fRes), field('Format', fFmt), field('As', mode)),
    el('h2', null, 'Filters'), filters,
    el('h2', null, 'Fields'), fields,
    el('div', { class: 'actions' }, el('button', { type: 'submit', id: 'export' }, 'Export')),
    msg, note);
  view.appendChild(el('div', { class: 'card' }, form));

  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    msg.textContent = '';
    const flt = {};
    for (const i of form.querySelectorAll('[name^="flt-"]')) {
      if (!i.value) continue;
      const name = i.name.slice(4);
      flt[name] = i.type === 'datetime-local' ? new Date(i.value).toISOString() : i.value;
    }
    const boxes = Array.from(form.querySelectorAll('input[name=field]'));
    const chosen = boxes.filter(b => b.checked).map(b => b.value);
    if (!chosen.length) { msg.textContent = 'Choose at least one field.'; return; }
    const all = chosen.length === boxes.length;
    if (mode.value === 'stream') {
      const q = new URLSearchParams({ resource: fRes.value, format: fFmt.value });
      if (!all) q.set('fields', chosen.join(','));
      for (const k of Object.keys(flt)) q.set(k, flt[k]);
      return download(API + '/exports?' + q.toString(), note);
    }
    const body = { resource: fRes.value, format: fFmt.value, filters: flt };
    if (!all) body.fields = chosen;
    try {
      const doc = await api('POST', '/exports', body, { 'Idempotency-Key': newKey() });
      location.hash = jobHref('export', doc.job_id);
    } catch (e) {
      msg.textContent = 'The export was refused: ' + e.message;
    }
  });
}
