/**
 * Training and inference throughput of the CIFAR nets on the active backend.
 *
 *   npm run bench -- [--models resnet20,resnet56] [--width 1] [--batch 128] [--steps 10] [--warmup 3] [--json]
 *
 * Each figure is the median over timed steps after warm-up steps; a step is a full SGD update
 * (forward, backward, momentum + weight decay) or one inference forward pass.
 */
import { parseArgs } from 'util';
import * as tf from '@tensorflow/tfjs';
import { buildModel, describeBackend, selectBackend } from '../src';
import { SgdMomentum } from '../src/train/optimizer';
import { trainableVariables, trainStep } from '../src/train/step';

interface ModelFigures {
  model: string;
  batch: number;
  trainImagesPerSecond: number;
  trainStepMs: { median: number; min: number; max: number };
  inferImagesPerSecond: number;
  inferStepMs: { median: number; min: number; max: number };
  /** Peak bytes held by TensorFlow.js tensors during the timed training steps. */
  peakTensorBytes: number;
  /** Resident set size of the process after the run. */
  rssBytes: number;
}

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
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

function measure(name: string, width: number, batch: number, steps: number, warmup: number): ModelFigures {
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
  const memoryBefore = tf.memory().numBytes;
  let peak = memoryBefore;
  const trainTimes = timeSteps(steps, () => {
    train();
    peak = Math.max(peak, tf.memory().numBytes);
  });
  timeSteps(warmup, infer);
  const inferTimes = timeSteps(steps, infer);
  const trainStats = stats(trainTimes);
  const inferStats = stats(inferTimes);
  tf.dispose([images, labels]);
  optimizer.dispose();
  model.dispose();
  return {
    model: name,
    batch,
    trainImagesPerSecond: (batch * 1000) / trainStats.median,
    trainStepMs: trainStats,
    inferImagesPerSecond: (batch * 1000) / inferStats.median,
    inferStepMs: inferStats,
    peakTensorBytes: peak,
    rssBytes: process.memoryUsage().rss,
  };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      models: { type: 'string', default: 'resnet20' },
      batch: { type: 'string', default: '128' },
      width: { type: 'string', default: '1' },
      steps: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
    },
  });
  const info = selectBackend();
  const batch = Number(values.batch);
  const steps = Number(values.steps);
  const warmup = Number(values.warmup);
  const results = (values.models ?? 'resnet20').split(',').map((name) => measure(name.trim(), Number(values.width), batch, steps, warmup));
  if (values.json) {
    console.log(JSON.stringify({ backend: info.kind, tfjs: tf.version.tfjs, results }));
    return;
  }
  console.log(describeBackend(info));
  console.log(`batch ${batch}, width ${values.width}, median of ${steps} timed steps after ${warmup} warm-up steps`);
  console.log('model        train img/s  (step ms min..max)     infer img/s  (step ms)   peak tensors  RSS');
  for (const r of results) {
    console.log(
      `${r.model.padEnd(12)} ${r.trainImagesPerSecond.toFixed(1).padStart(11)}  (${r.trainStepMs.median.toFixed(0)} ${r.trainStepMs.min.toFixed(0)}..${r.trainStepMs.max.toFixed(0)})`.padEnd(50) +
        `${r.inferImagesPerSecond.toFixed(1).padStart(11)}  (${r.inferStepMs.median.toFixed(0)})`.padEnd(24) +
        `${(r.peakTensorBytes / 2 ** 20).toFixed(0).padStart(7)} MiB  ${(r.rssBytes / 2 ** 20).toFixed(0)} MiB`,
    );
  }
}

main();
