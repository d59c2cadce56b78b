/** check.answer: a reader's number against the one reslab computes from the same runs. */
import { CheckReport } from './report';

/**
 * Compares `yours` with `expected` (equal within `tolerance`, default 1e-6 relative), e.g. a ratio
 * the reader computed from a run's events. `hint` says where to look when it differs. Prints the
 * report (unless `quiet`) and returns it.
 */
export function checkAnswer(
  question: string,
  yours: number | undefined,
  expected: number,
  options: { tolerance?: number; hint?: string; quiet?: boolean } = {},
): CheckReport {
  const report = new CheckReport(question, 'your answer is the one reslab computes from the same runs.');
  const tolerance = options.tolerance ?? 1e-6 * Math.max(1, Math.abs(expected));
  const shown = (v: number) => (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toPrecision(4));
  if (yours === undefined || typeof yours !== 'number' || !Number.isFinite(yours)) {
    report.add(false, `not answered yet (yours is ${String(yours)})`);
    report.diagnose('unanswered', options.hint ?? 'give your answer as a number.');
  } else {
    const equal = Math.abs(yours - expected) <= tolerance;
    report.add(equal, `yours is ${shown(yours)}${equal ? '' : `, reslab computes ${shown(expected)}`}`);
    if (!equal) report.diagnose('different', options.hint ?? 'compare your steps with the lesson above.');
  }
  if (!options.quiet) console.log(report.toString());
  return report;
}
