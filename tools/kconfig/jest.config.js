module.exports = { displayName: 'kconfig-cli', preset: '../../jest.preset.js', rootDir: __dirname, testMatch: ['<rootDir>/**/*.spec.ts'] };
