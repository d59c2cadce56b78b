import * as tf from '@tensorflow/tfjs';

/** Calls and time of one native kernel name. */
export interface KernelTotals {
  calls: number;
  ms: number;
}

type Execute = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Runs `fn` with every native TensorFlow kernel call recorded at tfjs-node's backend, where all
 * kernels enter TensorFlow (tfjs's own and reslab's), and returns the totals per kernel name.
 * Eager CPU kernels run synchronously, so a call's wall time is the kernel's time plus the
 * binding's overhead. Undefined on the pure-JS backend.
 */
export function logKernels(fn: () => void): Map<string, KernelTotals> | undefined {
  if (tf.getBackend() !== 'tensorflow') return undefined;
  const prototype = Object.getPrototypeOf(tf.backend()) as Record<string, Execute>;
  const methods = ['executeSingleOutput', 'executeMultipleOutputs'];
  const originals = methods.map((m) => prototype[m]);
  const totals = new Map<string, KernelTotals>();
  methods.forEach((m, i) => {
    prototype[m] = function (this: unknown, ...args: unknown[]) {
      const start = process.hrtime.bigint();
      try {
        return originals[i].apply(this, args);
      } finally {
        const name = String(args[0]);
        const entry = totals.get(name) ?? { calls: 0, ms: 0 };
        entry.calls++;
        entry.ms += Number(process.hrtime.bigint() - start) / 1e6;
        totals.set(name, entry);
      }
    };
  });
  try {
    fn();
  } finally {
    methods.forEach((m, i) => (prototype[m] = originals[i]));
  }
  return totals;
}
