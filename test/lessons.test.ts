import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { BlockProbe, RunDescriptor } from 'reslab-protocol';
import { buildModel, lessons, predictLogits } from '../src';
import { RunRecord } from '../src/runs';

/** A run record with the given final running training and test errors (%) and, optionally, probes and a training curve. */
function record(
  run: Partial<RunDescriptor> & Pick<RunDescriptor, 'family' | 'depth'>,
  trainError: number,
  testError: number,
  extra: { probes?: BlockProbe[][]; curve?: Array<[number, number, number?]>; failed?: boolean } = {},
): RunRecord {
  const descriptor: RunDescriptor = {
    model: `${run.family}${run.depth}`,
    width: 0.5,
    shortcut: 'A',
    seed: 0,
    iterations: 1000,
    batchSize: 128,
    params: 1000,
    preset: 'cpu',
    trainImages: 10_000,
    ...run,
  };
  const runId = `${descriptor.model}-${descriptor.shortcut}-${descriptor.variant ?? ''}-s${descriptor.seed}`;
  const base = { runId, time: 0 };
  const curve = extra.curve ?? [[descriptor.iterations, trainError]];
  return {
    runId,
    run: descriptor,
    train: curve.map(([iteration, error, lr]) => ({
      ...base,
      type: 'train',
      iteration,
      trainError: error / 100,
      loss: 1,
      lr: lr ?? 0.1,
      window: 10,
      imagesPerSecond: 100,
    })),
    eval: [{ ...base, type: 'eval', iteration: descriptor.iterations, testError: testError / 100, testImages: 2000 }],
    probes: (extra.probes ?? []).map((blocks, k) => ({ ...base, type: 'probe', iteration: k * 100, blocks })),
    end: extra.failed ? { ...base, type: 'run_end', iteration: 10, status: 'failed', wallSeconds: 1 } : undefined,
  };
}

/** Probe blocks of a CIFAR net with the given gradient norms (first to last). */
const probe = (depth: number, gradNorms: (b: number, n: number) => number): BlockProbe[] => {
  const n = (depth - 2) / 6;
  return Array.from({ length: 3 * n }, (_, b) => ({
    block: `stage${Math.floor(b / n) + 1}_block${(b % n) + 1}`,
    responseStd: [1],
    inputNorm: 1,
    branchNorm: 1,
    outputNorm: 1,
    branchRatio: 0.5,
    gradNorm: gradNorms(b, 3 * n),
    deadReluFraction: 0,
  }));
};

describe("the tutorials' measurements and verdicts (reslab.lessons)", () => {
  it('gradient flow compares blocks per weight: a stage-3 block with 16 times the weights and 4 times the norm is the same per weight', () => {
    const weights = lessons.weightsPerBlock({ model: 'plain20', width: 1, shortcut: 'A' });
    assert.equal(weights.get('stage1_block1'), 2 * (9 * 16 * 16) + 2 * 2 * 16);
    assert.equal(weights.get('stage3_block3'), 2 * (9 * 64 * 64) + 2 * 2 * 64);
    const blocks = probe(20, (b) => (b === 0 ? 1 : 4));
    const ratio = lessons.gradientRatio(blocks, weights);
    assert.ok(
      Math.abs(ratio - Math.sqrt(weights.get('stage3_block3') as number) / Math.sqrt(weights.get('stage1_block1') as number) / 4) < 1e-9,
    );
    assert.ok(ratio > 0.95 && ratio < 1.05, `about 1 per weight, got ${ratio}`);
  });

  it('healthy gradients and a training gap: reproduced; a vanishing gradient: not reproduced; nets still near chance: not at this scale', () => {
    const healthy = (b: number, n: number) => (b < n / 3 ? 1 : b < (2 * n) / 3 ? 2 : 4);
    const runs = [
      record({ family: 'plain', depth: 20 }, 50, 55, { probes: [probe(20, healthy), probe(20, healthy)] }),
      record({ family: 'resnet', depth: 20 }, 35, 40, { probes: [probe(20, healthy), probe(20, healthy)] }),
    ];
    const good = lessons.gradientFinding(runs);
    assert.equal(good.verdict, 'reproduced', good.evidence);
    assert.match(good.evidence, /running training error plain-20 50\.0% vs ResNet-20 35\.0% \(\+15\.0 points\)/);
    const vanishing = (b: number) => 10 ** (-3 + (3 * b) / 8);
    runs[0] = record({ family: 'plain', depth: 20 }, 50, 55, { probes: [probe(20, healthy), probe(20, vanishing)] });
    const bad = lessons.gradientFinding(runs);
    assert.equal(bad.verdict, 'not reproduced');
    assert.match(bad.evidence, /does shrink below 0\.1/);
    const early = lessons.gradientFinding([
      record({ family: 'plain', depth: 20 }, 82, 85, { probes: [probe(20, healthy)] }),
      record({ family: 'resnet', depth: 20 }, 84, 85, { probes: [probe(20, healthy)] }),
    ]);
    assert.equal(early.verdict, 'not at this scale');
    assert.match(early.why ?? '', /barely started to learn/);
  });

  it('a deleted block is its shortcut: with F(x) = 0 a ResNet is unchanged, a plain net is not; unknown blocks are named', () => {
    const config = { model: 'resnet20', modelOptions: { width: 0.25, zeroInitResidual: true, seed: 3 } };
    const trained = buildModel(config.model, config.modelOptions);
    const x = tf.randomNormal([4, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const intact = predictLogits(trained, x);
    for (const deleted of [['stage1_block2'], ['stage2_block1'], ['stage1_block1', 'stage3_block3']]) {
      const net = lessons.lesioned(trained, config, deleted);
      assert.ok(
        net.layers.every((l) => !deleted.some((b) => l.name.startsWith(`${b}_conv`))),
        'its convs are gone',
      );
      const diff = tf.tidy(() => predictLogits(net, x).sub(intact).abs().max().dataSync()[0]);
      assert.ok(diff < 1e-5, `${deleted.join('+')}: logits moved by ${diff}`);
      net.dispose();
    }
    const plainConfig = { model: 'plain20', modelOptions: { width: 0.25, seed: 3 } };
    const plain = buildModel(plainConfig.model, plainConfig.modelOptions);
    const plainNet = lessons.lesioned(plain, plainConfig, ['stage1_block2']);
    const plainDiff = tf.tidy(() => predictLogits(plainNet, x).sub(predictLogits(plain, x)).abs().max().dataSync()[0]);
    assert.ok(plainDiff > 1e-3, 'a plain block is not the identity');
    assert.throws(
      () => lessons.lesioned(trained, config, ['stage4_block1']),
      /resnet20 has no block stage4_block1: its blocks are stage1_block1, /,
    );
    assert.deepEqual(
      lessons
        .blocksOf(trained)
        .filter((b) => b.downsampling)
        .map((b) => b.block),
      ['stage2_block1', 'stage3_block1'],
    );
    tf.dispose([x, intact]);
  });

  it('the lesion verdict: smooth for the ResNet and a collapse of the plain net reproduce Veit et al.; untrained nets are not at this scale', () => {
    const study = (family: 'plain' | 'resnet', intact: number, deleted: number): lessons.LesionStudy => ({
      runId: family,
      net: family === 'plain' ? 'plain-56' : 'ResNet-56',
      family,
      testImages: 2000,
      intact,
      single: Array.from({ length: 9 }, (_, i) => ({ block: `b${i}`, downsampling: i === 3, testError: i === 3 ? 90 : deleted })),
      several: [{ count: 2, testErrors: [deleted + 1, deleted + 3] }],
    });
    const finding = lessons.lesionFinding([study('resnet', 30, 32), study('plain', 55, 88)]);
    assert.equal(finding.verdict, 'reproduced');
    assert.match(finding.evidence, /ResNet-56 32\.0% \(intact 30\.0%, \+2\.0 points\), plain-56 88\.0% \(intact 55\.0%, \+33\.0 points\)/);
    assert.equal(lessons.lesionFinding([study('resnet', 30, 45), study('plain', 55, 88)]).verdict, 'not reproduced');
    assert.equal(lessons.lesionFinding([study('resnet', 30, 31), study('plain', 55, 60)]).verdict, 'not reproduced');
    const early = lessons.lesionFinding([study('resnet', 82, 83), study('plain', 79, 88)]);
    assert.equal(early.verdict, 'not at this scale');
    assert.match(
      early.why ?? '',
      /the intact ResNet-56 \(82\.0%\) and the intact plain-56 \(79\.0%\) have barely started to learn \(test error above 70%\)/,
    );
    const table = lessons.lesionMarkdown([study('resnet', 30, 32)]);
    assert.match(table, /\| net \| intact \| one block deleted: median \| worst \| a downsampling block deleted \| 2 deleted \|/);
    assert.match(table, /\| ResNet-56 \| 30\.0% \| 32\.0% \| 32\.0% \(b0\) \| 90\.0% \(b3\) \| 34\.0% \|/);
  });

  it('shortcut options: within noise is reproduced, the parameters and the paper beside them', () => {
    const runs = ['A', 'B', 'C'].flatMap((shortcut, k) =>
      [0, 1].map((seed) => record({ family: 'resnet', depth: 20, shortcut, seed, params: 1000 + k * 100 }, 40 + k * 0.5 + seed, 45)),
    );
    const results = lessons.shortcutResults(runs);
    assert.deepEqual(
      results.map((r) => r.net),
      ['ResNet-20', 'ResNet-20 B', 'ResNet-20 C'],
    );
    const finding = lessons.shortcutFinding(results);
    assert.equal(finding.verdict, 'reproduced');
    assert.match(
      finding.evidence,
      /A 40\.5%, B 41\.0% \(\+0\.5\), C 41\.5% \(\+0\.5 vs B\), spread 1\.0 points; parameters 1,000 \/ 1,100 \/ 1,200 \(mean over seeds\)/,
    );
    assert.match(lessons.shortcutMarkdown(results), /\| ResNet-20 \| B \| 1,100 \| 41\.0% ± 0\.7 \| 45\.0% ± 0\.0 \| 24\.52% \|/);
    const apart = lessons.shortcutFinding(
      lessons.shortcutResults(runs.map((r) => (r.run.shortcut === 'C' ? record({ ...r.run }, 30, 40) : r))),
    );
    assert.equal(apart.verdict, 'not at this scale');
    assert.match(
      apart.why ?? '',
      /the options differ by more than 2 points this early in training: 1,000 of the paper's 64,000 iterations/,
    );
  });

  it('first steps: the first window below 80%, stalled and diverged runs, and the warm-up verdict', () => {
    const warm = (seed: number, start: number) =>
      record({ family: 'resnet', depth: 110, seed, iterations: 300 }, 60, 70, {
        curve: [
          [100, 85, 0.01],
          [start, 79, 0.01],
          [300, 60, 0.1],
        ],
      });
    const cold = (seed: number, curve: Array<[number, number]>, failed = false) =>
      record({ family: 'resnet', depth: 110, seed, iterations: 300, variant: 'no warm-up' }, 60, 70, { curve, failed });
    const runs = [
      warm(0, 150),
      warm(1, 200),
      warm(2, 250),
      cold(0, [
        [100, 89],
        [300, 88],
      ]),
      cold(1, [
        [100, 85],
        [280, 79],
      ]),
      cold(2, [[10, 90]], true),
    ];
    const groups = lessons.firstSteps(runs);
    const coldGroup = groups.find((g) => g.net === 'ResNet-110, no warm-up');
    assert.deepEqual(
      coldGroup?.runs.map((r) => [r.startedAt, r.diverged]),
      [
        [undefined, false],
        [280, false],
        [undefined, true],
      ],
    );
    assert.match(
      lessons.firstStepsMarkdown(groups),
      /\| ResNet-110, no warm-up \| stalled \(88\.0% at 300\), 280, diverged \| 1 of 3 \| 1 \| never \|/,
    );
    const finding = lessons.warmupFinding(runs, 'ResNet-110', 'ResNet-110, no warm-up');
    assert.equal(finding.verdict, 'reproduced');
    assert.match(
      finding.evidence,
      /without warm-up \(“ResNet-110, no warm-up”\) never, 2 of 3 seeds stalled or diverged; with the paper's warm-up \(“ResNet-110”\) 200, 0 of 3/,
    );
    assert.equal(lessons.warmupFinding(runs, 'ResNet-110', 'ResNet-110, zero-init residual').verdict, 'not tested');
  });

  it('pre-activation: a larger gain at the deeper net is reproduced; the published numbers are beside the measured ones', () => {
    const net = (depth: number, pre: boolean, trainError: number) =>
      record({ family: 'resnet', depth, ...(pre ? { variant: 'pre-activation' } : {}) }, trainError, trainError + 5);
    const rows = lessons.orderResults([net(20, false, 40), net(20, true, 40.5), net(110, false, 50), net(110, true, 44)]);
    const finding = lessons.preActivationFinding(rows);
    assert.equal(finding.verdict, 'reproduced');
    assert.match(finding.evidence, /ResNet-20: pre − post \+0\.5 points .*; ResNet-110: pre − post −6\.0 points/);
    assert.match(
      lessons.orderMarkdown(rows),
      /\| 110 \| 50\.0% \| 44\.0% \| −6\.0 \| 55\.0% → 49\.0% \| test error 6\.61% → 6\.37% \(He et al\. 2016, Table 2\) \|/,
    );
    const flat = lessons.preActivationFinding(
      lessons.orderResults([net(20, false, 40), net(20, true, 40), net(110, false, 50), net(110, true, 49)]),
    );
    assert.equal(flat.verdict, 'not at this scale');
  });
});
