// Shared Jest settings for every project: ts-jest transpiles (type checking is the build's job),
// and workspace packages resolve to their TypeScript sources through the @tikv-ts/source condition.
module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json', diagnostics: false }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testEnvironmentOptions: { customExportConditions: ['@tikv-ts/source', 'node', 'require', 'default'] },
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  passWithNoTests: true,
};
