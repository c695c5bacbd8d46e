/** Runs every benchmark in turn; each writes its JSON under bench/results/. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const benchmarks = [
  'read-series.ts',
  'phantom.ts',
  'classifier.ts',
  'maps.ts',
  'write-back.ts',
  'service-load.ts',
  'scale-out.ts',
  'isolation.ts',
  'scratch.ts',
  'service-analysis.ts',
  'extension-bundle.ts',
];
for (const b of benchmarks) {
  console.log(`== ${b}`);
  execFileSync(process.execPath, [require.resolve('tsx/cli'), path.join(__dirname, b)], {
    stdio: 'inherit',
  });
}
