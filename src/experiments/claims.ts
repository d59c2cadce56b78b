/**
 * The paper's claims about CIFAR-10 (He et al. 2015, §4.2), each with a verdict computed from a
 * runs directory: what was reproduced, at which scale, and the numbers behind it.
 */
import { netName, PAPER_TABLE6 } from 'reslab-protocol';
import { RunRecord } from '../runs';
import { ResponseCurve } from './figure7';
import { meanStd } from './figures';

/** `not tested`: the runs needed for the claim are missing (the claim says which). */
export type Verdict = 'reproduced' | 'not reproduced' | 'not at this scale' | 'not tested';

/** A claim of a paper with the verdict the runs give it: the report's claims and the tutorials' results. */
export interface Finding {
  id: string;
  /** Where the paper shows it. */
  figure: string;
  /** The claim, in the paper's terms. */
  claim: string;
  verdict: Verdict;
  /** The measured numbers behind the verdict (or what is missing). */
  evidence: string;
  /** For `not at this scale`: what is smaller than the paper's protocol. */
  why?: string;
  /** What the paper reports for the same comparison. */
  paper: string;
}

/** One of the four CIFAR-10 claims of the 2015 paper. */
export interface ClaimVerdict extends Finding {
  id: 'degradation' | 'residual-fixes-degradation' | 'residual-gains-from-depth' | 'smaller-responses';
}

/** How far a run (or a set of runs) is from the paper's protocol (64k iterations, width 1, 50k images). */
export interface Scale {
  iterations: number;
  width: number;
  /** Training images sampled from; undefined for runs that did not record it. */
  trainImages?: number;
  batchSize: number;
}

export const PAPER_SCALE: Scale = { iterations: 64_000, width: 1, trainImages: 50_000, batchSize: 128 };

/** Differences smaller than this (percentage points of training error) are within seed noise. */
export const NOISE_POINTS = 2;
/** "Not worse": the deeper ResNet may trail the shallower one by at most this many points. */
export const DEPTH_TOLERANCE_POINTS = 1;
/** Fig. 7 is judged from this depth on (the paper draws it for 20, 56 and 110 layers). */
export const FIG7_MIN_DEPTH = 20;
/** A net whose training error is still above this (%) has barely started to learn (chance: 90%). */
export const BARELY_LEARNING = 70;

/** The smallest scale among the runs (the one that limits what they can show). */
export function scaleOf(records: RunRecord[]): Scale {
  const finalIteration = (r: RunRecord) => r.train[r.train.length - 1]?.iteration ?? 0;
  const images = records.map((r) => r.run.trainImages);
  return {
    iterations: Math.min(...records.map(finalIteration)),
    width: Math.min(...records.map((r) => r.run.width)),
    trainImages: images.every((n): n is number => n !== undefined) ? Math.min(...images) : undefined,
    batchSize: Math.min(...records.map((r) => r.run.batchSize)),
  };
}

/** Everything in which `scale` falls short of the paper's protocol, in words; empty at paper scale. */
export function shortfalls(scale: Scale): string[] {
  const out: string[] = [];
  const n = (v: number) => v.toLocaleString('en-US');
  if (scale.iterations < PAPER_SCALE.iterations) out.push(`${n(scale.iterations)} of the paper's ${n(PAPER_SCALE.iterations)} iterations`);
  if (scale.width < 1) {
    const filters = [16, 32, 64].map((f) => Math.max(1, Math.round(f * scale.width))).join('/');
    out.push(`width ${scale.width} (${filters} filters instead of 16/32/64)`);
  }
  if (scale.trainImages === undefined) out.push('training-set size not recorded');
  else if (scale.trainImages < 45_000) out.push(`${n(scale.trainImages)} of 50,000 training images`);
  return out;
}

export function describeScale(scale: Scale): string {
  const short = shortfalls(scale);
  return short.length ? short.join(', ') : "the paper's scale (64,000 iterations, width 1, all training images)";
}

/** The figures a verdict compares, per run, in percent. */
interface Final {
  seed: number;
  trainError: number;
  trainEvalError?: number;
  testError?: number;
}

function finalOf(record: RunRecord): Final {
  const train = record.train[record.train.length - 1];
  const evaluation = record.eval[record.eval.length - 1];
  return {
    seed: record.run.seed,
    trainError: train.trainError * 100,
    trainEvalError: evaluation?.trainEvalError === undefined ? undefined : evaluation.trainEvalError * 100,
    testError: evaluation === undefined ? undefined : evaluation.testError * 100,
  };
}

type Measure = 'trainError' | 'trainEvalError' | 'testError';
const MEASURE_NAMES: Record<Measure, string> = {
  trainError: 'running training error',
  trainEvalError: 'training error in inference mode',
  testError: 'test error',
};

/** Runs of one net (family, depth), one per seed. */
interface Net {
  name: string;
  finals: Final[];
}

function netsOf(records: RunRecord[], family: 'plain' | 'resnet'): Net[] {
  const depths = [...new Set(records.filter((r) => r.run.family === family).map((r) => r.run.depth))].sort((a, b) => a - b);
  return depths
    .map((depth) => ({
      name: netName({ family, depth }),
      finals: records.filter((r) => r.run.family === family && r.run.depth === depth && r.train.length > 0).map(finalOf),
    }))
    .filter((net) => net.finals.length > 0);
}

const mean = (values: number[]) => meanStd(values).mean;
const pct = (v: number) => `${v.toFixed(1)}%`;
const signed = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(1)}`;

/**
 * `a − b` of one measure, per seed where both nets ran that seed (else the difference of the
 * means, as one value). Undefined when the measure is missing.
 */
function differences(a: Net, b: Net, measure: Measure): { values: number[]; seeds?: number[]; a: number; b: number } | undefined {
  const value = (f: Final) => f[measure];
  if ([...a.finals, ...b.finals].some((f) => value(f) === undefined)) return undefined;
  const seeds = a.finals.map((f) => f.seed).filter((s) => b.finals.some((g) => g.seed === s));
  if (seeds.length === 0) {
    // No seed in common: compare the means, as one value.
    const am = mean(a.finals.map(value) as number[]);
    const bm = mean(b.finals.map(value) as number[]);
    return { values: [am - bm], a: am, b: bm };
  }
  // Paired by seed; the means are over the same seeds (a run of another seed has no partner).
  const of = (net: Net, seed: number) => value(net.finals.find((f) => f.seed === seed) as Final) as number;
  return { values: seeds.map((s) => of(a, s) - of(b, s)), seeds, a: mean(seeds.map((s) => of(a, s))), b: mean(seeds.map((s) => of(b, s))) };
}

/** "plain-56 71.3% vs plain-20 38.5% running training error: +32.8 points (seeds 0/1/2: +30.1 / +32.8 / +35.0)". */
function comparison(a: Net, b: Net, measure: Measure): string {
  const d = differences(a, b, measure);
  if (!d) return `${MEASURE_NAMES[measure]} not measured`;
  const perSeed = d.seeds && d.seeds.length > 1 ? ` (seeds ${d.seeds.join('/')}: ${d.values.map(signed).join(' / ')})` : '';
  const meanLabel = d.seeds && d.seeds.length > 1 ? ' (mean over seeds)' : '';
  return `${a.name} ${pct(d.a)} vs ${b.name} ${pct(d.b)} ${MEASURE_NAMES[measure]}${meanLabel}: ${signed(d.a - d.b)} points${perSeed}`;
}

/** The verdict for a comparison that either holds or does not: "not at this scale" (saying why) when it fails below the paper's scale. */
export function judge(holds: boolean, scale: Scale, failureAtScale: string): { verdict: Verdict; why?: string } {
  if (holds) return { verdict: 'reproduced' };
  const short = shortfalls(scale);
  if (short.length === 0) return { verdict: 'not reproduced' };
  return { verdict: 'not at this scale', why: `${failureAtScale}: ${short.join(', ')}` };
}

function untested(id: ClaimVerdict['id'], figure: string, claim: string, paper: string, needs: string): ClaimVerdict {
  return { id, figure, claim, paper, verdict: 'not tested', evidence: `needs ${needs}` };
}

function degradation(plain: Net[], scale: Scale): ClaimVerdict {
  const figure = 'Fig. 1';
  const claim = 'Degradation: the deeper plain net has higher training error than the shallower one (so it is not overfitting).';
  const paper = 'Fig. 1 (64k iterations): plain-56 has higher training and test error than plain-20 throughout training.';
  if (plain.length < 2) return untested('degradation', figure, claim, paper, 'plain nets at two depths');
  const [shallow, deep] = [plain[0], plain[plain.length - 1]];
  const d = differences(deep, shallow, 'trainError');
  const shallowLearned = d !== undefined && d.b < BARELY_LEARNING;
  const holds = shallowLearned && (d?.values.every((v) => v >= NOISE_POINTS) ?? false);
  const { verdict, why } = judge(
    holds,
    scale,
    shallowLearned
      ? `${deep.name} is not yet worse than ${shallow.name}`
      : `${shallow.name} has barely started to learn (training error above ${BARELY_LEARNING}%)`,
  );
  const test = differences(deep, shallow, 'testError');
  return {
    id: 'degradation',
    figure,
    claim,
    paper,
    verdict,
    why,
    evidence: `${comparison(deep, shallow, 'trainError')}${test ? `; test error ${pct(test.a)} vs ${pct(test.b)}` : ''}.`,
  };
}

function residualFixes(plain: Net[], resnet: Net[], scale: Scale): ClaimVerdict {
  const figure = 'Fig. 6';
  const claim = 'Residual learning fixes it: the deep ResNet trains far better than the plain net of the same depth.';
  const paper = 'Fig. 6 / Table 6: ResNet-56 6.97% test error; plain-56 is the worst of the plain nets, above plain-20.';
  const depth = Math.max(...plain.map((p) => depthOf(p)).filter((d) => resnet.some((r) => depthOf(r) === d)));
  const deepPlain = plain.find((p) => depthOf(p) === depth);
  const deepResnet = resnet.find((r) => depthOf(r) === depth);
  if (!deepPlain || !deepResnet)
    return untested('residual-fixes-degradation', figure, claim, paper, 'a plain net and a ResNet of the same depth');
  const d = differences(deepPlain, deepResnet, 'trainError');
  const holds = d?.values.every((v) => v >= NOISE_POINTS) ?? false;
  const { verdict, why } = judge(holds, scale, `${deepResnet.name} is not yet clearly below ${deepPlain.name}`);
  return {
    id: 'residual-fixes-degradation',
    figure,
    claim,
    paper,
    verdict,
    why,
    evidence: `${comparison(deepResnet, deepPlain, 'trainError')}.`,
  };
}

function depthOf(net: Net): number {
  return Number(net.name.split('-')[1]);
}

/**
 * The deeper ResNet no worse than the shallower one, judged on the running training error (what
 * the paper's Fig. 6 plots: dashed training error during training); the training error in
 * inference mode and the test error are shown beside it.
 */
function residualGains(resnet: Net[], scale: Scale): ClaimVerdict {
  const figure = 'Fig. 6 / Table 6';
  const claim = 'ResNets gain from depth: the deeper ResNet has lower error than the shallower one.';
  if (resnet.length < 2) {
    return untested(
      'residual-gains-from-depth',
      figure,
      claim,
      'Table 6: ResNet-20 8.75%, ResNet-56 6.97% test error.',
      'ResNets at two depths',
    );
  }
  const [shallow, deep] = [resnet[0], resnet[resnet.length - 1]];
  const paperOf = (net: Net) => PAPER_TABLE6[depthOf(net)];
  const paper =
    paperOf(shallow) !== undefined && paperOf(deep) !== undefined
      ? `Table 6: ${shallow.name} ${paperOf(shallow)}%, ${deep.name} ${paperOf(deep)}% test error; training error falls with depth too (Fig. 6).`
      : 'Table 6: ResNet-20 8.75%, 32 7.51%, 44 7.17%, 56 6.97%, 110 6.43% test error.';
  const d = differences(deep, shallow, 'trainError');
  // Two nets that have both barely started to learn are "equal" without showing anything.
  const shallowLearned = d !== undefined && d.b < BARELY_LEARNING;
  const holds = shallowLearned && (d?.values.every((v) => v <= DEPTH_TOLERANCE_POINTS) ?? false);
  const { verdict, why } = judge(
    holds,
    scale,
    shallowLearned
      ? `${deep.name} is still catching up with ${shallow.name}`
      : `${shallow.name} has barely started to learn (training error above ${BARELY_LEARNING}%)`,
  );
  const inference = differences(deep, shallow, 'trainEvalError') ? `; ${comparison(deep, shallow, 'trainEvalError')}` : '';
  const test = differences(deep, shallow, 'testError');
  return {
    id: 'residual-gains-from-depth',
    figure,
    claim,
    paper,
    verdict,
    why,
    evidence:
      `${comparison(deep, shallow, 'trainError')} (judged: at most +${DEPTH_TOLERANCE_POINTS} allowed)${inference}` +
      `${test ? `; test error ${pct(test.a)} vs ${pct(test.b)}` : ''}.`,
  };
}

function smallerResponses(curves: ResponseCurve[], scale: Scale): ClaimVerdict {
  const figure = 'Fig. 7';
  const claim = "Residual functions are closer to zero: ResNets' layer responses are smaller than those of their plain counterparts.";
  const paper = 'Fig. 7: the std of ResNet-20/56/110 responses lies below that of plain-20/56 at every layer index, and falls with depth.';
  const meanStd = (c: ResponseCurve) => mean(c.stds);
  const paired = [...new Set(curves.map((c) => c.depth))].filter(
    (d) => curves.some((c) => c.depth === d && c.family === 'plain') && curves.some((c) => c.depth === d && c.family === 'resnet'),
  );
  if (paired.length === 0)
    return untested('smaller-responses', figure, claim, paper, 'probes or trained models of a plain net and a ResNet of the same depth');
  // Judged where the paper draws Fig. 7: at 8 layers the two nets' responses tie within seed noise
  // (1.24 vs 1.24, 1.19 vs 1.21 on other CIFAR-10 images), so a verdict there flips with the data sample.
  const depths = paired.filter((d) => d >= FIG7_MIN_DEPTH);
  const unjudged = paired.filter((d) => d < FIG7_MIN_DEPTH);
  const notJudged = unjudged.length
    ? ` Not judged at ${unjudged.join(', ')} layers: the paper draws Fig. 7 from ${FIG7_MIN_DEPTH} layers on, and below that the gap is within seed noise.`
    : '';
  if (depths.length === 0)
    return {
      ...untested('smaller-responses', figure, claim, paper, `a plain net and a ResNet of ${FIG7_MIN_DEPTH} layers or more`),
      evidence: `needs a plain net and a ResNet of ${FIG7_MIN_DEPTH} layers or more (the paper's Fig. 7 starts at ${FIG7_MIN_DEPTH}).${notJudged}`,
    };
  const parts: string[] = [];
  const failing: string[] = [];
  for (const depth of depths.sort((a, b) => a - b)) {
    const plain = curves.filter((c) => c.depth === depth && c.family === 'plain').map(meanStd);
    const resnet = curves.filter((c) => c.depth === depth && c.family === 'resnet').map(meanStd);
    // Every seed of the ResNet below every seed of the plain net, as for the other claims.
    if (!(Math.max(...resnet) < Math.min(...plain))) failing.push(`${depth} layers`);
    const seeds = (values: number[]) => (values.length > 1 ? ` (seeds ${values.map((v) => v.toFixed(2)).join('/')})` : '');
    parts.push(
      `${netName({ family: 'resnet', depth })} ${mean(resnet).toFixed(2)}${seeds(resnet)} vs ${netName({ family: 'plain', depth })} ${mean(plain).toFixed(2)}${seeds(plain)}`,
    );
  }
  const { verdict, why } = judge(
    failing.length === 0,
    scale,
    `at ${failing.join(' and ')} the ResNet's responses are not below the plain net's for every seed`,
  );
  const source = curves.every((c) => c.source === 'model') ? 'trained models on test images' : 'the last probe of each run';
  return {
    id: 'smaller-responses',
    figure,
    claim,
    paper,
    verdict,
    why,
    evidence: `mean std of the 3x3 layers' responses (${source}), judged at ${depths.join(' and ')} layers: ${parts.join('; ')}.${notJudged}`,
  };
}

/** Verdicts for the paper's four CIFAR-10 claims from the runs (and Fig. 7's response curves). */
export function assessClaims(records: RunRecord[], curves: ResponseCurve[]): ClaimVerdict[] {
  const usable = records.filter((r) => r.train.length > 0);
  const scale = scaleOf(usable.length ? usable : records);
  const plain = netsOf(usable, 'plain');
  const resnet = netsOf(usable, 'resnet');
  return [degradation(plain, scale), residualFixes(plain, resnet, scale), residualGains(resnet, scale), smallerResponses(curves, scale)];
}

/** "3 of 4 claims reproduced, 1 not at this scale". */
export function verdictHeadline(verdicts: Finding[]): string {
  const count = (v: Verdict) => verdicts.filter((c) => c.verdict === v).length;
  const rest = (['not reproduced', 'not at this scale', 'not tested'] as Verdict[])
    .filter((v) => count(v) > 0)
    .map((v) => `${count(v)} ${v}`);
  return `${count('reproduced')} of ${verdicts.length} claims reproduced${rest.length ? `, ${rest.join(', ')}` : ''}`;
}

/** One line per claim, for terminals: `reproduced         Fig. 1  Degradation: ... — numbers`. */
export function verdictLines(verdicts: Finding[], scale: Scale): string[] {
  return [
    `The paper's claims: ${verdictHeadline(verdicts)} (${describeScale(scale)}):`,
    ...verdicts.map(
      (v) =>
        `  ${v.verdict.padEnd(18)} ${v.figure.padEnd(17)} ${v.claim}\n  ${''.padEnd(18)} ${v.evidence}${v.why ? `\n  ${''.padEnd(18)} why: ${v.why}` : ''}`,
    ),
  ];
}

/** The verdicts as a Markdown table (notebooks): the headline (`heading`: whose claims), then one row per claim. */
export function claimsMarkdown(verdicts: Finding[], scale: Scale, heading = "The paper's claims"): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  return [
    `**${heading}: ${verdictHeadline(verdicts)}** at ${cell(describeScale(scale))}.`,
    '',
    '| verdict | claim | measured here | the paper |',
    '|---|---|---|---|',
    ...verdicts.map(
      (v) =>
        `| **${v.verdict}** | ${cell(v.claim)} (${v.figure}) | ${cell(v.evidence)}${v.why ? ` *Why: ${cell(v.why)}.*` : ''} | ${cell(v.paper)} |`,
    ),
  ].join('\n');
}
