import { useEffect, useState } from "react";
import { formatDateTime } from "./date-time";

/**
 * A time in the viewer's own timezone (the browser's). The server renders
 * UTC, the browser replaces it after hydration, so both renders agree and
 * the server never needs to know the user's timezone.
 */
export function LocalTime({ value }: { value: Date | string }) {
  const iso = new Date(value).toISOString();
  const [text, setText] = useState(formatDateTime(value));
  useEffect(() => {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const formatted = new Intl.DateTimeFormat(undefined, {
      dateStyle: "medium",
      timeStyle: "medium",
      timeZone: zone,
    }).format(new Date(iso));
    setText(`${formatted} (${zone})`);
  }, [iso]);
  return <time dateTime={iso}>{text}</time>;
}
