import { promises as fs } from 'fs';
import path from 'path';
import { Readable } from 'stream';
import { extractCpioStream } from './extract-package';
import { PackageRootRules } from './package-root-rules';
import { useTempDirs } from './testing/package-fixtures';

// These cover the cpio side of the .rpm path (what rpm2cpio hands on) with archives made by hand,
// since rpmbuild never writes a member like '../evil'.

interface NewcMember {
  name: string;
  mode: number;
  data?: string;
}

function newcArchive(members: NewcMember[], options: { trailer?: boolean } = {}): Buffer {
  const pad = (buffer: Buffer) => Buffer.concat([buffer, Buffer.alloc((4 - (buffer.length % 4)) % 4)]);
  const hex = (value: number) => value.toString(16).padStart(8, '0');
  const parts: Buffer[] = [];
  const all = options.trailer === false ? members : [...members, { name: 'TRAILER!!!', mode: 0 }];
  all.forEach((member, index) => {
    const data = Buffer.from(member.data ?? '');
    const name = Buffer.from(`${member.name}\0`);
    const fields = [index + 1, member.mode, 0, 0, 1, 1_700_000_000, data.length, 0, 0, 0, 0, name.length, 0];
    parts.push(pad(Buffer.concat([Buffer.from(`070701${fields.map(hex).join('')}`), name])), pad(data));
  });
  // rpm2cpio pads a complete archive to a 512-byte block; a truncated one just stops.
  return Buffer.concat([...parts, Buffer.alloc(options.trailer === false ? 0 : 512)]);
}

/** Hands the archive on in 7-byte pieces, so headers straddle chunk boundaries. */
function trickle(archive: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < archive.length; offset += 7) chunks.push(archive.subarray(offset, offset + 7));
  return Readable.from(chunks);
}

const FILE = 0o100644;
const DIRECTORY = 0o040755;
const SYMLINK = 0o120777;

describe('extractCpioStream', () => {
  const temp = useTempDirs();

  async function extract(members: NewcMember[], options?: { trailer?: boolean }) {
    const dir = await temp.make();
    const root = path.join(dir, 'root');
    await fs.mkdir(root);
    const rules = new PackageRootRules();
    const run = extractCpioStream(trickle(newcArchive(members, options)), root, (entry) => rules.check(entry, 'kernel-core'), 'kernel-core.rpm');
    return { dir, root, run };
  }

  it('unpacks files, directories and symlinks as stored, and lists them', async () => {
    const { root, run } = await extract([
      { name: './lib', mode: DIRECTORY },
      { name: './lib/modules/6.8.5-301.fc40.x86_64/kernel/fake.ko', mode: FILE, data: 'module' },
      { name: './lib/modules/6.8.5-301.fc40.x86_64/build', mode: SYMLINK, data: '/usr/src/kernels/6.8.5-301.fc40.x86_64' },
    ]);
    expect(await run).toEqual([
      { path: 'lib', type: 'directory' },
      { path: 'lib/modules/6.8.5-301.fc40.x86_64/kernel/fake.ko', type: 'file' },
      { path: 'lib/modules/6.8.5-301.fc40.x86_64/build', type: 'symlink' },
    ]);
    expect(await fs.readFile(path.join(root, 'lib/modules/6.8.5-301.fc40.x86_64/kernel/fake.ko'), 'utf8')).toBe('module');
    expect(await fs.readlink(path.join(root, 'lib/modules/6.8.5-301.fc40.x86_64/build'))).toBe('/usr/src/kernels/6.8.5-301.fc40.x86_64');
  });

  it("refuses a '..' member before cpio sees it", async () => {
    const { dir, run } = await extract([
      { name: './ok', mode: FILE, data: 'fine' },
      { name: './../evil', mode: FILE, data: 'escaped' },
    ]);
    await expect(run).rejects.toThrow("kernel-core.rpm: refused member './../evil': has a '..' component");
    expect(await fs.readdir(dir)).toEqual(['root']);
  });

  it('refuses a member below a symlink the archive made', async () => {
    const outside = await temp.make();
    const { run } = await extract([
      { name: './etc', mode: SYMLINK, data: outside },
      { name: './etc/passwd', mode: FILE, data: 'root::0:0::/:/bin/sh' },
    ]);
    await expect(run).rejects.toThrow(/refused member '\.\/etc\/passwd': is below the symlink etc/);
    expect(await fs.readdir(outside)).toEqual([]);
  });

  it('refuses absolute names and device nodes', async () => {
    await expect((await extract([{ name: '/etc/shadow', mode: FILE }])).run).rejects.toThrow(/'\/etc\/shadow': has an absolute path/);
    await expect((await extract([{ name: './dev/sda', mode: 0o060660 }])).run).rejects.toThrow(/'\.\/dev\/sda': is a device node or FIFO/);
  });

  it('refuses an archive that is not newc, or ends before its trailer', async () => {
    const dir = await temp.make();
    await expect(extractCpioStream(Readable.from([Buffer.from('070707'.padEnd(120, '0'))]), dir, () => undefined, 'old.rpm')).rejects.toThrow(
      'old.rpm: cannot unpack (not a newc cpio archive (member header starts with "070707"))',
    );
    await expect((await extract([{ name: './a', mode: FILE, data: 'a' }], { trailer: false })).run).rejects.toThrow(/truncated payload/);
  });
});
