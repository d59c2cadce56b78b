import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { convShape, directConv, kernelCases } from '../src/kernels/cases';
import { checkKernels, failuresOf, runChecks } from '../src/kernels/check';
import { parseCpuinfo } from '../src/kernels/cpu';
import { isaFromVerbose, oneDnnDisabled } from '../src/kernels/onednn';
import { convFilterGradient, convForward, convInputGradient, ConvShape, relativeError } from '../src/kernels/reference';
import { isPointwise } from '../src/kernels/routes';

const ROOT = path.resolve(__dirname, '..', '..');

/** A fresh Node.js process that imports reslab with its own kernel-check cache. */
function importReslab(cache: string, env: Record<string, string> = {}): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, ['-e', "require('./dist/src')"], {
    cwd: ROOT,
    env: { ...process.env, XDG_CACHE_HOME: cache, TF_CPP_MIN_LOG_LEVEL: '2', ...env },
    encoding: 'utf8',
  });
  return { status: result.status, stderr: result.stderr };
}

describe('the CPU as reslab describes it', () => {
  it('reads vendor, family, model, stepping and the ISA flags that pick oneDNN code paths from /proc/cpuinfo (x86 and ARM)', () => {
    const zen5 = parseCpuinfo(
      'vendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\nmodel name\t: AMD EPYC\nstepping\t: 1\nflags\t\t: fpu sse4_1 avx avx2 fma avx512f avx512_bf16 avx512_vnni\n',
      'x64',
      2,
    );
    assert.deepEqual(
      { vendor: zen5.vendor, family: zen5.family, model: zen5.modelNumber, stepping: zen5.stepping, flags: zen5.isaFlags },
      {
        vendor: 'AuthenticAMD',
        family: 26,
        model: 2,
        stepping: 1,
        flags: ['sse4_1', 'avx', 'avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16'],
      },
    );
    const graviton = parseCpuinfo('processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\nCPU implementer\t: 0x41\n', 'arm64', 4);
    assert.equal(graviton.vendor, 'ARM implementer 0x41');
    assert.deepEqual(graviton.isaFlags, ['asimd', 'sve', 'bf16', 'i8mm']);
    assert.equal(graviton.family, undefined);
  });

  it("reads TF_ENABLE_ONEDNN_OPTS as TensorFlow does, and oneDNN's code path from its verbose line", () => {
    for (const off of ['0', 'false', 'FALSE', ' 0 ']) assert.equal(oneDnnDisabled({ TF_ENABLE_ONEDNN_OPTS: off }), true, off);
    for (const on of [undefined, '1', 'true', '']) assert.equal(oneDnnDisabled({ TF_ENABLE_ONEDNN_OPTS: on }), false, String(on));
    assert.equal(
      isaFromVerbose('onednn_verbose,v1,info,oneDNN v3.7.3\nonednn_verbose,v1,info,cpu,isa:Intel AVX2 with Intel DL Boost\n'),
      'Intel AVX2 with Intel DL Boost',
    );
  });
});

describe('the float64 reference convolution', () => {
  it('computes a hand-checked 3x3/2 convolution with padding, and its two gradients by finite differences', () => {
    // One 3x3 image of 1..9, a 3x3 kernel of ones, stride 2, pad 1: the four outputs are corner sums.
    const s: ConvShape = { batch: 1, size: 3, inChannels: 1, outChannels: 1, kernel: 3, stride: 2, pad: [1, 1] };
    const x = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    const w = new Array(9).fill(1);
    assert.deepEqual(Array.from(convForward(s, x, w)), [1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9]);
    // Gradients of sum(dy * conv(x, w)) against central differences.
    const dy = [0.5, -1, 2, 0.25];
    const loss = (xs: number[], ws: number[]) => convForward(s, xs, ws).reduce((a, v, i) => a + v * dy[i], 0);
    const wRandom = w.map((_, i) => Math.sin(i + 1));
    const dx = convInputGradient(s, wRandom, dy);
    const dw = convFilterGradient(s, x, dy);
    for (let i = 0; i < 9; i++) {
      const bump = (values: number[], h: number) => values.map((v, k) => (k === i ? v + h : v));
      assert.ok(Math.abs(dx[i] - (loss(bump(x, 1e-4), wRandom) - loss(bump(x, -1e-4), wRandom)) / 2e-4) < 1e-6, `dx[${i}]`);
      assert.ok(Math.abs(dw[i] - (loss(x, bump(w, 1e-4)) - loss(x, bump(w, -1e-4))) / 2e-4) < 1e-6, `dw[${i}]`);
    }
    assert.equal(relativeError([1, 2.5], [1, 2]), 0.25);
    assert.equal(relativeError([NaN], [1]), Infinity);
  });
});

describe("1x1 convolutions as matrix products (tfjs's own kernels, routed)", () => {
  it('gives tfjs.conv2d and both its gradients the reference numbers for strided and unstrided 1x1 convs, on MatMul kernels', async () => {
    for (const s of [convShape(1, 2, 4, 8, 32), convShape(1, 1, 16, 4, 8), convShape(1, 2, 3, 6, 7, 2)]) {
      const n = (k: number, seed: number) => Array.from({ length: k }, (_, i) => Math.sin(seed * 1000 + i));
      const out = Math.ceil(s.size / s.stride);
      const [xv, wv, dyv] = [
        n(s.batch * s.size * s.size * s.inChannels, 1),
        n(s.inChannels * s.outChannels, 2),
        n(s.batch * out * out * s.outChannels, 3),
      ];
      const x = tf.tensor4d(xv, [s.batch, s.size, s.size, s.inChannels]);
      const w = tf.tensor4d(wv, [1, 1, s.inChannels, s.outChannels]);
      const dy = tf.tensor4d(dyv, [s.batch, out, out, s.outChannels]);
      let results: tf.Tensor[] = [];
      const profile = await tf.profile(() => {
        results = [
          tf.conv2d(x, w, s.stride, 'same'),
          tf.grad((input: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(input as tf.Tensor4D, w, s.stride, 'valid'), dy)))(x),
          tf.grad((kernel: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, kernel as tf.Tensor4D, s.stride, 'valid'), dy)))(w),
        ];
      });
      const expected = [convForward(s, xv, wv), convInputGradient(s, wv, dyv), convFilterGradient(s, xv, dyv)];
      results.forEach((r, i) => assert.ok(relativeError(r.dataSync(), expected[i]) < 1e-5, `${JSON.stringify(s)} part ${i}`));
      assert.ok(profile.kernelNames.includes('BatchMatMul'), profile.kernelNames.join(', '));
      tf.dispose([x, w, dy, ...results]);
    }
    assert.equal(isPointwise([1, 1, 4, 8], { strides: 2, pad: 'same' }), true);
    assert.equal(isPointwise([3, 3, 4, 8], { strides: 1, pad: 'same' }), false);
    assert.equal(isPointwise([1, 1, 4, 8], { strides: 1, pad: 1 }), false);
    assert.equal(isPointwise([1, 1, 4, 8], { strides: 1, pad: 'valid', dilations: 2 }), false);
  });
});

describe('the kernel self-check', function () {
  this.timeout(300_000);

  it('checks every conv kind reslab uses, forward and both gradients, on both paths, and its fused kernels, against float64', () => {
    const run = runChecks({});
    const used = run.results.filter((r) => !r.routedAround);
    assert.equal(used.length, kernelCases().filter((c) => !c.routedAround).length);
    assert.deepEqual(failuresOf(run.results), [], 'every kernel reslab uses is right here');
    for (const kernel of ['1x1/1', '1x1/2', '3x3/1', '3x3/2', '7x7/2'])
      for (const part of ['forward', 'input gradient', 'filter gradient'])
        for (const route of ['native', 'autodiff'])
          assert.ok(
            used.some((r) => r.id.startsWith(`conv ${kernel} `) && r.id.includes(` · ${part} · ${route}`)),
            `${kernel} ${part} on the ${route} path`,
          );
    assert.ok(used.some((r) => r.id.startsWith('fused conv')));
    assert.ok(used.some((r) => r.id.startsWith('batch norm')));
    assert.ok(used.every((r) => r.status === 'skipped' || (r.status === 'ok' && r.error < 1e-4)));
    if (run.oneDnnIsa) assert.match(run.oneDnnIsa, /^Intel (AVX|SSE)/);
  });

  it('a kernel that crashes is one crashed case naming the signal; the cases after it still run, in a fresh process', () => {
    // TensorFlow's own strided 1x1 filter gradient: broken on some CPUs (AVX-512 ones without cache sizes), fine on others.
    const broken = { ...directConv(convShape(1, 2, 8, 16, 32), 'filter gradient'), routedAround: false };
    const good = kernelCases()[0];
    const { results } = runChecks({}, [broken, good]);
    assert.equal(results.length, 2);
    assert.ok(['ok', 'crashed', 'wrong'].includes(results[0].status), JSON.stringify(results[0]));
    if (results[0].status === 'crashed') assert.match(results[0].signal, /^SIG[A-Z]+$/);
    assert.equal(results[1].status, 'ok', JSON.stringify(results[1]));
  });

  it('when a kernel reslab relies on fails, it switches to the fastest setting under which every one is right', () => {
    const broken = { ...directConv(convShape(1, 2, 8, 16, 32), 'filter gradient'), routedAround: false };
    const outcome = checkKernels({}, [broken]);
    if (failuresOf(outcome.results).length === 0) {
      assert.deepEqual(outcome.route, { kind: 'as is' }, 'nothing fails here: nothing to switch');
      return;
    }
    assert.notEqual(outcome.route.kind, 'as is');
    assert.notEqual(outcome.route.kind, 'broken', JSON.stringify(outcome.trials.map((t) => [t.settings, t.results])));
    const chosen = outcome.trials[outcome.trials.length - 1];
    assert.deepEqual('settings' in outcome.route ? outcome.route.settings : undefined, chosen.settings);
    assert.deepEqual(failuresOf(chosen.results), [], 'the setting switched to passes');
    for (const earlier of outcome.trials.slice(0, -1)) assert.ok(failuresOf(earlier.results).length > 0, JSON.stringify(earlier.settings));
  });

  it('runs once when its result is missing or stale, and says so; a stored result is reused', () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-kernel-cache-'));
    try {
      const first = importReslab(cache);
      assert.equal(first.status, 0, first.stderr);
      assert.match(first.stderr, /reslab: checking TensorFlow's kernels on this CPU, once: /);
      assert.match(first.stderr, /reslab: kernel self-check: (\d+) of \1 kernels reslab uses are right/);
      const dir = path.join(cache, 'reslab', 'kernel-check');
      const files = fs.readdirSync(dir);
      assert.equal(files.length, 1);
      const second = importReslab(cache);
      assert.doesNotMatch(second.stderr, /checking TensorFlow's kernels/);
      // Another library version (here: its recorded identity differs): stale, checked again.
      const file = path.join(dir, files[0]);
      const report = JSON.parse(fs.readFileSync(file, 'utf8')) as { identity: { tfjsNode: string } };
      report.identity.tfjsNode = '0.0.1';
      fs.writeFileSync(file, JSON.stringify(report));
      assert.match(importReslab(cache).stderr, /checking TensorFlow's kernels on this CPU, once/);
      // Another oneDNN setting is another result.
      assert.match(importReslab(cache, { ONEDNN_MAX_CPU_ISA: 'AVX2' }).stderr, /checking TensorFlow's kernels .*\n.*oneDNN Intel AVX2[;)]/);
      assert.equal(fs.readdirSync(dir).length, 2);
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });
});

describe('TF_ENABLE_ONEDNN_OPTS=0', function () {
  this.timeout(300_000);

  it("trains option B on TensorFlow's standard kernels: the native step calls no oneDNN kernel by name", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-onednn-off-'));
    try {
      const result = spawnSync(
        process.execPath,
        [
          path.join(ROOT, 'bin', 'reslab.js'),
          'train',
          'resnet8',
          '--shortcut',
          'B',
          '--preset',
          'smoke',
          '--iterations',
          '3',
          '--out',
          out,
        ],
        { cwd: ROOT, env: { ...process.env, TF_ENABLE_ONEDNN_OPTS: '0', TF_CPP_MIN_LOG_LEVEL: '2' }, encoding: 'utf8' },
      );
      assert.equal(result.status, 0, result.stderr.slice(-2000));
      assert.match(result.stderr, /resnet8-B-\S+: cpu backend, native step\n/);
      assert.match(result.stderr, /completed at iteration 3/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
