import { planSeriesUpdate } from './tree-state';

const patch = (name: string, sha = name.repeat(64).slice(0, 64)) => ({ name, sha256: sha });
const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => patch(name));

describe('planSeriesUpdate', () => {
  it('does nothing for an unchanged series', () => {
    expect(planSeriesUpdate([a, b, c], [a, b, c])).toEqual({ kept: 3, toRevert: [], toApply: [] });
  });

  it('only applies patches appended to the series', () => {
    expect(planSeriesUpdate([a, b], [a, b, c])).toEqual({ kept: 2, toRevert: [], toApply: [c] });
  });

  it('reverts from the last patch back to an edited one, then applies the rest again', () => {
    const edited = patch('b', 'e'.repeat(64));
    expect(planSeriesUpdate([a, b, c], [a, edited, c])).toEqual({ kept: 1, toRevert: [c, b], toApply: [edited, c] });
  });

  it('reverts the patches after one removed from the middle', () => {
    expect(planSeriesUpdate([a, b, c], [a, c])).toEqual({ kept: 1, toRevert: [c, b], toApply: [c] });
  });

  it('treats a renamed patch as a different one', () => {
    const renamed = { ...c, name: 'c2' };
    expect(planSeriesUpdate([a, b, c], [a, b, renamed])).toEqual({ kept: 2, toRevert: [c], toApply: [renamed] });
  });

  it('reverts everything when the first patch changed', () => {
    expect(planSeriesUpdate([a, b], [d])).toEqual({ kept: 0, toRevert: [b, a], toApply: [d] });
  });
});
