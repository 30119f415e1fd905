import { Link } from "@remix-run/react";

export function Brand() {
  return (
    <Link to="/" className="brand" aria-label="Cloudless home">
      <svg viewBox="0 0 32 32" width="28" height="28" aria-hidden="true">
        <rect width="32" height="32" rx="7" fill="var(--brand)" />
        <path
          d="M9 21h13a4 4 0 0 0 .5-7.97A6 6 0 0 0 11 13.5 3.75 3.75 0 0 0 9 21z"
          fill="none"
          stroke="#fff"
          strokeWidth="2.2"
          strokeLinejoin="round"
        />
      </svg>
      <span>Cloudless</span>
    </Link>
  );
}
