import * as tf from '@tensorflow/tfjs';
import { backendInfo } from '../backend';

/**
 * Batch normalization whose training-mode forward and backward each run as ONE native
 * TensorFlow kernel (FusedBatchNormV3 / FusedBatchNormGradV3) instead of tfjs's chain of small
 * element-wise ops (moments, normalization and their JavaScript-defined gradients). It computes
 * the same function with the same parameters and running averages as tf.layers.batchNormalization
 * (which it extends, so configs and weights are identical); inference mode, other backends and
 * `RESLAB_FUSED_BN=0` use the straightforward path.
 */

/** An attribute of a native TensorFlow op, as tfjs-node's backend takes it. */
interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}

interface NativeBackend {
  binding: { TF_ATTR_FLOAT: number; TF_ATTR_BOOL: number; TF_ATTR_STRING: number };
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: tf.Tensor[], numOutputs: number): tf.Tensor[];
}

interface BatchNormFields {
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
  momentum: number;
  epsilon: number;
  axis: number;
  center: boolean;
  scale: boolean;
}

let typeAttr: ((name: string, dtype: tf.DataType) => OpAttr) | undefined;
let emptyStatistics: tf.Tensor1D | undefined;

/** The native backend and its attribute helper, or undefined when not on native TensorFlow. */
function native(): { backend: NativeBackend; typeAttr: (name: string, dtype: tf.DataType) => OpAttr } | undefined {
  if (process.env.RESLAB_FUSED_BN === '0' || tf.getBackend() !== 'tensorflow') return undefined;
  if (!typeAttr) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    typeAttr = (require(`${backendInfo().package}/dist/nodejs_kernel_backend`) as { createTensorsTypeOpAttr: typeof typeAttr }).createTensorsTypeOpAttr;
  }
  return { backend: tf.backend() as unknown as NativeBackend, typeAttr: typeAttr as (name: string, dtype: tf.DataType) => OpAttr };
}

/** True when the fused path is used for training-mode batch norm in this process. */
export function fusedBatchNormActive(): boolean {
  return native() !== undefined;
}

/**
 * Training-mode batch norm of an NHWC tensor in one native kernel, with a one-kernel gradient.
 * Returns the output and the batch mean and (biased, as tf.moments) variance.
 */
export function fusedBatchNormTraining(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const env = native();
  if (!env) throw new Error('fusedBatchNormTraining needs the native TensorFlow backend');
  const { backend } = env;
  const attrs: OpAttr[] = [
    env.typeAttr('T', 'float32'),
    env.typeAttr('U', 'float32'),
    { name: 'epsilon', type: backend.binding.TF_ATTR_FLOAT, value: epsilon },
    { name: 'data_format', type: backend.binding.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'is_training', type: backend.binding.TF_ATTR_BOOL, value: true },
  ];
  let mean: tf.Tensor1D | undefined;
  let variance: tf.Tensor1D | undefined;
  const forward = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xs, g, b] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    // Training mode ignores the running-statistics inputs: pass one shared empty tensor.
    emptyStatistics ??= tf.keep(tf.tensor1d([], 'float32'));
    const [y, batchMean, unbiased, reserve1, reserve2, reserve3] = backend.executeMultipleOutputs('FusedBatchNormV3', attrs, [xs, g, b, emptyStatistics, emptyStatistics], 6);
    const [batch, height, width] = xs.shape as number[];
    const n = batch * height * width;
    // TensorFlow reports the unbiased variance; tf.moments (and tfjs's BN) use the biased one.
    mean = tf.keep(batchMean as tf.Tensor1D);
    variance = tf.keep(unbiased.mul(n > 1 ? (n - 1) / n : 1) as tf.Tensor1D);
    unbiased.dispose();
    save([xs, g, reserve1, reserve2, reserve3]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sx, sg, r1, r2, r3] = saved;
        const [dx, dgamma, dbeta, extra1, extra2] = backend.executeMultipleOutputs('FusedBatchNormGradV3', attrs, [dy as tf.Tensor, sx, sg, r1, r2, r3], 5);
        tf.dispose([extra1, extra2]);
        return [dx, dgamma, dbeta];
      },
    };
  });
  const y = forward(x, gamma, beta) as tf.Tensor4D;
  return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

type LayerArgs = Parameters<typeof tf.layers.batchNormalization>[0];
type LayerClass = (new (args: LayerArgs) => tf.layers.Layer) & tf.serialization.SerializableConstructor<tf.layers.Layer>;
const BatchNormalization = tf.layers.batchNormalization({}).constructor as LayerClass;

/** tf.layers.batchNormalization with the fused native training path (see the module comment). */
export class FusedBatchNormalization extends BatchNormalization {
  static override readonly className = 'FusedBatchNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const fields = this as unknown as BatchNormFields;
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor;
    if (kwargs.training !== true || x.rank !== 4 || (fields.axis !== 3 && fields.axis !== -1) || !fields.center || !fields.scale || !fusedBatchNormActive()) {
      return super.call(inputs, kwargs);
    }
    return tf.tidy(() => {
      const { y, mean, variance } = fusedBatchNormTraining(x as tf.Tensor4D, fields.gamma.read() as tf.Tensor1D, fields.beta.read() as tf.Tensor1D, fields.epsilon);
      // Running averages exactly as tf.layers.batchNormalization updates them.
      const decay = 1 - fields.momentum;
      for (const [variable, batch] of [[fields.movingMean, mean], [fields.movingVariance, variance]] as const) {
        const current = variable.read();
        variable.write(current.sub(current.sub(batch).mul(decay)));
      }
      tf.dispose([mean, variance]);
      return y;
    });
  }
}
tf.serialization.registerClass(FusedBatchNormalization as unknown as tf.serialization.SerializableConstructor<FusedBatchNormalization>);
