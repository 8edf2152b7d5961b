import { canonicalJson } from './canonical-json';

describe('canonicalJson', () => {
  it('gives the same bytes whatever order the keys were added in, at every depth', () => {
    const a = { b: 1, a: { z: [3, { y: 1, x: 2 }], m: 'm' } };
    const b = { a: { m: 'm', z: [3, { x: 2, y: 1 }] }, b: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"a":{"m":"m","z":[3,{"x":2,"y":1}]},"b":1}');
  });

  it('keeps array order, since it is meaningful (layers, diff_ids)', () => {
    expect(canonicalJson(['b', 'a'])).toBe('["b","a"]');
  });

  it('drops undefined members instead of writing null', () => {
    expect(canonicalJson({ a: undefined, b: null, c: 'x' })).toBe('{"b":null,"c":"x"}');
  });
});
