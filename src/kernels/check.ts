import * as path from 'path';
import { KernelCase, KernelPath, kernelCases } from './cases';
import { isaFromVerbose, ONEDNN_ISAS, oneDnnDisabled, requestedIsa } from './onednn';
import { IsolatedResult, runIsolated } from './isolated';
import { CaseOutcome } from './run-cases';

/**
 * The kernel self-check, parent side: runs the cases of ./cases.ts in child processes (a kernel
 * that corrupts the heap kills its process, never this one), says which crashed, computed wrong
 * numbers or failed, and picks the fastest setting under which every kernel reslab uses is right.
 */

/** One case's result; `crashed` and `hung` are seen from outside the process that ran it. */
export type CaseResult = IsolatedResult<CaseOutcome> & { path: KernelPath; routedAround?: boolean };

/** Environment overrides a check runs under (unset values are left as the user has them). */
export type CheckSettings = Partial<Record<'ONEDNN_MAX_CPU_ISA' | 'TF_ENABLE_ONEDNN_OPTS' | 'RESLAB_NATIVE', string>>;

/**
 * How reslab runs on this machine after the check: `as is`; `standard kernels` (reslab's native
 * step calls no oneDNN kernel by name, RESLAB_NATIVE=portable); `isa` (oneDNN capped at an older
 * code path with ONEDNN_MAX_CPU_ISA); `onednn off` (TF_ENABLE_ONEDNN_OPTS=0, TensorFlow's Eigen
 * kernels); `broken` when no setting gives right numbers.
 */
export type KernelRoute =
  | { kind: 'as is' }
  | { kind: 'standard kernels'; settings: CheckSettings }
  | { kind: 'isa'; isa: string; oneDnnIsa?: string; settings: CheckSettings }
  | { kind: 'onednn off'; settings: CheckSettings }
  | { kind: 'broken' };

export interface CheckRun {
  /** The code path oneDNN reports for these settings (ONEDNN_VERBOSE), undefined when oneDNN is off. */
  oneDnnIsa?: string;
  results: CaseResult[];
}

/** A setting tried because the one asked for failed. */
export type Trial = CheckRun & { settings: CheckSettings };

/** A whole check: what ran as asked, the route taken, the settings tried on the way. */
export interface KernelCheckOutcome extends CheckRun {
  route: KernelRoute;
  trials: Trial[];
  seconds: number;
}

/** A child that runs longer than this is taken to hang. */
const CHILD_TIMEOUT_MS = 180_000;

function childEnv(settings: CheckSettings, verbose: boolean): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...settings,
    RESLAB_KERNEL_CHECK: 'child',
    TF_CPP_MIN_LOG_LEVEL: '2',
    RESLAB_BACKEND: 'cpu',
    ...(verbose ? { ONEDNN_VERBOSE: '1' } : {}),
  };
}

function runInChildren(cases: KernelCase[], settings: CheckSettings, verbose = false): { results: CaseResult[]; stdout: string } {
  const script = path.join(__dirname, 'check-child.js');
  const { results, stdout } = runIsolated<KernelCase, CaseOutcome>(script, cases, childEnv(settings, verbose), CHILD_TIMEOUT_MS);
  const byId = new Map(cases.map((c) => [c.id, c]));
  return {
    results: results.map((r) => {
      const c = byId.get(r.id) as KernelCase;
      return { ...r, path: c.path, routedAround: c.routedAround };
    }),
    stdout,
  };
}

/** The code path oneDNN runs under `settings` (one small convolution with ONEDNN_VERBOSE=1). */
export function probeOneDnnIsa(settings: CheckSettings): string | undefined {
  if (oneDnnDisabled({ ...process.env, ...settings })) return undefined;
  const first = kernelCases().find((c) => c.path === 'autodiff' && c.kind === 'conv' && c.part === 'forward') as KernelCase;
  return isaFromVerbose(runInChildren([first], settings, true).stdout);
}

/** Every case under `settings`; each routed-around case in a process of its own. */
export function runChecks(settings: CheckSettings, cases: KernelCase[] = kernelCases()): CheckRun {
  const results = runInChildren(
    cases.filter((c) => !c.routedAround),
    settings,
  ).results;
  for (const c of cases.filter((k) => k.routedAround)) results.push(...runInChildren([c], settings).results);
  return { oneDnnIsa: probeOneDnnIsa(settings), results };
}

/** Cases reslab relies on (not routed around) that did not pass. */
export function failuresOf(results: CaseResult[]): CaseResult[] {
  return results.filter((r) => !r.routedAround && r.status !== 'ok' && r.status !== 'skipped');
}

/**
 * The self-check under the user's settings and, when a kernel reslab relies on fails, the next
 * settings to try, fastest first: reslab's native step on standard kernels (when only its named
 * oneDNN calls failed), oneDNN capped at each older code path this CPU distinguishes, oneDNN off.
 */
export function checkKernels(base: CheckSettings = {}, cases: KernelCase[] = kernelCases()): KernelCheckOutcome {
  const started = Date.now();
  const asked = runChecks(base, cases);
  const trials: Trial[] = [];
  const done = (route: KernelRoute): KernelCheckOutcome => ({ ...asked, route, trials, seconds: (Date.now() - started) / 1000 });
  const failed = failuresOf(asked.results);
  if (failed.length === 0) return done({ kind: 'as is' });
  const used = cases.filter((c) => !c.routedAround);
  const attempt = (settings: CheckSettings): boolean => {
    const run = runChecks(settings, used);
    trials.push({ settings, ...run });
    return failuresOf(run.results).length === 0;
  };
  const env = { ...process.env, ...base };
  const nativeOnly = failed.every((r) => r.path === 'native') && env.RESLAB_NATIVE !== 'portable' && !oneDnnDisabled(env);
  if (nativeOnly) {
    const settings = { ...base, RESLAB_NATIVE: 'portable' };
    if (attempt(settings)) return done({ kind: 'standard kernels', settings });
  }
  if (!oneDnnDisabled(env)) {
    const seen = new Set([asked.oneDnnIsa]);
    const requested = requestedIsa(env);
    const start = requested ? ONEDNN_ISAS.indexOf(requested as (typeof ONEDNN_ISAS)[number]) + 1 : 0;
    for (const isa of ONEDNN_ISAS.slice(Math.max(start, 0))) {
      const settings = { ...base, ONEDNN_MAX_CPU_ISA: isa };
      const effective = probeOneDnnIsa(settings);
      if (seen.has(effective)) continue; // the same code path as one already tried
      seen.add(effective);
      if (attempt(settings)) return done({ kind: 'isa', isa, oneDnnIsa: effective, settings });
    }
    const settings = { ...base, TF_ENABLE_ONEDNN_OPTS: '0' };
    if (attempt(settings)) return done({ kind: 'onednn off', settings });
  }
  return done({ kind: 'broken' });
}
