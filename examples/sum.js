// Sum of the numeric arguments, run as a script: `node sum.js 1 2 3`.
// Deployed with style `script` and handler `sum.main`: query values become argv.
const numbers = process.argv.slice(2).map(Number);
const bad = process.argv.slice(2).filter((_, i) => Number.isNaN(numbers[i]));
if (bad.length > 0) {
  console.error(`not numbers: ${bad.join(", ")}`);
  process.exitCode = 2;
} else {
  console.log(numbers.reduce((total, n) => total + n, 0));
}
