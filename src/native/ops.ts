import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../backend';
import { oneDnnDisabled } from '../kernels/onednn';

/**
 * Typed access to native TensorFlow kernels through tfjs-node's backend (the one place in reslab
 * that reaches past tfjs's public op set). Each method is one native kernel call; the outputs are
 * tfjs tensors owned by the caller, in the precision of the inputs: float32, or bfloat16 for mixed
 * precision (tensors only these kernels read; {@link NativeOps.cast} turns them back into float32).
 * Available only on the native backends (`nativeOps()` returns undefined elsewhere).
 */

/** An attribute of a native TensorFlow op, as tfjs-node's backend takes it. */
interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}

/** What tfjs-node's binding says of a tensor it made: its handle, TF_DataType and shape. */
interface TensorMetadata {
  id: number;
  dtype: number;
  shape: number[];
}

interface NativeBackend {
  binding: {
    TF_ATTR_FLOAT: number;
    TF_ATTR_BOOL: number;
    TF_ATTR_STRING: number;
    TF_ATTR_INT: number;
    TF_ATTR_TYPE: number;
    TF_FLOAT: number;
    executeOp(name: string, attrs: OpAttr[], inputs: number[], numOutputs: number): TensorMetadata[];
  };
  getInputTensorIds(tensors: tf.Tensor[]): number[];
  createOutputTensor(metadata: TensorMetadata): tf.Tensor;
}

/**
 * The floating-point type of a training step's activations: `float32`, or `bfloat16` for mixed
 * precision (convolutions, batch-norm inputs and outputs, ReLU and residual adds in bfloat16;
 * weights, optimizer, batch statistics, classifier and loss in float32).
 */
export type Precision = 'float32' | 'bfloat16';

/** TensorFlow's TF_DataType of bfloat16 (tensorflow/c/tf_datatype.h). */
const TF_BFLOAT16 = 14;

type TypeAttr = (name: string, dtype: tf.DataType) => OpAttr;

/** Padding of a 2-D window op: TensorFlow's SAME/VALID, or explicit [top, bottom, left, right]. */
export type Padding2D = 'SAME' | 'VALID' | [number, number, number, number];

/** Outputs of a training-mode batch norm that its gradient needs. */
export interface BatchNormSaved {
  x: tf.Tensor4D;
  reserve: [tf.Tensor, tf.Tensor, tf.Tensor];
}

/** Attributes of one convolution's kernels, built once per layer (see {@link NativeOps.convAttrs}). */
export interface ConvAttrs {
  standard: OpAttr[];
  /** oneDNN's forward kernels (`_MklNativeConv2D`, `_MklNativeConv2DWithBias`). */
  oneDnnForward: OpAttr[];
  /**
   * oneDNN's gradient kernels (`_MklNativeConv2DBackpropInput`, `_MklNativeConv2DBackpropFilter`),
   * where they support the padding.
   */
  oneDnnBackward?: OpAttr[];
  /** Attributes of the fused convolution per post-op list ({@link NativeOps.conv2dFused}), filled on first use. */
  oneDnnFused: Map<string, OpAttr[]>;
}

/** The label that selects a oneDNN kernel registered under its `_MklNative*` name. */
const ONEDNN_LABEL = 'MklNameChangeOp';

export class NativeOps {
  private readonly floatT: OpAttr;
  private readonly bfloat16T: OpAttr;
  /**
   * The data ids of the tensors that hold bfloat16 values. tfjs has no bfloat16, so they are
   * tfjs tensors labelled float32 whose native handle is bfloat16: they go from kernel to kernel
   * of this class (each picks its type from its input, see {@link typeOf}) and are never read by tfjs.
   */
  private readonly bfloat16 = new WeakSet<object>();
  private readonly constants = new Map<string, tf.Tensor>();
  private readonly emptyStatistics: tf.Tensor1D;
  /**
   * Whether oneDNN's kernels run here under their own names (reached through their kernel label):
   * convolution and its input gradient (6-15% faster than through TensorFlow's eager rewrite), its
   * filter gradient (the same oneDNN kernel TensorFlow's eager rewrite picks, 2-3% faster per call),
   * convolution with a fused bias, and batch norm with a fused ReLU. TensorFlow's x86 CPU builds
   * have them; GPU builds, other CPUs, `RESLAB_NATIVE=portable` and `TF_ENABLE_ONEDNN_OPTS=0` use
   * the standard kernels (Conv2D, BiasAdd, FusedBatchNormV3, Relu), which compute the same.
   */
  readonly oneDnn: boolean;
  /**
   * Whether oneDNN's convolution with fused post-ops (`_MklNativeFusedConv2D`: bias, residual add,
   * ReLU in one kernel) runs here. Its attributes are lists of strings and types, which tfjs-node's
   * binding passes only with the addition reslab's setup compiles in (scripts/binding-patch.js); without it,
   * inference runs the same computation in separate kernels.
   */
  readonly fusedConv: boolean;

  constructor(
    private readonly backend: NativeBackend,
    private readonly typeAttr: TypeAttr,
    options: { oneDnn: boolean },
  ) {
    this.floatT = typeAttr('T', 'float32');
    this.bfloat16T = { name: 'T', type: backend.binding.TF_ATTR_TYPE, value: TF_BFLOAT16 };
    this.emptyStatistics = tf.keep(tf.tensor1d([], 'float32'));
    this.oneDnn = options.oneDnn && this.probeOneDnn();
    this.fusedConv = this.oneDnn && this.probeFusedConv();
  }

  /** Runs the fused convolution once on a tiny input with every post-op and checks the answer. */
  private probeFusedConv(): boolean {
    return tf.tidy(() => {
      try {
        const x = tf.tensor4d([1, -2, 3, -4], [1, 2, 2, 1]);
        const attrs = this.convAttrs(1, 'SAME');
        // relu(2x + 0.5 + residual) with residual [1, 1, -10, 1]
        const y = this.conv2dFused(x, tf.tensor4d([2], [1, 1, 1, 1]), tf.tensor1d([0.5]), attrs, {
          residual: tf.tensor4d([1, 1, -10, 1], [1, 2, 2, 1]),
          relu: true,
        });
        const values = y.dataSync();
        return [3.5, 0, 0, 0].every((v, i) => Math.abs(values[i] - v) < 1e-6);
      } catch {
        return false;
      }
    });
  }

  /** Runs each oneDNN kernel once on a tiny input and checks its output against the known answer. */
  private probeOneDnn(): boolean {
    return tf.tidy(() => {
      try {
        const close = (t: tf.Tensor, expected: number[]) => {
          const values = t.dataSync();
          return values.length === expected.length && expected.every((v, i) => Math.abs(values[i] - v) < 1e-5);
        };
        const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
        const kernel = tf.tensor4d([2], [1, 1, 1, 1]);
        const attrs = this.convAttrs(1, 'SAME');
        const [conv] = this.run('_MklNativeConv2D', attrs.oneDnnForward, [x, kernel], 1);
        const [biased] = this.run('_MklNativeConv2DWithBias', attrs.oneDnnForward, [x, kernel, tf.tensor1d([0.5])], 1);
        const [dx] = this.run('_MklNativeConv2DBackpropInput', attrs.oneDnnBackward as OpAttr[], [this.int32([1, 2, 2, 1]), kernel, x], 1);
        // dw = sum(x * dy) with dy = x: 1 + 4 + 9 + 16
        const [dw] = this.run('_MklNativeConv2DBackpropFilter', attrs.oneDnnBackward as OpAttr[], [x, this.int32([1, 1, 1, 1]), x], 1);
        // mean 2.5, variance 1.25: relu((x - 2.5) / sqrt(1.25)) = [0, 0, 0.447, 1.342]
        const [normalized] = this.run(
          '_MklNativeFusedBatchNormEx',
          this.fusedBatchNormReluAttrs(0, true),
          [x.reshape([4, 1, 1, 1]), tf.ones([1]), tf.zeros([1]), this.emptyStatistics, this.emptyStatistics],
          6,
        );
        return (
          close(conv, [2, 4, 6, 8]) &&
          close(biased, [2.5, 4.5, 6.5, 8.5]) &&
          close(dx, [2, 4, 6, 8]) &&
          close(dw, [30]) &&
          close(normalized, [0, 0, 0.5 / Math.sqrt(1.25), 1.5 / Math.sqrt(1.25)])
        );
      } catch {
        return false;
      }
    });
  }

  private fusedBatchNormReluAttrs(epsilon: number, training: boolean, type = this.floatT): OpAttr[] {
    return [
      ...this.batchNormAttrs(epsilon, training, type),
      this.float('exponential_avg_factor', 1),
      this.int('num_side_inputs', 0),
      this.str('activation_mode', 'Relu'),
      this.str('_kernel', ONEDNN_LABEL),
    ];
  }

  /** One kernel call; bfloat16 outputs come back as tfjs tensors labelled float32 (see {@link bfloat16}). */
  private run(name: string, attrs: OpAttr[], inputs: tf.Tensor[], outputs = 1): tf.Tensor[] {
    const { backend } = this;
    return backend.binding.executeOp(name, attrs, backend.getInputTensorIds(inputs), outputs).map((metadata) => {
      if (metadata.dtype !== TF_BFLOAT16) return backend.createOutputTensor(metadata);
      const tensor = backend.createOutputTensor({ ...metadata, dtype: backend.binding.TF_FLOAT });
      this.bfloat16.add(tensor.dataId);
      return tensor;
    });
  }

  /** The precision of a tensor's values: bfloat16 for what this class's kernels made in bfloat16, else float32. */
  precisionOf(x: tf.Tensor): Precision {
    return this.bfloat16.has(x.dataId) ? 'bfloat16' : 'float32';
  }

  /** The `T` attribute of a kernel whose floating-point inputs have `x`'s type. */
  private typeOf(x: tf.Tensor): OpAttr {
    return this.bfloat16.has(x.dataId) ? this.bfloat16T : this.floatT;
  }

  private typeAttrOf(precision: Precision): OpAttr {
    return precision === 'bfloat16' ? this.bfloat16T : this.floatT;
  }

  /** `x` in `precision` (a new tensor; the caller owns both). */
  cast<T extends tf.Tensor>(x: T, precision: Precision): T {
    const attrs = [{ ...this.typeOf(x), name: 'SrcT' }, { ...this.typeAttrOf(precision), name: 'DstT' }, this.bool('Truncate', false)];
    return this.one<T>('Cast', attrs, [x]);
  }

  private one<T extends tf.Tensor>(name: string, attrs: OpAttr[], inputs: tf.Tensor[]): T {
    return this.run(name, attrs, inputs, 1)[0] as T;
  }

  private str(name: string, value: string): OpAttr {
    return { name, type: this.backend.binding.TF_ATTR_STRING, value };
  }

  private int(name: string, value: number | number[]): OpAttr {
    return { name, type: this.backend.binding.TF_ATTR_INT, value };
  }

  private float(name: string, value: number): OpAttr {
    return { name, type: this.backend.binding.TF_ATTR_FLOAT, value };
  }

  private bool(name: string, value: boolean): OpAttr {
    return { name, type: this.backend.binding.TF_ATTR_BOOL, value };
  }

  /** A kept constant (shapes, paddings, scale factors), created once per distinct value. */
  private constant(dtype: 'int32' | 'float32', values: number[], shape?: number[]): tf.Tensor {
    const key = `${dtype}|${values.join(',')}|${shape ? `[${shape.join(',')}]` : ''}`;
    let tensor = this.constants.get(key);
    if (!tensor) {
      tensor = tf.keep(tf.tensor(values, shape ?? [values.length], dtype));
      this.constants.set(key, tensor);
    }
    return tensor;
  }

  private int32(values: number[], shape?: number[]): tf.Tensor {
    return this.constant('int32', values, shape);
  }

  /** Attributes of a convolution and its gradients in `precision`, for {@link conv2d} and friends. */
  convAttrs(stride: number, padding: Padding2D, precision: Precision = 'float32'): ConvAttrs {
    const standard = [
      this.typeAttrOf(precision),
      this.int('strides', [1, stride, stride, 1]),
      this.str('padding', typeof padding === 'string' ? padding : 'EXPLICIT'),
      this.str('data_format', 'NHWC'),
      this.bool('use_cudnn_on_gpu', true),
      this.int('dilations', [1, 1, 1, 1]),
    ];
    if (typeof padding !== 'string')
      standard.push(this.int('explicit_paddings', [0, 0, padding[0], padding[1], padding[2], padding[3], 0, 0]));
    const label = this.str('_kernel', ONEDNN_LABEL);
    // is_filter_const=true would let oneDNN cache the reordered kernel across calls: wrong for weights that train.
    const oneDnnForward = [...standard, this.bool('is_filter_const', false), label];
    // oneDNN's gradients cannot express an explicit padding that the stride leaves partly unused
    // (a 3x3/2 conv padded 1+1 on an even size reads only the first pad): TensorFlow's standard
    // kernels handle it (the native-vs-autodiff tests fail with oneDNN's there).
    return {
      standard,
      oneDnnForward,
      oneDnnBackward: typeof padding === 'string' ? [...standard, label] : undefined,
      oneDnnFused: new Map(),
    };
  }

  conv2d(x: tf.Tensor4D, kernel: tf.Tensor4D, attrs: ConvAttrs): tf.Tensor4D {
    return this.oneDnn ? this.one('_MklNativeConv2D', attrs.oneDnnForward, [x, kernel]) : this.one('Conv2D', attrs.standard, [x, kernel]);
  }

  /** Convolution plus a bias over output channels in one oneDNN kernel (only with {@link oneDnn}). */
  conv2dWithBias(x: tf.Tensor4D, kernel: tf.Tensor4D, bias: tf.Tensor1D, attrs: ConvAttrs): tf.Tensor4D {
    if (!this.oneDnn) throw new Error('conv2dWithBias needs oneDNN kernels (NativeOps.oneDnn)');
    return this.one('_MklNativeConv2DWithBias', attrs.oneDnnForward, [x, kernel, bias]);
  }

  /**
   * relu?(conv(x) + bias + residual?) in one oneDNN kernel (only with {@link fusedConv}): the
   * residual is added by oneDNN's sum post-op and the ReLU by its eltwise post-op.
   */
  conv2dFused(
    x: tf.Tensor4D,
    kernel: tf.Tensor4D,
    bias: tf.Tensor1D,
    attrs: ConvAttrs,
    post: { residual?: tf.Tensor4D; relu: boolean },
  ): tf.Tensor4D {
    if (!this.oneDnn) throw new Error('conv2dFused needs oneDNN kernels (NativeOps.oneDnn)');
    const args = post.residual ? [bias, post.residual] : [bias];
    const fusedOps = ['BiasAdd', ...(post.residual ? ['Add'] : []), ...(post.relu ? ['Relu'] : [])];
    const key = fusedOps.join('+');
    let fusedAttrs = attrs.oneDnnFused.get(key);
    if (!fusedAttrs) {
      fusedAttrs = [
        ...attrs.oneDnnForward,
        this.int('num_args', args.length),
        { name: 'TArgs', type: this.backend.binding.TF_ATTR_TYPE, value: args.map(() => this.floatT.value) },
        { name: 'fused_ops', type: this.backend.binding.TF_ATTR_STRING, value: fusedOps },
      ];
      attrs.oneDnnFused.set(key, fusedAttrs);
    }
    return this.one('_MklNativeFusedConv2D', fusedAttrs, [x, kernel, ...args]);
  }

  conv2dBackpropInput(inputShape: number[], kernel: tf.Tensor4D, dy: tf.Tensor4D, attrs: ConvAttrs): tf.Tensor4D {
    const inputs = [this.int32(inputShape), kernel, dy];
    return this.oneDnn && attrs.oneDnnBackward
      ? this.one('_MklNativeConv2DBackpropInput', attrs.oneDnnBackward, inputs)
      : this.one('Conv2DBackpropInput', attrs.standard, inputs);
  }

  conv2dBackpropFilter(x: tf.Tensor4D, kernelShape: number[], dy: tf.Tensor4D, attrs: ConvAttrs): tf.Tensor4D {
    const inputs = [x, this.int32(kernelShape), dy];
    return this.oneDnn && attrs.oneDnnBackward
      ? this.one('_MklNativeConv2DBackpropFilter', attrs.oneDnnBackward, inputs)
      : this.one('Conv2DBackpropFilter', attrs.standard, inputs);
  }

  private batchNormAttrs(epsilon: number, training: boolean, type = this.floatT): OpAttr[] {
    return [
      type,
      this.typeAttr('U', 'float32'),
      this.float('epsilon', epsilon),
      this.str('data_format', 'NHWC'),
      this.bool('is_training', training),
    ];
  }

  /**
   * Training-mode batch norm (FusedBatchNormV3), optionally followed by ReLU (one fused kernel
   * with {@link oneDnn}): normalizes with the batch statistics. Returns the output,
   * the batch mean, TensorFlow's UNBIASED batch variance, the number of values per channel it was
   * computed from (see {@link biasedVarianceFactor}), and what {@link batchNormGrad} needs (with
   * ReLU, the gradient first goes through `reluGrad` with the output).
   */
  batchNormTraining(
    x: tf.Tensor4D,
    gamma: tf.Tensor1D,
    beta: tf.Tensor1D,
    epsilon: number,
    relu = false,
  ): { y: tf.Tensor4D; mean: tf.Tensor1D; unbiasedVariance: tf.Tensor1D; count: number; saved: BatchNormSaved } {
    const e = this.emptyStatistics;
    const fused = relu && this.oneDnn;
    const type = this.typeOf(x);
    const attrs = fused ? this.fusedBatchNormReluAttrs(epsilon, true, type) : this.batchNormAttrs(epsilon, true, type);
    const [normalized, mean, unbiasedVariance, r1, r2, r3] = this.run(
      fused ? '_MklNativeFusedBatchNormEx' : 'FusedBatchNormV3',
      attrs,
      [x, gamma, beta, e, e],
      6,
    );
    let y = normalized as tf.Tensor4D;
    if (relu && !fused) {
      y = this.relu(y);
      normalized.dispose();
    }
    const [batch, height, width] = x.shape;
    return {
      y,
      mean: mean as tf.Tensor1D,
      unbiasedVariance: unbiasedVariance as tf.Tensor1D,
      count: batch * height * width,
      saved: { x, reserve: [r1, r2, r3] },
    };
  }

  /** Gradient of {@link batchNormTraining} (FusedBatchNormGradV3): dx, dgamma, dbeta. */
  batchNormGrad(
    dy: tf.Tensor4D,
    saved: BatchNormSaved,
    gamma: tf.Tensor1D,
    epsilon: number,
  ): { dx: tf.Tensor4D; dgamma: tf.Tensor1D; dbeta: tf.Tensor1D } {
    const [dx, dgamma, dbeta, extra1, extra2] = this.run(
      'FusedBatchNormGradV3',
      this.batchNormAttrs(epsilon, true, this.typeOf(dy)),
      [dy, saved.x, gamma, ...saved.reserve],
      5,
    );
    extra1.dispose();
    extra2.dispose();
    return { dx: dx as tf.Tensor4D, dgamma: dgamma as tf.Tensor1D, dbeta: dbeta as tf.Tensor1D };
  }

  /** Inference-mode batch norm with the running statistics (FusedBatchNormV3), optionally followed by ReLU (fused as in training). */
  batchNormInference(
    x: tf.Tensor4D,
    gamma: tf.Tensor1D,
    beta: tf.Tensor1D,
    mean: tf.Tensor1D,
    variance: tf.Tensor1D,
    epsilon: number,
    relu = false,
  ): tf.Tensor4D {
    const fused = relu && this.oneDnn;
    const outputs = this.run(
      fused ? '_MklNativeFusedBatchNormEx' : 'FusedBatchNormV3',
      fused ? this.fusedBatchNormReluAttrs(epsilon, false, this.typeOf(x)) : this.batchNormAttrs(epsilon, false, this.typeOf(x)),
      [x, gamma, beta, mean, variance],
      6,
    );
    tf.dispose(outputs.slice(1));
    const y = outputs[0] as tf.Tensor4D;
    if (!relu || fused) return y;
    const activated = this.relu(y);
    y.dispose();
    return activated;
  }

  relu<T extends tf.Tensor>(x: T): T {
    return this.one('Relu', [this.typeOf(x)], [x]);
  }

  /** Gradient of ReLU given its output y (y > 0 exactly where the input was > 0). */
  reluGrad<T extends tf.Tensor>(dy: T, y: T): T {
    return this.one('ReluGrad', [this.typeOf(dy)], [dy, y]);
  }

  add<T extends tf.Tensor>(a: T, b: T): T {
    return this.one('AddV2', [this.typeOf(a)], [a, b]);
  }

  /** Element-wise sum of two or more same-shaped tensors in one kernel. */
  addN<T extends tf.Tensor>(inputs: T[]): T {
    return this.one('AddN', [this.typeOf(inputs[0]), this.int('N', inputs.length)], inputs);
  }

  /** Element-wise a * b (b broadcast; a number becomes a scalar). */
  mul<T extends tf.Tensor>(a: T, b: number | tf.Tensor): T {
    return this.one<T>('Mul', [this.floatT], [a, typeof b === 'number' ? this.constant('float32', [b], []) : b]);
  }

  private poolAttrs(type: OpAttr, window: [number, number], stride: number, padding: 'SAME' | 'VALID'): OpAttr[] {
    return [
      type,
      this.int('ksize', [1, window[0], window[1], 1]),
      this.int('strides', [1, stride, stride, 1]),
      this.str('padding', padding),
      this.str('data_format', 'NHWC'),
    ];
  }

  avgPool(x: tf.Tensor4D, window: [number, number], stride: number, padding: 'SAME' | 'VALID'): tf.Tensor4D {
    return this.one('AvgPool', this.poolAttrs(this.typeOf(x), window, stride, padding), [x]);
  }

  avgPoolGrad(inputShape: number[], dy: tf.Tensor4D, window: [number, number], stride: number, padding: 'SAME' | 'VALID'): tf.Tensor4D {
    return this.one('AvgPoolGrad', this.poolAttrs(this.typeOf(dy), window, stride, padding), [this.int32(inputShape), dy]);
  }

  /**
   * Every `stride`-th pixel in both spatial dimensions, starting at the first (a 1x1 average pool:
   * an exact copy). Option-A shortcuts and strided 1x1 convolutions read their input through it.
   */
  subsample(x: tf.Tensor4D, stride: number): tf.Tensor4D {
    return this.avgPool(x, [1, 1], stride, 'VALID');
  }

  /** Gradient of {@link subsample}: `dy` at the sampled pixels of an `inputShape` tensor, zeros elsewhere. */
  subsampleGrad(inputShape: number[], dy: tf.Tensor4D, stride: number): tf.Tensor4D {
    return this.avgPoolGrad(inputShape, dy, [1, 1], stride, 'VALID');
  }

  maxPool(x: tf.Tensor4D, window: [number, number], stride: number, padding: 'SAME' | 'VALID'): tf.Tensor4D {
    return this.one('MaxPool', this.poolAttrs(this.typeOf(x), window, stride, padding), [x]);
  }

  maxPoolGrad(
    x: tf.Tensor4D,
    y: tf.Tensor4D,
    dy: tf.Tensor4D,
    window: [number, number],
    stride: number,
    padding: 'SAME' | 'VALID',
  ): tf.Tensor4D {
    return this.one('MaxPoolGrad', this.poolAttrs(this.typeOf(x), window, stride, padding), [x, y, dy]);
  }

  /** Zero padding; `paddings` holds [before, after] per dimension. */
  pad<T extends tf.Tensor>(x: T, paddings: Array<[number, number]>): T {
    return this.one('Pad', [this.typeOf(x), this.typeAttr('Tpaddings', 'int32')], [x, this.int32(paddings.flat(), [paddings.length, 2])]);
  }

  slice<T extends tf.Tensor>(x: T, begin: number[], size: number[]): T {
    return this.one('Slice', [this.typeOf(x), this.typeAttr('Index', 'int32')], [x, this.int32(begin), this.int32(size)]);
  }

  reshape<T extends tf.Tensor>(x: tf.Tensor, shape: number[]): T {
    return this.one('Reshape', [this.typeOf(x), this.typeAttr('Tshape', 'int32')], [x, this.int32(shape)]);
  }

  matMul(a: tf.Tensor2D, b: tf.Tensor2D, transposeA = false, transposeB = false): tf.Tensor2D {
    return this.one('MatMul', [this.typeOf(a), this.bool('transpose_a', transposeA), this.bool('transpose_b', transposeB)], [a, b]);
  }

  biasAdd<T extends tf.Tensor>(x: T, bias: tf.Tensor1D): T {
    return this.one('BiasAdd', [this.typeOf(x), this.str('data_format', 'NHWC')], [x, bias]);
  }

  /** Gradient of a bias add over the last dimension: the sum of dy over all other dimensions. */
  biasAddGrad(dy: tf.Tensor): tf.Tensor1D {
    return this.one('BiasAddGrad', [this.typeOf(dy), this.str('data_format', 'NHWC')], [dy]);
  }

  /**
   * Softmax cross-entropy with integer labels (SparseSoftmaxCrossEntropyWithLogits): the loss of
   * every example and the gradient of their SUM with respect to the logits.
   */
  sparseSoftmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): { losses: tf.Tensor1D; backprop: tf.Tensor2D } {
    const [losses, backprop] = this.run(
      'SparseSoftmaxCrossEntropyWithLogits',
      [this.floatT, this.typeAttr('Tlabels', 'int32')],
      [logits, labels],
      2,
    );
    return { losses: losses as tf.Tensor1D, backprop: backprop as tf.Tensor2D };
  }

  /** Joins 1-D tensors end to end (ConcatV2). */
  concat1d(tensors: tf.Tensor1D[]): tf.Tensor1D {
    return this.one(
      'ConcatV2',
      [this.floatT, this.int('N', tensors.length), this.typeAttr('Tidx', 'int32')],
      [...tensors, this.int32([0], [])],
    );
  }

  /** Cuts a 1-D tensor into consecutive pieces of the given sizes (SplitV). */
  split1d(x: tf.Tensor1D, sizes: number[]): tf.Tensor1D[] {
    return this.run(
      'SplitV',
      [this.floatT, this.typeAttr('Tlen', 'int32'), this.int('num_split', sizes.length)],
      [x, this.int32(sizes), this.int32([0], [])],
      sizes.length,
    ) as tf.Tensor1D[];
  }

  /** Stacks same-shaped tensors along a new first dimension (Pack). */
  stack(tensors: tf.Tensor[]): tf.Tensor {
    return this.one('Pack', [this.floatT, this.int('N', tensors.length), this.int('axis', 0)], tensors);
  }

  /** The inverse of {@link stack} (Unpack). */
  unstack(x: tf.Tensor): tf.Tensor[] {
    return this.run('Unpack', [this.floatT, this.int('num', x.shape[0]), this.int('axis', 0)], [x], x.shape[0]);
  }

  /** Element-wise a - b. */
  sub<T extends tf.Tensor>(a: T, b: tf.Tensor): T {
    return this.one('Sub', [this.floatT], [a, b]);
  }
}

/**
 * The factor turning TensorFlow's unbiased batch variance over `count` values into the biased one
 * that tf.moments and tf.layers.batchNormalization use for their running averages.
 */
export function biasedVarianceFactor(count: number): number {
  return count > 1 ? (count - 1) / count : 1;
}

const shared = new Map<'full' | 'portable', NativeOps>();

/** What `RESLAB_NATIVE` asks for: `0` tfjs's autodiff and layers only (no native step); `portable` standard TensorFlow ops only (no oneDNN-specific kernels); anything else everything. */
function nativeMode(): 'off' | 'full' | 'portable' {
  const value = process.env.RESLAB_NATIVE?.trim().toLowerCase();
  if (value === '0' || value === 'off') return 'off';
  return value === 'portable' ? 'portable' : 'full';
}

/**
 * The process's native op set, or undefined when the active backend is not native TensorFlow
 * (pure JS) or `RESLAB_NATIVE=0` asks for tfjs's autodiff and layers everywhere.
 */
export function nativeOps(): NativeOps | undefined {
  const mode = nativeMode();
  if (mode === 'off' || tf.getBackend() !== 'tensorflow') return undefined;
  let ops = shared.get(mode);
  if (!ops) {
    const info = selectBackend();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const typeAttr = (require(`${info.package}/dist/nodejs_kernel_backend`) as { createTensorsTypeOpAttr: TypeAttr })
      .createTensorsTypeOpAttr;
    // oneDNN kernels are CPU kernels: on the GPU they would pull every tensor back to the host.
    // TF_ENABLE_ONEDNN_OPTS=0 asks TensorFlow for its standard kernels: reslab calls no oneDNN kernel by name either.
    const oneDnn = mode === 'full' && info.kind === 'cpu' && !oneDnnDisabled();
    ops = new NativeOps(tf.backend() as unknown as NativeBackend, typeAttr, { oneDnn });
    shared.set(mode, ops);
  }
  return ops;
}
