import { strict as assert } from 'assert';
import { assessClaims, describeScale, scaleOf, verdictLines } from '../src/experiments/claims';
import { ResponseCurve } from '../src/experiments/figure7';
import { RunRecord } from '../src/runs';

/** A run whose last training window and evaluation have the given errors (in percent). */
function run(
  family: 'plain' | 'resnet',
  depth: number,
  seed: number,
  trainError: number,
  trainEvalError: number,
  scale = { iterations: 600, width: 0.5, trainImages: 4000 },
): RunRecord {
  const runId = `${family}${depth}-w${scale.width}-s${seed}`;
  const base = { runId, time: 0 };
  return {
    runId,
    run: {
      model: `${family}${depth}`,
      family,
      depth,
      width: scale.width,
      shortcut: 'A',
      seed,
      iterations: scale.iterations,
      batchSize: 128,
      params: 1,
      preset: 'demo',
      trainImages: scale.trainImages,
    },
    train: [
      {
        ...base,
        type: 'train',
        iteration: scale.iterations,
        trainError: trainError / 100,
        loss: 1,
        lr: 0.1,
        window: 50,
        imagesPerSecond: 100,
      },
    ],
    eval: [
      {
        ...base,
        type: 'eval',
        iteration: scale.iterations,
        testError: (trainEvalError + 5) / 100,
        trainEvalError: trainEvalError / 100,
        testImages: 1000,
      },
    ],
    probes: [],
  };
}

const curve = (family: 'plain' | 'resnet', depth: number, std: number): ResponseCurve => ({
  runId: `${family}${depth}`,
  family,
  depth,
  stds: [std, std],
  source: 'probe',
});
const byId = (verdicts: ReturnType<typeof assessClaims>) => Object.fromEntries(verdicts.map((v) => [v.id, v]));

describe("the paper's claims: verdicts computed from runs", () => {
  it("all four claims reproduced when every seed shows them; the numbers behind each verdict are the runs' own", () => {
    const records = [0, 1].flatMap((s) => [
      run('plain', 20, s, 40 + s, 42),
      run('plain', 56, s, 70 - s, 71),
      run('resnet', 20, s, 35, 33 + s),
      run('resnet', 56, s, 36, 32),
    ]);
    const v = byId(assessClaims(records, [curve('plain', 56, 1.2), curve('resnet', 56, 0.6)]));
    assert.equal(v.degradation.verdict, 'reproduced');
    assert.match(
      v.degradation.evidence,
      /plain-56 69\.5% vs plain-20 40\.5% running training error \(mean over seeds\): \+29\.0 points \(seeds 0\/1: \+30\.0 \/ \+28\.0\)/,
    );
    assert.equal(v['residual-fixes-degradation'].verdict, 'reproduced');
    assert.match(v['residual-fixes-degradation'].evidence, /ResNet-56 36\.0% vs plain-56 69\.5%/);
    assert.equal(v['residual-gains-from-depth'].verdict, 'reproduced');
    assert.match(
      v['residual-gains-from-depth'].evidence,
      /^ResNet-56 36\.0% vs ResNet-20 35\.0% running training error \(mean over seeds\): \+1\.0 points \(seeds 0\/1: \+1\.0 \/ \+1\.0\) \(judged: at most \+1 allowed\)/,
    );
    assert.match(
      v['residual-gains-from-depth'].evidence,
      /ResNet-56 32\.0% vs ResNet-20 33\.5% training error in inference mode .*−1\.0 \/ −2\.0/,
    );
    assert.match(v['residual-gains-from-depth'].paper, /ResNet-20 8\.75%, ResNet-56 6\.97%/);
    assert.equal(v['smaller-responses'].verdict, 'reproduced');
    assert.match(v['smaller-responses'].evidence, /ResNet-56 0\.60 vs plain-56 1\.20/);
  });

  it('a claim that fails for one seed below the paper\'s scale is "not at this scale", saying why', () => {
    const records = [0, 1].flatMap((s) => [
      run('plain', 20, s, 40, 40),
      run('plain', 56, s, 70, 70),
      run('resnet', 20, s, 35, 33),
      run('resnet', 56, s, s === 1 ? 37 : 35, 32),
    ]);
    const v = byId(assessClaims(records, []));
    assert.equal(v['residual-gains-from-depth'].verdict, 'not at this scale');
    assert.match(
      v['residual-gains-from-depth'].why ?? '',
      /ResNet-56 is still catching up with ResNet-20: 600 of the paper's 64,000 iterations, width 0\.5 \(8\/16\/32 filters instead of 16\/32\/64\), 4,000 of 50,000 training images/,
    );
    assert.equal(v['smaller-responses'].verdict, 'not tested');
  });

  it('at the paper\'s scale the same failure is "not reproduced"; missing nets are "not tested"', () => {
    const paper = { iterations: 64_000, width: 1, trainImages: 50_000 };
    const records = [run('plain', 20, 0, 5, 5, paper), run('plain', 56, 0, 4, 4, paper)];
    const v = byId(assessClaims(records, []));
    assert.equal(v.degradation.verdict, 'not reproduced');
    assert.equal(v.degradation.why, undefined);
    assert.equal(v['residual-gains-from-depth'].verdict, 'not tested');
    assert.match(v['residual-gains-from-depth'].evidence, /needs ResNets at two depths/);
    assert.equal(describeScale(scaleOf(records)), "the paper's scale (64,000 iterations, width 1, all training images)");
  });

  it('nets that have barely started to learn show neither degradation nor a gain from depth', () => {
    const v = byId(
      assessClaims(
        [run('plain', 20, 0, 78, 80), run('plain', 56, 0, 85, 88), run('resnet', 20, 0, 83, 83), run('resnet', 56, 0, 83, 83)],
        [],
      ),
    );
    assert.equal(v.degradation.verdict, 'not at this scale');
    assert.match(v.degradation.why ?? '', /plain-20 has barely started to learn \(training error above 70%\)/);
    assert.equal(v['residual-gains-from-depth'].verdict, 'not at this scale', 'equal near-chance errors show nothing');
    assert.match(v['residual-gains-from-depth'].why ?? '', /ResNet-20 has barely started to learn/);
  });

  it('Fig. 7 is judged from 20 layers on, where the paper draws it; 8 layers are named as not judged', () => {
    const records = [run('plain', 8, 0, 40, 40), run('plain', 44, 0, 60, 60), run('resnet', 8, 0, 38, 38), run('resnet', 44, 0, 30, 30)];
    const both = byId(
      assessClaims(records, [curve('plain', 8, 1.2), curve('resnet', 8, 1.3), curve('plain', 44, 1.3), curve('resnet', 44, 0.9)]),
    );
    assert.equal(both['smaller-responses'].verdict, 'reproduced', 'the tie at 8 layers does not decide the verdict');
    assert.match(both['smaller-responses'].evidence, /judged at 44 layers: ResNet-44 0\.90 vs plain-44 1\.30/);
    assert.match(both['smaller-responses'].evidence, /Not judged at 8 layers: the paper draws Fig\. 7 from 20 layers on/);
    assert.doesNotMatch(both['smaller-responses'].evidence, /ResNet-8 1\.30 vs plain-8/);

    const shallowOnly = byId(assessClaims(records, [curve('plain', 8, 1.2), curve('resnet', 8, 0.6)]));
    assert.equal(shallowOnly['smaller-responses'].verdict, 'not tested');
    assert.match(shallowOnly['smaller-responses'].evidence, /needs a plain net and a ResNet of 20 layers or more.*Not judged at 8 layers/);
  });

  it('the CLI lines carry the scale, each verdict and its numbers', () => {
    const records = [run('plain', 20, 0, 40, 40), run('plain', 56, 0, 70, 70)];
    const lines = verdictLines(assessClaims(records, []), scaleOf(records)).join('\n');
    assert.match(lines, /^The paper's claims: 1 of 4 claims reproduced, 3 not tested \(600 of the paper's 64,000 iterations/);
    assert.match(lines, /\n {2}reproduced {9}Fig\. 1 .*Degradation/);
    assert.match(lines, /plain-56 70\.0% vs plain-20 40\.0% running training error: \+30\.0 points/);
  });
});
