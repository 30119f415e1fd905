import fs from "node:fs";
import path from "node:path";

/**
 * One journal file. Records are appended to the newest segment; a segment is
 * deleted once it is closed (a newer one took over) and every record in it
 * has been written to the database.
 */
export interface Segment {
  readonly file: string;
  /** Records appended and not yet written to the database. */
  pending: number;
  closed: boolean;
}

export interface ReplayedRecords {
  segment: Segment;
  lines: string[];
}

/**
 * The local, append-only journal of answered calls' records (JSON lines in
 * DATA_DIR/records), so "answered 200" means "recorded" even if the process is
 * SIGKILLed before the next batch reaches the database. Each line is handed to
 * the kernel with one write(2) before the response is sent; there is no fsync
 * per call: a killed process loses nothing (the page cache survives it), only
 * a crash of the whole machine can lose the last seconds of records.
 *
 * Files are named by the writing process (pid and its start time), so a start
 * replays what dead processes left and never touches a live one's files.
 */
export class RecordJournal {
  private current: Segment | null = null;
  private fd: number | null = null;
  private sequence = 0;
  private readonly owner: string;

  constructor(
    private readonly dir: string,
    private readonly log: (line: string) => void,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    this.owner = `${process.pid}-${processStartTime(process.pid) ?? Date.now()}`;
  }

  /** Appends one line (no newline in it) and returns the segment that holds it. */
  append(line: string): Segment {
    if (!this.current) this.open();
    fs.writeSync(this.fd!, `${line}\n`);
    this.current!.pending += 1;
    return this.current!;
  }

  /** Later appends go to a new segment, so this one can be deleted once written. */
  rotate() {
    if (!this.current) return;
    fs.closeSync(this.fd!);
    this.fd = null;
    this.current.closed = true;
    this.deleteIfDone(this.current);
    this.current = null;
  }

  /** `count` records of `segment` reached the database. */
  written(segment: Segment, count: number) {
    segment.pending -= count;
    this.deleteIfDone(segment);
  }

  /**
   * The records that processes no longer running left in this folder, with
   * their segments (closed: they are deleted once written). A torn last line
   * (a write cut short) is skipped and counted.
   */
  replay(): ReplayedRecords[] {
    const found: ReplayedRecords[] = [];
    for (const name of fs.readdirSync(this.dir).sort()) {
      const match = /^records-(\d+)-(\d+)-\d+\.jsonl$/.exec(name);
      if (!match || `${match[1]}-${match[2]}` === this.owner) continue;
      if (isRunning(Number(match[1]), Number(match[2]))) continue;
      const file = path.join(this.dir, name);
      const lines: string[] = [];
      let torn = 0;
      for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        if (line === "") continue;
        try {
          JSON.parse(line);
          lines.push(line);
        } catch {
          torn += 1;
        }
      }
      if (torn > 0) this.log(`Skipped ${torn} unreadable line(s) in ${file}`);
      const segment: Segment = { file, pending: lines.length, closed: true };
      this.deleteIfDone(segment);
      if (lines.length > 0) found.push({ segment, lines });
    }
    return found;
  }

  close() {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    if (this.current) {
      this.current.closed = true;
      this.deleteIfDone(this.current);
    }
    this.current = null;
  }

  private open() {
    this.sequence += 1;
    const file = path.join(
      this.dir,
      `records-${this.owner}-${String(this.sequence).padStart(9, "0")}.jsonl`,
    );
    this.fd = fs.openSync(file, "a");
    this.current = { file, pending: 0, closed: false };
  }

  private deleteIfDone(segment: Segment) {
    if (!segment.closed || segment.pending > 0) return;
    fs.rmSync(segment.file, { force: true });
  }
}

/** A process's start time in clock ticks since boot (Linux), which tells a reused pid apart. */
function processStartTime(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // A zombie (killed, not yet reaped by its parent) writes nothing more.
    if (fields[0] === "Z") return -1;
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

function isRunning(pid: number, startTime: number): boolean {
  const actual = processStartTime(pid);
  if (actual !== undefined) return actual === startTime && actual !== -1;
  if (fs.existsSync("/proc/self/stat")) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
