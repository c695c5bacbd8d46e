/**
 * What several benchmarks share: the 100-slice 512x512 phantom they time and the curl peer that
 * fetches what reading a series over DICOMweb fetches. (The service they start is the tests'
 * `startTestService`.)
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { OrthancServer } from '../test/fixtures/orthanc';

/** The benchmarks' series: 100 slices of 512 x 512, 2.5 mm, abdomen and pelvis. */
export const BENCH_CASE = {
  matrix: 512,
  slices: 100,
  sliceThickness: 2.5,
  range: 'abdomen-pelvis',
} as const;

/**
 * curl arguments that fetch what PhaseLens reads of a series over DICOMweb (its instances and
 * metadata, then every frame), kept alive and `parallel` at a time, with the same Accept headers;
 * the curl config is written to `configFile`.
 */
export async function curlSeriesFetch(
  orthanc: OrthancServer,
  series: {
    studyInstanceUid: string;
    seriesInstanceUid: string;
    instances: readonly { sopInstanceUid: string }[];
  },
  configFile: string,
  parallel: number,
): Promise<string[]> {
  const seriesUrl = `${orthanc.dicomWeb}/studies/${series.studyInstanceUid}/series/${series.seriesInstanceUid}`;
  const user = `user = "${orthanc.username}:${orthanc.password}"\n`;
  const section = (accept: string, urls: string[]): string =>
    `${user}header = "Accept: ${accept.replace(/"/g, '\\"')}"\n` +
    urls.map((u) => `url = "${u}"\noutput = "/dev/null"\n`).join('');
  await fs.mkdir(path.dirname(configFile), { recursive: true });
  await fs.writeFile(
    configFile,
    section('application/dicom+json', [`${seriesUrl}/instances`, `${seriesUrl}/metadata`]) +
      'next\n' +
      section(
        'multipart/related; type="application/octet-stream"',
        series.instances.map((i) => `${seriesUrl}/instances/${i.sopInstanceUid}/frames/1`),
      ),
  );
  return ['-s', '--fail', '--parallel', '--parallel-max', String(parallel), '-K', configFile];
}
