import { strict as assert } from 'assert';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { ContentsManager, ServerConnection } from '@jupyterlab/services';
import { folderKey } from '../src/folder';
import { FolderWatcher, MAX_RUN_LOG_BYTES } from '../src/folder-watcher';
import { RunsModel } from '../src/model';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const JUPYTER = path.join(ROOT, '.venv', 'bin', 'jupyter');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The sidebar's runs-folder reader against a real Jupyter server's contents API: a run whose log
 * is larger than the sidebar reads, or not a run log, is one warning; the other runs show.
 */
describe('ResLab sidebar: a runs folder read from a real Jupyter server', function () {
  this.timeout(180_000);
  let server: ChildProcess | undefined;
  after(() => server?.kill('SIGTERM'));

  it('skips a huge log and a bad one with a warning each, and shows the good run', async () => {
    if (!fs.existsSync(JUPYTER)) throw new Error('the project JupyterLab (.venv) is missing: run `npm run setup`');
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-folder-server-'));
    const runs = path.join(home, 'runs');
    // A real run, written by reslab.
    const trained = spawnSync(
      process.execPath,
      [
        path.join(ROOT, 'bin', 'reslab.js'),
        'train',
        'resnet8',
        '--preset',
        'smoke',
        '--iterations',
        '4',
        '--batch-size',
        '16',
        '--train-limit',
        '64',
        '--test-limit',
        '32',
        '--log-every',
        '2',
        '--quiet',
        '--out',
        runs,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(trained.status, 0, trained.stderr);
    const good = fs.readFileSync(path.join(runs, 'resnet8-w0.25-s0', 'metrics.jsonl'), 'utf8');
    const [start] = good.split('\n');
    // A run with a numeric status: not a run log.
    fs.mkdirSync(path.join(runs, 'bad'));
    fs.writeFileSync(
      path.join(runs, 'bad', 'metrics.jsonl'),
      `${start.replace('resnet8-w0.25-s0', 'bad')}\n{"runId":"bad","time":1,"type":"run_end","iteration":4,"status":5,"wallSeconds":1}\n`,
    );
    // A valid log larger than the sidebar reads.
    fs.mkdirSync(path.join(runs, 'huge'));
    const line = `{"runId":"huge","time":1,"type":"train","iteration":1,"trainError":0.5,"loss":1,"lr":0.1,"window":1,"imagesPerSecond":1}\n`;
    const fd = fs.openSync(path.join(runs, 'huge', 'metrics.jsonl'), 'w');
    fs.writeSync(fd, `${start.replace('resnet8-w0.25-s0', 'huge')}\n`);
    const chunk = line.repeat(10_000);
    for (let written = 0; written <= MAX_RUN_LOG_BYTES; written += chunk.length) fs.writeSync(fd, chunk);
    fs.closeSync(fd);

    const port = await freePort();
    const token = `reslab-folder-${process.pid}`;
    const state = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-folder-jupyter-'));
    server = spawn(
      JUPYTER,
      [
        'server',
        '--no-browser',
        '--ip=127.0.0.1',
        `--port=${port}`,
        `--ServerApp.root_dir=${home}`,
        '--ServerApp.port_retries=0',
        ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
      ],
      {
        env: {
          ...process.env,
          JUPYTER_TOKEN: token,
          JUPYTER_CONFIG_DIR: state,
          JUPYTER_RUNTIME_DIR: state,
          JUPYTER_DATA_DIR: path.join(state, 'data'),
        },
        stdio: 'ignore',
      },
    );
    const baseUrl = `http://127.0.0.1:${port}/`;
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${baseUrl}api/status?token=${token}`)).ok) break;
      } catch {
        // not listening yet
      }
      if (i > 400) throw new Error('the Jupyter server did not start');
      await new Promise((r) => setTimeout(r, 250));
    }
    const contents = new ContentsManager({ serverSettings: ServerConnection.makeSettings({ baseUrl, token, appendToken: true }) });
    const model = new RunsModel();
    model.openFolder('runs');
    model.setScope({ source: folderKey('runs') });
    await new FolderWatcher(contents, 'runs', model).refresh();
    assert.deepEqual(
      model.runs().map((r) => [r.runId, r.status, r.iteration]),
      [['resnet8-w0.25-s0', 'completed', 4]],
    );
    assert.ok(
      model.warnings.some((w) => /runs: skipped huge: its metrics\.jsonl is \d+ MB, more than the sidebar reads \(32 MB\)/.test(w)),
      model.warnings.join('\n'),
    );
    assert.ok(
      model.warnings.some((w) => /runs: skipped bad: .*status is not one of completed, stopped, failed \(got 5\)/.test(w)),
      model.warnings.join('\n'),
    );
  });
});
