// Package schema embeds runtimekit's schemas: the CUE definitions #Runtime
// (a runtime manifest) and #Target (a machine profile), and the JSON Schemas
// for documents exchanged as JSON (manifests written as JSON, and later plans,
// state, locks and bundles).
//
// The CUE files are the source of truth; manifest.schema.json mirrors
// #Runtime for tools that speak JSON Schema, and a test keeps the two in
// agreement on a corpus of good and bad manifests.
package schema
