// Rounds: each target of a scenario is measured in the same run as its
// baseline, alternating, several short rounds, and summarised by medians
// over the valid rounds only.
import { median } from './load.mjs';

/**
 * Calls `measure(target, round)` for every target in every round. The
 * order rotates each round so that no target always runs first (warm
 * caches, CPU frequency) or last.
 */
export async function alternate(targets, rounds, measure) {
  const results = Object.fromEntries(targets.map((t) => [t.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < targets.length; i++) {
      const target = targets[(i + r) % targets.length];
      results[target.name].push({ round: r, ...(await measure(target, r)) });
    }
  }
  return results;
}

/** Median of `field` over valid rounds, with the count of invalid ones. */
export function summarize(rounds, field) {
  const valid = rounds.filter((r) => r.valid);
  return {
    median: median(valid.map((r) => r[field])),
    validRounds: valid.length,
    rounds: rounds.length,
    non2xx: rounds.reduce((s, r) => s + (r.non2xx ?? 0), 0),
    errors: rounds.reduce((s, r) => s + (r.errors ?? 0), 0),
    mismatches: rounds.reduce((s, r) => s + (r.mismatches ?? 0), 0),
  };
}

/**
 * Median over rounds of a per-round difference `a - b`; a round counts only
 * when both of its measurements are valid.
 */
export function medianDifference(a, b, field) {
  const diffs = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i].valid && b[i].valid) diffs.push(a[i][field] - b[i][field]);
  }
  return median(diffs);
}

/**
 * Median over rounds of the per-round ratio `a / b`. Both were measured in
 * the same round, back to back, so a slow moment of the machine moves both
 * and cancels out; a round counts only when both are valid.
 */
export function medianRatio(a, b, field) {
  const ratios = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i].valid && b[i].valid) ratios.push(a[i][field] / b[i][field]);
  }
  return median(ratios);
}

/**
 * One summary for a row that compares several targets: the most invalid
 * rounds of any of them, and every bad answer of all of them.
 */
export function combine(...summaries) {
  const worst = summaries.reduce((a, b) =>
    b.rounds - b.validRounds > a.rounds - a.validRounds ? b : a,
  );
  const total = (field) => summaries.reduce((s, x) => s + x[field], 0);
  return {
    ...worst,
    non2xx: total('non2xx'),
    errors: total('errors'),
    mismatches: total('mismatches'),
  };
}
