/**
 * check.block: compares a reader's block with reslab's own on fixed inputs — output shapes,
 * parameter counts, outputs with the same weights, gradient flow — and names a typical mistake
 * when the reader's block matches one.
 */
import * as tf from '@tensorflow/tfjs';
import { basicBlock, BlockOrder, DEFAULT_BLOCK_STYLE, ShortcutOption } from '../blocks/blocks';
import { SeedSequence } from '../blocks/init';
import { Mistake, PLAIN, PLAIN_MISTAKES, RESIDUAL, RESIDUAL_MISTAKES, wiredBlock } from './mistakes';
import { CheckReport } from './report';
import { copyWeights, fixedUniform, isBatchNorm, pairLayers, trainableParams, varyBatchNorms } from './weights';

/** A block as the reader writes it: the input, the width of its 3×3 convs, its stride, a unique layer-name prefix. */
export type BlockFunction = (x: tf.SymbolicTensor, filters: number, stride: number, name: string) => tf.SymbolicTensor;

/** What the reader's block should be. */
export interface BlockCheckOptions {
  /** `true` (default): a residual block; `false`: its plain twin. */
  residual?: boolean;
  /** The shortcut option (default A: identity, zero-padded where the shape changes). */
  shortcut?: ShortcutOption;
  /** `post` (default, 2015) or `pre` (pre-activation, 2016; compared by outputs, no mistake names). */
  order?: BlockOrder;
  /** Do not print the report (it is returned either way). */
  quiet?: boolean;
}

/** The two shapes every block is checked on: keeping the width, and the first block of a stage (stride 2, twice the filters). */
const CASES = [
  { inChannels: 8, filters: 8, stride: 1 },
  { inChannels: 8, filters: 16, stride: 2 },
];
const SIZE = 8;
const BATCH = 4;
const TOLERANCE = 1e-4;

const count = (n: number) => n.toLocaleString('en-US');
const shapeText = (shape: readonly (number | null)[]) => `[${shape.slice(1).join(', ')}]`;

function blockModel(build: (x: tf.SymbolicTensor) => tf.SymbolicTensor, inChannels: number): tf.LayersModel {
  const input = tf.input({ shape: [SIZE, SIZE, inChannels] });
  const output = build(input);
  if (!(output instanceof tf.SymbolicTensor)) throw new Error(`the block returned ${typeof output}, not the tensor of its output`);
  return tf.model({ inputs: input, outputs: output });
}

const maxDifference = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => a.sub(b).abs().max().dataSync()[0]);

/** Whether every trainable weight of `model` gets a gradient of a fixed random projection of its output. */
function weightsWithoutGradient(model: tf.LayersModel, x: tf.Tensor): string[] {
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  return tf.tidy(() => {
    const y = model.apply(x, { training: true }) as tf.Tensor;
    const projection = tf.tensor(fixedUniform(y.size, -1, 1, 7), y.shape);
    const { grads } = tf.variableGrads(
      () => (model.apply(x, { training: true }) as tf.Tensor).mul(projection).sum() as tf.Scalar,
      variables,
    );
    return model.trainableWeights
      .filter((w) => grads[(w.read() as tf.Variable).name].abs().max().dataSync()[0] === 0)
      .map((w) => w.originalName);
  });
}

/**
 * Checks `block` against reslab's basic block: on an 8×8 input, keeping 8 channels at stride 1 and
 * going to 16 at stride 2, it compares output shapes and parameter counts, then gives the reader's
 * block reslab's weights (batch norms with non-trivial statistics) and compares outputs on fixed
 * inputs, and checks that every weight gets a gradient. When the outputs differ it tries the typical
 * mistakes and names the one that matches. Prints the report (unless `quiet`) and returns it.
 */
export function checkBlock(block: BlockFunction, options: BlockCheckOptions = {}): CheckReport {
  const residual = options.residual ?? true;
  const shortcut = options.shortcut ?? 'A';
  const order = options.order ?? 'post';
  const kind = residual ? `residual block (option ${shortcut}, ${order}-activation)` : `plain block (${order}-activation)`;
  const report = new CheckReport(
    `your block against reslab's ${kind}, on ${BATCH} fixed ${SIZE}×${SIZE} inputs`,
    `your block is the paper's ${kind}.`,
  );
  const style = { ...DEFAULT_BLOCK_STYLE, residual, shortcut, order };
  const mistakes = order === 'post' ? (residual ? RESIDUAL_MISTAKES : PLAIN_MISTAKES) : [];
  const suspects = new Map<Mistake, number>(mistakes.map((m) => [m, 0]));
  CASES.forEach(({ inChannels, filters, stride }, k) => {
    const label = `${inChannels} → ${filters} channels, stride ${stride}`;
    const reference = blockModel(
      (x) => basicBlock.build(x, { filters, stride, name: `reference${k}`, style, seeds: new SeedSequence(k + 1) }),
      inChannels,
    );
    varyBatchNorms(reference, k + 1);
    let yours: tf.LayersModel;
    try {
      yours = blockModel((x) => block(x, filters, stride, `yours${k}`), inChannels);
    } catch (error) {
      report.add(false, `${label}: building your block failed: ${error instanceof Error ? error.message : String(error)}`);
      report.diagnose('does-not-build', 'make the block build: it takes (x, filters, stride, name) and returns the output tensor.');
      return;
    }
    const want = reference.outputs[0].shape;
    const got = yours.outputs[0].shape;
    if (
      !report.add(
        JSON.stringify(want) === JSON.stringify(got),
        `${label}: output ${shapeText(got)}${JSON.stringify(want) === JSON.stringify(got) ? '' : `, expected ${shapeText(want)}`}`,
      )
    ) {
      report.diagnose(
        'wrong-shape',
        stride > 1
          ? `at stride ${stride} the block must halve the map and widen it to ${filters} channels: stride the first 3×3 conv and give the shortcut the same shape (reslab.ShortcutA for option A).`
          : 'at stride 1 the block keeps its input\'s shape: 3×3 convs with padding 1 ("same") and as many filters as the input has channels.',
      );
      return;
    }
    const wantParams = trainableParams(reference);
    const gotParams = trainableParams(yours);
    if (
      !report.add(
        wantParams === gotParams,
        `${label}: ${count(gotParams)} trainable parameters${wantParams === gotParams ? ", as reslab's" : `, reslab's block has ${count(wantParams)}`}`,
      )
    ) {
      const pairing = pairLayers(reference, yours);
      report.diagnose(
        'wrong-layers',
        `${'problem' in pairing ? pairing.problem : 'the layers differ'}: two 3×3 convs without bias, each followed by a batch norm${shortcut === 'A' ? ', and an option-A shortcut has no parameters' : ''}.`,
      );
      return;
    }
    const pairing = pairLayers(reference, yours);
    if ('problem' in pairing) {
      report.add(false, `${label}: ${pairing.problem}`);
      report.diagnose('wrong-layers', `${pairing.problem}.`);
      return;
    }
    const epsilons = pairing.pairs.flatMap(([ref, theirs]) => {
      const [want, got] = [ref.getConfig().epsilon, theirs.getConfig().epsilon];
      return isBatchNorm(ref) && want !== got ? [{ want: Number(want), got: Number(got) }] : [];
    });
    if (epsilons.length) {
      report.add(false, `${label}: your batch norms use epsilon ${epsilons[0].got}, reslab's ${epsilons[0].want}`);
      report.diagnose(
        'batch-norm-epsilon',
        `give your batch norms epsilon: ${epsilons[0].want} (Caffe's, which the paper used; ${epsilons[0].got === 0.001 ? "0.001 is Keras's default" : `yours is ${epsilons[0].got}`}): reslab.batchNorm does.`,
      );
      return;
    }
    copyWeights(pairing.pairs);
    const x = tf.tensor4d(fixedUniform(BATCH * SIZE * SIZE * inChannels, 0, 1, 11 + k), [BATCH, SIZE, SIZE, inChannels]);
    const want0 = reference.predict(x) as tf.Tensor;
    const got0 = yours.predict(x) as tf.Tensor;
    const difference = maxDifference(want0, got0);
    const same = difference <= TOLERANCE;
    report.add(
      same,
      `${label}: with reslab's weights your outputs ${same ? 'equal' : 'differ from'} reslab's (largest difference ${difference.toExponential(1)})`,
    );
    if (!same) {
      for (const mistake of mistakes) {
        if (mistake.stridedOnly && stride === 1) continue;
        const variant = blockModel(
          (v) => wiredBlock(v, filters, stride, shortcut, mistake.wiring, residual ? RESIDUAL : PLAIN),
          inChannels,
        );
        const paired = pairLayers(reference, variant);
        if ('problem' in paired) continue;
        copyWeights(paired.pairs);
        const out = variant.predict(x) as tf.Tensor;
        if (maxDifference(out, got0) <= TOLERANCE) suspects.set(mistake, (suspects.get(mistake) ?? 0) + 1);
        tf.dispose(out);
        variant.dispose();
      }
    }
    const dead = weightsWithoutGradient(yours, x);
    report.add(
      dead.length === 0,
      `${label}: ${dead.length === 0 ? 'every weight gets a gradient' : `no gradient reaches ${dead.join(', ')}: those layers do not affect the output`}`,
    );
    tf.dispose([x, want0, got0]);
    yours.dispose();
    reference.dispose();
  });
  const matched = [...suspects].filter(([, hits]) => hits > 0).sort((a, b) => b[1] - a[1]);
  if (matched.length) report.diagnose(matched[0][0].id, matched[0][0].advice);
  else if (!report.passed)
    report.diagnose(
      'wiring',
      `the layers are the right ones, but the outputs differ: compare your order with the ${residual ? `paper's Fig. 2: conv, BN, ReLU, conv, BN, add x, ReLU` : 'plain block: conv, BN, ReLU, conv, BN, ReLU'}.`,
    );
  if (!options.quiet) console.log(report.toString());
  return report;
}
