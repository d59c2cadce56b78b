import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { buildModel, SgdMomentum, trainableVariables, trainStep } from '../../src';
import { nativeNetwork, precisionProblem } from '../../src/native';
import { nativeOps, NativeOps } from '../../src/native/ops';
import { relativeL2, smallImagenetNet } from '../helpers/passes';
import type { Batch, MatrixCase } from './cases';

/**
 * bf16 mixed precision in the CPU matrix: under every setting either it runs and computes what
 * float32 does within bfloat16's rounding, or it is refused with the reason (a setting without
 * oneDNN's bfloat16 code path, or a CPU without bfloat16 instructions).
 *
 * The tolerances come from bfloat16's unit roundoff u = 2^-8 (8 significant bits): a kernel whose
 * inputs are rounded to bfloat16 and which accumulates in float32 is off by about u in relative L2
 * (measured 0.0029 on a Zen 5), so each kernel must be within 2u, and so must a step's loss.
 *
 * A step's gradients compound that over 20 layers of backpropagation at initialisation, where the
 * gradients of the first layers are sums with heavy cancellation. The bounds are what PyTorch 2.13's
 * own autocast (bf16, channels_last) shows against its float32 on the same nets (relative L2 per
 * weight, batches of 32 and 128, two seeds each): ResNet-20 a median 0.18–0.21 and at most 0.87,
 * plain-20 a median 0.60–0.68 and at most 3.2 (a plain net's early gradients are mostly
 * cancellation: the noise of bfloat16 is as large as they are). reslab measured 0.12–0.27 and at most
 * 0.71 on ResNets, 0.52–0.56 and at most 1.9 on plain-20.
 */

const U = 2 ** -8;

/** Why bf16 is refused under this process's setting, asserted to name its cause; undefined when bf16 runs. */
function refusal(): string | undefined {
  const problem = precisionProblem('bfloat16');
  if (problem !== undefined)
    assert.match(problem, /ONEDNN_MAX_CPU_ISA=|TF_ENABLE_ONEDNN_OPTS=|RESLAB_NATIVE=|no bfloat16 instructions/, problem);
  return problem;
}

/** Relative L2 error of a bfloat16 kernel's output (cast back to float32) against float32's. */
function kernelError(ops: NativeOps, bf16: tf.Tensor, fp32: tf.Tensor): number {
  const back = ops.cast(bf16, 'float32');
  try {
    return relativeL2(back, fp32);
  } finally {
    back.dispose();
  }
}

function kernelsWithinRounding(): void {
  if (refusal()) return;
  const ops = nativeOps() as NativeOps;
  tf.tidy(() => {
    const bf = <T extends tf.Tensor>(t: T) => ops.cast(t, 'bfloat16');
    const errors: Array<[string, number]> = [];
    for (const [size, cin, cout, stride] of [
      [16, 16, 16, 1],
      [16, 16, 32, 2],
      [8, 32, 32, 1],
    ]) {
      const x = tf.randomNormal([8, size, size, cin], 0, 1, 'float32', 1) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, cin, cout], 0, 0.3, 'float32', 2) as tf.Tensor4D;
      const attrs32 = ops.convAttrs(stride, stride === 1 ? 'SAME' : [1, 1, 1, 1]);
      const y = ops.conv2d(x, w, attrs32);
      const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 3) as tf.Tensor4D;
      // Stride 2 as the bfloat16 plan runs it: a pad of its own, then a VALID convolution.
      const attrs16 = ops.convAttrs(stride, stride === 1 ? 'SAME' : 'VALID', 'bfloat16');
      const xb =
        stride === 1
          ? bf(x)
          : ops.pad(bf(x), [
              [0, 0],
              [1, 1],
              [1, 1],
              [0, 0],
            ]);
      const name = `${cin}→${cout} stride ${stride}`;
      errors.push([`conv ${name}`, kernelError(ops, ops.conv2d(xb, bf(w), attrs16), y)]);
      const dx = ops.conv2dBackpropInput(xb.shape, bf(w), bf(dy), attrs16);
      const dxUnpadded = stride === 1 ? dx : ops.slice(dx, [0, 1, 1, 0], x.shape);
      errors.push([`input gradient ${name}`, kernelError(ops, dxUnpadded, ops.conv2dBackpropInput(x.shape, w, dy, attrs32))]);
      errors.push([
        `filter gradient ${name}`,
        kernelError(ops, ops.conv2dBackpropFilter(xb, w.shape, bf(dy), attrs16), ops.conv2dBackpropFilter(x, w.shape, dy, attrs32)),
      ]);
      const [gamma, beta] = [tf.randomUniform([cout], 0.5, 1.5, 'float32', 4), tf.randomUniform([cout], -0.2, 0.2, 'float32', 5)];
      for (const relu of [false, true]) {
        const fp32 = ops.batchNormTraining(y, gamma as tf.Tensor1D, beta as tf.Tensor1D, 1e-3, relu);
        const bf16 = ops.batchNormTraining(bf(y), gamma as tf.Tensor1D, beta as tf.Tensor1D, 1e-3, relu);
        errors.push([`batch norm${relu ? ' + ReLU' : ''} ${name}`, kernelError(ops, bf16.y, fp32.y)]);
        errors.push([`batch mean ${name} (float32)`, relativeL2(bf16.mean, fp32.mean)]);
        const g32 = ops.batchNormGrad(dy, fp32.saved, gamma as tf.Tensor1D, 1e-3);
        const g16 = ops.batchNormGrad(bf(dy), bf16.saved, gamma as tf.Tensor1D, 1e-3);
        errors.push([`batch-norm input gradient ${name}`, kernelError(ops, g16.dx, g32.dx)]);
        errors.push([`batch-norm gamma gradient ${name} (float32)`, relativeL2(g16.dgamma, g32.dgamma)]);
        tf.dispose([fp32.saved.reserve, bf16.saved.reserve]);
      }
      errors.push([`ReLU gradient ${name}`, kernelError(ops, ops.reluGrad(bf(dy), bf(ops.relu(y))), ops.reluGrad(dy, ops.relu(y)))]);
      errors.push([`residual add ${name}`, kernelError(ops, ops.add(bf(y), bf(dy)), ops.add(y, dy))]);
    }
    const wrong = errors.filter(([, e]) => !(e <= 2 * U));
    assert.deepEqual(
      wrong.map(([k, e]) => `${k}: ${e.toFixed(4)}`),
      [],
      `bfloat16 kernels off by more than 2u = ${(2 * U).toFixed(4)}`,
    );
  });
}

/** One bf16 step against one float32 step of the same model on the same batch. */
function stepWithinTolerance(build: () => tf.LayersModel, bounds: { median: number; worst: number }, { images, labels }: Batch): void {
  if (refusal()) return;
  const model = build();
  try {
    const [fp32, bf16] = [nativeNetwork(model, 'float32'), nativeNetwork(model, 'bfloat16')];
    assert.ok(fp32 && bf16, 'both precisions compile natively');
    const a = fp32.gradients(images, labels);
    const b = bf16.gradients(images, labels);
    try {
      assert.ok(Math.abs(b.loss - a.loss) <= 2 * U * a.loss, `loss ${b.loss} in bf16, ${a.loss} in fp32`);
      const errors = trainableVariables(model).map((v) => {
        const [ga, gb] = [a.grads[v.name], b.grads[v.name]];
        assert.ok(gb, `no bf16 gradient for ${v.name}`);
        assert.equal(nativeOps()?.precisionOf(gb), 'float32', `${v.name}'s gradient reaches the optimizer as float32`);
        return { name: v.name, error: relativeL2(gb, ga) };
      });
      const sorted = errors.map((e) => e.error).sort((x, y) => x - y);
      const median = sorted[sorted.length >> 1];
      const worst = errors.filter((e) => !(e.error <= bounds.worst)).map((e) => `${e.name}: ${e.error.toFixed(3)}`);
      assert.deepEqual(worst, [], `bf16 gradients more than ${bounds.worst} (relative L2) from fp32`);
      assert.ok(median <= bounds.median, `median relative error of the bf16 gradients ${median.toFixed(3)}, more than ${bounds.median}`);
    } finally {
      tf.dispose([...Object.values(a.grads), ...Object.values(b.grads)]);
    }
  } finally {
    model.dispose();
  }
}

/** Twenty SGD steps on one batch in each precision from the same weights: bf16 lowers the loss as fp32 does, and holds no more tensors after step 20 than after step 2. */
function trainsLikeFloat32({ images, labels }: Batch): void {
  if (refusal()) return;
  const run = (precision: 'float32' | 'bfloat16') => {
    const model = buildModel('resnet20', { seed: 9, width: 0.5 });
    const optimizer = new SgdMomentum(trainableVariables(model), { momentum: 0.9, weightDecay: 1e-4 });
    try {
      const losses: number[] = [];
      let held = 0;
      for (let step = 0; step < 20; step++) {
        losses.push(trainStep(model, optimizer, images, labels, 0.05, precision).loss);
        if (step === 1) held = tf.memory().numTensors;
      }
      // Every bfloat16 copy (kernels, activations, casts) is freed within its step.
      assert.equal(tf.memory().numTensors, held, `${precision}: tensors after step 2 and after step 20`);
      return losses;
    } finally {
      optimizer.dispose();
      model.dispose();
    }
  };
  const [fp32, bf16] = [run('float32'), run('bfloat16')];
  assert.ok(bf16.every(Number.isFinite), `bf16 losses ${bf16.join(', ')}`);
  const [first, last] = [bf16[0], bf16[bf16.length - 1]];
  assert.ok(
    last < first / 2,
    `bf16 loss went from ${first.toFixed(3)} to ${last.toFixed(3)} (fp32: ${fp32[0].toFixed(3)} to ${fp32[19].toFixed(3)})`,
  );
  assert.ok(Math.abs(last - fp32[19]) <= 0.25 * fp32[0], `after 20 steps bf16's loss is ${last.toFixed(3)}, fp32's ${fp32[19].toFixed(3)}`);
}

/** The bf16 cases of the matrix (every setting runs them: the refusals are part of what they check). */
export function bfloat16Cases(): MatrixCase[] {
  const residual = { median: 0.3, worst: 1 };
  const plain = { median: 0.8, worst: 3.5 };
  const nets: Array<[string, () => tf.LayersModel, { median: number; worst: number }]> = [
    ['ResNet-20 (option A)', () => buildModel('resnet20', { seed: 5, width: 0.5 }), residual],
    ['ResNet-20 option B, pre-activation', () => buildModel('resnet20', { seed: 5, width: 0.5, shortcut: 'B', order: 'pre' }), residual],
    ['plain-20 at width 0.25', () => buildModel('plain20', { seed: 5, width: 0.25 }), plain],
    ['ImageNet-style bottleneck ResNet, option C', () => smallImagenetNet(50, true, { shortcut: 'C' }), residual],
  ];
  return [
    { id: 'bf16: each bfloat16 kernel of the step is within 2u of float32 (or bf16 is refused, saying why)', run: kernelsWithinRounding },
    ...nets.map(([label, build, bounds]) => ({
      id: `bf16: ${label}: a mixed-precision step's loss and gradients are fp32's within bf16's tolerance`,
      run: (b: Batch) => stepWithinTolerance(build, bounds, b),
    })),
    { id: 'bf16: twenty steps of ResNet-20 lower the loss as fp32 does, holding no tensor beyond a step', run: trainsLikeFloat32 },
  ];
}
