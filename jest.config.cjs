// Runs every project's tests from the root (`npx jest`); Nx runs them per project.
const { getJestProjectsAsync } = require('@nx/jest');

module.exports = async () => ({ projects: await getJestProjectsAsync() });
