module.exports = { displayName: 'pipeline', preset: '../../jest.preset.js', rootDir: __dirname, testMatch: ['<rootDir>/src/**/*.spec.ts'] };
