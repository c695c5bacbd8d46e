import {
  AnalysisCrashedError,
  errorRecord,
  OutOfScopeError,
  PacsAuthError,
  PacsError,
  RemoteError,
  reviveError,
  ScratchSpaceError,
  SeriesNotFoundError,
  SeriesTooLargeError,
} from '../src/errors';

describe('typed errors across a process boundary', () => {
  it('come back as their own class, with code, message, exit code and HTTP status', () => {
    const cases = [
      new PacsAuthError('the PACS refused the credentials', 401),
      new SeriesNotFoundError('series 1.2.3 is not in the PACS', 404),
      new OutOfScopeError('no abdomen on any slice'),
      new AnalysisCrashedError('the analysis stopped'),
      new ScratchSpaceError('the scratch folder is not usable (ENOENT)'),
      new SeriesTooLargeError('needs 900 MB of scratch space'),
    ];
    for (const original of cases) {
      // Structured clone, as the IPC channel carries it.
      const revived = reviveError(structuredClone(errorRecord(original)));
      expect(revived.constructor).toBe(original.constructor);
      expect([revived.code, revived.message, revived.exitCode]).toEqual([
        original.code,
        original.message,
        original.exitCode,
      ]);
      if (original instanceof PacsError)
        expect((revived as PacsError).status).toBe(original.status);
    }
  });

  it('an unknown kind keeps its code; a plain Error becomes internal', () => {
    const unknown = reviveError({ code: 'future-kind', message: 'something new', exitCode: 2 });
    expect(unknown).toBeInstanceOf(RemoteError);
    expect([unknown.code, unknown.exitCode]).toEqual(['future-kind', 2]);
    expect(errorRecord(new TypeError('x is undefined'))).toEqual({
      code: 'internal',
      message: 'x is undefined',
      exitCode: 1,
    });
  });
});
