import { strict as assert } from 'assert';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EvalEvent, ProbeEvent, readRunEvents, TensorBoardLog, TrainEvent } from '../src';
import { crc32c, maskedCrc32c } from '../src/tensorboard/crc32c';
import { tensorBoardFiles } from '../src/tensorboard/run-log';
import { ROOT, VENV_BIN } from './helpers/jupyter';
import { freePort } from './helpers/net';

const CLI = path.join(ROOT, 'bin', 'reslab.js');
const PYTHON = path.join(VENV_BIN, 'python');

interface TensorBoardRead {
  error?: string;
  file_version?: string;
  scalars: Record<string, Array<[number, number]>>;
  histograms: Record<string, Array<[number, number, number, number, number]>>;
}

/** Reads an event file with TensorBoard's own record reader (CRC-checked) and protos. */
function readWithTensorBoard(file: string): TensorBoardRead {
  const result = spawnSync(PYTHON, [path.join(ROOT, 'test', 'helpers', 'read_tensorboard.py'), file], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as TensorBoardRead;
}

function reslab(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b));

describe('TensorBoard event files', function () {
  this.timeout(300_000);
  let runsDir: string;
  let runDir: string;

  before(function () {
    if (!fs.existsSync(path.join(VENV_BIN, 'tensorboard')))
      throw new Error('TensorBoard is missing from .venv: run `npm run setup` (without --no-jupyter)');
    runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-tb-'));
    const trained = reslab([
      'train',
      'resnet8',
      '--preset',
      'demo',
      '--width',
      '0.25',
      '--batch-size',
      '16',
      '--iterations',
      '30',
      '--log-every',
      '5',
      '--eval-every',
      '10',
      '--probe-every',
      '10',
      '--train-limit',
      '256',
      '--test-limit',
      '64',
      '--quiet',
      '--out',
      runsDir,
    ]);
    assert.equal(trained.status, 0, trained.stderr);
    runDir = path.join(runsDir, 'resnet8-w0.25-s0');
  });

  it("CRC-32C matches the standard check values (RFC 3720) and TensorFlow's masking", () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
    assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
    const crc = 0xe3069283;
    assert.equal(maskedCrc32c(Buffer.from('123456789')), ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0);
  });

  it("a training run writes one event file next to metrics.jsonl that TensorBoard's reader reads back to the logged numbers", () => {
    const files = tensorBoardFiles(runDir);
    assert.equal(files.length, 1);
    const read = readWithTensorBoard(files[0]);
    assert.equal(read.error, undefined);
    assert.equal(read.file_version, 'brain.Event:2');
    const events = readRunEvents(runDir);
    const train = events.filter((e): e is TrainEvent => e.type === 'train');
    const evals = events.filter((e): e is EvalEvent => e.type === 'eval');
    const probes = events.filter((e): e is ProbeEvent => e.type === 'probe');
    const expect = (tag: string, points: Array<[number, number]>) => {
      const got = read.scalars[tag];
      assert.deepEqual(
        got.map(([step]) => step),
        points.map(([step]) => step),
        tag,
      );
      got.forEach(([, value], i) => assert.ok(close(value, points[i][1]), `${tag} at ${points[i][0]}: ${value} vs ${points[i][1]}`));
    };
    expect(
      'error/train_running_percent',
      train.map((e) => [e.iteration, 100 * e.trainError]),
    );
    expect(
      'loss/train',
      train.map((e) => [e.iteration, e.loss]),
    );
    expect(
      'optimizer/learning_rate',
      train.map((e) => [e.iteration, e.lr]),
    );
    expect(
      'speed/images_per_second',
      train.map((e) => [e.iteration, e.imagesPerSecond]),
    );
    expect(
      'error/test_percent',
      evals.map((e) => [e.iteration, 100 * e.testError]),
    );
    expect(
      'error/train_inference_percent',
      evals.map((e) => [e.iteration, 100 * (e.trainEvalError as number)]),
    );
    // Per block: ||F(x)||/||x|| and each 3x3 layer's response std; histograms over the blocks.
    const blocks = probes[0].blocks.map((b) => b.block);
    assert.deepEqual(blocks, ['stage1_block1', 'stage2_block1', 'stage3_block1']);
    for (const block of blocks) {
      expect(
        `branch_ratio/${block}`,
        probes.map((p) => [p.iteration, p.blocks.find((b) => b.block === block)?.branchRatio as number]),
      );
      expect(
        `response_std/${block}_conv2`,
        probes.map((p) => [p.iteration, p.blocks.find((b) => b.block === block)?.responseStd[1] as number]),
      );
    }
    const last = probes[probes.length - 1];
    const [step, num, min, max, total] = read.histograms['blocks/response_std'].slice(-1)[0];
    const stds = last.blocks.flatMap((b) => b.responseStd);
    assert.deepEqual([step, num, total], [last.iteration, stds.length, stds.length]);
    assert.ok(close(min, Math.min(...stds)) && close(max, Math.max(...stds)));
  });

  it("a damaged byte is caught by TensorBoard's CRC check (the framing is real)", () => {
    const copy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-tb-bad-')), 'events.out.tfevents.1.x');
    const bytes = fs.readFileSync(tensorBoardFiles(runDir)[0]);
    bytes[bytes.length - 10] ^= 0x40;
    fs.writeFileSync(copy, bytes);
    assert.match(readWithTensorBoard(copy).error ?? '', /failed event crc32 check/);
  });

  it('reslab tensorboard-export rebuilds the same file from metrics.jsonl, in place or under --logdir; bad paths are one line', () => {
    const live = fs.readFileSync(tensorBoardFiles(runDir)[0]);
    const logdir = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-tb-export-'));
    const exported = reslab(['tensorboard-export', runsDir, '--logdir', logdir]);
    assert.equal(exported.status, 0, exported.stderr);
    assert.match(exported.stdout, /resnet8-w0\.25-s0/);
    assert.match(exported.stderr, new RegExp(`tensorboard --logdir ${logdir}`));
    const files = tensorBoardFiles(path.join(logdir, 'resnet8-w0.25-s0'));
    assert.equal(files.length, 1);
    assert.ok(fs.readFileSync(files[0]).equals(live), 'export of metrics.jsonl == what the run wrote live');
    const inPlace = reslab(['tensorboard-export', runsDir]);
    assert.equal(inPlace.status, 0, inPlace.stderr);
    assert.deepEqual(
      tensorBoardFiles(runDir).map((f) => fs.readFileSync(f).equals(live)),
      [true],
      'still one file, the same',
    );

    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-tb-empty-'));
    const none = reslab(['tensorboard-export', empty]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /no runs \(directories with a metrics\.jsonl\) in/);
    assert.ok(!/\n\s+at /.test(none.stderr), 'no stack trace');
    const missing = reslab(['tensorboard-export', path.join(empty, 'nope')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /does not exist or is not a directory/);
  });

  it('a resumed run rebuilds its log from metrics.jsonl: every step exactly once', () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-tb-resume-'));
    const metrics = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').split('\n');
    fs.writeFileSync(path.join(copy, 'metrics.jsonl'), metrics.slice(0, 8).join('\n') + '\n');
    const stale = TensorBoardLog.fromRunDir(copy);
    fs.writeFileSync(path.join(copy, 'metrics.jsonl'), metrics.join('\n'));
    TensorBoardLog.fromRunDir(copy);
    assert.deepEqual(tensorBoardFiles(copy), [stale.file]);
    const steps = readWithTensorBoard(stale.file).scalars['error/train_running_percent'].map(([step]) => step);
    assert.deepEqual(steps, [5, 10, 15, 20, 25, 30]);
  });

  it("the real TensorBoard server serves the run's scalars over its HTTP API", async () => {
    const port = await freePort();
    const server = spawn(
      path.join(VENV_BIN, 'tensorboard'),
      ['--logdir', runsDir, '--host', '127.0.0.1', '--port', String(port), '--reload_interval', '1'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let log = '';
    server.stdout?.on('data', (c) => (log += c));
    server.stderr?.on('data', (c) => (log += c));
    try {
      const url = `http://127.0.0.1:${port}/data/plugin/scalars/scalars?run=${encodeURIComponent('resnet8-w0.25-s0')}&tag=${encodeURIComponent('error/test_percent')}`;
      const points = await poll(
        async () => {
          const response = await fetch(url);
          if (!response.ok) return undefined;
          const body = (await response.json()) as Array<[number, number, number]>;
          return body.length > 0 ? body : undefined;
        },
        90_000,
        () => log,
      );
      const evals = readRunEvents(runDir).filter((e): e is EvalEvent => e.type === 'eval');
      assert.deepEqual(
        points.map(([, step]) => step),
        evals.map((e) => e.iteration),
      );
      points.forEach(([wallTime, , value], i) => {
        assert.ok(close(value, 100 * evals[i].testError), `${value} vs ${100 * evals[i].testError}`);
        assert.ok(Math.abs(wallTime - evals[i].time / 1000) < 1e-3);
      });
      const tags = (await (await fetch(`http://127.0.0.1:${port}/data/plugin/scalars/tags`)).json()) as Record<
        string,
        Record<string, unknown>
      >;
      assert.ok('branch_ratio/stage2_block1' in tags['resnet8-w0.25-s0'], Object.keys(tags['resnet8-w0.25-s0'] ?? {}).join(', '));
    } finally {
      await stop(server);
    }
  });
});

async function poll<T>(attempt: () => Promise<T | undefined>, timeoutMs: number, log: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`TensorBoard served no scalars within ${timeoutMs / 1000} s:\n${log().slice(-2000)}`);
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.on('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
