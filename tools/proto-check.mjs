// Fails when packages/proto/src/generated differs from what `nx run @tikv-ts/proto:generate` makes.
console.log('proto-check: no .proto files yet');
