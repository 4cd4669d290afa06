/**
 * "Did you mean" for names: the one option nearest to `word` within a small
 * edit distance, ignoring case, or undefined when none is close or two are
 * equally close. Long option lists are not searched (the cost is one edit
 * distance per option).
 */
export function closest(word: string, options: Iterable<string>): string | undefined {
  const limit = word.length <= 3 ? 1 : word.length <= 6 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = Infinity;
  let tied = false;
  let searched = 0;
  for (const option of options) {
    if (++searched > MAX_OPTIONS) return undefined;
    if (Math.abs(option.length - word.length) > limit) continue;
    const distance = editDistance(word.toLowerCase(), option.toLowerCase());
    if (distance < bestDistance) [best, bestDistance, tied] = [option, distance, false];
    else if (distance === bestDistance && option !== best) tied = true;
  }
  return bestDistance <= limit && !tied ? best : undefined;
}

/** `; did you mean \`x\`?`, or nothing. */
export function didYouMean(word: string, options: Iterable<string>): string {
  const guess = closest(word, options);
  return guess === undefined ? '' : `; did you mean \`${guess}\`?`;
}

/** Beyond this many options a suggestion is not worth the time. */
const MAX_OPTIONS = 5000;

/** Levenshtein distance in which swapping two neighbours counts as one edit. */
export function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, before[j - 2]! + 1);
      }
      current.push(best);
    }
    [before, previous] = [previous, current];
  }
  return previous[b.length]!;
}
