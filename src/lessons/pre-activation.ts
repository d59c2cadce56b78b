/**
 * Pre-activation (He et al. 2016, "Identity mappings in deep residual networks"): BN and ReLU
 * before each conv, nothing after the addition, so the shortcut path is a clean identity from the
 * first block to the last. The paper: little change for shallow nets, lower error for deep ones.
 */
import { Finding, judge, NOISE_POINTS, scaleOf } from '../experiments/claims';
import { barelyLearning, errorText, netResults, NetResult, signedPoints } from './nets';

/** What the 2016 paper and others measured on CIFAR-10, post- vs pre-activation, by depth. */
export const PRE_ACTIVATION_REFERENCE: Array<{ depth: number; measured: string }> = [
  { depth: 20, measured: 'accuracy 91.06% vs 91.07%: the two orders within 0.01 point (UvA deep-learning tutorial 5)' },
  { depth: 110, measured: 'test error 6.61% → 6.37% (He et al. 2016, Table 2)' },
  { depth: 164, measured: 'test error 5.93% → 5.46% (He et al. 2016, Tables 2 and 3, bottleneck)' },
  { depth: 1001, measured: 'test error 7.61% → 4.92% (He et al. 2016, Table 3, bottleneck)' },
];

/** Post- and pre-activation ResNets of each depth (option A, no other variant). */
export function orderResults(records: Parameters<typeof netResults>[0]): Array<{ depth: number; post?: NetResult; pre?: NetResult }> {
  const results = netResults(records.filter((r) => r.run.family === 'resnet' && (!r.run.variant || r.run.variant === 'pre-activation')));
  const depths = [...new Set(results.map((r) => r.depth))].sort((a, b) => a - b);
  return depths.map((depth) => ({
    depth,
    post: results.find((r) => r.depth === depth && !r.variant),
    pre: results.find((r) => r.depth === depth && r.variant === 'pre-activation'),
  }));
}

/** A Markdown table: each depth's post and pre errors over seeds, their difference, and the published figures. */
export function orderMarkdown(rows: ReturnType<typeof orderResults>): string {
  const reference = (depth: number) => PRE_ACTIVATION_REFERENCE.find((p) => p.depth === depth)?.measured ?? '–';
  return [
    '| depth | post-activation: training error | pre-activation: training error | pre − post | test error post → pre | published, post → pre |',
    '|---|---|---|---|---|---|',
    ...rows.map(({ depth, post, pre }) =>
      post && pre
        ? `| ${depth} | ${errorText(post.trainError, post.seeds.length)} | ${errorText(pre.trainError, pre.seeds.length)} | ${signedPoints(pre.trainError.mean - post.trainError.mean)} | ${post.testError.mean.toFixed(1)}% → ${pre.testError.mean.toFixed(1)}% | ${reference(depth)} |`
        : `| ${depth} | ${post ? errorText(post.trainError, post.seeds.length) : '–'} | ${pre ? errorText(pre.trainError, pre.seeds.length) : '–'} | – | – | ${reference(depth)} |`,
    ),
  ].join('\n');
}

/** The verdict: pre-activation gains more at the deepest depth than at the shallowest (by more than seed noise). */
export function preActivationFinding(rows: ReturnType<typeof orderResults>): Finding {
  const claim = 'Pre-activation helps deep nets more than shallow ones: about the same error at 20 layers, lower error at 110 and deeper.';
  const paper =
    'He et al. 2016, Tables 2 and 3 (CIFAR-10 test error, post → pre): ResNet-110 6.61% → 6.37%, ResNet-164 5.93% → 5.46%, ResNet-1001 7.61% → 4.92%; at 20 layers the UvA deep-learning tutorial measures 91.06% and 91.07% accuracy for the two orders.';
  const base = { id: 'pre-activation', figure: 'He et al. 2016, Tables 2, 3', claim, paper };
  const paired = rows.filter((r) => r.post && r.pre) as Array<{ depth: number; post: NetResult; pre: NetResult }>;
  if (paired.length < 2) return { ...base, verdict: 'not tested', evidence: 'needs post- and pre-activation ResNets at two depths' };
  const [shallow, deep] = [paired[0], paired[paired.length - 1]];
  const gain = (r: (typeof paired)[number]) => r.post.trainError.mean - r.pre.trainError.mean;
  const evidence = paired
    .map(
      (r) =>
        `ResNet-${r.depth}: pre − post ${signedPoints(-gain(r))} points of running training error (${r.post.trainError.mean.toFixed(1)}% → ${r.pre.trainError.mean.toFixed(1)}%)`,
    )
    .join('; ');
  const holds = gain(deep) - gain(shallow) > NOISE_POINTS && gain(deep) > 0;
  const scale = scaleOf(paired.flatMap((r) => [...r.post.records, ...r.pre.records]));
  const early = barelyLearning(paired.flatMap((r) => [r.post, r.pre]).map((n) => ({ net: n.net, trainError: n.trainError.mean })));
  if (early) return { ...base, verdict: 'not at this scale', evidence, why: early };
  return {
    ...base,
    ...judge(holds, scale, `pre-activation does not yet gain more at ${deep.depth} layers than at ${shallow.depth}`),
    evidence: `${evidence}${paired.some((r) => r.post.seeds.length > 1 || r.pre.seeds.length > 1) ? ' (mean over seeds)' : ''}`,
  };
}
