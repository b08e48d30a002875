/**
 * The panel's comparison of two or more versions (`%compare` as data): one column per
 * version, changed rows marked, metric changes against the first version, the code diff.
 */
import { diffBlock, fmt, h, section, table } from './dom';
import { ICompareRow, IComparison } from './request';

export function renderComparison(c: IComparison, back: HTMLElement): HTMLElement {
  const labels = c.refs;
  // versions of one model: columns headed by the version alone (narrow in a sidebar)
  const model = labels[0]?.split('@')[0];
  const one = labels.every(l => l.includes('@') && l.split('@')[0] === model);
  const heads = one ? labels.map(l => l.slice(l.indexOf('@') + 1)) : labels;
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
  return h(
    'div',
    { class: 'jp-nbmodels-comparison', 'data-refs': labels.join(' ') },
    back,
    h('h2', {}, one ? `${model}: ${heads.join(' ↔ ')}` : labels.join(' ↔ ')),
    h(
      'p',
      { class: 'jp-nbmodels-facts' },
      `${labels.length} versions; changes are against ${labels[0]}`
    ),
    section(
      'Metrics',
      table(['metric', ...heads], rows(c.metrics, 'name'), 'No metrics.', 'metrics')
    ),
    section(
      'Parameters',
      table(['param', ...heads], rows(c.params, 'param'), 'No parameters.', 'parameters')
    ),
    section('Model', table(['', ...heads], rows(c.models, 'field'), '', 'models')),
    section(
      'Code diff',
      c.code.unified ? diffBlock(c.code.unified) : h('p', { class: 'jp-nbmodels-empty' }, 'Same code.')
    ),
    section(
      'Packages',
      table(['package', ...heads], rows(c.env, 'package'), 'Same packages.', 'packages')
    )
  );
}
