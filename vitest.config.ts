// Test runner settings: every suite under test/, bounded hooks and tests so nothing hangs CI, the
// compiled CLI built first (test/global-setup.ts), and spawned brokers off the fixed AWS ports.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // Brokers the tests spawn (`junction start`) leave the AWS and OpenWire listeners' fixed ports
    // (4566/4567, 61616/61617) alone unless a test gives them ports of their own (BrokerProcess does).
    env: { JUNCTION_LISTENERS__AWS__ENABLED: 'false', JUNCTION_LISTENERS__OPENWIRE__ENABLED: 'false' },
  },
});
