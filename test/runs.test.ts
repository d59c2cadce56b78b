import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RunEvent } from 'reslab-protocol';
import { bundledDataDir, loadCifar10 } from '../src/data/cifar';
import { MetricsLog, RunDirectory, RunsRoot, runSplit } from '../src/runs';
import { tensorBoardFiles } from '../src/tensorboard/run-log';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-runs-'));

const RUN = {
  model: 'resnet8',
  family: 'resnet' as const,
  depth: 8,
  width: 0.25,
  shortcut: 'A',
  seed: 0,
  iterations: 10,
  batchSize: 16,
  params: 5000,
  preset: 'smoke',
};
const start: RunEvent = { runId: 'r', time: 1, type: 'run_start', schema: 1, run: RUN, iteration: 0, backend: 'cpu' };
const train: RunEvent = {
  runId: 'r',
  time: 2,
  type: 'train',
  iteration: 5,
  trainError: 0.75,
  loss: 2.1,
  lr: 0.1,
  window: 5,
  imagesPerSecond: 100,
};
const end = (status: 'completed' | 'stopped'): RunEvent => ({
  runId: 'r',
  time: 3,
  type: 'run_end',
  iteration: 10,
  status,
  wallSeconds: 1,
});

describe('src/runs: a runs directory and one run', () => {
  it('RunsRoot joins a root and a run id, lists the runs it holds and refuses ids that are paths', () => {
    const root = new RunsRoot(tmp());
    assert.equal(root.run('resnet8-w0.25-s0').dir, path.join(root.dir, 'resnet8-w0.25-s0'));
    for (const bad of ['', '.', '..', 'a/b', '../x', 'a\\b'])
      assert.throws(() => root.run(bad), /a run id is a directory name without separators/, JSON.stringify(bad));
    for (const id of ['b-run', 'a-run', 'no-log']) fs.mkdirSync(path.join(root.dir, id));
    fs.writeFileSync(path.join(root.dir, 'b-run', 'metrics.jsonl'), '');
    fs.writeFileSync(path.join(root.dir, 'a-run', 'metrics.jsonl'), '');
    fs.writeFileSync(path.join(root.dir, 'stray.txt'), '');
    assert.deepEqual(
      root.runs().map((r) => r.runId),
      ['a-run', 'b-run'],
      'directories with a metrics.jsonl, by id',
    );
    assert.throws(() => new RunsRoot(path.join(root.dir, 'missing')).runs(), /runs directory .*missing does not exist/);
    assert.throws(() => new RunsRoot(path.join(root.dir, 'stray.txt')).runs(), /stray\.txt is a file, not a directory of runs/);
  });

  it('RunDirectory.claim writes the config once and refuses another; the layout has one set of names', () => {
    const run = new RunDirectory(path.join(tmp(), 'r'));
    run.claim({ iterations: 10 });
    assert.deepEqual(run.readConfig(), { iterations: 10 });
    run.claim({ iterations: 10 });
    assert.throws(() => run.claim({ iterations: 11 }), /already holds a run with a different config \(see its config\.json\)/);
    // An unreadable config.json is said to be unreadable, not "a different config".
    const broken = new RunDirectory(path.join(tmp(), 'b'));
    fs.mkdirSync(broken.configFile, { recursive: true });
    assert.throws(() => broken.claim({ iterations: 10 }), /cannot read .*b\/config\.json \(EISDIR\)/);
    assert.deepEqual(
      [run.configFile, run.metricsFile, run.lockFile, run.checkpointDir, run.modelFile].map((f) => path.relative(run.dir, f)),
      ['config.json', 'metrics.jsonl', 'lock', 'checkpoint', path.join('model', 'model.json')],
    );
  });

  it('completed() is the run_end of a completed run only (a stopped or unfinished one is resumed, not skipped)', () => {
    const run = new RunDirectory(path.join(tmp(), 'r'));
    fs.mkdirSync(run.dir);
    assert.equal(run.completed(), undefined, 'no log');
    const write = (...events: RunEvent[]) => fs.writeFileSync(run.metricsFile, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
    write(start, train);
    assert.equal(run.completed(), undefined, 'unfinished');
    write(start, train, end('stopped'));
    assert.equal(run.completed(), undefined, 'stopped');
    write(start, train, end('completed'));
    assert.deepEqual(run.completed(), end('completed'));
  });

  it('MetricsLog appends each event as one JSON line and keeps the TensorBoard file beside it', () => {
    const run = new RunDirectory(tmp());
    const log = new MetricsLog(run);
    for (const event of [start, train, end('completed')]) log.record(event);
    const lines = fs.readFileSync(run.metricsFile, 'utf8').split('\n').filter(Boolean);
    assert.deepEqual(
      lines.map((l) => JSON.parse(l)),
      [start, train, end('completed')],
    );
    assert.deepEqual(run.readEvents(), [start, train, end('completed')]);
    const [events] = tensorBoardFiles(run.dir);
    assert.ok(events && fs.statSync(events).size > 0, 'an events.out.tfevents file with records');
  });

  it('runSplit: the first trainLimit images, a validation split held out of their end, and the mean of what is trained on', () => {
    const data = loadCifar10(bundledDataDir());
    const plain = runSplit(data, { trainLimit: 1000, testLimit: 200, validationImages: 0, batchSize: 16 });
    assert.equal(plain.train.count, 1000);
    assert.equal(plain.evaluation.count, 200);
    assert.deepEqual(plain.evaluation.labels, data.test.labels.subarray(0, 200));
    const held = runSplit(data, { trainLimit: 1000, validationImages: 100, batchSize: 16 });
    assert.equal(held.train.count, 900);
    assert.deepEqual(held.evaluation.labels, data.train.labels.subarray(900, 1000), 'the last 100 of the first 1000');
    // The mean is of the 900 trained on, computed here independently for the green value of pixel 500
    // (records are planar RGB bytes; the mean is NHWC in the [0, 1] scale).
    let sum = 0;
    for (let i = 0; i < 900; i++) sum += data.train.pixels[i * 3072 + 1024 + 500];
    const expected = sum / 900 / 255;
    assert.ok(Math.abs(held.mean[500 * 3 + 1] - expected) < 1e-6, `${held.mean[500 * 3 + 1]} vs ${expected}`);
    assert.throws(
      () => runSplit(data, { trainLimit: 100, validationImages: 90, batchSize: 16 }),
      /a validation split of 90 leaves too few training images \(10\)/,
    );
  });
});
