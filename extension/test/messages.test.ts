import { describeFailure } from '../src/messages';

describe('failures in words, from the service code where it sends one', () => {
  it('a stopping service is a restart, not an archive outage, though both are 503', () => {
    expect(describeFailure({ status: 503, code: 'stopping' })).toMatch(/restarting/);
    expect(describeFailure({ status: 503 })).toMatch(/image archive did not answer/);
  });

  it("the archive refusing the user's own account is said as such, not as a bad sign-in", () => {
    expect(describeFailure({ status: 401, code: 'pacs-auth' })).toMatch(
      /does not let your account/,
    );
    expect(describeFailure({ status: 401, code: 'auth-required' })).toMatch(
      /did not accept your sign-in/,
    );
  });
});
