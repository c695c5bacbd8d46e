/** How each command is called: kept apart from the commands, so `phaselens --help` and a
 * command's dispatch load none of the others' dependencies (express, bullmq, tfjs). */
export const classifyUsage =
  'phaselens classify SOURCE [--json] [--model DIR] [--series UID] [--acquisition N]';
export const demoUsage = 'phaselens demo [--out DIR] [--phase PHASE]';
export const ensembleUsage =
  'phaselens ensemble --members DIR[,DIR...] --out MODEL_DIR [--version 2.0.0] [--cache DIR]';
export const evaluateUsage =
  'phaselens evaluate (--data DIR | --phantoms N [--seed S] [--matrix 256]) --out DIR [--model DIR]';
export const explainUsage =
  'phaselens explain SOURCE --out DIR [--maps cam,gradcam,saliency,guided,sam] [--layer L] [--target PHASE] [--stow DICOMWEB_ROOT] [--uint16] [--model DIR]';
export const infoUsage = 'phaselens info SOURCE [--series UID] [--acquisition N] [--json]';
export const phantomUsage =
  'phaselens phantom --out DIR [--cases N] [--seed S] [--matrix 512] [--preview]';
export const serveUsage =
  'phaselens serve   (configured by PHASELENS_* environment variables or PHASELENS_CONFIG=file.json)';
export const studyUsage =
  'phaselens study --out REPORT_DIR [--data DIR] [--phantoms 40] [--slices 6] [--seed 2] [--protocol 2] [--model DIR] [--report-only]';
export const trainUsage =
  'phaselens train (--data DIR | --phantoms N) --out MODEL_DIR [--epochs 8] [--seed 1] [--per-series 16] [--validation 0.1] [--schedule constant|cosine] [--patience 3] [--augment all|shape|scanner|none] [--no-augment] [--phantom-without gains,confounders,table,lumen,vascular-gains] [--dense-gain G] [--dense-from HU] [--cache DIR]';
export const watchUsage =
  'phaselens watch [--cursor FILE] | --qido [--state FILE] [--days 2]   (PHASELENS_PACS_URL, PHASELENS_ORTHANC_URL, PACS credentials, PHASELENS_WATCH_MAPS)';
export const workerUsage =
  'phaselens worker   (REDIS_URL, PHASELENS_PACS_URL and PACS credentials; PHASELENS_CONCURRENCY)';
