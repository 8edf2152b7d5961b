import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import execa from 'execa';
import { outputNames, runKconfigCli } from './kconfig-cli';

const REPO = path.resolve(__dirname, '../..');

describe('kconfig CLI', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kconfig-cli-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('splits the real shipped configs of two arches into common and per-arch options, into a nested output dir', () => {
    const lines: string[] = [];
    const out = path.join(dir, 'out/nested');
    runKconfigCli(['split', '--out', out, path.join(REPO, 'kernels/6.12/config-x86_64'), path.join(REPO, 'kernels/6.12/config-aarch64')], (text) => lines.push(text));
    const common = fs.readFileSync(path.join(out, 'common'), 'utf8');
    const x86 = fs.readFileSync(path.join(out, 'config-x86_64'), 'utf8');
    const arm = fs.readFileSync(path.join(out, 'config-aarch64'), 'utf8');
    expect(common).toContain('CONFIG_OVERLAY_FS=y\n');
    expect(x86).toContain('CONFIG_X86_64=y\n');
    expect(arm).toContain('CONFIG_ARM64=y\n');
    expect(common).not.toContain('CONFIG_X86_64');
    const symbols = common.split('\n').filter(Boolean).map((line) => line.replace(/^# /, '').split(/[= ]/)[0]);
    expect(symbols).toEqual([...symbols].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(lines.join('')).toMatch(/common: \d+ options/);
  });

  it('writes "is not set" for n', () => {
    fs.writeFileSync(path.join(dir, 'a'), 'CONFIG_A=y\n# CONFIG_B is not set\n');
    fs.writeFileSync(path.join(dir, 'b'), 'CONFIG_A=y\nCONFIG_B=n\nCONFIG_C=m\n');
    runKconfigCli(['split', `--out=${dir}/o`, path.join(dir, 'a'), path.join(dir, 'b')], () => undefined);
    expect(fs.readFileSync(path.join(dir, 'o/common'), 'utf8')).toBe('CONFIG_A=y\n# CONFIG_B is not set\n');
    expect(fs.readFileSync(path.join(dir, 'o/b'), 'utf8')).toBe('CONFIG_C=m\n');
  });

  it('names inputs with the same basename by their directory', () => {
    expect(outputNames(['kernels/6.1/config-x86_64', 'kernels/6.12/config-x86_64'])).toEqual(['6.1-config-x86_64', '6.12-config-x86_64']);
  });

  it('prints a diffconfig between two configs', () => {
    fs.writeFileSync(path.join(dir, 'old'), 'CONFIG_A=y\nCONFIG_B=m\n');
    fs.writeFileSync(path.join(dir, 'new'), 'CONFIG_B=y\nCONFIG_C=y\n');
    let text = '';
    runKconfigCli(['diff', path.join(dir, 'old'), path.join(dir, 'new')], (chunk) => (text += chunk));
    expect(text).toBe('-A y\n B m -> y\n+C y\n');
  });

  it('runs as a command and exits non-zero naming a missing file', async () => {
    const result = await execa('npm', ['run', '--silent', 'kconfig', '--', 'diff', 'nope', 'kernels/6.12/config-x86_64'], { cwd: REPO, reject: false });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain('kconfig: nope: no such config file');
  });
});
