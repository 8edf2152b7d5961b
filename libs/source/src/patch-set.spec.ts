import { parseQuiltSeries } from './patch-set';

describe('parseQuiltSeries', () => {
  it('keeps the series order and drops comments, blank lines, quilt options and excluded patches', () => {
    const series = '# RT patches\n0001-a.patch\n\n0002-b.patch -p1\n# 0003-c.patch\n0004-d.patch # trailing comment\n';
    expect(parseQuiltSeries(series, ['0002-b.patch'])).toEqual(['0001-a.patch', '0004-d.patch']);
  });
});
