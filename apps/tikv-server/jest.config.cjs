module.exports = { ...require('../../jest.preset.cjs'), displayName: 'tikv-server' };
