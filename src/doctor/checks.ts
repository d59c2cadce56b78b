/**
 * What `reslab doctor` reports: the runtime, the backend and why, the native kernels, GPUs and
 * CUDA libraries, the Jupyter side (extension, tslab kernel, TensorBoard) and the data cache.
 * Each finding is a line with a status; nothing here changes the machine.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { BackendInfo, selectBackend } from '../backend';
import { bundledDataDir } from '../data/cifar';
import { defaultCacheDir } from '../data/download';
import { currentKernelCheck, describeCpu, describeResult, KernelCheckReport, summarizeCheck } from '../kernels';
import { failuresOf } from '../kernels/check';
import { oneDnnDisabled, requestedIsa } from '../kernels/onednn';
import { cpuInfo } from '../kernels/cpu';
import { buildModel } from '../models/zoo';
import { inferenceEngine, precisionProblem, stepEngine } from '../train/step';

export type Status = 'ok' | 'warn' | 'fail' | 'info';

export interface Finding {
  /** What was checked, e.g. `backend`. */
  check: string;
  status: Status;
  detail: string;
}

/** The project root (where package.json and .venv are). */
const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Runs a tool; `out` is its stdout and stderr without terminal colours. */
function run(command: string, args: string[]): { ok: boolean; out: string; stdout: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 });
  // eslint-disable-next-line no-control-regex
  const plain = (text: string | null) => (text ?? '').replace(/\x1b\[[0-9;]*m/g, '');
  return { ok: result.status === 0, out: `${plain(result.stdout)}${plain(result.stderr)}`.trim(), stdout: plain(result.stdout).trim() };
}

function packageVersion(name: string): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** The TensorFlow C library's version, as the native binding reports it. */
function libtensorflowVersion(info: BackendInfo): string | undefined {
  if (info.tfBackend !== 'tensorflow') return undefined;
  const backend = tf.backend() as unknown as { binding?: { TF_Version?: string } };
  return backend.binding?.TF_Version;
}

/** NVIDIA GPUs: from nvidia-smi when present (name, compute capability, driver), else the kernel driver's list. */
export function gpuDevices(): string[] {
  const smi = run('nvidia-smi', ['--query-gpu=name,compute_cap,driver_version,memory.total', '--format=csv,noheader']);
  if (smi.ok && smi.out)
    return smi.out.split('\n').map((line) => {
      const [name, cc, driver, memory] = line.split(',').map((s) => s.trim());
      return `${name}, compute capability ${cc}, driver ${driver}, ${memory}`;
    });
  try {
    const dir = '/proc/driver/nvidia/gpus';
    return fs.readdirSync(dir).map((bus) => {
      const model = /Model:\s*(.*)/.exec(fs.readFileSync(path.join(dir, bus, 'information'), 'utf8'))?.[1] ?? 'unknown model';
      return `${model} (${bus}; nvidia-smi not found, compute capability unknown)`;
    });
  } catch {
    return [];
  }
}

/** CUDA runtime and cuDNN libraries the loader can find (ldconfig) or that pip installed into .venv. */
export function cudaLibraries(): string[] {
  const found = new Set<string>();
  const ld = run('ldconfig', ['-p']);
  for (const line of ld.out.split('\n')) {
    const match = /(lib(?:cudart|cudnn|cublas)\.so[.\d]*)\s.*=>\s*(\S+)/.exec(line);
    if (match) found.add(`${match[1]} (${match[2]})`);
  }
  const venvLib = path.join(ROOT, '.venv', 'lib');
  if (fs.existsSync(venvLib)) {
    for (const python of fs.readdirSync(venvLib)) {
      const nvidia = path.join(venvLib, python, 'site-packages', 'nvidia');
      if (!fs.existsSync(nvidia)) continue;
      for (const part of fs.readdirSync(nvidia)) {
        const lib = path.join(nvidia, part, 'lib');
        if (!fs.existsSync(lib)) continue;
        for (const file of fs.readdirSync(lib)) if (/^lib(cudart|cudnn|cublas)\.so/.test(file)) found.add(`${file} (${lib})`);
      }
    }
  }
  return [...found].sort();
}

function jupyterFindings(): Finding[] {
  const bin = path.join(ROOT, '.venv', 'bin');
  if (!fs.existsSync(path.join(bin, 'jupyter'))) {
    return [
      {
        check: 'jupyter',
        status: 'warn',
        detail: `no project JupyterLab in ${path.join(ROOT, '.venv')}: run \`npm run setup\` (without --no-jupyter)`,
      },
    ];
  }
  const findings: Finding[] = [];
  const extensions = run(path.join(bin, 'jupyter'), ['labextension', 'list']);
  const line = extensions.out.split('\n').find((l) => l.includes('reslab-jupyterlab'));
  findings.push(
    line && /enabled/.test(line) && /OK/.test(line)
      ? { check: 'jupyterlab extension', status: 'ok', detail: line.trim().replace(/\s+/g, ' ') }
      : {
          check: 'jupyterlab extension',
          status: 'fail',
          detail: line ? `not enabled or not OK: ${line.trim()}` : 'reslab-jupyterlab is not installed: run `npm run setup`',
        },
  );
  const kernels = run(path.join(bin, 'jupyter'), ['kernelspec', 'list']);
  const tslab = kernels.out.split('\n').find((l) => /^\s*tslab\s/.test(l));
  findings.push(
    tslab
      ? { check: 'tslab kernel', status: 'ok', detail: `registered (${tslab.trim().split(/\s+/).pop()})` }
      : { check: 'tslab kernel', status: 'fail', detail: 'not registered in .venv: run `npm run setup`' },
  );
  const tensorboard = path.join(bin, 'tensorboard');
  findings.push(
    fs.existsSync(tensorboard)
      ? { check: 'tensorboard', status: 'ok', detail: `${run(tensorboard, ['--version']).stdout} (${tensorboard} --logdir runs)` }
      : { check: 'tensorboard', status: 'warn', detail: 'not in .venv: run `npm run setup`' },
  );
  return findings;
}

function dataFindings(): Finding[] {
  const bundled = bundledDataDir();
  const cache = defaultCacheDir();
  const downloaded = path.join(cache, 'cifar-10-batches-bin');
  return [
    { check: 'bundled data', status: fs.existsSync(bundled) ? 'ok' : 'fail', detail: bundled },
    fs.existsSync(path.join(downloaded, 'test_batch.bin'))
      ? { check: 'data cache', status: 'ok', detail: `CIFAR-10 downloaded in ${downloaded}` }
      : {
          check: 'data cache',
          status: 'info',
          detail: `${cache} holds no CIFAR-10 yet (\`--download\` fetches it once; RESLAB_CACHE moves the cache)`,
        },
  ];
}

/** The kernel self-check: its two-line summary, then one line per kernel that failed. */
function kernelCheckFindings(info: BackendInfo, report: KernelCheckReport | undefined): Finding[] {
  if (!report)
    return [
      {
        check: 'kernel self-check',
        status: 'info',
        detail: info.kind === 'cpu' ? 'not run in this process' : `not needed on the ${info.kind} backend (it checks oneDNN's CPU kernels)`,
      },
    ];
  const [found, action] = summarizeCheck(report);
  const failed = failuresOf(report.results);
  const status: Status = report.route.kind === 'broken' ? 'fail' : report.route.kind === 'as is' ? 'ok' : 'warn';
  return [
    { check: 'kernel self-check', status, detail: `${found}; ${action} (checked ${report.checkedAt})` },
    ...failed.map((r) => ({ check: 'kernel', status: 'info' as const, detail: `${r.id}: ${describeResult(r)}` })),
  ];
}

/** Every finding of `reslab doctor`. */
export function diagnose(): Finding[] {
  const findings: Finding[] = [];
  const major = Number(process.versions.node.split('.')[0]);
  findings.push({
    check: 'node',
    status: major >= 20 ? 'ok' : 'fail',
    detail: `${process.version}${major >= 20 ? '' : ' (reslab needs Node 20 or newer)'}`,
  });
  const info = selectBackend();
  findings.push({
    check: 'backend',
    status: info.kind === 'js' ? 'warn' : 'ok',
    detail: `${info.description} via ${info.package}${process.env.RESLAB_BACKEND ? ` (RESLAB_BACKEND=${process.env.RESLAB_BACKEND})` : ''}`,
  });
  for (const reason of info.fallbacks) findings.push({ check: 'backend', status: 'info', detail: `not used: ${reason}` });
  const tfNode = packageVersion(info.package);
  findings.push({
    check: 'tfjs',
    status: 'info',
    detail: `@tensorflow/tfjs ${tf.version.tfjs}; ${info.package} ${tfNode ?? 'not installed'}; libtensorflow ${libtensorflowVersion(info) ?? 'not loaded'}`,
  });
  findings.push({ check: 'cpu', status: 'info', detail: describeCpu() });
  const report = currentKernelCheck();
  const onednn = process.env.TF_ENABLE_ONEDNN_OPTS;
  const cap = requestedIsa();
  findings.push({
    check: 'oneDNN',
    status: 'info',
    detail: oneDnnDisabled()
      ? `off (TF_ENABLE_ONEDNN_OPTS=${onednn}): TensorFlow's standard kernels`
      : `on${onednn ? ` (TF_ENABLE_ONEDNN_OPTS=${onednn})` : ' (TensorFlow default on x86)'}` +
        `${report?.oneDnnIsa ? `, code path: ${report.oneDnnIsa}` : ''}${cap ? ` (ONEDNN_MAX_CPU_ISA=${cap})` : ''}`,
  });
  findings.push(...kernelCheckFindings(info, report));
  const model = buildModel('resnet20', { width: 0.25, seed: 0 });
  findings.push({ check: 'training step', status: 'info', detail: `ResNet-20: ${stepEngine(model)}` });
  findings.push({ check: 'inference', status: 'info', detail: `ResNet-20: ${inferenceEngine(model)}` });
  const bfloat16Refused = precisionProblem('bfloat16');
  findings.push({
    check: 'bf16',
    status: 'info',
    detail: bfloat16Refused
      ? `--precision bf16 is refused here: ${bfloat16Refused}`
      : `--precision bf16 runs here (mixed precision on oneDNN's bfloat16 kernels; ${cpuInfo()
          .isaFlags.filter((f) => f.includes('bf16'))
          .join(', ')})`,
  });
  model.dispose();
  const gpus = gpuDevices();
  findings.push(
    gpus.length
      ? {
          check: 'gpu',
          status: info.kind === 'gpu' ? 'ok' : 'warn',
          detail: `${gpus.join('; ')}${info.kind === 'gpu' ? '' : ' — not used: run `npm run setup -- --gpu`'}`,
        }
      : { check: 'gpu', status: 'info', detail: 'no NVIDIA GPU (no nvidia-smi, /proc/driver/nvidia/gpus missing)' },
  );
  const cuda = cudaLibraries();
  findings.push({
    check: 'cuda libraries',
    status: 'info',
    detail: cuda.length ? cuda.join('; ') : 'none found (ldconfig, .venv nvidia wheels)',
  });
  findings.push(...jupyterFindings(), ...dataFindings());
  return findings;
}
