/**
 * The "Models" sidebar: models of the current notebook's registry, their versions, a
 * version's detail, a two-version comparison, and the Restore / Promote buttons.
 *
 * Every user string reaches the DOM as text (`textContent`, text nodes), never as HTML.
 */
import { Widget } from '@lumino/widgets';

import { IRestoreResult } from './kernel';
import {
  api,
  ICompareRow,
  IComparison,
  IModelSummary,
  IModelVersion,
  IVersionDetail,
  STAGES,
  VERSIONS_PAGE_MAX
} from './request';

/** Versions shown when a model is opened, and added by each "Show older". */
export const VERSIONS_PAGE = 50;

type Child = Node | string | null | undefined | false;

/** `h('div', {class: 'x'}, 'text', child)`: attributes as attributes, strings as text. */
function h(
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

function button(label: string, onClick: () => void, cls = ''): HTMLElement {
  const node = h('button', { class: `jp-nbmodels-button ${cls}`.trim() }, label);
  node.addEventListener('click', event => {
    event.stopPropagation();
    onClick();
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

function badge(stage: string): HTMLElement {
  return h(
    'span',
    { class: `jp-nbmodels-badge jp-nbmodels-stage-${stage}`, title: stage },
    stage
  );
}

function table(
  head: string[],
  rows: { cells: string[]; cls?: string }[],
  empty: string
): HTMLElement {
  if (!rows.length) {
    return h('p', { class: 'jp-nbmodels-empty' }, empty);
  }
  return h(
    'table',
    { class: 'jp-nbmodels-table' },
    h('thead', {}, h('tr', {}, ...head.map(c => h('th', {}, c)))),
    h(
      'tbody',
      {},
      ...rows.map(r =>
        h('tr', { class: r.cls }, ...r.cells.map(c => h('td', {}, c)))
      )
    )
  );
}

function section(title: string, ...body: Child[]): HTMLElement {
  return h(
    'section',
    { class: 'jp-nbmodels-section' },
    h('h3', {}, title),
    ...body
  );
}

type View =
  | { kind: 'list' }
  | { kind: 'detail'; name: string; version: string }
  | { kind: 'compare'; refs: [string, string] };

export interface IModelsPanelOptions {
  /** Run `%restore REF` in the active notebook's kernel. */
  restore: (ref: string) => Promise<IRestoreResult>;
}

/** The versions of an open model that are loaded: `versions` (oldest first) are the
 * newest ones, from `offset` to `total`; "Show older" loads those before `offset`. */
interface IShown {
  versions: IModelVersion[];
  offset: number;
  total: number;
}

export class ModelsPanel extends Widget {
  constructor(private readonly options: IModelsPanelOptions) {
    super();
    this.addClass('jp-nbmodels-panel');
    this.search = h('input', {
      class: 'jp-nbmodels-search jp-mod-styled',
      type: 'search',
      placeholder: 'Search models',
      'aria-label': 'Search models'
    }) as HTMLInputElement;
    this.search.addEventListener('input', () => this.render());
    this.where = h('div', { class: 'jp-nbmodels-where' });
    this.statusLine = h('div', { class: 'jp-nbmodels-status', role: 'status' });
    this.body = h('div', { class: 'jp-nbmodels-body' });
    this.node.append(
      h(
        'div',
        { class: 'jp-nbmodels-header' },
        h('h2', {}, 'Models'),
        button('Refresh', () => void this.refresh(), 'jp-nbmodels-refresh')
      ),
      this.where,
      this.search,
      this.statusLine,
      this.body
    );
  }

  /** The folder (relative to the server root) whose registry is shown. */
  get path(): string {
    return this._path;
  }

  set path(value: string) {
    if (value !== this._path) {
      this._path = value;
      this.expanded.clear();
      this.selected = [];
      this.view = { kind: 'list' };
      void this.refresh();
    }
  }

  /** Reload everything shown from the server. */
  async refresh(): Promise<void> {
    const ticket = ++this.ticket;
    try {
      const reply = await api.models(this._path);
      const open = [...this.expanded.keys()];
      // reload what each open model showed (from the same oldest version), plus new ones
      const versions = await Promise.all(
        open.map(name => {
          const model = reply.models.find(m => m.name === name);
          const offset = this.expanded.get(name)?.offset ?? 0;
          return model
            ? this.loadVersions(name, Math.min(offset, model.versions), model.versions).catch(
                () => null
              )
            : null;
        })
      );
      if (ticket !== this.ticket) {
        return; // a newer refresh (or another folder) won
      }
      this.home = reply.home;
      this.models = reply.models;
      this.loadError = null;
      open.forEach((name, i) => {
        const list = versions[i];
        if (list) {
          this.expanded.set(name, list);
        } else {
          this.expanded.delete(name);
        }
      });
      if (this.view.kind === 'detail') {
        await this.loadDetail(this.view.name, this.view.version);
      }
    } catch (error) {
      if (ticket === this.ticket) {
        this.loadError = String((error as Error).message ?? error);
      }
    }
    if (ticket === this.ticket) {
      this.render();
    }
  }

  private say(text: string, kind: 'info' | 'error' = 'info'): void {
    this.statusLine.textContent = text;
    this.statusLine.dataset.kind = kind;
  }

  /** A request that failed: its message in the status line. */
  private fail(error: unknown): void {
    this.say(String((error as Error).message), 'error');
  }

  private render(): void {
    this.where.textContent = this.home ? `Registry: ${this.home}` : '';
    this.where.title = this.home;
    this.search.hidden = this.view.kind !== 'list';
    let content: HTMLElement;
    if (this.loadError) {
      content = h('p', { class: 'jp-nbmodels-error' }, this.loadError);
    } else if (this.view.kind === 'detail') {
      content = this.renderDetail(this.view.name, this.view.version);
    } else if (this.view.kind === 'compare') {
      content = this.renderCompare(this.view.refs);
    } else {
      content = this.renderList();
    }
    this.body.replaceChildren(content);
  }

  // ---- list ------------------------------------------------------------------------------

  private renderList(): HTMLElement {
    const query = this.search.value.trim().toLowerCase();
    const shown = this.models.filter(
      m =>
        !query ||
        m.name.toLowerCase().includes(query) ||
        (m.description ?? '').toLowerCase().includes(query)
    );
    const list = h('ul', { class: 'jp-nbmodels-models' });
    for (const model of shown) {
      list.append(this.renderModel(model));
    }
    const compare =
      this.selected.length === 2
        ? button(
            `Compare ${this.selected[0]} ↔ ${this.selected[1]}`,
            () => this.open({ kind: 'compare', refs: [...this.selected] as [string, string] }),
            'jp-nbmodels-compare jp-mod-accept'
          )
        : h(
            'p',
            { class: 'jp-nbmodels-hint' },
            this.models.length
              ? 'Tick two versions to compare them.'
              : ''
          );
    if (!this.models.length) {
      return h(
        'p',
        { class: 'jp-nbmodels-empty' },
        'No registered models here yet. Run a cell with %%track, then %register.'
      );
    }
    return h(
      'div',
      {},
      compare,
      shown.length ? list : h('p', { class: 'jp-nbmodels-empty' }, 'No model matches.')
    );
  }

  private renderModel(model: IModelSummary): HTMLElement {
    const versions = this.expanded.get(model.name);
    const facts = [`latest ${model.latest_version}`];
    if (model.production_version) {
      facts.push(`production ${model.production_version}`);
    }
    if (model.key_metric) {
      facts.push(`${model.key_metric} ${fmt(model.key_metric_value)}`);
    }
    const head = h(
      'div',
      {
        class: 'jp-nbmodels-model-head',
        role: 'button',
        tabindex: '0',
        'aria-expanded': String(!!versions)
      },
      h('span', { class: 'jp-nbmodels-caret' }, versions ? '▾' : '▸'),
      h('span', { class: 'jp-nbmodels-name' }, model.name),
      model.production_version ? badge('production') : null,
      h('div', { class: 'jp-nbmodels-facts' }, facts.join(' · '))
    );
    const toggle = () => void this.toggle(model.name);
    head.addEventListener('click', toggle);
    head.addEventListener('keydown', e => e.key === 'Enter' && toggle());
    const item = h('li', { class: 'jp-nbmodels-model', 'data-model': model.name }, head);
    if (versions) {
      const rows = h('ul', { class: 'jp-nbmodels-versions' });
      for (const v of [...versions.versions].reverse()) {
        rows.append(this.renderVersionRow(v));
      }
      if (versions.offset > 0) {
        rows.append(this.renderMore(model.name, versions));
      }
      item.append(rows);
    }
    return item;
  }

  /** Below the newest versions: how many are shown, and a button for the older ones. */
  private renderMore(name: string, shown: IShown): HTMLElement {
    const more = button(
      `Show ${Math.min(VERSIONS_PAGE, shown.offset)} older`,
      () => {
        more.setAttribute('disabled', '');
        more.textContent = 'Loading…';
        void this.showOlder(name, shown);
      },
      'jp-nbmodels-more'
    );
    return h(
      'li',
      {
        class: 'jp-nbmodels-more-row',
        // laid out like a version row (the stylesheet has no rule for it)
        style: 'display: flex; align-items: center; gap: 6px; padding: 2px 0 2px 14px'
      },
      more,
      h(
        'span',
        { class: 'jp-nbmodels-facts' },
        `${shown.versions.length} of ${shown.total} versions shown`
      )
    );
  }

  private renderVersionRow(v: IModelVersion): HTMLElement {
    const tick = h('input', {
      type: 'checkbox',
      'aria-label': `select ${v.ref} to compare`
    }) as HTMLInputElement;
    tick.checked = this.selected.includes(v.ref);
    tick.addEventListener('click', e => e.stopPropagation());
    tick.addEventListener('change', () => {
      this.selected = this.selected.filter(r => r !== v.ref);
      if (tick.checked) {
        this.selected = [...this.selected, v.ref].slice(-2);
      }
      this.render();
    });
    const metric = Object.entries(v.metrics)[0];
    const row = h(
      'li',
      { class: 'jp-nbmodels-version', 'data-ref': v.ref, title: `Show ${v.ref}` },
      tick,
      h('span', { class: 'jp-nbmodels-vnum' }, v.version),
      v.stage === 'none' ? null : badge(v.stage),
      h(
        'span',
        { class: 'jp-nbmodels-facts' },
        metric ? `${metric[0]} ${fmt(metric[1])}` : v.bump
      )
    );
    row.addEventListener('click', () =>
      this.open({ kind: 'detail', name: v.name, version: v.version })
    );
    return row;
  }

  private async toggle(name: string): Promise<void> {
    if (this.expanded.has(name)) {
      this.expanded.delete(name);
      this.render();
      return;
    }
    // the newest page: the models reply says how many versions there are
    const total = this.models.find(m => m.name === name)?.versions ?? 0;
    try {
      this.expanded.set(
        name,
        await this.loadVersions(name, Math.max(0, total - VERSIONS_PAGE), total)
      );
    } catch (error) {
      this.fail(error);
    }
    this.render();
  }

  /**
   * The versions of `name` from `offset` to the newest, oldest first. `total` is the count
   * the models reply gave: if versions were registered since, the newer ones are fetched too.
   */
  private async loadVersions(name: string, offset: number, total: number): Promise<IShown> {
    const versions: IModelVersion[] = [];
    let end = total;
    do {
      const from = offset + versions.length;
      const limit = Math.min(VERSIONS_PAGE_MAX, Math.max(1, end - from));
      const page = await api.versions(this._path, name, from, limit);
      versions.push(...page.versions);
      end = page.total;
      if (!page.versions.length) {
        break;
      }
    } while (offset + versions.length < end);
    return { versions, offset, total: end };
  }

  /** "Show older": the page before the oldest version shown. */
  private async showOlder(name: string, shown: IShown): Promise<void> {
    const offset = Math.max(0, shown.offset - VERSIONS_PAGE);
    try {
      const page = await api.versions(this._path, name, offset, shown.offset - offset);
      if (this.expanded.get(name) === shown) {
        // versions only ever get added after the newest, so older offsets stay put
        this.expanded.set(name, {
          versions: [...page.versions, ...shown.versions],
          offset,
          total: shown.total
        });
      }
    } catch (error) {
      this.fail(error);
    }
    this.render();
  }

  private open(view: View): void {
    this.view = view;
    this.say('');
    this.render();
    if (view.kind === 'detail') {
      void this.loadDetail(view.name, view.version).then(found => {
        if (!found) {
          this.view = { kind: 'list' }; // the error stays in the status line
        }
        this.render();
      });
    } else if (view.kind === 'compare') {
      this.comparison = null;
      api
        .compare(this._path, view.refs)
        .then(comparison => {
          this.comparison = comparison;
          this.render();
        })
        .catch(error => this.fail(error));
    }
  }

  // ---- one version ----------------------------------------------------------------------

  /** Fetch a version with its run and stage history; false (and the error said) if it failed. */
  private async loadDetail(name: string, version: string): Promise<boolean> {
    try {
      this.details.set(
        `${name}@${version}`,
        await api.versionDetail(this._path, name, version)
      );
      return true;
    } catch (error) {
      this.fail(error);
      return false;
    }
  }

  private backButton(): HTMLElement {
    return button('‹ All models', () => this.open({ kind: 'list' }), 'jp-nbmodels-back');
  }

  private renderDetail(name: string, version: string): HTMLElement {
    const detail = this.details.get(`${name}@${version}`);
    if (!detail) {
      return h('div', {}, this.backButton(), h('p', {}, 'Loading…'));
    }
    const { version: v, run, history } = detail;
    const kv = (values: Record<string, unknown>) =>
      Object.entries(values).map(([k, x]) => ({ cells: [k, fmt(x)] }));
    return h(
      'div',
      { class: 'jp-nbmodels-detail', 'data-ref': v.ref },
      this.backButton(),
      h('h2', {}, v.ref, ' ', badge(v.stage)),
      h(
        'p',
        { class: 'jp-nbmodels-facts' },
        `${v.model_type} · ${v.bump}: ${v.bump_reason} · ${v.created_at}` +
          (v.user ? ` · ${v.user}` : '')
      ),
      v.note ? h('p', { class: 'jp-nbmodels-note' }, v.note) : null,
      this.renderActions(v),
      section('Metrics', table(['metric', 'value'], kv(v.metrics), 'No metrics.')),
      section('Parameters', table(['param', 'value'], kv(v.params), 'No parameters.')),
      section(
        'Code',
        run
          ? h('pre', { class: 'jp-nbmodels-code' }, run.source)
          : h('p', { class: 'jp-nbmodels-empty' }, 'Registered without a tracked run.')
      ),
      section(
        'Inputs',
        table(
          ['input', 'type', 'schema'],
          (run?.inputs ?? []).map(i => ({
            cells: [i.name, i.type, fmt(i.schema)]
          })),
          'No data inputs recorded.'
        )
      ),
      section(
        'Lineage',
        run
          ? table(
              ['', ''],
              [
                { cells: ['run', run.id] },
                { cells: ['experiment', run.experiment] },
                { cells: ['notebook', fmt(run.notebook)] },
                { cells: ['started', run.started_at] },
                { cells: ['status', run.status] }
              ],
              ''
            )
          : h('p', { class: 'jp-nbmodels-empty' }, 'No run.')
      ),
      section(
        'Stage history',
        table(
          ['when', 'from → to', 'who', 'note'],
          history.map(t => ({
            cells: [t.at, `${t.from_stage} → ${t.to_stage}`, fmt(t.user), t.note ?? '']
          })),
          'No stage changes yet.'
        )
      )
    );
  }

  private renderActions(v: IModelVersion): HTMLElement {
    const stage = h('select', {
      class: 'jp-nbmodels-stage-select',
      'aria-label': 'stage'
    }) as HTMLSelectElement;
    for (const s of STAGES) {
      stage.append(h('option', { value: s }, s));
    }
    stage.value = v.stage === 'production' ? 'archived' : 'production';
    const note = h('input', {
      class: 'jp-nbmodels-note-input jp-mod-styled',
      type: 'text',
      placeholder: 'Note (why)',
      'aria-label': 'note'
    }) as HTMLInputElement;
    return h(
      'div',
      { class: 'jp-nbmodels-actions' },
      button('Restore', () => void this.restore(v.ref), 'jp-nbmodels-restore jp-mod-accept'),
      h(
        'div',
        { class: 'jp-nbmodels-promote-form' },
        stage,
        note,
        button(
          'Promote',
          () => void this.promote(v, stage.value, note.value),
          'jp-nbmodels-promote'
        )
      )
    );
  }

  private async restore(ref: string): Promise<void> {
    this.say(`Restoring ${ref}…`);
    try {
      const result = await this.options.restore(ref);
      if (result.ok) {
        this.say(`Restored ${ref} as ${result.name} in the notebook's kernel.`);
      } else {
        this.say(result.text || `Could not restore ${ref}.`, 'error');
      }
    } catch (error) {
      this.say(`Could not restore ${ref}: ${(error as Error).message}`, 'error');
    }
  }

  private async promote(v: IModelVersion, stage: string, note: string): Promise<void> {
    try {
      const moved = await api.stage(this._path, v.ref, stage, note);
      await this.refresh();
      this.say(`${moved.ref} is now ${moved.stage}.`);
    } catch (error) {
      this.fail(error);
    }
  }

  // ---- compare ---------------------------------------------------------------------------

  private renderCompare(refs: [string, string]): HTMLElement {
    const c = this.comparison;
    if (!c) {
      return h('div', {}, this.backButton(), h('p', {}, 'Loading…'));
    }
    const labels = c.refs;
    const rows = (list: ICompareRow[], key: string) =>
      list.map(row => ({
        cells: [
          String(row[key] ?? ''),
          ...labels.map((label, i) => {
            const change = i > 0 ? row.change?.[label] : '';
            return fmt(row.values[label]) + (change ? ` (${change})` : '');
          })
        ],
        cls:
          row.changed || Object.values(row.change ?? {}).some(Boolean)
            ? 'jp-nbmodels-changed'
            : undefined
      }));
    const code = h('pre', { class: 'jp-nbmodels-code jp-nbmodels-diff' });
    for (const line of c.code.unified.split('\n')) {
      const cls = line.startsWith('+')
        ? 'added'
        : line.startsWith('-')
          ? 'removed'
          : 'same';
      code.append(h('div', { class: `jp-nbmodels-diff-${cls}` }, line));
    }
    return h(
      'div',
      { class: 'jp-nbmodels-comparison' },
      this.backButton(),
      h('h2', {}, `${refs[0]} ↔ ${refs[1]}`),
      section('Metrics', table(['metric', ...labels], rows(c.metrics, 'name'), 'No metrics.')),
      section('Parameters', table(['param', ...labels], rows(c.params, 'param'), 'No parameters.')),
      section('Model', table(['', ...labels], rows(c.models, 'field'), '')),
      section(
        'Code diff',
        c.code.unified ? code : h('p', { class: 'jp-nbmodels-empty' }, 'Same code.')
      ),
      section('Packages', table(['package', ...labels], rows(c.env, 'package'), 'Same packages.'))
    );
  }

  private readonly search: HTMLInputElement;
  private readonly where: HTMLElement;
  private readonly statusLine: HTMLElement;
  private readonly body: HTMLElement;
  private _path = '';
  private home = '';
  private ticket = 0;
  private loadError: string | null = null;
  private models: IModelSummary[] = [];
  private expanded = new Map<string, IShown>();
  private selected: string[] = [];
  private details = new Map<string, IVersionDetail>();
  private comparison: IComparison | null = null;
  private view: View = { kind: 'list' };
}
