// Bundles the extension into one ES module that OHIF 3.13 imports at run time
// (app-config.js: extensions: ['/phaselens/extension.mjs']), and reports its size.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { readFileSync, writeFileSync } from 'node:fs';

const outfile = new URL('./dist/extension.mjs', import.meta.url).pathname;
await build({
  entryPoints: [new URL('./src/index.ts', import.meta.url).pathname],
  bundle: true,
  format: 'esm',
  target: 'es2020',
  minify: true,
  sourcemap: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outfile,
  logLevel: 'warning',
});
const code = readFileSync(outfile);
const size = { bytes: code.length, gzipBytes: gzipSync(code).length };
writeFileSync(new URL('./dist/size.json', import.meta.url), JSON.stringify(size, null, 2) + '\n');
console.log(
  `extension.mjs: ${(size.bytes / 1024).toFixed(1)} KiB (${(size.gzipBytes / 1024).toFixed(1)} KiB gzipped)`,
);
