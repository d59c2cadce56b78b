/**
 * A kernel self-check process (see ./isolated.ts for the protocol), started by ./check.ts with
 * RESLAB_KERNEL_CHECK=child, so that it runs no self-check of its own.
 */
import { selectBackend } from '../backend';
import { nativeOps } from '../native/ops';
import { KernelCase } from './cases';
import { serveCases } from './isolated';
import { runCase } from './run-cases';

void serveCases<KernelCase, ReturnType<typeof runCase>>(
  () => {
    const info = selectBackend();
    return info.kind === 'cpu' ? undefined : `backend ${info.description}`;
  },
  (c) => runCase(c, nativeOps()),
);
