// `npm test` runs every project; `npx jest --selectProjects <name>` runs one.
module.exports = {
  projects: ['<rootDir>/libs/*/jest.config.js', '<rootDir>/tools/*/jest.config.js', '<rootDir>/e2e/jest.config.js'],
};
