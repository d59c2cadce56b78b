import * as tf from '@tensorflow/tfjs';

/** Serializable configuration of {@link ShortcutA}. */
export interface ShortcutAConfig extends tf.serialization.ConfigDict {
  stride: number;
  outChannels: number;
}

/**
 * The paper's option A shortcut (§3.3): identity, subsampled by `stride` and zero-padded with
 * extra channels, so it adds no parameters. Subsampling keeps pixels (0, s, 2s, ...), the centres of
 * a padded stride-s 3x3 convolution. The new channels are appended after the input's channels.
 */
export class ShortcutA extends tf.layers.Layer {
  static readonly className = 'ShortcutA';
  readonly stride: number;
  readonly outChannels: number;

  constructor(config: ShortcutAConfig & { name?: string }) {
    super({ name: config.name });
    if (!Number.isInteger(config.stride) || config.stride < 1) {
      throw new Error(`ShortcutA: stride must be a positive integer, got ${config.stride}`);
    }
    this.stride = config.stride;
    this.outChannels = config.outChannels;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const [batch, height, width, channels] = shape;
    if (channels !== null && channels !== undefined && channels > this.outChannels) {
      throw new Error(`ShortcutA: cannot map ${channels} channels to fewer (${this.outChannels}); option A only adds channels`);
    }
    const sub = (size: number | null) => (size === null ? null : Math.ceil(size / this.stride));
    return [batch, sub(height), sub(width), this.outChannels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      let x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      if (this.stride > 1) {
        // A 1x1 average pool with stride s is exact subsampling, and unlike a strided slice it
        // has a gradient in tfjs.
        x = tf.avgPool(x, 1, this.stride, 'valid');
      }
      const extra = this.outChannels - x.shape[3];
      return extra > 0
        ? tf.pad(x, [
            [0, 0],
            [0, 0],
            [0, 0],
            [0, extra],
          ])
        : x;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), stride: this.stride, outChannels: this.outChannels };
  }
}
tf.serialization.registerClass(ShortcutA);
