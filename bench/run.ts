/*
 * The benchmark harness (npm run bench): measures, in one run and side by side, what the Nx pipeline
 * adds on top of the compiler and what it saves. Prints a table of ratios with the raw medians and
 * writes bench/results.json. Not part of npm test: a run takes tens of minutes on 2 cores.
 *
 *   npm run bench -- [--series 6.12-virt] [--arch x86_64] [--samples 3]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import execa from 'execa';
import { benchmarkGzipFile } from '@linuxkit-kernels/oci';
import { createTempWorkspace, REPO_ROOT, TempWorkspace } from '../e2e/support/temp-workspace';

interface Options {
  series: string;
  arch: string;
  samples: number;
}

interface Row {
  name: string;
  ours: number;
  reference: number;
  unit: 's' | 'count';
  ratio: number;
  target: string;
  met: boolean;
  note: string;
}

function parseOptions(argv: string[]): Options {
  const value = (flag: string, fallback: string) => {
    const index = argv.indexOf(flag);
    return index >= 0 && argv[index + 1] ? argv[index + 1] : fallback;
  };
  return { series: value('--series', '6.12-virt'), arch: value('--arch', 'x86_64'), samples: Number(value('--samples', '3')) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function seconds(run: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** The same work as `build`, by hand: extract, patch, config, make, install, tar. */
async function plainScriptBuild(workspace: TempWorkspace, options: Options, workDir: string, tarball: string, env: NodeJS.ProcessEnv): Promise<void> {
  const karch = options.arch === 'aarch64' ? 'arm64' : 'x86';
  const cross = options.arch === 'aarch64' && process.arch !== 'arm64' ? 'aarch64-linux-gnu-' : '';
  const image = options.arch === 'aarch64' ? 'arch/arm64/boot/Image.gz' : 'arch/x86/boot/bzImage';
  const patchDirs = [`kernels/${options.series}/patches`, `kernels/${options.series.split('-')[0]}/patches`].filter(
    (dir, index, all) => all.indexOf(dir) === index && fs.existsSync(path.join(workspace.root, dir)),
  );
  const script = `
set -euo pipefail
rm -rf "$W" && mkdir -p "$W/src" "$W/out" "$W/stage"
tar -xf "$TARBALL" -C "$W/src" --strip-components=1
cd "$W/src"
for dir in ${patchDirs.map((dir) => `"${path.join(workspace.root, dir)}"`).join(' ')}; do
  for p in "$dir"/*.patch; do [ -e "$p" ] && patch -p1 -F0 -N -s < "$p"; done
done
cp "${path.join(workspace.root, `kernels/${options.series}/config-${options.arch}`)}" "$W/out/.config"
make -s O="$W/out" ARCH=${karch} CROSS_COMPILE=${cross} olddefconfig
make -s O="$W/out" ARCH=${karch} CROSS_COMPILE=${cross} -j${os.cpus().length} all
make -s O="$W/out" ARCH=${karch} CROSS_COMPILE=${cross} INSTALL_MOD_PATH="$W/stage/mods" modules_install
make -s O="$W/out" ARCH=${karch} CROSS_COMPILE=${cross} INSTALL_HDR_PATH="$W/stage/hdr/usr" headers_install
rel=$(cat "$W/out/include/config/kernel.release")
(cd "$W/out" && srctree="$W/src" SRCARCH=${karch} CC=gcc HOSTCC=gcc sh "$W/src/scripts/package/install-extmod-build" "$W/stage/dev/usr/src/linux-headers-$rel")
cp "$W/out/${image}" "$W/stage/kernel"
cp "$W/out/System.map" "$W/stage/System.map"
tar -C "$W/stage/mods" -cf "$W/stage/kernel.tar" lib
tar -C "$W/stage/hdr" -cf "$W/stage/kernel-headers.tar" usr
tar -C "$W/stage/dev" -cf "$W/stage/kernel-dev.tar" usr
tar -C "$W/stage" -cf - kernel kernel.tar kernel-headers.tar kernel-dev.tar System.map | gzip -6 > "$W/layer.tar.gz"
`;
  await execa('bash', ['-c', script], { env: { ...process.env, ...env, W: workDir, TARBALL: tarball }, stdio: 'inherit' });
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const project = `kernel-${options.series}`;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-bench-'));
  const workDir = path.join(scratch, 'kbuild');
  // The download is not what we measure: reuse the repository's store. ccache off for the cold runs.
  const sharedStore = path.join(process.env.KERNEL_WORK_DIR || path.join(REPO_ROOT, '.kbuild'), 'store');
  const cold = { KERNEL_WORK_DIR: workDir, KERNEL_STORE: sharedStore, CCACHE_DISABLE: '1' };
  const warm = { KERNEL_WORK_DIR: workDir, KERNEL_STORE: sharedStore };
  const workspace = await createTempWorkspace('bench');
  for (const dir of fs.readdirSync(path.join(REPO_ROOT, 'kernels'))) if (dir !== 'common') workspace.copyKernel(dir);
  await workspace.commitAll('bench');
  const nx = (args: string[], env: NodeJS.ProcessEnv) => workspace.nx([...args, '--outputStyle=stream'], { env });
  const rows: Row[] = [];
  const raw: Record<string, number[]> = {};
  const memory: Record<string, number> = {};
  const add = (row: Omit<Row, 'ratio' | 'met'> & { max: number }) => {
    const ratio = row.unit === 'count' ? row.ours : row.ours / row.reference;
    rows.push({ name: row.name, ours: row.ours, reference: row.reference, unit: row.unit, ratio, target: row.target, met: ratio <= row.max, note: row.note });
  };

  try {
    log(`fetching ${project} into the shared store`);
    await nx(['run', `${project}:fetch`, `--arch=${options.arch}`], warm);
    const tarball = (await nx(['run', `${project}:fetch`, `--arch=${options.arch}`], warm)).all?.match(/in store: (\S+)/)?.[1];
    if (!tarball) throw new Error('could not find the tarball path in the fetch output');

    raw.coldNx = [];
    raw.coldPlain = [];
    for (let sample = 0; sample < options.samples; sample++) {
      log(`cold nx build ${sample + 1}/${options.samples}`);
      fs.rmSync(workDir, { recursive: true, force: true });
      fs.rmSync(path.join(workspace.root, 'dist'), { recursive: true, force: true });
      raw.coldNx.push(await seconds(() => nx(['run', `${project}:build`, `--arch=${options.arch}`, '--skip-nx-cache'], cold)));
      log(`cold plain-script build ${sample + 1}/${options.samples}`);
      raw.coldPlain.push(await seconds(() => plainScriptBuild(workspace, options, path.join(scratch, 'plain'), tarball, { CCACHE_DISABLE: '1' })));
      fs.rmSync(path.join(scratch, 'plain'), { recursive: true, force: true });
    }
    add({ name: 'cold build: nx vs the same work by hand', ours: median(raw.coldNx), reference: median(raw.coldPlain), unit: 's', target: '≤ 1.03', max: 1.03, note: 'ccache off for both; same -j; download excluded' });

    log('no-op builds');
    raw.noop = [];
    for (let sample = 0; sample < Math.max(5, options.samples); sample++) raw.noop.push(await seconds(() => nx(['run', `${project}:build`, `--arch=${options.arch}`], warm)));
    add({ name: 'no-op build (all cached), wall seconds', ours: median(raw.noop), reference: 2, unit: 's', target: '≤ 2 s', max: 1, note: 'ratio = seconds / 2' });

    log('one-line patch change');
    raw.patchChange = [];
    const patchDir = path.join(workspace.root, 'kernels/6.12/patches');
    const patchFile = path.join(patchDir, fs.readdirSync(patchDir).filter((name) => name.endsWith('.patch'))[0]);
    const original = fs.readFileSync(patchFile, 'utf8');
    for (let sample = 0; sample < options.samples; sample++) {
      fs.writeFileSync(patchFile, original.replace('Nx pipeline\\n', `Nx pipeline (${sample})\\n`));
      raw.patchChange.push(await seconds(() => nx(['run', `${project}:build`, `--arch=${options.arch}`], warm)));
    }
    fs.writeFileSync(patchFile, original);
    add({ name: 'one-line patch change, then build, vs cold', ours: median(raw.patchChange), reference: median(raw.coldNx), unit: 's', target: '≤ 0.20', max: 0.2, note: 'kept O= dir, tree updated in place, ccache on' });

    log('packaging: parallel gzip vs single-threaded');
    const modulesTar = path.join(workspace.root, `dist/kernels/${options.series}/${options.arch}/artifacts/kernel-dev.tar`);
    const gzip = await benchmarkGzipFile(modulesTar);
    raw.gzipParallel = [gzip.parallel.milliseconds / 1000];
    raw.gzipSingle = [gzip.singleStream.milliseconds / 1000];
    add({ name: `package compression (${(gzip.inputSize / 1e6).toFixed(0)} MB kernel-dev.tar): parallel vs single gzip`, ours: raw.gzipParallel[0], reference: raw.gzipSingle[0], unit: 's', target: '≤ 0.6', max: 0.6, note: `${os.cpus().length} cores, level 6` });

    log('peak memory of package and disk use');
    const timed = await execa('/usr/bin/time', ['-f', '%M', path.join(REPO_ROOT, 'node_modules/.bin/nx'), 'run', `${project}:package`, `--arch=${options.arch}`, '--skip-nx-cache', '--outputStyle=stream'], {
      cwd: workspace.root,
      env: { ...process.env, ...warm, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
      all: true,
    });
    const peakKiB = Number.parseInt(timed.stderr.trim().split('\n').pop() ?? '0', 10);
    const du = async (dir: string) => Number.parseInt((await execa('du', ['-sb', dir], { reject: false })).stdout.split('\t')[0], 10) || 0;
    memory.packagePeakRssMiB = peakKiB / 1024;
    for (const dir of ['src', 'trees', 'build']) memory[`${dir}MiB`] = (await du(path.join(workDir, dir))) / 2 ** 20;
    memory.storeMiB = (await du(sharedStore)) / 2 ** 20;
    memory.layerInputMiB = (await du(path.join(workspace.root, `dist/kernels/${options.series}/${options.arch}/artifacts`))) / 2 ** 20;

    log('affected after changing one series');
    workspace.write(`kernels/${options.series}/README`, 'touched\n');
    const graphFile = path.join(scratch, 'tasks.json');
    await workspace.nx(['affected', '-t', 'compile', `--files=kernels/${options.series}/README`, `--graph=${graphFile}`], { env: warm });
    const compiles = Object.keys(JSON.parse(fs.readFileSync(graphFile, 'utf8')).tasks.tasks).filter((id) => id.endsWith(':compile'));
    const variants = fs.readdirSync(path.join(workspace.root, 'kernels')).filter((dir) => {
      const yaml = path.join(workspace.root, 'kernels', dir, 'kernel.yaml');
      return fs.existsSync(yaml) && new RegExp(`^extends: "?${options.series.replace('.', '\\.')}"?$`, 'm').test(fs.readFileSync(yaml, 'utf8'));
    });
    add({ name: `nx affected -t compile after changing kernels/${options.series}`, ours: compiles.length, reference: 1 + variants.length, unit: 'count', target: `= 1 + ${variants.length} variant(s)`, max: 1 + variants.length, note: compiles.join(', ') });
  } finally {
    workspace.dispose();
    fs.rmSync(scratch, { recursive: true, force: true });
  }

  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}`;
  const result = { date: new Date().toISOString(), machine, options, rows, raw, memory };
  fs.writeFileSync(path.join(REPO_ROOT, 'bench/results.json'), `${JSON.stringify(result, null, 2)}\n`);
  const table = [
    `| measurement | ours | reference | ratio | target | met |`,
    `| --- | --- | --- | --- | --- | --- |`,
    ...rows.map((row) => `| ${row.name} | ${row.ours.toFixed(row.unit === 'count' ? 0 : 2)}${row.unit === 's' ? ' s' : ''} | ${row.reference.toFixed(row.unit === 'count' ? 0 : 2)}${row.unit === 's' ? ' s' : ''} | ${row.ratio.toFixed(2)} | ${row.target} | ${row.met ? 'yes' : 'no'} |`),
  ].join('\n');
  const footprint = Object.entries(memory).map(([name, value]) => `${name}=${value.toFixed(1)}`).join(', ');
  process.stdout.write(`${table}\n\nmemory and disk (MiB): ${footprint}\nmachine: ${machine}\n`);
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
