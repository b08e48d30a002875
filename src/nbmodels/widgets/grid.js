// The nbmodels grid (anywidget front-end): a table of one page of rows sent by Python,
// column headers that sort, a checkbox per row (or, with `multiple` off, a radio button and
// a click anywhere on the row to focus it), paging. Cells are set with textContent:
// nothing a user typed (notes, tags) is ever parsed as HTML.

let grids = 0; // a radio group name per grid on the page

function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function render({ model, el }) {
  const group = `nbm-grid-${++grids}`;
  const root = make('div', 'nbm-grid');
  const wrap = make('div', 'nbm-grid-wrap');
  const grid = make('table', 'nbm-grid-table');
  const bar = make('div', 'nbm-grid-bar');
  const prev = make('button', 'nbm-grid-turn', '◀ prev');
  const next = make('button', 'nbm-grid-turn', 'next ▶');
  const label = make('span', 'nbm-grid-label');
  prev.setAttribute('aria-label', 'previous page');
  next.setAttribute('aria-label', 'next page');
  bar.append(prev, label, next);
  wrap.append(grid);
  root.append(wrap, bar);
  el.append(root);

  const save = (changes) => {
    for (const [key, value] of Object.entries(changes)) model.set(key, value);
    model.save_changes();
  };
  const pages = () => Math.max(1, Math.ceil(model.get('total') / model.get('page_size')));
  prev.addEventListener('click', () => save({ page: Math.max(0, model.get('page') - 1) }));
  next.addEventListener('click', () => save({ page: Math.min(pages() - 1, model.get('page') + 1) }));

  function focus(key) {
    if (model.get('selected')[0] !== key) save({ selected: [key] });
  }

  function toggle(keys, on) {
    const chosen = model.get('selected').filter(k => on || !keys.includes(k));
    if (on) for (const k of keys) if (!chosen.includes(k)) chosen.push(k);
    save({ selected: chosen });
  }

  function sortBy(column) {
    if (model.get('sort_by') === column.key) {
      save({ descending: !model.get('descending') });
    } else {
      save({ sort_by: column.key, descending: column.numeric || column.natural });
    }
  }

  function draw() {
    const columns = model.get('columns');
    const rows = model.get('rows');
    const chosen = new Set(model.get('selected'));
    const sorted = model.get('sort_by');
    const arrow = model.get('descending') ? ' ▼' : ' ▲';
    const head = make('thead');
    const headRow = make('tr');
    const multiple = model.get('multiple');
    const first = make('th', 'nbm-grid-check');
    if (multiple) {
      const all = make('input');
      all.type = 'checkbox';
      all.title = 'select this page';
      all.setAttribute('aria-label', 'select every row on this page');
      all.checked = rows.length > 0 && rows.every(r => chosen.has(r.key));
      all.addEventListener('change', () => toggle(rows.map(r => r.key), all.checked));
      first.append(all);
    }
    headRow.append(first);
    for (const column of columns) {
      const th = make('th', column.numeric ? 'nbm-num' : '');
      if (column.sortable === false) {
        th.textContent = column.label;
        headRow.append(th);
        continue;
      }
      const button = make('button', 'nbm-grid-sort', column.label + (column.key === sorted ? arrow : ''));
      button.title = `sort by ${column.label}`;
      th.setAttribute('aria-sort', column.key !== sorted ? 'none'
        : (model.get('descending') ? 'descending' : 'ascending'));
      button.addEventListener('click', () => sortBy(column));
      th.append(button);
      headRow.append(th);
    }
    head.append(headRow);
    const body = make('tbody');
    for (const row of rows) {
      const tr = make('tr', chosen.has(row.key) ? 'nbm-selected' : undefined);
      tr.dataset.key = row.key;
      const box = make('input');
      box.type = multiple ? 'checkbox' : 'radio';
      box.checked = chosen.has(row.key);
      box.setAttribute('aria-label', `${multiple ? 'select' : 'open'} ${row.key}`);
      if (multiple) {
        box.addEventListener('change', () => toggle([row.key], box.checked));
      } else {
        box.name = group;
        box.addEventListener('change', () => focus(row.key));
        tr.classList.add('nbm-focusable');
        tr.addEventListener('click', () => focus(row.key));
      }
      const td = make('td', 'nbm-grid-check');
      td.append(box);
      tr.append(td);
      row.cells.forEach((value, i) => {
        const column = columns[i];
        const cell = make('td', column.numeric ? 'nbm-num' : '', value);
        if (column.key === 'stage') cell.classList.add(`nbm-stage-${value}`);
        if (row.titles[i]) cell.title = row.titles[i];
        tr.append(cell);
      });
      body.append(tr);
    }
    grid.replaceChildren(head, body);
    label.textContent = `${model.get('total')} ${model.get('noun')}(s) · page ${model.get('page') + 1}/${pages()}`;
    prev.disabled = model.get('page') === 0;
    next.disabled = model.get('page') >= pages() - 1;
  }

  // A tick changes only the marks: the rows stay (and the focus on the ticked checkbox)
  function mark() {
    const chosen = new Set(model.get('selected'));
    const rows = [...grid.querySelectorAll('tbody tr')];
    for (const tr of rows) {
      const on = chosen.has(tr.dataset.key);
      tr.classList.toggle('nbm-selected', on);
      tr.querySelector('input').checked = on;
    }
    const all = grid.querySelector('thead input');
    if (all) all.checked = rows.length > 0 && rows.every(tr => chosen.has(tr.dataset.key));
  }

  for (const name of ['rows', 'columns', 'sort_by', 'descending', 'total', 'page', 'multiple']) {
    model.on(`change:${name}`, draw);
  }
  model.on('change:selected', mark);
  draw();
}

export default { render };
