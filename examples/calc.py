"""Calculator, run as a script: `python calc.py 5 10`.

Deployed with style `script` and handler `calc.calculator`: the query values
of a call become argv in query order (?a=5&b=10 -> calc.py 5 10), and what it
prints is the result.
"""
import sys


def calculator(a: float, b: float) -> None:
    print(f"Addition: {a + b}")
    print(f"Subtraction: {a - b}")
    print(f"Multiplication: {a * b}")
    print(f"Division: {a / b if b != 0 else 'undefined (division by zero)'}")
    print(f"Remainder: {a % b if b != 0 else 'undefined (division by zero)'}")


def number(text: str) -> float:
    value = float(text)
    return int(value) if value.is_integer() else value


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: calc.py <a> <b>", file=sys.stderr)
        sys.exit(2)
    try:
        first, second = number(sys.argv[1]), number(sys.argv[2])
    except ValueError:
        print(f"not numbers: {sys.argv[1]!r}, {sys.argv[2]!r}", file=sys.stderr)
        sys.exit(2)
    calculator(first, second)
