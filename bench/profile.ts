/**
 * Where a training (or inference) step's time goes, kernel by kernel, on the active backend.
 *
 *   node dist/bench/profile.js [--model resnet20] [--width 1] [--batch 128] [--mode train|infer] [--steps 5] [--warmup 3]
 *                              [--precision fp32|bf16] [--vs-pytorch --python PATH [--torch-config channels_last|channels_last+bf16] [--threads 2]]
 *
 * Prints the wall time per step, the part spent inside native kernels (the rest is JavaScript:
 * tfjs bookkeeping, the binding, reslab's own code), and the kernels sorted by time per step.
 * With --vs-pytorch (training steps), the same step of PyTorch profiled by torch.profiler
 * (bench/pytorch_profile.py) next to it, both grouped into the same parts (conv forward, conv
 * gradients, batch norm forward and backward, ReLU and its gradient, adds, optimizer, ...).
 * `RESLAB_NATIVE=0` profiles tfjs's autodiff path, `RESLAB_NATIVE=portable` the native
 * step without oneDNN-specific kernels.
 */
import { describeBackend, nativeUnsupportedReason, selectBackend } from '../src';
import { parsePrecision, precisionProblem } from '../src/native';
import { parseScriptFlags, runScript, UsageError } from '../src/scripts';
import { logKernels } from './kernel-log';
import { byStepPart, STEP_PARTS } from './op-categories';
import { benchScript, runJson } from './run-json';
import { workload } from './workload';

function main(): void {
  const values = parseScriptFlags(
    'node dist/bench/profile.js [--model resnet56] [--mode train|infer] [--width 1] [--batch 128] [--steps 5] [--warmup 3] [--precision fp32|bf16] [--vs-pytorch --python PATH [--torch-config channels_last|channels_last+bf16] [--threads 2]]',
    {
      model: { type: 'string', default: 'resnet20' },
      width: { type: 'string', default: '1' },
      batch: { type: 'string', default: '128' },
      mode: { type: 'string', default: 'train' },
      steps: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '3' },
      'vs-pytorch': { type: 'boolean', default: false },
      python: { type: 'string', default: process.env.RESLAB_TORCH_PYTHON ?? 'python3' },
      'torch-config': { type: 'string', default: 'channels_last' },
      precision: { type: 'string', default: 'fp32' },
      threads: { type: 'string', default: '2' },
    },
  );
  const [batch, steps, warmup] = [Number(values.batch), Number(values.steps), Number(values.warmup)];
  if (values.mode !== 'train' && values.mode !== 'infer') throw new UsageError(`--mode must be train or infer, got ${values.mode}`);
  if (values['vs-pytorch'] && values.mode !== 'train') throw new UsageError('--vs-pytorch profiles training steps (--mode train)');
  console.log(describeBackend(selectBackend()));
  const precision = parsePrecision(String(values.precision));
  if (!precision) throw new UsageError(`--precision must be fp32 or bf16, got ${values.precision}`);
  const refused = precisionProblem(precision);
  if (refused) throw new UsageError(`--precision ${values.precision}: ${refused}`);
  const { model, train, infer } = workload(values.model as string, Number(values.width), batch, precision);
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
  if (values['vs-pytorch']) {
    const torch = profilePyTorch(values.python as string, [
      values.model as string,
      values.width as string,
      String(batch),
      String(steps),
      String(warmup),
      values.threads as string,
      values['torch-config'] as string,
    ]);
    printSideBySide(
      { stepMs: wallMs, ops: rows.map((r) => ({ name: r.name, ms: r.ms })) },
      { stepMs: torch.stepMs, profiledStepMs: torch.profiledStepMs, ops: torch.ops.map((o) => ({ name: o.name, ms: o.selfMs })) },
      `PyTorch ${torch.torch} ${torch.config}, ${torch.threads} threads`,
    );
  }
}

/** What bench/pytorch_profile.py prints. */
interface TorchProfile {
  torch: string;
  config: string;
  threads: number;
  stepMs: number;
  profiledStepMs: number;
  ops: Array<{ name: string; calls: number; selfMs: number }>;
}

/** bench/pytorch_profile.py imports pytorch_reference.py from its own folder (Python puts it on sys.path). */
const profilePyTorch = (python: string, args: string[]) => runJson<TorchProfile>(python, [benchScript('pytorch_profile.py'), ...args]);

interface StepProfile {
  /** Wall time of a step without the profiler. */
  stepMs: number;
  /** Wall time of a step while its ops were timed (reslab's kernel log costs ~nothing; torch.profiler more). */
  profiledStepMs?: number;
  ops: Array<{ name: string; ms: number }>;
}

/** One row per part of the step: ms per step of each side and their ratio; time outside ops last. */
function printSideBySide(reslab: StepProfile, torch: StepProfile, torchName: string): void {
  const ours = byStepPart(reslab.ops);
  const theirs = byStepPart(torch.ops);
  const outside = (p: StepProfile) => (p.profiledStepMs ?? p.stepMs) - p.ops.reduce((sum, o) => sum + o.ms, 0);
  const rows: Array<[string, number, number]> = [
    ...STEP_PARTS.map((part): [string, number, number] => [part, ours.get(part) ?? 0, theirs.get(part) ?? 0]),
    ['outside ops (JavaScript / Python, framework)', outside(reslab), outside(torch)],
    ['whole step (PyTorch without its profiler)', reslab.stepMs, torch.stepMs],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  console.log(`\nside by side with ${torchName} (ms per training step; ratio > 1: reslab slower)`);
  console.log(`${'part'.padEnd(width)}  ${'reslab'.padStart(8)}  ${'PyTorch'.padStart(8)}  ratio`);
  for (const [part, a, b] of rows) {
    const ratio = b > 0.05 ? (a / b).toFixed(2) : '-';
    console.log(`${part.padEnd(width)}  ${a.toFixed(1).padStart(8)}  ${b.toFixed(1).padStart(8)}  ${ratio.padStart(5)}`);
  }
}

runScript(main);
