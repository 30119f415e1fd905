// Greeting handler: `greet(event, context)` returns the result.
// Deployed with style `handler` and handler `greeting.greet`.
exports.greet = (event, context) => {
  const name = String(event.name ?? "world").trim() || "world";
  const language = String(event.lang ?? "en");
  const hello = { en: "Hello", fr: "Bonjour", es: "Hola", de: "Hallo" }[language] ?? "Hello";
  return { message: `${hello}, ${name}!`, invocationId: context?.invocationId };
};
