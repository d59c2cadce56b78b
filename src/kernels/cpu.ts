import * as fs from 'fs';
import * as os from 'os';

/** The CPU this process runs on, as far as it matters to TensorFlow's kernels. */
export interface CpuInfo {
  /** `x64`, `arm64`, ... (Node's `process.arch`). */
  arch: string;
  /** `AuthenticAMD`, `GenuineIntel`, an ARM implementer, or `unknown`. */
  vendor: string;
  /** The model name the kernel reports, e.g. `AMD EPYC`. */
  model: string;
  /** x86: CPU family, model and stepping (AMD Zen 4 is family 25, Zen 5 family 26); elsewhere empty. */
  family?: number;
  modelNumber?: number;
  stepping?: number;
  /** The instruction-set flags that decide which oneDNN code path runs (a subset of /proc/cpuinfo's). */
  isaFlags: string[];
  cores: number;
}

/** Flags that select oneDNN's x86 and ARM code paths (AVX2, AVX-512 and its VNNI/BF16/FP16 parts, AMX; NEON, SVE, BF16). */
const ISA_FLAGS = [
  'sse4_1',
  'avx',
  'avx2',
  'fma',
  'avx_vnni',
  'avx512f',
  'avx512bw',
  'avx512vl',
  'avx512dq',
  'avx512_vnni',
  'avx512_bf16',
  'avx512_fp16',
  'amx_tile',
  'amx_bf16',
  'amx_int8',
  'asimd',
  'sve',
  'sve2',
  'bf16',
  'i8mm',
];

/** The first value of `key` in a /proc/cpuinfo text. */
function field(cpuinfo: string, key: string): string | undefined {
  return new RegExp(`^${key}\\s*:\\s*(.*)$`, 'm').exec(cpuinfo)?.[1]?.trim();
}

function integer(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = value.startsWith('0x') ? parseInt(value, 16) : Number(value);
  return Number.isInteger(n) ? n : undefined;
}

/** Parses a /proc/cpuinfo text (x86 or ARM Linux); exported for tests. */
export function parseCpuinfo(cpuinfo: string, arch: string, cores: number): CpuInfo {
  const flags = new Set((field(cpuinfo, 'flags') ?? field(cpuinfo, 'Features') ?? '').split(/\s+/).filter(Boolean));
  return {
    arch,
    vendor:
      field(cpuinfo, 'vendor_id') ??
      (field(cpuinfo, 'CPU implementer') ? `ARM implementer ${field(cpuinfo, 'CPU implementer')}` : 'unknown'),
    model: field(cpuinfo, 'model name') ?? field(cpuinfo, 'Hardware') ?? os.cpus()[0]?.model ?? 'unknown',
    family: integer(field(cpuinfo, 'cpu family')),
    modelNumber: integer(field(cpuinfo, 'model')),
    stepping: integer(field(cpuinfo, 'stepping')),
    isaFlags: ISA_FLAGS.filter((f) => flags.has(f)),
    cores,
  };
}

let cached: CpuInfo | undefined;

/** This machine's CPU (from /proc/cpuinfo on Linux, Node's os.cpus() elsewhere). */
export function cpuInfo(): CpuInfo {
  if (cached) return cached;
  let text = '';
  try {
    text = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // not Linux: the model name from Node, no flags
  }
  cached = parseCpuinfo(text, process.arch, os.cpus().length);
  return cached;
}

/** One line such as `AMD EPYC (AuthenticAMD family 26 model 2 stepping 1; avx2 avx512f avx512_bf16 ...; 2 cores)`. */
export function describeCpu(cpu: CpuInfo = cpuInfo()): string {
  const id =
    cpu.family !== undefined
      ? `${cpu.vendor} family ${cpu.family} model ${cpu.modelNumber ?? '?'} stepping ${cpu.stepping ?? '?'}`
      : `${cpu.vendor}, ${cpu.arch}`;
  return `${cpu.model} (${id}; ${cpu.isaFlags.join(' ') || 'no ISA flags reported'}; ${cpu.cores} cores)`;
}
