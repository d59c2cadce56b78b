import type { KernelCheckReport } from './cache';
import { CaseResult, failuresOf } from './check';

/** `crashed (SIGSEGV: free(): invalid next size)`, `wrong (relative error 0.35)`, ... */
export function describeResult(r: CaseResult): string {
  switch (r.status) {
    case 'ok':
      return `ok (relative error ${r.error.toExponential(1)})`;
    case 'wrong':
      return `WRONG numbers (relative error ${r.error.toPrecision(2)})`;
    case 'failed':
      return `failed: ${r.message}`;
    case 'skipped':
      return `not used here: ${r.reason}`;
    case 'crashed':
      return `CRASHED (${r.signal}${r.message ? `: ${r.message}` : ''})`;
    case 'hung':
      return 'HUNG (no answer within 3 minutes)';
  }
}

function settingsText(settings: Record<string, string | undefined>): string {
  return Object.entries(settings)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** Two lines: what the check found, and what reslab does about it. */
export function summarizeCheck(report: KernelCheckReport): [string, string] {
  const used = report.results.filter((r) => !r.routedAround && r.status !== 'skipped');
  const failed = failuresOf(report.results);
  const direct = report.results.filter((r) => r.routedAround && r.status !== 'skipped');
  const directBad = direct.filter((r) => r.status !== 'ok');
  const isa = report.oneDnnIsa ? `oneDNN ${report.oneDnnIsa}` : 'oneDNN off';
  const routedAround = directBad.length
    ? `; TensorFlow's own 1x1 convolution kernels fail here (${directBad.map(describeResult).join(', ')}; ${directBad.length} of ${direct.length} shapes): reslab computes 1x1 convolutions as matrix products`
    : direct.length
      ? "; TensorFlow's own 1x1 convolution kernels are right here too (reslab computes them as matrix products anyway: the same numbers, as fast)"
      : '';
  const found = `${used.length - failed.length} of ${used.length} kernels reslab uses are right (${isa}; checked in ${report.seconds.toFixed(0)} s)${routedAround}`;
  const { route } = report;
  const why = failed.length
    ? `${failed.length} failed as set (${failed
        .slice(0, 2)
        .map((r) => `${r.id}: ${describeResult(r)}`)
        .join('; ')}${failed.length > 2 ? '; ...' : ''})`
    : '';
  switch (route.kind) {
    case 'as is':
      return [found, 'nothing to switch'];
    case 'standard kernels':
      return [
        found,
        `reslab's native step uses TensorFlow's standard kernels instead of oneDNN's by name (${settingsText(route.settings)}): ${why}`,
      ];
    case 'isa':
      return [found, `oneDNN is capped at ${route.oneDnnIsa ?? route.isa} (${settingsText(route.settings)}), slower but right: ${why}`];
    case 'onednn off':
      return [found, `oneDNN is off (${settingsText(route.settings)}): TensorFlow's standard kernels, slower but right: ${why}`];
    case 'broken':
      return [found, `no setting tried gives right numbers: ${why}`];
  }
}
