#!/usr/bin/env python3
"""Does banger's package question (package_owner, i.e. update_package_owner)
agree with dpkg-query -S on this machine?

    package_agree.py PACKAGE_OWNER [SAMPLE [SEED]]

Asked: SAMPLE names (default 2000; "all": every one, which takes the better
part of an hour) drawn with SEED from every line of every
/var/lib/dpkg/info/*.list; every name of every diversion; every listed name
holding a glob character or a trailing '/'; and, for 100 of the sampled
files, names that no package lists: the name plus a suffix, and the name
with a character replaced by '*', by '?' and by a '[...]' class that
dpkg-query would glob to that very file.

dpkg-query -S is asked about the same names with their glob characters
escaped ('\\*'), so that it answers for the exact name too. Its "PKG[, PKG]:
NAME" lines say which packages list NAME; its "diversion by P from: X" /
"to: Y" lines the diversions, which dpkg's unpack applies this way: a
package's file X goes to Y unless that package is P (a local diversion: no
package is exempt). So the file at X is P's when P lists X, and the file at
Y belongs to any package listing Y, or listing X other than P. Expected:
"-" when no package's file is there, else banger's answer must be one of
those packages (dpkg lists several for directories and Multi-Arch: same
files). Prints a summary; exits 1 on any disagreement, listing them.
"""
import glob
import os
import random
import subprocess
import sys

GLOB = set("*?[\\")


def dpkg_key(path):
    """dpkg's name for a path that is not a pattern (querycmd.c)."""
    p = path
    while len(p) > 1 and (p.endswith("/") or p.endswith("/.")):
        p = p[:-1]
    while p.startswith("/") or p.startswith("./"):
        p = p[1:]
    return "/" + p


def escape(path):
    return "".join("\\" + c if c in GLOB else c for c in path)


def listed_names():
    names = set()
    for f in glob.glob("/var/lib/dpkg/info/*.list"):
        with open(f, "rb") as fh:
            for line in fh.read().decode("utf-8", "surrogateescape").split("\n"):
                if line:
                    names.add(line)
    return names


def diversion_names():
    try:
        with open("/var/lib/dpkg/diversions") as fh:
            lines = fh.read().split("\n")
    except FileNotFoundError:
        return []
    return [line for i, line in enumerate(lines) if line and i % 3 != 2]


def unowned_variants(path, rng):
    d, base = os.path.split(path)
    out = [path + ".banger-none"]
    if len(base) >= 2:
        i = rng.randrange(len(base))
        out.append(d + "/" + base[:i] + "*" + base[i + 1:])
        out.append(d + "/" + base[:i] + "?" + base[i + 1:])
        out.append(d + "/" + base[:i] + "[" + base[i] + "]" + base[i + 1:])
    return out


def dpkg_query(paths):
    owners, div_from, div_to = {}, {}, {}
    for i in range(0, len(paths), 1000):
        args = [escape(p) for p in paths[i:i + 1000]]
        out = subprocess.run(["dpkg-query", "-S", "--"] + args, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env={"LC_ALL": "C", "PATH": os.environ["PATH"]})
        for line in out.stdout.decode("utf-8", "surrogateescape").split("\n"):
            if not line:
                continue
            for lead in ("diversion by ", "local diversion "):
                if line.startswith(lead):
                    rest = line[len(lead):]
                    by = ""
                    if lead == "diversion by ":
                        by, rest = rest.split(" ", 1)
                    kind, name = rest.split(": ", 1)
                    (div_from if kind == "from" else div_to)[name] = by
                    break
            else:
                pkgs, name = line.split(": ", 1)
                owners[name] = {p.strip().split(":")[0] for p in pkgs.split(",")}
    return owners, div_from, div_to


def expected(path, owners, div_from, div_to, ask_more):
    key = dpkg_key(path)
    if "\n" in path or key == "/":
        return set()
    listing = owners.get(key, set())
    if key in div_from:
        by = div_from[key]
        return {by} & listing if by else set()
    if key in div_to:
        by = div_to[key]
        x = ask_more(key)
        return listing | (owners.get(x, set()) - ({by} if by else set()))
    return listing


def main():
    tool = sys.argv[1]
    sample = sys.argv[2] if len(sys.argv) > 2 else "2000"
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 24)
    names = sorted(listed_names())
    picked = names if sample == "all" else rng.sample(names, min(int(sample), len(names)))
    diverted = diversion_names()
    odd = [n for n in names if GLOB & set(n) or (len(n) > 1 and n.endswith("/"))]
    files = [n for n in picked if n.count("/") > 2][:100]
    unowned = [v for f in files for v in unowned_variants(f, rng)]
    paths = list(dict.fromkeys(picked + diverted + odd + unowned))
    paths = [p for p in paths if "\n" not in p]

    # the diversions' "to" names map back to their "from" names
    with_to = {}
    dv = diversion_names()
    for i in range(0, len(dv) - 1, 2):
        with_to[dpkg_key(dv[i + 1])] = dpkg_key(dv[i])

    owners, div_from, div_to = dpkg_query(paths + [with_to[k] for k in with_to])
    ours = subprocess.run([tool, "-"], input="\n".join(paths).encode("utf-8", "surrogateescape") + b"\n",
                          stdout=subprocess.PIPE, check=True).stdout.decode("utf-8", "surrogateescape")
    answers = ours.split("\n")[:len(paths)]
    bad = []
    counts = {"owned": 0, "unowned": 0}
    for p, a in zip(paths, answers):
        want = expected(p, owners, div_from, div_to, lambda k: with_to.get(k, ""))
        if (a == "-" and want) or (a != "-" and a not in want):
            bad.append("%r: banger says %s, dpkg-query says %s" % (p, a, sorted(want) or "-"))
        counts["owned" if want else "unowned"] += 1
    print("asked %d names (%d sampled of %d listed, %d diversion names, %d with glob characters "
          "or a trailing '/', %d no package lists): %d owned, %d not; %d disagreements"
          % (len(paths), len(picked), len(names), len(diverted), len(odd), len(unowned),
             counts["owned"], counts["unowned"], len(bad)))
    for b in bad[:50]:
        print("  " + b)
    return 1 if bad or len(answers) != len(paths) else 0


if __name__ == "__main__":
    sys.exit(main())
