/** Unit tests live in server/test and extension/test, cross-package tests (real Orthanc) in test/. */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.test.json' }];

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: 'server',
      testEnvironment: 'node',
      roots: ['<rootDir>/server/test'],
      transform: { '^.+\\.ts$': tsJest },
    },
    {
      displayName: 'extension',
      testEnvironment: 'node',
      roots: ['<rootDir>/extension/test'],
      transform: { '^.+\\.ts$': tsJest },
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      transform: { '^.+\\.ts$': tsJest },
    },
  ],
  testTimeout: 60000,
};
