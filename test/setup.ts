import { describeBackend, selectBackend } from '../src/backend';

// Root hook: every test run says which backend it measured. CI sets RESLAB_REQUIRE_NATIVE=1 so
// that a broken native install fails loudly instead of silently testing the JS fallback.
export const mochaHooks = {
  beforeAll(): void {
    const info = selectBackend();
    console.log(`  ${describeBackend(info)}`);
    if (process.env.RESLAB_REQUIRE_NATIVE === '1' && info.kind === 'js') {
      throw new Error(`RESLAB_REQUIRE_NATIVE=1 but the native backend is unavailable: ${info.fallbacks.join('; ')}`);
    }
  },
};
