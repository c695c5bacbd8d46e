import { OutOfScopeError } from '../src/errors';
import { JobQueue, RETAINED_JOBS, type RunAnalysis } from '../src/service/jobs';

const request = (n: number) => ({
  studyInstanceUid: '1.2.3',
  seriesInstanceUid: `1.2.3.${n}`,
  maps: [],
  writeBack: false,
});

describe('the in-process job queue', () => {
  it("keeps a failure's kind, not only its message", async () => {
    const run: RunAnalysis = async () => {
      throw new OutOfScopeError('out of scope: no abdomen');
    };
    const queue = new JobQueue(run, { concurrency: 1, size: 10, modelVersion: '2.0.0' });
    const { id } = await queue.submit(request(1));
    await queue.idle();
    const view = await queue.view(id);
    expect(view).toMatchObject({
      state: 'failed',
      error: 'out of scope: no abdomen',
      errorCode: 'out-of-scope',
    });
  });

  it(`forgets the oldest finished jobs beyond ${RETAINED_JOBS}`, async () => {
    const run: RunAnalysis = async () => {
      throw new Error('nothing to do');
    };
    const queue = new JobQueue(run, { concurrency: 4, size: 100, modelVersion: '2.0.0' });
    const ids: string[] = [];
    for (let n = 0; n < RETAINED_JOBS + 20; n++) {
      ids.push((await queue.submit(request(n))).id);
      if (n % 50 === 49) await queue.idle();
    }
    await queue.idle();
    expect(await queue.view(ids[0])).toBeUndefined();
    expect(await queue.view(ids[ids.length - 1])).toMatchObject({ errorCode: 'internal' });
    let kept = 0;
    for (const id of ids) if (await queue.view(id)) kept++;
    expect(kept).toBe(RETAINED_JOBS);
  });
});
