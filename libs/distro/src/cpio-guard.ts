import { Transform, TransformCallback } from 'stream';
import { MemberRefusal, PackageEntry, normalizeMemberName } from './package-root-rules';

const HEADER_SIZE = 110;
const NEWC_MAGICS = new Set(['070701', '070702']);
const TRAILER = 'TRAILER!!!';

const align4 = (size: number) => Math.ceil(size / 4) * 4;

function entryType(mode: number): PackageEntry['type'] {
  switch (mode & 0o170000) {
    case 0o040000:
      return 'directory';
    case 0o100000:
      return 'file';
    case 0o120000:
      return 'symlink';
    default:
      return 'device';
  }
}

/**
 * Sits between rpm2cpio and `cpio -i`: parses each newc header as it streams past and hands a
 * member on only once `admit` accepted it, so cpio never sees a refused header or anything after
 * it. File data passes through untouched.
 */
export class CpioEntryGuard extends Transform {
  readonly entries: PackageEntry[] = [];
  refusal: MemberRefusal | undefined;
  private pending: Buffer = Buffer.alloc(0);
  private dataLeft = 0;
  private state: 'header' | 'data' | 'after-trailer' = 'header';

  /** True once the whole archive, trailer included, went past. */
  get complete(): boolean {
    return this.state === 'after-trailer';
  }

  constructor(private readonly admit: (entry: PackageEntry) => string | undefined) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    callback(this.drain());
  }

  override _flush(callback: TransformCallback): void {
    if (!this.complete) return callback(this.refuse({ reason: 'the cpio archive ends before its trailer (truncated payload)' }));
    callback();
  }

  private drain(): Error | undefined {
    for (;;) {
      if (this.state === 'after-trailer') {
        // Block padding: cpio stops reading at the trailer, so it is not handed on.
        this.pending = Buffer.alloc(0);
        return undefined;
      }
      if (this.state === 'data') {
        const take = Math.min(this.dataLeft, this.pending.length);
        if (take > 0) this.push(this.pending.subarray(0, take));
        this.pending = this.pending.subarray(take);
        this.dataLeft -= take;
        if (this.dataLeft > 0) return undefined;
        this.state = 'header';
      }
      if (this.pending.length < HEADER_SIZE) return undefined;
      const field = (index: number) => parseInt(this.pending.toString('ascii', 6 + index * 8, 14 + index * 8), 16);
      const magic = this.pending.toString('ascii', 0, 6);
      if (!NEWC_MAGICS.has(magic)) return this.refuse({ reason: `not a newc cpio archive (member header starts with ${JSON.stringify(magic)})` });
      const [mode, fileSize, nameSize] = [field(1), field(6), field(11)];
      const headerSize = align4(HEADER_SIZE + nameSize);
      if (this.pending.length < headerSize) return undefined;
      const name = this.pending.toString('utf8', HEADER_SIZE, HEADER_SIZE + nameSize - 1);
      if (name !== TRAILER) {
        const entry: PackageEntry = { path: normalizeMemberName(name), type: entryType(mode) };
        const reason = this.admit(entry);
        if (reason) return this.refuse({ entry: name, reason });
        this.entries.push(entry);
      }
      this.push(this.pending.subarray(0, headerSize));
      this.pending = this.pending.subarray(headerSize);
      this.state = name === TRAILER ? 'after-trailer' : 'data';
      this.dataLeft = align4(fileSize);
    }
  }

  private refuse(refusal: MemberRefusal): Error {
    this.refusal ??= refusal;
    return new Error(refusal.entry ? `refused ${refusal.entry}: ${refusal.reason}` : refusal.reason);
  }
}
