// End-to-end test of the Models panel in a real JupyterLab, driven by playwright-core on
// Debian's chromium. Given a notebook that tracks and registers two versions of a model,
// when the user opens the Models tab, promotes 1.0.0 and clicks Restore, then the kernel
// holds a model that predicts exactly like the original 1.0.0.
//
// Usage: node panel.test.mjs   (env: JUPYTER = jupyter executable, OUT = screenshot folder,
//   UPDATE_README_IMAGE=1 to refresh docs/images/panel.png)

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const JUPYTER = process.env.JUPYTER ?? join(repo, '.venv', 'bin', 'jupyter');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const OUT = resolve(process.env.OUT ?? join(repo, 'test-output', 'e2e'));
const README_IMAGE = join(repo, 'docs', 'images', 'panel.png');
const DEADLINE_MS = 110_000;

const started = Date.now();
let server = null; // the jupyter lab process, for the watchdog too
const log = msg => console.log(`[e2e ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);

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

function notebook(cells) {
  return JSON.stringify({
    cells: cells.map(source => ({
      cell_type: 'code',
      execution_count: null,
      metadata: {},
      outputs: [],
      source
    })),
    metadata: {
      kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' },
      language_info: { name: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  });
}

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
    server.on('error', fail);
  });
}

async function waitForServer(url, proc) {
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) {
      throw new Error(`jupyter lab exited with ${proc.exitCode}`);
    }
    try {
      if ((await fetch(url)).ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`jupyter lab did not answer ${url}`);
}

async function stopServer(proc) {
  if (proc.exitCode !== null) {
    return;
  }
  const exited = new Promise(r => proc.once('exit', r));
  proc.kill('SIGTERM'); // jupyter shuts its kernels down on SIGTERM
  const timer = setTimeout(() => {
    try {
      process.kill(-proc.pid, 'SIGKILL'); // our own process group: server and its kernels
    } catch {
      // already gone
    }
  }, 8000);
  await exited;
  clearTimeout(timer);
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'nbmodels-e2e-'));
  const root = join(work, 'root');
  mkdirSync(join(root, '.nbmodels'), { recursive: true }); // the kernel's registry, nowhere above
  writeFileSync(join(root, 'train.ipynb'), notebook(CELLS));
  const settings = join(work, 'settings', '@jupyterlab', 'apputils-extension');
  mkdirSync(settings, { recursive: true });
  // The "get notified about Jupyter news?" toast would cover the page.
  writeFileSync(
    join(settings, 'notification.jupyterlab-settings'),
    JSON.stringify({ fetchNews: 'false', checkForUpdates: false })
  );
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });

  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const env = { ...process.env, JUPYTERLAB_SETTINGS_DIR: join(work, 'settings'),
    JUPYTERLAB_WORKSPACES_DIR: join(work, 'workspaces'), JUPYTER_RUNTIME_DIR: join(work, 'runtime') };
  delete env.NBMODELS_HOME;
  const args = ['lab', '--no-browser', '--ip=127.0.0.1', `--port=${port}`,
    `--IdentityProvider.token=${token}`, `--ServerApp.root_dir=${root}`];
  if (process.getuid?.() === 0) {
    args.push('--allow-root');
  }
  server = spawn(JUPYTER, args, { cwd: root, env, detached: true,
    stdio: ['ignore', 'ignore', 'pipe'] });
  let serverLog = '';
  server.stderr.on('data', chunk => (serverLog += chunk));
  log(`jupyter lab pid ${server.pid} on 127.0.0.1:${port}, root ${root}`);

  const base = `http://127.0.0.1:${port}`;
  let context;
  const shot = async (page, name) => {
    const file = join(OUT, `${name}.png`);
    await page.screenshot({ path: file });
    log(`screenshot ${file}`);
    return file;
  };
  try {
    await waitForServer(`${base}/api/status?token=${token}`, server);
    log('server ready');
    context = await chromium.launchPersistentContext(join(work, 'chromium'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1440, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync']
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(30_000);
    const pageErrors = [];
    page.on('pageerror', error => pageErrors.push(String(error)));

    await page.goto(`${base}/lab/tree/train.ipynb?token=${token}`);
    await page.locator('.jp-Notebook .jp-Cell').first().waitFor();
    // Keys pressed before the kernel is up would be lost.
    await page.locator('.jp-StatusBar-TextItem', { hasText: /\| Idle/ }).first().waitFor();
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
    await page.locator('.jp-Notebook .jp-Cell').first().click();
    await page.keyboard.press('Escape');
    for (let i = 0; i < CELLS.length - 1; i++) {
      await page.keyboard.press('Shift+Enter');
    }
    const lastRun = page.locator('.jp-Notebook .jp-CodeCell').nth(CELLS.length - 2);
    await lastRun.locator('.jp-InputPrompt', { hasText: /\[\d+\]/ }).waitFor({ timeout: 60_000 });
    const errors = await page.locator('.jp-Notebook .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').allTextContents();
    assert.deepEqual(errors.filter(e => /Error|Traceback/.test(e)), [], 'cells ran without errors');
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
    const lastCell = page.locator('.jp-Notebook .jp-CodeCell').nth(CELLS.length - 1);
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
    // The README's picture: refreshed on request only, so a test run leaves the clone clean.
    if (process.env.UPDATE_README_IMAGE === '1' || !existsSync(README_IMAGE)) {
      mkdirSync(dirname(README_IMAGE), { recursive: true });
      copyFileSync(picture, README_IMAGE);
      log(`README image ${README_IMAGE}`);
    }
    log(`PASS in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  } catch (error) {
    const page = context?.pages()[0];
    if (page) {
      await shot(page, 'failure').catch(() => undefined);
    }
    console.error(serverLog.split('\n').slice(-40).join('\n'));
    throw error;
  } finally {
    await context?.close();
    await stopServer(server);
    rmSync(work, { recursive: true, force: true });
  }
}

const watchdog = setTimeout(() => {
  console.error(`e2e: over ${DEADLINE_MS / 1000}s, giving up`);
  if (server?.exitCode === null) {
    process.kill(-server.pid, 'SIGKILL');
  }
  process.exit(2);
}, DEADLINE_MS);
main().then(
  () => clearTimeout(watchdog),
  error => {
    console.error(error);
    process.exit(1);
  }
);
