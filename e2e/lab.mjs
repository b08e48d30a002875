// What every browser test here needs: a JupyterLab on a temp folder (127.0.0.1, a random
// port and token, its own settings and workspace, stopped by PID) and Debian's chromium
// with a fresh profile, driven by playwright-core; timed log lines, screenshots into a
// folder, the README's pictures, and running a notebook's cells.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const JUPYTER = process.env.JUPYTER ?? join(repo, '.venv', 'bin', 'jupyter');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** An .ipynb (python3 kernel) with one code cell per source. */
export function notebook(cells) {
  return JSON.stringify({
    cells: cells.map((source, i) => ({
      cell_type: 'code', execution_count: null, id: `cell-${i}`, metadata: {}, outputs: [], source
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
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => ok(port));
    });
    probe.on('error', fail);
  });
}

/**
 * Start `jupyter lab` on a new temp folder holding `files` ({name: text}). Returns
 * `{root, url(path), stop(), log()}`; `stop()` ends the server (and its kernels) by PID
 * and removes the folder. `deadlineMs` stops everything if the test hangs.
 */
export async function startLab(files, { deadlineMs = 110_000, say = console.log } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'nbmodels-e2e-'));
  const root = join(work, 'root');
  mkdirSync(join(root, '.nbmodels'), { recursive: true }); // the kernel's registry, nowhere above
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(root, name), text);
  }
  // The "get notified about Jupyter news?" toast would cover the page.
  const settings = join(work, 'settings', '@jupyterlab', 'apputils-extension');
  mkdirSync(settings, { recursive: true });
  writeFileSync(join(settings, 'notification.jupyterlab-settings'),
    JSON.stringify({ fetchNews: 'false', checkForUpdates: false }));

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
  // Its own process group, so a hung server and its kernels can be ended together.
  const server = spawn(JUPYTER, args, { cwd: root, env, detached: true,
    stdio: ['ignore', 'ignore', 'pipe'] });
  let serverLog = '';
  server.stderr.on('data', chunk => (serverLog += chunk));
  say(`jupyter lab pid ${server.pid} on 127.0.0.1:${port}, root ${root}`);

  const killGroup = () => {
    try {
      process.kill(-server.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const watchdog = setTimeout(() => {
    console.error(`e2e: over ${deadlineMs / 1000}s, giving up`);
    killGroup();
    process.exit(2);
  }, deadlineMs);

  const base = `http://127.0.0.1:${port}`;
  const lab = {
    root,
    work,
    url: (path = 'lab') => `${base}/${path}${path.includes('?') ? '&' : '?'}token=${token}`,
    log: () => serverLog,
    async stop() {
      clearTimeout(watchdog);
      if (server.exitCode === null) {
        const exited = new Promise(r => server.once('exit', r));
        server.kill('SIGTERM'); // jupyter shuts its kernels down on SIGTERM
        const timer = setTimeout(killGroup, 8000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(work, { recursive: true, force: true });
    }
  };
  try {
    await waitFor(lab.url('api/status'), server);
  } catch (error) {
    console.error(serverLog);
    await lab.stop();
    throw error;
  }
  return lab;
}

async function waitFor(url, server) {
  for (let i = 0; i < 300; i++) {
    if (server.exitCode !== null) {
      throw new Error(`jupyter lab exited with ${server.exitCode}`);
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

/**
 * Headless chromium with a fresh profile in `lab.work`; returns the context and its page.
 * `viewport`: the page's size (default 1440×900).
 */
export async function openBrowser(lab, { viewport = { width: 1440, height: 900 } } = {}) {
  const context = await chromium.launchPersistentContext(join(lab.work, 'chromium'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: CHROMIUM_ARGS
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  return { context, page };
}

/**
 * Start a lab on `files` and open the browser, then `await body({lab, context, page,
 * pageErrors})` (`pageErrors`: the page's uncaught errors so far) and return what it returns.
 * If anything fails, `shot(page, 'failure')` and the server log's last lines are kept;
 * the browser and the lab are stopped either way.
 */
export async function withLab(files, { say = console.log, shot, viewport, deadlineMs } = {}, body) {
  const lab = await startLab(files, { deadlineMs, say });
  say('server ready');
  let context;
  try {
    let page;
    ({ context, page } = await openBrowser(lab, { viewport }));
    const pageErrors = [];
    page.on('pageerror', error => pageErrors.push(String(error)));
    return await body({ lab, context, page, pageErrors });
  } catch (error) {
    const page = context?.pages()[0];
    if (page && shot) {
      await shot(page, 'failure').catch(() => undefined);
    }
    console.error(lab.log().split('\n').slice(-40).join('\n'));
    throw error;
  } finally {
    await context?.close();
    await lab.stop();
  }
}

/** `log(msg)` prints `[tag 1.2s] msg`, seconds since this call; `log.seconds()` gives them. */
export function logger(tag) {
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
  const log = msg => console.log(`[${tag} ${seconds()}s] ${msg}`);
  log.seconds = seconds;
  return log;
}

/**
 * Empty (or make) the folder `out`; returns `shot(target, name)`, which saves a screenshot of
 * `target` (a page or a locator) as `out/name.png`, says so and returns the file.
 */
export function screenshots(out, say = console.log) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  return async (target, name) => {
    const file = join(out, `${name}.png`);
    await target.screenshot({ path: file });
    say(`screenshot ${file}`);
    return file;
  };
}

/**
 * Copy the screenshot `file` to the README's picture `target`: on request only
 * (UPDATE_README_IMAGE=1) or when it is missing, so a test run leaves the clone clean.
 */
export function readmeImage(file, target, say = console.log) {
  if (process.env.UPDATE_README_IMAGE === '1' || !existsSync(target)) {
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(file, target);
    say(`README image ${target}`);
  }
}

/** Wait until the notebook `path` (in the lab's root) is open and its kernel idle. */
export async function openNotebook(page, lab, path) {
  await page.goto(lab.url(`lab/tree/${path}`));
  await page.locator('.jp-Notebook .jp-Cell').first().waitFor();
  // Keys pressed before the kernel is up would be lost.
  await page.locator('.jp-StatusBar-TextItem', { hasText: /\| Idle/ }).first().waitFor();
}

/**
 * Run the open notebook's first `count` cells (Shift+Enter from the first), wait for the
 * last of them to finish and assert that none wrote an error. Returns the code cells.
 */
export async function runCells(page, count) {
  await page.locator('.jp-Notebook .jp-Cell').first().click();
  await page.keyboard.press('Escape');
  for (let i = 0; i < count; i++) {
    await page.keyboard.press('Shift+Enter');
  }
  const cells = page.locator('.jp-Notebook .jp-CodeCell');
  await cells.nth(count - 1).locator('.jp-InputPrompt', { hasText: /\[\d+\]/ })
    .waitFor({ timeout: 60_000 });
  const errors = await page.locator('.jp-Notebook .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').allTextContents();
  assert.deepEqual(errors.filter(e => /Error|Traceback/.test(e)), [], 'cells ran without errors');
  return cells;
}
