import {
  InvalidInputError,
  PacsAuthError,
  PacsError,
  PacsTimeoutError,
  PacsUnreachableError,
  ScratchSpaceError,
  SeriesNotFoundError,
} from '../src/errors';
import { archiveAnswered, MAX_SERIES_TRIES, SeriesTries, sleep } from '../src/service/watch-common';

describe("the watchers' rule for a failing series", () => {
  it('counts a PACS as answering on an HTTP answer, not on silence, a 5xx, throttling or a refusal of its credentials', () => {
    expect(archiveAnswered(new SeriesNotFoundError('not found', 404))).toBe(true);
    expect(archiveAnswered(new PacsError('bad request', 400))).toBe(true);
    for (const status of [401, 403])
      expect(archiveAnswered(new PacsAuthError('refused', status))).toBe(false);
    for (const status of [408, 429, 500, 502, 503])
      expect(archiveAnswered(new PacsError('busy or broken', status))).toBe(false);
    expect(archiveAnswered(new PacsUnreachableError('unreachable'))).toBe(false);
    expect(archiveAnswered(new PacsTimeoutError('no answer within 30000 ms'))).toBe(false);
    expect(archiveAnswered(new Error('not a PACS error'))).toBe(false);
  });

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
