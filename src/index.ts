/**
 * reslab: residual networks and the degradation problem of He et al. 2015, on TensorFlow.js.
 * The public API: what a notebook or a program uses. Importing it selects the backend once
 * (native GPU, native CPU or pure JS; see {@link selectBackend}). Script helpers (flags, exit
 * codes) are in `reslab/dist/src/scripts`; the event schema in full is the `reslab-protocol` package.
 */
import './models/legacy-batch-norm'; // models saved by earlier versions load (FusedBatchNormalization)
import { selectBackend } from './backend';

selectBackend();

export { selectBackend, describeBackend, BackendInfo, BackendKind } from './backend';
// Blocks and models
export * from './blocks/blocks';
export { SeedSequence, heNormal, classifierUniform } from './blocks/init';
export { ShortcutA, ShortcutAConfig } from './blocks/shortcut-a';
export * from './models/network';
export * from './models/zoo';
export * from './models/summary';
// Data
export { CifarDataset, CifarSplit, bundledDataDir, loadCifar10, readCifarBinary, takeFirst, describeDataSource } from './data/cifar';
export { downloadCifar10, defaultCacheDir, CIFAR10_URL, CIFAR10_MD5 } from './data/download';
export { meanImage, TrainingBatches, PAPER_AUGMENTATION, Augmentation } from './data/preprocess';
export { exampleTensors, ExampleTensors } from './data/tensors';
// Training: the protocol, one step, a run, its directory
export * from './train/config';
export { trainStep, predictLogits, countErrors, trainableVariables, StepResult } from './train/step';
export { stepEngine, inferenceEngine, nativeUnsupportedReason, releaseNativeNetwork } from './native';
export { SgdMomentum, SgdOptions } from './train/optimizer';
export { Trainer, TrainerOptions, StepProgress, DivergenceError } from './train/trainer';
export { launchRun, LaunchOptions, Launched, StopSignal } from './train/launch';
export { RunLockedError } from './train/run-lock';
export { RunDirectory, RunsRoot, readRunEvents, RunRecord, recordOf, loadRuns, runSplit, RunSplit, SplitSettings } from './runs';
export { TensorBoardLog } from './tensorboard/run-log';
// Probes and the paper's experiments
export { createProbe, blockTaps, layerResponses, Probe, BlockTaps } from './probes';
export * from './experiments/grid';
export * from './experiments/figures';
export * from './experiments/figure7';
export { writeReport, reportHtml, ReportSection } from './experiments/report';
export * from './experiments/claims';
// The tutorials' experiments and verdicts
export * as lessons from './lessons';
// Checks of a reader's own code (the tutorials' exercises)
export { check, checkBlock, checkModel, checkAnswer, BlockFunction, BlockCheckOptions, CheckReport, CheckLine } from './check';
// What runs emit and views show (the rest of the schema: reslab-protocol)
export {
  RunEvent,
  RunStartEvent,
  TrainEvent,
  EvalEvent,
  ProbeEvent,
  CheckpointEvent,
  RunEndEvent,
  RunDescriptor,
  BlockProbe,
  parseMetricsJsonl,
  validateEvent,
  RunView,
  RunViewPayload,
  RUN_VIEW_MIME,
  PLOTLY_MIME,
  PAPER_TABLE6,
  netName,
  netLabel,
  runLabel,
} from 'reslab-protocol';
