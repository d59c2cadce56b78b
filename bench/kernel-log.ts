import * as tf from '@tensorflow/tfjs';

/** Calls and time of one native kernel name. */
export interface KernelTotals {
  calls: number;
  ms: number;
}

type Execute = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Runs `fn` with every native TensorFlow kernel call recorded at tfjs-node's binding (`executeOp`),
 * where all kernels enter TensorFlow (tfjs's own and reslab's, float32 and bfloat16), and returns
 * the totals per kernel name. Eager CPU kernels run synchronously, so a call's wall time is the
 * kernel's time plus the binding's overhead. Undefined on the pure-JS backend.
 */
export function logKernels(fn: () => void): Map<string, KernelTotals> | undefined {
  if (tf.getBackend() !== 'tensorflow') return undefined;
  // The binding's functions are read-only: the backend gets a stand-in for the call's duration
  // whose executeOp records and calls the real one (everything else it inherits).
  const backend = tf.backend() as unknown as { binding: { executeOp: Execute } };
  const binding = backend.binding;
  const totals = new Map<string, KernelTotals>();
  const executeOp = function (this: unknown, ...args: unknown[]) {
    const start = process.hrtime.bigint();
    try {
      return binding.executeOp.call(binding, ...args);
    } finally {
      const name = String(args[0]);
      const entry = totals.get(name) ?? { calls: 0, ms: 0 };
      entry.calls++;
      entry.ms += Number(process.hrtime.bigint() - start) / 1e6;
      totals.set(name, entry);
    }
  };
  backend.binding = Object.create(binding, { executeOp: { value: executeOp } }) as typeof binding;
  try {
    fn();
  } finally {
    backend.binding = binding;
  }
  return totals;
}
