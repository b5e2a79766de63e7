/**
 * "Did you mean …?" for config mistakes: the closest of a set of known names by
 * optimal-string-alignment distance (Damerau–Levenshtein with adjacent transpositions),
 * so `schedule` → `schedules`, `t4g.mediun` → `t4g.medium`, `cpacityTypes` → `capacityTypes`.
 */

/** Edit distance counting insertions, deletions, substitutions and adjacent swaps as 1 each. */
export function editDistance(a: string, b: string): number {
  // Bounded inputs only (field names, instance types, zone names): O(|a|·|b|) is fine.
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      let best = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
      row[j] = best;
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** Longest name compared: longer input is not a typo of a config name, and bounds the work. */
const MAX_COMPARED_LENGTH = 128;

/**
 * The known name closest to `input`, or undefined when none is close enough to be a likely
 * typo (distance ≤ max(2, 40 % of the longer name)). A case-only difference always matches.
 */
export function closestName(input: string, known: Iterable<string>): string | undefined {
  if (input.length > MAX_COMPARED_LENGTH) return undefined;
  const lower = input.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of known) {
    if (name === input) continue;
    if (name.toLowerCase() === lower) return name;
    if (Math.abs(name.length - input.length) > bestDistance) continue;
    const distance = editDistance(lower, name.toLowerCase());
    if (distance < bestDistance || (distance === bestDistance && best !== undefined && name < best)) {
      best = name;
      bestDistance = distance;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(2, Math.floor(0.4 * Math.max(best.length, input.length)));
  return bestDistance <= limit ? best : undefined;
}
