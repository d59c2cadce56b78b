/**
 * reslab's protocol: what flows from a training run to whoever shows it, with no dependency at
 * all, so that the library, the kernel extension and the JupyterLab extension share one copy.
 * The event schema and its validation (./events.ts), the live view's payload (./view.ts), the
 * paper's numbers and the one encoding of its figures (./paper.ts), the error curves every view
 * draws (./curves.ts), and run labels (./labels.ts).
 */
export * from './events';
export * from './view';
export * from './paper';
export * from './labels';
export * from './curves';
