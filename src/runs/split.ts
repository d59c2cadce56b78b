import * as crypto from 'crypto';
import { CifarDataset, CifarSplit, IMAGE_BYTES, takeFirst } from '../data/cifar';
import { meanImage } from '../data/preprocess';

/** What a run's config says about its data (a subset of TrainConfig). */
export interface SplitSettings {
  trainLimit?: number;
  testLimit?: number;
  validationImages: number;
  batchSize: number;
}

/** The images a run trains on, the images it is evaluated on, and the per-pixel mean it subtracts. */
export interface RunSplit {
  train: CifarSplit;
  /** The test set, or the validation images held out of the training set. */
  evaluation: CifarSplit;
  /** Mean image of `train` (§4.2: "the per-pixel mean subtracted"). */
  mean: Float32Array;
}

/**
 * The one definition of a run's data split: the first `trainLimit` training images, the last
 * `validationImages` of them held out for evaluation (else the first `testLimit` test images),
 * and the mean of what remains. The trainer, Fig. 7's model probes and anything else that must
 * see the images as the run saw them call this.
 */
export function runSplit(data: CifarDataset, settings: SplitSettings): RunSplit;
export function runSplit(data: CifarDataset, settings: SplitSettings, withMean: false): Omit<RunSplit, 'mean'>;
export function runSplit(data: CifarDataset, settings: SplitSettings, withMean = true): RunSplit | Omit<RunSplit, 'mean'> {
  let train = takeFirst(data.train, settings.trainLimit);
  let evaluation = takeFirst(data.test, settings.testLimit);
  if (settings.validationImages > 0) {
    const keep = train.count - settings.validationImages;
    if (keep < settings.batchSize) throw new Error(`a validation split of ${settings.validationImages} leaves too few training images (${keep})`);
    evaluation = { pixels: train.pixels.subarray(keep * IMAGE_BYTES), labels: train.labels.subarray(keep), count: settings.validationImages };
    train = takeFirst(train, keep);
  }
  return withMean ? { train, evaluation, mean: meanImage(train) } : { train, evaluation };
}

/** What a run's images are, by content: the counts and SHA-256 of the training and evaluation images and labels. */
export interface DataFingerprint {
  train: { images: number; sha256: string };
  evaluation: { images: number; sha256: string };
}

function fingerprintOf(split: CifarSplit): { images: number; sha256: string } {
  return { images: split.count, sha256: crypto.createHash('sha256').update(split.pixels).update(split.labels).digest('hex') };
}

/** The fingerprint of the data {@link runSplit} gives a run (a resume on other data is refused by it). */
export function dataFingerprint(data: CifarDataset, settings: SplitSettings): DataFingerprint {
  const { train, evaluation } = runSplit(data, settings, false);
  return { train: fingerprintOf(train), evaluation: fingerprintOf(evaluation) };
}
