module.exports = { ...require('../../jest.preset.cjs'), displayName: 'concurrency-manager' };
