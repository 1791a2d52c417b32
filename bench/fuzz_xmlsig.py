"""The XMLDSig differential fuzzer at full size: mutants of signed envelopes, our verdict against signxml's
and python-xmlsec's (tests/xmlsig/differential.py; the test suite runs a few hundred).

    python bench/fuzz_xmlsig.py [--mutants 100000] [--seed 1] [--no-docs]

Mutants go round-robin over the seeds (tests/data/xmlsig-fuzz/seeds.toml) and the mutations, each with its
own random choices (``--seed`` makes the run reproducible except for the keys, which are fresh per run).
Prints the counts — mutants, agreements, explained differences per entry of
tests/data/xmlsig-differences.toml, unexplained ones with what replays them — and writes them to the section
"Differential fuzzing of the signature core" of docs/security.md. Exits 1 on any unexplained difference
(including a crash of our core) or an accepted difference that no mutant needed.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import ROOT, machine, write_section
from tests.xmlsig import differential as d

SECTION = "Differential fuzzing of the signature core"


def run(mutants: int, seed: int, progress: int = 5000) -> tuple[d.Tally, float]:
    seeds = d.all_seeds()
    mutations = sorted(set(d.MUTATIONS) - {"none"})
    rng = random.Random(seed)
    tally = d.Tally()
    started = time.perf_counter()
    for chosen in seeds:  # the seeds themselves, once each: not counted as mutants
        outcome = d.run_one(chosen, "none", 0)
        if outcome is not None and not outcome.verdicts.agree and outcome.explained_by is None:
            tally.unexplained.append(outcome)
    n = 0
    while tally.mutants < mutants:
        chosen = seeds[n % len(seeds)]
        mutation = mutations[(n // len(seeds)) % len(mutations)]
        n += 1
        outcome = d.run_one(chosen, mutation, rng.getrandbits(32))
        if outcome is None:
            tally.skipped += 1
            continue
        tally.add(outcome)
        if progress and tally.mutants % progress == 0:
            elapsed = time.perf_counter() - started
            print(
                f"  {tally.mutants:>7} mutants  {tally.agreements} agree  {sum(tally.explained.values())} "
                f"explained  {len(tally.unexplained)} unexplained  ({elapsed:.0f} s)",
                flush=True,
            )
    return tally, time.perf_counter() - started


def report(tally: d.Tally, seconds: float, command: str) -> str:
    per_thousand = seconds / max(tally.mutants, 1) * 1000
    entries = {x.id: x for x in d.differences()}
    unused = sorted(set(entries) - set(tally.explained))
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {machine()}, one process; command: `{command}`.",
        "",
        f"* mutants: **{tally.mutants}** ({len(d.all_seeds())} seeds × {len(d.MUTATIONS) - 1} mutations; "
        f"{tally.skipped} draws skipped where a mutation did not apply)",
        f"* agreements (all three valid, or all three invalid): **{tally.agreements}**",
        f"* explained differences: **{sum(tally.explained.values())}**",
        f"* unexplained differences: **{len(tally.unexplained)}**",
        f"* mutants our core accepted: {tally.ours_valid} (each accepted by the others too, or an entry "
        "below says why)",
        f"* time: {seconds:.0f} s, {per_thousand:.1f} s per 1,000 mutants",
        "",
        "| accepted difference (tests/data/xmlsig-differences.toml) | mutants |",
        "|---|---:|",
    ]
    lines += [f"| `{name}` | {tally.explained.get(name, 0)} |" for name in entries]
    lines += ["", "| mutation | mutants |", "|---|---:|"]
    lines += [f"| `{name}` | {count} |" for name, count in sorted(tally.by_mutation.items())]
    if unused:
        lines += ["", f"Accepted differences no mutant needed: {', '.join(unused)}."]
    if tally.unexplained:
        lines += ["", "Unexplained (seed, mutation, rng seed → verdicts ours / signxml / xmlsec):", ""]
        lines += [
            f"* {o.seed}, {o.mutation}, {o.rng_seed} → {o.verdicts.ours} / {o.verdicts.signxml} / "
            f"{o.verdicts.xmlsec}"
            for o in tally.unexplained[:50]
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mutants", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-docs", action="store_true", help="print only, leave docs/security.md alone")
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)
    command = f"python bench/fuzz_xmlsig.py --mutants {args.mutants} --seed {args.seed}"
    print(f"{command}: {len(d.all_seeds())} seeds, {len(d.MUTATIONS) - 1} mutations", flush=True)
    tally, seconds = run(args.mutants, args.seed)
    text = report(tally, seconds, command)
    print(text)
    if not args.no_docs:
        write_section(SECTION, text, doc=ROOT / "docs" / "security.md")
    unused = {x.id for x in d.differences()} - set(tally.explained)
    return 1 if tally.unexplained or unused else 0


if __name__ == "__main__":
    sys.exit(main())
