import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';
import { createKernelWorkspace, REPO_ROOT, TempWorkspace } from './support/temp-workspace';

// Bad input through the real nx CLI: one clear message naming the culprit and the fix, a non-zero
// exit, and nothing half-written. Uses the shared work dir, so the source is extracted only once.
const env = { KERNEL_WORK_DIR: process.env.KERNEL_WORK_DIR || path.join(REPO_ROOT, '.kbuild') };

describe('bad input to the pipeline', () => {
  let workspace: TempWorkspace;

  beforeAll(async () => {
    workspace = await createKernelWorkspace('bad-input', ['kernels/6.12', 'kernels/6.12-virt']);
  });

  afterAll(() => workspace?.dispose());

  const failure = async (args: string[]) => {
    const result = await workspace.nx([...args, '--outputStyle=stream', '--skip-nx-cache'], { env, reject: false });
    expect(result.exitCode).not.toBe(0);
    return result.all ?? '';
  };

  const withFile = async (file: string, text: string, run: () => Promise<void>) => {
    const absolute = path.join(workspace.root, file);
    const before = fs.existsSync(absolute) ? fs.readFileSync(absolute, 'utf8') : undefined;
    workspace.write(file, text);
    try {
      await run();
    } finally {
      if (before === undefined) workspace.remove(file);
      else workspace.write(file, before);
    }
  };

  it('refuses an unknown arch, listing the known ones', async () => {
    expect(await failure(['run', 'kernel-6.12-virt:configure', '--arch=mips'])).toMatch(/unknown arch 'mips'[\s\S]*fix: use one of x86_64, aarch64, riscv64/);
  });

  it('refuses an arch the series does not build', async () => {
    expect(await failure(['run', 'kernel-6.12-virt:configure', '--arch=riscv64'])).toMatch(/kernel-6\.12-virt is not built for riscv64/);
  });

  it('names a patch that does not apply, with the file and hunk, and leaves the tree as it was', async () => {
    const patch = [
      'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001',
      'From: Test <test@example.invalid>',
      'Subject: [PATCH] broken',
      '',
      'A patch against a kernel that does not exist.',
      '',
      'Signed-off-by: Test <test@example.invalid>',
      '---',
      'diff --git a/init/main.c b/init/main.c',
      '--- a/init/main.c',
      '+++ b/init/main.c',
      '@@ -1,3 +1,3 @@',
      ' this line is not in init/main.c',
      '-neither is this one',
      '+so the hunk fails',
      ' at all',
      '',
    ].join('\n');
    await withFile('kernels/6.12-virt/patches/0001-broken.patch', patch, async () => {
      const output = await failure(['run', 'kernel-6.12-virt:patch', '--arch=x86_64']);
      expect(output).toMatch(/kernels\/6\.12-virt\/patches\/0001-broken\.patch does not apply: init\/main\.c hunk 1/);
      expect(output).toMatch(/fix: .*rebase/i);
    });
  });

  it('shows config drift as a diffconfig with the command that regenerates it', async () => {
    const file = 'kernels/6.12-virt/config-x86_64';
    const committed = fs.readFileSync(path.join(workspace.root, file), 'utf8');
    await withFile(file, committed.replace('CONFIG_VIRTIO_BLK=m', 'CONFIG_VIRTIO_BLK=m\nCONFIG_NOT_A_REAL_OPTION=y'), async () => {
      const output = await failure(['run', 'kernel-6.12-virt:configure', '--arch=x86_64']);
      expect(output).toMatch(/kernels\/6\.12-virt\/config-x86_64 is not a fixed point: olddefconfig changes 1 option/);
      expect(output).toMatch(/^(kernel-6\.12-virt: )?-NOT_A_REAL_OPTION y$/m);
      expect(output).toContain('nx run kernel-6.12-virt:sync-config --arch=x86_64');
    });
    expect(fs.existsSync(path.join(workspace.root, 'dist/kernels/6.12-virt/x86_64/config'))).toBe(false);
  });

  it('lists each fragment option that olddefconfig dropped, with what it depends on', async () => {
    workspace.write('kernels/6.12-virt-x/kernel.yaml', 'extends: 6.12-virt\nfragments: [config-x]\n');
    workspace.write('kernels/6.12-virt-x/config-x', 'CONFIG_CRC_ITU_T=y\nCONFIG_DRM_VIRTIO_GPU=y\nCONFIG_TYPO_OPTION=y\n');
    try {
      const output = await failure(['run', 'kernel-6.12-virt-x:configure', '--arch=x86_64']);
      expect(output).toMatch(/2 option\(s\) asked for by fragments did not survive olddefconfig for x86_64/);
      expect(output).toMatch(/kernels\/6\.12-virt-x\/config-x:2: CONFIG_DRM_VIRTIO_GPU=y was dropped.*depends on/);
      expect(output).toMatch(/kernels\/6\.12-virt-x\/config-x:3: CONFIG_TYPO_OPTION=y was dropped.*no such option/);
    } finally {
      workspace.remove('kernels/6.12-virt-x');
    }
  });

  it('refuses a tarball whose sha256 does not match and keeps nothing of it', async () => {
    const file = 'kernels/6.12/kernel.yaml';
    const text = fs.readFileSync(path.join(workspace.root, file), 'utf8').replace(/sha256: \w+/, `sha256: "${'0'.repeat(64)}"`);
    await withFile(file, text, async () => {
      const output = await failure(['run', 'kernel-6.12:fetch']);
      expect(output).toMatch(/sha256/);
      expect(output).toMatch(/0{64}/);
    });
    const store = path.join(env.KERNEL_WORK_DIR, 'store/sha256', '0'.repeat(64));
    expect(fs.existsSync(store)).toBe(false);
  });

  it('passes a crafted URL from kernel.yaml to no shell: the request carries it literally and nothing runs', async () => {
    const requested: string[] = [];
    const server = http.createServer((request, response) => {
      requested.push(request.url ?? '');
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const marker = path.join(workspace.root, 'pwned');
    const url = `http://127.0.0.1:${port}/$(touch\${IFS}${marker}-1);touch\${IFS}${marker}-2;'\`touch\${IFS}${marker}-3\`'/linux-6.12.118.tar.xz`;
    const yaml = ['version: 6.12.118', 'source:', '  kind: kernel.org', `  url: "${url}"`, `  sha256: "${'a'.repeat(64)}"`, 'arches: [x86_64]', ''].join('\n');
    try {
      workspace.write('kernels/6.99/config-x86_64', 'CONFIG_64BIT=y\n');
      await withFile('kernels/6.99/kernel.yaml', yaml, async () => {
        const output = await failure(['run', 'kernel-6.99:fetch']);
        expect(output).toMatch(/404/);
        expect(output).toContain(`127.0.0.1:${port}/$(touch`);
      });
    } finally {
      server.close();
      workspace.remove('kernels/6.99');
    }
    expect(requested.length).toBeGreaterThan(0);
    expect(requested[0]).toContain(`/$(touch$%7BIFS%7D${marker}-1);touch`);
    for (const n of [1, 2, 3]) expect(fs.existsSync(`${marker}-${n}`)).toBe(false);
  });
});
