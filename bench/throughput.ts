/**
 * Training and inference throughput of the CIFAR nets on the active backend, optionally against
 * an equivalent PyTorch reference measured in the same run, interleaved model by model.
 *
 *   npm run bench -- [--models resnet20,resnet56,resnet110,plain20,plain56] [--width 1] [--batch 128]
 *                    [--steps 10] [--warmup 3] [--vs-pytorch] [--python PATH] [--threads 2] [--json]
 *
 * Each model is measured in a fresh process (so peak memory is its own): median step time over
 * `steps` timed steps after `warmup` steps; a training step is a full SGD update (forward,
 * backward, momentum + weight decay); kernel calls are counted on one training step.
 */
import { spawnSync } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import * as tf from '@tensorflow/tfjs';
import { buildModel, describeBackend, selectBackend } from '../src';
import { SgdMomentum } from '../src/train/optimizer';
import { trainableVariables, trainStep } from '../src/train/step';

interface Figures {
  trainImagesPerSecond: number;
  inferImagesPerSecond: number;
  trainStepMs: number;
  inferStepMs: number;
  /** Peak resident memory of the measuring process. */
  maxRssBytes: number;
  kernelsPerTrainStep?: number;
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function timeSteps(count: number, step: () => void): number[] {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    step();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times;
}

/** Measures one model in this process. */
async function measureHere(name: string, width: number, batch: number, steps: number, warmup: number): Promise<Figures> {
  const model = buildModel(name, { seed: 0, width });
  const optimizer = new SgdMomentum(trainableVariables(model), { momentum: 0.9, weightDecay: 1e-4 });
  const images = tf.randomNormal([batch, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const labels = tf.randomUniform([batch], 0, 10, 'int32', 2) as tf.Tensor1D;
  const train = () => {
    trainStep(model, optimizer, images, labels, 0.1);
  };
  const infer = () => {
    const logits = model.predict(images) as tf.Tensor;
    logits.dataSync();
    logits.dispose();
  };
  timeSteps(warmup, train);
  const trainMs = median(timeSteps(steps, train));
  const profile = await tf.profile(train);
  timeSteps(warmup, infer);
  const inferMs = median(timeSteps(steps, infer));
  tf.dispose([images, labels]);
  optimizer.dispose();
  model.dispose();
  return {
    trainImagesPerSecond: (batch * 1000) / trainMs,
    inferImagesPerSecond: (batch * 1000) / inferMs,
    trainStepMs: trainMs,
    inferStepMs: inferMs,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    kernelsPerTrainStep: profile.kernels.length,
  };
}

function runJson(command: string, args: string[], env?: NodeJS.ProcessEnv): Figures {
  const result = spawnSync(command, args, { encoding: 'utf8', env: env ?? process.env, maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr.slice(-2000)}`);
  return JSON.parse(result.stdout.trim().split('\n').pop() as string) as Figures;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      models: { type: 'string', default: 'resnet20,resnet56,resnet110,plain20,plain56' },
      batch: { type: 'string', default: '128' },
      width: { type: 'string', default: '1' },
      steps: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
      'vs-pytorch': { type: 'boolean', default: false },
      python: { type: 'string', default: process.env.RESLAB_TORCH_PYTHON ?? 'python3' },
      threads: { type: 'string', default: String(os.cpus().length) },
      single: { type: 'string' },
    },
  });
  const [batch, width, steps, warmup] = [Number(values.batch), Number(values.width), Number(values.steps), Number(values.warmup)];
  if (values.single) {
    console.log(JSON.stringify(await measureHere(values.single, width, batch, steps, warmup)));
    return;
  }
  const info = selectBackend();
  const rows: Array<{ model: string; reslab: Figures; pytorch?: Figures }> = [];
  for (const model of (values.models ?? '').split(',').map((m) => m.trim()).filter(Boolean)) {
    // Interleaved: reslab, then PyTorch, for each model in turn, so both see the same machine state.
    const common = [String(width), String(batch), String(steps), String(warmup)];
    const reslab = runJson(process.execPath, [__filename, '--single', model, '--width', common[0], '--batch', common[1], '--steps', common[2], '--warmup', common[3]]);
    const pytorch = values['vs-pytorch']
      ? runJson(values.python as string, [path.join(__dirname, '..', '..', 'bench', 'pytorch_reference.py'), model, ...common, String(values.threads)])
      : undefined;
    rows.push({ model, reslab, pytorch });
    if (!values.json) process.stderr.write(`measured ${model}\n`);
  }
  if (values.json) {
    console.log(JSON.stringify({ backend: info.kind, tfjs: tf.version.tfjs, batch, width, steps, warmup, results: rows }));
    return;
  }
  console.log(describeBackend(info));
  console.log(`batch ${batch}, width ${width}, median of ${steps} timed steps after ${warmup} warm-up steps${values['vs-pytorch'] ? `, PyTorch with ${values.threads} threads` : ''}`);
  const header = ['model', 'train img/s', 'infer img/s', 'peak RSS', 'kernels/step'];
  if (values['vs-pytorch']) header.push('torch train', 'torch infer', 'torch RSS', 'train ratio', 'infer ratio', 'memory ratio');
  const lines = rows.map(({ model, reslab, pytorch }) => {
    const cells = [model, reslab.trainImagesPerSecond.toFixed(1), reslab.inferImagesPerSecond.toFixed(1), `${(reslab.maxRssBytes / 2 ** 20).toFixed(0)} MiB`, String(reslab.kernelsPerTrainStep ?? '')];
    if (pytorch) {
      cells.push(pytorch.trainImagesPerSecond.toFixed(1), pytorch.inferImagesPerSecond.toFixed(1), `${(pytorch.maxRssBytes / 2 ** 20).toFixed(0)} MiB`,
        (reslab.trainImagesPerSecond / pytorch.trainImagesPerSecond).toFixed(2), (reslab.inferImagesPerSecond / pytorch.inferImagesPerSecond).toFixed(2),
        (reslab.maxRssBytes / pytorch.maxRssBytes).toFixed(2));
    }
    return cells;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  for (const line of [header, ...lines]) console.log(line.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
}

void main();
