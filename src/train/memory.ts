import * as os from 'os';
import { NetworkSpec } from '../models/network';

/**
 * What training a net needs in memory, estimated from its spec before anything is built, so that a
 * setting the machine cannot hold (`--width 1000`, a huge probe batch) is refused in one line
 * instead of swapping the machine to a halt or ending in a raw allocation error.
 */

/** Bytes kept per activation value during a training step: float32, about two tensors live per conv output (calibrated on ResNet-1202, batch 128: 13.3 GB peak RSS measured, 13.5 GB estimated). */
const BYTES_PER_ACTIVATION = 4 * 2;
/** Weights, their gradients and the momentum velocities, float32. */
const BYTES_PER_PARAMETER = 4 * 3;
/** The process itself: TensorFlow, Node, the data. */
const BASELINE_BYTES = 1.5e9;

/** Activation values of one image, and the parameter count, of a CIFAR net's spec (3x3 stem, basic blocks). */
function sizesOf(spec: NetworkSpec): { activations: number; parameters: number } {
  let size = spec.inputShape[0];
  let channels = spec.stem.filters;
  let activations = size * size * channels;
  let parameters = 9 * spec.inputShape[2] * channels;
  for (const stage of spec.stages) {
    size = Math.ceil(size / stage.stride);
    const convs = 2 * stage.blocks;
    activations += convs * size * size * stage.filters;
    parameters += 9 * channels * stage.filters + (convs - 1) * 9 * stage.filters * stage.filters;
    channels = stage.filters;
  }
  return { activations, parameters };
}

export interface MemoryEstimate {
  bytes: number;
  /** e.g. `14.7 GB (activations of 128 images: 13.0 GB, probe of 64 images: 0.3 GB, 19.4M parameters: 0.2 GB)`. */
  description: string;
}

const gb = (bytes: number) => `${bytes < 1e13 ? (bytes / 1e9).toFixed(1) : (bytes / 1e9).toExponential(1)} GB`;

/** The estimated peak memory of training `spec` at `batchSize`, probing `probeImages` at a time. */
export function trainingMemory(spec: NetworkSpec, batchSize: number, probeImages: number): MemoryEstimate {
  const { activations, parameters } = sizesOf(spec);
  const batch = batchSize * activations * BYTES_PER_ACTIVATION;
  const probe = probeImages * activations * BYTES_PER_ACTIVATION;
  const weights = parameters * BYTES_PER_PARAMETER;
  const bytes = BASELINE_BYTES + batch + probe + weights;
  const millions = parameters < 1e10 ? (parameters / 1e6).toFixed(parameters < 1e5 ? 3 : 1) : (parameters / 1e6).toExponential(1);
  return {
    bytes,
    description: `${gb(bytes)} (activations of ${batchSize} images: ${gb(batch)}, probe of ${probeImages} images: ${gb(probe)}, ${millions}M parameters: ${gb(weights)})`,
  };
}

/** The memory a run may plan on: the machine's, or RESLAB_MEMORY_GB (a container's limit, a shared machine's share). */
export function memoryBudget(): { bytes: number; source: string } {
  const limit = Number(process.env.RESLAB_MEMORY_GB);
  if (limit > 0) return { bytes: limit * 1e9, source: `RESLAB_MEMORY_GB=${process.env.RESLAB_MEMORY_GB}` };
  return { bytes: os.totalmem(), source: `this machine's ${gb(os.totalmem())}` };
}
