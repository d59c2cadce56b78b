import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const VENV_BIN = path.join(ROOT, '.venv', 'bin');

/** Fails with the fix when the project's Jupyter (from `npm run setup`) is missing. */
export function requireJupyter(): void {
  if (!fs.existsSync(path.join(VENV_BIN, 'jupyter'))) {
    throw new Error('the project JupyterLab (.venv) is missing: run `npm run setup` (without --no-jupyter)');
  }
}

/** The helpers of `npm run lab` (scripts/lab.js), which the tests share. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const lab = require(path.join(ROOT, 'scripts', 'lab.js')) as {
  jupyterEnv(stateDir: string): NodeJS.ProcessEnv;
  labArgs(options: { port: string; rootDir: string }): string[];
  disableAnnouncements(env: NodeJS.ProcessEnv): void;
  JUPYTER: string;
};

/** Jupyter state in a fresh temporary directory, never in the home directory. */
export function jupyterEnv(): NodeJS.ProcessEnv {
  return lab.jupyterEnv(fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-jupyter-')));
}

/**
 * A scratch directory inside the repository: tslab resolves `reslab` and `reslab-kernel` from
 * the notebook's directory upwards, like Node.js.
 */
export function notebookDir(): string {
  const base = path.join(ROOT, '.cache', 'test-notebooks');
  fs.mkdirSync(base, { recursive: true });
  return fs.mkdtempSync(path.join(base, 'nb-'));
}

export interface NotebookCell {
  cell_type: 'code' | 'markdown';
  source: string | string[];
  outputs?: NotebookOutput[];
  metadata?: Record<string, unknown>;
}

export interface NotebookOutput {
  output_type: string;
  data?: Record<string, unknown>;
  text?: string | string[];
  name?: string;
  ename?: string;
  evalue?: string;
}

/** Writes a tslab notebook of code cells. */
export function writeNotebook(file: string, cells: string[]): void {
  const notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' } },
    cells: cells.map((source, i) => ({ cell_type: 'code', id: `cell-${i}`, source, metadata: {}, outputs: [], execution_count: null })),
  };
  fs.writeFileSync(file, JSON.stringify(notebook, null, 1));
}

/** Executes a notebook in place with nbconvert and the real tslab kernel; returns its cells. */
export function executeNotebook(file: string, timeoutSeconds = 600, env: NodeJS.ProcessEnv = {}): NotebookCell[] {
  const result = spawnSync(
    path.join(VENV_BIN, 'jupyter'),
    ['nbconvert', '--to', 'notebook', '--execute', '--inplace', `--ExecutePreprocessor.timeout=${timeoutSeconds}`, file],
    { env: { ...jupyterEnv(), ...env }, encoding: 'utf8', cwd: path.dirname(file) },
  );
  if (result.status !== 0) throw new Error(`nbconvert --execute ${file} failed (${result.status}):\n${result.stderr.slice(-3000)}`);
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: NotebookCell[] }).cells;
}

export function textOf(output: NotebookOutput): string {
  return Array.isArray(output.text) ? output.text.join('') : (output.text ?? '');
}
