module.exports = {
  displayName: 'e2e',
  preset: '../jest.preset.js',
  rootDir: __dirname,
  testMatch: ['<rootDir>/**/*.spec.ts'],
  setupFilesAfterEnv: ['<rootDir>/support/jest-setup.ts'],
};
