import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { defaultCacheDir } from '../data/download';
import { CheckSettings, KernelCheckOutcome } from './check';
import { CpuInfo, cpuInfo } from './cpu';

/**
 * Where the kernel self-check keeps its result: one file per CPU + library version + setting, so
 * a check runs once per machine and again when TensorFlow, tfjs-node, reslab, the CPU or the
 * oneDNN settings change.
 */

/** Bump when the cases or the way they are judged change: older results are then stale. */
const CHECK_VERSION = 1;

/** What a result is valid for. */
export interface KernelCheckIdentity {
  check: number;
  cpu: Omit<CpuInfo, 'cores'>;
  reslab: string;
  tfjsNode: string;
  /** Size and modification time of the compiled binding and of the TensorFlow libraries it loads. */
  binaries: string[];
  settings: CheckSettings;
}

export interface KernelCheckReport extends KernelCheckOutcome {
  key: string;
  identity: KernelCheckIdentity;
  checkedAt: string;
}

const ROOT = path.resolve(__dirname, '..', '..', '..');

function fileStamp(file: string): string {
  const stat = fs.statSync(file);
  return `${path.basename(file)} ${stat.size} ${Math.round(stat.mtimeMs)}`;
}

/** The binding and TensorFlow libraries of @tensorflow/tfjs-node (real files, not their symlinks). */
function binaries(packageDir: string): string[] {
  const found: string[] = [];
  for (const dir of [path.join(packageDir, 'lib'), path.join(packageDir, 'deps', 'lib')]) {
    if (!fs.existsSync(dir)) continue;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory() && /^napi-v\d+$/.test(entry.name)) {
        const binding = path.join(file, 'tfjs_binding.node');
        if (fs.existsSync(binding)) found.push(fileStamp(binding));
      } else if (entry.isFile() && /^libtensorflow.*\.so/.test(entry.name)) found.push(fileStamp(file));
    }
  }
  return found.sort();
}

/** The settings a result depends on: the user's (or a trial's) oneDNN and native-step variables. */
export function settingsOf(env: NodeJS.ProcessEnv): CheckSettings {
  const settings: CheckSettings = {};
  for (const name of ['ONEDNN_MAX_CPU_ISA', 'TF_ENABLE_ONEDNN_OPTS', 'RESLAB_NATIVE'] as const) {
    const value = env[name]?.trim();
    if (value) settings[name] = value;
  }
  return settings;
}

/** The identity of a check under `settings`, or undefined when @tensorflow/tfjs-node is not installed. */
export function kernelCheckIdentity(settings: CheckSettings): KernelCheckIdentity | undefined {
  let packageJson: string;
  try {
    packageJson = require.resolve('@tensorflow/tfjs-node/package.json');
  } catch {
    return undefined;
  }
  const { arch, vendor, model, family, modelNumber, stepping, isaFlags } = cpuInfo();
  const version = (file: string) => (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  return {
    check: CHECK_VERSION,
    cpu: { arch, vendor, model, family, modelNumber, stepping, isaFlags },
    reslab: version(path.join(ROOT, 'package.json')),
    tfjsNode: version(packageJson),
    binaries: binaries(path.dirname(packageJson)),
    settings,
  };
}

export function keyOf(identity: KernelCheckIdentity): string {
  return crypto.createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}

/** `kernel-check/` in reslab's cache (see defaultCacheDir). */
export function kernelCheckDir(): string {
  return path.join(defaultCacheDir(), 'kernel-check');
}

/** The stored result for `identity`, or undefined when there is none (never checked, or checked for something else). */
export function readKernelCheck(identity: KernelCheckIdentity): KernelCheckReport | undefined {
  const file = path.join(kernelCheckDir(), `${keyOf(identity)}.json`);
  try {
    const report = JSON.parse(fs.readFileSync(file, 'utf8')) as KernelCheckReport;
    return JSON.stringify(report.identity) === JSON.stringify(identity) ? report : undefined;
  } catch {
    return undefined; // missing or unreadable: check again
  }
}

/** Stores a result atomically; returns why it could not (a read-only home, say), or undefined. */
export function writeKernelCheck(report: KernelCheckReport): string | undefined {
  const dir = kernelCheckDir();
  try {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${report.key}.json`);
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, `${JSON.stringify(report, null, 1)}\n`);
    fs.renameSync(temporary, file);
    return undefined;
  } catch (error) {
    return `${dir}: ${(error as Error).message}`;
  }
}
