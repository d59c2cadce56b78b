/**
 * The gate of bf16 mixed precision (issue #27): TensorFlow's own kernels in bfloat16 against float32
 * at the shapes of ResNet-20/56's 3×3 convolutions (forward, input and filter gradient) and batch
 * norms (training forward and gradient, T=bfloat16 with float32 statistics), called through
 * tfjs-node's binding by tensor handle (tfjs tensors cannot hold bfloat16). Each shape runs in a
 * child process; a kernel that crashes says `crashed` for its shape.
 *
 *   node dist/bench/bf16-gate.js [--steps 15] [--json]
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src';
import { parseScriptFlags, runScript } from '../src/scripts';
import { describeCpu } from '../src/kernels/cpu';
import { runIsolated, serveCases } from '../src/kernels/isolated';
import { medianMs } from './timing';

/** TensorFlow's TF_DataType of bfloat16 (tensorflow/c/tf_datatype.h). */
const TF_BFLOAT16 = 14;

interface Attr {
  name: string;
  type: number;
  value: unknown;
}

interface Binding {
  TF_FLOAT: number;
  TF_INT32: number;
  TF_ATTR_TYPE: number;
  TF_ATTR_INT: number;
  TF_ATTR_STRING: number;
  TF_ATTR_BOOL: number;
  TF_ATTR_FLOAT: number;
  executeOp(name: string, attrs: Attr[], inputs: number[], outputs: number): Array<{ id: number }>;
  deleteTensor(id: number): void;
}

interface NodeBackend {
  binding: Binding;
  getInputTensorIds(tensors: tf.Tensor[]): number[];
}

/** What one case measures: a 3×3 convolution (batch, size, in, out, stride) or a batch norm (batch, size, channels). */
type Case =
  | { id: string; kind: 'conv'; shape: [number, number, number, number, number] }
  | { id: string; kind: 'bn'; shape: [number, number, number] };

interface Timing extends Record<string, unknown> {
  status: 'measured';
  /** Median ms per part, float32 then bfloat16. */
  fp32: number[];
  bf16: number[];
}

const CASES: Case[] = [
  { id: '3×3 conv 128×32×32×16 → 16', kind: 'conv', shape: [128, 32, 16, 16, 1] },
  { id: '3×3 conv 128×16×16×32 → 32', kind: 'conv', shape: [128, 16, 32, 32, 1] },
  { id: '3×3 conv 128×8×8×64 → 64', kind: 'conv', shape: [128, 8, 64, 64, 1] },
  { id: '3×3 conv 128×32×32×16 → 32, stride 2', kind: 'conv', shape: [128, 32, 16, 32, 2] },
  { id: '3×3 conv 128×16×16×32 → 64, stride 2', kind: 'conv', shape: [128, 16, 32, 64, 2] },
  { id: 'batch norm 128×32×32×16', kind: 'bn', shape: [128, 32, 16] },
  { id: 'batch norm 128×16×16×32', kind: 'bn', shape: [128, 16, 32] },
  { id: 'batch norm 128×8×8×64', kind: 'bn', shape: [128, 8, 64] },
];

const PARTS = { conv: ['forward', 'input gradient', 'filter gradient'], bn: ['forward', 'gradient'] };

function measure(c: Case, steps: number): Timing {
  const backend = tf.backend() as unknown as NodeBackend;
  const b = backend.binding;
  const type = (name: string, value: number): Attr => ({ name, type: b.TF_ATTR_TYPE, value });
  const int = (name: string, value: number[]): Attr => ({ name, type: b.TF_ATTR_INT, value });
  const str = (name: string, value: string): Attr => ({ name, type: b.TF_ATTR_STRING, value });
  const bool = (name: string, value: boolean): Attr => ({ name, type: b.TF_ATTR_BOOL, value });
  const exec = (name: string, attrs: Attr[], inputs: number[], outputs = 1) => b.executeOp(name, attrs, inputs, outputs).map((o) => o.id);
  const idOf = (t: tf.Tensor) => backend.getInputTensorIds([t])[0];
  const inDtype = (id: number, dtype: number) =>
    dtype === b.TF_FLOAT ? id : exec('Cast', [type('SrcT', b.TF_FLOAT), type('DstT', dtype), bool('Truncate', false)], [id])[0];
  /** Median ms of `steps` calls (eager CPU kernels finish before executeOp returns). */
  const time = (name: string, attrs: Attr[], inputs: number[], outputs = 1) =>
    medianMs(steps, () => exec(name, attrs, inputs, outputs).forEach((id) => b.deleteTensor(id)), 3);
  const result: Timing = { status: 'measured', fp32: [], bf16: [] };
  for (const [label, dtype] of [
    ['fp32', b.TF_FLOAT],
    ['bf16', TF_BFLOAT16],
  ] as const) {
    if (c.kind === 'conv') {
      const [n, h, ci, co, s] = c.shape;
      const x = tf.randomNormal([n, h, h, ci], 0, 1, 'float32', 1);
      const w = tf.randomNormal([3, 3, ci, co], 0, 0.1, 'float32', 2);
      const dy = tf.randomNormal([n, h / s, h / s, co], 0, 1, 'float32', 3);
      const [xi, wi, dyi] = [x, w, dy].map((t) => inDtype(idOf(t), dtype));
      const conv = (strides: number, padding: 'SAME' | 'VALID' | 'EXPLICIT') => [
        type('T', dtype),
        int('strides', [1, strides, strides, 1]),
        str('padding', padding),
        str('data_format', 'NHWC'),
        bool('use_cudnn_on_gpu', true),
        int('dilations', [1, 1, 1, 1]),
        ...(padding === 'EXPLICIT' ? [int('explicit_paddings', [0, 0, 1, 1, 1, 1, 0, 0])] : []),
      ];
      const wShape = tf.tensor1d([3, 3, ci, co], 'int32');
      if (s === 1) {
        const attrs = conv(1, 'SAME');
        const xShape = tf.tensor1d([n, h, h, ci], 'int32');
        result[label] = [
          time('Conv2D', attrs, [xi, wi]),
          time('Conv2DBackpropInput', attrs, [idOf(xShape), wi, dyi]),
          time('Conv2DBackpropFilter', attrs, [xi, idOf(wShape), dyi]),
        ];
      } else if (label === 'fp32') {
        // Stride 2 as reslab runs it in float32: explicit (1, 1) padding inside the convolution.
        const attrs = conv(2, 'EXPLICIT');
        const xShape = tf.tensor1d([n, h, h, ci], 'int32');
        result[label] = [
          time('Conv2D', attrs, [xi, wi]),
          time('Conv2DBackpropInput', attrs, [idOf(xShape), wi, dyi]),
          time('Conv2DBackpropFilter', attrs, [xi, idOf(wShape), dyi]),
        ];
      } else {
        // In bfloat16 the explicit-padding gradients take a slow generic path (20-30× slower than
        // float32, measured): the route is a Pad, a VALID convolution, and a Slice of the input
        // gradient back to the unpadded shape, each timed with the part it belongs to.
        const pads = tf.tensor2d([0, 0, 1, 1, 1, 1, 0, 0], [4, 2], 'int32');
        const padAttrs = [type('T', dtype), type('Tpaddings', b.TF_INT32)];
        const padded = exec('Pad', padAttrs, [xi, idOf(pads)])[0];
        const attrs = conv(2, 'VALID');
        const paddedShape = tf.tensor1d([n, h + 2, h + 2, ci], 'int32');
        const dxPadded = exec('Conv2DBackpropInput', attrs, [idOf(paddedShape), wi, dyi])[0];
        const [begin, size] = [tf.tensor1d([0, 1, 1, 0], 'int32'), tf.tensor1d([n, h, h, ci], 'int32')];
        const sliceAttrs = [type('T', dtype), type('Index', b.TF_INT32)];
        result[label] = [
          time('Pad', padAttrs, [xi, idOf(pads)]) + time('Conv2D', attrs, [padded, wi]),
          time('Conv2DBackpropInput', attrs, [idOf(paddedShape), wi, dyi]) + time('Slice', sliceAttrs, [dxPadded, idOf(begin), idOf(size)]),
          time('Conv2DBackpropFilter', attrs, [padded, idOf(wShape), dyi]),
        ];
      }
    } else {
      const [n, h, ch] = c.shape;
      const x = tf.randomNormal([n, h, h, ch], 0, 1, 'float32', 1);
      const dy = tf.randomNormal([n, h, h, ch], 0, 1, 'float32', 3);
      const [xi, dyi] = [x, dy].map((t) => inDtype(idOf(t), dtype));
      const [gamma, beta, empty] = [tf.ones([ch]), tf.zeros([ch]), tf.tensor1d([])].map(idOf);
      const attrs = [
        type('T', dtype),
        type('U', b.TF_FLOAT),
        { name: 'epsilon', type: b.TF_ATTR_FLOAT, value: 1e-5 },
        str('data_format', 'NHWC'),
        bool('is_training', true),
      ];
      const saved = exec('FusedBatchNormV3', attrs, [xi, gamma, beta, empty, empty], 6);
      result[label] = [
        time('FusedBatchNormV3', attrs, [xi, gamma, beta, empty, empty], 6),
        time('FusedBatchNormGradV3', attrs, [dyi, xi, gamma, saved[3], saved[4], saved[5]], 5),
      ];
    }
  }
  return result;
}

if (process.env.RESLAB_BENCH_CHILD === 'bf16-gate') {
  const steps = Number(process.env.RESLAB_BENCH_STEPS ?? 15);
  void serveCases<Case, Timing>(
    () => (selectBackend().kind === 'cpu' ? undefined : 'the native CPU backend is needed'),
    (c) => measure(c, steps),
  );
} else {
  runScript(() => {
    const values = parseScriptFlags('node dist/bench/bf16-gate.js [--steps 15] [--json]', {
      steps: { type: 'string' },
      json: { type: 'boolean' },
    });
    const steps = Number(values.steps ?? 15);
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be a positive integer (got ${values.steps})`);
    const { results } = runIsolated<Case, Timing>(
      path.join(__dirname, 'bf16-gate.js'),
      CASES,
      { ...process.env, RESLAB_BENCH_CHILD: 'bf16-gate', RESLAB_BENCH_STEPS: String(steps), TF_CPP_MIN_LOG_LEVEL: '2' },
      600_000,
    );
    if (values.json) return void process.stdout.write(`${JSON.stringify({ cpu: describeCpu(), results })}\n`);
    console.log(`TensorFlow's kernels, median ms of ${steps} calls: float32 / bfloat16 (${describeCpu()})`);
    const totals = { conv: [0, 0], bn: [0, 0] };
    for (const r of results) {
      const c = CASES.find((k) => k.id === r.id) as Case;
      if (r.status !== 'measured') {
        console.log(`${r.id.padEnd(40)} ${r.status === 'crashed' ? `the process died (${r.signal}): a kernel crashed` : r.status}`);
        continue;
      }
      const cells = PARTS[c.kind].map(
        (p, i) => `${p} ${r.fp32[i].toFixed(2)} / ${r.bf16[i].toFixed(2)} (${(r.fp32[i] / r.bf16[i]).toFixed(2)}×)`,
      );
      totals[c.kind][0] += r.fp32.reduce((a, v) => a + v, 0);
      totals[c.kind][1] += r.bf16.reduce((a, v) => a + v, 0);
      console.log(`${r.id.padEnd(40)} ${cells.join('  ')}`);
    }
    for (const kind of ['conv', 'bn'] as const) {
      const [f, h] = totals[kind];
      if (f > 0 && h > 0)
        console.log(
          `${kind === 'conv' ? 'convolutions' : 'batch norms'}, all parts: ${f.toFixed(1)} ms in float32, ${h.toFixed(1)} ms in bfloat16: ${(f / h).toFixed(2)}× faster`,
        );
    }
  });
}
