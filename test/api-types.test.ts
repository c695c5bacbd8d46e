import { readFileSync } from 'node:fs';
import { API_TYPES_FILE, apiTypesSource } from '../scripts/api-types';

describe("the extension's API types", () => {
  it("are what the service's OpenAPI document generates (run `npx tsx scripts/api-types.ts` after changing it)", () => {
    expect(readFileSync(API_TYPES_FILE, 'utf8')).toBe(apiTypesSource());
  });
});
