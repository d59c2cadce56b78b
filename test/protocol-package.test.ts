import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');
const packageJson = (dir: string) =>
  JSON.parse(fs.readFileSync(path.join(ROOT, dir, 'package.json'), 'utf8')) as {
    name: string;
    dependencies?: Record<string, string>;
  };

describe('reslab-protocol: one dependency-free package shared by the library, kernel-ext and the JupyterLab extension', () => {
  it('has no dependencies, and its compiled modules require nothing but each other', () => {
    assert.deepEqual(packageJson('protocol').dependencies ?? {}, {});
    const dist = path.join(ROOT, 'protocol', 'dist');
    const modules = fs.readdirSync(dist).filter((f) => f.endsWith('.js'));
    assert.ok(modules.includes('index.js') && modules.length >= 5, modules.join(', '));
    for (const file of modules) {
      const required = [...fs.readFileSync(path.join(dist, file), 'utf8').matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
      assert.deepEqual(
        required.filter((r) => !r.startsWith('./')),
        [],
        `${file} requires ${required.join(', ')}`,
      );
    }
  });

  it('the JupyterLab extension depends on it, and on neither the library nor any @tensorflow package', () => {
    const deps = Object.keys(packageJson('jupyterlab-plugin').dependencies ?? {});
    assert.ok(deps.includes('reslab-protocol'));
    assert.deepEqual(
      deps.filter((d) => d === 'reslab' || d.startsWith('@tensorflow/')),
      [],
    );
    const sources = fs
      .readdirSync(path.join(ROOT, 'jupyterlab-plugin', 'src'))
      .map((f) => fs.readFileSync(path.join(ROOT, 'jupyterlab-plugin', 'src', f), 'utf8'));
    assert.ok(
      sources.every((text) => !/from 'reslab(\/|')/.test(text)),
      'no import of the library or its build output',
    );
  });

  it('the library re-exports the same objects (one copy of the schema at run time)', async () => {
    const library = await import('../src');
    const protocol = await import('reslab-protocol');
    assert.equal(library.validateEvent, protocol.validateEvent);
    assert.equal(library.PAPER_TABLE6, protocol.PAPER_TABLE6);
    assert.equal(library.parseMetricsJsonl, protocol.parseMetricsJsonl);
  });
});
