module.exports = { ...require('../../jest.preset.cjs'), displayName: 'raft-log-engine' };
