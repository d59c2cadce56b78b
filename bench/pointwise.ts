/**
 * 1x1 convolutions: TensorFlow's oneDNN convolution kernels against the matrix products reslab runs
 * instead (src/native/pointwise.ts), forward and both gradients, for the 1x1 convs of option-B/C
 * CIFAR nets and of ResNet-50, each shape in a child process (the convolution kernels crash on
 * some CPUs: that shape then says `crashed`).
 *
 *   node dist/bench/pointwise.js [--steps 10] [--json]
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src';
import { parseScriptFlags, runScript } from '../src/scripts';
import { describeCpu } from '../src/kernels/cpu';
import { runIsolated, serveCases } from '../src/kernels/isolated';
import { nativeOps } from '../src/native/ops';
import { pointwiseFilterGradient, pointwiseForward, pointwiseInputGradient } from '../src/native/pointwise';
import { medianMs } from './timing';

/** batch, size, in, out, stride. */
type Shape = [number, number, number, number, number];

const SHAPES: Shape[] = [
  [128, 32, 16, 32, 2], // CIFAR option B/C projections, width 1
  [128, 16, 32, 64, 2],
  [128, 32, 4, 8, 2], // width 0.25
  [32, 56, 64, 256, 1], // ResNet-50 stage 1 expand
  [32, 56, 256, 64, 1], // reduce
  [32, 28, 128, 512, 1],
  [32, 14, 1024, 256, 1],
  [32, 14, 256, 1024, 1],
  [32, 7, 512, 2048, 1],
  [32, 14, 1024, 2048, 2], // stage 4 projection
];

interface Timing extends Record<string, unknown> {
  status: 'measured';
  conv: number[];
  matmul: number[];
}

const PARTS = ['forward', 'input gradient', 'filter gradient'];

/** Median milliseconds of `steps` calls of `run` (each reads one value back, so the kernel has finished). */
function time(steps: number, run: () => tf.Tensor): number {
  return medianMs(steps, () => tf.tidy(() => run().reshape([-1]).slice(0, 1).dataSync()), 1);
}

function measure(shape: Shape, steps: number): Timing {
  const ops = nativeOps();
  if (!ops) throw new Error('the native CPU backend is needed');
  const [n, h, ci, co, s] = shape;
  const out = Math.ceil(h / s);
  const x = tf.randomNormal([n, h, h, ci], 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal([1, 1, ci, co], 0, 1, 'float32', 2) as tf.Tensor4D;
  const dy = tf.randomNormal([n, out, out, co], 0, 1, 'float32', 3) as tf.Tensor4D;
  const attrs = ops.convAttrs(s, 'VALID');
  const sampled = pointwiseForward(ops, s, x, w).input;
  const matmul = [
    () => pointwiseForward(ops, s, x, w).y,
    () => pointwiseInputGradient(ops, s, x.shape, w, dy),
    () => pointwiseFilterGradient(ops, sampled, w.shape, dy),
  ].map((f) => time(steps, f));
  const conv = [
    () => ops.conv2d(x, w, attrs),
    () => ops.conv2dBackpropInput(x.shape, w, dy, attrs),
    () => ops.conv2dBackpropFilter(x, w.shape, dy, attrs),
  ].map((f) => time(steps, f));
  return { status: 'measured', conv, matmul };
}

if (process.env.RESLAB_BENCH_CHILD === 'pointwise') {
  const steps = Number(process.env.RESLAB_BENCH_STEPS ?? 10);
  void serveCases<{ id: string; shape: Shape }, Timing>(
    () => (selectBackend().kind === 'cpu' ? undefined : 'the native CPU backend is needed'),
    (c) => measure(c.shape, steps),
  );
} else {
  runScript(() => {
    const values = parseScriptFlags('node dist/bench/pointwise.js [--steps 10] [--json]', {
      steps: { type: 'string' },
      json: { type: 'boolean' },
    });
    const steps = Number(values.steps ?? 10);
    const cases = SHAPES.map((shape) => ({
      id: `${shape[0]}x${shape[1]}x${shape[1]}x${shape[2]} → ${shape[3]}, stride ${shape[4]}`,
      shape,
    }));
    const { results } = runIsolated<{ id: string; shape: Shape }, Timing>(
      path.join(__dirname, 'pointwise.js'),
      cases,
      { ...process.env, RESLAB_BENCH_CHILD: 'pointwise', RESLAB_BENCH_STEPS: String(steps), TF_CPP_MIN_LOG_LEVEL: '2' },
      600_000,
    );
    if (values.json) return void process.stdout.write(`${JSON.stringify({ cpu: describeCpu(), results })}\n`);
    console.log(`1x1 convolutions, median ms of ${steps} calls: oneDNN's convolution kernel vs reslab's matrix product (${describeCpu()})`);
    console.log(`${'shape'.padEnd(34)} ${PARTS.map((p) => `${p.padStart(15)} conv / matmul`).join('  ')}`);
    for (const r of results) {
      const cells =
        r.status === 'measured'
          ? PARTS.map(
              (_, i) =>
                `${r.conv[i].toFixed(2).padStart(15)} / ${r.matmul[i].toFixed(2).padEnd(6)} (${(r.conv[i] / r.matmul[i]).toFixed(2)}x)`,
            )
          : [
              r.status === 'crashed'
                ? `the process died (${r.signal}${r.message ? `: ${r.message}` : ''}): a convolution kernel crashed`
                : r.status,
            ];
      console.log(`${r.id.padEnd(34)} ${cells.join('  ')}`);
    }
  });
}
