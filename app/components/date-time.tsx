const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * "30 Nov 2026, 10:40 UTC". Formatted by hand, in UTC, so the server's render
 * and the browser's hydration agree whatever their locale data or time zone.
 */
export function formatDateTime(value: Date | string): string {
  const d = new Date(value);
  const hh = String(d.getUTCHours()).padStart(2, "0");
  const mm = String(d.getUTCMinutes()).padStart(2, "0");
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}, ${hh}:${mm} UTC`;
}

export function DateTime({ value }: { value: Date | string }) {
  const iso = new Date(value).toISOString();
  return <time dateTime={iso}>{formatDateTime(value)}</time>;
}
