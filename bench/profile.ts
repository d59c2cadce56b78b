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
import { parseArgs } from 'util';
import * as tf from '@tensorflow/tfjs';
import { buildModel, describeBackend, nativeUnsupportedReason, selectBackend } from '../src';
import { SgdMomentum } from '../src/train/optimizer';
import { predictLogits, trainableVariables, trainStep } from '../src/train/step';
import { logKernels } from './kernel-log';

function main(): void {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'resnet20' },
      width: { type: 'string', default: '1' },
      batch: { type: 'string', default: '128' },
      mode: { type: 'string', default: 'train' },
      steps: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '3' },
    },
  });
  const [batch, steps, warmup] = [Number(values.batch), Number(values.steps), Number(values.warmup)];
  if (values.mode !== 'train' && values.mode !== 'infer') throw new Error(`--mode must be train or infer, got ${values.mode}`);
  console.log(describeBackend(selectBackend()));
  const model = buildModel(values.model as string, { width: Number(values.width), seed: 0 });
  const optimizer = new SgdMomentum(trainableVariables(model), { momentum: 0.9, weightDecay: 1e-4 });
  const images = tf.randomNormal([batch, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const labels = tf.randomUniform([batch], 0, 10, 'int32', 2) as tf.Tensor1D;
  const step =
    values.mode === 'train'
      ? () => void trainStep(model, optimizer, images, labels, 0.1)
      : () => {
          const logits = predictLogits(model, images);
          logits.dataSync();
          logits.dispose();
        };
  for (let i = 0; i < warmup; i++) step();
  const start = process.hrtime.bigint();
  const totals = logKernels(() => {
    for (let i = 0; i < steps; i++) step();
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6 / steps;
  console.log(`${values.model} (width ${values.width}), batch ${batch}, ${values.mode}, ${nativeUnsupportedReason(model) ? `tfjs autodiff path (${nativeUnsupportedReason(model)})` : 'native path'}`);
  if (!totals) {
    console.log(`${wallMs.toFixed(1)} ms per step (no kernel log on the pure-JS backend)`);
    return;
  }
  const rows = [...totals].map(([name, t]) => ({ name, calls: t.calls / steps, ms: t.ms / steps })).sort((a, b) => b.ms - a.ms);
  const kernelMs = rows.reduce((sum, r) => sum + r.ms, 0);
  const calls = rows.reduce((sum, r) => sum + r.calls, 0);
  console.log(`${wallMs.toFixed(1)} ms per step: ${kernelMs.toFixed(1)} ms in ${calls} native kernel calls, ${(wallMs - kernelMs).toFixed(1)} ms outside them`);
  const width = Math.max(...rows.map((r) => r.name.length));
  console.log(`${'kernel'.padEnd(width)}  calls/step  ms/step  share  us/call`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(width)}  ${r.calls.toFixed(0).padStart(10)}  ${r.ms.toFixed(2).padStart(7)}  ${((r.ms / wallMs) * 100).toFixed(1).padStart(4)}%  ${((r.ms / r.calls) * 1000).toFixed(0).padStart(7)}`);
  }
}

main();
