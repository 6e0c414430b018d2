/**
 * One jest run for the whole workspace: a project per package (the services from
 * services/manifest.json), plus the end-to-end suite that starts real processes. Unit tests live
 * beside their package (`<pkg>/test/**`).
 */
const { manifest } = require('@arc/devkit');

// Full type-checking of tests; TS151002 only says hybrid module kinds prefer isolatedModules.
const tsJest = ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json', diagnostics: { warnOnly: false, ignoreCodes: [151002] } }];

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: 'arc-core',
      rootDir: 'packages/arc-core',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
    },
    {
      displayName: 'arc-cli',
      rootDir: 'packages/arc-cli',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
    },
    {
      // The inspector's pure modules (curl quoting, SSE reading, agent lists) and its build; the
      // browser itself is tested end to end (tests/e2e/inspector.test.ts).
      displayName: 'arc-inspector',
      rootDir: 'packages/arc-inspector',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
    },
    ...manifest.all.map((service) => ({
      displayName: service.id,
      rootDir: service.dir,
      testEnvironment: 'node',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
    })),
    {
      displayName: 'e2e',
      rootDir: 'tests/e2e',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      slowTestThreshold: 30,
    },
  ],
  testTimeout: 60000,
};
