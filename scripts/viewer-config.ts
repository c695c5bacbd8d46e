/**
 * Writes viewer/app-config.js, the OHIF configuration the compose viewer serves (the PACS and
 * the service behind its own origin). A test checks the committed file is this output.
 *   npx tsx scripts/viewer-config.ts
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { viewerAppConfig } from '../server/src/viewer/app-config';

writeFileSync(path.join(__dirname, '..', 'viewer', 'app-config.js'), viewerAppConfig());
