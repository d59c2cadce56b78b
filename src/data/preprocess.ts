import { CifarSplit, IMAGE_BYTES, IMAGE_SIZE } from './cifar';
import { mixSeed, mulberry32, permutation } from './rng';

const PLANE = IMAGE_SIZE * IMAGE_SIZE;

/**
 * The per-pixel mean image of a split (§4.2: "per-pixel mean subtracted"), NHWC order, in the
 * [0, 1] pixel scale used throughout.
 */
export function meanImage(split: CifarSplit): Float32Array {
  const sums = new Float64Array(IMAGE_BYTES);
  for (let n = 0; n < split.count; n++) {
    const base = n * IMAGE_BYTES;
    for (let c = 0; c < 3; c++) for (let p = 0; p < PLANE; p++) sums[p * 3 + c] += split.pixels[base + c * PLANE + p];
  }
  const mean = new Float32Array(IMAGE_BYTES);
  for (let i = 0; i < IMAGE_BYTES; i++) mean[i] = sums[i] / split.count / 255;
  return mean;
}

/** Augmentation of the paper (§4.2): pad 4 with zeros, random 32x32 crop, random horizontal flip. */
export interface Augmentation {
  pad: number;
  flip: boolean;
}

export const PAPER_AUGMENTATION: Augmentation = { pad: 4, flip: true };

/**
 * Writes images `indices` of `split` into `out` (NHWC float32, mean subtracted). With an
 * augmentation, each image gets its own crop offset and flip from `random`. Padding happens
 * after mean subtraction, so padded pixels are 0 in the network's input, as zero-padding a
 * mean-subtracted image is in the reference implementations.
 */
export function writeBatch(
  split: CifarSplit,
  indices: ArrayLike<number>,
  mean: Float32Array,
  out: Float32Array,
  augmentation?: Augmentation,
  random?: () => number,
): void {
  const pad = augmentation?.pad ?? 0;
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i] * IMAGE_BYTES;
    const dst = i * IMAGE_BYTES;
    let dy = 0;
    let dx = 0;
    let flip = false;
    if (augmentation && random) {
      dy = Math.floor(random() * (2 * pad + 1)) - pad;
      dx = Math.floor(random() * (2 * pad + 1)) - pad;
      flip = augmentation.flip && random() < 0.5;
    }
    for (let y = 0; y < IMAGE_SIZE; y++) {
      const sy = y + dy;
      for (let x = 0; x < IMAGE_SIZE; x++) {
        const o = dst + (y * IMAGE_SIZE + x) * 3;
        const sx = flip ? IMAGE_SIZE - 1 - x + dx : x + dx;
        if (sy < 0 || sy >= IMAGE_SIZE || sx < 0 || sx >= IMAGE_SIZE) {
          out[o] = 0;
          out[o + 1] = 0;
          out[o + 2] = 0;
          continue;
        }
        const p = sy * IMAGE_SIZE + sx;
        const m = p * 3;
        out[o] = split.pixels[src + p] / 255 - mean[m];
        out[o + 1] = split.pixels[src + PLANE + p] / 255 - mean[m + 1];
        out[o + 2] = split.pixels[src + 2 * PLANE + p] / 255 - mean[m + 2];
      }
    }
  }
}

/**
 * The training stream: epochs of shuffled batches (the last incomplete batch of an epoch is
 * dropped), each image augmented. Batch `iteration` depends only on (seed, iteration).
 */
export class TrainingBatches {
  readonly batchesPerEpoch: number;
  private cachedEpoch = -1;
  private order: Uint32Array = new Uint32Array(0);

  constructor(
    readonly split: CifarSplit,
    readonly mean: Float32Array,
    readonly batchSize: number,
    readonly seed: number,
    /** The paper's by default; `null`: none, every image as it is. */
    readonly augmentation: Augmentation | null = PAPER_AUGMENTATION,
  ) {
    if (split.count < batchSize) {
      throw new Error(`the training set has ${split.count} images, fewer than one batch of ${batchSize}`);
    }
    this.batchesPerEpoch = Math.floor(split.count / batchSize);
  }

  /** Indices of the images of batch `iteration` (0-based). */
  indices(iteration: number): Uint32Array {
    const epoch = Math.floor(iteration / this.batchesPerEpoch);
    if (epoch !== this.cachedEpoch) {
      this.order = permutation(this.split.count, mulberry32(mixSeed(this.seed, 1, epoch)));
      this.cachedEpoch = epoch;
    }
    const start = (iteration % this.batchesPerEpoch) * this.batchSize;
    return this.order.subarray(start, start + this.batchSize);
  }

  /** Fills `out` (batchSize x 32 x 32 x 3) and `labels` with batch `iteration`. */
  write(iteration: number, out: Float32Array, labels: Int32Array): void {
    const indices = this.indices(iteration);
    writeBatch(this.split, indices, this.mean, out, this.augmentation ?? undefined, mulberry32(mixSeed(this.seed, 2, iteration)));
    for (let i = 0; i < indices.length; i++) labels[i] = this.split.labels[indices[i]];
  }
}
