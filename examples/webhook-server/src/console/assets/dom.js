// Building the page from data without ever parsing data as HTML: every text goes through
// textContent (agent-supplied text is untrusted).

/** An element with attributes and children (strings become text nodes). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = String(value);
    else if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Removes every child of a node. */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

/** A time as the operator's locale shows it. */
export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

/** `HH:MM:SS` of a time. */
export function clock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour12: false });
}

/** The risk tier of a score: low (auto-approve range), mid, high. */
export function tier(score) {
  if (score === null || score === undefined) return 'mid';
  if (score <= 30) return 'low';
  if (score <= 70) return 'mid';
  return 'high';
}

/** A risk gauge: a bar coloured by tier, with the number for screen readers too. */
export function gauge(score) {
  const value = score ?? 0;
  const fill = el('span', { class: `tier-${tier(score)}` });
  fill.style.width = `${Math.max(0, Math.min(100, value))}%`;
  return el('div', { class: 'gauge', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': value, 'aria-label': `risk ${value} of 100` }, fill);
}

/** Seconds left until `iso`, as text. */
export function timeLeft(iso) {
  if (!iso) return 'no deadline';
  const s = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
  if (s <= 0) return 'expiring now';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${s % 60} s left` : `${s} s left`;
}

/** A definition list from [term, value] pairs (values as text or nodes). */
export function facts(pairs) {
  const dl = el('dl', { class: 'facts' });
  for (const [term, value] of pairs) {
    if (value === undefined || value === null || value === '') continue;
    dl.append(el('dt', { text: term }), el('dd', {}, value));
  }
  return dl;
}
