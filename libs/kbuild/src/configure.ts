import * as fs from 'fs';
import * as path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import {
  compareWithCommitted,
  explainDroppedOptions,
  findDroppedOptions,
  formatDiffconfig,
  formatDroppedReport,
  formatOverrides,
  mergeFragments,
  setOption,
} from '@linuxkit-kernels/kconfig';
import { kernelArchProfile } from './arch';
import { BuildIdentity, runMake } from './make';
import { Toolchain } from './toolchain';

export interface ConfigureRequest {
  srcDir: string;
  buildDir: string;
  toolchain: Toolchain;
  /** The committed full config (workspace-relative name for messages, and its text). */
  committed: { path: string; text: string };
  fragments: { path: string; text: string }[];
  localversion: string;
  /** Plain series: olddefconfig must leave the committed config unchanged. */
  fixedPoint: boolean;
  /** The command that rewrites the committed config, quoted in the drift error. */
  regenerateCommand: string;
  logFile: string;
  identity?: BuildIdentity;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** The config make starts from: full config, then fragments in order, then CONFIG_LOCALVERSION. */
export function composeConfig(request: Pick<ConfigureRequest, 'committed' | 'fragments' | 'localversion'>): { text: string; overrides: string[] } {
  const merged = mergeFragments(request.committed.text, request.fragments, request.committed.path);
  const overrides = formatOverrides(merged.overrides).split('\n').filter(Boolean);
  return { text: setOption(merged.text, 'LOCALVERSION', JSON.stringify(request.localversion)), overrides };
}

/**
 * Produces the final .config in the build dir with olddefconfig and checks it: a plain series'
 * committed config must be a fixed point, and every option a fragment asks for must survive.
 * Returns the final config text.
 */
export async function configureKernel(request: ConfigureRequest): Promise<string> {
  const composed = composeConfig(request);
  for (const line of composed.overrides) request.log?.(`  note: ${line}`);
  fs.mkdirSync(request.buildDir, { recursive: true });
  const configFile = path.join(request.buildDir, '.config');
  fs.writeFileSync(configFile, composed.text);
  await runMake({
    srcDir: request.srcDir,
    buildDir: request.buildDir,
    toolchain: request.toolchain,
    targets: ['olddefconfig'],
    jobs: 1,
    identity: request.identity,
    logFile: request.logFile,
    signal: request.signal,
  });
  const finalText = fs.readFileSync(configFile, 'utf8');

  if (request.fixedPoint) {
    const drift = compareWithCommitted(request.committed.text, finalText);
    const lines = formatDiffconfig(drift).split('\n').filter(Boolean);
    if (lines.length > 0) {
      throw new KernelBuildError(
        `${request.committed.path} is not a fixed point: olddefconfig changes ${lines.length} option(s)`,
        `regenerate it with \`${request.regenerateCommand}\` and commit the result`,
        lines.join('\n'),
      );
    }
  }

  const dropped = findDroppedOptions(finalText, request.fragments);
  if (dropped.length > 0) {
    const karch = kernelArchProfile(request.toolchain.arch).karch;
    const explained = await explainDroppedOptions(dropped, request.srcDir, karch, finalText);
    throw new KernelBuildError(
      `${dropped.length} option(s) asked for by fragments did not survive olddefconfig for ${request.toolchain.arch}`,
      'enable what each option depends on in the same fragment, or drop the option',
      formatDroppedReport(explained),
    );
  }
  return finalText;
}
