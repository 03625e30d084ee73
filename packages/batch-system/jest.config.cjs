module.exports = { ...require('../../jest.preset.cjs'), displayName: 'batch-system' };
