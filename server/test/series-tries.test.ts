import { InvalidInputError, ScratchSpaceError } from '../src/errors';
import { MAX_SERIES_TRIES, SeriesTries, sleep } from '../src/service/watch-common';

describe("the watchers' rule for a failing series", () => {
  it('passes a series over after MAX_SERIES_TRIES failures of its own, counted per series', () => {
    const tries = new SeriesTries();
    const bad = new InvalidInputError('broken pixel data');
    for (let i = 1; i < MAX_SERIES_TRIES; i++) {
      expect(tries.failed('a', bad, true)).toBe('retry');
      expect(tries.failed('b', bad, true)).toBe('retry');
    }
    expect(tries.failed('a', bad, true)).toBe(MAX_SERIES_TRIES);
    // Passed over: a later failure of the same series starts a fresh count.
    expect(tries.failed('a', bad, true)).toBe('retry');
    expect(tries.failed('b', bad, true)).toBe(MAX_SERIES_TRIES);
  });

  it('never counts a PACS that does not answer or a fault of the installation', () => {
    const tries = new SeriesTries();
    for (let i = 0; i < 3 * MAX_SERIES_TRIES; i++) {
      expect(tries.failed('a', new Error('socket hang up'), false)).toBe('retry');
      expect(tries.failed('a', new ScratchSpaceError('scratch folder is full'), true)).toBe(
        'retry',
      );
    }
    // None of those counted: the series still has all its own tries.
    for (let i = 1; i < MAX_SERIES_TRIES; i++)
      expect(tries.failed('a', new Error('x'), true)).toBe('retry');
    expect(tries.failed('a', new Error('x'), true)).toBe(MAX_SERIES_TRIES);
  });

  it('forgets the failures of a series once it is decided', () => {
    const tries = new SeriesTries();
    for (let i = 1; i < MAX_SERIES_TRIES; i++) tries.failed('a', new Error('x'), true);
    tries.decided('a');
    for (let i = 1; i < MAX_SERIES_TRIES; i++)
      expect(tries.failed('a', new Error('x'), true)).toBe('retry');
    expect(tries.failed('a', new Error('x'), true)).toBe(MAX_SERIES_TRIES);
  });
});

describe("the watchers' pause between polls", () => {
  it('leaves no abort listener behind, however many polls a watcher sleeps through', async () => {
    const controller = new AbortController();
    let listeners = 0;
    const add = controller.signal.addEventListener.bind(controller.signal);
    const remove = controller.signal.removeEventListener.bind(controller.signal);
    controller.signal.addEventListener = ((...a: Parameters<typeof add>) => {
      listeners++;
      add(...a);
    }) as typeof add;
    controller.signal.removeEventListener = ((...a: Parameters<typeof remove>) => {
      listeners--;
      remove(...a);
    }) as typeof remove;
    for (let i = 0; i < 50; i++) await sleep(0, controller.signal);
    expect(listeners).toBe(0);
    // An abort still ends a long wait at once.
    const started = Date.now();
    const wait = sleep(60_000, controller.signal);
    controller.abort();
    await wait;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(listeners).toBe(0);
  });
});
