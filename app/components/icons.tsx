/**
 * Small inline icons that travel with a message, so errors and notices differ
 * by shape as well as colour. Decorative: the text next to them says it all.
 */
export function AlertIcon() {
  return (
    <svg className="icon" viewBox="0 0 20 20" fill="currentColor" aria-hidden="true">
      <path
        fillRule="evenodd"
        d="M10 1.75a8.25 8.25 0 1 0 0 16.5 8.25 8.25 0 0 0 0-16.5ZM10 5a1 1 0 0 1 1 1v4.5a1 1 0 1 1-2 0V6a1 1 0 0 1 1-1Zm0 10a1.15 1.15 0 1 0 0-2.3 1.15 1.15 0 0 0 0 2.3Z"
        clipRule="evenodd"
      />
    </svg>
  );
}

export function CheckIcon() {
  return (
    <svg className="icon" viewBox="0 0 20 20" fill="currentColor" aria-hidden="true">
      <path
        fillRule="evenodd"
        d="M10 1.75a8.25 8.25 0 1 0 0 16.5 8.25 8.25 0 0 0 0-16.5Zm3.7 6.16a.9.9 0 0 0-1.35-1.2l-3.3 3.72-1.47-1.5a.9.9 0 1 0-1.29 1.26l2.15 2.2a.9.9 0 0 0 1.32-.03l3.94-4.45Z"
        clipRule="evenodd"
      />
    </svg>
  );
}
