import { createHash } from 'crypto';
import { createReadStream, createWriteStream, promises as fs } from 'fs';
import { Readable, Transform } from 'stream';
import { pipeline } from 'stream/promises';
import type { ReadableStream as WebReadableStream } from 'stream/web';
import { KernelBuildError, isKernelBuildError } from '@linuxkit-kernels/errors';
import { Sha256Digest, isSha256Digest, sha256Digest } from '@linuxkit-kernels/oci';
import { RegistryCredentials, resolveDockerConfigPath } from './docker-config';
import { discardBody, readBodyBytes, readBodyText } from './http-body';
import { checkManifestReference, checkRepository } from './image-reference';
import { ANY_MANIFEST_MEDIA_TYPES, bareMediaType } from './manifest-document';
import { AccessNeed, RegistryAuthenticator } from './registry-auth';
import { resolveRegistryEndpoint } from './registry-endpoint';
import { describeRegistryResponse, parseRegistryErrors } from './registry-error-body';
import { RegistryRequest, RegistryTransport } from './registry-transport';
import { RetryPolicy, TransientRegistryFailure, withRetries } from './retry-policy';
import { redactSecrets } from './secret-redaction';

export interface RegistryClientOptions {
  /** host[:port] (`ghcr.io`, `127.0.0.1:5001`, `docker.io`); an explicit `https://` or `http://` is honoured. */
  registry: string;
  /** Allow plain http to a host that is not loopback (loopback hosts always get http). */
  insecure?: boolean;
  /** Explicit credentials, or `'docker-config'` to read what `docker login` stored; none by default. */
  credentials?: RegistryCredentials | 'docker-config';
  /** The docker config file; default `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. */
  dockerConfigPath?: string;
  /** Retries after a connection error or a 5xx, with exponential backoff; default 4. */
  retries?: number;
  /** The first backoff wait; default 500 ms, doubling each retry. */
  retryDelayMs?: number;
  /** Blobs up to this size go in one PUT; bigger ones in PATCH chunks of this size. Default 16 MiB. */
  uploadChunkBytes?: number;
  /** Progress lines (uploads, mounts, retries); never carries a secret. */
  log?: (line: string) => void;
  fetchImpl?: typeof fetch;
}

export interface BlobToUpload {
  digest: string;
  size: number;
  /** Where the blob's bytes are on disk; they are streamed, never read whole. */
  file: string;
}

export interface BlobUploadResult {
  /** Bytes sent: 0 when the blob was mounted from another repository. */
  uploadedBytes: number;
  /** The repository the registry mounted the blob from, if it did. */
  mountedFrom?: string;
}

export interface RemoteManifest {
  mediaType: string;
  bytes: Buffer;
  /** sha256 of `bytes`, checked against the reference when it is a digest. */
  digest: Sha256Digest;
}

export interface RegistryClient {
  /** The registry as users name it, e.g. `127.0.0.1:5001`. */
  readonly registry: string;
  /** The client's log sink (redacting), for helpers that report through it. */
  log(line: string): void;
  blobExists(repository: string, digest: string): Promise<boolean>;
  uploadBlob(repository: string, blob: BlobToUpload, options?: { mountFrom?: string[] }): Promise<BlobUploadResult>;
  /** Streams a blob to `file`, verifying its size and digest; `file` is removed if they do not match. */
  downloadBlob(repository: string, blob: { digest: string; size: number }, file: string): Promise<void>;
  /** A small blob (a config) in memory, verified against its digest. */
  readBlob(repository: string, blob: { digest: string; size?: number }): Promise<Buffer>;
  /** The manifest at a tag or digest, or undefined when the registry has none (404). */
  getManifest(repository: string, reference: string, accept?: readonly string[]): Promise<RemoteManifest | undefined>;
  /** Puts a manifest under a tag or its digest; returns its digest once the registry confirms it. */
  putManifest(repository: string, reference: string, mediaType: string, bytes: Buffer): Promise<Sha256Digest>;
}

const DEFAULT_RETRIES = 4;
const DEFAULT_RETRY_DELAY_MS = 500;
const DEFAULT_UPLOAD_CHUNK_BYTES = 16 * 1024 * 1024;
// Registries refuse manifests and configs over 4 MiB.
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const USER_AGENT = 'linuxkit-kernels-registry/0.1';

function checkDigest(digest: string): asserts digest is Sha256Digest {
  if (!isSha256Digest(digest)) throw new KernelBuildError(`'${digest}' is not a sha256 digest`, 'only sha256:<64 lowercase hex> digests are supported');
}

function displayReference(repository: string, reference: string): string {
  return isSha256Digest(reference) ? `${repository}@${reference}` : `${repository}:${reference}`;
}

class BlobTooLong extends Error {}

/** Hashes what passes through; more than `maxBytes` fails at once, so a lying registry cannot fill the disk. */
function sha256Transform(maxBytes: number): { transform: Transform; digest: () => Sha256Digest; size: () => number } {
  const hash = createHash('sha256');
  let size = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(size > maxBytes ? new BlobTooLong() : null, chunk);
    },
  });
  let digest: Sha256Digest | undefined;
  return { transform, digest: () => (digest ??= `sha256:${hash.digest('hex')}`), size: () => size };
}

/** Fix for a registry that refused a manifest, keyed by its error code. */
function manifestRejectionFix(body: string): string {
  const codes = parseRegistryErrors(body).map((entry) => entry.code);
  if (codes.some((code) => code === 'MANIFEST_BLOB_UNKNOWN' || code === 'BLOB_UNKNOWN')) {
    return 'push the config and layers before the manifest (pushImageLayout does), and the images before an index that lists them';
  }
  if (codes.includes('TAG_INVALID')) return 'use a tag of 1–128 [A-Za-z0-9_.-] that does not start with . or -';
  return 'check the manifest against the OCI image spec; the registry\'s words are above';
}

class DistributionRegistryClient implements RegistryClient {
  readonly registry: string;
  private readonly origin: string;
  private readonly authenticator: RegistryAuthenticator;
  private readonly transport: RegistryTransport;
  private readonly retryPolicy: RetryPolicy;
  private readonly uploadChunkBytes: number;
  private readonly logSink: (line: string) => void;

  constructor(options: RegistryClientOptions) {
    const endpoint = resolveRegistryEndpoint(options.registry, { insecure: options.insecure });
    const fetchImpl = options.fetchImpl ?? fetch;
    this.registry = endpoint.registry;
    this.origin = endpoint.origin;
    this.authenticator = new RegistryAuthenticator({
      endpoint,
      credentials: options.credentials,
      dockerConfigPath: resolveDockerConfigPath(options.dockerConfigPath),
      insecure: options.insecure,
      fetchImpl,
      userAgent: USER_AGENT,
    });
    this.transport = new RegistryTransport(endpoint, this.authenticator, fetchImpl, USER_AGENT);
    this.retryPolicy = { retries: options.retries ?? DEFAULT_RETRIES, firstDelayMs: options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS };
    this.uploadChunkBytes = options.uploadChunkBytes ?? DEFAULT_UPLOAD_CHUNK_BYTES;
    if (!Number.isInteger(this.uploadChunkBytes) || this.uploadChunkBytes < 1) {
      throw new KernelBuildError(`uploadChunkBytes ${options.uploadChunkBytes} is not a positive whole number of bytes`);
    }
    this.logSink = options.log ?? (() => undefined);
  }

  log(line: string): void {
    this.logSink(this.redact(line));
  }

  private redact(text: string): string {
    return redactSecrets(text, this.authenticator.secrets);
  }

  /** Runs one operation with retries; every error leaving the client is redacted. */
  private async operation<T>(description: string, attempt: () => Promise<T>): Promise<T> {
    try {
      return await withRetries(this.retryPolicy, attempt, {
        onRetry: (failure, retry, delayMs) =>
          this.log(`${description}: ${failure.reason}; retry ${retry} of ${this.retryPolicy.retries} in ${delayMs} ms`),
        exhausted: (failure, attempts) =>
          new KernelBuildError(
            `registry ${this.registry}: ${description} failed after ${attempts} attempts: ${failure.reason}`,
            `check that ${this.registry} is up and reachable from here, then run again`,
          ),
      });
    } catch (error) {
      if (!isKernelBuildError(error)) throw error;
      throw new KernelBuildError(
        this.redact(error.message),
        error.fix && this.redact(error.fix),
        error.details && this.redact(error.details),
      );
    }
  }

  /** Fails unless the response has one of `statuses`, quoting the registry's error body. */
  private async expectStatus(response: Response, statuses: number[], refused: string): Promise<void> {
    if (statuses.includes(response.status)) return;
    const body = await readBodyText(response);
    throw new KernelBuildError(`registry ${this.registry} refused ${refused}: ${describeRegistryResponse(response.status, response.statusText, body)}`);
  }

  private locationOf(response: Response, request: RegistryRequest, what: string): string {
    const location = response.headers.get('location');
    if (!location) throw new KernelBuildError(`registry ${this.registry} answered ${what} without an upload Location`);
    // A Location may be relative to the request it answers.
    return new URL(location, new URL(request.url, this.origin)).toString();
  }

  private checkDigestHeader(response: Response, expected: string, what: string): void {
    const stored = response.headers.get('docker-content-digest');
    if (stored && stored !== expected) {
      throw new KernelBuildError(
        `registry ${this.registry} stored ${what} as ${stored}, but its content is ${expected}`,
        'the bytes were changed on the way (a proxy?) or the registry is faulty; push again',
      );
    }
  }

  async blobExists(repository: string, digest: string): Promise<boolean> {
    checkRepository(repository);
    checkDigest(digest);
    return this.operation(`checking for blob ${digest} in ${repository}`, async () => {
      const response = await this.transport.send({ method: 'HEAD', url: `/v2/${repository}/blobs/${digest}`, repository, access: 'pull' });
      // A HEAD answer has no body to quote.
      if (response.status === 404) return false;
      await this.expectStatus(response, [200], `to say whether it has blob ${digest} in ${repository}`);
      return true;
    });
  }

  async uploadBlob(repository: string, blob: BlobToUpload, options: { mountFrom?: string[] } = {}): Promise<BlobUploadResult> {
    checkRepository(repository);
    const digest = blob.digest;
    checkDigest(digest);
    const mountFrom = (options.mountFrom ?? []).filter((source) => source !== repository);
    mountFrom.forEach(checkRepository);
    const stat = await fs.stat(blob.file).catch(() => undefined);
    if (!stat?.isFile() || stat.size !== blob.size) {
      throw new KernelBuildError(
        `blob ${blob.digest} cannot be uploaded from ${blob.file}: ${stat ? `it is ${stat.size} bytes, not ${blob.size}` : 'no such file'}`,
      );
    }
    return this.operation(`uploading blob ${blob.digest} to ${repository}`, async () => {
      const mount = await this.tryMount(repository, digest, mountFrom);
      if (mount.mountedFrom) return { uploadedBytes: 0, mountedFrom: mount.mountedFrom };
      const location = mount.location ?? (await this.startUpload(repository));
      const finished =
        blob.size <= this.uploadChunkBytes
          ? await this.putWholeBlob(repository, location, blob)
          : await this.putBlobInChunks(repository, location, blob);
      this.checkDigestHeader(finished, blob.digest, `blob ${blob.digest}`);
      await discardBody(finished);
      this.log(`uploaded blob ${blob.digest} (${blob.size} bytes) to ${repository}`);
      return { uploadedBytes: blob.size };
    });
  }

  /**
   * Asks the registry to link the blob from each candidate repository in turn (201: done, no
   * bytes sent). A 202 means it opened an ordinary upload instead: the last one is kept for the
   * upload, earlier ones are cancelled so they do not linger.
   */
  private async tryMount(repository: string, digest: Sha256Digest, sources: string[]): Promise<{ mountedFrom?: string; location?: string }> {
    for (const [position, source] of sources.entries()) {
      const query = new URLSearchParams({ mount: digest, from: source });
      const request: RegistryRequest = {
        method: 'POST',
        url: `/v2/${repository}/blobs/uploads/?${query}`,
        repository,
        access: 'push',
        alsoPulls: [source],
      };
      const response = await this.transport.send(request);
      await this.expectStatus(response, [201, 202], `to start an upload of blob ${digest} to ${repository}`);
      await discardBody(response);
      if (response.status === 201) {
        this.checkDigestHeader(response, digest, `mounted blob ${digest}`);
        this.log(`mounted blob ${digest} into ${repository} from ${source}`);
        return { mountedFrom: source };
      }
      const location = this.locationOf(response, request, 'a mount request');
      if (position === sources.length - 1) return { location };
      await this.transport
        .send({ method: 'DELETE', url: location, repository, access: 'push' })
        .then(discardBody, () => undefined);
    }
    return {};
  }

  private async startUpload(repository: string): Promise<string> {
    const request: RegistryRequest = { method: 'POST', url: `/v2/${repository}/blobs/uploads/`, repository, access: 'push' };
    const response = await this.transport.send(request);
    await this.expectStatus(response, [202], `to start a blob upload to ${repository}`);
    await discardBody(response);
    return this.locationOf(response, request, 'the start of an upload');
  }

  /** Sends one request of an open upload session; a lost session (404, 416) is worth a fresh start. */
  private async sendInSession(request: RegistryRequest, expected: number, what: string): Promise<Response> {
    const response = await this.transport.send(request);
    if (response.status === 404 || response.status === 416) {
      const said = describeRegistryResponse(response.status, response.statusText, await readBodyText(response));
      throw new TransientRegistryFailure(`registry ${this.registry} lost the upload session during ${what}: ${said}`);
    }
    await this.expectStatus(response, [expected], what);
    return response;
  }

  private withDigest(location: string, digest: string): string {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    return url.toString();
  }

  private putWholeBlob(repository: string, location: string, blob: BlobToUpload): Promise<Response> {
    return this.sendInSession(
      {
        method: 'PUT',
        url: this.withDigest(location, blob.digest),
        repository,
        access: 'push',
        headers: { 'content-type': 'application/octet-stream' },
        body: { length: blob.size, open: () => createReadStream(blob.file) },
      },
      201,
      `the upload of blob ${blob.digest}`,
    );
  }

  private async putBlobInChunks(repository: string, location: string, blob: BlobToUpload): Promise<Response> {
    let session = location;
    for (let start = 0; start < blob.size; start += this.uploadChunkBytes) {
      const end = Math.min(start + this.uploadChunkBytes, blob.size) - 1;
      const request: RegistryRequest = {
        method: 'PATCH',
        url: session,
        repository,
        access: 'push',
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end}` },
        body: { length: end - start + 1, open: () => createReadStream(blob.file, { start, end }) },
      };
      const what = `bytes ${start}-${end} of blob ${blob.digest}`;
      const response = await this.sendInSession(request, 202, what);
      await discardBody(response);
      // The registry says how far it got; anything else than our end means it lost or doubled bytes.
      const range = response.headers.get('range');
      const received = range ? Number(/(\d+)\s*$/.exec(range)?.[1]) : end;
      if (received !== end) {
        throw new TransientRegistryFailure(`registry ${this.registry} holds bytes up to ${received} after ${what}`);
      }
      session = this.locationOf(response, request, what);
    }
    return this.sendInSession(
      { method: 'PUT', url: this.withDigest(session, blob.digest), repository, access: 'push' },
      201,
      `the end of the upload of blob ${blob.digest}`,
    );
  }

  private async getBlobResponse(repository: string, digest: Sha256Digest): Promise<Response> {
    const response = await this.transport.send({ method: 'GET', url: `/v2/${repository}/blobs/${digest}`, repository, access: 'pull' });
    if (response.status === 404) {
      await discardBody(response);
      throw new KernelBuildError(`registry ${this.registry} has no blob ${digest} in ${repository}`, 'push the image again: one of its blobs is missing');
    }
    await this.expectStatus(response, [200], `to send blob ${digest} from ${repository}`);
    return response;
  }

  private corruptBlob(repository: string, digest: string, problem: string): KernelBuildError {
    return new KernelBuildError(
      `blob ${digest} from ${repository} at registry ${this.registry} ${problem}`,
      'the registry or something between it and us altered the blob; try again, and check the registry\'s storage if it persists',
    );
  }

  async downloadBlob(repository: string, blob: { digest: string; size: number }, file: string): Promise<void> {
    checkRepository(repository);
    checkDigest(blob.digest);
    const digest = blob.digest;
    await this.operation(`downloading blob ${digest} from ${repository}`, async () => {
      const response = await this.getBlobResponse(repository, digest);
      const hashing = sha256Transform(blob.size);
      try {
        await pipeline(Readable.fromWeb(response.body as unknown as WebReadableStream), hashing.transform, createWriteStream(file));
      } catch (error) {
        await fs.rm(file, { force: true });
        if (error instanceof BlobTooLong) throw this.corruptBlob(repository, digest, `is longer than the ${blob.size} bytes its descriptor says`);
        throw new TransientRegistryFailure(`the download of blob ${digest} broke off: ${(error as Error).message}`);
      }
      if (hashing.size() !== blob.size || hashing.digest() !== digest) {
        await fs.rm(file, { force: true });
        const arrived = `arrived as ${hashing.size()} bytes hashing to ${hashing.digest()}`;
        throw this.corruptBlob(repository, digest, `${arrived}, not ${blob.size} bytes hashing to its digest`);
      }
    });
  }

  async readBlob(repository: string, blob: { digest: string; size?: number }): Promise<Buffer> {
    checkRepository(repository);
    checkDigest(blob.digest);
    const digest = blob.digest;
    return this.operation(`downloading blob ${digest} from ${repository}`, async () => {
      const response = await this.getBlobResponse(repository, digest);
      const bytes = await readBodyBytes(response, MAX_MANIFEST_BYTES, `blob ${digest} from ${repository}`);
      const actual = sha256Digest(bytes);
      if (actual !== digest || (blob.size !== undefined && bytes.length !== blob.size)) {
        throw this.corruptBlob(repository, digest, `arrived as ${bytes.length} bytes hashing to ${actual}`);
      }
      return bytes;
    });
  }

  async getManifest(repository: string, reference: string, accept: readonly string[] = ANY_MANIFEST_MEDIA_TYPES): Promise<RemoteManifest | undefined> {
    checkRepository(repository);
    checkManifestReference(reference);
    const name = displayReference(repository, reference);
    return this.operation(`fetching manifest ${name}`, async () => {
      const response = await this.transport.send({
        method: 'GET',
        url: `/v2/${repository}/manifests/${reference}`,
        repository,
        access: 'pull',
        headers: { accept: accept.join(', ') },
      });
      if (response.status === 404) {
        await discardBody(response);
        return undefined;
      }
      await this.expectStatus(response, [200], `to send manifest ${name}`);
      const bytes = await readBodyBytes(response, MAX_MANIFEST_BYTES, `manifest ${name}`);
      const digest = sha256Digest(bytes);
      const claimed = response.headers.get('docker-content-digest');
      if ((isSha256Digest(reference) && digest !== reference) || (isSha256Digest(claimed) && claimed !== digest)) {
        throw new KernelBuildError(
          `registry ${this.registry} sent manifest ${name} whose content hashes to ${digest}${claimed ? ` (it claims ${claimed})` : ''}`,
          'the registry or something between it and us altered the manifest; do not use it',
        );
      }
      return { mediaType: this.manifestMediaType(response, bytes), bytes, digest };
    });
  }

  /** The Content-Type, unless it is generic: then the document's own mediaType field. */
  private manifestMediaType(response: Response, bytes: Buffer): string {
    const contentType = bareMediaType(response.headers.get('content-type'));
    if (contentType && contentType !== 'application/json' && contentType !== 'text/plain') return contentType;
    try {
      const declared = (JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType;
      if (typeof declared === 'string') return declared;
    } catch {
      // Not JSON: the caller's parser says so with the manifest's name.
    }
    return contentType ?? 'application/octet-stream';
  }

  async putManifest(repository: string, reference: string, mediaType: string, bytes: Buffer): Promise<Sha256Digest> {
    checkRepository(repository);
    checkManifestReference(reference);
    const digest = sha256Digest(bytes);
    const name = displayReference(repository, reference);
    if (isSha256Digest(reference) && reference !== digest) {
      throw new KernelBuildError(`manifest ${name} cannot be pushed under that digest: its content hashes to ${digest}`);
    }
    return this.operation(`pushing manifest ${name}`, async () => {
      const need: AccessNeed = { repository, access: 'push' };
      const response = await this.transport.send({
        ...need,
        method: 'PUT',
        url: `/v2/${repository}/manifests/${reference}`,
        headers: { 'content-type': mediaType },
        body: { length: bytes.length, open: () => bytes },
      });
      if (response.status !== 201 && response.status !== 200) {
        const body = await readBodyText(response);
        throw new KernelBuildError(
          `registry ${this.registry} rejected manifest ${name}: ${describeRegistryResponse(response.status, response.statusText, body)}`,
          manifestRejectionFix(body),
        );
      }
      this.checkDigestHeader(response, digest, `manifest ${name}`);
      await discardBody(response);
      this.log(`pushed manifest ${name} (${digest})`);
      return digest;
    });
  }
}

/** A client for one registry speaking the OCI distribution API (Docker Registry HTTP API v2). */
export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  return new DistributionRegistryClient(options);
}
