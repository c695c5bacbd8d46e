/**
 * A one-line progress bar on a terminal (stderr); silent when stderr is a pipe or a file, so
 * scripted use stays clean.
 */
export function progressBar(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): (done: number, total: number, detail?: string) => void {
  if (!stream.isTTY) return () => undefined;
  let last = '';
  return (done, total, detail) => {
    const width = 30;
    const filled = Math.round((done / total) * width);
    const line = `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${detail ? ` ${detail}` : ''}`;
    if (line === last && done !== total) return;
    last = line;
    stream.write(`${line}\x1b[K`);
    if (done === total) stream.write('\n');
  };
}
