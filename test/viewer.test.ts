/**
 * The radiologist's path, in a real browser: the prebuilt OHIF 3.13.2 viewer with the PhaseLens
 * extension, a real Orthanc, the real service and the watcher. Debian Chromium via playwright-core.
 * Screenshots go to test/artifacts/.
 */
import type { NaturalDataset } from 'dcmjs';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './fixtures/browser';
import { startTestService } from './fixtures/service';
import { buffersOf, filesOf } from './fixtures/files';
import { freePort, startOrthanc, type OrthancServer } from './fixtures/orthanc';
import { EXTENSION_DIR, OHIF_DIR, ROOT, startViewer, type RunningViewer } from './fixtures/viewer';
import { DicomWebClient } from '../server/src/dicomweb/client';
import { selectBackend } from '../server/src/model/inference/backend';
import { loadPhaseModel } from '../server/src/model/inference/phase-model';
import { generateCase } from '../server/src/phantom/render';
import { decodePng, type DecodedPng } from '../server/src/render/png';
import { readDicomFolder } from '../server/src/series/read-folder';
import type { CtSeries } from '../server/src/series/types';
import { writeCtSeries } from '../server/src/series/write-ct';
import { jsonLogger } from '../server/src/service/log';
import type { RunningService } from '../server/src/service/server';
import { watchOrthanc } from '../server/src/service/watcher';
import { PhaseLensClient } from '../extension/src/api';
import type { AnalysisView } from '../extension/src/types';

const TOKEN = 'viewer-test-token-0123456789';
const NGINX = '/usr/sbin/nginx';
const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');
const REAL_CT = path.join(ROOT, '..', 'shared', 'data', 'real-ct', 'hcc002-arterial');

if (!existsSync(path.join(OHIF_DIR, 'index.html')))
  throw new Error(`no OHIF viewer in ${OHIF_DIR}: run scripts/fetch-ohif.sh`);
if (!existsSync(path.join(EXTENSION_DIR, 'extension.mjs')))
  throw new Error(`no extension bundle in ${EXTENSION_DIR}: run npm run build -w extension`);

describe('the PhaseLens panel in the OHIF viewer (real browser, PACS, service)', () => {
  let orthanc: OrthancServer;
  let service: RunningService;
  let sameOrigin: RunningViewer;
  let crossOrigin: RunningViewer;
  let browser: Browser;
  const consoleErrors: string[] = [];
  let analysed: CtSeries;
  let autoTagged: { series: CtSeries; phase: string };

  beforeAll(async () => {
    await fs.mkdir(ARTIFACTS, { recursive: true });
    orthanc = await startOrthanc({ StableAge: 1 });
    const auth = { username: orthanc.username, password: orthanc.password };
    const pacs = new DicomWebClient({ url: orthanc.dicomWeb, auth });
    const work = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-viewer-'));
    const store = async (s: CtSeries, name: string) =>
      pacs.storeInstances(await buffersOf(await writeCtSeries(s, path.join(work, name))));

    // A study the watcher tags before anyone opens it.
    const tagged = (await generateCase('viewer-auto', 2, { matrix: 128, slices: 20 })).series;
    await store(tagged, 'tagged');
    await selectBackend(() => undefined);
    const model = await loadPhaseModel();
    const stop = new AbortController();
    let phase = '';
    await watchOrthanc(
      {
        orthancUrl: orthanc.url,
        pacsUrl: orthanc.dicomWeb,
        auth,
        cursorFile: path.join(work, 'cursor.json'),
        maps: [],
        pollMs: 300,
        signal: stop.signal,
        onSeries: (e) => {
          if (e.action === 'analysed' && e.seriesInstanceUid === tagged.seriesInstanceUid) {
            phase = e.phase ?? '';
            stop.abort();
          }
        },
      },
      model,
      jsonLogger(() => undefined),
    );
    autoTagged = { series: tagged, phase };

    // The study the radiologist analyses from the viewer.
    analysed = (await generateCase('viewer', 1, { matrix: 128, slices: 24, phase: 'arterial' }))
      .series;
    await store(analysed, 'analysed');

    const crossPort = await freePort();
    // The default map format, as `npm run stack` and compose start the service.
    service = await startTestService(orthanc, TOKEN, {
      PHASELENS_CORS_ORIGINS: `http://127.0.0.1:${crossPort}`,
    });
    const pacsAuthorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    // Same origin: the service behind the viewer's proxy, which adds the service credentials.
    sameOrigin = await startViewer({
      pacsUrl: orthanc.dicomWeb,
      pacsAuthorization,
      serviceUrl: service.url,
      serviceAuthorization: `Bearer ${TOKEN}`,
    });
    // Another origin: the browser calls the service directly (CORS) with a token.
    crossOrigin = await startViewer(
      {
        pacsUrl: orthanc.dicomWeb,
        pacsAuthorization,
        config: { serviceUrl: service.url, apiToken: TOKEN },
      },
      crossPort,
    );
    browser = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await sameOrigin?.close();
    await crossOrigin?.close();
    await service?.close();
    await orthanc?.stop();
  });

  async function open(viewer: RunningViewer, studyInstanceUid: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('console', (m) => {
      // OHIF only warns when it cannot draw a 16-bit Parametric Map: that counts as an error here.
      if (m.type() === 'error' || /Only works with 32 bit data/.test(m.text()))
        consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(`${viewer.url}/viewer?StudyInstanceUIDs=${studyInstanceUid}`);
    await page.waitForSelector('[data-testid=phaselens-panel]', { timeout: 60_000 });
    // OHIF's first-visit tour and investigational-use notice cover the page: dismiss them.
    for (const label of ['Skip all', 'Confirm and hide']) {
      const button = page.getByText(label, { exact: true });
      await button
        .first()
        .click({ timeout: 5_000 })
        .catch(() => undefined);
    }
    return page;
  }

  /** Mean absolute RGB change between two screenshots at page points. */
  function change(a: DecodedPng, b: DecodedPng, points: { x: number; y: number }[]): number {
    let sum = 0;
    for (const { x, y } of points) {
      const at = (Math.round(y) * a.width + Math.round(x)) * a.channels;
      for (let k = 0; k < 3; k++) sum += Math.abs(a.pixels[at + k] - b.pixels[at + k]);
    }
    return sum / (3 * points.length);
  }

  /** The viewport's slice, as the panel's strip reports it (the service's slice numbering). */
  async function viewportSlice(page: Page): Promise<number> {
    const strip = page.locator('[data-testid=phaselens-strip]');
    return Number(await strip.getAttribute('data-viewport-slice'));
  }

  /** Scrolls the viewport with the mouse wheel until it shows `target`. */
  async function scrollTo(page: Page, target: number): Promise<void> {
    const box = (await page.locator('.cornerstone-viewport-element canvas').first().boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    for (let tries = 0; tries < 200; tries++) {
      const now = await viewportSlice(page);
      if (now === target) return;
      // Wheel down moves towards the feet: lower positions along the normal, lower indices.
      await page.mouse.wheel(0, now > target ? 120 : -120);
      await page.waitForTimeout(120);
    }
    throw new Error(`the viewport did not reach slice ${target}`);
  }

  /**
   * Turns the named map's overlay on, then checks that raising its opacity from 0 changes the
   * viewport's pixels where the map (read back from the PACS) is high, and hardly elsewhere.
   */
  async function checkOverlay(page: Page, series: CtSeries, shot: string): Promise<void> {
    // The map as stored: the Parametric Map of this series, read back from the PACS.
    const found = await orthanc.find('Series', {
      StudyInstanceUID: series.studyInstanceUid,
      SeriesDescription: 'PhaseLens sam* parametric map*',
    });
    expect(found).toHaveLength(1);
    const [instance] = (await (
      await orthanc.rest('GET', `/series/${found[0]}/instances`)
    ).json()) as { ID: string }[];
    const map = await orthanc.instance(instance.ID);
    expect(map.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.30');
    const frames = new Float32Array((map.FloatPixelData as ArrayBuffer[])[0]);
    const size = series.rows * series.columns;
    // The overlay is transparent below 2% of the series maximum and opaque from 12% (the
    // extension's default style).
    const shared = (map.SharedFunctionalGroupsSequence as NaturalDataset[])[0];
    const mapping = (shared.RealWorldValueMappingSequence as NaturalDataset[])[0];
    const seriesMax = Number(mapping.DoubleFloatRealWorldValueLastValueMapped);
    // Look at the slice where the map has most of its opaque voxels.
    let slice = 0;
    let most = -1;
    for (let k = 0; k < series.slices; k++) {
      let n = 0;
      for (let i = k * size; i < (k + 1) * size; i++) if (frames[i] >= 0.12 * seriesMax) n++;
      if (n > most) [slice, most] = [k, n];
    }
    const frame = frames.subarray(slice * size, (slice + 1) * size);
    const button = page.locator('[data-testid^=phaselens-map-sam]').first();
    await button.click();
    await page.waitForSelector('[data-testid^=phaselens-map-sam][aria-pressed=true]', {
      timeout: 60_000,
    });
    await scrollTo(page, slice);
    const opacity = page.getByLabel('Opacity');
    await opacity.focus();
    await page.keyboard.press('Home');
    await page.waitForTimeout(800);
    const before = decodePng(await page.screenshot());
    await page.keyboard.press('End');
    await page.waitForTimeout(800);
    const after = decodePng(await page.screenshot());
    await fs.writeFile(path.join(ARTIFACTS, shot), await page.screenshot());

    const position = series.geometry.positions[slice];
    const perFrame = map.PerFrameFunctionalGroupsSequence as NaturalDataset[];
    const framePosition = (
      (perFrame[slice].PlanePositionSequence as NaturalDataset[])[0]
        .ImagePositionPatient as number[]
    ).map(Number);
    expect(framePosition[2]).toBeCloseTo(position[2], 3);
    const [rx, ry, rz, cx, cy, cz] = series.geometry.orientation;
    const [rowSpacing, columnSpacing] = series.geometry.pixelSpacing;
    const world = (r: number, c: number) => [
      position[0] + c * columnSpacing * rx + r * rowSpacing * cx,
      position[1] + c * columnSpacing * ry + r * rowSpacing * cy,
      position[2] + c * columnSpacing * rz + r * rowSpacing * cz,
    ];
    const hot: number[][] = [];
    const cold: number[][] = [];
    // Cold: low map values in a whole 7 x 7 neighbourhood, since the display interpolates a
    // pixel's colour into its neighbours (a speckled map leaves few such places; they must exist).
    const quietAround = (r: number, c: number): boolean => {
      for (let dr = -3; dr <= 3; dr++)
        for (let dc = -3; dc <= 3; dc++) {
          const rr = Math.min(series.rows - 1, Math.max(0, r + dr));
          const cc = Math.min(series.columns - 1, Math.max(0, c + dc));
          if (frame[rr * series.columns + cc] >= 0.02 * seriesMax) return false;
        }
      return true;
    };
    for (let i = 0; i < size; i += 1) {
      const r = Math.floor(i / series.columns);
      const c = i % series.columns;
      if (frame[i] >= 0.12 * seriesMax) hot.push(world(r, c));
      else if ((r * 7 + c) % 13 === 0 && quietAround(r, c)) cold.push(world(r, c));
    }
    // World to page pixels with Cornerstone3D's own camera (in-page code, as plain JavaScript).
    const toPage = (points: number[][]) =>
      page.evaluate(
        `(() => {
          const id = window.services.viewportGridService.getState().activeViewportId;
          const vp = window.services.cornerstoneViewportService.getCornerstoneViewport(id);
          const rect = vp.canvas.getBoundingClientRect();
          return ${JSON.stringify(points)}
            .map((p) => vp.worldToCanvas(p))
            .map(([x, y]) => ({ x: rect.left + x, y: rect.top + y }))
            .filter((p) => p.x >= rect.left && p.x < rect.right && p.y >= rect.top && p.y < rect.bottom);
        })()`,
      ) as Promise<{ x: number; y: number }[]>;
    const hotPixels = await toPage(hot);
    const coldPixels = await toPage(cold);
    expect(hotPixels.length).toBeGreaterThan(10);
    expect(coldPixels.length).toBeGreaterThan(10);
    const hotChange = change(before, after, hotPixels);
    const coldChange = change(before, after, coldPixels);
    expect(hotChange).toBeGreaterThan(15);
    // Three times the change where the map is quiet: a speckled map (the 2.0.0 model's on the
    // real arterial series) tints its surroundings through display interpolation.
    expect(hotChange).toBeGreaterThan(3 * coldChange);
  }

  it('analyses the open series: progress, then phase and confidence within 1 s of the service; the SAM overlay lands where the map is high; the strip follows the slice', async () => {
    const page = await open(sameOrigin, analysed.studyInstanceUid);
    const analyse = page.locator('[data-testid=phaselens-analyse]');
    await page.waitForSelector('[data-testid=phaselens-analyse]:not([disabled])', {
      timeout: 30_000,
    });
    // When the phase appears in the panel, by the page's clock (the same machine's as ours).
    await page.evaluate(`
      new MutationObserver((_, observer) => {
        if (document.querySelector('[data-testid=phaselens-phase]')) {
          window.phaseShownAt = Date.now();
          observer.disconnect();
        }
      }).observe(document.body, { childList: true, subtree: true });
    `);
    const accepted = page.waitForResponse(
      (r) => r.url().endsWith('/api/v1/analyses') && r.request().method() === 'POST',
    );
    await analyse.click();
    const { id } = (await (await accepted).json()) as { id: string };
    // The service's own view of when the result exists, followed beside the browser.
    let doneAt = 0;
    const client = new PhaseLensClient({
      baseUrl: service.url,
      authorization: () => `Bearer ${TOKEN}`,
    });
    const followed = client.follow(id, (v: AnalysisView) => {
      if (v.state === 'done' && !doneAt) doneAt = Date.now();
    });
    await page.waitForSelector('[data-testid=phaselens-progress]', { timeout: 30_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-progress.png') });
    const phase = page.locator('[data-testid=phaselens-phase]');
    await phase.waitFor({ timeout: 180_000 });
    await followed;
    const shownAt = (await page.evaluate('window.phaseShownAt ?? 0')) as number;
    const latency = shownAt - doneAt;
    await fs.writeFile(
      path.join(ARTIFACTS, 'viewer-latency.json'),
      JSON.stringify({ resultToPanelMs: latency }, null, 2),
    );
    expect(doneAt).toBeGreaterThan(0);
    expect(latency).toBeLessThan(1000);
    const stored = await client.analysis(id);
    expect(await phase.getAttribute('data-phase')).toBe(stored.result?.phase);
    expect(await phase.textContent()).toMatch(
      /^(Non-contrast|Arterial|Portal-venous|Delayed) \d+%$/,
    );
    expect(Number(await phase.getAttribute('data-confidence'))).toBeCloseTo(
      stored.result!.confidence,
      6,
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-result.png') });
    // The series' thumbnail in the study browser carries the phase badge.
    const badge = page.locator('[data-cy=study-browser-thumbnail] [data-phaselens-badge]');
    await badge.first().waitFor({ timeout: 10_000 });
    expect(await badge.first().getAttribute('data-phase')).toBe(stored.result?.phase);

    await checkOverlay(page, analysed, 'viewer-sam-overlay.png');

    // Scrolling the viewport moves the strip's marker with it.
    const strip = page.locator('[data-testid=phaselens-strip]');
    const first = await viewportSlice(page);
    const target = first >= 5 ? first - 5 : first + 5;
    await scrollTo(page, target);
    await page.waitForTimeout(300);
    expect(await viewportSlice(page)).toBe(target);
    expect(Number(await strip.getAttribute('data-current-slice'))).toBe(target);
    expect(await strip.locator('[aria-current=true]').getAttribute('data-slice')).toBe(
      String(target),
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-scrolled.png') });

    await page.close();

    // Opened again, the study holds the Secondary Capture series written back; it opens as a
    // colour heatmap over the CT (the grey CT has no saturated pixels).
    const again = await open(sameOrigin, analysed.studyInstanceUid);
    const capture = again
      .locator('[data-cy=study-browser-thumbnail]')
      .filter({ hasText: /PhaseLens sam\S* map for / });
    await capture.first().waitFor({ timeout: 30_000 });
    await again.waitForTimeout(1000);
    const viewportBox = (await again
      .locator('.cornerstone-viewport-element canvas')
      .first()
      .boundingBox())!;
    const colourful = (shot: DecodedPng) => {
      let n = 0;
      let total = 0;
      // The middle of the viewport, clear of OHIF's coloured corner annotations.
      const { x: left, y: top, width, height } = viewportBox;
      for (let y = Math.ceil(top + 0.2 * height); y < top + 0.8 * height; y += 3)
        for (let x = Math.ceil(left + 0.2 * width); x < left + 0.8 * width; x += 3) {
          const at = (y * shot.width + x) * shot.channels;
          const [r, g, b] = [shot.pixels[at], shot.pixels[at + 1], shot.pixels[at + 2]];
          total++;
          if (Math.max(r, g, b) - Math.min(r, g, b) > 80) n++;
        }
      return n / total;
    };
    const ctOnly = colourful(decodePng(await again.screenshot()));
    await capture.first().dblclick();
    let shown = 0;
    // Colour where the CT alone has none (below 0.1%): how much depends on the map of the slice
    // shown, so the bar is a few times that floor, not a share of the body.
    for (let waited = 0; waited < 20_000 && shown < 0.003; waited += 500) {
      await again.waitForTimeout(500);
      shown = colourful(decodePng(await again.screenshot()));
    }
    await again.screenshot({ path: path.join(ARTIFACTS, 'viewer-secondary-capture.png') });
    expect(ctOnly).toBeLessThan(0.001);
    expect(shown).toBeGreaterThan(0.003);
    // With a map's Secondary Capture in the viewport, the panel speaks of its CT series.
    const phaseAgain = again.locator('[data-testid=phaselens-phase]');
    await phaseAgain.waitFor({ timeout: 10_000 });
    expect(await phaseAgain.getAttribute('data-phase')).toBe(stored.result?.phase);
    await again.close();
  }, 300_000);

  it('shows the phase of an auto-tagged series at once, from another origin, without Analyse', async () => {
    const posts: string[] = [];
    const page = await open(crossOrigin, autoTagged.series.studyInstanceUid);
    page.on('request', (r) => {
      if (r.method() === 'POST') posts.push(r.url());
    });
    const phase = page.locator('[data-testid=phaselens-phase]');
    await phase.waitFor({ timeout: 30_000 });
    expect(await phase.getAttribute('data-phase')).toBe(autoTagged.phase);
    await expect(page.locator('[data-testid=phaselens-source]').count()).resolves.toBe(1);
    expect(posts).toEqual([]);
    const badge = page.locator('[data-cy=study-browser-thumbnail] [data-phaselens-badge]');
    await badge.first().waitFor({ timeout: 10_000 });
    expect(await badge.first().getAttribute('data-phase')).toBe(autoTagged.phase);
    await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-auto-tagged.png') });
    await page.close();
  }, 120_000);

  const realIt = existsSync(REAL_CT) ? it : it.skip;
  realIt(
    'does the same on a real CT series (arterial, 12.5 mm)',
    async () => {
      const pacs = new DicomWebClient({
        url: orthanc.dicomWeb,
        auth: { username: orthanc.username, password: orthanc.password },
      });
      await pacs.storeInstances(await filesOf(REAL_CT));
      const series = await readDicomFolder(REAL_CT);
      const page = await open(sameOrigin, series.studyInstanceUid);
      const analyse = page.locator('[data-testid=phaselens-analyse]');
      await page.waitForSelector('[data-testid=phaselens-analyse]:not([disabled])', {
        timeout: 30_000,
      });
      await analyse.click();
      const phase = page.locator('[data-testid=phaselens-phase]');
      await phase.waitFor({ timeout: 240_000 });
      expect(await phase.textContent()).toMatch(
        /^(Non-contrast|Arterial|Portal-venous|Delayed) \d+%$/,
      );
      await checkOverlay(page, series, 'viewer-real-ct-overlay.png');
      await page.close();
    },
    400_000,
  );

  it('serves the same viewer the compose deployment does: Debian nginx with viewer/nginx.conf, app-config.js and the auth step', async () => {
    const nginx = await startComposeViewer();
    try {
      const page = await open(
        { url: nginx.url, close: async () => {} },
        autoTagged.series.studyInstanceUid,
      );
      const phase = page.locator('[data-testid=phaselens-phase]');
      await phase.waitFor({ timeout: 30_000 });
      expect(await phase.getAttribute('data-phase')).toBe(autoTagged.phase);
      await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-compose-nginx.png') });
      await page.close();
    } finally {
      await nginx.stop();
    }
  }, 120_000);

  /**
   * viewer/nginx.conf run natively as compose runs it in the nginx image: the compose host names
   * become this test's loopback ports, the image's folders temporary ones; viewer/40-phaselens-
   * auth.sh writes the proxy's credentials as the image's entrypoint does.
   */
  async function startComposeViewer(): Promise<{ url: string; stop: () => Promise<void> }> {
    if (!existsSync(NGINX)) throw new Error(`no nginx at ${NGINX}: apt-get install -y nginx-light`);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'phaselens-nginx-'));
    const html = path.join(dir, 'html');
    await fs.mkdir(html);
    for (const entry of await fs.readdir(OHIF_DIR))
      await fs.symlink(path.join(OHIF_DIR, entry), path.join(html, entry));
    await fs.symlink(EXTENSION_DIR, path.join(html, 'phaselens'));
    await fs.copyFile(path.join(ROOT, 'viewer', 'app-config.js'), path.join(html, 'app-config.js'));
    const auth = spawnSync('sh', [path.join(ROOT, 'viewer', '40-phaselens-auth.sh')], {
      env: {
        PATH: process.env.PATH,
        PHASELENS_AUTH_DIR: path.join(dir, 'auth'),
        ORTHANC_PASSWORD: orthanc.password,
        PHASELENS_API_TOKEN: TOKEN,
      },
      encoding: 'utf8',
    });
    expect(auth.status).toBe(0);
    const port = await freePort();
    const server = readFileSync(path.join(ROOT, 'viewer', 'nginx.conf'), 'utf8')
      .replaceAll('listen 80;', `listen 127.0.0.1:${port};`)
      .replace('http://orthanc:8042/', `${orthanc.url}/`)
      .replace('http://phaselens:3000/', `${service.url}/`)
      .replaceAll('/usr/share/nginx/html', html)
      .replaceAll('/etc/nginx/phaselens-auth', path.join(dir, 'auth'));
    await fs.writeFile(path.join(dir, 'server.conf'), server);
    await fs.writeFile(
      path.join(dir, 'nginx.conf'),
      [
        // The image's nginx runs its workers as a user that can read the files; here, as us.
        ...(process.getuid?.() === 0 ? ['user root;'] : []),
        `pid ${dir}/nginx.pid;`,
        `error_log ${dir}/error.log;`,
        'events {}',
        'http {',
        '  access_log off;',
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
          (t) => `  ${t}_temp_path ${dir}/${t}-temp;`,
        ),
        `  include ${dir}/server.conf;`,
        '}',
        '',
      ].join('\n'),
    );
    const child = spawn(
      NGINX,
      ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'],
      {
        stdio: 'ignore',
      },
    );
    const url = `http://127.0.0.1:${port}`;
    for (let waited = 0; ; waited += 100) {
      const up = await fetch(`${url}/app-config.js`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      if (waited > 10_000)
        throw new Error(
          `nginx did not start: ${readFileSync(path.join(dir, 'error.log'), 'utf8')}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
    return {
      url,
      stop: async () => {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
  }

  it('logged no console errors in any of it', () => {
    expect(consoleErrors).toEqual([]);
  });
});
