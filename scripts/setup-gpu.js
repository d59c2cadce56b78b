#!/usr/bin/env node
/*
 * The GPU backend: @tensorflow/tfjs-node-gpu against a libtensorflow built for CUDA, from the first
 * of these that works:
 *   1. --libtensorflow DIR: a libtensorflow the user already has (DIR/lib/libtensorflow*.so*,
 *      DIR/include/tensorflow/c/c_api.h: the layout of Google's libtensorflow tarballs);
 *   2. tfjs-node-gpu's own install script (downloads libtensorflow-gpu 2.9.1, CUDA 11.2 / cuDNN 8.1);
 *   3. the `tensorflow` wheel (CUDA 12 build) with the runtime wheels of its `and-cuda` extra
 *      (nvidia-*-cu12), installed into .venv with pip; the CUDA libraries' paths go into
 *      deps/cuda-libraries.json, which reslab loads before TensorFlow, so that nobody has to set
 *      LD_LIBRARY_PATH (src/backend.ts).
 * When none works it stops with one message: what it tried, why each failed, and what to run on a
 * machine that is online.
 *
 *   npm run setup -- --gpu [--libtensorflow DIR]          (calls this after the CPU backend)
 *   node scripts/setup-gpu.js [--libtensorflow DIR] [--prefix DIR]
 *
 * --prefix installs into DIR/node_modules instead of the project's (the tests use it).
 */
'use strict';

const fs = require('fs');
const path = require('path');
const {
  ROOT,
  TF_WHEEL_VERSION,
  log,
  fail,
  run,
  mustRun,
  packageDir,
  addonLoads,
  nodeGypEnv,
  pipIndexArgs,
  fetchTensorFlowWheel,
} = require('./native-addon');

const GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';
const GPU_PACKAGE_VERSION = '4.22.0';
const VENV_PYTHON = path.join(ROOT, '.venv', 'bin', 'python');

/** Why DIR is not a libtensorflow directory, or undefined when it is one. */
function libtensorflowDirProblem(dir) {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return `${dir} is not a directory`;
  const lib = path.join(dir, 'lib');
  const files = fs.existsSync(lib) ? fs.readdirSync(lib) : [];
  if (!files.some((f) => /^libtensorflow(_cc)?\.so/.test(f))) return `${lib} holds no libtensorflow.so* (or libtensorflow_cc.so.2)`;
  if (!files.some((f) => /^libtensorflow_framework\.so/.test(f))) return `${lib} holds no libtensorflow_framework.so*`;
  if (!fs.existsSync(path.join(dir, 'include', 'tensorflow', 'c', 'c_api.h')))
    return `${path.join(dir, 'include', 'tensorflow', 'c', 'c_api.h')} is missing`;
  return undefined;
}

/** Copies a libtensorflow directory into the package's deps/, with the names its build expects. */
function stageLibtensorflowDir(dir, deps) {
  const staging = `${deps}.staging`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.cpSync(path.join(dir, 'include'), path.join(staging, 'include'), { recursive: true, dereference: true });
  fs.mkdirSync(path.join(staging, 'lib'), { recursive: true });
  for (const file of fs.readdirSync(path.join(dir, 'lib'))) {
    if (!/\.so/.test(file)) continue;
    const source = path.join(dir, 'lib', file);
    const target = path.join(staging, 'lib', file);
    if (fs.lstatSync(source).isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(source), target);
    else fs.copyFileSync(source, target);
  }
  // A wheel-style directory has only libtensorflow_cc.so.2: add the names tfjs-node links against.
  const lib = path.join(staging, 'lib');
  const link = (name, target) => {
    if (!fs.existsSync(path.join(lib, name)) && fs.existsSync(path.join(lib, target))) fs.symlinkSync(target, path.join(lib, name));
  };
  link('libtensorflow.so.2', 'libtensorflow_cc.so.2');
  link('libtensorflow.so', 'libtensorflow.so.2');
  link('libtensorflow_framework.so', 'libtensorflow_framework.so.2');
  fs.rmSync(deps, { recursive: true, force: true });
  fs.renameSync(staging, deps);
}

/** The package's own install script: downloads libtensorflow-gpu (its `download` argument), then builds the addon. */
function ownInstall(prefix) {
  return run('npm', ['rebuild', GPU_PACKAGE, '--foreground-scripts'], {
    cwd: prefix,
    env: nodeGypEnv(false),
    timeoutMs: 20 * 60e3,
    quiet: true,
  });
}

/** Compiles the addon against the libtensorflow staged in deps/ (the install script without its forced download). */
function buildAgainstDeps(prefix) {
  return run(process.execPath, [path.join('scripts', 'install.js'), 'gpu'], {
    cwd: packageDir(GPU_PACKAGE, prefix),
    env: { ...nodeGypEnv(true), PATH: `${path.join(prefix, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}` },
    timeoutMs: 20 * 60e3,
    quiet: true,
  });
}

/** The line of a failed command's output that says why (a network error, an npm or pip error). */
function reasonOf(output, fallback) {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const network = lines.find((l) => /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|getaddrinfo/.test(l));
  const host = lines.find((l) => /hostname: /.test(l));
  if (network) return `network: ${network}${host ? ` (${host.replace(/[',]/g, '')})` : ''}`;
  return lines.filter((l) => /^ERROR|Error:|error:/.test(l) && !/A complete log/.test(l)).pop() ?? lines.pop() ?? fallback;
}

/** The CUDA runtime libraries pip installed (nvidia-*-cu12 wheels), dependencies first. */
function cudaLibraries() {
  const found = [];
  const venvLib = path.join(ROOT, '.venv', 'lib');
  for (const python of fs.existsSync(venvLib) ? fs.readdirSync(venvLib) : []) {
    const nvidia = path.join(venvLib, python, 'site-packages', 'nvidia');
    if (!fs.existsSync(nvidia)) continue;
    for (const part of fs.readdirSync(nvidia)) {
      const lib = path.join(nvidia, part, 'lib');
      if (!fs.existsSync(lib)) continue;
      for (const file of fs.readdirSync(lib)) if (/\.so(\.\d+)*$/.test(file)) found.push(path.join(lib, file));
    }
  }
  const order = ['cudart', 'nvjitlink', 'cublaslt', 'cublas', 'cufft', 'curand', 'cusparse', 'cusolver', 'cupti', 'nccl', 'cudnn'];
  const rank = (file) => {
    const name = path.basename(file).toLowerCase();
    const i = order.findIndex((key) => name.startsWith(`lib${key}`));
    return i < 0 ? order.length : i;
  };
  return found.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** Route 3: the CUDA 12 TensorFlow wheel and its runtime wheels in .venv. Returns why it failed, or undefined. */
function installFromCudaWheels(prefix, deps) {
  if (!fs.existsSync(VENV_PYTHON)) {
    const venv = run('python3', ['-m', 'venv', path.join(ROOT, '.venv')], { quiet: true });
    if (venv.code !== 0) return `could not create .venv: ${venv.output.trim().split('\n').pop()}`;
  }
  log(`pip: tensorflow[and-cuda]==${TF_WHEEL_VERSION} (the CUDA 12 build and the nvidia-*-cu12 runtime wheels) into .venv`);
  const pip = run(
    VENV_PYTHON,
    ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', ...pipIndexArgs(), `tensorflow[and-cuda]==${TF_WHEEL_VERSION}`],
    {
      quiet: true,
      timeoutMs: 30 * 60e3,
    },
  );
  if (pip.code !== 0) return `pip could not install tensorflow[and-cuda]==${TF_WHEEL_VERSION}: ${reasonOf(pip.output, `exit ${pip.code}`)}`;
  const wheel = fetchTensorFlowWheel('tensorflow');
  mustRun(`staging libtensorflow from ${path.basename(wheel)}`, 'python3', [path.join(__dirname, 'extract_libtensorflow.py'), wheel, deps]);
  const libraries = cudaLibraries();
  if (libraries.length === 0) return 'pip installed tensorflow but no nvidia-*-cu12 libraries are in .venv';
  fs.writeFileSync(path.join(deps, 'cuda-libraries.json'), `${JSON.stringify(libraries, null, 2)}\n`);
  const built = buildAgainstDeps(prefix);
  if (built.code !== 0) return `the addon did not compile against it: ${reasonOf(built.output, `exit ${built.code}`)}`;
  return undefined;
}

/** Installs and builds the GPU backend; `libtensorflowDir` is the user's --libtensorflow. */
function installGpuBackend({ libtensorflowDir, prefix = ROOT } = {}) {
  if (libtensorflowDir) {
    const problem = libtensorflowDirProblem(libtensorflowDir);
    if (problem)
      fail(
        `--libtensorflow ${libtensorflowDir}: ${problem}; expected DIR/lib/libtensorflow.so* and libtensorflow_framework.so*, DIR/include/tensorflow/c/c_api.h (an unpacked libtensorflow tarball)`,
      );
  }
  fs.mkdirSync(prefix, { recursive: true });
  if (!fs.existsSync(path.join(prefix, 'package.json'))) fs.writeFileSync(path.join(prefix, 'package.json'), '{ "private": true }\n');
  mustRun(
    `installing ${GPU_PACKAGE}@${GPU_PACKAGE_VERSION}`,
    'npm',
    ['install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', `${GPU_PACKAGE}@${GPU_PACKAGE_VERSION}`],
    { cwd: prefix },
  );
  const deps = path.join(packageDir(GPU_PACKAGE, prefix), 'deps');
  const tried = [];

  if (libtensorflowDir) {
    log(`${GPU_PACKAGE}: compiling against the libtensorflow in ${libtensorflowDir}`);
    stageLibtensorflowDir(libtensorflowDir, deps);
    const built = buildAgainstDeps(prefix);
    if (built.code === 0 && addonLoads(GPU_PACKAGE, prefix)) {
      log(`${GPU_PACKAGE}: ready (libtensorflow from ${libtensorflowDir}); check it with: reslab doctor --gpu-check`);
      return;
    }
    fail(
      `${GPU_PACKAGE} did not build or load against ${libtensorflowDir}: ${built.code === 0 ? 'built, but the addon does not load' : reasonOf(built.output, `exit ${built.code}`)}`,
    );
  }

  if (addonLoads(GPU_PACKAGE, prefix)) {
    log(`${GPU_PACKAGE}: native addon already works`);
    return;
  }
  log(`${GPU_PACKAGE}: its own install script (downloads libtensorflow-gpu 2.9.1 for CUDA 11.2)`);
  const official = ownInstall(prefix);
  if (official.code === 0 && addonLoads(GPU_PACKAGE, prefix)) {
    log(`${GPU_PACKAGE}: ready (its own download); check it with: reslab doctor --gpu-check`);
    return;
  }
  tried.push(
    `1. ${GPU_PACKAGE}'s own download of libtensorflow-gpu 2.9.1: ${official.code === 0 ? 'the addon does not load' : reasonOf(official.output, `exit ${official.code}`)}`,
  );

  const why = installFromCudaWheels(prefix, deps);
  if (!why && addonLoads(GPU_PACKAGE, prefix)) {
    log(
      `${GPU_PACKAGE}: ready (libtensorflow ${TF_WHEEL_VERSION} for CUDA 12 from pip, CUDA libraries in .venv); check it with: reslab doctor --gpu-check`,
    );
    return;
  }
  tried.push(
    `2. the tensorflow==${TF_WHEEL_VERSION} wheel with its and-cuda runtime wheels: ${why ?? 'built, but the addon does not load'}`,
  );
  fail(
    [
      `no libtensorflow for the GPU could be installed. Tried:`,
      ...tried.map((t) => `  ${t.slice(0, 400)}`),
      'On a machine with internet access, either:',
      `  - run \`npm run setup -- --gpu\` there (it downloads what it needs), or`,
      '  - download https://storage.googleapis.com/tensorflow/libtensorflow/libtensorflow-gpu-linux-x86_64-2.9.1.tar.gz, unpack it to DIR, copy DIR here',
      '    and run `npm run setup -- --gpu --libtensorflow DIR`, or',
      `  - \`pip download "tensorflow[and-cuda]==${TF_WHEEL_VERSION}" -d wheels/\`, copy wheels/ here and run`,
      `    \`PIP_FIND_LINKS=$PWD/wheels npm run setup -- --gpu\`.`,
      'The CPU backend stays installed and is used meanwhile (RESLAB_BACKEND chooses).',
    ].join('\n'),
  );
}

module.exports = { installGpuBackend, libtensorflowDirProblem, cudaLibraries };

if (require.main === module) {
  const argv = process.argv.slice(2);
  const option = (name) => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    if (!argv[i + 1] || argv[i + 1].startsWith('--')) fail(`--${name} expects a directory`);
    return path.resolve(argv[i + 1]);
  };
  installGpuBackend({ libtensorflowDir: option('libtensorflow'), prefix: option('prefix') });
}
