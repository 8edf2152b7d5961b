import { redactSecrets } from './secret-redaction';

describe('redactSecrets', () => {
  it('replaces every occurrence, longest secret first', () => {
    expect(redactSecrets('token abcdef and abcd, again abcdef', ['abcd', 'abcdef'])).toBe('token *** and ***, again ***');
  });
  it('leaves text alone for secrets too short to be told from words', () => {
    expect(redactSecrets('a pull of org/a', ['a', ''])).toBe('a pull of org/a');
  });
});
