import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { BlockKind, BlockStyle, DEFAULT_BLOCK_STYLE, SeedSequence, ShortcutA, basicBlock, bottleneckBlock } from '../src';
import * as ref from './helpers/reference';

const EPS = DEFAULT_BLOCK_STYLE.bnEpsilon;

/** A model of one block, so its output can be compared with the reference. */
function blockModel(kind: BlockKind, inShape: [number, number, number], filters: number, stride: number, style: Partial<BlockStyle>) {
  const input = tf.input({ shape: inShape });
  const output = kind.build(input, {
    filters,
    stride,
    name: 'b',
    style: { ...DEFAULT_BLOCK_STYLE, ...style },
    seeds: new SeedSequence(7),
  });
  return tf.model({ inputs: input, outputs: output });
}

interface BnParams {
  gamma: number[];
  beta: number[];
  mean: number[];
  variance: number[];
}

function bnParams(channels: number, salt: number): BnParams {
  const c = Array.from({ length: channels }, (_, i) => i);
  return {
    gamma: c.map((i) => 0.8 + 0.15 * Math.cos(i + salt)),
    beta: c.map((i) => 0.1 * Math.sin(2 * i + salt)),
    mean: c.map((i) => 0.05 * Math.cos(3 * i + salt)),
    variance: c.map((i) => 0.6 + 0.1 * i),
  };
}

/** Gives every conv and BN layer of the model known weights; returns them by layer name. */
function setKnownWeights(model: tf.LayersModel) {
  const kernels = new Map<string, number[][][][]>();
  const norms = new Map<string, BnParams>();
  model.layers.forEach((layer, index) => {
    const type = layer.getClassName();
    if (type === 'Conv2D') {
      const [k, , inC, outC] = layer.getWeights()[0].shape as number[];
      const kernel = ref.patternKernel(k, inC, outC, index);
      kernels.set(layer.name, kernel);
      layer.setWeights([tf.tensor4d(kernel)]);
    } else if (type.endsWith('BatchNormalization')) {
      const channels = layer.getWeights()[0].shape[0] as number;
      const p = bnParams(channels, index);
      norms.set(layer.name, p);
      layer.setWeights([tf.tensor1d(p.gamma), tf.tensor1d(p.beta), tf.tensor1d(p.mean), tf.tensor1d(p.variance)]);
    }
  });
  const bn = (name: string, x: ref.Image) => {
    const p = norms.get(name);
    assert.ok(p, `no BN layer ${name}`);
    return ref.batchNorm(x, p.gamma, p.beta, p.mean, p.variance, EPS);
  };
  const conv = (name: string, x: ref.Image, stride: number, pad: number) => {
    const k = kernels.get(name);
    assert.ok(k, `no conv layer ${name}`);
    return ref.conv2d(x, k, stride, pad);
  };
  return { bn, conv, names: model.layers.map((l) => l.name) };
}

function inputImages(shape: [number, number, number]): { tensor: tf.Tensor4D; images: ref.Image[] } {
  const [h, w, c] = shape;
  const size = h * w * c;
  const values = Array.from({ length: 2 * size }, (_, i) => Math.sin(0.37 * i) + 0.3 * Math.cos(1.7 * i));
  return {
    tensor: tf.tensor4d(values, [2, h, w, c]),
    images: [0, 1].map((n) => ref.imageFrom(values.slice(n * size, (n + 1) * size), h, w, c)),
  };
}

function check(model: tf.LayersModel, inShape: [number, number, number], expected: (x: ref.Image) => ref.Image) {
  const { tensor, images } = inputImages(inShape);
  const actual = model.predict(tensor) as tf.Tensor;
  const want = images.flatMap((image) => ref.flatten(expected(image)));
  const got = actual.dataSync();
  assert.ok(ref.maxAbsDiff(got, want) < 1e-4, `max |diff| ${ref.maxAbsDiff(got, want)}`);
  tf.dispose([tensor, actual]);
  model.dispose();
}

describe('basic block', () => {
  const shape: [number, number, number] = [6, 6, 4];

  it('residual, identity shortcut: computes relu(x + F(x)) with F = BN(conv(relu(BN(conv(x)))))', () => {
    const model = blockModel(basicBlock, shape, 4, 1, { residual: true });
    const w = setKnownWeights(model);
    check(model, shape, (x) => {
      const f = w.bn('b_bn2', w.conv('b_conv2', ref.relu(w.bn('b_bn1', w.conv('b_conv1', x, 1, 1))), 1, 1));
      return ref.relu(ref.add(f, x));
    });
  });

  it('plain twin: the same layers computing relu(F(x)), no shortcut', () => {
    const model = blockModel(basicBlock, shape, 4, 1, { residual: false });
    const w = setKnownWeights(model);
    assert.ok(!w.names.some((n) => n.includes('add') || n.includes('shortcut')), w.names.join());
    check(model, shape, (x) => ref.relu(w.bn('b_bn2', w.conv('b_conv2', ref.relu(w.bn('b_bn1', w.conv('b_conv1', x, 1, 1))), 1, 1))));
  });

  it('residual with plain twin have identical parameter counts (option A)', () => {
    const residual = blockModel(basicBlock, shape, 8, 2, { residual: true, shortcut: 'A' });
    const plain = blockModel(basicBlock, shape, 8, 2, { residual: false });
    assert.equal(residual.countParams(), plain.countParams());
    residual.dispose();
    plain.dispose();
  });

  it('option A downsampling block: relu(F(x) + pad(x[::2, ::2])), padding explicit (1 on each side)', () => {
    const model = blockModel(basicBlock, shape, 8, 2, { residual: true, shortcut: 'A' });
    const w = setKnownWeights(model);
    check(model, shape, (x) => {
      const f = w.bn('b_bn2', w.conv('b_conv2', ref.relu(w.bn('b_bn1', w.conv('b_conv1', x, 2, 1))), 1, 1));
      return ref.relu(ref.add(f, ref.shortcutA(x, 2, 8)));
    });
  });

  it('option B downsampling block: projection shortcut BN(conv1x1/2(x))', () => {
    const model = blockModel(basicBlock, shape, 8, 2, { residual: true, shortcut: 'B' });
    const w = setKnownWeights(model);
    check(model, shape, (x) => {
      const f = w.bn('b_bn2', w.conv('b_conv2', ref.relu(w.bn('b_bn1', w.conv('b_conv1', x, 2, 1))), 1, 1));
      return ref.relu(ref.add(f, w.bn('b_shortcut_bn', w.conv('b_shortcut_conv', x, 2, 0))));
    });
  });

  it('option B keeps the identity where the shape is unchanged; option C projects there too', () => {
    const b = blockModel(basicBlock, shape, 4, 1, { shortcut: 'B' });
    const c = blockModel(basicBlock, shape, 4, 1, { shortcut: 'C' });
    assert.ok(!b.layers.some((l) => l.name.startsWith('b_shortcut')));
    assert.ok(c.layers.some((l) => l.name === 'b_shortcut_conv'));
    // A 1x1 conv (4x4 weights) and its BN: gamma and beta trainable, mean and variance not.
    assert.equal(c.countParams() - b.countParams(), 4 * 4 + 4 * 4);
    assert.equal(c.trainableWeights.length - b.trainableWeights.length, 3);
    b.dispose();
    c.dispose();
  });

  it('pre-activation order: x + conv(relu(BN(conv(relu(BN(x)))))), no ReLU after the addition', () => {
    const model = blockModel(basicBlock, shape, 4, 1, { order: 'pre' });
    const w = setKnownWeights(model);
    check(model, shape, (x) => {
      const h = w.conv('b_conv1', ref.relu(w.bn('b_preact_bn', x)), 1, 1);
      return ref.add(w.conv('b_conv2', ref.relu(w.bn('b_bn1', h)), 1, 1), x);
    });
  });

  it('zero-init residual: the block starts as relu(x) (post) and exactly x (pre)', () => {
    for (const order of ['post', 'pre'] as const) {
      const model = blockModel(basicBlock, shape, 4, 1, { zeroInitResidual: true, order });
      check(model, shape, (x) => (order === 'post' ? ref.relu(x) : x));
    }
  });
});

describe('bottleneck block', () => {
  for (const [placement, first, second] of [
    ['1x1', 2, 1],
    ['3x3', 1, 2],
  ] as const) {
    it(`residual, option B, stride in the ${placement} conv${placement === '1x1' ? ' (paper)' : ''}: relu(F(x) + BN(conv1x1/2(x)))`, () => {
      const shape: [number, number, number] = [6, 6, 8];
      const model = blockModel(bottleneckBlock, shape, 2, 2, { shortcut: 'B', bottleneckStride: placement });
      const w = setKnownWeights(model);
      check(model, shape, (x) => {
        let f = ref.relu(w.bn('b_bn1', w.conv('b_conv1', x, first, 0)));
        f = ref.relu(w.bn('b_bn2', w.conv('b_conv2', f, second, 1)));
        f = w.bn('b_bn3', w.conv('b_conv3', f, 1, 0));
        return ref.relu(ref.add(f, w.bn('b_shortcut_bn', w.conv('b_shortcut_conv', x, 2, 0))));
      });
    });
  }

  it('expands to 4x filters and is plain without its shortcut', () => {
    const model = blockModel(bottleneckBlock, [4, 4, 16], 4, 1, { residual: false });
    assert.deepEqual(model.outputs[0].shape, [null, 4, 4, 16]);
    assert.ok(!model.layers.some((l) => l.name.includes('shortcut') || l.name.includes('add')));
    model.dispose();
  });
});

describe('ShortcutA layer', () => {
  it('subsamples by the stride and appends zero channels (values and gradient)', () => {
    const layer = new ShortcutA({ stride: 2, outChannels: 5 });
    const values = Array.from({ length: 5 * 5 * 3 }, (_, i) => i - 20);
    const x = tf.tensor4d(values, [1, 5, 5, 3]);
    const y = layer.apply(x) as tf.Tensor;
    assert.deepEqual(y.shape, [1, 3, 3, 5]);
    assert.deepEqual(Array.from(y.dataSync()), ref.flatten(ref.shortcutA(ref.imageFrom(values, 5, 5, 3), 2, 5)));
    // d sum(y) / dx is 1 exactly at the kept pixels.
    const grad = tf.grad((input: tf.Tensor) => (layer.apply(input) as tf.Tensor).sum())(x);
    const g = grad.dataSync();
    for (let r = 0; r < 5; r++)
      for (let c = 0; c < 5; c++)
        for (let ch = 0; ch < 3; ch++) {
          assert.equal(g[(r * 5 + c) * 3 + ch], r % 2 === 0 && c % 2 === 0 ? 1 : 0);
        }
    tf.dispose([x, y, grad]);
  });

  it('adds no parameters and rejects a channel reduction', () => {
    const input = tf.input({ shape: [4, 4, 8] });
    const layer = new ShortcutA({ stride: 1, outChannels: 4 });
    assert.throws(() => layer.apply(input), /option A only adds channels/);
    const downsample = new ShortcutA({ stride: 2, outChannels: 16 });
    assert.deepEqual((downsample.apply(input) as tf.SymbolicTensor).shape, [null, 2, 2, 16]);
    assert.equal(downsample.countParams(), 0);
  });
});
