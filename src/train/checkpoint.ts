import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { RunDirectory } from '../runs';

/** Sums over the steps since the last train event. */
export interface RunningWindow {
  errors: number;
  images: number;
  loss: number;
  steps: number;
  seconds: number;
}

/** Training state besides tensors. */
export interface CheckpointState {
  iteration: number;
  /** Size of metrics.jsonl when the checkpoint was taken: a resume truncates to it. */
  metricsBytes: number;
  warmingUp: boolean;
  /** Wall-clock seconds spent training before this checkpoint. */
  wallSeconds: number;
  /**
   * The running-error window open at the checkpoint (steps since the last train event), so that a
   * resumed run logs exactly the figures of an uninterrupted one. Absent in older checkpoints.
   */
  window?: RunningWindow;
  tensors: Array<{ name: string; shape: number[] }>;
}

const WEIGHTS = 'tensors.bin';
const STATE = 'state.json';

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}

/**
 * Writes `tensors` (model weights incl. BN statistics, optimizer velocities) and `state` to the
 * run's checkpoint directory, atomically: into a temporary directory, fsynced, then swapped in, so a
 * kill at any moment leaves the previous checkpoint or the new one, never a mix.
 */
export function saveCheckpoint(run: RunDirectory, tensors: tf.Tensor[], names: string[], state: Omit<CheckpointState, 'tensors'>): void {
  const final = run.checkpointDir;
  const [tmp, old] = [`${final}.tmp`, `${final}.old`];
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    writeInto(tmp, tensors, names, state);
  } catch (error) {
    // A full disk or a vanished directory: leave no half-written directory, keep the last checkpoint.
    fs.rmSync(tmp, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      `cannot write the checkpoint ${tmp}${code ? ` (${code}${code === 'ENOSPC' ? ': the disk is full' : ''})` : ''}: ` +
        `${(error as Error).message}; the previous checkpoint in ${final} is kept`,
      { cause: error },
    );
  }
  fs.rmSync(old, { recursive: true, force: true });
  if (fs.existsSync(final)) fs.renameSync(final, old);
  fs.renameSync(tmp, final);
  fs.rmSync(old, { recursive: true, force: true });
}

function writeInto(tmp: string, tensors: tf.Tensor[], names: string[], state: Omit<CheckpointState, 'tensors'>): void {
  fs.mkdirSync(tmp, { recursive: true });
  const data = tensors.map((t) => t.dataSync() as Float32Array);
  const bytes = data.reduce((sum, d) => sum + d.byteLength, 0);
  const buffer = Buffer.alloc(bytes);
  let offset = 0;
  for (const d of data) {
    Buffer.from(d.buffer, d.byteOffset, d.byteLength).copy(buffer, offset);
    offset += d.byteLength;
  }
  fs.writeFileSync(path.join(tmp, WEIGHTS), buffer);
  const full: CheckpointState = { ...state, tensors: tensors.map((t, i) => ({ name: names[i], shape: t.shape })) };
  fs.writeFileSync(path.join(tmp, STATE), `${JSON.stringify(full)}\n`);
  fsyncFile(path.join(tmp, WEIGHTS));
  fsyncFile(path.join(tmp, STATE));
}

/**
 * Finishes or undoes a checkpoint swap that a kill cut short: a complete `checkpoint/` wins and the
 * leftovers (`.old`, `.tmp`) go; without one, a complete `.old` becomes `checkpoint/` again.
 */
export function tidyCheckpoints(run: RunDirectory): void {
  const final = run.checkpointDir;
  const old = `${final}.old`;
  if (!complete(final) && complete(old)) {
    fs.rmSync(final, { recursive: true, force: true });
    fs.renameSync(old, final);
  }
  fs.rmSync(old, { recursive: true, force: true });
  fs.rmSync(`${final}.tmp`, { recursive: true, force: true });
}

/** A checkpoint directory that holds both of its files. */
function complete(dir: string): boolean {
  return fs.existsSync(path.join(dir, STATE)) && fs.existsSync(path.join(dir, WEIGHTS));
}

/** The checkpoint directory to resume from, if any (a swap cut short leaves `.old`). */
function checkpointDir(run: RunDirectory): string | undefined {
  return [run.checkpointDir, `${run.checkpointDir}.old`].find(complete);
}

export function hasCheckpoint(run: RunDirectory): boolean {
  return checkpointDir(run) !== undefined;
}

/** Reads a checkpoint; validates it against the expected tensor names and shapes. */
export function loadCheckpoint(
  run: RunDirectory,
  expected: Array<{ name: string; shape: number[] }>,
): { state: CheckpointState; values: Float32Array[] } {
  const dir = checkpointDir(run);
  if (!dir) throw new Error(`no checkpoint in ${run.dir}`);
  const state = JSON.parse(fs.readFileSync(path.join(dir, STATE), 'utf8')) as CheckpointState;
  if (state.tensors.length !== expected.length) {
    throw new Error(
      `checkpoint in ${dir} holds ${state.tensors.length} tensors, the model needs ${expected.length}: it belongs to another model`,
    );
  }
  state.tensors.forEach((t, i) => {
    if (t.shape.join('x') !== expected[i].shape.join('x')) {
      throw new Error(
        `checkpoint tensor ${t.name} has shape ${t.shape.join('x')}, the model's ${expected[i].name} needs ${expected[i].shape.join('x')}`,
      );
    }
  });
  const buffer = fs.readFileSync(path.join(dir, WEIGHTS));
  const needed = expected.reduce((sum, t) => sum + 4 * t.shape.reduce((a, b) => a * b, 1), 0);
  if (buffer.length !== needed) {
    throw new Error(`checkpoint ${path.join(dir, WEIGHTS)} is truncated or corrupt: ${buffer.length} bytes, expected ${needed}`);
  }
  const values: Float32Array[] = [];
  let offset = 0;
  for (const t of expected) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    values.push(new Float32Array(buffer.buffer.slice(buffer.byteOffset + offset, buffer.byteOffset + offset + 4 * size)));
    offset += 4 * size;
  }
  return { state, values };
}
