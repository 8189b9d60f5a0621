// Progress as the panels print it: amounts (bytes in KB/MB/GB, else counts with their unit) and ETAs.
export { formatEta } from '../model/progress';

/** "12.3 MB", "870 KB", "512 B" for bytes; "1,234 passages" otherwise. */
export function formatAmount(n: number, unit: string): string {
  if (unit === 'bytes') {
    if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
    if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
    if (n >= 1e3) return `${(n / 1e3).toFixed(0)} KB`;
    return `${Math.round(n)} B`;
  }
  return `${Math.round(n).toLocaleString('en')} ${unit}`;
}
