/** The final figures of each net as trained (its seeds together), which the lessons' tables compare. */
import { netGroups } from 'reslab-protocol';
import { BARELY_LEARNING } from '../experiments/claims';
import { meanStd } from '../experiments/figures';
import { RunRecord } from '../runs';

/** A net as trained (a depth, shortcut and variant) over its seeds: final errors in percent. */
export interface NetResult {
  /** netLabel: `ResNet-20 B`, `ResNet-110, pre-activation`. */
  net: string;
  depth: number;
  shortcut: string;
  variant?: string;
  params: number;
  seeds: number[];
  /** Running training error of the last logged window: mean and sample std over seeds. */
  trainError: { mean: number; std: number };
  /** Test error of the last evaluation: mean and sample std over seeds. */
  testError: { mean: number; std: number };
  records: RunRecord[];
}

/** The finished-or-not runs with a training window and an evaluation, grouped by net. */
export function netResults(records: RunRecord[]): NetResult[] {
  const measured = records.filter((r) => r.train.length > 0 && r.eval.length > 0);
  return netGroups(measured).map(({ net, runs }) => {
    const first = runs[0].run;
    const percent = (values: number[]) => (({ mean, std }) => ({ mean: mean * 100, std: std * 100 }))(meanStd(values));
    return {
      net,
      depth: first.depth,
      shortcut: first.shortcut,
      variant: first.variant,
      params: first.params,
      seeds: runs.map((r) => r.run.seed),
      trainError: percent(runs.map((r) => r.train[r.train.length - 1].trainError)),
      testError: percent(runs.map((r) => r.eval[r.eval.length - 1].testError)),
      records: runs,
    };
  });
}

/**
 * The "not at this scale" reason when some of `results` have barely started to learn (running
 * training error above the claims' BARELY_LEARNING): comparing them shows seed noise, not the claim.
 */
export function barelyLearning(results: Array<{ net: string; trainError: number }>): string | undefined {
  const early = results.filter((r) => r.trainError > BARELY_LEARNING);
  if (early.length === 0) return undefined;
  return `${early.map((r) => `${r.net} (${r.trainError.toFixed(1)}%)`).join(', ')} ${early.length > 1 ? 'have' : 'has'} barely started to learn (running training error above ${BARELY_LEARNING}%): a comparison this early shows noise`;
}

/** `31.2% ± 0.8` over several seeds, `31.2%` for one. */
export function errorText(error: { mean: number; std: number }, seeds: number): string {
  return seeds > 1 ? `${error.mean.toFixed(1)}% ± ${error.std.toFixed(1)}` : `${error.mean.toFixed(1)}%`;
}

/** `+1.2` / `−0.4` points. */
export function signedPoints(v: number): string {
  return `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(1)}`;
}
