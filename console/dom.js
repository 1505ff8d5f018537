/* Building the page: every value goes in as text (textContent, text
 * nodes), never parsed as HTML. */

/* el('div', { class: 'x', onclick: f }, 'text', child, [more]) */
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const k of Object.keys(attrs)) {
      const v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') e.textContent = String(v);
      else if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(e, children);
  return e;
}

/* Children: nodes, strings (as text), arrays of them; null is nothing. */
export function append(parent, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) { child.forEach(c => append(parent, c)); return; }
  parent.appendChild(child instanceof Node ? child
                     : document.createTextNode(String(child)));
}

export function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }

/* Empty a holder and put new content in. */
export function replace(holder, ...children) {
  clear(holder);
  append(holder, children);
}

export function byId(id) { return document.getElementById(id); }

/* A <select name=… id=f-…>; options are values or [value, label]; all is
 * the label of an empty first option. */
export function select(name, options, value, all) {
  const s = el('select', { name: name, id: 'f-' + name });
  if (all) s.appendChild(el('option', { value: '' }, all));
  for (const o of options) {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    s.appendChild(el('option', { value: v, selected: v === value }, label));
  }
  return s;
}

/* A form control under its label. */
export function field(label, control) {
  return el('div', null, el('label', { for: control.id }, label), control);
}

/* A table's head row: a column is its title, or [title, class]. */
export function thead(...cols) {
  return el('thead', null, el('tr', null, cols.map(c =>
    Array.isArray(c) ? el('th', { class: c[1] }, c[0]) : el('th', null, c))));
}

/* Follow a link as if clicked (a download). */
export function clickLink(href, filename) {
  const a = el('a', { href: href, download: filename });
  document.body.appendChild(a);
  a.click();
  a.remove();
}

/* Say text to screen readers (the page's aria-live region, #live). */
export function announce(text) {
  const live = document.getElementById('live');
  if (live && live.textContent !== text) live.textContent = text;
}
