/// <reference lib="dom" />
/**
 * End to end: a real JupyterLab (the project's .venv, with the reslab extension and the tslab
 * kernel) driven by Debian's Chromium through playwright-core.
 */
import { strict as assert } from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Browser, chromium, Page } from 'playwright-core';
import { lab, notebookDir, requireJupyter, ROOT, writeNotebook } from '../helpers/jupyter';
import { freePort } from '../helpers/net';

const CHROMIUM = process.env.RESLAB_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = path.join(ROOT, 'test', 'e2e', 'screenshots');
const INJECTION = '<img src=x onerror=alert(1)>';
const TOKEN = 'reslab-e2e-token';
const MARKUP = '<a href="https://example.com">click</a><span style="font-size:40px">BIG</span>';
const RTL_ID = '\u202Eevil-name';
const LONG_ID = 'x'.repeat(250);
const OVERSIZED_ID = 'y'.repeat(10_000);

/**
 * The extension JupyterLab serves is the one `npm run build` built: setup installs it into .venv
 * once, and a later build would otherwise be tested against the old bundle. Where the installed
 * assets differ, the built ones are put in their place (what the wheel's shared-data installs).
 */
function installBuiltExtension(): void {
  const built = path.join(ROOT, 'jupyterlab-plugin', 'reslab_jupyterlab', 'labextension');
  const installed = path.join(ROOT, '.venv', 'share', 'jupyter', 'labextensions', 'reslab-jupyterlab');
  if (!fs.existsSync(path.join(built, 'package.json'))) throw new Error(`no built extension at ${built}: run npm run build`);
  const files = (dir: string) =>
    fs.existsSync(dir)
      ? fs
          .readdirSync(dir, { recursive: true, withFileTypes: true })
          .filter((e) => e.isFile())
          .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
          .filter((f) => f !== 'install.json')
          .sort()
      : [];
  const same =
    JSON.stringify(files(built)) === JSON.stringify(files(installed)) &&
    files(built).every((f) => fs.readFileSync(path.join(built, f)).equals(fs.readFileSync(path.join(installed, f))));
  if (same) return;
  for (const f of files(installed)) fs.rmSync(path.join(installed, f));
  for (const f of files(built)) {
    fs.mkdirSync(path.dirname(path.join(installed, f)), { recursive: true });
    fs.copyFileSync(path.join(built, f), path.join(installed, f));
  }
  console.log('      (the extension in .venv was older than the build: the built one is installed)');
}

async function waitForServer(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`JupyterLab did not answer at ${url} within ${timeoutMs} ms`);
}

const CELLS = [
  "import { degradation, LiveView } from 'reslab-kernel';\nimport * as tslab from 'tslab';",
  `const ends = await degradation({ depths: [8], preset: 'demo', out: 'runs', view: { minIntervalMs: 200 },
  overrides: { modelOptions: { width: 0.5 }, iterations: 200, batchSize: 64, logEvery: 5, evalEvery: 20, checkpointEvery: 100,
               trainLimit: 512, testLimit: 128, trainEvalImages: 64, probeEvery: 10, probeImages: 16 } });
ends.map((e) => e.status).join(',');`,
  `const named = new LiveView({ title: 'a run named by a user' });
const runId = ${JSON.stringify(INJECTION)};
named.push({ type: 'run_start', runId, time: Date.now(), schema: 1, iteration: 0, backend: 'cpu',
  run: { model: 'resnet20', family: 'resnet', depth: 20, width: 1, shortcut: 'A', seed: 0, iterations: 10, batchSize: 128, params: 1, preset: 'demo' } });
named.push({ type: 'train', runId, time: Date.now(), iteration: 5, trainError: 0.5, loss: 1, lr: 0.1, window: 5, imagesPerSecond: 1 });
named.close();`,
  "// A payload from a future version: tslab passes objects through (its type says string).\ntslab.display.raw('application/vnd.reslab.run.v1+json', { schema: 99, runs: [] } as unknown as string);",
  `// Edge cases and hostile payloads: a million points, probes without latest values, markup in block
// names, a right-to-left override, a 250-character run id and a 10,000-character one (refused,
// its payload's other runs shown), a payload time far in the future.
const view = (runId: string, depth: number) => ({ runId, status: 'running', iteration: 5,
  run: { model: 'resnet' + depth, family: 'resnet', depth, width: 1, shortcut: 'A', seed: 0, iterations: 10, batchSize: 128, params: 1, preset: 'demo' },
  trainError: { iteration: [5], value: [0.5] }, testError: { iteration: [], value: [] }, trainEvalError: { iteration: [], value: [] }, loss: { iteration: [], value: [] } });
const show = (runs: unknown[], updated = Date.now()) => tslab.display.raw('application/vnd.reslab.run.v1+json', { schema: 1, title: 'edge cases', updated, runs } as unknown as string);
const its = Array.from({ length: 1_000_000 }, (_, i) => i + 1);
show([{ ...view('huge', 32), iteration: 1_000_000, trainError: { iteration: its, value: its.map((i) => 1 / (1 + i / 1000)) } }]);
show([{ ...view('no-latest', 44), probes: { blocks: ['b1'], iteration: [5], branchRatio: [[1]], outputNorm: [[1]] } }]);
show([{ ...view('markup-blocks', 110), probes: { blocks: [${JSON.stringify(MARKUP)}], iteration: [5], branchRatio: [[0.5]], outputNorm: [[1]],
  latest: [{ block: ${JSON.stringify(MARKUP)}, responseStd: [1], inputNorm: 1, branchNorm: 1, outputNorm: 1, branchRatio: 0.5, gradNorm: 1, deadReluFraction: 0 }] } },
  view(${JSON.stringify(RTL_ID)}, 56), view(${JSON.stringify(LONG_ID)}, 20), view(${JSON.stringify(OVERSIZED_ID)}, 14)]);
show([{ ...view('future', 1202), iteration: 1 }], Date.now() + 1e12);
show([{ ...view('future', 1202), iteration: 9 }]);`,
];

describe('JupyterLab end to end (Chromium + real JupyterLab + real tslab kernel)', function () {
  this.timeout(600_000);
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let serverLog = '';
  let notebookName: string;
  let sweepDir: string;
  const dialogs: string[] = [];

  before(async () => {
    requireJupyter();
    installBuiltExtension();
    if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (or set RESLAB_CHROMIUM)`);
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    const dir = notebookDir();
    notebookName = path.basename(dir) + '.ipynb';
    writeNotebook(path.join(dir, notebookName), CELLS);
    // A runs directory next to the notebook, as a CLI sweep writes it (filled during a test below).
    sweepDir = path.join(dir, 'sweep');
    fs.mkdirSync(sweepDir);
    const port = String(await freePort());
    const env = { ...lab.jupyterEnv(path.join(dir, '.jupyter')), JUPYTER_TOKEN: TOKEN };
    lab.disableAnnouncements(env);
    // The million-point payload below is ~14 MB in one message: above Jupyter's default IOPub rate
    // limit, which would drop it (and the next messages) before the sidebar sees them.
    const args = [...lab.labArgs({ port, rootDir: dir }), '--ServerApp.iopub_data_rate_limit=1e12'];
    server = spawn(lab.JUPYTER, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout?.on('data', (d) => (serverLog += d));
    server.stderr?.on('data', (d) => (serverLog += d));
    const base = `http://127.0.0.1:${port}`;
    await waitForServer(`${base}/api/status?token=${TOKEN}`, 120_000);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(`${base}/lab/tree/${notebookName}?token=${TOKEN}`);
    // The kernel is connected and idle before anything runs.
    await page.locator('.jp-Notebook').first().waitFor({ timeout: 120_000 });
    await page.waitForFunction(() => /Idle/.test(document.querySelector('.jp-StatusBar-Widget')?.textContent ?? ''), undefined, {
      timeout: 120_000,
    });
  });

  after(async () => {
    await browser?.close();
    server?.kill('SIGTERM');
    if (process.env.RESLAB_E2E_LOG) console.log(serverLog);
  });

  /** Waits until a trace of the sidebar's curves has a name that `wanted` accepts; fails naming the traces it saw. */
  async function waitForTrace(wanted: (name: string) => boolean, names: () => Promise<string[]>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let seen: string[] = [];
    while (Date.now() < deadline) {
      seen = await names();
      if (seen.some(wanted)) return;
      await page.waitForTimeout(250);
    }
    const header = await page.locator('.jp-ResLab-header').textContent();
    throw new Error(`no such trace within ${timeoutMs / 1000} s; header '${header}', traces: ${seen.join(' | ')}`);
  }

  async function runCell(index: number): Promise<void> {
    const cell = page.locator('.jp-Notebook .jp-Cell').nth(index);
    await cell.locator('.jp-InputArea-editor').click();
    await page.keyboard.press('Shift+Enter');
  }

  async function waitIdle(index: number, timeoutMs = 300_000): Promise<void> {
    const prompt = page.locator('.jp-Notebook .jp-Cell').nth(index).locator('.jp-InputPrompt');
    await page.waitForFunction((el) => /\[\d+\]/.test(el?.textContent ?? ''), await prompt.elementHandle(), { timeout: timeoutMs });
  }

  /** Points in the sidebar's first curve (Plotly keeps the data on its div). */
  function sidebarPoints(): Promise<number> {
    return page.evaluate(() => {
      const div = document.querySelector('.jp-ResLab-curves') as (HTMLElement & { data?: Array<{ x: number[] }> }) | null;
      return div?.data ? div.data.reduce((sum, trace) => sum + trace.x.length, 0) : 0;
    });
  }

  it('runs a short live training: the sidebar lists the runs, its curves grow, the heatmap renders', async () => {
    await runCell(0);
    await waitIdle(0);
    // Open the ResLab sidebar.
    await page.locator('.jp-SideBar.jp-mod-right .lm-TabBar-tab', { hasText: 'ResLab' }).first().click();
    await runCell(1);
    const prompt = page.locator('.jp-Notebook .jp-Cell').nth(1).locator('.jp-InputPrompt');
    await page.waitForFunction((el) => (el?.textContent ?? '').includes('[*]'), await prompt.elementHandle(), { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelectorAll('.jp-ResLab-run').length > 0, undefined, { timeout: 120_000 });
    await page.waitForFunction(
      () => {
        const div = document.querySelector('.jp-ResLab-curves') as (HTMLElement & { data?: Array<{ x: number[] }> }) | null;
        return (div?.data ?? []).reduce((sum, t) => sum + t.x.length, 0) >= 4;
      },
      undefined,
      { timeout: 120_000 },
    );
    const first = await sidebarPoints();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'sidebar-moment-1.png') });
    await page.waitForTimeout(4000);
    const second = await sidebarPoints();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'sidebar-moment-2.png') });
    assert.ok(second > first, `the curves change while training runs (${first} → ${second} points)`);
    await waitIdle(1);
    const runs = await page.locator('.jp-ResLab-run').allTextContents();
    assert.ok(
      runs.some((r) => r.includes('plain8-w0.5-s0') && r.includes('completed')),
      runs.join('\n'),
    );
    assert.ok(
      runs.some((r) => r.includes('resnet8-w0.5-s0') && r.includes('completed')),
      runs.join('\n'),
    );
    // The heatmap of block-wise statistics.
    await page.locator('.jp-ResLab-heatmap .main-svg').first().waitFor({ timeout: 30_000 });
    const heat = await page.evaluate(() => {
      const div = document.querySelector('.jp-ResLab-heatmap') as (HTMLElement & { data?: Array<{ type: string; y: string[] }> }) | null;
      return div?.data?.map((t) => ({ type: t.type, blocks: t.y.length }));
    });
    assert.deepEqual(heat, [
      { type: 'heatmap', blocks: 3 },
      { type: 'bar', blocks: 3 },
    ]);
    // The inline renderer drew the same view in the output area.
    assert.ok((await page.locator('.jp-Notebook .jp-ResLab-inline .main-svg').count()) > 0, 'inline MIME renderer');
    const updateMs = Number(await page.locator('.jp-ResLab-footer').getAttribute('data-update-ms'));
    console.log(`      sidebar redraw after the last update: ${updateMs.toFixed(1)} ms`);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'sidebar-finished.png') });
  });

  it('shows a run named like markup literally, as text', async () => {
    await runCell(2);
    await waitIdle(2);
    await page.waitForFunction(
      (name) => Array.from(document.querySelectorAll('.jp-ResLab-run')).some((n) => (n.textContent ?? '').includes(name)),
      INJECTION,
      { timeout: 30_000 },
    );
    assert.equal(await page.locator('.jp-ResLab-panel img').count(), 0, 'no <img> element was created');
    assert.deepEqual(dialogs, [], 'no script ran');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'sidebar-injection.png') });
  });

  it('ignores a malformed payload with a visible warning; the panel keeps working', async () => {
    await runCell(3);
    await waitIdle(3);
    await page.waitForFunction(
      () => /unsupported schema version 99/.test(document.querySelector('.jp-ResLab-warnings')?.textContent ?? ''),
      undefined,
      { timeout: 30_000 },
    );
    const inline = await page.locator('.jp-Notebook .jp-Cell').nth(3).locator('.jp-ResLab-warning').textContent();
    assert.match(inline ?? '', /unsupported schema version 99/);
    assert.ok((await page.locator('.jp-ResLab-run').count()) >= 3, 'earlier runs are still listed');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'sidebar-warning.png') });
  });

  it('hostile and oversized payloads: one warning each, everything else keeps drawing, names stay text', async () => {
    await runCell(4);
    await waitIdle(4);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'sidebar-edge-cases-sent.png') });
    await page.waitForFunction(
      () => /probes has no latest per-block values/.test(document.querySelector('.jp-ResLab-warnings')?.textContent ?? ''),
      undefined,
      { timeout: 60_000 },
    );
    assert.match(
      (await page.locator('.jp-ResLab-warnings').textContent()) ?? '',
      /ignored a reslab run in [^:]+: runs\[3\] has no runId of at most 256 characters/,
      'the oversized id is refused on its own',
    );
    await page.waitForFunction(
      () =>
        Array.from(document.querySelectorAll('.jp-ResLab-run')).some(
          (n) => (n.textContent ?? '').includes('future') && (n.textContent ?? '').includes('it 9/10'),
        ),
      undefined,
      { timeout: 60_000 },
    );
    // The million-point run is drawn from a bounded curve, next to every other run.
    const traces = await page.evaluate(() => {
      const div = document.querySelector('.jp-ResLab-curves') as (HTMLElement & { data?: Array<{ name: string; x: number[] }> }) | null;
      return (div?.data ?? []).map((t) => ({ name: t.name, points: t.x.length }));
    });
    const huge = traces.find((t) => t.name === 'ResNet-32 train');
    assert.ok(huge && huge.points <= 2000 && huge.points > 1000, JSON.stringify(huge));
    assert.ok(
      traces.some((t) => t.name === 'plain-8 train') && traces.some((t) => t.name === 'ResNet-1202 train'),
      'the other runs still draw',
    );
    // Markup in block names is text in the heatmap: no link, no 40 px text.
    await page.waitForFunction(
      () =>
        ((document.querySelector('.jp-ResLab-heatmap') as HTMLElement & { data?: Array<{ y: string[] }> })?.data?.[0]?.y ?? []).some((y) =>
          y.includes('click'),
        ),
      undefined,
      { timeout: 30_000 },
    );
    assert.equal(await page.locator('.jp-ResLab-panel svg a').count(), 0, 'no <a> element in the charts');
    const big = await page.evaluate(
      () =>
        Array.from(document.querySelectorAll('.jp-ResLab-panel svg text')).filter((t) => parseFloat(getComputedStyle(t).fontSize) >= 30)
          .length,
    );
    assert.equal(big, 0, 'no 40 px text');
    // A right-to-left override stays inside its isolated id; a 250-character id is shortened.
    const ids = await page.evaluate(() =>
      Array.from(document.querySelectorAll('bdi.jp-ResLab-run-id')).map((b) => ({
        text: b.textContent ?? '',
        title: (b as HTMLElement).title,
        height: (b.parentElement as HTMLElement).getBoundingClientRect().height,
      })),
    );
    const rtl = ids.find((i) => i.title === '\u202Eevil-name');
    assert.ok(rtl, 'the right-to-left id is in a <bdi>');
    const long = ids.find((i) => i.title === LONG_ID);
    assert.ok(
      long && long.text.length <= 49 && long.height < 120,
      `long id shown as ${long?.text.length} characters, ${long?.height} px high`,
    );
    assert.deepEqual(dialogs, [], 'no script ran');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'sidebar-edge-cases.png') });
  });

  it('opens a runs folder from the file browser, follows a CLI run still writing to it, compares, smooths, exports, and restores it all after a reload', async () => {
    // A real CLI run writing into the folder while the sidebar follows it.
    const cli = spawn(
      process.execPath,
      [
        path.join(ROOT, 'bin', 'reslab.js'),
        'train',
        'resnet8',
        '--preset',
        'smoke',
        '--iterations',
        '160',
        '--log-every',
        '5',
        '--eval-every',
        '40',
        '--batch-size',
        '16',
        '--train-limit',
        '256',
        '--test-limit',
        '64',
        '--probe-every',
        '40',
        '--quiet',
        '--out',
        sweepDir,
      ],
      { stdio: 'ignore' },
    );
    const cliExit = new Promise<number | null>((resolve) => cli.on('exit', (code) => resolve(code)));
    const folderItem = page.locator('.jp-DirListing-item[data-isdir="true"]', { hasText: 'sweep' }).first();
    await folderItem.waitFor({ timeout: 60_000 });
    await folderItem.click({ button: 'right' });
    await page.locator('.lm-Menu-item', { hasText: 'Open in ResLab' }).first().click();
    await page.waitForFunction(
      () => /Runs of folder sweep/.test(document.querySelector('.jp-ResLab-header')?.textContent ?? ''),
      undefined,
      { timeout: 30_000 },
    );
    const iterationShown = () =>
      page.evaluate(() => {
        const item = Array.from(document.querySelectorAll('.jp-ResLab-run')).find((n) =>
          (n.textContent ?? '').includes('resnet8-w0.25-s0'),
        );
        const match = /it (\d+)\/160/.exec(item?.textContent ?? '');
        return match ? Number(match[1]) : -1;
      });
    await page.waitForFunction(
      () => /resnet8-w0\.25-s0 · running/.test(document.querySelector('.jp-ResLab-runs')?.textContent ?? ''),
      undefined,
      { timeout: 120_000 },
    );
    const early = await iterationShown();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'sidebar-folder-running.png') });
    assert.equal(await cliExit, 0);
    await page.waitForFunction(
      () => /resnet8-w0\.25-s0 · completed · it 160\/160/.test(document.querySelector('.jp-ResLab-runs')?.textContent ?? ''),
      undefined,
      { timeout: 30_000 },
    );
    assert.ok(early < 160, `the sidebar showed the run while it was writing (at ${early}), then refreshed to its end`);

    // Compare: the notebook's runs and the folder's in one chart, each labelled with its source.
    await page.locator('.jp-ResLab-scope').selectOption('all');
    const names = () =>
      page.evaluate(() =>
        (
          (document.querySelector('.jp-ResLab-curves') as HTMLElement & { data?: Array<{ name: string; opacity?: number }> })?.data ?? []
        ).map((t) => t.name),
      );
    await waitForTrace((name) => name === 'ResNet-8 · folder sweep train', names);
    assert.ok((await names()).includes(`ResNet-8 · ${notebookName} train`), (await names()).join(', '));

    // The run picker: unticking the notebook's ResNet-8 removes it from the chart, not from the list.
    const notebookRun = page.locator('.jp-ResLab-run', { hasText: `ResNet-8 · ${notebookName}` }).first();
    await notebookRun.locator('.jp-ResLab-run-toggle').uncheck();
    await page.waitForFunction(
      (nb) =>
        !((document.querySelector('.jp-ResLab-curves') as HTMLElement & { data?: Array<{ name: string }> })?.data ?? []).some(
          (t) => t.name === `ResNet-8 · ${nb} train`,
        ),
      notebookName,
      { timeout: 30_000 },
    );
    assert.ok((await names()).includes('ResNet-8 · folder sweep train'));

    // Smoothing: the smoothed training curve over its faint raw copy.
    await page.locator('.jp-ResLab-smoothing').fill('0.8');
    await page.waitForFunction(
      () =>
        (
          (document.querySelector('.jp-ResLab-curves') as HTMLElement & { data?: Array<{ name: string; opacity?: number }> })?.data ?? []
        ).some((t) => t.name === 'ResNet-8 · folder sweep train (raw)' && t.opacity === 0.25),
      undefined,
      { timeout: 30_000 },
    );
    assert.match((await page.locator('.jp-ResLab-smoothing-value').textContent()) ?? '', /0\.80/);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'sidebar-compare-smoothed.png') });

    // Export: PNG and SVG of the chart, with legend and axis titles.
    const [png] = await Promise.all([page.waitForEvent('download'), page.locator('.jp-ResLab-export-png').click()]);
    const pngBytes = fs.readFileSync(await png.path());
    assert.equal(pngBytes.subarray(1, 4).toString('latin1'), 'PNG');
    assert.ok(pngBytes.length > 10_000, `a real picture (${pngBytes.length} bytes)`);
    fs.copyFileSync(await png.path(), path.join(SCREENSHOTS, 'sidebar-export.png'));
    const [svg] = await Promise.all([page.waitForEvent('download'), page.locator('.jp-ResLab-export-svg').click()]);
    const svgText = fs.readFileSync(await svg.path(), 'utf8');
    assert.match(svgText, /^<svg/);
    for (const text of ['iteration', 'error (%)', 'ResNet-8 · folder sweep train'])
      assert.ok(svgText.includes(text), `the SVG shows '${text}'`);
    assert.equal(png.suggestedFilename(), 'reslab-error-curves.png');

    // A reload restores the folder, the scope, the picked runs and the smoothing (the notebook is
    // saved first, so that its runs come back from its outputs).
    await page.locator('.jp-Notebook .jp-Cell').first().click();
    await page.keyboard.press('Control+s');
    await page.waitForFunction(() => !document.querySelector('.jp-Document.jp-mod-dirty, .lm-TabBar-tab.jp-mod-dirty'), undefined, {
      timeout: 60_000,
    });
    await page.waitForTimeout(1000); // the sidebar's state is saved 300 ms after the last change
    await page.reload();
    await page.locator('.jp-SideBar.jp-mod-right .lm-TabBar-tab', { hasText: 'ResLab' }).first().waitFor({ timeout: 120_000 });
    if (!(await page.locator('.jp-ResLab-panel').isVisible()))
      await page.locator('.jp-SideBar.jp-mod-right .lm-TabBar-tab', { hasText: 'ResLab' }).first().click();
    await page.waitForFunction(
      () => /resnet8-w0\.25-s0 · completed/.test(document.querySelector('.jp-ResLab-runs')?.textContent ?? ''),
      undefined,
      { timeout: 60_000 },
    );
    assert.equal(await page.locator('.jp-ResLab-smoothing').inputValue(), '0.8');
    assert.equal(await page.locator('.jp-ResLab-scope').inputValue(), 'all');
    await page.waitForFunction(
      () =>
        ((document.querySelector('.jp-ResLab-curves') as HTMLElement & { data?: Array<{ name: string }> })?.data ?? []).some((t) =>
          t.name.includes('(raw)'),
        ),
      undefined,
      { timeout: 60_000 },
    );
    // The notebook's runs come back when its saved outputs have loaded.
    await page.waitForFunction(
      (nb) => (document.querySelector('.jp-ResLab-runs')?.textContent ?? '').includes(`ResNet-8 · ${nb}`),
      notebookName,
      { timeout: 180_000 },
    );
    const toggles = await page.evaluate(() =>
      Array.from(document.querySelectorAll('.jp-ResLab-run')).map((n) => [
        n.textContent ?? '',
        (n.querySelector('.jp-ResLab-run-toggle') as HTMLInputElement).checked,
      ]),
    );
    const notebookToggle = toggles.find(([text]) => String(text).startsWith(`ResNet-8 · ${notebookName}`));
    await page.screenshot({ path: path.join(SCREENSHOTS, 'sidebar-after-reload.png') });
    assert.ok(notebookToggle && notebookToggle[1] === false, `the unticked run is still unticked: ${JSON.stringify(toggles)}`);
    assert.deepEqual(dialogs, [], 'no script ran');
  });
});
