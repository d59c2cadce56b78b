import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { executeNotebook, notebookDir, NotebookCell, requireJupyter, ROOT, textOf } from './helpers/jupyter';

const NOTEBOOKS = path.join(ROOT, 'notebooks');

/**
 * Every notebook, executed at smoke scale with the real tslab kernel, in order and in one folder
 * (notebooks 02-04 share their runs directory, as they do for a user), on copies: the committed
 * outputs stay.
 */
describe('notebooks (executed at smoke scale with the tslab kernel)', function () {
  this.timeout(1_200_000);
  let dir: string;
  before(() => {
    requireJupyter();
    dir = notebookDir();
  });

  const names = fs
    .readdirSync(NOTEBOOKS)
    .filter((f) => f.endsWith('.ipynb'))
    .sort();

  it('there are the five notebooks of the paper story', () => {
    assert.deepEqual(names, [
      '01-residual-learning.ipynb',
      '02-figure1-degradation.ipynb',
      '03-figure6-table6.ipynb',
      '04-figure7-layer-responses.ipynb',
      '05-imagenet-architectures.ipynb',
    ]);
  });

  for (const name of names) {
    it(`${name} runs without a cell error and ends with a comparison with the paper`, () => {
      const copy = path.join(dir, name);
      fs.copyFileSync(path.join(NOTEBOOKS, name), copy);
      const started = Date.now();
      const cells: NotebookCell[] = executeNotebook(copy, 1200, { RESLAB_SCALE: 'smoke' });
      console.log(`      ${name}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
      const errors = cells.flatMap((c) => c.outputs ?? []).filter((o) => o.output_type === 'error');
      assert.deepEqual(
        errors.map((e) => `${e.ename}: ${e.evalue}`),
        [],
      );
      const code = cells.filter((c) => c.cell_type === 'code');
      assert.ok(
        code.every((c) => (c.outputs ?? []).length > 0 || /^(\/\/|const scale)/m.test(String(c.source))),
        'every computing cell shows something',
      );
      const parameters = code.find((c) => JSON.stringify(c.metadata ?? {}).includes('parameters'));
      assert.ok(
        parameters && /const scale/.test(textOf({ output_type: 'x', text: c2s(parameters.source) })),
        'a tagged parameters cell with scale',
      );
      const shown = code
        .flatMap((c) => c.outputs ?? [])
        .map((o) => textOf(o) + JSON.stringify(o.data ?? {}))
        .join('\n');
      if (!name.startsWith('05')) {
        // The closing comparison is computed from the notebook's own runs: a verdict table at smoke scale.
        assert.match(shown, /The paper's claims: \d of \d claims? reproduced/);
        assert.match(shown, /60 of the paper(’|'|\\u0027|&#39;)s 64,000 iterations, width 0\.25/);
      }
      const last = cells[cells.length - 1];
      assert.equal(last.cell_type, 'markdown');
      assert.match(c2s(last.source), /paper/i);
    });
  }
});

function c2s(source: string | string[]): string {
  return Array.isArray(source) ? source.join('') : source;
}
