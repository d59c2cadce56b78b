import { selectBackend } from '../backend';
import { cpuInfo, CpuInfo } from '../kernels/cpu';
import { ONEDNN_ISAS, oneDnnDisabled, requestedIsa } from '../kernels/onednn';
import { nativeOps, Precision } from './ops';

/**
 * Where bf16 mixed precision may run: TensorFlow's oneDNN kernels on a CPU with bfloat16
 * instructions. Elsewhere TensorFlow would still compute in bfloat16, but emulated, slower than
 * float32: reslab refuses instead of making a run slower than the one it replaces.
 */

/** The CPU flags that give oneDNN a native bfloat16 path: AVX-512 BF16 and AMX (x86), BF16 (ARM). */
const BFLOAT16_FLAGS = ['avx512_bf16', 'amx_bf16', 'bf16'];

/** The oldest oneDNN code path with bfloat16 instructions; an `ONEDNN_MAX_CPU_ISA` below it leaves none. */
const OLDEST_BFLOAT16_ISA = ONEDNN_ISAS.indexOf('AVX512_CORE_BF16');

/** `fp32`/`float32` or `bf16`/`bfloat16` (any case) as a precision, or undefined. */
export function parsePrecision(text: string): Precision | undefined {
  const value = text.trim().toLowerCase();
  if (value === 'fp32' || value === 'float32') return 'float32';
  if (value === 'bf16' || value === 'bfloat16') return 'bfloat16';
  return undefined;
}

/** The short name runs and reports use: `fp32` or `bf16`. */
export function precisionName(precision: Precision): 'fp32' | 'bf16' {
  return precision === 'bfloat16' ? 'bf16' : 'fp32';
}

/** Why bf16 mixed precision cannot run on `cpu` under `env` (undefined: it can); exported for tests. */
export function bfloat16CpuProblem(cpu: CpuInfo, env: Record<string, string | undefined> = process.env): string | undefined {
  const flags = cpu.isaFlags.filter((f) => BFLOAT16_FLAGS.includes(f));
  if (flags.length === 0)
    return `this CPU (${cpu.model}) has no bfloat16 instructions (${BFLOAT16_FLAGS.join(', ')}): bf16 would be emulated, slower than fp32`;
  const isa = requestedIsa(env);
  const rank = isa === undefined ? -1 : ONEDNN_ISAS.indexOf(isa as (typeof ONEDNN_ISAS)[number]);
  if (cpu.arch === 'x64' && rank > OLDEST_BFLOAT16_ISA)
    return `ONEDNN_MAX_CPU_ISA=${isa} keeps oneDNN below its bfloat16 code path (AVX512_CORE_BF16 or newer)`;
  return undefined;
}

/**
 * Why `precision` cannot train here (undefined: it can). float32 always can; bfloat16 needs the
 * native step on oneDNN's CPU kernels and a CPU with bfloat16 instructions.
 */
export function precisionProblem(precision: Precision): string | undefined {
  if (precision === 'float32') return undefined;
  const backend = selectBackend();
  if (backend.kind === 'gpu') return 'bf16 mixed precision is a CPU path (oneDNN kernels); this process trains on the GPU';
  if (backend.kind !== 'cpu')
    return "bf16 mixed precision needs native TensorFlow (tfjs-node); this process runs on tfjs's pure-JavaScript backend";
  const native = process.env.RESLAB_NATIVE?.trim();
  if (!nativeOps()) return `bf16 mixed precision runs on the native step, which RESLAB_NATIVE=${native} turns off`;
  if (oneDnnDisabled())
    return `bf16 mixed precision runs on oneDNN's kernels, which TF_ENABLE_ONEDNN_OPTS=${process.env.TF_ENABLE_ONEDNN_OPTS} turns off`;
  if (!nativeOps()?.oneDnn)
    return `bf16 mixed precision runs on oneDNN's kernels, which RESLAB_NATIVE=${native} (standard kernels only) leaves out`;
  return bfloat16CpuProblem(cpuInfo());
}
