import { NodeOf, PlanNode } from '../plan';
import { batchNorm } from './batch-norm';
import { conv, dense, foldedConv } from './conv';
import { add, identity, input, relu } from './elementwise';
import { OpRecord } from './record';
import { globalAvgPool, maxPool, pad, shortcutA } from './spatial';

export { RunningAverages } from './batch-norm';
export { foldSources, foldWeights } from './conv';
export { BackwardContext, BatchStatistics, FoldedWeights, ForwardContext, OpRecord, Saved } from './record';

/** Every op of a plan, by name: its forward and its backward (one file per family in this folder). */
export const RECORDS: { [K in PlanNode['op']]: OpRecord<NodeOf<K>> } = {
  input,
  identity,
  relu,
  add,
  conv,
  foldedConv,
  dense,
  batchNorm,
  shortcutA,
  pad,
  maxPool,
  globalAvgPool,
};

/** The record of `node`'s op. */
export function recordOf(node: PlanNode): OpRecord<PlanNode> {
  return RECORDS[node.op] as OpRecord<PlanNode>;
}
