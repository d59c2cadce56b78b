/**
 * reslab: residual networks and the degradation problem of He et al. 2015, on TensorFlow.js.
 *
 * Importing the library selects the backend once (native GPU, native CPU or pure JS; see
 * {@link selectBackend}).
 */
import { selectBackend } from './backend';

selectBackend();

export * from './backend';
export * from './blocks/blocks';
export { SeedSequence, heNormal, classifierUniform } from './blocks/init';
export { ShortcutA, ShortcutAConfig } from './blocks/shortcut-a';
export * from './models/network';
export * from './models/zoo';
export * from './models/summary';
