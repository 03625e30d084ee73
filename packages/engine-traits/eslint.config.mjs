import base, { deterministicSources } from '../../eslint.config.mjs';

export default [...base, deterministicSources()];
