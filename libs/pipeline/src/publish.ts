import * as fs from 'fs';
import * as path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { computeInputHash, imageTags, KernelProject } from '@linuxkit-kernels/spec';
import { ARTIFACT_FILES, BuildMetadata, kernelArchProfile } from '@linuxkit-kernels/kbuild';
import { blobPath, extractImageFile, readImageLayout, replaceDirectoryAtomically } from '@linuxkit-kernels/oci';
import { createRegistryClient, findRemoteImage, pullImageToLayout, pushImageLayout, pushIndex, RegistryClient } from '@linuxkit-kernels/registry';
import { BUILDIMAGE_LABEL, readImageRecord, resolveStep, StepContext } from './steps';
import { WorkPaths } from './work-paths';

export const DEFAULT_ORG = 'linuxkit';
export const RELEASE_ANNOTATION = 'org.mobyproject.linuxkit.kernel.release';

/** Where images go: a --flag beats KERNEL_REGISTRY/KERNEL_ORG, which beat the plugin options in nx.json. */
export interface PublishOptions {
  registry?: string;
  org?: string;
  insecure?: boolean;
  /** false: push the arch's image by digest and under <ver>-<hash>-<arch> only; a later push-index joins the arches (CI fan-out). */
  index?: boolean;
  pluginRegistry?: string;
  pluginOrg?: string;
}

export interface PublishTarget {
  registry: string;
  org: string;
  insecure: boolean;
}

export function resolvePublishTarget(options: PublishOptions, env: NodeJS.ProcessEnv = process.env): PublishTarget | undefined {
  const registry = options.registry || env.KERNEL_REGISTRY || options.pluginRegistry;
  if (!registry) return undefined;
  const org = options.org || env.KERNEL_ORG || options.pluginOrg || DEFAULT_ORG;
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(org)) {
    throw new KernelBuildError(`organisation '${org}' is not a valid repository namespace`, 'use lower-case letters, digits and . _ - (e.g. --org=myorg)');
  }
  return { registry, org, insecure: options.insecure ?? env.KERNEL_REGISTRY_INSECURE === '1' };
}

/** LinuxKit's naming: every kernel of an org lives in <org>/kernel, told apart by tags. */
export function kernelRepository(target: PublishTarget): string {
  return `${target.org}/kernel`;
}

function clientFor(target: PublishTarget, log: (line: string) => void): RegistryClient {
  return createRegistryClient({ registry: target.registry, insecure: target.insecure, credentials: 'docker-config', log });
}

export async function pushStep(context: StepContext & PublishOptions): Promise<{ manifestDigest: string; uploadedBytes: number; upToDate: boolean }> {
  const { project, arch, paths } = resolveStep(context);
  const target = resolvePublishTarget(context, context.env);
  if (!target) {
    throw new KernelBuildError('no registry to push to', 'set KERNEL_REGISTRY=<host[:port]>, pass --registry=<host[:port]>, or set "registry" in the plugin options in nx.json');
  }
  const record = readImageRecord(paths);
  if (record.dirty) {
    throw new KernelBuildError(
      `${project.name} ${arch} was built from uncommitted inputs (tag ${record.tags[1]}): dirty images are never pushed`,
      'commit the changes under kernels/, libs/ and tools/, then run push again (it rebuilds with a clean tag)',
    );
  }
  const repository = kernelRepository(target);
  const client = clientFor(target, context.log);
  const [plainTag, hashedTag] = record.tags;
  const ociArch = kernelArchProfile(arch).ociArch;
  const remote = await findRemoteImage(client, repository, hashedTag, ociArch);
  const pushed = await pushImageLayout({ client, layoutDir: paths.layout, tag: hashedTag, repository });
  const upToDate = remote?.digest === record.manifestDigest && pushed.uploadedBytes === 0;
  const where = `${target.registry}/${repository}`;
  if (context.index === false) {
    const archTag = `${hashedTag}-${ociArch}`;
    await client.putManifest(repository, archTag, pushed.manifest.mediaType, fs.readFileSync(blobPath(paths.layout, record.manifestDigest)));
    context.log(`pushed ${where}:${archTag} (${record.manifestDigest}): ${pushed.uploadedBytes} bytes uploaded; run push-index to join the arches`);
    return { manifestDigest: record.manifestDigest, uploadedBytes: pushed.uploadedBytes, upToDate };
  }
  await pushIndex({ client, repository, tags: [hashedTag, plainTag], manifests: [pushed.manifest] });
  context.log(
    upToDate
      ? `${where}:${hashedTag} is up to date (${record.manifestDigest} for ${arch}): nothing uploaded`
      : `pushed ${where}:${hashedTag} and :${plainTag} for ${arch} (${record.manifestDigest}): ${pushed.uploadedBlobs} blob(s), ${pushed.uploadedBytes} bytes uploaded, ${pushed.skippedBlobs} already there`,
  );
  return { manifestDigest: record.manifestDigest, uploadedBytes: pushed.uploadedBytes, upToDate };
}

/**
 * The registry as a shared cache: when another machine already pushed <ver>-<hash> for this arch,
 * pull it and unpack its files as the compile step's artifacts instead of running make. The package
 * step then writes the same layout again, byte for byte, since packaging is deterministic.
 */
export async function fetchArtifactsFromRegistry(
  context: StepContext & PublishOptions,
  project: KernelProject,
  arch: string,
  paths: WorkPaths,
): Promise<BuildMetadata | undefined> {
  const target = resolvePublishTarget(context, context.env);
  if (!target) return undefined;
  const { hash, dirty } = await computeInputHash(context.workspaceRoot, project);
  if (dirty) return undefined; // dirty images are never pushed, so never found
  const { hashed } = imageTags(project, hash);
  const repository = kernelRepository(target);
  const client = clientFor(target, context.log);
  let pulled;
  try {
    pulled = await pullImageToLayout({ client, repository, reference: hashed, architecture: kernelArchProfile(arch).ociArch, layoutDir: path.join(paths.workRoot, 'pulled', project.name, arch), tags: [hashed] });
  } catch (error) {
    context.log(`registry cache: could not ask ${target.registry} for ${repository}:${hashed} (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); compiling instead`);
    return undefined;
  }
  if (!pulled) {
    context.log(`registry cache: ${target.registry}/${repository}:${hashed} has no ${arch} image yet; compiling`);
    return undefined;
  }
  const layout = await readImageLayout(pulled.layoutDir);
  const config = layout.manifests[0].config as { created?: string; config?: { Labels?: Record<string, string> } };
  const manifest = layout.manifests[0].manifest as { annotations?: Record<string, string> };
  const files = [ARTIFACT_FILES.kernel, ARTIFACT_FILES.modules, ARTIFACT_FILES.headers, ARTIFACT_FILES.dev, ARTIFACT_FILES.systemMap, ...(project.debug ? [ARTIFACT_FILES.vmlinux] : [])];
  const metadata: BuildMetadata = {
    release: manifest.annotations?.[RELEASE_ANNOTATION] ?? '',
    arch,
    builder: config.config?.Labels?.[BUILDIMAGE_LABEL] ?? '',
    mtime: config.created ? Math.floor(Date.parse(config.created) / 1000) : 0,
  };
  await replaceDirectoryAtomically(paths.artifacts, async (tmpOut) => {
    for (const file of files) await extractImageFile(pulled.layoutDir, hashed, file, path.join(tmpOut, file));
    fs.writeFileSync(path.join(tmpOut, ARTIFACT_FILES.metadata), `${JSON.stringify(metadata, null, 2)}\n`);
  });
  fs.rmSync(pulled.layoutDir, { recursive: true, force: true });
  context.log(`registry cache: pulled ${target.registry}/${repository}:${hashed} (${pulled.manifestDigest}, ${pulled.downloadedBytes} bytes) instead of compiling`);
  return metadata;
}

/**
 * The last CI job: joins the per-arch images pushed with --index=false (<ver>-<hash>-<arch>) into
 * the multi-arch index under <ver>-<hash> and <ver>, merged with what those tags already list.
 */
export async function pushIndexStep(context: StepContext & PublishOptions): Promise<{ platforms: string[] }> {
  const { project } = resolveStep(context);
  const target = resolvePublishTarget(context, context.env);
  if (!target) throw new KernelBuildError('no registry to push to', 'set KERNEL_REGISTRY=<host[:port]> or pass --registry');
  const { hash, dirty } = await computeInputHash(context.workspaceRoot, project);
  if (dirty) throw new KernelBuildError(`${project.name} has uncommitted inputs: its index would name a -dirty tag`, 'commit the changes first');
  const { plain, hashed } = imageTags(project, hash);
  const repository = kernelRepository(target);
  const client = clientFor(target, context.log);
  const manifests = [];
  for (const arch of project.arches) {
    const architecture = kernelArchProfile(arch).ociArch;
    const found = await client.getManifest(repository, `${hashed}-${architecture}`);
    if (!found) {
      throw new KernelBuildError(`${target.registry}/${repository}:${hashed}-${architecture} is missing`, `run \`nx run ${project.name}:push --arch=${arch} --index=false\` first (the ${arch} CI job)`);
    }
    manifests.push({ mediaType: found.mediaType, digest: found.digest, size: found.bytes.length, platform: { os: 'linux', architecture } });
  }
  const results = await pushIndex({ client, repository, tags: [hashed, plain], manifests });
  const platforms = results[0]?.platforms.map((platform) => platform.architecture) ?? [];
  context.log(`${target.registry}/${repository}:${hashed} and :${plain} list ${platforms.join(', ')}`);
  return { platforms };
}
