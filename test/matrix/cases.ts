import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import {
  bottleneckBlock,
  buildModel,
  buildNetwork,
  cifarSpec,
  ModelOptions,
  SgdMomentum,
  ShortcutOption,
  BlockOrder,
  trainableVariables,
  trainStep,
} from '../../src';
import { nativeNetwork } from '../../src/native';
import { nativeOps } from '../../src/native/ops';
import { KernelTotals, logKernels } from '../../bench/kernel-log';
import {
  assertSamePass,
  autodiffPass,
  disposePasses,
  nativePass,
  relativeL2,
  smallImagenetNet,
  testBatch,
  withNative,
} from '../helpers/passes';
import { bfloat16Cases } from './bfloat16';

/**
 * The cases of the CPU matrix (test/cpu-matrix.test.ts): each runs in a child process under one
 * oneDNN setting (test/matrix/child.ts), so a native crash is a failing case, not a dead runner.
 */

export type Batch = ReturnType<typeof testBatch>;

export interface MatrixCase {
  id: string;
  /** Throws (an assertion) when the case fails. */
  run(batch: Batch): void | Promise<void>;
}

/** The native network's loss, gradients, BN statistics and (after the pass) logits against tfjs's autodiff over the same model. */
function nativeMatchesAutodiff(build: () => tf.LayersModel, { images, labels, reversedImages, reversedLabels }: Batch): void {
  const autodiff = (x: tf.Tensor4D, y: tf.Tensor1D) => {
    const model = build();
    const pass = autodiffPass(model, x, y);
    const logits = model.apply(images, { training: false }) as tf.Tensor;
    model.dispose();
    return { ...pass, logits };
  };
  const fast = nativePass(build, images, labels);
  const straight = autodiff(images, labels);
  const noise = autodiff(reversedImages, reversedLabels);
  try {
    assertSamePass(fast, straight, noise);
    // Inference after the training pass: BN (folded into the convs where possible) uses the equal running statistics.
    assert.ok(relativeL2(fast.logits, straight.logits) < 1e-4, `logits differ by ${relativeL2(fast.logits, straight.logits)}`);
  } finally {
    disposePasses(fast, straight, noise);
    tf.dispose([fast.logits, straight.logits, noise.logits]);
  }
}

// The reference is tfjs's autodiff over the same model with the same batch-norm kernels: everything
// else (convolutions, ReLU, additions, shortcuts, pooling, the classifier, the loss and all their
// gradients) is tfjs's own code. Against tfjs's moments-based batch norm the gradients of the first
// layers of option-B nets differ by up to ~0.5% in float32 (projection shortcuts make early gradients
// sums with heavy cancellation); the fused kernel is the more accurate of the two (test/native-step.test.ts).
const ARCHITECTURES: Array<[string, () => tf.LayersModel]> = [
  ['ResNet-20 (option A)', () => buildModel('resnet20', { seed: 5, width: 0.5 })],
  ['plain-20', () => buildModel('plain20', { seed: 5, width: 0.5 })],
  ['ResNet-20 option B', () => buildModel('resnet20', { seed: 5, width: 0.5, shortcut: 'B' })],
  ['ResNet-20 option C, pre-activation', () => buildModel('resnet20', { seed: 5, width: 0.5, shortcut: 'C', order: 'pre' })],
  ['ImageNet-style basic ResNet (7x7/2 stem, max pool)', () => smallImagenetNet(18, true)],
  [
    'ImageNet-style bottleneck ResNet, pre-activation, 3x3 stride, option B',
    () => smallImagenetNet(50, true, { order: 'pre', bottleneckStride: '3x3', shortcut: 'B' }),
  ],
];

/** A CIFAR net of one block per stage: basic blocks (ResNet-8), or bottleneck blocks in two stages (16w/32w wide, x4 out). */
function blockStyleNet(block: 'basic' | 'bottleneck', options: ModelOptions): tf.LayersModel {
  if (block === 'basic') return buildModel('resnet8', options);
  const spec = cifarSpec(8, true, options);
  return buildNetwork({ ...spec, block: bottleneckBlock, stages: spec.stages.slice(0, 2) });
}

/** Two SGD steps on the native step and one `model.fit` batch (tfjs's autodiff, as Keras users train): finite losses. */
async function trainsBriefly(build: () => tf.LayersModel, { images, labels }: Batch): Promise<void> {
  const model = build();
  const optimizer = new SgdMomentum(trainableVariables(model), { momentum: 0.9, weightDecay: 1e-4 });
  const targets = tf.oneHot(labels, 10);
  try {
    const losses = [0, 1].map(() => trainStep(model, optimizer, images, labels, 0.05).loss);
    assert.ok(losses.every(Number.isFinite), `native step losses ${losses.join(', ')}`);
    model.compile({ optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError' });
    const loss = await model.trainOnBatch(images, targets);
    assert.ok(Number.isFinite(Number(loss)), `model.fit loss ${String(loss)}`);
  } finally {
    tf.dispose(targets);
    optimizer.dispose();
    model.dispose();
  }
}

function fusedInference(name: string, options: ModelOptions, { images }: Batch): void {
  const model = buildModel(name, { seed: 7, width: 0.5, ...options });
  // Running statistics and affine parameters away from their initial values, so the folding shows.
  let seed = 11;
  for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    const [gamma, beta, mean, variance] = layer.getWeights().map((w) => w.shape);
    layer.setWeights([
      tf.randomUniform(gamma, 0.5, 1.5, 'float32', seed++),
      tf.randomUniform(beta, -0.2, 0.2, 'float32', seed++),
      tf.randomUniform(mean, -0.3, 0.3, 'float32', seed++),
      tf.randomUniform(variance, 0.5, 2, 'float32', seed++),
    ]);
  }
  const network = nativeNetwork(model);
  assert.ok(network);
  let logits: tf.Tensor | undefined;
  const kernels = logKernels(() => (logits = network.predict(images))) as Map<string, KernelTotals>;
  const reference = model.predict(images) as tf.Tensor;
  try {
    assert.ok(relativeL2(logits as tf.Tensor, reference) < 1e-5, `logits differ by ${relativeL2(logits as tf.Tensor, reference)}`);
    const calls = (kernel: string) => kernels.get(kernel)?.calls ?? 0;
    const convLayers = model.layers.filter((l) => l.getClassName() === 'Conv2D');
    // 1x1 convs (option B's projections) are matrix products, with the dense layer's.
    const pointwise = convLayers.filter((l) => l.getWeights()[0].shape[0] === 1).length;
    assert.equal(calls('MatMul'), pointwise + 1, [...kernels.keys()].join(', '));
    if (nativeOps()?.oneDnn) {
      assert.equal(nativeOps()?.fusedConv, true, "setup compiles tfjs-node's binding with list attributes (scripts/binding-patch.js)");
      assert.equal(calls('_MklNativeFusedConv2D'), convLayers.length - pointwise, [...kernels.keys()].join(', '));
      for (const separate of ['Relu', 'AddV2', 'AddN', 'FusedBatchNormV3', '_MklNativeFusedBatchNormEx', '_MklNativeConv2DWithBias'])
        assert.equal(calls(separate), 0, `${separate} ran on its own`);
    }
  } finally {
    tf.dispose([logits as tf.Tensor, reference]);
    model.dispose();
  }
}

/** RESLAB_NATIVE=portable (standard TensorFlow kernels only, as on GPUs) against the native step as this process's setting has it. */
function portableMatches({ images, labels, reversedImages, reversedLabels }: Batch): void {
  const run = () => nativePass(() => buildModel('resnet20', { seed: 5, width: 0.5 }), images, labels);
  const full = run();
  const portable = withNative('portable', () => {
    assert.equal(nativeOps()?.oneDnn, false);
    return run();
  });
  const model = buildModel('resnet20', { seed: 5, width: 0.5 });
  const noise = autodiffPass(model, reversedImages, reversedLabels);
  model.dispose();
  try {
    assertSamePass(portable, full, noise);
    assert.ok(relativeL2(portable.logits, full.logits) < 1e-4);
  } finally {
    disposePasses(full, portable, noise);
    tf.dispose([full.logits, portable.logits]);
  }
}

export const BLOCK_STYLES: Array<{ block: 'basic' | 'bottleneck'; shortcut: ShortcutOption; order: BlockOrder; width: number }> = [];
for (const block of ['basic', 'bottleneck'] as const)
  for (const shortcut of ['A', 'B', 'C'] as const)
    for (const order of ['post', 'pre'] as const) for (const width of [0.25, 0.5, 1]) BLOCK_STYLES.push({ block, shortcut, order, width });

/** Every case, `quick` ones only for the settings that get a reduced run (the narrowest width, where channel counts are smallest). */
export function matrixCases(scope: 'full' | 'quick'): MatrixCase[] {
  const cases: MatrixCase[] = [];
  if (scope === 'full') {
    for (const [label, build] of ARCHITECTURES)
      cases.push({
        id: `${label}: the native step's loss, gradients, BN statistics and logits match tfjs's autodiff`,
        run: (b) => nativeMatchesAutodiff(build, b),
      });
    cases.push({ id: 'RESLAB_NATIVE=portable computes the same as the native step', run: portableMatches });
    const inference: Array<[string, string, ModelOptions]> = [
      ['ResNet-20 (option A)', 'resnet20', {}],
      ['plain-20', 'plain20', {}],
      ['ResNet-20 option B (both branches of an add end in a batch norm)', 'resnet20', { shortcut: 'B' }],
    ];
    for (const [label, name, options] of inference)
      cases.push({
        id: `${label}: inference with each conv's batch norm folded in (and fused with its add and ReLU) gives tfjs's logits`,
        run: (b) => fusedInference(name, options, b),
      });
  }
  for (const style of BLOCK_STYLES) {
    if (scope === 'quick' && style.width !== 0.25) continue;
    const build = () => blockStyleNet(style.block, { shortcut: style.shortcut, order: style.order, width: style.width, seed: 3 });
    const label = `${style.block} blocks, option ${style.shortcut}, ${style.order}-activation, width ${style.width}`;
    cases.push({ id: `${label}: native step = tfjs's autodiff`, run: (b) => nativeMatchesAutodiff(build, b) });
    cases.push({ id: `${label}: trains (native step and model.fit)`, run: (b) => trainsBriefly(build, b) });
  }
  cases.push(...bfloat16Cases());
  return cases;
}
