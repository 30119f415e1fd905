import { ENGINE_NAMES, formatMs, type PercentileRow } from "~/lib/latency";
import { StartBadge } from "./invocations";

const NUMBERS = [
  { key: "calls", label: "Calls" },
  { key: "errors", label: "Errors" },
  { key: "p50", label: "p50" },
  { key: "p95", label: "p95" },
  { key: "p99", label: "p99" },
  { key: "mean", label: "Mean" },
] as const;

/**
 * Calls, errors and latency percentiles per engine × start kind: the text
 * equivalent of the percentile charts, with the exact counts beside them.
 */
export function PercentileTable({ rows }: { rows: PercentileRow[] }) {
  return (
    <div className="table-wrap stack-narrow">
      <table>
        <thead>
          <tr>
            <th scope="col">Engine</th>
            <th scope="col">Start</th>
            {NUMBERS.map((n) => (
              <th key={n.key} scope="col" className="numeric">
                {n.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={`${r.engine}-${r.start}`}>
              <td data-label="Engine">{ENGINE_NAMES[r.engine]}</td>
              <td data-label="Start">
                <StartBadge start={r.start} />
              </td>
              {NUMBERS.map((n) => (
                <td key={n.key} data-label={n.label} className="numeric">
                  {n.key === "calls" || n.key === "errors"
                    ? r[n.key].toLocaleString("en")
                    : formatMs(r[n.key])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
