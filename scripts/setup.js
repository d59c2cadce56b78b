#!/usr/bin/env node
/*
 * One-command setup for reslab, online or offline.
 *
 *   npm run setup                 install packages, the native TensorFlow backend, build
 *   npm run setup -- --gpu        also install @tensorflow/tfjs-node-gpu (CUDA machines; see setup-gpu.js)
 *   npm run setup -- --gpu --libtensorflow DIR   ... against a libtensorflow you already have
 *   npm run setup -- --no-jupyter skip the project's JupyterLab + tslab kernel (.venv)
 *
 * tfjs-node's own install script downloads libtensorflow from Google's storage. Where that
 * address is unreachable we stage the same C library from a TensorFlow wheel that pip can fetch
 * (pip may be configured with a local index) and compile the addon against it.
 *
 * After the build it runs the kernel self-check once (src/kernels): TensorFlow's convolution
 * kernels on this CPU against a float64 reference, in child processes.
 *
 * First it checks what it needs from the system (scripts/prerequisites.js: python3 with pip and
 * venv, g++, make, and Chromium for the end-to-end test) and, as root with apt-get, installs what
 * is missing; RESLAB_SETUP_NO_APT=1 only checks.
 *
 * Plain Node.js with no dependencies: it runs before `npm install`.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const { ensurePrerequisites } = require('./prerequisites');
const { ROOT, log, fail, mustRun, installNativeAddon, pipIndexArgs } = require('./native-addon');
const { installGpuBackend } = require('./setup-gpu');

const args = new Set(process.argv.slice(2));
const wantGpu = args.has('--gpu') || args.has('--libtensorflow') || process.env.RESLAB_GPU === '1';
const wantJupyter = !args.has('--no-jupyter');
const VENV = path.join(ROOT, '.venv');
// TensorBoard reads the runs' event files (and the tests read them back with it).
const JUPYTER_PACKAGES = ['jupyterlab>=4.2,<5', 'nbclient', 'nbconvert', 'ipykernel', 'jupyter_client', 'tensorboard'];

/** The project's own Jupyter: a venv with JupyterLab + nbclient, and the tslab kernel registered in it. */
function installJupyter() {
  const python = path.join(VENV, 'bin', 'python');
  if (!fs.existsSync(python)) mustRun('creating the Python venv .venv (JupyterLab, nbclient)', 'python3', ['-m', 'venv', VENV]);
  mustRun('installing JupyterLab, nbclient and TensorBoard into .venv', python, [
    '-m',
    'pip',
    'install',
    '--quiet',
    '--disable-pip-version-check',
    ...pipIndexArgs(),
    ...JUPYTER_PACKAGES,
  ]);
  // The prebuilt JupyterLab extension, installed the conventional way (a Python package that
  // puts its assets into share/jupyter/labextensions).
  mustRun('installing the reslab JupyterLab extension into .venv', python, [
    '-m',
    'pip',
    'install',
    '--quiet',
    '--disable-pip-version-check',
    '--force-reinstall',
    '--no-deps',
    ...pipIndexArgs(),
    path.join(ROOT, 'jupyterlab-plugin'),
  ]);
  const tslab = path.join(ROOT, 'node_modules', '.bin', 'tslab');
  mustRun('registering the tslab kernel in .venv', tslab, ['install', `--python=${python}`, '--sys-prefix', `--binary=${tslab}`]);
}

/** `--libtensorflow DIR` (absolute), if given. */
function libtensorflowDir() {
  const argv = process.argv.slice(2);
  const i = argv.indexOf('--libtensorflow');
  if (i < 0) return undefined;
  if (!argv[i + 1] || argv[i + 1].startsWith('--')) fail('--libtensorflow expects a directory (an unpacked libtensorflow tarball)');
  return path.resolve(argv[i + 1]);
}

function main() {
  const started = Date.now();
  const missing = ensurePrerequisites(log, { jupyter: wantJupyter });
  if (missing.length > 0) {
    for (const line of missing) console.error(`[reslab setup] ${line}`);
    fail(`${missing.length} prerequisite(s) missing; install them and run npm run setup again`);
  }
  // --ignore-scripts: tfjs-node's install script would fail the whole install when offline;
  // its native part is handled below.
  mustRun('installing npm packages', 'npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund']);
  installNativeAddon('@tensorflow/tfjs-node', 'tensorflow-cpu');
  if (wantGpu) installGpuBackend({ libtensorflowDir: libtensorflowDir() });
  mustRun('building reslab (tsc)', 'npm', ['run', 'build']);
  // Once per CPU and library version: kernels that crash or compute wrong numbers here switch reslab to a safe setting.
  mustRun("checking TensorFlow's kernels on this CPU (src/kernels: about 10 s)", process.execPath, [
    '-e',
    "require('./dist/src/kernels').ensureKernelCheck({ fresh: true })",
  ]);
  if (wantJupyter) installJupyter();
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main();
