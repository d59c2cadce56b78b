import type { PlanNode } from './plan';

/** Optimisation passes over a compiled plan; each rewrites nodes in place and keeps indices. */

/** How many nodes read each node's output. */
export function countReaders(plan: PlanNode[]): number[] {
  const readers = plan.map(() => 0);
  for (const node of plan) for (const i of node.inputs) readers[i]++;
  return readers;
}

/** A ReLU that is the only reader of a batch norm runs inside it (one oneDNN kernel where available). */
export function fuseBatchNormRelu(plan: PlanNode[]): void {
  const readers = countReaders(plan);
  plan.forEach((node, i) => {
    if (node.op !== 'relu') return;
    const source = plan[node.inputs[0]];
    if (source.op !== 'batchNorm' || readers[node.inputs[0]] !== 1) return;
    plan[node.inputs[0]] = { ...source, relu: true };
    plan[i] = { op: 'identity', name: node.name, inputs: node.inputs };
  });
}

/** A zero padding read only by a 'valid' conv becomes that conv's explicit padding (no copy). */
export function foldPadding(plan: PlanNode[]): void {
  const readers = countReaders(plan);
  plan.forEach((node, i) => {
    if (node.op !== 'conv' || node.padding !== 'VALID') return;
    const source = plan[node.inputs[0]];
    if (source.op !== 'pad' || readers[node.inputs[0]] !== 1) return;
    const [[top, bottom], [left, right]] = source.paddings;
    plan[i] = { ...node, padding: [top, bottom, left, right] };
    plan[node.inputs[0]] = { op: 'identity', name: source.name, inputs: source.inputs };
  });
}

/**
 * A 1x1 conv is a matrix product of its input's pixels (every s-th one for stride s) with the
 * kernel: TensorFlow's MatMul computes it as fast or faster than its oneDNN 1x1 convolutions, which
 * crash or compute wrong numbers on some CPUs (src/kernels/routes.ts says which, and routes tfjs's
 * own kernels the same way).
 */
export function pointwiseAsMatMul(plan: PlanNode[]): void {
  plan.forEach((node, i) => {
    if (node.op !== 'conv') return;
    const [height, width] = node.kernel.shape;
    const unpadded = typeof node.padding === 'string' || node.padding.every((p) => p === 0);
    if (height === 1 && width === 1 && unpadded) plan[i] = { ...node, pointwise: true };
  });
}
