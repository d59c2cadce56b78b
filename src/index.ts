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
export * from './data/cifar';
export { downloadCifar10, defaultCacheDir, CIFAR10_URL, CIFAR10_MD5 } from './data/download';
export { meanImage, writeBatch, TrainingBatches, PAPER_AUGMENTATION, Augmentation } from './data/preprocess';
export { exampleTensors, ExampleTensors } from './data/tensors';
export * from './train/config';
export { Trainer, TrainerOptions, StepProgress, DivergenceError } from './train/trainer';
export { launchRun, LaunchOptions, Launched, StopSignal } from './train/launch';
export {
  RunDirectory,
  RunsRoot,
  readRunEvents,
  MetricsLog,
  RunRecord,
  recordOf,
  loadRuns,
  runSplit,
  RunSplit,
  SplitSettings,
} from './runs';
export { SgdMomentum, SgdOptions } from './train/optimizer';
export { RunLock, RunLockedError, LockOwner } from './train/run-lock';
// The training step and, through it, the native executor's public entry points.
export * from './train/step';
import './models/legacy-batch-norm';
export { createProbe, blockTaps, layerResponses, Probe, BlockTaps } from './probes';
export * from './experiments/grid';
export * from './experiments/figures';
export * from './experiments/figure7';
export { writeReport, reportHtml, ReportSection } from './experiments/report';
export { TensorBoardLog, summaryValuesOf, tensorBoardFiles } from './tensorboard/run-log';
export { crc32c, maskedCrc32c } from './tensorboard/crc32c';
export * from './experiments/claims';
export * from 'reslab-protocol';
export { parseScriptFlags, runScript, UsageError } from './commands/command';
