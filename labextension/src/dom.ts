/**
 * Small DOM helpers for the panel. Every user string reaches the DOM as text (text nodes,
 * `textContent`, attribute values), never as HTML.
 */

export type Child = Node | string | null | undefined | false;

/** `h('div', {class: 'x'}, 'text', child)`: attributes as attributes, strings as text. */
export function h(
  tag: string,
  attrs: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElement {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined) {
      node.setAttribute(key, value);
    }
  }
  for (const child of children) {
    if (child) {
      node.append(child);
    }
  }
  return node;
}

export function button(
  label: string,
  onClick: () => void,
  cls = '',
  attrs: Record<string, string | undefined> = {}
): HTMLButtonElement {
  const node = h(
    'button',
    { type: 'button', class: `jp-nbmodels-button ${cls}`.trim(), ...attrs },
    label
  ) as HTMLButtonElement;
  node.addEventListener('click', event => {
    event.stopPropagation();
    onClick();
  });
  return node;
}

/**
 * Make a non-button element (a row) act on click and on Enter or Space when it has the
 * focus itself (keys pressed in a checkbox or button inside it stay theirs).
 */
export function activate(node: HTMLElement, action: () => void): HTMLElement {
  node.tabIndex = 0;
  node.addEventListener('click', action);
  node.addEventListener('keydown', event => {
    if (event.target === node && (event.key === 'Enter' || event.key === ' ')) {
      event.preventDefault();
      action();
    }
  });
  return node;
}

export function fmt(value: unknown): string {
  if (typeof value === 'number') {
    return String(Number(value.toPrecision(4)));
  }
  if (value === null || value === undefined) {
    return '—';
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Seconds as `0.4 s`, `12 s`, `3 min 5 s`. */
export function seconds(value: number | null | undefined): string {
  if (value === null || value === undefined) {
    return '—';
  }
  if (value < 60) {
    return `${Number(value.toPrecision(2))} s`;
  }
  return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`;
}

/** An ISO time as `2026-11-30 11:05` (UTC, as recorded). */
export function when(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 16).replace('T', ' ') : '—';
}

export function badge(stage: string): HTMLElement {
  return h(
    'span',
    { class: `jp-nbmodels-badge jp-nbmodels-stage-${stage}`, title: stage },
    stage
  );
}

export function table(
  head: string[],
  rows: { cells: Child[]; cls?: string }[],
  empty: string,
  label?: string
): HTMLElement {
  if (!rows.length) {
    return h('p', { class: 'jp-nbmodels-empty' }, empty);
  }
  return h(
    'table',
    { class: 'jp-nbmodels-table', 'aria-label': label },
    h('thead', {}, h('tr', {}, ...head.map(c => h('th', { scope: 'col' }, c)))),
    h(
      'tbody',
      {},
      ...rows.map(r =>
        h('tr', { class: r.cls }, ...r.cells.map(c => h('td', {}, c ?? '')))
      )
    )
  );
}

/** `[key, value]` pairs of a record as table rows, values formatted. */
export function pairs(values: Record<string, unknown>): { cells: string[] }[] {
  return Object.entries(values).map(([k, x]) => ({ cells: [k, fmt(x)] }));
}

export function section(title: string, ...body: Child[]): HTMLElement {
  return h('section', { class: 'jp-nbmodels-section' }, h('h3', {}, title), ...body);
}

/**
 * A `<details>` section whose body is made (and fetched) the first time it is opened.
 * `open` remembers, by `key`, which sections are open, so a re-render keeps them open.
 */
export function lazySection(
  title: string,
  cls: string,
  load: () => Promise<HTMLElement>,
  open?: { keys: Set<string>; key: string }
): HTMLElement {
  const body = h('div', { class: 'jp-nbmodels-lazy-body' }, 'Loading…');
  const node = h(
    'details',
    { class: `jp-nbmodels-section jp-nbmodels-details ${cls}` },
    h('summary', {}, title),
    body
  ) as HTMLDetailsElement;
  let loaded = false;
  const start = () => {
    if (loaded) {
      return;
    }
    loaded = true;
    load()
      .then(content => body.replaceChildren(content))
      .catch(error =>
        body.replaceChildren(
          h('p', { class: 'jp-nbmodels-error' }, String((error as Error).message ?? error))
        )
      );
  };
  node.addEventListener('toggle', () => {
    if (open) {
      if (node.open) {
        open.keys.add(open.key);
      } else {
        open.keys.delete(open.key);
      }
    }
    if (node.open) {
      start();
    }
  });
  if (open?.keys.has(open.key)) {
    node.open = true;
    start();
  }
  return node;
}

/** Code as text, one line per row, `+`/`-` lines marked (a unified diff). */
export function diffBlock(unified: string): HTMLElement {
  const code = h('pre', { class: 'jp-nbmodels-code jp-nbmodels-diff' });
  for (const line of unified.split('\n')) {
    const cls = line.startsWith('+') ? 'added' : line.startsWith('-') ? 'removed' : 'same';
    code.append(h('div', { class: `jp-nbmodels-diff-${cls}` }, line));
  }
  return code;
}
