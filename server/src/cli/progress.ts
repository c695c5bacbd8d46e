/**
 * A one-line progress bar on a terminal (stderr); silent when stderr is a pipe or a file, so
 * scripted use stays clean.
 */
export function progressBar(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): (done: number, total: number) => void {
  if (!stream.isTTY) return () => undefined;
  let last = -1;
  return (done, total) => {
    const width = 30;
    const filled = Math.round((done / total) * width);
    if (filled === last && done !== total) return;
    last = filled;
    stream.write(
      `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`,
    );
    if (done === total) stream.write('\n');
  };
}
