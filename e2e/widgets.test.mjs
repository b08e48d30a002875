// End-to-end test of the in-notebook widgets in a real JupyterLab, driven by playwright-core
// on Debian's chromium (lab.mjs, as panel.test.mjs). Given a notebook that tracks and
// registers two versions of a model (one with HTML in its note), when `%models` runs, then the
// browser widget renders with the model's name and its versions, the note shows as text;
// when two versions are selected and Compare is clicked, the compare view shows the
// changed param; `%compare` renders the same view on its own.
//
// Usage: node widgets.test.mjs   (env: JUPYTER = jupyter executable, OUT = screenshot folder,
//   UPDATE_README_IMAGE=1 to refresh docs/images/models-widget.png and compare-widget.png)

import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';

import {
  logger, notebook, openNotebook, readmeImage, repo, runCells, screenshots, withLab
} from './lab.mjs';

const OUT = resolve(process.env.OUT ?? join(repo, 'test-output', 'e2e-widgets'));
const IMAGES = join(repo, 'docs', 'images');

const log = logger('e2e-widgets');

const XSS = '<img src=x onerror=window.__nbmodelsXSS=1>';
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
  '%models',
  '%compare iris-clf'
];

async function main() {
  const shot = screenshots(OUT, log);
  const shots = {};
  const files = { 'widgets.ipynb': notebook(CELLS) };
  const viewport = { width: 1400, height: 1400 };
  await withLab(files, { say: log, shot, viewport }, async ({ lab, page, pageErrors }) => {
    await openNotebook(page, lab, 'widgets.ipynb');
    // The Models sidebar panel takes room beside the notebook: close it for the pictures.
    const panelTab = page.locator('.jp-SideBar.jp-mod-left li[data-id="nbmodels-panel"]');
    if ((await panelTab.count()) && (await panelTab.getAttribute('aria-selected')) === 'true') {
      await panelTab.click();
    }
    log('notebook open');

    const cells = await runCells(page, CELLS.length);
    log('cells ran');

    // %models: the live widget (not the static fallback), with the model and its versions.
    const browserCell = cells.nth(CELLS.indexOf('%models'));
    const browser = browserCell.locator('.widget-vbox.nbmodels-browser');
    await browser.waitFor();
    const models = browser.locator('select').first();
    // (ipywidgets shows option labels with non-breaking spaces)
    assert.match((await models.locator('option').allTextContents()).join('\n').replace(/\u00a0/g, ' '),
      /iris-clf · latest 1\.2\.0 · prod 1\.0\.0 · accuracy/);
    const versions = browser.locator('select[multiple]');
    const labels = await versions.locator('option').evaluateAll(os => os.map(o => o.value));
    assert.deepEqual(labels.map(l => l.split(' · ').slice(0, 2).join(' ')),
      ['1.2.0 staging', '1.1.0 none', '1.0.0 production']);
    // The note holding HTML is shown as text and never runs.
    await browser.locator('td', { hasText: '<img src=x onerror=' }).first().waitFor();
    assert.equal(await page.evaluate(() => window.__nbmodelsXSS), undefined);
    log('browser widget rendered with the model');

    // Select 1.1.0 for its details, then both, then Compare.
    await versions.selectOption([{ index: 1 }]);
    await browser.locator('h4', { hasText: 'iris-clf@1.1.0' }).waitFor();
    await browser.locator('summary', { hasText: 'Lineage' }).waitFor();
    shots['models-widget'] = await shot(browser, 'models-widget');
    await versions.selectOption([{ index: 1 }, { index: 2 }]);
    const compareButton = browser.locator('button', { hasText: 'Compare' });
    await assert.doesNotReject(compareButton.waitFor());
    await page.waitForFunction(
      el => !el.disabled, await compareButton.elementHandle());
    await compareButton.click();
    const view = browser.locator('.widget-tab');
    await view.waitFor();
    await view.locator('td', { hasText: 'better' }).or(view.locator('td', { hasText: 'worse' }))
      .first().waitFor();
    await view.locator('.lm-TabBar-tab', { hasText: 'Params' }).click();
    await view.locator('tr td', { hasText: /^C$/ }).first().waitFor();
    log('compare view from the browser');

    // %compare NAME on its own: the same view for every version, with the code diff.
    const compareCell = cells.nth(CELLS.length - 1);
    const standalone = compareCell.locator('.widget-tab');
    await standalone.waitFor();
    await standalone.locator('.lm-TabBar-tab', { hasText: 'Code' }).click();
    await standalone.getByText('+clf = LogisticRegression(C=0.01').first().waitFor();
    await standalone.locator('.lm-TabBar-tab', { hasText: 'Metrics' }).click();
    await standalone.locator('img[alt="accuracy across versions"]').waitFor();
    shots['compare-widget'] = await shot(compareCell.locator('.jp-OutputArea'), 'compare-widget');
    log('%compare view');

    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
    for (const name of ['models-widget', 'compare-widget']) {
      readmeImage(shots[name], join(IMAGES, `${name}.png`), log);
    }
    log(`PASS in ${log.seconds()}s`);
  });
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
