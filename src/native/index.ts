import * as tf from '@tensorflow/tfjs';
import { NativeNetwork } from './executor';
import { NativeOps, nativeOps } from './ops';
import { compileNetwork } from './plan';

/**
 * reslab's native training step, behind one door: a model compiled once into a plan
 * (./plan.ts, ./passes.ts) and run by an executor (./executor.ts) on native TensorFlow kernels
 * (./ops.ts), with reference-counted activations (./holdings.ts). Used by src/train only.
 */

export { NativeNetwork, GradientResult } from './executor';
export { fusedBatchNormActive, fusedBatchNormTraining, withFusedBatchNorm } from './autodiff-batch-norm';

/** Same-shaped tensors stacked along a new first dimension, in one native kernel where there is one. */
export function stackTensors(tensors: tf.Tensor[]): tf.Tensor {
  return nativeOps()?.stack(tensors) ?? tf.stack(tensors);
}

/** The inverse of {@link stackTensors}. */
export function unstackTensor(x: tf.Tensor): tf.Tensor[] {
  return nativeOps()?.unstack(x) ?? tf.unstack(x);
}

/** Compiled executors (or why not) per model and op set; a model is compiled once per op set. */
const compiled = new WeakMap<tf.LayersModel, Map<NativeOps, NativeNetwork | string>>();

function compiledEntry(model: tf.LayersModel, ops: NativeOps): NativeNetwork | string {
  let perOps = compiled.get(model);
  if (!perOps) {
    perOps = new Map();
    compiled.set(model, perOps);
  }
  let entry = perOps.get(ops);
  if (entry === undefined) {
    const result = compileNetwork(model);
    entry = 'plan' in result ? new NativeNetwork(result.plan, result.inputShape, ops) : result.unsupported;
    perOps.set(ops, entry);
  }
  return entry;
}

/**
 * The native executor of `model`, compiled once and cached, or undefined when the backend is not
 * native TensorFlow, `RESLAB_NATIVE=0`, or the model has a layer it does not support
 * ({@link nativeUnsupportedReason} says which).
 */
export function nativeNetwork(model: tf.LayersModel): NativeNetwork | undefined {
  const ops = nativeOps();
  if (!ops) return undefined;
  const entry = compiledEntry(model, ops);
  return typeof entry === 'string' ? undefined : entry;
}

/** One line saying how `model`'s training steps run here (for run events and logs). */
export function stepEngine(model: tf.LayersModel): string {
  const reason = nativeUnsupportedReason(model);
  if (reason !== undefined) return `tfjs autodiff (${reason})`;
  return nativeOps()?.oneDnn ? 'native step (oneDNN kernels)' : 'native step';
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
  for (const entry of compiled.get(model)?.values() ?? []) if (typeof entry !== 'string') entry.dispose();
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
