/**
 * Where a training (or inference) step's time goes, kernel by kernel, on the active backend.
 *
 *   node dist/bench/profile.js [--model resnet20] [--width 1] [--batch 128] [--mode train|infer] [--steps 5] [--warmup 3]
 *
 * Prints the wall time per step, the part spent inside native kernels (the rest is JavaScript:
 * tfjs bookkeeping, the binding, reslab's own code), and the kernels sorted by time per step.
 * `RESLAB_NATIVE=0` profiles tfjs's straightforward path, `RESLAB_NATIVE=portable` the native
 * step without oneDNN-specific kernels.
 */
import { describeBackend, nativeUnsupportedReason, selectBackend, parseScriptFlags } from '../src';
import { logKernels } from './kernel-log';
import { workload } from './workload';

function main(): void {
  const values = parseScriptFlags(
    'node dist/bench/profile.js [--model resnet56] [--mode train|infer] [--width 1] [--batch 128] [--steps 5] [--warmup 3]',
    {
      model: { type: 'string', default: 'resnet20' },
      width: { type: 'string', default: '1' },
      batch: { type: 'string', default: '128' },
      mode: { type: 'string', default: 'train' },
      steps: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '3' },
    },
  );
  const [batch, steps, warmup] = [Number(values.batch), Number(values.steps), Number(values.warmup)];
  if (values.mode !== 'train' && values.mode !== 'infer') throw new Error(`--mode must be train or infer, got ${values.mode}`);
  console.log(describeBackend(selectBackend()));
  const { model, train, infer } = workload(values.model as string, Number(values.width), batch);
  const step = values.mode === 'train' ? train : infer;
  for (let i = 0; i < warmup; i++) step();
  const start = process.hrtime.bigint();
  const totals = logKernels(() => {
    for (let i = 0; i < steps; i++) step();
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6 / steps;
  const fallback = nativeUnsupportedReason(model);
  console.log(
    `${values.model} (width ${values.width}), batch ${batch}, ${values.mode}, ${fallback ? `tfjs autodiff path (${fallback})` : 'native path'}`,
  );
  if (!totals) {
    console.log(`${wallMs.toFixed(1)} ms per step (no kernel log on the pure-JS backend)`);
    return;
  }
  const rows = [...totals].map(([name, t]) => ({ name, calls: t.calls / steps, ms: t.ms / steps })).sort((a, b) => b.ms - a.ms);
  const kernelMs = rows.reduce((sum, r) => sum + r.ms, 0);
  const calls = rows.reduce((sum, r) => sum + r.calls, 0);
  console.log(
    `${wallMs.toFixed(1)} ms per step: ${kernelMs.toFixed(1)} ms in ${calls} native kernel calls, ${(wallMs - kernelMs).toFixed(1)} ms outside them`,
  );
  const width = Math.max(...rows.map((r) => r.name.length));
  console.log(`${'kernel'.padEnd(width)}  calls/step  ms/step  share  us/call`);
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(width)}  ${r.calls.toFixed(0).padStart(10)}  ${r.ms.toFixed(2).padStart(7)}  ${((r.ms / wallMs) * 100).toFixed(1).padStart(4)}%  ${((r.ms / r.calls) * 1000).toFixed(0).padStart(7)}`,
    );
  }
}

main();
