/**
 * The panel's Runs view: runs searched, filtered by experiment and sorted (by start,
 * duration or a metric) on the server, a page at a time; a run's page (params, metrics,
 * inputs, code, lineage, the versions made from it) and registering its model.
 */
import { IPageContext, lineageSection } from './details';
import { activate, button, fmt, h, pairs, section, seconds, table, when } from './dom';
import { api, IRun, IRunDetail } from './request';

/** Runs per page of the list (and per "Show more"). */
export const RUNS_PAGE = 50;

const FIXED_ORDERS: [string, string][] = [
  ['', 'Newest first'],
  ['started_at ASC', 'Oldest first'],
  ['duration_s DESC', 'Longest first'],
  ['duration_s ASC', 'Shortest first']
];

export class RunsView {
  constructor(private readonly ctx: IPageContext) {
    this.search = h('input', {
      class: 'jp-nbmodels-runs-search jp-mod-styled',
      type: 'search',
      placeholder: 'Search runs (id, note, tags, params)',
      'aria-label': 'Search runs',
      'data-key': 'runs-search'
    }) as HTMLInputElement;
    this.search.addEventListener('input', () => {
      window.clearTimeout(this.typing);
      this.typing = window.setTimeout(() => void this.load(), 250);
    });
    this.experiment = h('select', {
      class: 'jp-nbmodels-runs-experiment',
      'aria-label': 'Experiment',
      'data-key': 'runs-experiment'
    }) as HTMLSelectElement;
    this.experiment.addEventListener('change', () => void this.load());
    this.order = h('select', {
      class: 'jp-nbmodels-runs-order',
      'aria-label': 'Sort runs by',
      'data-key': 'runs-order'
    }) as HTMLSelectElement;
    this.order.addEventListener('change', () => void this.load());
    this.fillChoices([], []);
    this.toolbar = h(
      'div',
      { class: 'jp-nbmodels-runs-toolbar' },
      this.search,
      h('div', { class: 'jp-nbmodels-runs-choices' }, this.experiment, this.order)
    );
  }

  /** Search, experiment and order: kept in place across renders (typing keeps its focus). */
  readonly toolbar: HTMLElement;

  /** Whether a run's page is open (else the list). */
  get openRun(): string | null {
    return this.opened;
  }

  /** Forget everything loaded (another registry). */
  reset(): void {
    this.runs = [];
    this.total = 0;
    this.loaded = false;
    this.opened = null;
    this.details.clear();
    this.search.value = '';
    this.fillChoices([], []);
  }

  /** The first page again, with the search, filter and order as they are. */
  async load(): Promise<void> {
    const ticket = ++this.ticket;
    try {
      const page = await api.runs(this.ctx.path, {
        q: this.search.value.trim(),
        experiment: this.experiment.value,
        order: this.order.value,
        offset: 0,
        limit: RUNS_PAGE
      });
      if (ticket !== this.ticket) {
        return;
      }
      this.runs = page.runs;
      this.total = page.total;
      this.loaded = true;
      this.fillChoices(page.experiments, page.metrics);
    } catch (error) {
      if (ticket === this.ticket) {
        this.ctx.fail(error);
      }
    }
    if (ticket === this.ticket) {
      this.ctx.render();
    }
  }

  /** Reload what is shown: the list from the top, and the open run. */
  async refresh(): Promise<void> {
    await this.load();
    if (this.opened) {
      await this.fetchRun(this.opened);
      this.ctx.render();
    }
  }

  open(id: string | null): void {
    this.opened = id;
    this.ctx.say('');
    this.ctx.render();
    if (id) {
      void this.fetchRun(id).then(() => this.ctx.render());
    } else if (!this.loaded) {
      void this.load();
    }
  }

  render(): HTMLElement {
    return this.opened ? this.renderRun(this.opened) : this.renderList();
  }

  private fillChoices(experiments: string[], metrics: string[]): void {
    const keep = [this.experiment.value, this.order.value];
    this.experiment.replaceChildren(
      h('option', { value: '' }, 'All experiments'),
      ...experiments.map(e => h('option', { value: e }, e))
    );
    const metricOrders = metrics.flatMap(m => [
      [`metrics.${m} DESC`, `${m}: highest first`],
      [`metrics.${m} ASC`, `${m}: lowest first`]
    ]);
    this.order.replaceChildren(
      ...[...FIXED_ORDERS, ...metricOrders].map(([value, label]) =>
        h('option', { value }, label)
      )
    );
    // a choice that this page no longer lists stays chosen (its runs may be on no page yet)
    for (const [select, value] of [
      [this.experiment, keep[0]],
      [this.order, keep[1]]
    ] as [HTMLSelectElement, string][]) {
      if (value && ![...select.options].some(o => o.value === value)) {
        select.append(h('option', { value }, value.replace(/^metrics\./, '')));
      }
      select.value = value ?? '';
    }
  }

  /** The metric the list is sorted on, shown in each row; else the run's first metric. */
  private shownMetric(run: IRun): string {
    const sorted = /^metrics\.(.+) (ASC|DESC)$/.exec(this.order.value)?.[1];
    const name = sorted ?? Object.keys(run.metrics)[0];
    return name ? `${name} ${fmt(run.metrics[name])}` : '';
  }

  private renderList(): HTMLElement {
    if (!this.loaded) {
      return h('div', { class: 'jp-nbmodels-runs' }, h('p', {}, 'Loading…'));
    }
    const list = h('ul', { class: 'jp-nbmodels-run-list', 'aria-label': 'runs' });
    for (const run of this.runs) {
      const short = run.id.slice(0, 10);
      const metric = this.shownMetric(run);
      const row = h(
        'li',
        {
          class: 'jp-nbmodels-run',
          'data-run': run.id,
          'data-key': `run:${run.id}`,
          'aria-label': `Run ${short}, ${run.experiment}, ${run.status}${metric ? `, ${metric}` : ''}: open`
        },
        h('span', { class: 'jp-nbmodels-vnum' }, short),
        h('span', { class: 'jp-nbmodels-run-experiment' }, run.experiment),
        run.status === 'ok' ? null : h('span', { class: 'jp-nbmodels-badge jp-nbmodels-failed' }, run.status),
        h(
          'span',
          { class: 'jp-nbmodels-facts' },
          [when(run.started_at), seconds(run.duration_s), metric].filter(Boolean).join(' · ')
        )
      );
      list.append(activate(row, () => this.open(run.id)));
    }
    const more =
      this.runs.length < this.total
        ? button(
            `Show ${Math.min(RUNS_PAGE, this.total - this.runs.length)} more`,
            () => void this.more(),
            'jp-nbmodels-more',
            { 'data-key': 'runs-more' }
          )
        : null;
    return h(
      'div',
      { class: 'jp-nbmodels-runs' },
      h(
        'p',
        { class: 'jp-nbmodels-hint', role: 'status' },
        `${this.runs.length} of ${this.total} runs`
      ),
      this.runs.length
        ? list
        : h(
            'p',
            { class: 'jp-nbmodels-empty' },
            this.search.value || this.experiment.value
              ? 'No run matches.'
              : 'No runs here yet. Run a cell with %%track.'
          ),
      more
    );
  }

  private async more(): Promise<void> {
    const ticket = this.ticket;
    try {
      const page = await api.runs(this.ctx.path, {
        q: this.search.value.trim(),
        experiment: this.experiment.value,
        order: this.order.value,
        offset: this.runs.length,
        limit: RUNS_PAGE
      });
      if (ticket === this.ticket) {
        this.runs = [...this.runs, ...page.runs];
        this.total = page.total;
      }
    } catch (error) {
      this.ctx.fail(error);
    }
    this.ctx.render();
  }

  private async fetchRun(id: string): Promise<void> {
    try {
      this.details.set(id, await api.run(this.ctx.path, id));
    } catch (error) {
      this.ctx.fail(error);
      this.opened = null;
    }
  }

  private renderRun(id: string): HTMLElement {
    const back = button('‹ All runs', () => this.open(null), 'jp-nbmodels-back', {
      'data-key': 'runs-back'
    });
    const detail = this.details.get(id);
    if (!detail) {
      return h('div', {}, back, h('p', {}, 'Loading…'));
    }
    const { run } = detail;
    return h(
      'div',
      { class: 'jp-nbmodels-run-detail', 'data-run': run.id },
      back,
      h('h2', {}, `Run ${run.id}`),
      h(
        'p',
        { class: 'jp-nbmodels-facts' },
        [run.experiment, run.status, when(run.started_at), seconds(run.duration_s), run.user, run.notebook]
          .filter(Boolean)
          .join(' · ')
      ),
      run.note ? h('p', { class: 'jp-nbmodels-note' }, run.note) : null,
      this.renderRegister(detail),
      section('Metrics', table(['metric', 'value'], pairs(run.metrics), 'No metrics.')),
      section('Parameters', table(['param', 'value'], pairs(run.params), 'No parameters.')),
      section(
        'Inputs',
        table(
          ['input', 'type', 'schema'],
          run.inputs.map(i => ({ cells: [i.name, i.type, fmt(i.schema)] })),
          'No data inputs recorded.'
        )
      ),
      section('Code', h('pre', { class: 'jp-nbmodels-code' }, run.source)),
      section(
        'Variables',
        table(
          ['name', 'role', 'type'],
          run.variables.map(v => ({
            cells: [v.name, v.role, v.reason ? `${v.type} (${v.reason})` : v.type]
          })),
          'No variables captured.'
        )
      ),
      lineageSection(this.ctx, run.id)
    );
  }

  /** The versions made from the run, and a form to register its model. */
  private renderRegister(detail: IRunDetail): HTMLElement {
    const { run, versions } = detail;
    const made = versions.map(v =>
      button(v.ref, () => this.ctx.openVersion(v.name, v.version), 'jp-nbmodels-made', {
        'aria-label': `Open ${v.ref}`
      })
    );
    const models = run.variables.filter(v => v.role === 'model' && !v.reason);
    if (!models.length) {
      return section(
        'Registered as',
        made.length ? h('div', {}, ...made) : null,
        h('p', { class: 'jp-nbmodels-empty' }, 'This run captured no model to register.')
      );
    }
    const variable = h(
      'select',
      { class: 'jp-nbmodels-register-variable', 'aria-label': 'model to register' },
      ...models.map(m => h('option', { value: m.name }, `${m.name} (${m.type})`))
    ) as HTMLSelectElement;
    const name = h('input', {
      class: 'jp-nbmodels-register-name jp-mod-styled',
      type: 'text',
      placeholder: `Model name (default: ${models[0].name})`,
      'aria-label': 'model name'
    }) as HTMLInputElement;
    variable.addEventListener('change', () => {
      name.placeholder = `Model name (default: ${variable.value})`;
    });
    const note = h('input', {
      class: 'jp-nbmodels-register-note jp-mod-styled',
      type: 'text',
      placeholder: 'Note',
      'aria-label': 'version note'
    }) as HTMLInputElement;
    return section(
      'Registered as',
      made.length
        ? h('div', { class: 'jp-nbmodels-made-list' }, ...made)
        : h('p', { class: 'jp-nbmodels-empty' }, 'Not registered yet.'),
      h(
        'div',
        { class: 'jp-nbmodels-register-form' },
        models.length > 1 ? variable : null,
        name,
        note,
        button(
          'Register',
          () => void this.register(run.id, variable.value, name.value, note.value),
          'jp-nbmodels-register jp-mod-accept',
          { 'aria-label': `Register the model of run ${run.id.slice(0, 10)}` }
        )
      )
    );
  }

  private async register(run: string, variable: string, name: string, note: string): Promise<void> {
    this.ctx.say(`Registering ${variable} of run ${run.slice(0, 10)}…`);
    try {
      const { version, created } = await api.registerRun(this.ctx.path, {
        run,
        variable,
        name: name.trim() || undefined,
        note: note.trim() || undefined
      });
      await this.fetchRun(run);
      await this.ctx.refresh();
      this.ctx.say(
        created
          ? `Registered ${version.ref} (${version.bump}: ${version.bump_reason}).`
          : `Already registered as ${version.ref}.`
      );
    } catch (error) {
      this.ctx.fail(error);
    }
  }

  private readonly search: HTMLInputElement;
  private readonly experiment: HTMLSelectElement;
  private readonly order: HTMLSelectElement;
  private runs: IRun[] = [];
  private total = 0;
  private loaded = false;
  private ticket = 0;
  private typing = 0;
  private opened: string | null = null;
  private details = new Map<string, IRunDetail>();
}
