import type { DisplaySet, PanelProps } from './types';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Brings series written to the PACS after the study was opened (the maps PhaseLens just stored)
 * into the viewer's study browser, and resolves with their display sets.
 */
export async function loadDerivedSeries(
  props: PanelProps,
  studyInstanceUid: string,
  seriesInstanceUids: string[],
  timeoutMs = 15000,
): Promise<DisplaySet[]> {
  const { displaySetService } = props.servicesManager.services;
  const present = (uid: string) => displaySetService.getDisplaySetsForSeries(uid)[0];
  const missing = seriesInstanceUids.filter((uid) => !present(uid));
  if (missing.length) {
    const [dataSource] = props.extensionManager.getActiveDataSource();
    // OHIF caches a study's metadata; drop the cache (3.13 keys it as "name:uid" but deletes by
    // uid, so try both) and read just the new series.
    const name = dataSource.getConfig?.()?.name;
    const forget = () => {
      dataSource.deleteStudyMetadataPromise?.(studyInstanceUid);
      if (name) dataSource.deleteStudyMetadataPromise?.(`${name}:${studyInstanceUid}`);
    };
    forget();
    try {
      await dataSource.retrieve.series.metadata({
        StudyInstanceUID: studyInstanceUid,
        filters: { seriesInstanceUID: missing },
      });
    } finally {
      forget();
    }
  }
  for (let waited = 0; ; waited += 100) {
    const sets = seriesInstanceUids.map(present);
    if (sets.every(Boolean)) return sets as DisplaySet[];
    if (waited >= timeoutMs)
      throw new Error('the new series are in the archive but the viewer did not load them');
    await sleep(100);
  }
}
