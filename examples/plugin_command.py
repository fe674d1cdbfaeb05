"""An estimator in another process, for mibench's command protocol: reads the CSV
files it is given (x, and y for I(X;Y)), prints the plug-in estimate (bits; --nats for
nats) as its last line. The same protocol serves Julia, R or Java (JIDT) programs:

    mibench estimate -e 'command(cmd="python examples/plugin_command.py {x} {y}")' --task parity
"""
import sys
from collections import Counter
from math import log


def rows(path):
    with open(path) as f:
        return [tuple(line.strip().split(",")) for line in f if line.strip()]


def entropy(symbols, base):
    n = len(symbols)
    return -sum(c / n * log(c / n, base) for c in Counter(symbols).values())


def main(argv):
    base = 2.0
    if argv and argv[0] == "--nats":
        base, argv = 2.718281828459045, argv[1:]
    x = rows(argv[0])
    if len(argv) == 1:
        print(entropy(x, base))
        return
    y = rows(argv[1])
    print(entropy(x, base) + entropy(y, base) - entropy(list(zip(x, y)), base))


if __name__ == "__main__":
    main(sys.argv[1:])
