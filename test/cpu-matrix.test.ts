import { strict as assert } from 'assert';
import * as path from 'path';
import { probeOneDnnIsa } from '../src/kernels/check';
import { IsolatedResult, runIsolated } from '../src/kernels/isolated';
import { matrixCases } from './matrix/cases';

/**
 * The native step against tfjs's autodiff, and a short training of every block style, under every
 * oneDNN code path this CPU has (ONEDNN_MAX_CPU_ISA), with oneDNN off and with standard kernels
 * only: each setting in child processes (test/matrix/child.ts), so that a kernel that crashes is
 * one failing test naming the signal, the setting and the case, never a dead test runner.
 */

interface Setting {
  label: string;
  env: Record<string, string>;
  /** `quick`: the narrowest width only, for the code paths beyond the three the suite always covers. */
  scope: 'full' | 'quick';
}

const isa = (name: string, scope: Setting['scope']): Setting => ({
  label: `ONEDNN_MAX_CPU_ISA=${name}`,
  env: { ONEDNN_MAX_CPU_ISA: name },
  scope,
});

const SETTINGS: Setting[] = [
  { label: 'the default setting', env: {}, scope: 'full' },
  isa('AVX2', 'full'),
  isa('AVX512_CORE', 'full'),
  { label: 'RESLAB_NATIVE=portable', env: { RESLAB_NATIVE: 'portable' }, scope: 'full' },
  { label: 'TF_ENABLE_ONEDNN_OPTS=0', env: { TF_ENABLE_ONEDNN_OPTS: '0' }, scope: 'full' },
  // Whatever else oneDNN distinguishes on this CPU (a setting with the code path of one above is skipped).
  ...['AVX512_CORE_AMX', 'AVX512_CORE_FP16', 'AVX512_CORE_BF16', 'AVX512_CORE_VNNI', 'AVX2_VNNI', 'AVX', 'SSE41'].map((name) =>
    isa(name, 'quick'),
  ),
];

const CHILD = path.join(__dirname, 'matrix', 'child.js');
/** `npm run test:unit` sets RESLAB_CPU_MATRIX=default: the default setting only, for a fast edit-test loop. */
const settings = process.env.RESLAB_CPU_MATRIX === 'default' ? SETTINGS.slice(0, 1) : SETTINGS;
/** The code paths already covered, so that a setting oneDNN maps onto one of them is not run twice. */
const covered = new Map<string, string>();

describe('the CPU matrix: every oneDNN code path of this CPU, in child processes', function () {
  this.timeout(900_000);
  for (const setting of settings) {
    describe(setting.label, () => {
      const cases = matrixCases(setting.scope);
      let oneDnnIsa = 'oneDNN off';
      const results = new Map<string, IsolatedResult<{ status: 'passed' } | { status: 'failed'; message: string }>>();
      before(function () {
        oneDnnIsa = probeOneDnnIsa(setting.env) ?? 'oneDNN off';
        const onIsa = setting.env.ONEDNN_MAX_CPU_ISA !== undefined || setting.label === 'the default setting';
        const same = covered.get(oneDnnIsa);
        if (onIsa && same !== undefined && setting.scope === 'quick') {
          console.log(`      (skipped: oneDNN runs ${oneDnnIsa} here, as under ${same})`);
          this.skip();
        }
        if (onIsa && same === undefined) covered.set(oneDnnIsa, setting.label);
        const started = Date.now();
        const run = runIsolated<{ id: string }, { status: 'passed' } | { status: 'failed'; message: string }>(
          CHILD,
          cases.map((c) => ({ id: c.id })),
          { ...process.env, ...setting.env, TF_CPP_MIN_LOG_LEVEL: '2' },
          600_000,
        );
        for (const r of run.results) results.set(r.id, r);
        console.log(`      ${cases.length} cases under ${setting.label} (${oneDnnIsa}) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      });
      for (const c of cases) {
        it(c.id, () => {
          const r = results.get(c.id);
          assert.ok(r, 'no result');
          if (r.status === 'crashed')
            assert.fail(`${r.signal} under ${setting.label} (${oneDnnIsa}) in "${c.id}"${r.message ? `: ${r.message}` : ''}`);
          if (r.status === 'hung') assert.fail(`hung under ${setting.label} (${oneDnnIsa}) in "${c.id}"`);
          if (r.status === 'failed') assert.fail(`under ${setting.label} (${oneDnnIsa}): ${r.message}`);
        });
      }
    });
  }
});
