/**
 * The paper's shortcut options (§3.3, Table 3): A, zero-padding identity (no parameters); B,
 * projections where the shape changes; C, projections everywhere. The paper measured them on
 * ImageNet (34 layers, top-1 10-crop error: 25.03 / 24.52 / 24.19) and concluded that projections
 * are not essential for the degradation problem.
 */
import { Finding, judge, NOISE_POINTS, scaleOf } from '../experiments/claims';
import { barelyLearning, errorText, netResults, NetResult, signedPoints } from './nets';

/** Table 3 of the paper: ResNet-34's ImageNet top-1 error (%, 10-crop) with each option. */
export const PAPER_TABLE3: Record<string, number> = { A: 25.03, B: 24.52, C: 24.19 };

/** The ResNets of each depth with each shortcut option (no other variant). */
export function shortcutResults(records: Parameters<typeof netResults>[0]): NetResult[] {
  return netResults(records.filter((r) => r.run.family === 'resnet' && !r.run.variant)).sort(
    (a, b) => a.depth - b.depth || a.shortcut.localeCompare(b.shortcut),
  );
}

/** A Markdown table: depth, option, parameters, training and test error over seeds, beside Table 3. */
export function shortcutMarkdown(results: NetResult[]): string {
  return [
    "| net | option | parameters | running training error | test error | the paper's ResNet-34 (ImageNet top-1) |",
    '|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ResNet-${r.depth} | ${r.shortcut} | ${r.params.toLocaleString('en-US')} | ${errorText(r.trainError, r.seeds.length)} | ${errorText(r.testError, r.seeds.length)} | ${PAPER_TABLE3[r.shortcut]?.toFixed(2) ?? '–'}% |`,
    ),
  ].join('\n');
}

/** The verdict: at every depth the three options' training errors lie within seed noise of each other. */
export function shortcutFinding(results: NetResult[]): Finding {
  const claim = 'Projection shortcuts are not essential: options A, B and C all train well, and their differences are small.';
  const paper =
    '§4.1, Table 3: ResNet-34 A 25.03%, B 24.52%, C 24.19% top-1 on ImageNet: B is slightly better than A (A\'s zero-padded channels learn nothing), C marginally better than B (13 more projections), and "the small differences among A/B/C indicate that projection shortcuts are not essential for addressing the degradation problem".';
  const base = { id: 'shortcut-options', figure: 'Table 3', claim, paper };
  const depths = [...new Set(results.map((r) => r.depth))].filter(
    (d) => new Set(results.filter((r) => r.depth === d).map((r) => r.shortcut)).size === 3,
  );
  if (depths.length === 0) return { ...base, verdict: 'not tested', evidence: 'needs ResNets of one depth with options A, B and C' };
  const parts: string[] = [];
  let small = true;
  for (const depth of depths) {
    const [a, b, c] = ['A', 'B', 'C'].map((o) => results.find((r) => r.depth === depth && r.shortcut === o) as NetResult);
    const spread =
      Math.max(a.trainError.mean, b.trainError.mean, c.trainError.mean) - Math.min(a.trainError.mean, b.trainError.mean, c.trainError.mean);
    small &&= spread <= NOISE_POINTS;
    parts.push(
      `ResNet-${depth}: running training error A ${a.trainError.mean.toFixed(1)}%, B ${b.trainError.mean.toFixed(1)}% (${signedPoints(b.trainError.mean - a.trainError.mean)}), C ${c.trainError.mean.toFixed(1)}% (${signedPoints(c.trainError.mean - b.trainError.mean)} vs B), spread ${spread.toFixed(1)} points; parameters ${a.params.toLocaleString('en-US')} / ${b.params.toLocaleString('en-US')} / ${c.params.toLocaleString('en-US')}`,
    );
  }
  const scale = scaleOf(results.flatMap((r) => r.records));
  const early = barelyLearning(results.map((r) => ({ net: `${r.net} (option ${r.shortcut})`, trainError: r.trainError.mean })));
  if (early) return { ...base, verdict: 'not at this scale', evidence: parts.join('; '), why: early };
  return {
    ...base,
    ...judge(small, scale, `the options differ by more than ${NOISE_POINTS} points this early in training`),
    evidence: `${parts.join('; ')} (mean over seeds)`,
  };
}
