#!/usr/bin/env node
/*
 * One-command setup for reslab, online or offline.
 *
 *   npm run setup                 install packages, the native TensorFlow backend, build
 *   npm run setup -- --gpu        also install @tensorflow/tfjs-node-gpu (CUDA machines)
 *   npm run setup -- --no-jupyter skip the project's JupyterLab + tslab kernel (.venv)
 *
 * tfjs-node's own install script downloads libtensorflow from Google's storage. Where that
 * address is unreachable we stage the same C library from a TensorFlow wheel that pip can fetch
 * (pip may be configured with a local index) and compile the addon against it.
 *
 * First it checks what it needs from the system (scripts/prerequisites.js: python3 with pip and
 * venv, g++, make, and Chromium for the end-to-end test) and, as root with apt-get, installs what
 * is missing; RESLAB_SETUP_NO_APT=1 only checks.
 *
 * Plain Node.js with no dependencies: it runs before `npm install`.
 */
'use strict';

const cp = require('child_process');
const fs = require('fs');
const path = require('path');
const { ensurePrerequisites } = require('./prerequisites');

const ROOT = path.resolve(__dirname, '..');
const CACHE = path.join(ROOT, '.cache');
const TF_WHEEL_VERSION = process.env.RESLAB_TF_WHEEL_VERSION || '2.21.0';

const args = new Set(process.argv.slice(2));
const wantGpu = args.has('--gpu') || process.env.RESLAB_GPU === '1';
const wantJupyter = !args.has('--no-jupyter');
const VENV = path.join(ROOT, '.venv');
// TensorBoard reads the runs' event files (and the tests read them back with it).
const JUPYTER_PACKAGES = ['jupyterlab>=4.2,<5', 'nbclient', 'nbconvert', 'ipykernel', 'jupyter_client', 'tensorboard'];

function log(message) {
  console.log(`[reslab setup] ${message}`);
}

function fail(message) {
  console.error(`[reslab setup] FAILED: ${message}`);
  process.exit(1);
}

/** Runs a command, streaming its output; returns its exit code. */
function run(command, commandArgs, options = {}) {
  const result = cp.spawnSync(command, commandArgs, {
    stdio: options.quiet ? 'pipe' : 'inherit',
    cwd: options.cwd || ROOT,
    env: { ...process.env, ...(options.env || {}) },
    timeout: options.timeoutMs,
    encoding: 'utf8',
  });
  if (result.error) return { code: 1, output: String(result.error) };
  return { code: result.status === null ? 1 : result.status, output: `${result.stdout || ''}${result.stderr || ''}` };
}

function mustRun(what, command, commandArgs, options) {
  log(what);
  const { code, output } = run(command, commandArgs, options);
  if (code !== 0) fail(`${what} (exit ${code})${output ? `\n${output.slice(-4000)}` : ''}`);
}

function packageDir(name) {
  return path.join(ROOT, 'node_modules', ...name.split('/'));
}

/** True when the package's native addon loads and registers the 'tensorflow' backend. */
function addonLoads(name) {
  const probe = `const tf = require(${JSON.stringify(name)});` +
    `tf.setBackend('tensorflow').then((ok) => process.exit(ok && tf.getBackend() === 'tensorflow' ? 0 : 3));`;
  const { code } = run(process.execPath, ['-e', probe], { quiet: true, env: { TF_CPP_MIN_LOG_LEVEL: '3' } });
  return code === 0;
}

/** node-gyp must not download Node's headers when they ship with this Node.js. */
function nodeGypEnv(buildFromSource) {
  const env = buildFromSource ? { npm_config_build_from_source: 'true' } : {};
  const prefix = path.dirname(path.dirname(process.execPath));
  if (!process.env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node.h'))) {
    env.npm_config_nodedir = prefix;
  }
  return env;
}

function pipIndexArgs() {
  const { code, output } = run('python3', ['-m', 'pip', 'config', 'get', 'global.extra-index-url'], { quiet: true });
  const indexes = code === 0 ? output.trim().split(/\s+/).filter(Boolean) : [];
  if (indexes.length === 0) return [];
  // A configured extra index usually means the default one is unreachable (pip would retry it slowly).
  return ['--index-url', indexes[0], ...indexes.slice(1).flatMap((url) => ['--extra-index-url', url])];
}

function fetchTensorFlowWheel(distribution) {
  const wheelDir = path.join(CACHE, 'wheels');
  fs.mkdirSync(wheelDir, { recursive: true });
  const prefix = `${distribution.replace(/-/g, '_')}-${TF_WHEEL_VERSION}-`;
  const cached = () => fs.readdirSync(wheelDir).find((file) => file.startsWith(prefix) && file.endsWith('.whl'));
  if (!cached()) {
    mustRun(`downloading the ${distribution}==${TF_WHEEL_VERSION} wheel with pip (for its libtensorflow)`, 'python3', [
      '-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--dest', wheelDir, ...pipIndexArgs(),
      `${distribution}==${TF_WHEEL_VERSION}`,
    ]);
  }
  const wheel = cached();
  if (!wheel) fail(`pip reported success but no ${prefix}*.whl is in ${wheelDir}`);
  return path.join(wheelDir, wheel);
}

/**
 * Installs the native addon of a tfjs-node package: first its own way (download), then, if that
 * fails, against the libtensorflow inside a TensorFlow wheel.
 */
function installNativeAddon(name, wheelDistribution) {
  if (addonLoads(name)) {
    log(`${name}: native addon already works`);
    return;
  }
  const dir = packageDir(name);
  log(`${name}: installing libtensorflow the package's own way (download)`);
  const official = run('npm', ['rebuild', name, '--foreground-scripts'], { env: nodeGypEnv(false), timeoutMs: 15 * 60e3 });
  if (official.code === 0 && addonLoads(name)) {
    log(`${name}: ready (installed by its own install script)`);
    return;
  }
  log(`${name}: the download failed; using libtensorflow from the ${wheelDistribution} wheel instead`);
  const wheel = fetchTensorFlowWheel(wheelDistribution);
  mustRun(`staging libtensorflow from ${path.basename(wheel)}`, 'python3', [
    path.join(__dirname, 'extract_libtensorflow.py'), wheel, path.join(dir, 'deps'),
  ]);
  mustRun(`${name}: compiling the addon against it (node-gyp)`, 'npm', ['rebuild', name, '--foreground-scripts'], {
    env: nodeGypEnv(true), timeoutMs: 15 * 60e3,
  });
  if (!addonLoads(name)) fail(`${name} was built but does not load; run: node -e "require('${name}')"`);
  log(`${name}: ready (libtensorflow ${TF_WHEEL_VERSION} from the wheel)`);
}

/** The project's own Jupyter: a venv with JupyterLab + nbclient, and the tslab kernel registered in it. */
function installJupyter() {
  const python = path.join(VENV, 'bin', 'python');
  if (!fs.existsSync(python)) mustRun('creating the Python venv .venv (JupyterLab, nbclient)', 'python3', ['-m', 'venv', VENV]);
  mustRun('installing JupyterLab, nbclient and TensorBoard into .venv', python, [
    '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...pipIndexArgs(), ...JUPYTER_PACKAGES,
  ]);
  // The prebuilt JupyterLab extension, installed the conventional way (a Python package that
  // puts its assets into share/jupyter/labextensions).
  mustRun('installing the reslab JupyterLab extension into .venv', python, [
    '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--force-reinstall', '--no-deps', ...pipIndexArgs(),
    path.join(ROOT, 'jupyterlab-plugin'),
  ]);
  const tslab = path.join(ROOT, 'node_modules', '.bin', 'tslab');
  mustRun('registering the tslab kernel in .venv', tslab, ['install', `--python=${python}`, '--sys-prefix', `--binary=${tslab}`]);
}

function main() {
  const started = Date.now();
  const missing = ensurePrerequisites(log);
  if (missing.length > 0) {
    for (const line of missing) console.error(`[reslab setup] ${line}`);
    fail(`${missing.length} prerequisite(s) missing; install them and run npm run setup again`);
  }
  // --ignore-scripts: tfjs-node's install script would fail the whole install when offline;
  // its native part is handled below.
  mustRun('installing npm packages', 'npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund']);
  installNativeAddon('@tensorflow/tfjs-node', 'tensorflow-cpu');
  if (wantGpu) {
    mustRun('installing @tensorflow/tfjs-node-gpu', 'npm', [
      'install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', '@tensorflow/tfjs-node-gpu@4.22.0',
    ]);
    installNativeAddon('@tensorflow/tfjs-node-gpu', 'tensorflow');
  }
  mustRun('building reslab (tsc)', 'npm', ['run', 'build']);
  if (wantJupyter) installJupyter();
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main();
