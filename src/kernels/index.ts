/**
 * The TensorFlow kernels reslab relies on, on the CPU at hand: a self-check run once per CPU +
 * library version + oneDNN setting in child processes (./check.ts, cached by ./cache.ts), the
 * setting it switches to when a kernel crashes or computes wrong numbers, and the routes around
 * kernels known to be broken somewhere (./routes.ts, and the native step's plan pass).
 * Used by backend selection, before TensorFlow loads; `reslab doctor` shows the result.
 */
import { summarizeCheck } from './summary';
import { keyOf, KernelCheckReport, kernelCheckIdentity, readKernelCheck, settingsOf, writeKernelCheck } from './cache';
import { checkKernels, CheckSettings, KernelCheckOutcome } from './check';
import { ChildUnavailable } from './isolated';
import { describeCpu } from './cpu';

export { KernelCheckReport } from './cache';
export { CaseResult, KernelRoute } from './check';
export { cpuInfo, describeCpu, CpuInfo } from './cpu';
export { summarizeCheck, describeResult } from './summary';

let current: KernelCheckReport | undefined;

function say(line: string): void {
  process.stderr.write(`reslab: ${line}\n`);
}

function store(outcome: KernelCheckOutcome, settings: CheckSettings): KernelCheckReport | undefined {
  const identity = kernelCheckIdentity(settings);
  if (!identity) return undefined;
  const report: KernelCheckReport = { ...outcome, key: keyOf(identity), identity, checkedAt: new Date().toISOString() };
  const problem = writeKernelCheck(report);
  if (problem) say(`could not keep the kernel self-check's result (${problem}); it will run again in the next process`);
  return report;
}

/**
 * The self-check's result for this process's settings: stored, or run now (10-40 s, said on
 * stderr) when missing or stale, or always with `fresh`. Undefined inside a check process, without
 * @tensorflow/tfjs-node, or when its native backend does not load in a child (backend selection
 * then says why in this process).
 */
export function ensureKernelCheck(options: { fresh?: boolean } = {}): KernelCheckReport | undefined {
  if (process.env.RESLAB_KERNEL_CHECK === 'child') return undefined;
  const settings = settingsOf(process.env);
  const identity = kernelCheckIdentity(settings);
  if (!identity) return undefined;
  const stored = options.fresh ? undefined : readKernelCheck(identity);
  if (stored) return (current = stored);
  say(`checking TensorFlow's kernels on this CPU, once: ${describeCpu()}`);
  let outcome: KernelCheckOutcome;
  try {
    outcome = checkKernels(settings);
  } catch (error) {
    if (error instanceof ChildUnavailable) return undefined;
    throw error;
  }
  const report = store(outcome, settings);
  // The setting switched to was checked in full: store it as its own result, for the processes that inherit it.
  const trial = outcome.trials.find((t) => 'settings' in outcome.route && t.settings === outcome.route.settings);
  if (trial) store({ ...trial, route: { kind: 'as is' }, trials: [], seconds: 0 }, trial.settings);
  if (report) say(`kernel self-check: ${summarizeCheck(report).join('; ')}`);
  return (current = report);
}

/**
 * Switches this process (and the processes it starts) to the setting the check chose, by setting
 * its environment variable before TensorFlow loads. Returns a line saying what changed and why, or
 * undefined when nothing had to.
 */
export function applyKernelRoute(report: KernelCheckReport): string | undefined {
  const { route } = report;
  if (route.kind === 'as is') return undefined;
  if (route.kind === 'broken')
    return 'WARNING: some of the TensorFlow kernels reslab uses crash or compute wrong numbers on this CPU under every setting tried; results may be wrong (`reslab doctor` lists them)';
  Object.assign(process.env, route.settings);
  return summarizeCheck(report)[1];
}

/** The result backend selection used in this process (undefined before it, or when none applies). */
export function currentKernelCheck(): KernelCheckReport | undefined {
  return current;
}
