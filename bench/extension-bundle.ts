/**
 * The extension's weight in the viewer: its bundle (raw and gzipped) against the JavaScript the
 * prebuilt OHIF 3.13.2 viewer itself ships, measured on the same files in the same run.
 * Limit: the extension adds at most 1% to what the viewer downloads.
 *   npx tsx bench/extension-bundle.ts   (after npm run build -w extension and scripts/fetch-ohif.sh)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeResult } from './common';

const ROOT = path.join(__dirname, '..');

async function gzipped(file: string): Promise<{ bytes: number; gzipBytes: number }> {
  const code = await fs.readFile(file);
  return { bytes: code.length, gzipBytes: gzipSync(code).length };
}

async function main(): Promise<void> {
  execFileSync('npm', ['run', 'build', '--workspace', 'extension'], { cwd: ROOT, stdio: 'ignore' });
  const ohif = path.join(ROOT, 'viewer', 'ohif');
  if (!existsSync(ohif)) throw new Error('no OHIF viewer: run scripts/fetch-ohif.sh');
  const extension = await gzipped(path.join(ROOT, 'extension', 'dist', 'extension.mjs'));
  let viewerBytes = 0;
  let viewerGzipBytes = 0;
  for (const f of await fs.readdir(ohif))
    if (f.endsWith('.js')) {
      const s = await gzipped(path.join(ohif, f));
      viewerBytes += s.bytes;
      viewerGzipBytes += s.gzipBytes;
    }
  const share = extension.gzipBytes / viewerGzipBytes;
  const file = await writeResult('extension-bundle', {
    extension,
    viewer: { javascriptBytes: viewerBytes, javascriptGzipBytes: viewerGzipBytes },
    gzipShareOfViewer: Number(share.toFixed(5)),
    limit: 0.01,
    withinLimit: share <= 0.01,
  });
  console.log(
    `extension ${(extension.gzipBytes / 1024).toFixed(1)} KiB gzipped = ${(share * 100).toFixed(2)}% of OHIF's JavaScript (${(viewerGzipBytes / 2 ** 20).toFixed(1)} MiB gzipped); ${file}`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
