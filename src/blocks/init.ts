import * as tf from '@tensorflow/tfjs';

/** A tfjs weight initializer. */
export type Initializer = ReturnType<typeof tf.initializers.randomNormal>;

/**
 * Hands out one initializer seed per layer, so a model built twice from the same seed has
 * identical weights. Without a seed every layer draws fresh random numbers.
 */
export class SeedSequence {
  private counter = 0;

  constructor(private readonly seed?: number) {}

  next(): number | undefined {
    if (this.seed === undefined) return undefined;
    this.counter += 1;
    // A large odd multiplier spreads consecutive layer indices over the seed space.
    return (this.seed * 1_000_003 + this.counter * 7_919) % 2_147_483_647;
  }
}

/**
 * He et al. 2015 ("Delving deep into rectifiers") initialization: an untruncated normal with
 * std sqrt(2 / fanIn), fanIn = kernel height x width x input channels. tfjs's own `heNormal`
 * draws a truncated normal without rescaling, which gives ~12% smaller weights.
 */
export function heNormal(fanIn: number, seed?: number): Initializer {
  return tf.initializers.randomNormal({ mean: 0, stddev: Math.sqrt(2 / fanIn), seed });
}

/** The classifier's default init in PyTorch and Caffe-era ResNets: U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
export function classifierUniform(fanIn: number, seed?: number): Initializer {
  const limit = 1 / Math.sqrt(fanIn);
  return tf.initializers.randomUniform({ minval: -limit, maxval: limit, seed });
}
