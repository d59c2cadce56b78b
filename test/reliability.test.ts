import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { bundledDataDir, loadCifar10 } from '../src/data/cifar';
import { writeBatch } from '../src/data/preprocess';
import { writeReport } from '../src/experiments/report';
import { readRunEvents, RunDirectory, runSplit } from '../src/runs';
import { configFromPreset } from '../src/train/config';
import { TrainingSession } from '../src/train/session';

/**
 * What a careful user and an attacker tried (issue 25), each one a regression test: settings that
 * were silently ignored, checkpoint state that was trusted, unbounded sizes, files written through.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'reslab.js');
const tmp = (name = 'reslab-reliability-') => fs.mkdtempSync(path.join(os.tmpdir(), name));

function reslab(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `reslab train resnet8` at a tiny scale into `out`. */
const TINY = [
  '--preset',
  'smoke',
  '--batch-size',
  '16',
  '--train-limit',
  '128',
  '--test-limit',
  '32',
  '--train-eval-images',
  '0',
  '--probe-every',
  '0',
];
const train = (out: string, ...flags: string[]) => reslab(['train', 'resnet8', ...TINY, '--out', out, ...flags]);
const lastLine = (text: string) => text.trim().split('\n').pop() ?? '';

describe('reliability: what was silently wrong', function () {
  this.timeout(300_000);
  const data = loadCifar10(bundledDataDir());

  it('--augment off means off: the batches are the images as they are (no crop, no flip), and training differs from on', () => {
    const session = new TrainingSession(configFromPreset('resnet8', 'smoke', { augment: false, iterations: 2 }), data);
    try {
      assert.equal(session.batches.augmentation, null);
      const batch = new Float32Array(64 * 3072);
      session.batches.write(0, batch, new Int32Array(64));
      const plain = new Float32Array(64 * 3072);
      const { train: images, mean } = runSplit(data, session.config);
      writeBatch(images, session.batches.indices(0), mean, plain);
      assert.deepEqual(batch, plain, 'batch 0 is its images, mean-subtracted, untouched');
    } finally {
      session.dispose();
    }
    const [on, off] = [tmp(), tmp()];
    assert.equal(train(on, '--iterations', '4', '--augment', 'on').status, 0);
    assert.equal(train(off, '--iterations', '4', '--augment', 'off').status, 0);
    const weights = (dir: string) => fs.readFileSync(path.join(dir, 'resnet8-w0.25-s0', 'model', 'weights.bin'));
    assert.ok(!weights(on).equals(weights(off)), 'augmentation changes what is learned');
    const refused = reslab(['train', 'resnet8', '--config', writeJson({ augment: 'off' })]);
    assert.equal(refused.status, 2);
    assert.match(lastLine(refused.stderr), /augment must be true or false, got "off"/);
  });

  it('a checkpoint is checked before it is trusted: a bad state.json or changed tensors.bin is refused and the log is not cut', () => {
    const out = tmp();
    assert.equal(train(out, '--iterations', '20', '--checkpoint-every', '10', '--log-every', '5').status, 0);
    const run = new RunDirectory(path.join(out, 'resnet8-w0.25-s0'));
    // Make it an unfinished run again, checkpointed at iteration 20.
    const lines = fs.readFileSync(run.metricsFile, 'utf8').split('\n').filter(Boolean);
    fs.writeFileSync(run.metricsFile, `${lines.slice(0, -1).join('\n')}\n`);
    const state = path.join(run.checkpointDir, 'state.json');
    const tensors = path.join(run.checkpointDir, 'tensors.bin');
    const good = { state: fs.readFileSync(state), tensors: fs.readFileSync(tensors), log: fs.readFileSync(run.metricsFile) };
    const attempts: Array<[string, () => void, RegExp]> = [
      [
        'metricsBytes missing',
        () => edit(state, (s) => delete s.metricsBytes),
        /state\.json: metricsBytes is not a count \(got undefined\)/,
      ],
      ['metricsBytes negative', () => edit(state, (s) => (s.metricsBytes = -5)), /metricsBytes is not a count \(got -5\)/],
      [
        'metricsBytes beyond the log',
        () => edit(state, (s) => (s.metricsBytes = 10 ** 7)),
        /recorded 10000000 bytes of .*metrics\.jsonl, which has \d+: they do not belong together/,
      ],
      ['iteration beyond the run', () => edit(state, (s) => (s.iteration = 1000)), /is at iteration 1000, beyond this run's 20/],
      ['not JSON', () => fs.writeFileSync(state, '{"iteration": '), /state\.json is not valid JSON/],
      [
        'random tensors of the right size',
        () => fs.writeFileSync(tensors, Buffer.from(good.tensors.map((_, i) => (i * 7919) % 256))),
        /tensors\.bin does not match the checksum in state\.json/,
      ],
    ];
    for (const [what, spoil, message] of attempts) {
      spoil();
      const resumed = train(out, '--iterations', '20', '--checkpoint-every', '10', '--log-every', '5');
      assert.equal(resumed.status, 1, `${what}: ${resumed.stderr}`);
      assert.match(lastLine(resumed.stderr), message, what);
      assert.match(lastLine(resumed.stderr), /Nothing was changed/, what);
      assert.ok(fs.readFileSync(run.metricsFile).equals(good.log), `${what}: metrics.jsonl untouched`);
      fs.writeFileSync(state, good.state);
      fs.writeFileSync(tensors, good.tensors);
    }
  });

  it('the checkpoint event follows the checkpoint: a kill between the two is mended on resume, every iteration once', () => {
    const out = tmp();
    assert.equal(train(out, '--iterations', '10', '--checkpoint-every', '10', '--log-every', '5').status, 0);
    const run = new RunDirectory(path.join(out, 'resnet8-w0.25-s0'));
    const lines = fs.readFileSync(run.metricsFile, 'utf8').split('\n').filter(Boolean);
    // The log as a kill right after the checkpoint was written leaves it: everything but the checkpoint event (and the end).
    const kept = lines.filter((l) => !/"type":"(checkpoint|run_end)"/.test(l));
    fs.writeFileSync(run.metricsFile, `${kept.join('\n')}\n`);
    fs.rmSync(run.modelDir, { recursive: true });
    const resumed = train(out, '--iterations', '10', '--checkpoint-every', '10', '--log-every', '5');
    assert.equal(resumed.status, 0, resumed.stderr);
    const events = readRunEvents(run.dir);
    assert.deepEqual(
      events.filter((e) => e.type === 'checkpoint').map((e) => e.iteration),
      [10],
    );
    assert.deepEqual(
      events.filter((e) => e.type === 'train').map((e) => e.iteration),
      [5, 10],
    );
  });

  it('resuming on other data is refused like a different config', () => {
    const out = tmp();
    assert.equal(train(out, '--iterations', '4', '--checkpoint-every', '2').status, 0);
    const run = path.join(out, 'resnet8-w0.25-s0');
    fs.rmSync(path.join(run, 'model'), { recursive: true });
    const lines = fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean);
    fs.writeFileSync(path.join(run, 'metrics.jsonl'), `${lines.slice(0, -1).join('\n')}\n`);
    // Other images: the bundled test batch as a training set.
    const other = tmp();
    fs.copyFileSync(path.join(bundledDataDir(), 'test.bin'), path.join(other, 'train.bin'));
    fs.copyFileSync(path.join(bundledDataDir(), 'test.bin'), path.join(other, 'test.bin'));
    const resumed = train(out, '--iterations', '4', '--checkpoint-every', '2', '--data-dir', other);
    assert.equal(resumed.status, 1, resumed.stderr);
    assert.match(
      lastLine(resumed.stderr),
      /was trained on other data \(it trained on 128 images with SHA-256 [0-9a-f]{12}…, these are 128 with [0-9a-f]{12}…\)/,
    );
  });
});

describe('reliability: sizes have bounds, settings have kinds', function () {
  this.timeout(120_000);

  for (const [flags, message] of [
    [
      ['--width', '1000'],
      /this run needs about [\d.]+ GB \(activations of \d+ images: .*\), more than (this machine's [\d.]+ GB|RESLAB_MEMORY_GB)/,
    ],
    [['--width', '1e6'], /this run needs about [\d.e+]+ GB/],
    [
      ['--probe-every', '10', '--probe-images', '100000'],
      /a probe batch of 100000 images is more than the 128 training images the run has/,
    ],
    [['--iterations', '1e99'], /iterations must be at most 100,000,000, got 1e\+99/],
    [['--lr', '-1'], /learning rate must be a positive number, got -1/],
    [['--momentum', '2'], /momentum must be a number in \[0, 1\), got 2/],
  ] as Array<[string[], RegExp]>) {
    it(`${flags.join(' ')}: one line, exit 2, nothing created`, () => {
      const out = path.join(tmp(), 'runs');
      const result = train(out, ...flags);
      assert.equal(result.status, 2, result.stderr);
      assert.match(lastLine(result.stderr), message);
      assert.equal(fs.existsSync(out), false);
    });
  }

  it('--config files are checked field by field; the preset is chosen by --preset', () => {
    for (const [settings, message] of [
      [{ lrMilestones: 'abc' }, /lrMilestones must be increasing positive iterations, e\.g\. \[32000, 48000\], got "abc"/],
      [{ lr: [0.1] }, /learning rate must be a positive number, got \[0\.1\]/],
      [{ preset: 'nope' }, /the preset is chosen with --preset, not in the config file/],
    ] as Array<[object, RegExp]>) {
      const result = reslab(['train', 'resnet8', '--config', writeJson(settings)]);
      assert.equal(result.status, 2, JSON.stringify(settings));
      assert.match(lastLine(result.stderr), message);
    }
    assert.equal(reslab(['degradation', '--shard', '3/2']).status, 2);
  });

  it('train --help lines up every preset column', () => {
    const all = reslab(['train', '--help']).stdout.split('\n');
    const help = all.slice(all.findIndex((l) => l.startsWith('presets (--preset')));
    const header = help.find((l) => /^\s+paper\s+cpu\s+demo\s+smoke$/.test(l)) as string;
    const columns = ['paper', 'cpu', 'demo', 'smoke'].map((name) => header.indexOf(name));
    for (const line of help.filter((l) => /^ {2}--(warmup|lr-milestones|train-limit)/.test(l))) {
      const starts = [...line.matchAll(/ {2}(\S)/g)].map((m) => (m.index ?? 0) + 2).slice(1);
      assert.deepEqual(starts, columns, line);
    }
  });
});

describe('reliability: files', function () {
  this.timeout(300_000);

  it('a read-only --out is named before any data loads (as another user)', function () {
    const dir = tmp();
    fs.chmodSync(dir, 0o555);
    const asNobody = process.getuid?.() === 0 ? spawnSync('su', ['nobody', '-s', '/bin/sh', '-c', 'true']).status === 0 : false;
    if (!asNobody) this.skip(); // root sees every directory as writable; the check needs another user to mean anything
    // nobody must be able to run this checkout's CLI (a clone inside a 0700 directory, as `mktemp -d` makes, is not).
    if (spawnSync('su', ['nobody', '-s', '/bin/sh', '-c', `test -r ${CLI}`]).status !== 0) {
      console.log(`      (skipped: user nobody cannot read ${CLI})`);
      this.skip();
    }
    const r = spawnSync(
      'su',
      ['nobody', '-s', '/bin/sh', '-c', `${process.execPath} ${CLI} train resnet8 --preset smoke --out ${dir}/runs`],
      { encoding: 'utf8', cwd: '/' },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      lastLine(r.stderr),
      new RegExp(`--out ${dir}/runs cannot be written: ${dir} is not writable \\(EACCES\\); choose another directory`),
    );
    assert.doesNotMatch(r.stderr, /training resnet8/);
  });

  it('a report is written all at once: an old file of another report is gone, a link planted in --out is not written through, a file --out is named', () => {
    const runs = tmp();
    assert.equal(train(runs, '--iterations', '2').status, 0);
    const out = path.join(tmp(), 'report');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'responses.csv'), 'run,of,another,report\n');
    const target = path.join(tmp(), 'precious.txt');
    fs.writeFileSync(target, 'keep me');
    fs.symlinkSync(target, path.join(out, 'index.html'));
    writeReport(runs, out);
    assert.equal(fs.readFileSync(target, 'utf8'), 'keep me', 'the link target is untouched');
    assert.ok(!fs.lstatSync(path.join(out, 'index.html')).isSymbolicLink());
    assert.equal(fs.existsSync(path.join(out, 'responses.csv')), false, "the other report's file is gone (these runs have no probes)");
    assert.deepEqual(fs.readdirSync(path.dirname(out)), ['report'], 'no temporary directory left');
    const file = path.join(tmp(), 'a-file');
    fs.writeFileSync(file, '');
    assert.throws(() => writeReport(runs, file), /--out .*a-file is a file, not a directory/);
    const onFile = reslab(['report', target]);
    assert.equal(onFile.status, 1);
    assert.match(lastLine(onFile.stderr), /runs directory .*precious\.txt is a file, not a directory of runs/);
  });

  it('a report judges finished runs only and names the unfinished ones', () => {
    const runs = tmp();
    assert.equal(reslab(['degradation', ...TINY, '--depths', '8', '--iterations', '2', '--out', runs]).status, 0);
    const plain = path.join(runs, 'plain8-w0.25-s0', 'metrics.jsonl');
    const lines = fs.readFileSync(plain, 'utf8').split('\n').filter(Boolean);
    fs.writeFileSync(plain, `${lines.slice(0, -1).join('\n')}\n`);
    const report = reslab(['report', runs, '--out', path.join(runs, 'report')]);
    assert.equal(report.status, 0, report.stderr);
    assert.match(report.stdout, /1 run\(s\) not finished and not judged: plain8-w0\.25-s0 \(iteration 2 of 2, still training\)/);
    const summary = JSON.parse(fs.readFileSync(path.join(runs, 'report', 'summary.json'), 'utf8'));
    assert.deepEqual(summary.unfinished, ['plain8-w0.25-s0']);
    assert.ok(
      summary.claims.every((c: { verdict: string }) => c.verdict === 'not tested'),
      'one finished net: nothing to compare',
    );
  });

  it('a full disk while appending the log names the file and leaves no torn line', async function () {
    const mount = tmp('reslab-log-full-');
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8k', 'tmpfs', mount]).status !== 0) this.skip(); // needs root with mount rights (CI has them)
    try {
      const { MetricsLog } = await import('../src/runs');
      const run = new RunDirectory(mount);
      const log = new MetricsLog(run);
      const big = {
        runId: 'r',
        time: 1,
        type: 'run_end' as const,
        iteration: 1,
        status: 'failed' as const,
        wallSeconds: 1,
        message: 'x'.repeat(3000),
      };
      let error: Error | undefined;
      for (let i = 0; i < 10 && !error; i++) {
        try {
          log.record(big);
        } catch (e) {
          error = e as Error;
        }
      }
      assert.ok(error, 'the tmpfs filled up');
      assert.match(
        error.message,
        new RegExp(`cannot append to ${mount}/metrics\\.jsonl \\(ENOSPC: the disk is full\\); the log is kept as it was before this event`),
      );
      assert.ok(fs.readFileSync(run.metricsFile, 'utf8').endsWith('}\n'), 'every line whole');
    } finally {
      spawnSync('umount', [mount]);
    }
  });
});

function writeJson(value: object): string {
  const file = path.join(tmp(), 'config.json');
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
}

function edit(file: string, change: (state: Record<string, unknown>) => unknown): void {
  const state = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  change(state);
  fs.writeFileSync(file, JSON.stringify(state));
}
