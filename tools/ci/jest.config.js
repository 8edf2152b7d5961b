module.exports = { displayName: 'ci', preset: '../../jest.preset.js', rootDir: __dirname, testMatch: ['<rootDir>/**/*.spec.ts'] };
