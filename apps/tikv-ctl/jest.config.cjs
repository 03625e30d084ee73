module.exports = { ...require('../../jest.preset.cjs'), displayName: 'tikv-ctl' };
