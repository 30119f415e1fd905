import {
  ENGINE_NAMES,
  type EngineName,
  formatMs,
  START_HINTS,
  START_NAMES,
  type StartKind,
} from "~/lib/latency";

/** Cold, prewarm or warm, as a badge whose colour and word both say it. */
export function StartBadge({ start }: { start: StartKind }) {
  return (
    <span className={`badge start-${start}`} title={`${START_NAMES[start]}: ${START_HINTS[start]}`}>
      {START_NAMES[start]}
    </span>
  );
}

/** A call's outcome in words: ok, timed out, or the exit status. */
export function callOutcome(call: { status: number; timeout: boolean }): {
  ok: boolean;
  label: string;
} {
  if (call.timeout) return { ok: false, label: "Timed out" };
  if (call.status === 0) return { ok: true, label: "OK" };
  if (call.status === 137) return { ok: false, label: "Killed (137)" };
  return { ok: false, label: `Exit ${call.status}` };
}

export function OutcomeBadge({ call }: { call: { status: number; timeout: boolean } }) {
  const { ok, label } = callOutcome(call);
  return <span className={ok ? "badge ok" : "badge error"}>{label}</span>;
}

export function engineName(engine: EngineName): string {
  return ENGINE_NAMES[engine];
}

export interface Timings {
  queueMs: number;
  startMs: number;
  execMs: number;
  totalMs: number;
}

const PARTS = [
  { key: "queueMs", label: "Queue", hint: "waiting for an instance slot" },
  { key: "startMs", label: "Start", hint: "booting or specializing an instance" },
  { key: "execMs", label: "Run", hint: "the function's own run, in the instance" },
] as const;

/**
 * Where a call's time went, as one stacked bar (queue, start, run, and the
 * rest: transfer and bookkeeping) with the numbers beside it. The list is the
 * text equivalent; the bar is decoration for it.
 */
export function TimingBar({ timings }: { timings: Timings }) {
  const total = Math.max(timings.totalMs, 0.001);
  const parts = PARTS.map((p) => ({ ...p, ms: Math.max(0, timings[p.key]) }));
  const other = Math.max(0, timings.totalMs - parts.reduce((sum, p) => sum + p.ms, 0));
  const segments = [
    ...parts,
    // The remainder only when there is one worth a number.
    ...(other >= 0.005
      ? [{ key: "otherMs", label: "Other", hint: "transfer and bookkeeping", ms: other }]
      : []),
  ];
  return (
    <div className="timing">
      <div className="timing-bar" aria-hidden="true">
        {segments.map((s) =>
          s.ms > 0 ? (
            <span
              key={s.key}
              className={`timing-seg seg-${s.key}`}
              style={{ flexGrow: s.ms / total, minWidth: "3px" }}
            />
          ) : null,
        )}
      </div>
      <dl className="timing-legend">
        {segments.map((s) => (
          <div key={s.key} title={s.hint}>
            <dt>
              <span className={`swatch seg-${s.key}`} aria-hidden="true" />
              {s.label}
            </dt>
            <dd>{formatMs(s.ms)}</dd>
          </div>
        ))}
        <div className="timing-total">
          <dt>Total</dt>
          <dd>{formatMs(timings.totalMs)}</dd>
        </div>
      </dl>
    </div>
  );
}

/** A stream's recorded text, or a quiet "(empty)". */
export function OutputBlock({
  label,
  text,
  truncated,
  tone,
}: {
  label: string;
  text: string;
  truncated?: boolean;
  tone?: "error";
}) {
  return (
    <div className="output">
      <h4 className="output-label">
        {label}
        {truncated ? <span className="badge muted">Truncated</span> : null}
      </h4>
      {text === "" ? (
        <p className="output-empty muted">(empty)</p>
      ) : (
        <pre className={tone === "error" ? "output-text stderr" : "output-text"}>{text}</pre>
      )}
    </div>
  );
}
