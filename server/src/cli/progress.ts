/**
 * Progress of long work on stderr: a one-line bar on a terminal; in a pipe or a log file, a
 * plain line at every tenth of the way (at most every few seconds), so a training run written
 * to a log shows how far it is without filling it. stdout stays clean for scripted use.
 */
export function progressBar(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): (done: number, total: number, detail?: string) => void {
  if (!stream.isTTY) {
    let lastTenth = -1;
    let lastAt = 0;
    return (done, total, detail) => {
      const tenth = Math.floor((done / total) * 10);
      const now = Date.now();
      if (done !== total && (tenth === lastTenth || now - lastAt < 2000)) return;
      lastTenth = tenth;
      lastAt = now;
      stream.write(`${label}: ${done}/${total}${detail ? ` ${detail}` : ''}\n`);
    };
  }
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
