import { PassThrough } from 'node:stream';
import { progressBar } from '../src/cli/progress';

function capture(tty: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream;
  stream.isTTY = tty;
  let text = '';
  (stream as unknown as PassThrough).on('data', (b: Buffer) => (text += b.toString()));
  return { stream, text: () => text };
}

describe('progress on stderr', () => {
  it('in a log file: whole lines, few of them, and always the last', () => {
    const { stream, text } = capture(false);
    const bar = progressBar('preparing series', stream);
    for (let i = 1; i <= 360; i++) bar(i, 360);
    expect(text()).toBe('preparing series: 1/360\npreparing series: 360/360\n');
  });

  it('on a terminal: one line redrawn in place', () => {
    const { stream, text } = capture(true);
    const bar = progressBar('training', stream);
    bar(1, 2);
    bar(2, 2);
    expect(text().split('\n')).toHaveLength(2);
    expect(text()).toContain('\rtraining [');
  });
});
