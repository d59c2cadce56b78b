#!/usr/bin/env node
/*
 * Builds the prebuilt JupyterLab extension into reslab_jupyterlab/labextension with
 * @jupyter/builder's rspack build, against the JupyterLab core that @jupyterlab/core-meta
 * describes (the same shared packages as the installed JupyterLab 4). Needs no Python.
 */
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

const builder = require.resolve('@jupyter/builder/lib/build-labextension.js');
const core = path.join(path.dirname(require.resolve('@jupyterlab/core-meta/package.json')), 'core.package.json');
const development = process.argv.includes('--development');
const args = [builder, '--core-package-file', core, ...(development ? ['--development'] : []), __dirname];
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(result.status === null ? 1 : result.status);
