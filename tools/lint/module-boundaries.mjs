// The dependency rules of ARCHITECTURE.md and STYLE.md §1, as options for
// @nx/enforce-module-boundaries. eslint.config.mjs uses them, and tests/lint proves them.

/** Layers 0..6 of the map (6 = apps). */
export const LAYERS = [0, 1, 2, 3, 4, 5, 6];

// `util` (tag scope:base) is the floor of layer 0: codec and proto may use it; it uses no project.
const layerConstraints = LAYERS.map((n) => ({
  sourceTag: `layer:${n}`,
  onlyDependOnLibsWithTags:
    n === 0 ? ['scope:base'] : LAYERS.filter((m) => m < n).map((m) => `layer:${m}`),
}));

export const moduleBoundariesOptions = {
  enforceBuildableLibDependency: true,
  banTransitiveDependencies: true,
  allow: [],
  depConstraints: [
    ...layerConstraints,
    // Cross-package tests may use every layer.
    { sourceTag: 'layer:tests', onlyDependOnLibsWithTags: LAYERS.map((m) => `layer:${m}`) },
    { sourceTag: 'type:lib', notDependOnLibsWithTags: ['type:app', 'type:testing'] },
    // Engines are injected: storage, raftstore and coprocessor never name an implementation.
    { sourceTag: 'engine-consumer', notDependOnLibsWithTags: ['kind:engine-impl'] },
    // raft uses only proto and util.
    { sourceTag: 'raft-core', onlyDependOnLibsWithTags: ['scope:raft-deps'] },
    // engine-traits is interfaces only: no npm package.
    { sourceTag: 'interfaces-only', allowedExternalImports: [] },
  ],
};
