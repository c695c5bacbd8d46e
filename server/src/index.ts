export * from './errors';
export * from './series/types';
export { readSeries, type ReadSeriesOptions } from './series/read-series';
export { readDicomFolder } from './series/read-folder';
export { readNifti } from './series/read-nifti';
export { readDicomWebSeries, parseSeriesUrl } from './series/read-dicomweb';
export { DicomWebClient, type DicomWebClientOptions, type PacsAuth } from './dicomweb/client';
