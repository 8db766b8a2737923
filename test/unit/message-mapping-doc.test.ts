// docs/message-mapping.md is generated from the mapping table the conversion matrix test reads:
// this fails when someone edits one without the other (run `npm run docs:mapping`).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderMappingDoc } from '../../scripts/message-mapping.ts';

describe('docs/message-mapping.md', () => {
  it('is what adapters/message-mapping.ts says', () => {
    expect(readFileSync(new URL('../../docs/message-mapping.md', import.meta.url), 'utf8')).toBe(renderMappingDoc());
  });
});
