/**
 * The "Models" sidebar: two tabs. Models: the current notebook's registry, models with
 * their versions, a version's page (details.ts), a comparison of two or more versions
 * (compare.ts), Restore / Promote / Card / Reproduce. Runs: runs.ts.
 *
 * Every user string reaches the DOM as text (`textContent`, text nodes), never as HTML.
 * Everything that acts is reachable with Tab and works with Enter or Space; a re-render
 * gives the focus back to the element that had it (by its `data-key`).
 */
import { Widget } from '@lumino/widgets';

import { renderComparison } from './compare';
import { IPageContext, renderVersionPage } from './details';
import { activate, badge, button, fmt, h } from './dom';
import { IRestoreResult } from './kernel';
import {
  api,
  IComparison,
  IModelSummary,
  IModelVersion,
  IReproduceReport,
  IVersionDetail,
  VERSIONS_PAGE_MAX
} from './request';
import { RunsView } from './runs';

export { fmt } from './dom';

/** Versions shown when a model is opened, and added by each "Show older". */
export const VERSIONS_PAGE = 50;
/** The most versions compared at once (ticking another drops the first ticked). */
export const COMPARE_MAX = 8;

type Tab = 'models' | 'runs';
type View =
  | { kind: 'list' }
  | { kind: 'detail'; name: string; version: string }
  | { kind: 'compare'; refs: string[] };

export interface IModelsPanelOptions {
  /** Run `%restore REF` in the active notebook's kernel. */
  restore: (ref: string) => Promise<IRestoreResult>;
  /** Show a model card (a whole HTML page); default: a sandboxed frame in the panel. */
  showCard?: (ref: string, html: string) => void;
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
    this.body = h('div', {
      class: 'jp-nbmodels-body',
      role: 'tabpanel',
      id: 'jp-nbmodels-tabpanel'
    });
    this.context = this.makeContext();
    this.runsView = new RunsView(this.context);
    this.tabs = {
      models: this.makeTab('models', 'Models'),
      runs: this.makeTab('runs', 'Runs')
    };
    this.node.append(
      h(
        'div',
        { class: 'jp-nbmodels-header' },
        h('h2', {}, 'Models'),
        button('Refresh', () => void this.refresh(), 'jp-nbmodels-refresh', {
          'aria-label': 'Refresh from the registry',
          'data-key': 'refresh'
        })
      ),
      this.where,
      h(
        'div',
        { class: 'jp-nbmodels-tabs', role: 'tablist', 'aria-label': 'Registry views' },
        this.tabs.models,
        this.tabs.runs
      ),
      this.search,
      this.runsView.toolbar,
      this.statusLine,
      this.body
    );
    this.render();
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
      this.details.clear();
      this.reproductions.clear();
      this.openSections.clear();
      this.runsView.reset();
      void this.refresh();
    }
  }

  /** Reload everything shown from the server. */
  async refresh(): Promise<void> {
    const ticket = ++this.ticket;
    if (this.tab === 'runs') {
      void this.runsView.refresh();
    }
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

  private makeContext(): IPageContext {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const panel = this;
    return {
      get path() {
        return panel._path;
      },
      say: (text, kind) => panel.say(text, kind),
      fail: error => panel.fail(error),
      render: () => panel.render(),
      refresh: () => panel.refresh(),
      restore: ref => panel.restore(ref),
      openRun: id => {
        panel.selectTab('runs');
        panel.runsView.open(id);
      },
      openVersion: (name, version) => {
        panel.selectTab('models');
        panel.open({ kind: 'detail', name, version });
      },
      showCard: (ref, html) => panel.showCard(ref, html),
      reproductions: this.reproductions,
      openSections: this.openSections
    };
  }

  private makeTab(tab: Tab, label: string): HTMLButtonElement {
    const node = button(label, () => this.selectTab(tab), `jp-nbmodels-tab`, {
      role: 'tab',
      id: `jp-nbmodels-tab-${tab}`,
      'aria-controls': 'jp-nbmodels-tabpanel',
      'data-tab': tab,
      'data-key': `tab:${tab}`
    });
    // the tabs pattern: arrows move between tabs, one tab stop for the list
    node.addEventListener('keydown', event => {
      if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
        event.preventDefault();
        const other: Tab = tab === 'models' ? 'runs' : 'models';
        this.selectTab(other);
        this.tabs[other].focus();
      }
    });
    return node;
  }

  private selectTab(tab: Tab): void {
    if (tab === this.tab) {
      return;
    }
    this.tab = tab;
    this.say('');
    if (tab === 'runs' && !this.runsView.openRun) {
      void this.runsView.load();
    }
    this.render();
  }

  private say(text: string, kind: 'info' | 'error' = 'info'): void {
    this.statusLine.textContent = text;
    this.statusLine.dataset.kind = kind;
  }

  /** A request that failed: its message in the status line. */
  private fail(error: unknown): void {
    this.say(String((error as Error).message ?? error), 'error');
  }

  private render(): void {
    const focused = this.focusedKey();
    this.where.textContent = this.home ? `Registry: ${this.home}` : '';
    this.where.title = this.home;
    for (const [tab, node] of Object.entries(this.tabs)) {
      const selected = tab === this.tab;
      node.setAttribute('aria-selected', String(selected));
      node.tabIndex = selected ? 0 : -1;
      node.classList.toggle('jp-mod-current', selected);
    }
    this.body.setAttribute('aria-labelledby', `jp-nbmodels-tab-${this.tab}`);
    this.search.hidden = this.tab !== 'models' || this.view.kind !== 'list';
    this.runsView.toolbar.hidden = this.tab !== 'runs' || this.runsView.openRun !== null;
    let content: HTMLElement;
    if (this.loadError) {
      content = h('p', { class: 'jp-nbmodels-error' }, this.loadError);
    } else if (this.tab === 'runs') {
      content = this.runsView.render();
    } else if (this.view.kind === 'detail') {
      content = this.renderDetail(this.view.name, this.view.version);
    } else if (this.view.kind === 'compare') {
      content = this.comparison
        ? renderComparison(this.comparison, this.backButton())
        : h('div', {}, this.backButton(), h('p', {}, 'Loading…'));
    } else {
      content = this.renderList();
    }
    this.body.replaceChildren(content);
    this.restoreFocus(this.pendingFocus ?? focused);
    this.pendingFocus = null;
  }

  /** The `data-key` of the focused element in the panel, if it has one. */
  private focusedKey(): string | null {
    const active = document.activeElement as HTMLElement | null;
    return active && this.node.contains(active) ? active.dataset.key ?? null : null;
  }

  private restoreFocus(key: string | null): void {
    if (key && !this.node.contains(document.activeElement)) {
      const target = this.node.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`);
      target?.focus();
    }
  }

  // ---- list ------------------------------------------------------------------------------

  private renderList(): HTMLElement {
    if (!this.models.length) {
      return h(
        'p',
        { class: 'jp-nbmodels-empty' },
        'No registered models here yet. Run a cell with %%track, then %register.'
      );
    }
    const query = this.search.value.trim().toLowerCase();
    const shown = this.models.filter(
      m =>
        !query ||
        m.name.toLowerCase().includes(query) ||
        (m.description ?? '').toLowerCase().includes(query)
    );
    const list = h('ul', { class: 'jp-nbmodels-models', 'aria-label': 'models' });
    for (const model of shown) {
      list.append(this.renderModel(model));
    }
    const n = this.selected.length;
    const compare =
      n >= 2
        ? h(
            'div',
            { class: 'jp-nbmodels-compare-bar' },
            button(
              `Compare ${n} versions`,
              () => this.open({ kind: 'compare', refs: [...this.selected] }),
              'jp-nbmodels-compare jp-mod-accept',
              { 'data-key': 'compare', 'aria-label': `Compare ${this.selected.join(', ')}` }
            ),
            button('Clear', () => this.select([]), 'jp-nbmodels-clear', {
              'data-key': 'clear-selection',
              'aria-label': 'Clear the selection'
            })
          )
        : h(
            'p',
            { class: 'jp-nbmodels-hint' },
            n === 1
              ? `${this.selected[0]} ticked: tick one or more others to compare.`
              : `Tick two or more versions to compare them (up to ${COMPARE_MAX}).`
          );
    return h(
      'div',
      {},
      compare,
      shown.length ? list : h('p', { class: 'jp-nbmodels-empty' }, 'No model matches.')
    );
  }

  private select(refs: string[]): void {
    this.selected = refs.slice(-COMPARE_MAX);
    this.render();
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
        'aria-expanded': String(!!versions),
        'aria-label': `${model.name}, ${model.versions} versions, ${facts.join(', ')}`,
        'data-key': `model:${model.name}`
      },
      h('span', { class: 'jp-nbmodels-caret', 'aria-hidden': 'true' }, versions ? '▾' : '▸'),
      h('span', { class: 'jp-nbmodels-name' }, model.name),
      model.production_version ? badge('production') : null,
      h('div', { class: 'jp-nbmodels-facts' }, facts.join(' · '))
    );
    activate(head, () => void this.toggle(model.name));
    const item = h('li', { class: 'jp-nbmodels-model', 'data-model': model.name }, head);
    if (versions) {
      const rows = h('ul', {
        class: 'jp-nbmodels-versions',
        'aria-label': `versions of ${model.name}`
      });
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
      'jp-nbmodels-more',
      { 'data-key': `more:${name}` }
    );
    return h(
      'li',
      { class: 'jp-nbmodels-more-row' },
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
      'aria-label': `select ${v.ref} to compare`,
      'data-key': `tick:${v.ref}`
    }) as HTMLInputElement;
    tick.checked = this.selected.includes(v.ref);
    tick.addEventListener('click', e => e.stopPropagation());
    tick.addEventListener('change', () => {
      const others = this.selected.filter(r => r !== v.ref);
      this.select(tick.checked ? [...others, v.ref] : others);
    });
    const metric = Object.entries(v.metrics)[0];
    const summary = metric ? `${metric[0]} ${fmt(metric[1])}` : v.bump;
    const row = h(
      'li',
      {
        class: 'jp-nbmodels-version',
        'data-ref': v.ref,
        'data-key': `version:${v.ref}`,
        title: `Show ${v.ref}`,
        'aria-label': `${v.ref}, ${v.stage}, ${summary}: open details`
      },
      tick,
      h('span', { class: 'jp-nbmodels-vnum' }, v.version),
      v.stage === 'none' ? null : badge(v.stage),
      v.location && v.location !== 'local'
        ? h('span', { class: 'jp-nbmodels-location', title: `location: ${v.location}` }, v.location)
        : null,
      h('span', { class: 'jp-nbmodels-facts' }, summary)
    );
    return activate(row, () => this.open({ kind: 'detail', name: v.name, version: v.version }));
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
    // the focus goes to the page's back button, and coming back, to what was opened
    if (view.kind === 'list') {
      this.pendingFocus = this.returnFocus;
    } else {
      this.returnFocus = this.focusedKey() ?? this.returnFocus;
      this.pendingFocus = 'back';
    }
    this.view = view;
    this.say('');
    this.render();
    if (view.kind === 'detail') {
      void this.loadDetail(view.name, view.version).then(found => {
        if (!found) {
          this.view = { kind: 'list' }; // the error stays in the status line
        }
        this.pendingFocus = 'back';
        this.render();
      });
    } else if (view.kind === 'compare') {
      this.comparison = null;
      api
        .compare(this._path, view.refs)
        .then(comparison => {
          this.comparison = comparison;
          this.pendingFocus = 'back';
          this.render();
        })
        .catch(error => this.fail(error));
    }
  }

  // ---- one version ----------------------------------------------------------------------

  /** Fetch a version's page; false (and the error said) if it failed. */
  private async loadDetail(name: string, version: string): Promise<boolean> {
    try {
      this.details.set(`${name}@${version}`, await api.versionDetail(this._path, name, version));
      return true;
    } catch (error) {
      this.fail(error);
      return false;
    }
  }

  private backButton(): HTMLElement {
    return button('‹ All models', () => this.open({ kind: 'list' }), 'jp-nbmodels-back', {
      'data-key': 'back'
    });
  }

  private renderDetail(name: string, version: string): HTMLElement {
    const detail = this.details.get(`${name}@${version}`);
    if (!detail) {
      return h('div', {}, this.backButton(), h('p', {}, 'Loading…'));
    }
    return renderVersionPage(this.context, detail, this.backButton());
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

  private showCard(ref: string, html: string): void {
    if (this.options.showCard) {
      this.options.showCard(ref, html);
      return;
    }
    // no script runs in it, and it has an origin of its own (no allow-same-origin)
    const frame = h('iframe', {
      class: 'jp-nbmodels-card-frame',
      sandbox: '',
      title: `Model card of ${ref}`
    }) as HTMLIFrameElement;
    frame.srcdoc = html;
    this.body.prepend(frame);
  }

  private readonly search: HTMLInputElement;
  private readonly where: HTMLElement;
  private readonly statusLine: HTMLElement;
  private readonly body: HTMLElement;
  private readonly context: IPageContext;
  private readonly runsView: RunsView;
  private readonly tabs: Record<Tab, HTMLButtonElement>;
  private readonly reproductions = new Map<string, IReproduceReport | 'running'>();
  private readonly openSections = new Set<string>();
  private tab: Tab = 'models';
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
  private pendingFocus: string | null = null;
  private returnFocus: string | null = null;
}
