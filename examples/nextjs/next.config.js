// output: "standalone" makes .next/standalone: server.js and exactly the
// node_modules it needs, which runtimectl deploy ships as they are. The
// VM is i386: sharp, the image optimiser, has no build for it, so images
// are served unoptimised and sharp is left out of the traced files.
module.exports = {
  output: "standalone",
  images: { unoptimized: true },
  outputFileTracingExcludes: { "*": ["node_modules/sharp/**", "node_modules/@img/**"] },
};
