// What every browser test here needs: a JupyterLab on a temp folder (127.0.0.1, a random
// port and token, its own settings and workspace, stopped by PID) and Debian's chromium
// with a fresh profile, driven by playwright-core.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

/** Headless chromium with a fresh profile in `lab.work`; returns the context and its page. */
export async function openBrowser(lab) {
  const context = await chromium.launchPersistentContext(join(lab.work, 'chromium'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: CHROMIUM_ARGS
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  return { context, page };
}
