import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pruneWorkDir } from './prune';

const REPO = path.resolve(__dirname, '../../..');

describe('pruneWorkDir', () => {
  let root: string;
  const touch = (file: string) => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), 'x');
  };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'prune-'));
    fs.cpSync(path.join(REPO, 'kernels/6.12'), path.join(root, 'kernels/6.12'), { recursive: true });
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('removes what no project references and keeps what one does', async () => {
    const used = 'c93391b6a4884e6428ffbfbb8ce6340229ad28dc421e9f19bc081740b1ab34b2';
    const old = 'f'.repeat(64);
    for (const file of [`.kbuild/store/sha256/${used}`, `.kbuild/store/sha256/${old}`, `.kbuild/src/${used}/Makefile`, `.kbuild/src/${old}/Makefile`]) touch(file);
    for (const file of ['.kbuild/trees/kernel-6.12/Makefile', '.kbuild/trees/kernel-6.9/Makefile', '.kbuild/build/kernel-6.12/x86_64/.config', '.kbuild/build/kernel-6.9/x86_64/.config', '.kbuild/boot/x/kernel']) touch(file);
    const lines: string[] = [];
    await pruneWorkDir(root, { log: (line) => lines.push(line), env: {} });
    const exists = (file: string) => fs.existsSync(path.join(root, file));
    expect([`.kbuild/store/sha256/${used}`, `.kbuild/src/${used}`, '.kbuild/trees/kernel-6.12', '.kbuild/build/kernel-6.12'].filter(exists)).toHaveLength(4);
    expect([`.kbuild/store/sha256/${old}`, `.kbuild/src/${old}`, '.kbuild/trees/kernel-6.9', '.kbuild/build/kernel-6.9', '.kbuild/boot'].filter(exists)).toEqual([]);
    expect(lines.join('\n')).toMatch(/freed .* GiB/);
  });

  it('only lists on a dry run', async () => {
    touch('.kbuild/build/kernel-6.9/x86_64/.config');
    await pruneWorkDir(root, { dryRun: true, log: () => undefined, env: {} });
    expect(fs.existsSync(path.join(root, '.kbuild/build/kernel-6.9'))).toBe(true);
  });
});
