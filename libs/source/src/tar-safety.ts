import { once } from 'events';
import { Parser, ReadEntry } from 'tar';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { openTarByteStream } from './compression';
import { TarEntryRules } from './tar-entry-rules';

/** Why a tar is refused: an entry and its fault, or (without entry) why it is not a tar at all. */
export interface TarRefusal {
  entry?: string;
  reason: string;
}

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * Checks tar bytes as they stream past. node-tar's Parser handles headers synchronously inside
 * write(), so when write() returns false no later byte has been handed on: an extractor fed the same
 * chunks only after this validator accepted them never sees a refused header.
 */
export class TarStreamValidator {
  private readonly rules: TarEntryRules;
  private readonly parser: Parser;
  private readonly parserEnded: Promise<unknown>;
  private refused: TarRefusal | undefined;
  private bytesSeen = 0;
  entries = 0;

  constructor(options: { stripComponents?: number } = {}) {
    this.rules = new TarEntryRules(options.stripComponents ?? 0);
    this.parser = new Parser({ zstd: false, brotli: false });
    this.parser.on('entry', (entry: ReadEntry) => {
      this.entries++;
      this.refuse(this.rules.check({ path: entry.path, type: entry.type, linkpath: entry.linkpath }));
      entry.resume();
    });
    this.parser.on('ignoredEntry', (entry: ReadEntry) => this.refuse({ entry: entry.path, reason: `has an unsupported type (${entry.type})` }));
    this.parser.on('warn', (_code: string, message: string | Error) => this.refuse({ reason: typeof message === 'string' ? message : message.message }));
    this.parserEnded = once(this.parser, 'end');
  }

  get refusal(): TarRefusal | undefined {
    return this.refused;
  }

  /** Feeds the next chunk of the uncompressed tar; false once the tar is refused. */
  write(chunk: Buffer): boolean {
    if (this.refused) return false;
    // The Parser would quietly gunzip a stream that starts like gzip; a tar never does.
    if (this.bytesSeen === 0 && GZIP_MAGIC.every((byte, i) => chunk[i] === byte)) {
      this.refuse({ reason: 'the data is still gzip-compressed after decompression' });
      return false;
    }
    this.bytesSeen += chunk.length;
    this.parser.write(chunk);
    return !this.refused;
  }

  /** After the last chunk: the first refusal, including those only the whole listing reveals. */
  async end(): Promise<TarRefusal | undefined> {
    if (!this.refused) {
      this.parser.end();
      await this.parserEnded;
      this.refuse(this.rules.finish());
    }
    return this.refused;
  }

  private refuse(refusal: TarRefusal | undefined): void {
    this.refused ??= refusal;
  }
}

export function tarRefusalError(tarball: string, refusal: TarRefusal): KernelBuildError {
  if (refusal.entry !== undefined) {
    return new KernelBuildError(
      `${tarball}: refused entry '${refusal.entry}': ${refusal.reason}`,
      'this is not a plain source tarball; fetch it again from its upstream and check source.sha256 in kernel.yaml',
    );
  }
  return new KernelBuildError(
    `${tarball}: not a valid tar archive (${refusal.reason})`,
    'check that kernel.yaml names a source tarball (.tar, .tar.xz, .tar.gz, .tar.zst, .tar.bz2) and that the file is complete',
  );
}

/**
 * Lists every entry of a tar (compressed or not) and rejects, naming the entry: absolute paths, any
 * `..` component, symlinks resolving outside the tree, hard links to outside paths, devices and
 * FIFOs; and a file that is not a tar at all.
 */
export async function assertTarballSafe(tarballPath: string): Promise<void> {
  const source = await openTarByteStream(tarballPath);
  const validator = new TarStreamValidator();
  try {
    for await (const chunk of source.tar) {
      if (!validator.write(chunk as Buffer)) break;
    }
    if (!validator.refusal) await source.finished;
    const refusal = await validator.end();
    if (refusal) throw tarRefusalError(tarballPath, refusal);
  } finally {
    source.stop();
  }
}
