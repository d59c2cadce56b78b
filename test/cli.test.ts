import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const CLI = path.resolve(__dirname, '..', '..', 'bin', 'reslab.js');

function reslab(...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('reslab CLI', function () {
  this.timeout(60_000);

  it('summary --json prints one JSON object with model, params and flops', () => {
    const { status, stdout, stderr } = reslab('summary', 'resnet56', '--json');
    assert.equal(status, 0, stderr);
    const summary = JSON.parse(stdout);
    assert.equal(summary.model, 'resnet56');
    assert.equal(summary.params, 853_018);
    assert.equal(summary.flops, summarizeFlopsResnet56());
    assert.match(stderr, /backend: native TensorFlow on the CPU/);
  });

  it('summary prints a table per stage with totals, and honours --shortcut', () => {
    const { status, stdout } = reslab('summary', 'resnet20', '--shortcut', 'B');
    assert.equal(status, 0);
    assert.match(stdout, /^resnet20: input 32x32x3, 272,474 parameters/);
    assert.match(stdout, /stage3\s+8x8x64/);
    assert.match(stdout, /total\s+272,474/);
  });

  it('bad input exits non-zero with a clear message', () => {
    const depth = reslab('summary', 'plain21');
    assert.equal(depth.status, 1);
    assert.match(depth.stderr, /depth must be 6n\+2/);
    const shortcut = reslab('summary', 'resnet20', '--shortcut', 'Z');
    assert.match(shortcut.stderr, /unknown shortcut option 'Z'/);
    const flag = reslab('summary', 'resnet20', '--depth', '3');
    assert.equal(flag.status, 2);
    assert.match(flag.stderr, /Unknown option '--depth'/);
    const command = reslab('trian');
    assert.equal(command.status, 2);
    assert.match(command.stderr, /unknown command 'trian'/);
  });

  it('--help and -h on every command print its usage, flags and (train, degradation) every preset default; exit 0', () => {
    for (const command of ['summary', 'train', 'degradation', 'report', 'responses']) {
      for (const flag of ['--help', '-h']) {
        const { status, stdout, stderr } = reslab(command, flag);
        assert.equal(status, 0, stderr);
        assert.match(stdout, new RegExp(`^usage: reslab ${command} `));
        assert.match(stdout, /--help, -h/);
      }
    }
    const train = reslab('train', '--help').stdout;
    assert.match(train, /--lr-milestones\s+32000,48000\s+none\s+none\s+none/);
    assert.match(train, /depths\s+20,32,44,56,110\s+20,56\s+8,44/);
  });

  it('train --config file.json: its settings apply, flags win, the resolved config is printed; unknown settings exit 2', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-config-'));
    const file = path.join(dir, 'settings.json');
    fs.writeFileSync(file, JSON.stringify({ lr: 0.05, iterations: 3, modelOptions: { width: 0.25 } }));
    const { status, stderr } = reslab(
      'train',
      'resnet8',
      '--preset',
      'smoke',
      '--config',
      file,
      '--iterations',
      '2',
      '--out',
      path.join(dir, 'runs'),
    );
    assert.equal(status, 0, stderr);
    const printed = JSON.parse(/config: (\{.*\})/.exec(stderr)?.[1] ?? '{}');
    assert.deepEqual([printed.lr, printed.iterations, printed.modelOptions.width, printed.batchSize], [0.05, 2, 0.25, 64]);
    const saved = JSON.parse(fs.readFileSync(path.join(dir, 'runs', 'resnet8-w0.25-s0', 'config.json'), 'utf8'));
    assert.deepEqual(saved, printed, 'the printed config is the one the run saved');
    fs.writeFileSync(file, JSON.stringify({ lr: 0.05, learningRate: 1 }));
    const bad = reslab('train', 'resnet8', '--config', file, '--out', path.join(dir, 'bad'));
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--config .*settings\.json: unknown setting\(s\) learningRate; known: augment, batchSize/);
  });

  it('train --probe-images, --augment and --warmup reach the resolved config; bad values are one line and exit 2', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-flags-'));
    const run = (...flags: string[]) =>
      reslab(
        'train',
        'resnet110',
        '--preset',
        'smoke',
        '--iterations',
        '1',
        '--train-limit',
        '256',
        '--test-limit',
        '64',
        '--train-eval-images',
        '0',
        '--probe-every',
        '0',
        '--out',
        path.join(dir, flags.join('_').replace(/[^\w.]/g, '_')),
        ...flags,
      );
    const config = (stderr: string) => JSON.parse(/config: (\{.*\})/.exec(stderr)?.[1] ?? '{}');
    const defaults = run();
    assert.equal(defaults.status, 0, defaults.stderr);
    assert.deepEqual(config(defaults.stderr).warmup, { lr: 0.01, untilTrainError: 0.8 }, "the paper's warm-up for ResNet-110");
    const set = run('--probe-images', '16', '--augment', 'off', '--warmup', '0.02:0.7');
    assert.equal(set.status, 0, set.stderr);
    const resolved = config(set.stderr);
    assert.deepEqual([resolved.probeImages, resolved.augment, resolved.warmup], [16, false, { lr: 0.02, untilTrainError: 0.7 }]);
    const none = run('--warmup', 'none');
    assert.equal(none.status, 0, none.stderr);
    assert.equal(config(none.stderr).warmup, undefined);
    for (const [flags, message] of [
      [['--warmup', '3'], /--warmup expects none or LR:ERROR/],
      [['--augment', 'yes'], /--augment expects on .* or off, got 'yes'/],
      [['--probe-images', '0'], /probeImages must be a positive integer, got 0/],
    ] as Array<[string[], RegExp]>) {
      const bad = run(...flags);
      assert.equal(bad.status, 2, `${flags.join(' ')}: ${bad.stderr}`);
      assert.match(bad.stderr, message);
      assert.doesNotMatch(bad.stderr, /\n\s+at /);
    }
  });

  it('every bench script: --help prints usage and defaults (exit 0); an unknown flag is one line and exit 2', () => {
    const root = path.resolve(__dirname, '..', '..');
    for (const script of [
      'dist/bench/throughput.js',
      'dist/bench/profile.js',
      'dist/bench/pipeline.js',
      'kernel-ext/dist/bench/live-view.js',
    ]) {
      const help = spawnSync(process.execPath, [path.join(root, script), '--help'], { encoding: 'utf8' });
      assert.equal(help.status, 0, `${script}: ${help.stderr}`);
      assert.match(help.stdout, /^usage: .*\n\nflags:\n {2}--\w+/);
      const bad = spawnSync(process.execPath, [path.join(root, script), '--bogus'], { encoding: 'utf8' });
      assert.equal(bad.status, 2, script);
      assert.match(bad.stderr, /Unknown option '--bogus'\nusage: /);
      assert.doesNotMatch(bad.stderr, /\n\s+at /, `${script}: no stack trace`);
    }
    // A bad value is a usage error (exit 2); a failure while running is one line and exit 1.
    const profile = path.join(root, 'dist/bench/profile.js');
    const badMode = spawnSync(process.execPath, [profile, '--mode', 'fly'], { encoding: 'utf8' });
    assert.equal(badMode.status, 2);
    assert.match(badMode.stderr, /profile\.js: --mode must be train or infer, got fly/);
    const noPython = spawnSync(
      process.execPath,
      [
        profile,
        '--model',
        'resnet8',
        '--width',
        '0.25',
        '--steps',
        '1',
        '--warmup',
        '0',
        '--vs-pytorch',
        '--python',
        '/nonexistent/python',
      ],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(noPython.status, 1);
    assert.match(noPython.stderr, /profile\.js: error: cannot run \/nonexistent\/python/);
    assert.doesNotMatch(noPython.stderr, /\n\s+at /, 'no stack trace');
  });

  it('a shard with no runs (more array tasks than runs) says so and exits 0 without loading data', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-shard-')), 'runs');
    const { status, stderr } = reslab('degradation', '--depths', '8', '--shard', '5/8', '--out', out);
    assert.equal(status, 0, stderr);
    assert.match(stderr, /shard 5\/8 has no runs: the sweep has only 2 \(plain8-w0\.5-s0, resnet8-w0\.5-s0\); nothing to do/);
    assert.equal(fs.existsSync(out), false);
  });

  const badSettings: Array<[string[], RegExp]> = [
    [['--batch-size', '5000'], /batch size 5000 is larger than the 4000 training images available/],
    [['--width', '0'], /width must be a positive number, got 0/],
    [['--width=-1'], /width must be a positive number, got -1/],
    [['--train-limit', '10'], /a training set of 10 images is smaller than one batch of 128/],
    [['--test-limit', '0'], /the test-set limit must be an integer >= 1, got 0/],
    [['--shortcut', 'Z'], /unknown shortcut option 'Z'/],
    [['--classes', '3'], /CIFAR-10 has 10 classes \(labels 0-9\), so the classifier needs 10 outputs, got 3/],
  ];
  for (const [flags, message] of badSettings) {
    it(`train ${flags.join(' ')}: one clear line, exit 2, no run directory left behind`, () => {
      const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-bad-')), 'runs');
      for (const command of [
        ['train', 'resnet8'],
        ['degradation', '--depths', '8'],
      ]) {
        const { status, stderr } = reslab(...command, ...flags, '--out', out);
        assert.equal(status, 2, stderr);
        assert.match(stderr, message);
        assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
        assert.equal(fs.existsSync(out), false, `${command[0]} created ${out}`);
      }
    });
  }
});

/**
 * ResNet-56 multiply-adds computed by hand: stem 32*32*27*16; stage 1: 18 convs 32*32*144*16;
 * stage 2: first conv 16*16*144*32, 17 convs 16*16*288*32; stage 3 likewise at 8x8, 64 filters; FC 640.
 */
function summarizeFlopsResnet56(): number {
  const stem = 32 * 32 * 27 * 16;
  const stage1 = 18 * 32 * 32 * 144 * 16;
  const stage2 = 16 * 16 * 144 * 32 + 17 * 16 * 16 * 288 * 32;
  const stage3 = 8 * 8 * 288 * 64 + 17 * 8 * 8 * 576 * 64;
  return stem + stage1 + stage2 + stage3 + 64 * 10;
}
