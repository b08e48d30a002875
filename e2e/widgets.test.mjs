// End-to-end test of the in-notebook widgets in a real JupyterLab, driven by playwright-core
// on Debian's chromium (lab.mjs, as panel.test.mjs), at 1280 px. Given a notebook that tracks
// and registers three versions of a model (one with HTML in its note) and then 57 more over
// three models, when `%models iris-clf` runs, then the browser widget shows the versions in
// one grid (the note as text); sorting by a metric orders the rows; ticking two versions and
// Compare shows the compare view with the changed param; Restore binds one into the kernel;
// Stage… with a note moves one to production; nothing in the output area overflows
// horizontally and each version is one line. Clicking a model in the models grid shows its
// versions. The Runs tab lists the 60 runs in the same grid; filtered to one experiment, a
// run opens with its details, its model is registered from it, and the Models tab shows the
// new model. `%compare` renders the view with its Vega-Lite charts on its own.
//
// Usage: node widgets.test.mjs   (env: JUPYTER = jupyter executable, OUT = screenshot folder,
//   UPDATE_README_IMAGE=1 to refresh docs/images/models-widget.png, runs-widget.png and
//   compare-widget.png)

import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';

import {
  logger, notebook, openNotebook, readmeImage, repo, runCells, screenshots, withLab
} from './lab.mjs';

const OUT = resolve(process.env.OUT ?? join(repo, 'test-output', 'e2e-widgets'));
const IMAGES = join(repo, 'docs', 'images');

const log = logger('e2e-widgets');

const XSS = '<img src=x onerror=window.__nbmodelsXSS=1>';
const MORE = [
  'from nbmodels.api import default_registry',
  'from nbmodels.registry import CellRecord',
  'from datetime import datetime, timezone',
  'registry = default_registry()',
  'for name, count in (("iris-clf", 17), ("churn-model", 20), ("fraud-model", 20)):',
  '    for i in range(count):',
  '        C = round(0.03 * (i + 1) + 0.001, 4)  # none equal to the tracked 1.0, 0.1, 0.01',
  '        model = LogisticRegression(C=C, max_iter=500).fit(X, y)',
  '        now = datetime.now(timezone.utc)',
  '        registry.record_run(CellRecord(source=f"clf = LogisticRegression(C={C})", experiment=name,',
  '            status="ok", started_at=now, ended_at=now,',
  '            values={"clf": model, "C": C, "accuracy": model.score(X, y), "log_loss": 1 / (i + 2)}))',
  '        registry.register(model, name, variable="clf", note=f"sweep {i} with a note long enough to be cut")',
  'print(sum(m.versions for m in registry.list_models()))'
].join('\n');
const CELLS = [
  '%load_ext nbmodels',
  'from sklearn.datasets import load_iris\nfrom sklearn.linear_model import LogisticRegression\n' +
    'X, y = load_iris(return_X_y=True, as_frame=True)',
  '%%track iris\nclf = LogisticRegression(C=1.0, max_iter=500).fit(X, y)\naccuracy = clf.score(X, y)',
  '%register clf iris-clf --note "baseline"',
  '%%track iris\nclf = LogisticRegression(C=0.01, max_iter=500).fit(X, y)\naccuracy = clf.score(X, y)',
  `%register clf iris-clf --note "${XSS}" --tag team=ml`,
  '%%track iris\nclf = LogisticRegression(C=0.1, max_iter=500).fit(X, y)\naccuracy = clf.score(X, y)',
  '%register clf iris-clf --stage staging',
  '%stage iris-clf@1.0.0 production --note "first one"',
  MORE,
  '%models iris-clf',
  '%compare iris-clf@1.0.0 iris-clf@1.1.0 iris-clf@1.2.0',
  'print(type(restored).__name__, restored.C)'
];

/** Whether anything in a cell's output area overflows horizontally, and the row heights of
 * its grids (a grid row of one line is under 30 px). */
async function layoutOf(cell) {
  return cell.evaluate(cell => {
    const areas = [...cell.querySelectorAll('.jp-OutputArea-output')];
    const rows = [...cell.querySelectorAll('.nbm-grid tbody tr')]
      .map(r => r.getBoundingClientRect().height).filter(h => h > 0);
    return { overflow: areas.filter(a => a.scrollWidth > a.clientWidth + 1).length,
      widths: areas.map(a => [a.scrollWidth, a.clientWidth]), rows };
  });
}

/** Texts of one grid column on the page, in row order. */
async function columnValues(grid, label) {
  return grid.evaluate((el, wanted) => {
    const heads = [...el.querySelectorAll('thead th')].map(th => th.textContent.replace(/[▲▼]/g, '').trim());
    const index = heads.indexOf(wanted);
    return [...el.querySelectorAll('tbody tr')].map(tr => tr.children[index].textContent);
  }, label);
}

async function main() {
  const shot = screenshots(OUT, log);
  const shots = {};
  const files = { 'widgets.ipynb': notebook(CELLS) };
  const viewport = { width: 1280, height: 1400 };
  await withLab(files, { say: log, shot, viewport, deadlineMs: 170_000 }, async ({ lab, page, pageErrors }) => {
    await openNotebook(page, lab, 'widgets.ipynb');
    // The Models sidebar panel takes room beside the notebook: close it for the pictures.
    const panelTab = page.locator('.jp-SideBar.jp-mod-left li[data-id="nbmodels-panel"]');
    if ((await panelTab.count()) && (await panelTab.getAttribute('aria-selected')) === 'true') {
      await panelTab.click();
    }
    log('notebook open');

    // everything but the last cell, which reads what Restore binds
    const cells = await runCells(page, CELLS.length - 1);
    await cells.nth(CELLS.indexOf(MORE)).getByText(/^60\s*$/).waitFor({ timeout: 60_000 });
    log('cells ran: 3 models, 60 versions');

    // %models: the live widget (not the static fallback), with the model and one grid.
    const browserCell = cells.nth(CELLS.indexOf('%models iris-clf'));
    const browser = browserCell.locator('.widget-vbox.nbmodels-browser');
    await browser.waitFor();
    // The models are a grid too (no select box): iris-clf is focused, with its production
    // version; clicking another model shows its versions.
    const modelsGrid = browser.locator('.nbmodels-models-grid .nbm-grid');
    const focusedModel = modelsGrid.locator('tbody tr.nbm-selected');
    await focusedModel.first().waitFor();
    assert.equal(await focusedModel.getAttribute('data-key'), 'iris-clf');
    assert.deepEqual((await columnValues(modelsGrid, 'model')).sort(), ['churn-model', 'fraud-model', 'iris-clf']);
    const production = await columnValues(modelsGrid, 'production');
    assert.equal(production[(await columnValues(modelsGrid, 'model')).indexOf('iris-clf')], '1.0.0');
    assert.equal(await browser.locator('select[multiple]').count(), 0, 'one grid, no second list');
    assert.equal(await browser.locator('.widget-select select').count(), 0, 'no models select box');
    const grid = browser.locator('.nbmodels-versions-grid .nbm-grid');
    const rows = grid.locator('tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 20);
    await modelsGrid.locator('tbody tr[data-key="churn-model"]').click();
    await grid.locator('tbody tr[data-key="churn-model@1.0.0"]').waitFor();
    await browser.getByText('Versions of churn-model').waitFor();
    await modelsGrid.locator('tbody tr[data-key="iris-clf"]').click();
    await grid.locator('tbody tr[data-key="iris-clf@1.0.0"]').waitFor();
    log('models grid: click a model, its versions show');
    assert.deepEqual((await columnValues(grid, 'version')).slice(-3), ['1.2.0', '1.1.0', '1.0.0']);
    // The note holding HTML is shown as text and never runs.
    await grid.locator('td', { hasText: '<img src=x onerror=' }).first().waitFor();
    assert.equal(await page.evaluate(() => window.__nbmodelsXSS), undefined);
    log('browser widget rendered: one grid of 20 versions');

    // Sort by a metric (highest first), then tick the two best versions and compare.
    await grid.locator('button.nbm-grid-sort', { hasText: /^accuracy/ }).click();
    await grid.locator('th[aria-sort="descending"]', { hasText: 'accuracy' }).waitFor();
    const accuracy = (await columnValues(grid, 'accuracy')).map(Number);
    assert.deepEqual(accuracy, [...accuracy].sort((a, b) => b - a), 'sorted by accuracy');
    const versionsSorted = await columnValues(grid, 'version');
    for (const i of [0, 1]) {
      await rows.nth(i).locator('input[type=checkbox]').click();
      await grid.locator(`tbody tr.nbm-selected[data-key="iris-clf@${versionsSorted[i]}"]`).waitFor();
    }
    await browser.locator('summary', { hasText: 'Champion / challenger' }).waitFor();
    await browser.locator('h4', { hasText: `iris-clf@${versionsSorted[1]}` }).waitFor();
    const compareButton = browser.locator('button', { hasText: 'Compare' });
    await page.waitForFunction(el => !el.disabled, await compareButton.elementHandle());
    shots['models-widget'] = await shot(browser, 'models-widget');
    await compareButton.click();
    const view = browser.locator('.nbmodels-compare .widget-tab');
    await view.waitFor();
    await view.locator('.lm-TabBar-tab', { hasText: 'Params' }).click();
    await view.locator('tr td', { hasText: /^C$/ }).first().waitFor();
    log(`sorted by accuracy, ticked ${versionsSorted.slice(0, 2).join(' and ')}, compared`);

    // Restore the focused (last ticked) version into the kernel as `restored`.
    await browser.locator('input[placeholder="as variable (optional)"]').fill('restored');
    await browser.locator('button', { hasText: 'Restore' }).click();
    await browser.getByText(`Restored iris-clf@${versionsSorted[1]} as restored`).waitFor();
    // Stage it with a note: the grid's stage cell and the audit trail follow.
    await browser.locator('.nbmodels-models .widget-dropdown select').selectOption('production');
    await browser.locator('input[placeholder="note (kept in the audit trail)"]').fill('best in the e2e');
    await browser.locator('button', { hasText: 'Stage…' }).click();
    await browser.getByText(`iris-clf@${versionsSorted[1]} is now production`).waitFor();
    await browser.locator('td', { hasText: 'best in the e2e' }).waitFor();
    await grid.locator('td.nbm-stage-production').first().waitFor();
    log('restored and staged with a note');

    // Nothing overflows the output area at 1280 px, and each version is one line.
    const layout = await layoutOf(browserCell);
    assert.equal(layout.overflow, 0, `no horizontal overflow: ${JSON.stringify(layout.widths)}`);
    assert.ok(Math.max(...layout.rows) < 30, `one line per version: ${layout.rows}`);
    log(`no overflow at 1280 px, rows ${Math.min(...layout.rows)}-${Math.max(...layout.rows)} px`);

    // The Runs tab: every run in the same grid (50 a page), filtered to one experiment; a
    // click opens a run (its details), Register makes a version of its model.
    await browser.locator('.lm-TabBar-tab', { hasText: /^Runs$/ }).click();
    const runs = browser.locator('.nbmodels-runs');
    const runsGrid = runs.locator('.nbm-grid');
    await runsGrid.locator('tbody tr').first().waitFor();
    assert.equal(await runsGrid.locator('tbody tr').count(), 50);
    await runsGrid.getByText('60 run(s) · page 1/2').waitFor();
    await runs.locator('.widget-dropdown select').first().selectOption('iris');
    await runsGrid.getByText('3 run(s) · page 1/1').waitFor();
    assert.deepEqual(await columnValues(runsGrid, 'registered as'),
      ['iris-clf@1.2.0', 'iris-clf@1.1.0', 'iris-clf@1.0.0']);
    assert.deepEqual(await columnValues(runsGrid, 'model'), Array(3).fill('clf (LogisticRegression)'));
    await runsGrid.locator('tbody tr').first().locator('td').nth(2).click();
    await runsGrid.locator('tbody tr.nbm-selected').waitFor();
    await runs.locator('h4', { hasText: /^Run / }).waitFor();
    await runs.locator('summary', { hasText: 'Registered as' }).waitFor();
    await runs.locator('summary', { hasText: /^Variables \(/ }).waitFor();
    await runs.locator('td', { hasText: /^iris-clf@1\.2\.0$/ }).last().waitFor();
    shots['runs-widget'] = await shot(browser, 'runs-widget');
    const runsLayout = await layoutOf(browserCell);
    assert.equal(runsLayout.overflow, 0, `Runs: no horizontal overflow: ${JSON.stringify(runsLayout.widths)}`);
    assert.ok(Math.max(...runsLayout.rows) < 30, `one line per run: ${runsLayout.rows}`);
    await runs.locator('input[placeholder="as model name (default: its variable)"]').fill('iris-from-run');
    await runs.locator('button', { hasText: 'Register' }).click();
    await runs.getByText(/Registered iris-from-run@1\.0\.0 from run/).waitFor();
    await runsGrid.locator('td', { hasText: /^iris-clf@1\.2\.0, iris-from/ }).waitFor();
    await browser.locator('.lm-TabBar-tab', { hasText: /^Models$/ }).click();
    await modelsGrid.locator('tbody tr.nbm-selected[data-key="iris-from-run"]').waitFor();
    await grid.locator('tbody tr[data-key="iris-from-run@1.0.0"]').waitFor();
    log('Runs tab: filtered, opened a run, registered its model; no overflow at 1280 px');

    // The kernel holds what Restore bound.
    const last = cells.nth(CELLS.length - 1);
    await last.click();
    await page.keyboard.press('Shift+Enter');
    await last.getByText(/^LogisticRegression /).waitFor();

    // %compare on its own: the same view, with the code diff and the Vega-Lite charts.
    const compareCell = cells.nth(CELLS.length - 2);
    const standalone = compareCell.locator('.widget-tab');
    await standalone.waitFor();
    await standalone.locator('.lm-TabBar-tab', { hasText: 'Code' }).click();
    await standalone.getByText('+clf = LogisticRegression(C=0.01').first().waitFor();
    await standalone.locator('.lm-TabBar-tab', { hasText: 'Metrics' }).click();
    await standalone.locator('.vega-embed, img[alt="accuracy across versions"]').first().waitFor();
    shots['compare-widget'] = await shot(compareCell.locator('.jp-Cell-outputArea'), 'compare-widget');
    log('%compare view');

    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
    for (const name of ['models-widget', 'runs-widget', 'compare-widget']) {
      readmeImage(shots[name], join(IMAGES, `${name}.png`), log);
    }
    log(`PASS in ${log.seconds()}s`);
  });
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
