import * as tf from '@tensorflow/tfjs';

/**
 * Loads models saved by earlier versions of reslab, whose batch norms were saved under the class name
 * `FusedBatchNormalization`: the same layer, config and weights as tfjs's BatchNormalization,
 * which is what they load as (and save as again). Models saved since use standard tfjs layer
 * classes plus `ShortcutA` only.
 */
type LayerArgs = Parameters<typeof tf.layers.batchNormalization>[0];
type LayerClass = new (args: LayerArgs) => tf.layers.Layer;
const BatchNormalization = tf.layers.batchNormalization({}).constructor as LayerClass;

class LegacyFusedBatchNormalization extends BatchNormalization {
  static readonly className = 'FusedBatchNormalization';

  override getClassName(): string {
    return 'BatchNormalization';
  }
}
tf.serialization.registerClass(LegacyFusedBatchNormalization as unknown as tf.serialization.SerializableConstructor<tf.layers.Layer>);
