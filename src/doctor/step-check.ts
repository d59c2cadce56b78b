/**
 * A few ResNet training steps on one backend, as JSON on stdout: the losses, the first step's
 * weight update (which is lr x the gradient, plus weight decay, before momentum builds up) and
 * images/s. `reslab doctor --gpu-check` runs it once per backend in fresh processes and compares.
 *
 *   RESLAB_BACKEND=gpu node dist/src/doctor/step-check.js '{"model":"resnet20","batchSize":128,"steps":5,"width":1}'
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../backend';
import { bundledDataDir, loadCifar10 } from '../data/cifar';
import { meanImage } from '../data/preprocess';
import { exampleTensors } from '../data/tensors';
import { buildModel } from '../models/zoo';
import { SgdMomentum } from '../train/optimizer';
import { trainableVariables, trainStep } from '../train/step';

export interface StepCheckSettings {
  model: string;
  batchSize: number;
  steps: number;
  width: number;
}

export interface StepCheckResult {
  backend: string;
  losses: number[];
  /** The first step's change of every trainable weight, flattened in variable order. */
  firstUpdateNorm: number;
  /** A fixed subsample of the first step's change (every k-th value), for the comparison. */
  firstUpdateSample: number[];
  imagesPerSecond: number;
}

const LR = 0.1;

export function runStepCheck(settings: StepCheckSettings): StepCheckResult {
  const info = selectBackend();
  const data = loadCifar10(bundledDataDir());
  const { images, labels } = exampleTensors(data.train, meanImage(data.train), settings.batchSize);
  const model = buildModel(settings.model, { width: settings.width, seed: 0 });
  const variables = trainableVariables(model);
  const optimizer = new SgdMomentum(variables, { momentum: 0.9, weightDecay: 1e-4 });
  const before = variables.map((v) => v.dataSync().slice());
  const losses: number[] = [];
  let firstUpdate: Float32Array | undefined;
  let timed = 0;
  let started = 0;
  for (let step = 0; step < settings.steps; step++) {
    if (step === 1) started = performance.now();
    losses.push(trainStep(model, optimizer, images as tf.Tensor4D, labels as tf.Tensor1D, LR).loss);
    if (step >= 1) timed += 1;
    if (step === 0) {
      const after = variables.map((v) => v.dataSync());
      const total = after.reduce((n, a) => n + a.length, 0);
      firstUpdate = new Float32Array(total);
      let offset = 0;
      after.forEach((a, i) => {
        for (let j = 0; j < a.length; j++) firstUpdate![offset + j] = a[j] - before[i][j];
        offset += a.length;
      });
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const update = firstUpdate as Float32Array;
  const stride = Math.max(1, Math.floor(update.length / 4096));
  const sample: number[] = [];
  for (let i = 0; i < update.length; i += stride) sample.push(update[i]);
  return {
    backend: info.description,
    losses,
    firstUpdateNorm: Math.sqrt(update.reduce((s, v) => s + v * v, 0)),
    firstUpdateSample: sample,
    imagesPerSecond: timed > 0 ? (timed * settings.batchSize) / seconds : 0,
  };
}

/** How far apart two backends' steps are: relative differences of the losses and of the first update. */
export function compareStepChecks(a: StepCheckResult, b: StepCheckResult): { lossRelative: number; updateRelative: number } {
  const lossRelative = Math.max(...a.losses.map((l, i) => Math.abs(l - b.losses[i]) / Math.max(1e-6, Math.abs(b.losses[i]))));
  let diff = 0;
  let norm = 0;
  a.firstUpdateSample.forEach((v, i) => {
    diff += (v - b.firstUpdateSample[i]) ** 2;
    norm += b.firstUpdateSample[i] ** 2;
  });
  return { lossRelative, updateRelative: Math.sqrt(diff / Math.max(1e-30, norm)) };
}

if (require.main === module) {
  const settings = JSON.parse(process.argv[2] ?? '{}') as StepCheckSettings;
  process.stdout.write(`${JSON.stringify(runStepCheck(settings))}\n`);
}
