/**
 * Formatting for explanations. Explanations are read by operators in logs, Kubernetes Events
 * and `k3s-burst plan`, so numbers carry units and times are UTC.
 */

/** `250m CPU`, `2 CPU`, `1.5 CPU`. */
export function fmtCpu(milli: number): string {
  if (milli < 1000) return `${milli}m CPU`;
  const cores = milli / 1000;
  return `${Number.isInteger(cores) ? cores : cores.toFixed(cores < 10 ? 2 : 1).replace(/0+$/, '')} CPU`;
}

/** `512 MiB`, `4 GiB`, `3.8 GiB`. */
export function fmtMem(mib: number): string {
  if (mib < 1024) return `${mib} MiB`;
  const gib = mib / 1024;
  return `${Number.isInteger(gib) ? gib : gib.toFixed(1)} GiB`;
}

/** `$0.046/h`; four decimals for sub-cent prices. */
export function fmtUsd(usd: number): string {
  return `$${usd < 0.01 ? usd.toFixed(4) : usd.toFixed(3)}/h`;
}

/** `09:24:51 UTC` when on the same UTC day as `now`, else the full ISO time. */
export function fmtTime(at: Date | string, now: Date): string {
  const d = typeof at === 'string' ? new Date(at) : at;
  if (Number.isNaN(d.getTime())) return String(at);
  const iso = d.toISOString();
  if (iso.slice(0, 10) === now.toISOString().slice(0, 10)) return `${iso.slice(11, 19)} UTC`;
  return `${iso.slice(0, 19)}Z`;
}

/** `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`. */
export function fmtDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h${m % 60 ? ` ${m % 60} min` : ''}`;
  const d = Math.floor(h / 24);
  return `${d} d${h % 24 ? ` ${h % 24} h` : ''}`;
}

/** `1 pod`, `14 pods`. */
export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}

/** Milliseconds of an ISO timestamp; NaN-safe callers check with Number.isFinite. */
export function ms(iso: string): number {
  return Date.parse(iso);
}
