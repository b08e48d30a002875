// End-to-end test of the Models panel in a real JupyterLab, driven by playwright-core on
// Debian's chromium. Given a notebook that tracks three runs and registers two of them,
// when the user opens the Runs view, sorts it, opens a run, reads its lineage and
// registers it; compares the three versions; opens a version with the keyboard (Tab, Enter),
// reads its lineage, champion/challenger, card and reproduction; promotes 1.0.0 and clicks
// Restore, then the kernel holds a model that predicts exactly like the original 1.0.0; and
// in the dark theme the panel's colours follow.
//
// Usage: node panel.test.mjs   (env: JUPYTER = jupyter executable, OUT = screenshot folder,
//   UPDATE_README_IMAGE=1 to refresh docs/images/panel*.png)

import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';

import {
  logger, notebook, openNotebook, readmeImage, repo, runCells, screenshots, withLab
} from './lab.mjs';

const OUT = resolve(process.env.OUT ?? join(repo, 'test-output', 'panel'));
const README_IMAGE = join(repo, 'docs', 'images', 'panel.png');
const README_RUNS = join(repo, 'docs', 'images', 'panel-runs.png');
const README_DARK = join(repo, 'docs', 'images', 'panel-dark.png');

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
  // a third run, registered from the panel's Runs view
  '%%track iris --note "smaller C"\nsmall = LogisticRegression(C=0.1, max_iter=500).fit(X, y)\n' +
    'accuracy = small.score(X, y)',
  'print("RESTORED", type(clf).__name__, bool((clf.predict(X) == expected).all()), clf.C)'
];

/** Relative luminance (0 black .. 1 white) of a CSS `rgb(...)` colour. */
function luminance(css) {
  const [r, g, b] = css.match(/[\d.]+/g).slice(0, 3).map(v => {
    const c = Number(v) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The panel's background and text colours, and a button's. */
function colours(page) {
  return page.evaluate(() => {
    const style = node => getComputedStyle(node);
    const panel = document.getElementById('nbmodels-panel');
    const button = panel.querySelector('.jp-nbmodels-button');
    return {
      background: style(panel).backgroundColor,
      text: style(panel).color,
      button: style(button).backgroundColor
    };
  });
}

async function main() {
  const shot = screenshots(OUT, log);
  const files = { 'train.ipynb': notebook(CELLS) };
  await withLab(files, { say: log, shot, deadlineMs: 240_000 }, async ({ lab, page, pageErrors }) => {
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

    // The Runs view: three runs, sorted by accuracy, searched, one opened and registered.
    await panel.locator('.jp-nbmodels-tab[data-tab="runs"]').click();
    const runRows = panel.locator('.jp-nbmodels-run');
    await runRows.nth(2).waitFor();
    assert.equal(await runRows.count(), 3);
    assert.equal(await panel.locator('.jp-nbmodels-tab[data-tab="runs"]').getAttribute('aria-selected'), 'true');
    await panel.locator('.jp-nbmodels-runs-order').selectOption('metrics.accuracy ASC');
    // newest first the accuracies are not in order (C = 0.1, 0.01, 1): sorted, they are
    await page.waitForFunction(() => {
      const shown = [...document.querySelectorAll('#nbmodels-panel .jp-nbmodels-run .jp-nbmodels-facts')]
        .map(node => Number(/accuracy ([\d.]+)/.exec(node.textContent)?.[1]));
      return shown.length === 3 && shown.every((x, i) => i === 0 || shown[i - 1] <= x);
    });
    const runsPicture = await shot(page, 'runs');
    await panel.locator('.jp-nbmodels-runs-search').fill('SMALLER');
    await panel.locator('.jp-nbmodels-hint', { hasText: '1 of 1 runs' }).waitFor();
    await runRows.first().click();
    const run = panel.locator('.jp-nbmodels-run-detail');
    await run.locator('.jp-nbmodels-code').waitFor();
    assert.match(await run.locator('.jp-nbmodels-code').first().textContent(), /C=0\.1/);
    assert.match(await run.textContent(), /Not registered yet/);
    await run.locator('.jp-nbmodels-lineage summary').click();
    const runLineage = run.locator('.jp-nbmodels-lineage-cell');
    await runLineage.first().waitFor();
    assert.ok((await runLineage.allTextContents()).some(t => t.includes('load_iris')),
      'the run\'s lineage holds the cell that loaded the data');
    await run.locator('.jp-nbmodels-register-name').fill('iris-clf');
    await run.locator('.jp-nbmodels-register').click();
    const status = panel.locator('.jp-nbmodels-status');
    await status.filter({ hasText: /Registered iris-clf@1\.2\.0/ }).waitFor();
    await run.locator('.jp-nbmodels-made', { hasText: 'iris-clf@1.2.0' }).waitFor();
    await shot(page, 'run');
    log('runs view: sorted, searched, opened, lineage, registered');
    await run.locator('.jp-nbmodels-back').click();
    await panel.locator('.jp-nbmodels-tab[data-tab="models"]').click();
    await model.locator('.jp-nbmodels-model-head', { hasText: 'latest 1.2.0' }).waitFor();
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

    // Compare: tick the three versions.
    const refs = ['iris-clf@1.0.0', 'iris-clf@1.1.0', 'iris-clf@1.2.0'];
    for (const ref of refs) {
      await panel.locator(`.jp-nbmodels-version[data-ref="${ref}"] input[type=checkbox]`).check();
    }
    await panel.locator('.jp-nbmodels-compare', { hasText: 'Compare 3 versions' }).click();
    const comparison = panel.locator('.jp-nbmodels-comparison');
    await comparison.locator('table').first().waitFor();
    assert.equal(await comparison.getAttribute('data-refs'), refs.join(' '));
    const head = await comparison.locator('table[aria-label="parameters"] th').allTextContents();
    assert.deepEqual(head, ['param', '1.0.0', '1.1.0', '1.2.0']); // one model: its versions
    const changed = await comparison.locator('tr.jp-nbmodels-changed').allTextContents();
    assert.ok(changed.some(row => row.startsWith('C')), `C marked as changed: ${changed}`);
    assert.match(await comparison.locator('.jp-nbmodels-diff').textContent(), /C=0\.01/);
    await shot(page, '1-compare');
    await comparison.locator('.jp-nbmodels-back').click();
    await panel.locator('.jp-nbmodels-clear').click();
    log('compare view: three versions');

    // Keyboard: Tab from the search field to a version row, Enter opens it, and Enter on
    // "All models" comes back to that row.
    await panel.locator('.jp-nbmodels-search').focus();
    let focusedKey = null;
    for (let i = 0; i < 12 && !focusedKey?.startsWith('version:'); i++) {
      await page.keyboard.press('Tab');
      focusedKey = await page.evaluate(() => document.activeElement?.dataset?.key ?? null);
    }
    assert.equal(focusedKey, 'version:iris-clf@1.2.0', 'Tab reaches the newest version row');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, 'none', 'the focused row shows its focus');
    await page.keyboard.press('Enter');
    await panel.locator('.jp-nbmodels-detail[data-ref="iris-clf@1.2.0"]').waitFor();
    await page.waitForFunction(() => document.activeElement?.dataset?.key === 'back');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.dataset?.key === 'version:iris-clf@1.2.0');
    // the arrow keys move between the Models and Runs tabs
    await panel.locator('.jp-nbmodels-tab[data-tab="models"]').focus();
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => document.activeElement?.dataset?.tab === 'runs');
    assert.equal(await panel.locator('.jp-nbmodels-tab[data-tab="runs"]').getAttribute('aria-selected'), 'true');
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction(() => document.activeElement?.dataset?.tab === 'models');
    await panel.locator('.jp-nbmodels-version[data-ref="iris-clf@1.0.0"]').waitFor();
    log('keyboard: Tab to a version, Enter opens it, Enter goes back to it; arrows switch tabs');

    // Detail of 1.0.0: lineage, card, reproduce; then promote it with a note.
    await panel.locator('.jp-nbmodels-version[data-ref="iris-clf@1.0.0"] .jp-nbmodels-vnum').click();
    const detail = panel.locator('.jp-nbmodels-detail[data-ref="iris-clf@1.0.0"]');
    await detail.locator('.jp-nbmodels-code').waitFor();
    assert.match(await detail.locator('.jp-nbmodels-code').textContent(), /LogisticRegression\(C=1\.0/);
    assert.match(await detail.textContent(), /Inputs/);
    assert.match(await detail.locator('.jp-nbmodels-standing').textContent(), /No production version/);
    await detail.locator('.jp-nbmodels-lineage summary').click();
    await detail.locator('.jp-nbmodels-lineage-cell').first().waitFor();
    const lineageCells = await detail.locator('.jp-nbmodels-lineage-cell').allTextContents();
    assert.ok(lineageCells.length >= 2 && lineageCells.at(-1).includes('the tracked cell'), `lineage: ${lineageCells}`);
    assert.ok(lineageCells.some(t => t.includes('load_iris')), 'the lineage holds the data cell');
    await detail.locator('.jp-nbmodels-card').click();
    const card = page.locator('.jp-nbmodels-card-page iframe[sandbox=""]');
    await card.waitFor();
    assert.match(await card.getAttribute('srcdoc'), /iris-clf/);
    const cardTab = page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab', { hasText: 'Card iris-clf@1.0.0' });
    await cardTab.locator('.lm-TabBar-tabCloseIcon').click();
    await cardTab.waitFor({ state: 'detached' });
    await detail.locator('.jp-nbmodels-reproduce').click();
    const reproduced = detail.locator('.jp-nbmodels-reproduced');
    await reproduced.waitFor({ timeout: 90_000 });
    assert.match(await reproduced.getAttribute('data-status'), /^(exact|equivalent)$/);
    log('details: lineage, card, reproduce');
    await detail.locator('.jp-nbmodels-stage-select').selectOption('production');
    await detail.locator('.jp-nbmodels-note-input').fill('best on iris <script>alert(1)</script>');
    await detail.locator('.jp-nbmodels-promote').click();
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

    // The challenger's page shows it against the champion, 1.0.0.
    await panel.locator('.jp-nbmodels-version[data-ref="iris-clf@1.1.0"] .jp-nbmodels-vnum').click();
    const challenger = panel.locator('.jp-nbmodels-detail[data-ref="iris-clf@1.1.0"] .jp-nbmodels-standing');
    await challenger.filter({ hasText: 'iris-clf@1.0.0 in production' }).waitFor();
    assert.match(await challenger.textContent(), /accuracy.*(better|worse|same)/);
    await panel.locator('.jp-nbmodels-back').click();

    // Theme variables only: JupyterLab Dark (the menu runs apputils:change-theme) restyles
    // the panel's background, text and buttons.
    const light = await colours(page);
    await page.locator('.lm-MenuBar-itemLabel', { hasText: 'Settings' }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /^Theme$/ }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /^JupyterLab Dark$/ }).click();
    await page.waitForFunction(
      () => document.body.dataset.jpThemeLight === 'false' &&
        getComputedStyle(document.getElementById('nbmodels-panel')).backgroundColor !==
        'rgb(255, 255, 255)');
    const dark = await colours(page);
    log(`colours light ${JSON.stringify(light)} dark ${JSON.stringify(dark)}`);
    assert.ok(luminance(light.background) > 0.8 && luminance(light.text) < 0.2, 'light theme');
    assert.ok(luminance(dark.background) < 0.1, `dark background: ${dark.background}`);
    assert.ok(luminance(dark.text) > 0.5, `light text on it: ${dark.text}`);
    assert.notEqual(dark.button, light.button, 'buttons follow the theme');
    await panel.locator('.jp-nbmodels-version[data-ref="iris-clf@1.1.0"] .jp-nbmodels-vnum').click();
    await panel.locator('.jp-nbmodels-detail[data-ref="iris-clf@1.1.0"] .jp-nbmodels-standing table').waitFor();
    const darkPicture = await shot(page, '4-dark-theme');

    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
    readmeImage(picture, README_IMAGE, log);
    readmeImage(runsPicture, README_RUNS, log);
    readmeImage(darkPicture, README_DARK, log);
    log(`PASS in ${log.seconds()}s`);
  });
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
