import { parseRpmIdentity } from './rpm-header';

type Tag = [tag: number, value: string | number];

/** A header structure: magic, index entries (tag, type, offset, count), then the data store. */
function header(tags: Tag[]): Buffer {
  const store: Buffer[] = [];
  let size = 0;
  const index = tags.map(([tag, value]) => {
    const entry = Buffer.alloc(16);
    const data = typeof value === 'string' ? Buffer.from(`${value}\0`) : Buffer.alloc(4);
    if (typeof value === 'number') data.writeUInt32BE(value);
    if (typeof value === 'number' && size % 4) {
      store.push(Buffer.alloc(4 - (size % 4)));
      size += 4 - (size % 4);
    }
    entry.writeUInt32BE(tag, 0);
    entry.writeUInt32BE(typeof value === 'string' ? 6 : 4, 4);
    entry.writeUInt32BE(size, 8);
    entry.writeUInt32BE(1, 12);
    store.push(data);
    size += data.length;
    return entry;
  });
  const intro = Buffer.from([0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  intro.writeUInt32BE(tags.length, 8);
  intro.writeUInt32BE(size, 12);
  return Buffer.concat([intro, ...index, ...store]);
}

function rpm(tags: Tag[], type = 0): Buffer {
  const lead = Buffer.alloc(96);
  Buffer.from([0xed, 0xab, 0xee, 0xdb, 3, 0]).copy(lead);
  lead.writeUInt16BE(type, 6);
  const signature = header([[1000, 12345]]);
  const padding = Buffer.alloc((8 - ((96 + signature.length) % 8)) % 8);
  return Buffer.concat([lead, signature, padding, header(tags)]);
}

describe('parseRpmIdentity', () => {
  it('reads name, version-release and arch from the main header, past the padded signature', () => {
    const bytes = rpm([[1000, 'kernel-core'], [1001, '6.8.5'], [1002, '301.fc40'], [1022, 'x86_64']]);
    expect(parseRpmIdentity(bytes)).toEqual({ name: 'kernel-core', version: '6.8.5-301.fc40', arch: 'x86_64' });
  });

  it('puts a non-zero epoch in front, as rpm -q does', () => {
    const bytes = rpm([[1000, 'kernel'], [1001, '5.14.0'], [1002, '427.el9'], [1003, 1], [1022, 'aarch64']]);
    expect(parseRpmIdentity(bytes).version).toBe('1:5.14.0-427.el9');
  });

  it('refuses source rpms, truncated headers and headers without a name', () => {
    const tags: Tag[] = [[1000, 'kernel'], [1001, '6.8.5'], [1002, '1'], [1022, 'x86_64']];
    expect(() => parseRpmIdentity(rpm(tags, 1))).toThrow('it is a source rpm, not a binary package');
    expect(() => parseRpmIdentity(rpm(tags).subarray(0, 150))).toThrow('the rpm header is truncated');
    expect(() => parseRpmIdentity(rpm(tags.slice(1)))).toThrow('the rpm header has no name, version, release or arch');
    expect(() => parseRpmIdentity(Buffer.from('not an rpm at all, just text padding it out to a lead size...................................'))).toThrow('no rpm lead');
  });
});
