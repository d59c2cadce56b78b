/**
 * What the tutorials measure beyond the paper's four claims, each with its verdict (a
 * {@link Finding}, drawn like the report's claims): gradient flow, the lesion study, shortcut
 * options, the warm-up of very deep nets, pre-activation.
 */
export * from './nets';
export * from './gradient-flow';
export * from './lesion';
export * from './shortcut-options';
export * from './warm-up';
export * from './pre-activation';
