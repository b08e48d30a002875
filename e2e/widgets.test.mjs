// End-to-end test of the in-notebook widgets in a real JupyterLab, driven by playwright-core
// on Debian's chromium (same set-up as panel.test.mjs). Given a notebook that tracks and
// registers two versions of a model (one with HTML in its note), when `%models` runs, then the
// browser widget renders with the model's name and its versions, the note shows as text;
// when two versions are selected and Compare is clicked, the compare view shows the
// changed param; `%compare` renders the same view on its own.
//
// Usage: node widgets.test.mjs   (env: JUPYTER = jupyter executable, OUT = screenshot folder,
//   UPDATE_README_IMAGE=1 to refresh docs/images/models-widget.png and compare-widget.png)

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
const OUT = resolve(process.env.OUT ?? join(repo, 'test-output', 'e2e-widgets'));
const IMAGES = join(repo, 'docs', 'images');
const DEADLINE_MS = 110_000;

const started = Date.now();
let server = null;
const log = msg => console.log(`[e2e-widgets ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);

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

function notebook(cells) {
  return JSON.stringify({
    cells: cells.map(source => ({ cell_type: 'code', execution_count: null, metadata: {},
      outputs: [], source })),
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
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => ok(port));
    });
    probe.on('error', fail);
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
  if (!proc || proc.exitCode !== null) {
    return;
  }
  const exited = new Promise(r => proc.once('exit', r));
  proc.kill('SIGTERM');
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
  const work = mkdtempSync(join(tmpdir(), 'nbmodels-e2e-widgets-'));
  const root = join(work, 'root');
  mkdirSync(join(root, '.nbmodels'), { recursive: true });
  writeFileSync(join(root, 'widgets.ipynb'), notebook(CELLS));
  const settings = join(work, 'settings', '@jupyterlab', 'apputils-extension');
  mkdirSync(settings, { recursive: true });
  writeFileSync(join(settings, 'notification.jupyterlab-settings'),
    JSON.stringify({ fetchNews: 'false', checkForUpdates: false }));
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
  log(`jupyter lab pid ${server.pid} on 127.0.0.1:${port}`);

  const base = `http://127.0.0.1:${port}`;
  let context;
  const shots = {};
  const shot = async (target, name) => {
    const file = join(OUT, `${name}.png`);
    await target.screenshot({ path: file });
    shots[name] = file;
    log(`screenshot ${file}`);
    return file;
  };
  try {
    await waitForServer(`${base}/api/status?token=${token}`, server);
    context = await chromium.launchPersistentContext(join(work, 'chromium'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 1400 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync']
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(30_000);
    const pageErrors = [];
    page.on('pageerror', error => pageErrors.push(String(error)));

    await page.goto(`${base}/lab/tree/widgets.ipynb?token=${token}`);
    await page.locator('.jp-Notebook .jp-Cell').first().waitFor();
    await page.locator('.jp-StatusBar-TextItem', { hasText: /\| Idle/ }).first().waitFor();
    // The Models sidebar panel takes room beside the notebook: close it for the pictures.
    const panelTab = page.locator('.jp-SideBar.jp-mod-left li[data-id="nbmodels-panel"]');
    if ((await panelTab.count()) && (await panelTab.getAttribute('aria-selected')) === 'true') {
      await panelTab.click();
    }
    log('notebook open');

    await page.locator('.jp-Notebook .jp-Cell').first().click();
    await page.keyboard.press('Escape');
    for (let i = 0; i < CELLS.length; i++) {
      await page.keyboard.press('Shift+Enter');
    }
    const cells = page.locator('.jp-Notebook .jp-CodeCell');
    await cells.nth(CELLS.length - 1).locator('.jp-InputPrompt', { hasText: /\[\d+\]/ })
      .waitFor({ timeout: 60_000 });
    const errors = await page.locator('.jp-Notebook .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').allTextContents();
    assert.deepEqual(errors.filter(e => /Error|Traceback/.test(e)), [], 'cells ran without errors');
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
    await shot(browser, 'models-widget');
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
    await shot(compareCell.locator('.jp-OutputArea'), 'compare-widget');
    log('%compare view');

    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
    mkdirSync(IMAGES, { recursive: true });
    for (const name of ['models-widget', 'compare-widget']) {
      const target = join(IMAGES, `${name}.png`);
      if (process.env.UPDATE_README_IMAGE === '1' || !existsSync(target)) {
        copyFileSync(shots[name], target);
        log(`README image ${target}`);
      }
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
  console.error(`e2e-widgets: over ${DEADLINE_MS / 1000}s, giving up`);
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
