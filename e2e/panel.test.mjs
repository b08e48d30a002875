// End-to-end test of the Models panel in a real JupyterLab, driven by playwright-core on
// Debian's chromium. Given a notebook that tracks and registers two versions of a model,
// when the user opens the Models tab, promotes 1.0.0 and clicks Restore, then the kernel
// holds a model that predicts exactly like the original 1.0.0.
//
// Usage: node panel.test.mjs   (env: JUPYTER = jupyter executable, OUT = screenshot folder,
//   UPDATE_README_IMAGE=1 to refresh docs/images/panel.png)

import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';

import {
  logger, notebook, openNotebook, readmeImage, repo, runCells, screenshots, withLab
} from './lab.mjs';

const OUT = resolve(process.env.OUT ?? join(repo, 'test-output', 'panel'));
const README_IMAGE = join(repo, 'docs', 'images', 'panel.png');

const log = logger('e2e');

const CELLS = [
  '%load_ext nbmodels',
  'from sklearn.datasets import load_iris\nX, y = load_iris(return_X_y=True)',
  '%%track iris\nfrom sklearn.linear_model import LogisticRegression\n' +
    'clf = LogisticRegression(C=1.0, max_iter=500).fit(X, y)\naccuracy = clf.score(X, y)',
  '%register clf iris-clf',
  'expected = clf.predict(X)',
  '%%track iris\nclf = LogisticRegression(C=0.01, max_iter=500).fit(X, y)\naccuracy = clf.score(X, y)',
  '%register clf iris-clf',
  'assert (clf.predict(X) != expected).any(), "1.1.0 should predict differently"\ndel clf',
  'print("RESTORED", type(clf).__name__, bool((clf.predict(X) == expected).all()), clf.C)'
];

async function main() {
  const shot = screenshots(OUT, log);
  const files = { 'train.ipynb': notebook(CELLS) };
  await withLab(files, { say: log, shot }, async ({ lab, page, pageErrors }) => {
    await openNotebook(page, lab, 'train.ipynb');
    log('notebook open');

    // The Models tab: in the left sidebar, with an icon and the caption "Models".
    const tab = page.locator('.jp-SideBar.jp-mod-left li[data-id="nbmodels-panel"]');
    assert.equal(await tab.getAttribute('title'), 'Models');
    assert.equal(await tab.locator('svg').count(), 1, 'the tab has an icon');
    // A fresh JupyterLab opens the tab by itself (what `make lab` shows).
    const panel = page.locator('#nbmodels-panel');
    await panel.locator('.jp-nbmodels-empty').waitFor();
    assert.equal(await tab.getAttribute('aria-selected'), 'true');
    log('panel open, registry empty');

    // Run every cell but the last: the panel refreshes by itself after %register.
    const cells = await runCells(page, CELLS.length - 1);
    log('cells ran');

    const model = panel.locator('.jp-nbmodels-model[data-model="iris-clf"]');
    await model.waitFor();
    assert.match(await model.textContent(), /latest 1\.1\.0/);
    assert.match(await model.textContent(), /accuracy/);
    const search = panel.locator('.jp-nbmodels-search');
    await search.fill('no-such-model');
    await panel.locator('.jp-nbmodels-empty', { hasText: 'No model matches' }).waitFor();
    await search.fill('IRIS');
    await model.waitFor();
    await model.locator('.jp-nbmodels-model-head').click();
    const v1 = panel.locator('.jp-nbmodels-version[data-ref="iris-clf@1.0.0"]');
    await v1.waitFor();
    await panel.locator('.jp-nbmodels-version[data-ref="iris-clf@1.1.0"]').waitFor();
    log('model and versions listed');

    // Compare: tick both versions.
    await v1.locator('input[type=checkbox]').check();
    await panel.locator('.jp-nbmodels-version[data-ref="iris-clf@1.1.0"] input[type=checkbox]').check();
    await panel.locator('.jp-nbmodels-compare').click();
    const comparison = panel.locator('.jp-nbmodels-comparison');
    await comparison.locator('table').first().waitFor();
    const changed = await comparison.locator('tr.jp-nbmodels-changed').allTextContents();
    assert.ok(changed.some(row => row.startsWith('C')), `C marked as changed: ${changed}`);
    assert.match(await comparison.locator('.jp-nbmodels-diff').textContent(), /C=0\.01/);
    await shot(page, '1-compare');
    await comparison.locator('.jp-nbmodels-back').click();
    log('compare view');

    // Detail of 1.0.0, then promote it with a note.
    await panel.locator('.jp-nbmodels-version[data-ref="iris-clf@1.0.0"] .jp-nbmodels-vnum').click();
    const detail = panel.locator('.jp-nbmodels-detail[data-ref="iris-clf@1.0.0"]');
    await detail.locator('.jp-nbmodels-code').waitFor();
    assert.match(await detail.locator('.jp-nbmodels-code').textContent(), /LogisticRegression\(C=1\.0/);
    assert.match(await detail.textContent(), /Inputs/);
    await detail.locator('.jp-nbmodels-stage-select').selectOption('production');
    await detail.locator('.jp-nbmodels-note-input').fill('best on iris <script>alert(1)</script>');
    await detail.locator('.jp-nbmodels-promote').click();
    const status = panel.locator('.jp-nbmodels-status');
    await status.filter({ hasText: 'iris-clf@1.0.0 is now production' }).waitFor();
    await detail.locator('.jp-nbmodels-badge', { hasText: 'production' }).first().waitFor();
    // The note is shown as text, never run as HTML.
    await detail.locator('td', { hasText: '<script>alert(1)</script>' }).waitFor();
    assert.equal(await page.locator('#nbmodels-panel script').count(), 0);
    log('promoted');

    // Restore into the notebook's kernel.
    await detail.locator('.jp-nbmodels-restore').click();
    await status.filter({ hasText: 'Restored iris-clf@1.0.0 as clf' }).waitFor();
    log('restored');
    await shot(page, '2-detail-restored');

    // Back to the list for the README picture: the model, production 1.0.0, its versions.
    await detail.locator('.jp-nbmodels-back').click();
    await panel.locator('.jp-nbmodels-model', { hasText: 'production 1.0.0' }).waitFor();
    const picture = await shot(page, 'panel');

    // In the kernel: the restored object predicts like the original 1.0.0.
    const lastCell = cells.nth(CELLS.length - 1);
    await lastCell.click();
    await page.keyboard.press('Escape');
    await page.keyboard.press('Shift+Enter');
    const printed = lastCell.locator('.jp-OutputArea-output');
    await printed.filter({ hasText: 'RESTORED' }).waitFor();
    assert.equal((await printed.textContent()).trim(), 'RESTORED LogisticRegression True 1.0');
    await shot(page, '3-kernel-check');
    log('kernel check: restored model predicts like the original');

    // Theme variables only: the dark theme restyles the panel too.
    await page.locator('.lm-MenuBar-itemLabel', { hasText: 'Settings' }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /^Theme$/ }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /^JupyterLab Dark$/ }).click();
    // The panel's own background follows the theme (no hard-coded colors).
    await page.waitForFunction(
      () => getComputedStyle(document.getElementById('nbmodels-panel')).backgroundColor !==
        'rgb(255, 255, 255)');
    await shot(page, '4-dark-theme');

    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
    readmeImage(picture, README_IMAGE, log);
    log(`PASS in ${log.seconds()}s`);
  });
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
