import * as fs from 'fs';
import * as path from 'path';
import { createKernelWorkspace, REPO_ROOT, TempWorkspace } from './support/temp-workspace';

// Debian's own cloud kernel, downloaded with apt, repackaged into our image layout and booted by
// the same qemu test as our kernels.
const env = { KERNEL_WORK_DIR: process.env.KERNEL_WORK_DIR || path.join(REPO_ROOT, '.kbuild') };

describe('a repackaged distribution kernel', () => {
  let workspace: TempWorkspace;

  beforeAll(async () => {
    workspace = await createKernelWorkspace('distro', ['distro/debian-6.1-cloud']);
  });

  afterAll(() => workspace?.dispose());

  it('boots with its modules loadable by modprobe', async () => {
    const result = await workspace.nx(['run', 'distro-debian-6.1-cloud:test', '--outputStyle=stream'], { env });
    expect(result.all).toMatch(/booted 6\.1\.0-\d+-cloud-amd64 \(distro-debian-6\.1-cloud\) on x86_64; modules loaded: crc_itu_t, udf/);
    const bootLog = fs.readFileSync(path.join(workspace.root, 'dist/distro/debian-6.1-cloud/boot.log'), 'utf8');
    expect(bootLog).toMatch(/KTEST-MODPROBE udf ok/);
  });
});
