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

const sharedOptions = {
  enforceBuildableLibDependency: true,
  banTransitiveDependencies: true,
  allow: [],
};

/** Production code: every rule of the map. */
export const moduleBoundariesOptions = {
  ...sharedOptions,
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

/**
 * Spec files (`*.spec.ts`) wire implementations and test-only packages (STYLE.md §1): the layer
 * order still holds, but an engine consumer's spec may run on engine-memory or engine-rocks, and
 * specs may use `type:testing` packages.
 */
export const specModuleBoundariesOptions = {
  ...sharedOptions,
  depConstraints: [
    ...layerConstraints.map((c) => ({
      ...c,
      // engine implementations are layer 2; a spec of a layer-2+ package may use them.
      onlyDependOnLibsWithTags: [...c.onlyDependOnLibsWithTags, 'type:testing'],
    })),
    { sourceTag: 'layer:tests', onlyDependOnLibsWithTags: [...LAYERS.map((m) => `layer:${m}`), 'type:testing'] },
    { sourceTag: 'raft-core', onlyDependOnLibsWithTags: ['scope:raft-deps', 'type:testing'] },
    { sourceTag: 'interfaces-only', allowedExternalImports: [] },
  ],
};
