import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { Precision } from '../native/ops';
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
  /**
   * The precision the steps before the checkpoint trained in (absent in older checkpoints: float32).
   * The weights and the optimizer's state are float32 in both; a resume in another precision is refused.
   */
  precision?: Precision;
  /** SHA-256 of tensors.bin, checked before a resume trusts its bytes (absent in older checkpoints). */
  tensorsSha256?: string;
  /**
   * The checkpoint event's line, appended to metrics.jsonl right after the checkpoint is on disk
   * (metricsBytes counts it): a resume after a kill in between appends it then.
   */
  eventLine?: string;
}

/** A checkpoint that cannot be trusted (its files disagree with each other, with the run or with themselves): nothing is resumed from it. */
export class InvalidCheckpointError extends Error {}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isNonNegative = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** The first field of a parsed state.json that is not what a checkpoint writes, or undefined. */
function stateProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'it is not a JSON object';
  const state = value as Record<string, unknown>;
  for (const key of ['iteration', 'metricsBytes'])
    if (!isCount(state[key])) return `${key} is not a count (got ${JSON.stringify(state[key])})`;
  if (typeof state.warmingUp !== 'boolean') return `warmingUp is not true or false (got ${JSON.stringify(state.warmingUp)})`;
  if (state.precision !== undefined && state.precision !== 'float32' && state.precision !== 'bfloat16')
    return `precision is not "float32" or "bfloat16" (got ${JSON.stringify(state.precision)})`;
  if (!isNonNegative(state.wallSeconds)) return `wallSeconds is not a number >= 0 (got ${JSON.stringify(state.wallSeconds)})`;
  if (state.window !== undefined) {
    const window = state.window as Record<string, unknown> | null;
    const fields = ['errors', 'images', 'loss', 'steps', 'seconds'];
    if (typeof window !== 'object' || window === null || !fields.every((f) => isNonNegative(window[f])))
      return `window is not {${fields.join(', ')}} of numbers >= 0`;
  }
  const tensors = state.tensors;
  if (!Array.isArray(tensors) || !tensors.every((t) => typeof t?.name === 'string' && Array.isArray(t.shape) && t.shape.every(isCount)))
    return 'tensors is not a list of {name, shape}';
  if (state.tensorsSha256 !== undefined && !(typeof state.tensorsSha256 === 'string' && /^[0-9a-f]{64}$/.test(state.tensorsSha256)))
    return 'tensorsSha256 is not a SHA-256 in hex';
  if (
    state.eventLine !== undefined &&
    !(typeof state.eventLine === 'string' && state.eventLine.endsWith('\n') && state.eventLine.length < 4096)
  )
    return 'eventLine is not one line of the log';
  return undefined;
}

const sha256 = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest('hex');

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
  const full: CheckpointState = {
    ...state,
    tensors: tensors.map((t, i) => ({ name: names[i], shape: t.shape })),
    tensorsSha256: sha256(buffer),
  };
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
  const stateFile = path.join(dir, STATE);
  const invalid = (what: string) =>
    new InvalidCheckpointError(
      `the checkpoint in ${dir} cannot be resumed from: ${what}. Nothing was changed; delete ${dir} to start the run over, or put a good checkpoint back`,
    );
  let state: CheckpointState;
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    const problem = stateProblem(parsed);
    if (problem) throw invalid(`${stateFile}: ${problem}`);
    state = parsed as CheckpointState;
  } catch (error) {
    if (error instanceof InvalidCheckpointError) throw error;
    throw invalid(`${stateFile} is not valid JSON (${(error as Error).message})`);
  }
  if (state.tensors.length !== expected.length) {
    throw invalid(`it holds ${state.tensors.length} tensors, the model needs ${expected.length}: it belongs to another model`);
  }
  state.tensors.forEach((t, i) => {
    if (t.shape.join('x') !== expected[i].shape.join('x')) {
      throw invalid(
        `tensor ${t.name} has shape ${t.shape.join('x')}, the model's ${expected[i].name} needs ${expected[i].shape.join('x')}`,
      );
    }
  });
  const buffer = fs.readFileSync(path.join(dir, WEIGHTS));
  const needed = expected.reduce((sum, t) => sum + 4 * t.shape.reduce((a, b) => a * b, 1), 0);
  if (buffer.length !== needed)
    throw invalid(`${path.join(dir, WEIGHTS)} is truncated or corrupt: ${buffer.length} bytes, expected ${needed}`);
  if (state.tensorsSha256 !== undefined && sha256(buffer) !== state.tensorsSha256)
    throw invalid(`${path.join(dir, WEIGHTS)} does not match the checksum in ${STATE}: its bytes were changed`);
  const values: Float32Array[] = [];
  let offset = 0;
  for (const t of expected) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    values.push(new Float32Array(buffer.buffer.slice(buffer.byteOffset + offset, buffer.byteOffset + offset + 4 * size)));
    offset += 4 * size;
  }
  return { state, values };
}
