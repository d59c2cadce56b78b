import { strict as assert } from 'assert';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { bundledDataDir, loadCifar10 } from '../src/data/cifar';
import { RunEvent, TrainEvent, parseMetricsJsonl } from 'reslab-protocol';
import { configFromPreset, learningRate, runIdOf, TrainConfig, variantOf } from '../src/train/config';
import { netLabel } from 'reslab-protocol';
import { DivergenceError, Trainer } from '../src/train/trainer';
import { hasCheckpoint, loadCheckpoint } from '../src/train/checkpoint';
import { loadRuns, readRunEvents, RunDirectory } from '../src/runs';
import { nativeOps } from '../src/native/ops';
import { TensorBoardLog, tensorBoardFiles } from '../src/tensorboard/run-log';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'reslab.js');
const data = loadCifar10(bundledDataDir());

/** A CIFAR net small enough for tests: ResNet-8 at quarter width on 256 real images. */
function tinyConfig(overrides: Partial<TrainConfig> = {}): TrainConfig {
  return configFromPreset('resnet8', 'demo', {
    modelOptions: { width: 0.25 },
    iterations: 30,
    batchSize: 16,
    logEvery: 5,
    evalEvery: 10,
    checkpointEvery: 10,
    probeEvery: 0,
    trainLimit: 256,
    testLimit: 64,
    trainEvalImages: 64,
    ...overrides,
  });
}

const TINY_FLAGS = [
  '--preset',
  'demo',
  '--width',
  '0.25',
  '--batch-size',
  '16',
  '--log-every',
  '5',
  '--eval-every',
  '10',
  '--checkpoint-every',
  '10',
  '--train-limit',
  '256',
  '--test-limit',
  '64',
  '--quiet',
];

/** Every value in the run's kept checkpoint (weights, BN statistics, velocities) is finite. */
function assertFiniteCheckpoint(runDir: string): void {
  if (!hasCheckpoint(new RunDirectory(runDir))) return;
  const state = JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoint', 'state.json'), 'utf8')) as {
    tensors: Array<{ name: string; shape: number[] }>;
  };
  const { values } = loadCheckpoint(new RunDirectory(runDir), state.tensors);
  values.forEach((v, i) => assert.ok(v.every(Number.isFinite), `${state.tensors[i].name} holds non-finite values`));
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-train-'));
}

function trainLosses(events: RunEvent[]): Array<[number, number]> {
  return events.filter((e): e is TrainEvent => e.type === 'train').map((e) => [e.iteration, e.loss]);
}

function startCli(args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, 'train', 'resnet8', ...TINY_FLAGS, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
}

/** Resolves once metrics.jsonl holds a checkpoint event at or after `iteration`. */
async function waitForCheckpoint(runDir: string, iteration: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const file = path.join(runDir, 'metrics.jsonl');
    if (fs.existsSync(file)) {
      const events = parseMetricsJsonl(fs.readFileSync(file, 'utf8'));
      if (events.some((e) => e.type === 'checkpoint' && e.iteration >= iteration)) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no checkpoint at iteration ${iteration} in ${runDir} within ${timeoutMs} ms`);
}

describe('trainer', function () {
  this.timeout(180_000);

  it('emits one event stream, the same on disk (metrics.jsonl) as to listeners', async () => {
    const runDir = path.join(tmpDir(), 'run');
    const trainer = new Trainer(tinyConfig(), data, { runDir });
    const received: RunEvent[] = [];
    trainer.on((e) => received.push(e));
    const end = await trainer.run();
    assert.equal(end.status, 'completed');
    assert.deepEqual(readRunEvents(runDir), received);
    const kinds = received.map((e) => `${e.type}@${'iteration' in e ? e.iteration : ''}`);
    assert.deepEqual(
      kinds.filter((k) => k.startsWith('eval')),
      ['eval@0', 'eval@10', 'eval@20', 'eval@30'],
    );
    assert.deepEqual(
      kinds.filter((k) => k.startsWith('train')),
      [5, 10, 15, 20, 25, 30].map((i) => `train@${i}`),
    );
    assert.deepEqual(
      kinds.filter((k) => k.startsWith('checkpoint')),
      ['checkpoint@10', 'checkpoint@20', 'checkpoint@30'],
    );
    assert.equal(kinds[0], 'run_start@0');
    assert.equal(kinds[kinds.length - 1], 'run_end@30');
    const start = received[0];
    assert.ok(start.type === 'run_start');
    assert.equal(start.run.depth, 8);
    assert.equal(start.run.family, 'resnet');
    // Where this process runs oneDNN's kernels by name (x86 CPU builds), the run says so; elsewhere standard kernels.
    assert.equal(start.engine, nativeOps()?.oneDnn ? 'native step (oneDNN kernels)' : 'native step');
    for (const e of received) if (e.type === 'train') assert.ok(e.trainError >= 0 && e.trainError <= 1 && e.loss > 0 && e.lr === 0.1);
    assert.ok(fs.existsSync(path.join(runDir, 'model', 'model.json')), 'the trained model is saved');
  });

  it('runs the block-wise probes on schedule and puts them into the event stream', async () => {
    const trainer = new Trainer(tinyConfig({ iterations: 20, probeEvery: 10, probeImages: 16 }), data);
    const probes: RunEvent[] = [];
    trainer.on((e) => e.type === 'probe' && probes.push(e));
    await trainer.run();
    assert.deepEqual(
      probes.map((e) => (e as { iteration: number }).iteration),
      [0, 10, 20],
    );
    for (const e of probes) {
      assert.ok(e.type === 'probe');
      assert.deepEqual(
        e.blocks.map((b) => b.block),
        ['stage1_block1', 'stage2_block1', 'stage3_block1'],
      );
      assert.ok(e.blocks.every((b) => b.responseStd.length === 2 && b.gradNorm > 0 && b.inputNorm > 0));
    }
  });

  it('is deterministic for a given seed, and learns (loss falls on real images)', async () => {
    const config = tinyConfig({ iterations: 100, evalEvery: 100, checkpointEvery: 100 });
    const runs = await Promise.all(
      [0, 1].map(async () => {
        const trainer = new Trainer(config, data);
        const events: RunEvent[] = [];
        trainer.on((e) => events.push(e));
        await trainer.run();
        return trainLosses(events);
      }),
    );
    assert.deepEqual(runs[0], runs[1]);
    // Logged every 5 iterations, each the mean over its window; compare the first and last four windows.
    const losses = runs[0].map(([, loss]) => loss);
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    assert.ok(mean(losses.slice(-4)) < mean(losses.slice(0, 4)) - 0.15, `losses ${losses.map((l) => l.toFixed(3)).join(' ')}`);
  });

  it('does not leak tensors: the count stays flat over 1,000 steps', async () => {
    const counts = new Map<number, number>();
    const settings = { batchSize: 8, logEvery: 50, evalEvery: 250, checkpointEvery: 1000, testLimit: 16, trainEvalImages: 16 };
    // A short run first: the native ops keep one small constant per distinct shape (conv input
    // sizes, paddings) for the life of the process; those are not leaks.
    await new Trainer(tinyConfig({ ...settings, iterations: 2, evalEvery: 2 }), data).run();
    const trainer = new Trainer(tinyConfig({ ...settings, iterations: 1000 }), data, {
      onStep: (p) => counts.set(p.iteration, tf.memory().numTensors),
    });
    const before = tf.memory().numTensors;
    await trainer.run();
    assert.equal(counts.get(10), counts.get(1000), `tensors at step 10: ${counts.get(10)}, at step 1000: ${counts.get(1000)}`);
    assert.equal(counts.get(300), counts.get(1000));
    assert.ok(tf.memory().numTensors - before < 5, `tensors left after the run: ${tf.memory().numTensors - before}`);
  });

  it('a NaN/Inf loss stops the run with a clear error and keeps the last good checkpoint', async () => {
    const runDir = path.join(tmpDir(), 'run');
    const trainer = new Trainer(tinyConfig({ lr: 1e30, iterations: 20, checkpointEvery: 1 }), data, { runDir });
    await assert.rejects(trainer.run(), (error: Error) => {
      assert.ok(error instanceof DivergenceError);
      assert.match(
        error.message,
        /the loss became (NaN|Infinity|-Infinity) at iteration \d+ \(lr 1e\+30\): training diverged\. The last good checkpoint/,
      );
      return true;
    });
    const events = readRunEvents(runDir);
    const end = events[events.length - 1];
    assert.ok(end.type === 'run_end' && end.status === 'failed');
    const state = JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoint', 'state.json'), 'utf8'));
    assert.ok(state.iteration <= end.iteration, 'the checkpoint is at or before the failure');
    assertFiniteCheckpoint(runDir);
    assert.ok(events.filter((e) => e.type === 'train').length === 0 || events.every((e) => e.type !== 'train' || Number.isFinite(e.loss)));
  });

  it('a checkpoint is only written when weights, BN statistics and velocities are finite (a finite loss is not enough)', async () => {
    // The reported case: lr 1e4 makes BN running variances NaN while the loss is still finite.
    const runDir = path.join(tmpDir(), 'run');
    const config = tinyConfig({
      lr: 1e4,
      iterations: 40,
      logEvery: 1,
      checkpointEvery: 3,
      evalEvery: 40,
      testLimit: 200,
      trainLimit: undefined,
      batchSize: 128,
    });
    await assert.rejects(new Trainer(config, data, { runDir }).run(), (error: Error) => {
      assert.ok(error instanceof DivergenceError, String(error));
      assert.match(
        error.message,
        /(non-finite values in \d+ tensors \(.+\) at iteration \d+ .*found before (writing a checkpoint|evaluating)|the loss became)/,
      );
      return true;
    });
    const events = readRunEvents(runDir);
    const end = events[events.length - 1];
    assert.ok(end.type === 'run_end' && end.status === 'failed', JSON.stringify(end));
    assertFiniteCheckpoint(runDir);
    // No evaluation ever reported a number computed from non-finite statistics.
    assert.ok(events.every((e) => e.type !== 'eval' || (Number.isFinite(e.testError) && e.iteration <= end.iteration)));
  });

  it('two processes on one run: the second says who holds it and exits non-zero; the log stays single', async () => {
    const out = tmpDir();
    const first = startCli(['--iterations', '30', '--out', out]);
    const firstExit = exited(first);
    const runDir = path.join(out, 'resnet8-w0.25-s0');
    const deadline = Date.now() + 60_000;
    while (!fs.existsSync(path.join(runDir, 'lock')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    // Stopped (SIGSTOP), the first process holds the lock for as long as the second needs, on any CPU.
    first.kill('SIGSTOP');
    let second: Awaited<ReturnType<typeof exited>>;
    try {
      assert.ok(fs.existsSync(path.join(runDir, 'lock')), 'the first process holds the lock');
      const log = path.join(runDir, 'metrics.jsonl');
      assert.ok(!fs.existsSync(log) || !readRunEvents(runDir).some((e) => e.type === 'run_end'), 'the first run has not finished');
      second = await exited(startCli(['--iterations', '30', '--out', out]));
    } finally {
      first.kill('SIGCONT');
    }
    assert.equal(second.code, 1, second.stderr);
    assert.match(
      second.stderr,
      new RegExp(`is being trained by process ${first.pid} on .* wait for it to finish, or delete .*lock if that process is gone`),
    );
    assert.equal((await firstExit).code, 0);
    const events = readRunEvents(runDir);
    const iterations = events.filter((e) => e.type === 'train').map((e) => (e as TrainEvent).iteration);
    assert.deepEqual(iterations, [5, 10, 15, 20, 25, 30]);
    assert.equal(events.filter((e) => e.type === 'run_end').length, 1);
    assert.equal(fs.existsSync(path.join(runDir, 'lock')), false, 'the lock is released at the end');
    // Training the finished run again says so and appends nothing.
    const size = fs.statSync(path.join(runDir, 'metrics.jsonl')).size;
    const again = await exited(startCli(['--iterations', '30', '--out', out]));
    assert.equal(again.code, 0);
    assert.match(again.stderr, /is already finished \(iteration 30\); nothing to do/);
    assert.equal(fs.statSync(path.join(runDir, 'metrics.jsonl')).size, size);
  });

  it('a report refuses a log that two processes wrote (repeated iterations, two ends)', () => {
    const runs = tmpDir();
    const runDir = path.join(runs, 'r');
    fs.mkdirSync(runDir);
    const start = {
      runId: 'r',
      time: 0,
      type: 'run_start',
      schema: 1,
      iteration: 0,
      backend: 'cpu',
      run: {
        model: 'resnet8',
        family: 'resnet',
        depth: 8,
        width: 0.25,
        shortcut: 'A',
        seed: 0,
        iterations: 10,
        batchSize: 16,
        params: 1,
        preset: 'demo',
      },
    };
    const train = (iteration: number) => ({
      runId: 'r',
      time: 0,
      type: 'train',
      iteration,
      trainError: 0.5,
      loss: 1,
      lr: 0.1,
      window: 5,
      imagesPerSecond: 1,
    });
    const lines = [start, train(5), train(10), start, train(5), train(10)].map((e) => JSON.stringify(e)).join('\n');
    fs.writeFileSync(path.join(runDir, 'metrics.jsonl'), `${lines}\n`);
    assert.throws(
      () => loadRuns(runs),
      /metrics\.jsonl: train events at iteration 10 then 5: the log repeats or goes back \(two processes wrote this run\?\)/,
    );
  });

  it('a full disk during a checkpoint names the file, removes the half-written directory and keeps the previous checkpoint', async function () {
    // A 96 KiB tmpfs: room for one checkpoint of ResNet-8 at quarter width (~45 KB) but not for a second beside it.
    const mount = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-full-'));
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=96k', 'tmpfs', mount]);
    if (mounted.status !== 0) this.skip(); // needs root with mount rights (CI and the dev machines have them)
    try {
      const runDir = path.join(mount, 'run');
      const trainer = new Trainer(tinyConfig({ iterations: 30, checkpointEvery: 10, evalEvery: 30, logEvery: 10 }), data, { runDir });
      await assert.rejects(trainer.run(), (error: Error) => {
        assert.match(
          error.message,
          /cannot write the checkpoint .*checkpoint\.tmp \(ENOSPC: the disk is full\): .*; the previous checkpoint in .*checkpoint is kept/,
        );
        return true;
      });
      assert.equal(fs.existsSync(path.join(runDir, 'checkpoint.tmp')), false, 'no half-written checkpoint left behind');
      assert.ok(hasCheckpoint(new RunDirectory(runDir)), 'the previous checkpoint is still there');
      assertFiniteCheckpoint(runDir);
      assert.equal(fs.existsSync(path.join(runDir, 'lock')), false, 'the lock is released');
    } finally {
      spawnSync('umount', [mount]);
    }
  });

  it('a checkpoint swap cut short by a kill is finished on the next start (no checkpoint.old left behind)', async () => {
    const runDir = path.join(tmpDir(), 'run');
    await new Trainer(tinyConfig({ iterations: 10 }), data, { runDir }).run();
    // As if killed between the two renames of the swap: only checkpoint.old holds the state.
    fs.renameSync(path.join(runDir, 'checkpoint'), path.join(runDir, 'checkpoint.old'));
    fs.mkdirSync(path.join(runDir, 'checkpoint.tmp'));
    const end = await new Trainer(tinyConfig({ iterations: 10 }), data, { runDir }).run();
    assert.equal(end.status, 'completed');
    assert.deepEqual(
      fs
        .readdirSync(runDir)
        .filter((f) => f.startsWith('checkpoint'))
        .sort(),
      ['checkpoint'],
    );
  });

  it('refuses to mix two configs in one run directory', async () => {
    const runDir = path.join(tmpDir(), 'run');
    await new Trainer(tinyConfig({ iterations: 5 }), data, { runDir }).run();
    await assert.rejects(new Trainer(tinyConfig({ iterations: 6 }), data, { runDir }).run(), /already holds a run with a different config/);
  });

  it('SIGKILL mid-training, then --resume (same command): finishes with every metric line exactly once, as an uninterrupted run', async () => {
    const out = tmpDir();
    // Log every 5, checkpoint every 10, evaluate every 10: see the next test for intervals that are not multiples.
    const args = ['--iterations', '200', '--out', out];
    const runDir = path.join(out, 'resnet8-w0.25-s0');
    const first = startCli(args);
    const firstExit = exited(first);
    await waitForCheckpoint(runDir, 30);
    first.kill('SIGKILL');
    assert.equal((await firstExit).signal, 'SIGKILL');
    const killedAt = readRunEvents(runDir).filter((e) => e.type === 'train').length;
    assert.ok(killedAt < 40, 'killed before the end');

    const second = await exited(startCli(args));
    assert.equal(second.code, 0, second.stderr);
    const events = readRunEvents(runDir);
    const trainIterations = events.filter((e) => e.type === 'train').map((e) => (e as TrainEvent).iteration);
    assert.deepEqual(
      trainIterations,
      Array.from({ length: 40 }, (_, i) => 5 * (i + 1)),
      'no duplicated or missing train lines',
    );
    const evalIterations = events.filter((e) => e.type === 'eval').map((e) => (e as { iteration: number }).iteration);
    assert.deepEqual(
      evalIterations,
      Array.from({ length: 21 }, (_, i) => 10 * i),
    );
    const end = events[events.length - 1];
    assert.ok(end.type === 'run_end' && end.status === 'completed' && end.iteration === 200);
    assert.equal(events.filter((e) => e.type === 'run_start').length, 2, 'the resume is marked by a second run_start');
    // The TensorBoard log was rebuilt at the resume: the same bytes as one made from the final metrics.jsonl.
    const [live] = tensorBoardFiles(runDir);
    const rebuilt = TensorBoardLog.fromRunDir(runDir, tmpDir());
    assert.ok(fs.readFileSync(live).equals(fs.readFileSync(rebuilt.file)), 'TensorBoard log holds every step exactly once');

    // The same run without interruption computes the same numbers.
    const reference = tmpDir();
    const straight = await exited(
      spawn(process.execPath, [CLI, 'train', 'resnet8', ...TINY_FLAGS, '--iterations', '200', '--out', reference], { cwd: ROOT }),
    );
    assert.equal(straight.code, 0);
    const expected = trainLosses(readRunEvents(path.join(reference, 'resnet8-w0.25-s0')));
    const actual = trainLosses(events);
    assert.equal(actual.length, expected.length);
    actual.forEach(([iteration, loss], i) => {
      assert.equal(iteration, expected[i][0]);
      assert.ok(Math.abs(loss - expected[i][1]) < 1e-4, `iteration ${iteration}: ${loss} vs ${expected[i][1]}`);
    });
  });

  it('resume is exact for every logged figure when the log and checkpoint intervals are not multiples (the running-error window is checkpointed)', async () => {
    const flags = ['--iterations', '60', '--log-every', '7', '--checkpoint-every', '10', '--eval-every', '9'];
    const out = tmpDir();
    const runDir = path.join(out, 'resnet8-w0.25-s0');
    const first = startCli([...flags, '--out', out]);
    const firstExit = exited(first);
    await waitForCheckpoint(runDir, 30);
    first.kill('SIGKILL');
    assert.equal((await firstExit).signal, 'SIGKILL');
    const second = await exited(startCli([...flags, '--out', out]));
    assert.equal(second.code, 0, second.stderr);
    const reference = tmpDir();
    assert.equal((await exited(startCli([...flags, '--out', reference]))).code, 0);
    const figures = (dir: string) =>
      readRunEvents(path.join(dir, 'resnet8-w0.25-s0')).flatMap((e) =>
        e.type === 'train'
          ? [`train ${e.iteration} window ${e.window} error ${e.trainError} loss ${e.loss.toFixed(4)} lr ${e.lr}`]
          : e.type === 'eval'
            ? [`eval ${e.iteration} ${e.testError} ${e.trainEvalError}`]
            : [],
      );
    assert.deepEqual(figures(out), figures(reference));
  });

  it('SIGINT stops gracefully after writing a checkpoint; the next run resumes from it', async () => {
    const out = tmpDir();
    const args = ['--iterations', '400', '--checkpoint-every', '100', '--out', out];
    const runDir = path.join(out, 'resnet8-w0.25-s0');
    const child = startCli(args);
    const exit = exited(child);
    // Wait until training is under way, then interrupt between checkpoints.
    while (readRunEvents(runDir).filter((e) => e.type === 'train').length < 3) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    const { code, stderr } = await exit;
    assert.equal(code, 130, stderr);
    assert.match(stderr, /SIGINT received, stopping after this step and writing a checkpoint/);
    const events = readRunEvents(runDir);
    const end = events[events.length - 1];
    assert.ok(end.type === 'run_end' && end.status === 'stopped' && end.message === 'SIGINT');
    const state = JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoint', 'state.json'), 'utf8'));
    assert.equal(state.iteration, end.iteration);
    assert.ok(end.iteration > 0 && end.iteration < 400 && end.iteration % 100 !== 0, `stopped at ${end.iteration}`);
    const resumed = await exited(startCli(args));
    assert.equal(resumed.code, 0, resumed.stderr);
    const final = readRunEvents(runDir);
    const last = final[final.length - 1];
    assert.ok(last.type === 'run_end' && last.status === 'completed' && last.iteration === 400);
  });
});

describe('training config', () => {
  it('the paper preset is §4.2: batch 128, lr 0.1 divided by 10 at 32k and 48k, 64k iterations', () => {
    const config = configFromPreset('resnet56', 'paper');
    assert.equal(config.batchSize, 128);
    assert.equal(config.iterations, 64_000);
    assert.equal(config.momentum, 0.9);
    assert.equal(config.weightDecay, 1e-4);
    assert.equal(learningRate(config, 0, false), 0.1);
    assert.equal(learningRate(config, 31_999, false), 0.1);
    assert.ok(Math.abs(learningRate(config, 32_000, false) - 0.01) < 1e-12);
    assert.ok(Math.abs(learningRate(config, 48_000, false) - 0.001) < 1e-12);
    assert.equal(config.warmup, undefined);
  });

  it('ResNet-110 warms up at lr 0.01 until training error < 80%', () => {
    const config = configFromPreset('resnet110', 'paper');
    assert.deepEqual(config.warmup, { lr: 0.01, untilTrainError: 0.8 });
    assert.equal(learningRate(config, 100, true), 0.01);
    assert.equal(learningRate(config, 100, false), 0.1);
  });

  it('a variant of a net gets its own run id and says what differs from the paper in its label', () => {
    const runs = [
      configFromPreset('resnet110', 'cpu'),
      configFromPreset('resnet110', 'cpu', { warmup: undefined }),
      configFromPreset('resnet110', 'cpu', { warmup: { lr: 0.02, untilTrainError: 0.9 } }),
      configFromPreset('resnet110', 'cpu', { warmup: undefined, modelOptions: { zeroInitResidual: true } }),
      configFromPreset('resnet20', 'cpu', { modelOptions: { order: 'pre' } }),
      configFromPreset('resnet20', 'cpu', { modelOptions: { shortcut: 'B' } }),
    ];
    assert.deepEqual(runs.map(runIdOf), [
      'resnet110-w0.5-s0',
      'resnet110-nowarm-w0.5-s0',
      'resnet110-warm0.02to0.9-w0.5-s0',
      'resnet110-zero-nowarm-w0.5-s0',
      'resnet20-pre-w0.5-s0',
      'resnet20-B-w0.5-s0',
    ]);
    const labels = runs.map((c) =>
      netLabel({ family: 'resnet', depth: Number(c.model.slice(6)), shortcut: c.modelOptions.shortcut ?? 'A', variant: variantOf(c) }),
    );
    assert.deepEqual(labels, [
      'ResNet-110',
      'ResNet-110, no warm-up',
      'ResNet-110, warm-up at lr 0.02 until 90% error',
      'ResNet-110, zero-init residual, no warm-up',
      'ResNet-20, pre-activation',
      'ResNet-20 B',
    ]);
    assert.equal(
      runIdOf(configFromPreset('resnet20', 'cpu', { warmup: { lr: 0.01, untilTrainError: 0.8 } })),
      'resnet20-warm0.01to0.8-w0.5-s0',
    );
  });

  it('rejects bad settings with a clear message', () => {
    assert.throws(() => configFromPreset('resnet50', 'cpu'), /resnet50 is an ImageNet model/);
    assert.throws(() => configFromPreset('resnet20', 'cpu', { iterations: 0 }), /iterations must be a positive integer, got 0/);
    assert.throws(() => configFromPreset('resnet20', 'cpu', { lr: -1 }), /learning rate must be a positive number, got -1/);
    assert.throws(() => configFromPreset('resnet20', 'fast' as 'cpu'), /unknown preset 'fast'/);
  });
});

describe('determinism, as measured', function () {
  this.timeout(300_000);

  /** The run's events without what a clock measures (times, speeds, wall seconds). */
  const withoutClocks = (runDir: string) =>
    fs
      .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) =>
        JSON.stringify(JSON.parse(line, (key, value: unknown) => (/^(time|imagesPerSecond|wallSeconds)$/.test(key) ? undefined : value))),
      );

  it('the same seed on the same machine and library gives identical metrics, weights and checkpoint, in two processes', async () => {
    const train = async (seed: string) => {
      const out = tmpDir();
      const result = await exited(startCli(['--shortcut', 'B', '--iterations', '20', '--seed', seed, '--out', out]));
      assert.equal(result.code, 0, result.stderr);
      return path.join(out, `resnet8-B-w0.25-s${seed}`);
    };
    const [a, b, other] = [await train('0'), await train('0'), await train('1')];
    const bytes = (runDir: string, file: string) => fs.readFileSync(path.join(runDir, file));
    assert.deepEqual(withoutClocks(a), withoutClocks(b));
    assert.ok(
      withoutClocks(a).some((line) => /"type":"train".*"loss":\d/.test(line)),
      'the comparison includes losses',
    );
    for (const file of ['model/weights.bin', 'checkpoint/tensors.bin']) {
      assert.ok(bytes(a, file).equals(bytes(b, file)), `${file} differs between two runs of seed 0`);
      assert.ok(!bytes(a, file).equals(bytes(other, file)), `${file} is the same for seeds 0 and 1`);
    }
  });
});
