import type { FoldedConvNode, PlanNode } from './plan';

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

/**
 * The inference plan of a training plan: each batch norm that is a conv's only reader is folded
 * into that conv (w' = w·s, b' = β + (b − μ)·s, s = γ/√(σ² + ε); one conv-with-bias kernel), where
 * oneDNN's kernels run. Where its fused convolution runs too, an add fed by such a conv (not a
 * 1x1 one, which is a matrix product) takes the conv in, with the add's other input as residual,
 * and so does the ReLU that is the add's only reader: one kernel per conv. The nodes taken in pass
 * their input on, so every index keeps its meaning.
 */
export function fuseForInference(training: PlanNode[], kernels: { oneDnn: boolean; fusedConv: boolean }): PlanNode[] {
  const plan = training.slice();
  if (!kernels.oneDnn) return plan;
  const readers = countReaders(training);
  const passOn = (i: number): PlanNode => ({ op: 'identity', name: training[i].name, inputs: training[i].inputs });
  training.forEach((node, j) => {
    const i = node.inputs[0];
    const conv = training[i];
    if (node.op !== 'batchNorm' || conv?.op !== 'conv' || readers[i] !== 1) return;
    plan[i] = passOn(i);
    plan[j] = {
      op: 'foldedConv',
      name: node.name,
      inputs: [i],
      conv,
      batchNorm: node,
      source: i,
      residual: false,
      relu: node.relu === true,
    };
  });
  if (!kernels.fusedConv) return plan;
  training.forEach((node, a) => {
    if (node.op !== 'add' || node.inputs.length !== 2) return;
    const side = node.inputs.findIndex((j) => {
      const folded = plan[j];
      return folded.op === 'foldedConv' && !folded.relu && !folded.conv.pointwise && readers[j] === 1;
    });
    if (side < 0) return;
    const j = node.inputs[side];
    const folded = plan[j] as FoldedConvNode;
    const reader = training.findIndex((other) => other.inputs.includes(a));
    const relu = readers[a] === 1 && training[reader].op === 'relu';
    plan[j] = passOn(j);
    plan[a] = { ...folded, name: node.name, inputs: [j, node.inputs[1 - side]], residual: true, relu };
    if (relu) plan[reader] = passOn(reader);
  });
  return plan;
}
