#!/usr/bin/env node
/*
 * npm run lab: the project's JupyterLab (from .venv) on 127.0.0.1 with the tslab kernel and the
 * reslab extension. Jupyter's state stays in .jupyter/, not in the home directory.
 *   npm run lab -- --port 8899             a random token, printed
 *   RESLAB_LAB_TOKEN=secret npm run lab     your token, in the environment (`--token secret` works
 *                                           too, but is then on npm's command line, which other local users can read)
 */
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const JUPYTER = path.join(ROOT, '.venv', 'bin', 'jupyter');

/**
 * Environment that keeps Jupyter's configuration, runtime files and IPython state under `stateDir`,
 * in directories only this user can enter (the runtime files name the server's token).
 */
function jupyterEnv(stateDir) {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(stateDir, 0o700);
  for (const sub of ['config', 'runtime', 'ipython']) {
    fs.mkdirSync(path.join(stateDir, sub), { recursive: true, mode: 0o700 });
    fs.chmodSync(path.join(stateDir, sub), 0o700);
  }
  return {
    ...process.env,
    JUPYTER_CONFIG_DIR: path.join(stateDir, 'config'),
    JUPYTER_RUNTIME_DIR: path.join(stateDir, 'runtime'),
    IPYTHONDIR: path.join(stateDir, 'ipython'),
    JUPYTER_PLATFORM_DIRS: '1',
  };
}

/**
 * Arguments for a local, offline-friendly JupyterLab server. The token is not among them (another
 * user could read it in /proc/<pid>/cmdline): the server reads it from JUPYTER_TOKEN in its environment.
 */
function labArgs({ port, rootDir }) {
  const args = [
    'lab',
    '--no-browser',
    '--ip=127.0.0.1',
    `--port=${port}`,
    `--ServerApp.root_dir=${rootDir}`,
    '--LabApp.extension_manager=readonly',
    '--ServerApp.port_retries=0',
  ];
  if (typeof process.getuid === 'function' && process.getuid() === 0) args.push('--allow-root');
  return args;
}

/** Turns off the startup announcements, which would go online. */
function disableAnnouncements(env) {
  spawnSync(JUPYTER, ['labextension', 'disable', '@jupyterlab/apputils-extension:announcements'], { env, stdio: 'ignore' });
}

function main() {
  if (!fs.existsSync(JUPYTER)) {
    console.error('npm run lab: .venv is missing; run `npm run setup` first');
    process.exit(1);
  }
  const argv = process.argv.slice(2);
  const option = (name, fallback) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
  };
  const port = option('port', '8888');
  const token = option('token', process.env.RESLAB_LAB_TOKEN || require('crypto').randomBytes(12).toString('hex'));
  // Files the server writes (its runtime files hold the token) are this user's only.
  process.umask(0o077);
  const env = { ...jupyterEnv(path.join(ROOT, '.jupyter')), JUPYTER_TOKEN: token };
  disableAnnouncements(env);
  console.log(`JupyterLab with tslab + reslab: http://127.0.0.1:${port}/lab?token=${token}`);
  const child = spawn(JUPYTER, labArgs({ port, rootDir: ROOT }), { env, stdio: 'inherit' });
  const stop = (signal) => child.exitCode === null && child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stop(signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM'));
  // `npm run lab` stopped with SIGTERM exits without passing it on: when the parent is gone, so is the server.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && stop('SIGTERM'), 500).unref();
  child.on('exit', (code) => process.exit(code ?? 0));
}

if (require.main === module) main();
module.exports = { jupyterEnv, labArgs, disableAnnouncements, JUPYTER };
