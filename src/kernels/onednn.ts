/**
 * The two environment variables that steer TensorFlow's oneDNN kernels on x86 CPUs, read the way
 * TensorFlow and oneDNN read them. Both are read once, when the library first uses them, so they
 * only take effect when set before @tensorflow/tfjs-node loads.
 */

type Env = Record<string, string | undefined>;

/**
 * Whether `TF_ENABLE_ONEDNN_OPTS` turns oneDNN off (`0` or `false`, any case, as TensorFlow's
 * ReadBoolFromEnvVar accepts): TensorFlow then runs its standard (Eigen) kernels, and reslab calls
 * no oneDNN kernel by name either.
 */
export function oneDnnDisabled(env: Env = process.env): boolean {
  const value = env.TF_ENABLE_ONEDNN_OPTS?.trim().toLowerCase();
  return value === '0' || value === 'false';
}

/**
 * oneDNN's CPU code paths from the newest to the oldest, as `ONEDNN_MAX_CPU_ISA` names them
 * (oneDNN 3.x). A value above what the CPU has is the same as the CPU's best; the ones a CPU
 * really distinguishes are found by asking oneDNN (see `distinctIsas` in ./isa.ts).
 */
export const ONEDNN_ISAS = [
  'AVX10_1_512_AMX_FP16',
  'AVX512_CORE_AMX_FP16',
  'AVX512_CORE_AMX',
  'AVX512_CORE_FP16',
  'AVX512_CORE_BF16',
  'AVX512_CORE_VNNI',
  'AVX512_CORE',
  'AVX2_VNNI_2',
  'AVX2_VNNI',
  'AVX2',
  'AVX',
  'SSE41',
] as const;

export type OneDnnIsa = (typeof ONEDNN_ISAS)[number];

/** The `ONEDNN_MAX_CPU_ISA` cap the user set (upper-cased), or undefined. */
export function requestedIsa(env: Env = process.env): string | undefined {
  const value = env.ONEDNN_MAX_CPU_ISA?.trim().toUpperCase();
  return value ? value : undefined;
}

/** The line oneDNN prints with ONEDNN_VERBOSE=1 naming the code path it runs, e.g. `Intel AVX-512 with Intel DL Boost and bfloat16 support`. */
export function isaFromVerbose(output: string): string | undefined {
  return /onednn_verbose,(?:v\d+,)?info,cpu,isa:(.*)/.exec(output)?.[1]?.trim();
}
