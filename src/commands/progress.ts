/** The CLI's progress line for a run, and its signal handling. */
import { RunEvent } from 'reslab-protocol';
import { StopSignal } from '../train/launch';
import { StepProgress } from '../train/trainer';

/** One status line on stderr, rewritten in place on a terminal, printed every 15 s otherwise. */
export class ProgressLine {
  private lastPrint = 0;
  private readonly tty = process.stderr.isTTY === true;

  update(text: string): void {
    if (this.tty) {
      process.stderr.write(`\r\x1b[K${text}`);
    } else if (Date.now() - this.lastPrint > 15_000) {
      process.stderr.write(`${text}\n`);
      this.lastPrint = Date.now();
    }
  }

  done(text?: string): void {
    if (this.tty) process.stderr.write(`\r\x1b[K${text ? `${text}\n` : ''}`);
    else if (text) process.stderr.write(`${text}\n`);
  }
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** A run's progress line: the listener of its events and the receiver of its steps' progress. */
export function runProgress(
  prefix: string,
  batchSize: number,
  quiet: boolean,
): { listener: (event: RunEvent) => void; onStep: (p: StepProgress) => void } {
  const line = new ProgressLine();
  let trainError = NaN;
  let testError = NaN;
  let rate = NaN;
  const listener = (event: RunEvent) => {
    if (event.type === 'run_start' && !quiet)
      line.done(
        `${prefix}: ${event.backend} backend, ${event.engine ?? 'tfjs autodiff'}${event.iteration > 0 ? `, resuming at iteration ${event.iteration}` : ''}`,
      );
    if (event.type === 'train') trainError = event.trainError;
    if (event.type === 'eval') testError = event.testError;
    if (event.type === 'run_end')
      line.done(
        `${prefix} ${event.status} at iteration ${event.iteration} in ${formatSeconds(event.wallSeconds)}${event.message ? `: ${event.message}` : ''}`,
      );
  };
  const onStep = (p: StepProgress) => {
    if (quiet) return;
    rate = Number.isFinite(rate) ? 0.9 * rate + 0.1 * p.imagesPerSecond : p.imagesPerSecond;
    const width = 24;
    const filled = Math.round((p.iteration / p.iterations) * width);
    const eta = ((p.iterations - p.iteration) * batchSize) / rate;
    const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '–');
    line.update(
      `${prefix} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.iteration}/${p.iterations} ` +
        `loss ${p.loss.toFixed(3)} train err ${pct(trainError)} test err ${pct(testError)} ${rate.toFixed(0)} img/s ETA ${formatSeconds(eta)}`,
    );
  };
  return { listener, onStep };
}

/**
 * SIGINT and SIGTERM request `stop` (the run checkpoints after its current step and ends
 * `stopped`); a second one quits at once. Returns the function that removes the handlers.
 */
export function stopOnSignals(stop: StopSignal): () => void {
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts += 1;
    if (interrupts > 1) process.exit(signal === 'SIGINT' ? 130 : 143);
    new ProgressLine().done(`${signal} received, stopping after this step and writing a checkpoint (again to quit at once)`);
    stop.request(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
