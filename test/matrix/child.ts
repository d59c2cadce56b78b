/**
 * A CPU-matrix process (the protocol of src/kernels/isolated.ts): runs the cases of ./cases.ts it
 * is given under the oneDNN setting of its environment and reports each as passed or failed.
 */
import { selectBackend } from '../../src/backend';
import { serveCases } from '../../src/kernels/isolated';
import { Batch, matrixCases } from './cases';
import { testBatch } from '../helpers/passes';

const byId = new Map([...matrixCases('full'), ...matrixCases('quick')].map((c) => [c.id, c]));
let batch: Batch;

void serveCases<{ id: string }, { status: 'passed' } | { status: 'failed'; message: string }>(
  () => {
    const info = selectBackend();
    if (info.kind !== 'cpu') return `backend ${info.description}`;
    batch = testBatch(32);
    return undefined;
  },
  async ({ id }) => {
    const c = byId.get(id);
    if (!c) return { status: 'failed', message: `no such case: ${id}` };
    try {
      await c.run(batch);
      return { status: 'passed' };
    } catch (error) {
      return { status: 'failed', message: error instanceof Error ? error.message : String(error) };
    }
  },
);
