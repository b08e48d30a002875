/**
 * A version's page in the panel, as the notebook widget shows it: facts, actions (Restore,
 * stage, Card, Reproduce), champion/challenger, metrics, params, code, inputs, lineage
 * (cells and flags, fetched when opened) and stage history.
 */
import {
  badge,
  button,
  fmt,
  h,
  lazySection,
  pairs,
  section,
  table,
  when
} from './dom';
import {
  api,
  ILineage,
  IModelVersion,
  IReproduceReport,
  IStanding,
  IVersionDetail,
  STAGES
} from './request';

/** What a page needs from the panel around it. */
export interface IPageContext {
  /** The folder whose registry is shown. */
  readonly path: string;
  say(text: string, kind?: 'info' | 'error'): void;
  fail(error: unknown): void;
  /** Re-render the panel (after a reproduction finished, for one). */
  render(): void;
  refresh(): Promise<void>;
  restore(ref: string): Promise<void>;
  openRun(id: string): void;
  openVersion(name: string, version: string): void;
  /** Show a model card (a whole HTML page) in a sandboxed frame. */
  showCard(ref: string, html: string): void;
  /** Reproductions of this session, by REF: running, or the report. */
  readonly reproductions: Map<string, IReproduceReport | 'running'>;
  /** The keys of the foldable sections that are open (kept across re-renders). */
  readonly openSections: Set<string>;
}

export function renderVersionPage(
  ctx: IPageContext,
  detail: IVersionDetail,
  back: HTMLElement
): HTMLElement {
  const { version: v, run, history, standing } = detail;
  const facts = [v.model_type, `${v.bump}: ${v.bump_reason}`, when(v.created_at)];
  if (v.user) {
    facts.push(v.user);
  }
  if (standing?.location) {
    facts.push(`location: ${standing.location}`);
  }
  return h(
    'div',
    { class: 'jp-nbmodels-detail', 'data-ref': v.ref },
    back,
    h('h2', {}, v.ref, ' ', badge(v.stage)),
    h('p', { class: 'jp-nbmodels-facts' }, facts.join(' · ')),
    v.note ? h('p', { class: 'jp-nbmodels-note' }, v.note) : null,
    renderActions(ctx, v),
    renderReproduction(ctx, v.ref),
    section('Champion / challenger', renderStanding(standing, v)),
    section('Metrics', table(['metric', 'value'], pairs(v.metrics), 'No metrics.')),
    section('Parameters', table(['param', 'value'], pairs(v.params), 'No parameters.')),
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
        (run?.inputs ?? []).map(i => ({ cells: [i.name, i.type, fmt(i.schema)] })),
        'No data inputs recorded.'
      )
    ),
    run
      ? section(
          'Run',
          h(
            'p',
            { class: 'jp-nbmodels-facts' },
            `${run.experiment} · ${run.status} · ${when(run.started_at)}` +
              (run.notebook ? ` · ${run.notebook}` : '')
          ),
          button(`Open run ${run.id.slice(0, 10)}`, () => ctx.openRun(run.id), 'jp-nbmodels-open-run')
        )
      : null,
    run
      ? lineageSection(ctx, v.ref)
      : section('Lineage', h('p', { class: 'jp-nbmodels-empty' }, 'No run, no lineage.')),
    section(
      'Stage history',
      table(
        ['when', 'from → to', 'who', 'note'],
        history.map(t => ({
          cells: [when(t.at), `${t.from_stage} → ${t.to_stage}`, fmt(t.user), t.note ?? '']
        })),
        'No stage changes yet.'
      )
    )
  );
}

/** The lineage of a run or a version: its cells in execution order and its flags. */
export function lineageSection(ctx: IPageContext, ref: string): HTMLElement {
  return lazySection(
    'Lineage',
    'jp-nbmodels-lineage',
    async () => renderLineage(await api.lineage(ctx.path, ref)),
    { keys: ctx.openSections, key: `lineage:${ref}` }
  );
}

function renderLineage(lineage: ILineage): HTMLElement {
  const flags = lineage.flags.map(f =>
    h(
      'li',
      { class: 'jp-nbmodels-flag', 'data-kind': f.kind },
      h('strong', {}, `⚠ ${f.kind.replace(/_/g, ' ')}`),
      `: ${f.detail}`
    )
  );
  const cells = lineage.cells.map((cell, i) =>
    h(
      'li',
      { class: 'jp-nbmodels-lineage-cell' },
      h(
        'div',
        { class: 'jp-nbmodels-facts' },
        (cell.execution_count === null ? 'cell' : `In [${cell.execution_count}]`) +
          (i === lineage.cells.length - 1 ? ' · the tracked cell' : '') +
          (cell.binds.length ? ` · binds ${cell.binds.join(', ')}` : '')
      ),
      h('pre', { class: 'jp-nbmodels-code' }, cell.source)
    )
  );
  return h(
    'div',
    {},
    flags.length ? h('ul', { class: 'jp-nbmodels-flags' }, ...flags) : null,
    h('ol', { class: 'jp-nbmodels-lineage-cells', 'aria-label': 'lineage cells' }, ...cells)
  );
}

function renderStanding(standing: IStanding | undefined, v: IModelVersion): HTMLElement {
  if (!standing || standing.is_champion) {
    return h(
      'p',
      { class: 'jp-nbmodels-standing' },
      v.stage === 'production' ? 'This version is in production: the champion.' : '—'
    );
  }
  if (!standing.champion) {
    return h('p', { class: 'jp-nbmodels-standing' }, 'No production version to compare with.');
  }
  const champion = standing.champion.split('@').pop() ?? standing.champion;
  return h(
    'div',
    { class: 'jp-nbmodels-standing' },
    h('p', {}, `Challenger against ${standing.champion} in production (the champion).`),
    table(
      ['metric', v.version, champion, ''],
      standing.metrics.map(m => ({
        cells: [m.name, fmt(m.value), fmt(m.champion), m.verdict],
        cls: m.verdict ? `jp-nbmodels-${m.verdict}` : undefined
      })),
      'No metrics recorded.',
      'champion and challenger metrics'
    )
  );
}

function renderActions(ctx: IPageContext, v: IModelVersion): HTMLElement {
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
  const mode = h(
    'select',
    { class: 'jp-nbmodels-reproduce-mode', 'aria-label': 'reproduce from' },
    h('option', { value: 'inputs' }, 'from inputs'),
    h('option', { value: 'scratch' }, 'from scratch')
  ) as HTMLSelectElement;
  const running = ctx.reproductions.get(v.ref) === 'running';
  return h(
    'div',
    { class: 'jp-nbmodels-actions' },
    h(
      'div',
      { class: 'jp-nbmodels-action-row' },
      button('Restore', () => void ctx.restore(v.ref), 'jp-nbmodels-restore jp-mod-accept', {
        'aria-label': `Restore ${v.ref} into the notebook's kernel`
      }),
      button('Card', () => void openCard(ctx, v.ref), 'jp-nbmodels-card', {
        'aria-label': `Model card of ${v.ref}`
      }),
      v.run_id
        ? button(
            running ? 'Reproducing…' : 'Reproduce',
            () => void reproduce(ctx, v.ref, mode.value as 'inputs' | 'scratch'),
            'jp-nbmodels-reproduce',
            { 'aria-label': `Reproduce ${v.ref}`, disabled: running ? '' : undefined }
          )
        : null,
      v.run_id ? mode : null
    ),
    h(
      'div',
      { class: 'jp-nbmodels-promote-form' },
      stage,
      note,
      button('Promote', () => void promote(ctx, v, stage.value, note.value), 'jp-nbmodels-promote')
    )
  );
}

async function promote(
  ctx: IPageContext,
  v: IModelVersion,
  stage: string,
  note: string
): Promise<void> {
  try {
    const moved = await api.stage(ctx.path, v.ref, stage, note);
    await ctx.refresh();
    ctx.say(`${moved.ref} is now ${moved.stage}.`);
  } catch (error) {
    ctx.fail(error);
  }
}

async function openCard(ctx: IPageContext, ref: string): Promise<void> {
  try {
    ctx.showCard(ref, await api.card(ctx.path, ref));
  } catch (error) {
    ctx.fail(error);
  }
}

async function reproduce(
  ctx: IPageContext,
  ref: string,
  mode: 'inputs' | 'scratch'
): Promise<void> {
  ctx.reproductions.set(ref, 'running');
  ctx.say(`Reproducing ${ref} ${mode === 'inputs' ? 'from its inputs' : 'from scratch'}…`);
  ctx.render();
  try {
    const report = await api.reproduce(ctx.path, ref, mode);
    ctx.reproductions.set(ref, report);
    ctx.say(`${ref}: ${report.status}.`, report.status === 'differs' ? 'error' : 'info');
  } catch (error) {
    ctx.reproductions.delete(ref);
    ctx.fail(error);
  }
  ctx.render();
}

function renderReproduction(ctx: IPageContext, ref: string): HTMLElement | null {
  const report = ctx.reproductions.get(ref);
  if (!report || report === 'running') {
    return null;
  }
  return section(
    'Reproduction',
    h(
      'p',
      { class: 'jp-nbmodels-reproduced', 'data-status': report.status },
      h('span', { class: `jp-nbmodels-badge jp-nbmodels-repro-${report.status}` }, report.status),
      ` re-run ${report.mode === 'inputs' ? 'from its inputs' : 'from scratch'} in ` +
        `${fmt(report.duration_s)} s`
    ),
    table(
      ['what', 'name', 'recorded', 'now', ''],
      report.differences.map(d => ({
        cells: [d.kind, d.name, fmt(d.recorded), fmt(d.now), d.detail]
      })),
      'No differences.',
      'reproduction differences'
    )
  );
}
