import * as tf from '@tensorflow/tfjs';
import { NativeNetwork } from './executor';
import { NativeOps, nativeOps, Precision } from './ops';
import { compileNetwork } from './plan';

/**
 * reslab's native training step, behind one door: a model compiled once into a plan
 * (./plan.ts, ./passes.ts) and run by an executor (./executor.ts) on native TensorFlow kernels
 * (./ops.ts), with reference-counted activations (./holdings.ts). Used by src/train only.
 */

export { NativeNetwork, GradientResult } from './executor';
export { Precision } from './ops';
export { parsePrecision, precisionName, precisionProblem } from './precision';
export { fusedBatchNormActive, fusedBatchNormTraining, withFusedBatchNorm } from './autodiff-batch-norm';

/** Same-shaped tensors stacked along a new first dimension, in one native kernel where there is one. */
export function stackTensors(tensors: tf.Tensor[]): tf.Tensor {
  return nativeOps()?.stack(tensors) ?? tf.stack(tensors);
}

/** The inverse of {@link stackTensors}. */
export function unstackTensor(x: tf.Tensor): tf.Tensor[] {
  return nativeOps()?.unstack(x) ?? tf.unstack(x);
}

/** Compiled executors (or why not) per model, op set and precision; a model is compiled once per pair. */
const compiled = new WeakMap<tf.LayersModel, Map<NativeOps, Map<Precision, NativeNetwork | string>>>();

function compiledEntry(model: tf.LayersModel, ops: NativeOps, precision: Precision = 'float32'): NativeNetwork | string {
  let perOps = compiled.get(model);
  if (!perOps) {
    perOps = new Map();
    compiled.set(model, perOps);
  }
  let perPrecision = perOps.get(ops);
  if (!perPrecision) {
    perPrecision = new Map();
    perOps.set(ops, perPrecision);
  }
  let entry = perPrecision.get(precision);
  if (entry === undefined) {
    const result = compileNetwork(model, { explicitPadding: precision === 'float32' });
    entry = 'plan' in result ? new NativeNetwork(result.plan, result.inputShape, ops, precision) : result.unsupported;
    perPrecision.set(precision, entry);
  }
  return entry;
}

/**
 * The native executor of `model` training in `precision`, compiled once and cached, or undefined
 * when the backend is not native TensorFlow, `RESLAB_NATIVE=0`, or the model has a layer it does
 * not support ({@link nativeUnsupportedReason} says which).
 */
export function nativeNetwork(model: tf.LayersModel, precision: Precision = 'float32'): NativeNetwork | undefined {
  const ops = nativeOps();
  if (!ops) return undefined;
  const entry = compiledEntry(model, ops, precision);
  return typeof entry === 'string' ? undefined : entry;
}

/** One line saying how `model`'s training steps run here in `precision` (for run events and logs). */
export function stepEngine(model: tf.LayersModel, precision: Precision = 'float32'): string {
  const reason = nativeUnsupportedReason(model);
  if (reason !== undefined) return `tfjs autodiff (${reason})`;
  const parts = [...(nativeOps()?.oneDnn ? ['oneDNN kernels'] : []), ...(precision === 'bfloat16' ? ['bf16 mixed precision'] : [])];
  return parts.length ? `native step (${parts.join(', ')})` : 'native step';
}

/** One line saying how `model`'s inference (predictions, evaluation) runs here. */
export function inferenceEngine(model: tf.LayersModel): string {
  const reason = nativeUnsupportedReason(model);
  if (reason !== undefined) return `tfjs layers (${reason})`;
  const ops = nativeOps();
  if (ops?.fusedConv) return 'native (each conv with its batch norm, residual add and ReLU in one oneDNN kernel)';
  if (ops?.oneDnn)
    return "native (batch norm folded into the conv; add and ReLU as separate kernels: tfjs-node's binding lacks list attributes, which `npm run setup` compiles in)";
  return 'native';
}

/** Frees what the native executors of `model` cache (folded inference weights); call before `model.dispose()`. */
export function releaseNativeNetwork(model: tf.LayersModel): void {
  for (const perPrecision of compiled.get(model)?.values() ?? [])
    for (const entry of perPrecision.values()) if (typeof entry !== 'string') entry.dispose();
  compiled.delete(model);
}

/** Why `model`'s steps run on tfjs's autodiff instead of the native step (undefined if it runs natively). */
export function nativeUnsupportedReason(model: tf.LayersModel): string | undefined {
  const ops = nativeOps();
  if (!ops)
    return tf.getBackend() === 'tensorflow'
      ? `RESLAB_NATIVE=${process.env.RESLAB_NATIVE}`
      : `backend ${tf.getBackend()} is not native TensorFlow`;
  const entry = compiledEntry(model, ops);
  return typeof entry === 'string' ? entry : undefined;
}
