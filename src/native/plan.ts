import * as tf from '@tensorflow/tfjs';
import type { Padding2D } from './ops';
import { foldPadding, fuseBatchNormRelu, pointwiseAsMatMul } from './passes';

/**
 * The plan compiler: translates a LayersModel of reslab's layer vocabulary into a list of nodes
 * that the executor (./executor.ts) runs on native kernels.
 *
 * Supported layers: Conv2D, BatchNormalization over channels, Activation relu/linear,
 * Add, ShortcutA, ZeroPadding2D (folded into the next conv when it is its only reader),
 * MaxPooling2D, GlobalAveragePooling2D and Dense, in any single-input, single-output DAG ending
 * in the logits. Anything else: {@link compileNetwork} says why and callers use tfjs's path.
 */

type LayerVariable = tf.LayerVariable;

/** The name of the tf.Variable behind a layer weight (the key of gradient maps). */
export const variableName = (weight: LayerVariable): string => (weight.read() as tf.Variable).name;

export interface ConvNode {
  op: 'conv';
  kernel: LayerVariable;
  bias?: LayerVariable;
  stride: number;
  padding: Padding2D;
  /** A 1x1 conv, run as a matrix product of its (subsampled) input's pixels with the kernel: see pointwiseAsMatMul. */
  pointwise?: boolean;
}
export interface BatchNormNode {
  op: 'batchNorm';
  /** A ReLU follows and is this node's only reader: it is applied here (see fuseBatchNormRelu). */
  relu?: boolean;
  gamma: LayerVariable;
  beta: LayerVariable;
  movingMean: LayerVariable;
  movingVariance: LayerVariable;
  epsilon: number;
  momentum: number;
}
export interface DenseNode {
  op: 'dense';
  kernel: LayerVariable;
  bias?: LayerVariable;
}
export interface ShortcutANode {
  op: 'shortcutA';
  stride: number;
  outChannels: number;
}
export interface PadNode {
  op: 'pad';
  paddings: [[number, number], [number, number]];
}
export interface MaxPoolNode {
  op: 'maxPool';
  window: [number, number];
  stride: number;
  padding: 'SAME' | 'VALID';
}
/**
 * Inference only (see fuseForInference): a conv with the batch norm after it folded into its kernel
 * and bias, and, when fused, the residual add after it (its second input) and the ReLU after that.
 */
export interface FoldedConvNode {
  op: 'foldedConv';
  conv: ConvNode;
  batchNorm: BatchNormNode;
  /** The conv's index in the plan: the key of its folded weights and attributes. */
  source: number;
  /** `inputs[1]` is added inside the conv (oneDNN's sum post-op). */
  residual: boolean;
  relu: boolean;
}
type NodeOp =
  | { op: 'input' }
  | { op: 'identity' }
  | { op: 'relu' }
  | { op: 'add' }
  | { op: 'globalAvgPool' }
  | ConvNode
  | BatchNormNode
  | DenseNode
  | ShortcutANode
  | PadNode
  | MaxPoolNode
  | FoldedConvNode;

/** One layer of the compiled graph; `inputs` index earlier nodes. */
export type PlanNode = NodeOp & { name: string; inputs: number[] };

/** The plan node of op `K`. */
export type NodeOf<K extends PlanNode['op']> = Extract<PlanNode, { op: K }>;

/** Result of {@link compileNetwork}: a plan and the model's input shape (without the batch), or why the model cannot run natively. */
export type CompileResult = { plan: PlanNode[]; inputShape: number[] } | { unsupported: string };

interface LayerInternals {
  kernel?: LayerVariable;
  bias?: LayerVariable | null;
  gamma?: LayerVariable;
  beta?: LayerVariable;
  movingMean?: LayerVariable;
  movingVariance?: LayerVariable;
}

type Config = Record<string, unknown>;

const pair = (value: unknown): [number, number] =>
  Array.isArray(value) ? [Number(value[0]), Number(value[1])] : [Number(value), Number(value)];

function translate(layer: tf.layers.Layer, config: Config): NodeOp | string {
  const internals = layer as unknown as LayerInternals;
  const className = layer.getClassName();
  if (config.dataFormat !== undefined && config.dataFormat !== 'channelsLast')
    return `${className} with dataFormat ${String(config.dataFormat)}`;
  const linear = (what: string) =>
    config.activation === undefined || config.activation === 'linear' ? undefined : `${what} with activation ${String(config.activation)}`;
  const regularized = [
    'kernelRegularizer',
    'biasRegularizer',
    'activityRegularizer',
    'kernelConstraint',
    'biasConstraint',
    'gammaRegularizer',
    'betaRegularizer',
  ].find((key) => config[key] != null);
  if (regularized) return `${className} with ${regularized}`;
  switch (className) {
    case 'InputLayer':
      return { op: 'input' };
    case 'Conv2D': {
      const [sh, sw] = pair(config.strides);
      const [dh, dw] = pair(config.dilationRate ?? 1);
      const problem = linear('Conv2D') ?? (sh !== sw ? 'Conv2D with unequal strides' : dh !== 1 || dw !== 1 ? 'dilated Conv2D' : undefined);
      if (problem) return problem;
      return {
        op: 'conv',
        kernel: internals.kernel as LayerVariable,
        bias: internals.bias ?? undefined,
        stride: sh,
        padding: config.padding === 'same' ? 'SAME' : 'VALID',
      };
    }
    case 'BatchNormalization': {
      const axis = Array.isArray(config.axis) ? config.axis : [config.axis];
      if (axis.length !== 1 || (axis[0] !== -1 && axis[0] !== 3)) return `${className} over axis ${JSON.stringify(config.axis)}`;
      if (config.center !== true || config.scale !== true) return `${className} without center and scale`;
      return {
        op: 'batchNorm',
        gamma: internals.gamma as LayerVariable,
        beta: internals.beta as LayerVariable,
        movingMean: internals.movingMean as LayerVariable,
        movingVariance: internals.movingVariance as LayerVariable,
        epsilon: Number(config.epsilon),
        momentum: Number(config.momentum),
      };
    }
    case 'Activation':
      if (config.activation === 'relu') return { op: 'relu' };
      if (config.activation === 'linear') return { op: 'identity' };
      return `Activation ${String(config.activation)}`;
    case 'Add':
      return { op: 'add' };
    case 'ShortcutA':
      return { op: 'shortcutA', stride: Number(config.stride), outChannels: Number(config.outChannels) };
    case 'ZeroPadding2D': {
      const padding = config.padding as [[number, number], [number, number]];
      return { op: 'pad', paddings: [pair(padding[0]), pair(padding[1])] };
    }
    case 'MaxPooling2D': {
      const [sh, sw] = pair(config.strides ?? config.poolSize);
      if (sh !== sw) return 'MaxPooling2D with unequal strides';
      return { op: 'maxPool', window: pair(config.poolSize), stride: sh, padding: config.padding === 'same' ? 'SAME' : 'VALID' };
    }
    case 'GlobalAveragePooling2D':
      return config.keepDims ? 'GlobalAveragePooling2D with keepDims' : { op: 'globalAvgPool' };
    case 'Dense':
      return linear('Dense') ?? { op: 'dense', kernel: internals.kernel as LayerVariable, bias: internals.bias ?? undefined };
    default:
      return `layer class ${className}`;
  }
}

/**
 * Translates a model into a native execution plan, or says why it cannot. `explicitPadding: false`
 * keeps zero paddings as their own node before a 'valid' conv (bfloat16's route: its convolutions
 * with explicit padding take a generic kernel 10-30× slower than float32's).
 */
export function compileNetwork(model: tf.LayersModel, options: { explicitPadding: boolean } = { explicitPadding: true }): CompileResult {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return { unsupported: 'models with several inputs or outputs' };
  const index = new Map<tf.layers.Layer, number>();
  const plan: PlanNode[] = [];
  for (const layer of model.layers) {
    if (layer.inboundNodes.length !== 1) return { unsupported: `layer ${layer.name} is applied ${layer.inboundNodes.length} times` };
    if (layer.weights.length > 0 && !layer.trainable) return { unsupported: `frozen layer ${layer.name}` };
    const op = translate(layer, layer.getConfig() as Config);
    if (typeof op === 'string') return { unsupported: `${op} (${layer.name})` };
    const node = layer.inboundNodes[0];
    const inputs: number[] = [];
    for (const inbound of node.inboundLayers) {
      const i = index.get(inbound);
      if (i === undefined) return { unsupported: `layer ${layer.name} reads ${inbound.name}, which is not an earlier layer of the model` };
      inputs.push(i);
    }
    if (node.nodeIndices.some((n) => n !== 0) || node.tensorIndices.some((t) => t !== 0))
      return { unsupported: `layer ${layer.name} reads a shared or multi-output layer` };
    if ((op.op === 'input') !== (inputs.length === 0)) return { unsupported: `layer ${layer.name} has ${inputs.length} inputs` };
    if (op.op === 'add' ? inputs.length < 2 : op.op !== 'input' && inputs.length !== 1)
      return { unsupported: `layer ${layer.name} has ${inputs.length} inputs` };
    index.set(layer, plan.length);
    plan.push({ ...op, name: layer.name, inputs });
  }
  const output = model.outputs[0].sourceLayer;
  if (index.get(output) !== plan.length - 1) return { unsupported: 'the output is not the last layer' };
  if (plan[plan.length - 1].op !== 'dense') return { unsupported: 'the output layer is not a Dense layer (logits)' };
  if (options.explicitPadding) foldPadding(plan);
  fuseBatchNormRelu(plan);
  pointwiseAsMatMul(plan);
  const inputShape = model.inputs[0].shape.slice(1);
  if (inputShape.length !== 3 || inputShape.some((d) => d === null))
    return { unsupported: `input shape [${model.inputs[0].shape.join(', ')}] (an image shape [height, width, channels] is needed)` };
  return { plan, inputShape: inputShape as number[] };
}
