/**
 * Run directories: a runs directory's runs (./root.ts), one run's layout and readers (./directory.ts), the listener that writes a run's
 * events (./metrics-log.ts), a run's curves and the runs of a directory (./records.ts), and the
 * one definition of a run's data split and mean image (./split.ts).
 */
export { InvalidRunLogError, RunDirectory, readRunEvents } from './directory';
export { RunsRoot } from './root';
export { eventLine, MetricsLog } from './metrics-log';
export { RunRecord, recordOf, loadRuns } from './records';
export { dataFingerprint, DataFingerprint, runSplit, RunSplit, SplitSettings } from './split';
