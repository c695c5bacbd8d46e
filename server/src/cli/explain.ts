import { explainUsage } from './usages';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseLayer, parseMethods, PAPER_METHODS } from '../attribution/index';
import { explainSeries } from '../attribution/explain-series';
import { deriveObjects, storeDerived, writeDerivedFolder } from '../derived/derive';
import { loadOutputSettings } from '../service/config';
import { DicomWebClient } from '../dicomweb/client';
import { mapPreview, previewSlices } from '../attribution/preview';
import { PHASES, type Phase } from '../domain/phase';
import { UsageError, parseArgs, stringFlag } from './args';
import { pacsAuthFromEnv } from './pacs-auth';
import { progressBar } from './progress';
import { modelAndSeries } from './source';
import { mapKey } from '../domain/attribution-map';

/** Classifies a series and writes its attribution maps as PNG previews (map over CT). */
export async function explain(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const args = parseArgs(argv, {
    values: ['out', 'maps', 'layer', 'target', 'model', 'series', 'acquisition', 'stow'],
    booleans: ['float', 'uint16'],
  });
  const [source, ...extra] = args.positional;
  const dir = stringFlag(args, 'out');
  if (!source || !dir || extra.length) throw new UsageError(`usage: ${explainUsage}`);
  const methods = parseMethods(stringFlag(args, 'maps') ?? PAPER_METHODS.join(','));
  if (methods.length === 0) throw new UsageError('--maps names no method');
  const layerName = stringFlag(args, 'layer');
  const layer = layerName ? parseLayer(layerName) : undefined;
  const targetName = stringFlag(args, 'target');
  if (targetName && !(PHASES as readonly string[]).includes(targetName))
    throw new UsageError(`--target must be one of ${PHASES.join(', ')}`);
  // Checked before any work, from the service's own sources (environment, PHASELENS_CONFIG).
  const output = loadOutputSettings();
  const { model, series } = await modelAndSeries(args, source);
  const { result, maps, slices, explainedBy } = await explainSeries(model, series, {
    methods,
    layer,
    target: targetName as Phase | undefined,
    onProgress: progressBar('computing maps'),
  });
  await fs.mkdir(dir, { recursive: true });
  const shown = previewSlices(slices);
  const written: string[] = [];
  for (const map of maps) {
    const name = `${mapKey(map)}.png`;
    await fs.writeFile(path.join(dir, name), mapPreview(series, map, result, shown));
    written.push(name);
  }
  await fs.writeFile(
    path.join(dir, 'result.json'),
    `${JSON.stringify({ seriesInstanceUid: series.seriesInstanceUid, ...result, mapsExplain: explainedBy }, null, 2)}\n`,
  );
  const call =
    result.phase === 'indeterminate'
      ? `indeterminate (leaning ${result.leading} ${result.confidence.toFixed(2)}): ${result.reason ?? ''}`
      : `${result.phase} (confidence ${result.confidence.toFixed(2)})`;
  // Which network the maps show matters when an ensemble's members disagree.
  const network = model.members?.length
    ? `; maps of ${explainedBy}, the member most for ${targetName ?? result.leading}`
    : '';
  const stow = stringFlag(args, 'stow');
  // Derived DICOM objects reference their source instances: a NIfTI source has none to name.
  if (series.source.kind === 'nifti') {
    if (stow) throw new UsageError('--stow needs a DICOM source; this series was read from NIfTI');
    out.write(
      `Phase: ${call}${network}\nWrote ${written.join(', ')} and result.json to ${dir} (no DICOM objects: the source is NIfTI, with no instances to reference)\n`,
    );
    return 0;
  }
  // DICOM objects: a Secondary Capture and a Parametric Map series per map, the phase report.
  const objects = deriveObjects(series, result, maps, {
    // PHASELENS_MAP_FORMAT (float32 unless set) unless --uint16; --float is kept for old scripts.
    ...output,
    format: args.flags.has('uint16') ? 'uint16' : output.format,
  });
  const files = await writeDerivedFolder(objects, path.join(dir, 'dicom'));
  let bytes = 0;
  for (const f of files) bytes += (await fs.stat(f)).size;
  if (stow) {
    const client = new DicomWebClient({ url: stow, auth: pacsAuthFromEnv() });
    const stored = await storeDerived(objects, client, progressBar('storing objects'));
    out.write(`Stored ${stored} objects in ${stow}\n`);
  }
  out.write(
    `Phase: ${call}${network}\nWrote ${written.join(', ')} and result.json to ${dir}, and ${files.length} DICOM objects (${(bytes / 2 ** 20).toFixed(1)} MB; fewer with --maps) to ${path.join(dir, 'dicom')}\n`,
  );
  return 0;
}
