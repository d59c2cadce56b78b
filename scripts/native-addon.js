/*
 * What setup and the GPU route share: running commands, pip's index, and installing a tfjs-node
 * package's native addon (its own download, else libtensorflow from a TensorFlow wheel, else a
 * libtensorflow directory the user has). Plain Node.js with no dependencies.
 */
'use strict';

const cp = require('child_process');
const fs = require('fs');
const path = require('path');
const { addListAttributes } = require('./binding-patch');

const ROOT = path.resolve(__dirname, '..');
const CACHE = path.join(ROOT, '.cache');
const TF_WHEEL_VERSION = process.env.RESLAB_TF_WHEEL_VERSION || '2.21.0';

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

function packageDir(name, prefix = ROOT) {
  return path.join(prefix, 'node_modules', ...name.split('/'));
}

/** True when the package's native addon loads and registers the 'tensorflow' backend. */
function addonLoads(name, prefix = ROOT) {
  const probe =
    `const tf = require(${JSON.stringify(name)});` +
    `tf.setBackend('tensorflow').then((ok) => process.exit(ok && tf.getBackend() === 'tensorflow' ? 0 : 3));`;
  const { code } = run(process.execPath, ['-e', probe], { quiet: true, cwd: prefix, env: { TF_CPP_MIN_LOG_LEVEL: '3' } });
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
      '-m',
      'pip',
      'download',
      '--no-deps',
      '--only-binary=:all:',
      '--dest',
      wheelDir,
      ...pipIndexArgs(),
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
  const dir = packageDir(name);
  const listAttributes = addListAttributes(dir);
  if (listAttributes !== 'patched' && listAttributes !== 'present') {
    log(`${name}: list attributes not added to its binding (${listAttributes}); inference will run conv, add and ReLU as separate kernels`);
  }
  if (listAttributes !== 'patched' && addonLoads(name)) {
    log(`${name}: native addon already works`);
    return;
  }
  // Built from source either way, so that the binding has the list attributes.
  log(`${name}: installing libtensorflow the package's own way (download)`);
  const official = run('npm', ['rebuild', name, '--foreground-scripts'], { env: nodeGypEnv(true), timeoutMs: 15 * 60e3 });
  if (official.code === 0 && addonLoads(name)) {
    log(`${name}: ready (installed by its own install script)`);
    return;
  }
  log(`${name}: the download failed; using libtensorflow from the ${wheelDistribution} wheel instead`);
  const wheel = fetchTensorFlowWheel(wheelDistribution);
  mustRun(`staging libtensorflow from ${path.basename(wheel)}`, 'python3', [
    path.join(__dirname, 'extract_libtensorflow.py'),
    wheel,
    path.join(dir, 'deps'),
  ]);
  mustRun(`${name}: compiling the addon against it (node-gyp)`, 'npm', ['rebuild', name, '--foreground-scripts'], {
    env: nodeGypEnv(true),
    timeoutMs: 15 * 60e3,
  });
  if (!addonLoads(name)) fail(`${name} was built but does not load; run: node -e "require('${name}')"`);
  log(`${name}: ready (libtensorflow ${TF_WHEEL_VERSION} from the wheel)`);
}

module.exports = {
  ROOT,
  CACHE,
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
  installNativeAddon,
};
