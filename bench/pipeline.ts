/**
 * Costs around the training step: the input pipeline (mean subtraction, pad-4 crop, flip of a
 * batch) and block-wise probing, each against the training step of the same model.
 *
 *   node dist/bench/pipeline.js [--model resnet56] [--width 1] [--batch 128] [--probe-every 100] [--probe-images 64]
 */
import * as tf from '@tensorflow/tfjs';
import {
  buildModel,
  bundledDataDir,
  createProbe,
  describeBackend,
  exampleTensors,
  loadCifar10,
  meanImage,
  selectBackend,
  TrainingBatches,
} from '../src';
import { parseScriptFlags, runScript } from '../src/scripts';
import { IMAGE_BYTES } from '../src/data/cifar';
import { SgdMomentum } from '../src/train/optimizer';
import { trainableVariables, trainStep } from '../src/train/step';
import { medianMs } from './timing';

function main(): void {
  const values = parseScriptFlags(
    'node dist/bench/pipeline.js [--model resnet56] [--width 1] [--batch 128] [--probe-every 100] [--probe-images 64]',
    {
      model: { type: 'string', default: 'resnet56' },
      width: { type: 'string', default: '1' },
      batch: { type: 'string', default: '128' },
      'probe-every': { type: 'string', default: '100' },
      'probe-images': { type: 'string', default: '64' },
    },
  );
  const batch = Number(values.batch);
  console.log(describeBackend(selectBackend()));
  const data = loadCifar10(bundledDataDir());
  const mean = meanImage(data.train);
  const stream = new TrainingBatches(data.train, mean, batch, 0);
  const buffer = new Float32Array(batch * IMAGE_BYTES);
  const labelBuffer = new Int32Array(batch);
  let iteration = 0;
  const inputMs = medianMs(30, () => stream.write(iteration++, buffer, labelBuffer));

  const model = buildModel(values.model as string, { width: Number(values.width), seed: 0 });
  const optimizer = new SgdMomentum(trainableVariables(model), { momentum: 0.9, weightDecay: 1e-4 });
  const images = tf.tensor4d(buffer, [batch, 32, 32, 3]);
  const labels = tf.tensor1d(labelBuffer, 'int32');
  for (let i = 0; i < 3; i++) trainStep(model, optimizer, images, labels, 0.1);
  const stepMs = medianMs(7, () => trainStep(model, optimizer, images, labels, 0.1));
  const probeSet = exampleTensors(data.train, mean, Number(values['probe-images']));
  const probe = createProbe(model, probeSet.images, probeSet.labels);
  probe();
  const probeMs = medianMs(7, () => probe());
  const every = Number(values['probe-every']);
  console.log(`${values.model} (width ${values.width}), batch ${batch}: training step ${stepMs.toFixed(0)} ms (median of 7)`);
  console.log(
    `input pipeline: ${inputMs.toFixed(1)} ms per batch of ${batch} (${((inputMs / stepMs) * 100).toFixed(1)}% of a step; it runs between steps)`,
  );
  console.log(
    `probe on ${values['probe-images']} images: ${probeMs.toFixed(0)} ms; every ${every} iterations that is ${((probeMs / (every * stepMs)) * 100).toFixed(2)}% of training time`,
  );
}

runScript(main);
