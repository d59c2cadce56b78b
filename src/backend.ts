import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { applyKernelRoute, ensureKernelCheck } from './kernels';
import { installKernelRoutes } from './kernels/routes';

/** Which TensorFlow.js backend reslab runs on. */
export type BackendKind = 'gpu' | 'cpu' | 'js';

/** What {@link selectBackend} chose and why. */
export interface BackendInfo {
  kind: BackendKind;
  /** The tfjs backend name (`tensorflow` for both native kinds, `cpu` for pure JS). */
  tfBackend: string;
  /** The npm package providing it. */
  package: string;
  /** One line for people: what runs and why. */
  description: string;
  /** Reasons the faster kinds were not used (empty when the fastest one loaded). */
  fallbacks: string[];
}

const NATIVE_PACKAGES: Record<'gpu' | 'cpu', string> = {
  gpu: '@tensorflow/tfjs-node-gpu',
  cpu: '@tensorflow/tfjs-node',
};

let selected: BackendInfo | undefined;

function isBackendKind(value: string): value is BackendKind {
  return value === 'gpu' || value === 'cpu' || value === 'js';
}

function hasNvidiaGpu(): boolean {
  try {
    return fs.readdirSync('/proc/driver/nvidia/gpus').length > 0;
  } catch {
    return false;
  }
}

/**
 * Loads shared libraries by absolute path into the process's global namespace, so that a later
 * dlopen() by soname (TensorFlow opening libcudart.so.12, libcudnn.so.9, ...) finds them already
 * loaded, without LD_LIBRARY_PATH (Linux). Node's dlopen reports "did not self-register" for a
 * library that is not an addon after loading it; that is success here. Libraries that need others are
 * retried after them. Returns the ones that could not be loaded, with why.
 */
export function preloadSharedLibraries(files: string[]): string[] {
  // RTLD_NODELETE (glibc's 0x1000, not in os.constants): Node dlclose()s a library that registered no
  // addon, which would unload it again; with this flag it stays.
  const RTLD_NODELETE = 0x1000;
  const flags = os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL | RTLD_NODELETE;
  let pending = files.slice();
  let problems: string[] = [];
  for (let pass = 0; pass < 4 && pending.length > 0; pass++) {
    const failed: string[] = [];
    problems = [];
    for (const file of pending) {
      try {
        process.dlopen({ exports: {} } as NodeJS.Module, file, flags);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (/did not self-register|Module did not/.test(message)) continue;
        failed.push(file);
        problems.push(`${file}: ${message.split('\n')[0]}`);
      }
    }
    if (failed.length === pending.length) break;
    pending = failed;
  }
  return pending.length ? problems : [];
}

/** The CUDA libraries `npm run setup -- --gpu` installed with pip (scripts/setup-gpu.js), loaded before TensorFlow. */
function preloadCudaLibraries(): void {
  let list: string;
  try {
    list = path.join(path.dirname(require.resolve(`${NATIVE_PACKAGES.gpu}/package.json`)), 'deps', 'cuda-libraries.json');
  } catch {
    return;
  }
  if (!fs.existsSync(list)) return;
  const problems = preloadSharedLibraries(JSON.parse(fs.readFileSync(list, 'utf8')) as string[]);
  if (problems.length)
    process.emitWarning(`some CUDA libraries from ${list} did not load: ${problems.join('; ')}`, { code: 'RESLAB_CUDA_LIBRARIES' });
}

function loadNative(kind: 'gpu' | 'cpu'): void {
  // Hide TensorFlow's C++ info and warning lines unless the user set a level.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  if (kind === 'gpu') preloadCudaLibraries();
  if (kind === 'cpu') {
    // Before TensorFlow loads: the settings the check may switch are read once, at load.
    const report = ensureKernelCheck();
    const switched = report && applyKernelRoute(report);
    if (switched) process.stderr.write(`reslab: ${switched}\n`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(NATIVE_PACKAGES[kind]);
  if (!tf.findBackendFactory('tensorflow')) throw new Error(`${NATIVE_PACKAGES[kind]} loaded but registered no 'tensorflow' backend`);
  // Native backends initialize synchronously, so the switch is complete when setBackend returns.
  void tf.setBackend('tensorflow');
  if (tf.getBackend() !== 'tensorflow') throw new Error(`the 'tensorflow' backend of ${NATIVE_PACKAGES[kind]} failed to initialize`);
  if (kind === 'cpu') installKernelRoutes();
}

function errorLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}

function useJs(fallbacks: string[]): BackendInfo {
  void tf.setBackend('cpu');
  return {
    kind: 'js',
    tfBackend: 'cpu',
    package: '@tensorflow/tfjs',
    description: 'pure-JavaScript CPU backend (about 1000x slower than native; run `npm run setup`)',
    fallbacks,
  };
}

function nativeInfo(kind: 'gpu' | 'cpu', fallbacks: string[]): BackendInfo {
  return {
    kind,
    tfBackend: 'tensorflow',
    package: NATIVE_PACKAGES[kind],
    description: kind === 'gpu' ? 'native TensorFlow on the GPU (CUDA)' : 'native TensorFlow on the CPU',
    fallbacks,
  };
}

/**
 * Chooses the backend once per process: native GPU if @tensorflow/tfjs-node-gpu loads and a GPU
 * is present, else native CPU, else pure JS with a loud warning. `RESLAB_BACKEND=gpu|cpu|js`
 * forces one and throws if it is unavailable. Later calls return the first choice.
 */
export function selectBackend(): BackendInfo {
  if (selected) return selected;
  const requested = process.env.RESLAB_BACKEND?.trim().toLowerCase();
  if (requested && !isBackendKind(requested)) {
    throw new Error(`RESLAB_BACKEND must be gpu, cpu or js; got '${process.env.RESLAB_BACKEND}'`);
  }
  const forced = requested as BackendKind | undefined;
  if (forced === 'js') {
    selected = useJs(['RESLAB_BACKEND=js']);
    return selected;
  }
  if (forced) {
    if (forced === 'gpu' && !hasNvidiaGpu()) {
      throw new Error('RESLAB_BACKEND=gpu, but no NVIDIA GPU is visible (/proc/driver/nvidia/gpus is empty or missing)');
    }
    try {
      loadNative(forced);
    } catch (error) {
      throw new Error(
        `RESLAB_BACKEND=${forced}, but ${NATIVE_PACKAGES[forced]} is unavailable: ${errorLine(error)}. ` +
          `Install it with \`npm run setup${forced === 'gpu' ? ' -- --gpu' : ''}\`.`,
        { cause: error },
      );
    }
    selected = nativeInfo(forced, []);
    return selected;
  }
  const fallbacks: string[] = [];
  for (const kind of ['gpu', 'cpu'] as const) {
    if (kind === 'gpu' && !hasNvidiaGpu()) {
      fallbacks.push('gpu: no NVIDIA GPU visible');
      continue;
    }
    try {
      loadNative(kind);
      selected = nativeInfo(kind, fallbacks);
      return selected;
    } catch (error) {
      fallbacks.push(`${kind}: ${NATIVE_PACKAGES[kind]} unavailable (${errorLine(error)})`);
    }
  }
  selected = useJs(fallbacks);
  process.emitWarning(
    `reslab is using the pure-JavaScript backend, about 1000x slower than native TensorFlow (${fallbacks.join('; ')}). ` +
      'Run `npm run setup` to install @tensorflow/tfjs-node.',
    { code: 'RESLAB_SLOW_BACKEND' },
  );
  return selected;
}

/** A one-line description such as `backend: native TensorFlow on the CPU (@tensorflow/tfjs-node 4.22.0)`. */
export function describeBackend(info: BackendInfo = selectBackend()): string {
  return `backend: ${info.description} (${info.package} ${tf.version.tfjs})`;
}
